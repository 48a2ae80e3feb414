"""The balance and compare pages, run headless with Streamlit's AppTest on the bundled samples."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.balance import units_with_workload
from planner.balance.scenario import (
    keep_territories_locks,
    save_plan_as_scenario,
    scenario_assignment,
)
from planner.errors import InputError
from planner.models import ScenarioState
from planner.samples import sample_path
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import no_errors, open_page, password_free_copy

BALANCE = "app_pages/balance.py"
COMPARE = "app_pages/compare.py"
WORKSPACE_KEY = "tp.workspace"


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Helsinki and Georgia, saved once for this module without passwords (read-only)."""
    folder = tmp_path_factory.mktemp("samples")
    return {name: password_free_copy(name, folder) for name in ("helsinki", "georgia")}


@pytest.fixture(scope="module")
def rebalanced_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Helsinki with a planning scenario that rebalances the active plan (HEL-1 kept)."""
    from planner.balance import rebalance

    ws = open_workspace(sample_path("helsinki"))
    ws.reps[s.PASSWORD_HASH] = None
    units = units_with_workload(ws.units, ws.accounts, outside="drop")
    base = scenario_assignment(ws, "2026-plan")
    plan = rebalance(
        units,
        base,
        weight="workload_h",
        tolerance=0.01,
        locked=keep_territories_locks(base, ["HEL-1"]),
    )
    save_plan_as_scenario(
        ws, plan, scenario_id="rebalanced", name="Rebalanced 2026", base_scenario_id="2026-plan"
    )
    return ws.save(tmp_path_factory.mktemp("rebalanced") / "helsinki.gpkg")


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _workspace(at: AppTest) -> Workspace:
    ws = at.session_state[WORKSPACE_KEY]
    assert isinstance(ws, Workspace)
    return ws


@pytest.mark.parametrize(
    ("sample", "units"), [("helsinki", "137 h3 units"), ("georgia", "159 county units")]
)
def test_balance_page_renders_with_a_sizing_advice(
    sample: str, units: str, sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page shows the units, how many reps the workload needs, and the form."""
    at = open_page(sample_files[sample], monkeypatch, BALANCE)
    assert at.title[0].value == "Balance territories"
    assert any(units in c.value for c in at.caption)
    assert any("reps** at 40 h/week and 85 % utilisation" in i.value for i in at.info)
    assert at.radio(key="bal.mode").value == "design"
    assert at.multiselect(key="bal.variables").value == ["workload_h"]
    assert not at.metric or "Worst deviation" not in _metrics(at)


