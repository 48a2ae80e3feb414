"""Selecting accounts by an area drawn on the map: a lasso (polygon, rectangle) or a radius.

A drawing arrives as a GeoJSON feature the way Leaflet.draw gives it: a
polygon, or a circle as a point with ``properties.radius`` in metres.
:func:`drawn_area` turns it into a shape in EPSG:4326 (a circle becomes a
polygon measured on the ground: buffered in a local azimuthal equidistant
projection around its centre), and :func:`accounts_in_area` lists the
accounts inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = ["accounts_in_area", "drawn_area"]

_CIRCLE_SEGMENTS = 64


def _error(message: str, fix: str) -> InputError:
    return InputError(message, [Problem(message, fix=fix)], source="drawing")


_MAX_RADIUS_M = 2_000_000.0  # a radius wider than a country is a slip of the mouse


def _circle(lon: float, lat: float, radius_m: float) -> BaseGeometry:
    """A circle of ``radius_m`` metres on the ground around (lon, lat), as a polygon in degrees."""
    local = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    back = Transformer.from_crs(local, s.STORAGE_CRS, always_xy=True)
    ring = shapely.Point(0.0, 0.0).buffer(radius_m, quad_segs=_CIRCLE_SEGMENTS // 4)
    xs, ys = np.asarray(ring.exterior.coords).T
    lons, lats = back.transform(xs, ys)
    return shapely.Polygon(np.column_stack([lons, lats]))


def drawn_area(feature: Mapping[str, Any]) -> BaseGeometry:
    """The area of a drawn feature in EPSG:4326: its polygon, or its circle as a polygon.

    Raises
    ------
    InputError
        For a drawing that is not a polygon, rectangle or circle, or a circle
        without a usable radius.
    """
    geometry = feature.get("geometry") if isinstance(feature, Mapping) else None
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    if kind in ("Polygon", "MultiPolygon"):
        area = shapely.make_valid(shape(geometry))
        if area.is_empty or area.area == 0:
            raise _error("the drawn area is empty", "draw a larger shape")
        return area
    if kind == "Point":
        props = feature.get("properties") or {}
        radius = props.get("radius") if isinstance(props, Mapping) else None
        if not isinstance(radius, int | float) or not 0 < float(radius) <= _MAX_RADIUS_M:
            raise _error(
                f"the circle's radius {radius!r} is not a distance up to 2,000 km",
                "draw the circle again",
            )
        lon, lat = (float(v) for v in geometry["coordinates"][:2])  # type: ignore[index]
        return _circle(lon, lat, float(radius))
    raise _error(
        f"a {kind or 'drawing'} does not enclose an area",
        "draw a polygon, a rectangle or a circle",
    )


def accounts_in_area(accounts: gpd.GeoDataFrame, area: BaseGeometry) -> list[str]:
    """Ids of the accounts inside ``area`` or on its edge, in table order (unlocated ones never)."""
    points = accounts.to_crs(s.STORAGE_CRS) if accounts.crs is not None else accounts
    geoms = np.asarray(points.geometry.values, dtype=object)
    located = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    inside = np.zeros(len(geoms), dtype=bool)
    if located.any():
        shapely.prepare(area)  # in place: many points against one shape
        inside[located] = shapely.covers(area, geoms[located])
    return points.loc[inside, s.ACCOUNT_ID].astype(str).tolist()
