"""Territory shapes: repair, reprojection, drawn GeoJSON, dissolving units, overlaps and gaps.

Every function here takes and returns GeoDataFrames (or shapely geometries)
and never changes its input. Repairs are reported as
:class:`~planner.errors.GeometryRepairWarning`, one warning per kind of repair
naming the territories (or units) concerned; input that cannot be repaired
raises :class:`~planner.errors.InputError` naming the feature.

Areas are computed in a local projected CRS (:func:`local_crs`: the UTM zone
of the data's centre), so ``area_m2`` is in square metres whatever the input
CRS.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.errors import GeometryRepairWarning, InputError, PlannerWarning, Problem, format_ids
from planner.geo.locate import locate_points

__all__ = [
    "DEFAULT_MIN_PART_AREA_M2",
    "DrawnTerritory",
    "GapReport",
    "dissolve_units",
    "drawn_territory",
    "find_gaps",
    "find_overlaps",
    "geometry_from_geojson",
    "local_crs",
    "point_xy",
    "prepare_polygons",
    "repair_polygons",
    "territory_from_units",
]

logger = logging.getLogger(__name__)

#: Polygon parts and holes smaller than this are slivers and are removed.
DEFAULT_MIN_PART_AREA_M2 = 1.0
_POLYGONAL = ("Polygon", "MultiPolygon")


# --------------------------------------------------------------------------- CRS


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


def _looks_geographic(bounds: Sequence[float]) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return bool(
        np.isfinite(bounds).all() and -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90
    )


# --------------------------------------------------------------------------- repair


def _labels(frame: gpd.GeoDataFrame, id_column: str | None) -> list[str]:
    """Names of the features for messages: their id, else ``feature <row>``."""
    if id_column and id_column in frame.columns:
        ids = frame[id_column].tolist()
        return [
            str(v) if v is not None and v == v else f"feature {i + 1}" for i, v in enumerate(ids)
        ]
    if s.NAME in frame.columns:
        names = frame[s.NAME].tolist()
        return [
            str(v) if v is not None and v == v else f"feature {i + 1}" for i, v in enumerate(names)
        ]
    return [f"feature {i + 1}" for i in range(len(frame))]


def _warn(message: str, labels: Iterable[str], what: str) -> str:
    """Warn once about one kind of repair, naming every feature it touched."""
    names = list(labels)
    noun = what if len(names) == 1 else _plural(what)
    prefix = "" if all(what in n for n in names) else f"{noun} "  # not "drawn shape drawn shape"
    text = f"{prefix}{format_ids(names)}: {message}"
    warnings.warn(text, GeometryRepairWarning, stacklevel=3)
    logger.info(text)
    return text


def _plural(what: str) -> str:
    if what.endswith("y") and not what.endswith(("ay", "ey", "oy")):
        return f"{what[:-1]}ies"
    return f"{what}s"


def _polygonal_part(g: BaseGeometry | None) -> BaseGeometry | None:
    """The polygonal part of ``g`` (``None`` if it has none)."""
    if g is None or g.is_empty:
        return None
    if g.geom_type in _POLYGONAL:
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in _POLYGONAL]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return None if merged.is_empty else merged


def _drop_slivers(g: BaseGeometry, area_scale: float, min_area_m2: float) -> BaseGeometry:
    """Remove parts and holes whose area (scaled to m²) is below ``min_area_m2``."""
    kept = []
    for part in shapely.get_parts(g):
        if part.area * area_scale < min_area_m2:
            continue
        holes = [h for h in part.interiors if shapely.Polygon(h).area * area_scale >= min_area_m2]
        kept.append(
            shapely.Polygon(part.exterior, holes) if len(holes) != len(part.interiors) else part
        )
    if not kept:
        return shapely.Polygon()
    return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)


def repair_polygons(
    frame: gpd.GeoDataFrame,
    *,
    id_column: str | None = s.TERRITORY_ID,
    what: str = "territory",
    min_part_area_m2: float = DEFAULT_MIN_PART_AREA_M2,
    allow_empty: bool = True,
    orient: bool = True,
    warn_orientation: bool = False,
) -> gpd.GeoDataFrame:
    """Return ``frame`` with every polygon valid, counter-clockwise and free of slivers.

    Repairs, each reported by one :class:`~planner.errors.GeometryRepairWarning`
    naming the features: invalid polygons (self-intersections, bow-ties) are
    made valid keeping their polygonal parts; geometry collections keep their
    polygons; exterior rings are made counter-clockwise and holes clockwise
    (the GeoJSON rule; reported only when ``warn_orientation``, since
    Shapefiles and GEOS use the opposite convention); parts and holes smaller
    than ``min_part_area_m2`` are removed.

    Parameters
    ----------
    frame
        Features with a ``geometry`` column and a CRS.
    id_column
        Column naming the features in messages.
    what
        What a feature is, for messages (``"territory"``, ``"unit"``).
    min_part_area_m2
        Area below which a part or a hole is a sliver.
    allow_empty
        Whether a missing or empty geometry is allowed (a territory defined
        by a rule only); otherwise it is an error.
    orient
        Re-orient rings (not needed to locate points; the assignment skips it
        for speed).
    warn_orientation
        Warn about re-oriented rings (for GeoJSON, where the orientation is
        part of the format).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy; missing and empty geometries become ``None``.

    Raises
    ------
    InputError
        Naming every feature that is not a polygon (a point or a line where
        a polygon was expected), or is empty when ``allow_empty`` is false.
    """
    out = frame.copy()
    labels = _labels(out, id_column)
    geoms = np.asarray(out.geometry.values, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kinds = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    problems: list[Problem] = []
    collection = (kinds == "GeometryCollection") & ~missing
    wrong = ~missing & ~np.isin(kinds, [*_POLYGONAL, "GeometryCollection"])
    for kind in sorted(set(kinds[wrong])):
        rows = np.flatnonzero(wrong & (kinds == kind))
        problems.append(
            Problem(
                f"{what} {format_ids(labels[i] for i in rows)}: a {kind} where a polygon was "
                "expected",
                rows=tuple(int(i) + 1 for i in rows),
                column=s.GEOMETRY,
                fix=f"use a polygon for each {what} (points belong in the accounts file)",
            )
        )
    if collection.any():
        for i in np.flatnonzero(collection):
            geoms[i] = _polygonal_part(geoms[i])
        no_poly = collection & shapely.is_missing(geoms)
        for i in np.flatnonzero(no_poly):
            problems.append(
                Problem(
                    f"{what} {labels[i]}: a geometry collection without any polygon",
                    rows=(int(i) + 1,),
                    column=s.GEOMETRY,
                    fix=f"draw the {what} as a polygon",
                )
            )
        kept = collection & ~no_poly
        if kept.any():
            _warn(
                "points or lines mixed with the polygons were dropped",
                [labels[i] for i in np.flatnonzero(kept)],
                what,
            )
    if not allow_empty and missing.any():
        rows = np.flatnonzero(missing)
        problems.append(
            Problem(
                f"{what} {format_ids(labels[i] for i in rows)}: empty or missing geometry",
                rows=tuple(int(i) + 1 for i in rows),
                column=s.GEOMETRY,
                fix=f"draw a polygon for each {what}, or remove it",
            )
        )
    if problems:
        raise InputError(f"{len(problems)} problem(s) with the {what} shapes", problems)

    present = ~shapely.is_missing(geoms) & ~missing
    idx = np.flatnonzero(present)
    # invalid geometry: self-intersections, bow-ties, bad rings
    invalid = idx[~shapely.is_valid(geoms[idx])]
    if len(invalid):
        reasons = [shapely.is_valid_reason(geoms[i]).split("[")[0] for i in invalid]
        for i in invalid:
            geoms[i] = _polygonal_part(shapely.make_valid(geoms[i], method="structure"))
        named = [f"{labels[i]} ({r})" for i, r in zip(invalid, reasons, strict=True)]
        _warn("invalid shape repaired", named, what)
    # slivers: tiny parts and holes
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    idx = np.flatnonzero(present)
    if len(idx) and min_part_area_m2 > 0:
        scale = _area_scale(gpd.GeoSeries(geoms[idx], crs=out.crs))
        parts, owner = shapely.get_parts(geoms[idx], return_index=True)
        suspect = np.zeros(len(idx), dtype=bool)
        suspect[owner[shapely.area(parts) * scale[owner] < min_part_area_m2]] = True
        suspect[owner[shapely.get_num_interior_rings(parts) > 0]] = True
        slivered = []
        for k in np.flatnonzero(suspect):
            i = idx[k]
            g = geoms[i]
            cleaned = _drop_slivers(g, float(scale[k]), min_part_area_m2)
            if not cleaned.equals_exact(g, 0.0):
                slivered.append(i)
                geoms[i] = cleaned
        if slivered:
            _warn(
                f"sliver parts or holes under {min_part_area_m2:g} m² removed",
                [labels[i] for i in slivered],
                what,
            )
    # orientation: exterior counter-clockwise, holes clockwise
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    idx = np.flatnonzero(present)
    if len(idx) and orient:
        oriented = shapely.orient_polygons(geoms[idx], exterior_cw=False)
        changed = ~shapely.equals_exact(oriented, geoms[idx], tolerance=0.0)
        if changed.any():
            geoms[idx] = oriented
        if changed.any() and warn_orientation:
            _warn(
                "rings in the wrong orientation (exterior not counter-clockwise) re-oriented",
                [labels[i] for i in idx[changed]],
                what,
            )
    emptied = shapely.is_empty(geoms) & ~missing
    if emptied.any():
        rows = np.flatnonzero(emptied)
        if not allow_empty:
            raise InputError(
                f"{what} shapes became empty after repair",
                [
                    Problem(
                        f"{what} {format_ids(labels[i] for i in rows)}: nothing is left of the "
                        "shape after removing invalid and sliver parts",
                        rows=tuple(int(i) + 1 for i in rows),
                        column=s.GEOMETRY,
                        fix="redraw the polygon",
                    )
                ],
            )
        _warn(
            "had nothing left after repair and now have no shape", [labels[i] for i in rows], what
        )
    geoms[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = None
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


def _area_scale(series: gpd.GeoSeries) -> np.ndarray:
    """Per geometry, the factor turning its area in its own CRS into m²."""
    if series.crs is None:
        return np.ones(len(series))
    crs = CRS.from_user_input(series.crs)
    if crs.is_projected:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return np.full(len(series), unit * unit)
    projected = series.to_crs(local_crs(series))
    own = shapely.area(series.values)
    metric = shapely.area(projected.values)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(own > 0, metric / own, 0.0)
    return scale


def prepare_polygons(
    frame: gpd.GeoDataFrame,
    *,
    id_column: str | None = s.TERRITORY_ID,
    what: str = "territory",
    crs: Any = s.STORAGE_CRS,
    reference_crs: Any = None,
    allow_empty: bool = True,
    min_part_area_m2: float = DEFAULT_MIN_PART_AREA_M2,
    orient: bool = True,
) -> gpd.GeoDataFrame:
    """Check, repair and reproject imported or drawn polygons.

    The recipe: settle the CRS (a missing CRS is taken as EPSG:4326 with a
    warning when the coordinates look like longitude/latitude, otherwise it
    is an error); :func:`repair_polygons`; reproject to ``crs``.

    Parameters
    ----------
    frame
        Polygon features.
    id_column, what, allow_empty, min_part_area_m2, orient
        See :func:`repair_polygons`.
    crs
        Target CRS (the workspace stores EPSG:4326).
    reference_crs
        The CRS of the data the polygons will meet (the accounts'); when it
        differs from the polygons' own, a warning says they are reprojected.

    Returns
    -------
    geopandas.GeoDataFrame
        A repaired copy in ``crs``.

    Raises
    ------
    InputError
        When the CRS is missing and the coordinates are not longitude and
        latitude, or a feature cannot be used (see :func:`repair_polygons`).
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(
            f"{_plural(what)} need shapes",
            [Problem(f"the {_plural(what)} have no geometry column", fix="give them polygons")],
        )
    out = frame
    if out.crs is None:
        geoms = out.geometry
        bounds = geoms[~(geoms.isna() | geoms.is_empty)].total_bounds
        if len(out) and not np.isnan(bounds).all() and not _looks_geographic(bounds):
            raise InputError(
                f"the {_plural(what)} have no CRS",
                [
                    Problem(
                        f"the {what} shapes have no coordinate reference system and their "
                        f"coordinates ({format_ids(np.round(bounds, 1))}) are not "
                        "longitude/latitude",
                        column=s.GEOMETRY,
                        fix="give the file its CRS (a .prj next to a Shapefile, or crs= when "
                        "reading)",
                    )
                ],
            )
        text = (
            f"the {_plural(what)} have no CRS; their coordinates look like longitude/latitude, "
            "so EPSG:4326 is assumed"
        )
        warnings.warn(text, PlannerWarning, stacklevel=2)
        out = out.set_crs(s.STORAGE_CRS)
    if reference_crs is not None and not CRS.from_user_input(out.crs).equals(
        CRS.from_user_input(reference_crs)
    ):
        warnings.warn(
            f"the {_plural(what)} are in {CRS.from_user_input(out.crs).to_string()} and the "
            f"accounts in {CRS.from_user_input(reference_crs).to_string()}: the "
            f"{_plural(what)} were reprojected",
            PlannerWarning,
            stacklevel=2,
        )
    repaired = repair_polygons(
        out,
        id_column=id_column,
        what=what,
        min_part_area_m2=min_part_area_m2,
        allow_empty=allow_empty,
        orient=orient,
    )
    if crs is not None and not CRS.from_user_input(repaired.crs).equals(CRS.from_user_input(crs)):
        repaired = repaired.to_crs(crs)
    return repaired


# --------------------------------------------------------------------------- drawn GeoJSON


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
    if isinstance(obj, Mapping) and obj.get("type") == "FeatureCollection":
        features = list(obj.get("features") or [])
    elif isinstance(obj, Mapping) and obj.get("type") == "Feature":
        features = [obj]
    elif isinstance(obj, Mapping) and "type" in obj:
        features = [{"type": "Feature", "geometry": obj, "properties": {}}]
    elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        features = list(obj)
    else:
        raise InputError(
            f"{label}: not GeoJSON",
            [
                Problem(
                    f"{label}: expected a GeoJSON Feature, FeatureCollection or geometry",
                    fix="pass the map's drawing",
                )
            ],
        )
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
        warnings.warn(text, GeometryRepairWarning, stacklevel=2)
    frame = gpd.GeoDataFrame({"label": names}, geometry=gpd.GeoSeries(geoms, crs=s.STORAGE_CRS))
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
    merged = _polygonal_part(merged)
    if merged is None:
        raise InputError(
            f"{label}: nothing polygonal was drawn",
            [Problem(f"{label}: the drawing has no polygon area", fix="draw a polygon")],
        )
    return shapely.orient_polygons(merged)


@dataclass(frozen=True)
class DrawnTerritory:
    """A polygon drawn on the map, ready to become a territory.

    Parameters
    ----------
    geometry
        The repaired shape, EPSG:4326.
    account_ids
        Accounts inside it (boundary included), in the accounts' order.
    area_km2
        Its area.
    warnings
        What was repaired, for the user.
    """

    geometry: BaseGeometry
    account_ids: tuple[str, ...]
    area_km2: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def account_count(self) -> int:
        """How many accounts lie inside the shape."""
        return len(self.account_ids)

    def to_frame(
        self,
        territory_id: str,
        *,
        name: str = "",
        parent_id: str | None = None,
        type_id: str = "geographic",
        level: int = 0,
    ) -> gpd.GeoDataFrame:
        """Return the shape as a one-row territories frame (source ``"drawn"``)."""
        return gpd.GeoDataFrame(
            {
                s.TERRITORY_ID: [territory_id],
                s.NAME: [name or territory_id],
                s.PARENT_ID: [parent_id],
                s.LEVEL: [level],
                s.LEVEL_NAME: [None],
                s.TYPE_ID: [type_id],
                s.SOURCE: ["drawn"],
                s.RULE: [None],
            },
            geometry=gpd.GeoSeries([self.geometry], crs=s.STORAGE_CRS),
        )


def drawn_territory(
    geojson: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    accounts: gpd.GeoDataFrame | None = None,
    *,
    label: str = "drawn shape",
) -> DrawnTerritory:
    """Turn a map drawing into a territory shape and count the accounts inside.

    Parameters
    ----------
    geojson
        What Leaflet.draw returns (Feature, FeatureCollection, geometry or a
        list of Features), in longitude/latitude.
    accounts
        Account points (any CRS); ``None`` counts nothing.
    label
        Name of the shape in messages.

    Returns
    -------
    DrawnTerritory

    Raises
    ------
    InputError
        See :func:`geometry_from_geojson`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeometryRepairWarning)
        geometry = geometry_from_geojson(geojson, label=label)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, GeometryRepairWarning))
    for note in notes:
        warnings.warn(note, GeometryRepairWarning, stacklevel=2)
    series = gpd.GeoSeries([geometry], crs=s.STORAGE_CRS)
    area_km2 = float(series.to_crs(local_crs(series)).area.iloc[0]) / 1e6
    ids: tuple[str, ...] = ()
    if accounts is not None and len(accounts):
        shape = series.to_crs(accounts.crs).iloc[0] if accounts.crs is not None else geometry
        x, y = point_xy(accounts)
        located = locate_points(x, y, np.array([shape], dtype=object))
        inside = np.sort(located.point_index)
        ids = tuple(str(v) for v in accounts[s.ACCOUNT_ID].to_numpy()[inside])
    return DrawnTerritory(geometry, ids, area_km2, notes)


def point_xy(points: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Return the x and y of point geometries; NaN for missing or empty ones."""
    geoms = np.asarray(points.geometry.values, dtype=object)
    return (
        np.asarray(shapely.get_x(geoms), dtype=float),
        np.asarray(shapely.get_y(geoms), dtype=float),
    )


# --------------------------------------------------------------------------- units -> shapes


def territory_from_units(units: gpd.GeoDataFrame, unit_ids: Iterable[object]) -> BaseGeometry:
    """Return the union of the listed units (a territory built by clicking units).

    Parameters
    ----------
    units
        The units frame.
    unit_ids
        Ids of the units to merge.

    Raises
    ------
    InputError
        Naming unit ids that are not in ``units``.
    """
    wanted = [str(u) for u in unit_ids]
    known = units[s.UNIT_ID].astype(str)
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise InputError(
            "unknown units",
            [
                Problem(
                    f"no unit with id {format_ids(unknown)}",
                    column=s.UNIT_ID,
                    fix="pick units from the units layer",
                )
            ],
        )
    chosen = units.geometry[known.isin(wanted).to_numpy()].to_numpy()
    merged = shapely.union_all(chosen) if len(chosen) else shapely.Polygon()
    part = _polygonal_part(merged)
    return part if part is not None else shapely.Polygon()


def dissolve_units(
    units: gpd.GeoDataFrame,
    assignment: Mapping[str, str] | pd.Series | pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Merge units into territory shapes.

    Parameters
    ----------
    units
        The units frame (``unit_id``, geometry).
    assignment
        Unit id to territory id: a mapping, a Series indexed by unit id, or
        a frame with ``unit_id`` and ``territory_id`` columns (the
        ``unit_assignment`` table).

    Returns
    -------
    geopandas.GeoDataFrame
        ``territory_id``, ``unit_count`` and the merged geometry, in the
        units' CRS, sorted by territory id.

    Raises
    ------
    InputError
        Naming assigned unit ids that are not in ``units``.
    """
    if isinstance(assignment, pd.DataFrame):
        mapping = dict(
            zip(
                assignment[s.UNIT_ID].astype(str),
                assignment[s.TERRITORY_ID].astype(str),
                strict=True,
            )
        )
    else:
        mapping = {str(k): str(v) for k, v in dict(assignment).items()}
    unit_ids = units[s.UNIT_ID].astype(str)
    unknown = sorted(set(mapping) - set(unit_ids))
    if unknown:
        raise InputError(
            "the assignment names unknown units",
            [
                Problem(
                    f"units {format_ids(unknown)} are assigned but not in the units layer",
                    column=s.UNIT_ID,
                    fix="re-import the units or drop those rows",
                )
            ],
        )
    territory = unit_ids.map(mapping)
    keep = territory.notna().to_numpy()
    geoms = np.asarray(units.geometry.values, dtype=object)[keep]
    groups = territory[keep].to_numpy()
    rows = []
    for tid in sorted(set(groups)):
        members = geoms[groups == tid]
        merged = _polygonal_part(shapely.union_all(members))
        rows.append((tid, len(members), merged))
    return gpd.GeoDataFrame(
        {s.TERRITORY_ID: [r[0] for r in rows], "unit_count": [r[1] for r in rows]},
        geometry=gpd.GeoSeries([r[2] for r in rows], crs=units.crs),
    )


# --------------------------------------------------------------------------- overlaps & gaps


def find_overlaps(
    territories: gpd.GeoDataFrame,
    *,
    accounts: gpd.GeoDataFrame | None = None,
    same_type_only: bool = False,
    min_area_m2: float = DEFAULT_MIN_PART_AREA_M2,
) -> gpd.GeoDataFrame:
    """List the pairs of territories whose shapes overlap.

    Parameters
    ----------
    territories
        ``territory_id``, optional ``type_id``, geometry.
    accounts
        Account points; when given, ``accounts`` counts those in both.
    same_type_only
        Only pairs of the same territory type (the overlaps that the
        assignment must resolve; different types may overlap on purpose).
    min_area_m2
        Smaller overlaps (shared borders, rounding) are ignored.

    Returns
    -------
    geopandas.GeoDataFrame
        ``territory_a`` < ``territory_b``, ``type_a``, ``type_b``,
        ``area_m2``, ``accounts`` and the overlap as geometry, largest first.
    """
    columns = ["territory_a", "territory_b", "type_a", "type_b", "area_m2", "accounts"]
    geoms = np.asarray(territories.geometry.values, dtype=object)
    ids = territories[s.TERRITORY_ID].astype(str).to_numpy()
    types = (
        territories[s.TYPE_ID].fillna("geographic").astype(str).to_numpy()
        if s.TYPE_ID in territories.columns
        else np.full(len(ids), "geographic", dtype=object)
    )
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = geoms.copy()
    geoms[~usable] = None
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    if same_type_only:
        keep &= types[a] == types[b]
    a, b = a[keep], b[keep]
    inter = shapely.intersection(geoms[a], geoms[b])
    inter = np.array([_polygonal_part(g) for g in inter], dtype=object)
    series = gpd.GeoSeries(inter, crs=territories.crs)
    area = shapely.area(series.to_crs(local_crs(series)).values) if len(series) else np.zeros(0)
    area = np.nan_to_num(np.asarray(area, dtype=float))
    big = area >= min_area_m2
    a, b, inter, area = a[big], b[big], inter[big], area[big]
    counts = np.zeros(len(a), dtype=np.int64)
    if accounts is not None and len(a) and len(accounts):
        pts = accounts.to_crs(territories.crs) if accounts.crs != territories.crs else accounts
        x, y = point_xy(pts)
        counts = _count_in_pairs(x, y, geoms, a, b)
    ta, tb = ids[a], ids[b]
    swap = ta > tb
    ta, tb = np.where(swap, tb, ta), np.where(swap, ta, tb)
    tya, tyb = np.where(swap, types[b], types[a]), np.where(swap, types[a], types[b])
    frame = gpd.GeoDataFrame(
        {
            "territory_a": ta,
            "territory_b": tb,
            "type_a": tya,
            "type_b": tyb,
            "area_m2": area,
            "accounts": counts,
        },
        geometry=gpd.GeoSeries(inter, crs=territories.crs),
        columns=[*columns, "geometry"],
    )
    return frame.sort_values(
        ["area_m2", "territory_a", "territory_b"], ascending=[False, True, True]
    ).reset_index(drop=True)


def _count_in_pairs(
    x: np.ndarray, y: np.ndarray, geoms: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """How many points lie in both polygons of each pair ``(a[k], b[k])``."""
    involved = np.unique(np.concatenate([a, b]))
    located = locate_points(x, y, geoms[involved])
    hits = pd.DataFrame({"p": located.point_index, "poly": involved[located.polygon_index]})
    per_point = hits["p"].map(hits["p"].value_counts())
    hits = hits[(per_point > 1).to_numpy()]
    both = hits.merge(hits, on="p", suffixes=("_a", "_b"))
    both = both[both["poly_a"] < both["poly_b"]]
    counts = both.groupby(["poly_a", "poly_b"]).size()
    firsts = counts.index.get_level_values(0).to_numpy(dtype=np.int64).tolist()
    seconds = counts.index.get_level_values(1).to_numpy(dtype=np.int64).tolist()
    lookup = dict(zip(zip(firsts, seconds, strict=True), counts.tolist(), strict=True))
    return np.array(
        [lookup.get((int(min(i, j)), int(max(i, j))), 0) for i, j in zip(a, b, strict=True)],
        dtype=np.int64,
    )


@dataclass(frozen=True, eq=False)
class GapReport:
    """What no territory covers.

    Parameters
    ----------
    account_ids
        Accounts inside no territory shape.
    units
        ``unit_id`` and ``uncovered_share`` (0..1) of the units not fully
        covered by territory shapes.
    area
        The uncovered parts of the units' area (EPSG of the territories),
        empty when no units were given.
    area_m2
        Total uncovered area.
    """

    account_ids: tuple[str, ...]
    units: pd.DataFrame
    area: gpd.GeoSeries
    area_m2: float

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-friendly dictionary."""
        return {
            "accounts": list(self.account_ids),
            "units": self.units.to_dict("records"),
            "area_m2": round(self.area_m2, 1),
        }


def find_gaps(
    territories: gpd.GeoDataFrame,
    *,
    units: gpd.GeoDataFrame | None = None,
    accounts: gpd.GeoDataFrame | None = None,
    min_share: float = 0.01,
) -> GapReport:
    """Find units and accounts covered by no territory shape.

    Parameters
    ----------
    territories
        Territory shapes (only the leaves, usually; any polygons work).
    units
        Units whose coverage is checked.
    accounts
        Account points checked for coverage.
    min_share
        Units with less than this share uncovered count as covered (shared
        borders rarely match exactly).

    Returns
    -------
    GapReport
    """
    crs = territories.crs
    geoms = np.asarray(territories.geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    account_ids: tuple[str, ...] = ()
    if accounts is not None and len(accounts):
        pts = accounts.to_crs(crs) if crs is not None and accounts.crs != crs else accounts
        x, y = point_xy(pts)
        covered = np.zeros(len(pts), dtype=bool)
        if len(geoms):
            covered[locate_points(x, y, geoms).point_index] = True
        account_ids = tuple(str(v) for v in pts[s.ACCOUNT_ID].to_numpy()[~covered])
    unit_rows = pd.DataFrame(
        {s.UNIT_ID: pd.Series([], dtype=object), "uncovered_share": pd.Series([], dtype=float)}
    )
    area = gpd.GeoSeries([], crs=crs)
    area_m2 = 0.0
    if units is not None and len(units):
        u = units.to_crs(crs) if crs is not None and units.crs != crs else units
        metric = local_crs(u)
        u_m = u.to_crs(metric)
        cover = (
            shapely.union_all(gpd.GeoSeries(geoms, crs=crs).to_crs(metric).values)
            if len(geoms)
            else shapely.Polygon()
        )
        ugeoms = np.asarray(u_m.geometry.values, dtype=object)
        left = shapely.difference(ugeoms, cover)
        total = shapely.area(ugeoms)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, shapely.area(left) / total, 0.0)
        bad = share >= min_share
        unit_rows = pd.DataFrame(
            {s.UNIT_ID: u[s.UNIT_ID].astype(str).to_numpy()[bad], "uncovered_share": share[bad]}
        ).sort_values(s.UNIT_ID, ignore_index=True)
        gap = _polygonal_part(shapely.union_all(left[bad])) if bad.any() else None
        if gap is not None:
            area_m2 = float(gap.area)
            area = gpd.GeoSeries([gap], crs=metric).to_crs(crs)
    return GapReport(account_ids, unit_rows, area, area_m2)
