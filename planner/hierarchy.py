"""The territory hierarchy (region > district > territory): navigation, checks, roll-ups and edits.

Every function takes a territories frame (``territory_id``, ``parent_id``,
``level``, ``type_id``, geometry, as in ``TABLES["territories"]``) and returns
new values; nothing is changed in place. :func:`save_hierarchy` is the one
function that writes to a workspace, and only after the new hierarchy passed
:func:`check_hierarchy`: a rejected edit saves nothing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.tree import TerritoryTree

if TYPE_CHECKING:
    from planner.workspace import Workspace

__all__ = [
    "ancestors",
    "check_hierarchy",
    "children",
    "compute_levels",
    "descendants",
    "leaves",
    "move_subtree",
    "parent_map",
    "path",
    "rename",
    "rollup",
    "roots",
    "save_hierarchy",
    "type_priorities",
    "validate_hierarchy",
]

logger = logging.getLogger(__name__)

#: How far (metres) a child's shape may stick out of its parent's.
DEFAULT_TOLERANCE_M = 50.0

Aggregation = Literal["sum", "mean", "min", "max", "count", "median"]


def _ids(territories: pd.DataFrame) -> list[str]:
    return [str(v) for v in territories[s.TERRITORY_ID].tolist()]


def parent_map(territories: pd.DataFrame) -> dict[str, str | None]:
    """Return territory id -> parent id as written (``None`` for roots; may name unknown ids)."""
    return dict(TerritoryTree.of(territories).parent)


def _children_map(parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Children of every territory, siblings sorted (the order pages and reports show)."""
    tree = TerritoryTree(parents)
    return {t: sorted(tree.children(t)) for t in parents}


def _require(territories: pd.DataFrame, territory_id: str) -> None:
    if territory_id not in set(_ids(territories)):
        raise InputError(
            f"unknown territory '{territory_id}'",
            [
                Problem(
                    f"there is no territory '{territory_id}'",
                    column=s.TERRITORY_ID,
                    fix="pick an existing territory",
                )
            ],
        )


def children(territories: pd.DataFrame, territory_id: str) -> list[str]:
    """Return the ids of the territories directly below ``territory_id``, sorted."""
    _require(territories, territory_id)
    return _children_map(parent_map(territories))[territory_id]


def descendants(territories: pd.DataFrame, territory_id: str) -> list[str]:
    """Return every territory below ``territory_id`` (not itself), top-down, siblings sorted."""
    _require(territories, territory_id)
    kids = _children_map(parent_map(territories))
    out: list[str] = []
    seen = {territory_id}
    queue = deque(kids[territory_id])
    while queue:
        t = queue.popleft()
        if t in seen:  # a cycle; check_hierarchy reports it
            continue
        seen.add(t)
        out.append(t)
        queue.extend(kids[t])
    return out


def ancestors(territories: pd.DataFrame, territory_id: str) -> list[str]:
    """Return the territories above ``territory_id``: its parent first, the root last."""
    _require(territories, territory_id)
    return _ancestors(parent_map(territories), territory_id)


def _ancestors(parents: Mapping[str, str | None], territory_id: str) -> list[str]:
    return TerritoryTree(parents).ancestors(territory_id)


def path(territories: pd.DataFrame, territory_id: str) -> list[str]:
    """Return the ids from the root down to ``territory_id`` (itself last)."""
    return [*reversed(ancestors(territories, territory_id)), territory_id]


def roots(territories: pd.DataFrame) -> list[str]:
    """Return the territories without a parent, sorted."""
    return sorted(t for t, p in parent_map(territories).items() if p is None)


def leaves(territories: pd.DataFrame) -> list[str]:
    """Return the territories without children, sorted."""
    kids = _children_map(parent_map(territories))
    return sorted(t for t, k in kids.items() if not k)


def compute_levels(territories: pd.DataFrame) -> pd.Series:
    """Return each territory's depth below its root (0 for roots), indexed by territory id.

    Territories on a cycle or below a missing parent get the depth of the
    part of their chain that exists.
    """
    return pd.Series(TerritoryTree.of(territories).depths(), name=s.LEVEL, dtype="int64")


def type_priorities(territory_types: pd.DataFrame | Mapping[str, int] | None) -> dict[str, int]:
    """Return type id -> priority (lower wins) from the ``territory_types`` table or a mapping."""
    if territory_types is None:
        return {}
    if isinstance(territory_types, Mapping):
        return {str(k): int(v) for k, v in territory_types.items()}
    return {
        str(t): int(p)
        for t, p in zip(
            territory_types[s.TYPE_ID].tolist(), territory_types[s.PRIORITY].tolist(), strict=True
        )
    }


# --------------------------------------------------------------------------- checks


def _cycles(parents: Mapping[str, str | None]) -> list[list[str]]:
    """Every cycle of the parent relation, each listed once starting at its smallest id."""
    found = []
    for cycle in TerritoryTree(parents).cycles():
        k = cycle.index(min(cycle))
        found.append(cycle[k:] + cycle[:k])
    return sorted(found)


