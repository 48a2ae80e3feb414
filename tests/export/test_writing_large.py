"""The plain exports at scale: chunked CSV, one lookup per distinct value, the same bytes.

Large exports write CSV a chunk at a time and look names up once per
distinct territory or account; these tests hold them to what the plain
whole-frame pandas operations give, value for value and byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.export import tables_io
from planner.export.files import accounts_layer, membership_table, territory_paths
from planner.export.plan import PlanData
from planner.export.safety import FORMULA_TRIGGERS, neutralise, neutralise_frame
from planner.export.tables_io import csv_bytes, write_csv

_cells = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from([*FORMULA_TRIGGERS, "'", "=1+1", "plain", ""]),
    st.floats(allow_nan=True, allow_infinity=False),
    st.integers(min_value=-5, max_value=5),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_cells, max_size=25))
def test_neutralised_frames_equal_neutralising_each_cell(values: list[object]) -> None:
    """Every text cell that a spreadsheet would run gets its quote; nothing else changes."""
    frame = pd.DataFrame({"text": pd.Series(values, dtype=object), "n": np.arange(len(values))})
    original = frame["text"].tolist()
    got = neutralise_frame(frame)
    want = [neutralise(v) for v in values]
    assert len(got) == len(want)
    for a, b in zip(got["text"].tolist(), want, strict=True):
        assert a is b or a == b or (a != a and b != b)  # NaN stays NaN
    assert got["n"].tolist() == list(range(len(values)))
    for a, b in zip(frame["text"].tolist(), original, strict=True):  # the input is untouched
        assert a is b


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    """The reference: the safe frame written by pandas' ``to_csv`` in one go."""
    safe = neutralise_frame(frame)
    for col in safe.columns:
        if pd.api.types.is_bool_dtype(safe[col]):
            safe[col] = safe[col].map({True: "true", False: "false"}).astype(object)
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _whole_frame_csv(frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The reference, checked against one write of ours (one chunk)."""
    whole = _pandas_csv(frame)
    with monkeypatch.context() as patch:
        patch.setattr(tables_io, "CSV_CHUNK_ROWS", len(frame) + 1)
        assert csv_bytes(frame) == whole
    return whole


_csv_text = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from([*FORMULA_TRIGGERS, "'", "=1+1", "a,b", 'q"q', "l\nm", "r\r", "", "Süd"]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            _csv_text,
            _csv_text,
            st.floats(allow_nan=True, allow_infinity=True),
            st.booleans(),
            st.integers(min_value=-(2**62), max_value=2**62),
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_csv_rows_are_the_bytes_pandas_writes(rows: list[tuple], mixed: bool) -> None:
    """Quoting, line breaks, formulas, floats, booleans and gaps byte for byte as to_csv."""
    frame = pd.DataFrame(
        {
            "id": pd.Series([r[0] for r in rows], dtype=object),
            "name": pd.Series([r[1] for r in rows], dtype=object),
            "value": pd.Series([r[2] for r in rows], dtype=float),
            "flag": pd.Series([r[3] for r in rows], dtype=bool),
            "count": pd.Series([r[4] for r in rows], dtype=np.int64),
        }
    )
    if mixed and len(frame):  # a text column holding a number: written as pandas writes it
        frame.loc[0, "name"] = -7
    if not mixed:  # pandas' own (Arrow-backed) text type
        frame["id"] = frame["id"].astype("str")
    assert csv_bytes(frame) == _pandas_csv(frame)


@pytest.mark.parametrize("chunk", [1, 3, 7, 100_000])
def test_a_csv_written_in_chunks_has_the_bytes_of_one_write(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Header once, CRLF, booleans, gaps, floats and formulas exactly as a whole write."""
    frame = pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(10)],
            "name": ["=x", None, "ok", "+1", "Süd", "a,b", 'q"q', "", "@m", "z"],
            "value": [1.5, np.nan, 3.0, 1e20, -0.1, 2.0, 0.3, 7.0, np.nan, 1 / 3],
            "flag": [True, False] * 5,
            "count": np.arange(10, dtype=np.int64),
        }
    )
    whole = _whole_frame_csv(frame, monkeypatch)
    assert whole.startswith(b"id,name,value,flag,count\r\na0,'=x,1.5,true,0\r\n")
    monkeypatch.setattr(tables_io, "CSV_CHUNK_ROWS", chunk)
    assert write_csv(frame, tmp_path / "out.csv").read_bytes() == whole
    assert csv_bytes(frame) == whole
    empty = frame.iloc[:0]
    assert write_csv(empty, tmp_path / "empty.csv").read_bytes() == b"id,name,value,flag,count\r\n"


def _plain_text(series: pd.Series) -> pd.Series:
    return pd.Series([None if pd.isna(v) else str(v) for v in series], dtype=object)


