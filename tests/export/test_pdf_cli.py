"""Tests of ``planner export --format pdf`` (and the PNG/SVG map) from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main
from tests.export.conftest import make_two_region_plan
from tests.export.test_pdf import pages, pdf_lines, plan_workspace


@pytest.fixture(scope="module")
def workspace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-region plan saved as a workspace file (read-only)."""
    return plan_workspace(make_two_region_plan()).save(tmp_path_factory.mktemp("ws") / "ws.gpkg")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    """Run the command with --json and return its exit code and output."""
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_pdf_of_the_whole_plan_and_of_one_territory(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --territory the whole plan; with it one territory's map and accounts."""
    base = ["export", "--workspace", str(workspace_file), "--format", "pdf"]
    code, payload = run(capsys, *base, "--out", str(tmp_path / "all"))
    assert code == 0 and payload["files"] == ["plan-2025.pdf"]
    assert pages(tmp_path / "all" / "plan-2025.pdf") == 7
    code, payload = run(capsys, *base, "--out", str(tmp_path / "t2"), "--territory", "T2")
    assert code == 0 and payload["manifest"]["files"] == [{"file": "plan-2025-T2.pdf", "pages": 2}]
    assert "a3" in pdf_lines(tmp_path / "t2" / "plan-2025-T2.pdf")


def test_pdf_as_a_rep_and_refusals(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rep prints their territory; another one, an unknown one or --territory on CSV fail."""
    base = ["export", "--workspace", str(workspace_file), "--format", "pdf", "--as-user", "R3"]
    code, payload = run(capsys, *base, "--out", str(tmp_path / "mine"), "--territory", "T3")
    assert code == 0 and payload["manifest"]["as_user"] == "R3"
    code, payload = run(capsys, *base, "--out", str(tmp_path / "other"), "--territory", "T1")
    assert code == 2 and payload["error"] == "InputError"
    assert "'T1' is not in scenario plan-2025 visible to user 'R3'" in payload["message"]
    assert not (tmp_path / "other").exists()
    code, payload = run(capsys, "export", "--workspace", str(workspace_file), "--format", "csv",
                        "--out", str(tmp_path / "csv"), "--territory", "T1")  # fmt: skip
    assert code == 2 and "PDF format only" in payload["message"]


def test_map_images_and_text_output(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format png/svg writes map.png/map.svg; the text output names the pages."""
    for fmt in ("png", "svg"):
        code, payload = run(capsys, "export", "--workspace", str(workspace_file), "--format", fmt,
                            "--out", str(tmp_path / fmt))  # fmt: skip
        assert code == 0 and payload["files"] == [f"map.{fmt}"]
        assert (tmp_path / fmt / f"map.{fmt}").stat().st_size > 1000
    code = main(["export", "--workspace", str(workspace_file), "--format", "pdf",
                 "--out", str(tmp_path / "t"), "--territory", "T1"])  # fmt: skip
    assert code == 0 and "plan-2025-T1.pdf: 2 pages" in capsys.readouterr().out
