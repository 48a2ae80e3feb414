"""Unit adjacency graph: which units touch, with islands bridged to their nearest neighbour."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from planner.errors import InputError, Problem, format_ids
from planner.schema import UNIT_ID

__all__ = ["Bridge", "UnitAdjacency", "build_adjacency"]

logger = logging.getLogger(__name__)

Contiguity = Literal["rook", "queen"]


@dataclass(frozen=True)
class Bridge:
    """An edge added to connect an island to its nearest neighbour.

    Parameters
    ----------
    unit_a
        Unit id on the island side.
    unit_b
        Unit id of the nearest unit outside the island.
    gap_m
        Distance between the two units, in the units of the projected CRS
        (metres for any metric CRS).
    """

    unit_a: str
    unit_b: str
    gap_m: float

    def to_dict(self) -> dict[str, object]:
        """Return the bridge as a JSON-friendly dictionary."""
        return {"unit_a": self.unit_a, "unit_b": self.unit_b, "gap_m": round(self.gap_m, 3)}


@dataclass(frozen=True, eq=False)
class UnitAdjacency:
    """Undirected adjacency graph of units.

    Parameters
    ----------
    unit_ids
        Unit ids in node order.
    pairs
        ``(m, 2)`` node indices ``i < j`` of adjacent units, sorted.
    shared_length_m
        Length of the shared border of each pair (0 for corner contacts and
        bridges).
    bridges
        Edges added to connect islands; they are also in ``pairs``.
    contiguity
        ``"rook"`` (a shared border of positive length) or ``"queen"`` (any
        contact, corners included).
    """

    unit_ids: tuple[str, ...]
    pairs: np.ndarray
    shared_length_m: np.ndarray
    bridges: tuple[Bridge, ...] = ()
    contiguity: Contiguity = "rook"
    _csr: sparse.csr_matrix = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pairs = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(self.unit_ids)):
            raise ValueError("pairs refer to nodes outside unit_ids")
        if len(self.shared_length_m) != len(pairs):
            raise ValueError("shared_length_m must have one value per pair")
        n = len(self.unit_ids)
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        csr = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
        csr.sum_duplicates()
        csr.sort_indices()
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "_csr", csr)

    @property
    def n_units(self) -> int:
        """Number of nodes."""
        return len(self.unit_ids)

    @property
    def csr(self) -> sparse.csr_matrix:
        """Symmetric adjacency matrix in CSR form (node order of ``unit_ids``)."""
        return self._csr

    def neighbours(self, index: int) -> np.ndarray:
        """Return the node indices adjacent to node ``index``."""
        return self._csr.indices[self._csr.indptr[index] : self._csr.indptr[index + 1]]

    def neighbour_lists(self) -> list[list[int]]:
        """Return, for every node, the sorted list of adjacent node indices."""
        ip, ix = self._csr.indptr, self._csr.indices
        return [ix[ip[i] : ip[i + 1]].tolist() for i in range(self.n_units)]

    def components(self, *, include_bridges: bool = True) -> np.ndarray:
        """Return a component label per node.

        Parameters
        ----------
        include_bridges
            Whether bridge edges count; without them, islands show up as
            their own components.
        """
        if include_bridges or not self.bridges:
            return connected_components(self._csr, directed=False)[1]
        index = {u: i for i, u in enumerate(self.unit_ids)}
        drop = {tuple(sorted((index[b.unit_a], index[b.unit_b]))) for b in self.bridges}
        keep = np.array([tuple(p) not in drop for p in self.pairs.tolist()], dtype=bool)
        sub = UnitAdjacency(self.unit_ids, self.pairs[keep], self.shared_length_m[keep])
        return sub.components()

    def islands(self) -> list[list[str]]:
        """Return the unit ids of every component but the largest, before bridging."""
        labels = self.components(include_bridges=False)
        counts = np.bincount(labels)
        main = int(np.argmax(counts))
        out = []
        for c in range(len(counts)):
            if c != main:
                out.append([self.unit_ids[i] for i in np.flatnonzero(labels == c)])
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return the edges: ``unit_a``, ``unit_b``, ``shared_length_m``, ``bridge``."""
        ids = np.asarray(self.unit_ids, dtype=object)
        bridge_set = {frozenset((b.unit_a, b.unit_b)) for b in self.bridges}
        a = ids[self.pairs[:, 0]] if len(self.pairs) else np.array([], dtype=object)
        b = ids[self.pairs[:, 1]] if len(self.pairs) else np.array([], dtype=object)
        return pd.DataFrame(
            {
                "unit_a": a,
                "unit_b": b,
                "shared_length_m": self.shared_length_m,
                "bridge": [frozenset((x, y)) in bridge_set for x, y in zip(a, b, strict=True)],
            }
        )


