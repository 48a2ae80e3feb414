"""Reading one partition of accounts: Parquet, GeoParquet or CSV, coordinates checked."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = ["LAT_COLUMNS", "LON_COLUMNS", "read_partition", "read_table"]

#: Longitude and latitude column names tried, in order, for files without geometry.
LON_COLUMNS = ("longitude", "lon", "lng", "x")
LAT_COLUMNS = ("latitude", "lat", "y")


def read_partition(path: str, crs: Any = s.STORAGE_CRS) -> gpd.GeoDataFrame:
    """Read one partition file into account points, checking ids and coordinates.

    Raises
    ------
    InputError
        Naming the file, the rows and the column of unusable values.
    """
    data = read_table(path, crs)
    if isinstance(data, gpd.GeoDataFrame):
        return data
    frame, x, y = data
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=crs)


def read_table(
    path: str, crs: Any = s.STORAGE_CRS
) -> gpd.GeoDataFrame | tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One partition file: GeoParquet as points, others as a table and its coordinates.

    Raises
    ------
    InputError
        Naming the file, the rows and the column of unusable values.
    """
    try:
        if path.lower().endswith(".csv"):
            frame = pd.read_csv(path, dtype={s.ACCOUNT_ID: str})
        elif b"geo" in (pq.read_schema(path).metadata or {}):
            return gpd.read_parquet(path)
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path} cannot be read", [Problem(str(exc), fix="check the file")]
        ) from exc
    lon = next((c for c in LON_COLUMNS if c in frame.columns), None)
    lat = next((c for c in LAT_COLUMNS if c in frame.columns), None)
    if lon is None or lat is None:
        raise InputError(
            f"{path} has no coordinates",
            [
                Problem(
                    f"{path}: no longitude/latitude columns",
                    column="longitude",
                    fix="add longitude and latitude columns (or write GeoParquet)",
                )
            ],
        )
    x, y = _coordinates(path, frame, lon, lat)
    return frame.drop(columns=[lon, lat]), x, y


def _coordinates(
    path: str, frame: pd.DataFrame, lon: str, lat: str
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric coordinates; rows with text or out-of-range values are problems."""
    problems = []
    values = []
    for column, limit in ((lon, 180.0), (lat, 90.0)):
        raw = frame[column]
        number = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = (np.isnan(number) & raw.notna().to_numpy()) | (np.abs(number) > limit)
        if bad.any():
            rows = np.flatnonzero(bad)
            problems.append(
                Problem(
                    f"{path}: {len(rows)} rows with an unusable {column} "
                    f"(e.g. {raw.iloc[rows[0]]!r})",
                    rows=tuple(
                        int(r) + 2 if path.lower().endswith(".csv") else int(r) + 1
                        for r in rows[:50]
                    ),
                    column=column,
                    fix=f"give {column} as a number between -{limit:g} and {limit:g}",
                )
            )
        values.append(number)
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s) with coordinates", problems)
    return values[0], values[1]
