"""Pooled recombination: the roundest plan a pool of territories holds (planner.balance.pool)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from planner.balance import compute_metrics, design_territories, prepare_units
from planner.balance.metrics import encode_assignment
from planner.balance.pool import (
    _dive,
    _programme,
    _Shapes,
    _solve,
    _variants,
    pool_applies,
    pool_recombine,
)
from planner.balance.search import SearchState
from tests.balance.conftest import grid_neighbours, grid_plan_state, is_connected, make_grid

NX, NY = 8, 6


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000))
def test_the_pooled_plan_keeps_the_tolerance_and_contiguity(seed: int) -> None:
    """Property: the new plan is within the tolerance, every territory whole, mean compactness
    not lower, the bookkeeping equal to a measure from scratch, and the same seed the same plan."""
    state, bu, territories = grid_plan_state(seed)
    assert state.max_abs_dev() <= 0.05
    twin = SearchState(bu, np.asarray(state.w), state.labels(), np.asarray(state.tgt),
                       np.ones(bu.n, bool), np.ones(4, bool))
    before = state.mean_pp()
    gain = pool_recombine(state, 0.05, rng=np.random.default_rng(seed), steps=200)
    assert gain >= 0
    assert state.mean_pp() == pytest.approx(before + gain)
    assert state.max_abs_dev() <= 0.05 + 1e-9
    after = state.labels()
    nbrs = grid_neighbours(NX, NY)
    for t in range(state.k):
        assert is_connected({bu.ids[i] for i in np.flatnonzero(after == t)}, nbrs)
    assignment = pd.Series(np.asarray(territories, dtype=object)[after], index=list(bu.ids))
    m = compute_metrics(bu, assignment, weight="w")
    assert m.polsby_popper_mean == pytest.approx(state.mean_pp(), abs=1e-9)
    pool_recombine(twin, 0.05, rng=np.random.default_rng(seed), steps=200)
    assert (twin.labels() == after).all()


def test_the_pool_finds_a_rounder_plan_than_the_start() -> None:
    """On seeds whose starts are not the roundest, the pool raises mean compactness."""
    gains = []
    for seed in range(4):
        state, _bu, _t = grid_plan_state(seed)
        gains.append(pool_recombine(state, 0.05, rng=np.random.default_rng(seed), steps=200))
    assert max(gains) > 0.01


def test_locked_units_and_plans_beyond_the_tolerance_are_left_alone() -> None:
    """Locked units (or a plan outside the tolerance) leave the plan as it is."""
    state, _bu, _t = grid_plan_state(3, pinned=2)
    before = state.labels()
    assert not pool_applies(state, 0.05)
    assert pool_recombine(state, 0.05, rng=np.random.default_rng(0)) == 0.0
    assert (state.labels() == before).all()
    free, _bu, _t = grid_plan_state(3)
    assert pool_applies(free, 0.05)
    assert not pool_applies(free, free.max_abs_dev() / 2)


def _random_connected(rng: np.random.Generator, size: int) -> frozenset[int]:
    """A random connected set of grid cells grown from a random cell."""
    nbrs = grid_neighbours(NX, NY)
    start = int(rng.integers(NX * NY))
    grown = {start}
    while len(grown) < size:
        edge = sorted({int(v[1:]) for u in grown for v in nbrs[f"u{u}"]} - grown)
        grown.add(edge[int(rng.integers(len(edge)))])
    return frozenset(grown)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(2, 20))
def test_variants_and_cut_units_match_a_count_from_scratch(seed: int, size: int) -> None:
    """Property: each variant one unit off a set is connected and measured as from scratch;
    the units whose removal splits a set are exactly those found by trying each."""
    state, bu, _t = grid_plan_state(0)
    shapes = _Shapes(state)
    nbrs = grid_neighbours(NX, NY)

    def connected(cells: frozenset[int]) -> bool:
        return is_connected({bu.ids[i] for i in cells}, nbrs)

    units = _random_connected(np.random.default_rng(seed), size)
    cut = shapes.cut_units(units)
    for u in units:
        rest = units - {u}
        assert (u in cut) == (len(rest) > 0 and not connected(rest))
    measures = shapes.measure(units)
    found = _variants(shapes, units, measures, (0.0, float("inf")))
    seen = set()
    for var, (w, a, p) in found:
        assert connected(var)
        assert len(var ^ units) <= 2
        assert (w, a, p) == pytest.approx(shapes.measure(var))
        seen.add(var)
    # every connected set one neighbour more or one border unit fewer is listed
    outside = {v for u in units for v in state.nb[u]} - units
    for a in outside:
        assert units | {a} in seen
    border = {u for u in units if set(state.nb[u]) - units}
    for r in border - cut:
        assert units - {r} in seen



def test_unequal_targets_are_matched_to_territories_of_their_target() -> None:
    """Reps' capacities give three targets; each pooled territory goes to one of its target."""
    units = make_grid(NX, NY, np.random.default_rng(0).uniform(1, 4, NX * NY).tolist())
    homes = [units.geometry.iloc[i].centroid for i in (0, 7, 40, 47)]
    reps = gpd.GeoDataFrame({"rep_id": ["a", "b", "c", "d"],
                             "capacity_h_per_week": [30, 40, 40, 50]}, geometry=homes,
                            crs=units.crs)
    plan = design_territories(units, weight="w", tolerance=0.05, reps=reps, seed=0,
                              compactness_sweeps=0)
    bu = prepare_units(units)
    labels, territories = encode_assignment(bu, plan.assignment)
    targets = np.array([plan.targets[t] for t in territories])
    assert len(set(targets.tolist())) == 3
    state = SearchState(bu, units["w"].to_numpy(float), labels, targets, np.ones(bu.n, bool),
                        np.ones(4, bool))
    before = state.mean_pp()
    gain = pool_recombine(state, 0.05, rng=np.random.default_rng(0), steps=200)
    assert gain > 0.01
    assert state.mean_pp() == pytest.approx(before + gain)
    assert state.max_abs_dev() <= 0.05 + 1e-9  # each against its own target
    nbrs = grid_neighbours(NX, NY)
    assert all(is_connected({bu.ids[i] for i in state.members[t]}, nbrs) for t in range(4))


