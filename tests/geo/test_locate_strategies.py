"""The point index's strategies (box grid, cell grid, GEOS) never change a result.

The index chooses from the sizes: GEOS alone for a few points per polygon,
the box grid (cheap to build) for few points per polygon vertex, the cell
grid once enough points come. Whichever
runs, every (point, covering polygon) pair must be the one GEOS gives,
border and vertex points included (the border rule resolves them later).
"""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.assign import assign_accounts, prepare_territories
from planner.geo.locate import (
    BOX_POINTS_PER_POLYGON,
    GRID_MIN_POINTS,
    GRID_POINTS_PER_VERTEX,
    boxes_pay,
    build_index,
    grid_pays,
    locate_points,
)
from tests.geo.conftest import border_points


def _layout(seed: int, n: int, overlaps: int, round_ones: int) -> np.ndarray:
    """Voronoi cells (one with a hole, two merged into a multipolygon), overlapping boxes,
    and round polygons with many vertices (tested by GEOS in the box grid)."""
    rng = np.random.default_rng(seed)
    frame = shapely.box(0, 0, 10, 10)
    seeds = shapely.multipoints(rng.random((n, 2)) * 10)
    cells = list(
        shapely.intersection(
            shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame
        )
    )
    cells[0] = shapely.difference(cells[0], shapely.buffer(shapely.centroid(cells[0]), 0.05))
    if len(cells) > 3:
        cells[1] = shapely.multipolygons([cells[1], cells[2]])
        cells[2] = None
    for _ in range(overlaps):
        x, y = rng.random(2) * 8
        cells.append(shapely.box(x, y, x + 2 * rng.random() + 0.1, y + 2 * rng.random() + 0.1))
    for _ in range(round_ones):
        x, y = rng.random(2) * 10
        cells.append(shapely.buffer(shapely.Point(x, y), 0.5 + rng.random(), quad_segs=32))
    return np.array(cells, dtype=object)


def _pairs(x: np.ndarray, y: np.ndarray, index: object) -> set[tuple[int, int]]:
    located = locate_points(x, y, index)  # type: ignore[arg-type]
    return set(zip(located.point_index.tolist(), located.polygon_index.tolist(), strict=True))


def _geos(polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> set[tuple[int, int]]:
    ok = np.isfinite(x) & np.isfinite(y)
    where = np.flatnonzero(ok)
    p, t = shapely.STRtree(polys).query(shapely.points(x[ok], y[ok]), predicate="intersects")
    return set(zip(where[p].tolist(), t.tolist(), strict=True))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 150),
    overlaps=st.integers(0, 3),
    round_ones=st.integers(0, 2),
)
def test_box_grid_cell_grid_and_geos_agree(
    seed: int, n: int, overlaps: int, round_ones: int
) -> None:
    """Same pairs from the box grid, the cell grid and GEOS, for every point."""
    polys = _layout(seed, n, overlaps, round_ones)
    x, y = border_points(polys, seed + 1, 2000, missing_every=97)
    boxes = build_index(polys, grid=False)
    cells = build_index(polys, grid=True)
    alone = build_index(polys, grid=False, boxes=False)
    assert boxes.cells is None and boxes.boxes is not None
    assert cells.cells is not None
    assert alone.cells is None and alone.boxes is None
    truth = _geos(polys, x, y)
    assert _pairs(x, y, boxes) == truth
    assert _pairs(x, y, cells) == truth
    assert _pairs(x, y, alone) == truth
    # a handful of points goes through the polygon tree instead of a tree of points
    assert _pairs(x[:5], y[:5], alone) == _geos(polys, x[:5], y[:5])
    # the caller's own point objects (missing ones None) give the same pairs as new ones
    given = shapely.points(x, y)
    given[~(np.isfinite(x) & np.isfinite(y))] = None
    for index in (alone, cells):
        located = locate_points(x, y, index, points=given)
        pairs = set(zip(located.point_index.tolist(), located.polygon_index.tolist(), strict=True))
        assert pairs == truth
    far = shapely.points(x + 100, y)  # the given points are the ones GEOS tests
    assert len(locate_points(x, y, alone, points=far)) == 0
    small = locate_points(x[:5], y[:5], alone, points=given[:5])
    assert set(zip(small.point_index.tolist(), small.polygon_index.tolist(), strict=True)) == (
        _geos(polys, x[:5], y[:5])
    )


