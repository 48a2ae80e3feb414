"""Streamlit glue of the balance and compare pages: cached inputs, the last run, promotion.

The work is the library's (:mod:`planner.services.balance_inputs`,
:mod:`planner.services.balance_runs`, :mod:`planner.services.balance_views`);
this module keeps what a session needs (inputs once per workspace version,
the last run, a pending promotion) and the Balance page's inputs and
sizing advice. The Balance page's form is
:mod:`ui.balance_controls`, its result :mod:`ui.balance_result` and its
fairness audit :mod:`ui.audit_view`. "Promote" is a fragment: using it
re-runs only it, not the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import pandas as pd
import streamlit as st

from planner import schema as s
from planner.balance import TerritoryPlan, recommend_territory_count
from planner.errors import PlannerError
from planner.models import Scenario, ScenarioState
from planner.services.balance_inputs import BalanceInputs
from planner.services.balance_inputs import balance_inputs as compute_inputs
from planner.services.balance_runs import BalanceResult, field_reps
from planner.workspace import Workspace
from planner.workspace.changed_rows import scenario_digest
from ui import auth, display, keys, routes, state
from ui.cache import by_frames, roads_file_for

__all__ = [
    "BalanceRun",
    "balance_inputs",
    "clear_promote_request",
    "flash",
    "inputs_or_stop",
    "last_run",
    "pop_flash",
    "promote_controls",
    "promote_request",
    "request_promote",
    "set_last_run",
    "show_inputs",
    "sizing_advice",
]

_RUN = keys.BAL_LAST_RUN
_PROMOTE = keys.CMP_PROMOTE_REQUEST
_FLASH = keys.CMP_FLASH


#: The tables the units' workload is measured from (and the users' homes); with a scenario,
#: also that scenario's rows of the tables its drive hours read
#: (:func:`planner.services.balance_inputs.balance_inputs`).
_INPUT_TABLES = ("accounts", "units", "reps")
_DRIVE_TABLES = ("territories", "memberships", "associations")


def balance_inputs(ws: Workspace, scenario_id: str | None = None) -> BalanceInputs:
    """Return the session workspace's units with workload, prepared once per tables read.

    With ``scenario_id`` the units also get that scenario's drive hours, on
    the road network saved beside the workspace when there is one
    (:func:`planner.services.balance_inputs.balance_inputs`). Cached by the
    frames of the tables they are computed from (:func:`ui.cache.by_frames`):
    saving another scenario or promoting one does not measure them again.

    Raises
    ------
    planner.errors.PlannerError
        If the units cannot be balanced (none, or invalid polygons).
    """
    path = routes.workspace_file(ws)  # the routes glue owns the cached road networks
    roads = roads_file_for(path)
    roads_key = None if roads is None else (str(roads), roads.stat().st_mtime_ns)
    frames = tuple(ws.tables[name] for name in _INPUT_TABLES)
    rows = "" if scenario_id is None else _rows_key(ws, scenario_id)

    def compute() -> BalanceInputs:
        network = routes.network_for(path) if scenario_id is not None else None
        return compute_inputs(ws, scenario_id, network=network)

    return by_frames(f"balance-inputs|{scenario_id}|{roads_key}|{rows}", frames, compute)


def _rows_key(ws: Workspace, scenario_id: str) -> str:
    """What the scenario's rows of the drive hours' tables hold (saving another scenario or
    promoting one leaves it as it is, and its digest is not worked out again)."""
    return "|".join(scenario_digest(ws.tables[t], scenario_id) for t in _DRIVE_TABLES)


def inputs_or_stop(ws: Workspace, scenario_id: str | None, what: str) -> BalanceInputs:
    """Return :func:`balance_inputs`, or show why the units cannot be ``what`` and stop the page."""
    try:
        return balance_inputs(ws, scenario_id)
    except PlannerError as exc:
        st.error(f"The units of this workspace cannot be {what}: {exc}")
        st.stop()
        raise  # st.stop() does not return


# --- the session's last run and pending promotion -------------------------------------------
@dataclass(eq=False)
class BalanceRun:
    """One run of the balance page, kept in the session until the next run.

    Parameters
    ----------
    workspace
        The workspace it ran on (a run of another workspace is not shown).
    base_scenario_id
        The scenario it started from.
    result
        The plan and how it was made.
    saved_as
        The scenario it was saved as, once saved.
    """

    workspace: Workspace
    base_scenario_id: str
    result: BalanceResult
    saved_as: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def plan(self) -> TerritoryPlan:
        """The run's plan."""
        return self.result.plan


def last_run(ws: Workspace, scenario_id: str) -> BalanceRun | None:
    """Return the session's last run if it was made on this workspace and scenario."""
    run = cast("BalanceRun | None", st.session_state.get(_RUN))
    if run is None or run.workspace is not ws or run.base_scenario_id != scenario_id:
        return None
    return run


def set_last_run(run: BalanceRun | None) -> None:
    """Keep ``run`` as the session's last run (``None`` forgets it)."""
    st.session_state[_RUN] = run


def request_promote(scenario_id: str | None) -> None:
    """Ask for confirmation before promoting ``scenario_id`` (``None`` withdraws the request)."""
    st.session_state[_PROMOTE] = scenario_id


def promote_request() -> str | None:
    """Return the scenario waiting for a confirmed promotion, if any."""
    value = st.session_state.get(_PROMOTE)
    return None if value is None else str(value)


def clear_promote_request() -> None:
    """Forget a pending promotion."""
    st.session_state[_PROMOTE] = None


def flash(message: str) -> None:
    """Keep a message to show once after the next rerun."""
    st.session_state[_FLASH] = message


