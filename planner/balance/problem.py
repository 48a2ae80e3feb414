"""The design problem: territory names, targets, pinned units; checks that it can be met."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from planner.balance.metrics import rep_home_points
from planner.balance.plan import Locks
from planner.balance.units import BalanceUnits
from planner.errors import InfeasibleError, InputError, Problem, format_ids
from planner.schema import REP_ID

__all__ = ["DesignProblem", "check_feasible", "frame_problem", "granularity_bound"]


@dataclass(frozen=True)
class DesignProblem:
    """Everything the design steps share, decided from the inputs: territories, targets, pins."""

    territories: list[str]
    targets: np.ndarray
    open_: np.ndarray  # per territory: may change
    pinned: np.ndarray  # per unit: territory index or -1
    centres: np.ndarray | None  # fixed centres (rep homes), or None
    shares: dict[str, float] | None



def frame_problem(
    bu: BalanceUnits,
    values: np.ndarray,
    *,
    k: int | None,
    reps: gpd.GeoDataFrame | None,
    locks: Locks,
    tolerance: float,
    capacity_column: str,
) -> DesignProblem:
    """Name the territories, pin locked units (and reps' homes) and set each territory's target.

    Raises
    ------
    InputError
        Listing every problem of the request (unknown locked units, k against
        reps or units, repeated rep ids, capacities that are not positive).
    InfeasibleError
        If the units outside locked territories carry no workload.
    """
    problems: list[Problem] = []
    ids = bu.index_of()
    unknown = sorted(u for u in locks.units if u not in ids)
    if unknown:
        problems.append(Problem(f"locked units {format_ids(unknown)} are not in the units",
                                fix="lock units that exist"))
    labels_used = sorted(set(locks.units.values()))
    centres = None
    shares: dict[str, float] | None = None
    if reps is not None:
        territories, shares = _rep_territories(reps, k, labels_used, capacity_column, problems)
        homes = rep_home_points(reps, bu)
        centres = np.array([homes[r] for r in territories], dtype=float)
    else:
        territories = _numbered_territories(k, labels_used, problems)
    if len(territories) > bu.n:
        problems.append(Problem(
            f"k={len(territories)} territories but only {bu.n} units: every territory needs "
            "a unit", fix=f"use k <= {bu.n} or smaller units"))
    if problems:
        raise InputError("the design request is invalid", problems)
    t_index = {t: i for i, t in enumerate(territories)}
    pinned = np.full(bu.n, -1, dtype=np.int64)
    for u, t in locks.units.items():
        pinned[ids[u]] = t_index[t]
    open_ = np.array([t not in locks.territories for t in territories])
    w_free = values[~np.isin(pinned, np.flatnonzero(~open_))].sum()
    if centres is not None:
        _pin_homes(bu, values, pinned, centres, open_, w_free / max(int(open_.sum()), 1),
                   tolerance)
    targets = _targets(territories, locks, shares, values, pinned, w_free)
    return DesignProblem(territories, targets, open_, pinned, centres, shares)


def _rep_territories(
    reps: gpd.GeoDataFrame,
    k: int | None,
    labels_used: list[str],
    capacity_column: str,
    problems: list[Problem],
) -> tuple[list[str], dict[str, float] | None]:
    """One territory per rep, named by rep id; capacity shares when every rep has one."""
    if REP_ID not in reps.columns:
        raise InputError("reps have no id column",
                         [Problem(f"column '{REP_ID}' is missing", column=REP_ID,
                                  fix="add a rep id column")], source="reps")
    rep_ids = [str(r) for r in reps[REP_ID]]
    if len(set(rep_ids)) != len(rep_ids):
        problems.append(Problem("rep ids repeat", column=REP_ID, fix="give each rep one row"))
    if k is not None and k != len(rep_ids):
        problems.append(Problem(f"k={k} but {len(rep_ids)} reps were given",
                                fix="leave k out or pass one rep per territory"))
    stray = [t for t in labels_used if t not in set(rep_ids)]
    if stray:
        problems.append(Problem(f"locks name territories {format_ids(stray)} that are not reps",
                                fix="with reps, territory ids are rep ids"))
    if capacity_column not in reps.columns:
        return rep_ids, None
    cap = pd.to_numeric(reps[capacity_column], errors="coerce")
    if not cap.notna().all():
        return rep_ids, None
    if (cap <= 0).any():
        problems.append(Problem(
            f"reps {format_ids(reps.loc[(cap <= 0).to_numpy(), REP_ID])} have no "
            "positive capacity", column=capacity_column,
            fix="give every rep a capacity in hours per week, or leave the column out"))
        return rep_ids, None
    return rep_ids, {str(r): float(c) for r, c in zip(reps[REP_ID], cap, strict=True)}


def _numbered_territories(
    k: int | None, labels_used: list[str], problems: list[Problem]
) -> list[str]:
    """The locked territories' names, then ``T01``, ``T02``... up to ``k``."""
    if k is None:
        raise InputError("the number of territories is missing",
                         [Problem("neither k nor reps was given",
                                  fix="pass k=<number of territories> or reps")])
    if not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a positive whole number, not {k!r}")
    if len(labels_used) > k:
        problems.append(Problem(
            f"locks name {len(labels_used)} territories but k={k}",
            fix=f"raise k to at least {len(labels_used)} or lock fewer territories"))
    width = max(2, len(str(k)))
    territories = list(labels_used)
    i = 1
    while len(territories) < k:
        name = f"T{i:0{width}d}"
        if name not in territories:
            territories.append(name)
        i += 1
    return sorted(territories)


def _targets(
    territories: list[str],
    locks: Locks,
    shares: dict[str, float] | None,
    values: np.ndarray,
    pinned: np.ndarray,
    w_free: float,
) -> np.ndarray:
    """Free territories share the free workload (by capacity or equally); frozen keep theirs."""
    t_index = {t: i for i, t in enumerate(territories)}
    free_ids = [t for t in territories if t not in locks.territories]
    s = np.array([shares[t] if shares else 1.0 for t in free_ids], dtype=float)
    targets = np.zeros(len(territories))
    for t, share in zip(free_ids, s, strict=True):
        targets[t_index[t]] = w_free * share / s.sum()
    for t in locks.territories:
        i = t_index[t]
        targets[i] = max(values[pinned == i].sum(), 1e-12)
    if w_free <= 0 and len(free_ids):
        raise InfeasibleError("the units outside locked territories carry no workload: "
                              "unlock a territory or balance another column")
    return targets


def _pin_homes(
    bu: BalanceUnits,
    values: np.ndarray,
    pinned: np.ndarray,
    centres: np.ndarray,
    open_: np.ndarray,
    mean_target: float,
    tolerance: float,
) -> None:
    """Keep the unit holding each rep's home (or the nearest unit) in that rep's territory.

    Skipped for territories with locked units, for a unit already locked (two
    reps at one home), and for a home unit too heavy to be balanced anyway.
    """
    tree = shapely.STRtree(np.asarray(bu.geometry.values))
    points = shapely.points(centres)
    nearest = tree.query_nearest(points, all_matches=False)
    for t, u in zip(nearest[0].tolist(), nearest[1].tolist(), strict=True):
        if not open_[t] or (pinned == t).any() or pinned[u] >= 0:
            continue
        if values[u] > mean_target * (1 + tolerance):
            continue
        pinned[u] = t


def granularity_bound(values: np.ndarray, setup: DesignProblem) -> float:
    movable = setup.pinned < 0
    free_t = setup.open_
    if not movable.any() or not free_t.any():
        return 0.0
    return float(max(0.0, values[movable].max() / setup.targets[free_t].max() - 1.0))


def check_feasible(bu: BalanceUnits, values: np.ndarray, setup: DesignProblem, tol: float) -> None:
    reasons: list[str] = []
    ids = np.asarray(bu.ids, dtype=object)
    free_t = np.flatnonzero(setup.open_)
    if len(free_t):
        top = setup.targets[free_t].max() * (1 + tol)
        heavy = np.flatnonzero((setup.pinned < 0) & (values > top + 1e-9))
        if len(heavy):
            worst = heavy[np.argmax(values[heavy])]
            ratio = values[worst] / setup.targets[free_t].max()
            k_max = int(np.floor(values.sum() * (1 + tol) / values[worst]))
            reasons.append(
                f"units {format_ids(ids[heavy])} weigh more than a territory may hold "
                f"(unit {ids[worst]} alone is {ratio - 1:+.2%} from the target of "
                f"{setup.targets[free_t].max():.6g}, beyond the tolerance of {tol:.2%}); make it "
                f"feasible by raising the tolerance to {ratio - 1:.2%} or more, splitting those "
                f"units, or using at most {max(k_max, 1)} territories")
    for t in free_t:
        pinned_load = values[setup.pinned == t].sum()
        cap = setup.targets[t] * (1 + tol)
        if pinned_load > cap + 1e-9:
            reasons.append(
                f"units locked to territory {setup.territories[t]} weigh {pinned_load:.4g}, "
                f"more than its target {setup.targets[t]:.4g} plus {tol:.1%}; unlock some of them "
                "or raise the tolerance")
    reasons += _lock_connectivity(bu, setup)
    if reasons:
        raise InfeasibleError("no plan can meet the request: " + "; ".join(reasons) + ".")


def _lock_connectivity(bu: BalanceUnits, setup: DesignProblem) -> list[str]:
    reasons = []
    pairs = bu.adjacency.pairs
    n = bu.n
    frozen_t = np.flatnonzero(~setup.open_)
    frozen_units = np.isin(setup.pinned, frozen_t)
    ids = np.asarray(bu.ids, dtype=object)
    for t in np.unique(setup.pinned[setup.pinned >= 0]):
        allowed = (setup.pinned == t) | ((setup.pinned < 0) & ~frozen_units)
        if not setup.open_[t]:
            allowed = setup.pinned == t
        keep = allowed[pairs[:, 0]] & allowed[pairs[:, 1]]
        p = pairs[keep]
        graph = sparse.csr_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        pieces = np.unique(comp[setup.pinned == t])
        if len(pieces) > 1:
            name = setup.territories[t]
            if setup.open_[t]:
                reasons.append(
                    f"units locked to territory {name} ({format_ids(ids[setup.pinned == t])}) "
                    "cannot be joined into one piece without crossing units locked elsewhere; "
                    "unlock the units in between or lock fewer units")
            else:
                reasons.append(
                    f"locked territory {name} is in {len(pieces)} pieces, so it cannot stay "
                    "as it is and be contiguous; unlock it or add the units that join it")
    # every part of the map outside frozen territories needs a territory of its own
    if len(frozen_t):
        free = ~frozen_units
        keep = free[pairs[:, 0]] & free[pairs[:, 1]]
        p = pairs[keep]
        graph = sparse.csr_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        parts = np.unique(comp[free])
        n_free_t = int(setup.open_.sum())
        if len(parts) > n_free_t:
            sizes = sorted(parts, key=lambda c: int((comp == c).sum()))
            small = np.flatnonzero(comp == sizes[0])
            reasons.append(
                f"locked territories cut the other units into {len(parts)} separate parts but "
                f"only {n_free_t} territories are free (e.g. units {format_ids(ids[small])} "
                "are enclosed); add those units to the locked territory or unlock it")
    return reasons


