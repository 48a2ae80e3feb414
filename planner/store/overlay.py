"""The accounts of a large GeoPackage workspace: a GeoParquet base plus the rows changed since.

When a workspace keeps its accounts in a sidecar (:mod:`planner.store.sidecar`),
its ``meta`` table names the file (``accounts_sidecar``), the version it
shows (``accounts_sidecar_version``) and its rows (``accounts_sidecar_rows``).
The GeoPackage's ``accounts`` table holds only the rows written since (the
overlay), and ``tp_overlay_deleted`` the keys deleted since. A reader takes
the meta, the overlay and the deleted keys in one read transaction, then
reads the file; an updated row takes its base row's place, an inserted row
comes after the base rows, a deleted one is left out.

Compaction folds the overlay into a new file: it reads a snapshot, writes
``NAME.accounts.vHEAD.TAG.parquet`` without holding the writer lock (streamed in
row groups), then in one write transaction points the meta at it and drops
the overlay rows and deleted keys it folded (those written up to that
snapshot; later ones stay and still apply). The previous file is kept until
the next compaction, so a reader that took the old meta still finds its
file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.conform import conform
from planner.errors import StoreUnavailableError
from planner.store.columnar import arrow_column, geometry_values
from planner.store.layout import KEY_COL, VERSION_COL, Layout
from planner.store.sidecar import (
    COMPACT_FRACTION,
    arrow_schema,
    arrow_table,
    conform_batch,
    fold,
    merge,
    open_base,
    read_base,
    remove_stale,
    sidecar_name,
    write_batches,
)
from planner.store.sqlread import read_sql_table

__all__ = [
    "DELETED",
    "DELETED_DDL",
    "META_FILE",
    "META_ROWS",
    "META_VERSION",
    "TABLE",
    "Base",
    "Compaction",
    "Overlay",
    "compaction_due",
    "frame_of",
    "merged_table",
    "overlaid_tables",
    "overlay_in",
    "plan_compaction",
    "read_overlay",
]

#: The table a sidecar can hold.
TABLE = "accounts"
META_FILE = "accounts_sidecar"
META_VERSION = "accounts_sidecar_version"
META_ROWS = "accounts_sidecar_rows"
#: Keys deleted since the base, per table (not registered: GIS programs do not list it).
DELETED = "tp_overlay_deleted"
DELETED_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{DELETED}" (tbl TEXT NOT NULL, {KEY_COL} TEXT NOT NULL, '
    f"{VERSION_COL} INTEGER NOT NULL, PRIMARY KEY (tbl, {KEY_COL}))"
)


@dataclass(frozen=True)
class Base:
    """The sidecar a workspace's meta names: file name, version shown, rows."""

    file: str
    version: int
    rows: int

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> Base | None:
        """Return the base named in ``meta``, or ``None`` when the accounts are all in SQL."""
        name = meta.get(META_FILE)
        if not name:
            return None
        return cls(name, int(meta.get(META_VERSION, "0")), int(meta.get(META_ROWS, "0")))

    def meta(self) -> dict[str, str]:
        """The meta rows naming this base."""
        return {META_FILE: self.file, META_VERSION: str(self.version), META_ROWS: str(self.rows)}


@dataclass
class Overlay:
    """What one read transaction saw of a sidecar-backed table: base, changed rows, deleted keys."""

    base: Base
    changed: pd.DataFrame
    deleted: list[str]
    folder: Path
    workspace: str

    @property
    def path(self) -> Path:
        """The base file."""
        return self.folder / self.base.file


def _meta_value(conn: Connection, layout: Layout, key: str) -> str | None:
    m = layout.meta
    value = conn.execute(sa.select(m.c[s.VALUE]).where(m.c[s.KEY] == key)).scalar()
    return None if value is None else str(value)


def overlaid_tables(conn: Connection, layout: Layout) -> frozenset[str]:
    """Return the tables whose stored rows are an overlay on a sidecar (inside a transaction)."""
    if layout.backend != "gpkg":
        return frozenset()
    return frozenset({TABLE}) if _meta_value(conn, layout, META_FILE) else frozenset()


