"""Exact set partitioning of a small map: a plan within the tolerance, or a proof that none exists.

When territories hold only a few units each (city tracts at k = 50: about
four tracts a territory), a plan within the tolerance may simply not exist,
although no single unit is too heavy: the local search cannot tell. On such
maps every connected set of units whose workload is near a target is few
enough to list, and a small integer programme (HiGHS through SciPy) picks
sets covering every unit exactly once, one per territory, at least squared
deviation; when HiGHS proves the programme infeasible, no contiguous plan
within the tolerance exists with these units, adjacency, locks and number of
territories. This is the set-partitioning formulation of districting
(Garfinkel and Nemhauser 1970; Mehrotra, Johnson and Nemhauser 1998), run
only when the search missed the tolerance and the list stays short.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import csc_matrix

from planner.balance.search import SearchState

__all__ = ["connected_sets", "exact_partition", "polish_exactly", "territory_cost"]

logger = logging.getLogger(__name__)

#: Penalty per squared unit of deviation beyond the goal, against 1 within it.
_STEEP = 1e4


class _TooMany(Exception):
    """Internal: the neighbourhood has too many connected sets to list."""


@dataclass(frozen=True)
class _Class:
    """Territories of a neighbourhood that are interchangeable: same target, same locked units."""

    target: float
    pins: int
    members: list[int]  # positions in the group


@dataclass(frozen=True)
class _Region:
    """A neighbourhood: its territories, units (state indices) and local adjacency as bit masks."""

    group: list[int]
    units: list[int]
    nbm: list[int]
    w: list[float]
    pins: dict[int, int]  # territory -> mask of its locked units in the region


def territory_cost(dev: float, goal: float) -> float:
    """Cost of one territory's deviation: its square, plus a steep square beyond ``goal``."""
    excess = max(0.0, abs(dev) - goal)
    return dev * dev + _STEEP * excess * excess


def exact_partition(
    state: SearchState, goal: float, *, max_sets: int = 50_000, time_limit: float = 20.0
) -> str:
    """Solve the whole map exactly when it is small enough: a plan within ``goal``, or a proof.

    Every connected set of units whose workload is within ``goal`` of a
    target is listed (when there are at most ``max_sets`` of them); a plan
    within ``goal`` is a choice of such sets covering every unit once, one
    per open territory. HiGHS either finds one (applied to ``state``, moving
    the fewest units among interchangeable territories) or proves that none
    exists: then no contiguous plan within ``goal`` exists at all with these
    units, adjacency, locks and number of territories.

    Returns
    -------
    str
        ``"solved"`` (state changed, within ``goal``), ``"infeasible"``
        (proved), or ``"skipped"`` (too many sets, or out of time).
    """
    group = [t for t in range(state.k) if state.open[t]]
    if not group:
        return "skipped"
    reg = _region(state, group)
    classes = _classes(state, reg)
    tg = [c.target for c in classes]
    try:
        sets = connected_sets(reg.nbm, reg.w, min(tg) * (1 - goal), max(tg) * (1 + goal),
                               max_sets)
    except _TooMany:
        return "skipped"
    columns = _columns(reg, sets, classes, goal, goal)
    if not columns:
        return "infeasible"
    status, picked = _pick(reg, classes, columns, time_limit)
    if status == 2:
        return "infeasible"
    if picked is None:
        return "skipped"
    masks = _match(state, group, _by_territory(classes, picked, len(group)), reg.units)
    _move_to(state, group, masks, reg.units)
    return "solved"


def _region(state: SearchState, group: list[int]) -> _Region:
    units = sorted(set().union(*(state.members[g] for g in group)))
    local = {u: i for i, u in enumerate(units)}
    nbm = [0] * len(units)
    pins = {g: 0 for g in group}
    for i, u in enumerate(units):
        for v in state.nb[u]:
            j = local.get(v)
            if j is not None:
                nbm[i] |= 1 << j
        if not state.movable[u]:
            pins[state.lab[u]] |= 1 << i
    return _Region(group, units, nbm, [state.w[u] for u in units], pins)


