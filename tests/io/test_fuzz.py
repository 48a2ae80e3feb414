"""Fuzzing the readers and the rule parser: nothing but the planner's own errors may escape.

Hypothesis feeds random and mutated inputs to :func:`planner.geo.io.validate_file`
(which must return a report, never raise), the strict readers (which may
raise only :class:`~planner.errors.InputError`) and the rule parser (only
:class:`~planner.errors.RuleError`). Runs are derandomised so CI is
repeatable; set ``PLANNER_FUZZ_EXAMPLES`` (e.g. 5000) for a longer hunt.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import InputError, PlannerWarning, RuleError
from planner.geo.io import read_accounts, validate_file
from planner.geo.rules import parse_rule
from planner.io import ReadLimits

EXAMPLES = int(os.environ.get("PLANNER_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Small limits, so the fuzzer reaches them too.
LIMITS = ReadLimits(max_file_bytes=1 << 20, max_unpacked_bytes=1 << 21, max_columns=200)
SLOW_S = 20.0  # one input taking longer than this counts as a hang

GOOD_CSV = (
    "account_id,name,latitude,longitude,postal_code,annual_revenue\n"
    'A1,Shop,33.75,-84.39,30303,1200\nA2,"Café, Ltd",33.80,-84.41,,3.5e4\n'
).encode()
GOOD_GEOJSON = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"unit_id": "U1", "name": "One"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[-84, 33], [-83, 33], [-83, 34], [-84, 34], [-84, 33]]],
                },
            }
        ],
    }
).encode()


def _xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["account_id", "latitude", "longitude"], ["A1", 33.7, -84.3], ["A2", "=1+2", 1]):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def _parquet() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"account_id": ["A1"], "latitude": [33.7], "longitude": [-84.3]}).to_parquet(buf)
    return buf.getvalue()


SEEDS: dict[str, bytes] = {
    "a.csv": GOOD_CSV,
    "u.geojson": GOOD_GEOJSON,
    "a.xlsx": _xlsx(),
    "a.zip": _zip("accounts.csv", GOOD_CSV),
    "a.csv.gz": gzip.compress(GOOD_CSV),
    "a.parquet": _parquet(),
}


def _check_never_raises(data: bytes, filename: str, kind: str | None) -> None:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        report = validate_file(data, filename=filename, kind=kind, limits=LIMITS)  # type: ignore[arg-type]
        assert all(p.fix or p.severity == "warning" for p in report.problems)
        try:
            read_accounts(data, filename=filename)
        except InputError as exc:
            assert exc.problems or str(exc)
    assert time.perf_counter() - start < SLOW_S


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid file of some format, then damaged: bytes flipped, cut, inserted or repeated."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=40))
        elif op == "repeat":
            data[i:i] = data[i : i + draw(st.integers(1, 200))] * draw(st.integers(1, 30))
        else:
            del data[i:]
    return bytes(data), name


@FUZZ
@given(case=mutated(), kind=st.sampled_from([None, "accounts", "reps", "units", "territories"]))
def test_damaged_files_give_reports_not_exceptions(
    case: tuple[bytes, str], kind: str | None
) -> None:
    """Any damage to a valid file of any format ends in a report or an InputError."""
    data, name = case
    _check_never_raises(data, name, kind)


CHARS = "abcAB01-.,;\"'\t |\n\r\x00\u200b\ufeffé "
CELL = st.one_of(
    st.text(alphabet=st.sampled_from(list(CHARS)), max_size=12),
    st.sampled_from(["nan", "inf", "1e999", "-84.3", "33.7", "95", "NULL", "=1+1", ""]),
)


@FUZZ
@given(
    header=st.lists(
        st.sampled_from(
            ["account_id", "id", "latitude", "lat", "longitude", "lng", "postal_code", "name",
             "annual_revenue", "manager_id", "rep_id", "parent_id", "territory_id", "rule", "x"]
        ),
        min_size=1,
        max_size=8,
    ),
    rows=st.lists(st.lists(CELL, max_size=9), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-16-le", "latin-1", "utf-8-sig"]),
    newline=st.sampled_from(["\n", "\r\n", ""]),
)  # fmt: skip
def test_random_tables_give_reports_not_exceptions(
    header: list[str], rows: list[list[str]], delimiter: str, encoding: str, newline: str
) -> None:
    """CSV-like text of any shape, encoding and line ending never crashes the reader."""
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    text = "\n".join(lines) + newline
    data = text.encode(encoding, errors="replace")
    for kind in ("accounts", "reps", "territories"):
        _check_never_raises(data, "t.csv", kind)


@FUZZ
@given(
    data=st.binary(max_size=3000),
    name=st.sampled_from(["x.csv", "x.xlsx", "x.geojson", "x.gpkg", "x.zip", "x.parquet",
                          "x.csv.gz", "x.tsv", "x.json"]),
)  # fmt: skip
def test_random_bytes_give_reports_not_exceptions(data: bytes, name: str) -> None:
    """Random bytes under any file name end in a clear report."""
    _check_never_raises(data, name, None)


RULE_PIECES = st.sampled_from(
    [
        "industry", "annual_revenue", "`odd name`", "x", "and", "or", "not", "in", "is", "null",
        "true", "false", "(", ")", "[", "]", ",", "==", "=", "!=", "<", "<=", ">", ">=", "=>",
        "&&", "||", "!", "-", ".", "-.", "1", "1e6", "1_000", "9" * 40, "'a'", '"b"', "'",
        '"', "`", " ", "é", "ï", "\u200b", "\x00", "$", ";", "1M", "0.5", "-3",
    ]
)  # fmt: skip
FRAME = pd.DataFrame(
    {
        "industry": ["A", None, "b"],
        "annual_revenue": [1.0, np.nan, 3e6],
        "x": [True, False, None],
        "odd name": [1, 2, 3],
    }
)


@FUZZ
@given(st.one_of(st.text(max_size=80), st.lists(RULE_PIECES, max_size=30).map(" ".join),
                 st.lists(RULE_PIECES, max_size=30).map("".join)))  # fmt: skip
def test_rule_parser_raises_only_rule_errors(text: str) -> None:
    """Any text is a rule, or a RuleError naming a position; evaluation never fails otherwise."""
    try:
        rule = parse_rule(text, fields=FRAME)
    except RuleError as exc:
        assert 1 <= exc.position <= len(text) + 1
        assert exc.problems[0].fix
        return
    result = rule.evaluate(FRAME)
    assert result.dtype == bool and len(result) == len(FRAME)
    again = parse_rule(str(rule), fields=FRAME)
    assert (again.evaluate(FRAME) == result).all()


@pytest.mark.parametrize("depth", [1, 49, 50, 51, 500, 4000])
def test_rule_depth_is_bounded(depth: int) -> None:
    """Deep nesting parses up to the bound and is refused clearly past it."""
    rule = "(" * depth + "annual_revenue > 1" + ")" * depth
    if depth <= 50:
        assert parse_rule(rule, fields=FRAME).evaluate(FRAME).tolist() == [False, False, True]
    else:
        with pytest.raises(RuleError, match="nests more than 50"):
            parse_rule(rule)


CHUNKS = ReadLimits(
    max_file_bytes=1 << 20, max_unpacked_bytes=1 << 21, max_columns=200,
    stream_above_bytes=1, chunk_rows=2,
)  # fmt: skip
WHOLE = ReadLimits(max_file_bytes=1 << 20, max_unpacked_bytes=1 << 21, max_columns=200)


@FUZZ
@given(
    header=st.lists(
        st.sampled_from(["account_id", "latitude", "longitude", "postal_code", "name", "x"]),
        min_size=1,
        max_size=6,
    ),
    rows=st.lists(st.lists(CELL, max_size=7), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-16-le", "latin-1", "utf-8-sig"]),
    newline=st.sampled_from(["\n", "\r\n", ""]),
)
def test_chunked_reads_agree_with_whole_reads(
    header: list[str], rows: list[list[str]], delimiter: str, encoding: str, newline: str
) -> None:
    """Any CSV-like text read in chunks of two records gives the whole read's problems."""
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    data = ("\n".join(lines) + newline).encode(encoding, errors="replace")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        whole = validate_file(data, filename="t.csv", kind="accounts", limits=WHOLE)
        chunked = validate_file(data, filename="t.csv", kind="accounts", limits=CHUNKS)
    assert [str(p) for p in chunked.problems] == [str(p) for p in whole.problems]
    assert chunked.rows_read == whole.rows_read and chunked.rows_valid == whole.rows_valid
