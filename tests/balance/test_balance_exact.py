"""Exact set partitioning: the listing of connected sets, a solved plan, and the proof that the
Albuquerque benchmark case (195 tracts, k = 50, log-normal workload) has no plan within 2 %."""

from __future__ import annotations

import geopandas as gpd
import libpysal.examples as lpe
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.balance import BalanceParams, ToleranceNotMetError, design_territories, prepare_units
from planner.balance.exact import connected_sets, exact_partition
from planner.balance.search import SearchState


def _brute_force(nbm: list[int], w: list[float], lo: float, hi: float) -> list[int]:
    n = len(w)
    out = []
    for mask in range(1, 1 << n):
        s = sum(w[i] for i in range(n) if mask >> i & 1)
        if not lo <= s <= hi:
            continue
        seen = frontier = mask & -mask
        while frontier:
            bit = frontier & -frontier
            frontier ^= bit
            new = nbm[bit.bit_length() - 1] & mask & ~seen
            seen |= new
            frontier |= new
        if seen == mask:
            out.append(mask)
    return sorted(out)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 10),
    density=st.floats(0.1, 0.7),
    seed=st.integers(0, 10_000),
    lo=st.floats(0.0, 2.0),
    width=st.floats(0.0, 3.0),
)
def test_connected_sets_are_exactly_the_connected_sets_in_range(
    n: int, density: float, seed: int, lo: float, width: float
) -> None:
    rng = np.random.default_rng(seed)
    nbm = [0] * n
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < density:
                nbm[i] |= 1 << j
                nbm[j] |= 1 << i
    w = rng.random(n).tolist()
    assert sorted(connected_sets(nbm, w, lo, lo + width, 10**6)) == _brute_force(
        nbm, w, lo, lo + width)


def _tracts() -> gpd.GeoDataFrame:
    g = gpd.read_file(lpe.get_path("10740.shp")).set_crs(4326, allow_override=True)
    g["unit_id"] = g.index.astype(str)
    return g


def _state(bu, values: np.ndarray, k: int) -> SearchState:  # type: ignore[no-untyped-def]
    labels = np.arange(bu.n) % k
    return SearchState(bu, values, labels, np.full(k, values.sum() / k), np.ones(bu.n, bool),
                       np.ones(k, bool))


def test_exact_partition_solves_equal_tracts_in_threes() -> None:
    bu = prepare_units(_tracts(), contiguity="queen")
    state = _state(bu, np.ones(bu.n), 65)
    assert exact_partition(state, 0.0) == "solved"
    assert state.max_abs_dev() == 0.0
    for t in range(65):  # every territory one piece of three tracts
        members = state.members[t]
        start = next(iter(members))
        seen, stack = {start}, [start]
        while stack:
            for v in bu.neighbours[stack.pop()]:
                if v in members and v not in seen:
                    seen.add(v)
                    stack.append(v)
        assert seen == members and len(members) == 3


def test_exact_partition_proves_the_albuquerque_benchmark_infeasible_at_2_percent() -> None:
    bu = prepare_units(_tracts(), contiguity="queen")
    values = np.random.default_rng(0).lognormal(0.0, 0.5, bu.n)  # the benchmark's workload
    assert exact_partition(_state(bu, values, 50), 0.02) == "infeasible"


@pytest.mark.slow
def test_design_says_when_no_plan_within_the_tolerance_exists() -> None:
    tracts = _tracts()
    tracts["w"] = np.random.default_rng(0).lognormal(0.0, 0.5, len(tracts))
    with pytest.raises(ToleranceNotMetError, match="proved") as caught:
        design_territories(tracts, BalanceParams(weight="w", k=50, tolerance=0.02,
                                                 contiguity="queen", restarts=1))
    assert caught.value.plan.parameters["proved_infeasible"] is True
