"""The Balance page's rules, run headless with AppTest: each reaches the plan, each is checked.

Workload bounds, targets by the reps' capacities, compactness, the longest
drive from the rep's home, kept territories and kept units; the library's
validation messages appear under the field they concern and keep "Run"
disabled; the trade-off curve is traced under the plan's own settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from planner.balance.scenario import scenario_assignment
from planner.services.balance_charts import tradeoff_frontier
from planner.services.balance_inputs import balance_inputs
from planner.workspace import open_workspace
from tests.app.conftest import no_errors, open_page

BALANCE = "app_pages/balance.py"
RUN_KEY = "tp.balance.run"

pytestmark = pytest.mark.slow  # each test runs the app and a balance (10-30 s)


def _run(at: AppTest) -> object:
    at.button(key="bal.run").click().run()
    no_errors(at)
    return at.session_state[RUN_KEY]


def test_min_above_max_is_shown_under_the_bounds_and_blocks_run(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's message names both bounds and the fix; "Run" waits until it is fixed."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.number_input(key="bal.min_workload").set_value(200.0).run()
    at.number_input(key="bal.max_workload").set_value(100.0).run()
    errors = [e.value for e in at.error]
    assert any("Min_workload 200" in e and "above max_workload 100" in e for e in errors), errors
    assert any("Swap them or widen the range" in e for e in errors)
    assert at.button(key="bal.run").disabled
    at.number_input(key="bal.max_workload").set_value(None).run()
    no_errors(at)
    assert not at.button(key="bal.run").disabled


def test_bounds_on_several_variables_are_refused_by_name(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounds are in the units of one variable: with two, the page says so and waits."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.multiselect(key="bal.variables").set_value(["workload_h", "account_count"]).run()
    at.number_input(key="bal.max_workload").set_value(100.0).run()
    assert any("need a single weight column" in e.value for e in at.error)
    assert at.button(key="bal.run").disabled


def test_a_maximum_workload_caps_every_territory(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """k=4 at ±10 % with a maximum 3 % above the mean target: no territory exceeds it."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.number_input(key="bal.k").set_value(4).run()
    at.slider(key="bal.tolerance").set_value(10.0).run()
    units = balance_inputs(open_workspace(helsinki_file), "2026-plan").units  # as the page
    cap = float(units["workload_h"].sum()) / 4 * 1.03
    at.number_input(key="bal.max_workload").set_value(round(cap, 1)).run()
    run = _run(at)
    plan = run.plan  # type: ignore[attr-defined]
    assert plan.parameters["max_workload"] == pytest.approx(round(cap, 1))
    assert float(plan.metrics.territories["workload"].max()) <= round(cap, 1) + 1e-6
    assert plan.parameters["tolerance"] <= 0.031  # the bound tightened the ±10 %


