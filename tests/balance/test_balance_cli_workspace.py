"""`planner balance design|rebalance --workspace`: the Balance page from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from planner import schema as s
from planner.balance import BalanceParams
from planner.balance.scenario import scenario_assignment
from planner.cli import main
from planner.cli.balance import TOLERANCE_MISSED
from planner.errors import InputError
from planner.models import ScenarioState
from planner.services.balance_runs import BalanceRequest
from planner.workspace import open_workspace


@pytest.fixture
def helsinki(tmp_path: Path) -> str:
    """The bundled Helsinki sample written to a workspace file of its own."""
    path = tmp_path / "helsinki.gpkg"
    assert main(["sample", "helsinki", str(path)]) == 0
    return str(path)


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_bad_arguments_are_listed_at_once_under_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Each misfit argument is named with its fix; exit 2, nothing is read."""
    code = main(["balance", "--workspace", "nowhere.gpkg", "--baseline", "b.csv", "--promote",
                 "-k", "0", "--tolerance", "2", "--contiguity", "diagonal", "--json"])
    assert code == 2
    payload = _json(capsys)
    assert payload["error"] == "InputError"
    columns = [p["column"] for p in payload["problems"]]
    assert columns == ["--baseline", "mode", "--promote", "--territories", "--tolerance",
                       "--contiguity"]
    assert all(p["fix"] for p in payload["problems"])


def test_units_and_workspace_are_one_or_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    """Neither source is an error naming both; --units refuses the workspace-only flags."""
    assert main(["balance", "--weight", "w", "-k", "2", "--json"]) == 2
    assert "give either --units FILE or --workspace W" in _json(capsys)["message"]
    code = main(["balance", "--units", "u.gpkg", "--save-scenario", "X", "--json"])
    assert code == 2
    messages = [p["message"] for p in _json(capsys)["problems"]]
    assert messages == ["--units needs --out", "--units needs --weight",
                        "--save-scenario: for --workspace only",
                        "--territories: a design needs a number of territories or reps"]


