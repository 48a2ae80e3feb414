"""Tests of planner.geo.shapes: repair, CRS, drawn GeoJSON, dissolve, overlaps and gaps."""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import GeometryRepairWarning, InputError, PlannerWarning
from planner.geo.shapes import (
    dissolve_units,
    drawn_territory,
    find_gaps,
    find_overlaps,
    geometry_from_geojson,
    local_crs,
    prepare_polygons,
    repair_polygons,
    territory_from_units,
)
from planner.geo.shapes.projection import area_scale, area_scale_floor

# A small area near Atlanta, in longitude/latitude.
X0, Y0 = -84.5, 33.6


def _box(i: float, j: float, w: float = 0.1, h: float = 0.1) -> shapely.Polygon:
    return shapely.box(X0 + i * 0.1, Y0 + j * 0.1, X0 + i * 0.1 + w, Y0 + j * 0.1 + h)


def _feature(coords: list[list[float]], **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": dict(props),
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }


@pytest.fixture
def two_by_one_territories() -> gpd.GeoDataFrame:
    """Two territories side by side, A on the left and B on the right, sharing a border."""
    return gpd.GeoDataFrame(
        {"territory_id": ["A", "B"], "type_id": ["geographic", "geographic"]},
        geometry=[_box(0, 0), _box(1, 0)],
        crs="EPSG:4326",
    )


@pytest.fixture
def five_accounts() -> gpd.GeoDataFrame:
    """Accounts in A, in B, on the A|B border, outside both, and one without a location."""
    return gpd.GeoDataFrame(
        {"account_id": ["in_a", "in_b", "border", "outside", "nowhere"]},
        geometry=[
            shapely.Point(X0 + 0.05, Y0 + 0.05),
            shapely.Point(X0 + 0.15, Y0 + 0.05),
            shapely.Point(X0 + 0.1, Y0 + 0.05),
            shapely.Point(X0 + 0.5, Y0 + 0.5),
            None,
        ],
        crs="EPSG:4326",
    )


def test_bow_tie_is_repaired_with_a_warning_naming_the_territory() -> None:
    """A self-intersecting polygon becomes valid; the warning names it and the reason."""
    bow = shapely.Polygon([(X0, Y0), (X0 + 0.1, Y0 + 0.1), (X0 + 0.1, Y0), (X0, Y0 + 0.1)])
    frame = gpd.GeoDataFrame({"territory_id": ["T7"]}, geometry=[bow], crs="EPSG:4326")
    with pytest.warns(GeometryRepairWarning, match=r"territory T7 \(Self-intersection\)"):
        out = repair_polygons(frame)
    assert out.geometry.iloc[0].is_valid
    assert out.geometry.iloc[0].area == pytest.approx(0.005)


def test_slivers_are_removed_with_a_warning() -> None:
    """A needle-thin extra part is dropped and reported."""
    sliver = shapely.box(X0 + 0.2, Y0, X0 + 0.2 + 1e-9, Y0 + 1e-9)
    shape = shapely.MultiPolygon([_box(0, 0), sliver])
    frame = gpd.GeoDataFrame({"territory_id": ["S1"]}, geometry=[shape], crs="EPSG:4326")
    with pytest.warns(GeometryRepairWarning, match="territory S1: sliver"):
        out = repair_polygons(frame)
    assert out.geometry.iloc[0].geom_type == "Polygon"


def test_points_and_lines_where_polygons_were_expected_are_rejected() -> None:
    """Every non-polygon feature is named in one error."""
    frame = gpd.GeoDataFrame(
        {"territory_id": ["ok", "pin", "road"]},
        geometry=[_box(0, 0), shapely.Point(X0, Y0), shapely.LineString([(X0, Y0), (X0, 34)])],
        crs="EPSG:4326",
    )
    with pytest.raises(InputError, match="2 problem") as info:
        repair_polygons(frame)
    text = str(info.value)
    assert "territory road: a LineString where a polygon was expected" in text
    assert "territory pin: a Point where a polygon was expected" in text


def test_empty_polygons_are_rejected_or_kept_as_rule_only() -> None:
    """An empty shape is an error when shapes are required, else it becomes no shape."""
    frame = gpd.GeoDataFrame(
        {"territory_id": ["E1", "ok"]}, geometry=[shapely.Polygon(), _box(0, 0)], crs="EPSG:4326"
    )
    with pytest.raises(InputError, match="empty"):
        repair_polygons(frame, allow_empty=False)
    kept = repair_polygons(frame, allow_empty=True)
    assert kept.geometry.iloc[0] is None
    assert kept.geometry.iloc[1] is not None


