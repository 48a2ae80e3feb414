"""Tests of formula neutralisation in CSV/XLSX files and HTML escaping."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from planner.export.files import csv_bytes, write_csv, write_xlsx, xlsx_bytes
from planner.export.safety import (
    FORMULA_TRIGGERS,
    escape_html,
    neutralise,
    neutralise_frame,
    restore,
    restore_frame,
)

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", "＝1", "=HYPERLINK(\"http://e\")"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_quotes_formula_starts(text: str) -> None:
    """Every formula trigger gets a leading quote, and restore gives the text back."""
    safe = neutralise(text)
    assert safe == "'" + text
    assert restore(safe) == text


def test_neutralise_leaves_plain_text_and_numbers() -> None:
    """Ordinary text and numbers are unchanged; a negative number is a number, not text."""
    assert neutralise("North") == "North"
    assert neutralise(-5.0) == -5.0
    assert neutralise(None) is None


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.text())
def test_neutralise_is_safe_and_reversible(text: str) -> None:
    """No neutralised text starts with a trigger, and restore inverts neutralise exactly."""
    safe = neutralise(text)
    assert not safe.startswith(FORMULA_TRIGGERS)
    assert restore(safe) == text


def test_neutralise_frame_only_touches_text() -> None:
    """Text columns are neutralised, numeric ones kept, the input left alone."""
    frame = pd.DataFrame({"name": ["=x", "ok", None], "value": [-1.0, 2.0, 3.0]})
    out = neutralise_frame(frame)
    assert out["name"].tolist()[:2] == ["'=x", "ok"] and pd.isna(out["name"][2])
    assert out["value"].tolist() == [-1.0, 2.0, 3.0]
    assert frame["name"][0] == "=x"
    assert restore_frame(out)["name"].tolist()[:2] == ["=x", "ok"]


def test_csv_cells_never_start_with_a_trigger(tmp_path: Path) -> None:
    """A CSV written by the planner has no cell a spreadsheet would run."""
    frame = pd.DataFrame({"name": DANGEROUS, "n": range(len(DANGEROUS))})
    path = write_csv(frame, tmp_path / "x.csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert all(not cell.startswith(FORMULA_TRIGGERS) for row in rows for cell in row)
    assert csv_bytes(frame) == path.read_bytes()


def test_xlsx_cells_are_text_not_formulas(tmp_path: Path) -> None:
    """XLSX text cells are neutralised strings; no cell is a formula; bad characters replaced."""
    frame = pd.DataFrame({"name": [*DANGEROUS, "bell\x07"], "n": range(len(DANGEROUS) + 1)})
    path = write_xlsx({"Sheet / one": frame}, tmp_path / "x.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["Sheet   one"]
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert all(not t.startswith(FORMULA_TRIGGERS) for t in texts)
    assert "bell\ufffd" in texts
    assert xlsx_bytes({"a": frame})[:2] == b"PK"


def test_escape_html() -> None:
    """Names with markup are shown, never run, in popups and tables."""
    assert escape_html("<script>alert('x')</script> & co") == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co"
    )
    assert escape_html(None) == ""


def test_escape_html_is_safe_inside_javascript_template_strings() -> None:
    """Backticks, ${ and backslashes cannot end a folium tooltip's template string or run code."""
    from planner.export.safety import escape_html

    text = escape_html("Café `${alert(1)}` \\ <b>&")
    assert "`" not in text and "${" not in text and "\\" not in text and "<b>" not in text
    assert text == "Café &#96;&#36;{alert(1)}&#96; &#92; &lt;b&gt;&amp;"
