"""Finding, creating, opening, migrating and copying stored workspaces.

A workspace lives either in a GeoPackage file (``plan.gpkg``) or in a schema
of a PostgreSQL/PostGIS database (``postgresql://user:pw@host/db`` plus a
workspace name). :func:`open_store` takes either; a file written by an
older version of the planner is migrated forward on open, after a backup
copy is made beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio
import sqlalchemy as sa

from planner import schema as s
from planner.conform import conform_tables
from planner.errors import SchemaVersionError, StoreUnavailableError, WorkspaceError
from planner.store.core import Store
from planner.store.create import (
    SCHEMA_PREFIX,
    create_store,
    is_database_url,
    safe_url,
    schema_for,
    wgs84_wkt,
)
from planner.store.layout import (
    HIDDEN,
    META,
    Layout,
    gpkg_engine,
    kind_of_sql,
    postgres_engine,
    register_gpkg,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DATABASE_URL_ENV",
    "StoredWorkspace",
    "clean_leftovers",
    "copy_store",
    "create_store",
    "is_database_url",
    "list_workspaces",
    "open_store",
    "read_legacy_tables",
]

#: Environment variable naming the team server, e.g. ``postgresql://planner:pw@host/planner``.
DATABASE_URL_ENV = "PLANNER_DATABASE_URL"


@dataclass(frozen=True)
class StoredWorkspace:
    """A workspace the picker can offer: its name and where it lives."""

    name: str
    location: str
    backend: str


# -- opening ------------------------------------------------------------------
def open_store(
    target: str | os.PathLike[str],
    *,
    name: str | None = None,
    readonly: bool = False,
    lock_timeout_s: float = 10.0,
    sidecar_threshold: int | None = None,
) -> Store:
    """Open a stored workspace: a ``.gpkg`` file, or workspace ``name`` on a PostgreSQL URL.

    A file written by an older planner (schema version 1: whole-file saves)
    is migrated to the current layout after a backup copy
    ``NAME.v1-backup.gpkg`` is written beside it. Leftover temporary files
    of interrupted saves are removed.

    Raises
    ------
    WorkspaceError
        If the file or the server workspace does not exist or is not a workspace.
    SchemaVersionError
        If it was written by a newer planner.
    StoreUnavailableError
        If the server cannot be reached.

    ``lock_timeout_s`` is how long a change waits for another writer of a
    file before it is refused. ``sidecar_threshold`` is the number of
    accounts past which a file keeps them in a GeoParquet sidecar (default
    ``$PLANNER_SIDECAR_ACCOUNTS`` or 500,000; see :mod:`planner.store.overlay`).
    """
    if is_database_url(target):
        if not name:
            raise WorkspaceError(
                "a server workspace needs a name: pass name=..., or --workspace NAME with "
                f"{DATABASE_URL_ENV} set"
            )
        return _open_postgis(str(target), name)
    store = _open_gpkg(Path(target), readonly=readonly, timeout_s=lock_timeout_s)
    if sidecar_threshold is not None:
        store.sidecar_threshold = sidecar_threshold
    return store


def _sniff_file(file: Path) -> None:
    if not file.is_file():
        raise WorkspaceError(f"workspace file {file} does not exist")
    try:
        with open(file, "rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise WorkspaceError(f"cannot read workspace file {file}: {exc}") from exc
    if not magic.startswith(b"SQLite format 3"):
        raise WorkspaceError(
            f"{file} is not a workspace: it is not a GeoPackage (SQLite) file. "
            "Open a .gpkg saved by Territory Planner, or import data files on the data page."
        )


def _file_tables(file: Path) -> set[str]:
    try:
        con = sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot open {file} as a GeoPackage: {exc}") from exc
    return {str(r[0]) for r in rows}


def _open_gpkg(file: Path, *, readonly: bool, timeout_s: float) -> Store:
    _sniff_file(file)
    file = file.resolve()
    clean_leftovers(file)
    names = _file_tables(file)
    if META not in names:
        raise WorkspaceError(
            f"{file} is a GeoPackage but not a Territory Planner workspace (no '{META}' "
            "table). Import its layers as units or territories instead."
        )
    if "tp_changes" not in names:
        if readonly:
            raise WorkspaceError(
                f"{file} was written by an older Territory Planner and must be migrated; "
                "open it with write access once"
            )
        return _migrate_v1(file)
    engine = gpkg_engine(str(file), readonly=readonly, timeout_s=timeout_s)
    meta = _read_meta(engine, None)
    _check_version(meta, str(file))
    layout = Layout("gpkg", extras=_reflect_extras(engine, None))
    store = Store(engine, layout, location=str(file), name=meta.get("name") or file.stem)
    return _with_every_table(store, names, readonly=readonly)


def _open_postgis(url: str, name: str) -> Store:
    schema = schema_for(name)
    engine = postgres_engine(url)
    probe = Store(engine, Layout("postgis", schema=schema), location=safe_url(url), name=name)
    with probe.reading() as conn:
        exists = conn.execute(
            sa.text(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = :s AND table_name = 'meta'"
            ),
            {"s": schema},
        ).first()
    if not exists:
        raise WorkspaceError(
            f"the server {safe_url(url)} has no workspace '{name}'. "
            "Push one with `planner push FILE.gpkg`, or pick one of the listed workspaces."
        )
    meta = _read_meta(engine, schema)
    _check_version(meta, f"server workspace '{name}'")
    layout = Layout("postgis", schema=schema, extras=_reflect_extras(engine, schema))
    store = Store(
        engine,
        layout,
        location=f"{safe_url(url)} (workspace {name})",
        name=meta.get("name") or name,
    )
    present = set(sa.inspect(engine).get_table_names(schema=schema))
    return _with_every_table(store, present, readonly=False)


def _with_every_table(store: Store, present: set[str], *, readonly: bool) -> Store:
    """Add the tables a newer planner declares that the stored workspace lacks.

    New tables only ever add to a workspace (an older planner ignores them),
    so they are created on open; a read-only open reads them as empty.
    """
    missing = [t for t in store.layout.tables if t not in present]
    if not missing:
        return store
    if readonly:
        store.layout.absent.update(missing)
        return store
    with store.writing() as conn:
        for table in missing:
            store.layout.tables[table].create(conn, checkfirst=True)
        if store.backend == "gpkg":
            spatial = {t: s.TABLES[t].geometry is not None for t in missing}
            register_gpkg(conn, spatial, wgs84_wkt())
    logger.info("added tables %s to %s", ", ".join(missing), store.location)
    return store


def _read_meta(engine: sa.Engine, schema: str | None) -> dict[str, str]:
    table = sa.table(META, sa.column(s.KEY), sa.column(s.VALUE), schema=schema)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table.c[s.KEY], table.c[s.VALUE])).all()
    except sa.exc.DBAPIError as exc:
        raise StoreUnavailableError(f"cannot read the workspace's meta table: {exc.orig}") from exc
    return {str(k): str(v) for k, v in rows}


def _check_version(meta: Mapping[str, str], where: str) -> None:
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError as exc:
        raise WorkspaceError(
            f"{where}: unreadable schema_version {meta.get('schema_version')!r}"
        ) from exc
    if version > s.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where} was written with workspace schema version {version}, but this version "
            f"of Territory Planner reads up to version {s.SCHEMA_VERSION}. "
            "Upgrade Territory Planner (pip install -U territory-planner) to open it."
        )


def _reflect_extras(engine: sa.Engine, schema: str | None) -> dict[str, dict[str, s.Kind]]:
    inspector = sa.inspect(engine)
    present = set(inspector.get_table_names(schema=schema))
    extras: dict[str, dict[str, s.Kind]] = {}
    for table, spec in s.TABLES.items():
        if not spec.extra_columns or table not in present:
            continue
        declared = set(spec.column_names) | {s.GEOMETRY, *HIDDEN}
        for col in inspector.get_columns(table, schema=schema):
            if col["name"] in declared:
                continue
            extras.setdefault(table, {})[col["name"]] = kind_of_sql(str(col["type"]))
    return extras


def clean_leftovers(file: Path) -> list[Path]:
    """Remove temporary files of interrupted saves of ``file`` and return them.

    Files named ``.NAME.<pid>.tmp.gpkg`` (and half-written accounts files
    ``.NAME.accounts.*.<pid>.tmp.parquet``) are removed when that process is
    gone; files of the old whole-file saves (``.NAME.<random>.tmp.gpkg``)
    when older than a minute.
    """
    removed: list[Path] = []
    for part in file.parent.glob(f".{file.stem}.accounts.v*.parquet.*.tmp.parquet"):
        pid = part.name.rsplit(".", 3)[-3]
        if pid.isdigit() and not _pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
                removed.append(part)
    for leftover in file.parent.glob(f".{file.name}.*.tmp.gpkg*"):
        middle = leftover.name[len(file.name) + 2 :].split(".", 1)[0]
        if middle.isdigit():
            alive = _pid_alive(int(middle))
        else:
            alive = time.time() - leftover.stat().st_mtime < 60
        if not alive:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed.append(leftover)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- migration from schema version 1 (whole-file saves) -------------------------
def read_legacy_tables(file: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read the tables and meta of a version-1 workspace file (written whole by GDAL)."""
    try:
        layers = {str(n) for n, _ in pyogrio.list_layers(file)}
        meta_frame = pyogrio.read_dataframe(file, layer=META)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise WorkspaceError(f"cannot open {file} as a GeoPackage: {exc}") from exc
    meta = dict(zip(meta_frame[s.KEY].astype(str), meta_frame[s.VALUE].astype(str), strict=True))
    _check_version(meta, str(file))
    tables: dict[str, pd.DataFrame] = {}
    for table in s.TABLES:
        if table in layers:
            frame = pyogrio.read_dataframe(file, layer=table)
            if hasattr(frame, "crs") and frame.crs is None and len(frame):
                frame = frame.set_crs(s.STORAGE_CRS)
            tables[table] = frame
    return tables, meta