def test_geometry_collection_keeps_its_polygons() -> None:
    """A collection of a polygon and a point keeps the polygon, with a warning."""
    mixed = shapely.GeometryCollection([_box(0, 0), shapely.Point(X0, Y0)])
    frame = gpd.GeoDataFrame({"territory_id": ["M"]}, geometry=[mixed], crs="EPSG:4326")
    with pytest.warns(GeometryRepairWarning, match="territory M: points or lines"):
        out = repair_polygons(frame)
    assert out.geometry.iloc[0].geom_type == "Polygon"


def test_missing_crs_is_assumed_lonlat_or_rejected() -> None:
    """No CRS: longitude/latitude coordinates get EPSG:4326 with a warning, others an error."""
    lonlat = gpd.GeoDataFrame({"territory_id": ["A"]}, geometry=[_box(0, 0)])
    with pytest.warns(PlannerWarning, match="EPSG:4326 is assumed"):
        out = prepare_polygons(lonlat)
    assert out.crs.to_epsg() == 4326
    utm = gpd.GeoDataFrame(
        {"territory_id": ["A"]}, geometry=[shapely.box(7e5, 3.7e6, 7.1e5, 3.71e6)]
    )
    with pytest.raises(InputError, match="no CRS") as info:
        prepare_polygons(utm)
    assert ".prj" in info.value.problems[0].fix


def test_other_crs_than_the_accounts_is_reprojected_with_a_warning() -> None:
    """Territories in UTM meeting accounts in EPSG:4326 are reprojected, with a warning."""
    utm = gpd.GeoDataFrame({"territory_id": ["A"]}, geometry=[_box(0, 0)], crs="EPSG:4326").to_crs(
        32616
    )
    with pytest.warns(PlannerWarning, match="reprojected"):
        out = prepare_polygons(utm, reference_crs="EPSG:4326")
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].bounds == pytest.approx(_box(0, 0).bounds, abs=1e-6)


def test_drawn_feature_becomes_a_shape_with_its_account_count(
    five_accounts: gpd.GeoDataFrame,
) -> None:
    """What Leaflet.draw returns (a Feature) gives the shape and the accounts inside it."""
    ring = [[X0, Y0], [X0 + 0.1, Y0], [X0 + 0.1, Y0 + 0.1], [X0, Y0 + 0.1], [X0, Y0]]
    drawn = drawn_territory(_feature(ring), five_accounts)
    assert drawn.account_ids == ("in_a", "border")
    assert drawn.account_count == 2
    assert drawn.area_km2 == pytest.approx(103, rel=0.05)
    frame = drawn.to_frame("T9", name="Drawn")
    assert frame.iloc[0]["source"] == "drawn"


