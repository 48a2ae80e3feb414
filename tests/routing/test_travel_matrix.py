"""Travel-time matrices: contracted Dijkstra equals plain Dijkstra; estimates are labelled."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from planner.errors import InputError, SnapDistanceWarning
from planner.routing.matrix import EstimateParams, road_matrix, travel_matrix
from planner.routing.network import haversine_m


@settings(derandomize=True, deadline=None, max_examples=8)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=25))
def test_contracted_matrix_equals_plain_dijkstra(helsinki_network, raw):
    """Chain contraction leaves every shortest time unchanged (repeats allowed)."""
    pos = np.asarray(raw) % helsinki_network.n_nodes
    duration, _ = road_matrix(helsinki_network, pos, with_distance=False)
    plain = dijkstra(helsinki_network.time_csr, directed=True, indices=pos)[:, pos]
    np.testing.assert_allclose(duration, plain, rtol=1e-9, atol=1e-6)


def test_distances_are_lengths_of_the_fastest_routes(helsinki_network):
    """distance_m is the length of the fastest path, found by walking its predecessors."""
    rng = np.random.default_rng(3)
    pos = rng.choice(helsinki_network.n_nodes, 12, replace=False)
    _, distance = road_matrix(helsinki_network, pos)
    _, pred = dijkstra(helsinki_network.time_csr, indices=pos, return_predecessors=True)
    for i in range(len(pos)):
        for j in range(len(pos)):
            v, total = pos[j], 0.0
            while v != pos[i]:
                p = pred[i, v]
                total += helsinki_network.length_csr[p, v]
                v = p
            assert distance[i, j] == pytest.approx(total, rel=1e-9, abs=1e-6)


def test_one_way_streets_make_the_matrix_asymmetric(helsinki_network):
    """Central Helsinki's one-way streets give different times each way."""
    rng = np.random.default_rng(0)
    pos = rng.choice(helsinki_network.n_nodes, 30, replace=False)
    tm = travel_matrix(helsinki_network.lat[pos], helsinki_network.lon[pos], helsinki_network)
    assert not np.allclose(tm.duration_s, tm.duration_s.T)
    assert not tm.estimated
    assert np.all(np.diag(tm.duration_s) == 0)
    assert np.isfinite(tm.duration_s).all()


def test_estimate_without_network_is_labelled():
    """Without a network: great-circle x circuity at an average speed, labelled estimate."""
    lat, lon = [60.17, 60.18, 60.16], [24.94, 24.95, 24.93]
    params = EstimateParams(circuity=1.4, speed_kph=36.0)
    tm = travel_matrix(lat, lon, None, estimate=params)
    assert tm.estimated and "estimate" in tm.method
    expected = haversine_m(lat[0], lon[0], lat[1], lon[1]) * 1.4
    assert tm.distance_m[0, 1] == pytest.approx(expected)
    assert tm.duration_s[0, 1] == pytest.approx(expected / 10.0)
    np.testing.assert_allclose(tm.duration_s, tm.duration_s.T)
    with pytest.raises(InputError, match="circuity"):
        EstimateParams(circuity=0.5)


def test_points_off_the_network_are_unreachable(monaco_network):
    """A point 12 km from any road gets infinite times to and from the others."""
    with pytest.warns(SnapDistanceWarning, match="12,4"):
        tm = travel_matrix([43.7393, 43.70, 43.7365], [7.4285, 7.27, 7.4210], monaco_network)
    assert np.isinf(tm.duration_s[1, [0, 2]]).all() and np.isinf(tm.duration_s[[0, 2], 1]).all()
    assert np.isfinite(tm.duration_s[np.ix_([0, 2], [0, 2])]).all()
    assert tm.duration_s[1, 1] == 0