def _migrate_v1(file: Path) -> Store:
    tables, meta = read_legacy_tables(file)
    backup = file.with_name(f"{file.stem}.v1-backup.gpkg")
    if not backup.exists():
        try:
            shutil.copy2(file, backup)
        except OSError as exc:
            raise StoreUnavailableError(
                f"cannot migrate {file}: the backup {backup} could not be written ({exc}); "
                "nothing was changed"
            ) from exc
    return create_store(
        file,
        conform_tables(tables),
        name=meta.get("name") or file.stem,
        description=meta.get("description", ""),
        overwrite=True,
    )


# -- listing and copying ------------------------------------------------------
def list_workspaces(
    folder: str | os.PathLike[str] | None = None, url: str | None = None
) -> list[StoredWorkspace]:
    """Return the workspaces in ``folder`` (``.gpkg`` files) and on the server at ``url``."""
    found: list[StoredWorkspace] = []
    if folder is not None and Path(folder).is_dir():
        for path in sorted(Path(folder).glob("*.gpkg")):
            if path.name.startswith(".") or ".v1-backup" in path.name:
                continue
            with contextlib.suppress(WorkspaceError, OSError):
                if META in _file_tables(path):
                    found.append(StoredWorkspace(path.stem, str(path), "gpkg"))
    if url:
        found.extend(_server_workspaces(url))
    return found


