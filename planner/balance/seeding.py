"""Seeding a design: k-means (or rep homes) centres, then a balanced linear-programme assignment."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import KMeans

from planner.balance.problem import DesignProblem
from planner.balance.units import BalanceUnits
from planner.errors import InfeasibleError, format_ids

__all__ = ["initial_labels"]

#: Share of area (against workload) in a unit's pull on its territory's centre;
#: area keeps sparsely loaded units near their centre, which keeps shapes compact.
_AREA_MIX = 0.5

#: Above this many units to place, the balanced assignment is solved by a
#: Lagrangian (price) iteration instead of the exact LP, whose solve time
#: grows fastest (7 s per solve at 5,000 units here, minutes at 30,000).
_LP_MAX_UNITS = 2500


def initial_labels(
    bu: BalanceUnits, values: np.ndarray, setup: DesignProblem, tol: float, seed: int,
    *, extra_cost: np.ndarray | None = None,
) -> np.ndarray:
    """Seed centres and assign units under capacity; ``extra_cost`` (k, n) is added per pair.

    The extra cost is in units of the squared map extent (the distance cost's
    scale): a drive limit makes units beyond reach expensive there.
    """
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
        assign = _assign_lp if len(todo) <= _LP_MAX_UNITS else _assign_dual
        assigned = assign(xy, mass, values, todo, comp, allowed, centres, setup, tol,
                          extra_cost)
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
    bu: BalanceUnits, values: np.ndarray, setup: DesignProblem, comp: np.ndarray, free: np.ndarray
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
    setup: DesignProblem,
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
    setup: DesignProblem,
    tol: float,
    extra_cost: np.ndarray | None = None,
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
        d2 = _pair_cost(xy, members, centres, ts, extent, extra_cost)
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




def _assign_dual(
    xy: np.ndarray,
    mass: np.ndarray,
    values: np.ndarray,
    todo: np.ndarray,
    comp: np.ndarray,
    allowed: dict[int, np.ndarray],
    centres: np.ndarray,
    setup: DesignProblem,
    tol: float,
    extra_cost: np.ndarray | None = None,
) -> np.ndarray:
    """Assign ``todo`` units to near territories, loads near target, by a price iteration.

    The Lagrangian dual of :func:`_assign_lp`: each territory carries a price
    added to its units' cost (mass times squared distance); every unit takes
    its cheapest candidate, and prices rise where the load is over target
    and fall where it is under, with a shrinking step, until every load is
    within a quarter of the tolerance or the iterations run out. Rounding is
    left to the local search, as with the LP.
    """
    k = len(setup.territories)
    extent = np.ptp(xy, axis=0).max() or 1.0
    out = np.full(len(todo), -1, dtype=np.int64)
    pinned_load = np.bincount(setup.pinned[setup.pinned >= 0],
                              weights=values[setup.pinned >= 0], minlength=k)
    for part, ts in allowed.items():
        rows = np.flatnonzero(comp[todo] == part)
        if len(rows) == 0:
            continue
        members = todo[rows]
        d2 = _pair_cost(xy, members, centres, ts, extent, extra_cost)
        m = min(len(ts), 8)
        near = np.argsort(d2, axis=1, kind="stable")[:, :m]
        cost = np.take_along_axis(d2, near, axis=1) * (mass[members, None] / mass.mean())
        cand = ts[near]
        out[rows] = _price_iteration(cost, cand, values[members], setup.targets - pinned_load,
                                     k, tol / 4)
    return out


def _price_iteration(
    cost: np.ndarray, cand: np.ndarray, w: np.ndarray, room: np.ndarray, k: int, band: float,
    *, rounds: int = 300,
) -> np.ndarray:
    """Cheapest candidate per unit under territory prices tuned towards the ``room`` loads."""
    price = np.zeros(k)
    step = float(np.median(cost[:, 0]) + 1e-12) * 4.0
    room = np.maximum(room, 1e-12)
    used = np.unique(cand)
    best = cand[:, 0]
    best_gap = np.inf
    for _ in range(rounds):
        pick = np.argmin(cost + price[cand], axis=1)
        choice = cand[np.arange(len(cand)), pick]
        load = np.bincount(choice, weights=w, minlength=k)
        rel = load[used] / room[used] - 1.0
        gap = float(np.abs(rel).max())
        if gap < best_gap:
            best, best_gap = choice, gap
        if gap <= band:
            break
        price[used] += step * np.clip(rel, -1.0, 1.0)
        step *= 0.98
    return best


def _pair_cost(
    xy: np.ndarray, members: np.ndarray, centres: np.ndarray, ts: np.ndarray, extent: float,
    extra_cost: np.ndarray | None,
) -> np.ndarray:
    """Squared distance of each unit to each candidate centre, over extent squared, plus extra."""
    d2 = ((xy[members, None, :] - centres[None, ts, :]) ** 2).sum(axis=2) / extent**2
    if extra_cost is not None:
        d2 = d2 + extra_cost[np.ix_(ts, members)].T
    return np.asarray(d2)
