"""An adaptive grid of cells over a polygon layout, for exact point location.

The layout's bounding box is cut into a regular grid; a cell crossed by more
than a few polygon boundary segments is cut again into 4 x 4 children, and so
on, so cells stay small where the polygons are small (city ZIP codes) and
large where they are large. Every cell knows the polygons covering its centre
and the boundary segments passing through it (none for most cells). A point
then takes its cell's polygons, flipped once for every boundary segment that
the straight line from the cell centre to the point crosses: a
crossing-number test against a handful of segments, done for millions of
points at once with array arithmetic.

The result is exact: every orientation sign is computed with a certified
error bound (Shewchuk's filter), and a point whose answer depends on a sign
too close to call (a point on a boundary, a line through a vertex) is handed
back for an exact GEOS test, as are points within a rounding error of a cell
edge. Polygons must be valid (:func:`planner.geo.shapes.repair_polygons`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["CellTree", "Segments", "build_cell_tree", "lookup"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

#: Children per side when a cell is cut.
SPLIT = 4
#: Deepest level (level 0 is the regular grid).
MAX_LEVEL = 6
#: A cell crossed by more boundary segments than this is cut (above MAX_LEVEL it stays).
MAX_SEGMENTS = 3
#: Level-0 cells per polygon (bounded below and above).
CELLS_PER_POLYGON = 8.0
MIN_CELLS = 1 << 10
MAX_CELLS = 1 << 20
#: Relative distance to a cell edge below which a boundary sample also counts
#: for the neighbouring cells (rounding guard).
EDGE_EPS = 1e-7
#: Points this close to a cell edge of the finest grid (relative) go to GEOS.
POINT_EDGE_EPS = 1e-6
#: Safe error bound of a floating-point orientation (Shewchuk's is 3.3e-16).
ORIENT_EPS = 1e-12
#: Pairs tested at once (bounds memory).
CHUNK_PAIRS = 1 << 21

_NONE = -1


@dataclass(frozen=True, eq=False)
class Segments:
    """The distinct boundary segments of a layout, with the polygons whose rings hold them.

    A border shared by two polygons is one segment listed for both
    (``poly[poly_ptr[i]:poly_ptr[i + 1]]``): crossing it flips both.
    """

    ax: F64
    ay: F64
    bx: F64
    by: F64
    poly_ptr: I64
    poly: I64
    n_polys: int

    def __len__(self) -> int:
        return len(self.ax)

    def polygons_of(self, seg: I64) -> tuple[I64, I64]:
        """``(position in seg, polygon)`` for every polygon of each segment of ``seg``."""
        counts = np.diff(self.poly_ptr)[seg]
        pos = np.repeat(np.arange(len(seg), dtype=np.int64), counts)
        return pos, self.poly[_ranges(self.poly_ptr[seg], counts)]


@dataclass(frozen=True, eq=False)
class CellTree:
    """The adaptive grid (see the module docstring); build with :func:`build_cell_tree`.

    Node values: ``>= 0`` the one polygon covering the whole cell, ``-1`` no
    polygon, otherwise ``k = -value - 2`` codes a leaf ``k // 2`` (even
    ``k``) or a block of children ``k // 2`` on the next level (odd ``k``).
    """

    origin: tuple[float, float]
    cell0: float
    shape0: tuple[int, int]
    levels: tuple[I64, ...]
    leaf_qx: F64
    leaf_qy: F64
    leaf_seg_ptr: I64
    leaf_segs: I64
    leaf_q_side: NDArray[np.int8]
    leaf_set_ptr: I64
    leaf_set: I64
    segments: Segments

    @property
    def depth(self) -> int:
        """Deepest level built."""
        return len(self.levels) - 1

    @property
    def leaves(self) -> int:
        """Number of leaf cells that need a crossing test or hold an overlap."""
        return len(self.leaf_qx)


def ring_segments(polys: NDArray[np.object_]) -> Segments:
    """Every distinct ring segment of the polygons (``None`` entries have none)."""
    parts, part_owner = shapely.get_parts(polys, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    k = np.flatnonzero(coord_ring[1:] == coord_ring[:-1])
    a, b = coords[k], coords[k + 1]
    keep = (a != b).any(axis=1)
    k, a, b = k[keep], a[keep], b[keep]
    poly = part_owner[ring_part[coord_ring[k]]].astype(np.int64)
    # one segment whichever way a ring runs along it
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[swap], b[swap] = b[swap], a[swap].copy()
    order = np.lexsort((poly, b[:, 1], b[:, 0], a[:, 1], a[:, 0]))
    a, b, poly = a[order], b[order], poly[order]
    new = np.ones(len(a), dtype=bool)
    new[1:] = (a[1:] != a[:-1]).any(axis=1) | (b[1:] != b[:-1]).any(axis=1)
    # a polygon listing a segment twice (a ring touching itself) crosses it twice: keep parity
    first = np.flatnonzero(new)
    seg_of = np.cumsum(new) - 1
    key = seg_of * (len(polys) + 1) + poly
    uniq, times = np.unique(key, return_counts=True)
    odd = uniq[times % 2 == 1]
    owner_seg, owner_poly = odd // (len(polys) + 1), odd % (len(polys) + 1)
    counts = np.bincount(owner_seg, minlength=len(first))
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Segments(
        a[first, 0].copy(), a[first, 1].copy(), b[first, 0].copy(), b[first, 1].copy(),
        ptr, owner_poly.astype(np.int64), len(polys),
    )  # fmt: skip


# --------------------------------------------------------------------------- orientation


def _sign(ax: F64, ay: F64, bx: F64, by: F64, px: F64, py: F64) -> NDArray[np.int8]:
    """Certified sign of orient(a, b, p): -1, +1, or 0 when too close to call."""
    left = (bx - ax) * (py - ay)
    right = (by - ay) * (px - ax)
    det = left - right
    bound = ORIENT_EPS * (np.abs(left) + np.abs(right))
    out = np.zeros(len(det), dtype=np.int8)
    out[det > bound] = 1
    out[det < -bound] = -1
    return out


def crossings(
    qx: F64,
    qy: F64,
    px: F64,
    py: F64,
    seg_ptr: I64,
    seg_ids: I64,
    segments: Segments,
    q_side: NDArray[np.int8] | None = None,
) -> tuple[I64, I64, NDArray[np.bool_]]:
    """Boundary crossings of the lines from ``q`` to ``p``, item by item.

    Item ``i`` is tested against the segments ``seg_ids[seg_ptr[i]:seg_ptr[i+1]]``;
    ``q_side`` may give, per entry of ``seg_ids``, the certified side of ``q``.

    Returns
    -------
    tuple
        ``(item, polygon)`` for every polygon of every properly crossed
        segment, and per item whether a sign was too close to call (the item
        needs an exact test).
    """
    counts = np.diff(seg_ptr)
    uncertain = np.zeros(len(qx), dtype=bool)
    out_item: list[I64] = [np.empty(0, dtype=np.int64)]
    out_poly: list[I64] = [np.empty(0, dtype=np.int64)]
    bounds = _chunks(counts, CHUNK_PAIRS)
    for lo, hi in itertools.pairwise(bounds.tolist()):
        item = np.repeat(np.arange(lo, hi, dtype=np.int64), counts[lo:hi])
        entries = slice(int(seg_ptr[lo]), int(seg_ptr[hi]))
        seg = seg_ids[entries]
        if q_side is None:
            qs = _sign(
                segments.ax[seg], segments.ay[seg], segments.bx[seg], segments.by[seg],
                qx[item], qy[item],
            )  # fmt: skip
        else:
            qs = q_side[entries]
        # most pairs have p strictly on q's side of the segment's line: no crossing
        k = _not_same_side(segments, seg, px[item], py[item], qs)
        item, seg, qs = item[k], seg[k], qs[k]
        ax, ay = segments.ax[seg], segments.ay[seg]
        bx, by = segments.bx[seg], segments.by[seg]
        pxi, pyi, qxi, qyi = px[item], py[item], qx[item], qy[item]
        m12 = _sign(ax, ay, bx, by, pxi, pyi) * qs
        m34 = _sign(pxi, pyi, qxi, qyi, ax, ay) * _sign(pxi, pyi, qxi, qyi, bx, by)
        apart = (m12 == 1) | (m34 == 1)
        proper = (m12 == -1) & (m34 == -1)
        uncertain[item[~apart & ~proper]] = True
        pos, poly = segments.polygons_of(seg[proper])
        out_item.append(item[proper][pos])
        out_poly.append(poly)
    return np.concatenate(out_item), np.concatenate(out_poly), uncertain


def _not_same_side(segments: Segments, seg: I64, px: F64, py: F64, q_side: NDArray[np.int8]) -> I64:
    """Positions where ``p`` is not certainly on the ``q_side`` of the segment's line."""
    ax, ay = segments.ax[seg], segments.ay[seg]
    left = (segments.bx[seg] - ax) * (py - ay)
    right = (segments.by[seg] - ay) * (px - ax)
    bound = np.abs(left)
    bound += np.abs(right)
    bound *= ORIENT_EPS
    left -= right
    left *= q_side
    return np.flatnonzero(~(left > bound))


