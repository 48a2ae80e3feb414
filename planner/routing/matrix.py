"""Travel-time and distance matrices: along roads, or estimated from straight lines."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from planner.errors import InputError
from planner.routing.network import RoadNetwork, haversine_m
from planner.routing.snapping import (
    DEFAULT_MAX_SNAP_M,
    DEFAULT_REJECT_SNAP_M,
    SnapResult,
    check_coordinates,
    snap_points,
)

__all__ = [
    "EstimateParams",
    "TravelMatrix",
    "estimate_matrix",
    "road_matrix",
    "travel_matrix",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EstimateParams:
    """How drive times are estimated when there is no road network.

    Parameters
    ----------
    circuity
        Road distance divided by straight-line distance (1.2 to 1.4 in most
        road networks).
    speed_kph
        Average door-to-door driving speed.
    """

    circuity: float = 1.3
    speed_kph: float = 40.0

    def __post_init__(self) -> None:
        if not (1.0 <= self.circuity <= 5.0 and math.isfinite(self.circuity)):
            raise InputError(f"circuity must be within 1..5, got {self.circuity}")
        if not (0 < self.speed_kph <= 200 and math.isfinite(self.speed_kph)):
            raise InputError(f"speed_kph must be within 0..200 km/h, got {self.speed_kph}")

    def describe(self) -> str:
        """Return the label shown beside estimated figures."""
        return (
            f"estimate: straight-line distance x {self.circuity:.2f} "
            f"at {self.speed_kph:.0f} km/h (no road network)"
        )


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Drive time and distance from every point (row) to every point (column).

    Parameters
    ----------
    duration_s
        Travel time of the fastest route, seconds; not symmetric where
        one-way streets differ.
    distance_m
        Length of that same route, metres.
    estimated
        ``True`` when computed from straight lines, not roads: show it.
    method
        Human description of how the figures were made.
    snap
        How the points joined the road network (``None`` for estimates).
    """

    duration_s: np.ndarray
    distance_m: np.ndarray
    estimated: bool
    method: str
    snap: SnapResult | None = None

    def __post_init__(self) -> None:
        d, m = self.duration_s, self.distance_m
        if d.ndim != 2 or d.shape[0] != d.shape[1] or m.shape != d.shape:
            raise ValueError("duration_s and distance_m must be square and of the same shape")

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.duration_s.shape[0])

    def subset(self, index: Sequence[int] | np.ndarray) -> TravelMatrix:
        """Return the matrix restricted to the points ``index``, in that order."""
        ix = np.asarray(index, dtype=np.int64)
        snap = None
        if self.snap is not None:
            s = self.snap
            snap = SnapResult(
                s.position[ix], s.node_id[ix], s.distance_m[ix], s.far[ix], s.off_network[ix]
            )
        return TravelMatrix(
            self.duration_s[np.ix_(ix, ix)],
            self.distance_m[np.ix_(ix, ix)],
            self.estimated,
            self.method,
            snap,
        )


# --- along roads ------------------------------------------------------------


def _chain_nodes(csr: csr_matrix, protected: np.ndarray) -> np.ndarray:
    """Flag nodes that only continue a road: one way in and out, or two-way with two neighbours."""
    n = csr.shape[0]
    csc = csr.tocsc()
    outdeg = np.diff(csr.indptr)
    indeg = np.diff(csc.indptr)
    chain = np.zeros(n, dtype=bool)
    one = np.flatnonzero((outdeg == 1) & (indeg == 1))
    o = csr.indices[csr.indptr[one]]
    i = csc.indices[csc.indptr[one]]
    chain[one[(o != i) & (o != one) & (i != one)]] = True
    two = np.flatnonzero((outdeg == 2) & (indeg == 2))
    outs = np.sort(np.stack((csr.indices[csr.indptr[two]], csr.indices[csr.indptr[two] + 1])), 0)
    ins = np.sort(np.stack((csc.indices[csc.indptr[two]], csc.indices[csc.indptr[two] + 1])), 0)
    ok = (outs == ins).all(axis=0) & (outs[0] != outs[1]) & (outs != two).all(axis=0)
    chain[two[ok]] = True
    chain[protected] = False
    if chain.all():
        chain[0] = False
    return chain


@dataclass(frozen=True, eq=False)
class _Contracted:
    time: csr_matrix
    length: csr_matrix
    small: np.ndarray  # full position -> contracted position (-1 when contracted away)


def _contract(network: RoadNetwork, terminals: np.ndarray) -> _Contracted:
    """Replace chains of degree-two nodes by single edges, keeping ``terminals``.

    Shortest paths between kept nodes are unchanged: a chain node has one way
    through, so the chain's total time and length are exact.
    """
    csr = network.time_csr
    n = csr.shape[0]
    chain = _chain_nodes(csr, terminals)
    kept = np.flatnonzero(~chain)
    small = np.full(n, -1, dtype=np.int64)
    small[kept] = np.arange(len(kept))
    indptr = csr.indptr.tolist()
    indices = csr.indices.tolist()
    tdata = network.time_csr.data.tolist()
    ldata = network.length_csr.data.tolist()
    is_chain = chain.tolist()
    small_l = small.tolist()
    rows: list[int] = []
    cols: list[int] = []
    ts: list[float] = []
    ls: list[float] = []
    for k in kept.tolist():
        for e in range(indptr[k], indptr[k + 1]):
            w = indices[e]
            t = tdata[e]
            length = ldata[e]
            prev = k
            steps = 0
            while is_chain[w] and steps <= n:
                s = indptr[w]
                e2 = s if (indptr[w + 1] - s == 1 or indices[s] != prev) else s + 1
                prev, w = w, indices[e2]
                t += tdata[e2]
                length += ldata[e2]
                steps += 1
            if w != k:
                rows.append(small_l[k])
                cols.append(small_l[w])
                ts.append(t)
                ls.append(length)
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    t_arr = np.asarray(ts)
    l_arr = np.asarray(ls)
    order = np.lexsort((t_arr, c, r))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (r[order][1:] != r[order][:-1]) | (c[order][1:] != c[order][:-1])
    best = order[first]
    m = len(kept)
    rb, cb = r[best], c[best]
    ptr = np.searchsorted(rb, np.arange(m + 1))
    time = csr_matrix((t_arr[best], cb, ptr), shape=(m, m))
    length = csr_matrix((l_arr[best], cb, ptr), shape=(m, m))
    return _Contracted(time, length, small)