def _server_workspaces(url: str) -> list[StoredWorkspace]:
    engine = postgres_engine(url)
    probe = Store(engine, Layout("postgis"), location=safe_url(url), name="")
    out: list[StoredWorkspace] = []
    with probe.reading() as conn:
        schemas = (
            conn.execute(
                sa.text(
                    "SELECT table_schema FROM information_schema.tables "
                    "WHERE table_name = 'tp_changes' AND table_schema LIKE 'ws\\_%' ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        for schema in schemas:
            name = conn.execute(
                sa.text(f"SELECT value FROM \"{schema}\".meta WHERE key = 'name'")
            ).scalar()
            out.append(StoredWorkspace(str(name or schema[len(SCHEMA_PREFIX) :]), url, "postgis"))
    engine.dispose()
    return out


def copy_store(
    source: Store,
    target: str | os.PathLike[str],
    *,
    name: str | None = None,
    overwrite: bool = False,
) -> Store:
    """Copy a stored workspace with its whole history to ``target`` (a path or a server URL).

    Used by ``planner push`` (file to server) and ``planner pull`` (server to file).
    """
    snap = source.read()
    h, c = source.layout.history, source.layout.changes
    with source.reading() as conn:
        changes = [dict(r._mapping) for r in conn.execute(sa.select(c).order_by(c.c.version))]
        history = [dict(r._mapping) for r in conn.execute(sa.select(h).order_by(h.c.id))]
    copy = create_store(
        target,
        snap.tables,
        name=name or source.name,
        description=snap.meta.get("description", ""),
        overwrite=overwrite,
        version=snap.version,
    )
    with copy.writing() as conn:
        conn.execute(copy.layout.changes.delete())
        if changes:
            conn.execute(copy.layout.changes.insert(), changes)
        for row in history:
            row.pop("id", None)
        for i in range(0, len(history), 5000):
            conn.execute(copy.layout.history.insert(), history[i : i + 5000])
    return copy
