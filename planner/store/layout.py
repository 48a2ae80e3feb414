"""The stored layout of a workspace: SQL tables, engines and GeoPackage registration.

Both backends hold the same tables, built here from
:data:`planner.schema.TABLES` with SQLAlchemy Core:

* one table per workspace table, with the declared columns, any extra
  account or user columns, a ``geometry`` column for spatial tables, an
  integer ``fid`` primary key (GeoPackage requires one), ``tp_key`` (the
  row's key as one string, unique) and ``tp_version`` (the change that last
  wrote the row);
* ``meta`` (schema version, name, description), ``tp_changes`` (one row per
  committed change: who, when, what, on which version, effective date) and
  ``tp_history`` (one row per changed row: before and after images).

A GeoPackage file additionally gets the three GeoPackage registry tables so
that QGIS and GDAL open it as usual; the history tables are not registered,
so GIS programs list only the workspace tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from planner import schema as s

__all__ = [
    "CHANGES",
    "HISTORY",
    "KEY_COL",
    "META",
    "VERSION_COL",
    "Backend",
    "Layout",
    "gpkg_engine",
    "kind_of_dtype",
    "kind_of_sql",
    "postgres_engine",
    "register_gpkg",
]

KEY_COL = "tp_key"
VERSION_COL = "tp_version"
META = "meta"
CHANGES = "tp_changes"
HISTORY = "tp_history"
FID = "fid"
#: Columns the store adds to every table; never part of a workspace frame.
HIDDEN = (FID, KEY_COL, VERSION_COL)

Backend = Literal["gpkg", "postgis"]

_SQL_TYPES: dict[str, Any] = {
    "str": sa.Text,
    "float": sa.Float,
    "int": sa.BigInteger,
    "bool": sa.Boolean,
}


def kind_of_dtype(dtype: Any) -> s.Kind:
    """Return the stored kind of an extra column from its pandas dtype."""
    text = str(dtype)
    if text.startswith("float"):
        return "float"
    if text.startswith(("int", "Int", "uint")):
        return "int"
    if text == "bool":
        return "bool"
    return "str"


def kind_of_sql(type_name: str) -> s.Kind:
    """Return the stored kind of an extra column from its declared SQL type."""
    upper = type_name.upper()
    if any(x in upper for x in ("FLOAT", "REAL", "DOUBLE", "NUMERIC")):
        return "float"
    if "INT" in upper:
        return "int"
    if "BOOL" in upper:
        return "bool"
    return "str"


def safe_identifier(name: str) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise ``ValueError``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(name)
    return name


class GpkgGeometry(sa.types.UserDefinedType[bytes]):
    """A GeoPackage geometry column: declared ``GEOMETRY``, holding GeoPackage blobs."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "GEOMETRY"


