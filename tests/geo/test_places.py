"""Offline place names: US cities from the postal-code table, elsewhere the accounts' own."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import zipcodes
from hypothesis import given
from hypothesis import strategies as st

from planner.geo.places import account_places, place_labels, us_places
from planner.samples import data_dir

GEORGIA = (-85.61, 30.36, -80.84, 35.0)


def test_georgia_labels_start_with_atlanta_and_stay_inside_the_bounds() -> None:
    labels = place_labels(GEORGIA, limit=10)
    assert labels["name"].iloc[0] == "Atlanta"
    assert list(labels["rank"]) == list(range(1, 11))
    assert labels["weight"].is_monotonic_decreasing
    x, y = labels.geometry.x, labels.geometry.y
    assert x.between(GEORGIA[0], GEORGIA[2]).all() and y.between(GEORGIA[1], GEORGIA[3]).all()
    assert labels.crs.to_epsg() == 4326
    assert set(labels["tier"]) <= {1, 2, 3} and labels["tier"].iloc[0] == 1


def test_bundled_table_matches_the_postal_code_package() -> None:
    """The bundled file is the package's ZIP codes counted per city (rebuild it if not)."""
    zips = [z for z in zipcodes.list_all() if z["city"] == "Macon" and z["state"] == "GA"]
    macon = us_places((-84.0, 32.6, -83.4, 33.0))
    row = macon[macon["name"] == "Macon"]
    assert len(row) == 1 and int(row["weight"].iloc[0]) == len(zips)
    assert row.geometry.y.iloc[0] == pytest.approx(
        sum(float(z["lat"]) for z in zips) / len(zips), abs=1e-4
    )
    assert (data_dir() / "us_places.csv.gz").stat().st_size < 1_000_000


def test_outside_the_us_the_accounts_name_the_places() -> None:
    accounts = gpd.GeoDataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "address": [
                "Mikonkatu 1, 00100 Helsinki",
                "Yrjönkatu, Helsinki",
                "Tapiontori 3, 02100 Espoo",
                None,
                "Lönnrotinkatu 12, 00120 7",
            ],
        },
        geometry=gpd.points_from_xy(
            [24.94, 24.93, 24.80, 24.9, 24.9], [60.17, 60.16, 60.17, 60.2, 60.2]
        ),
        crs="EPSG:4326",
    )
    labels = place_labels((24.7, 60.1, 25.1, 60.3), accounts=accounts)
    assert list(labels["name"]) == ["Helsinki", "Espoo"]
    assert list(labels["weight"]) == [2, 1]
    assert set(labels["source"]) == {"accounts"}


def test_a_city_column_wins_over_addresses_and_rows_without_location_are_left_out() -> None:
    accounts = gpd.GeoDataFrame(
        {"city": ["Lyon", "Lyon", pd.NA], "address": ["x, 75001 Paris"] * 3},
        geometry=gpd.points_from_xy([4.8, None, 4.9], [45.7, None, 45.8]),
        crs="EPSG:4326",
    )
    places = account_places(accounts)
    assert list(places["name"]) == ["Lyon"] and list(places["weight"]) == [1]


def test_no_places_gives_an_empty_frame_with_the_columns() -> None:
    labels = place_labels((0.0, 0.0, 1.0, 1.0))  # the Gulf of Guinea: no US city, no accounts
    assert labels.empty
    assert {"name", "weight", "source", "rank", "tier", "geometry"} <= set(labels.columns)
    empty = gpd.GeoDataFrame({"account_id": []}, geometry=[], crs="EPSG:4326")
    assert place_labels((0.0, 0.0, 1.0, 1.0), accounts=empty).empty


@given(
    west=st.floats(-125, -66),
    south=st.floats(24, 49),
    width=st.floats(0, 20),
    height=st.floats(0, 10),
    limit=st.integers(0, 50),
)
def test_labels_are_inside_any_bounds_and_never_exceed_the_limit(
    west: float, south: float, width: float, height: float, limit: int
) -> None:
    bounds = (west, south, west + width, south + height)
    labels = place_labels(bounds, limit=limit)
    assert len(labels) <= limit
    assert labels.geometry.x.between(bounds[0], bounds[2]).all()
    assert labels.geometry.y.between(bounds[1], bounds[3]).all()
    assert labels["name"].map(lambda n: isinstance(n, str) and n != "").all()
