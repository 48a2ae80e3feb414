"""Reading what a map's draw tool returns (GeoJSON) into one valid territory polygon."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.errors import GeometryRepairWarning, InputError, Problem
from planner.geo.shapes.projection import local_crs
from planner.geo.shapes.repair import DEFAULT_MIN_PART_AREA_M2, polygonal_part, repair_polygons

__all__ = ["geometry_from_geojson"]


def _close_rings(coords: Any, notes: list[str], label: str) -> list[list[list[float]]]:
    rings = []
    for ring in coords:
        pts = [list(map(float, p[:2])) for p in ring]
        if len(pts) and pts[0] != pts[-1]:
            pts.append(pts[0])
            notes.append(f"{label}: an unclosed ring was closed")
        if len(pts) < 4:
            notes.append(f"{label}: a ring with fewer than three corners was dropped")
            continue
        rings.append(pts)
    return rings


def _polygon_from_coords(coords: Any, notes: list[str], label: str) -> BaseGeometry:
    rings = _close_rings(coords, notes, label)
    if not rings:
        return shapely.Polygon()
    return shapely.Polygon(rings[0], rings[1:])


def _geometry_from_dict(
    geom: Mapping[str, Any], properties: Mapping[str, Any], label: str, notes: list[str]
) -> BaseGeometry:
    kind = geom.get("type")
    coords = geom.get("coordinates")
    try:
        if kind == "Polygon":
            return _polygon_from_coords(coords, notes, label)
        if kind == "MultiPolygon":
            parts = [_polygon_from_coords(c, notes, label) for c in coords or []]
            parts = [p for p in parts if not p.is_empty]
            return shapely.MultiPolygon(parts) if parts else shapely.Polygon()
        if kind == "Point" and properties.get("radius") is not None:
            return _circle(coords, float(properties["radius"]))
        if kind == "GeometryCollection":
            members = [
                _geometry_from_dict(g, {}, label, notes) for g in geom.get("geometries") or []
            ]
            return shapely.GeometryCollection(members)
        if kind in ("Point", "MultiPoint", "LineString", "MultiLineString"):
            return shapely.geometry.shape(geom)
    except (TypeError, ValueError, IndexError, shapely.errors.ShapelyError) as exc:
        raise InputError(
            f"{label}: unreadable coordinates",
            [Problem(f"{label}: unreadable {kind} coordinates ({exc})", fix="redraw the shape")],
        ) from exc
    raise InputError(
        f"{label}: unknown geometry type {kind!r}",
        [Problem(f"{label}: unknown geometry type {kind!r}", fix="draw a polygon")],
    )


def _circle(center: Any, radius_m: float) -> BaseGeometry:
    """A circle drawn on the map (a point with a radius in metres) as a polygon."""
    lon, lat = float(center[0]), float(center[1])
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=s.STORAGE_CRS)
    utm = local_crs(point)
    circle = point.to_crs(utm).buffer(radius_m, quad_segs=16).to_crs(s.STORAGE_CRS).iloc[0]
    return shapely.orient_polygons(circle)


def geometry_from_geojson(
    obj: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    label: str = "drawn shape",
    min_part_area_m2: float = DEFAULT_MIN_PART_AREA_M2,
) -> BaseGeometry:
    """Turn what a map's draw tool returns into one valid territory polygon in EPSG:4326.

    Accepts a GeoJSON geometry, a Feature, a FeatureCollection or a list of
    Features (Leaflet.draw's ``all_drawings``). Polygons and multipolygons
    are merged into one shape; a circle (a Point with a ``radius`` property
    in metres, as Leaflet.draw exports it) becomes a polygon. Unclosed rings
    are closed, invalid shapes repaired, clockwise rings re-oriented and
    slivers removed, each with a :class:`~planner.errors.GeometryRepairWarning`.

    Parameters
    ----------
    obj
        The GeoJSON, as a dictionary (or a list of Feature dictionaries).
    label
        Name of the shape in messages, e.g. the territory's id.
    min_part_area_m2
        Parts and holes below this area are slivers.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon

    Raises
    ------
    InputError
        When a feature is a point (without radius) or a line, or nothing
        polygonal is left; the message names the feature.
    """
    frame = _read_features(_features(obj, label), label)
    if frame.empty:
        raise InputError(
            f"{label}: no shape",
            [Problem(f"{label}: the drawing holds no feature", fix="draw a polygon")],
        )
    repaired = repair_polygons(
        frame,
        warn_orientation=True,
        id_column="label",
        what="drawn shape",
        min_part_area_m2=min_part_area_m2,
        allow_empty=False,
    )
    merged = shapely.union_all(repaired.geometry.values)
    merged = polygonal_part(merged)
    if merged is None:
        raise InputError(
            f"{label}: nothing polygonal was drawn",
            [Problem(f"{label}: the drawing has no polygon area", fix="draw a polygon")],
        )
    return shapely.orient_polygons(merged)


def _features(obj: Mapping[str, Any] | Sequence[Mapping[str, Any]], label: str) -> list[Any]:
    """The GeoJSON Features of ``obj`` (a geometry becomes one Feature)."""
    if isinstance(obj, Mapping) and obj.get("type") == "FeatureCollection":
        return list(obj.get("features") or [])
    if isinstance(obj, Mapping) and obj.get("type") == "Feature":
        return [obj]
    if isinstance(obj, Mapping) and "type" in obj:
        return [{"type": "Feature", "geometry": obj, "properties": {}}]
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return list(obj)
    raise InputError(
        f"{label}: not GeoJSON",
        [
            Problem(
                f"{label}: expected a GeoJSON Feature, FeatureCollection or geometry",
                fix="pass the map's drawing",
            )
        ],
    )


def _read_features(features: list[Any], label: str) -> gpd.GeoDataFrame:
    """The features as a frame (``label`` and geometry), warning once about ring repairs."""
    notes: list[str] = []
    geoms: list[BaseGeometry | None] = []
    names: list[str] = []
    for i, feature in enumerate(features):
        name = label if len(features) == 1 else f"{label} feature {i + 1}"
        props = dict(feature.get("properties") or {})
        geometry = feature.get("geometry")
        names.append(str(props.get("name") or props.get("id") or name))
        if not geometry:
            geoms.append(None)
            continue
        geoms.append(_geometry_from_dict(geometry, props, name, notes))
    if notes:
        text = "; ".join(dict.fromkeys(notes))
        warnings.warn(text, GeometryRepairWarning, stacklevel=3)
    return gpd.GeoDataFrame({"label": names}, geometry=gpd.GeoSeries(geoms, crs=s.STORAGE_CRS))
