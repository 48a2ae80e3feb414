"""Large CSV files read in chunks: the same rows, row numbers and problems as a whole read.

Every delimited case of the bad-input corpus is read twice, whole and in
chunks of three records (``ReadLimits(stream_above_bytes=1, chunk_rows=3)``,
so chunk boundaries fall everywhere), and must give the same problems; clean
and spoiled generated files must give the same table; a chunked read holds
far less memory than a whole one.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.geo.io import read_accounts, validate_file
from planner.geo.sources import open_input, read_table
from planner.io import ReadLimits

BAD = Path(__file__).parents[1] / "data" / "bad"
CASES: list[dict[str, Any]] = json.loads((BAD / "cases.json").read_text())
DELIMITED = [c for c in CASES if c["file"].endswith((".csv", ".tsv", ".txt", ".csv.gz"))]
WHOLE = ReadLimits(stream_above_bytes=1 << 40)


def _chunked(rows: int = 3) -> ReadLimits:
    return ReadLimits(stream_above_bytes=1, chunk_rows=rows)


def _problems(report: Any) -> list[tuple[str, tuple[int, ...], str | None, str]]:
    return [(p.message, p.rows, p.column, p.severity) for p in report.problems]


@pytest.mark.parametrize("case", DELIMITED, ids=[c["file"] for c in DELIMITED])
def test_corpus_problems_are_the_same_in_chunks(case: dict[str, Any]) -> None:
    """Each CSV of the corpus gives the same problems (messages, rows, columns) both ways."""
    whole = validate_file(BAD / case["file"], kind=case["kind"], limits=WHOLE)
    chunked = validate_file(BAD / case["file"], kind=case["kind"], limits=_chunked())
    assert _problems(chunked) == _problems(whole)


def _accounts_csv(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "name": [f"Shop {i}" for i in range(n)],
            "latitude": rng.uniform(30, 35, n).round(5),
            "longitude": rng.uniform(-85, -80, n).round(5),
            "postal_code": [f"{z:05d}" for z in rng.integers(501, 99950, n)],
        }
    )


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 60),
    chunk=st.integers(1, 17),
    spoiled=st.lists(st.integers(0, 59), max_size=6, unique=True),
    blank=st.lists(st.integers(0, 59), max_size=3, unique=True),
)
def test_row_numbers_stay_right_across_chunks(
    n: int, chunk: int, spoiled: list[int], blank: list[int]
) -> None:
    """Bad latitudes and blank lines anywhere: same table, same rows named, any chunk size."""
    frame = _accounts_csv(n, seed=n)
    text = frame.astype(object)
    for i in (i for i in spoiled if i < n):
        text.loc[i, "latitude"] = "95"
    lines = text.to_csv(index=False).splitlines(keepends=True)
    for i in sorted((i for i in blank if i < n), reverse=True):
        lines.insert(i + 1, "\n")
    data = "".join(lines).encode()
    whole = validate_file(data, filename="a.csv", kind="accounts", limits=WHOLE)
    chunked = validate_file(data, filename="a.csv", kind="accounts", limits=_chunked(chunk))
    assert _problems(chunked) == _problems(whole)
    if any(i < n for i in spoiled):
        assert any("95" in m or "latitude" in str(c) for m, _, c, _ in _problems(whole))


def test_clean_file_gives_the_same_accounts(tmp_path: Path) -> None:
    """A clean file (and its .gz) read in chunks gives the very same accounts frame."""
    path = tmp_path / "accounts.csv"
    _accounts_csv(2_000, seed=1).to_csv(path, index=False)
    whole = read_accounts(path, limits=WHOLE)
    chunked = read_accounts(path, limits=_chunked(300))
    pd.testing.assert_frame_equal(chunked, whole)
    gz = tmp_path / "accounts.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    pd.testing.assert_frame_equal(read_accounts(gz, limits=_chunked(300)), whole)


def test_file_cut_off_mid_row_is_found_from_its_tail(tmp_path: Path) -> None:
    """The last row cut off is seen from the end of the file, not from text held whole."""
    path = tmp_path / "cut.csv"
    data = _accounts_csv(500, seed=2).to_csv(index=False)
    path.write_text(data[: data.rstrip().rfind(",") + 3])  # '-8' instead of '-84.2...'
    chunked = validate_file(path, kind="accounts", limits=_chunked(50))
    whole = validate_file(path, kind="accounts", limits=WHOLE)
    assert _problems(chunked) == _problems(whole)
    assert any("cut off" in p.message and p.rows == (501,) for p in chunked.problems)


def test_row_limit_is_checked_per_chunk() -> None:
    """Past max_rows the chunked read stops with the limit's problem."""
    data = _accounts_csv(100, seed=3).to_csv(index=False).encode()
    limits = ReadLimits(stream_above_bytes=1, chunk_rows=7, max_rows=40)
    report = validate_file(data, filename="a.csv", kind="accounts", limits=limits)
    assert not report.ok and "more than 40 data rows" in report.errors[0].message


def _peak_mb(path: Path, limits: ReadLimits) -> float:
    """Peak Python memory of reading the file's raw table (the layer that reads chunks)."""
    inp = open_input(path, None, limits=limits)
    tracemalloc.start()
    try:
        table = read_table(
            inp, kinds=("accounts",), columns=None, sheet=None, layer=None, encoding=None,
            crs=None, limits=limits,
        )  # fmt: skip
        assert table.readable and len(table.frame) == 60_000
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_chunked_read_holds_much_less_memory(tmp_path: Path) -> None:
    """A 4 MB file: a whole read holds its bytes, text and a text buffer; a chunked one does not."""
    path = tmp_path / "big.csv"
    _accounts_csv(60_000, seed=4).to_csv(path, index=False)
    whole = _peak_mb(path, WHOLE)
    chunked = _peak_mb(path, ReadLimits(stream_above_bytes=1, chunk_rows=10_000))
    assert chunked < 0.5 * whole, (chunked, whole)