@dataclass
class Layout:
    """The SQLAlchemy tables of one stored workspace.

    Parameters
    ----------
    backend
        ``"gpkg"`` or ``"postgis"``.
    schema
        The PostgreSQL schema holding the workspace (``None`` for a file).
    extras
        Extra (undeclared) columns per table with their kind.
    """

    backend: Backend
    schema: str | None = None
    extras: dict[str, dict[str, s.Kind]] | None = None

    def __post_init__(self) -> None:
        #: Declared tables the stored workspace lacks (read as empty; see connect).
        self.absent: set[str] = set()
        self.metadata = sa.MetaData(schema=self.schema)
        self.extras = {t: dict(v) for t, v in (self.extras or {}).items()}
        self.tables: dict[str, sa.Table] = {}
        for name in s.TABLES:
            self.tables[name] = self._business_table(name)
        self.meta = sa.Table(
            META,
            self.metadata,
            sa.Column(FID, sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(s.KEY, sa.Text, nullable=False, unique=True),
            sa.Column(s.VALUE, sa.Text),
        )
        self.changes = sa.Table(
            CHANGES,
            self.metadata,
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("base_version", sa.Integer, nullable=False),
            sa.Column("user", sa.Text),
            sa.Column("timestamp", sa.Text, nullable=False),
            sa.Column("action", sa.Text, nullable=False),
            sa.Column("effective_date", sa.Text, nullable=False),
            sa.Column("cause", sa.Text),
            sa.Column("scenario_id", sa.Text),
            sa.Column("undo_of", sa.Integer),
            sa.Column("redo_of", sa.Integer),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("tables", sa.Text),
            sa.Column("detail", sa.Text),
        )
        self.history = sa.Table(
            HISTORY,
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("version", sa.Integer, nullable=False, index=True),
            sa.Column("tbl", sa.Text, nullable=False),
            sa.Column("key", sa.Text, nullable=False),
            sa.Column("op", sa.Text, nullable=False),
            sa.Column("effective_date", sa.Text, nullable=False),
            sa.Column("scenario_id", sa.Text),
            sa.Column("account_id", sa.Text),
            sa.Column("territory_id", sa.Text),
            sa.Column("rep_id", sa.Text),
            sa.Column("before", sa.Text),
            sa.Column("after", sa.Text),
            sa.Index(f"ix_{HISTORY}_tbl_key", "tbl", "key"),
            sa.Index(f"ix_{HISTORY}_account", "account_id"),
            sa.Index(f"ix_{HISTORY}_territory", "territory_id"),
            sa.Index(f"ix_{HISTORY}_rep", "rep_id"),
        )

    def _geometry_type(self) -> Any:
        if self.backend == "postgis":
            return Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=True)
        return GpkgGeometry()

    def sql_type(self, kind: s.Kind) -> Any:
        """Return the column type of ``kind`` (GeoPackage knows INTEGER, not BIGINT)."""
        if kind == "int" and self.backend == "gpkg":
            return sa.Integer
        if kind == "float" and self.backend == "gpkg":
            return sa.Double  # GDAL reads FLOAT columns as 32-bit
        return _SQL_TYPES[kind]

    def _business_table(self, name: str) -> sa.Table:
        spec = s.TABLES[name]
        cols: list[sa.Column[Any]] = [
            sa.Column(FID, sa.Integer, primary_key=True, autoincrement=True)
        ]
        for c in spec.columns:
            cols.append(sa.Column(c.name, self.sql_type(c.kind)))
        for extra, kind in (self.extras or {}).get(name, {}).items():
            cols.append(sa.Column(extra, self.sql_type(kind)))
        if spec.geometry is not None:
            cols.append(sa.Column(s.GEOMETRY, self._geometry_type()))
        cols.append(sa.Column(KEY_COL, sa.Text, nullable=False, unique=True))
        cols.append(sa.Column(VERSION_COL, sa.Integer, nullable=False))
        return sa.Table(name, self.metadata, *cols)

    def columns(self, table: str) -> list[str]:
        """Return the workspace columns of ``table`` in storage order (no hidden ones)."""
        return [c.name for c in self.tables[table].columns if c.name not in HIDDEN]

    def kind(self, table: str, column: str) -> s.Kind:
        """Return the stored kind of a column (declared or extra)."""
        extra = (self.extras or {}).get(table, {})
        if column in extra:
            return extra[column]
        return s.TABLES[table].spec(column).kind

    def data_columns(self, table: str) -> list[str]:
        """Return the non-geometry workspace columns of ``table``."""
        return [c for c in self.columns(table) if c != s.GEOMETRY]

    def note_extra(self, table: str, column: str, kind: s.Kind) -> None:
        """Record an extra column another process added to a stored table."""
        assert self.extras is not None
        self.extras.setdefault(table, {})[column] = kind
        old = self.tables.pop(table)
        self.metadata.remove(old)
        self.tables[table] = self._business_table(table)

    def add_extra(self, conn: Connection, table: str, column: str, kind: s.Kind) -> None:
        """Add an extra column to a stored table (inside the caller's transaction)."""
        safe_identifier(column)
        sql_type = self.sql_type(kind)().compile(dialect=conn.dialect)
        target = f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'
        conn.exec_driver_sql(f'ALTER TABLE {target} ADD COLUMN "{column}" {sql_type}')
        assert self.extras is not None
        self.extras.setdefault(table, {})[column] = kind
        old = self.tables.pop(table)
        self.metadata.remove(old)
        self.tables[table] = self._business_table(table)


def gpkg_engine(path: str, *, readonly: bool = False, timeout_s: float = 10.0) -> Engine:
    """Return an engine on a GeoPackage file: WAL journal, full sync, explicit BEGINs.

    Reads begin a deferred transaction (a consistent WAL snapshot); a
    connection with execution option ``tp_write=True`` begins IMMEDIATE,
    taking the write lock up front so two writers queue instead of failing
    half-way.
    """
    mode = "ro" if readonly else "rwc"
    engine = sa.create_engine(
        f"sqlite:///file:{path}?mode={mode}&uri=true",
        connect_args={"timeout": timeout_s, "check_same_thread": False},
        poolclass=sa.pool.NullPool,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not readonly:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("tp_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")

    return engine


def postgres_engine(url: str, *, timeout_s: float = 5.0) -> Engine:
    """Return an engine on a PostgreSQL server (psycopg 3 driver)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=4,
        connect_args={"connect_timeout": int(max(timeout_s, 1)), "application_name": "planner"},
    )


_SRS_ROWS = (
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic"),
)

_GPKG_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
        z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
)


def register_gpkg(conn: Connection, spatial: Mapping[str, bool], wgs84_wkt: str) -> None:
    """Write the GeoPackage registry so GIS programs see the workspace tables.

    Parameters
    ----------
    conn
        A connection inside the creating transaction.
    spatial
        Table name -> whether it has a geometry column.
    wgs84_wkt
        The WKT definition of EPSG:4326.
    """
    conn.exec_driver_sql("PRAGMA application_id = 1196444487")  # 'GPKG'
    conn.exec_driver_sql("PRAGMA user_version = 10300")
    for ddl in _GPKG_DDL:
        conn.exec_driver_sql(ddl)
    rows = [*_SRS_ROWS, ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84_wkt, "longitude/latitude")]
    conn.exec_driver_sql(
        "INSERT OR REPLACE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", rows
    )
    for table, has_geometry in spatial.items():
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES (?, ?, ?, ?)",
            (
                table,
                "features" if has_geometry else "attributes",
                table,
                4326 if has_geometry else None,
            ),
        )
        if has_geometry:
            conn.exec_driver_sql(
                "INSERT OR REPLACE INTO gpkg_geometry_columns "
                "VALUES (?, 'geometry', 'GEOMETRY', 4326, 0, 0)",
                (table,),
            )
