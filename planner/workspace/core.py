"""A workspace in memory backed by a store: commit, reload, undo, redo, save.

A workspace holds every table of :data:`planner.schema.TABLES`. It is read
from and committed to a :mod:`planner.store` (a GeoPackage file or a
PostGIS server): each commit writes only the rows that changed, in one
transaction, with a version check and a history entry per row.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

from planner import schema as s
from planner.errors import WorkspaceError
from planner.models import Scenario, ScenarioState
from planner.store import Change, Snapshot, Store, create_store, redo, undo
from planner.store.replay import replay
from planner.workspace.changed_rows import diff_pending
from planner.workspace.scenarios import WorkspaceScenarios
from planner.workspace.tables import SCENARIO_TABLES, TrackedTables

__all__ = ["Workspace"]

logger = logging.getLogger(__name__)


class Workspace(WorkspaceScenarios):
    """Every table of one territory-planning workspace, in memory.

    Tables are (Geo)DataFrames shaped by :data:`planner.schema.TABLES`;
    scenario-scoped tables hold the rows of every scenario, keyed by
    ``scenario_id``.

    A workspace opened with :func:`open_workspace` is backed by a store (a
    GeoPackage file or a PostGIS server) and remembers the version it was
    read at. Edit it with the library's functions, then :meth:`commit` the
    change: only the changed rows are written, in one transaction, and a
    change on an outdated version that touches rows changed since is
    refused with :class:`~planner.errors.ConflictError`. :meth:`undo` and
    :meth:`redo` step through the user's own changes; :meth:`save` writes a
    copy to a new file.

    Parameters
    ----------
    name
        Display name of the workspace.
    tables
        The frames by table name; missing tables start empty.
    path
        The file it was read from, if any.
    """

    # -- persistence ----------------------------------------------------------
    def has_changes(self) -> bool:
        """Tell whether the workspace holds edits not committed yet."""
        return bool(self._pending())

    def _pending(self) -> dict[str, frozenset[str] | None]:
        tracked = self._tracked()
        scopes: dict[str, frozenset[str] | None] = {}
        for table, scope in tracked.touched.items():
            if self.tables[table] is self._baseline.get(table):
                continue
            scopes[table] = None if scope is None else frozenset(scope)
        return scopes

    def commit(
        self,
        action: str,
        *,
        user: str | None = None,
        effective_date: str | date | None = None,
        cause: str | None = None,
        scenario_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Change | None:
        """Write the edits made since the last read or commit as one change.

        Parameters
        ----------
        action
            A short label of the change for the history ("move unit 00120").
        user
            Who made it.
        effective_date
            From when it applies (``YYYY-MM-DD``; today by default).
        cause
            Why (free text, e.g. "rep left", "rebalance").
        scenario_id
            The scenario it concerns, if one.
        detail
            Anything else worth keeping, JSON-friendly.

        Returns
        -------
        Change or None
            The recorded change, or ``None`` if nothing changed.

        Raises
        ------
        ConflictError
            If somebody changed any of the same rows since this workspace
            was read; nothing is written and the edits stay in memory.
        WorkspaceError
            If the workspace has no store (see :meth:`save`), or the store
            cannot be written.
        """
        if self.store is None:
            raise WorkspaceError(
                "this workspace is not stored yet: save it to a file first with save(path)"
            )
        scopes = self._pending()
        if not scopes:
            return None
        known = self._tracked().rows
        rows = {t: r for t, r in known.items() if r is not None and t in scopes}
        diffs, extras = diff_pending(self.store, self.tables, self._baseline, scopes, rows)
        if not diffs and not extras:
            self._mark_clean()
            return None
        change = self.store.commit(
            diffs,
            base_version=self.version,
            action=action,
            user=user,
            effective_date=effective_date,
            cause=cause,
            scenario_id=scenario_id,
            detail=detail,
            extras=extras,
        )
        self._after_commit(change)
        return change

    def commit_as_new_scenario(
        self,
        scenario_id: str,
        *,
        new_id: str | None = None,
        name: str | None = None,
        user: str | None = None,
    ) -> Change | None:
        """Keep this session's version of a scenario as a new planning scenario.

        The way out of a :class:`~planner.errors.ConflictError` that keeps
        your work: your in-memory rows of ``scenario_id`` (territories, unit
        assignment, memberships, overrides, associations, targets) become a
        new scenario on top of the newest version, and nobody's change is
        overwritten. Your edits to tables outside scenarios are dropped.

        Returns
        -------
        Change or None
            The recorded change.
        """
        source = self.scenario(scenario_id)
        mine = {table: self.rows(table, scenario_id) for table in SCENARIO_TABLES}
        self.reload()
        taken = set(self.scenarios[s.SCENARIO_ID].astype(str))
        base = new_id or f"{scenario_id}-{user or 'copy'}"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        label = name or f"{source.name or scenario_id} ({user or 'my'} version)"
        self.add_scenario(
            Scenario(
                candidate,
                name=label,
                state=ScenarioState.PLANNING,
                created_from=scenario_id,
                parameters=dict(source.parameters),
                metrics=dict(source.metrics),
            ),
            user=user,
        )
        for table, rows in mine.items():
            self.set_rows(table, candidate, rows, validate=False)
        return self.commit(f"save as scenario {candidate}", user=user, scenario_id=candidate)

    def _after_commit(self, change: Change) -> None:
        if change.base_version == self.version and change.version == self.version + 1:
            self.version = change.version
            self._mark_clean()
        else:  # others committed in between (other rows): take their rows too
            self.reload()

    def _mark_clean(self) -> None:
        self._baseline = dict(self.tables)
        self._tracked().clean()

    def reload(self) -> Workspace:
        """Bring the workspace to the newest version, dropping uncommitted edits; return self.

        Only the rows changed since this workspace's version are read (from
        the history) and replayed on the tables as read; after many changes
        the tables are read again whole.
        """
        if self.store is None:
            raise WorkspaceError("this workspace is not stored: there is nothing to reload")
        found = self.store.changes_since(self.version)
        if found is not None:
            head, rows = found
            replayed = replay(self._baseline, rows, self.store.keys_of)
            for table, frame in replayed.items():  # replaying keeps keys unique
                if self.store.facts.is_unique(self._baseline[table]):
                    self.store.facts.mark_unique(frame)
            self.tables = TrackedTables(replayed)
            self.version = head
            self._mark_clean()
            return self
        fresh = type(self).from_snapshot(self.store, self.store.read())
        self.tables = fresh.tables
        self.name, self.description, self.version = fresh.name, fresh.description, fresh.version
        self._mark_clean()
        return self

    def undo(self, user: str | None = None) -> Change:
        """Undo ``user``'s newest change (a new recorded change) and reload.

        Raises
        ------
        ConflictError
            If somebody changed the same rows since; nothing is changed.
        WorkspaceError
            If there is nothing to undo, or edits are not committed yet.
        """
        store = self._store_for("undo")
        change = undo(store, user, base_version=self.version)
        self.reload()
        return change

    def redo(self, user: str | None = None) -> Change:
        """Redo ``user``'s newest undo and reload (see :meth:`undo`)."""
        store = self._store_for("redo")
        change = redo(store, user, base_version=self.version)
        self.reload()
        return change

    def _store_for(self, what: str) -> Store:
        if self.store is None:
            raise WorkspaceError(f"this workspace is not stored: there is no history to {what}")
        if self.has_changes():
            raise WorkspaceError(
                f"commit or reload your edits before you {what}: they are not saved yet"
            )
        return self.store

    def save(self, path: str | os.PathLike[str] | None = None, *, user: str | None = None) -> Path:
        """Commit pending edits, or write a copy of the workspace to a new file.

        Parameters
        ----------
        path
            ``None``: commit the pending edits to this workspace's store.
            A ``.gpkg`` path: write the whole workspace (with any pending
            edits) there as a new workspace and continue working on it
            ("Save a copy as..."); an existing file there is replaced.
        user
            Who saves (recorded with the change).

        Returns
        -------
        Path
            The file written (or the store's file).

        Raises
        ------
        WorkspaceError
            If writing fails; any previous file at ``path`` is then unchanged.
        """
        if path is None:
            if self.store is None:
                raise WorkspaceError("save() needs a path: this workspace was never saved")
            self.commit("save", user=user)
            if self.path is None:
                raise WorkspaceError(f"{self.store.location} is on a server, not in a file")
            return self.path
        target = Path(path)
        if self.store is not None and self.path is not None and target.resolve() == self.path:
            self.commit("save", user=user)
            return self.path
        store = create_store(
            target, self.tables, name=self.name, description=self.description, overwrite=True
        )
        self._attach(store, store.head())
        logger.info("saved a copy of the workspace to %s", store.location)
        return Path(store.location)

    @classmethod
    def from_snapshot(cls, store: Store, snap: Snapshot) -> Workspace:
        """Build the workspace a snapshot shows, backed by ``store`` at the snapshot's version."""
        ws = cls(
            name=str(snap.meta.get("name") or store.name),
            tables=snap.tables,
            description=str(snap.meta.get("description") or ""),
            conformed=True,  # a store reads tables in their conformed shape
        )
        ws._attach(store, snap.version)
        return ws

    def _attach(self, store: Store, version: int) -> None:
        if self.store is not None and self.store is not store:
            self.store.dispose()
        self.store = store
        self.version = version
        self.path = Path(store.location) if store.backend == "gpkg" else None
        self._mark_clean()
