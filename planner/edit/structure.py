"""Edits of the hierarchy: moving and renaming territories, and the territory types."""

from __future__ import annotations

import pandas as pd

from planner import hierarchy
from planner import schema as s
from planner.edit.geometry import redraw_parents
from planner.edit.outcome import EditOutcome, all_or_nothing, finish, user_error
from planner.edit.rows import is_leaf, row_of
from planner.errors import InputError, Problem, format_ids
from planner.models import TerritoryType
from planner.workspace import Workspace

__all__ = ["move_territory", "rename_territory", "save_territory_types"]


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
    if new_parent_id is not None and is_leaf(terr, new_parent_id):
        notes.append(
            f"{new_parent_id} now has a sub-territory, so it no longer takes accounts itself: "
            f"its own accounts go to {territory_id} where they lie inside it, else nowhere"
        )
    with all_or_nothing(ws):
        hierarchy.save_hierarchy(
            ws,
            scenario_id,
            moved,
            user=user,
            action="hierarchy.move",
            detail={"territory_id": territory_id, "from": old_parent, "to": new_parent_id},
        )
        where = f"under {new_parent_id}" if new_parent_id else "to the top level"
        return finish(ws, scenario_id, f"Moved {territory_id} {where}.", notes, user=user)


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
    pos = row_of(terr, territory_id)
    if not name.strip():
        raise user_error("a territory needs a name", "type a name", column=s.NAME)
    new = hierarchy.rename(terr, territory_id, name=name.strip())
    old_type = str(terr.iloc[pos][s.TYPE_ID])
    retype = type_id is not None and type_id != old_type
    if retype:
        new.loc[new.index[pos], s.TYPE_ID] = type_id
    with all_or_nothing(ws):
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
            return finish(
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
    with all_or_nothing(ws):
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