def _by_territory(classes: list[_Class], picked: list[list[int]], n: int) -> list[int]:
    out = [0] * n
    for cl, masks in zip(classes, picked, strict=True):
        for i, m in zip(cl.members, masks, strict=True):
            out[i] = m
    return out


def _classes(state: SearchState, reg: _Region) -> list[_Class]:
    """Group the territories by target; a territory with locked units is a class of its own."""
    out: list[_Class] = []
    shared: dict[float, list[int]] = {}
    for i, g in enumerate(reg.group):
        if reg.pins[g]:
            out.append(_Class(state.tgt[g], reg.pins[g], [i]))
        else:
            shared.setdefault(state.tgt[g], []).append(i)
    out += [_Class(t, 0, members) for t, members in sorted(shared.items())]
    return out


def connected_sets(nbm: list[int], w: list[float], lo: float, hi: float, limit: int) -> list[int]:
    """Every connected set (bit mask) with workload in ``[lo, hi]``; weights are non-negative.

    Each set is listed once, from its lowest unit, by extending with the
    exclusive neighbours of the unit just added (Wernicke's ESU); sets
    heavier than ``hi`` are not extended. Raises :class:`_TooMany` past
    ``limit`` sets visited.
    """
    out: list[int] = []
    visited = 0

    def extend(sub: int, closed: int, ext: int, weight: float, above: int) -> None:
        nonlocal visited
        visited += 1
        if visited > limit:
            raise _TooMany
        if weight >= lo:
            out.append(sub)
        while ext:
            bit = ext & -ext
            ext ^= bit
            u = bit.bit_length() - 1
            wu = weight + w[u]
            if wu > hi:
                continue
            new = nbm[u] & ~closed & above
            extend(sub | bit, closed | nbm[u] | bit, ext | new, wu, above)

    for v in range(len(w)):
        if w[v] > hi:
            continue
        above = ~((1 << (v + 1)) - 1)
        bit = 1 << v
        extend(bit, nbm[v] | bit, nbm[v] & above, w[v], above)
    return out


def _columns(
    reg: _Region, sets: list[int], classes: list[_Class], cap: float, goal: float
) -> list[tuple[int, int, float]]:
    """(set, class position, cost) for every set a class of territories may take."""
    all_pins = 0
    for m in reg.pins.values():
        all_pins |= m
    out = []
    weight_of = _weights(reg.w)
    for s in sets:
        load = weight_of(s)
        pinned_here = s & all_pins
        for i, cl in enumerate(classes):
            if pinned_here != cl.pins or (cl.pins & s) != cl.pins:
                continue
            dev = (load - cl.target) / cl.target
            if abs(dev) <= cap:
                out.append((s, i, territory_cost(dev, goal)))
    return out


def _weights(w: list[float]):  # type: ignore[no-untyped-def]
    """Workload of a bit mask of units."""
    def weight_of(mask: int) -> float:
        total = 0.0
        while mask:
            bit = mask & -mask
            total += w[bit.bit_length() - 1]
            mask ^= bit
        return total
    return weight_of


