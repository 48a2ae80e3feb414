"""Snapping accounts and homes to the nearest drivable node."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from planner.errors import InputError, SnapDistanceWarning
from planner.routing import plan_routes
from planner.routing.snapping import snap_points


def test_points_on_nodes_snap_to_themselves(monaco_network):
    """A point placed on a node snaps to it, from (almost) no distance."""
    pos = np.array([0, 10, 200])
    snap = snap_points(monaco_network, monaco_network.lat[pos], monaco_network.lon[pos])
    np.testing.assert_array_equal(snap.position, pos)
    assert snap.distance_m.max() < 0.01
    assert not snap.far.any()


def test_far_points_are_listed_in_a_warning(monaco_network):
    """A stop in the sea warns with its id; one 12 km away is off the network."""
    with pytest.warns(SnapDistanceWarning, match=r"sea \(6\d\d m\).*nice"):
        snap = snap_points(monaco_network, [43.735, 43.70], [7.435, 7.27], ids=["sea", "nice"])
    assert snap.far.tolist() == [True, True]
    assert snap.off_network.tolist() == [False, True]


def test_near_points_do_not_warn(monaco_network):
    """Points near roads raise no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SnapDistanceWarning)
        snap_points(monaco_network, [43.7393], [7.4285])


def test_invalid_coordinates_are_all_reported(monaco_network):
    """Missing and out-of-range coordinates are reported together, with ids."""
    with pytest.raises(InputError, match="invalid coordinates") as info:
        snap_points(monaco_network, [np.nan, 95.0, 43.74], [7.42, 7.42, 7.42], ids=["a", "b", "c"])
    text = str(info.value)
    assert "a" in text and "b" in text and "swapped" in text


def test_far_points_are_returned_with_id_and_distance(monaco_network):
    """far_points lists each far point once, farthest first, with its id and distance."""
    with pytest.warns(SnapDistanceWarning):
        snap = snap_points(
            monaco_network,
            [43.7393, 43.735, 43.70],
            [7.4285, 7.435, 7.27],
            ids=["casino", "sea", "nice"],
        )
    far = snap.far_points(["casino", "sea", "nice"])
    assert [p.id for p in far] == ["nice", "sea"]
    assert far[0].off_network and not far[1].off_network
    assert far[0].distance_m > 10_000 and 600 <= far[1].distance_m < 700
    assert far[1].distance_m == pytest.approx(float(snap.distance_m[1]))
    assert [p.id for p in snap.far_points()] == ["3", "2"]
    with pytest.raises(InputError, match="2 ids for 3 snapped points"):
        snap.far_points(["a", "b"])


def test_far_points_survive_a_plan(monaco_network, monaco_stops, monaco_home):
    """A route plan keeps the snap result, so callers can list its far points by id."""
    stops = monaco_stops.copy()
    stops.loc[0, ["latitude", "longitude"]] = [43.735, 7.435]  # in the sea, ~650 m out
    with pytest.warns(SnapDistanceWarning, match="M1"):
        plan = plan_routes(stops, monaco_home, network=monaco_network)
    assert plan.matrix.snap is not None
    far = plan.matrix.snap.far_points(plan.point_ids)
    assert [p.id for p in far] == ["M1"]