def _tree_lengths(pred: np.ndarray, sources: np.ndarray, length: csr_matrix) -> np.ndarray:
    """Length of each shortest-time tree path, from Dijkstra predecessors (pointer jumping)."""
    m_src, n = pred.shape
    rows = np.arange(m_src)[:, None]
    parent = pred.astype(np.int64)
    root = parent < 0
    parent[root] = np.broadcast_to(np.arange(n), (m_src, n))[root]
    # Length of the edge parent -> node, looked up in the sorted CSR.
    keys_csr = (
        np.repeat(np.arange(n, dtype=np.int64), np.diff(length.indptr)) * n
        + length.indices.astype(np.int64)
    )
    want = parent * n + np.arange(n)[None, :]
    hit = np.searchsorted(keys_csr, want)
    hit = np.minimum(hit, len(keys_csr) - 1)
    seg = np.where(root, 0.0, length.data[hit])
    for _ in range(64):
        grand = np.take_along_axis(parent, parent, axis=1)
        if np.array_equal(grand, parent):
            break
        seg = seg + np.take_along_axis(seg, parent, axis=1)
        parent = grand
    del rows
    return seg


def road_matrix(
    network: RoadNetwork,
    positions: Sequence[int] | np.ndarray,
    *,
    with_distance: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (duration_s, distance_m) between network nodes by Dijkstra.

    Parameters
    ----------
    network
        A strongly connected road network.
    positions
        Rows of the nodes in the network's node arrays (see
        :func:`~planner.routing.snapping.snap_points`); repeats are allowed.
    with_distance
        Also return the length of each fastest route (else NaN).

    Returns
    -------
    tuple of numpy.ndarray
        Two ``(n, n)`` arrays; unreachable pairs are ``inf``.
    """
    pos = np.asarray(positions, dtype=np.int64)
    n = len(pos)
    if n == 0:
        return np.zeros((0, 0)), np.zeros((0, 0))
    unique, inverse = np.unique(pos, return_inverse=True)
    con = _contract(network, unique)
    src = con.small[unique]
    if with_distance:
        dur_all, pred = dijkstra(con.time, directed=True, indices=src, return_predecessors=True)
        dist_all = _tree_lengths(pred, src, con.length)
        dist_u = dist_all[:, src]
        dist_u[~np.isfinite(dur_all[:, src])] = np.inf
    else:
        dur_all = dijkstra(con.time, directed=True, indices=src)
        dist_u = np.full((len(unique), len(unique)), np.nan)
    dur_u = dur_all[:, src]
    duration = dur_u[np.ix_(inverse, inverse)]
    distance = dist_u[np.ix_(inverse, inverse)]
    return duration, distance


def estimate_matrix(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    params: EstimateParams | None = None,
) -> TravelMatrix:
    """Estimate drive times from great-circle distances, for use without a road network.

    Parameters
    ----------
    lat, lon
        Point coordinates in degrees.
    params
        Circuity factor and average speed.
    """
    params = params or EstimateParams()
    la, lo = check_coordinates(lat, lon)
    straight = haversine_m(la[:, None], lo[:, None], la[None, :], lo[None, :])
    distance = straight * params.circuity
    duration = distance / (params.speed_kph / 3.6)
    return TravelMatrix(duration, distance, True, params.describe())


def travel_matrix(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    network: RoadNetwork | None = None,
    *,
    ids: Sequence[object] | None = None,
    with_distance: bool = True,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    reject_snap_m: float = DEFAULT_REJECT_SNAP_M,
    estimate: EstimateParams | None = None,
) -> TravelMatrix:
    """Return travel times and distances between points: along roads, or estimated.

    Snaps the points to the network, then runs Dijkstra from every distinct
    node over a CSR matrix of the fastest edges (chains of degree-two nodes
    contracted first, which leaves every shortest path unchanged). Points
    off the network (see :func:`~planner.routing.snapping.snap_points`) get
    ``inf`` rows and columns except for themselves.

    Parameters
    ----------
    lat, lon
        Point coordinates in degrees.
    network
        The road network, or ``None`` to estimate from straight lines.
    ids
        Labels of the points for messages.
    with_distance
        Also compute the length of each fastest route.
    max_snap_m, reject_snap_m
        Snap distances that warn, and that make a point unreachable.
    estimate
        Parameters of the estimate used when ``network`` is ``None``.
    """
    if network is None:
        return estimate_matrix(lat, lon, params=estimate)
    snap = snap_points(
        network, lat, lon, ids=ids, max_snap_m=max_snap_m, reject_snap_m=reject_snap_m
    )
    duration, distance = road_matrix(network, snap.position, with_distance=with_distance)
    if snap.off_network.any():
        off = snap.off_network
        duration[off, :] = np.inf
        duration[:, off] = np.inf
        distance[off, :] = np.inf
        distance[:, off] = np.inf
        idx = np.flatnonzero(off)
        duration[idx, idx] = 0.0
        distance[idx, idx] = 0.0
    return TravelMatrix(
        duration, distance, False, f"road network ({network.source or 'OSM'})", snap
    )
