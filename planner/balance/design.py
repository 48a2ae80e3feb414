"""Design territories from scratch: seed, balanced assignment, contiguity repair, local search."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import KMeans

from planner.balance.metrics import compute_metrics, rep_home_points
from planner.balance.plan import Locks, Progress, TerritoryPlan, ToleranceNotMetError
from planner.balance.recombine import recombine, redraw
from planner.balance.search import SearchState
from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import BalanceWeight, balance_values
from planner.errors import InfeasibleError, InputError, Problem, format_ids
from planner.geo.adjacency import Contiguity
from planner.schema import CAPACITY_H_PER_WEEK, REP_ID, TERRITORY_ID, UNIT_ID

__all__ = ["design_territories"]

logger = logging.getLogger(__name__)

#: Share of area (against workload) in a unit's pull on its territory's centre;
#: area keeps sparsely loaded units near their centre, which keeps shapes compact.
_AREA_MIX = 0.5


@dataclass(frozen=True)
class _Setup:
    """Everything the design steps share, decided from the inputs."""

    territories: list[str]
    targets: np.ndarray
    open_: np.ndarray  # per territory: may change
    pinned: np.ndarray  # per unit: territory index or -1
    centres: np.ndarray | None  # fixed centres (rep homes), or None
    shares: dict[str, float] | None


def design_territories(
    units: UnitsLike,
    *,
    k: int | None = None,
    reps: gpd.GeoDataFrame | None = None,
    weight: BalanceWeight,
    tolerance: float = 0.02,
    locked: Locks | Mapping[str, str] | pd.Series | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    contiguity: Contiguity = "rook",
    compactness_sweeps: int = 6,
    restarts: int | None = None,
    capacity_column: str = CAPACITY_H_PER_WEEK,
) -> TerritoryPlan:
    """Split units into contiguous territories of even workload.

    The recipe: seed centres (weighted k-means on unit centroids, or the
    reps' homes fixed as centres); a capacity-constrained assignment of units
    to centres (a linear programme solved by HiGHS, re-centred a few times);
    a repair that keeps each territory's main piece and hands stray pieces
    to neighbours; then a contiguity-preserving local search: workload is
    pushed along the territory graph where a min-cost flow says it should go,
    single moves and swaps of boundary units cut the remaining deviation, and
    boundary moves that keep every territory within the tolerance raise the
    Polsby-Popper compactness. Same inputs and seed give the same plan.

    Parameters
    ----------
    units
        Unit polygons with a ``unit_id`` column and the balance column(s),
        in any CRS (geographic data is measured in a local UTM zone), or
        prepared units.
    k
        Number of territories (with ``reps``, defaults to one per rep).
    reps
        Reps with ``rep_id`` and a home point: one territory per rep, named by
        the rep id, centred on the home; targets follow the capacity column
        when every rep has one, else they are equal.
    weight
        Column to balance, or a mapping of column name to relative weight.
    tolerance
        Largest accepted relative deviation of a territory from its target
        (0.02 is +/-2 %).
    locked
        Units pinned to territories (a mapping unit id -> territory id, or
        :class:`Locks`, which can also freeze whole territories). Lock
        labels name territories; other territories get ids ``T01``, ``T02``...
    seed
        Seed of the k-means initialisation.
    progress
        Called with (fraction done, message).
    contiguity
        ``"rook"`` or ``"queen"`` adjacency of units.
    compactness_sweeps
        Passes of the compactness search (0 skips it).
    restarts
        Independent starts (k-means seeds derived from ``seed``); the best
        plan is kept: within tolerance first, then the most compact. By
        default as many as fit a small work budget (6 for 160 units, 1 from
        1,000 units).
    capacity_column
        Reps' capacity column used for targets.

    Returns
    -------
    TerritoryPlan
        Assignment, parameters and metrics.

    Raises
    ------
    InputError
        If inputs are invalid (missing or negative weights, ``k`` larger than
        the number of units, unknown lock labels...).
    InfeasibleError
        If the tolerance cannot be met: a unit heavier than a target allows,
        locked units too heavy for their territory, locked units that cannot
        be joined, or territories cut off by a locked territory. The message
        says what would make it feasible.
    ToleranceNotMetError
        (an :class:`InfeasibleError`) if the search ended outside the
        tolerance; the best plan found is attached as ``.plan``.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be in [0, 1), not {tolerance!r}")
    report(0.0, "preparing units")
    bu = prepare_units(units, contiguity=contiguity)
    values, _betas = balance_values(bu.frame, weight)
    locks = Locks.coerce(locked)
    setup = _setup(bu, values, k=k, reps=reps, locks=locks, tolerance=tolerance,
                   capacity_column=capacity_column)
    _check_feasible(bu, values, setup, tolerance)
    n_runs = restarts if restarts is not None else max(1, min(6, 1000 // bu.n))
    if n_runs < 1:
        raise InputError(f"restarts must be at least 1, not {restarts!r}")
    best: tuple[tuple[float, float], SearchState] | None = None
    for run in range(n_runs):
        def sub(fraction: float, message: str, run: int = run) -> None:
            report(0.05 + 0.9 * (run + fraction) / n_runs, message)

        state = _search_once(bu, values, setup, tolerance, seed + 7919 * run,
                             compactness_sweeps, sub)
        reached = state.max_abs_dev()
        pp_mean = sum(state.pp(t) for t in range(state.k)) / state.k
        key = (max(reached, tolerance), -pp_mean)
        if best is None or key < best[0]:
            best = (key, state)
    assert best is not None
    state = best[1]
    report(0.95, "measuring")
    plan = _make_plan(bu, state.labels(), setup, locks, values, weight, tolerance, seed, k,
                      reps, time.perf_counter() - started, restarts=n_runs)
    reached = state.max_abs_dev()
    if reached > tolerance + 1e-12:
        lower = _granularity_bound(values, setup)
        floor = (f" (the heaviest unit alone forces at least {lower:.2%})" if lower > 0 else "")
        raise ToleranceNotMetError(
            f"the best plan found is {reached:.2%} from target at worst, outside the "
            f"tolerance of {tolerance:.2%}{floor}. To make it feasible: raise the tolerance to "
            f"{reached:.2%} or more, use smaller units, fewer territories, or fewer locks. The "
            "best plan is attached as .plan.",
            plan,
        )
    report(1.0, "done")
    logger.info("designed %d territories in %.2f s, max deviation %.3f%%",
                len(setup.territories), time.perf_counter() - started, 100 * reached)
    return plan


def _search_once(
    bu: BalanceUnits,
    values: np.ndarray,
    setup: _Setup,
    tolerance: float,
    seed: int,
    compactness_sweeps: int,
    report: Progress,
) -> SearchState:
    """One start: seed, assign, repair, balance, compact."""
    report(0.0, "seeding and assigning")
    labels = _initial_labels(bu, values, setup, tolerance, seed)
    report(0.4, "repairing contiguity")
    labels = _repair(bu, values, labels, setup)
    state = SearchState(bu, values, labels, setup.targets, setup.pinned < 0, setup.open_)
    _fill_empty(state, bu, setup)
    report(0.5, "balancing")
    goal = tolerance * 0.5
    rng = np.random.default_rng(seed)
    _balance(state, goal, rng)
    for sweep in range(2 if compactness_sweeps else 0):
        report(0.7 + 0.1 * sweep, "improving compactness")
        state.compact(tolerance * 0.9, sweeps=compactness_sweeps)
        state.descend(tolerance)
    _balance(state, tolerance, rng)
    return state


def _balance(state: SearchState, goal: float, rng: np.random.Generator) -> None:
    """Flows, descent and kicks; then, if a territory is still off, recombination and again."""
    state.flow_balance(goal)
    state.descend(goal)
    state.kick(goal)
    if state.max_abs_dev() > goal and recombine(state, goal, rng=rng):
        state.flow_balance(goal)
        state.descend(goal)
        state.kick(goal)
    if state.max_abs_dev() > goal and redraw(state, goal, rng=rng):
        state.descend(goal)
        recombine(state, goal, rng=rng)


# --- setup and feasibility --------------------------------------------------------
def _setup(
    bu: BalanceUnits,
    values: np.ndarray,
    *,
    k: int | None,
    reps: gpd.GeoDataFrame | None,
    locks: Locks,
    tolerance: float,
    capacity_column: str,
) -> _Setup:
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
        k = len(rep_ids)
        territories = rep_ids
        stray = [t for t in labels_used if t not in set(rep_ids)]
        if stray:
            problems.append(Problem(f"locks name territories {format_ids(stray)} that are not reps",
                                    fix="with reps, territory ids are rep ids"))
        homes = rep_home_points(reps, bu)
        centres = np.array([homes[r] for r in rep_ids], dtype=float)
        if capacity_column in reps.columns:
            cap = pd.to_numeric(reps[capacity_column], errors="coerce")
            if cap.notna().all():
                if (cap <= 0).any():
                    problems.append(Problem(
                        f"reps {format_ids(reps.loc[(cap <= 0).to_numpy(), REP_ID])} have no "
                        "positive capacity", column=capacity_column,
                        fix="give every rep a capacity in hours per week, or leave the column out"))
                else:
                    shares = {str(r): float(c) for r, c in zip(reps[REP_ID], cap, strict=True)}
    else:
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
        territories.sort()
    if k is not None and k > bu.n:
        problems.append(Problem(
            f"k={k} territories but only {bu.n} units: every territory needs a unit",
            fix=f"use k <= {bu.n} or smaller units"))
    if problems:
        raise InputError("the design request is invalid", problems)
    assert k is not None
    t_index = {t: i for i, t in enumerate(territories)}
    pinned = np.full(bu.n, -1, dtype=np.int64)
    for u, t in locks.units.items():
        pinned[ids[u]] = t_index[t]
    open_ = np.array([t not in locks.territories for t in territories])
    frozen_units = np.isin(pinned, np.flatnonzero(~open_))
    w_free = values[~frozen_units].sum()
    if centres is not None:
        _pin_homes(bu, values, pinned, centres, open_, w_free / max(int(open_.sum()), 1),
                   tolerance)
    free_ids = [t for t in territories if t not in locks.territories]
    s = np.array([shares[t] if shares else 1.0 for t in free_ids], dtype=float)
    targets = np.zeros(k)
    for t, share in zip(free_ids, s, strict=True):
        targets[t_index[t]] = w_free * share / s.sum()
    for t in locks.territories:
        i = t_index[t]
        targets[i] = max(values[pinned == i].sum(), 1e-12)
    if w_free <= 0 and len(free_ids):
        raise InfeasibleError("the units outside locked territories carry no workload: "
                              "unlock a territory or balance another column")
    return _Setup(territories, targets, open_, pinned, centres, shares)


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
    import shapely

    tree = shapely.STRtree(np.asarray(bu.geometry.values))
    points = shapely.points(centres)
    nearest = tree.query_nearest(points, all_matches=False)
    for t, u in zip(nearest[0].tolist(), nearest[1].tolist(), strict=True):
        if not open_[t] or (pinned == t).any() or pinned[u] >= 0:
            continue
        if values[u] > mean_target * (1 + tolerance):
            continue
        pinned[u] = t


def _granularity_bound(values: np.ndarray, setup: _Setup) -> float:
    movable = setup.pinned < 0
    free_t = setup.open_
    if not movable.any() or not free_t.any():
        return 0.0
    return float(max(0.0, values[movable].max() / setup.targets[free_t].max() - 1.0))


def _check_feasible(bu: BalanceUnits, values: np.ndarray, setup: _Setup, tol: float) -> None:
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


def _lock_connectivity(bu: BalanceUnits, setup: _Setup) -> list[str]:
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


# --- seeding and balanced assignment ------------------------------------------
def _initial_labels(
    bu: BalanceUnits, values: np.ndarray, setup: _Setup, tol: float, seed: int
) -> np.ndarray:
    k = len(setup.territories)
    labels = np.full(bu.n, -1, dtype=np.int64)
    fixed = setup.pinned >= 0
    labels[fixed] = setup.pinned[fixed]
    frozen_units = np.isin(setup.pinned, np.flatnonzero(~setup.open_))
    free_units = ~frozen_units
    xy = np.column_stack([bu.x_m, bu.y_m])
    mass = _mass(bu, values)
    # parts of the map outside frozen territories, each with its own territories
    comp = _free_components(bu, free_units)
    allocation = _allocate(bu, values, setup, comp, free_units)
    centres = np.zeros((k, 2))
    lock_centres = {
        int(t): np.average(xy[setup.pinned == t], axis=0, weights=mass[setup.pinned == t])
        for t in np.unique(setup.pinned[fixed])
    }
    for part, ts in allocation.items():
        in_part = np.flatnonzero((comp == part) & free_units)
        centres[ts] = _seed_centres(xy[in_part], mass[in_part], setup, ts, lock_centres, seed)
    for t in np.flatnonzero(~setup.open_):
        centres[t] = np.average(xy[setup.pinned == t], axis=0, weights=mass[setup.pinned == t])
    allowed = {part: np.array(ts) for part, ts in allocation.items()}
    todo = np.flatnonzero(free_units & ~fixed)
    if len(todo) == 0:
        return labels
    prev = None
    for _ in range(1 if setup.centres is not None else 5):
        assigned = _assign_lp(xy, mass, values, todo, comp, allowed, centres, setup, tol)
        labels[todo] = assigned
        if prev is not None and (prev != assigned).mean() < 0.01:
            break
        prev = assigned
        if setup.centres is None:
            for t in np.flatnonzero(setup.open_):
                m = labels == t
                if m.any():
                    centres[t] = np.average(xy[m], axis=0, weights=mass[m])
    return labels


def _mass(bu: BalanceUnits, values: np.ndarray) -> np.ndarray:
    """Return how strongly each unit pulls its centre: workload share blended with area share."""
    w = values / max(values.mean(), 1e-12)
    a = bu.area_m2 / max(bu.area_m2.mean(), 1e-12)
    return (1.0 - _AREA_MIX) * w + _AREA_MIX * a + 1e-3


def _free_components(bu: BalanceUnits, free: np.ndarray) -> np.ndarray:
    pairs = bu.adjacency.pairs
    keep = free[pairs[:, 0]] & free[pairs[:, 1]]
    p = pairs[keep]
    graph = sparse.csr_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(bu.n, bu.n))
    return connected_components(graph, directed=False)[1]


def _allocate(
    bu: BalanceUnits, values: np.ndarray, setup: _Setup, comp: np.ndarray, free: np.ndarray
) -> dict[int, list[int]]:
    """Share the open territories among the parts of the map outside frozen ones."""
    parts = sorted(np.unique(comp[free]).tolist())
    open_t = [int(t) for t in np.flatnonzero(setup.open_)]
    owner: dict[int, int] = {}
    for t in open_t:
        where = np.unique(comp[setup.pinned == t])
        if len(where):
            owner[t] = int(where[0])
    unplaced = [t for t in open_t if t not in owner]
    xy = np.column_stack([bu.x_m, bu.y_m])
    if setup.centres is not None:
        for t in unplaced:
            d = np.hypot(*(xy[free] - setup.centres[t]).T)
            owner[t] = int(comp[free][np.argmin(d)])
        unplaced = []
    counts = {p: sum(1 for t in owner.values() if t == p) for p in parts}
    mean_target = setup.targets[open_t].mean() if open_t else 1.0
    weight_of = {p: values[(comp == p) & free].sum() for p in parts}
    for p in parts:
        if counts[p] == 0 and unplaced:
            owner[unplaced.pop(0)] = p
            counts[p] = 1
    while unplaced:
        p = max(parts, key=lambda q: (weight_of[q] / mean_target - counts[q], -q))
        owner[unplaced.pop(0)] = p
        counts[p] += 1
    empty = [p for p in parts if counts[p] == 0]
    if empty:
        ids = np.asarray(bu.ids, dtype=object)
        example = np.flatnonzero(comp == empty[0])
        raise InfeasibleError(
            f"units {format_ids(ids[example])} are cut off from every free territory (by locked "
            "territories) and no territory can be placed there; lock them into a neighbouring "
            "territory, unlock it, or add a rep near them")
    allocation: dict[int, list[int]] = {p: [] for p in parts}
    for t in sorted(owner):
        allocation[owner[t]].append(t)
    return {p: ts for p, ts in allocation.items() if ts}


def _seed_centres(
    xy: np.ndarray,
    mass: np.ndarray,
    setup: _Setup,
    ts: list[int],
    lock_centres: dict[int, np.ndarray],
    seed: int,
) -> np.ndarray:
    if setup.centres is not None:
        return setup.centres[ts]
    n_c = len(ts)
    if n_c >= len(xy):
        return np.vstack([xy, np.repeat(xy[:1], n_c - len(xy), axis=0)])[:n_c]
    km = KMeans(n_clusters=n_c, n_init=1, random_state=seed)
    km.fit(xy, sample_weight=mass)
    centres = km.cluster_centers_
    # territories with locked units take the k-means centres nearest their locks
    locked_rows = [i for i, t in enumerate(ts) if t in lock_centres]
    if not locked_rows:
        return centres
    cost = np.array([np.hypot(*(centres - lock_centres[ts[i]]).T) for i in locked_rows])
    rows, cols = linear_sum_assignment(cost)
    taken = {int(c) for c in cols}
    rest = iter(c for c in range(n_c) if c not in taken)
    order = np.zeros(n_c, dtype=np.int64)
    for r, c in zip(rows, cols, strict=True):
        order[locked_rows[r]] = c
    for i in range(n_c):
        if i not in locked_rows:
            order[i] = next(rest)
    out = centres[order]
    for i in locked_rows:
        out[i] = lock_centres[ts[i]]
    return out


def _assign_lp(
    xy: np.ndarray,
    mass: np.ndarray,
    values: np.ndarray,
    todo: np.ndarray,
    comp: np.ndarray,
    allowed: dict[int, np.ndarray],
    centres: np.ndarray,
    setup: _Setup,
    tol: float,
) -> np.ndarray:
    """Assign ``todo`` units to territories: min sum mass * distance^2, loads near target."""
    k = len(setup.territories)
    extent = np.ptp(xy, axis=0).max() or 1.0
    m_cand = 8
    rows_u: list[np.ndarray] = []
    cols_t: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    for part, ts in allowed.items():
        members = todo[comp[todo] == part]
        if len(members) == 0:
            continue
        d2 = ((xy[members, None, :] - centres[None, ts, :]) ** 2).sum(axis=2) / extent**2
        m = min(len(ts), m_cand)
        near = np.argsort(d2, axis=1, kind="stable")[:, :m]
        rows_u.append(np.repeat(members, m))
        cols_t.append(ts[near].ravel())
        costs.append((np.take_along_axis(d2, near, axis=1) * (mass[members, None]
                      / mass.mean())).ravel())
    unit_of = np.concatenate(rows_u)
    terr_of = np.concatenate(cols_t)
    cost = np.concatenate(costs)
    n_x = len(unit_of)
    pos = {u: i for i, u in enumerate(todo.tolist())}
    unit_row = np.array([pos[u] for u in unit_of.tolist()])
    scale = setup.targets.mean()
    pinned_load = np.bincount(setup.pinned[setup.pinned >= 0],
                              weights=values[setup.pinned >= 0], minlength=k)
    band = tol / 4
    upper = setup.targets * (1 + band) - pinned_load
    lower = np.maximum(setup.targets * (1 - band) - pinned_load, 0.0)
    # x variables, then per territory: under-slack and over-slack
    a_eq = sparse.csr_matrix(
        (np.ones(n_x), (unit_row, np.arange(n_x))), shape=(len(todo), n_x + 2 * k)
    )
    w_x = values[unit_of] / scale
    # rows 0..k-1: load - over <= upper ; rows k..2k-1: -load - under <= -lower
    v = np.concatenate([w_x, -np.ones(k), -w_x, -np.ones(k)])
    c = np.concatenate([np.arange(n_x), n_x + k + np.arange(k), np.arange(n_x), n_x + np.arange(k)])
    r = np.concatenate([terr_of, np.arange(k), terr_of + k, np.arange(k) + k])
    a_ub = sparse.csr_matrix((v, (r, c)), shape=(2 * k, n_x + 2 * k))
    b_ub = np.concatenate([upper / scale, -lower / scale])
    penalty = 1e3 * max(cost.max(), 1.0)
    obj = np.concatenate([cost, np.full(2 * k, penalty)])
    res = linprog(obj, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(len(todo)),
                  bounds=(0, None), method="highs")
    if res.status != 0:  # pragma: no cover - the slacks make it always feasible
        raise InfeasibleError(f"the balanced assignment failed: {res.message}")
    x = res.x[:n_x]
    # each unit goes where the largest share of it went (ties: nearest candidate first)
    order = np.lexsort((np.arange(n_x), -x, unit_row))
    first = np.ones(n_x, dtype=bool)
    first[1:] = unit_row[order][1:] != unit_row[order][:-1]
    out = np.full(len(todo), -1, dtype=np.int64)
    out[unit_row[order][first]] = terr_of[order][first]
    return out


# --- contiguity repair --------------------------------------------------------
def _repair(
    bu: BalanceUnits, values: np.ndarray, labels: np.ndarray, setup: _Setup
) -> np.ndarray:
    """Keep each territory's main piece; join locked pieces; give stray pieces to neighbours."""
    labels = labels.copy()
    nb = bu.neighbours
    k = len(setup.territories)
    pinned = setup.pinned
    frozen = np.isin(pinned, np.flatnonzero(~setup.open_))
    for _ in range(20):
        broken = False
        for t in range(k):
            pieces = _pieces(nb, labels, t)
            if len(pieces) <= 1:
                continue
            broken = True
            # the main piece: most locked units, then most workload, then most units
            pieces.sort(key=partial(_piece_rank, pinned=pinned, values=values, t=t), reverse=True)
            anchor = set(pieces[0])
            for piece in pieces[1:]:
                if (pinned[piece] == t).any():
                    path = _path(nb, piece, anchor, (pinned < 0) & ~frozen)
                    for u in path:
                        labels[u] = t
                    anchor.update(piece)
                    anchor.update(path)
                else:
                    for u in piece:
                        labels[u] = -1
        _flood(nb, labels, values, setup)
        if not broken:
            break
    else:
        bad = [setup.territories[t] for t in range(k) if len(_pieces(nb, labels, t)) > 1]
        if bad:
            raise InfeasibleError(
                f"territories {format_ids(bad)} could not be made contiguous around their locked "
                "units; unlock some units")
    return labels


def _piece_rank(
    piece: list[int], *, pinned: np.ndarray, values: np.ndarray, t: int
) -> tuple[int, float, int, int]:
    return (int((pinned[piece] == t).sum()), float(values[piece].sum()), len(piece), -min(piece))


def _pieces(nb: list[list[int]], labels: np.ndarray, t: int) -> list[list[int]]:
    members = np.flatnonzero(labels == t).tolist()
    seen: set[int] = set()
    pieces = []
    for s in members:
        if s in seen:
            continue
        piece = [s]
        seen.add(s)
        stack = [s]
        while stack:
            x = stack.pop()
            for y in nb[x]:
                if y not in seen and labels[y] == t:
                    seen.add(y)
                    piece.append(y)
                    stack.append(y)
        pieces.append(sorted(piece))
    return pieces


def _path(
    nb: list[list[int]], piece: list[int], anchor: set[int], passable: np.ndarray
) -> list[int]:
    """Shortest path (in units) from ``piece`` to ``anchor`` through passable units."""
    start = set(piece)
    parent: dict[int, int] = {u: -1 for u in piece}
    frontier = sorted(start)
    while frontier:
        nxt = []
        for x in frontier:
            for y in nb[x]:
                if y in parent:
                    continue
                if y in anchor:
                    path = []
                    while x not in start:
                        path.append(x)
                        x = parent[x]
                    return path
                if passable[y]:
                    parent[y] = x
                    nxt.append(y)
        frontier = nxt
    raise InfeasibleError("locked units cannot be joined into one piece")  # pragma: no cover


def _flood(nb: list[list[int]], labels: np.ndarray, values: np.ndarray, setup: _Setup) -> None:
    """Give unassigned units to the lightest open neighbouring territory, growing outwards."""
    load = np.bincount(labels[labels >= 0], weights=values[labels >= 0],
                       minlength=len(setup.territories))
    todo = set(np.flatnonzero(labels < 0).tolist())
    while todo:
        progress = False
        for u in sorted(todo):
            options = {int(labels[v]) for v in nb[u] if labels[v] >= 0 and setup.open_[labels[v]]}
            if not options:
                continue
            t = min(options, key=lambda s: (load[s] / setup.targets[s], s))
            labels[u] = t
            load[t] += values[u]
            todo.discard(u)
            progress = True
        if not progress:  # pragma: no cover - every free part holds a territory
            raise InfeasibleError("some units cannot reach any free territory")


def _fill_empty(state: SearchState, bu: BalanceUnits, setup: _Setup) -> None:
    """Give every empty territory one unit, taken from the heaviest territory."""
    for t in range(state.k):
        if state.members[t] or not setup.open_[t]:
            continue
        heaviest = max((s for s in range(state.k) if setup.open_[s]),
                       key=lambda s: (state.dev(s), -s))
        for u in sorted(state.members[heaviest]):
            if state.can_leave(u) and len(state.members[heaviest]) > 1:
                state.move(u, t)
                break
        else:  # pragma: no cover
            raise InfeasibleError(f"territory {setup.territories[t]} could not get a unit")


# --- result -------------------------------------------------------------------
def _make_plan(
    bu: BalanceUnits,
    labels: np.ndarray,
    setup: _Setup,
    locks: Locks,
    values: np.ndarray,
    weight: BalanceWeight,
    tolerance: float,
    seed: int,
    k: int | None,
    reps: gpd.GeoDataFrame | None,
    elapsed_s: float,
    *,
    restarts: int,
) -> TerritoryPlan:
    terr = np.asarray(setup.territories, dtype=object)[labels]
    assignment = pd.Series(terr, index=pd.Index(bu.ids, name=UNIT_ID), name=TERRITORY_ID)
    targets = {t: float(v) for t, v in zip(setup.territories, setup.targets, strict=True)}
    metrics = compute_metrics(bu, assignment, weight=weight, targets=targets,
                              locked_territories=locks.territories, reps=reps)
    parameters = {
        "method": "design",
        "weight": weight if isinstance(weight, str) else dict(weight),
        "k": len(setup.territories),
        "tolerance": tolerance,
        "seed": seed,
        "restarts": restarts,
        "contiguity": bu.adjacency.contiguity,
        "bridges": [b.to_dict() for b in bu.adjacency.bridges],
        "reps": None if reps is None else [str(r) for r in reps[REP_ID]],
        "locks": locks.to_dict(),
        "runtime_s": round(elapsed_s, 3),
    }
    rep_of = {t: t for t in setup.territories} if reps is not None else {}
    return TerritoryPlan(assignment, parameters, metrics, frozenset(locks.units), targets, rep_of)
