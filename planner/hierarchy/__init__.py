"""The territory hierarchy (region > district > territory): navigation, checks, roll-ups and edits.

Every function takes a territories frame (``territory_id``, ``parent_id``,
``level``, ``type_id``, geometry, as in ``TABLES["territories"]``) and returns
new values; nothing is changed in place. :func:`save_hierarchy` is the one
function that writes to a workspace, and only after the new hierarchy passed
:func:`check_hierarchy`: a rejected edit saves nothing.

The functions live in modules by concern: :mod:`~planner.hierarchy.navigation`
(walking the tree), :mod:`~planner.hierarchy.checks`,
:mod:`~planner.hierarchy.rollup` and :mod:`~planner.hierarchy.edits`; this
package gathers their public names.
"""

from __future__ import annotations

from planner.hierarchy.checks import DEFAULT_TOLERANCE_M, check_hierarchy, validate_hierarchy
from planner.hierarchy.edits import move_subtree, rename, save_hierarchy
from planner.hierarchy.navigation import (
    ancestors,
    children,
    compute_levels,
    descendants,
    leaves,
    parent_map,
    path,
    roots,
    type_priorities,
)
from planner.hierarchy.rollup import Aggregation, rollup

__all__ = [
    "DEFAULT_TOLERANCE_M",
    "Aggregation",
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
