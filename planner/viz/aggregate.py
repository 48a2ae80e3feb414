"""Accounts for a map of any size: counts per map cell at every zoom, and the points of a view.

A map of a million accounts cannot send every position to the browser (6.7
MB even as 16-bit offsets, seconds to send and decode). Here the accounts are
prepared once (:func:`account_points`: Web Mercator positions, a territory
index, names and ids), then:

- :func:`overview` counts them per cell of 64 screen pixels at each zoom
  level from 0 up to the deepest level that stays under a cell budget
  (a cell's count, the mean place of its accounts, and its territory when
  all of them share one). The cells are the world's pixel grid at that zoom,
  so they stay put while the map pans.
- :func:`view_chunk` answers what to draw in one view: every account in it
  (positions, territory, names and ids) when there are at most ``limit``,
  else the cells of the view's zoom inside it.

Both return plain dicts of base64 arrays ready for JSON; the browser side is
:mod:`planner.viz_fast`.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem
from planner.viz.summary import UNASSIGNED_COLOR

__all__ = [
    "CELL_BUDGET",
    "CELL_PX",
    "MAX_ZOOM",
    "AccountPoints",
    "account_points",
    "cells_at",
    "mercator",
    "overview",
    "view_chunk",
]

#: A cell is this many screen pixels wide at its zoom level.
CELL_PX = 64
#: The deepest zoom level counted (Leaflet's usual maximum).
MAX_ZOOM = 18
#: The overview holds levels down to the deepest one with at most this many occupied cells.
CELL_BUDGET = 12_000
#: A territory index meaning "accounts of several territories" in a cell.
MIXED = 65_535
_SEP = "\u001f"  # joins the names (and the ids) into one string: the "unit separator"
_MAX_LAT = 85.05112878  # Web Mercator's edge


@dataclass(frozen=True)
class AccountPoints:
    """Located accounts ready for a map: one row per account, in the same order everywhere.

    ``mx``, ``my`` are Web Mercator positions as fractions of the world (0-1,
    ``my`` from the north); ``t`` indexes ``territories`` and ``colors``
    (the last index: no territory).
    """

    lat: np.ndarray
    lon: np.ndarray
    mx: np.ndarray
    my: np.ndarray
    t: np.ndarray
    ids: np.ndarray
    names: np.ndarray
    territories: tuple[str, ...]
    colors: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.lat)


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _joined(values: np.ndarray) -> str:
    return _SEP.join(str(v).replace(_SEP, " ") for v in values)


def mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator positions of ``lon``, ``lat`` as fractions of the world (0-1)."""
    phi = np.radians(np.clip(lat, -_MAX_LAT, _MAX_LAT))
    mx = (np.asarray(lon, dtype=float) + 180.0) / 360.0
    my = (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0
    return mx, my


def account_points(
    accounts: gpd.GeoDataFrame,
    *,
    territory_of: Mapping[str, str] | pd.Series,
    colors: Mapping[str, str],
    territory_names: Mapping[str, str] | None = None,
) -> AccountPoints:
    """Prepare the located accounts of ``accounts`` for :func:`overview` and :func:`view_chunk`.

    Rows without a location are left out. ``territory_of`` gives each
    account id its territory id; ``colors`` a colour per territory id
    (others are grey); ``territory_names`` the names shown.
    """
    geoms = accounts.geometry
    acc = accounts[(geoms.notna() & ~geoms.is_empty).to_numpy()]
    if acc.crs is not None and not acc.crs.equals(s.STORAGE_CRS):
        acc = acc.to_crs(s.STORAGE_CRS)
    owner = territory_of if isinstance(territory_of, pd.Series) else pd.Series(territory_of)
    ids = acc[s.ACCOUNT_ID].astype(str).reset_index(drop=True)
    codes, uniques = pd.factorize(ids.map(owner.astype(str)), sort=True)  # -1: no territory
    keys = [str(k) for k in uniques]
    if len(keys) >= MIXED:
        raise InputError("cannot draw the accounts", [Problem(
            f"{len(keys):,} territories is more than a map can colour",
            fix="draw one level of the hierarchy at a time")])  # fmt: skip
    arr = np.asarray(acc.geometry.values, dtype=object)
    lon, lat = shapely.get_x(arr), shapely.get_y(arr)
    names = acc[s.NAME].reset_index(drop=True) if s.NAME in acc.columns else ids
    names = names.where(names.notna() & (names.astype(str) != ""), ids)
    named = territory_names or {}
    mx, my = mercator(lon, lat)
    return AccountPoints(
        lat=lat, lon=lon, mx=mx, my=my,
        t=np.where(codes < 0, len(keys), codes).astype("<u2"),
        ids=ids.astype(object).to_numpy(), names=names.astype(str).astype(object).to_numpy(),
        territories=(*(str(named.get(k) or k) for k in keys), "(none)"),
        colors=(*(colors.get(k, UNASSIGNED_COLOR) for k in keys), UNASSIGNED_COLOR),
    )  # fmt: skip


@dataclass(frozen=True)
class _Cells:
    """Occupied cells of one zoom level: grid column and row, count, summed position, territory."""

    ix: np.ndarray
    iy: np.ndarray
    count: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    t: np.ndarray


def _group(ix: np.ndarray, iy: np.ndarray, count: np.ndarray, sx: np.ndarray,
           sy: np.ndarray, t: np.ndarray) -> _Cells:  # fmt: skip
    """Merge the rows sharing a cell (``ix``, ``iy``): counts and positions summed; a cell of
    rows with different territories gets :data:`MIXED`."""
    key = ix.astype(np.int64) << 32 | iy.astype(np.int64)
    cells, inverse = np.unique(key, return_inverse=True)
    n = len(cells)
    lo = np.full(n, MIXED, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    np.minimum.at(lo, inverse, t)
    np.maximum.at(hi, inverse, t)
    return _Cells(
        ix=(cells >> 32).astype(np.int64), iy=(cells & 0xFFFFFFFF).astype(np.int64),
        count=np.bincount(inverse, weights=count, minlength=n).astype(np.int64),
        sx=np.bincount(inverse, weights=sx, minlength=n),
        sy=np.bincount(inverse, weights=sy, minlength=n),
        t=np.where(lo == hi, lo, MIXED).astype("<u2"),
    )  # fmt: skip


def _grid(zoom: int) -> int:
    """Cells along the world's side at ``zoom``."""
    return (256 << zoom) // CELL_PX


def _finest(points: AccountPoints, zoom: int, mask: np.ndarray | None = None) -> _Cells:
    mx, my, t = points.mx, points.my, points.t
    if mask is not None:
        mx, my, t = mx[mask], my[mask], t[mask]
    side = _grid(zoom)
    ix = np.clip(np.floor(mx * side), 0, side - 1).astype(np.int64)
    iy = np.clip(np.floor(my * side), 0, side - 1).astype(np.int64)
    return _group(ix, iy, np.ones(len(mx)), mx, my, t.astype(np.int64))


def cells_at(points: AccountPoints, zoom: int, mask: np.ndarray | None = None) -> dict[str, Any]:
    """The occupied cells of ``zoom`` (of the accounts in ``mask``) as a payload level.

    Returns
    -------
    dict
        ``z``, ``n`` (cells), ``x``, ``y`` (base64 float32: the mean Web
        Mercator position of the cell's accounts), ``c`` (uint32 counts) and
        ``t`` (uint16 territory index, 65535: several).
    """
    return _level(zoom, _finest(points, _zoom(zoom), mask))


def _zoom(zoom: int) -> int:
    if not 0 <= int(zoom) <= MAX_ZOOM:
        raise InputError("cannot count the accounts on the map", [Problem(
            f"zoom level {zoom} is out of range", fix=f"use 0 to {MAX_ZOOM}")])  # fmt: skip
    return int(zoom)


def _level(zoom: int, cells: _Cells) -> dict[str, Any]:
    count = np.maximum(cells.count, 1)
    return {
        "z": zoom, "n": len(cells.count),
        "x": _b64((cells.sx / count).astype("<f4")), "y": _b64((cells.sy / count).astype("<f4")),
        "c": _b64(cells.count.astype("<u4")), "t": _b64(cells.t.astype("<u2")),
    }  # fmt: skip


def overview(points: AccountPoints, *, budget: int = CELL_BUDGET) -> dict[str, Any]:
    """Counts per cell at every zoom from 0 down to the deepest level under ``budget`` cells.

    The levels are built from the finest up (each from the one below), so
    the accounts are read once.

    Returns
    -------
    dict
        ``n`` (accounts), ``levels`` (one :func:`cells_at` payload per zoom,
        from 0), ``territories`` and ``colors``.
    """
    levels: list[_Cells] = []
    if len(points):
        cells = _finest(points, MAX_ZOOM)
        levels.append(cells)
        for _ in range(MAX_ZOOM):
            cells = _group(cells.ix >> 1, cells.iy >> 1, cells.count, cells.sx, cells.sy,
                           cells.t.astype(np.int64))  # fmt: skip
            levels.append(cells)
        levels.reverse()  # levels[z] is zoom z
        deepest = max([z for z, c in enumerate(levels) if len(c.count) <= budget], default=0)
        levels = levels[: deepest + 1]
    return {
        "n": len(points),
        "levels": [_level(z, c) for z, c in enumerate(levels)],
        "territories": list(points.territories),
        "colors": list(points.colors),
    }


def _in_box(points: AccountPoints, box: tuple[float, float, float, float]) -> np.ndarray:
    south, west, north, east = box
    return (
        (points.lat >= south) & (points.lat <= north) & (points.lon >= west) & (points.lon <= east)
    )


def _padded(
    view: tuple[float, float, float, float], pad: float
) -> tuple[float, float, float, float]:
    south, west, north, east = view
    dy, dx = (north - south) * pad, (east - west) * pad
    return (max(south - dy, -90.0), max(west - dx, -180.0),
            min(north + dy, 90.0), min(east + dx, 180.0))  # fmt: skip


def _points_payload(points: AccountPoints, mask: np.ndarray) -> dict[str, Any]:
    xy = np.rint(np.column_stack([points.lat[mask], points.lon[mask]]) * 1e5).astype("<i4")
    return {
        "kind": "points", "n": int(mask.sum()), "xy": _b64(xy), "t": _b64(points.t[mask]),
        "names": _joined(points.names[mask]), "ids": _joined(points.ids[mask]),
    }  # fmt: skip


def view_chunk(
    points: AccountPoints,
    view: tuple[float, float, float, float],
    zoom: int,
    *,
    limit: int,
    pad: float = 0.5,
) -> dict[str, Any]:
    """What to draw in ``view`` (south, west, north, east) at ``zoom``, with a margin around it.

    The view is widened by ``pad`` of its size on each side, so a small pan
    needs nothing new. With at most ``limit`` accounts in the widened box
    (else in a box widened by a quarter of that, else in the view itself)
    the chunk holds them all: ``kind`` "points",
    ``xy`` (base64 int32 latitude, longitude pairs in 1e-5 degrees), ``t``
    (uint16 territory index), ``names``, ``ids`` (joined by U+001F). Else
    it holds the cells of ``zoom`` in the widened box (``kind`` "cells", as
    :func:`cells_at`). Either way ``box`` says the area it covers.

    Raises
    ------
    InputError
        For a view that is not four finite numbers south < north, west < east,
        or a zoom out of range.
    """
    box = _checked(view)
    wide = _padded(box, pad)
    zoom = _zoom(zoom)
    for area in (wide, _padded(box, pad / 4), box):
        mask = _in_box(points, area)
        if int(mask.sum()) <= limit:
            return {**_points_payload(points, mask), "box": list(area), "z": zoom}
    mask = _in_box(points, wide)
    return {**cells_at(points, zoom, mask), "kind": "cells", "box": list(wide)}


def _checked(view: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    try:
        south, west, north, east = (float(v) for v in view)
    except (TypeError, ValueError):
        south = west = north = east = math.nan
    if not all(map(math.isfinite, (south, west, north, east))) or south > north or west > east:
        raise InputError("cannot find the accounts in view", [Problem(
            f"the view {view!r} is not south, west, north, east",
            fix="give four numbers with south <= north and west <= east")])  # fmt: skip
    return south, west, north, east
