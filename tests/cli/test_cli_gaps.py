"""``planner gaps``: unassigned units listed with their proposed territory, filled on request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import schema as s
from planner.cli import main
from planner.samples import write_sample
from planner.workspace import open_workspace

GAPS = ["13121", "13051", "13089", "13063"]  # Fulton, Chatham, DeKalb, Clayton


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def holed(tmp_path: Path) -> Path:
    """Georgia with four counties taken out of their territories (one recorded change)."""
    path = write_sample("georgia", tmp_path / "ga.gpkg")
    ws = open_workspace(path)
    sid = ws.active_scenario_id()
    rows = ws.rows("unit_assignment", sid).drop(columns=[s.SCENARIO_ID])
    ws.set_rows("unit_assignment", sid, rows[~rows[s.UNIT_ID].isin(GAPS)])
    ws.commit("open four gaps", user="test", scenario_id=sid)
    return path


def test_gaps_lists_then_fills_as_one_recorded_change(
    holed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, listed = run(capsys, "gaps", "--workspace", str(holed))
    assert code == 0 and not listed["filled"] and listed["version"] is None
    assert sorted(r["unit_id"] for r in listed["gaps"]) == sorted(GAPS)
    assert all(r["territory_id"] in r["neighbours"].split(", ") for r in listed["gaps"])
    before = open_workspace(holed)
    assert len(before.rows("unit_assignment", before.active_scenario_id())) == 159 - 4

    code, filled = run(capsys, "gaps", "--workspace", str(holed), "--fill", "--as", "ga-planner")
    assert code == 0 and filled["filled"] and filled["version"] == before.version + 1
    after = open_workspace(holed)
    owner = after.rows("unit_assignment", after.active_scenario_id()).set_index(s.UNIT_ID)
    assert len(owner) == 159
    proposed = {r["unit_id"]: r["territory_id"] for r in listed["gaps"]}
    assert {u: owner.loc[u, s.TERRITORY_ID] for u in GAPS} == proposed
    assert after.store is not None and after.store.changes()[0].user == "ga-planner"

    code, again = run(capsys, "gaps", "--workspace", str(holed))
    assert code == 0 and again["gaps"] == []


def test_a_rep_sees_only_their_gaps_and_may_not_fill(
    holed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, everything = run(capsys, "gaps", "--workspace", str(holed))
    mine = [r for r in everything["gaps"] if r["territory_id"] == "T-ATL"]
    code, seen = run(capsys, "gaps", "--workspace", str(holed), "--as", "ga-rep-atl")
    assert code == 0
    assert {r["territory_id"] for r in seen["gaps"]} <= {"T-ATL"}
    assert len(seen["gaps"]) == len(mine)
    version = open_workspace(holed).version
    code, refused = run(capsys, "gaps", "--workspace", str(holed), "--fill", "--as", "ga-rep-atl")
    assert code != 0 and refused["ok"] is False and "Access denied" in refused["message"]
    assert open_workspace(holed).version == version  # nothing written


def test_unknown_scenario_is_refused_clearly(
    holed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "gaps", "--workspace", str(holed), "--scenario", "nope")
    assert code != 0 and out["ok"] is False and "nope" in out["message"]
