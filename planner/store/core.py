"""The transactional store of one workspace, on a GeoPackage file or a PostGIS server.

A :class:`Store` reads the whole workspace as one consistent snapshot and
commits a change as one transaction that writes only the rows it changes::

    snap = store.read()                 # tables + the version they show
    ... compute diffs against snap ...
    change = store.commit(diffs, base_version=snap.version, action="move unit", user="ann")

Every commit states the version it was made on. If other changes landed
since and touched any of the same rows, the commit is refused with
:class:`planner.errors.ConflictError` naming them, and nothing is written;
changes to other rows go through (no lost update, no needless refusal).
Each changed row is appended to the history with its before and after
images, the change's author, time and effective date; undo and redo replay
those images as new changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planner import schema as s
from planner.collector import collector_paused
from planner.conform import conform
from planner.errors import ConflictError, StoreUnavailableError, WorkspaceError
from planner.models import now_iso
from planner.store.changes import Change, iso_date
from planner.store.columnar import read_gpkg_table
from planner.store.conflicts import check_conflicts
from planner.store.diff import RowChange, TableDiff, diff_aligned, diff_rows, diff_table
from planner.store.facts import FrameFacts
from planner.store.layout import HIDDEN, Backend, Layout, kind_of_dtype, kind_of_sql
from planner.store.messages import fault_message
from planner.store.overlay import (
    TABLE,
    Compaction,
    compaction_due,
    frame_of,
    merged_table,
    overlaid_tables,
    plan_compaction,
    read_overlay,
)
from planner.store.sidecar import threshold
from planner.store.sqlread import read_sql_table
from planner.store.writes import apply_rows, record_change

logger = logging.getLogger(__name__)

__all__ = ["Change", "Snapshot", "Store", "iso_date"]


@dataclass
class Snapshot:
    """Every table of a workspace as of one version, read in one transaction."""

    tables: dict[str, pd.DataFrame]
    meta: dict[str, str]
    version: int


class Store:
    """One stored workspace. Build it with :func:`planner.store.open_store` or ``create``.

    Parameters
    ----------
    engine
        The SQLAlchemy engine (see :mod:`planner.store.layout`).
    layout
        The workspace's tables.
    location
        The file path or the server URL with the workspace name, for messages.
    name
        The workspace name.
    """

    def __init__(self, engine: Engine, layout: Layout, *, location: str, name: str) -> None:
        self.engine = engine
        self.layout = layout
        self.location = location
        self.name = name
        #: Row keys and key uniqueness of the frames this store has read or compared.
        self.facts = FrameFacts()
        #: Accounts past which a GeoPackage keeps them in a GeoParquet sidecar.
        self.sidecar_threshold = threshold()

    @property
    def backend(self) -> Backend:
        """``"gpkg"`` or ``"postgis"``."""
        return self.layout.backend

    def __repr__(self) -> str:
        return f"Store({self.backend}: {self.location})"

    def dispose(self) -> None:
        """Close every pooled connection (a GeoPackage then leaves no -wal/-shm file)."""
        self.engine.dispose()

    # -- connections --------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Yield a connection in one read transaction (a consistent snapshot)."""
        with self.faults("read"), self.engine.connect() as conn:
            if self.backend == "postgis":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """Yield a connection in one write transaction that holds the writer lock."""
        with self.faults("write"), self.engine.connect() as conn:
            conn = conn.execution_options(tp_write=True)
            with conn.begin():
                if self.backend == "postgis":
                    conn.execute(
                        sa.text(f"LOCK TABLE {self._qualified('tp_changes')} IN EXCLUSIVE MODE")
                    )
                yield conn

    def _qualified(self, table: str) -> str:
        schema = self.layout.schema
        return f'"{schema}"."{table}"' if schema else f'"{table}"'

    @contextmanager
    def faults(self, what: str) -> Iterator[None]:
        """Turn a driver or file error inside the block into :class:`StoreUnavailableError`."""
        try:
            yield
        except (WorkspaceError, ConflictError):
            raise
        except sa.exc.DBAPIError as exc:  # OperationalError and the other driver errors
            raise StoreUnavailableError(fault_message(self.location, what, exc)) from exc
        except OSError as exc:
            raise StoreUnavailableError(
                f"cannot {what} the workspace {self.location}: {exc}. Nothing was changed."
            ) from exc

    # -- reading ------------------------------------------------------------
    def head(self) -> int:
        """Return the newest committed version."""
        with self.reading() as conn:
            return self._head(conn)

    def _head(self, conn: Connection) -> int:
        value = conn.execute(sa.select(sa.func.max(self.layout.changes.c.version))).scalar()
        return int(value or 0)

    def read(self) -> Snapshot:
        """Read every table and the version they show, as one consistent snapshot.

        A GeoPackage is read with GDAL's columnar reader between two looks
        at the newest version: if a change was committed in between, the
        read is repeated (and after three tries done in one SQL
        transaction), so the tables always show one version. Python's cycle
        collector waits meanwhile (:func:`planner.collector.collector_paused`).
        """
        with collector_paused():  # millions of new strings and points, none in a cycle
            if self.backend == "gpkg":
                for _ in range(3):
                    snap = self._read_columnar()
                    if snap is not None:
                        return snap
            return self._read_sql()

    def _read_columnar(self) -> Snapshot | None:
        with self.reading() as conn:
            version = self._head(conn)
            meta = self._meta(conn)
            self._note_new_extras(conn)
            over = read_overlay(conn, self.layout, meta, self.location)
        tables: dict[str, pd.DataFrame] = {}
        with self.faults("read"):
            for name in self.layout.tables:
                if name in self.layout.absent:
                    tables[name] = s.empty_frame(name)
                elif over is not None and name == TABLE:  # a sidecar and the rows changed since
                    if not over.path.exists():
                        return None  # compacted twice since the meta was read: read again
                    tables[name] = frame_of(merged_table(over, self.layout), self.layout)
                else:
                    tables[name] = read_gpkg_table(self.location, self.layout, name)
        with self.reading() as conn:
            if self._head(conn) != version:
                return None
        return self._snapshot(tables, meta, version)

    def _snapshot(
        self, tables: dict[str, pd.DataFrame], meta: dict[str, str], version: int
    ) -> Snapshot:
        """The snapshot of stored tables, whose keys are unique (the store's key column is)."""
        for frame in tables.values():
            self.facts.mark_unique(frame)
        return Snapshot(tables, meta, version)

    def _note_new_extras(self, conn: Connection) -> None:
        """Learn the extra columns another process added to a file since it was opened."""
        for name, spec in s.TABLES.items():
            if not spec.extra_columns or name in self.layout.absent:
                continue
            known = set(self.layout.columns(name)) | set(HIDDEN) | {s.GEOMETRY}
            for row in conn.exec_driver_sql(f'PRAGMA table_info("{name}")'):
                column, declared = str(row[1]), str(row[2])
                if column not in known:
                    self.layout.note_extra(name, column, kind_of_sql(declared))

    def _meta(self, conn: Connection) -> dict[str, str]:
        rows = conn.execute(sa.select(self.layout.meta.c[s.KEY], self.layout.meta.c[s.VALUE]))
        return {str(k): str(v) for k, v in rows}

    def _read_sql(self) -> Snapshot:
        with self.reading() as conn:
            version = self._head(conn)
            meta_rows = conn.execute(
                sa.select(self.layout.meta.c[s.KEY], self.layout.meta.c[s.VALUE])
            )
            meta = {str(k): str(v) for k, v in meta_rows}
            over = read_overlay(conn, self.layout, meta, self.location)
            tables = {
                name: s.empty_frame(name)
                if name in self.layout.absent
                else frame_of(merged_table(over, self.layout), self.layout)
                if over is not None and name == TABLE
                else conform(self.read_table(conn, name), name)
                for name in self.layout.tables
            }
        return self._snapshot(tables, meta, version)

    def read_table(self, conn: Connection, name: str, where: Any = None) -> pd.DataFrame:
        """Read one stored table (optionally filtered) inside the caller's transaction.

        For accounts kept in a sidecar this is the overlay alone; see
        :func:`planner.store.accounts.read_accounts` for the whole table.
        """
        return read_sql_table(conn, self.layout, name, where)

    # -- diffs --------------------------------------------------------------
    def diff(
        self,
        tables: Mapping[str, pd.DataFrame],
        baseline: Mapping[str, pd.DataFrame],
        scopes: Mapping[str, frozenset[str] | None],
        rows: Mapping[str, np.ndarray] | None = None,
    ) -> tuple[list[TableDiff], dict[str, dict[str, s.Kind]]]:
        """Return the row changes from ``baseline`` to ``tables`` and any new extra columns.

        Parameters
        ----------
        tables, baseline
            The frames now and as read.
        scopes
            The tables to compare; a set of scenario ids limits a
            scenario-scoped table to those scenarios' rows, ``None`` compares
            the whole table.
        rows
            Per table, the positions of the only rows that may differ, when
            the edit knows them (see :func:`planner.store.diff.diff_rows`):
            then only those rows are compared.
        """
        diffs: list[TableDiff] = []
        extras: dict[str, dict[str, s.Kind]] = {}
        for name, scope in scopes.items():
            after, before = tables[name], baseline[name]
            spec = s.TABLES[name]
            if spec.extra_columns:
                for col in after.columns:
                    if col not in self.layout.columns(name) and col != s.GEOMETRY:
                        extras.setdefault(name, {})[col] = kind_of_dtype(after[col].dtype)
            columns = self.layout.columns(name) + list(extras.get(name, {}))
            known = (rows or {}).get(name)
            if known is not None and self._rows_apply(name, after, before):
                found = diff_rows(name, before, after, columns, spec.key, known)
            else:
                found = self._diff_one(name, after, before, scope, columns)
            if found.unique_after and self.facts.is_unique(before):
                self.facts.mark_unique(after)  # the rows outside the scope are before's
            if len(found):
                diffs.append(found)
        return diffs, extras

    def _rows_apply(self, name: str, after: pd.DataFrame, before: pd.DataFrame) -> bool:
        """Tell whether an edit's own list of changed rows can stand for a diff of ``name``."""
        same_columns = list(after.columns) == list(before.columns)
        return (
            bool(s.TABLES[name].key)
            and len(after) == len(before)
            and same_columns
            and self.facts.is_unique(before)
        )

    def _diff_one(
        self,
        name: str,
        after: pd.DataFrame,
        before: pd.DataFrame,
        scope: frozenset[str] | None,
        columns: list[str],
    ) -> TableDiff:
        """Compare one table (or one scenario's share of it): position by position when
        the keys line up and are known unique, else by key."""
        key = s.TABLES[name].key
        a_mask = b_mask = None
        if scope is not None:
            a_mask = after[s.SCENARIO_ID].isin(scope).to_numpy()
            b_mask = before[s.SCENARIO_ID].isin(scope).to_numpy()
        scoped_after = after if a_mask is None else after[a_mask]
        scoped_before = before if b_mask is None else before[b_mask]
        if key and self.facts.is_unique(before):
            aligned = diff_aligned(name, scoped_before, scoped_after, columns, key)
            if aligned is not None:
                return aligned
        keys = None
        if key:
            keys = (self.facts.keys(before, key), self.facts.keys(after, key))
            if a_mask is not None and b_mask is not None:
                keys = (keys[0][b_mask], keys[1][a_mask])
        return diff_table(name, scoped_before, scoped_after, columns, key, keys)

    # -- writing ------------------------------------------------------------
    def commit(
        self,
        diffs: Sequence[TableDiff],
        *,
        base_version: int,
        action: str,
        user: str | None = None,
        effective_date: str | date | None = None,
        cause: str | None = None,
        scenario_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        undo_of: int | None = None,
        redo_of: int | None = None,
        extras: Mapping[str, Mapping[str, s.Kind]] | None = None,
        conflict_base: int | None = None,
    ) -> Change:
        """Write ``diffs`` as one transaction and return the recorded change.

        Raises
        ------
        ConflictError
            If a change committed after ``base_version`` (or ``conflict_base``)
            wrote any of the same rows. Nothing is written then.
        StoreUnavailableError
            If the file or server cannot be written; nothing is written then.
        """
        rows = [c for d in diffs for c in d.changes]
        when = iso_date(effective_date)
        with self.writing() as conn:
            head = self._head(conn)
            check_from = base_version if conflict_base is None else conflict_base
            if head > check_from:
                check_conflicts(
                    conn, self.layout, self.name, (check_from, head, base_version), rows
                )
            for table, cols in (extras or {}).items():
                for col, kind in cols.items():
                    if col not in self.layout.columns(table):
                        self.layout.add_extra(conn, table, col, kind)
            version = head + 1
            overlaid = overlaid_tables(conn, self.layout)
            apply_rows(self.layout, conn, rows, version, overlaid)
            ops = {r.op for r in rows if r.table == TABLE}
            due = bool(ops - {"delete"}) and compaction_due(
                conn, self.layout, self.sidecar_threshold, "insert" in ops
            )
            change = Change(
                version=version,
                base_version=base_version,
                user=user,
                timestamp=now_iso(),
                action=action,
                effective_date=when,
                cause=cause,
                scenario_id=scenario_id,
                undo_of=undo_of,
                redo_of=redo_of,
                rows=len(rows),
                tables=tuple(sorted({r.table for r in rows})),
                detail=dict(detail or {}),
            )
            self._record(conn, change, rows)
        if due:
            self._compact_quietly()
        return change

    def _compact_quietly(self) -> None:
        """Compact after a commit; a failure is logged (the commit itself stands)."""
        try:
            self.compact()
        except WorkspaceError as exc:
            logger.warning("could not compact the accounts of %s: %s", self.location, exc)

    def compact(self, *, force: bool = False) -> Compaction | None:
        """Fold the accounts changed since the sidecar into a new one (:mod:`.overlay`).

        A GeoPackage workspace without a sidecar gets one. Returns ``None``
        when there was nothing to fold.

        Raises
        ------
        WorkspaceError
            On a server workspace (its accounts live in PostGIS), or when a
            sidecar is missing or unreadable (:class:`~planner.errors.SidecarError`).
        """
        if self.backend != "gpkg":
            raise WorkspaceError(
                f"{self.location} is a server workspace: its accounts live in PostGIS, "
                "which needs no compaction"
            )
        with self.reading() as conn:
            plan = plan_compaction(conn, self.layout, self.location, self._head(conn), force=force)
        if plan is None:
            return None
        with self.faults("write"):
            plan.write(self.layout)
        with self.writing() as conn:
            plan.install(conn, self.layout)
        plan.finish()
        return plan

    def _record(self, conn: Connection, change: Change, rows: Sequence[RowChange]) -> None:
        record_change(self.layout, conn, change, rows)

    # -- the change log -----------------------------------------------------
    def changes(
        self, *, user: str | None = None, since: int = 0, limit: int | None = None
    ) -> list[Change]:
        """Return committed changes, newest first (optionally one user's, after ``since``)."""
        c = self.layout.changes
        stmt = sa.select(c).where(c.c.version > since).order_by(c.c.version.desc())
        if user is not None:
            stmt = stmt.where(c.c.user == user)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.reading() as conn:
            return [Change.from_row(dict(r._mapping)) for r in conn.execute(stmt)]

    def changes_since(
        self, version: int, *, limit: int = 50_000
    ) -> tuple[int, list[RowChange]] | None:
        """Return the newest version and every row change committed after ``version``.

        Read in one transaction, oldest first. ``None`` when more than
        ``limit`` rows changed (reading the tables again is then cheaper).
        """
        h = self.layout.history
        with self.reading() as conn:
            head = self._head(conn)
            if head <= version:
                return head, []
            count = conn.execute(
                sa.select(sa.func.count()).select_from(h).where(h.c.version > version)
            ).scalar()
            if int(count or 0) > limit:
                return None
            stmt = sa.select(h.c.tbl, h.c.key, h.c.op, h.c.before, h.c.after).where(
                h.c.version > version
            )
            found = conn.execute(stmt.order_by(h.c.version, h.c.id)).all()
        rows = [
            RowChange(t, k, op, json.loads(b) if b else None, json.loads(a) if a else None)
            for t, k, op, b, a in found
        ]
        return head, rows

    def keys_of(self, frame: pd.DataFrame, key: Sequence[str]) -> np.ndarray:
        """Return the row keys of ``frame`` (cached per frame object)."""
        return self.facts.keys(frame, key)

    def row_changes(self, version: int) -> list[RowChange]:
        """Return the row changes a committed change made, in the order they were recorded."""
        h = self.layout.history
        stmt = sa.select(h.c.tbl, h.c.key, h.c.op, h.c.before, h.c.after).where(
            h.c.version == version
        )
        with self.reading() as conn:
            found = conn.execute(stmt.order_by(h.c.id)).all()
        return [
            RowChange(t, k, op, json.loads(b) if b else None, json.loads(a) if a else None)
            for t, k, op, b, a in found
        ]
