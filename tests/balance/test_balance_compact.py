"""Compactness within the tolerance: pair re-splits and short bursts (planner.balance.compact)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.balance import compute_metrics, prepare_units
from planner.balance.compact import burst_pairs, compact_pairs
from planner.balance.search import SearchState
from planner.balance.units import BalanceUnits
from tests.balance.conftest import grid_neighbours, grid_plan_state, is_connected, make_grid


def _state(seed: int, pinned: int) -> tuple[SearchState, BalanceUnits, list[str]]:
    state, bu, territories = grid_plan_state(seed, pinned)
    values = np.asarray(state.w)
    loads = np.bincount(state.labels(), weights=values, minlength=4)
    targets = np.asarray(state.tgt)
    assert state.max_abs_dev() <= max(0.05, float(np.abs(loads / targets - 1).max())) + 1e-9
    return state, bu, territories


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), pinned=st.integers(0, 6))
def test_re_splits_keep_the_tolerance_pins_and_contiguity(seed: int, pinned: int) -> None:
    """Property: after bursts and greedy re-splits every territory is within the tolerance it
    was (or 5 %), whole, pinned units where they were, and mean compactness is not lower."""
    state, bu, territories = _state(seed, pinned)
    cap = max(0.05, state.max_abs_dev())
    before = state.labels()
    pp_before = sum(state.pp(t) for t in range(state.k))
    rng = np.random.default_rng(seed)
    gain = burst_pairs(state, cap, rng=rng, steps=60)
    compact_pairs(state, cap, rng=rng, passes=1)
    after = state.labels()
    assert gain >= 0
    assert sum(state.pp(t) for t in range(state.k)) >= pp_before - 1e-9
    assert state.max_abs_dev() <= cap + 1e-9
    fixed = ~np.asarray(state.movable)
    assert (after[fixed] == before[fixed]).all()
    nbrs = grid_neighbours(8, 6)
    for t in range(state.k):
        assert is_connected({bu.ids[i] for i in np.flatnonzero(after == t)}, nbrs)
    # the bookkeeping matches a measure from scratch
    assignment = pd.Series(np.asarray(territories, dtype=object)[after], index=list(bu.ids))
    m = compute_metrics(bu, assignment, weight="w")
    assert m.polsby_popper_mean * state.k == pytest.approx(
        sum(state.pp(t) for t in range(state.k)), abs=1e-6)


def test_bursts_raise_compactness_of_a_ragged_plan() -> None:
    """From a plan made without any compactness search, bursts make it rounder."""
    state, _bu, _t = _state(3, 0)
    before = sum(state.pp(t) for t in range(state.k)) / state.k
    gain = burst_pairs(state, max(0.05, state.max_abs_dev()), rng=np.random.default_rng(0),
                       steps=200)
    assert gain > 0.01
    assert sum(state.pp(t) for t in range(state.k)) / state.k == pytest.approx(before + gain)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 6))
def test_territory_graph_and_edge_arrays_match_the_neighbour_lists(seed: int, k: int) -> None:
    """Property: the array-built territory graph is the set of touching open territory pairs
    found by walking every unit's neighbours, and the edge arrays list each border once."""
    rng = np.random.default_rng(seed)
    units = make_grid(6, 5, rng.uniform(1, 4, 30))
    bu = prepare_units(units)
    labels = rng.integers(0, k, bu.n)
    is_open = rng.random(k) < 0.8
    state = SearchState(bu, units["w"].to_numpy(float), labels, np.ones(k), np.ones(bu.n, bool),
                        is_open)
    walked = {(int(min(labels[u], labels[v])), int(max(labels[u], labels[v])))
              for u in range(bu.n) for v in bu.neighbours[u]
              if labels[u] != labels[v] and is_open[labels[u]] and is_open[labels[v]]}
    assert state.territory_graph() == sorted(walked)
    arr = state.arrays()
    edges = set(zip(arr.edge_u.tolist(), arr.edge_v.tolist(), strict=True))
    assert edges == {(u, v) for u in range(bu.n) for v in bu.neighbours[u] if v > u}
    assert len(edges) == len(arr.edge_u) == len(arr.nb_u)
    lengths = dict(zip(zip(arr.edge_u.tolist(), arr.edge_v.tolist(), strict=True),
                       arr.edge_len.tolist(), strict=True))
    assert all(lengths[(u, v)] == bu.shared_m[u][v] for u, v in edges)
