"""Editing the territory hierarchy: moves, renames, and saving a checked hierarchy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.hierarchy.checks import DEFAULT_TOLERANCE_M, check_hierarchy
from planner.hierarchy.navigation import compute_levels, descendants, ids_of, require_territory
from planner.workspace import Workspace

__all__ = ["move_subtree", "rename", "save_hierarchy"]


def move_subtree(
    territories: pd.DataFrame,
    territory_id: str,
    new_parent_id: str | None,
    *,
    check_geometry: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> pd.DataFrame:
    """Return a copy with ``territory_id`` (and everything below it) moved under a new parent.

    Levels are recomputed; level names follow the names other territories
    use at each level, when that is unambiguous.

    Parameters
    ----------
    territories
        The hierarchy.
    territory_id
        The subtree's root.
    new_parent_id
        Its new parent, or ``None`` to make it a root.
    check_geometry, tolerance_m
        See :func:`validate_hierarchy`; the moved territory must lie inside
        its new parent.

    Raises
    ------
    InputError
        If a territory does not exist, the move would make a cycle (a
        territory moved under its own descendant), or the result fails
        :func:`check_hierarchy`.
    """
    require_territory(territories, territory_id)
    if new_parent_id is not None:
        require_territory(territories, new_parent_id)
        below = descendants(territories, territory_id)
        if new_parent_id == territory_id or new_parent_id in below:
            where = (
                "the territory itself" if new_parent_id == territory_id else f"below {territory_id}"
            )
            raise InputError(
                f"cannot move {territory_id} under {new_parent_id}",
                [
                    Problem(
                        f"{new_parent_id} is {where}; moving {territory_id} under it would "
                        "make a cycle",
                        column=s.PARENT_ID,
                        fix=f"pick a parent outside the subtree of {territory_id}",
                    )
                ],
            )
    out = territories.copy()
    ids = np.array(ids_of(out), dtype=object)
    out.loc[ids == territory_id, s.PARENT_ID] = new_parent_id
    out = _relevel(out, moved=[territory_id, *descendants(out, territory_id)])
    check_hierarchy(out, check_geometry=check_geometry, tolerance_m=tolerance_m)
    return out


def _relevel(territories: pd.DataFrame, *, moved: list[str]) -> pd.DataFrame:
    out = territories.copy()
    depth = compute_levels(out)
    ids = ids_of(out)
    old_levels = out[s.LEVEL].tolist() if s.LEVEL in out.columns else [None] * len(out)
    out[s.LEVEL] = [int(depth[t]) for t in ids]
    if s.LEVEL_NAME in out.columns:
        names: dict[int, set[str]] = {}
        for t, lv, nm in zip(ids, old_levels, out[s.LEVEL_NAME].tolist(), strict=True):
            if t in moved or s.is_missing(lv) or s.is_missing(nm):
                continue
            names.setdefault(int(lv), set()).add(str(nm))
        moved_set = set(moved)
        new_names = []
        for t, nm in zip(ids, out[s.LEVEL_NAME].tolist(), strict=True):
            options = names.get(int(depth[t]), set())
            new_names.append(next(iter(options)) if t in moved_set and len(options) == 1 else nm)
        out[s.LEVEL_NAME] = new_names
    return out


def rename(
    territories: pd.DataFrame,
    territory_id: str,
    *,
    name: str | None = None,
    new_id: str | None = None,
) -> pd.DataFrame:
    """Return a copy with a territory's display name and/or id changed.

    A new id is also changed in its children's ``parent_id``.

    Raises
    ------
    InputError
        If the territory does not exist or ``new_id`` is taken or empty.
    """
    require_territory(territories, territory_id)
    out = territories.copy()
    ids = np.array(ids_of(out), dtype=object)
    if name is not None:
        out.loc[ids == territory_id, s.NAME] = name
    if new_id is not None and new_id != territory_id:
        if not new_id.strip():
            raise InputError(
                "empty territory id",
                [Problem("a territory id cannot be empty", fix="type an id")],
            )
        if new_id in set(ids):
            raise InputError(
                f"territory id '{new_id}' is taken",
                [Problem(f"territory '{new_id}' already exists", fix="choose another id")],
            )
        out.loc[ids == territory_id, s.TERRITORY_ID] = new_id
        if s.PARENT_ID in out.columns:
            parents = out[s.PARENT_ID].astype(object)
            out.loc[(parents == territory_id).to_numpy(), s.PARENT_ID] = new_id
    return out


def save_hierarchy(
    workspace: Workspace,
    scenario_id: str,
    territories: pd.DataFrame,
    *,
    user: str | None = None,
    action: str = "hierarchy.update",
    detail: Mapping[str, Any] | None = None,
    check_geometry: bool = True,
) -> None:
    """Check a new hierarchy and store it as the scenario's territories, with an audit entry.

    Nothing is stored when the check fails.

    Parameters
    ----------
    workspace
        The workspace (in memory; call its ``save`` to write the file).
    scenario_id
        The scenario whose territories are replaced.
    territories
        The new territories frame.
    user
        Who made the change.
    action
        Audit action name, e.g. ``"hierarchy.move"``.
    detail
        Audit detail.
    check_geometry
        Check that children lie inside their parents.

    Raises
    ------
    InputError
        Listing every problem; the workspace is unchanged.
    """
    check_hierarchy(
        territories, territory_types=workspace.territory_types, check_geometry=check_geometry
    )
    workspace.set_rows("territories", scenario_id, territories)
    workspace.log(action, dict(detail or {}), user=user, scenario_id=scenario_id)
