"""Editing territories: drawn shapes, unit clicks, hierarchy moves, each followed by re-assignment.

Each edit function takes a workspace, changes one scenario in memory and
re-runs the account assignment (:func:`planner.geo.assign.assign_workspace`),
so callers can show the new counts at once. An edit is all or nothing: if any
step fails (a hierarchy check, a table's schema, the assignment), every
table is put back as it was and an :class:`~planner.errors.InputError`
naming the problem and its fix is raised. Every edit writes one audit entry
under ``user``.

Shapes of territories built from units (``source == "units"``) follow their
units; parents built from units follow their children (a parent's shape is
the union of its children's). Drawn shapes change only when drawn again or
when the user adds or removes a unit.

Access: the edit functions do not check who may make them; the caller does,
with :func:`require_edit_rights` and the user's
:class:`~planner.access.AccessScope` (the app through ``ui.editing.require_edit``,
which passes the session's scope). The edits themselves then stay usable by
scripts and the CLI that run with full rights.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from planner import hierarchy, viz
from planner import schema as s
from planner.access import AccessDeniedError, AccessScope
from planner.errors import InputError, Problem, format_ids
from planner.geo.assign import Assignment, assign_workspace
from planner.geo.locate import locate_points
from planner.geo.shapes import dissolve_units, find_gaps, find_overlaps, local_crs
from planner.models import TerritoryType
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "EditOutcome",
    "Trouble",
    "add_drawn_territory",
    "counts_table",
    "filter_memberships",
    "hierarchy_table",
    "membership_table",
    "move_territory",
    "new_territory_id",
    "redraw_parents",
    "rename_territory",
    "repair_notes",
    "replace_shape",
    "require_edit_rights",
    "run_assignment",
    "save_territory_types",
    "stale_accounts",
    "territory_label",
    "toggle_unit",
    "trouble_list",
    "unit_at",
    "unit_holder",
    "unit_owners",
    "units_of",
]

#: Share of a unit's area inside a drawn territory above which the unit counts as part of it.
_MEMBER_SHARE = 0.5
#: Polygon parts and holes smaller than this (square degrees, about 0.01 m²) are noise.
_SPECK_DEG2 = 1e-12
_INDENT = "\u2003"  # an em space: indents the tree in a table


@dataclass(frozen=True, eq=False)
class EditOutcome:
    """What an edit did, for the page to show.

    Parameters
    ----------
    message
        One line saying what changed.
    assignment
        The assignment computed (and stored) after the edit.
    warnings
        Repairs and hierarchy warnings worth showing.
    """

    message: str
    assignment: Assignment | None = None
    warnings: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- helpers


def _user_error(message: str, fix: str, *, column: str | None = None) -> InputError:
    return InputError(message, [Problem(message, column=column, fix=fix)])


@contextmanager
def _all_or_nothing(ws: Workspace) -> Iterator[None]:
    """Put every table back as it was if the block raises."""
    saved = dict(ws.tables)  # frames are replaced, never changed in place, by Workspace
    try:
        yield
    except BaseException:
        ws.tables.clear()
        ws.tables.update(saved)
        raise


def _row_of(territories: pd.DataFrame, territory_id: str) -> int:
    ids = territories[s.TERRITORY_ID].astype(str).to_numpy()
    hits = np.flatnonzero(ids == territory_id)
    if not len(hits):
        known = sorted(set(ids.tolist()))
        raise _user_error(
            f"there is no territory '{territory_id}'",
            f"pick one of {format_ids(known)}",
            column=s.TERRITORY_ID,
        )
    return int(hits[0])


def _set_geometries(
    frame: gpd.GeoDataFrame, shapes: Mapping[int, BaseGeometry]
) -> gpd.GeoDataFrame:
    """Return a copy of ``frame`` with the geometry of the given row positions replaced."""
    out = frame.copy()
    geoms = np.asarray(out.geometry.values, dtype=object).copy()
    for pos, geom in shapes.items():
        geoms[pos] = geom
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


def _polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
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


def _is_leaf(territories: pd.DataFrame, territory_id: str) -> bool:
    return TerritoryTree.of(territories).is_leaf(territory_id)


def _source(territories: pd.DataFrame, pos: int) -> str:
    value = territories.iloc[pos][s.SOURCE]
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _level_name_for(territories: pd.DataFrame, level: int) -> str | None:
    names = territories.loc[territories[s.LEVEL] == level, s.LEVEL_NAME].dropna().astype(str)
    names = names[names != ""]
    return str(names.mode().iloc[0]) if len(names) else None


def territory_label(territories: pd.DataFrame) -> dict[str, str]:
    """Return ``"Name (id)"`` by territory id, for pickers."""
    out = {}
    for tid, name in zip(
        territories[s.TERRITORY_ID].astype(str), territories[s.NAME].tolist(), strict=True
    ):
        out[tid] = f"{name} ({tid})" if isinstance(name, str) and name and name != tid else tid
    return out


def new_territory_id(territories: pd.DataFrame, *, prefix: str = "T-NEW") -> str:
    """Return an unused territory id: ``prefix``, then ``prefix-2``, ``prefix-3``..."""
    taken = set(territories[s.TERRITORY_ID].astype(str))
    if prefix not in taken:
        return prefix
    k = 2
    while f"{prefix}-{k}" in taken:
        k += 1
    return f"{prefix}-{k}"


# --------------------------------------------------------------------------- shapes


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
    parents = hierarchy.parent_map(territories)
    kids: dict[str, list[str]] = {t: [] for t in parents}
    for tid, parent in parents.items():
        if parent in kids:
            kids[parent].append(tid)
    todo: set[str] = set()
    for first in start:
        node: str | None = first
        seen: set[str] = set()
        while node is not None and node in parents and node not in seen:
            seen.add(node)
            todo.add(node)
            node = parents[node]
    ids = territories[s.TERRITORY_ID].astype(str).tolist()
    pos = {t: i for i, t in enumerate(ids)}
    levels = hierarchy.compute_levels(territories)
    geoms = dict(zip(ids, territories.geometry.tolist(), strict=True))
    changed: dict[int, BaseGeometry] = {}
    for tid in sorted(todo, key=lambda t: -int(levels.get(t, 0))):
        if not kids[tid] or _source(territories, pos[tid]) != "units":
            continue
        parts = [geoms[k] for k in kids[tid] if geoms[k] is not None and not geoms[k].is_empty]
        if not parts:
            continue
        merged = _polygonal(shapely.union_all(parts))
        if merged is None:
            continue
        geoms[tid] = merged
        changed[pos[tid]] = merged
    return _set_geometries(territories, changed) if changed else territories.copy()


def _clip_to_parent(
    territories: gpd.GeoDataFrame, geometry: BaseGeometry, parent_id: str | None, label: str
) -> BaseGeometry:
    if parent_id is None:
        return geometry
    parent = territories.geometry.iloc[_row_of(territories, parent_id)]
    if parent is None or parent.is_empty:
        return geometry
    clipped = _polygonal(shapely.intersection(geometry, parent))
    if clipped is None:
        raise _user_error(
            f"{label} lies outside its parent {parent_id}",
            f"draw it inside {parent_id}, pick another parent, or do not clip to the parent",
        )
    return clipped


# --------------------------------------------------------------------------- assignment


def run_assignment(ws: Workspace, scenario_id: str, *, user: str | None = None) -> Assignment:
    """Re-assign every account of the scenario and store the memberships."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs are reported in Assignment.warnings
        return assign_workspace(ws, scenario_id, store=True, user=user)


