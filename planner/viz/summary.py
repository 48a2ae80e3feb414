"""What the maps and charts show of a scenario: leaf territories, colours, accounts' territories."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "PALETTE",
    "UNASSIGNED_COLOR",
    "is_shown",
    "leaf_territory_ids",
    "primary_territory",
    "territory_colors",
    "territory_summary",
]

#: Twenty distinct fill colours, assigned to leaf territories in id order.
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#1b9e77",
    "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
    "#17becf", "#a6761d", "#bcbd22", "#8c564b", "#3182bd",
)  # fmt: skip
#: Colour of accounts that belong to no territory.
UNASSIGNED_COLOR = "#7f7f7f"


def is_shown(value: Any) -> bool:
    """Whether ``value`` has text to show (not missing, :func:`planner.schema.is_missing`,
    nor empty)."""
    return not s.is_missing(value) and str(value) != ""


def leaf_territory_ids(territories: pd.DataFrame) -> list[str]:
    """Return the ids of territories that are nobody's parent, sorted."""
    return sorted(TerritoryTree.of(territories).leaves())


def territory_colors(
    territory_ids: Iterable[str], *, geometries: gpd.GeoSeries | None = None
) -> dict[str, str]:
    """Give each territory a fill colour, stable for a given set of ids.

    Ids are coloured in sorted order from :data:`PALETTE`. With more
    territories than colours and ``geometries`` given (indexed by id), each
    territory takes the first colour none of its already-coloured neighbours
    has, so touching territories differ where possible.

    Parameters
    ----------
    territory_ids
        The territories to colour.
    geometries
        Their shapes, indexed by territory id (optional).
    """
    ids = sorted({str(i) for i in territory_ids})
    n = len(PALETTE)
    if len(ids) <= n or geometries is None:
        return {tid: PALETTE[i % n] for i, tid in enumerate(ids)}
    shapes = geometries.reindex(ids)
    valid = shapes.notna().to_numpy() & ~shapes.is_empty.to_numpy()
    tree = shapely.STRtree(shapes.to_numpy()[valid])
    positions = np.flatnonzero(valid)
    colors: dict[str, str] = {}
    for i, tid in enumerate(ids):
        taken: set[str] = set()
        if valid[i]:
            for j in tree.query(shapes.iloc[i], predicate="intersects"):
                other = ids[positions[j]]
                if other in colors:
                    taken.add(colors[other])
        choice = next((PALETTE[(i + k) % n] for k in range(n) if PALETTE[(i + k) % n] not in taken),
                      PALETTE[i % n])  # fmt: skip
        colors[tid] = choice
    return colors


def primary_territory(memberships: pd.DataFrame, territories: pd.DataFrame) -> pd.Series:
    """Return each account's territory for display: its deepest primary membership.

    Parameters
    ----------
    memberships
        One scenario's memberships.
    territories
        The same scenario's territories.

    Returns
    -------
    pandas.Series
        Territory id indexed by account id (accounts with no membership are absent).
    """
    if memberships.empty:
        return pd.Series(dtype=object, name=s.TERRITORY_ID)
    frame = memberships[[s.ACCOUNT_ID, s.TERRITORY_ID, s.IS_PRIMARY]]
    shared = frame[s.ACCOUNT_ID].duplicated(keep=False).to_numpy()
    # an account in one territory needs no ranking (most of them: no sort of a million rows)
    parts = [frame[~shared]]
    if shared.any():
        parts.append(_deepest_primary(frame[shared], territories))
    first = pd.concat(parts).sort_values(s.ACCOUNT_ID, kind="stable")
    return pd.Series(
        first[s.TERRITORY_ID].astype(str).to_numpy(),
        index=first[s.ACCOUNT_ID].astype(str).to_numpy(),
        name=s.TERRITORY_ID,
    )


def _deepest_primary(frame: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """Of accounts in several territories: the primary, deepest, then smallest-id membership."""
    level = territories.set_index(s.TERRITORY_ID)[s.LEVEL]
    ranked = frame.assign(_level=frame[s.TERRITORY_ID].map(level).fillna(-1))
    ranked = ranked.sort_values(
        [s.ACCOUNT_ID, s.IS_PRIMARY, "_level", s.TERRITORY_ID], ascending=[True, False, False, True]
    )
    return ranked.drop_duplicates(s.ACCOUNT_ID).drop(columns="_level")


def territory_summary(
    workspace: Workspace, scenario_id: str | None = None, *, owner: pd.Series | None = None
) -> pd.DataFrame:
    """Return one row per territory: name, parent, level, accounts and revenue.

    Counts and revenue roll up the hierarchy: a region's figures include every
    account of its districts and territories.

    Parameters
    ----------
    workspace
        The workspace.
    scenario_id
        The scenario; the active one by default.
    owner
        :func:`primary_territory` of the scenario, if the caller has it already.
    """
    terr = workspace.territories(scenario_id)
    cols = [s.TERRITORY_ID, s.NAME, s.PARENT_ID, s.LEVEL, s.LEVEL_NAME, s.TYPE_ID, s.SOURCE]
    out = pd.DataFrame({c: terr[c] for c in cols}, copy=True)  # terr[cols]: a slow GeoDataFrame
    own = owner
    if own is None:
        own = primary_territory(workspace.memberships(scenario_id), terr)
    accounts = workspace.accounts
    revenue = pd.Series(
        pd.to_numeric(accounts[s.ANNUAL_REVENUE], errors="coerce").fillna(0.0).to_numpy(),
        index=accounts[s.ACCOUNT_ID].astype(str).to_numpy(),
    )
    rev = revenue.groupby(level=0).first().reindex(own.index).fillna(0.0)
    direct = pd.DataFrame({"tid": own.to_numpy(), "rev": rev.to_numpy()})
    counts = direct.groupby("tid").size()
    sums = direct.groupby("tid")["rev"].sum()
    tree = TerritoryTree.of(out)
    total_n: dict[str, int] = dict.fromkeys(out[s.TERRITORY_ID], 0)
    total_r: dict[str, float] = dict.fromkeys(out[s.TERRITORY_ID], 0.0)
    for tid in counts.index:
        if tid not in total_n:
            continue
        for node in [tid, *tree.ancestors(tid)]:
            total_n[node] += int(counts[tid])
            total_r[node] += float(sums[tid])
    out["accounts"] = out[s.TERRITORY_ID].map(total_n).astype("int64")
    out[s.ANNUAL_REVENUE] = out[s.TERRITORY_ID].map(total_r).astype("float64")
    leaves = set(leaf_territory_ids(terr))
    out["is_leaf"] = out[s.TERRITORY_ID].isin(leaves)
    return out.sort_values([s.LEVEL, s.TERRITORY_ID]).reset_index(drop=True)
