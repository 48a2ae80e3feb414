"""Iterated 2-opt/Or-opt search of symmetric tours: valid, never longer, optimal when small."""

from __future__ import annotations

import itertools
import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.routing.solver import nearest_clients
from planner.routing.tours import solve_tour, tour_length
from planner.routing.tsp_search import improve_tour


def _points(n: int, seed: int, clustered: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if clustered:
        centres = rng.uniform(0, 10_000, (4, 2))
        xy = centres[rng.integers(0, 4, n)] + rng.normal(0, 300, (n, 2))
    else:
        xy = rng.uniform(0, 10_000, (n, 2))
    return np.rint(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))


def _optimum(D: np.ndarray) -> float:
    n = len(D)
    return min(tour_length(D, [0, *p]) for p in itertools.permutations(range(1, n)))


@settings(derandomize=True, deadline=None, max_examples=12)
@given(st.integers(8, 60), st.integers(0, 10**6), st.booleans())
def test_improved_tours_are_valid_and_never_longer(n: int, seed: int, clustered: bool) -> None:
    """Every stop once, the first stop kept, and no longer than the tour it started from."""
    D = _points(n, seed, clustered)
    rng = np.random.default_rng(seed)
    start = [0, *rng.permutation(np.arange(1, n)).tolist()]
    near = nearest_clients(D.astype(np.int64), 10)
    out = improve_tour(D.tolist(), near, start, deadline=time.monotonic() + 0.05, seed=seed)
    assert sorted(out) == list(range(n))
    assert out[0] == 0
    assert tour_length(D, out) <= tour_length(D, start) + 1e-6


@settings(derandomize=True, deadline=None, max_examples=5)
@given(st.integers(0, 10**6))
def test_small_symmetric_tours_are_optimal(seed: int) -> None:
    """Nine points: the search finds the optimum that every permutation gives."""
    D = _points(9, seed)
    tour = solve_tour(D, time_limit_s=0.2, seed=seed)
    assert tour[0] == 0 and sorted(tour) == list(range(9))
    assert tour_length(D, tour) == _optimum(D)


def test_start_other_than_zero_and_stop() -> None:
    """The tour starts at ``start``; a stop request returns a valid tour at once."""
    D = _points(120, 3)
    tour = solve_tour(D, start=7, time_limit_s=0.3)
    assert tour[0] == 7 and sorted(tour) == list(range(120))
    began = time.monotonic()
    near = nearest_clients(D.astype(np.int64), 10)
    out = improve_tour(D.tolist(), near, list(range(120)), deadline=began + 30, stop=lambda: True)
    assert time.monotonic() - began < 5
    assert sorted(out) == list(range(120))


def test_search_beats_nearest_neighbour_widely() -> None:
    """150 random points: the search is far shorter than the greedy tour it starts from.

    (Gaps to TSPLIB optima are measured by ``benchmarks/bench_tsp.py``, not here.)
    """
    D = _points(150, 11)
    tour = solve_tour(D, time_limit_s=0.5, seed=0)
    nn = [0]
    left = set(range(1, 150))
    while left:
        nxt = min(left, key=lambda j: D[nn[-1], j])
        nn.append(nxt)
        left.remove(nxt)
    assert tour_length(D, tour) < 0.85 * tour_length(D, nn)