def _finish(
    ws: Workspace, scenario_id: str, message: str, notes: Sequence[str], *, user: str | None
) -> EditOutcome:
    result = run_assignment(ws, scenario_id, user=user)
    return EditOutcome(message, result, tuple(dict.fromkeys([*notes, *result.warnings])))


def _hierarchy_notes(territories: gpd.GeoDataFrame, ids: Iterable[str | None]) -> list[str]:
    """Problems of the hierarchy that name one of ``ids`` (shown as warnings after an edit)."""
    wanted = {i for i in ids if i}
    notes = []
    for p in hierarchy.validate_hierarchy(territories):
        if any(i in p.message for i in wanted):
            notes.append(str(p))
    return notes


# --------------------------------------------------------------------------- edits


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
    if not tid:
        raise _user_error("the new territory needs an id", "type an id", column=s.TERRITORY_ID)
    if tid in set(terr[s.TERRITORY_ID].astype(str)):
        raise _user_error(
            f"territory id '{tid}' is taken",
            f"choose another id, e.g. {new_territory_id(terr, prefix=tid)}",
            column=s.TERRITORY_ID,
        )
    parent = parent_id or None
    known = set(terr[s.TERRITORY_ID].astype(str))
    shape = geometry
    if clip_to_parent and parent in known:
        shape = _clip_to_parent(terr, geometry, parent, f"the new territory {tid}")
    level = 0
    if parent in known:
        level = int(terr.iloc[_row_of(terr, str(parent))][s.LEVEL]) + 1
    row = gpd.GeoDataFrame(
        {
            s.TERRITORY_ID: [tid],
            s.NAME: [name.strip() or tid],
            s.PARENT_ID: [parent],
            s.LEVEL: [level],
            s.LEVEL_NAME: [_level_name_for(terr, level)],
            s.TYPE_ID: [type_id],
            s.SOURCE: ["drawn"],
            s.RULE: [None],
        },
        geometry=gpd.GeoSeries([shape], crs=s.STORAGE_CRS),
    )
    cols = [c for c in terr.columns if c != s.SCENARIO_ID]
    new = gpd.GeoDataFrame(
        pd.concat([terr[cols], row[[c for c in cols if c in row.columns]]], ignore_index=True),
        geometry=terr.geometry.name,
        crs=terr.crs,
    )
    new = redraw_parents(new, [parent])
    notes: list[str] = []
    if parent in known and _is_leaf(terr, str(parent)):
        notes.append(
            f"{parent} now has a sub-territory, so it no longer takes accounts itself: "
            f"its accounts outside {tid} are unassigned until you draw its other parts"
        )
    with _all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            new,
            user=user,
            action="territory.draw",
            detail={"territory_id": tid, "parent_id": parent, "type_id": type_id},
        )
        return _finish(ws, scenario_id, f"Created territory {tid}.", notes, user=user)


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
    pos = _row_of(terr, territory_id)
    parent = hierarchy.parent_map(terr)[territory_id]
    shape = _clip_to_parent(terr, geometry, parent, territory_id) if clip_to_parent else geometry
    new = _set_geometries(terr, {pos: shape})
    new.loc[new.index[pos], s.SOURCE] = "drawn"
    new = redraw_parents(new, [parent])
    with _all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            new,
            user=user,
            action="territory.reshape",
            detail={"territory_id": territory_id},
        )
        return _finish(ws, scenario_id, f"Replaced the shape of {territory_id}.", [], user=user)


