"""Walking the territory hierarchy: parents, children, ancestors, roots, leaves and levels."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.tree import TerritoryTree

__all__ = [
    "ancestors",
    "children",
    "children_map",
    "compute_levels",
    "cycles_of",
    "descendants",
    "ids_of",
    "leaves",
    "parent_map",
    "path",
    "require_territory",
    "roots",
    "type_priorities",
]


def ids_of(territories: pd.DataFrame) -> list[str]:
    """The territory ids as text, in row order."""
    return [str(v) for v in territories[s.TERRITORY_ID].tolist()]


def parent_map(territories: pd.DataFrame) -> dict[str, str | None]:
    """Return territory id -> parent id as written (``None`` for roots; may name unknown ids)."""
    return dict(TerritoryTree.of(territories).parent)


def children_map(parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Children of every territory, siblings sorted (the order pages and reports show)."""
    tree = TerritoryTree(parents)
    return {t: sorted(tree.children(t)) for t in parents}


def require_territory(territories: pd.DataFrame, territory_id: str) -> None:
    """Raise :class:`InputError` unless ``territory_id`` is a territory of the frame."""
    if territory_id not in set(ids_of(territories)):
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
    require_territory(territories, territory_id)
    return children_map(parent_map(territories))[territory_id]


def descendants(territories: pd.DataFrame, territory_id: str) -> list[str]:
    """Return every territory below ``territory_id`` (not itself), top-down, siblings sorted."""
    require_territory(territories, territory_id)
    kids = children_map(parent_map(territories))
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
    require_territory(territories, territory_id)
    return TerritoryTree.of(territories).ancestors(territory_id)


def path(territories: pd.DataFrame, territory_id: str) -> list[str]:
    """Return the ids from the root down to ``territory_id`` (itself last)."""
    return [*reversed(ancestors(territories, territory_id)), territory_id]


def roots(territories: pd.DataFrame) -> list[str]:
    """Return the territories without a parent, sorted."""
    return sorted(t for t, p in parent_map(territories).items() if p is None)


def leaves(territories: pd.DataFrame) -> list[str]:
    """Return the territories without children, sorted."""
    kids = children_map(parent_map(territories))
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


def cycles_of(parents: Mapping[str, str | None]) -> list[list[str]]:
    """Every cycle of the parent relation, each listed once starting at its smallest id."""
    found = []
    for cycle in TerritoryTree(parents).cycles():
        k = cycle.index(min(cycle))
        found.append(cycle[k:] + cycle[:k])
    return sorted(found)
