"""Open a workspace from a GeoPackage file or a PostGIS server."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from planner.store import DATABASE_URL_ENV, is_database_url, open_store, read_accounts
from planner.workspace.core import Workspace

__all__ = ["open_accounts", "open_workspace", "resolve_target"]


def open_workspace(target: str | os.PathLike[str], *, name: str | None = None) -> Workspace:
    """Open a workspace from a GeoPackage file or a PostGIS server.

    Parameters
    ----------
    target
        A ``.gpkg`` file, or a PostgreSQL URL (then ``name`` picks the
        workspace on that server).
    name
        The server workspace's name.

    Returns
    -------
    Workspace
        A consistent snapshot of the newest version, backed by its store.

    Raises
    ------
    WorkspaceError
        If the file does not exist or is not a workspace.
    SchemaVersionError
        If it was written by a newer version of the planner.
    StoreUnavailableError
        If the server cannot be reached.
    """
    where, server_name = resolve_target(target, name)
    store = open_store(where, name=server_name)
    return Workspace.from_snapshot(store, store.read())


def open_accounts(
    target: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    *,
    name: str | None = None,
    compact: bool = True,
) -> pd.DataFrame:
    """Read only the accounts (and only ``columns`` of them) of a stored workspace.

    For a plan that needs a few account columns of a large workspace (ids
    and points to assign, workload columns to balance) without opening the
    whole workspace: see :func:`planner.store.read_accounts`, which it
    calls. Repeated text comes as ``category`` unless ``compact`` is false.

    Raises
    ------
    WorkspaceError
        If the workspace cannot be opened, or its accounts file is missing
        or unreadable (:class:`~planner.errors.SidecarError`).
    InputError
        If a column is not an accounts column.
    """
    where, server_name = resolve_target(target, name)
    store = open_store(where, name=server_name, readonly=not is_database_url(where))
    try:
        return read_accounts(store, columns, compact=compact)
    finally:
        store.dispose()


def resolve_target(
    target: str | os.PathLike[str], name: str | None = None
) -> tuple[str | os.PathLike[str], str | None]:
    """Return where a workspace argument points: a file, or a server URL and a name.

    ``target`` is a ``.gpkg`` path, a PostgreSQL URL (with ``name``), or,
    when ``$PLANNER_DATABASE_URL`` is set, the name of a workspace on that
    server (anything that is not an existing file and does not end in
    ``.gpkg``).
    """
    text = str(target)
    if is_database_url(text):
        return text, name
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url and not text.lower().endswith(".gpkg") and not Path(text).exists():
        return url, name or text
    return target, None
