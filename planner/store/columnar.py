"""Reading GeoPackage tables with GDAL's Arrow reader straight into workspace frames.

A stored table already has its declared columns and storage kinds, so it
needs no general-purpose shaping on open: each Arrow column becomes the
column :func:`planner.conform.conform` would make of it (Python strings and
``None`` for text, ``float64``, ``int64``, ``bool``; shapely geometries in
EPSG:4326), in storage order, without a per-column pass of pandas' type
inference, and the frame is assembled without copying its columns. Extra
(undeclared) columns, which ``conform`` leaves as they are, keep pandas'
own conversion of the Arrow column. The store's own columns (``fid``,
``tp_key``, ``tp_version``) are never read.

Text columns whose values repeat (industries, owners, countries: most
account columns) become one Python string per distinct value, shared by
every row holding it; a first sample of the column decides, so a column of
distinct values (ids, names) is converted directly. A column of plain 2D
points (accounts, rep homes) is built from its coordinates rather than
parsed as WKB.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely

from planner import schema as s
from planner.conform import conform
from planner.store.layout import Layout

__all__ = ["arrow_column", "geometry_values", "read_gpkg_table", "text_values"]

#: Rows sampled to decide whether a text column repeats its values.
_SAMPLE = 20_000
#: A column with fewer distinct values than this share of its sample is dictionary-decoded.
_REPEATS = 0.2


def read_gpkg_table(path: str, layout: Layout, name: str) -> pd.DataFrame:
    """Read one stored table of a GeoPackage as its conformed workspace frame.

    Parameters
    ----------
    path
        The GeoPackage file.
    layout
        The workspace's layout (declared and extra columns with their kinds).
    name
        The table.
    """
    columns = layout.data_columns(name)
    spatial = s.TABLES[name].geometry is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        meta, table = pyogrio.read_arrow(path, layer=name, columns=columns, read_geometry=spatial)
    declared = set(s.TABLES[name].column_names)
    data: dict[str, pd.Series] = {}
    exact = True
    for col in columns:
        # extra columns are not shaped by conform: they keep pandas' own reading of Arrow
        kind = layout.kind(name, col)
        values = arrow_column(table.column(col), kind) if col in declared else None
        exact = exact and (values is not None or col not in declared)
        if values is None:
            data[col] = table.column(col).to_pandas()
        else:  # dtype given: pandas would otherwise turn Python strings into its own str
            data[col] = pd.Series(values, dtype=values.dtype, copy=False)
    frame: pd.DataFrame
    if spatial:  # built from the columns in one go: no copy, no block consolidation
        geom_name = meta.get("geometry_name") or "wkb_geometry"
        data[s.GEOMETRY] = geometry_values(table.column(geom_name))
        frame = gpd.GeoDataFrame(data, geometry=s.GEOMETRY, copy=False)
    else:
        frame = pd.DataFrame(data, copy=False)
    if not exact:  # a column stored in another form than declared: shape it the general way
        return conform(frame, name)
    return frame


def arrow_column(values: pa.ChunkedArray | pa.Array, kind: s.Kind) -> np.ndarray | None:
    """The numpy column ``conform`` would make of ``values``; ``None`` if not of ``kind``."""
    typ = values.type
    if kind == "str":
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            return None
        return text_values(values)
    if kind == "float":
        if not (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
            return None
        return np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    if kind == "int":
        if not pa.types.is_integer(typ):
            return None
        return np.asarray(values.fill_null(0).cast(pa.int64()).to_numpy(), dtype=np.int64)
    if not pa.types.is_boolean(typ):
        return None
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def text_values(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Return Arrow text as an object array of Python strings, ``None`` where missing.

    Repeated values share one string object (decoded once per distinct value).
    """
    n = len(values)
    if n == 0:
        return np.array([], dtype=object)
    sample = values.slice(0, _SAMPLE)
    if pc.count_distinct(sample, mode="all").as_py() > _REPEATS * len(sample):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    whole = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = whole.dictionary_encode()
    distinct = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    lookup = np.append(distinct, np.array([None], dtype=object))
    codes = encoded.indices.fill_null(len(distinct)).to_numpy()
    return lookup[codes]


def geometry_values(wkb: pa.ChunkedArray) -> gpd.GeoSeries:
    """Shapely geometries from WKB; plain 2D points straight from their coordinates."""
    whole = wkb.combine_chunks()
    points = _plain_points(whole)
    if points is not None:
        return gpd.GeoSeries(points, crs=s.STORAGE_CRS)
    raw = np.asarray(whole.to_numpy(zero_copy_only=False), dtype=object)
    geoms = shapely.from_wkb(raw) if len(raw) else np.array([], dtype=object)
    return gpd.GeoSeries(geoms, crs=s.STORAGE_CRS)


def _plain_points(wkb: pa.Array) -> np.ndarray | None:
    """Points from WKB when every value is a little-endian 2D point with finite x and y.

    Such a value is 21 bytes: byte order 1, type 1 (uint32), x and y
    (float64). Anything else (other shapes, missing or empty points, Z or M)
    returns ``None`` and the caller decodes WKB in general.
    """
    n = len(wkb)
    if n == 0 or wkb.null_count or not pa.types.is_binary(wkb.type):
        return None
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[wkb.offset : wkb.offset + n + 1]
    if not (np.diff(offsets) == 21).all():
        return None
    data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    rows = data.reshape(n, 21)
    if not ((rows[:, 0] == 1).all() and (rows[:, 1:5] == (1, 0, 0, 0)).all()):
        return None
    xy = np.ascontiguousarray(rows[:, 5:21]).view("<f8")
    if not np.isfinite(xy).all():
        return None
    return np.asarray(shapely.points(xy), dtype=object)
