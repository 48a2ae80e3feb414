"""Territory shapes: repair, reprojection, drawn GeoJSON, dissolving units, overlaps and gaps.

Every function here takes and returns GeoDataFrames (or shapely geometries)
and never changes its input. Repairs are reported as
:class:`~planner.errors.GeometryRepairWarning`, one warning per kind of repair
naming the territories (or units) concerned; input that cannot be repaired
raises :class:`~planner.errors.InputError` naming the feature.

Areas are computed in a local projected CRS (:func:`local_crs`: the UTM zone
of the data's centre), so ``area_m2`` is in square metres whatever the input
CRS.

The shapes live in modules by concern: :mod:`~planner.geo.shapes.projection`
(local CRS, areas), :mod:`~planner.geo.shapes.repair`,
:mod:`~planner.geo.shapes.prepare`, :mod:`~planner.geo.shapes.geojson` and
:mod:`~planner.geo.shapes.drawn` (map drawings), :mod:`~planner.geo.shapes.dissolve`
(units to territories) and :mod:`~planner.geo.shapes.coverage` (overlaps, gaps);
this package gathers their public names.
"""

from __future__ import annotations

from planner.geo.shapes.coverage import GapReport, find_gaps, find_overlaps
from planner.geo.shapes.dissolve import dissolve_units, territory_from_units
from planner.geo.shapes.drawn import DrawnTerritory, drawn_territory
from planner.geo.shapes.geojson import geometry_from_geojson
from planner.geo.shapes.prepare import prepare_polygons
from planner.geo.shapes.projection import local_crs, point_xy
from planner.geo.shapes.repair import DEFAULT_MIN_PART_AREA_M2, repair_polygons

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
