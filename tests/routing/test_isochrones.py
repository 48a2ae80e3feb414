"""Drive-time areas: nested rings that hold every junction reached in time, or estimated circles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from planner.errors import InputError
from planner.routing.isochrones import IsochroneParams, isochrones
from planner.routing.matrix import EstimateParams
from planner.routing.network import RoadNetwork, load_network
from planner.routing.snapping import snap_points
from planner.samples import data_dir

HELSINKI = (60.1699, 24.9384)


@pytest.fixture(scope="module")
def helsinki() -> RoadNetwork:
    return load_network(data_dir() / "helsinki_roads.graphml.gz")


def test_rings_are_nested_and_hold_every_junction_reached_in_time(helsinki: RoadNetwork) -> None:
    rings = isochrones(*HELSINKI, IsochroneParams(minutes=(1, 2, 3)), network=helsinki)
    assert rings["minutes"].tolist() == [3.0, 2.0, 1.0]  # longest first: drawn underneath
    assert set(rings["method"]) == {"roads"}
    assert rings["area_km2"].is_monotonic_decreasing
    assert rings["reached_nodes"].is_monotonic_decreasing
    start = int(snap_points(helsinki, [HELSINKI[0]], [HELSINKI[1]], warn=False).position[0])
    seconds = dijkstra(helsinki.time_csr, directed=True, indices=start)
    junctions = shapely.points(helsinki.lon, helsinki.lat)
    for minutes, area in zip(rings["minutes"], rings.geometry, strict=True):
        reached = seconds <= minutes * 60
        inside = shapely.contains_xy(area.buffer(1e-4), helsinki.lon, helsinki.lat)
        assert inside[reached].all(), f"{minutes} min: a junction reached in time lies outside"
        far = seconds > minutes * 60 * 2  # twice the time away: mostly outside the area
        if far.sum() >= 50:  # (a few one-way detours lie in the middle of any area)
            assert shapely.contains(area, junctions[far]).mean() < 0.3
    inner, outer = rings.geometry.iloc[2], rings.geometry.iloc[0]
    assert inner.difference(outer).area < 1e-3 * inner.area


def test_without_a_network_the_area_is_the_estimate_circle() -> None:
    estimate = EstimateParams(circuity=1.25, speed_kph=50)
    rings = isochrones(*HELSINKI, IsochroneParams(minutes=(30,), estimate=estimate))
    radius_km = 50 * 0.5 / 1.25
    assert rings["method"].tolist() == ["estimate"]
    assert rings["area_km2"].iloc[0] == pytest.approx(math.pi * radius_km**2, rel=0.01)
    assert rings.crs.to_epsg() == 4326
    assert rings.geometry.iloc[0].contains(shapely.Point(HELSINKI[1], HELSINKI[0]))


def test_every_bad_parameter_is_named_at_once() -> None:
    with pytest.raises(InputError) as caught:
        IsochroneParams(minutes=(-5, float("nan"), 1000), corridor_m=0)
    text = str(caught.value)
    assert text.count("is not between 0 and 600 minutes") == 3 and "corridor 0" in text
    with pytest.raises(InputError, match="not a latitude and longitude"):
        isochrones(95.0, 24.9)


def test_a_start_far_from_the_roads_is_refused(helsinki: RoadNetwork) -> None:
    with pytest.raises(InputError, match="too far from every road") as caught:
        isochrones(61.5, 23.8, network=helsinki)  # Tampere, 160 km away
    assert "estimate" in caught.value.problems[0].fix


@settings(max_examples=8, deadline=None)
@given(st.lists(st.floats(0.2, 4.0), min_size=2, max_size=4, unique=True))
def test_longer_times_never_reach_less(minutes: list[float]) -> None:
    network = load_network(data_dir() / "helsinki_roads.graphml.gz")
    rings = isochrones(*HELSINKI, IsochroneParams(minutes=minutes), network=network)
    assert np.all(np.diff(rings["reached_nodes"].to_numpy()) <= 0)
    assert np.all(np.diff(rings["area_km2"].to_numpy()) <= 1e-3)
