"""Compactness from a pool of territories: a set-partitioning programme over shapes seen.

Short-burst chains within a tight tolerance stop on plateaus whose height is
largely luck, and their territories cannot be recombined into a rounder
plan: they were all cut against the same neighbours. Chains run at a looser
tolerance (two and four times the goal) pass through rounder territories
that no plan within the goal holds. Each territory such a chain makes, and
each of its variants one unit off (a border unit given to a neighbour, a
neighbouring unit taken in, or both), that is connected and within the goal
is a column; with the current plan's own territories the columns always hold
a plan within the goal. A set-partitioning programme (HiGHS through SciPy)
then picks territories covering every unit once, as many of each target as
there are territories of it, with the largest summed Polsby-Popper score:
the linear relaxation first (whole on most maps); when it is fractional,
the better of a dive (its columns above one half fixed, the rest solved
again) and the integer programme over the columns it prices best. Two
rounds, the second pooling from the first round's plan. Perimeters come
from the units' outlines and the border lengths they share, as in
:mod:`planner.balance.compact`.

Only for plans without locked units, frozen territories or a drive limit
(their columns would need more than a target to match a territory).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, linprog, milp
from scipy.sparse import csc_matrix

from planner.balance.compact import burst_pairs
from planner.balance.search import SearchState

__all__ = ["pool_applies", "pool_recombine"]

logger = logging.getLogger(__name__)

_FOUR_PI = 4.0 * math.pi
#: Looser tolerances (multiples of the goal) of the chains that fill the pool, and their chains.
_LOOSE = ((2.0, 2), (4.0, 1))
#: Trees per step and bursts without a gain that end a chain filling the pool (fewer than the
#: bursts' six and fifteen: the pool needs the chains' territories, not their best plan).
_TREES = 4
_PATIENCE = 10
#: Pooled territories this many tolerances off a target are turned into columns by variants.
_NEAR = 4.0
#: Columns the integer programme keeps when the relaxation is fractional.
_KEPT_COLUMNS = 400


class _Shapes:
    """Measures of unit sets: workload, area and perimeter from shared border lengths."""

    def __init__(self, state: SearchState) -> None:
        self.w, self.area, self.perim = state.w, state.ua, state.up
        self.sh, self.nb = state.sh, state.nb
        targets = sorted(set(state.tgt))
        self.targets = targets
        self.count = [sum(1 for t in state.tgt if t == x) for x in targets]

    def measure(self, units: frozenset[int]) -> tuple[float, float, float]:
        """(workload, area, perimeter) of a set of units."""
        w = a = p = 0.0
        for u in units:
            w += self.w[u]
            a += self.area[u]
            p += self.perim[u] - sum(s for v, s in self.sh[u].items() if v in units)
        return w, a, p

    def fits(self, load: float, tolerance: float) -> list[int]:
        """Positions of the targets ``load`` is within ``tolerance`` of."""
        return [i for i, t in enumerate(self.targets) if abs(load - t) <= tolerance * t]

    def cut_units(self, units: frozenset[int]) -> set[int]:
        """Units whose removal splits the connected set ``units`` (articulation points)."""
        nb = self.nb
        root = min(units)
        depth = {root: 0}
        low = {root: 0}
        cut: set[int] = set()
        children = 0
        stack = [(root, -1, iter(nb[root]))]
        while stack:
            u, parent, it = stack[-1]
            for v in it:
                if v not in units:
                    continue
                if v not in depth:
                    depth[v] = low[v] = depth[u] + 1
                    stack.append((v, u, iter(nb[v])))
                    break
                if v != parent:
                    low[u] = min(low[u], depth[v])
            else:
                stack.pop()
                if parent < 0:
                    continue
                low[parent] = min(low[parent], low[u])
                if parent == root:
                    children += 1
                elif low[u] >= depth[parent]:
                    cut.add(parent)
        if children > 1:
            cut.add(root)
        return cut


def pool_recombine(
    state: SearchState,
    tolerance: float,
    *,
    rng: np.random.Generator,
    rounds: int = 2,
    steps: int = 600,
    node_limit: int = 2000,
    time_limit: float = 30.0,
    loose: tuple[tuple[float, int], ...] = _LOOSE,
) -> float:
    """Replace the plan by the roundest one the pool of territories holds, ``rounds`` times.

    Parameters
    ----------
    state
        A contiguous plan within ``tolerance`` (changed in place; stays so).
    tolerance
        Relative deviation every territory of the new plan keeps.
    rng
        Source of the chains' random trees.
    rounds
        Most rounds, each pooling from the plan the last one made (a round
        that finds nothing rounder ends them).
    steps
        Most steps of each chain that fills the pool.
    node_limit, time_limit
        Limits of each integer programme (branch-and-bound nodes make it the
        same on a busy machine; the time is a safety net).
    loose
        The chains that fill the pool: (multiple of ``tolerance``, chains).

    Returns
    -------
    float
        The gain in mean Polsby-Popper (0 when the plan stays).
    """
    if not pool_applies(state, tolerance):
        return 0.0
    shapes = _Shapes(state)
    cache: dict[frozenset[int], list[tuple[frozenset[int], int, float]]] = {}
    first = state.mean_pp()
    for _ in range(rounds):
        if not _one_round(state, shapes, tolerance, rng, cache,
                          (steps, loose, node_limit, time_limit)):
            break
    return state.mean_pp() - first


def _one_round(
    state: SearchState,
    shapes: _Shapes,
    tolerance: float,
    rng: np.random.Generator,
    cache: dict[frozenset[int], list[tuple[frozenset[int], int, float]]],
    limits: tuple[int, tuple[tuple[float, int], ...], int, float],
) -> bool:
    """Fill the pool from the plan and apply the roundest plan it holds; whether it is rounder."""
    steps, loose, node_limit, time_limit = limits
    plan = [frozenset(state.members[t]) for t in range(state.k)]
    seen: set[frozenset[int]] = set(plan)
    start = state.snapshot()
    for factor, chains in loose:
        burst_pairs(state, factor * tolerance, rng=rng, steps=steps, chains=chains, seen=seen,
                    trees=_TREES, patience=_PATIENCE)
        state.restore(start)
    started = time.process_time()
    # territories less round than the plan's least round one are left out (but the plan's own)
    floor = min(state.pp(t) for t in range(state.k))
    own = set(plan)
    columns = [c for c in _columns(shapes, seen, tolerance, cache) if c[2] >= floor or c[0] in own]
    picked = _solve(shapes, columns, len(state.lab), plan, (node_limit, time_limit))
    logger.debug("pool of %d territories, %d columns: %s in %.2f s of CPU", len(seen),
                 len(columns), "no plan" if picked is None else "solved",
                 time.process_time() - started)
    if picked is None:
        return False
    if _total(picked) / state.k <= state.mean_pp() + 1e-9:
        return False
    _apply(state, shapes, picked)
    return True


def pool_applies(state: SearchState, tolerance: float) -> bool:
    """Whether :func:`pool_recombine` may replace this plan.

    It must be within ``tolerance`` with nothing locked, frozen or limited by drive time.
    """
    return (state.max_abs_dev() <= tolerance and state.drive is None and all(state.open)
            and all(state.movable) and state.k > 1)


def _columns(
    shapes: _Shapes,
    seen: Iterable[frozenset[int]],
    tolerance: float,
    cache: dict[frozenset[int], list[tuple[frozenset[int], int, float]]],
) -> list[tuple[frozenset[int], int, float]]:
    """(units, target position, Polsby-Popper) of every pooled set and variant within the goal.

    ``cache`` keeps each pooled set's columns for the next rounds.
    """
    window = (min(shapes.targets) * (1.0 - tolerance), max(shapes.targets) * (1.0 + tolerance))
    out: dict[tuple[frozenset[int], int], float] = {}
    for units in seen:
        if units not in cache:
            cache[units] = _columns_of(shapes, units, tolerance, window)
        for var, i, pp in cache[units]:
            out[(var, i)] = pp
    return [(units, i, pp) for (units, i), pp in out.items()]


def _columns_of(
    shapes: _Shapes, units: frozenset[int], tolerance: float, window: tuple[float, float]
) -> list[tuple[frozenset[int], int, float]]:
    """The columns of one pooled set: it and its variants, for each target they fit."""
    load, area, perim = shapes.measure(units)
    if not any(abs(load - t) <= _NEAR * tolerance * t for t in shapes.targets):
        return []
    return [(var, i, _FOUR_PI * a / (p * p) if p > 0 else 0.0)
            for var, (w, a, p) in _variants(shapes, units, (load, area, perim), window)
            for i in shapes.fits(w, tolerance)]


def _variants(
    shapes: _Shapes,
    units: frozenset[int],
    measures: tuple[float, float, float],
    window: tuple[float, float],
) -> list[tuple[frozenset[int], tuple[float, float, float]]]:
    """The set and every connected set one unit off it with a workload in ``window``.

    A variant gives away one border unit, takes in one neighbouring unit,
    or both; its measures (workload, area, perimeter) follow from the
    units' shared border lengths.
    """
    w, ua, up, sh, nb = shapes.w, shapes.area, shapes.perim, shapes.sh, shapes.nb
    load, area, perim = measures
    lo, hi = window
    outside = sorted({v for u in units for v in nb[u] if v not in units})
    border = sorted(u for u in units if any(v not in units for v in nb[u]))
    out = [(units, measures)] if lo <= load <= hi else []
    cut = shapes.cut_units(units)
    given: list[tuple[int, float, float, float]] = []  # border units that may leave
    for r in border:
        if r not in cut:
            inner = sum(s for v, s in sh[r].items() if v in units)
            given.append((r, load - w[r], area - ua[r], perim - up[r] + 2.0 * inner))
    out += [(units - {r}, (lw, la, lp)) for r, lw, la, lp in given if lo <= lw <= hi]
    bases = [(units, -1, load, area, perim)] + [(units - {r}, r, lw, la, lp)
                                                for r, lw, la, lp in given]
    for a in outside:
        into = sum(s for v, s in sh[a].items() if v in units)
        for base, r, lw, la, lp in bases:
            if not lo <= lw + w[a] <= hi or not any(v in base for v in nb[a]):
                continue
            shared = into - sh[a].get(r, 0.0)
            out.append((base | {a}, (lw + w[a], la + ua[a], lp + up[a] - 2.0 * shared)))
    return out


def _solve(
    shapes: _Shapes,
    columns: list[tuple[frozenset[int], int, float]],
    n: int,
    plan: list[frozenset[int]],
    limits: tuple[int, float],
) -> list[tuple[frozenset[int], int, float]] | None:
    """The columns of the roundest plan: each unit once, each target once per territory."""
    a, cost, rhs = _programme(columns, list(range(n)), shapes.count)
    lp = linprog(cost, A_eq=a, b_eq=rhs, bounds=(0, 1), method="highs")
    if lp.x is None:
        return None
    x = np.asarray(lp.x)
    if not ((x > 1e-6) & (x < 1 - 1e-6)).any():
        logger.debug("the relaxation is whole")
        return [columns[c] for c in np.flatnonzero(x > 0.5).tolist()]
    tries = (_dive(shapes, columns, x, n),
             _restricted(shapes, columns, (a, cost, x, np.asarray(lp.eqlin.marginals)), n, plan,
                         limits))
    found = [f for f in tries if f is not None]
    logger.debug("the relaxation (%.4f) is fractional; integer plans %s", -lp.fun,
                 [round(_total(f), 4) for f in found])
    return max(found, key=_total) if found else None


def _total(columns: list[tuple[frozenset[int], int, float]]) -> float:
    """Summed Polsby-Popper of a set of columns."""
    return float(sum(pp for _u, _i, pp in columns))


def _dive(
    shapes: _Shapes,
    columns: list[tuple[frozenset[int], int, float]],
    x: np.ndarray,
    n: int,
) -> list[tuple[frozenset[int], int, float]] | None:
    """Round the relaxation by diving: fix its columns above one half (else its largest
    fractional one) and solve again, until the relaxation is whole.

    Columns meeting a fixed one leave the programme; a dive that leaves
    units no column covers ends without a plan.
    """
    fixed: list[tuple[frozenset[int], int, float]] = []
    count = list(shapes.count)
    left, value = list(columns), x
    while True:
        whole = [left[c] for c in np.flatnonzero(value > 1 - 1e-6).tolist()]
        frac = [c for c in np.flatnonzero((value > 1e-6) & (value < 1 - 1e-6)).tolist()]
        if not frac:
            return fixed + whole
        # columns above one half never meet (each unit is covered once): fix them all
        picks = [c for c in frac if value[c] > 0.5 + 1e-6] or [
            max(frac, key=lambda c: (value[c], left[c][2], -c))]
        before = len(fixed)
        for c in sorted(picks, key=lambda c: (-value[c], c)):
            if count[left[c][1]] > 0:  # never more of a target than it has territories
                fixed.append(left[c])
                count[left[c][1]] -= 1
        if len(fixed) == before:
            return None
        covered = set().union(*(u for u, _i, _p in fixed))
        left = [c for c in left if not (c[0] & covered)]
        rest = sorted(set(range(n)) - covered)
        if not rest:
            return fixed if not any(count) else None
        if not left:
            return None
        a, cost, rhs = _programme(left, rest, count)
        lp = linprog(cost, A_eq=a, b_eq=rhs, bounds=(0, 1), method="highs")
        if lp.x is None:
            return None
        value = np.asarray(lp.x)


def _restricted(
    shapes: _Shapes,
    columns: list[tuple[frozenset[int], int, float]],
    relaxation: tuple[csc_matrix, np.ndarray, np.ndarray, np.ndarray],
    n: int,
    plan: list[frozenset[int]],
    limits: tuple[int, float],
) -> list[tuple[frozenset[int], int, float]] | None:
    """The integer programme over the columns the relaxation prices best (and the plan's own)."""
    a, cost, x, duals = relaxation
    reduced = cost - a.T @ duals
    keep = set(np.flatnonzero(x > 1e-6).tolist())
    keep |= set(np.argsort(reduced, kind="stable")[:_KEPT_COLUMNS].tolist())
    own = set(plan)
    keep |= {c for c, (units, _i, _pp) in enumerate(columns) if units in own}
    sub = [columns[c] for c in sorted(keep)]
    a2, cost2, rhs2 = _programme(sub, list(range(n)), shapes.count)
    res = milp(cost2, constraints=LinearConstraint(a2, rhs2, rhs2),
               integrality=np.ones(len(sub)), bounds=Bounds(0, 1),
               options={"node_limit": limits[0], "time_limit": limits[1]})
    if res.x is None:
        return None
    return [sub[c] for c in np.flatnonzero(np.asarray(res.x) > 0.5).tolist()]


def _programme(
    columns: list[tuple[frozenset[int], int, float]], units: list[int], count: list[int]
) -> tuple[csc_matrix, np.ndarray, np.ndarray]:
    """Equality rows: each of ``units`` once, then each target ``count[i]`` times; costs."""
    local = {u: r for r, u in enumerate(units)}
    rows: list[int] = []
    cols: list[int] = []
    for c, (members, i, _pp) in enumerate(columns):
        rows.extend(local[u] for u in members)
        rows.append(len(units) + i)
        cols.extend([c] * (len(members) + 1))
    a = csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(units) + len(count),
                                                                len(columns)))
    cost = -np.array([pp for _u, _i, pp in columns], dtype=float)
    rhs = np.concatenate([np.ones(len(units)), np.asarray(count, dtype=float)])
    return a, cost, rhs


def _apply(
    state: SearchState, shapes: _Shapes, picked: list[tuple[frozenset[int], int, float]]
) -> None:
    """Give each picked set to a territory of its target, the one it overlaps most."""
    for i, target in enumerate(shapes.targets):
        terr = [t for t in range(state.k) if state.tgt[t] == target]
        sets = [units for units, c, _pp in picked if c == i]
        overlap = np.array([[len(units & state.members[t]) for units in sets] for t in terr])
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            for u in sets[c]:
                if state.lab[u] != terr[r]:
                    state.move(u, terr[r])
