"""Drive time from each rep's home to each unit: the drive limit (hard or soft), compactness.

Drive hours reach balancing as a table (reps by units) that the caller made
on the road network (:func:`planner.services.balance_inputs.home_drive_hours`
does); without one they are estimated from straight lines between the
rep's home and the unit's centroid, with the estimate of
:mod:`planner.routing` (distance x 1.3 at 40 km/h; balancing and routing
stay independent, so the two constants are repeated here and a test checks
they agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from planner.balance.measures import rep_home_points
from planner.balance.params import BalanceParams
from planner.balance.units import BalanceUnits
from planner.errors import InfeasibleError, InputError, Problem, format_ids

__all__ = [
    "ESTIMATE_CIRCUITY",
    "ESTIMATE_SPEED_KPH",
    "DriveCosts",
    "add_drive_report",
    "binds_text",
    "check_reach",
    "drive_costs",
    "drive_report",
    "drive_table",
    "estimate_method",
    "out_of_reach",
    "reach_mask",
    "seeding_cost",
]

#: Road distance over straight-line distance of the estimate (as planner.routing's).
ESTIMATE_CIRCUITY = 1.3
#: Average driving speed of the estimate, km/h (as planner.routing's).
ESTIMATE_SPEED_KPH = 40.0

_EPS = 1e-9


def estimate_method() -> str:
    """Return how estimated drive times are made, as shown beside them."""
    return (f"estimate: straight-line distance x {ESTIMATE_CIRCUITY:.2f} at "
            f"{ESTIMATE_SPEED_KPH:.0f} km/h (no road network)")


@dataclass(frozen=True, eq=False)
class DriveCosts:
    """Drive hours from each territory's rep home to each unit, and the limit on them.

    Parameters
    ----------
    hours
        ``(k, n)`` drive hours from territory ``t``'s home to unit ``u``
        (``inf``: unreachable).
    limit_h
        Longest allowed drive, hours (``None``: no limit; drive compactness only).
    hard
        Whether no unit may lie beyond the limit (else a penalty).
    penalty
        Weight of the soft limit (see :class:`BalanceParams`).
    method
        How the hours were made (``"roads"`` or the estimate's description).
    by_drive
        Whether compactness is measured by drive time from the home.
    """

    hours: np.ndarray
    limit_h: float | None
    hard: bool
    penalty: float
    method: str
    by_drive: bool = False

    @property
    def reach(self) -> np.ndarray:
        """``(k, n)``: whether each unit lies within the limit from each home."""
        if self.limit_h is None:
            return np.ones(self.hours.shape, dtype=bool)
        return self.hours <= self.limit_h + _EPS

    @property
    def excess(self) -> np.ndarray:
        """``(k, n)``: how far beyond the limit, as a share of it (0 within)."""
        if self.limit_h is None:
            return np.zeros(self.hours.shape)
        return np.maximum(self.hours - self.limit_h, 0.0) / self.limit_h

    def contiguous_reach(self, bu: BalanceUnits) -> np.ndarray:
        """``(k, n)``: units a territory can hold within the limit and still be one piece.

        A unit within reach but cut from the home's unit by units out of
        reach cannot belong to a contiguous territory that keeps the limit.
        """
        reach = self.reach
        out = np.zeros_like(reach)
        pairs = bu.adjacency.pairs
        for t in range(reach.shape[0]):
            ok = reach[t]
            home = int(np.argmin(self.hours[t]))
            if not ok[home]:
                continue
            keep = ok[pairs[:, 0]] & ok[pairs[:, 1]]
            p = pairs[keep]
            graph = sparse.csr_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(bu.n, bu.n))
            comp = connected_components(graph, directed=False)[1]
            out[t] = ok & (comp == comp[home])
        return out


def drive_costs(
    bu: BalanceUnits,
    territories: list[str],
    p: BalanceParams,
    *,
    reps: gpd.GeoDataFrame | None,
    drive_hours: pd.DataFrame | None = None,
) -> DriveCosts | None:
    """Drive hours from each territory's rep to each unit, when a limit or drive compactness asks.

    Territory ids are rep ids (as in a design or rebalance with reps); a
    ``drive_hours`` table (rows territory ids, columns unit ids) may instead
    give each territory's hours from its owner's home, without reps.

    Raises
    ------
    InputError
        If a drive limit or drive compactness is asked for without reps, or
        ``drive_hours`` misses a rep or unit or holds bad values.
    """
    if p.max_drive_h is None and p.compactness != "drive":
        return None
    if reps is None and drive_hours is None:
        raise InputError("a drive limit needs the reps' homes", [Problem(
            "max_drive_h and compactness='drive' measure drive time from each rep's home, "
            "but neither reps nor drive hours were given", column="max_drive_h",
            fix="pass reps (rep_id and home point) or drive_hours, or leave the drive limit "
            "out")],
            source="params")
    if drive_hours is None:
        assert reps is not None  # refused above
        hours, method = _estimated(bu, territories, reps), estimate_method()
    else:
        hours, method = drive_table(drive_hours, territories, list(bu.ids)), "roads"
    return DriveCosts(hours, p.max_drive_h, p.drive_limit == "hard", p.drive_penalty, method,
                      by_drive=p.compactness == "drive")


def _estimated(bu: BalanceUnits, territories: list[str], reps: gpd.GeoDataFrame) -> np.ndarray:
    """Straight-line estimate from each rep's home to each unit's centroid, hours."""
    homes = rep_home_points(reps, bu)
    missing = [t for t in territories if t not in homes]
    if missing:
        raise InputError("reps do not cover every territory", [Problem(
            f"no home location for territories {format_ids(missing)}", column="rep_id",
            fix="with a drive limit, territory ids are rep ids: give each a rep with a home")],
            source="reps")
    hx = np.array([homes[t][0] for t in territories])[:, None]
    hy = np.array([homes[t][1] for t in territories])[:, None]
    metres = np.hypot(bu.x_m[None, :] - hx, bu.y_m[None, :] - hy)
    return np.asarray(metres * ESTIMATE_CIRCUITY / (ESTIMATE_SPEED_KPH * 1000.0))


def drive_table(table: pd.DataFrame, territories: list[str], units: list[str]) -> np.ndarray:
    """Check and align a drive-hours table (rows rep ids, columns unit ids) to ``(k, n)``.

    Raises
    ------
    InputError
        Listing missing reps, missing units and negative or missing hours.
    """
    frame = table.copy()
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    problems: list[Problem] = []
    rows = [t for t in territories if t not in frame.index]
    if rows:
        problems.append(Problem(f"drive hours have no row for territories {format_ids(rows)}",
                                column="drive_hours",
                                fix="give one row per territory (its rep id, or its id)"))
    cols = [u for u in units if u not in frame.columns]
    if cols:
        problems.append(Problem(f"drive hours have no column for units {format_ids(cols)}",
                                column="drive_hours", fix="give one column per unit id"))
    if problems:
        raise InputError("the drive hours do not match the reps and units", problems,
                         source="drive_hours")
    hours = frame.loc[territories, units].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = np.isnan(hours) | (hours < 0)
    if bad.any():
        t, u = np.argwhere(bad)[0]
        raise InputError("the drive hours hold bad values", [Problem(
            f"{int(bad.sum())} drive times are missing or negative (first: rep "
            f"{territories[t]}, unit {units[u]})", column="drive_hours",
            fix="give hours of 0 or more; inf for a unit no road reaches")],
            source="drive_hours")
    return hours


def out_of_reach(
    drive: DriveCosts, bu: BalanceUnits, territories: list[str], pinned: np.ndarray,
    free_t: np.ndarray,
) -> list[str]:
    """Why a hard drive limit cannot be met: units no rep reaches, pinned units out of reach.

    ``pinned`` holds per unit the territory it is locked to (-1: free);
    ``free_t`` per territory whether it may take units.
    """
    if drive.limit_h is None or not drive.hard:
        return []
    ids = np.asarray(bu.ids, dtype=object)
    reach = drive.contiguous_reach(bu)
    reasons = []
    lost = np.flatnonzero((pinned < 0) & ~reach[free_t].any(axis=0))
    if len(lost):
        reasons.append(_lost_reason(drive, ids[lost], drive.hours[:, lost], territories))
    locked = [u for u in np.flatnonzero(pinned >= 0) if not reach[pinned[u], u]]
    if locked:
        reasons.append(
            f"units {format_ids(ids[locked])} are locked to territories whose rep lives beyond "
            f"{drive.limit_h:g} h from them; unlock them or raise the drive limit")
    return reasons


def _lost_reason(
    drive: DriveCosts, lost_ids: np.ndarray, hours: np.ndarray, territories: list[str]
) -> str:
    """Name the units no territory can hold within the limit, and what would let one."""
    nearest = hours.min(axis=0)
    far = nearest > (drive.limit_h or 0.0) + _EPS
    text = f"units {format_ids(lost_ids)} are out of reach of every rep within {drive.limit_h:g} h"
    if far.any():
        worst = int(np.argmax(nearest))
        rep = territories[int(np.argmin(hours[:, worst]))]
        text += (f" (unit {lost_ids[worst]} is {nearest[worst]:.2f} h from the nearest home, "
                 f"rep {rep}'s)")
        fix = f"raise the drive limit to {nearest[worst]:.2f} h or more"
    else:
        text += " (they lie within the limit but every path to them crosses units beyond it)"
        fix = "raise the drive limit"
    return text + f"; {fix}, add a rep near them, or make the limit soft"


def check_reach(
    drive: DriveCosts | None, bu: BalanceUnits, territories: list[str], pinned: np.ndarray,
    free_t: np.ndarray,
) -> None:
    """Refuse a hard drive limit no plan can keep, naming the units out of reach.

    Raises
    ------
    InfeasibleError
        If a unit lies beyond the limit from every free territory's home
        (or is cut off from it), or a locked unit from its territory's home.
    """
    if drive is None:
        return
    reasons = out_of_reach(drive, bu, territories, pinned, free_t)
    if reasons:
        raise InfeasibleError("no plan can keep the drive limit: " + "; ".join(reasons) + ".")


def drive_report(drive: DriveCosts, bu: BalanceUnits, labels: np.ndarray) -> pd.DataFrame:
    """Per territory: the longest drive from its home, units beyond the limit, whether it binds.

    The limit binds a territory when a unit touching it (in another
    territory) lies beyond the limit from its home, so it could not grow
    there, or when it holds units beyond the limit (a soft limit).
    """
    k, n = drive.hours.shape
    at = drive.hours[labels, np.arange(n)]
    worst = np.full(k, 0.0)
    np.maximum.at(worst, labels, at)
    beyond = np.zeros(k, dtype=np.int64)
    binds = np.zeros(k, dtype=bool)
    if drive.limit_h is not None:
        over = at > drive.limit_h + _EPS
        beyond = np.bincount(labels[over], minlength=k)
        pairs = bu.adjacency.pairs
        a, b = pairs[:, 0], pairs[:, 1]
        cross = labels[a] != labels[b]
        far_b = drive.hours[labels[a], b] > drive.limit_h + _EPS
        far_a = drive.hours[labels[b], a] > drive.limit_h + _EPS
        binds[labels[a][cross & far_b]] = True
        binds[labels[b][cross & far_a]] = True
        binds |= beyond > 0
    return pd.DataFrame({"drive_max_h": worst, "drive_units_beyond": beyond,
                         "drive_limit_binds": binds})


def add_drive_report(
    table: pd.DataFrame, drive: DriveCosts, bu: BalanceUnits, labels: np.ndarray,
    territories: list[str],
) -> dict[str, Any]:
    """Add the drive columns to a plan's territory table; return the plan-level summary.

    The summary (``plan.parameters["drive"]``) holds the limit, its kind, how
    the hours were made, the longest drive, whether the limit is met and the
    territories it binds.
    """
    rows = drive_report(drive, bu, labels)
    rows.insert(0, "territory_id", territories)
    by_id = rows.set_index("territory_id")
    ids = table["territory_id"].astype(str)
    for col in ("drive_max_h", "drive_units_beyond", "drive_limit_binds"):
        table[col] = ids.map(by_id[col]).to_numpy()
    beyond = int(rows["drive_units_beyond"].sum())
    return {
        "max_drive_h": drive.limit_h,
        "drive_limit": "hard" if drive.hard else "soft",
        "drive_penalty": drive.penalty,
        "compactness": "drive" if drive.by_drive else "shape",
        "method": drive.method,
        "drive_max_h": round(float(rows["drive_max_h"].max()), 4) if len(rows) else 0.0,
        "units_beyond": beyond,
        "met": drive.limit_h is None or beyond == 0,
        "binds": sorted(rows.loc[rows["drive_limit_binds"], "territory_id"].astype(str)),
    }


def binds_text(summary: dict[str, Any], devs: dict[str, float], tolerance: float) -> str:
    """Say where the drive limit keeps a territory from its target (for a missed tolerance).

    ``devs`` maps territory id to its signed deviation; the limit is named
    where a territory outside the tolerance touches units beyond its reach.
    """
    binds = summary.get("binds") or []
    limit = summary.get("max_drive_h")
    if limit is None:
        return ""
    off = [t for t in binds if abs(devs.get(t, 0.0)) > tolerance + 1e-12]
    if not off:
        return ""
    return (f"the drive limit of {limit:g} h binds: territories {format_ids(off)} are outside the "
            "tolerance and the units they touch lie beyond that drive from their rep's home "
            "(raise the drive limit, make it soft, or add reps)")


def seeding_cost(drive: DriveCosts | None, ok: np.ndarray | None) -> np.ndarray | None:
    """Extra ``(k, n)`` cost of the seeding assignment: units out of reach, far units.

    In units of the squared map extent (the seeding's distance cost): a
    prohibitive cost out of reach of a hard limit, the squared penalty
    beyond a soft one, the squared share of the longest drive for drive
    compactness.
    """
    if drive is None:
        return None
    extra = np.zeros(drive.hours.shape)
    if ok is not None:
        extra += np.where(ok, 0.0, 1e3)
    elif drive.limit_h is not None:
        extra += 10.0 * (drive.penalty * drive.excess) ** 2
    if drive.by_drive:
        finite = drive.hours[np.isfinite(drive.hours)]
        top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        extra += np.minimum(drive.hours / top, 10.0) ** 2
    return extra


def reach_mask(drive: DriveCosts | None, bu: BalanceUnits) -> np.ndarray | None:
    """``(k, n)`` units each territory may hold under a hard limit (``None``: no hard limit)."""
    if drive is None or drive.limit_h is None or not drive.hard:
        return None
    return drive.contiguous_reach(bu)
