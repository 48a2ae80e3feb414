"""Units in territories: which unit was clicked, who holds it, and moving it by a click."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from planner import hierarchy
from planner import schema as s
from planner.edit.geometry import polygonal, redraw_parents, set_geometries
from planner.edit.outcome import (
    EditOutcome,
    all_or_nothing,
    contiguity_notes,
    finish,
    hierarchy_notes,
    user_error,
)
from planner.edit.rows import is_leaf, row_of, source_of
from planner.errors import format_ids
from planner.geo.locate import locate_points
from planner.geo.shapes import dissolve_units, local_crs
from planner.workspace import Workspace

__all__ = ["toggle_unit", "unit_at", "unit_holder", "unit_owners", "units_of"]

#: Share of a unit's area inside a drawn territory above which the unit counts as part of it.
_MEMBER_SHARE = 0.5


def unit_at(units: gpd.GeoDataFrame, lon: float, lat: float) -> str | None:
    """Return the id of the unit under a clicked point (longitude, latitude), or ``None``."""
    if units.empty:
        return None
    u = units.to_crs(s.STORAGE_CRS) if units.crs is not None else units
    located = locate_points(
        np.array([lon]), np.array([lat]), np.asarray(u.geometry.values, dtype=object)
    )
    if not len(located.polygon_index):
        return None
    return str(units[s.UNIT_ID].astype(str).iloc[int(np.min(located.polygon_index))])


def unit_holder(ws: Workspace, scenario_id: str, unit_id: str) -> str | None:
    """Return the territory a unit is assigned to, or ``None``."""
    ua = ws.rows("unit_assignment", scenario_id)
    held = ua[ua[s.UNIT_ID].astype(str) == unit_id]
    return str(held.iloc[0][s.TERRITORY_ID]) if len(held) else None


def unit_owners(ws: Workspace, scenario_id: str, *, selected: str | None = None) -> dict[str, str]:
    """Return the territory of each assigned unit, by unit id.

    Parameters
    ----------
    ws, scenario_id
        The scenario.
    selected
        A territory whose units (:func:`units_of`) are claimed for it; for a
        drawn territory these are the units more than half inside its shape.

    Raises
    ------
    InputError
        If ``selected`` is not a territory of the scenario.
    """
    ua = ws.rows("unit_assignment", scenario_id)
    owner = dict(zip(ua[s.UNIT_ID].astype(str), ua[s.TERRITORY_ID].astype(str), strict=True))
    if selected is not None:
        terr = ws.territories(scenario_id)
        if source_of(terr, row_of(terr, selected)) != "units":
            for uid in units_of(ws, scenario_id, selected):
                owner[uid] = selected
    return owner


def units_of(ws: Workspace, scenario_id: str, territory_id: str) -> list[str]:
    """Return the units that make up a territory, sorted.

    For a territory built from units these are its ``unit_assignment`` rows;
    for a drawn one, the units more than half inside its shape.
    """
    terr = ws.territories(scenario_id)
    pos = row_of(terr, territory_id)
    if source_of(terr, pos) == "units":
        ua = ws.rows("unit_assignment", scenario_id)
        mine = ua[ua[s.TERRITORY_ID].astype(str) == territory_id]
        return sorted(mine[s.UNIT_ID].astype(str))
    shape = terr.geometry.iloc[pos]
    units = ws.units
    if shape is None or shape.is_empty or units.empty:
        return []
    metric = local_crs(units)
    u = units.to_crs(metric)
    inner = gpd.GeoSeries([shape], crs=terr.crs).to_crs(metric).iloc[0]
    geoms = np.asarray(u.geometry.values, dtype=object)
    share = shapely.area(shapely.intersection(geoms, inner)) / np.maximum(shapely.area(geoms), 1e-9)
    return sorted(units[s.UNIT_ID].astype(str).to_numpy()[share > _MEMBER_SHARE].tolist())


def toggle_unit(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    unit_id: str,
    *,
    user: str | None = None,
) -> EditOutcome:
    """Add a unit to a territory, or remove it if it is already part of it; then re-assign.

    Adding a unit takes it from the territory that had it. Territories built
    from units are redrawn from their units; a drawn territory grows by the
    unit's shape (or loses it). Parents built from units follow.

    Raises
    ------
    InputError
        If the territory has sub-territories (only the lowest level takes
        units), the unit does not exist or is locked to another territory, or
        removing it would leave the territory with no unit; nothing is changed.
    """
    terr = ws.territories(scenario_id)
    pos = row_of(terr, territory_id)
    _require_leaf(terr, territory_id)
    unit_shape = _unit_shape(ws.units, unit_id)
    ua = ws.rows("unit_assignment", scenario_id).drop(columns=[s.SCENARIO_ID])
    holder, locked = _holding(ua, unit_id)
    member = unit_id in units_of(ws, scenario_id, territory_id)
    if locked and (member or holder != territory_id):
        raise user_error(
            f"unit {unit_id} is locked to territory {holder}",
            "unlock it first (balance page), or pick another unit",
            column=s.LOCKED,
        )
    step = _without_unit if member else _with_unit
    new_ua, changed = step(terr, pos, ua, territory_id, unit_id, unit_shape)
    touched = [territory_id] if holder is None or holder == territory_id else [territory_id, holder]
    changed.update(_follow_units(terr, ws.units, new_ua, touched, territory_id, unit_shape))
    new = redraw_parents(set_geometries(terr, changed), touched)
    notes = contiguity_notes(terr, new, touched) + hierarchy_notes(new, touched)
    message = _toggle_message(territory_id, unit_id, holder, member)
    with all_or_nothing(ws):
        ws.set_rows("unit_assignment", scenario_id, new_ua)
        ws.set_rows("territories", scenario_id, new)
        ws.log(
            "territory.unit_remove" if member else "territory.unit_add",
            {"territory_id": territory_id, "unit_id": unit_id, "from_territory": holder},
            user=user,
            scenario_id=scenario_id,
        )
        return finish(ws, scenario_id, message, notes, user=user)


def _require_leaf(territories: pd.DataFrame, territory_id: str) -> None:
    """Raise unless the territory has no sub-territories (only the lowest level takes units)."""
    if not is_leaf(territories, territory_id):
        below = hierarchy.children(territories, territory_id)
        raise user_error(
            f"{territory_id} has sub-territories ({format_ids(below)}); only the lowest "
            "level takes units",
            f"select one of {format_ids(below)}",
        )


def _unit_shape(units: gpd.GeoDataFrame, unit_id: str) -> BaseGeometry:
    """The shape of ``unit_id``; an error naming the fix when there is no such unit."""
    unit_ids = units[s.UNIT_ID].astype(str)
    if unit_id not in set(unit_ids):
        raise user_error(
            f"there is no unit '{unit_id}'", "click a unit on the map", column=s.UNIT_ID
        )
    return units.geometry.iloc[int(np.flatnonzero(unit_ids.to_numpy() == unit_id)[0])]


def _holding(unit_assignment: pd.DataFrame, unit_id: str) -> tuple[str | None, bool]:
    """The territory holding ``unit_id`` (``None`` if none), and whether it is locked there."""
    held = unit_assignment[unit_assignment[s.UNIT_ID].astype(str) == unit_id]
    if not len(held):
        return None, False
    return str(held.iloc[0][s.TERRITORY_ID]), bool(held.iloc[0][s.LOCKED])


def _others(unit_assignment: pd.DataFrame, unit_id: str) -> pd.DataFrame:
    """The unit assignment without the row of ``unit_id``."""
    return unit_assignment[(unit_assignment[s.UNIT_ID].astype(str) != unit_id).to_numpy()]


def _without_unit(
    territories: gpd.GeoDataFrame,
    pos: int,
    unit_assignment: pd.DataFrame,
    territory_id: str,
    unit_id: str,
    unit_shape: BaseGeometry,
) -> tuple[pd.DataFrame, dict[int, BaseGeometry]]:
    """Take the unit out of the territory at ``pos``: the new unit assignment and shapes."""
    source = source_of(territories, pos)
    if source == "units":
        held = unit_assignment[unit_assignment[s.TERRITORY_ID].astype(str) == territory_id]
        if len(held) <= 1:
            raise user_error(
                f"unit {unit_id} is the last unit of {territory_id}",
                "add another unit first; a territory needs at least one",
            )
        return _others(unit_assignment, unit_id), {}
    left = polygonal(shapely.difference(territories.geometry.iloc[pos], unit_shape))
    if left is None:
        raise user_error(
            f"removing unit {unit_id} would leave nothing of {territory_id}",
            "add another unit first; a territory needs a shape",
        )
    return _others(unit_assignment, unit_id), {pos: left}


def _with_unit(
    territories: gpd.GeoDataFrame,
    pos: int,
    unit_assignment: pd.DataFrame,
    territory_id: str,
    unit_id: str,
    unit_shape: BaseGeometry,
) -> tuple[pd.DataFrame, dict[int, BaseGeometry]]:
    """Give the unit to the territory at ``pos``: the new unit assignment and shapes."""
    rest = _others(unit_assignment, unit_id)
    new_row = pd.DataFrame(
        {s.UNIT_ID: [unit_id], s.TERRITORY_ID: [territory_id], s.LOCKED: [False]}
    )
    new_ua = pd.concat([rest, new_row], ignore_index=True) if len(rest) else new_row
    if source_of(territories, pos) == "units":
        return new_ua, {}
    grown = polygonal(shapely.union(territories.geometry.iloc[pos], unit_shape))
    return new_ua, {pos: grown if grown is not None else unit_shape}


def _follow_units(
    territories: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    unit_assignment: pd.DataFrame,
    touched: list[str],
    territory_id: str,
    unit_shape: BaseGeometry,
) -> dict[int, BaseGeometry]:
    """New shapes of the touched territories: unit-built ones redrawn, a drawn holder cut.

    Only the touched territories' units are merged (the others keep their shapes).
    """
    mine = unit_assignment[unit_assignment[s.TERRITORY_ID].astype(str).isin(touched).to_numpy()]
    dissolved = dissolve_units(units, mine)
    shapes = dict(zip(dissolved[s.TERRITORY_ID].astype(str), dissolved.geometry, strict=True))
    changed: dict[int, BaseGeometry] = {}
    for tid in touched:
        p = row_of(territories, tid)
        if source_of(territories, p) == "units" and shapes.get(tid) is not None:
            changed[p] = polygonal(shapes[tid]) or shapes[tid]
        elif tid != territory_id and source_of(territories, p) != "units":
            left = polygonal(shapely.difference(territories.geometry.iloc[p], unit_shape))
            if left is not None:
                changed[p] = left
    return changed


def _toggle_message(territory_id: str, unit_id: str, holder: str | None, member: bool) -> str:
    """One line saying which unit moved where."""
    verb, where = ("Removed", "from") if member else ("Added", "to")
    message = f"{verb} unit {unit_id} {where} {territory_id}"
    if holder and holder != territory_id and not member:
        message += f" (taken from {holder})"
    return message + "."
