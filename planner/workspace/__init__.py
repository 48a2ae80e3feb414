"""A workspace: every table of one territory plan, in memory, backed by a store.

``Workspace`` (:mod:`planner.workspace.core`) is built in layers: the
tables and scenario-scoped rows (:mod:`~planner.workspace.tables`), the
scenario lifecycle (:mod:`~planner.workspace.scenarios`) and persistence
(commit, reload, undo, redo, save). :func:`open_workspace` opens one from
a GeoPackage file or a PostGIS server (:mod:`~planner.workspace.opening`).
"""

from planner.workspace.core import Workspace
from planner.workspace.opening import open_workspace, resolve_target
from planner.workspace.tables import SCENARIO_TABLES, TABLE_NAMES

__all__ = ["SCENARIO_TABLES", "TABLE_NAMES", "Workspace", "open_workspace", "resolve_target"]
