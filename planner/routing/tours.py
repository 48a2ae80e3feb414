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
from planner.routing.solver import UNREACHABLE, Deadline, matrices, run_pyvrp, to_solver_units

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
    D: np.ndarray, tour: list[int], *, deadline: float, neighbours: int = 10
) -> list[int]:
    """Improve a closed tour by 2-opt and Or-opt moves until none helps or time is up.

    2-opt reverses a stretch of the tour; on asymmetric matrices the
    reversed stretch's cost comes from prefix sums of the backward edges.
    Or-opt moves a run of one to three stops next to one of its nearest
    neighbours. ``tour[0]`` stays first.
    """
    n = len(tour)
    if n < 5:
        return list(tour)
    Dl = D.tolist()
    k = min(neighbours, n - 1)
    near = np.argsort(D + D.T, axis=1)[:, 1 : k + 1].tolist()
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

    A nearest-neighbour tour polished by 2-opt and Or-opt warm-starts
    PyVRP's iterated local search, whose best tour gets a last polish (PyVRP
    has no move that reverses part of a single route). On TSPLIB this
    reaches a mean gap of about 0.3-0.7 % at 2 s (``benchmarks/bench_tsp.py``).

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
    M, _ = to_solver_units(D[np.ix_(order, order)])
    Mf = M.astype(float)
    data = ProblemData(
        [Location(0.0, 0.0) for _ in range(n)],
        [Client(location=i) for i in range(1, n)],
        [Depot(location=0)],
        [VehicleType(1)],
        matrices(M),
        matrices(np.zeros_like(M)),
    )
    # Local positions: point order[i] is location i; client c sits at location c + 1.
    warm = _polish_tour(
        Mf, _nearest_neighbour_tour(Mf, 0), deadline=began + 0.25 * time_limit_s
    )
    initial = Solution(data, [[x - 1 for x in warm[1:]]])
    result = run_pyvrp(data, Deadline(began + 0.95 * time_limit_s, stop), seed=seed,
                       initial=initial)
    clients = data.clients()
    route = result.best.routes()[0]
    local = [0, *[clients[a.idx].location for a in route if a.is_client()]]
    local = _polish_tour(Mf, local, deadline=began + time_limit_s)
    return [order[i] for i in local]


def tour_length(matrix: np.ndarray, tour: Sequence[int]) -> float:
    """Return the length of the closed tour ``tour`` under ``matrix``."""
    t = list(tour)
    return float(sum(matrix[a, b] for a, b in zip(t, t[1:] + t[:1], strict=True)))

