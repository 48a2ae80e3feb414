"""Preparing imported or drawn polygons: settle the CRS, repair, reproject."""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS

from planner import schema as s
from planner.errors import InputError, PlannerWarning, Problem, format_ids
from planner.geo.shapes.projection import looks_geographic
from planner.geo.shapes.repair import DEFAULT_MIN_PART_AREA_M2, plural, repair_polygons

__all__ = ["prepare_polygons"]


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
            f"{plural(what)} need shapes",
            [Problem(f"the {plural(what)} have no geometry column", fix="give them polygons")],
        )
    out = _settle_crs(frame, what)
    if reference_crs is not None:
        _warn_if_reprojected(out, reference_crs, what)
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


def _settle_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``frame`` with a CRS: its own, or EPSG:4326 (with a warning) for lon/lat values.

    Raises
    ------
    InputError
        When the CRS is missing and the coordinates are not longitude and latitude.
    """
    if frame.crs is not None:
        return frame
    geoms = frame.geometry
    bounds = geoms[~(geoms.isna() | geoms.is_empty)].total_bounds
    if len(frame) and not np.isnan(bounds).all() and not looks_geographic(bounds):
        raise InputError(
            f"the {plural(what)} have no CRS",
            [
                Problem(
                    f"the {what} shapes have no coordinate reference system and their "
                    f"coordinates ({format_ids(np.round(bounds, 1))}) are not "
                    "longitude/latitude",
                    column=s.GEOMETRY,
                    fix="give the file its CRS (a .prj next to a Shapefile, or crs= when reading)",
                )
            ],
        )
    text = (
        f"the {plural(what)} have no CRS; their coordinates look like longitude/latitude, "
        "so EPSG:4326 is assumed"
    )
    warnings.warn(text, PlannerWarning, stacklevel=3)
    return frame.set_crs(s.STORAGE_CRS)


def _warn_if_reprojected(frame: gpd.GeoDataFrame, reference_crs: Any, what: str) -> None:
    """Warn when the polygons' CRS differs from the accounts' (they will be reprojected)."""
    own = CRS.from_user_input(frame.crs)
    other = CRS.from_user_input(reference_crs)
    if own.equals(other):
        return
    warnings.warn(
        f"the {plural(what)} are in {own.to_string()} and the "
        f"accounts in {other.to_string()}: the "
        f"{plural(what)} were reprojected",
        PlannerWarning,
        stacklevel=3,
    )
