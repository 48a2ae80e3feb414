"""Shaping frames to a workspace table's declared columns and storage types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import geopandas as gpd
import pandas as pd

from planner import schema as s

__all__ = ["as_text", "conform", "conform_tables"]


def as_text(col: pd.Series) -> pd.Series:
    """Return ``col`` as Python strings with ``None`` for every missing value (vectorised)."""
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=False) == "string":
        return col  # all text already (the usual case for a stored table): nothing to do
    values = col.to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    present = ~missing
    if present.any():
        kept = values[present]
        if pd.api.types.infer_dtype(kept, skipna=False) != "string":
            values[present] = [str(v) for v in kept]
    values[missing] = None
    return pd.Series(values, index=col.index, dtype=object)


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with every declared column of ``table``, typed for storage."""
    spec = s.TABLES[table]
    out = frame.copy()
    for c in spec.columns:
        if c.name not in out.columns:
            out[c.name] = None
        col = out[c.name]
        if c.kind == "str":
            out[c.name] = as_text(col)
        elif c.kind == "float":
            out[c.name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif c.kind == "int":
            out[c.name] = pd.to_numeric(col, errors="coerce").fillna(0).astype("int64")
        elif c.kind == "bool":
            out[c.name] = col.fillna(False).astype(bool)
    declared = spec.column_names
    extra = [c for c in out.columns if c not in declared and c != s.GEOMETRY]
    if not spec.extra_columns:
        extra = []
    ordered = declared + extra
    if spec.geometry is None:
        return pd.DataFrame(out[ordered]).reset_index(drop=True)
    active = (
        getattr(out, "_geometry_column_name", None) if isinstance(out, gpd.GeoDataFrame) else None
    )
    if active != s.GEOMETRY or active not in out.columns:
        if s.GEOMETRY in out.columns:
            geom = gpd.GeoSeries(out[s.GEOMETRY], index=out.index)
        else:
            geom = gpd.GeoSeries([None] * len(out), index=out.index, crs=s.STORAGE_CRS)
        plain = pd.DataFrame(out.drop(columns=[s.GEOMETRY], errors="ignore"))
        out = gpd.GeoDataFrame(plain, geometry=geom)
    gdf = cast(gpd.GeoDataFrame, out)
    if gdf.crs is None:
        gdf = gdf.set_crs(s.STORAGE_CRS, allow_override=True)
    elif not gdf.crs.equals(s.STORAGE_CRS):
        gdf = gdf.to_crs(s.STORAGE_CRS)
    result = gpd.GeoDataFrame(gdf[[*ordered, s.GEOMETRY]], geometry=s.GEOMETRY)
    return result.reset_index(drop=True)


def conform_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Return every table of :data:`planner.schema.TABLES`, conformed (missing ones empty)."""
    out: dict[str, pd.DataFrame] = {}
    for table in s.TABLES:
        frame = tables.get(table)
        out[table] = s.empty_frame(table) if frame is None else conform(frame, table)
    return out