def units_of(ws: Workspace, scenario_id: str, territory_id: str) -> list[str]:
    """Return the units that make up a territory, sorted.

    For a territory built from units these are its ``unit_assignment`` rows;
    for a drawn one, the units more than half inside its shape.
    """
    terr = ws.territories(scenario_id)
    pos = _row_of(terr, territory_id)
    if _source(terr, pos) == "units":
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
    pos = _row_of(terr, territory_id)
    if not _is_leaf(terr, territory_id):
        below = hierarchy.children(terr, territory_id)
        raise _user_error(
            f"{territory_id} has sub-territories ({format_ids(below)}); only the lowest "
            "level takes units",
            f"select one of {format_ids(below)}",
        )
    units = ws.units
    unit_ids = units[s.UNIT_ID].astype(str)
    if unit_id not in set(unit_ids):
        raise _user_error(
            f"there is no unit '{unit_id}'", "click a unit on the map", column=s.UNIT_ID
        )
    unit_shape = units.geometry.iloc[int(np.flatnonzero(unit_ids.to_numpy() == unit_id)[0])]
    ua = ws.rows("unit_assignment", scenario_id).drop(columns=[s.SCENARIO_ID])
    ua_units = ua[s.UNIT_ID].astype(str)
    held = ua[ua_units == unit_id]
    holder = str(held.iloc[0][s.TERRITORY_ID]) if len(held) else None
    locked = bool(held.iloc[0][s.LOCKED]) if len(held) else False
    source = _source(terr, pos)
    member = unit_id in units_of(ws, scenario_id, territory_id)
    rest = ua[(ua_units != unit_id).to_numpy()]
    if locked and (member or holder != territory_id):
        raise _user_error(
            f"unit {unit_id} is locked to territory {holder}",
            "unlock it first (balance page), or pick another unit",
            column=s.LOCKED,
        )
    changed: dict[int, BaseGeometry] = {}
    if member:
        action, verb = "territory.unit_remove", "Removed"
        if source == "units" and len(ua[ua[s.TERRITORY_ID].astype(str) == territory_id]) <= 1:
            raise _user_error(
                f"unit {unit_id} is the last unit of {territory_id}",
                "add another unit first; a territory needs at least one",
            )
        new_ua = rest
        if source != "units":
            left = _polygonal(shapely.difference(terr.geometry.iloc[pos], unit_shape))
            if left is None:
                raise _user_error(
                    f"removing unit {unit_id} would leave nothing of {territory_id}",
                    "add another unit first; a territory needs a shape",
                )
            changed[pos] = left
    else:
        action, verb = "territory.unit_add", "Added"
        new_row = pd.DataFrame(
            {s.UNIT_ID: [unit_id], s.TERRITORY_ID: [territory_id], s.LOCKED: [False]}
        )
        new_ua = pd.concat([rest, new_row], ignore_index=True) if len(rest) else new_row
        if source != "units":
            grown = _polygonal(shapely.union(terr.geometry.iloc[pos], unit_shape))
            changed[pos] = grown if grown is not None else unit_shape
    touched = [territory_id] if holder is None or holder == territory_id else [territory_id, holder]
    dissolved = dissolve_units(units, new_ua)
    shapes = dict(zip(dissolved[s.TERRITORY_ID].astype(str), dissolved.geometry, strict=True))
    for tid in touched:
        p = _row_of(terr, tid)
        if _source(terr, p) == "units" and shapes.get(tid) is not None:
            changed[p] = _polygonal(shapes[tid]) or shapes[tid]
        elif tid != territory_id and _source(terr, p) != "units":
            left = _polygonal(shapely.difference(terr.geometry.iloc[p], unit_shape))
            if left is not None:
                changed[p] = left
    new = redraw_parents(_set_geometries(terr, changed), touched)
    notes = _hierarchy_notes(new, touched)
    where = "to" if not member else "from"
    message = f"{verb} unit {unit_id} {where} {territory_id}"
    if holder and holder != territory_id and not member:
        message += f" (taken from {holder})"
    with _all_or_nothing(ws):
        ws.set_rows("unit_assignment", scenario_id, new_ua)
        ws.set_rows("territories", scenario_id, new)
        ws.log(
            action,
            {"territory_id": territory_id, "unit_id": unit_id, "from_territory": holder},
            user=user,
            scenario_id=scenario_id,
        )
        return _finish(ws, scenario_id, message + ".", notes, user=user)


