"""Finding, creating, opening, migrating and copying stored workspaces.

A workspace lives either in a GeoPackage file (``plan.gpkg``) or in a schema
of a PostgreSQL/PostGIS database (``postgresql://user:pw@host/db`` plus a
workspace name). :func:`open_store` takes either; a file written by an
older version of the planner is migrated forward on open, after a backup
copy is made beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.conform import conform_tables
from planner.errors import SchemaVersionError, StoreUnavailableError, WorkspaceError
from planner.models import now_iso
from planner.store.codec import encode_gpkg
from planner.store.core import Store
from planner.store.diff import row_keys
from planner.store.layout import (
    HIDDEN,
    KEY_COL,
    META,
    VERSION_COL,
    Layout,
    gpkg_engine,
    kind_of_dtype,
    postgres_engine,
    register_gpkg,
)
from planner.store.pgcopy import copy_in

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
_SCHEMA_PREFIX = "ws_"


@dataclass(frozen=True)
class StoredWorkspace:
    """A workspace the picker can offer: its name and where it lives."""

    name: str
    location: str
    backend: str


def is_database_url(text: str | os.PathLike[str]) -> bool:
    """Tell whether ``text`` is a PostgreSQL URL rather than a file path."""
    return str(text).startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def schema_for(name: str) -> str:
    """Return the PostgreSQL schema that holds workspace ``name``."""
    slug = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    if not slug:
        raise WorkspaceError(
            f"workspace name {name!r} has no letters or digits: choose a name such as 'north-2027'"
        )
    return (_SCHEMA_PREFIX + slug)[:63]


def _wgs84_wkt() -> str:
    return str(CRS.from_epsg(4326).to_wkt())


# -- creating -----------------------------------------------------------------
def create_store(
    target: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    *,
    name: str,
    description: str = "",
    overwrite: bool = False,
    version: int = 1,
) -> Store:
    """Write a new stored workspace holding ``tables`` and return its store.

    Parameters
    ----------
    target
        A ``.gpkg`` path, or a PostgreSQL URL (the workspace then lives in
        the schema named after ``name``).
    tables
        Every workspace table, conformed to :data:`planner.schema.TABLES`.
    name, description
        The workspace's name and description.
    overwrite
        Replace an existing workspace at ``target``.
    version
        The version the new workspace starts at.

    Raises
    ------
    WorkspaceError
        If ``target`` exists and ``overwrite`` is false, or cannot be written.
    """
    extras = _extras_of(tables)
    if is_database_url(target):
        return _create_postgis(str(target), tables, extras, name, description, overwrite, version)
    return _create_gpkg(Path(target), tables, extras, name, description, overwrite, version)


def _extras_of(tables: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, s.Kind]]:
    extras: dict[str, dict[str, s.Kind]] = {}
    for table, frame in tables.items():
        spec = s.TABLES[table]
        if not spec.extra_columns:
            continue
        declared = set(spec.column_names) | {s.GEOMETRY, *HIDDEN}
        for col in frame.columns:
            if col not in declared:
                extras.setdefault(table, {})[str(col)] = kind_of_dtype(frame[col].dtype)
    return extras


def _temp_path(target: Path) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}.tmp.gpkg"


def _create_gpkg(
    target: Path,
    tables: Mapping[str, pd.DataFrame],
    extras: dict[str, dict[str, s.Kind]],
    name: str,
    description: str,
    overwrite: bool,
    version: int,
) -> Store:
    target = target.resolve()
    if not target.parent.is_dir():
        raise WorkspaceError(f"cannot save to {target}: folder {target.parent} does not exist")
    if target.exists() and not overwrite:
        raise WorkspaceError(f"{target} already exists: choose another name or allow overwriting")
    tmp = _temp_path(target)
    _remove_with_sidecars(tmp)
    layout = Layout("gpkg", extras=extras)
    engine = gpkg_engine(str(tmp))
    try:
        with engine.connect().execution_options(tp_write=True) as conn, conn.begin():
            layout.metadata.create_all(conn)
            spatial = {t: s.TABLES[t].geometry is not None for t in s.TABLES}
            register_gpkg(conn, {**spatial, META: False}, _wgs84_wkt())
            _write_baseline(conn, layout, tables, name, description, version)
        engine.dispose()
        _checkpoint(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        engine.dispose()
        _remove_with_sidecars(tmp)
        if isinstance(exc, WorkspaceError) or not isinstance(exc, Exception):
            raise
        raise StoreUnavailableError(
            f"could not write the workspace to {target}: {exc}. Any previous file is unchanged."
        ) from exc
    return Store(gpkg_engine(str(target)), layout, location=str(target), name=name)


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file and switch to rollback journal for the rename."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for side in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{side}").unlink()


def _remove_with_sidecars(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _create_postgis(
    url: str,
    tables: Mapping[str, pd.DataFrame],
    extras: dict[str, dict[str, s.Kind]],
    name: str,
    description: str,
    overwrite: bool,
    version: int,
) -> Store:
    schema = schema_for(name)
    engine = postgres_engine(url)
    layout = Layout("postgis", schema=schema, extras=extras)
    store = Store(engine, layout, location=f"{_safe_url(url)} (workspace {name})", name=name)
    with _server_faults(store), engine.begin() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"),
            {"n": schema},
        ).first()
        if exists and not overwrite:
            raise WorkspaceError(
                f"the server already has a workspace '{name}': "
                "choose another name or allow overwriting"
            )
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        if exists:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        layout.metadata.create_all(conn)
        _write_baseline(conn, layout, tables, name, description, version)
    return store


def _safe_url(url: str) -> str:
    """Return ``url`` without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _write_baseline(
    conn: Connection,
    layout: Layout,
    tables: Mapping[str, pd.DataFrame],
    name: str,
    description: str,
    version: int,
) -> None:
    meta = {
        "schema_version": str(s.SCHEMA_VERSION),
        "name": name,
        "description": description,
        "created_at": now_iso(),
    }
    conn.execute(layout.meta.insert(), [{s.KEY: k, s.VALUE: v} for k, v in meta.items()])
    for table in s.TABLES:
        frame = tables.get(table)
        if frame is None or not len(frame):
            continue
        _bulk_insert(conn, layout, table, frame, version)
    conn.execute(
        layout.changes.insert(),
        [
            {
                "version": version,
                "base_version": version - 1,
                "user": None,
                "timestamp": now_iso(),
                "action": "workspace.create",
                "effective_date": now_iso()[:10],
                "rows": 0,
                "tables": "",
                "detail": json.dumps({"name": name}),
            }
        ],
    )


