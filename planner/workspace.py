"""A workspace in memory: its tables, scenarios and audit log, backed by a store.

A workspace holds every table of :data:`planner.schema.TABLES`. It is read
from and committed to a :mod:`planner.store` (a GeoPackage file or a
PostGIS server): each commit writes only the rows that changed, in one
transaction, with a version check and a history entry per row.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError, Problem, WorkspaceError
from planner.models import (
    DEFAULT_TYPE,
    AuditEntry,
    Scenario,
    ScenarioState,
    TerritoryType,
)
from planner.store import (
    DATABASE_URL_ENV,
    Change,
    Snapshot,
    Store,
    create_store,
    is_database_url,
    open_store,
    redo,
    undo,
)
from planner.store.replay import replay

__all__ = ["Workspace", "open_workspace", "resolve_target"]

logger = logging.getLogger(__name__)

#: The tables of a workspace, in the order they are written.
TABLE_NAMES = tuple(s.TABLES)
#: Tables whose rows belong to one scenario.
SCENARIO_TABLES = (
    "territories",
    "unit_assignment",
    "memberships",
    "overrides",
    "associations",
    "targets",
)


class _Tables(dict[str, pd.DataFrame]):
    """The workspace's tables; remembers which were replaced since the last commit.

    ``scoped`` is set by :meth:`Workspace.set_rows` so a replacement of one
    scenario's rows is compared only on that scenario.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.touched: dict[str, set[str] | None] = {}
        self.scope: str | None = None

    def __setitem__(self, key: str, value: pd.DataFrame) -> None:
        super().__setitem__(key, value)
        if self.scope is None:
            self.touched[key] = None
        elif key not in self.touched:
            self.touched[key] = {self.scope}
        else:
            scopes = self.touched[key]
            if scopes is not None:
                scopes.add(self.scope)