def read_overlay(
    conn: Connection, layout: Layout, meta: dict[str, str], location: str
) -> Overlay | None:
    """Read the accounts overlay inside the caller's read transaction (``None``: no sidecar)."""
    base = Base.from_meta(meta) if layout.backend == "gpkg" else None
    if base is None:
        return None
    changed = conform(read_sql_table(conn, layout, TABLE), TABLE)
    found = conn.exec_driver_sql(f'SELECT {KEY_COL} FROM "{DELETED}" WHERE tbl = ?', (TABLE,))
    deleted = [str(k) for (k,) in found]
    return Overlay(base, changed, deleted, Path(location).parent, location)


def overlay_in(conn: Connection, layout: Layout, location: str) -> Overlay | None:
    """Read the accounts overlay and the meta naming its base (``None``: no sidecar)."""
    if layout.backend != "gpkg":
        return None
    keys = (META_FILE, META_VERSION, META_ROWS)
    meta = {k: v for k in keys if (v := _meta_value(conn, layout, k))}
    return read_overlay(conn, layout, meta, location)


def _kinds(layout: Layout, columns: list[str] | None = None) -> dict[str, s.Kind]:
    names = layout.data_columns(TABLE) if columns is None else columns
    return {c: layout.kind(TABLE, c) for c in names if c != s.GEOMETRY}


def merged_table(over: Overlay, layout: Layout, columns: list[str] | None = None) -> pa.Table:
    """Return the accounts as Arrow: the base's ``columns`` (all if ``None``) with the overlay."""
    key = s.TABLES[TABLE].key[0]
    wanted = None if columns is None else list(dict.fromkeys([key, *columns]))
    kinds = _kinds(layout, wanted)
    schema = arrow_schema(kinds)
    if wanted is not None and s.GEOMETRY not in wanted:
        schema = schema.remove(schema.get_field_index(s.GEOMETRY))
    base_file = open_base(over.path, over.workspace)
    base = conform_batch(read_base(base_file, over.path, over.workspace, schema.names), schema)
    changed = arrow_table(over.changed, kinds).select(schema.names).cast(schema)
    merged, _ = merge(base, changed, pa.array(over.deleted, pa.string()), key)
    if wanted is not None and key not in (columns or []):
        merged = merged.drop_columns([key])
    return merged


def frame_of(table: pa.Table, layout: Layout) -> pd.DataFrame:
    """Return merged accounts as the conformed workspace frame (as :mod:`.columnar` reads one)."""
    data: dict[str, pd.Series] = {}
    declared = set(s.TABLES[TABLE].column_names)
    for col in table.column_names:
        if col == s.GEOMETRY:
            continue
        if col not in declared:  # extra columns: pandas' own reading of Arrow, as .columnar
            data[col] = table.column(col).to_pandas()
            continue
        values = arrow_column(table.column(col), layout.kind(TABLE, col))
        if values is None:  # the schema casts every column to its kind's type
            raise StoreUnavailableError(f"accounts column {col!r} has an unexpected type")
        data[col] = pd.Series(values, dtype=values.dtype, copy=False)
    if s.GEOMETRY not in table.column_names:
        return pd.DataFrame(data, copy=False)
    data[s.GEOMETRY] = geometry_values(table.column(s.GEOMETRY))
    return gpd.GeoDataFrame(data, geometry=s.GEOMETRY, copy=False)


# -- compaction ---------------------------------------------------------------------
def compaction_due(conn: Connection, layout: Layout, threshold: int, inserted: bool) -> bool:
    """Tell whether the accounts should be folded into a (new) sidecar after a commit.

    With a sidecar: when the overlay holds more than :data:`COMPACT_FRACTION`
    of the base's rows. Without: when a commit that inserted accounts took
    the table past ``threshold`` rows.
    """
    if layout.backend != "gpkg":
        return False
    meta = {k: v for k in (META_FILE, META_ROWS) if (v := _meta_value(conn, layout, k))}
    base = Base.from_meta(meta)
    count = sa.select(sa.func.count()).select_from(layout.tables[TABLE])
    if base is None:
        return inserted and int(conn.execute(count).scalar() or 0) > threshold
    gone = conn.exec_driver_sql(f'SELECT count(*) FROM "{DELETED}" WHERE tbl = ?', (TABLE,))
    changed = int(conn.execute(count).scalar() or 0) + int(gone.scalar() or 0)
    return changed > COMPACT_FRACTION * max(base.rows, 1)