def move_territory(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    new_parent_id: str | None,
    *,
    user: str | None = None,
) -> EditOutcome:
    """Move a territory and everything below it under a new parent; then re-assign.

    Parents built from units are redrawn around their new children; a drawn
    parent must contain the moved territory.

    Raises
    ------
    InputError
        If either territory does not exist, the move makes a cycle, or the
        moved territory lies outside a drawn parent; nothing is changed.
    """
    terr = ws.territories(scenario_id)
    old_parent = hierarchy.parent_map(terr).get(territory_id)
    moved = hierarchy.move_subtree(terr, territory_id, new_parent_id, check_geometry=False)
    moved = redraw_parents(moved, [old_parent, territory_id])
    notes = []
    if new_parent_id is not None and _is_leaf(terr, new_parent_id):
        notes.append(
            f"{new_parent_id} now has a sub-territory, so it no longer takes accounts itself: "
            f"its own accounts go to {territory_id} where they lie inside it, else nowhere"
        )
    with _all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            moved,
            user=user,
            action="hierarchy.move",
            detail={"territory_id": territory_id, "from": old_parent, "to": new_parent_id},
        )
        where = f"under {new_parent_id}" if new_parent_id else "to the top level"
        return _finish(ws, scenario_id, f"Moved {territory_id} {where}.", notes, user=user)


def rename_territory(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    *,
    name: str,
    type_id: str | None = None,
    user: str | None = None,
) -> EditOutcome:
    """Rename a territory (and optionally change its type, which re-assigns the accounts).

    Raises
    ------
    InputError
        If the territory does not exist, the name is empty or the type is unknown.
    """
    terr = ws.territories(scenario_id)
    pos = _row_of(terr, territory_id)
    if not name.strip():
        raise _user_error("a territory needs a name", "type a name", column=s.NAME)
    new = hierarchy.rename(terr, territory_id, name=name.strip())
    old_type = str(terr.iloc[pos][s.TYPE_ID])
    retype = type_id is not None and type_id != old_type
    if retype:
        new.loc[new.index[pos], s.TYPE_ID] = type_id
    with _all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            new,
            user=user,
            action="hierarchy.rename",
            detail={"territory_id": territory_id, "name": name.strip(), "type_id": type_id},
            check_geometry=False,
        )
        if retype:
            return _finish(
                ws, scenario_id, f"Renamed {territory_id} and made it {type_id}.", [], user=user
            )
        return EditOutcome(f"Renamed {territory_id} to “{name.strip()}”.")


