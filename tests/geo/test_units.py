"""Tests of planner.geo.units: H3 units from accounts, at a resolution chosen from density."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from planner import schema as s
from planner.errors import InputError
from planner.geo.units import choose_h3_resolution, h3_units


def _accounts(n: int, spread_deg: float, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {s.ACCOUNT_ID: [f"A{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(
            -84.4 + rng.normal(0, spread_deg, n), 33.7 + rng.normal(0, spread_deg, n)
        ),
        crs="EPSG:4326",
    )


@pytest.fixture
def city_accounts() -> gpd.GeoDataFrame:
    """3,000 accounts packed around central Atlanta (a few km)."""
    return _accounts(3000, 0.03)


@pytest.fixture
def state_accounts() -> gpd.GeoDataFrame:
    """3,000 accounts spread over a few hundred km."""
    return _accounts(3000, 1.5)


def test_denser_accounts_get_finer_cells(
    city_accounts: gpd.GeoDataFrame, state_accounts: gpd.GeoDataFrame
) -> None:
    """The same number of accounts in a smaller area gets a finer resolution."""
    city = choose_h3_resolution(city_accounts)
    state = choose_h3_resolution(state_accounts)
    assert city.resolution > state.resolution
    assert city.accounts_per_cell[city.resolution] >= 20
    finer = city.resolution + 1
    if finer in city.accounts_per_cell:
        assert city.accounts_per_cell[finer] < 20
    assert city.cell_area_km2 < state.cell_area_km2


def test_h3_units_are_unit_rows_holding_every_account(city_accounts: gpd.GeoDataFrame) -> None:
    """Units carry H3 ids, type 'h3', hexagon shapes and counts summing to the accounts."""
    units = h3_units(city_accounts)
    assert list(units.columns[:3]) == [s.UNIT_ID, s.NAME, s.UNIT_TYPE]
    assert (units[s.UNIT_TYPE] == "h3").all()
    assert units["account_count"].sum() == len(city_accounts)
    assert units[s.UNIT_ID].is_unique and units[s.UNIT_ID].is_monotonic_increasing
    assert units.geometry.is_valid.all()
    assert (units.geometry.geom_type == "Polygon").all()
    assert units.crs.to_epsg() == 4326


def test_fill_covers_the_hull_with_empty_cells(state_accounts: gpd.GeoDataFrame) -> None:
    """With fill, empty cells inside the accounts' hull are units too."""
    sparse = state_accounts.iloc[:40]
    plain = h3_units(sparse, resolution=6)
    filled = h3_units(sparse, resolution=6, fill=True)
    assert len(filled) > len(plain)
    assert set(plain[s.UNIT_ID]) <= set(filled[s.UNIT_ID])
    assert (filled["account_count"] == 0).any()


def test_accounts_in_another_crs_are_handled(city_accounts: gpd.GeoDataFrame) -> None:
    """Projected accounts give the same cells as longitude/latitude ones."""
    a = h3_units(city_accounts, resolution=8)
    b = h3_units(city_accounts.to_crs(32616), resolution=8)
    assert a[s.UNIT_ID].tolist() == b[s.UNIT_ID].tolist()


def test_no_location_or_bad_resolution_is_an_error() -> None:
    """Accounts without coordinates, or an impossible resolution, raise clear errors."""
    empty = gpd.GeoDataFrame({s.ACCOUNT_ID: ["a"]}, geometry=[None], crs="EPSG:4326")
    with pytest.raises(InputError, match="no account has a location"):
        h3_units(empty)
    with pytest.raises(InputError, match=r"outside 0\.\.15"):
        h3_units(_accounts(5, 0.1), resolution=16)
