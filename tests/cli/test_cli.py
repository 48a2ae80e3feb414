"""The ``planner`` command: validate, info, sample and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the CLI in-process and return its exit code and standard output."""
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_sample_then_info_reports_georgia(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner sample georgia` then `planner info --json` reports 159 units and three levels."""
    out = tmp_path / "g.gpkg"
    code, _ = run(capsys, "sample", "georgia", str(out))
    assert code == 0
    code, text = run(capsys, "info", str(out), "--json")
    assert code == 0
    info = json.loads(text)
    assert info["units"] == 159
    assert info["hierarchy_depth"] == 3
    assert info["accounts"] > 1000


def test_info_text_lists_scenarios(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Plain `planner info` names each scenario with its state."""
    out = tmp_path / "h.gpkg"
    run(capsys, "sample", "helsinki", str(out))
    code, text = run(capsys, "info", str(out))
    assert code == 0
    assert "[active]" in text
    assert "accounts:" in text


def test_info_on_missing_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing workspace exits non-zero with the problem in JSON."""
    code, text = run(capsys, "info", str(tmp_path / "missing.gpkg"), "--json")
    assert code == 2
    payload = json.loads(text)
    assert payload["ok"] is False
    assert "does not exist" in payload["message"]


def test_validate_reports_every_problem_with_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner validate` lists bad rows, says how many rows are readable and exits 1."""
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "id,name,latitude,longitude\n"
        "a1,Good,60.17,24.94\n"
        "a2,Too far north,95,24.9\n"
        "a3,Not a number,60.1,abc\n"
        "a4,Twin,60.2,24.95\n"
        "a4,Twin again,60.21,24.96\n"
    )
    code, text = run(capsys, "validate", str(csv), "--json")
    assert code == 1
    report = json.loads(text)
    assert report["rows_read"] == 5
    assert report["rows_valid"] == 1
    rows = {r for p in report["problems"] for r in p["rows"]}
    assert rows == {3, 4, 5, 6}
    assert all(p["fix"] for p in report["problems"] if p["severity"] == "error")


def test_validate_good_file_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A clean file validates with exit code 0 and says OK."""
    csv = tmp_path / "accounts.csv"
    csv.write_text("id,name,lat,lon\na1,One,60.17,24.94\na2,Two,60.18,24.95\n")
    code, text = run(capsys, "validate", str(csv))
    assert code == 0
    assert "OK" in text


def test_unknown_sample_is_rejected(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Argument parsing refuses a sample name that does not exist."""
    with pytest.raises(SystemExit):
        main(["sample", "atlantis", str(tmp_path / "x.gpkg")])