def test_a_refused_save_says_why_once_and_saves_nothing(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save the library refuses shows its message beside the form, keeps the plan
    unsaved (the button stays) and adds no scenario; the message goes on the next run."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise InputError("the base scenario was deleted meanwhile; run the plan again")

    monkeypatch.setattr("ui.balance_result.save_balance", refuse)
    at = open_page(sample_files["helsinki"], monkeypatch, BALANCE)
    at.number_input(key="bal.k").set_value(4)
    at.button(key="bal.run").click().run()
    before = set(_workspace(at).scenarios[s.SCENARIO_ID])
    at.button(key="bal.save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "the base scenario was deleted meanwhile; run the plan again"
    ]
    assert not any("Saved as planning scenario" in x.value for x in at.success)
    assert set(_workspace(at).scenarios[s.SCENARIO_ID]) == before
    at.run()
    assert not at.error and at.button(key="bal.save") is not None


def test_design_run_shows_metrics_and_saves_a_planning_scenario(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """k=4 on Helsinki: within ±2 %, contiguous; saving adds a planning scenario."""
    at = open_page(sample_files["helsinki"], monkeypatch, BALANCE)
    at.number_input(key="bal.k").set_value(4)
    at.button(key="bal.run").click().run()
    no_errors(at)
    metrics = _metrics(at)
    assert float(metrics["Worst deviation"].rstrip("%")) <= 2.0
    assert metrics["Contiguous"] == "Yes"
    assert any("within ±2.0%" in x.value for x in at.success)
    next(t for t in at.text_input if t.label == "Scenario name").input("Even four")
    at.button(key="bal.save").click().run()
    no_errors(at)
    assert any("Saved as planning scenario **even-four**" in x.value for x in at.success)
    ws = _workspace(at)
    new = ws.scenario("even-four")
    assert new.state == ScenarioState.PLANNING and new.created_from == "2026-plan"
    assert new.parameters["k"] == 4 and new.metrics["all_contiguous"] is True
    assert len(ws.memberships("even-four")) == len(ws.accounts)
    at.run()  # the save reran only its section; the next run's sidebar offers the scenario
    assert "Even four · planning" in at.sidebar.selectbox(key="tp.widget.scenario").options


def test_drive_hours_are_offered_and_a_design_balances_them(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "Drive hours per week (estimate)" variable is offered; k=4 on it runs, explained."""
    at = open_page(sample_files["helsinki"], monkeypatch, BALANCE)
    variables = at.multiselect(key="bal.variables")
    assert "Drive hours per week (estimate)" in variables.options
    variables.set_value(["drive_h_per_week"]).run()
    no_errors(at)
    assert any("from straight-line distances" in c.value for c in at.caption)  # no roads file
    at.number_input(key="bal.k").set_value(4)
    at.slider(key="bal.tolerance").set_value(10.0)
    at.button(key="bal.run").click().run()
    no_errors(at)
    run = at.session_state["tp.balance.run"]
    assert run.plan.parameters["weight"] == "drive_h_per_week"
    assert run.plan.metrics.n_territories == 4 and run.plan.metrics.all_contiguous
    assert "Worst deviation" in _metrics(at)


def test_keeping_a_territory_leaves_its_units_in_place(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Keep Anna's territory as it is": HEL-1 keeps exactly its units in the designed plan."""
    at = open_page(sample_files["helsinki"], monkeypatch, BALANCE)
    at.multiselect(key="bal.locked").select("HEL-1")
    at.number_input(key="bal.k").set_value(4)
    at.slider(key="bal.tolerance").set_value(5.0)
    at.button(key="bal.run").click().run()
    no_errors(at)
    at.button(key="bal.save").click().run()
    ws = _workspace(at)
    saved = [
        sc
        for sc in ws.scenario_list()
        if sc.created_from == "2026-plan" and sc.parameters.get("method") == "design"
    ][-1]
    before = scenario_assignment(ws, "2026-plan")
    after = scenario_assignment(ws, saved.scenario_id)
    assert set(after.index[after == "HEL-1"]) == set(before.index[before == "HEL-1"])
    assert saved.parameters["locks"]["territories"] == ["HEL-1"]


def test_rebalance_respects_the_budget_and_draws_the_curve(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rebalancing Georgia with at most 50 accounts moved; the trade-off curve is drawn."""
    at = open_page(sample_files["georgia"], monkeypatch, BALANCE)
    at.radio(key="bal.mode").set_value("rebalance").run()
    at.number_input(key="bal.max_moved").set_value(50)
    at.button(key="bal.run").click().run()
    no_errors(at)
    moved = int(_metrics(at)["Accounts moved"].replace(",", ""))
    assert 0 < moved <= 50
    assert any("move budget" in w.value for w in at.warning)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # workload per territory, trade-off curve


def test_design_around_reps_names_territories_after_their_owners(
    sample_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Centre territories on where the reps live": one territory per rep, ids kept."""
    at = open_page(sample_files["helsinki"], monkeypatch, BALANCE)
    at.checkbox(key="bal.centre").check().run()
    assert at.multiselect(key="bal.reps").value == [
        "hel-rep-1",
        "hel-rep-2",
        "hel-rep-3",
        "hel-rep-4",
    ]
    at.slider(key="bal.tolerance").set_value(5.0)
    at.button(key="bal.run").click().run()
    no_errors(at)
    assert any("Distance from the workload to the rep's home" in c.value for c in at.caption)
    at.button(key="bal.save").click().run()
    ws = _workspace(at)
    saved = ws.scenario_list()[-1]
    assert sorted(ws.territories(saved.scenario_id)[s.TERRITORY_ID]) == [
        "HEL",
        "HEL-1",
        "HEL-2",
        "HEL-3",
        "HEL-4",
    ]
    owners = ws.associations(saved.scenario_id)
    owners = owners[owners[s.ROLE] == "owner"]
    assert dict(zip(owners[s.TERRITORY_ID], owners[s.REP_ID], strict=True)) == {
        f"HEL-{i}": f"hel-rep-{i}" for i in range(1, 5)
    }


def test_compare_page_lists_moved_units_and_accounts(
    rebalanced_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Active vs the newest planning scenario by default; the moves are listed from -> to."""
    at = open_page(rebalanced_file, monkeypatch, COMPARE)
    assert at.selectbox(key="cmp.a").value == "2026-plan"
    assert at.selectbox(key="cmp.b").value == "rebalanced"
    ws = _workspace(at)
    before = scenario_assignment(ws, "2026-plan")
    after = scenario_assignment(ws, "rebalanced")
    n_moved = int((before != after).sum())
    assert n_moved > 0
    assert any(f"{n_moved:,} units and" in c.value for c in at.caption)
    tables = [d.value for d in at.dataframe]
    moved = next(
        t
        for t in tables
        if "from_territory" in t.columns
        and s.UNIT_ID in t.columns
        and s.ACCOUNT_ID not in t.columns
    )
    assert len(moved) == n_moved
    assert "HEL-1" not in set(moved["from_territory"]) | set(moved["to_territory"])
    accounts = next(t for t in tables if s.ACCOUNT_ID in t.columns)
    assert len(accounts) > 0 and set(accounts[s.UNIT_ID]) <= set(moved[s.UNIT_ID])


def test_promote_asks_first_then_archives_the_active_scenario(
    rebalanced_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promote, cancel: nothing changes. Promote, confirm: B is active, A archived."""
    at = open_page(rebalanced_file, monkeypatch, COMPARE)
    at.button(key="cmp.promote").click().run()
    assert any("will be archived" in w.value for w in at.warning)
    at.button(key="cmp.cancel").click().run()
    ws = _workspace(at)
    assert ws.scenario("rebalanced").state == ScenarioState.PLANNING
    at.button(key="cmp.promote").click().run()
    at.button(key="cmp.confirm").click().run()
    no_errors(at)
    ws = _workspace(at)
    assert ws.scenario("rebalanced").state == ScenarioState.ACTIVE
    assert ws.scenario("2026-plan").state == ScenarioState.ARCHIVED
    assert any("is now the active scenario" in x.value for x in at.success)
    assert ws.audit.iloc[-1][s.ACTION] == "scenario.promote"


def test_a_refused_promotion_says_why_and_changes_nothing(
    rebalanced_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirm acts in its callback: a promotion the library refuses is shown on the run it
    causes, every scenario keeps its state, and the message goes on the next run."""

    def refuse(self: Workspace, scenario_id: str, **_kwargs: object) -> None:
        raise InputError(f"scenario {scenario_id} changed meanwhile; open it again")

    path = tmp_path / "helsinki.gpkg"  # a copy: other tests promote in the shared file
    shutil.copyfile(rebalanced_file, path)
    at = open_page(path, monkeypatch, COMPARE)
    states = {sc.scenario_id: sc.state for sc in _workspace(at).scenario_list()}
    b = at.selectbox(key="cmp.b").value
    monkeypatch.setattr(Workspace, "promote", refuse)
    at.button(key="cmp.promote").click().run()
    at.button(key="cmp.confirm").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"scenario {b} changed meanwhile; open it again"]
    assert {sc.scenario_id: sc.state for sc in _workspace(at).scenario_list()} == states
    at.run()
    assert not at.error


def test_compare_page_on_a_workspace_with_drawn_territories(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Territories drawn without unit rows are compared through the units they cover."""
    at = open_page(small_workspace_file, monkeypatch, COMPARE)
    assert at.selectbox(key="cmp.b").value == "draft"
    assert any("change territory" in c.value for c in at.caption)
    assert at.get("arrow_data_frame") or at.dataframe


def test_rebalance_of_drawn_territories_places_units_by_shape(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Territories drawn without unit rows are rebalanced from the units their shapes cover."""
    at = open_page(small_workspace_file, monkeypatch, BALANCE)
    at.radio(key="bal.mode").set_value("rebalance").run()
    at.slider(key="bal.tolerance").set_value(20.0)
    at.button(key="bal.run").click().run()
    no_errors(at)
    assert _metrics(at)["Contiguous"] == "Yes"
    at.button(key="bal.save").click().run()
    no_errors(at)
    assert any("Saved as planning scenario" in x.value for x in at.success)
    ws = _workspace(at)
    saved = ws.scenario_list()[-1]
    assert saved.parameters["method"] == "rebalance"
    assert len(ws.rows("unit_assignment", saved.scenario_id)) == len(ws.units)
