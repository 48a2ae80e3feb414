"""The chunk size of a large-file read never changes what is read: same frame, same problems.

A chunked read holds repeated text as categories (decided on the first chunk)
and joins the chunks column by column; whatever the chunk size, the accounts
frame and every problem (message, rows, column, severity) must be those of a
read in one chunk and of a whole read, with rows numbered across chunk borders
as the user sees them in the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.geo.io import validate_file
from planner.io import ReadLimits
from planner.io.compact import duplicated_cells

WHOLE = ReadLimits(stream_above_bytes=1 << 40)
ONE_CHUNK = ReadLimits(stream_above_bytes=1, chunk_rows=1_000_000)


def _chunks(rows: int) -> ReadLimits:
    return ReadLimits(stream_above_bytes=1, chunk_rows=rows)


def _problems(report: Any) -> list[tuple[str, tuple[int, ...], str | None, str]]:
    return [(p.message, p.rows, p.column, p.severity) for p in report.problems]


def _messy_accounts(n: int, seed: int, spoil: list[int]) -> tuple[bytes, dict[str, list[int]]]:
    """An accounts CSV with repeated text, spoiled rows and blank lines; the rows spoiled.

    Returns the file and, per kind of spoiling, the row numbers a user sees
    (header on row 1), computed here independently of the reader.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(n)],
            "name": [f"Shop {i}" for i in range(n)],
            "latitude": rng.uniform(30, 35, n).round(5).astype(object),
            "longitude": rng.uniform(-85, -80, n).round(5).astype(object),
            "postal_code": rng.choice(["30303", "02134", " 10001 ", "99999"], n),
            "industry": rng.choice(["Retail", "Pharma", " Retail", ""], n),
            "annual_revenue": rng.integers(0, 10**6, n).astype(object),
            "segment": rng.choice(["gold", "silver", " bronze "], n),  # kept as read
        }
    )
    kinds = ["duplicate", "latitude", "revenue", "no_location"]
    spoiled: dict[str, list[int]] = {k: [] for k in kinds}
    for j, i in enumerate(sorted(set(i for i in spoil if 0 < i < n))):
        kind = kinds[j % len(kinds)]
        if kind == "duplicate":
            frame.loc[i, "account_id"] = frame.loc[i - 1, "account_id"]
        elif kind == "latitude":
            frame.loc[i, "latitude"] = "95.5"
        elif kind == "revenue":
            frame.loc[i, "annual_revenue"] = "12k"
        else:
            frame.loc[i, ["latitude", "longitude"]] = ""
            frame.loc[i, "postal_code"] = "99999"  # not a known ZIP code
        spoiled[kind].append(i)
    lines = frame.to_csv(index=False).splitlines(keepends=True)
    blank_after = sorted({int(b) for b in rng.integers(1, n + 1, 2)}, reverse=True)
    for b in blank_after:
        lines.insert(b + 1, "\n")
    row_of = {}  # record position -> row number as the user sees it
    row = 2
    for i in range(n):
        row_of[i] = row
        row += 1 + sum(1 for b in blank_after if b == i + 1)
    rows = {k: [row_of[i] for i in v] for k, v in spoiled.items()}
    for i in spoiled["duplicate"]:
        rows["duplicate"].append(row_of[i - 1])
    return "".join(lines).encode(), rows


def _read(data: bytes, limits: ReadLimits) -> Any:
    return validate_file(data, filename="accounts.csv", kind="accounts", limits=limits)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 80),
    chunk=st.integers(1, 25),
    spoil=st.lists(st.integers(1, 79), max_size=8, unique=True),
)
def test_chunk_size_does_not_change_the_frame_or_the_problems(
    n: int, chunk: int, spoil: list[int]
) -> None:
    """Any chunk size gives the frame and problems of one chunk and of a whole read."""
    data, _ = _messy_accounts(n, seed=n, spoil=spoil)
    one = _read(data, ONE_CHUNK)
    several = _read(data, _chunks(chunk))
    whole = _read(data, WHOLE)
    assert _problems(several) == _problems(one) == _problems(whole)
    pd.testing.assert_frame_equal(several.frame, one.frame)
    pd.testing.assert_frame_equal(several.frame, whole.frame)
    assert (several.rows_read, several.rows_valid) == (whole.rows_read, whole.rows_valid)


def test_problems_name_the_rows_across_chunk_borders() -> None:
    """Spoiled rows on both sides of chunk borders are named by the rows the user sees."""
    spoil = [1, 6, 7, 8, 13, 14, 20, 21, 27, 33, 34, 35]
    data, expected = _messy_accounts(40, seed=7, spoil=spoil)
    report = _read(data, _chunks(7))
    assert _problems(report) == _problems(_read(data, ONE_CHUNK))
    by_column = {(p.column, p.message.split(":")[0]): set(p.rows) for p in report.errors}
    named = {
        "duplicate": next(r for (c, m), r in by_column.items() if "more than once" in m),
        "latitude": next(r for (c, m), r in by_column.items() if c == "latitude"),
        "revenue": next(r for (c, m), r in by_column.items() if c == "annual_revenue"),
        "no_location": next(r for (c, m), r in by_column.items() if "ZIP" in m),
    }
    for kind, rows in expected.items():
        assert named[kind] == set(rows), kind


@pytest.mark.parametrize("chunk", [1, 3, 50])
def test_repeated_text_is_given_back_as_read(chunk: int) -> None:
    """Columns held as categories while reading come back as text, values as written."""
    data, _ = _messy_accounts(60, seed=3, spoil=[])
    report = _read(data, _chunks(chunk))
    whole = _read(data, WHOLE)
    assert report.frame["segment"].dtype == whole.frame["segment"].dtype
    assert report.frame["segment"].tolist() == whole.frame["segment"].tolist()
    assert " bronze " in set(report.frame["segment"])


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from(["a", "b", "A1", "", " a", "é"])), max_size=40
    ),
)
def test_repeated_ids_found_by_sorting_match_pandas(values: list[str | None]) -> None:
    """The bounded-memory search for repeated values agrees with pandas' duplicated."""
    col = pd.Series(values, dtype="str", index=pd.RangeIndex(2, 2 + len(values)))
    expected = col.duplicated(keep=False) & col.notna()
    found = duplicated_cells(col)
    assert found.index.equals(col.index)
    assert found.tolist() == expected.tolist()


def test_repeated_ids_are_found_across_sorting_blocks() -> None:
    """Repeats far apart in a long column (several blocks once sorted) are all found."""
    rng = np.random.default_rng(11)
    col = pd.Series(rng.integers(0, 120_000, 200_000).astype(str), dtype="str")
    col[rng.integers(0, 200_000, 50)] = None
    expected = col.duplicated(keep=False) & col.notna()
    assert duplicated_cells(col).tolist() == expected.tolist()
