"""Territories prepared once: reuse while unchanged, a new layout after any edit."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

from planner.assign import assign_accounts, prepare_territories
from planner.assign.layout import cached_layout, clear_cache
from planner.errors import GeometryRepairWarning, InputError


def _grid_territories() -> gpd.GeoDataFrame:
    """A 3 x 3 grid of 1-degree squares in lon/lat."""
    boxes = [shapely.box(i, j, i + 1, j + 1) for j in range(3) for i in range(3)]
    return gpd.GeoDataFrame({"territory_id": [f"T{k}" for k in range(9)]}, geometry=boxes, crs=4326)


def _accounts(n: int = 500) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    xy = rng.random((n, 2)) * 3.2 - 0.1
    return gpd.GeoDataFrame(
        {"account_id": [f"A{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=4326,
    )


def test_same_territories_reuse_the_layout() -> None:
    """Identical territories (even a copy) give the very same prepared layout."""
    clear_cache()
    territories = _grid_territories()
    first = cached_layout(territories, 4326)
    assert cached_layout(territories.copy(), 4326) is first


def test_any_edit_makes_a_new_layout() -> None:
    """Moving one vertex, renaming one territory or another CRS each prepare anew."""
    clear_cache()
    territories = _grid_territories()
    first = cached_layout(territories, 4326)
    moved = territories.copy()
    moved.loc[4, "geometry"] = shapely.box(1, 1, 2.0000001, 2)
    renamed = territories.copy()
    renamed.loc[0, "territory_id"] = "X0"
    assert cached_layout(moved, 4326) is not first
    assert cached_layout(renamed, 4326) is not first
    assert cached_layout(territories, 3857) is not first


def test_prepared_layout_gives_the_same_assignment() -> None:
    """assign_accounts with a layout equals assign_accounts with the frame."""
    territories = _grid_territories()
    accounts = _accounts()
    layout = prepare_territories(territories, accounts.crs, expected_points=len(accounts))
    a = assign_accounts(accounts, territories).memberships
    b = assign_accounts(accounts, layout).memberships
    assert a.astype(str).equals(b.astype(str))


def test_layout_for_another_crs_is_refused() -> None:
    """A layout prepared for EPSG:3857 cannot take accounts in EPSG:4326."""
    layout = prepare_territories(_grid_territories(), 3857)
    with pytest.raises(InputError, match="prepared for another CRS"):
        assign_accounts(_accounts(), layout)


def test_repair_warnings_repeat_on_reuse() -> None:
    """A repaired shape is reported on every run, also when the layout comes from the cache."""
    clear_cache()
    territories = _grid_territories()
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    territories.loc[0, "geometry"] = bowtie
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = assign_accounts(_accounts(), territories)
        assert any(issubclass(w.category, GeometryRepairWarning) for w in caught)
        assert any("T0" in note for note in result.warnings)