@dataclass
class Compaction:
    """One compaction: planned on a snapshot, written, then installed.

    ``file`` and ``rows`` describe the new sidecar; ``seconds`` the time
    taken; ``installed`` is false when another compaction won the race
    (its file is kept, this one removed).
    """

    location: str
    version: int
    previous: Base | None
    overlay: Overlay | None
    accounts: pd.DataFrame | None = None
    rows: int = 0
    seconds: float = 0.0
    installed: bool = False
    started: float = field(default_factory=time.perf_counter)
    file: str = ""

    def __post_init__(self) -> None:
        self.file = self.file or sidecar_name(Path(self.location), self.version)

    @property
    def folder(self) -> Path:
        """The workspace's folder."""
        return Path(self.location).parent


    def write(self, layout: Layout) -> None:
        """Write the new sidecar (streamed from the old one when there is one)."""
        kinds = _kinds(layout)
        schema = arrow_schema(kinds)
        target = self.folder / self.file
        key = s.TABLES[TABLE].key[0]
        if self.overlay is not None:
            over = self.overlay
            changed = arrow_table(over.changed, kinds).cast(schema)
            deleted = pa.array(over.deleted, pa.string())
            base = open_base(over.path, over.workspace)
            self.rows = write_batches(target, schema, fold(base, schema, changed, deleted, key))
        else:
            assert self.accounts is not None
            table = arrow_table(self.accounts, kinds)
            self.accounts = None  # the frame is no longer needed: let it go before the write
            self.rows = write_batches(target, schema, [table])

    def install(self, conn: Connection, layout: Layout) -> None:
        """Point the meta at the new file and drop what it folded (inside a write transaction)."""
        now = _meta_value(conn, layout, META_FILE)
        before = self.previous.file if self.previous is not None else None
        if now != before:  # another process compacted meanwhile: keep theirs
            return
        conn.exec_driver_sql(DELETED_DDL)
        if self.previous is None:
            _keep_deletions(conn, layout, self.version)
        t = layout.tables[TABLE]
        conn.execute(t.delete().where(t.c[VERSION_COL] <= self.version))
        conn.exec_driver_sql(
            f'DELETE FROM "{DELETED}" WHERE tbl = ? AND {VERSION_COL} <= ?', (TABLE, self.version)
        )
        m = layout.meta
        for k, v in Base(self.file, self.version, self.rows).meta().items():
            conn.execute(m.delete().where(m.c[s.KEY] == k))
            conn.execute(m.insert(), [{s.KEY: k, s.VALUE: v}])
        self.installed = True

    def finish(self) -> None:
        """Remove the files no reader needs: all but the new one and the one it replaced.

        A compaction that lost the race removes only its own file.
        """
        if self.installed:
            keep = {self.file} | ({self.previous.file} if self.previous is not None else set())
            remove_stale(self.folder, Path(self.location).stem, keep)
        else:
            (self.folder / self.file).unlink(missing_ok=True)
        self.seconds = time.perf_counter() - self.started


def _keep_deletions(conn: Connection, layout: Layout, version: int) -> None:
    """Mark the accounts deleted after ``version`` (the first file still has them)."""
    h, t = layout.history, layout.tables[TABLE]
    found = conn.execute(
        sa.select(h.c.key).where(h.c.version > version, h.c.tbl == TABLE, h.c.op == "delete")
    )
    keys = sorted({str(k) for (k,) in found})
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        present = conn.execute(sa.select(t.c[KEY_COL]).where(t.c[KEY_COL].in_(chunk)))
        alive = {str(k) for (k,) in present}
        marks = [(TABLE, k, version + 1) for k in chunk if k not in alive]
        if marks:
            conn.exec_driver_sql(
                f'INSERT OR REPLACE INTO "{DELETED}" (tbl, {KEY_COL}, {VERSION_COL}) '
                "VALUES (?, ?, ?)",
                marks,
            )


def plan_compaction(
    conn: Connection, layout: Layout, location: str, head: int, *, force: bool = False
) -> Compaction | None:
    """Take the snapshot a compaction folds (inside a read transaction).

    Returns ``None`` when there is nothing to fold: a sidecar with no
    changed rows, unless ``force``.
    """
    over = overlay_in(conn, layout, location)
    if over is not None:
        if not force and not len(over.changed) and not over.deleted:
            return None
        if head == over.base.version:
            return None  # the file already shows this version
        return Compaction(location, head, over.base, over)
    accounts = conform(read_sql_table(conn, layout, TABLE), TABLE)
    return Compaction(location, head, None, None, accounts=accounts)
