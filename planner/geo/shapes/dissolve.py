"""Territory shapes made of units: the union of the units each territory holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.geo.shapes.repair import polygonal_part

__all__ = ["dissolve_units", "territory_from_units"]


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
    part = polygonal_part(merged)
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
        merged = polygonal_part(shapely.union_all(members))
        rows.append((tid, len(members), merged))
    return gpd.GeoDataFrame(
        {s.TERRITORY_ID: [r[0] for r in rows], "unit_count": [r[1] for r in rows]},
        geometry=gpd.GeoSeries([r[2] for r in rows], crs=units.crs),
    )
