"""The point index: exact against GEOS for borders, vertices, holes and overlaps."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.assign.inputs import point_coordinates
from planner.geo.locate import build_index, locate_points, on_boundary
from tests.geo.conftest import border_points


def _layout(seed: int, n: int, overlaps: int) -> np.ndarray:
    """Voronoi cells of a 10 x 10 frame, one with a hole, plus a few overlapping boxes."""
    rng = np.random.default_rng(seed)
    frame = shapely.box(0, 0, 10, 10)
    seeds = shapely.multipoints(rng.random((n, 2)) * 10)
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame
    )
    cells = list(cells)
    c = shapely.centroid(cells[0])
    cells[0] = shapely.difference(cells[0], shapely.buffer(c, 0.05))  # a hole
    for _ in range(overlaps):
        x, y = rng.random(2) * 8
        cells.append(shapely.box(x, y, x + 2 * rng.random() + 0.1, y + 2 * rng.random() + 0.1))
    return np.array(cells, dtype=object)


def _truth(polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> set[tuple[int, int]]:
    p, t = shapely.STRtree(polys).query(shapely.points(x, y), predicate="intersects")
    return set(zip(p.tolist(), t.tolist(), strict=True))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 120),
    overlaps=st.integers(0, 4),
)
def test_grid_equals_geos_everywhere(seed: int, n: int, overlaps: int) -> None:
    """Every (point, covering polygon) pair, border and vertex points included, as GEOS says."""
    polys = _layout(seed, n, overlaps)
    x, y = border_points(polys, seed + 1, 3000)
    index = build_index(polys, grid=True)
    assert index.cells is not None
    located = locate_points(x, y, index)
    got = set(zip(located.point_index.tolist(), located.polygon_index.tolist(), strict=True))
    assert got == _truth(polys, x, y)


def test_many_small_polygons_split_the_grid() -> None:
    """Dense small polygons beside large ones: cells are cut deeper where they are small."""
    rng = np.random.default_rng(4)
    small = rng.random((400, 2)) * 1.0  # a "city" in one corner
    large = rng.random((40, 2)) * 10.0
    frame = shapely.box(0, 0, 10, 10)
    seeds = shapely.multipoints(np.vstack([small, large]))
    polys = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame
    )
    index = build_index(polys, grid=True)
    assert index.cells is not None and index.cells.depth >= 1
    x, y = border_points(polys, 5, 20_000)
    located = locate_points(x, y, index)
    got = set(zip(located.point_index.tolist(), located.polygon_index.tolist(), strict=True))
    assert got == _truth(polys, x, y)


def test_index_pickles_and_gives_the_same_answer() -> None:
    """A Dask worker receives the index pickled; it must locate exactly as the original."""
    polys = _layout(1, 60, 2)
    index = build_index(polys, grid=True)
    copy = pickle.loads(pickle.dumps(index))
    x, y = border_points(polys, 2, 2000)
    a, b = locate_points(x, y, index), locate_points(x, y, copy)
    assert set(zip(a.point_index.tolist(), a.polygon_index.tolist(), strict=True)) == set(
        zip(b.point_index.tolist(), b.polygon_index.tolist(), strict=True)
    )


def test_points_without_location_or_outside_match_nothing() -> None:
    """NaN coordinates and points far outside every polygon give no pair."""
    polys = _layout(2, 20, 0)
    index = build_index(polys, grid=True)
    x = np.array([np.nan, 50.0, -3.0, 5.0])
    y = np.array([1.0, 50.0, 5.0, np.nan])
    assert len(locate_points(x, y, index)) == 0


def test_on_boundary_marks_vertices_and_edges() -> None:
    """Vertices lie on a boundary; interior points do not."""
    polys = _layout(3, 10, 0)
    coords = shapely.get_coordinates(polys[1:2])
    centre = shapely.get_coordinates(shapely.point_on_surface(polys[1:2]))
    x = np.concatenate([coords[:, 0], centre[:, 0]])
    y = np.concatenate([coords[:, 1], centre[:, 1]])
    index = build_index(polys, grid=True)
    located = locate_points(x, y, index)
    border = on_boundary(x, y, index, located)
    inner = located.point_index == len(x) - 1
    assert not border[inner].any()
    assert border[~inner].all()


def test_threads_give_the_same_pairs_as_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half a million points are looked up in spans side by side; the pairs do not change."""
    polys = _layout(3, 400, 20)
    x, y = border_points(polys, 5, 500_000)
    x[::1000] = np.nan  # points without a location stay unmatched in every span
    index = build_index(polys, expected_points=len(x))
    found = {}
    for n_threads in ("1", "2", "3"):
        monkeypatch.setenv("PLANNER_THREADS", n_threads)
        located = locate_points(x, y, index)
        pairs = zip(located.point_index.tolist(), located.polygon_index.tolist(), strict=True)
        found[n_threads] = sorted(pairs)
    assert found["1"] == found["2"] == found["3"]
    assert found["1"] and not any(p % 1000 == 0 for p, _ in found["1"])


def test_point_coordinates_read_side_by_side_match_shapely(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    geoms = shapely.points(rng.random(300_000), rng.random(300_000))
    geoms[::7] = None
    monkeypatch.setenv("PLANNER_THREADS", "2")
    x, y = point_coordinates(geoms)
    np.testing.assert_array_equal(x, shapely.get_x(geoms))
    np.testing.assert_array_equal(y, shapely.get_y(geoms))
    assert np.isnan(x[::7]).all()
