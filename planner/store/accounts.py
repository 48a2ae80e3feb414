"""Reading only the account columns a plan needs, in compact dtypes.

An assignment needs the accounts' ids and points, a balance their workload
columns: :func:`read_accounts` reads those columns alone (from the GeoParquet
sidecar of a large workspace, with the rows changed since applied; see
:mod:`planner.store.overlay`) and keeps them small: text whose values repeat
(industries, owners, countries) as ``category``, other text as Arrow strings,
numbers as numpy, the points as shapely geometries.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio

from planner import schema as s
from planner.collector import collector_paused
from planner.conform import conform
from planner.errors import InputError, Problem
from planner.store.columnar import arrow_column, geometry_values
from planner.store.core import Store
from planner.store.layout import Layout
from planner.store.overlay import TABLE, merged_table, overlay_in
from planner.store.sidecar import arrow_table

__all__ = ["read_accounts"]

#: Rows sampled to decide whether a text column repeats its values.
_SAMPLE = 20_000
#: A text column with fewer distinct values than this share of its sample becomes a category.
_REPEATS = 0.2


def read_accounts(
    store: Store, columns: Sequence[str] | None = None, *, compact: bool = True
) -> pd.DataFrame:
    """Return the newest accounts of a stored workspace, only ``columns`` when given.

    Parameters
    ----------
    store
        The workspace's store.
    columns
        The columns to read (``"geometry"`` for the points); all when ``None``.
    compact
        Repeated text as ``category`` and other text as Arrow strings;
        otherwise the workspace's own dtypes (Python strings).

    Returns
    -------
    pandas.DataFrame
        A GeoDataFrame when ``geometry`` is among the columns.

    Raises
    ------
    InputError
        If a column is not an accounts column of this workspace.
    SidecarError
        If the workspace's accounts file is missing or unreadable.
    """
    wanted = _checked(store.layout, columns)
    with store.reading() as conn:
        over = overlay_in(conn, store.layout, store.location)
        whole = None
        if over is None and store.backend != "gpkg":
            whole = conform(store.read_table(conn, TABLE), TABLE)
    with store.faults("read"), collector_paused():  # millions of points, none in a cycle
        if over is not None:
            table = merged_table(over, store.layout, wanted)
        elif whole is None:  # every account in the GeoPackage: GDAL reads the columns
            table = _gpkg_columns(store, wanted)
        else:
            kinds = {c: store.layout.kind(TABLE, c) for c in store.layout.data_columns(TABLE)}
            table = arrow_table(whole, kinds)
            table = table.select(wanted) if wanted is not None else table
            del whole
        return _frame(table, store.layout, compact)


def _gpkg_columns(store: Store, wanted: list[str] | None) -> pa.Table:
    data = store.layout.data_columns(TABLE)
    columns = data if wanted is None else [c for c in wanted if c != s.GEOMETRY]
    spatial = wanted is None or s.GEOMETRY in wanted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        meta, table = pyogrio.read_arrow(
            store.location, layer=TABLE, columns=columns, read_geometry=spatial
        )
    out = {c: table.column(c) for c in columns}
    if spatial:
        out[s.GEOMETRY] = table.column(meta.get("geometry_name") or "wkb_geometry")
    order = [c for c in (wanted or [*data, s.GEOMETRY]) if c in out]
    return pa.table({c: out[c] for c in order})


def _checked(layout: Layout, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    known = layout.columns(TABLE)
    bad = [c for c in columns if c not in known]
    if bad:
        raise InputError(
            f"accounts have no column {', '.join(map(repr, bad))}",
            [
                Problem(f"no accounts column {c!r}", column=c, fix=f"use one of {known}")
                for c in bad
            ],
        )
    return list(dict.fromkeys(columns))


def _frame(table: pa.Table, layout: Layout, compact: bool) -> pd.DataFrame:
    data: dict[str, object] = {}
    for col in table.column_names:
        if col == s.GEOMETRY:
            continue
        kind = layout.kind(TABLE, col)
        values = table.column(col)
        if compact and kind == "str":
            data[col] = _compact_text(values)
        else:
            arr = arrow_column(values, kind)
            data[col] = values.to_pandas() if arr is None else pd.Series(arr, copy=False)
    if s.GEOMETRY not in table.column_names:
        return pd.DataFrame(data, copy=False)
    data[s.GEOMETRY] = geometry_values(table.column(s.GEOMETRY))
    return gpd.GeoDataFrame(data, geometry=s.GEOMETRY, copy=False)


def _compact_text(values: pa.ChunkedArray) -> pd.Series:
    """Repeated text as a category, other text as Arrow strings (no Python object per row)."""
    if not len(values):
        return pd.Series(pd.Categorical([]))
    sample = values.slice(0, _SAMPLE)
    if pc.count_distinct(sample, mode="all").as_py() > _REPEATS * len(sample):
        return pd.Series(pd.arrays.ArrowExtensionArray(values), copy=False)
    encoded = values.combine_chunks().dictionary_encode()
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(), dtype=np.int32)
    categories = pd.Index(encoded.dictionary.to_pylist(), dtype=object)
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), copy=False)
