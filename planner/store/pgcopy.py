"""Bulk reads and writes on PostgreSQL with COPY, for whole tables.

Reads fetch whole tables over the binary protocol and build typed columns
at once (SQLAlchemy's row objects cost more than the fetch); writes stream
rows with COPY FROM. Used to open and create server workspaces; single
changes go through ordinary statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.store.layout import Layout

__all__ = ["copy_in", "copy_out"]


def _quoted(layout: Layout, table: str) -> str:
    return f'"{layout.schema}"."{table}"' if layout.schema else f'"{table}"'


def copy_out(conn: Connection, layout: Layout, table: str) -> pd.DataFrame:
    """Read a whole table, in storage order, inside the caller's transaction.

    Rows come over psycopg's binary protocol (decoded in C) and are turned
    into typed columns at once, geometry from EWKB in one vectorised call.
    """
    columns = layout.data_columns(table)
    spatial = s.TABLES[table].geometry is not None
    select = [f'"{c}"' for c in columns]
    if spatial:
        select.append('ST_AsEWKB("geometry")')
    sql = f"SELECT {', '.join(select)} FROM {_quoted(layout, table)} ORDER BY fid"
    raw: Any = conn.connection.dbapi_connection  # psycopg's connection
    with raw.cursor(binary=True) as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(select)
    data: dict[str, Any] = {}
    for c, col in zip(columns, values, strict=False):
        data[c] = _typed(col, layout.kind(table, c))
    frame = pd.DataFrame(data)
    if not spatial:
        return frame
    geoms = shapely.from_wkb(np.asarray(values[-1], dtype=object)) if rows else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=s.STORAGE_CRS))


def _typed(values: Sequence[Any], kind: s.Kind) -> Any:
    if kind == "float":
        return np.array(values, dtype=float)  # None becomes NaN
    if kind == "int":
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    if kind == "bool":
        return np.array([bool(v) for v in values], dtype=bool)
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


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
