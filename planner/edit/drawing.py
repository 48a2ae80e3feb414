"""Drawn territories: adding a drawn shape as a territory, reshaping one, telling the repairs."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from planner import hierarchy
from planner import schema as s
from planner.edit.geometry import clip_inside_parent, redraw_parents, set_geometries
from planner.edit.outcome import EditOutcome, all_or_nothing, finish, user_error
from planner.edit.rows import is_leaf, level_name_for, new_territory_id, row_of
from planner.workspace import Workspace

__all__ = ["add_drawn_territory", "repair_notes", "replace_shape"]


def add_drawn_territory(
    ws: Workspace,
    scenario_id: str,
    geometry: BaseGeometry,
    *,
    territory_id: str,
    name: str = "",
    parent_id: str | None = None,
    type_id: str = "geographic",
    clip_to_parent: bool = True,
    user: str | None = None,
) -> EditOutcome:
    """Add a drawn shape as a new territory, then re-assign the accounts.

    Parameters
    ----------
    ws, scenario_id
        Where to add it.
    geometry
        The drawn shape (EPSG:4326), already repaired
        (:func:`planner.geo.shapes.drawn_territory`).
    territory_id, name, parent_id, type_id
        The new territory.
    clip_to_parent
        Cut the shape to its parent's shape first (a child must lie inside
        its parent).
    user
        Who drew it (audit log).

    Raises
    ------
    InputError
        If the id is empty or taken, the parent does not exist, the type is
        unknown or the shape lies outside the parent; nothing is changed.
    """
    tid = territory_id.strip()
    terr = ws.territories(scenario_id)
    _check_new_id(terr, tid)
    parent = parent_id or None
    known = set(terr[s.TERRITORY_ID].astype(str))
    shape = geometry
    if clip_to_parent and parent in known:
        shape = clip_inside_parent(terr, geometry, parent, f"the new territory {tid}")
    level = int(terr.iloc[row_of(terr, str(parent))][s.LEVEL]) + 1 if parent in known else 0
    row = _drawn_row(terr, tid, name, parent, level, type_id, shape)
    new = redraw_parents(_appended(terr, row), [parent])
    notes: list[str] = []
    if parent in known and is_leaf(terr, str(parent)):
        notes.append(
            f"{parent} now has a sub-territory, so it no longer takes accounts itself: "
            f"its accounts outside {tid} are unassigned until you draw its other parts"
        )
    with all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            new,
            user=user,
            action="territory.draw",
            detail={"territory_id": tid, "parent_id": parent, "type_id": type_id},
        )
        return finish(ws, scenario_id, f"Created territory {tid}.", notes, user=user)


def _check_new_id(territories: pd.DataFrame, territory_id: str) -> None:
    """Raise unless ``territory_id`` is a usable new id (not empty, not taken)."""
    if not territory_id:
        raise user_error("the new territory needs an id", "type an id", column=s.TERRITORY_ID)
    if territory_id in set(territories[s.TERRITORY_ID].astype(str)):
        raise user_error(
            f"territory id '{territory_id}' is taken",
            f"choose another id, e.g. {new_territory_id(territories, prefix=territory_id)}",
            column=s.TERRITORY_ID,
        )


def _drawn_row(
    territories: pd.DataFrame,
    territory_id: str,
    name: str,
    parent: str | None,
    level: int,
    type_id: str,
    shape: BaseGeometry,
) -> gpd.GeoDataFrame:
    """The new territory as a one-row frame (source ``"drawn"``)."""
    return gpd.GeoDataFrame(
        {
            s.TERRITORY_ID: [territory_id],
            s.NAME: [name.strip() or territory_id],
            s.PARENT_ID: [parent],
            s.LEVEL: [level],
            s.LEVEL_NAME: [level_name_for(territories, level)],
            s.TYPE_ID: [type_id],
            s.SOURCE: ["drawn"],
            s.RULE: [None],
        },
        geometry=gpd.GeoSeries([shape], crs=s.STORAGE_CRS),
    )


def _appended(territories: gpd.GeoDataFrame, row: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The territories with ``row`` added last, without the scenario column."""
    cols = [c for c in territories.columns if c != s.SCENARIO_ID]
    return gpd.GeoDataFrame(
        pd.concat(
            [territories[cols], row[[c for c in cols if c in row.columns]]], ignore_index=True
        ),
        geometry=territories.geometry.name,
        crs=territories.crs,
    )


def replace_shape(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    geometry: BaseGeometry,
    *,
    clip_to_parent: bool = True,
    user: str | None = None,
) -> EditOutcome:
    """Give a territory a newly drawn (or edited) shape, then re-assign the accounts.

    The territory becomes a drawn one (``source = "drawn"``); its parents
    built from units are redrawn around it.

    Raises
    ------
    InputError
        If the territory does not exist, the shape lies outside the parent,
        or a child would stick out of the new shape; nothing is changed.
    """
    terr = ws.territories(scenario_id)
    pos = row_of(terr, territory_id)
    parent = hierarchy.parent_map(terr)[territory_id]
    shape = clip_inside_parent(terr, geometry, parent, territory_id) if clip_to_parent else geometry
    new = set_geometries(terr, {pos: shape})
    new.loc[new.index[pos], s.SOURCE] = "drawn"
    new = redraw_parents(new, [parent])
    with all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            new,
            user=user,
            action="territory.reshape",
            detail={"territory_id": territory_id},
        )
        return finish(ws, scenario_id, f"Replaced the shape of {territory_id}.", [], user=user)


def repair_notes(notes: Iterable[str]) -> list[str]:
    """Return the repairs of a drawn shape worth telling the user, in plain words.

    Ring orientation is dropped: Leaflet draws rings in click order, so half
    of all drawings are "clockwise" and re-orienting them changes nothing the
    user can see.
    """
    return [note for note in notes if "orientation" not in note or ";" in note]
