"""Opening a GeoPackage workspace reads each table straight into its conformed shape.

The reader skips the general shaping step on open, so these tests check it
gives exactly what reading every column with GDAL and conforming it gave:
same columns, order, dtypes, values, missing values and geometries.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.conform import conform
from planner.samples import sample_path
from planner.store import create_store, open_store
from planner.store.columnar import geometry_values, text_values
from planner.store.layout import HIDDEN
from planner.workspace import open_workspace


def _general_read(path: str, table: str) -> pd.DataFrame:
    """The previous open: every column read with GDAL, then conformed."""
    frame = pyogrio.read_dataframe(path, layer=table, use_arrow=True)
    frame = frame.drop(columns=[c for c in HIDDEN if c in frame.columns])
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
        frame = frame.set_crs(s.STORAGE_CRS, allow_override=True)
    return conform(frame, table)


def _assert_same(fast: pd.DataFrame, general: pd.DataFrame) -> None:
    assert list(fast.columns) == list(general.columns)
    assert list(fast.dtypes) == list(general.dtypes)
    if isinstance(general, gpd.GeoDataFrame):
        assert_geodataframe_equal(fast, general, check_less_precise=False)
    else:
        pd.testing.assert_frame_equal(fast, general, check_exact=True)
    for col in fast.columns:  # missing text is None in both, never NaN
        if fast[col].dtype == object and col != s.GEOMETRY:
            assert [v is None for v in fast[col]] == [v is None for v in general[col]]


@pytest.mark.parametrize("sample", ["helsinki", "georgia"])
def test_every_table_of_a_sample_reads_as_the_general_read_conformed(
    sample: str, tmp_path: Path
) -> None:
    """Each table of a stored sample equals the general read conformed."""
    target = tmp_path / "w.gpkg"
    create_store(target, open_workspace(sample_path(sample)).tables, name="w").dispose()
    store = open_store(target)
    snap = store.read()
    for table in s.TABLES:
        _assert_same(snap.tables[table], _general_read(str(target), table))
    store.dispose()


def test_missing_values_and_extra_columns_of_every_kind_read_as_conformed(tmp_path: Path) -> None:
    """Missing text, floats, ints and bools, empty strings and extra columns survive exactly."""
    ws = open_workspace(sample_path("helsinki"))
    acc = ws.accounts.copy()
    n = len(acc)
    acc["extra_text"] = [None if i % 3 == 0 else ("" if i % 3 == 1 else f"t{i}") for i in range(n)]
    acc["extra_float"] = [np.nan if i % 2 else i / 7 for i in range(n)]
    acc["extra_int"] = np.arange(n, dtype=np.int64) - 5
    acc["extra_bool"] = [i % 2 == 0 for i in range(n)]
    acc.loc[acc.index[:5], s.NAME] = None
    acc.loc[acc.index[5:9], s.ANNUAL_REVENUE] = np.nan
    acc.loc[acc.index[2], "geometry"] = None
    ws.set_table("accounts", acc, validate=False)
    target = tmp_path / "w.gpkg"
    create_store(target, ws.tables, name="w").dispose()
    opened = open_workspace(target)
    _assert_same(opened.accounts, _general_read(str(target), "accounts"))
    assert opened.accounts["extra_int"].dtype == np.int64
    assert opened.accounts.loc[2, "geometry"] is None
    opened.store.dispose()


def test_a_column_added_by_another_session_is_read(tmp_path: Path) -> None:
    """An extra account column committed by another session shows in a fresh read."""
    target = tmp_path / "w.gpkg"
    create_store(target, open_workspace(sample_path("helsinki")).tables, name="w").dispose()
    first, second = open_workspace(target), open_workspace(target)
    acc = first.accounts.copy()
    acc["tier"] = "gold"
    first.set_table("accounts", acc, validate=False)
    first.commit("add tier")
    fresh = second.store.read()
    assert (fresh.tables["accounts"]["tier"] == "gold").all()
    _assert_same(fresh.tables["accounts"], _general_read(str(target), "accounts"))
    first.store.dispose()
    second.store.dispose()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "", "ä€"]), st.text(max_size=4))),
    st.integers(min_value=1, max_value=3),
)
def test_text_values_are_the_python_strings_with_none_for_missing(
    values: list[str | None], chunks: int
) -> None:
    """Decoded text equals Arrow's own Python values, repeated or not, in any chunking."""
    size = max(1, -(-len(values) // chunks))
    parts = [pa.array(values[i : i + size], type=pa.string()) for i in range(0, len(values), size)]
    arrow = pa.chunked_array(parts, type=pa.string())
    got = text_values(arrow)
    assert got.dtype == object
    assert got.tolist() == values


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.floats(allow_nan=False, allow_infinity=False, width=64),
        ),
        max_size=20,
    ),
    st.sampled_from(["points", "with_empty", "with_missing", "with_line"]),
)
def test_geometries_decode_as_shapely_reads_their_wkb(
    coords: list[tuple[float, float]], extra: str
) -> None:
    """Points read from their coordinates equal shapely's WKB reading, also in mixed columns."""
    geoms = [shapely.Point(x, y) for x, y in coords]
    if extra == "with_empty":
        geoms.append(shapely.Point())
    elif extra == "with_missing":
        geoms.append(None)
    elif extra == "with_line":
        geoms.append(shapely.LineString([(0, 0), (1, 1)]))
    wkb = [None if g is None else shapely.to_wkb(g, byte_order=1) for g in geoms]
    arrow = pa.chunked_array([pa.array(wkb, type=pa.binary())], type=pa.binary())
    got = geometry_values(arrow)
    want = shapely.from_wkb(np.asarray(wkb, dtype=object))
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert (
            (a is None and b is None)
            or shapely.equals_exact(a, b, tolerance=0.0)
            or (a.is_empty and b.is_empty and a.geom_type == b.geom_type)
        )
