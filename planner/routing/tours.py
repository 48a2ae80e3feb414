"""Single closed tours (the travelling salesman), and the plan API's older home.

Day and week plans live in :mod:`planner.routing.planning`; their names are
re-exported here for callers that import them from this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from pyvrp import Client, Depot, Location, ProblemData, Solution, VehicleType

from planner.errors import InputError
from planner.progress import Stop
from planner.routing.params import RouteParams
from planner.routing.planning import plan_routes
from planner.routing.plans import DayRoute, RoutePlan, ScheduledStop, StopStatus, UnvisitedStop
from planner.routing.solver import (
    UNREACHABLE,
    Deadline,
    client_neighbours,
    matrices,
    nearest_clients,
    run_pyvrp,
    to_solver_units,
)
from planner.routing.tsp_search import candidate_neighbours, improve_tour

__all__ = [
    "UNREACHABLE",
    "DayRoute",
    "RouteParams",
    "RoutePlan",
    "ScheduledStop",
    "StopStatus",
    "UnvisitedStop",
    "plan_routes",
    "solve_tour",
    "to_solver_units",
    "tour_length",
]

logger = logging.getLogger(__name__)

#: Neighbours per point for the solver's moves (PyVRP's default) and for our polish.
_NEIGHBOURS = 50
_POLISH_NEIGHBOURS = 10
#: Tours above this many points use our neighbour lists instead of PyVRP's.
_OWN_NEIGHBOURS_FROM = 300
#: Tours above this many points skip the Python polish (the matrix as lists costs too much).
_LIST_LIMIT = 1200
#: Symmetric tours of at least this many points use our iterated local search.
_ILS_FROM = 8
#: Seconds of PyVRP's first descent per point and neighbour (measured here: 0.75 s for
#: 2,000 points with 10 neighbours on a loaded 2-core machine).
_DESCENT_S_PER_POINT_NEIGHBOUR = 3.8e-5


def _nearest_neighbour_tour(D: np.ndarray, start: int) -> list[int]:
    """Greedy tour: always drive to the nearest unvisited point."""
    n = len(D)
    left = np.ones(n, dtype=bool)
    left[start] = False
    tour = [start]
    for _ in range(n - 1):
        row = np.where(left, D[tour[-1]], np.inf)
        nxt = int(np.argmin(row))
        tour.append(nxt)
        left[nxt] = False
    return tour


def _polish_tour(
    Dl: list[list[int]], near: list[list[int]], tour: list[int], *, deadline: float
) -> list[int]:
    """Improve a closed tour by 2-opt and Or-opt moves until none helps or time is up.

    2-opt reverses a stretch of the tour; on asymmetric matrices the
    reversed stretch's cost comes from prefix sums of the backward edges.
    Or-opt moves a run of one to three stops next to one of its nearest
    neighbours (``near``). ``tour[0]`` stays first.
    """
    n = len(tour)
    if n < 5:
        return list(tour)
    t = list(tour)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        pos = [0] * n
        for i, c in enumerate(t):
            pos[c] = i
        fwd = [0.0] * n
        back = [0.0] * n
        for i in range(1, n):
            fwd[i] = fwd[i - 1] + Dl[t[i - 1]][t[i]]
            back[i] = back[i - 1] + Dl[t[i]][t[i - 1]]
        for i in range(n - 1):
            a, b = t[i], t[i + 1]
            best, best_j = -1e-9, -1
            for c in near[a]:
                j = pos[c]
                if j <= i + 1:
                    continue
                d = t[(j + 1) % n]
                delta = (
                    Dl[a][c] + Dl[b][d] - Dl[a][b] - Dl[c][d]
                    + (back[j] - back[i + 1]) - (fwd[j] - fwd[i + 1])
                )
                if delta < best:
                    best, best_j = delta, j
            if best_j >= 0:
                t[i + 1 : best_j + 1] = t[i + 1 : best_j + 1][::-1]
                improved = True
                break
        if improved:
            continue
        for length in (1, 2, 3):
            for s_ in range(1, n - length + 1):
                e = s_ + length - 1
                p, q = t[s_ - 1], t[(e + 1) % n]
                first, last = t[s_], t[e]
                gain = Dl[p][first] + Dl[last][q] - Dl[p][q]
                for c in near[first]:
                    j = pos[c]
                    if s_ - 1 <= j <= e or s_ <= (j + 1) % n <= e:
                        continue
                    d = t[(j + 1) % n]
                    if Dl[c][first] + Dl[last][d] - Dl[c][d] - gain < -1e-9:
                        seg = t[s_ : e + 1]
                        rest = t[:s_] + t[e + 1 :]
                        at = rest.index(c) + 1
                        t = rest[:at] + seg + rest[at:]
                        improved = True
                        break
                if improved:
                    break
            if improved:
                break
    r = t.index(tour[0])
    return t[r:] + t[:r]


def solve_tour(
    duration_matrix: np.ndarray,
    *,
    start: int = 0,
    time_limit_s: float = 2.0,
    seed: int = 0,
    stop: Stop | None = None,
) -> list[int]:
    """Return the shortest closed tour through every point found within the time limit.

    A symmetric matrix of 8 to 1,200 points: a nearest-neighbour tour
    improved by :func:`planner.routing.tsp_search.improve_tour` (iterated
    2-opt, Or-opt and Or-3opt with double bridges) for the whole time.
    Otherwise (asymmetric road times, or more points) a nearest-neighbour
    tour polished by 2-opt and Or-opt warm-starts PyVRP's iterated local
    search, whose best tour gets a last polish. Every step keeps the
    deadline, so a call returns within the limit at any size (2,000 points
    at 2 s: about 2 s). Measured by ``benchmarks/bench_tsp.py --set extra``
    on fourteen TSPLIB instances of 127-493 cities at 2 s on a loaded
    2-core machine (0.8-1.3 s of CPU per call): a mean gap of 0.35 % to the
    optimum (0 to 1.9 %, pr439 the hardest), against 4.2 % for PyVRP alone
    and 4.4 % for OR-Tools in the same run.

    Parameters
    ----------
    duration_matrix
        ``(n, n)`` travel times (or distances); may be asymmetric.
    start
        Point the tour starts from and returns to.
    time_limit_s
        Search time.
    seed
        Seed of the solver's random choices.
    stop
        Asked during the search; ``True`` returns the best tour so far.

    Returns
    -------
    list of int
        Every point once, starting with ``start``; the return to ``start``
        is implied.

    Raises
    ------
    InputError
        If the matrix is not square, has negative or NaN values, or ``start``
        is out of range.
    """
    began = time.monotonic()
    D = np.asarray(duration_matrix, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise InputError(f"duration_matrix must be square, got shape {D.shape}")
    n = D.shape[0]
    if not (0 <= start < n):
        raise InputError(f"start={start} is not a point of the {n}x{n} matrix")
    if n <= 3:
        others = [i for i in range(n) if i != start]
        if n == 3:
            a, b = others
            if D[start, b] + D[b, a] + D[a, start] < D[start, a] + D[a, b] + D[b, start]:
                others = [b, a]
        return [start, *others]
    order = [start, *[i for i in range(n) if i != start]]
    M, _ = to_solver_units(D if start == 0 else D[np.ix_(order, order)])
    local = _search_tour(M, deadline=began + time_limit_s, seed=seed, stop=stop)
    return [order[i] for i in local]


def _search_tour(M: np.ndarray, *, deadline: float, seed: int, stop: Stop | None) -> list[int]:
    """Symmetric matrices: iterated 2-opt/Or-opt search; else nearest neighbour, polish, PyVRP.

    A symmetric matrix of :data:`_ILS_FROM` to :data:`_LIST_LIMIT` points
    is searched by :func:`planner.routing.tsp_search.improve_tour` for the
    whole budget. Otherwise: nearest neighbour, polish, PyVRP, polish, each
    step within the deadline.

    Past :data:`_LIST_LIMIT` points the matrix is not copied into Python
    lists (that alone takes half a second at 2,000), so the polish is
    skipped, and PyVRP gets as many neighbours as its first descent can
    use within the time left (one search iteration cannot be interrupted).
    """
    began = time.monotonic()
    n = len(M)
    big = n > _LIST_LIMIT
    if not big and n >= _ILS_FROM and np.array_equal(M, M.T):
        near = candidate_neighbours(M)
        start = _nearest_neighbour_tour(M, 0)
        until = began + 0.95 * (deadline - began)  # a margin for a busy machine
        return improve_tour(M.tolist(), near, start, deadline=until, seed=seed, stop=stop)
    near = nearest_clients(M, _POLISH_NEIGHBOURS if big else _NEIGHBOURS)
    close = [row[:_POLISH_NEIGHBOURS] for row in near]
    Dl = None if big else M.tolist()
    tour = _nearest_neighbour_tour(M, 0)
    if Dl is not None:
        tour = _polish_tour(Dl, close, tour, deadline=began + 0.25 * (deadline - began))
    k = _neighbour_count(n, 0.93 * (deadline - time.monotonic()))
    if k >= 4:
        tour = _pyvrp_tour(M, tour, [row[:k] for row in near], k, seed,
                           Deadline(began + 0.93 * (deadline - began), stop))
    if Dl is not None:
        tour = _polish_tour(Dl, close, tour, deadline=deadline)
    return tour


def _neighbour_count(n: int, seconds: float) -> int:
    """Neighbours per point such that PyVRP's first descent fits in part of ``seconds``."""
    if n <= _OWN_NEIGHBOURS_FROM:
        return _NEIGHBOURS
    fit = int(0.4 * seconds / (_DESCENT_S_PER_POINT_NEIGHBOUR * n))
    return min(_NEIGHBOURS, fit)


