"""A large workspace's accounts as a GeoParquet file beside its GeoPackage.

Past :data:`SIDECAR_ACCOUNTS` accounts (or ``$PLANNER_SIDECAR_ACCOUNTS``), a
GeoPackage workspace keeps the accounts as they stood at one version in
``NAME.accounts.vVERSION.TAG.parquet`` beside ``NAME.gpkg``; the GeoPackage's
``accounts`` table then holds only the rows changed since (the overlay, see
:mod:`planner.store.overlay`). This module is the file side:

* the Arrow schema of the accounts (text, ``float64``, ``int64``, ``bool``
  and WKB geometry, with GeoParquet 1.0 ``geo`` metadata, so geopandas,
  GDAL and DuckDB read the file as it is);
* writing a frame or a stream of Arrow batches atomically (a temporary file
  renamed over the target);
* reading the base with only the columns asked for, and folding row changes
  into a base in row groups, never holding the whole table.

A file that is missing or unreadable raises :class:`planner.errors.SidecarError`
naming it and the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from planner import schema as s
from planner.errors import SidecarError, WorkspaceError

__all__ = [
    "BATCH_ROWS",
    "COMPACT_FRACTION",
    "SIDECAR_ACCOUNTS",
    "SIDECAR_ENV",
    "arrow_schema",
    "arrow_table",
    "conform_batch",
    "corrupt_message",
    "fold",
    "merge",
    "missing_message",
    "open_base",
    "read_base",
    "remove_stale",
    "sidecar_name",
    "threshold",
    "write_batches",
]

#: Accounts beyond which a GeoPackage workspace keeps them in a GeoParquet file.
SIDECAR_ACCOUNTS = 500_000
#: Environment variable overriding :data:`SIDECAR_ACCOUNTS` (a whole number of accounts).
SIDECAR_ENV = "PLANNER_SIDECAR_ACCOUNTS"
#: Changed rows, as a share of the base's rows, past which a commit folds them into a new file.
COMPACT_FRACTION = 0.05
#: Rows per Parquet row group, and per batch when folding.
BATCH_ROWS = 131_072

_KINDS: dict[s.Kind, pa.DataType] = {
    "str": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
}


def threshold(given: int | None = None) -> int:
    """Return the accounts count past which a sidecar is used: ``given``, the env, or the default.

    Raises
    ------
    WorkspaceError
        If ``$PLANNER_SIDECAR_ACCOUNTS`` is not a whole number.
    """
    if given is not None:
        return int(given)
    text = os.environ.get(SIDECAR_ENV, "").strip()
    if not text:
        return SIDECAR_ACCOUNTS
    try:
        return int(text.replace("_", ""))
    except ValueError as exc:
        raise WorkspaceError(
            f"${SIDECAR_ENV} is {text!r}: set it to a whole number of accounts "
            f"(default {SIDECAR_ACCOUNTS:,}) or unset it"
        ) from exc


def sidecar_name(gpkg: Path, version: int) -> str:
    """Return a new file name for the accounts of ``gpkg`` as of ``version``.

    A random tag keeps two files of one version apart (a workspace saved
    over another, two compactions racing), so a file is never overwritten
    while a reader may use it.
    """
    return f"{gpkg.stem}.accounts.v{version}.{uuid.uuid4().hex[:8]}.parquet"


def _geo_metadata() -> bytes:
    crs = CRS.from_epsg(4326).to_json_dict()
    geo = {
        "version": "1.0.0",
        "primary_column": s.GEOMETRY,
        "columns": {s.GEOMETRY: {"encoding": "WKB", "geometry_types": [], "crs": crs}},
    }
    return json.dumps(geo).encode()


def arrow_schema(kinds: Mapping[str, s.Kind]) -> pa.Schema:
    """Return the Arrow schema of a sidecar with these columns (plus WKB geometry)."""
    fields = [pa.field(c, _KINDS[k]) for c, k in kinds.items()]
    fields.append(pa.field(s.GEOMETRY, pa.binary()))
    return pa.schema(fields, metadata={b"geo": _geo_metadata()})


def arrow_table(frame: pd.DataFrame, kinds: Mapping[str, s.Kind]) -> pa.Table:
    """Return ``frame`` (a conformed accounts frame) as a table of :func:`arrow_schema`."""
    schema = arrow_schema(kinds)
    columns = []
    for field in schema:
        if field.name == s.GEOMETRY:
            geoms = np.asarray(frame[s.GEOMETRY], dtype=object)
            columns.append(pa.array(shapely.to_wkb(geoms, byte_order=1), type=pa.binary()))
        elif field.name in frame.columns:
            columns.append(_arrow_column(frame[field.name], field.type))
        else:
            columns.append(pa.nulls(len(frame), type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _arrow_column(col: pd.Series, typ: pa.DataType) -> pa.Array:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pc.cast(pa.array(col), pa.string()) if typ == pa.string() else pa.array(col, typ)
    if typ == pa.string():
        values = col.to_numpy(dtype=object)
        return pa.array(values, type=typ, from_pandas=True)
    return pa.array(col.to_numpy(), type=typ, from_pandas=True)


def conform_batch(batch: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """Return ``batch`` with exactly ``schema``'s columns: missing ones null, others cast."""
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    names = set(table.column_names)
    arrays = [
        table.column(f.name).cast(f.type) if f.name in names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_batches(target: Path, schema: pa.Schema, parts: Iterable[pa.Table]) -> int:
    """Write ``parts`` to ``target`` through a temporary file renamed over it; return the rows.

    On any failure the temporary file is removed, ``target`` is untouched
    and the error goes to the caller (the store turns an ``OSError`` into
    :class:`~planner.errors.StoreUnavailableError`).
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.parquet")
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for part in parts:
                if len(part):
                    writer.write_table(part, row_group_size=BATCH_ROWS)
                    rows += len(part)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return rows


def open_base(path: Path, workspace: str) -> pq.ParquetFile:
    """Open a sidecar for reading.

    Raises
    ------
    SidecarError
        If the file is missing or is not a Parquet file.
    """
    try:
        return pq.ParquetFile(path, memory_map=True)
    except FileNotFoundError as exc:
        raise SidecarError(missing_message(path, workspace)) from exc
    except (OSError, pa.ArrowException) as exc:
        raise SidecarError(corrupt_message(path, workspace, exc)) from exc


def missing_message(path: Path, workspace: str) -> str:
    """The message for a sidecar that is not where the workspace says."""
    return (
        f"the accounts of workspace {workspace} live in {path}, which is missing. "
        f"Put {path.name} back beside {Path(workspace).name} (a large workspace is the .gpkg "
        "together with its .parquet files: copy them together), or restore both from a backup."
    )


def corrupt_message(path: Path, workspace: str, exc: BaseException) -> str:
    """The message for a sidecar that cannot be read."""
    return (
        f"the accounts file {path} of workspace {workspace} cannot be read ({exc}). "
        f"Restore {path.name} from a backup of the workspace (the .gpkg with its .parquet "
        "files); the .gpkg alone holds only the accounts changed since that file was written."
    )


def read_base(
    base: pq.ParquetFile, path: Path, workspace: str, columns: Sequence[str] | None
) -> pa.Table:
    """Read the columns of a sidecar that it has (all when ``columns`` is ``None``).

    Raises
    ------
    SidecarError
        If the file cannot be read.
    """
    have = set(base.schema_arrow.names)
    wanted = None if columns is None else [c for c in columns if c in have]
    try:
        return base.read(columns=wanted)
    except (OSError, pa.ArrowException) as exc:
        raise SidecarError(corrupt_message(path, workspace, exc)) from exc


def merge(
    base: pa.Table, overlay: pa.Table, deleted: pa.Array, key: str, *, tail: bool = True
) -> tuple[pa.Table, np.ndarray]:
    """Apply the overlay to a base (or one batch of it).

    Rows of ``base`` whose key is in ``deleted`` are dropped; rows whose key
    is in ``overlay`` are replaced in place by the overlay's row. With
    ``tail``, the overlay rows whose key the base lacks (inserted rows) come
    after. Both tables have the same schema.

    Returns
    -------
    tuple
        The merged table and a mask of the overlay rows used in place.
    """
    used = np.zeros(len(overlay), dtype=bool)
    if not len(overlay) and not len(deleted):
        return base, used
    keys = base.column(key)
    at = pc.index_in(keys, value_set=overlay.column(key)) if len(overlay) else None
    drop = pc.is_in(keys, value_set=deleted) if len(deleted) else None
    if (at is None or not pc.any(pc.is_valid(at)).as_py()) and (
        drop is None or not pc.any(drop).as_py()
    ):
        merged = base
    else:
        n = len(base)
        index = np.arange(n, dtype=np.int64)
        if at is not None:
            pos = at.to_numpy(zero_copy_only=False)
            hit = ~np.isnan(pos) if pos.dtype.kind == "f" else np.ones(n, dtype=bool)
            index[hit] = n + pos[hit].astype(np.int64)
            used[pos[hit].astype(np.int64)] = True
        if drop is not None:
            index = index[~drop.to_numpy(zero_copy_only=False)]
        merged = pa.concat_tables([base, overlay]).take(pa.array(index))
    if tail and len(overlay):
        rest = np.flatnonzero(~used)
        if len(rest):
            merged = pa.concat_tables([merged, overlay.take(pa.array(rest))])
    return merged, used


def fold(
    base: pq.ParquetFile, schema: pa.Schema, overlay: pa.Table, deleted: pa.Array, key: str
) -> Iterator[pa.Table]:
    """Yield the base with the overlay applied, one row group at a time, inserted rows last."""
    used = np.zeros(len(overlay), dtype=bool)
    for batch in base.iter_batches(batch_size=BATCH_ROWS):
        merged, hit = merge(conform_batch(batch, schema), overlay, deleted, key, tail=False)
        used |= hit
        yield merged
    if len(overlay):
        yield overlay.take(pa.array(np.flatnonzero(~used)))


def remove_stale(folder: Path, stem: str, keep: set[str]) -> list[Path]:
    """Remove the sidecars of ``stem`` in ``folder`` other than ``keep``; return them."""
    removed = []
    for path in folder.glob(f"{stem}.accounts.v*.parquet"):
        if path.name not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