def _pick(
    reg: _Region, classes: list[_Class], columns: list[tuple[int, int, float]],
    time_limit: float = 2.0, node_limit: int | None = None,
) -> tuple[int, list[list[int]] | None]:
    """Solve the set partitioning programme: each unit once, each class its size, least cost.

    Returns HiGHS's status (0 solved, 1 out of time, 2 infeasible) and the
    sets of each class when one was found.
    """
    n_units, n_col = len(reg.units), len(columns)
    rows: list[int] = []
    cols: list[int] = []
    for c, (s, i, _cost) in enumerate(columns):
        mask = s
        while mask:
            bit = mask & -mask
            rows.append(bit.bit_length() - 1)
            cols.append(c)
            mask ^= bit
        rows.append(n_units + i)
        cols.append(c)
    a = csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_units + len(classes), n_col))
    cost = np.array([c for _s, _i, c in columns])
    rhs = np.concatenate([np.ones(n_units), [len(cl.members) for cl in classes]])
    res = milp(cost, constraints=LinearConstraint(a, rhs, rhs), integrality=np.ones(n_col),
               bounds=Bounds(0, 1), options={"time_limit": time_limit, "node_limit": node_limit})
    if res.x is None:
        return int(res.status), None
    out: list[list[int]] = [[] for _ in classes]
    for c in np.flatnonzero(res.x > 0.5).tolist():
        s, i, _cost = columns[c]
        out[i].append(s)
    if any(len(o) != len(cl.members) for o, cl in zip(out, classes, strict=True)):
        return 4, None
    return int(res.status), out


def _move_to(state: SearchState, group: list[int], masks: list[int], units: list[int]) -> None:
    for g, mask in zip(group, masks, strict=True):
        while mask:
            bit = mask & -mask
            u = units[bit.bit_length() - 1]
            if state.lab[u] != g:
                state.move(u, g)
            mask ^= bit


def _match(state: SearchState, group: list[int], masks: list[int], units: list[int]) -> list[int]:
    """Reorder sets among territories of equal target (no locks) to move the fewest units."""
    free = [i for i, g in enumerate(group)
            if all(state.movable[u] for u in state.members[g])]
    out = list(masks)
    by_target: dict[float, list[int]] = {}
    for i in free:
        by_target.setdefault(state.tgt[group[i]], []).append(i)
    for idx in by_target.values():
        if len(idx) < 2:
            continue
        overlap = np.zeros((len(idx), len(idx)))
        for r, i in enumerate(idx):
            own = sum(1 << p for p, u in enumerate(units) if state.lab[u] == group[i])
            for c, j in enumerate(idx):
                overlap[r, c] = bin(own & masks[j]).count("1")
        rr, cc = linear_sum_assignment(-overlap)
        for r, c in zip(rr.tolist(), cc.tolist(), strict=True):
            out[idx[r]] = masks[idx[c]]
    return out


def polish_exactly(
    state: SearchState, goal: float, *, sizes: tuple[int, ...] = (100, 200),
    max_sets: int = 100_000,
    node_limit: int = 400, time_limit: float = 600.0, max_rounds: int | None = None,
    max_tries: int | None = None,
) -> int:
    """Re-solve neighbourhoods exactly: each territory outside ``goal`` with its neighbours.

    The worst territory and the territories it touches are merged and cut
    again by set partitioning (every connected set of their units near
    their targets listed, the split with the least squared deviation and
    steep cost beyond ``goal`` picked); the new split is kept only when the
    neighbourhood's sorted deviations fall, so the repair ends. Territories
    outside the neighbourhood do not change, and each new territory is a
    connected set, so the plan stays contiguous. A large-neighbourhood
    search with exact steps, for maps of a few units per territory where
    single moves and tree cuts stall. Neighbourhoods grow ring by ring up
    to ``sizes[0]`` units; when no such neighbourhood helps any more, the
    next size is tried; each size solves at most ``max_tries`` programmes
    (default four per territory), which bounds the work where no plan within
    ``goal`` exists. Each programme stops after ``node_limit``
    branch-and-bound nodes (``time_limit`` seconds is only a safety net), so
    the same inputs give the same plan however busy the machine is.

    Returns
    -------
    int
        Neighbourhoods re-solved.
    """
    done = 0
    for max_units in sizes:
        budget = [max_tries if max_tries is not None else 4 * state.k]
        done += _polish(state, goal, (max_units, max_sets, node_limit, time_limit), max_rounds,
                        budget)
        if state.max_abs_dev() <= goal:
            break
    return done


