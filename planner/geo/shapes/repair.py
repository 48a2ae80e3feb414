"""Repairing polygons: invalid shapes, mixed collections, slivers and ring orientation."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.errors import GeometryRepairWarning, InputError, Problem, format_ids
from planner.geo.shapes.projection import area_scale, area_scale_floor, local_crs

__all__ = ["DEFAULT_MIN_PART_AREA_M2", "plural", "polygonal_part", "repair_polygons"]

logger = logging.getLogger(__name__)

#: Polygon parts and holes smaller than this are slivers and are removed.
DEFAULT_MIN_PART_AREA_M2 = 1.0
_POLYGONAL = ("Polygon", "MultiPolygon")
#: Geometry type names by shapely type id.
_TYPE_NAMES = np.array(
    [
        "Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
        "MultiPolygon", "GeometryCollection",
    ]
)  # fmt: skip


class _Labels:
    """Names of the features for messages: their id, else ``feature <row>``.

    Made only for the features a message names (37,000 clean shapes need none).
    """

    def __init__(self, frame: gpd.GeoDataFrame, id_column: str | None) -> None:
        column = (
            id_column
            if id_column and id_column in frame.columns
            else (s.NAME if s.NAME in frame.columns else None)
        )
        self._values = None if column is None else frame[column].to_numpy(dtype=object)

    def __getitem__(self, i: int | np.integer) -> str:
        v = None if self._values is None else self._values[i]
        return str(v) if v is not None and v == v else f"feature {int(i) + 1}"


def _warn(message: str, labels: Iterable[str], what: str) -> str:
    """Warn once about one kind of repair, naming every feature it touched."""
    names = list(labels)
    noun = what if len(names) == 1 else plural(what)
    prefix = "" if all(what in n for n in names) else f"{noun} "  # not "drawn shape drawn shape"
    text = f"{prefix}{format_ids(names)}: {message}"
    warnings.warn(
        text, GeometryRepairWarning, stacklevel=4
    )  # _warn < step < repair_polygons < caller
    logger.info(text)
    return text


def plural(what: str) -> str:
    if what.endswith("y") and not what.endswith(("ay", "ey", "oy")):
        return f"{what[:-1]}ies"
    return f"{what}s"


def polygonal_part(g: BaseGeometry | None) -> BaseGeometry | None:
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
    labels = _Labels(out, id_column)
    geoms = np.asarray(out.geometry.values, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    _keep_polygons(geoms, missing, labels, what, allow_empty)
    _make_valid(geoms, missing, labels, what)
    if min_part_area_m2 > 0:
        _remove_slivers(geoms, out.crs, labels, what, min_part_area_m2)
    if orient:
        _orient(geoms, labels, what, warn_orientation)
    _check_emptied(geoms, missing, labels, what, allow_empty)
    geoms[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = None
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


def _keep_polygons(
    geoms: np.ndarray, missing: np.ndarray, labels: _Labels, what: str, allow_empty: bool
) -> None:
    """Keep the polygons of collections in place; raise naming every feature that has none.

    Points and lines where a polygon was expected, collections without any
    polygon and (unless ``allow_empty``) missing shapes are all reported at once.
    """
    type_id = shapely.get_type_id(geoms)
    problems: list[Problem] = []
    collection = (type_id == 7) & ~missing  # GeometryCollection
    wrong = ~missing & ~np.isin(type_id, (3, 6, 7))  # neither (Multi)Polygon nor a collection
    kinds = np.full(len(geoms), "", dtype=object)
    kinds[wrong] = _TYPE_NAMES[np.maximum(type_id[wrong], 0)]
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
        lost, kept = _polygons_of_collections(geoms, collection, labels, what)
        problems.extend(lost)
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


def _polygons_of_collections(
    geoms: np.ndarray, collection: np.ndarray, labels: _Labels, what: str
) -> tuple[list[Problem], np.ndarray]:
    """Replace each geometry collection by its polygons in place.

    Returns a problem for each collection without any polygon, and which
    collections kept polygons.
    """
    for i in np.flatnonzero(collection):
        geoms[i] = polygonal_part(geoms[i])
    no_poly = collection & shapely.is_missing(geoms)
    problems = [
        Problem(
            f"{what} {labels[i]}: a geometry collection without any polygon",
            rows=(int(i) + 1,),
            column=s.GEOMETRY,
            fix=f"draw the {what} as a polygon",
        )
        for i in np.flatnonzero(no_poly)
    ]
    return problems, collection & ~no_poly


def _make_valid(geoms: np.ndarray, missing: np.ndarray, labels: _Labels, what: str) -> None:
    """Repair invalid shapes in place (self-intersections, bow-ties, bad rings)."""
    present = ~shapely.is_missing(geoms) & ~missing
    idx = np.flatnonzero(present)
    invalid = idx[~shapely.is_valid(geoms[idx])]
    if not len(invalid):
        return
    reasons = [shapely.is_valid_reason(geoms[i]).split("[")[0] for i in invalid]
    for i in invalid:
        geoms[i] = polygonal_part(shapely.make_valid(geoms[i], method="structure"))
    named = [f"{labels[i]} ({r})" for i, r in zip(invalid, reasons, strict=True)]
    _warn("invalid shape repaired", named, what)


def _present(geoms: np.ndarray) -> np.ndarray:
    """Positions of the geometries that are there and not empty."""
    return np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))


def _remove_slivers(
    geoms: np.ndarray, crs: object, labels: _Labels, what: str, min_part_area_m2: float
) -> None:
    """Remove parts and holes under ``min_part_area_m2`` in place."""
    idx = _present(geoms)
    if not len(idx):
        return
    parts, owner = _parts(geoms[idx])
    area = shapely.area(parts)
    # a cheap scale no larger than the true one first: most shapes are far above the limit
    floor = area_scale_floor(geoms[idx], crs)
    suspect = np.zeros(len(idx), dtype=bool)
    suspect[owner[area * floor[owner] < min_part_area_m2]] = True
    suspect[owner[shapely.get_num_interior_rings(parts) > 0]] = True
    if not suspect.any():
        return
    scale = np.zeros(len(idx))
    series = gpd.GeoSeries(geoms[idx], crs=crs)
    scale[suspect] = area_scale(series[suspect], local=local_crs(series))
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


def _parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of each geometry and the position of their owner (polygons are their own)."""
    single = shapely.get_type_id(geoms) == 3
    if single.all():  # no new objects for 37,000 plain polygons
        return geoms, np.arange(len(geoms))
    multi = np.flatnonzero(~single)
    parts, owner = shapely.get_parts(geoms[multi], return_index=True)
    return (
        np.concatenate([geoms[single], parts]),
        np.concatenate([np.flatnonzero(single), multi[owner]]),
    )


def _orient(geoms: np.ndarray, labels: _Labels, what: str, warn_orientation: bool) -> None:
    """Make exteriors counter-clockwise and holes clockwise, in place."""
    idx = _present(geoms)
    if not len(idx):
        return
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


def _check_emptied(
    geoms: np.ndarray, missing: np.ndarray, labels: _Labels, what: str, allow_empty: bool
) -> None:
    """Report shapes the repairs emptied: an error unless ``allow_empty``, else a warning."""
    emptied = shapely.is_empty(geoms) & ~missing
    if not emptied.any():
        return
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
    _warn("had nothing left after repair and now have no shape", [labels[i] for i in rows], what)
