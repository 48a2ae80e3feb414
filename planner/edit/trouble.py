"""What is left to fix after an edit: unassigned accounts, overlaps, gaps, split territories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner import viz
from planner.edit.outcome import part_count
from planner.geo.assign import Assignment
from planner.geo.shapes import find_gaps, find_overlaps
from planner.workspace import Workspace

__all__ = ["Trouble", "trouble_list"]


@dataclass(frozen=True)
class Trouble:
    """One thing to fix: an unassigned account, an overlap or a gap.

    Parameters
    ----------
    kind
        ``"unassigned"``, ``"overlap"``, ``"gap"`` or ``"split"`` (a territory in
        separate parts).
    key
        Stable id of the problem (for widget keys).
    label
        One line for the user.
    geometry
        Where it is (EPSG:4326), for zooming the map.
    """

    kind: Literal["unassigned", "overlap", "gap", "split"]
    key: str
    label: str
    geometry: BaseGeometry


def trouble_list(ws: Workspace, scenario_id: str, assignment: Assignment) -> list[Trouble]:
    """Return the unassigned accounts, same-type overlaps of leaves, territories in separate
    parts, and units left uncovered."""
    terr = ws.territories(scenario_id)
    leaves = terr[terr[s.TERRITORY_ID].astype(str).isin(viz.leaf_territory_ids(terr))]
    accounts = ws.accounts
    out: list[Trouble] = []
    where = dict(zip(accounts[s.ACCOUNT_ID].astype(str), accounts.geometry, strict=True))
    names = dict(zip(accounts[s.ACCOUNT_ID].astype(str), accounts[s.NAME].tolist(), strict=True))
    for aid, reason in zip(
        assignment.unassigned[s.ACCOUNT_ID].astype(str),
        assignment.unassigned[s.REASON].astype(str),
        strict=True,
    ):
        point = where.get(aid)
        if point is None or point.is_empty:
            continue
        name = names.get(aid)
        title = f"{name} ({aid})" if isinstance(name, str) and name else aid
        out.append(Trouble("unassigned", f"u:{aid}", f"Account {title}: {reason}", point))
    if len(leaves) > 1:
        overlaps = find_overlaps(leaves, accounts=accounts, same_type_only=True)
        for a, b, area, n, geom in zip(
            overlaps["territory_a"],
            overlaps["territory_b"],
            overlaps["area_m2"],
            overlaps["accounts"],
            overlaps.geometry,
            strict=True,
        ):
            out.append(
                Trouble(
                    "overlap",
                    f"o:{a}:{b}",
                    f"{a} and {b} overlap: {float(area) / 1e6:,.3f} km², {int(n):,} accounts",
                    geom,
                )
            )
    for tid, shape in zip(leaves[s.TERRITORY_ID].astype(str), leaves.geometry, strict=True):
        parts = part_count(shape)
        if parts > 1:
            label = f"{tid} is in {parts} separate parts (not contiguous)"
            out.append(Trouble("split", f"s:{tid}", label, shape))
    if len(leaves) and not ws.units.empty:
        gaps = find_gaps(leaves, units=ws.units)
        unit_geom = dict(zip(ws.units[s.UNIT_ID].astype(str), ws.units.geometry, strict=True))
        for uid, share in zip(gaps.units[s.UNIT_ID], gaps.units["uncovered_share"], strict=True):
            out.append(
                Trouble(
                    "gap",
                    f"g:{uid}",
                    f"Unit {uid}: {float(share):.0%} covered by no territory",
                    unit_geom[str(uid)],
                )
            )
    return out
