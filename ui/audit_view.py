"""The Balance page's fairness audit: the plan among sampled plans valid under the same rules.

The planner picks the plan (the one just made, or the scenario as it is)
and the ensemble size, runs the audit with a progress bar, and sees one
histogram per measure with the plan marked and its rank, a verdict, and
the report to download (HTML or CSV). The section is a fragment: running
the audit re-runs only it.
"""

from __future__ import annotations

from typing import cast

import pandas as pd
import streamlit as st

from planner.balance import TerritoryPlan
from planner.balance.audit import AuditResult
from planner.balance.scenario import recorded_weight, scenario_assignment
from planner.balance.workload import BalanceWeight
from planner.errors import PlannerError
from planner.services.balance_audit import (
    audit_chart,
    audit_report_bytes,
    audit_table,
    audit_verdict,
    audit_workspace_plan,
    default_ensemble_size,
    shown_metrics,
)
from planner.services.balance_inputs import BalanceInputs
from planner.workspace import Workspace
from ui import display, keys, state
from ui.progress import ProgressBar
from ui.scenarios import BalanceRun

__all__ = ["audit_section"]

_THE_RUN = "run"
_THE_SCENARIO = "scenario"


@st.fragment
def audit_section(
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    variables: dict[str, str],
    run: BalanceRun | None,
) -> None:
    """Ask which plan to audit and how many plans to sample; run; show where the plan sits."""
    st.subheader("Fairness audit")
    st.caption(
        "Is this plan fair, or an outlier? The audit draws many other plans that keep the "
        "plan's own rules (every territory contiguous and within its tolerance of its target, "
        "the workload bounds, kept units and territories, a hard drive limit) with a ReCom "
        "chain, the method of redistricting practice, and shows where this plan sits on each "
        "measure."
    )
    if run is None and ws.territories(scenario_id).empty:
        st.info("This scenario has no territories yet: design a plan above, then audit it.")
        return
    which = _which_plan(ws.scenario(scenario_id).name or scenario_id, run)
    plan, weight = _plan_and_weight(ws, scenario_id, variables, run, which)
    c1, c2, _ = st.columns([1, 1, 2])
    n_plans = c1.number_input(
        "Plans to sample", min_value=10, max_value=5_000, step=100,
        value=default_ensemble_size(len(inputs.units)), key=keys.BAL_AUDIT_PLANS,
        help="1,000 on maps up to 1,000 units, fewer on larger maps (each plan takes longer).",
    )  # fmt: skip
    seed = c2.number_input("Seed", min_value=0, value=0, step=1, key=keys.BAL_AUDIT_SEED)
    key = (id(ws), scenario_id, which, id(run) if which == _THE_RUN else state.workspace_version())
    if st.button("Run the audit", key=keys.BAL_AUDIT_RUN):
        before = _baseline(ws, scenario_id, plan)
        _run(key, inputs, plan, weight, int(n_plans), int(seed), before, run)
    kept = st.session_state.get(keys.BAL_AUDIT)
    if kept is not None and kept[0] == key:
        _show(cast("AuditResult", kept[1]))


def _which_plan(scenario_name: str, run: BalanceRun | None) -> str:
    """The plan to audit: the one just made (when there is one) or the scenario as it is."""
    if run is None:
        st.caption(
            f"Audits scenario **{scenario_name}** as it is (balance it to audit a new plan)."
        )
        return _THE_SCENARIO
    options = {
        _THE_RUN: "The plan above" + (" (saved)" if run.saved_as else " (not saved yet)"),
        _THE_SCENARIO: f"Scenario {scenario_name} as it is",
    }
    choice = st.radio(
        "Plan to audit", list(options), format_func=options.__getitem__, horizontal=True,
        key=keys.BAL_AUDIT_WHICH,
    )  # fmt: skip
    return str(choice)


