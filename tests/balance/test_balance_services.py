"""The balance workflow the page and the CLI share: inputs, variables, request, run, save, views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.balance import BalanceParams
from planner.balance.scenario import scenario_assignment
from planner.errors import InputError
from planner.models import ScenarioState
from planner.samples import sample_path
from planner.services.balance_inputs import (
    DRIVE_H_PER_WEEK,
    DRIVE_LABEL,
    balance_inputs,
    owner_labels,
    plan_table,
    territory_labels,
    variable_options,
)
from planner.services.balance_runs import (
    BalanceRequest,
    default_scenario_name,
    field_reps,
    run_balance,
    save_balance,
)
from planner.services.balance_views import metrics_side_by_side, scenarios_table
from planner.workspace import Workspace, open_workspace

BASE = "2026-plan"


@pytest.fixture(scope="module")
def helsinki_inputs():
    """The Helsinki sample and its balance inputs with drive hours (read once, not changed)."""
    ws = open_workspace(sample_path("helsinki"))
    return ws, balance_inputs(ws, BASE)


@pytest.fixture
def helsinki() -> Workspace:
    """A fresh in-memory Helsinki sample, for tests that save."""
    return open_workspace(sample_path("helsinki"))


def test_inputs_count_every_account_and_estimate_drive_hours(helsinki_inputs) -> None:
    """Units carry accounts, visit hours, revenue and drive hours; the note says how."""
    ws, inputs = helsinki_inputs
    units = inputs.units
    assert int(units["account_count"].sum()) + inputs.outside == len(ws.accounts)
    assert float(units[DRIVE_H_PER_WEEK].sum()) > 0
    assert inputs.drive_note is not None and "straight-line" in inputs.drive_note
    assert inputs.drive_error is None
    assert inputs.prepared.n == len(units)
    options = variable_options(units)
    assert list(options)[:4] == ["workload_h", "annual_revenue", "account_count",
                                 DRIVE_H_PER_WEEK]
    assert options[DRIVE_H_PER_WEEK] == DRIVE_LABEL


def test_inputs_without_a_scenario_have_no_drive_hours(helsinki) -> None:
    """No scenario, no drive hours: nothing to say about them."""
    inputs = balance_inputs(helsinki)
    assert DRIVE_H_PER_WEEK not in inputs.units.columns
    assert inputs.drive_note is None and inputs.drive_error is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-5, 50), st.just(float("nan"))), min_size=2, max_size=8))
def test_a_unit_column_is_offered_only_if_it_can_be_balanced(values: list[float]) -> None:
    """Offered exactly when every value is there, none is negative and they are not all equal."""
    units = pd.DataFrame({s.UNIT_ID: [f"u{i}" for i in range(len(values))],
                          "account_count": 1, "score": values})
    series = pd.Series(values)
    expected = (series.notna().all() and (series >= 0).all() and series.sum() > 0
                and series.nunique() >= 2)
    assert ("score" in variable_options(units)) == bool(expected)
    assert s.UNIT_ID not in variable_options(units)


def test_labels_name_territories_and_owners(helsinki_inputs) -> None:
    """Territory labels fall back to the id; owner labels add the owner's name."""
    ws, _ = helsinki_inputs
    labels = territory_labels(ws, BASE, ["HEL-1", "nowhere"])
    assert labels["nowhere"] == "nowhere" and labels["HEL-1"] != "HEL-1"
    owners = owner_labels(ws, BASE)
    assert owners["HEL-1"].startswith(labels["HEL-1"] + " (")


def test_the_request_lists_every_misfit_at_once() -> None:
    """A design with a move budget and a curve, and no k or reps: three problems, one error."""
    params = BalanceParams(weight="workload_h", max_moved_accounts=5)
    with pytest.raises(InputError, match="the balance request is invalid") as caught:
        BalanceRequest(mode="design", params=params, curve=True)
    assert [p.column for p in caught.value.problems] == ["max_moved", "curve", "k"]
    with pytest.raises(InputError, match="keeps the scenario's territories"):
        BalanceRequest(mode="rebalance", params=BalanceParams(weight="w", k=3))


def test_keeping_an_unknown_territory_is_refused(helsinki_inputs) -> None:
    """--keep / "Keep these territories" must name leaves of the scenario."""
    ws, inputs = helsinki_inputs
    request = BalanceRequest(mode="rebalance", params=BalanceParams(weight="workload_h"),
                             keep=("HEL-9",))
    with pytest.raises(InputError, match="HEL-9"):
        run_balance(ws, BASE, inputs, request)


