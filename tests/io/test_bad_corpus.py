"""The bad-input corpus: every malformed file is refused clearly (or repaired with a warning).

``tests/data/bad/cases.json`` lists each file with what reading it must
produce (see ``tests/data/bad/make_corpus.py``). Each case runs through the
library (:func:`planner.geo.io.validate_file` and the strict reader) and the
``planner validate`` command; nothing else may escape and no traceback may
be printed.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main as cli_main
from planner.errors import InputError, PlannerWarning, Problem
from planner.geo.io import validate_file

BAD = Path(__file__).parents[1] / "data" / "bad"
CASES: list[dict[str, Any]] = json.loads((BAD / "cases.json").read_text())
READERS = {"accounts", "reps", "units", "territories"}


def _matching(problems: list[Problem], case: dict[str, Any]) -> list[Problem]:
    pattern = re.compile(case["match"], re.IGNORECASE)
    return [p for p in problems if pattern.search(str(p))]


def test_corpus_is_large_and_covers_every_format() -> None:
    """At least 120 cases, across CSV, XLSX, GeoJSON, GeoPackage, Shapefile, Parquet and gzip."""
    assert len(CASES) >= 120
    suffixes = {Path(c["file"]).suffix for c in CASES}
    assert {".csv", ".xlsx", ".geojson", ".gpkg", ".zip", ".parquet", ".gz"} <= suffixes
    assert all((BAD / c["file"]).is_file() for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_library_refuses_clearly(case: dict[str, Any]) -> None:
    """validate_file reports the expected problem, naming row, column and a fix."""
    report = validate_file(BAD / case["file"], kind=case["kind"])
    relevant = report.errors if case["expect"] == "error" else report.warnings
    if case["expect"] == "error":
        assert not report.ok, f"accepted: {report.problems}"
    else:
        assert report.ok, f"refused: {report.errors}"
    found = _matching(relevant, case)
    assert found, f"no {case['expect']} matching {case['match']!r} in {report.problems}"
    assert all(p.fix for p in report.problems), report.problems
    if "row" in case:
        assert any(case["row"] in p.rows for p in found), found
    if "column" in case:
        assert any(p.column == case["column"] for p in found), found


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["expect"] == "error"],
    ids=[c["file"] for c in CASES if c["expect"] == "error"],
)
def test_strict_reader_raises_input_error(case: dict[str, Any]) -> None:
    """The strict readers raise one InputError listing the problems, and nothing else."""
    from planner.geo import io as gio

    reader = {
        "accounts": gio.read_accounts,
        "reps": gio.read_reps,
        "units": gio.read_units,
        "territories": gio.read_territories,
    }[case["kind"]]
    with pytest.raises(InputError, match=r"file") as caught:
        reader(BAD / case["file"])
    assert caught.value.problems


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_cli_validate_exit_code_and_no_traceback(
    case: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """``planner validate`` exits 1 on errors, 0 on a documented repair; never a traceback."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        code = cli_main(["validate", str(BAD / case["file"]), "--kind", case["kind"]])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert code == (1 if case["expect"] == "error" else 0), out.out
    assert ("NOT OK" in out.out) == (case["expect"] == "error")
    assert re.search(case["match"], out.out, re.IGNORECASE), out.out
