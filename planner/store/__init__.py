"""The workspace store: one interface over a GeoPackage file or a PostGIS server.

* :func:`open_store` / :func:`create_store` find or make a stored workspace;
* :class:`Store` reads consistent snapshots and commits changes row by row,
  refusing stale ones with :class:`planner.errors.ConflictError`;
* :mod:`planner.store.history` answers "as of" questions and undoes and
  redoes changes;
* a large GeoPackage workspace keeps its accounts in a GeoParquet file
  beside it (:mod:`planner.store.overlay`); :func:`read_accounts` reads only
  the columns a plan needs, and :meth:`Store.compact` folds the changed rows
  into a new file.

Most code uses it through :class:`planner.workspace.Workspace`
(``ws.commit(...)``, ``ws.undo(...)``) rather than directly.
"""

from planner.store.accounts import read_accounts
from planner.store.connect import (
    DATABASE_URL_ENV,
    StoredWorkspace,
    clean_leftovers,
    copy_store,
    create_store,
    is_database_url,
    list_workspaces,
    open_store,
)
from planner.store.core import Change, Snapshot, Store
from planner.store.history import (
    coverage_as_of,
    history_frame,
    redo,
    redo_target,
    table_as_of,
    undo,
    undo_target,
)

__all__ = [
    "DATABASE_URL_ENV",
    "Change",
    "Snapshot",
    "Store",
    "StoredWorkspace",
    "clean_leftovers",
    "copy_store",
    "coverage_as_of",
    "create_store",
    "history_frame",
    "is_database_url",
    "list_workspaces",
    "open_store",
    "read_accounts",
    "redo",
    "redo_target",
    "table_as_of",
    "undo",
    "undo_target",
]
