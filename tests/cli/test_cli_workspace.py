"""`planner import` and `planner promote`: workspace changes from the CLI, saved at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main
from planner.workspace import open_workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def helsinki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "h.gpkg"
    assert main(["sample", "helsinki", str(out)]) == 0
    capsys.readouterr()
    return out


def test_import_into_a_workspace_is_one_recorded_change(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Accounts imported with `planner import` are in the file at once, by their importer."""
    data = tmp_path / "new.csv"
    data.write_text(
        "account_id,name,latitude,longitude\nN-1,Cafe,60.168,24.94\nN-2,Shop,60.17,24.95\n"
    )
    code, payload = run(capsys, "import", "accounts", str(data), "-w", str(helsinki),
                        "--user", "hel-planner")  # fmt: skip
    assert code == 0 and payload["rows"] == 2 and payload["version"] == 2
    ws = open_workspace(helsinki)
    assert sorted(ws.accounts["account_id"]) == ["N-1", "N-2"]
    assert ws.store is not None and ws.store.changes()[0].user == "hel-planner"


def test_import_into_a_new_workspace_makes_the_importer_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "new.csv"
    data.write_text("account_id,name,latitude,longitude\nN-1,Cafe,60.168,24.94\n")
    target = tmp_path / "fresh.gpkg"
    code, _payload = run(capsys, "import", "accounts", str(data), "--new", str(target),
                        "--user", "ann")  # fmt: skip
    assert code == 0 and target.is_file()
    reps = open_workspace(target).reps.set_index("rep_id")
    assert reps.loc["ann", "role"] == "admin"


def test_a_bad_file_imports_nothing_and_says_why(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("bad,file\n1,2\n")
    code, payload = run(capsys, "import", "accounts", str(bad), "-w", str(helsinki))
    assert code == 2 and payload["error"] == "InputError"
    assert any("account id" in p["message"] for p in payload["problems"])
    assert open_workspace(helsinki).version == 1


def test_promote_then_undo(helsinki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Promoting a planning scenario is saved; undo puts the old active scenario back."""
    who = ("--user", "hel-planner")
    code, _ = run(capsys, "promote", "2026-what-if", "-w", str(helsinki), *who)
    assert code == 0 and open_workspace(helsinki).active_scenario_id() == "2026-what-if"
    code, _ = run(capsys, "undo", "-w", str(helsinki), *who)
    assert code == 0 and open_workspace(helsinki).active_scenario_id() == "2026-plan"
