"""`planner import opportunities` and `planner targets propose` through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner.cli import main
from planner.workspace import open_workspace
from tests.reports.conftest import SCENARIO


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    payload = json.loads(capsys.readouterr().out)
    if code:
        payload["error"] = payload.get("message", "")
    return code, payload


@pytest.fixture
def opportunities_csv(opportunities: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "Opportunity.csv"
    opportunities.to_csv(path, index=False)
    return path


def test_import_then_report_and_propose_from_history(
    helsinki_path: Path, opportunities_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stored once, the report shows won revenue and a proposal saved is one change."""
    code, stored = run(capsys, "import", "opportunities", str(opportunities_csv),
                       "-w", str(helsinki_path), "--user", "hel-planner")  # fmt: skip
    assert code == 0 and stored["read"] == 6 and stored["total"] == 6
    code, report = run(capsys, "report", "-w", str(helsinki_path), "--period", "2026-Q3")
    won = {r["territory_id"]: r["won_amount"] for r in report["rows"]}
    assert won == {"HEL": 400, "HEL-1": 300, "HEL-2": 100, "HEL-3": 0, "HEL-4": 0}
    before = open_workspace(helsinki_path).version
    code, proposal = run(capsys, "targets", "propose", "-w", str(helsinki_path), "--period",
                         "2026-Q4", "--total", "8,000", "--basis", "history", "--save")  # fmt: skip
    assert code == 0 and proposal["saved"]
    assert {r["territory_id"]: r["proposed"] for r in proposal["rows"]} == {
        "HEL-1": 6000, "HEL-2": 2000, "HEL-3": 0, "HEL-4": 0
    }  # fmt: skip
    ws = open_workspace(helsinki_path)
    assert ws.version == before + 1
    targets = ws.rows("targets", SCENARIO)
    saved = targets[(targets["period"] == "2026-Q4") & targets["rep_id"].isna()]
    assert saved.set_index("territory_id")["value"].to_dict()["HEL-1"] == 6000


def test_propose_without_save_changes_nothing(
    helsinki_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per rep, in steps of 1000, printed as text; the workspace keeps its version."""
    before = open_workspace(helsinki_path).version
    code = main(["targets", "propose", "-w", str(helsinki_path), "--period", "2027",
                 "--total", "1000000", "--per", "rep", "--step", "1000"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "hel-rep-1" in text and "not saved" in text
    assert open_workspace(helsinki_path).version == before


def test_bad_arguments_and_rights_are_refused(
    helsinki_path: Path, opportunities_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bad option at once; a manager may not import; a rep may not save targets."""
    code, out = run(capsys, "targets", "propose", "-w", str(helsinki_path), "--period", "2027",
                    "--total", "much", "--step", "0.x", "--weight", "revenue")  # fmt: skip
    assert code == 2
    assert "--total 'much'" in out["error"] and "--step '0.x'" in out["error"]
    assert "--weight 'revenue'" in out["error"]
    code, out = run(capsys, "targets", "propose", "-w", str(helsinki_path), "--total", "5")
    assert code == 2 and "--period is missing" in out["error"]
    code, out = run(capsys, "targets", "propose", "-w", str(helsinki_path), "--period", "2027",
                    "--total", "5", "--basis", "history")  # fmt: skip
    assert code == 2 and "no opportunities are stored" in out["error"]
    code, out = run(capsys, "import", "opportunities", str(opportunities_csv),
                    "-w", str(helsinki_path), "--user", "hel-mgr")  # fmt: skip
    assert code != 0 and "may not import data" in out["error"]
    assert open_workspace(helsinki_path).opportunities.empty


def test_a_rep_may_propose_but_not_save(
    helsinki_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rep sees a proposal over their own territory; saving it is refused."""
    code, out = run(capsys, "targets", "propose", "-w", str(helsinki_path), "--period", "2027",
                    "--total", "5", "--as-user", "hel-rep-1")  # fmt: skip
    assert code == 0 and [r["territory_id"] for r in out["rows"]] == ["HEL-1"]
    code, out = run(capsys, "targets", "propose", "-w", str(helsinki_path), "--period", "2027",
                    "--total", "5", "--as-user", "hel-rep-1", "--save")  # fmt: skip
    assert code != 0 and "may not set target" in out["error"]
