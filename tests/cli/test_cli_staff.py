"""`planner staff`: users put on, ended on and removed from territories, each saved at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import schema as s
from planner.cli import main
from planner.workspace import open_workspace
from tests.app.conftest import build_small_workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small Helsinki workspace as a file: R1 (rep) owns T1, R2 (manager) manages R."""
    path = tmp_path / "small.gpkg"
    ws = build_small_workspace(n_accounts=10)
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


def _assoc(path: Path, territory_id: str) -> list[tuple[str, str, object]]:
    assoc = open_workspace(path).rows("associations", "base")
    mine = assoc[assoc[s.TERRITORY_ID] == territory_id]
    return sorted(
        (r[s.REP_ID], r[s.ROLE], None if s.is_missing(r[s.END_DATE]) else r[s.END_DATE])
        for _, r in mine.iterrows()
    )


def test_staff_adds_ends_and_removes_each_as_a_recorded_change(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Add R1 as owner of T2, end it, remove it: three changes in the history, by the manager."""
    code, out = run(capsys, "staff", "-w", str(small), "--territory", "T2", "--user", "R1",
                    "--role", "owner", "--start", "2026-01-01", "--as", "R2")  # fmt: skip
    assert code == 0 and out["ok"] and out["version"] == 2
    assert [(p["rep_id"], p["role"]) for p in out["staff"]] == [("R1", "owner")]
    assert _assoc(small, "T2") == [("R1", "owner", None)]

    code, out = run(capsys, "staff", "-w", str(small), "--territory", "T2", "--user", "R1",
                    "--end", "2026-06-30", "--as", "R2")  # fmt: skip
    assert code == 0 and out["message"].startswith("Ended R1 as owner of T2")
    assert _assoc(small, "T2") == [("R1", "owner", "2026-06-30")]

    code, out = run(capsys, "staff", "-w", str(small), "--territory", "T2", "--user", "R1",
                    "--remove", "--as", "R2")  # fmt: skip
    assert code == 0 and out["staff"] == []
    store = open_workspace(small).store
    assert store is not None
    changes = store.changes()
    assert [c.user for c in changes[:3]] == ["R2", "R2", "R2"]
    assert {c.action.split()[1] for c in changes[:3]} == {"assign", "end", "remove"}


def test_staff_without_user_lists_the_people(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--territory T1` alone lists its owner and changes nothing; text mode prints them too."""
    code, out = run(capsys, "staff", "-w", str(small), "--territory", "T1")
    assert code == 0 and "version" not in out
    assert [(p["rep_id"], p["role"], p["current"]) for p in out["staff"]] == [("R1", "owner", True)]
    assert main(["staff", "-w", str(small), "--territory", "T1"]) == 0
    assert "R1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--territory", "T9", "--user", "R1"], "no territory 'T9'"),
        (["--territory", "T2", "--user", "ghost"], "no user 'ghost'"),
        (["--territory", "T1", "--user", "R2"], "already has owner 'R1'"),
        (["--territory", "T2", "--user", "R1", "--start", "2026-02-01", "--end", "2026-01-01"],
         "before start date"),
        (["--territory", "T3", "--user", "R1", "--remove"], "has no owner assignment"),
    ],
)  # fmt: skip
def test_bad_input_changes_nothing_and_says_why(
    small: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    """Each mistake exits 2 with the problem and its fix; the file keeps its one version."""
    code, out = run(capsys, "staff", "-w", str(small), *argv)
    assert code == 2 and not out["ok"]
    assert match in out["message"] and out["problems"][0]["fix"]
    assert open_workspace(small).version == 1


def test_a_rep_may_not_staff(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R1 (a rep) may not staff even their own T1; nothing changes."""
    code, out = run(capsys, "staff", "-w", str(small), "--territory", "T1", "--user", "R1",
                    "--role", "overlay", "--as", "R1")  # fmt: skip
    assert code == 2 and out["error"] == "AccessDeniedError"
    assert open_workspace(small).version == 1