def _polish(
    state: SearchState, goal: float, limits: tuple[int, int, int, float],
    max_rounds: int | None, budget: list[int],
) -> int:
    """Re-solve neighbourhoods of at most ``limits[0]`` units until none improves.

    ``budget`` holds how many programmes may still be solved (spent in place).
    """
    done = 0
    limit = max_rounds if max_rounds is not None else 10 * state.k
    tried: set[tuple[tuple[int, ...], tuple[float, ...]]] = set()
    while done < limit and state.max_abs_dev() > goal and budget[0] > 0:
        order = sorted((t for t in range(state.k) if state.open[t] and abs(state.dev(t)) > goal),
                       key=lambda t: (-abs(state.dev(t)), t))
        if not any(budget[0] > 0 and _resolve_once(state, group, goal, tried, limits, budget)
                   for t in order for group in _rings(state, t, limits[0])):
            break
        done += 1
    return done


def _rings(state: SearchState, t: int, max_units: int) -> list[tuple[int, ...]]:
    """Territory ``t`` with its neighbours; then grown ring by ring up to ``max_units`` units.

    Each ring adds first the territories deviating the other way from ``t``
    (they can absorb its surplus or deficit), as long as the units fit.
    """
    one = {t, *state.neighbour_territories_of(t)}
    grown, size = set(one), sum(len(state.members[g]) for g in one)
    frontier = set(one)
    sign = 1.0 if state.dev(t) > 0 else -1.0
    while frontier and size < max_units:
        ring = set().union(*(state.neighbour_territories_of(x) for x in frontier)) - grown
        added = set()
        for g in sorted(ring, key=lambda g: (sign * state.dev(g), g)):
            if size + len(state.members[g]) <= max_units:
                added.add(g)
                size += len(state.members[g])
        if not added:
            break
        grown |= added
        frontier = added
    return [tuple(sorted(one))] + ([tuple(sorted(grown))] if grown != one else [])


def _resolve_once(
    state: SearchState, group: tuple[int, ...], goal: float,
    tried: set[tuple[tuple[int, ...], tuple[float, ...]]],
    limits: tuple[int, int, int, float], budget: list[int],
) -> bool:
    key = (group, tuple(round(state.load[g], 9) for g in group))
    if key in tried or sum(len(state.members[g]) for g in group) > limits[0]:
        return False
    tried.add(key)
    budget[0] -= 1
    return _resolve(state, list(group), goal, limits)


def _resolve(
    state: SearchState, group: list[int], goal: float, limits: tuple[int, int, int, float],
) -> bool:
    """Cut ``group``'s units again exactly; apply when the sorted deviations fall."""
    max_units, max_sets, node_limit, time_limit = limits
    if sum(len(state.members[g]) for g in group) > max_units:
        return False
    reg = _region(state, group)
    classes = _classes(state, reg)
    tg = [c.target for c in classes]
    cap = max(abs(state.dev(g)) for g in group)
    try:
        sets = connected_sets(reg.nbm, reg.w, min(tg) * (1 - cap), max(tg) * (1 + cap), max_sets)
    except _TooMany:
        return False
    columns = _columns(reg, sets, classes, cap, goal)
    if not columns:
        return False
    _status, picked = _pick(reg, classes, columns, time_limit, node_limit)
    if picked is None:
        return False
    masks = _by_territory(classes, picked, len(group))
    weight_of = _weights(reg.w)
    new = sorted((abs(weight_of(m) - state.tgt[g]) / state.tgt[g]
                  for g, m in zip(group, masks, strict=True)), reverse=True)
    old = sorted((abs(state.dev(g)) for g in group), reverse=True)
    if [round(x, 12) for x in new] >= [round(x, 12) for x in old]:
        return False
    before = state.snapshot()
    _move_to(state, group, _match(state, group, masks, reg.units), reg.units)
    if state.drive is not None and state.beyond_reach():
        state.restore(before)  # interchangeable territories differ by their reps' reach
        return False
    return True
