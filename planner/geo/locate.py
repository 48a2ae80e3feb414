"""Fast point-in-polygon location of many points in a polygon layout.

The approach: lay a regular grid over the polygons, mark every grid cell that
a polygon boundary passes through, and label the connected runs of unmarked
cells. No boundary crosses an unmarked run, so one test of a single point per
run tells which polygons contain every point in it. Most points then land by
array indexing alone; only the points in marked cells (near a boundary) and in
cells covered by several overlapping polygons go through an exact test with
prepared polygons. The result is exact, not an approximation.

Semantics: a point is located in a polygon when the polygon *covers* it
(interior or boundary). For points off every boundary this equals
``geopandas.sjoin(predicate="within")``; :func:`on_boundary` tells which of
the returned pairs lie exactly on a boundary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

__all__ = ["Located", "PolygonIndex", "build_index", "locate_points", "on_boundary"]

logger = logging.getLogger(__name__)

#: Below this many points the grid costs more than it saves.
_GRID_MIN_POINTS = 20_000
#: Bounds on the number of grid cells.
_MIN_CELLS = 1 << 14
_MAX_CELLS = 1 << 22
#: Cells of the grid per point located (before the bounds above).
_CELLS_PER_POINT = 3.0
#: Relative distance to a cell edge below which a boundary sample also marks
#: the neighbouring cells (guards against rounding).
_EDGE_EPS = 1e-7

_OUTSIDE = -1
_EXACT = -2


@dataclass(frozen=True)
class Located:
    """Pairs of (point, polygon) where the polygon covers the point.

    Parameters
    ----------
    point_index
        Position of the point in the input arrays.
    polygon_index
        Position of the polygon in the layout.
    """

    point_index: NDArray[np.int64]
    polygon_index: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.point_index)


@dataclass(frozen=True, eq=False)
class PolygonIndex:
    """A polygon layout prepared for repeated point location.

    Build it with :func:`build_index`; pass it to :func:`locate_points`.

    Parameters
    ----------
    polygons
        The polygons (prepared in place); missing or empty ones never match.
    tree
        STRtree over ``polygons``.
    origin
        ``(x0, y0)`` of the grid, or ``None`` when there is no grid.
    cell_size
        Side of a grid cell, in CRS units.
    shape
        ``(ny, nx)`` of the grid.
    cell_owner
        Per cell (flattened row-major): the one polygon that covers the whole
        cell, ``-1`` when no polygon covers it, ``-2`` when its points need an
        exact test.
    """

    polygons: NDArray[np.object_]
    tree: shapely.STRtree
    origin: tuple[float, float] | None = None
    cell_size: float = 0.0
    shape: tuple[int, int] = (0, 0)
    cell_owner: NDArray[np.int32] | None = None

    @property
    def exact_cell_share(self) -> float:
        """Share of grid cells whose points need an exact test (0 without a grid)."""
        if self.cell_owner is None or not len(self.cell_owner):
            return 0.0
        return float(np.mean(self.cell_owner == _EXACT))


def build_index(
    polygons: ArrayLike, *, expected_points: int = 1_000_000, grid: bool | None = None
) -> PolygonIndex:
    """Prepare a polygon layout for :func:`locate_points`.

    Parameters
    ----------
    polygons
        Shapely polygons or multipolygons, all in the CRS of the points.
    expected_points
        How many points will be located; sizes the grid.
    grid
        Force the grid on or off; by default it is used for
        ``expected_points`` of 20,000 and more.

    Returns
    -------
    PolygonIndex
    """
    polys = np.asarray(polygons, dtype=object)
    usable = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
    polys = polys.copy()
    polys[~usable] = None
    shapely.prepare(polys[usable])
    tree = shapely.STRtree(polys)
    use_grid = expected_points >= _GRID_MIN_POINTS if grid is None else grid
    if not use_grid or not usable.any():
        return PolygonIndex(polys, tree)
    xmin, ymin, xmax, ymax = shapely.total_bounds(polys[usable])
    width, height = xmax - xmin, ymax - ymin
    if not (np.isfinite([width, height]).all() and width > 0 and height > 0):
        return PolygonIndex(polys, tree)
    # pad so the maximum coordinates fall inside the last cell
    pad = 1e-9 * max(width, height, 1.0)
    xmin, ymin = xmin - pad, ymin - pad
    width, height = width + 2 * pad, height + 2 * pad
    n_cells = int(np.clip(expected_points * _CELLS_PER_POINT, _MIN_CELLS, _MAX_CELLS))
    cell = float(np.sqrt(width * height / n_cells))
    nx = max(1, int(np.ceil(width / cell)))
    ny = max(1, int(np.ceil(height / cell)))
    marked = _mark_boundary_cells(polys[usable], (xmin, ymin), cell, (ny, nx))
    labels, n_labels = ndimage.label(~marked)
    flat_labels = labels.ravel()
    owner_by_label = np.full(n_labels + 1, _OUTSIDE, dtype=np.int32)
    owner_by_label[0] = _EXACT
    if n_labels:
        rep = np.empty(n_labels + 1, dtype=np.int64)
        # any cell of a run will do as its representative
        rep[flat_labels] = np.arange(flat_labels.size, dtype=np.int64)
        rep = rep[1:]
        cx = xmin + (rep % nx + 0.5) * cell
        cy = ymin + (rep // nx + 0.5) * cell
        pt_idx, poly_idx = tree.query(shapely.points(cx, cy), predicate="intersects")
        counts = np.bincount(pt_idx, minlength=n_labels)
        single = counts[pt_idx] == 1
        owner_by_label[1:][pt_idx[single]] = poly_idx[single]
        owner_by_label[1:][counts > 1] = _EXACT
    cell_owner = owner_by_label[flat_labels]
    index = PolygonIndex(polys, tree, (float(xmin), float(ymin)), cell, (ny, nx), cell_owner)
    logger.debug(
        "grid %dx%d, %d runs, %.1f%% cells exact", nx, ny, n_labels, 100 * index.exact_cell_share
    )
    return index


def _mark_boundary_cells(
    polys: NDArray[np.object_], origin: tuple[float, float], cell: float, shape: tuple[int, int]
) -> NDArray[np.bool_]:
    """Return a grid flagging every cell that a polygon boundary touches."""
    ny, nx = shape
    coords, ring_of = _densified_rings(polys, 0.49 * cell)
    fx = (coords[:, 0] - origin[0]) / cell
    fy = (coords[:, 1] - origin[1]) / cell
    ix = np.clip(np.floor(fx).astype(np.int64), 0, nx - 1)
    iy = np.clip(np.floor(fy).astype(np.int64), 0, ny - 1)
    marked = np.zeros(ny * nx, dtype=bool)
    marked[iy * nx + ix] = True
    # a sub-segment moving diagonally passes through one of the two other cells
    same = ring_of[1:] == ring_of[:-1]
    diag = same & (ix[1:] != ix[:-1]) & (iy[1:] != iy[:-1])
    a = np.flatnonzero(diag)
    marked[iy[a] * nx + ix[a + 1]] = True
    marked[iy[a + 1] * nx + ix[a]] = True
    # steps longer than one cell can only come from rounding: mark their boxes
    far = same & ((np.abs(ix[1:] - ix[:-1]) > 1) | (np.abs(iy[1:] - iy[:-1]) > 1))
    for k in np.flatnonzero(far):
        x0, x1 = sorted((ix[k], ix[k + 1]))
        y0, y1 = sorted((iy[k], iy[k + 1]))
        grid = marked.reshape(ny, nx)
        grid[y0 : y1 + 1, x0 : x1 + 1] = True
    # samples on or next to a cell edge also mark the neighbouring cells
    rx = fx - np.floor(fx)
    ry = fy - np.floor(fy)
    near = (rx < _EDGE_EPS) | (rx > 1 - _EDGE_EPS) | (ry < _EDGE_EPS) | (ry > 1 - _EDGE_EPS)
    edge = np.flatnonzero(near)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            jx = np.clip(ix[edge] + dx, 0, nx - 1)
            jy = np.clip(iy[edge] + dy, 0, ny - 1)
            marked[jy * nx + jx] = True
    return marked.reshape(ny, nx)


def _densified_rings(
    polys: NDArray[np.object_], step: float
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Ring vertices with extra points so no two consecutive ones are ``step`` apart or more.

    Returns the coordinates and, per coordinate, the ring it belongs to (the
    same as ``shapely.segmentize`` then ``get_coordinates``, without making
    geometries).
    """
    rings = shapely.get_rings(shapely.get_parts(polys))
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        return coords, ring_of
    same = ring_of[1:] == ring_of[:-1]
    delta = coords[1:] - coords[:-1]
    length = np.hypot(delta[:, 0], delta[:, 1])
    pieces = np.where(same, np.maximum(1, np.ceil(length / step)), 1).astype(np.int64)
    # each segment start is repeated once per piece and moved along the segment
    start = np.repeat(np.arange(len(coords) - 1), pieces)
    offset = np.arange(len(start)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    frac = np.where(same[start], offset / pieces[start], 0.0)
    dense = coords[start] + frac[:, None] * delta[start]
    dense = np.vstack([dense, coords[-1:]])
    owner = np.concatenate([ring_of[start], ring_of[-1:]])
    return dense, owner


def locate_points(
    x: ArrayLike,
    y: ArrayLike,
    polygons: ArrayLike | PolygonIndex,
) -> Located:
    """Find, for every point, the polygons that cover it.

    Parameters
    ----------
    x, y
        Point coordinates in the polygons' CRS; NaN marks a point without a
        location (it matches nothing).
    polygons
        The layout, or a :class:`PolygonIndex` built from it.

    Returns
    -------
    Located
        One pair per (point, covering polygon); points outside every polygon
        do not appear. Pairs are not sorted.
    """
    xs = np.ascontiguousarray(x, dtype=np.float64)
    ys = np.ascontiguousarray(y, dtype=np.float64)
    index = (
        polygons
        if isinstance(polygons, PolygonIndex)
        else build_index(polygons, expected_points=len(xs))
    )
    n = len(xs)
    if index.cell_owner is None or index.origin is None:
        return _exact(xs, ys, np.arange(n, dtype=np.int64), index)
    ny, nx = index.shape
    fx = (xs - index.origin[0]) / index.cell_size
    fy = (ys - index.origin[1]) / index.cell_size
    inside = (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)  # False for NaN
    owner = np.full(n, _OUTSIDE, dtype=np.int32)
    cells = fy[inside].astype(np.int64) * nx + fx[inside].astype(np.int64)
    owner[inside] = index.cell_owner[cells]
    clean = np.flatnonzero(owner >= 0)
    exact = _exact(xs, ys, np.flatnonzero(owner == _EXACT), index)
    return Located(
        np.concatenate([clean, exact.point_index]),
        np.concatenate([owner[clean].astype(np.int64), exact.polygon_index]),
    )


def _exact(
    xs: NDArray[np.float64], ys: NDArray[np.float64], which: NDArray[np.int64], index: PolygonIndex
) -> Located:
    """Locate the points ``which`` with the STRtree and prepared polygons."""
    if not len(which):
        empty = np.empty(0, dtype=np.int64)
        return Located(empty, empty)
    ok = np.isfinite(xs[which]) & np.isfinite(ys[which])
    which = which[ok]
    pts = shapely.points(xs[which], ys[which])
    p, t = index.tree.query(pts, predicate="intersects")
    return Located(which[p].astype(np.int64), t.astype(np.int64))


def on_boundary(
    x: ArrayLike, y: ArrayLike, polygons: ArrayLike | PolygonIndex, located: Located
) -> NDArray[np.bool_]:
    """Tell, per pair of ``located``, whether the point lies on the polygon's boundary.

    Parameters
    ----------
    x, y
        The point coordinates given to :func:`locate_points`.
    polygons
        The same layout (or its index).
    located
        The pairs to check.

    Returns
    -------
    numpy.ndarray
        Boolean per pair.
    """
    polys = polygons.polygons if isinstance(polygons, PolygonIndex) else np.asarray(polygons)
    if not len(located):
        return np.zeros(0, dtype=bool)
    xs = np.asarray(x, dtype=np.float64)[located.point_index]
    ys = np.asarray(y, dtype=np.float64)[located.point_index]
    inner = shapely.contains_properly(polys[located.polygon_index], shapely.points(xs, ys))
    return ~np.asarray(inner, dtype=bool)