def _chunks(counts: I64, limit: int) -> I64:
    """Item boundaries so that each chunk holds about ``limit`` pairs."""
    total = np.concatenate([[0], np.cumsum(counts)])
    if not len(counts) or total[-1] <= limit:
        return np.array([0, len(counts)], dtype=np.int64)
    cuts = np.searchsorted(total, np.arange(limit, total[-1], limit), side="right") - 1
    return np.unique(np.concatenate([[0], cuts, [len(counts)]])).astype(np.int64)


def flip_sets(
    n_items: int,
    set_ptr: I64,
    set_polys: I64,
    flip_item: I64,
    flip_poly: I64,
    n_polys: int,
    *,
    sort: bool = True,
) -> tuple[I64, I64]:
    """Each item's polygons: its starting set with every crossed polygon toggled.

    Returns ``(item, polygon)`` pairs, sorted by item if ``sort``.
    """
    counts = np.diff(set_ptr)
    base_item = np.repeat(np.arange(n_items, dtype=np.int64), counts)
    if not len(flip_item):
        return base_item, set_polys.astype(np.int64)
    flipped = np.zeros(n_items, dtype=bool)
    flipped[flip_item] = True
    calm = ~flipped[base_item]
    keys = np.concatenate(
        [base_item[~calm] * n_polys + set_polys[~calm], flip_item * n_polys + flip_poly]
    )
    uniq, times = np.unique(keys, return_counts=True)
    odd = uniq[times % 2 == 1]
    item = np.concatenate([base_item[calm], odd // n_polys])
    poly = np.concatenate([set_polys[calm].astype(np.int64), odd % n_polys])
    if not sort:
        return item, poly
    order = np.argsort(item, kind="stable")
    return item[order], poly[order]


# --------------------------------------------------------------------------- marking


def _sample(
    seg_ids: I64, x0: F64, y0: F64, x1: F64, y1: F64, step: float
) -> tuple[F64, F64, I64, NDArray[np.bool_]]:
    """Points along each (part of a) segment, no two consecutive ones ``step`` apart.

    Returns the sample coordinates, their segment and whether the next sample
    continues the same segment.
    """
    length = np.hypot(x1 - x0, y1 - y0)
    pieces = np.maximum(1, np.ceil(length / step)).astype(np.int64) + 1  # samples, ends included
    owner = np.repeat(np.arange(len(seg_ids)), pieces)
    start = np.cumsum(pieces) - pieces
    k = np.arange(len(owner)) - start[owner]
    frac = k / (pieces[owner] - 1)
    sx = x0[owner] + frac * (x1 - x0)[owner]
    sy = y0[owner] + frac * (y1 - y0)[owner]
    cont = np.ones(len(owner), dtype=bool)
    cont[(start + pieces - 1)] = False
    return sx, sy, seg_ids[owner], cont


def cell_segment_pairs(
    seg_ids: I64,
    ends: tuple[F64, F64, F64, F64],
    origin: tuple[float, float],
    cell: float,
    grid: tuple[int, int],
) -> tuple[I64, I64]:
    """Unique ``(cell code, segment)`` pairs: every cell each segment passes through.

    Cells are coded ``iy * nx + ix`` on a grid of ``grid = (ny, nx)`` cells of
    side ``cell``; a few neighbours too many may be listed, never too few.
    """
    ny, nx = grid
    sx, sy, seg, cont = _sample(seg_ids, *ends, 0.49 * cell)
    fx = (sx - origin[0]) / cell
    fy = (sy - origin[1]) / cell
    ix = np.clip(np.floor(fx).astype(np.int64), 0, nx - 1)
    iy = np.clip(np.floor(fy).astype(np.int64), 0, ny - 1)
    cx, cy, cs = [ix], [iy], [seg]
    # a step moving diagonally passes through one of the two other cells
    a = np.flatnonzero(cont[:-1] & (ix[1:] != ix[:-1]) & (iy[1:] != iy[:-1]))
    cx += [ix[a + 1], ix[a]]
    cy += [iy[a], iy[a + 1]]
    cs += [seg[a], seg[a]]
    # steps longer than one cell come only from rounding: mark their boxes
    far = np.flatnonzero(
        cont[:-1] & ((np.abs(ix[1:] - ix[:-1]) > 1) | (np.abs(iy[1:] - iy[:-1]) > 1))
    )
    for k in far:
        gx, gy = np.meshgrid(
            np.arange(min(ix[k], ix[k + 1]), max(ix[k], ix[k + 1]) + 1),
            np.arange(min(iy[k], iy[k + 1]), max(iy[k], iy[k + 1]) + 1),
        )
        cx.append(gx.ravel())
        cy.append(gy.ravel())
        cs.append(np.full(gx.size, seg[k]))
    # samples on or next to a cell edge also count for the neighbouring cells
    rx, ry = fx - np.floor(fx), fy - np.floor(fy)
    edge = np.flatnonzero(
        (rx < EDGE_EPS) | (rx > 1 - EDGE_EPS) | (ry < EDGE_EPS) | (ry > 1 - EDGE_EPS)
    )
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                cx.append(np.clip(ix[edge] + dx, 0, nx - 1))
                cy.append(np.clip(iy[edge] + dy, 0, ny - 1))
                cs.append(seg[edge])
    code = np.concatenate(cy) * nx + np.concatenate(cx)
    segs = np.concatenate(cs)
    order = np.lexsort((segs, code))
    code, segs = code[order], segs[order]
    first = np.ones(len(code), dtype=bool)
    first[1:] = (code[1:] != code[:-1]) | (segs[1:] != segs[:-1])
    return code[first], segs[first]


def _clip(
    segments: Segments, seg: I64, box: tuple[F64, F64, F64, F64]
) -> tuple[NDArray[np.bool_], tuple[F64, F64, F64, F64]]:
    """Clip segments to boxes (Liang-Barsky); return which meet their box and the parts."""
    x0, y0 = segments.ax[seg], segments.ay[seg]
    dx, dy = segments.bx[seg] - x0, segments.by[seg] - y0
    lo = np.zeros(len(seg))
    hi = np.ones(len(seg))
    xmin, ymin, xmax, ymax = box
    for p, q in ((-dx, x0 - xmin), (dx, xmax - x0), (-dy, y0 - ymin), (dy, ymax - y0)):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = q / p
        parallel = p == 0
        lo = np.where(~parallel & (p < 0), np.maximum(lo, t), lo)
        hi = np.where(~parallel & (p > 0), np.minimum(hi, t), hi)
        hi = np.where(parallel & (q < 0), -1.0, hi)
    ok = lo <= hi
    return ok, (x0 + lo * dx, y0 + lo * dy, x0 + hi * dx, y0 + hi * dy)


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
            out.append(values[_ranges(ptr[which], c)])
        # the side of each leaf centre to each of its segments, once for all points
        seg, sg = self.segs[-1], self.segments
        owner = np.repeat(which, self.seg_counts[-1])
        self.sides.append(
            _sign(sg.ax[seg], sg.ay[seg], sg.bx[seg], sg.by[seg], cells.qx[owner], cells.qy[owner])
        )
        ids = self.n + np.arange(len(which), dtype=np.int64)
        self.n += len(which)
        return -(2 * ids) - 2


def _ranges(starts: I64, counts: I64) -> I64:
    """Concatenated ``range(start, start + count)`` for each pair."""
    total = int(counts.sum())
    if not total:
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return np.arange(total, dtype=np.int64) + offsets


def _group(keys: I64, values: I64, wanted: I64) -> tuple[I64, I64]:
    """CSR of ``values`` grouped by ``keys`` (sorted) for each key of ``wanted`` (sorted)."""
    lo = np.searchsorted(keys, wanted, side="left")
    hi = np.searchsorted(keys, wanted, side="right")
    counts = hi - lo
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, values[_ranges(lo, counts)]


def _geos_sets(tree: shapely.STRtree, x: F64, y: F64) -> tuple[I64, I64]:
    """CSR of the polygons covering each point, by GEOS."""
    if not len(x):
        return np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64)
    p, t = tree.query(shapely.points(x, y), predicate="intersects")
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
    n_cells = int(np.clip(CELLS_PER_POLYGON * n_polys, MIN_CELLS, MAX_CELLS))
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
    levels = [level0]
    level = 0
    while len(split) and level < MAX_LEVEL:
        level += 1
        values, cells, split = _next_level(
            cells, split, segments, tree, origin, cell0, shape0, level, leaves
        )
        levels.append(values)
    cat = np.concatenate
    return CellTree(
        origin=origin,
        cell0=cell0,
        shape0=shape0,
        levels=tuple(levels),
        leaf_qx=cat(leaves.qx) if leaves.qx else np.empty(0),
        leaf_qy=cat(leaves.qy) if leaves.qy else np.empty(0),
        leaf_seg_ptr=_ptr(leaves.seg_counts),
        leaf_segs=cat(leaves.segs).astype(np.int64) if leaves.segs else np.empty(0, np.int64),
        leaf_q_side=cat(leaves.sides) if leaves.sides else np.empty(0, np.int8),
        leaf_set_ptr=_ptr(leaves.set_counts),
        leaf_set=cat(leaves.sets).astype(np.int64) if leaves.sets else np.empty(0, np.int64),
        segments=segments,
    )


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
    seg_ids = parents.segs[_ranges(parents.seg_ptr[parent], counts)]
    f_item, f_poly, unsure = crossings(
        parents.qx[parent], parents.qy[parent], qx, qy, seg_ptr, seg_ids, segments
    )
    set_counts = np.diff(parents.set_ptr)[parent]
    base_ptr = np.concatenate([[0], np.cumsum(set_counts)]).astype(np.int64)
    base = parents.set_polys[_ranges(parents.set_ptr[parent], set_counts)]
    n_polys = segments.n_polys + 1
    item, poly = flip_sets(len(qx), base_ptr, base, f_item, f_poly, n_polys)
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
    seg = parents.segs[_ranges(parents.seg_ptr[split], counts)]
    pcell = cell * SPLIT
    pnx = grid[1] // SPLIT
    pcode = parents.code[split][owner]
    margin = 2 * EDGE_EPS * pcell
    bx0 = origin[0] + (pcode % pnx).astype(np.float64) * pcell - margin
    by0 = origin[1] + (pcode // pnx).astype(np.float64) * pcell - margin
    bx1, by1 = bx0 + (pcell + 2 * margin), by0 + (pcell + 2 * margin)
    ok, (x0, y0, x1, y1) = _clip(segments, seg, (bx0, by0, bx1, by1))
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
    return ptr, vals[_ranges(starts, counts)]


# --------------------------------------------------------------------------- lookup


def lookup(tree: CellTree, x: F64, y: F64) -> tuple[I64, I64, I64]:
    """Locate points: ``(point, polygon)`` pairs and the points needing an exact test."""
    depth = tree.depth
    ny0, nx0 = tree.shape0
    scale = SPLIT**depth
    fx = (x - tree.origin[0]) / tree.cell0 * scale
    fy = (y - tree.origin[1]) / tree.cell0 * scale
    inside = (fx >= 0) & (fx < nx0 * scale) & (fy >= 0) & (fy < ny0 * scale)  # False for NaN
    idx = np.flatnonzero(inside)
    fx, fy = fx[idx], fy[idx]
    ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    rx, ry = fx - ix, fy - iy
    edgy = (rx < POINT_EDGE_EPS) | (rx > 1 - POINT_EDGE_EPS)
    edgy |= (ry < POINT_EDGE_EPS) | (ry > 1 - POINT_EDGE_EPS)
    value = tree.levels[0][(iy // scale) * nx0 + ix // scale]
    down = np.flatnonzero(value <= -2)
    for level in range(1, depth + 1):
        v = value[down]
        down = down[(v <= -2) & ((-v - 2) % 2 == 1)]
        if not len(down):
            break
        block = (-value[down] - 2) // 2
        shift = SPLIT ** (depth - level)
        sub = ((iy[down] // shift) % SPLIT) * SPLIT + (ix[down] // shift) % SPLIT
        value[down] = tree.levels[level][block * SPLIT * SPLIT + sub]
    exact = edgy.copy()
    own = (value >= 0) & ~exact
    leaf = np.flatnonzero((value <= -2) & ~exact)
    lid = (-value[leaf] - 2) // 2
    lp, lpoly, unsure = _leaf_points(tree, lid, x[idx[leaf]], y[idx[leaf]])
    exact[leaf[unsure]] = True
    point = np.concatenate([idx[own], idx[leaf][lp]])
    poly = np.concatenate([value[own], lpoly])
    return point, poly, idx[exact]


def _leaf_points(tree: CellTree, lid: I64, x: F64, y: F64) -> tuple[I64, I64, NDArray[np.bool_]]:
    """Polygons of points in leaves: the leaf centre's, flipped by crossings."""
    counts = np.diff(tree.leaf_seg_ptr)[lid]
    seg_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    entries = _ranges(tree.leaf_seg_ptr[lid], counts)
    f_item, f_poly, unsure = crossings(
        tree.leaf_qx[lid],
        tree.leaf_qy[lid],
        x,
        y,
        seg_ptr,
        tree.leaf_segs[entries],
        tree.segments,
        tree.leaf_q_side[entries],
    )
    set_counts = np.diff(tree.leaf_set_ptr)[lid]
    base_ptr = np.concatenate([[0], np.cumsum(set_counts)]).astype(np.int64)
    base = tree.leaf_set[_ranges(tree.leaf_set_ptr[lid], set_counts)]
    n_polys = tree.segments.n_polys + 1
    item, poly = flip_sets(len(lid), base_ptr, base, f_item, f_poly, n_polys, sort=False)
    keep = ~unsure[item]
    return item[keep], poly[keep], unsure
