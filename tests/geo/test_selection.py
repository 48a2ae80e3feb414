"""Selecting accounts by a drawn lasso or radius: the drawn area and the accounts inside."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box, mapping

from planner import schema as s
from planner.errors import InputError
from planner.geo.selection import accounts_in_area, drawn_area
from planner.geodesy import haversine_m


def _feature(geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _points(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {s.ACCOUNT_ID: [f"A{i}" for i in range(len(xy))]},
        geometry=[Point(x, y) for x, y in xy],
        crs=s.STORAGE_CRS,
    )


def test_a_lasso_selects_the_accounts_inside_and_on_its_edge() -> None:
    accounts = _points([(24.93, 60.16), (24.95, 60.17), (24.99, 60.17), (24.94, 60.18)])
    area = drawn_area(_feature(mapping(box(24.92, 60.15, 24.96, 60.18))))
    assert accounts_in_area(accounts, area) == ["A0", "A1", "A3"]  # A3 on the edge


def test_unlocated_accounts_are_never_selected() -> None:
    accounts = _points([(24.93, 60.16)])
    accounts.loc[len(accounts)] = ["A9", None]
    area = drawn_area(_feature(mapping(box(24.0, 60.0, 25.0, 61.0))))
    assert accounts_in_area(accounts, area) == ["A0"]


@settings(max_examples=30, deadline=None)
@given(
    lat=st.floats(-60, 60), lon=st.floats(-170, 170), radius=st.floats(50, 200_000),
    seed=st.integers(0, 2**16),
)  # fmt: skip
def test_a_radius_keeps_points_by_their_distance_on_the_ground(
    lat: float, lon: float, radius: float, seed: int
) -> None:
    """Property: points clearly nearer than the radius are in, clearly farther are out."""
    area = drawn_area(_feature({"type": "Point", "coordinates": [lon, lat]}, radius=radius))
    rng = np.random.default_rng(seed)
    bearings = rng.uniform(0, 2 * np.pi, 40)
    dist = rng.uniform(0, 2 * radius, 40)
    dlat = np.degrees(dist * np.cos(bearings) / 6_371_008.8)
    dlon = np.degrees(dist * np.sin(bearings) / (6_371_008.8 * np.cos(np.radians(lat))))
    xy = list(zip(lon + dlon, lat + dlat, strict=True))
    inside = set(accounts_in_area(_points(xy), area))
    ground = haversine_m(lat, lon, lat + dlat, lon + dlon)
    for i, d in enumerate(ground):
        if d < radius * 0.98:
            assert f"A{i}" in inside
        elif d > radius * 1.02:
            assert f"A{i}" not in inside


@pytest.mark.parametrize(
    ("feature", "match"),
    [
        (_feature({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}), "does not enclose"),
        (_feature({"type": "Point", "coordinates": [24.9, 60.1]}), "radius None"),
        (_feature({"type": "Point", "coordinates": [24.9, 60.1]}, radius=-5), "radius -5"),
        ({"type": "Feature"}, "does not enclose"),
    ],
)
def test_drawings_without_an_area_are_refused(feature: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        drawn_area(feature)
