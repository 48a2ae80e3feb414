"""Reading one stored table (optionally filtered) with SQL inside a caller's transaction."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.store.codec import decode_gpkg
from planner.store.layout import HIDDEN, Layout
from planner.store.pgcopy import copy_out

__all__ = ["read_sql_table"]


def read_sql_table(conn: Connection, layout: Layout, name: str, where: Any = None) -> pd.DataFrame:
    """Read table ``name`` in storage order, its rows matching ``where`` (all if ``None``).

    A whole PostGIS table is read with ``COPY``; anything else with one
    ``SELECT`` fetched as raw tuples. Geometries become shapely objects in
    EPSG:4326; the store's own columns are left out.
    """
    if where is None and layout.backend == "postgis":
        return copy_out(conn, layout, name)
    table = layout.tables[name]
    cols: list[Any] = []
    for c in table.columns:
        if c.name in HIDDEN:
            continue
        if c.name == s.GEOMETRY and layout.backend == "postgis":
            cols.append(sa.func.ST_AsBinary(c, type_=sa.LargeBinary).label(s.GEOMETRY))
        else:
            cols.append(c)
    stmt = sa.select(*cols).order_by(table.c.fid)
    if where is not None:
        stmt = stmt.where(where)
    result = conn.execute(stmt)
    names = list(result.keys())
    rows = result.cursor.fetchall() if result.cursor is not None else []  # raw tuples: fast
    result.close()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    frame = pd.DataFrame(
        {n: np.asarray(col, dtype=object) for n, col in zip(names, columns, strict=True)}
    )
    frame = frame.infer_objects() if len(frame) else frame
    if s.GEOMETRY in names:
        geoms = (
            decode_gpkg(frame[s.GEOMETRY].tolist()) if len(frame) else np.array([], dtype=object)
        )
        plain_part = frame.drop(columns=[s.GEOMETRY])
        return gpd.GeoDataFrame(plain_part, geometry=gpd.GeoSeries(geoms, crs=s.STORAGE_CRS))
    return frame