class _OneTarget:
    """What the programme needs of the shapes: one target, ``k`` territories of it."""

    def __init__(self, k: int) -> None:
        self.targets = [1.0]
        self.count = [k]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_programme_picks_the_roundest_exact_cover(data: st.DataObject) -> None:
    """Property: on small pools the programme returns an exact cover of the units by k columns
    with the largest summed score (brute force over every choice of k columns), and the dive
    returns an exact cover or nothing."""
    n = data.draw(st.integers(3, 7))
    k = data.draw(st.integers(1, 3))
    sets = data.draw(st.lists(st.frozensets(st.integers(0, n - 1), min_size=1), min_size=1,
                              max_size=12, unique=True))
    scores = data.draw(st.lists(st.floats(0.05, 1.0), min_size=len(sets), max_size=len(sets)))
    columns = [(s, 0, sc) for s, sc in zip(sets, scores, strict=True)]
    shapes = _OneTarget(k)

    def covers(picked: list[tuple[frozenset[int], int, float]]) -> bool:
        return len(picked) == k and sorted(u for s, _i, _p in picked for u in s) == list(range(n))

    best = max((sum(c[2] for c in combo) for combo in itertools.combinations(columns, k)
                if covers(list(combo))), default=None)
    picked = _solve(shapes, columns, n, [], (2000, 30.0))  # type: ignore[arg-type]
    if best is None:
        assert picked is None
        return
    assert picked is not None and covers(picked)
    assert sum(c[2] for c in picked) == pytest.approx(best)
    a, cost, rhs = _programme(columns, list(range(n)), [k])
    lp = linprog(cost, A_eq=a, b_eq=rhs, bounds=(0, 1), method="highs")
    dived = _dive(shapes, columns, np.asarray(lp.x), n)  # type: ignore[arg-type]
    assert dived is None or covers(dived)