@pytest.mark.slow
def test_a_design_is_named_after_the_scenario_and_saved(helsinki, helsinki_inputs) -> None:
    """k=4: the territories take the ids of the scenario's; saving adds a planning scenario."""
    _, inputs = helsinki_inputs
    request = BalanceRequest(mode="design",
                             params=BalanceParams(weight="workload_h", k=4, tolerance=0.05),
                             keep=("HEL-1",))
    result = run_balance(helsinki, BASE, inputs, request)
    assert result.tolerance_met and result.missed is None
    assert set(result.plan.territories) == {"HEL-1", "HEL-2", "HEL-3", "HEL-4"}
    before = scenario_assignment(helsinki, BASE)
    after = result.plan.assignment.astype(str)
    assert set(after.index[after == "HEL-1"]) == set(before.index[before == "HEL-1"])
    assert default_scenario_name(result, helsinki.scenario(BASE)) == "Designed: 4 territories"
    table = plan_table(result.plan, inputs.units, {}, 0.05)
    assert table["accounts"].sum() == inputs.units["account_count"].sum()
    assert table["within"].all()
    saved = save_balance(helsinki, result, base_scenario_id=BASE)
    assert saved.scenario_id == "designed-4-territories"
    assert saved.state == ScenarioState.PLANNING and saved.created_from == BASE
    assert saved.description.startswith("Design from scratch of ")


@pytest.mark.slow
def test_a_rebalance_under_a_budget_says_what_binds(helsinki_inputs) -> None:
    """Tolerance 0 with 10 accounts to move: missed, the budget binds, the curve is traced."""
    ws, inputs = helsinki_inputs
    params = BalanceParams(weight="workload_h", tolerance=0.0, max_moved_accounts=10)
    result = run_balance(ws, BASE, inputs,
                         BalanceRequest(mode="rebalance", params=params, curve=True))
    assert not result.tolerance_met
    assert result.missed is not None and "the move budget binds" in result.missed
    assert result.plan.metrics.disruption is not None
    assert result.plan.metrics.disruption.moved_accounts <= 10
    assert result.curve is not None and len(result.curve.points) > 0


def test_compare_views_read_as_text(helsinki_inputs) -> None:
    """Shares as percentages, flags as yes/no, missing as a dash; one row per scenario."""
    ws, _ = helsinki_inputs
    metrics = pd.DataFrame({"a": [0.0123, True, 12.0, np.nan], "b": [0.02, False, 3.5, 7]},
                           index=["max_abs_deviation", "all_contiguous", "moved_units",
                                  "dispersion_mean_km"])
    rows = metrics_side_by_side(metrics).set_index("metric")
    assert rows.loc["Worst deviation from target"].tolist() == ["1.2%", "2.0%"]
    assert rows.loc["All territories contiguous"].tolist() == ["yes", "no"]
    assert rows.loc["Units moved"].tolist() == ["12", "3.500"]
    assert rows.loc["Dispersion (km)"].tolist() == ["–", "7"]
    table = scenarios_table(ws.scenario_list())
    assert list(table["id"]) == [sc.scenario_id for sc in ws.scenario_list()]


@pytest.mark.slow
def test_a_rebalance_follows_the_owners_capacities(helsinki_inputs) -> None:
    """hel-rep-4 works 32 h, the others 40 h: HEL-4's target is 32/152 of the workload."""
    ws, inputs = helsinki_inputs
    reps = field_reps(ws)
    params = BalanceParams(weight="workload_h", tolerance=0.05)
    result = run_balance(ws, BASE, inputs,
                         BalanceRequest(mode="rebalance", params=params, reps=reps, curve=True))
    load = inputs.units.groupby(result.plan.assignment.reindex(
        inputs.units[s.UNIT_ID].astype(str)).to_numpy())["workload_h"].sum()
    share = load / load.sum()
    assert share["HEL-4"] == pytest.approx(32 / 152, rel=0.06)
    assert share["HEL-1"] == pytest.approx(40 / 152, rel=0.06)
    assert result.curve is not None  # traced with the same targets
    lacking = reps[reps[s.REP_ID] != "hel-rep-4"]
    with pytest.raises(InputError, match="HEL-4"):
        run_balance(ws, BASE, inputs,
                    BalanceRequest(mode="rebalance", params=params, reps=lacking))