def validate_hierarchy(
    territories: pd.DataFrame,
    *,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    check_geometry: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> list[Problem]:
    """Find every problem of a hierarchy.

    Errors: an empty or repeated id, a parent that does not exist, a cycle
    (including a territory that is its own parent), an unknown territory
    type (when ``territory_types`` is given), and a child whose shape sticks
    out of its parent's shape by more than ``tolerance_m``. Warning: a
    ``level`` that is not the depth below the root.

    Parameters
    ----------
    territories
        The territories frame.
    territory_types
        The ``territory_types`` table (or type id -> priority); ``None``
        skips the type check.
    check_geometry
        Check that children with a shape lie inside their parent's shape.
    tolerance_m
        How far a child may stick out of its parent, in metres.

    Returns
    -------
    list of Problem
        Empty when the hierarchy is sound. ``rows`` are 1-based positions in
        ``territories``.
    """
    problems: list[Problem] = []
    ids = _ids(territories)
    rows_of: dict[str, list[int]] = {}
    for i, t in enumerate(ids):
        rows_of.setdefault(t, []).append(i + 1)
    empty = [r for t, r in rows_of.items() if t in ("", "None", "nan")]
    if empty:
        problems.append(
            Problem(
                "territories without an id",
                rows=tuple(r for rs in empty for r in rs),
                column=s.TERRITORY_ID,
                fix="give every territory an id",
            )
        )
    dupes = sorted(t for t, r in rows_of.items() if len(r) > 1)
    if dupes:
        problems.append(
            Problem(
                f"territory ids {format_ids(dupes)} appear more than once",
                rows=tuple(r for t in dupes for r in rows_of[t]),
                column=s.TERRITORY_ID,
                fix="give every territory its own id",
            )
        )
    parents = parent_map(territories)
    missing = sorted(t for t, p in parents.items() if p is not None and p not in parents)
    for t in missing:
        problems.append(
            Problem(
                f"territory {t} names parent {parents[t]}, which does not exist",
                rows=tuple(rows_of[t]),
                column=s.PARENT_ID,
                fix=f"create territory {parents[t]} first, or clear the parent of {t}",
            )
        )
    for cycle in _cycles(parents):
        down = cycle[:1] + cycle[1:][::-1]  # parent > child order
        text = " > ".join([*down, down[0]])
        what = "is its own parent" if len(cycle) == 1 else f"form a cycle: {text}"
        problems.append(
            Problem(
                f"territor{'y' if len(cycle) == 1 else 'ies'} {format_ids(cycle)} {what}",
                rows=tuple(r for t in cycle for r in rows_of[t]),
                column=s.PARENT_ID,
                fix="give one of them a parent outside the cycle (or none)",
            )
        )
    if territory_types is not None and s.TYPE_ID in territories.columns:
        known = type_priorities(territory_types)
        types = territories[s.TYPE_ID].tolist()
        unknown = sorted({str(v) for v in types if not s.is_missing(v) and str(v) not in known})
        if unknown:
            problems.append(
                Problem(
                    f"unknown territory types {format_ids(unknown)}",
                    rows=tuple(
                        i + 1
                        for i, v in enumerate(types)
                        if not s.is_missing(v) and str(v) in unknown
                    ),
                    column=s.TYPE_ID,
                    fix=f"use one of {format_ids(sorted(known))}, or add the type first",
                )
            )
    if s.LEVEL in territories.columns and not _cycles(parents):
        depth = compute_levels(territories)
        levels = pd.to_numeric(territories[s.LEVEL], errors="coerce").tolist()
        wrong = [
            t
            for t, lv in zip(ids, levels, strict=True)
            if t in depth.index and not s.is_missing(lv) and int(lv) != int(depth[t])
        ]
        if wrong:
            problems.append(
                Problem(
                    f"the level of {format_ids(wrong)} is not their depth below the root",
                    rows=tuple(r for t in wrong for r in rows_of[t]),
                    column=s.LEVEL,
                    fix="recompute levels (compute_levels) or move the territories",
                    severity="warning",
                )
            )
    if check_geometry and isinstance(territories, gpd.GeoDataFrame):
        problems.extend(_outside_parent(territories, parents, rows_of, tolerance_m))
    return problems


def _outside_parent(
    territories: gpd.GeoDataFrame,
    parents: Mapping[str, str | None],
    rows_of: Mapping[str, list[int]],
    tolerance_m: float,
) -> list[Problem]:
    from planner.geo.shapes import local_crs

    geoms = territories.geometry
    usable = ~(geoms.isna() | geoms.is_empty)
    if not usable.any():
        return []
    ids = _ids(territories)
    present = territories[usable.to_numpy()]
    # test in the territories' own CRS: assignment places points in that CRS too
    shape = dict(
        zip([ids[i] for i in np.flatnonzero(usable.to_numpy())], present.geometry, strict=True)
    )
    pairs = [
        (c, p) for c, p in parents.items() if p is not None and c in shape and p in shape and c != p
    ]
    if not pairs:
        return []
    tolerance = tolerance_m
    crs = present.crs
    if crs is not None and crs.is_geographic:
        lat = float(np.clip(np.mean(present.total_bounds[[1, 3]]), -80, 80))
        tolerance = tolerance_m / (111_320.0 * np.cos(np.radians(lat)))
    child = np.array([shape[c] for c, _ in pairs], dtype=object)
    parent = np.array([shape[p] for _, p in pairs], dtype=object)
    grown = shapely.buffer(parent, tolerance) if tolerance > 0 else parent
    inside = shapely.covers(grown, child)
    out: list[Problem] = []
    bad = np.flatnonzero(~inside)
    if not len(bad):
        return out
    outside = gpd.GeoSeries(shapely.difference(child[bad], parent[bad]), crs=crs)
    whole = gpd.GeoSeries(child[bad], crs=crs)
    if crs is not None:
        metric = local_crs(whole)
        outside, whole = outside.to_crs(metric), whole.to_crs(metric)
    for k, outside_m2, total_m2 in zip(bad, outside.area, whole.area, strict=True):
        c, p = pairs[k]
        share = float(outside_m2) / max(float(total_m2), 1e-9)
        out.append(
            Problem(
                f"territory {c} sticks out of its parent {p} by {outside_m2 / 1e6:.3f} km² "
                f"({share:.1%} of its area)",
                rows=tuple(rows_of[c]),
                column=s.GEOMETRY,
                fix=f"redraw {c} inside {p}, or move it under another parent",
            )
        )
    return out


def check_hierarchy(
    territories: pd.DataFrame,
    *,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    check_geometry: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> None:
    """Raise an :class:`InputError` listing every error :func:`validate_hierarchy` finds.

    Warnings (levels that are not depths) do not raise.
    """
    problems = validate_hierarchy(
        territories,
        territory_types=territory_types,
        check_geometry=check_geometry,
        tolerance_m=tolerance_m,
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"the territory hierarchy has {len(errors)} problem(s)", errors)


# --------------------------------------------------------------------------- roll-ups


def rollup(
    values: pd.Series | pd.DataFrame | Mapping[str, float],
    territories: pd.DataFrame,
    *,
    how: Aggregation = "sum",
) -> pd.Series | pd.DataFrame:
    """Aggregate a metric up the tree: each territory gets the aggregate over itself and below.

    Parameters
    ----------
    values
        The metric by territory id (usually the leaves'); a DataFrame rolls
        up every column.
    territories
        The hierarchy.
    how
        ``sum``, ``mean``, ``min``, ``max``, ``count`` or ``median``; a mean
        is over the valued territories of the subtree, not a mean of means.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Indexed by every territory id (sorted); territories with no value
        below them get 0 for ``sum``/``count`` and NaN otherwise.

    Raises
    ------
    InputError
        If the hierarchy has a cycle, or ``values`` names unknown territories.
    """
    parents = parent_map(territories)
    cycles = _cycles(parents)
    if cycles:
        raise InputError(
            "cannot roll up over a cyclic hierarchy",
            [
                Problem(
                    f"territories {format_ids(c)} form a cycle",
                    column=s.PARENT_ID,
                    fix="fix the parents first",
                )
                for c in cycles
            ],
        )
    data = pd.Series(values) if isinstance(values, Mapping) else values
    data = data.copy()
    data.index = data.index.map(str)
    unknown = sorted(set(data.index) - set(parents))
    if unknown:
        raise InputError(
            "values for unknown territories",
            [
                Problem(
                    f"values are given for territories {format_ids(unknown)}, which are not in "
                    "the hierarchy",
                    fix="drop them or add the territories",
                )
            ],
        )
    owners: list[str] = []
    members: list[str] = []
    for t in data.index:
        for a in [t, *_ancestors(parents, t)]:
            owners.append(a)
            members.append(t)
    pairs = pd.DataFrame({"owner": owners, "member": members})
    expanded = data.reindex(pairs["member"].to_numpy())
    expanded.index = pd.Index(pairs["owner"].to_numpy(), name=s.TERRITORY_ID)
    result = expanded.groupby(level=0).agg(how)
    everyone = pd.Index(sorted(parents), name=s.TERRITORY_ID)
    result = result.reindex(everyone)
    if how in ("sum", "count"):
        result = result.fillna(0)
    return result


# --------------------------------------------------------------------------- edits


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
    _require(territories, territory_id)
    if new_parent_id is not None:
        _require(territories, new_parent_id)
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
    ids = np.array(_ids(out), dtype=object)
    out.loc[ids == territory_id, s.PARENT_ID] = new_parent_id
    out = _relevel(out, moved=[territory_id, *descendants(out, territory_id)])
    check_hierarchy(out, check_geometry=check_geometry, tolerance_m=tolerance_m)
    return out


def _relevel(territories: pd.DataFrame, *, moved: list[str]) -> pd.DataFrame:
    out = territories.copy()
    depth = compute_levels(out)
    ids = _ids(out)
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
    _require(territories, territory_id)
    out = territories.copy()
    ids = np.array(_ids(out), dtype=object)
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
