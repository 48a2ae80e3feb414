"""Territory shapes during edits: cleaning unions, replacing rows' shapes, redrawing parents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.edit.outcome import user_error
from planner.edit.rows import row_of, source_of
from planner.tree import TerritoryTree

__all__ = ["clip_inside_parent", "polygonal", "redraw_parents", "set_geometries"]

#: Polygon parts and holes smaller than this (square degrees, about 0.01 m²) are noise.
_SPECK_DEG2 = 1e-12


def set_geometries(frame: gpd.GeoDataFrame, shapes: Mapping[int, BaseGeometry]) -> gpd.GeoDataFrame:
    """Return a copy of ``frame`` with the geometry of the given row positions replaced."""
    out = frame.copy()
    geoms = np.asarray(out.geometry.values, dtype=object).copy()
    for pos, geom in shapes.items():
        geoms[pos] = geom
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


def polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The polygon part of ``geom`` without specks, oriented; ``None`` when nothing is left.

    Unions of units that share borders leave holes and parts of a few square
    millimetres (floating-point noise); they are dropped here so that the
    assignment does not report them as repairs after every edit.
    """
    if geom is None or geom.is_empty:
        return None
    kept = []
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.area < _SPECK_DEG2:
            continue
        holes = [r for r in part.interiors if shapely.Polygon(r).area >= _SPECK_DEG2]
        kept.append(shapely.Polygon(part.exterior, holes))
    if not kept:
        return None
    merged = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
    return shapely.orient_polygons(merged)


def redraw_parents(territories: gpd.GeoDataFrame, start: Iterable[str | None]) -> gpd.GeoDataFrame:
    """Redraw the unit-built parents above ``start`` as the union of their children.

    Parameters
    ----------
    territories
        One scenario's territories.
    start
        Territories whose shape or children changed; they and every
        ancestor of theirs that is built from units (``source == "units"``)
        and still has children are redrawn, deepest first.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy; other rows are unchanged.
    """
    tree = TerritoryTree.of(territories)
    known = [first for first in start if first is not None and first in tree.parent]
    todo = {t for first in known for t in [first, *tree.ancestors(first)]}
    ids = territories[s.TERRITORY_ID].astype(str).tolist()
    pos = {t: i for i, t in enumerate(ids)}
    geoms = dict(zip(ids, territories.geometry.tolist(), strict=True))
    changed: dict[int, BaseGeometry] = {}
    for tid in sorted(todo, key=lambda t: -tree.depth(t)):
        kids = tree.children(tid)
        if not kids or source_of(territories, pos[tid]) != "units":
            continue
        parts = [geoms[k] for k in kids if geoms[k] is not None and not geoms[k].is_empty]
        if not parts:
            continue
        merged = polygonal(shapely.union_all(parts))
        if merged is None:
            continue
        geoms[tid] = merged
        changed[pos[tid]] = merged
    return set_geometries(territories, changed) if changed else territories.copy()


def clip_inside_parent(
    territories: gpd.GeoDataFrame, geometry: BaseGeometry, parent_id: str | None, label: str
) -> BaseGeometry:
    """Return ``geometry`` cut to the shape of ``parent_id`` (unchanged without a parent shape).

    Raises
    ------
    InputError
        If nothing of ``geometry`` (named ``label``) lies inside the parent.
    """
    if parent_id is None:
        return geometry
    parent = territories.geometry.iloc[row_of(territories, parent_id)]
    if parent is None or parent.is_empty:
        return geometry
    clipped = polygonal(shapely.intersection(geometry, parent))
    if clipped is None:
        raise user_error(
            f"{label} lies outside its parent {parent_id}",
            f"draw it inside {parent_id}, pick another parent, or do not clip to the parent",
        )
    return clipped
