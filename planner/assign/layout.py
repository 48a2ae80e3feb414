"""Territories prepared once for assignment: repaired shapes, hierarchy, point index.

Preparing 37,000 territories (checking the hierarchy, repairing and
reprojecting the shapes, building the point index) costs more than locating a
million accounts in them, and none of it depends on the accounts. So
:func:`prepare_territories` does it once and returns a :class:`TerritoryLayout`
that :func:`planner.assign.assign_accounts` accepts in place of the frame;
the same layout serves every batch of accounts (a Dask worker receives it
once). :func:`planner.assign.assign_accounts` also keeps the last few
layouts it made, keyed by the content of the territories (ids, attributes and
the exact shapes), so repeated runs over unchanged territories reuse them.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from planner import schema as s
from planner.assign.collect import collector_paused
from planner.assign.inputs import text_array
from planner.errors import InputError, PlannerWarning, Problem
from planner.geo.locate import PolygonIndex, boxes_pay, build_index, grid_pays
from planner.geo.shapes import local_crs, prepare_polygons
from planner.hierarchy import validate_hierarchy
from planner.models import DEFAULT_TYPE

__all__ = ["TerritoryLayout", "cached_layout", "clear_cache", "prepare_territories"]

#: Layouts kept by :func:`cached_layout` (each holds its shapes and index).
CACHE_SIZE = 2

I64 = NDArray[np.int64]
_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class TerritoryLayout:
    """Territories ready for assignment (make it with :func:`prepare_territories`).

    Parameters
    ----------
    frame
        The territories, shapes repaired and in ``crs``.
    crs
        The CRS of the accounts the layout is for.
    tids, types, parents, is_leaf, geoms
        Per territory (input order): id, type, parent position (-1 for a
        root), whether it is a leaf, shape (``None`` without one).
    rule_texts
        Territory id to the text of its ``rule`` column.
    chains
        Per territory: itself and its ancestors, nearest first.
    shape_of
        Per territory: the territory whose shape it uses (its own or its
        nearest ancestor's), -1 for none.
    shape_ids
        The shapes accounts are located in (leaves' shapes and ancestor
        shapes a leaf's shape does not lie within).
    ancestor_checks
        Ancestor shape -> the leaves whose accounts must also lie in it.
    notes
        Warnings raised while preparing (repairs), as (category, text).
    """

    frame: gpd.GeoDataFrame
    crs: Any
    tids: NDArray[np.object_]
    types: NDArray[np.object_]
    parents: list[int]
    is_leaf: NDArray[np.bool_]
    geoms: NDArray[np.object_]
    rule_texts: dict[str, str | None]
    chains: list[list[int]]
    shape_of: I64
    shape_ids: I64
    ancestor_checks: dict[int, list[int]]
    notes: tuple[tuple[type[Warning], str], ...]
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.tids)

    @property
    def leaves(self) -> I64:
        """Positions of the leaf territories."""
        return np.flatnonzero(self.is_leaf)

    def memo(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """The value kept under ``key``, made by ``make()`` on first use."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = make()
            return self._memo[key]

    @property
    def direct(self) -> bool:
        """Whether every territory is a leaf located in its own shape (no hierarchy to walk).

        Then a located shape's position is the territory's, and the leaves
        need no expanding.
        """
        return self.memo("direct", self._direct)

    def _direct(self) -> bool:
        T = len(self)
        return bool(
            self.is_leaf.all()
            and len(self.shape_ids) == T
            and (self.shape_ids == np.arange(T)).all()
            and (self.shape_of == np.arange(T)).all()
        )

    def leaves_of_shape(self) -> tuple[I64, I64]:
        """CSR: per shape (territory position), the leaves that use it."""
        return self.memo("leaves_of_shape", self._leaves_of_shape)

    def _leaves_of_shape(self) -> tuple[I64, I64]:
        leaves = self.leaves
        leaves = leaves[self.shape_of[leaves] >= 0]
        owner = self.shape_of[leaves]
        order = np.argsort(owner, kind="stable")
        counts = np.bincount(owner, minlength=len(self))
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return ptr, leaves[order].astype(np.int64)

    def area_m2(self) -> NDArray[np.float64]:
        """Per territory, the area in m² of the shape it uses (inf without one); computed once."""
        with self._lock:
            if "area" not in self._memo:
                self._memo["area"] = _effective_area(self.geoms, self.shape_of, self.crs)
            return self._memo["area"]

    def index(self, expected_points: int) -> PolygonIndex | None:
        """The point index over :attr:`shape_ids`: the cell grid for many points, the box
        grid for fewer, GEOS alone for a few per shape (counted over every call)."""
        if not len(self.shape_ids):
            return None
        with self._lock:
            seen = self._memo.get("points", 0) + expected_points
            self._memo["points"] = seen
            shapes = self.geoms[self.shape_ids]
            grid = seen > 0 and grid_pays(seen, shapes)  # counted over every call
            boxes = boxes_pay(seen, len(shapes))
            cached = self._memo.get("index")
            if (
                cached is None
                or (grid and cached.cells is None)
                or (boxes and cached.boxes is None and cached.cells is None)
            ):
                cached = build_index(shapes, grid=grid, boxes=boxes)
                self._memo["index"] = cached
            return cached

    def __getstate__(self) -> dict[str, Any]:
        state = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "_lock"}
        state["_memo"] = dict(self._memo)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_lock", threading.Lock())


def prepare_territories(
    territories: gpd.GeoDataFrame, crs: Any = s.STORAGE_CRS, *, expected_points: int = 0
) -> TerritoryLayout:
    """Check and prepare territories for assigning accounts in ``crs``.

    Parameters
    ----------
    territories
        ``territory_id`` and optional ``parent_id``, ``type_id``, ``rule``
        and polygon geometry (the ``territories`` table of one scenario).
        Shapes are repaired (with a warning naming the territory) and
        reprojected to ``crs``.
    crs
        The CRS of the accounts that will be assigned.
    expected_points
        Build the point index now for this many accounts (0: on first use).
        The cell grid is built once the layout has located (or expects)
        about 20 accounts per shape vertex (:func:`planner.geo.locate.grid_pays`):
        before that the box grid alone, cheap to build, is faster.

    Returns
    -------
    TerritoryLayout

    Raises
    ------
    InputError
        When the territories have no ids, the hierarchy has a cycle or a
        missing parent, or a shape cannot be used.
    """
    with warnings.catch_warnings(record=True) as caught, collector_paused():
        warnings.simplefilter("always", PlannerWarning)
        frame = _checked_frame(territories, crs)
    notes = tuple(
        (w.category if issubclass(w.category, Warning) else PlannerWarning, str(w.message))
        for w in caught
    )
    with collector_paused():
        layout = _layout(frame, crs, notes)
        if expected_points:
            layout.index(expected_points)
    return layout


def _checked_frame(territories: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """The territories with text ids, a sound hierarchy and repaired shapes in ``crs``."""
    if s.TERRITORY_ID not in territories.columns:
        raise InputError(
            "territories need ids",
            [
                Problem(
                    "the territories have no 'territory_id' column",
                    column=s.TERRITORY_ID,
                    fix="add a territory_id column",
                )
            ],
        )
    frame = territories.reset_index(drop=True)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
    frame = frame.copy()
    ids = text_array(frame[s.TERRITORY_ID])
    frame[s.TERRITORY_ID] = ids
    _check_hierarchy(ids, frame[s.PARENT_ID] if s.PARENT_ID in frame.columns else None)
    if frame.crs is None and not frame.geometry.notna().any():
        frame = frame.set_crs(crs)
    return prepare_polygons(frame, crs=crs, reference_crs=crs, allow_empty=True, orient=False)


def _check_hierarchy(ids: NDArray[np.object_], parents: pd.Series | None) -> None:
    """Raise for the errors :func:`~planner.hierarchy.validate_hierarchy` finds in the tree.

    Territories without parents and with distinct ids have nothing to find
    (a ZIP layout of 37,000 cells: walking them costs more than locating
    100,000 accounts); otherwise only the ids and parents are checked.
    """
    flat = parents is None or bool(parents.isna().all())
    if flat and _distinct_ids(ids):
        return
    tree = pd.DataFrame({s.TERRITORY_ID: pd.Series(ids, dtype=object)})
    if parents is not None:
        tree[s.PARENT_ID] = pd.Series(parents.to_numpy(dtype=object), dtype=object)
    problems = [p for p in validate_hierarchy(tree, check_geometry=False) if p.severity == "error"]
    if problems:
        raise InputError(f"the territory hierarchy has {len(problems)} problem(s)", problems)


def _distinct_ids(ids: NDArray[np.object_]) -> bool:
    """Whether every id is given (not blank) and appears once."""
    distinct = set(ids.tolist())
    return len(distinct) == len(ids) and distinct.isdisjoint((None, "", "None", "nan"))


def _layout(
    frame: gpd.GeoDataFrame, crs: Any, notes: tuple[tuple[type[Warning], str], ...]
) -> TerritoryLayout:
    """Arrays, chains and the shapes to locate in, from a checked frame."""
    tids = frame[s.TERRITORY_ID].to_numpy(dtype=object)
    parents = [-1] * len(frame)
    if s.PARENT_ID in frame.columns and frame[s.PARENT_ID].notna().any():
        pos = {t: i for i, t in enumerate(tids.tolist())}
        parents = [
            pos.get(p, -1) if p not in (None, "") else -1 for p in text_array(frame[s.PARENT_ID])
        ]
    is_leaf = np.ones(len(frame), dtype=bool)
    is_leaf[[p for p in parents if p >= 0]] = False
    types = (
        text_array(frame[s.TYPE_ID])
        if s.TYPE_ID in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    types = np.array([t if t else DEFAULT_TYPE.type_id for t in types], dtype=object)
    rule_texts: dict[str, str | None] = {}
    if s.RULE in frame.columns:
        rule_texts = dict(zip(tids.tolist(), text_array(frame[s.RULE]).tolist(), strict=True))
    geoms = np.asarray(frame.geometry.values, dtype=object)
    has_shape = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not is_leaf.all():
        chains = _chains(parents)
        shape_of = _shape_of(chains, has_shape)
        checks = _ancestor_checks(chains, shape_of, has_shape, is_leaf, geoms)
        leaves = np.flatnonzero(is_leaf)
        used = np.unique(shape_of[leaves][shape_of[leaves] >= 0])
        shape_ids = np.union1d(used, np.array(sorted(checks), dtype=np.int64)).astype(np.int64)
    else:  # no hierarchy: each territory is its own chain and uses its own shape
        chains = [[t] for t in range(len(frame))]
        shape_of = np.where(has_shape, np.arange(len(frame)), -1).astype(np.int64)
        checks = {}
        shape_ids = np.flatnonzero(has_shape).astype(np.int64)
    return TerritoryLayout(
        frame, crs, tids, types, parents, is_leaf, geoms, rule_texts, chains, shape_of,
        shape_ids, checks, notes,
    )  # fmt: skip


def _chains(parents: list[int]) -> list[list[int]]:
    """Per territory, itself and its ancestors (a cycle is cut where it repeats)."""
    out = []
    for t in range(len(parents)):
        chain, seen, p = [t], {t}, parents[t]
        while p >= 0 and p not in seen:
            chain.append(p)
            seen.add(p)
            p = parents[p]
        out.append(chain)
    return out


def _shape_of(chains: list[list[int]], has_shape: NDArray[np.bool_]) -> I64:
    """Per territory, the nearest territory in its chain with a shape (-1 for none)."""
    return np.array(
        [next((a for a in chain if has_shape[a]), -1) for chain in chains], dtype=np.int64
    )


def _ancestor_checks(
    chains: list[list[int]],
    shape_of: I64,
    has_shape: NDArray[np.bool_],
    is_leaf: NDArray[np.bool_],
    geoms: NDArray[np.object_],
) -> dict[int, list[int]]:
    """Ancestor shape -> leaves whose own shape does not lie within it."""
    covers: dict[tuple[int, int], bool] = {}
    out: dict[int, list[int]] = {}
    for t in np.flatnonzero(is_leaf).tolist():
        own = int(shape_of[t])
        chain = chains[t]
        if own < 0 or len(chain) == 1:
            continue
        for a in chain[chain.index(own) + 1 :]:
            if not has_shape[a]:
                continue
            if (a, own) not in covers:
                covers[(a, own)] = bool(shapely.covers(geoms[a], geoms[own]))
            if not covers[(a, own)]:
                out.setdefault(a, []).append(int(t))
    return out


def _effective_area(geoms: NDArray[np.object_], shape_of: I64, crs: Any) -> NDArray[np.float64]:
    area = np.full(len(geoms), np.inf)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if usable.any():
        series = gpd.GeoSeries(geoms[usable], crs=crs)
        area[usable] = shapely.area(series.to_crs(local_crs(series)).values)
    return np.where(shape_of >= 0, area[np.maximum(shape_of, 0)], np.inf)


# --------------------------------------------------------------------------- cache

_CACHE: OrderedDict[str, TerritoryLayout] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def cached_layout(territories: gpd.GeoDataFrame, crs: Any) -> TerritoryLayout:
    """:func:`prepare_territories`, reusing a layout made from identical territories.

    The key is a hash of every attribute column and the exact shapes (as
    WKB) with their CRS, and the target CRS: any edit makes a new layout.
    """
    key = _fingerprint(territories, crs)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    layout = prepare_territories(territories, crs)
    with _CACHE_LOCK:
        _CACHE[key] = layout
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return layout


def _fingerprint(territories: gpd.GeoDataFrame, crs: Any) -> str:
    """Hash of what a layout depends on: ids, parents, types, rules, exact shapes, CRSs."""
    digest = hashlib.blake2b(digest_size=20)
    for column in (s.TERRITORY_ID, s.PARENT_ID, s.TYPE_ID, s.RULE):
        if column in territories.columns:
            values = territories[column].astype(str).to_numpy(dtype=object, na_value="").tolist()
            digest.update(column.encode())
            # the texts one after the other with their lengths: unambiguous, and no
            # per-value hashing (37,000 ids)
            digest.update(np.fromiter(map(len, values), np.int64, len(values)).tobytes())
            digest.update("".join(values).encode("utf-8", "surrogatepass"))
            digest.update(territories[column].isna().to_numpy().tobytes())
    if isinstance(territories, gpd.GeoDataFrame):
        geoms = np.asarray(territories.geometry.values, dtype=object)
        for part in (
            shapely.get_type_id(geoms),
            shapely.get_num_geometries(geoms),
            shapely.get_num_interior_rings(geoms),
            shapely.get_num_coordinates(geoms),
            shapely.get_coordinates(geoms),
        ):
            digest.update(np.ascontiguousarray(part).tobytes())
        crs_in = territories.crs
        digest.update(str(CRS.from_user_input(crs_in) if crs_in else None).encode())
    digest.update(str(CRS.from_user_input(crs) if crs is not None else None).encode())
    return digest.hexdigest()


def clear_cache() -> None:
    """Forget every layout kept by :func:`cached_layout` (benchmarks measure cold runs)."""
    with _CACHE_LOCK:
        _CACHE.clear()
