"""Fast point-in-polygon location of many points in a polygon layout.

The approach (:mod:`planner.geo.locate_tree`): an adaptive grid over the
polygons, cut finer where boundaries are dense, in which every cell knows the
polygons covering its centre and the few boundary segments crossing it. A
point takes its cell's polygons, flipped by each boundary segment between the
cell centre and the point: array arithmetic on a handful of segments instead
of a tree search per point. Signs too close to call (points on a boundary)
and overlaps that cannot be settled that way go to an exact GEOS test, so the
result is exact, not an approximation. The index depends only on the polygons:
build it once with :func:`build_index` and reuse it for every batch of points.

Building the cell grid costs about what locating one to two million points
does in 37,000 ZIP-like cells, so until enough points come (:func:`grid_pays`: about
20 per polygon vertex) the index holds only a :class:`BoxGrid`: the polygons'
bounding boxes binned in a regular grid (cheap to build), whose candidates
are tested with the plain crossing number against each polygon's own
segments, with the same certified signs and the same exact GEOS test for
points on a boundary. With fewer still (:func:`boxes_pay`: under about 4
points per polygon) neither grid pays for its building and GEOS answers
alone, as ``sjoin`` does: a tree over the points queried with each prepared
polygon. All three give the same pairs.

Semantics: a point is located in a polygon when the polygon *covers* it
(interior or boundary). For points off every boundary this equals
``geopandas.sjoin(predicate="within")``; :func:`on_boundary` tells which of
the returned pairs lie exactly on a boundary.
"""

from __future__ import annotations

import itertools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from planner.geo.locate_cross import (
    PolygonEdges,
    covering_pairs,
    polygon_edges,
    ranges,
    ray_cover,
)
from planner.geo.locate_tree import CellTree, build_cell_tree, lookup

__all__ = [
    "BoxGrid",
    "Located",
    "PolygonIndex",
    "boxes_pay",
    "build_index",
    "grid_pays",
    "locate_points",
    "on_boundary",
    "threads",
]

logger = logging.getLogger(__name__)

#: The cell grid pays for its building from this many points, and this many per
#: polygon vertex (its cost grows with the boundaries; the box grid's per point
#: with the vertices of the candidate polygons): measured on ZIP-like cells and counties.
GRID_MIN_POINTS = 20_000
GRID_POINTS_PER_VERTEX = 20
#: Below this many points per polygon the box grid does not pay for its building
#: either: GEOS alone (a tree over the points queried with each prepared polygon,
#: as ``sjoin`` does) is cheaper. Measured on 37,000 ZIP-like cells (CPU s, box
#: grid built and used vs GEOS): 30k points 0.13 vs 0.06, 100k 0.23 vs 0.17,
#: 300k 0.39 vs 0.63.
BOX_POINTS_PER_POLYGON = 4
#: Points located at once (bounds the memory of a batch of ten million).
_BATCH = 1 << 21
#: Fewest points worth a thread of their own.
_MIN_SPAN = 1 << 17
#: Environment variable setting the lookup threads (1 turns threading off).
THREADS_ENV = "PLANNER_THREADS"
#: Points the box index tests at once (bounds the memory of the segment tests).
_BOX_BATCH = 1 << 17
#: Most box-grid cells, and most (cell, polygon) entries per polygon before cells grow.
_BOX_MAX_CELLS = 1 << 22
_BOX_ENTRIES_PER_POLYGON = 16
#: Polygons with more segments than this are tested by GEOS (its prepared
#: polygons index their segments) instead of segment by segment.
_RAY_MAX_EDGES = 48

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


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
class BoxGrid:
    """The polygons' bounding boxes binned into a regular grid, with every polygon's segments.

    The index of few points: cheap to build (no polygon is tested against the
    cells), it finds each point's candidates (the polygons whose box holds
    it) with one array lookup, and tests them with the crossing number of
    :func:`~planner.geo.locate_cross.ray_cover`, the same certified
    arithmetic as the cells; points on a boundary go to GEOS.
    """

    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]
    ptr: I64
    polys: I64
    bounds: NDArray[np.float32]
    edges: PolygonEdges