def test_drawn_unclosed_clockwise_ring_is_closed_and_reoriented() -> None:
    """An unclosed clockwise ring is closed and made counter-clockwise, both reported."""
    ring = [[X0, Y0], [X0, Y0 + 0.1], [X0 + 0.1, Y0 + 0.1], [X0 + 0.1, Y0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shape = geometry_from_geojson(_feature(ring), label="T1")
    messages = " | ".join(str(w.message) for w in caught)
    assert "T1: an unclosed ring was closed" in messages
    assert "wrong orientation" in messages
    assert shape.exterior.is_ccw


def test_drawn_shape_repair_names_the_shape_once() -> None:
    """A repaired drawing is named once ("the drawn shape"), or by its noun and its own label."""
    bow_tie = [[X0, Y0], [X0 + 0.1, Y0 + 0.1], [X0 + 0.1, Y0], [X0, Y0 + 0.1], [X0, Y0]]
    for label, expected in (
        ("the drawn shape", r"^the drawn shape \(Self-intersection\)"),
        ("T9", r"^drawn shape T9 \(Self-intersection\)"),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            drawn_territory(_feature(bow_tie), label=label)
        messages = [str(w.message) for w in caught if issubclass(w.category, GeometryRepairWarning)]
        assert any(re.match(expected, m) for m in messages), messages
        assert not any("drawn shape the drawn shape" in m for m in messages), messages


def test_drawn_circle_becomes_a_polygon() -> None:
    """A Leaflet circle (a point with a radius in metres) becomes a round polygon."""
    circle = {
        "type": "Feature",
        "properties": {"radius": 1000},
        "geometry": {"type": "Point", "coordinates": [X0, Y0]},
    }
    drawn = drawn_territory(circle)
    assert drawn.geometry.geom_type == "Polygon"
    assert drawn.area_km2 == pytest.approx(3.1416, rel=0.01)


def test_mixed_feature_collection_names_the_bad_feature() -> None:
    """A marker among polygons is rejected, naming the marker."""
    ring = [[X0, Y0], [X0 + 0.1, Y0], [X0 + 0.1, Y0 + 0.1], [X0, Y0]]
    collection = {
        "type": "FeatureCollection",
        "features": [
            _feature(ring),
            {
                "type": "Feature",
                "properties": {"name": "pin 2"},
                "geometry": {"type": "Point", "coordinates": [X0, Y0]},
            },
        ],
    }
    with pytest.raises(InputError, match="problem") as info:
        geometry_from_geojson(collection)
    assert "pin 2: a Point where a polygon was expected" in str(info.value)


def test_dissolve_units_merges_each_territorys_units() -> None:
    """Units assigned to one territory become one shape; unknown units are an error."""
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2", "u3"]},
        geometry=[_box(0, 0), _box(1, 0), _box(5, 5)],
        crs="EPSG:4326",
    )
    shapes = dissolve_units(units, {"u1": "T", "u2": "T", "u3": "S"})
    assert shapes["territory_id"].tolist() == ["S", "T"]
    assert shapes["unit_count"].tolist() == [1, 2]
    two = _box(0, 0, w=0.2)
    assert shapes.geometry.iloc[1].symmetric_difference(two).area < 1e-12
    assert territory_from_units(units, ["u1", "u2"]).symmetric_difference(two).area < 1e-12
    with pytest.raises(InputError, match="unknown units"):
        dissolve_units(units, {"u9": "T"})
    with pytest.raises(InputError, match="unknown units"):
        territory_from_units(units, ["u9"])


def test_overlaps_name_pairs_area_and_accounts(five_accounts: gpd.GeoDataFrame) -> None:
    """Overlapping territories are listed with the shared area and the accounts in both."""
    terr = gpd.GeoDataFrame(
        {"territory_id": ["B", "A", "C"], "type_id": ["g", "g", "o"]},
        geometry=[_box(0.6, 0), _box(0, 0), _box(5, 5)],
        crs="EPSG:4326",
    )
    overlaps = find_overlaps(terr, accounts=five_accounts)
    assert len(overlaps) == 1
    row = overlaps.iloc[0]
    assert (row["territory_a"], row["territory_b"]) == ("A", "B")
    assert row["area_m2"] == pytest.approx(41.2e6, rel=0.05)
    assert row["accounts"] == 1  # only the account at x0 + 0.1 is in both


def test_a_shared_border_is_not_an_overlap(two_by_one_territories: gpd.GeoDataFrame) -> None:
    """Neighbours that only touch are not reported."""
    assert find_overlaps(two_by_one_territories).empty


def test_gaps_list_uncovered_accounts_and_units(
    two_by_one_territories: gpd.GeoDataFrame, five_accounts: gpd.GeoDataFrame
) -> None:
    """Accounts and units outside every territory are reported."""
    units = gpd.GeoDataFrame(
        {"unit_id": ["covered", "half", "out"]},
        geometry=[_box(0, 0), _box(1.5, 0), _box(4, 4)],
        crs="EPSG:4326",
    )
    gaps = find_gaps(two_by_one_territories, units=units, accounts=five_accounts)
    assert gaps.account_ids == ("outside", "nowhere")
    assert gaps.units["unit_id"].tolist() == ["half", "out"]
    assert gaps.units["uncovered_share"].tolist() == pytest.approx([0.5, 1.0], abs=0.01)
    assert gaps.area_m2 > 0


def test_local_crs_is_the_utm_zone() -> None:
    """Atlanta is in UTM zone 16 north."""
    series = gpd.GeoSeries([_box(0, 0)], crs="EPSG:4326")
    assert local_crs(series).to_epsg() == 32616


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(-179.0, 178.0),
    lat=st.floats(-89.0, 88.0),
    size=st.floats(1e-7, 1.0),
    spread=st.floats(0.0, 60.0),
)
def test_area_floor_never_exceeds_the_true_scale(
    lon: float, lat: float, size: float, spread: float
) -> None:
    """The cheap sliver pre-check never calls a sliver safe: its floor stays under the scale."""
    far = shapely.box(min(lon + spread, 178.0), lat, min(lon + spread, 178.0) + size, lat + size)
    near = shapely.box(lon, lat, lon + size, lat + size)
    series = gpd.GeoSeries([near, far], crs=4326)
    floor = area_scale_floor(series.to_numpy(), series.crs)
    exact = area_scale(series)
    assert (floor <= exact).all()