def save_territory_types(
    ws: Workspace, types: pd.DataFrame, *, user: str | None = None
) -> EditOutcome:
    """Add or update territory types from an edited table (``type_id``, ``name``, ``priority``...).

    Raises
    ------
    InputError
        Listing rows with an empty or repeated id or a priority that is not a
        whole number; nothing is changed.
    """
    problems = []
    ids = (
        types[s.TYPE_ID].astype(object).where(types[s.TYPE_ID].notna(), "").astype(str).str.strip()
    )
    empty = [i + 1 for i, v in enumerate(ids) if not v]
    if empty:
        problems.append(
            Problem(
                "types without an id",
                rows=tuple(empty),
                column=s.TYPE_ID,
                fix="give every type an id",
            )
        )
    dupes = sorted({v for v in ids if v and (ids == v).sum() > 1})
    if dupes:
        problems.append(
            Problem(
                f"type ids {format_ids(dupes)} appear more than once",
                column=s.TYPE_ID,
                fix="give every type its own id",
            )
        )
    prio = pd.to_numeric(types[s.PRIORITY], errors="coerce")
    bad = [i + 1 for i, v in enumerate(prio) if pd.isna(v) or float(v) != int(v)]
    if bad:
        problems.append(
            Problem(
                "priorities must be whole numbers",
                rows=tuple(bad),
                column=s.PRIORITY,
                fix="type 1, 2, 3… (lower wins)",
            )
        )
    if problems:
        raise InputError("the territory types cannot be saved", problems)
    with _all_or_nothing(ws):
        for tid, name, p, desc in zip(
            ids, types[s.NAME].tolist(), prio.tolist(), types[s.DESCRIPTION].tolist(), strict=True
        ):
            ws.add_territory_type(
                TerritoryType(
                    tid,
                    name=str(name) if isinstance(name, str) and name else tid,
                    priority=int(p),
                    description=str(desc) if isinstance(desc, str) else "",
                )
            )
        ws.log("territory_types.update", {"types": list(ids)}, user=user)
    return EditOutcome(f"Saved {len(ids)} territory type(s).")


# --------------------------------------------------------------------------- tables


