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

from planner.geo.locate_cross import covering_pairs
from planner.geo.locate_tree import CellTree, build_cell_tree, lookup

__all__ = ["Located", "PolygonIndex", "build_index", "locate_points", "on_boundary", "threads"]

logger = logging.getLogger(__name__)

#: Below this many points (and with no index given) the cell grid costs more than it saves.
_GRID_MIN_POINTS = 20_000
#: Points located at once (bounds the memory of a batch of ten million).
_BATCH = 1 << 21
#: Fewest points worth a thread of their own.
_MIN_SPAN = 1 << 17
#: Environment variable setting the lookup threads (1 turns threading off).
THREADS_ENV = "PLANNER_THREADS"


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
        the STRtree).
    """

    polygons: NDArray[np.object_]
    tree: shapely.STRtree
    cells: CellTree | None = None

    @property
    def exact_cell_share(self) -> float:
        """Share of leaf cells, among all cells, that need a per-point test (0 without cells)."""
        if self.cells is None:
            return 0.0
        nodes = sum(len(level) for level in self.cells.levels)
        return self.cells.leaves / max(nodes, 1)

    def __getstate__(self) -> dict[str, object]:
        return {"polygons": self.polygons, "cells": self.cells}

    def __setstate__(self, state: dict[str, object]) -> None:
        polys = np.asarray(state["polygons"], dtype=object)
        usable = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
        shapely.prepare(polys[usable])
        object.__setattr__(self, "polygons", polys)
        object.__setattr__(self, "tree", shapely.STRtree(polys))
        object.__setattr__(self, "cells", state["cells"])


def build_index(
    polygons: ArrayLike, *, expected_points: int = 1_000_000, grid: bool | None = None
) -> PolygonIndex:
    """Prepare a polygon layout for :func:`locate_points`.

    Parameters
    ----------
    polygons
        Valid shapely polygons or multipolygons, all in the CRS of the points.
    expected_points
        How many points will be located; below 20,000 the cell grid is not
        built (unless ``grid`` says so).
    grid
        Force the cell grid on or off.

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
    pad = 1e-6 * max(width, height)
    bounds = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    cells = build_cell_tree(polys, tree, bounds)
    logger.debug("cell grid %s, depth %d, %d leaves", cells.shape0, cells.depth, cells.leaves)
    return PolygonIndex(polys, tree, cells)


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
    if index.cells is None:
        return _exact(xs, ys, np.arange(n, dtype=np.int64), index)
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
    points: list[NDArray[np.int64]] = []
    polys: list[NDArray[np.int64]] = []
    for (lo, _), (p, t, exact) in zip(spans, looked, strict=True):
        # the exact tests use GEOS' prepared polygons, which are not shared across threads
        found = _exact(xs, ys, exact + lo, index)
        points += [p + lo, found.point_index]
        polys += [t, found.polygon_index]
    if not points:
        empty = np.empty(0, dtype=np.int64)
        return Located(empty, empty)
    return Located(np.concatenate(points), np.concatenate(polys))


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
    xs: NDArray[np.float64], ys: NDArray[np.float64], which: NDArray[np.int64], index: PolygonIndex
) -> Located:
    """Locate the points ``which`` with the STRtree and the prepared polygons."""
    if not len(which):
        empty = np.empty(0, dtype=np.int64)
        return Located(empty, empty)
    ok = np.isfinite(xs[which]) & np.isfinite(ys[which])
    which = which[ok]
    p, t = covering_pairs(index.tree, xs[which], ys[which])
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
