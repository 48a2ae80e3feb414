"""Creating a stored workspace on a GeoPackage file or a PostGIS server, and where one lives."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.errors import StoreUnavailableError, WorkspaceError
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
from planner.store.overlay import DELETED_DDL, TABLE, Base
from planner.store.pgcopy import copy_in
from planner.store.sidecar import (
    arrow_schema,
    arrow_table,
    remove_stale,
    sidecar_name,
    threshold,
    write_batches,
)

__all__ = [
    "SCHEMA_PREFIX",
    "create_store",
    "is_database_url",
    "safe_url",
    "schema_for",
    "wgs84_wkt",
]

#: Prefix of the PostgreSQL schema of each server workspace.
SCHEMA_PREFIX = "ws_"


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
    return (SCHEMA_PREFIX + slug)[:63]


def wgs84_wkt() -> str:
    """The WKT of EPSG:4326, as the GeoPackage registry stores it."""
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
    sidecar_threshold: int | None = None,
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
    sidecar_threshold
        A GeoPackage workspace with more accounts than this keeps them in a
        GeoParquet file beside it (:mod:`planner.store.overlay`); default
        ``$PLANNER_SIDECAR_ACCOUNTS`` or
        :data:`~planner.store.sidecar.SIDECAR_ACCOUNTS`.

    Raises
    ------
    WorkspaceError
        If ``target`` exists and ``overwrite`` is false, or cannot be written.
    """
    extras = _extras_of(tables)
    if is_database_url(target):
        return _create_postgis(str(target), tables, extras, name, description, overwrite, version)
    limit = threshold(sidecar_threshold)
    store = _create_gpkg(
        Path(target), tables, extras, (name, description), overwrite, version, limit
    )
    store.sidecar_threshold = limit
    return store


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
    names: tuple[str, str],
    overwrite: bool,
    version: int,
    limit: int,
) -> Store:
    name, description = names
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
        base = _write_sidecar(target, layout, tables.get(TABLE), version, limit)
        with engine.connect().execution_options(tp_write=True) as conn, conn.begin():
            layout.metadata.create_all(conn)
            spatial = {t: s.TABLES[t].geometry is not None for t in s.TABLES}
            register_gpkg(conn, {**spatial, META: False}, wgs84_wkt())
            if base is not None:
                conn.exec_driver_sql(DELETED_DDL)
                tables = {**tables, TABLE: tables[TABLE].iloc[:0]}  # the rows are in the file
            _write_baseline(conn, layout, tables, name, description, version)
            if base is not None:
                conn.execute(
                    layout.meta.insert(), [{s.KEY: k, s.VALUE: v} for k, v in base.meta().items()]
                )
        engine.dispose()
        _checkpoint(tmp)
        os.replace(tmp, target)
        remove_stale(target.parent, target.stem, {base.file} if base is not None else set())
    except BaseException as exc:
        engine.dispose()
        _remove_with_sidecars(tmp)
        if isinstance(exc, WorkspaceError) or not isinstance(exc, Exception):
            raise
        raise StoreUnavailableError(
            f"could not write the workspace to {target}: {exc}. Any previous file is unchanged."
        ) from exc
    return Store(gpkg_engine(str(target)), layout, location=str(target), name=name)


def _write_sidecar(
    target: Path, layout: Layout, accounts: pd.DataFrame | None, version: int, limit: int
) -> Base | None:
    """Write the accounts to a GeoParquet file beside ``target`` when there are over ``limit``."""
    if accounts is None or len(accounts) <= limit:
        return None
    kinds = {c: layout.kind(TABLE, c) for c in layout.data_columns(TABLE)}
    file = sidecar_name(target, version)
    rows = write_batches(target.parent / file, arrow_schema(kinds), [arrow_table(accounts, kinds)])
    return Base(file, version, rows)


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
    store = Store(engine, layout, location=f"{safe_url(url)} (workspace {name})", name=name)
    with store.faults("write"), engine.begin() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"),
            {"n": schema},
        ).first()
        if exists and not overwrite:
            raise WorkspaceError(
                f"the server already has a workspace '{name}': "
                "choose another name or allow overwriting"
            )
        has_postgis = conn.execute(
            sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        ).first()
        if not has_postgis:  # IF NOT EXISTS alone races with another session creating it
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        if exists:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        layout.metadata.create_all(conn)
        _write_baseline(conn, layout, tables, name, description, version)
    return store


def safe_url(url: str) -> str:
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
    if series.dtype.kind in "biu":  # Python ints and bools, never missing
        return list(series.tolist())
    if pd.api.types.infer_dtype(series, skipna=True) == "string":  # text and gaps
        values = series.to_numpy(dtype=object)
        out = values.tolist()
        for i in np.flatnonzero(pd.isna(values)).tolist():
            out[i] = None
        return list(out)
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
    if layout.backend == "postgis":
        geoms = np.asarray(frame[s.GEOMETRY], dtype=object) if spec.geometry is not None else None
        copy_in(conn, layout, table, data, geoms)
        return
    if spec.geometry is not None:
        data[s.GEOMETRY] = encode_gpkg(np.asarray(frame[s.GEOMETRY], dtype=object))
    # the file's own driver takes plain tuples: no statement object or dict per row
    names = ", ".join(f'"{c}"' for c in data)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(data))})'
    rows = list(zip(*data.values(), strict=True))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for i in range(0, len(rows), 10000):
            cursor.executemany(sql, rows[i : i + 10000])
    finally:
        cursor.close()