def test_box_index_pickles() -> None:
    """A Dask worker may receive an index without cells: it locates as the original."""
    polys = _layout(5, 40, 2, 1)
    index = build_index(polys, grid=False)
    copy = pickle.loads(pickle.dumps(index))
    x, y = border_points(polys, 6, 3000, missing_every=97)
    assert copy.boxes is not None
    assert _pairs(x, y, copy) == _pairs(x, y, index)


def test_strategy_follows_the_sizes() -> None:
    """The cell grid is built only when enough points per polygon vertex come."""
    polys = _layout(7, 50, 0, 0)
    vertices = int(shapely.get_num_coordinates(polys).sum())
    enough = max(GRID_MIN_POINTS, GRID_POINTS_PER_VERTEX * vertices)
    assert not grid_pays(enough - 1, polys)
    assert grid_pays(enough, polys)
    assert build_index(polys, expected_points=enough - 1).cells is None
    assert build_index(polys, expected_points=enough).cells is not None
    usable = int((~shapely.is_missing(polys)).sum())
    few = BOX_POINTS_PER_POLYGON * usable
    assert not boxes_pay(few - 1, usable) and boxes_pay(few, usable)
    assert build_index(polys, expected_points=few - 1).boxes is None
    assert build_index(polys, expected_points=few).boxes is not None


def test_layout_index_grows_with_the_points_it_sees() -> None:
    """GEOS alone for the first few accounts, the box grid once enough have come."""
    polys = _layout(8, 60, 0, 0)
    keep = ~shapely.is_missing(polys)
    territories = gpd.GeoDataFrame(
        {"territory_id": [f"T{i:03d}" for i in range(int(keep.sum()))]},
        geometry=list(polys[keep]),
        crs=32616,
    )
    layout = prepare_territories(territories, 32616)
    n = int(keep.sum())
    first = layout.index(n)
    assert first is not None and first.boxes is None and first.cells is None
    more = layout.index(BOX_POINTS_PER_POLYGON * n)
    assert more is not None and more.boxes is not None and more.cells is None
    assert layout.index(1) is more  # kept


def test_assignment_is_the_same_whichever_index_the_layout_uses() -> None:
    """Memberships (border points and overlaps included) do not depend on the strategy."""
    polys = shapely.transform(_layout(11, 80, 3, 1), lambda c: c * 1000.0)  # metres
    keep = ~shapely.is_missing(polys)
    territories = gpd.GeoDataFrame(
        {"territory_id": [f"T{i:03d}" for i in range(int(keep.sum()))]},
        geometry=list(polys[keep]),
        crs=32616,
    )
    x, y = border_points(polys[keep], 12, 4000, missing_every=97)
    ok = np.isfinite(x)
    accounts = gpd.GeoDataFrame(
        {"account_id": [f"A{i:05d}" for i in range(int(ok.sum()))]},
        geometry=gpd.points_from_xy(x[ok], y[ok]),
        crs=32616,
    )
    few = prepare_territories(territories, accounts.crs)
    many = prepare_territories(territories, accounts.crs, expected_points=10**9)
    a = assign_accounts(accounts, few)
    b = assign_accounts(accounts, many)
    assert few.index(0) is not None and few.index(0).cells is None  # type: ignore[union-attr]
    assert many.index(0) is not None and many.index(0).cells is not None  # type: ignore[union-attr]
    pd.testing.assert_frame_equal(a.memberships, b.memberships)
    pd.testing.assert_frame_equal(a.unassigned, b.unassigned)
