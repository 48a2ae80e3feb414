"""H3 hexagon units made from the accounts, for users who have no ZIP or county layer.

The resolution follows the accounts' density: the finest H3 resolution at
which the occupied cells hold, on average, at least
``target_accounts_per_cell`` accounts. Dense city data gets small hexagons,
a thin national list large ones. (Unit adjacency lives in
:mod:`planner.geo.adjacency`.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = [
    "H3_MAX_RESOLUTION",
    "H3_MIN_RESOLUTION",
    "ResolutionChoice",
    "choose_h3_resolution",
    "h3_units",
]

logger = logging.getLogger(__name__)

#: Coarsest resolution considered (cells of about 12,000 km²).
H3_MIN_RESOLUTION = 3
#: Finest resolution considered (cells of about 0.015 km²).
H3_MAX_RESOLUTION = 10
#: Default density target: accounts per occupied cell.
DEFAULT_ACCOUNTS_PER_CELL = 20.0


@dataclass(frozen=True)
class ResolutionChoice:
    """The chosen H3 resolution and the density figures behind it.

    Parameters
    ----------
    resolution
        The chosen resolution.
    accounts_per_cell
        Resolution -> mean accounts per occupied cell.
    cell_area_km2
        Average hexagon area at the chosen resolution.
    """

    resolution: int
    accounts_per_cell: dict[int, float]
    cell_area_km2: float

    def __post_init__(self) -> None:
        if not 0 <= self.resolution <= 15:
            raise InputError(
                "bad H3 resolution",
                [Problem(f"resolution {self.resolution} is outside 0..15", fix="use 0 to 15")],
            )


def _lat_lng(accounts: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    pts = accounts
    if accounts.crs is not None and not accounts.crs.equals("EPSG:4326"):
        pts = accounts.to_crs(s.STORAGE_CRS)
    geoms = np.asarray(pts.geometry.values, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    lng = np.asarray(shapely.get_x(geoms[usable]), dtype=float)
    lat = np.asarray(shapely.get_y(geoms[usable]), dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lng)
    return lat[ok], lng[ok]


def _cells(lat: np.ndarray, lng: np.ndarray, resolution: int) -> np.ndarray:
    return np.array(
        [
            h3.latlng_to_cell(a, b, resolution)
            for a, b in zip(lat.tolist(), lng.tolist(), strict=True)
        ],
        dtype=object,
    )


def choose_h3_resolution(
    accounts: gpd.GeoDataFrame,
    *,
    target_accounts_per_cell: float = DEFAULT_ACCOUNTS_PER_CELL,
    min_resolution: int = H3_MIN_RESOLUTION,
    max_resolution: int = H3_MAX_RESOLUTION,
) -> ResolutionChoice:
    """Choose an H3 resolution from the accounts' density.

    Parameters
    ----------
    accounts
        Account points (any CRS).
    target_accounts_per_cell
        The wanted mean number of accounts per occupied cell.
    min_resolution, max_resolution
        The range searched.

    Returns
    -------
    ResolutionChoice
        The finest resolution whose occupied cells hold on average at least
        the target (``min_resolution`` when even that is too fine).

    Raises
    ------
    InputError
        If no account has a location, or the range or target is invalid.
    """
    if not 0 <= min_resolution <= max_resolution <= 15 or target_accounts_per_cell <= 0:
        raise InputError(
            "bad H3 resolution range",
            [
                Problem(
                    f"need 0 <= min_resolution ({min_resolution}) <= max_resolution "
                    f"({max_resolution}) <= 15 and a positive target",
                    fix="use the defaults",
                )
            ],
        )
    lat, lng = _lat_lng(accounts)
    if not len(lat):
        raise InputError(
            "no account has a location",
            [Problem("no account has coordinates", fix="geocode the accounts first")],
        )
    fine = pd.Series(_cells(lat, lng, max_resolution)).value_counts()
    per_cell: dict[int, float] = {}
    cells = fine
    chosen = min_resolution
    for res in range(max_resolution, min_resolution - 1, -1):
        if res < max_resolution:
            parents = [h3.cell_to_parent(c, res) for c in cells.index]
            cells = cells.groupby(np.array(parents, dtype=object)).sum()
        per_cell[res] = float(len(lat) / len(cells))
    for res in range(max_resolution, min_resolution - 1, -1):
        if per_cell[res] >= target_accounts_per_cell:
            chosen = res
            break
    area = float(h3.average_hexagon_area(chosen, unit="km^2"))
    logger.info("H3 resolution %d (%.1f accounts per occupied cell)", chosen, per_cell[chosen])
    return ResolutionChoice(chosen, dict(sorted(per_cell.items())), area)


def h3_units(
    accounts: gpd.GeoDataFrame,
    *,
    resolution: int | None = None,
    target_accounts_per_cell: float = DEFAULT_ACCOUNTS_PER_CELL,
    fill: bool = False,
) -> gpd.GeoDataFrame:
    """Make H3 hexagon units from the accounts.

    Parameters
    ----------
    accounts
        Account points (any CRS).
    resolution
        H3 resolution; chosen by :func:`choose_h3_resolution` when ``None``.
    target_accounts_per_cell
        Density target used to choose the resolution.
    fill
        Also make the empty cells inside the accounts' convex hull, so the
        units cover the area without holes; otherwise only occupied cells.

    Returns
    -------
    geopandas.GeoDataFrame
        In the shape of ``TABLES["units"]`` (``unit_id`` is the H3 index,
        ``unit_type`` ``"h3"``) plus ``account_count`` and
        ``h3_resolution``, EPSG:4326, sorted by ``unit_id``.

    Raises
    ------
    InputError
        If no account has a location.
    """
    if resolution is None:
        resolution = choose_h3_resolution(
            accounts, target_accounts_per_cell=target_accounts_per_cell
        ).resolution
    if not 0 <= resolution <= 15:
        raise InputError(
            "bad H3 resolution",
            [Problem(f"resolution {resolution} is outside 0..15", fix="use 0 to 15")],
        )
    lat, lng = _lat_lng(accounts)
    if not len(lat):
        raise InputError(
            "no account has a location",
            [Problem("no account has coordinates", fix="geocode the accounts first")],
        )
    counts = pd.Series(_cells(lat, lng, resolution)).value_counts()
    cells = set(counts.index)
    if fill:
        hull = shapely.MultiPoint(np.column_stack([lng, lat])).convex_hull
        hull = hull.buffer(0) if hull.geom_type == "Polygon" else hull.buffer(1e-9)
        if not hull.is_empty and hull.geom_type == "Polygon":
            shape = h3.LatLngPoly([(y, x) for x, y in hull.exterior.coords])
            cells |= set(h3.polygon_to_cells(shape, resolution))
    ordered = sorted(cells)
    polys = [shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in ordered]
    frame = gpd.GeoDataFrame(
        {
            s.UNIT_ID: pd.Series(ordered, dtype=object),
            s.NAME: pd.Series(ordered, dtype=object),
            s.UNIT_TYPE: "h3",
            "account_count": counts.reindex(ordered, fill_value=0).to_numpy(dtype=np.int64),
            "h3_resolution": resolution,
        },
        geometry=gpd.GeoSeries(polys, crs=s.STORAGE_CRS),
    )
    return frame