def _pyvrp_tour(
    M: np.ndarray, warm: list[int], near: list[list[int]], k: int, seed: int, deadline: Deadline
) -> list[int]:
    """PyVRP's iterated local search from ``warm`` (point 0 is the depot)."""
    n = len(M)
    data = ProblemData(
        [Location(0.0, 0.0) for _ in range(n)],
        [Client(location=i) for i in range(1, n)],
        [Depot(location=0)],
        [VehicleType(1)],
        matrices(M),
        matrices(np.zeros_like(M)),
    )
    # Client c sits at location c + 1.
    initial = Solution(data, [[x - 1 for x in warm[1:]]])
    # PyVRP's own neighbourhood takes seconds past a thousand points; ours is linear.
    neighbours = client_neighbours(near) if n > _OWN_NEIGHBOURS_FROM else None
    result = run_pyvrp(data, deadline, seed=seed, initial=initial, neighbours=neighbours)
    clients = data.clients()
    route = result.best.routes()[0]
    return [0, *[clients[a.idx].location for a in route if a.is_client()]]


def tour_length(matrix: np.ndarray, tour: Sequence[int]) -> float:
    """Return the length of the closed tour ``tour`` under ``matrix``."""
    t = list(tour)
    return float(sum(matrix[a, b] for a, b in zip(t, t[1:] + t[:1], strict=True)))