@dataclass(frozen=True, eq=False)
class PolygonIndex:
    """A polygon layout prepared for repeated point location.

    Build it with :func:`build_index`; pass it to :func:`locate_points`. It
    pickles (the prepared state is rebuilt on loading), so a Dask worker can
    receive it once and reuse it for every partition.

    Parameters
    ----------
    polygons
        The polygons (prepared in place); missing or empty ones never match.
    tree
        STRtree over ``polygons``.
    cells
        The adaptive cell grid, or ``None`` (every point then goes through
        the box grid).
    boxes
        The box grid, or ``None`` (for few points per polygon, see
        :func:`boxes_pay`, or without usable polygons): GEOS then answers,
        through the STRtree and the prepared polygons.
    """

    polygons: NDArray[np.object_]
    tree: shapely.STRtree
    cells: CellTree | None = None
    boxes: BoxGrid | None = None

    @property
    def exact_cell_share(self) -> float:
        """Share of leaf cells, among all cells, that need a per-point test (0 without cells)."""
        if self.cells is None:
            return 0.0
        nodes = sum(len(level) for level in self.cells.levels)
        return self.cells.leaves / max(nodes, 1)

    def __getstate__(self) -> dict[str, object]:
        return {"polygons": self.polygons, "cells": self.cells, "boxes": self.boxes}

    def __setstate__(self, state: dict[str, object]) -> None:
        polys = np.asarray(state["polygons"], dtype=object)
        usable = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
        shapely.prepare(polys[usable])
        object.__setattr__(self, "polygons", polys)
        object.__setattr__(self, "tree", shapely.STRtree(polys))
        object.__setattr__(self, "cells", state["cells"])
        object.__setattr__(self, "boxes", state.get("boxes"))


