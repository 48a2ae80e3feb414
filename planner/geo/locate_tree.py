"""An adaptive grid of cells over a polygon layout, for exact point location.

The layout's bounding box is cut into a regular grid; a cell crossed by more than a few polygon
boundary segments is cut again into 4 x 4 children, and so on, so cells stay small where the
polygons are small (city ZIP codes) and large where they are large. Every cell knows the
polygons covering its centre and the boundary segments passing through it (none for most cells).
A point then takes its cell's polygons, flipped once for every boundary segment that the
straight line from the cell centre to the point crosses: a crossing-number test against a
handful of segments, done for millions of points at once with array arithmetic.

The result is exact: every orientation sign is computed with a certified error bound (Shewchuk's
filter), and a point whose answer depends on a sign too close to call (a point on a boundary, a
line through a vertex) is handed back for an exact GEOS test, as are points within a rounding
error of a cell edge. Polygons must be valid (:func:`planner.geo.shapes.repair_polygons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import ndimage

from planner.geo.locate_cross import (
    EDGE_EPS,
    Segments,
    cell_segment_pairs,
    clip_segments,
    covering_pairs,
    crossings,
    flip_sets,
    orientation_sign,
    ranges,
    ring_segments,
)

__all__ = ["CellTree", "build_cell_tree", "lookup"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

#: Children per side when a cell is cut (a power of two).
SPLIT = 4
_SPLIT_BITS = SPLIT.bit_length() - 1
#: Deepest level (level 0 is the regular grid).
MAX_LEVEL = 6
#: A cell crossed by more boundary segments than this is cut (above MAX_LEVEL it stays).
MAX_SEGMENTS = 3
#: Level-0 cells per polygon and per boundary segment, whichever gives more (bounded below and
#: above): a few big polygons with long boundaries (159 counties) get cells small enough that
#: almost every point falls in a cell inside one polygon and is answered by one array lookup.
#: At most 4M level-0 cells (32 MB): 37,000 ZIP-like cells use them all, and a point then
#: lands in a leaf needing the crossing test far less often.
CELLS_PER_POLYGON = 32.0
CELLS_PER_SEGMENT = 128.0
MIN_CELLS = 1 << 10
MAX_CELLS = 1 << 22
#: Points this close to a cell edge of the finest grid (relative) go to GEOS.
POINT_EDGE_EPS = 1e-6

_NONE = -1
_MANY = -2


@dataclass(frozen=True, eq=False)
class CellTree:
    """The adaptive grid (see the module docstring); build with :func:`build_cell_tree`.

    Node values: ``>= 0`` the one polygon covering the whole cell, ``-1`` no polygon, else
    ``k = -value - 2`` codes a leaf ``k // 2`` (even ``k``) or a block of children ``k // 2``
    on the next level (odd ``k``).
    """

    origin: tuple[float, float]
    cell0: float
    shape0: tuple[int, int]
    levels: tuple[NDArray[np.signedinteger[Any]], ...]
    leaf_qx: F64
    leaf_qy: F64
    leaf_seg_ptr: I64
    leaf_segs: I64
    leaf_q_side: NDArray[np.int8]
    leaf_set_ptr: I64
    leaf_set: I64
    leaf_one: I64
    segments: Segments

    @property
    def depth(self) -> int:
        """Deepest level built."""
        return len(self.levels) - 1

    @property
    def leaves(self) -> int:
        """Number of leaf cells that need a crossing test or hold an overlap."""
        return len(self.leaf_qx)


# --------------------------------------------------------------------------- building


@dataclass
class _Cells:
    """Cells of one level being classified: centres, starting polygons, segments."""

    code: I64  # iy * nx + ix on the level's full grid
    qx: F64
    qy: F64
    set_ptr: I64
    set_polys: I64
    seg_ptr: I64
    segs: I64


@dataclass
class _Leaves:
    """Leaves collected over all levels."""

    qx: list[F64]
    qy: list[F64]
    seg_counts: list[I64]
    segs: list[I64]
    set_counts: list[I64]
    sets: list[I64]
    sides: list[NDArray[np.int8]]
    segments: Segments
    n: int = 0

    def add(self, cells: _Cells, which: I64) -> I64:
        """Add ``cells[which]`` as leaves; return their node values."""
        self.qx.append(cells.qx[which])
        self.qy.append(cells.qy[which])
        for ptr, values, counts, out in (
            (cells.seg_ptr, cells.segs, self.seg_counts, self.segs),
            (cells.set_ptr, cells.set_polys, self.set_counts, self.sets),
        ):
            c = np.diff(ptr)[which]
            counts.append(c)
            out.append(values[ranges(ptr[which], c)])
        # the side of each leaf centre to each of its segments, once for all points
        seg, sg = self.segs[-1], self.segments
        owner = np.repeat(which, self.seg_counts[-1])
        self.sides.append(
            orientation_sign(
                sg.ax[seg], sg.ay[seg], sg.bx[seg], sg.by[seg], cells.qx[owner], cells.qy[owner]
            )
        )
        ids = self.n + np.arange(len(which), dtype=np.int64)
        self.n += len(which)
        return -(2 * ids) - 2


def _group(keys: I64, values: I64, wanted: I64) -> tuple[I64, I64]:
    """CSR of ``values`` grouped by ``keys`` (sorted) for each key of ``wanted`` (sorted)."""
    lo = np.searchsorted(keys, wanted, side="left")
    hi = np.searchsorted(keys, wanted, side="right")
    counts = hi - lo
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, values[ranges(lo, counts)]


def _geos_sets(tree: shapely.STRtree, x: F64, y: F64) -> tuple[I64, I64]:
    """CSR of the polygons covering each point, by GEOS."""
    if not len(x):
        return np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64)
    p, t = covering_pairs(tree, x, y)
    order = np.lexsort((t, p))
    p, t = p[order], t[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(p, minlength=len(x)))]).astype(np.int64)
    return ptr, t.astype(np.int64)


def _classify(cells: _Cells, leaves: _Leaves, split_allowed: bool) -> tuple[I64, I64]:
    """Node values for ``cells``; return them and the positions of cells to split."""
    n_segs = np.diff(cells.seg_ptr)
    n_set = np.diff(cells.set_ptr)
    value = np.full(len(cells.code), _NONE, dtype=np.int64)
    pure = (n_segs == 0) & (n_set == 1)
    value[pure] = cells.set_polys[cells.set_ptr[:-1][pure]]
    split = n_segs > MAX_SEGMENTS if split_allowed else np.zeros(len(n_segs), dtype=bool)
    leaf = ((n_segs > 0) | (n_set > 1)) & ~split
    value[leaf] = leaves.add(cells, np.flatnonzero(leaf))
    where = np.flatnonzero(split)
    value[where] = -(2 * np.arange(len(where), dtype=np.int64) + 1) - 2  # block b on the next level
    return value, where


def build_cell_tree(
    polys: NDArray[np.object_], tree: shapely.STRtree, bounds: tuple[float, float, float, float]
) -> CellTree:
    """Build the adaptive grid over ``polys`` (``None`` for unusable ones).

    ``bounds`` must enclose every polygon; ``tree`` is an STRtree over ``polys``.
    """
    segments = ring_segments(polys)
    xmin, ymin, xmax, ymax = bounds
    n_polys = int((~shapely.is_missing(polys)).sum())
    wanted = max(CELLS_PER_POLYGON * n_polys, CELLS_PER_SEGMENT * len(segments))
    n_cells = int(np.clip(wanted, MIN_CELLS, MAX_CELLS))
    cell0 = float(np.sqrt((xmax - xmin) * (ymax - ymin) / n_cells))
    shape0 = (
        max(1, int(np.ceil((ymax - ymin) / cell0))),
        max(1, int(np.ceil((xmax - xmin) / cell0))),
    )
    leaves = _Leaves([], [], [], [], [], [], [], segments)
    origin = (float(xmin), float(ymin))
    all_segs = np.arange(len(segments), dtype=np.int64)
    ends = (segments.ax, segments.ay, segments.bx, segments.by)
    code, seg = cell_segment_pairs(all_segs, ends, origin, cell0, shape0)
    level0, cells, split = _level0(code, seg, origin, cell0, shape0, tree, leaves)
    levels, level = [level0], 0
    while len(split) and level < MAX_LEVEL:
        level += 1
        values, cells, split = _next_level(
            cells, split, segments, tree, origin, cell0, shape0, level, leaves
        )
        levels.append(values)
    cat = np.concatenate
    leaf_set = cat(leaves.sets).astype(np.int64) if leaves.sets else np.empty(0, np.int64)
    set_ptr = _ptr(leaves.set_counts)
    return CellTree(
        origin=origin,
        cell0=cell0,
        shape0=shape0,
        levels=tuple(_compact(v) for v in levels),
        leaf_qx=cat(leaves.qx) if leaves.qx else np.empty(0),
        leaf_qy=cat(leaves.qy) if leaves.qy else np.empty(0),
        leaf_seg_ptr=_ptr(leaves.seg_counts),
        leaf_segs=cat(leaves.segs).astype(np.int64) if leaves.segs else np.empty(0, np.int64),
        leaf_q_side=cat(leaves.sides) if leaves.sides else np.empty(0, np.int8),
        leaf_set_ptr=set_ptr,
        leaf_set=leaf_set,
        leaf_one=_single(set_ptr, leaf_set),
        segments=segments,
    )


def _compact(values: I64) -> NDArray[np.signedinteger[Any]]:
    """Node values in 32 bits when they fit (half the memory and faster gathers)."""
    fits = not len(values) or (values.min() >= -(1 << 31) and values.max() < 1 << 31)
    return values.astype(np.int32) if fits else values


def _single(set_ptr: I64, polys: I64) -> I64:
    """Per leaf: its one covering polygon, -1 for none, ``_MANY`` for several."""
    counts = np.diff(set_ptr)
    out = np.full(len(counts), _MANY, dtype=np.int64)
    out[counts == 0] = _NONE
    one = counts == 1
    out[one] = polys[set_ptr[:-1][one]]
    return out


def _ptr(counts: list[I64]) -> I64:
    c = np.concatenate(counts) if counts else np.empty(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(c)]).astype(np.int64)


def _level0(
    code: I64,
    seg: I64,
    origin: tuple[float, float],
    cell: float,
    shape: tuple[int, int],
    tree: shapely.STRtree,
    leaves: _Leaves,
) -> tuple[I64, _Cells, I64]:
    """The regular grid: runs of cells no boundary crosses share one GEOS test."""
    ny, nx = shape
    marked = np.zeros(ny * nx, dtype=bool)
    marked[code] = True
    labels, n_labels = ndimage.label(~marked.reshape(ny, nx))
    flat = labels.ravel()
    rep = np.zeros(n_labels + 1, dtype=np.int64)
    rep[flat] = np.arange(flat.size, dtype=np.int64)  # any cell of a run will do
    wanted = np.concatenate([rep[1:], np.flatnonzero(marked)])
    qx = origin[0] + (wanted % nx + 0.5) * cell
    qy = origin[1] + (wanted // nx + 0.5) * cell
    set_ptr, set_polys = _geos_sets(tree, qx, qy)
    seg_ptr, segs = _group(code, seg, wanted)
    cells = _Cells(wanted, qx, qy, set_ptr, set_polys, seg_ptr, segs)
    value, split = _classify(cells, leaves, split_allowed=True)
    out = np.empty(ny * nx, dtype=np.int64)
    out[marked] = value[n_labels:]
    out[~marked] = value[:n_labels][flat[~marked] - 1]
    # only marked cells are ever split: they come after the runs
    return out, cells, split


def _next_level(
    parents: _Cells,
    split: I64,
    segments: Segments,
    tree: shapely.STRtree,
    origin: tuple[float, float],
    cell0: float,
    shape0: tuple[int, int],
    level: int,
    leaves: _Leaves,
) -> tuple[I64, _Cells, I64]:
    """Cut the ``split`` cells of the level above into SPLIT x SPLIT children each."""
    cell = cell0 / SPLIT**level
    ny, nx = shape0[0] * SPLIT**level, shape0[1] * SPLIT**level
    pnx = shape0[1] * SPLIT ** (level - 1)
    pcode = parents.code[split]
    px, py = pcode % pnx, pcode // pnx
    sub = np.arange(SPLIT * SPLIT, dtype=np.int64)
    cx = (px[:, None] * SPLIT + sub[None, :] % SPLIT).ravel()
    cy = (py[:, None] * SPLIT + sub[None, :] // SPLIT).ravel()
    code = cy * nx + cx
    qx = origin[0] + (cx + 0.5) * cell
    qy = origin[1] + (cy + 0.5) * cell
    set_ptr, set_polys = _child_sets(parents, split, qx, qy, segments, tree)
    seg_ptr, segs = _child_segments(parents, split, code, segments, origin, cell, (ny, nx))
    cells = _Cells(code, qx, qy, set_ptr, set_polys, seg_ptr, segs)
    value, next_split = _classify(cells, leaves, split_allowed=level < MAX_LEVEL)
    return value, cells, next_split


def _child_sets(
    parents: _Cells, split: I64, qx: F64, qy: F64, segments: Segments, tree: shapely.STRtree
) -> tuple[I64, I64]:
    """Polygons covering each child's centre: the parent's, flipped by crossings."""
    per = SPLIT * SPLIT
    parent = np.repeat(split, per)
    counts = np.diff(parents.seg_ptr)[parent]
    seg_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    seg_ids = parents.segs[ranges(parents.seg_ptr[parent], counts)]
    f_item, f_poly, unsure = crossings(
        parents.qx[parent], parents.qy[parent], qx, qy, seg_ptr, seg_ids, segments
    )
    set_counts = np.diff(parents.set_ptr)[parent]
    base_ptr = np.concatenate([[0], np.cumsum(set_counts)]).astype(np.int64)
    base = parents.set_polys[ranges(parents.set_ptr[parent], set_counts)]
    n_polys = segments.n_polys + 1
    base_item = np.repeat(np.arange(len(qx), dtype=np.int64), np.diff(base_ptr))
    item, poly = flip_sets(len(qx), (base_item, base), f_item, f_poly, n_polys)
    if unsure.any():
        keep = ~unsure[item]
        item, poly = item[keep], poly[keep]
        fix = np.flatnonzero(unsure)
        gptr, gpolys = _geos_sets(tree, qx[fix], qy[fix])
        item = np.concatenate([item, np.repeat(fix, np.diff(gptr))])
        poly = np.concatenate([poly, gpolys])
        order = np.argsort(item, kind="stable")
        item, poly = item[order], poly[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(item, minlength=len(qx)))]).astype(np.int64)
    return ptr, poly


def _child_segments(
    parents: _Cells,
    split: I64,
    code: I64,
    segments: Segments,
    origin: tuple[float, float],
    cell: float,
    grid: tuple[int, int],
) -> tuple[I64, I64]:
    """CSR of the segments through each child, from the parent's segments clipped to it."""
    counts = np.diff(parents.seg_ptr)[split]
    owner = np.repeat(np.arange(len(split), dtype=np.int64), counts)
    seg = parents.segs[ranges(parents.seg_ptr[split], counts)]
    pcell = cell * SPLIT
    pnx = grid[1] // SPLIT
    pcode = parents.code[split][owner]
    margin = 2 * EDGE_EPS * pcell
    bx0 = origin[0] + (pcode % pnx).astype(np.float64) * pcell - margin
    by0 = origin[1] + (pcode // pnx).astype(np.float64) * pcell - margin
    bx1, by1 = bx0 + (pcell + 2 * margin), by0 + (pcell + 2 * margin)
    ok, (x0, y0, x1, y1) = clip_segments(segments, seg, (bx0, by0, bx1, by1))
    owner, seg = owner[ok], seg[ok]
    ends = (x0[ok], y0[ok], x1[ok], y1[ok])
    # tag each clipped part with its pair number so children stay within their parent
    pair = np.arange(len(seg), dtype=np.int64)
    ccode, cpair = cell_segment_pairs(pair, ends, origin, cell, grid)
    nx = grid[1]
    parent_of_child = (ccode // nx // SPLIT) * pnx + (ccode % nx) // SPLIT
    mine = parent_of_child == parents.code[split][owner[cpair]]
    ccode, cseg = ccode[mine], seg[cpair[mine]]
    order = np.lexsort((cseg, ccode))
    ccode, cseg = ccode[order], cseg[order]
    first = np.ones(len(ccode), dtype=bool)
    first[1:] = (ccode[1:] != ccode[:-1]) | (cseg[1:] != cseg[:-1])
    ccode, cseg = ccode[first], cseg[first]
    order = np.argsort(code, kind="stable")
    ptr_sorted, vals = _group(ccode, cseg, code[order])
    # back to the children's own order
    counts_sorted = np.diff(ptr_sorted)
    counts = np.empty_like(counts_sorted)
    counts[order] = counts_sorted
    starts_sorted = ptr_sorted[:-1]
    starts = np.empty_like(starts_sorted)
    starts[order] = starts_sorted
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, vals[ranges(starts, counts)]


# --------------------------------------------------------------------------- lookup


def lookup(tree: CellTree, x: F64, y: F64) -> tuple[I64, I64, I64]:
    """Locate points: ``(point, polygon)`` pairs and the points needing an exact test."""
    depth, (ny0, nx0) = tree.depth, tree.shape0
    scale = SPLIT**depth
    per_cell = scale / tree.cell0
    fx = x - tree.origin[0]
    fx *= per_cell
    fy = y - tree.origin[1]
    fy *= per_cell
    # every point in the grid (NaN fails): positions among the kept points are the points'
    whole = len(fx) > 0 and bool(fx.min() >= 0 and fx.max() < nx0 * scale)
    whole = whole and bool(fy.min() >= 0 and fy.max() < ny0 * scale)
    idx = np.empty(0, dtype=np.int64)
    if not whole:
        inside = fx >= 0  # in place from here: a million points make every pass count
        inside &= fx < nx0 * scale
        inside &= fy >= 0
        inside &= fy < ny0 * scale  # False for NaN
        idx = np.flatnonzero(inside)
        fx, fy = fx[idx], fy[idx]
    # fx, fy >= 0: truncation is floor; 32-bit cell numbers halve the memory passes
    wide = max(nx0, ny0) * scale >= 2**31 or nx0 * ny0 >= 2**31
    ix: NDArray[np.signedinteger[Any]] = fx.astype(np.int64 if wide else np.int32)
    iy: NDArray[np.signedinteger[Any]] = fy.astype(np.int64 if wide else np.int32)
    fx -= ix
    fy -= iy
    edgy = fx < POINT_EDGE_EPS
    edgy |= fx > 1 - POINT_EDGE_EPS
    edgy |= fy < POINT_EDGE_EPS
    edgy |= fy > 1 - POINT_EDGE_EPS
    bits = _SPLIT_BITS * depth  # SPLIT is a power of two: shifts, not divisions
    cell = iy >> bits
    cell *= nx0
    cell += ix >> bits
    value = tree.levels[0][cell]
    down = np.flatnonzero(value <= -2)
    for level in range(1, depth + 1):
        v = value[down]
        down = down[(v <= -2) & ((-v - 2) & 1 == 1)]
        if not len(down):
            break
        block = (-value[down] - 2) >> 1
        shift = _SPLIT_BITS * (depth - level)
        sub = (((iy[down] >> shift) & (SPLIT - 1)) << _SPLIT_BITS) | (
            (ix[down] >> shift) & (SPLIT - 1)
        )
        value[down] = tree.levels[level][block * (SPLIT * SPLIT) + sub]
    exact = edgy
    calm = ~exact
    own = value >= 0
    own &= calm
    calm &= value <= -2
    leaf = np.flatnonzero(calm)
    lid = (-value[leaf] - 2) // 2
    at = leaf if whole else idx[leaf]
    lp, lpoly, unsure = _leaf_points(tree, lid, x[at], y[at])
    exact[leaf[unsure]] = True
    mine = np.flatnonzero(own)
    point = np.concatenate([mine if whole else idx[mine], at[lp]])
    poly = np.concatenate([value[mine], lpoly])
    return point, poly, np.flatnonzero(exact) if whole else idx[exact]


def _leaf_sets(tree: CellTree, lid: I64) -> tuple[I64, I64]:
    """``(item, polygon)`` of the polygons covering each leaf's centre (most have one)."""
    one = tree.leaf_one[lid]
    multi = np.flatnonzero(one == _MANY)
    single = np.flatnonzero(one >= 0)
    if not len(multi):
        return single, one[single]
    starts = tree.leaf_set_ptr[lid[multi]]
    counts = tree.leaf_set_ptr[lid[multi] + 1] - starts
    polys = tree.leaf_set[ranges(starts, counts)]
    return (
        np.concatenate([single, np.repeat(multi, counts)]),
        np.concatenate([one[single], polys]),
    )


def _leaf_points(tree: CellTree, lid: I64, x: F64, y: F64) -> tuple[I64, I64, NDArray[np.bool_]]:
    """Polygons of points in leaves: the leaf centre's, flipped by crossings."""
    starts = tree.leaf_seg_ptr[lid]
    counts = tree.leaf_seg_ptr[lid + 1] - starts  # not a diff over every leaf
    seg_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    entries = ranges(starts, counts)
    centres = (tree.leaf_qx[lid], tree.leaf_qy[lid])
    f_item, f_poly, unsure = crossings(
        *centres, x, y, seg_ptr, tree.leaf_segs[entries], tree.segments, tree.leaf_q_side[entries]
    )
    n_polys = tree.segments.n_polys + 1
    item, poly = flip_sets(len(lid), _leaf_sets(tree, lid), f_item, f_poly, n_polys, sort=False)
    keep = ~unsure[item]
    return item[keep], poly[keep], unsure
