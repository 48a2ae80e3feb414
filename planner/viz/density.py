"""Where the business is dense: accounts (or their revenue, workload) summed on a grid.

A density view needs no browser plugin: the accounts are binned on a grid of
near-square cells (their width corrected for latitude) with numpy, and only
the occupied cells are drawn, coloured by class. A million accounts become a
few thousand cells, which is also how a map of that size stays fast.
"""

from __future__ import annotations

import math

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = ["DENSITY_COLORS", "add_density", "density_grid"]

#: Class colours, lightest (least) first: a sequential yellow-orange-red scale.
DENSITY_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


def density_grid(
    accounts: gpd.GeoDataFrame, *, weight: str | None = None, cells_across: int = 60
) -> gpd.GeoDataFrame:
    """Sum the accounts (or a numeric column of theirs) on a grid over their extent.

    Parameters
    ----------
    accounts
        Account points (any CRS; read in EPSG:4326).
    weight
        A numeric column to sum (e.g. ``annual_revenue``); ``None`` counts accounts.
    cells_across
        Cells along the longer side of the extent (10 to 400).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell: ``accounts``, ``value`` (the count or the
        sum), ``class`` (0-4, by quintile of the values) and the cell's box.

    Raises
    ------
    InputError
        For an unknown or non-numeric ``weight`` or a grid size out of range.
    """
    _check(accounts, weight, cells_across)
    lon, lat, values = _points(accounts, weight)
    if not len(lon):
        return _frame([], [], [], [])
    size_y, size_x = _cell_size(lon, lat, cells_across)
    x0, y0 = float(lon.min()), float(lat.min())
    ix = np.floor((lon - x0) / size_x).astype(np.int64)
    iy = np.floor((lat - y0) / size_y).astype(np.int64)
    cells, inverse = np.unique(iy * (cells_across * 4 + 1) + ix, return_inverse=True)
    counts = np.bincount(inverse)
    sums = np.bincount(inverse, weights=values)
    cx, cy = cells % (cells_across * 4 + 1), cells // (cells_across * 4 + 1)
    boxes = shapely.box(x0 + cx * size_x, y0 + cy * size_y,
                        x0 + (cx + 1) * size_x, y0 + (cy + 1) * size_y)  # fmt: skip
    return _frame(counts, sums, _classes(sums), boxes)


def _check(accounts: gpd.GeoDataFrame, weight: str | None, cells_across: int) -> None:
    problems = []
    if weight is not None and weight not in accounts.columns:
        fix = "pick a numeric column of the accounts, or count them"
        problems.append(Problem(f"there is no column '{weight}'", column=weight, fix=fix))
    elif weight is not None and not pd.api.types.is_numeric_dtype(accounts[weight]):
        problems.append(Problem(f"'{weight}' is not numeric", column=weight,
                                fix="pick a numeric column such as annual_revenue"))  # fmt: skip
    if not 10 <= int(cells_across) <= 400:
        problems.append(Problem(f"{cells_across} cells across is out of range",
                                fix="use 10 to 400"))  # fmt: skip
    if problems:
        raise InputError("cannot draw the density", problems)


def _points(
    accounts: gpd.GeoDataFrame, weight: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    geoms = accounts.geometry
    if accounts.crs is not None and not accounts.crs.equals(s.STORAGE_CRS):
        geoms = geoms.to_crs(s.STORAGE_CRS)
    arr = np.asarray(geoms.values, dtype=object)
    lon, lat = shapely.get_x(arr), shapely.get_y(arr)
    if weight is None:
        values = np.ones(len(arr))
    else:
        values = pd.to_numeric(accounts[weight], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(values)
    return lon[keep], lat[keep], values[keep]


def _cell_size(lon: np.ndarray, lat: np.ndarray, cells_across: int) -> tuple[float, float]:
    """Cell height and width in degrees: near-square on the ground at the middle latitude."""
    squeeze = max(math.cos(math.radians(float(np.mean(lat)))), 0.05)
    span = max(float(np.ptp(lat)), float(np.ptp(lon)) * squeeze, 1e-6)
    size_y = span / cells_across * (1 + 1e-9)
    return size_y, size_y / squeeze


def _classes(values: np.ndarray) -> np.ndarray:
    """Quintile class (0-4) of each value; equal values share a class."""
    if len(values) < 2 or np.ptp(values) == 0:
        return np.full(len(values), len(DENSITY_COLORS) - 1, dtype=np.int64)
    edges = np.quantile(values, [0.2, 0.4, 0.6, 0.8])
    return np.searchsorted(edges, values, side="left").astype(np.int64)


def _frame(counts: object, sums: object, classes: object, boxes: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "accounts": np.asarray(counts, dtype=np.int64),
            "value": np.asarray(sums, dtype=float),
            "class": np.asarray(classes, dtype=np.int64),
        },
        geometry=gpd.GeoSeries(np.asarray(boxes, dtype=object), crs=s.STORAGE_CRS),
    )


def add_density(
    m: folium.Map, grid: gpd.GeoDataFrame, *, label: str = "accounts", name: str = "Density"
) -> folium.FeatureGroup | None:
    """Draw a :func:`density_grid` as coloured cells with their value on hover."""
    if grid.empty:
        return None
    group = folium.FeatureGroup(name=name, show=True)
    data = grid.assign(
        tip=[f"{v:,.0f} {label} ({n:,} accounts)" if label != "accounts" else f"{n:,} accounts"
             for v, n in zip(grid["value"], grid["accounts"], strict=True)],
        color=[DENSITY_COLORS[int(c)] for c in grid["class"]],
    )  # fmt: skip
    folium.GeoJson(
        data[["tip", "color", "geometry"]].to_json(drop_id=True),
        style_function=lambda f: {
            "color": f["properties"]["color"],
            "weight": 0.5,
            "fillColor": f["properties"]["color"],
            "fillOpacity": 0.85,
        },
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(group)
    group.add_to(m)
    return group