def pop_flash() -> str | None:
    """Return the message kept by :func:`flash` (once), or ``None``."""
    value = st.session_state.pop(_FLASH, None)
    return None if value is None else str(value)


# --- the balance page ------------------------------------------------------------------------
def show_inputs(scenario: Scenario, inputs: BalanceInputs, variables: dict[str, str]) -> None:
    """Caption the scenario and its units; warn about accounts outside every unit."""
    units = inputs.units
    unit_kind = str(units[s.UNIT_TYPE].mode().iloc[0]) if len(units) else "unit"
    hours = (
        f" · {units['workload_h'].sum():,.0f} visit hours per month"
        if "workload_h" in variables
        else ""
    )
    st.caption(
        f"Scenario **{scenario.name or scenario.scenario_id}** ({scenario.state}) · "
        f"{len(units):,} {unit_kind} units · {int(units['account_count'].sum()):,} accounts" + hours
    )
    if inputs.outside:
        st.warning(
            f"{inputs.outside:,} accounts lie outside every unit and are left out of balancing."
        )


def sizing_advice(ws: Workspace, units: pd.DataFrame) -> int | None:
    """Show how many reps the visit hours need; return that count (``None`` without hours)."""
    if "workload_h" not in units.columns:
        return None
    capacities = pd.to_numeric(field_reps(ws)[s.CAPACITY_H_PER_WEEK], errors="coerce").dropna()
    with st.expander("How many reps does this workload need?", expanded=True):
        c1, c2, c3 = st.columns([1, 1, 2])
        capacity = c1.number_input(
            "Field hours per rep and week", min_value=1.0, max_value=80.0, step=1.0,
            value=float(capacities.median()) if len(capacities) else 40.0, key=keys.BAL_CAPACITY,
        )  # fmt: skip
        utilisation = c2.slider(
            "Target utilisation", 50, 100, 85, step=5, format="%d %%", key=keys.BAL_UTILISATION
        )
        sizing = recommend_territory_count(
            units.set_index(s.UNIT_ID)["workload_h"],
            capacity_h_per_week=capacity,
            target_utilisation=utilisation / 100,
            period="month",
        )
        c3.info(
            f"This workload needs **{sizing.territories} reps** at {capacity:g} h/week and "
            f"{utilisation} % utilisation: {sizing.workload_h_per_week:,.1f} h of visits a week, "
            f"{sizing.utilisation:.0%} of each rep's time."
        )
        options = sizing.options.rename(
            columns={"territories": "Reps", "utilisation": "Utilisation",
                     "spare_h_per_week": "Spare h/week"}
        )  # fmt: skip
        display.show_table(
            options, hide_index=True, width="stretch",
            column_config={
                "Utilisation": st.column_config.NumberColumn(format="percent"),
                "Spare h/week": st.column_config.NumberColumn(format="%.1f"),
            },
        )  # fmt: skip
        if sizing.oversized_units:
            big = ", ".join(f"{u} ({h:.1f} h)" for u, h in sizing.oversized_units[:5])
            st.warning(
                f"Units busier than one rep can cover: {big}. Split them into smaller units."
            )
    return sizing.territories


# --- the compare page ------------------------------------------------------------------------
def promote_controls(ws: Workspace, by_id: dict[str, Scenario], b: str, active: str) -> None:
    """Promote scenario ``b`` after a confirmation; the active one is archived.

    Each button acts in its callback, before the one run of the page it
    causes: "Confirm" promotes and chooses the scenario there, so that run
    draws the sidebar and the page with the new active scenario at once.
    """
    st.subheader("Promote")
    candidate = by_id[b]
    label = candidate.name or b
    if candidate.state == ScenarioState.ACTIVE:
        st.info(f"**{label}** is the active scenario.")
        return
    if candidate.state == ScenarioState.ARCHIVED:
        st.info(
            f"**{label}** is archived and cannot become active again: copy it "
            "first (balance it, or copy it on the data page)."
        )
        return
    if error := st.session_state.pop(keys.CMP_PROMOTE_ERROR, None):
        st.error(error)
    if promote_request() != b:
        st.button(
            f"Promote “{label}” to active",
            key=keys.CMP_PROMOTE,
            on_click=request_promote,
            args=(b,),
        )
        return
    current = by_id.get(active)
    outgoing = (
        f"**{current.name or current.scenario_id}** will be archived."
        if current is not None and current.state == ScenarioState.ACTIVE
        else "No scenario is active now."
    )
    st.warning(
        f"Make **{label}** the active plan? {outgoing} "
        "Archived scenarios stay readable but cannot be promoted again."
    )
    yes, no, _ = st.columns([1, 1, 8])
    no.button("Cancel", key=keys.CMP_CANCEL, on_click=clear_promote_request)
    yes.button(
        "Confirm", type="primary", key=keys.CMP_CONFIRM, on_click=_promote,
        args=(ws, b, label, current),
    )  # fmt: skip


def _promote(ws: Workspace, b: str, label: str, current: Scenario | None) -> None:
    """Promote ``b`` and choose it (the confirm's callback); a refusal is shown on the run."""
    user = auth.current_user()
    try:
        ws.promote(b, user=None if user is None else user.user_id)
    except PlannerError as exc:
        st.session_state[keys.CMP_PROMOTE_ERROR] = str(exc)
        return
    clear_promote_request()
    state.mark_changed(f"promote scenario {b}")
    state.set_scenario_id(b)
    archived = (
        f"; **{current.name or current.scenario_id}** is archived."
        if current is not None and current.scenario_id != b
        else "."
    )
    flash(f"**{label}** is now the active scenario{archived}")