def test_targets_follow_the_reps_capacities_unless_unticked(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Around the reps, a 32 h rep's target is 32/40 of a 40 h rep's; unticked, all equal."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.checkbox(key="bal.centre").check().run()
    assert any("share of the workload" in c.value and "32 h" in c.value for c in at.caption)
    at.slider(key="bal.tolerance").set_value(5.0).run()
    targets = _run(at).plan.targets  # type: ignore[attr-defined]
    assert targets["HEL-4"] / targets["HEL-1"] == pytest.approx(32 / 40, rel=1e-6)
    at.checkbox(key="bal.by_capacity").uncheck().run()
    targets = _run(at).plan.targets  # type: ignore[attr-defined]
    assert targets["HEL-4"] == pytest.approx(targets["HEL-1"], rel=1e-6)


def test_compactness_setting_reaches_the_design(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off skips the compactness search; Strong runs it and is at least as compact."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.number_input(key="bal.k").set_value(4).run()
    at.select_slider(key="bal.compactness").set_value(0).run()
    off = _run(at)
    at.select_slider(key="bal.compactness").set_value(12).run()
    strong = _run(at)
    assert off.result.request.params.compactness_sweeps == 0  # type: ignore[attr-defined]
    assert strong.result.request.params.compactness_sweeps == 12  # type: ignore[attr-defined]
    pp_off = off.plan.metrics.polsby_popper_mean  # type: ignore[attr-defined]
    assert strong.plan.metrics.polsby_popper_mean >= pp_off - 1e-9  # type: ignore[attr-defined]


def test_kept_units_stay_in_their_territory_in_a_design(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units kept from two territories keep those territories in the designed plan."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    ws = at.session_state["tp.workspace"]
    base = scenario_assignment(ws, "2026-plan")
    kept = [*base.index[base == "HEL-4"][:3], *base.index[base == "HEL-1"][:3]]
    picker = at.multiselect(key="bal.locked_units")
    assert set(kept) <= set(picker.options) or all(
        any(u in o for o in picker.options) for u in kept
    )
    picker.set_value(kept).run()
    at.number_input(key="bal.k").set_value(4).run()
    at.slider(key="bal.tolerance").set_value(5.0).run()
    plan = _run(at).plan  # type: ignore[attr-defined]
    assert {u: plan.assignment[u] for u in kept} == {u: base[u] for u in kept}
    assert set(plan.parameters["locks"]["units"]) == set(kept)


def test_rebalance_keeps_locked_units_and_the_curve_shares_its_settings(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units the free rebalance moves, once kept, stay; the curve's no-limit plan is the plan.

    The curve is traced under the same tolerance and locks as the plan, so
    the plan shown is its no-limit point and lies on its frontier.
    """
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.radio(key="bal.mode").set_value("rebalance").run()
    at.slider(key="bal.tolerance").set_value(1.0).run()
    free = _run(at).plan  # type: ignore[attr-defined]
    base = scenario_assignment(at.session_state["tp.workspace"], "2026-plan")
    moved = [str(u) for u in base.index if free.assignment[u] != base[u]]
    assert moved
    at.multiselect(key="bal.locked_units").set_value(moved[:3]).run()
    run = _run(at)
    plan = run.plan  # type: ignore[attr-defined]
    assert all(plan.assignment[u] == base[u] for u in moved[:3])
    curve = run.result.curve  # type: ignore[attr-defined]
    no_limit = curve.points[~np.isfinite(curve.points["budget_accounts"])].iloc[0]
    d = plan.metrics.disruption
    assert no_limit["moved_accounts"] == pytest.approx(d.moved_accounts)
    assert no_limit["max_abs_deviation"] == pytest.approx(plan.metrics.max_abs_deviation)
    data, frontier = tradeoff_frontier(
        curve, chosen=(float(d.moved_accounts), plan.metrics.max_abs_deviation)
    )
    assert (data["kind"] == "shown").sum() == 1
    # step-after: the frontier at the plan's moves is its last corner moving no more
    at_plan = frontier[frontier["moved_accounts"] <= d.moved_accounts + 1e-9].iloc[-1]
    assert at_plan["max_abs_deviation"] <= plan.metrics.max_abs_deviation + 1e-12
    assert any("the plan shown" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 2  # workload per territory, trade-off curve


def test_a_hard_drive_limit_reaches_the_rebalance(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The longest drive is offered for a rebalance and recorded on the plan; a design by k
    explains that drive time is measured from the reps' homes."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    assert any("centre the territories on the reps" in c.value for c in at.caption)
    at.radio(key="bal.mode").set_value("rebalance").run()
    at.slider(key="bal.tolerance").set_value(5.0).run()
    at.number_input(key="bal.max_drive_h").set_value(2.0).run()
    assert at.radio(key="bal.drive_limit").value == "hard"
    at.checkbox(key="bal.curve").uncheck().run()
    plan = _run(at).plan  # type: ignore[attr-defined]
    drive = plan.parameters["drive"]
    assert (drive["max_drive_h"], drive["drive_limit"]) == (2.0, "hard")
    assert drive["met"] and drive["units_beyond"] == 0
    assert float(plan.metrics.territories["drive_max_h"].max()) <= 2.0 + 1e-9
    assert any("limit 2 h (never beyond): met" in c.value for c in at.caption)


def test_a_rebalance_can_follow_the_owners_capacities(
    helsinki_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ticked, HEL-4 (its owner works 32 h, the others 40 h) gets the smaller target."""
    at = open_page(helsinki_file, monkeypatch, BALANCE)
    at.radio(key="bal.mode").set_value("rebalance").run()
    at.slider(key="bal.tolerance").set_value(5.0).run()
    at.checkbox(key="bal.curve").uncheck().run()
    at.checkbox(key="bal.rebalance_capacity").check().run()
    plan = _run(at).plan  # type: ignore[attr-defined]
    table = plan.metrics.territories.set_index("territory_id")
    assert table.loc["HEL-4", "target"] < table.loc["HEL-1", "target"]
    assert table.loc["HEL-4", "target"] / table["target"].sum() == pytest.approx(32 / 152)