def _column_values(frame: pd.DataFrame, col: str) -> list[Any]:
    series = frame[col]
    if series.dtype.kind == "f":
        arr = series.to_numpy(dtype=float)
        return [None if v != v else v for v in arr.tolist()]
    return [
        None if s.is_missing(v) else (v.item() if isinstance(v, np.generic) else v)
        for v in series.tolist()
    ]


def _bulk_insert(
    conn: Connection, layout: Layout, table: str, frame: pd.DataFrame, version: int
) -> None:
    spec = s.TABLES[table]
    columns = layout.data_columns(table)
    data = {
        c: _column_values(frame, c) if c in frame.columns else [None] * len(frame) for c in columns
    }
    if spec.key:
        data[KEY_COL] = list(row_keys(frame, spec.key))
    else:
        data[KEY_COL] = [uuid.uuid4().hex for _ in range(len(frame))]
    data[VERSION_COL] = [version] * len(frame)
    t = layout.tables[table]
    stmt = t.insert()
    if layout.backend == "postgis":
        geoms = np.asarray(frame[s.GEOMETRY], dtype=object) if spec.geometry is not None else None
        copy_in(conn, layout, table, data, geoms)
        return
    if spec.geometry is not None:
        data[s.GEOMETRY] = encode_gpkg(np.asarray(frame[s.GEOMETRY], dtype=object))
    keys = list(data)
    records = [dict(zip(keys, vals, strict=True)) for vals in zip(*data.values(), strict=True)]
    for i in range(0, len(records), 10000):
        conn.execute(stmt, records[i : i + 10000])


@contextlib.contextmanager
def _server_faults(store: Store) -> Any:
    with store._faults("write"):
        yield


# -- opening ------------------------------------------------------------------
def open_store(
    target: str | os.PathLike[str],
    *,
    name: str | None = None,
    readonly: bool = False,
    lock_timeout_s: float = 10.0,
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
    file before it is refused.
    """
    if is_database_url(target):
        if not name:
            raise WorkspaceError(
                "a server workspace needs a name: pass name=..., or --workspace NAME with "
                f"{DATABASE_URL_ENV} set"
            )
        return _open_postgis(str(target), name)
    return _open_gpkg(Path(target), readonly=readonly, timeout_s=lock_timeout_s)


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
    return Store(engine, layout, location=str(file), name=meta.get("name") or file.stem)


def _open_postgis(url: str, name: str) -> Store:
    schema = schema_for(name)
    engine = postgres_engine(url)
    probe = Store(engine, Layout("postgis", schema=schema), location=_safe_url(url), name=name)
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
            f"the server {_safe_url(url)} has no workspace '{name}'. "
            "Push one with `planner push FILE.gpkg`, or pick one of the listed workspaces."
        )
    meta = _read_meta(engine, schema)
    _check_version(meta, f"server workspace '{name}'")
    layout = Layout("postgis", schema=schema, extras=_reflect_extras(engine, schema))
    return Store(
        engine,
        layout,
        location=f"{_safe_url(url)} (workspace {name})",
        name=meta.get("name") or name,
    )


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
    extras: dict[str, dict[str, s.Kind]] = {}
    for table, spec in s.TABLES.items():
        if not spec.extra_columns:
            continue
        declared = set(spec.column_names) | {s.GEOMETRY, *HIDDEN}
        for col in inspector.get_columns(table, schema=schema):
            if col["name"] in declared:
                continue
            type_name = str(col["type"]).upper()
            kind: s.Kind = "str"
            if any(x in type_name for x in ("FLOAT", "REAL", "DOUBLE", "NUMERIC")):
                kind = "float"
            elif "INT" in type_name:
                kind = "int"
            elif "BOOL" in type_name:
                kind = "bool"
            extras.setdefault(table, {})[col["name"]] = kind
    return extras


def clean_leftovers(file: Path) -> list[Path]:
    """Remove temporary files of interrupted saves of ``file`` and return them.

    Files named ``.NAME.<pid>.tmp.gpkg`` are removed when that process is
    gone; files of the old whole-file saves (``.NAME.<random>.tmp.gpkg``)
    when older than a minute.
    """
    removed: list[Path] = []
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
    probe = Store(engine, Layout("postgis"), location=_safe_url(url), name="")
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
            out.append(StoredWorkspace(str(name or schema[len(_SCHEMA_PREFIX) :]), url, "postgis"))
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
