"""Bulk reads and writes on PostgreSQL with COPY, for whole tables.

Reads stream whole tables out as CSV with COPY TO and parse them with
Arrow (SQLAlchemy's row objects, or even psycopg's tuples, cost more than
the transfer); writes stream rows with COPY FROM. Used to open and create server workspaces; single
changes go through ordinary statements.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.store.layout import Layout

__all__ = ["copy_in", "copy_out"]


def _quoted(layout: Layout, table: str) -> str:
    return f'"{layout.schema}"."{table}"' if layout.schema else f'"{table}"'


def copy_out(conn: Connection, layout: Layout, table: str) -> pd.DataFrame:
    """Read a whole table, in storage order, inside the caller's transaction.

    The server writes the table as CSV with ``COPY ... TO STDOUT``; Arrow's
    multi-threaded CSV reader parses it into typed columns (a NULL and an
    empty text stay apart: only quoted fields are text), and the geometry
    arrives as hex EWKB, decoded in one vectorised call. No Python object is
    made per row until the columns become pandas ones.
    """
    columns = layout.data_columns(table)
    spatial = s.TABLES[table].geometry is not None
    select = [f'"{c}"' for c in columns]
    if spatial:
        select.append("encode(ST_AsEWKB(\"geometry\"), 'hex')")
    sql = f"SELECT {', '.join(select)} FROM {_quoted(layout, table)} ORDER BY fid"
    raw: Any = conn.connection.dbapi_connection  # psycopg's connection
    buffer = io.BytesIO()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    names = [*columns, _GEOMETRY_HEX] if spatial else columns
    kinds = {c: layout.kind(table, c) for c in columns}
    frame = _parse_csv(buffer.getvalue(), names, kinds)
    if not spatial:
        return frame
    hexes = frame.pop(_GEOMETRY_HEX).to_numpy(dtype=object)
    geoms = shapely.from_wkb(hexes) if len(hexes) else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=s.STORAGE_CRS))


#: The column name the hex EWKB geometry is read under.
_GEOMETRY_HEX = "__geometry_hex"
_ARROW_TYPES = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}


def _parse_csv(data: bytes, names: list[str], kinds: Mapping[str, s.Kind]) -> pd.DataFrame:
    """PostgreSQL's CSV as a frame: typed columns, text as Python strings with ``None``."""
    if not data:
        return pd.DataFrame({n: _empty(kinds.get(n, "str")) for n in names})
    types = {n: _ARROW_TYPES[kinds.get(n, "str")] for n in names}
    arrow = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,  # "" is an empty text, an empty field NULL
            true_values=["t"],
            false_values=["f"],
        ),
    )
    out: dict[str, Any] = {}
    for name, column in zip(names, arrow.columns, strict=True):
        kind = kinds.get(name, "str")
        if kind == "str":
            out[name] = pd.Series(column.to_pylist(), dtype=object)
        elif kind == "bool":
            out[name] = column.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        elif kind == "int":
            out[name] = column.to_pandas()
        else:
            out[name] = column.to_numpy(zero_copy_only=False).astype(float)
    return pd.DataFrame(out)


def _empty(kind: s.Kind) -> Any:
    if kind == "float":
        return np.array([], dtype=float)
    if kind == "int":
        return pd.Series([], dtype="int64")
    if kind == "bool":
        return np.array([], dtype=bool)
    return pd.Series([], dtype=object)


def copy_in(
    conn: Connection,
    layout: Layout,
    table: str,
    data: Mapping[str, Sequence[Any]],
    geometries: np.ndarray | None,
) -> None:
    """Append rows to a table with COPY FROM (``data``: column -> values, hidden ones too)."""
    names = list(data)
    columns = [list(v) for v in data.values()]
    if geometries is not None:
        with_srid = shapely.set_srid(geometries, 4326)
        ewkb = shapely.to_wkb(with_srid, hex=True, include_srid=True)
        names.append(s.GEOMETRY)
        columns.append(list(ewkb))
    target = f"{_quoted(layout, table)} ({', '.join(chr(34) + n + chr(34) for n in names)})"
    raw: Any = conn.connection.dbapi_connection  # psycopg's connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in zip(*columns, strict=True):
            copy.write_row(row)