def _reference_membership(
    memberships: pd.DataFrame, territories: pd.DataFrame, accounts: pd.DataFrame
) -> pd.DataFrame:
    """The names and paths by plain dictionary lookups (the way they were looked up before)."""
    names = dict(zip(territories[s.TERRITORY_ID], territories[s.NAME], strict=True))
    paths = territory_paths(territories)
    ids = _plain_text(memberships[s.ACCOUNT_ID])
    tids = _plain_text(memberships[s.TERRITORY_ID])
    lookup = dict(
        zip(_plain_text(accounts[s.ACCOUNT_ID]), _plain_text(accounts[s.NAME]), strict=True)
    )
    return pd.DataFrame(
        {
            "account_name": ids.map(lookup),
            "territory_name": tids.map(names),
            "territory_path": tids.map(paths),
        }
    )


def test_membership_names_and_paths_equal_plain_lookups(two_region_plan: PlanData) -> None:
    """Unknown accounts and territories, repeated account ids, missing names: as dict lookups."""
    plan = two_region_plan
    accounts = pd.concat([plan.accounts, plan.accounts.iloc[[0]].assign(name="Alpha again")])
    accounts.loc[accounts.index[1], s.NAME] = None
    members = plan.memberships.copy()
    extra = members.iloc[[0, 0]].copy()
    extra[s.ACCOUNT_ID] = ["nobody", None]
    extra[s.TERRITORY_ID] = ["T404", "T1"]
    members = pd.concat([members, extra], ignore_index=True)
    got = membership_table(members, plan.territories, accounts.reset_index(drop=True))
    want = _reference_membership(members, plan.territories, accounts.reset_index(drop=True))
    order = (
        pd.DataFrame(
            {"a": _plain_text(members[s.ACCOUNT_ID]), "t": _plain_text(members[s.TERRITORY_ID])}
        )
        .sort_values(["a", "t"], kind="stable")
        .index
    )
    want = want.loc[order].reset_index(drop=True)
    for col in want.columns:
        pd.testing.assert_series_equal(got[col], want[col], check_names=False)
    assert got.loc[got[s.ACCOUNT_ID] == "a1", "account_name"].iloc[0] == "Alpha again"


def test_the_accounts_layer_takes_each_accounts_first_primary_territory(
    two_region_plan: PlanData,
) -> None:
    """The layer's territory is the primary membership first by territory id, as in the table."""
    plan = two_region_plan
    table = membership_table(plan.memberships, plan.territories)
    first = table[table[s.IS_PRIMARY]].drop_duplicates(s.ACCOUNT_ID).set_index(s.ACCOUNT_ID)
    layer = accounts_layer(plan).set_index(s.ACCOUNT_ID)
    for account, row in layer.iterrows():
        if account in first.index:
            assert row[s.TERRITORY_ID] == first.loc[account, s.TERRITORY_ID]
            assert row["territory_path"] == first.loc[account, "territory_path"]
        else:
            assert pd.isna(row[s.TERRITORY_ID])


@pytest.mark.parametrize("distinct", [3, 5000])
def test_long_columns_repeated_or_not_are_neutralised_cell_by_cell(distinct: int) -> None:
    """A long column of a few values (checked once per value) or of many: as cell by cell."""
    rng = np.random.default_rng(distinct)
    pool = ["=SUM(A1)", "North", None, "+1", "'q", np.nan, 7, "@x", "plain", "－y"]
    picks = rng.integers(0, len(pool), size=6000) if distinct == 3 else np.arange(6000)
    values = [pool[i % len(pool)] if distinct == 3 else f"{'=-'[i % 2]}v{i}" for i in picks]
    frame = pd.DataFrame({"text": pd.Series(values, dtype=object)})
    got = neutralise_frame(frame)["text"].tolist()
    want = [neutralise(v) for v in values]
    assert all(a is b or a == b or (a != a and b != b) for a, b in zip(got, want, strict=True))


_ids = st.one_of(st.none(), st.sampled_from(["a1", "a10", "a2", "Ä", "ä", "z", "é", "A"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_ids, _ids, st.booleans()), max_size=15))
def test_membership_rows_sort_as_pandas_sorts(rows: list[tuple]) -> None:
    """Account, then territory, stable, missing last: as ``sort_values``; first primary wins."""
    members = pd.DataFrame(
        {
            s.ACCOUNT_ID: pd.Series([r[0] for r in rows], dtype=object),
            s.TERRITORY_ID: pd.Series([r[1] for r in rows], dtype=object),
            s.IS_PRIMARY: pd.Series([r[2] for r in rows], dtype=bool),
            s.DETAIL: pd.Series([str(i) for i in range(len(rows))], dtype=object),
        }
    )
    territories = pd.DataFrame({s.TERRITORY_ID: ["a1"], s.NAME: ["One"]})
    got = membership_table(members, territories)
    want = members.sort_values([s.ACCOUNT_ID, s.TERRITORY_ID], kind="stable")
    assert got[s.DETAIL].tolist() == want[s.DETAIL].tolist()