def build_index(
    polygons: ArrayLike,
    *,
    expected_points: int = 1_000_000,
    grid: bool | None = None,
    boxes: bool | None = None,
) -> PolygonIndex:
    """Prepare a polygon layout for :func:`locate_points`.

    Parameters
    ----------
    polygons
        Valid shapely polygons or multipolygons, all in the CRS of the points.
    expected_points
        How many points will be located: the cell grid is built when
        :func:`grid_pays` (unless ``grid`` says otherwise), else the box grid
        when :func:`boxes_pay` (unless ``boxes`` says otherwise), else neither
        (GEOS alone).
    grid
        Force the cell grid on or off.
    boxes
        Force the box grid on or off when there is no cell grid (it is always
        built with the cell grid, for the points the cells leave to an exact test).

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
    if not usable.any():
        return PolygonIndex(polys, tree)
    xmin, ymin, xmax, ymax = shapely.total_bounds(polys[usable])
    width, height = xmax - xmin, ymax - ymin
    if not (np.isfinite([width, height]).all() and width > 0 and height > 0):
        return PolygonIndex(polys, tree)
    use_grid = grid_pays(expected_points, polys[usable]) if grid is None else grid
    use_boxes = boxes_pay(expected_points, int(usable.sum())) if boxes is None else boxes
    if not use_grid and not use_boxes:
        return PolygonIndex(polys, tree)
    box_grid = _box_grid(polys, usable)
    if not use_grid:
        return PolygonIndex(polys, tree, boxes=box_grid)
    # pad so the maximum coordinates fall inside the last cell
    pad = 1e-6 * max(width, height)
    bounds = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    cells = build_cell_tree(polys, tree, bounds)
    logger.debug("cell grid %s, depth %d, %d leaves", cells.shape0, cells.depth, cells.leaves)
    return PolygonIndex(polys, tree, cells, box_grid)


def boxes_pay(expected_points: int, polygons: int) -> bool:
    """Whether locating ``expected_points`` points pays for building the box grid."""
    return expected_points >= BOX_POINTS_PER_POLYGON * polygons


def grid_pays(expected_points: int, polygons: NDArray[np.object_]) -> bool:
    """Whether locating ``expected_points`` points pays for building the cell grid."""
    if expected_points < GRID_MIN_POINTS:
        return False
    vertices = int(shapely.get_num_coordinates(polygons).sum())
    return expected_points >= GRID_POINTS_PER_VERTEX * vertices


def _box_grid(polys: NDArray[np.object_], usable: NDArray[np.bool_]) -> BoxGrid:
    """Bin the boxes of the usable polygons: cells about the size of a small box."""
    bounds = shapely.bounds(polys)
    use = np.flatnonzero(usable)
    b = bounds[use]
    xmin, ymin = b[:, 0].min(), b[:, 1].min()
    width, height = b[:, 2].max() - xmin, b[:, 3].max() - ymin
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    cell = max(
        float(np.quantile(size, 0.25)),
        np.sqrt(width * height / _BOX_MAX_CELLS),
        1e-9 * max(width, height),
    )
    while True:
        nx, ny = int(width // cell) + 1, int(height // cell) + 1
        ix0, ix1 = _cell_of(b[:, 0], xmin, cell, nx), _cell_of(b[:, 2], xmin, cell, nx)
        iy0, iy1 = _cell_of(b[:, 1], ymin, cell, ny), _cell_of(b[:, 3], ymin, cell, ny)
        wx = ix1 - ix0 + 1
        counts = wx * (iy1 - iy0 + 1)
        if counts.sum() <= _BOX_ENTRIES_PER_POLYGON * len(use) + (1 << 16):
            break
        cell *= 2  # a few huge boxes among small ones: coarser cells, fewer entries
    owner = np.repeat(np.arange(len(use), dtype=np.int64), counts)
    k = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    code = (iy0[owner] + k // wx[owner]) * nx + ix0[owner] + k % wx[owner]
    order = owner[np.argsort(code, kind="stable")]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(code, minlength=nx * ny))]).astype(np.int64)
    return BoxGrid(
        (float(xmin), float(ymin)), cell, (ny, nx), ptr, use[order], _outward32(b)[order],
        polygon_edges(polys),
    )  # fmt: skip


def _outward32(bounds: F64) -> NDArray[np.float32]:
    """Boxes in single precision, rounded outwards (a box may only grow: half the memory)."""
    out = bounds.astype(np.float32)
    low = out[:, :2] > bounds[:, :2]
    out[:, :2][low] = np.nextafter(out[:, :2][low], np.float32(-np.inf))
    high = out[:, 2:] < bounds[:, 2:]
    out[:, 2:][high] = np.nextafter(out[:, 2:][high], np.float32(np.inf))
    return out


def _cell_of(v: F64, origin: float, cell: float, n: int) -> I64:
    """The grid column (or row) of each value, clipped to the grid (monotone in the value)."""
    return np.clip(np.floor((v - origin) / cell), 0, n - 1).astype(np.int64)


def _box_locate(index: PolygonIndex, boxes: BoxGrid, xs: F64, ys: F64, which: I64) -> Located:
    """Locate the points ``which`` (finite coordinates) with the box grid."""
    points: list[I64] = [np.empty(0, dtype=np.int64)]
    polys: list[I64] = [np.empty(0, dtype=np.int64)]
    ny, nx = boxes.shape
    for lo in range(0, len(which), _BOX_BATCH):
        w = which[lo : lo + _BOX_BATCH]
        x, y = xs[w], ys[w]
        code = _cell_of(y, boxes.origin[1], boxes.cell, ny) * nx
        code += _cell_of(x, boxes.origin[0], boxes.cell, nx)
        counts = np.diff(boxes.ptr)[code]
        entry = ranges(boxes.ptr[code], counts)  # runs of the grid: read in order
        item = np.repeat(np.arange(len(w), dtype=np.int64), counts)
        b = boxes.bounds[entry]
        px = x[item]
        k = np.flatnonzero((b[:, 0] <= px) & (px <= b[:, 2]))
        item, entry, b, px = item[k], entry[k], b[k], px[k]
        py = y[item]
        k = np.flatnonzero((b[:, 1] <= py) & (py <= b[:, 3]))
        item, t, px, py = item[k], boxes.polys[entry[k]], px[k], py[k]
        big = boxes.edges.count[t] > _RAY_MAX_EDGES
        small = np.flatnonzero(~big)
        inside, unsure = ray_cover(boxes.edges, t[small], px[small], py[small])
        geos = np.concatenate([small[unsure], np.flatnonzero(big)])
        hit = geos[shapely.intersects_xy(index.polygons[t[geos]], px[geos], py[geos])]
        found = np.concatenate([small[inside], hit])
        points.append(w[item[found]])
        polys.append(t[found])
    return Located(np.concatenate(points), np.concatenate(polys))


def locate_points(
    x: ArrayLike,
    y: ArrayLike,
    polygons: ArrayLike | PolygonIndex,
    *,
    points: NDArray[np.object_] | None = None,
) -> Located:
    """Find, for every point, the polygons that cover it.

    Parameters
    ----------
    x, y
        Point coordinates in the polygons' CRS; NaN marks a point without a
        location (it matches nothing).
    polygons
        The layout, or a :class:`PolygonIndex` built from it.
    points
        The shapely points of ``x`` and ``y``, when the caller has them: GEOS
        tests use them instead of making new ones (100,000 points: 0.03 s).

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
    if index.cells is None:
        return _exact(xs, ys, np.arange(n, dtype=np.int64), index, points)
    cells = index.cells
    spans = _spans(n, threads())

    def look(
        span: tuple[int, int],
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        lo, hi = span
        return lookup(cells, xs[lo:hi], ys[lo:hi])

    if len(spans) > 1 and threads() > 1:  # the grid lookup is numpy: it runs beside itself
        with ThreadPoolExecutor(min(threads(), len(spans))) as pool:
            looked = list(pool.map(look, spans))
    else:
        looked = [look(span) for span in spans]
    at: list[NDArray[np.int64]] = []
    polys: list[NDArray[np.int64]] = []
    for (lo, _), (p, t, exact) in zip(spans, looked, strict=True):
        # the exact tests use GEOS' prepared polygons, which are not shared across threads
        found = _exact(xs, ys, exact + lo, index, points)
        at += [p + lo if lo else p, found.point_index]
        polys += [t, found.polygon_index]
    if not at:
        empty = np.empty(0, dtype=np.int64)
        return Located(empty, empty)
    if len(at) == 2 and not len(at[1]):  # one span, nothing for GEOS: no copies
        return Located(at[0], polys[0].astype(np.int64, copy=False))
    return Located(np.concatenate(at), np.concatenate(polys))


def threads() -> int:
    """Threads the grid lookup uses: ``$PLANNER_THREADS``, else the cores (at most 4)."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return max(1, min(4, os.cpu_count() or 1))


def _spans(n: int, workers: int) -> list[tuple[int, int]]:
    """Slices of at most ``_BATCH`` points, one per worker when there are enough points."""
    parts = max(-(-n // _BATCH), min(workers, n // _MIN_SPAN))
    if parts <= 1:
        return [(0, n)] if n else []
    edges = np.linspace(0, n, parts + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _exact(
    xs: NDArray[np.float64],
    ys: NDArray[np.float64],
    which: NDArray[np.int64],
    index: PolygonIndex,
    points: NDArray[np.object_] | None = None,
) -> Located:
    """Locate the points ``which`` with the STRtree and the prepared polygons."""
    if not len(which):
        empty = np.empty(0, dtype=np.int64)
        return Located(empty, empty)
    ok = np.isfinite(xs[which]) & np.isfinite(ys[which])
    which = which[ok]
    if index.boxes is not None:
        return _box_locate(index, index.boxes, xs, ys, which)
    given = None if points is None else points[which]
    p, t = covering_pairs(index.tree, xs[which], ys[which], given)
    return Located(which[p], t)


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
