"""Bringing a snapshot up to date from the history, instead of reading every table again.

A session that read version 40 and learns that the store is at version 43
needs only the rows those three changes wrote: their after images are in
the history. Replaying them on the tables it has gives exactly what a fresh
read would (row order aside), for the cost of the changed rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.conform import conform
from planner.store.diff import RowChange

__all__ = ["replay"]

KeysOf = Callable[[pd.DataFrame, Sequence[str]], np.ndarray]


def _images_frame(images: list[dict[str, object]], table: str) -> pd.DataFrame:
    frame = pd.DataFrame(images)
    if s.TABLES[table].geometry is None:
        return frame
    hexes = frame.pop(s.GEOMETRY) if s.GEOMETRY in frame.columns else pd.Series([None] * len(frame))
    geoms = shapely.from_wkb(np.asarray(hexes.to_numpy(dtype=object), dtype=object))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=s.STORAGE_CRS))


def _replay_table(
    frame: pd.DataFrame, table: str, changes: Sequence[RowChange], keys_of: KeysOf
) -> pd.DataFrame:
    final: dict[str, dict[str, object] | None] = {}
    for change in changes:
        final[change.key] = change.after
    key = s.TABLES[table].key
    base = frame
    if key and len(frame):
        keep = ~pd.Index(keys_of(frame, key), dtype=object).isin(list(final))
        base = frame[np.asarray(keep)]
    images = [img for img in final.values() if img is not None]
    if not images:
        return conform(base, table)
    new = _images_frame(images, table)
    parts = [p for p in (base, new) if len(p)]
    combined = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if s.TABLES[table].geometry is not None and not isinstance(combined, gpd.GeoDataFrame):
        combined = gpd.GeoDataFrame(combined, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
    return conform(combined, table)


def replay(
    tables: Mapping[str, pd.DataFrame], changes: Sequence[RowChange], keys_of: KeysOf
) -> dict[str, pd.DataFrame]:
    """Return ``tables`` with ``changes`` (in commit order) applied; untouched tables are kept.

    Parameters
    ----------
    tables
        The tables as of the version the changes start from.
    changes
        Every row change committed since, oldest first.
    keys_of
        Returns the key strings of a frame's rows (the store's cached keys).
    """
    by_table: dict[str, list[RowChange]] = {}
    for change in changes:
        by_table.setdefault(change.table, []).append(change)
    out = dict(tables)
    for table, rows in by_table.items():
        out[table] = _replay_table(tables[table], table, rows, keys_of)
    return out