def test_an_unknown_weight_names_what_the_workspace_can_balance(
    helsinki: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A column the units do not have is refused with the columns that can be balanced."""
    code = main(["balance", "design", "--workspace", helsinki, "-k", "3", "--weight", "colour",
                 "--json"])
    assert code == 2
    problem = _json(capsys)["problems"][0]
    assert problem["column"] == "--weight" and "'colour' cannot be balanced" in problem["message"]
    assert "workload_h" in problem["fix"] and "account_count" in problem["fix"]


def test_keeping_a_territory_the_scenario_lacks_is_refused(
    helsinki: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--keep names territories of the scenario; an unknown one is listed with the known ones."""
    code = main(["balance", "rebalance", "--workspace", helsinki, "--keep", "HEL-9", "--json"])
    assert code == 2
    problem = _json(capsys)["problems"][0]
    assert problem["column"] == "keep" and "HEL-9" in problem["message"]
    assert "HEL-1" in problem["fix"]


@pytest.mark.slow
def test_design_saves_a_planning_scenario_and_writes_the_plan(
    helsinki: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """k=4 on Helsinki's visit hours: within 5 %, saved as a planning scenario, committed."""
    out = tmp_path / "plan.csv"
    code = main(["balance", "design", "--workspace", helsinki, "-k", "4", "--tolerance", "0.05",
                 "--save-scenario", "Even four", "--out", str(out), "--json"])
    assert code == 0
    payload = _json(capsys)
    assert payload["saved_as"] == "even-four" and payload["promoted"] is False
    assert payload["metrics"]["max_abs_deviation"] <= 0.05
    assert payload["parameters"]["weight"] == "workload_h"  # the page's default variable
    ws = open_workspace(helsinki)  # read again: the change was committed
    saved = ws.scenario("even-four")
    assert saved.state == ScenarioState.PLANNING and saved.created_from == "2026-plan"
    assert len(ws.memberships("even-four")) == len(ws.accounts)
    plan = pd.read_csv(out, dtype=str)
    assert len(plan) == len(ws.units)
    assert dict(zip(plan[s.UNIT_ID], plan[s.TERRITORY_ID], strict=True)) == dict(
        scenario_assignment(ws, "even-four"))


@pytest.mark.slow
def test_a_rebalance_within_tolerance_is_promoted(
    helsinki: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--promote makes the saved scenario active and archives the one it came from."""
    code = main(["balance", "rebalance", "--workspace", helsinki, "--tolerance", "0.1",
                 "--keep", "HEL-1", "--save-scenario", "Tuned", "--promote"])
    assert code == 0
    text = capsys.readouterr().out
    assert "saved as active scenario tuned" in text
    ws = open_workspace(helsinki)
    assert ws.active_scenario_id() == "tuned"
    assert ws.scenario("2026-plan").state == ScenarioState.ARCHIVED
    before, after = scenario_assignment(ws, "2026-plan"), scenario_assignment(ws, "tuned")
    assert set(after.index[after == "HEL-1"]) == set(before.index[before == "HEL-1"])


@pytest.mark.slow
def test_a_missed_tolerance_is_saved_not_promoted_and_exits_3(
    helsinki: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Drive hours with a budget of 10 accounts: the plan is written and saved, exit 3."""
    out = tmp_path / "plan.json"
    code = main(["balance", "rebalance", "--workspace", helsinki, "--weight", "drive_h_per_week",
                 "--tolerance", "0.01", "--max-moved", "10", "--save-scenario", "Drive",
                 "--promote", "--out", str(out), "--json"])
    assert code == TOLERANCE_MISSED
    payload = _json(capsys)
    assert payload["tolerance_met"] is False and payload["missed_by"] > 0
    assert "the move budget binds" in payload["message"]
    assert payload["saved_as"] == "drive" and payload["promoted"] is False
    assert any("not promoted" in n for n in payload["notes"])
    assert any("from straight-line distances" in n for n in payload["notes"])
    assert len(json.loads(out.read_text())) > 0
    ws = open_workspace(helsinki)
    assert ws.scenario("drive").state == ScenarioState.PLANNING
    assert ws.active_scenario_id() == "2026-plan"
    assert payload["metrics"]["moved_accounts"] <= 10


@pytest.mark.slow
def test_on_reps_centres_one_territory_on_each_owner(
    helsinki: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--on-reps alone: the reps who own the scenario's territories, ids kept, homes measured."""
    code = main(["balance", "design", "--workspace", helsinki, "--on-reps", "--tolerance",
                 "0.1", "--save-scenario", "Around reps", "--json"])
    assert code in (0, TOLERANCE_MISSED)
    payload = _json(capsys)
    assert payload["metrics"]["n_territories"] == 4
    assert payload["metrics"]["home_distance_mean_km"] is not None
    ws = open_workspace(helsinki)
    owners = ws.associations(payload["saved_as"])
    owners = owners[owners[s.ROLE] == "owner"]
    assert dict(zip(owners[s.TERRITORY_ID], owners[s.REP_ID], strict=True)) == {
        f"HEL-{i}": f"hel-rep-{i}" for i in range(1, 5)}


def test_on_reps_names_unknown_reps(helsinki: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A rep id that is no field rep with a home is refused with the ones there are."""
    code = main(["balance", "design", "--workspace", helsinki, "--on-reps", "nobody", "--json"])
    assert code == 2
    problem = _json(capsys)["problems"][0]
    assert problem["column"] == "--on-reps" and "nobody" in problem["message"]
    assert "hel-rep-1" in problem["fix"]


def _library_messages(mode: str, **params: object) -> list[str]:
    """What BalanceParams and BalanceRequest themselves say about these settings."""
    with pytest.raises(InputError) as caught:
        BalanceRequest(mode=mode, params=BalanceParams(weight="w", **params))  # type: ignore[arg-type]
    return [p.message for p in caught.value.problems]


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_run_rules_are_the_librarys_own_checks(
    json_flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The command adds no rule of its own: the request's messages, each named by its flag.

    A design with a move budget, a drive limit without reps and no number of
    territories: the library's three problems, in its words, all at once
    (exit 2 with or without --json); a bad drive limit is still seen as one.
    """
    expected = _library_messages("design", max_moved_accounts=5, max_drive_h=1.0)
    assert len(expected) == 3
    code = main(["balance", "design", "--workspace", "nowhere.gpkg", "--max-moved", "5",
                 "--max-drive-h", "-1", *json_flag])
    assert code == 2
    out = capsys.readouterr()
    text = out.out + out.err
    if json_flag:
        problems = json.loads(out.out)["problems"]
        messages = [p["message"] for p in problems]
        assert messages[0].startswith("--max-drive-h: max_drive_h must be a positive number")
        assert [m.split(": ", 1)[1] for m in messages[1:]] == expected
        assert [p["column"] for p in problems[1:]] == ["--max-moved", "--max-drive-h",
                                                       "--territories"]
    else:
        for message in expected:
            assert message in text
