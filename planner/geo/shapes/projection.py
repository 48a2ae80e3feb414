"""Projections and coordinates: the local metric CRS, areas in m² and point coordinates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from planner import schema as s

__all__ = ["area_scale", "area_scale_floor", "local_crs", "looks_geographic", "point_xy"]


def local_crs(geometries: gpd.GeoSeries | gpd.GeoDataFrame) -> CRS:
    """Return a projected CRS in metres suited to ``geometries``: the UTM zone of their centre.

    Parameters
    ----------
    geometries
        Geometries with a CRS (a geographic or a projected one).

    Returns
    -------
    pyproj.CRS
        The input CRS itself when it is already projected in metres,
        otherwise the WGS 84 UTM zone of the centre of the bounds.
    """
    crs = geometries.crs
    if crs is not None:
        crs = CRS.from_user_input(crs)
        if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
            return crs
    series = geometries.geometry if isinstance(geometries, gpd.GeoDataFrame) else geometries
    usable = series[~(series.isna() | series.is_empty)]
    if usable.empty:
        return CRS.from_epsg(3857)
    if crs is not None and not crs.is_geographic:
        usable = usable.to_crs(s.STORAGE_CRS)
    xmin, ymin, xmax, ymax = usable.total_bounds
    lon = (xmin + xmax) / 2
    lat = (ymin + ymax) / 2
    zone = int(np.clip(math.floor((lon + 180) / 6) + 1, 1, 60))
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def looks_geographic(bounds: Sequence[float]) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return bool(
        np.isfinite(bounds).all() and -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90
    )


def area_scale(series: gpd.GeoSeries, *, local: CRS | None = None) -> np.ndarray:
    """Per geometry, the factor turning its area in its own CRS into m².

    ``local`` is the metric CRS to measure in (default: :func:`local_crs` of ``series``).
    """
    if series.crs is None:
        return np.ones(len(series))
    crs = CRS.from_user_input(series.crs)
    if crs.is_projected:
        return np.full(len(series), _unit_area(crs))
    projected = series.to_crs(local if local is not None else local_crs(series))
    own = shapely.area(series.values)
    metric = shapely.area(projected.values)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(own > 0, metric / own, 0.0)
    return scale


def area_scale_floor(geoms: np.ndarray, crs: object) -> np.ndarray:
    """Per geometry, a factor no larger than :func:`area_scale`'s, without reprojecting.

    In longitude/latitude degrees a square degree holds at least
    1.2e10 m² x cos(latitude) (and the UTM zones of :func:`local_crs` scale
    areas by at least 0.9992); half of that at the
    geometry's latitude farthest from the equator is a safe floor. Other
    geographic units get 0 (no floor), projected CRSs their exact factor.
    """
    if crs is None:
        return np.ones(len(geoms))
    parsed = CRS.from_user_input(crs)
    if parsed.is_projected:
        return np.full(len(geoms), _unit_area(parsed))
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if not parsed.is_geographic or unit not in ("degree", "degrees"):
        return np.zeros(len(geoms))
    bounds = shapely.bounds(geoms)
    far = np.minimum(np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])), 90.0)
    floor = 0.5 * 1.2e10 * np.cos(np.radians(far))
    return np.where(np.isfinite(floor), np.maximum(floor, 0.0), 0.0)


def _unit_area(crs: CRS) -> float:
    """Square metres per square unit of a projected CRS."""
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return float(unit * unit)


def point_xy(points: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Return the x and y of point geometries; NaN for missing or empty ones."""
    geoms = np.asarray(points.geometry.values, dtype=object)
    return (
        np.asarray(shapely.get_x(geoms), dtype=float),
        np.asarray(shapely.get_y(geoms), dtype=float),
    )