@dataclass
class Workspace:
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

    name: str = "workspace"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    path: Path | None = None
    description: str = ""
    store: Store | None = field(default=None, repr=False, compare=False)
    version: int = 0

    def __post_init__(self) -> None:
        given = self.tables
        self.tables = _Tables()
        for table in TABLE_NAMES:
            frame = given.get(table)
            self.tables[table] = s.empty_frame(table) if frame is None else conform(frame, table)
        if self.territory_types.empty:
            self.add_territory_type(DEFAULT_TYPE)
        self._baseline: dict[str, pd.DataFrame] = dict(self.tables)
        self._tracked().touched.clear()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the tables, not the connection: a copy (a cache, another process) is detached.

        An unpickled workspace has no store; :meth:`save` writes it to a file.
        """
        state = dict(self.__dict__)
        state["store"] = None
        return state

    def _tracked(self) -> _Tables:
        if not isinstance(self.tables, _Tables):  # someone assigned a plain dict
            tracked = _Tables(self.tables)
            tracked.touched = {t: None for t in TABLE_NAMES}
            self.tables = tracked
        return self.tables

    # -- table access ---------------------------------------------------------
    @property
    def accounts(self) -> gpd.GeoDataFrame:
        """Accounts: points with attributes."""
        return self.tables["accounts"]

    @property
    def reps(self) -> gpd.GeoDataFrame:
        """Reps and other users; geometry is the home base."""
        return self.tables["reps"]

    @property
    def units(self) -> gpd.GeoDataFrame:
        """Building-block polygons (counties, ZIP areas, H3 cells)."""
        return self.tables["units"]

    @property
    def territory_types(self) -> pd.DataFrame:
        """Territory types with their priorities."""
        return self.tables["territory_types"]

    @property
    def scenarios(self) -> pd.DataFrame:
        """Every scenario's row."""
        return self.tables["scenarios"]

    @property
    def audit(self) -> pd.DataFrame:
        """The audit log, oldest first."""
        return self.tables["audit"]

    def set_table(self, table: str, frame: pd.DataFrame, *, validate: bool = True) -> None:
        """Replace a whole table.

        Parameters
        ----------
        table
            A key of :data:`planner.schema.TABLES`.
        frame
            The new rows.
        validate
            Check the frame against the table's schema first.

        Raises
        ------
        InputError
            If ``frame`` does not match the schema.
        """
        if table not in s.TABLES:
            raise InputError(
                f"unknown table '{table}'",
                [Problem(f"unknown table '{table}'", fix=f"use one of {', '.join(s.TABLES)}")],
            )
        conformed = conform(frame, table)
        if validate:
            s.validate_frame(conformed, table)
        self.tables[table] = conformed

    # -- scenario-scoped rows -------------------------------------------------
    def rows(self, table: str, scenario_id: str) -> pd.DataFrame:
        """Return the rows of scenario-scoped ``table`` that belong to ``scenario_id``.

        Raises
        ------
        InputError
            If there is no such scenario.
        """
        self._require_scenario(scenario_id)
        frame = self.tables[table]
        return frame[frame[s.SCENARIO_ID] == scenario_id].reset_index(drop=True)

    def set_rows(
        self, table: str, scenario_id: str, frame: pd.DataFrame, *, validate: bool = True
    ) -> None:
        """Replace the rows of ``table`` that belong to ``scenario_id``.

        Parameters
        ----------
        table
            One of the scenario-scoped tables.
        scenario_id
            The scenario; it must exist.
        frame
            The new rows; their ``scenario_id`` column is set for you.
        validate
            Check the result against the table's schema.
        """
        self._require_scenario(scenario_id)
        new = frame.copy()
        new[s.SCENARIO_ID] = scenario_id
        new = conform(new, table)
        if validate:
            s.validate_frame(new, table)
        old = self.tables[table]
        keep = old[old[s.SCENARIO_ID] != scenario_id]
        combined = pd.concat([keep, new], ignore_index=True) if len(keep) else new
        if isinstance(new, gpd.GeoDataFrame):
            combined = gpd.GeoDataFrame(combined, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
        tracked = self._tracked()
        tracked.scope = scenario_id
        try:
            tracked[table] = conform(combined, table)
        finally:
            tracked.scope = None

    def territories(self, scenario_id: str | None = None) -> gpd.GeoDataFrame:
        """Territories of a scenario (the active one by default)."""
        sid = scenario_id or self.active_scenario_id()
        return self.rows("territories", sid)

    def memberships(self, scenario_id: str | None = None) -> pd.DataFrame:
        """Account memberships of a scenario (the active one by default)."""
        return self.rows("memberships", scenario_id or self.active_scenario_id())

    def associations(self, scenario_id: str | None = None) -> pd.DataFrame:
        """User-territory associations of a scenario (the active one by default)."""
        return self.rows("associations", scenario_id or self.active_scenario_id())

    # -- territory types ------------------------------------------------------
    def add_territory_type(self, ttype: TerritoryType) -> None:
        """Add or replace a territory type."""
        frame = self.tables["territory_types"]
        frame = frame[frame[s.TYPE_ID] != ttype.type_id]
        row = pd.DataFrame(
            [
                {
                    s.TYPE_ID: ttype.type_id,
                    s.NAME: ttype.name or ttype.type_id,
                    s.PRIORITY: ttype.priority,
                    s.DESCRIPTION: ttype.description,
                }
            ]
        )
        merged = pd.concat([frame, row], ignore_index=True) if len(frame) else row
        self.tables["territory_types"] = conform(merged, "territory_types")

    # -- scenarios ------------------------------------------------------------
    def scenario(self, scenario_id: str) -> Scenario:
        """Return scenario ``scenario_id``.

        Raises
        ------
        InputError
            If there is no such scenario.
        """
        self._require_scenario(scenario_id)
        frame = self.scenarios
        row = frame[frame[s.SCENARIO_ID] == scenario_id].iloc[0]
        return Scenario.from_row(row.to_dict())

    def scenario_list(self) -> list[Scenario]:
        """Return every scenario, in the order they were added."""
        return [Scenario.from_row(r) for r in self.scenarios.to_dict("records")]

    def active_scenario_id(self) -> str:
        """Return the id of the active scenario.

        Falls back to the most recent planning scenario when none is active.

        Raises
        ------
        InputError
            If the workspace has no scenario at all.
        """
        frame = self.scenarios
        if frame.empty:
            raise InputError(
                "the workspace has no scenario",
                [Problem("the workspace has no scenario", fix="add one with add_scenario()")],
            )
        active = frame[frame[s.STATE] == ScenarioState.ACTIVE]
        if len(active):
            return str(active.iloc[0][s.SCENARIO_ID])
        planning = frame[frame[s.STATE] == ScenarioState.PLANNING]
        pick = planning if len(planning) else frame
        return str(pick.iloc[-1][s.SCENARIO_ID])

    def add_scenario(self, scenario: Scenario, *, user: str | None = None) -> Scenario:
        """Add a new scenario.

        A new scenario may not be added as active while another is active:
        add it as planning and :meth:`promote` it.

        Raises
        ------
        InputError
            If the id is taken, or it is active while another is.
        """
        frame = self.scenarios
        if (frame[s.SCENARIO_ID] == scenario.scenario_id).any():
            raise InputError(
                f"scenario '{scenario.scenario_id}' already exists",
                [Problem("scenario id taken", fix="choose another scenario_id")],
            )
        if scenario.state == ScenarioState.ACTIVE and (frame[s.STATE] == "active").any():
            raise InputError(
                f"scenario '{scenario.scenario_id}' cannot be added as active",
                [Problem("another scenario is active", fix="add it as planning, then promote it")],
            )
        row = pd.DataFrame([scenario.to_row()])
        merged = pd.concat([frame, row], ignore_index=True) if len(frame) else row
        self.tables["scenarios"] = conform(merged, "scenarios")
        self.log(
            "scenario.add", {"name": scenario.name}, user=user, scenario_id=scenario.scenario_id
        )
        return scenario

    def update_scenario(self, scenario: Scenario) -> None:
        """Replace the stored row of an existing scenario (parameters, metrics, name)."""
        self._require_scenario(scenario.scenario_id)
        frame = self.scenarios.copy()
        mask = frame[s.SCENARIO_ID] == scenario.scenario_id
        row = scenario.to_row()
        for key, value in row.items():
            frame.loc[mask, key] = value
        self.tables["scenarios"] = conform(frame, "scenarios")

    def copy_scenario(
        self,
        source_id: str,
        new_id: str,
        *,
        name: str = "",
        user: str | None = None,
        parameters: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> Scenario:
        """Copy a scenario with all its rows into a new planning scenario."""
        source = self.scenario(source_id)
        new = Scenario(
            new_id,
            name=name or f"Copy of {source.name or source_id}",
            state=ScenarioState.PLANNING,
            created_from=source_id,
            parameters=parameters if parameters is not None else dict(source.parameters),
            metrics=metrics if metrics is not None else dict(source.metrics),
        )
        self.add_scenario(new, user=user)
        for table in SCENARIO_TABLES:
            self.set_rows(table, new_id, self.rows(table, source_id), validate=False)
        return new

    def promote(self, scenario_id: str, *, user: str | None = None) -> None:
        """Make ``scenario_id`` active; the previously active one becomes archived.

        This is the lifecycle of Salesforce territory models: planning ->
        active -> archived. An archived scenario cannot be promoted again:
        copy it first.

        Raises
        ------
        InputError
            If the scenario is unknown or archived.
        """
        target = self.scenario(scenario_id)
        if target.state == ScenarioState.ARCHIVED:
            raise InputError(
                f"scenario '{scenario_id}' is archived and cannot become active",
                [Problem("archived scenarios are read-only", fix="copy it, then promote the copy")],
            )
        frame = self.scenarios.copy()
        previous = frame.loc[frame[s.STATE] == "active", s.SCENARIO_ID].tolist()
        frame.loc[frame[s.STATE] == "active", s.STATE] = "archived"
        frame.loc[frame[s.SCENARIO_ID] == scenario_id, s.STATE] = "active"
        self.tables["scenarios"] = conform(frame, "scenarios")
        self.log(
            "scenario.promote",
            {"archived": [p for p in previous if p != scenario_id]},
            user=user,
            scenario_id=scenario_id,
        )

    def delete_scenario(self, scenario_id: str, *, user: str | None = None) -> None:
        """Delete a planning or archived scenario and all its rows.

        Raises
        ------
        InputError
            If it is the active scenario.
        """
        if self.scenario(scenario_id).state == ScenarioState.ACTIVE:
            raise InputError(
                f"scenario '{scenario_id}' is active and cannot be deleted",
                [Problem("the active scenario cannot be deleted", fix="promote another first")],
            )
        for table in SCENARIO_TABLES:
            frame = self.tables[table]
            self.tables[table] = conform(frame[frame[s.SCENARIO_ID] != scenario_id], table)
        frame = self.scenarios
        self.tables["scenarios"] = conform(frame[frame[s.SCENARIO_ID] != scenario_id], "scenarios")
        self.log("scenario.delete", {}, user=user, scenario_id=scenario_id)

    def _require_scenario(self, scenario_id: str) -> None:
        known = self.scenarios[s.SCENARIO_ID].tolist()
        if scenario_id not in known:
            raise InputError(
                f"unknown scenario '{scenario_id}'",
                [Problem(f"unknown scenario '{scenario_id}'", fix=f"use one of {known}")],
            )

    # -- audit ----------------------------------------------------------------
    def log(
        self,
        action: str,
        detail: dict[str, Any] | None = None,
        *,
        user: str | None = None,
        scenario_id: str | None = None,
    ) -> AuditEntry:
        """Append an entry to the audit log and return it."""
        entry = AuditEntry(action, detail or {}, user=user, scenario_id=scenario_id)
        row = pd.DataFrame([entry.to_row()])
        frame = self.tables["audit"]
        merged = pd.concat([frame, row], ignore_index=True) if len(frame) else row
        self.tables["audit"] = conform(merged, "audit")
        return entry

    # -- summary --------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return counts, scenarios and hierarchy depth as a JSON-friendly dict."""
        scenarios = []
        for sc in self.scenario_list():
            terr = self.rows("territories", sc.scenario_id)
            levels = int(terr[s.LEVEL].max()) + 1 if len(terr) else 0
            scenarios.append(
                {
                    "scenario_id": sc.scenario_id,
                    "name": sc.name,
                    "state": str(sc.state),
                    "territories": len(terr),
                    "hierarchy_levels": levels,
                    "memberships": len(self.rows("memberships", sc.scenario_id)),
                }
            )
        try:
            active = self.active_scenario_id()
        except InputError:
            active = None
        depth = next((x["hierarchy_levels"] for x in scenarios if x["scenario_id"] == active), 0)
        return {
            "name": self.name,
            "description": self.description,
            "schema_version": s.SCHEMA_VERSION,
            "accounts": len(self.accounts),
            "reps": len(self.reps),
            "units": len(self.units),
            "territory_types": len(self.territory_types),
            "scenarios": scenarios,
            "active_scenario": active,
            "hierarchy_depth": depth,
            "audit_entries": len(self.audit),
        }

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
        diffs, extras = self.store.diff(self.tables, self._baseline, scopes)
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
        self._tracked().touched.clear()

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
            self.tables = _Tables(replay(self._baseline, rows, self.store.keys_of))
            self.version = head
            self._mark_clean()
            return self
        fresh = _from_store(self.store)
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
        return _from_snapshot(store, snap)

    def ensure_admin(
        self,
        user_id: str,
        *,
        name: str | None = None,
        password_hash: str | None = None,
        email: str | None = None,
    ) -> None:
        """Make ``user_id`` an admin of this workspace (adding the user if needed).

        Used when someone imports data into a new workspace: the importer
        owns it, keeping their password, instead of it opening to anybody.
        """
        reps = self.reps.copy()
        ids = reps[s.REP_ID].astype(str)
        if (ids == user_id).any():
            reps.loc[ids == user_id, s.ROLE] = "admin"
            if password_hash and s.is_missing(reps.loc[ids == user_id, s.PASSWORD_HASH].iloc[0]):
                reps.loc[ids == user_id, s.PASSWORD_HASH] = password_hash
        else:
            row = {
                s.REP_ID: user_id,
                s.NAME: name or user_id,
                s.ROLE: "admin",
                s.EMAIL: email,
                s.PASSWORD_HASH: password_hash,
            }
            new = gpd.GeoDataFrame([row], geometry=[None], crs=s.STORAGE_CRS)
            reps = pd.concat([reps, new], ignore_index=True) if len(reps) else new
        self.set_table("reps", reps)

    def _attach(self, store: Store, version: int) -> None:
        if self.store is not None and self.store is not store:
            self.store.dispose()
        self.store = store
        self.version = version
        self.path = Path(store.location) if store.backend == "gpkg" else None
        self._mark_clean()


def _from_store(store: Store) -> Workspace:
    return Workspace.from_snapshot(store, store.read())


def _from_snapshot(store: Store, snap: Snapshot) -> Workspace:
    ws = Workspace(
        name=str(snap.meta.get("name") or store.name),
        tables=snap.tables,
        description=str(snap.meta.get("description") or ""),
    )
    ws._attach(store, snap.version)
    return ws


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
    return _from_store(open_store(where, name=server_name))


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
