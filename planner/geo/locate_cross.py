"""Boundary segments and the crossing-number arithmetic of the point index.

The pieces :mod:`planner.geo.locate_tree` builds on: the distinct boundary
segments of a layout, the cells each segment passes through, and the test of
many point-to-centre lines against their cells' segments at once, with
certified orientation signs (Shewchuk's error bound): a sign too close to
call is reported, never guessed. Also the plain crossing-number test of
(point, polygon) pairs against each polygon's own ring segments
(:func:`polygon_edges`, :func:`ray_cover`), which the box index of
:mod:`planner.geo.locate` uses when too few points come to pay for the cells.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = [
    "PolygonEdges",
    "Segments",
    "cell_segment_pairs",
    "clip_segments",
    "covering_pairs",
    "crossings",
    "flip_sets",
    "orientation_sign",
    "polygon_edges",
    "ranges",
    "ray_cover",
    "ring_segments",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

#: Relative distance to a cell edge below which a boundary sample also counts
#: for the neighbouring cells (rounding guard).
EDGE_EPS = 1e-7
#: Safe error bound of a floating-point orientation (Shewchuk's is 3.3e-16).
ORIENT_EPS = 1e-12
#: Pairs tested at once (bounds memory).
CHUNK_PAIRS = 1 << 21
#: Below one point per this many polygons, exact tests query the polygon tree.
POINTS_PER_POLYGON_TREE = 20


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
        return pos, self.poly[ranges(self.poly_ptr[seg], counts)]


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


@dataclass(frozen=True, eq=False)
class PolygonEdges:
    """Every ring segment of each polygon: polygon ``i`` has ``start[i]:start[i] + count[i]``."""

    ax: F64
    ay: F64
    bx: F64
    by: F64
    start: I64
    count: I64


def polygon_edges(polys: NDArray[np.object_]) -> PolygonEdges:
    """The ring segments of each polygon, grouped by polygon (``None`` entries have none)."""
    present = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
    single = present & (shapely.get_type_id(polys) == 3)
    single[single] = shapely.get_num_interior_rings(polys[single]) == 0
    # a polygon of one ring is one run of coordinates: no ring objects needed
    ones = np.flatnonzero(single)
    coords, owner = shapely.get_coordinates(polys[ones], return_index=True)
    k = np.flatnonzero(owner[1:] == owner[:-1])
    a, b, poly = [coords[k]], [coords[k + 1]], [ones[owner[k]]]
    rest = np.flatnonzero(present & ~single)
    if len(rest):
        parts, part_poly = shapely.get_parts(polys[rest], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring = shapely.get_coordinates(rings, return_index=True)
        k = np.flatnonzero(ring[1:] == ring[:-1])
        a.append(coords[k])
        b.append(coords[k + 1])
        poly.append(rest[part_poly[ring_part[ring[k]]]])
    owner = np.concatenate(poly).astype(np.int64)  # each polygon's segments are in one run
    count = np.bincount(owner, minlength=len(polys))
    start = np.zeros(len(polys), dtype=np.int64)
    if len(owner):
        first = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
        start[owner[first]] = first
    ends = np.concatenate(a), np.concatenate(b)
    return PolygonEdges(
        ends[0][:, 0].copy(), ends[0][:, 1].copy(), ends[1][:, 0].copy(), ends[1][:, 1].copy(),
        start, count.astype(np.int64),
    )  # fmt: skip


def ray_cover(edges: PolygonEdges, poly: I64, px: F64, py: F64) -> tuple[I64, I64]:
    """Which pairs ``(px[i], py[i])`` in ``poly[i]`` hold: certainly inside, or too close to call.

    The crossing number of a ray from the point towards +x, with half-open
    segments and certified orientation signs: exact for every point off the
    boundary. A point on (or within rounding of) a segment is returned as
    unsure, for an exact test.

    Returns
    -------
    tuple
        Positions of the pairs whose point is inside, and of the unsure pairs.
    """
    counts = edges.count[poly]
    entry = ranges(edges.start[poly], counts)
    item = np.repeat(np.arange(len(poly), dtype=np.int64), counts)
    ay, by = edges.ay[entry], edges.by[entry]
    y = py[item]
    # only segments reaching the point's height matter (the sign of a difference is exact)
    k = np.flatnonzero((ay - y) * (by - y) <= 0)
    item, entry, ay, by, y = item[k], entry[k], ay[k], by[k], y[k]
    ax, bx, x = edges.ax[entry], edges.bx[entry], px[item]
    left = (bx - ax) * (y - ay)
    right = (by - ay) * (x - ax)
    bound = ORIENT_EPS * (np.abs(left) + np.abs(right))
    det = np.where(by > ay, left - right, right - left)  # > 0: the segment is right of the point
    straddle = (ay > y) != (by > y)
    close = np.abs(det) <= bound
    unsure = close & (straddle | ((ax - x) * (bx - x) <= 0))
    crossed = straddle & (det > bound)
    parity = np.bincount(item[crossed], minlength=len(poly)) & 1
    bad = np.zeros(len(poly), dtype=bool)
    bad[item[unsure]] = True
    return np.flatnonzero((parity == 1) & ~bad), np.flatnonzero(bad)


# --------------------------------------------------------------------------- orientation


def orientation_sign(ax: F64, ay: F64, bx: F64, by: F64, px: F64, py: F64) -> NDArray[np.int8]:
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
            qs = orientation_sign(
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
        m12 = orientation_sign(ax, ay, bx, by, pxi, pyi) * qs
        m34 = orientation_sign(pxi, pyi, qxi, qyi, ax, ay) * orientation_sign(
            pxi, pyi, qxi, qyi, bx, by
        )
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
    base: tuple[I64, I64],
    flip_item: I64,
    flip_poly: I64,
    n_polys: int,
    *,
    sort: bool = True,
) -> tuple[I64, I64]:
    """Each item's polygons: its starting set with every crossed polygon toggled.

    ``base`` holds the ``(item, polygon)`` pairs of the starting sets.
    Returns ``(item, polygon)`` pairs, sorted by item if ``sort``.
    """
    base_item, set_polys = base
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


def clip_segments(
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


def ranges(starts: I64, counts: I64) -> I64:
    """Concatenated ``range(start, start + count)`` for each pair."""
    total = int(counts.sum())
    if not total:
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return np.arange(total, dtype=np.int64) + offsets


def covering_pairs(
    tree: shapely.STRtree, x: F64, y: F64, points: NDArray[np.object_] | None = None
) -> tuple[I64, I64]:
    """``(point, polygon)`` for every tree polygon covering each point, exactly (GEOS).

    With many points, as ``geopandas.sjoin`` does: a tree over the points
    (``points``, the shapely points of ``x`` and ``y`` if given, else new ones),
    queried with each (prepared) polygon for the points it covers. With few
    points: the polygon tree's bounding-box candidates, each tested with the
    polygon's prepared geometry. Either way the boundary counts.
    """
    if not len(x):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    polys = tree.geometries
    pts = shapely.points(x, y) if points is None else points
    if len(x) * POINTS_PER_POLYGON_TREE < len(polys):
        p, t = tree.query(pts)
        hit = shapely.intersects_xy(polys[t], x[p], y[p])
        return p[hit].astype(np.int64), t[hit].astype(np.int64)
    usable = np.flatnonzero(~shapely.is_missing(polys))
    t, p = shapely.STRtree(pts).query(polys[usable], predicate="covers")
    return p.astype(np.int64), usable[t].astype(np.int64)