def build_adjacency(
    units: gpd.GeoDataFrame,
    *,
    contiguity: Contiguity = "rook",
    bridge_islands: bool = True,
    snap_tolerance_m: float = 0.0,
    id_column: str = UNIT_ID,
) -> UnitAdjacency:
    """Build the adjacency graph of unit polygons.

    Candidate pairs come from a shapely STRtree query; rook contiguity keeps
    pairs whose borders share a line of positive length, queen contiguity
    keeps any contact. When the graph has several components, each smaller
    component (an island, or a group of islands) is joined to the nearest unit
    outside it, smallest component first, and every added edge is recorded in
    :attr:`UnitAdjacency.bridges`.

    Parameters
    ----------
    units
        Polygons with a unit id column, in a projected CRS (distances and
        border lengths are read in CRS units; reproject geographic data
        first, e.g. with ``units.to_crs(units.estimate_utm_crs())``).
    contiguity
        ``"rook"`` or ``"queen"``.
    bridge_islands
        Whether to connect islands; without it, the graph may have several
        components.
    snap_tolerance_m
        Units closer than this count as touching (for data whose borders do
        not quite meet); the shared length is then measured within the
        tolerance.
    id_column
        Column holding the unit id.

    Raises
    ------
    InputError
        If the id column is missing or not unique, a geometry is missing or
        empty, or the CRS is geographic.
    """
    _check_units(units, id_column)
    geoms = np.asarray(units.geometry.values, dtype=object)
    ids = tuple(str(u) for u in units[id_column])
    n = len(geoms)
    pairs, lengths = _touching_pairs(geoms, contiguity, snap_tolerance_m)
    bridges: list[Bridge] = []
    if bridge_islands and n > 1:
        pairs, lengths, bridges = _bridge(geoms, ids, pairs, lengths)
    adjacency = UnitAdjacency(ids, pairs, lengths, tuple(bridges), contiguity)
    if bridges:
        logger.info("bridged %d island group(s): %s", len(bridges), bridges)
    return adjacency


def _check_units(units: gpd.GeoDataFrame, id_column: str) -> None:
    problems: list[Problem] = []
    if id_column not in units.columns:
        raise InputError(
            "units have no id column",
            [Problem(f"column '{id_column}' is missing", column=id_column, fix="add a unit id")],
            source="units",
        )
    ids = units[id_column].astype(str)
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        problems.append(
            Problem(
                f"unit ids {format_ids(sorted(set(ids[dup])))} appear more than once",
                column=id_column,
                fix="give every unit its own id",
            )
        )
    geom = units.geometry
    bad = (geom.isna() | geom.is_empty).to_numpy()
    if bad.any():
        problems.append(
            Problem(
                f"units {format_ids(ids[bad])} have no geometry",
                column="geometry",
                fix="add a polygon for each unit or drop them",
            )
        )
    if units.crs is not None and units.crs.is_geographic:
        problems.append(
            Problem(
                f"units are in a geographic CRS ({units.crs.to_string()})",
                fix="reproject first, e.g. units.to_crs(units.estimate_utm_crs())",
            )
        )
    if problems:
        raise InputError("units cannot form an adjacency graph", problems, source="units")


def _touching_pairs(
    geoms: np.ndarray, contiguity: Contiguity, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    tree = shapely.STRtree(geoms)
    if tol > 0:
        i, j = tree.query(geoms, predicate="dwithin", distance=tol)
    else:
        i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    bounds = shapely.boundary(geoms)
    if tol > 0:
        # the part of i's border lying within the tolerance of j's border
        length = shapely.length(shapely.intersection(bounds[i], shapely.buffer(bounds[j], tol)))
    else:
        length = shapely.length(shapely.intersection(bounds[i], bounds[j]))
    length = np.asarray(length, dtype=float)
    if contiguity == "rook":
        keep = length > 1e-9
        i, j, length = i[keep], j[keep], length[keep]
    order = np.lexsort((j, i))
    pairs = np.column_stack([i[order], j[order]]).astype(np.int64)
    return pairs, length[order]


def _bridge(
    geoms: np.ndarray, ids: tuple[str, ...], pairs: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[Bridge]]:
    n = len(geoms)
    bridges: list[Bridge] = []
    new_pairs: list[tuple[int, int]] = []
    while True:
        all_pairs = np.vstack([pairs, np.array(new_pairs, dtype=np.int64).reshape(-1, 2)])
        rows = np.concatenate([all_pairs[:, 0], all_pairs[:, 1]])
        cols = np.concatenate([all_pairs[:, 1], all_pairs[:, 0]])
        graph = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        n_comp, labels = connected_components(graph, directed=False)
        if n_comp <= 1:
            break
        sizes = np.bincount(labels)
        # the smallest component (ties: the one holding the lowest node index)
        smallest = int(min(range(n_comp), key=lambda c: (sizes[c], c)))
        inside = np.flatnonzero(labels == smallest)
        outside = np.flatnonzero(labels != smallest)
        tree = shapely.STRtree(geoms[outside])
        (src, dst), dist = tree.query_nearest(geoms[inside], return_distance=True, all_matches=True)
        best = int(np.lexsort((dst, src, dist))[0])
        a, b = int(inside[src[best]]), int(outside[dst[best]])
        new_pairs.append((min(a, b), max(a, b)))
        bridges.append(Bridge(ids[a], ids[b], float(dist[best])))
    if not new_pairs:
        return pairs, lengths, bridges
    extra = np.array(new_pairs, dtype=np.int64)
    all_pairs = np.vstack([pairs, extra])
    all_len = np.concatenate([lengths, np.zeros(len(extra))])
    order = np.lexsort((all_pairs[:, 1], all_pairs[:, 0]))
    return all_pairs[order], all_len[order], bridges