def counts_table(
    ws: Workspace, scenario_id: str, before: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Return accounts per territory (rolled up), with the change since ``before`` if given."""
    summary = viz.territory_summary(ws, scenario_id)
    out = pd.DataFrame(
        {
            "territory": [
                f"{'  ' * int(lv)}{n if isinstance(n, str) and n else t}"
                for t, n, lv in zip(
                    summary[s.TERRITORY_ID], summary[s.NAME], summary[s.LEVEL], strict=True
                )
            ],
            s.TERRITORY_ID: summary[s.TERRITORY_ID].astype(str),
            "accounts": summary["accounts"].astype("int64"),
            "is_leaf": summary["is_leaf"],
        }
    )
    order = _tree_order(ws.territories(scenario_id))
    out = out.set_index(s.TERRITORY_ID, drop=False).reindex(order).reset_index(drop=True)
    if before is not None:
        out["change"] = [
            int(n) - int(before.get(t, 0))
            for t, n in zip(out[s.TERRITORY_ID], out["accounts"], strict=True)
        ]
    return out


def _tree_order(territories: pd.DataFrame) -> list[str]:
    """Territory ids depth first from the roots, siblings sorted (cycles appended at the end)."""
    parents = hierarchy.parent_map(territories)
    kids: dict[str, list[str]] = {t: [] for t in parents}
    for tid, parent in parents.items():
        if parent in kids:
            kids[parent].append(tid)
    order: list[str] = []
    seen: set[str] = set()
    stack = sorted((t for t, p in parents.items() if p is None or p not in parents), reverse=True)
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        order.append(t)
        stack.extend(sorted(kids[t], reverse=True))
    order.extend(sorted(t for t in parents if t not in seen))
    return order


def hierarchy_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the hierarchy as an indented tree: one row per territory, depth first."""
    terr = ws.territories(scenario_id)
    summary = viz.territory_summary(ws, scenario_id).set_index(s.TERRITORY_ID)
    names = territory_label(terr)
    parents = hierarchy.parent_map(terr)
    rows = []
    by_id = terr.set_index(terr[s.TERRITORY_ID].astype(str))
    for tid in _tree_order(terr):
        row = by_id.loc[tid]
        chain = [tid]
        node = parents.get(tid)
        while node is not None and node in parents and node not in chain:
            chain.append(node)
            node = parents.get(node)
        level = len(chain) - 1
        name = row[s.NAME] if isinstance(row[s.NAME], str) and row[s.NAME] else tid
        rows.append(
            {
                "territory": f"{_INDENT * level}{'└ ' if level else ''}{name}",
                s.TERRITORY_ID: tid,
                s.LEVEL_NAME: row[s.LEVEL_NAME],
                s.TYPE_ID: row[s.TYPE_ID],
                s.SOURCE: row[s.SOURCE],
                s.PARENT_ID: parents.get(tid),
                "accounts": int(summary["accounts"].get(tid, 0)),
                "path": " › ".join(names.get(t, t) for t in reversed(chain)),
            }
        )
    return pd.DataFrame(rows)


def membership_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the stored memberships with account and territory names."""
    mem = ws.memberships(scenario_id)
    acc = ws.accounts
    acc_names = dict(zip(acc[s.ACCOUNT_ID].astype(str), acc[s.NAME].tolist(), strict=True))
    terr_names = territory_label(ws.territories(scenario_id))
    ids = mem[s.ACCOUNT_ID].astype(str)
    tids = mem[s.TERRITORY_ID].astype(str)
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: ids.to_numpy(),
            "account": ids.map(acc_names).to_numpy(),
            s.TERRITORY_ID: tids.to_numpy(),
            "territory": tids.map(terr_names).fillna(tids).to_numpy(),
            s.CAUSE: mem[s.CAUSE].astype(str).to_numpy(),
            s.DETAIL: mem[s.DETAIL].to_numpy(),
            s.IS_PRIMARY: mem[s.IS_PRIMARY].astype(bool).to_numpy(),
        }
    )


def filter_memberships(
    table: pd.DataFrame,
    *,
    territories: Collection[str] = (),
    causes: Collection[str] = (),
    text: str = "",
    primary_only: bool = False,
) -> pd.DataFrame:
    """Return the rows of a :func:`membership_table` that pass every filter given.

    Parameters
    ----------
    table
        From :func:`membership_table`.
    territories
        Territory ids to keep; empty keeps all.
    causes
        ``spatial``, ``rule``, ``manual``; empty keeps all.
    text
        Case-insensitive text the account id, account name or detail must contain.
    primary_only
        Keep only primary memberships.
    """
    keep = pd.Series(True, index=table.index)
    if territories:
        keep &= table[s.TERRITORY_ID].isin(list(territories))
    if causes:
        keep &= table[s.CAUSE].isin(list(causes))
    if primary_only:
        keep &= table[s.IS_PRIMARY].astype(bool)
    needle = text.strip().casefold()
    if needle:
        hay = (
            table[s.ACCOUNT_ID].astype(str)
            + "\n"
            + table["account"].fillna("").astype(str)
            + "\n"
            + table[s.DETAIL].fillna("").astype(str)
        ).str.casefold()
        keep &= hay.str.contains(needle, regex=False)
    return table[keep]


def stale_accounts(stored: pd.DataFrame, assignment: Assignment) -> list[str]:
    """Return the accounts whose stored primary territories differ from ``assignment``'s, sorted."""

    def primaries(frame: pd.DataFrame) -> pd.Series:
        rows = frame[frame[s.IS_PRIMARY].astype(bool)]
        pairs = rows[s.ACCOUNT_ID].astype(str) + "\t" + rows[s.TERRITORY_ID].astype(str)
        return pairs

    old = set(primaries(stored))
    new = set(primaries(assignment.memberships))
    return sorted({p.split("\t", 1)[0] for p in old ^ new})


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Trouble:
    """One thing to fix: an unassigned account, an overlap or a gap.

    Parameters
    ----------
    kind
        ``"unassigned"``, ``"overlap"`` or ``"gap"``.
    key
        Stable id of the problem (for widget keys).
    label
        One line for the user.
    geometry
        Where it is (EPSG:4326), for zooming the map.
    """

    kind: Literal["unassigned", "overlap", "gap"]
    key: str
    label: str
    geometry: BaseGeometry


def trouble_list(ws: Workspace, scenario_id: str, assignment: Assignment) -> list[Trouble]:
    """Return the unassigned accounts, same-type overlaps of leaves, and units left uncovered."""
    terr = ws.territories(scenario_id)
    leaves = terr[terr[s.TERRITORY_ID].astype(str).isin(viz.leaf_territory_ids(terr))]
    accounts = ws.accounts
    out: list[Trouble] = []
    where = dict(zip(accounts[s.ACCOUNT_ID].astype(str), accounts.geometry, strict=True))
    names = dict(zip(accounts[s.ACCOUNT_ID].astype(str), accounts[s.NAME].tolist(), strict=True))
    for aid, reason in zip(
        assignment.unassigned[s.ACCOUNT_ID].astype(str),
        assignment.unassigned[s.REASON].astype(str),
        strict=True,
    ):
        point = where.get(aid)
        if point is None or point.is_empty:
            continue
        name = names.get(aid)
        title = f"{name} ({aid})" if isinstance(name, str) and name else aid
        out.append(Trouble("unassigned", f"u:{aid}", f"Account {title}: {reason}", point))
    if len(leaves) > 1:
        overlaps = find_overlaps(leaves, accounts=accounts, same_type_only=True)
        for a, b, area, n, geom in zip(
            overlaps["territory_a"],
            overlaps["territory_b"],
            overlaps["area_m2"],
            overlaps["accounts"],
            overlaps.geometry,
            strict=True,
        ):
            out.append(
                Trouble(
                    "overlap",
                    f"o:{a}:{b}",
                    f"{a} and {b} overlap: {float(area) / 1e6:,.3f} km², {int(n):,} accounts",
                    geom,
                )
            )
    if len(leaves) and not ws.units.empty:
        gaps = find_gaps(leaves, units=ws.units)
        unit_geom = dict(zip(ws.units[s.UNIT_ID].astype(str), ws.units.geometry, strict=True))
        for uid, share in zip(gaps.units[s.UNIT_ID], gaps.units["uncovered_share"], strict=True):
            out.append(
                Trouble(
                    "gap",
                    f"g:{uid}",
                    f"Unit {uid}: {float(share):.0%} covered by no territory",
                    unit_geom[str(uid)],
                )
            )
    return out


# --------------------------------------------------------------------------- units


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
        if _source(terr, _row_of(terr, selected)) != "units":
            for uid in units_of(ws, scenario_id, selected):
                owner[uid] = selected
    return owner


def repair_notes(notes: Iterable[str]) -> list[str]:
    """Return the repairs of a drawn shape worth telling the user, in plain words.

    Ring orientation is dropped: Leaflet draws rings in click order, so half
    of all drawings are "clockwise" and re-orienting them changes nothing the
    user can see.
    """
    return [note for note in notes if "orientation" not in note or ";" in note]


# --------------------------------------------------------------------------- access


def require_edit_rights(
    scope: AccessScope | None, *territory_ids: str | None, everything: bool = False
) -> None:
    """Raise unless a user with ``scope`` may edit every territory named.

    Parameters
    ----------
    scope
        The user's access scope; ``None`` (nobody signed in) may edit nothing.
    territory_ids
        The territories the edit changes (``None`` entries are skipped).
    everything
        The edit reaches beyond single territories (a new top-level
        territory, the territory types, a rep's whole book): only users who
        see everything (planners, admins, local mode) may make it.

    Raises
    ------
    planner.access.AccessDeniedError
        Naming what the user may not change.
    """
    if scope is None or not scope.can("edit"):
        raise AccessDeniedError(
            "Access denied: your role may not edit territories; ask a manager or a planner"
        )
    if everything and not scope.unrestricted:
        raise AccessDeniedError(
            "Access denied: only planners and admins may make this change (it reaches "
            "beyond your territories)"
        )
    denied = sorted({t for t in territory_ids if t is not None and not scope.can_edit_territory(t)})
    if denied:
        raise AccessDeniedError(
            f"Access denied: {format_ids(denied)} is outside the territories you may edit; "
            "ask a planner"
        )
