"""Tests of the ``planner export`` command."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from planner.cli import main
from planner.models import Scenario, ScenarioState
from planner.workspace import Workspace
from tests.export.conftest import make_two_region_plan


@pytest.fixture(scope="module")
def workspace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-region plan saved as a workspace with an active scenario (read-only)."""
    plan = make_two_region_plan()
    reps = gpd.GeoDataFrame(
        plan.reps.assign(password_hash="$scrypt$ln=15,r=8,p=3$c2FsdA$aGFzaA"),
        geometry=[None] * len(plan.reps), crs="EPSG:4326",
    )
    accounts = plan.accounts.assign(geocode_precision="exact")
    ws = Workspace(name="cli", tables={"reps": reps, "accounts": accounts,
                                       "territory_types": plan.territory_types})
    ws.add_scenario(Scenario("plan-2025", "Plan 2025", state=ScenarioState.ACTIVE))
    # start dates in the past, so the associations are active whatever the date today
    assoc = plan.associations.copy()
    assoc["start_date"] = assoc["start_date"].where(assoc["start_date"].isna(), "2020-01-01")
    ws.set_rows("territories", "plan-2025", plan.territories)
    ws.set_rows("memberships", "plan-2025", plan.memberships)
    ws.set_rows("associations", "plan-2025", assoc)
    ws.set_rows("targets", "plan-2025", plan.targets)
    return ws.save(tmp_path_factory.mktemp("ws") / "ws.gpkg")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    """Run the command with --json and return its exit code and output."""
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg", "xlsx", "salesforce"])
def test_export_every_format(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Every format writes its files and a manifest."""
    code, payload = run(capsys, "export", "--workspace", str(workspace_file), "--format", fmt,
                        "--out", str(tmp_path / fmt))
    assert code == 0 and payload["ok"] and payload["files"]
    assert (tmp_path / fmt / "manifest.json").is_file()


def test_export_as_user(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--as-user writes only what that rep may see."""
    code, payload = run(capsys, "export", "--workspace", str(workspace_file), "--format", "csv",
                        "--out", str(tmp_path / "r1"), "--as-user", "r1@x.org")
    assert code == 0 and payload["manifest"]["as_user"] == "R1"
    members = pd.read_csv(tmp_path / "r1" / "membership.csv", dtype=str)
    assert set(members["account_id"]) == {"a1", "a2"}
    users = pd.read_csv(tmp_path / "r1" / "users.csv", dtype=str)
    assert users["rep_id"].tolist() == ["R1"]


def test_export_salesforce_delta_and_refusals(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--since writes a delta; a rep may not write one; unknown users are refused."""
    base = ["export", "--workspace", str(workspace_file), "--format", "salesforce"]
    assert run(capsys, *base, "--out", str(tmp_path / "v1"))[0] == 0
    code, payload = run(capsys, *base, "--out", str(tmp_path / "v2"), "--since",
                        str(tmp_path / "v1"))
    assert code == 0 and payload["manifest"]["mode"] == "delta"
    assert all(f["rows"] == 0 for f in payload["manifest"]["files"])
    code, payload = run(capsys, *base, "--out", str(tmp_path / "v3"), "--since",
                        str(tmp_path / "v1"), "--as-user", "R1")
    assert code == 2 and payload["error"] == "AccessDeniedError"
    code, payload = run(capsys, *base, "--out", str(tmp_path / "v5"), "--as-user", "R1")
    assert code == 2 and payload["error"] == "AccessDeniedError", "a rep writes no CRM load set"
    assert not (tmp_path / "v5").exists()
    code, payload = run(capsys, *base, "--out", str(tmp_path / "v4"), "--as-user", "ghost")
    assert code == 2 and "'ghost' is not a user" in payload["message"]


def test_export_xlsx_with_opportunities(
    workspace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opportunities feed the star performers and sales-cycle sheets."""
    opp = tmp_path / "opp.csv"
    today = date.today()
    opp.write_text(
        "account_id,owner_id,amount,created_date,closed_date,stage\n"
        f"a1,R1,10,{today - timedelta(days=40)},{today - timedelta(days=10)},Closed Won\n"
    )
    code, payload = run(capsys, "export", "--workspace", str(workspace_file), "--format", "xlsx",
                        "--out", str(tmp_path / "x"), "--opportunities", str(opp))
    assert code == 0 and "Star performers" in payload["manifest"]["files"][0]["sheets"]
    code, payload = run(capsys, "export", "--workspace", str(workspace_file), "--format", "csv",
                        "--out", str(tmp_path / "y"), "--opportunities", str(opp))
    assert code == 2 and "XLSX report only" in payload["message"]