def _plan_and_weight(
    ws: Workspace,
    scenario_id: str,
    variables: dict[str, str],
    run: BalanceRun | None,
    which: str,
) -> tuple[TerritoryPlan | pd.Series, BalanceWeight]:
    """The plan or assignment to audit, and the workload it balances."""
    if which == _THE_RUN and run is not None:
        weight = run.plan.parameters.get("weight")
        if isinstance(weight, str | dict) and weight:
            return run.plan, cast("BalanceWeight", weight)
        return run.plan, next(iter(variables))
    recorded = recorded_weight(ws, scenario_id)
    default = recorded if isinstance(recorded, str) and recorded in variables else None
    name = st.columns([1, 1])[0].selectbox(
        "Workload the scenario balances", list(variables), format_func=variables.__getitem__,
        index=list(variables).index(default) if default else 0, key=keys.BAL_AUDIT_WEIGHT,
    )  # fmt: skip
    return scenario_assignment(ws, scenario_id), str(name)


def _baseline(ws: Workspace, scenario_id: str, plan: TerritoryPlan | pd.Series) -> pd.Series | None:
    """The scenario's units before a new plan with the same territories (moves then count)."""
    if not isinstance(plan, TerritoryPlan):
        return None  # the scenario as it is moves nothing from itself
    try:
        before = scenario_assignment(ws, scenario_id)
    except PlannerError:
        return None
    if set(before.astype(str)) != set(plan.assignment.astype(str)):
        return None  # a new design: its territories are not the scenario's
    return before


def _run(
    key: tuple[object, ...],
    inputs: BalanceInputs,
    plan: TerritoryPlan | pd.Series,
    weight: BalanceWeight,
    n_plans: int,
    seed: int,
    baseline: pd.Series | None,
    run: BalanceRun | None,
) -> None:
    """Sample the ensemble with a progress bar; keep the result (or show why it failed).

    A plan made on the page is audited under its run's rules and reps (their
    capacities, homes for a hard drive limit).
    """
    bar = ProgressBar(f"Sampling {n_plans:,} plans…")
    request = run.result.request if run is not None and isinstance(plan, TerritoryPlan) else None
    try:
        result = audit_workspace_plan(
            inputs, plan, weight=weight, n_plans=n_plans, seed=seed, progress=bar,
            baseline=baseline,
            params=request.params if request is not None else None,
            reps=request.reps if request is not None else None,
        )  # fmt: skip
    except PlannerError as exc:
        st.error(str(exc))
        return
    finally:
        bar.clear()
    st.session_state[keys.BAL_AUDIT] = (key, result)


def _show(result: AuditResult) -> None:
    """The verdict, one histogram per measure with the plan marked, the table and the report."""
    typical, sentence = audit_verdict(result)
    (st.success if typical else st.warning)(sentence)
    st.caption(
        f"{len(result.ensemble):,} plans sampled in {result.runtime_s:.1f} s, seed "
        f"{result.seed}. The red line is this plan; “beats or ties 76 %” means 76 % of the "
        "sampled plans do no better on that measure."
    )
    rules = result.rules_text()
    if rules:
        st.markdown("Every sampled plan keeps these rules:\n" + "\n".join(f"- {r}" for r in rules))
    metrics = shown_metrics(result)
    for start in range(0, len(metrics), 2):
        cols = st.columns(2)
        for col, metric in zip(cols, metrics[start : start + 2], strict=False):
            col.altair_chart(audit_chart(result, metric), width="stretch")
    display.show_table(
        audit_table(result), hide_index=True, width="stretch",
        column_config={
            "beats or ties": st.column_config.NumberColumn(format="percent"),
        },
    )  # fmt: skip
    left, right, _ = st.columns([1, 1, 3])
    left.download_button(
        "Download the report (HTML)", audit_report_bytes(result, "html"),
        file_name="fairness_audit.html", mime="text/html", key=keys.BAL_AUDIT_HTML,
    )  # fmt: skip
    right.download_button(
        "Download the ensemble (CSV)", audit_report_bytes(result, "csv"),
        file_name="fairness_audit.csv", mime="text/csv", key=keys.BAL_AUDIT_CSV,
    )  # fmt: skip
