"""`planner report` and `planner targets`: the Reports and Targets pages from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner.cli import main
from planner.workspace import open_workspace

SCENARIO = "2026-plan"
LEAVES = {"HEL-1", "HEL-2", "HEL-3", "HEL-4"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def helsinki_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "h.gpkg"
    assert main(["sample", "helsinki", str(out)]) == 0
    return out


@pytest.fixture
def helsinki(helsinki_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A fresh copy of the Helsinki sample (territory HEL with leaves HEL-1..HEL-4)."""
    capsys.readouterr()
    copy = tmp_path / "h.gpkg"
    shutil.copy2(helsinki_file, copy)
    return copy


def _targets(path: Path) -> pd.DataFrame:
    return open_workspace(path).rows("targets", SCENARIO)


# -- planner report ----------------------------------------------------------------------


def test_report_by_territory_matches_the_workspace(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every territory, subtree totals, the latest target period, and the same rows as CSV."""
    out = tmp_path / "report.csv"
    code, payload = run(capsys, "report", "-w", str(helsinki), "--out", str(out))
    assert code == 0 and payload["ok"] and payload["period"] == "2026-Q4"
    rows = {r["territory_id"]: r for r in payload["rows"]}
    assert set(rows) == {"HEL", *LEAVES}
    ws = open_workspace(helsinki)
    assert rows["HEL"]["accounts"] == len(ws.accounts)
    assert rows["HEL"]["accounts"] == sum(rows[t]["accounts"] for t in LEAVES)
    assert rows["HEL-1"]["owners"] == "Aino Virtanen"
    assert rows["HEL"]["target_effective"] == pytest.approx(27_266_000.0)
    written = pd.read_csv(out)
    assert sorted(written["territory_id"]) == sorted(rows)


def test_report_as_a_rep_shows_only_their_territory(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--as-user: a rep's report, and its XLSX, hold their own territory and nothing else."""
    out = tmp_path / "mine.xlsx"
    code, payload = run(
        capsys, "report", "-w", str(helsinki), "--as-user", "hel-rep-1", "--out", str(out)
    )
    assert code == 0 and payload["as_user"] == "hel-rep-1"
    assert [r["territory_id"] for r in payload["rows"]] == ["HEL-1"]
    full = open_workspace(helsinki).memberships(SCENARIO)
    assert payload["rows"][0]["accounts"] == int((full["territory_id"] == "HEL-1").sum())
    sheet = pd.read_excel(out, sheet_name="By territory")
    assert list(sheet["territory_id"]) == ["HEL-1"]


def test_report_counts_won_opportunities_in_scope(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opportunities add won revenue; a rep of another territory sees none of them."""
    members = open_workspace(helsinki).memberships(SCENARIO)
    account = str(members.loc[members["territory_id"] == "HEL-1", "account_id"].iloc[0])
    opportunities = tmp_path / "opps.csv"
    opportunities.write_text(
        "account_id,owner_id,amount,created_date,closed_date,stage\n"
        f"{account},hel-rep-1,5000,2026-10-01,2026-11-15,Closed Won\n"
    )
    args = ("report", "-w", str(helsinki), "--opportunities", str(opportunities))
    code, payload = run(capsys, *args)
    won = {r["territory_id"]: r["won_amount"] for r in payload["rows"]}
    assert code == 0 and won == {"HEL": 5000.0, "HEL-1": 5000.0, "HEL-2": 0.0, "HEL-3": 0.0,
                                 "HEL-4": 0.0}  # fmt: skip
    code, payload = run(capsys, *args, "--as-user", "hel-rep-2")
    assert code == 0 and [(r["territory_id"], r["won_amount"]) for r in payload["rows"]] == [
        ("HEL-2", 0.0)
    ]


def test_report_refuses_bad_arguments_all_at_once(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown output type, period or user ends with the project's error and exit 2."""
    code, payload = run(capsys, "report", "-w", str(helsinki), "--out", "r.pdf")
    assert code == 2 and payload["error"] == "InputError"
    assert payload["problems"][0]["column"] == "--out"
    code, payload = run(capsys, "report", "-w", str(helsinki), "--period", "2026-Q9")
    assert code == 2 and "2026-Q9" in payload["message"]
    code, payload = run(capsys, "report", "-w", str(helsinki), "--as-user", "nobody")
    assert code == 2 and payload["ok"] is False
    assert main(["report", "-w", str(helsinki), "--period", "soon"]) == 2
    assert "error:" in capsys.readouterr().err


# -- planner targets ---------------------------------------------------------------------


def test_targets_show_rolls_up_and_respects_scope(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rolled-up targets of a period; a rep sees only theirs."""
    code, payload = run(capsys, "targets", "-w", str(helsinki), "show", "--period", "2026-Q1")
    assert code == 0 and payload["period"] == "2026-Q1"
    rollup = {r["territory_id"]: r for r in payload["territories"]}
    assert rollup["HEL"]["target"] == pytest.approx(20_684_000.0)
    assert rollup["HEL"]["target_below"] == pytest.approx(
        sum(rollup[t]["target_effective"] for t in LEAVES)
    )
    code, payload = run(capsys, "targets", "-w", str(helsinki), "--as-user", "hel-rep-1", "show")
    assert code == 0 and [r["territory_id"] for r in payload["territories"]] == ["HEL-1"]
    assert {u["rep_id"] for u in payload["users"]} == {"hel-rep-1"}


def test_targets_set_is_saved_as_one_change(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`targets set` writes the target to the file at once, recorded with its user."""
    before = open_workspace(helsinki).version
    code, payload = run(capsys, "targets", "-w", str(helsinki), "--as-user", "hel-mgr", "set",
                        "--territory", "HEL-1", "--period", "2027-Q1",
                        "--value", "125000")  # fmt: skip
    assert code == 0 and payload["version"] == before + 1
    ws = open_workspace(helsinki)
    rows = ws.rows("targets", SCENARIO)
    new = rows[(rows["period"] == "2027-Q1") & (rows["territory_id"] == "HEL-1")]
    assert list(new["value"]) == [125000.0]
    assert ws.store is not None and ws.store.changes()[0].user == "hel-mgr"


def test_targets_set_lists_every_problem_and_changes_nothing(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value, territory, user and period are refused together; the file is unchanged."""
    before = _targets(helsinki)
    code, payload = run(capsys, "targets", "-w", str(helsinki), "set", "--territory", "NOPE",
                        "--rep", "ghost", "--period", "2027-Q9", "--value", "-3")  # fmt: skip
    assert code == 2 and payload["error"] == "InputError"
    columns = [p["column"] for p in payload["problems"]]
    assert columns == ["--value", "--territory", "--rep", "--period"]
    assert all(p["fix"] for p in payload["problems"])
    pd.testing.assert_frame_equal(_targets(helsinki), before)


def test_targets_set_outside_scope_is_refused(
    helsinki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rep may not set targets; the refusal is the project's error, the file unchanged."""
    before = _targets(helsinki)
    code, payload = run(capsys, "targets", "-w", str(helsinki), "--as-user", "hel-rep-1", "set",
                        "--territory", "HEL-1", "--period", "2027-Q1", "--value", "1")  # fmt: skip
    assert code == 2 and payload["error"] == "AccessDeniedError"
    assert "hel-rep-1" in payload["message"]
    pd.testing.assert_frame_equal(_targets(helsinki), before)


def test_targets_import_sets_every_row(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV of territory_id,target sets one target per row in the given period."""
    csv = tmp_path / "targets.csv"
    csv.write_text('territory_id,target\nHEL-1,100\nHEL-2,"2,500"\n')
    code, payload = run(capsys, "targets", "-w", str(helsinki), "import", str(csv),
                        "--period", "2027-Q2")  # fmt: skip
    assert code == 0 and [t["value"] for t in payload["set"]] == [100.0, 2500.0]
    rows = _targets(helsinki)
    got = rows[rows["period"] == "2027-Q2"].set_index("territory_id")["value"].to_dict()
    assert got == {"HEL-1": 100.0, "HEL-2": 2500.0}


def test_targets_import_names_every_bad_row(
    helsinki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad numbers, rows without a key, unknown ids and periods: rows and columns, at once."""
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "territory_id,target,period\nHEL-1,100,2027-Q1\nHEL-9,abc,2027-Q1\n,5,2027-Q1\n"
        "HEL-2,7,someday\n"
    )
    before = _targets(helsinki)
    code, payload = run(capsys, "targets", "-w", str(helsinki), "import", str(csv))
    assert code == 2 and payload["error"] == "InputError"
    found = {(p["column"], tuple(p["rows"])) for p in payload["problems"]}
    assert found == {("target", (3,)), ("territory_id", (4,)), ("period", (5,)),
                     ("territory_id", (3,))}  # fmt: skip
    pd.testing.assert_frame_equal(_targets(helsinki), before)
    code, payload = run(capsys, "targets", "-w", str(helsinki), "import", str(tmp_path / "x.csv"))
    assert code == 2 and "does not exist" in payload["message"]
    csv.write_text("name,amount\nx,1\n")
    code, payload = run(capsys, "targets", "-w", str(helsinki), "import", str(csv))
    assert code == 2 and len(payload["problems"]) == 3  # target, territory_id, period
