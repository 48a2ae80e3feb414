"""A workspace scenario's plan: the territory of every unit, located from the memberships."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.geo.shapes import local_crs
from planner.hierarchy import leaves
from planner.workspace import Workspace

__all__ = ["scenario_assignment"]


def scenario_assignment(ws: Workspace, scenario_id: str) -> pd.Series:
    """Return the leaf territory of every unit in a scenario (the plan to rebalance or compare).

    The scenario's ``unit_assignment`` rows come first. Units without a row
    take the leaf territory whose shape covers most of their area, and units
    outside every shape the nearest leaf territory, so every unit has one.

    Parameters
    ----------
    ws
        The workspace.
    scenario_id
        The scenario.

    Returns
    -------
    pandas.Series
        Territory id indexed by unit id (name ``territory_id``), in the
        order of ``ws.units``.

    Raises
    ------
    InputError
        If the scenario is unknown, the workspace has no units, or units
        lack a row and no leaf territory has a shape to place them in.
    """
    territories = ws.territories(scenario_id)
    units = ws.units
    if units.empty:
        raise InputError("the workspace has no units",
                         [Problem("no units to balance", fix="import units (ZIP/county polygons) "
                                  "or make H3 cells from the accounts")], source="units")
    unit_ids = units[s.UNIT_ID].astype(str)
    leaf_ids = set(leaves(territories)) if len(territories) else set()
    rows = ws.rows("unit_assignment", scenario_id)
    given = pd.Series(rows[s.TERRITORY_ID].astype(str).to_numpy(),
                      index=rows[s.UNIT_ID].astype(str).to_numpy())
    given = given[~given.index.duplicated(keep="last")]
    out = given.reindex(unit_ids.to_numpy())
    missing = out.isna().to_numpy()
    if missing.any():
        out[missing] = _locate_units(units[missing], territories, leaf_ids, scenario_id)
    out.index.name = s.UNIT_ID
    out.name = s.TERRITORY_ID
    return out.astype(str)


def _locate_units(
    units: gpd.GeoDataFrame, territories: gpd.GeoDataFrame, leaf_ids: set[str], scenario_id: str
) -> np.ndarray:
    """Return the leaf territory covering most of each unit (the nearest one when none does)."""
    shaped = territories[territories[s.TERRITORY_ID].astype(str).isin(leaf_ids)]
    shaped = shaped[shaped.geometry.notna() & ~shaped.geometry.is_empty]
    if shaped.empty:
        raise InputError(
            f"scenario '{scenario_id}' does not place units in territories",
            [Problem(f"units {format_ids(units[s.UNIT_ID])} have no unit_assignment row and "
                     "no leaf territory has a shape", fix="assign units to territories first "
                     "(map page), or design territories from scratch")],
            source="unit_assignment")
    crs = local_crs(units)
    u = units.geometry.to_crs(crs).reset_index(drop=True)
    t = shaped.geometry.to_crs(crs).reset_index(drop=True)
    tid = shaped[s.TERRITORY_ID].astype(str).to_numpy()
    tree = shapely.STRtree(t.to_numpy())
    ui, ti = tree.query(u.to_numpy(), predicate="intersects")
    area = shapely.area(shapely.intersection(u.to_numpy()[ui], t.to_numpy()[ti]))
    best = np.full(len(u), -1, dtype=np.int64)
    best_area = np.zeros(len(u))
    for a, b, x in zip(ui.tolist(), ti.tolist(), area.tolist(), strict=True):
        if x > best_area[a]:
            best[a], best_area[a] = b, x
    lost = np.flatnonzero(best < 0)
    if len(lost):
        near = tree.query_nearest(u.to_numpy()[lost], all_matches=False)
        best[lost[near[0]]] = near[1]
    return tid[best]
