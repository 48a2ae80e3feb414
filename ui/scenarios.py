"""Streamlit glue of the balance and compare pages: cached inputs, the last run, page sections.

The work is the library's (:mod:`planner.services.balance_inputs`,
:mod:`planner.services.balance_runs`, :mod:`planner.services.balance_views`);
this module keeps what a session needs (inputs once per workspace version,
the last run, a pending promotion) and draws the sections of the pages. The
plan form, "Save as scenario" and "Promote" are fragments: using them
re-runs only them, not the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import pandas as pd
import streamlit as st

from planner import schema as s
from planner.balance import BalanceParams, TerritoryPlan, recommend_territory_count
from planner.balance.scenario import territory_owners
from planner.errors import PlannerError
from planner.hierarchy import leaves
from planner.models import Scenario, ScenarioState
from planner.services.balance_inputs import (
    DRIVE_H_PER_WEEK,
    BalanceInputs,
    owner_labels,
    plan_table,
    territory_labels,
)
from planner.services.balance_inputs import balance_inputs as compute_inputs
from planner.services.balance_runs import (
    DESIGN,
    MODES,
    REBALANCE,
    SAVE_LABEL,
    BalanceRequest,
    BalanceResult,
    default_scenario_name,
    field_reps,
    run_balance,
    save_balance,
)
from planner.services.balance_views import plan_map, tradeoff_chart, workload_chart
from planner.workspace import Workspace
from ui import auth, maps, routes, state
from ui.cache import roads_file_for
from ui.progress import ProgressBar

__all__ = [
    "BalanceRun",
    "balance_inputs",
    "clear_promote_request",
    "flash",
    "inputs_or_stop",
    "last_run",
    "plan_form",
    "pop_flash",
    "promote_controls",
    "promote_request",
    "request_promote",
    "save_controls",
    "set_last_run",
    "show_inputs",
    "show_result",
    "sizing_advice",
]

_INPUTS = "tp.balance.inputs"
_RUN = "tp.balance.run"
_PROMOTE = "tp.compare.promote"
_FLASH = "tp.compare.flash"


def balance_inputs(ws: Workspace, scenario_id: str | None = None) -> BalanceInputs:
    """Return the session workspace's units with workload, prepared once per workspace version.

    With ``scenario_id`` the units also get that scenario's drive hours, on
    the road network saved beside the workspace when there is one
    (:func:`planner.services.balance_inputs.balance_inputs`).

    Raises
    ------
    planner.errors.PlannerError
        If the units cannot be balanced (none, or invalid polygons).
    """
    path = routes.workspace_file(ws)  # the routes glue owns the cached road networks
    roads = roads_file_for(path)
    roads_key = None if roads is None else (str(roads), roads.stat().st_mtime_ns)
    version = (id(ws), state.workspace_version(), roads_key)
    cached = st.session_state.get(_INPUTS)
    store: dict[str | None, BalanceInputs] = (
        cached[1] if cached is not None and cached[0] == version else {}
    )
    if scenario_id not in store:  # one entry per scenario (and one without drive hours)
        network = routes.network_for(path) if scenario_id is not None else None
        store[scenario_id] = compute_inputs(ws, scenario_id, network=network)
        st.session_state[_INPUTS] = (version, store)
    return store[scenario_id]


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
            "Field hours per rep and week",
            min_value=1.0,
            max_value=80.0,
            step=1.0,
            value=float(capacities.median()) if len(capacities) else 40.0,
            key="bal.capacity",
        )
        utilisation = c2.slider(
            "Target utilisation", 50, 100, 85, step=5, format="%d %%", key="bal.utilisation"
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
            columns={
                "territories": "Reps",
                "utilisation": "Utilisation",
                "spare_h_per_week": "Spare h/week",
            }
        )
        st.dataframe(
            options,
            hide_index=True,
            width="stretch",
            column_config={
                "Utilisation": st.column_config.NumberColumn(format="percent"),
                "Spare h/week": st.column_config.NumberColumn(format="%.1f"),
            },
        )
        if sizing.oversized_units:
            big = ", ".join(f"{u} ({h:.1f} h)" for u, h in sizing.oversized_units[:5])
            st.warning(
                f"Units busier than one rep can cover: {big}. Split them into smaller units."
            )
    return sizing.territories


@st.fragment
def plan_form(
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    variables: dict[str, str],
    recommended: int | None,
) -> None:
    """Ask what to balance and how; "Run" balances and shows the result (a fragment)."""
    base_terr = ws.territories(scenario_id)
    leaf_ids = [str(t) for t in leaves(base_terr)] if len(base_terr) else []
    st.subheader("What to balance")
    mode = st.radio(
        "Mode",
        list(MODES),
        format_func=MODES.__getitem__,
        horizontal=True,
        key="bal.mode",
        label_visibility="collapsed",
    )
    if mode == REBALANCE and not leaf_ids:
        st.info("This scenario has no territories yet: design them from scratch first.")
    left, right = st.columns(2)
    chosen, weights = _variables(left, inputs, variables)
    tolerance_pct = left.slider(
        "Tolerance (± % of target)", 0.5, 20.0, 2.0, step=0.5, key="bal.tolerance"
    )
    labels = owner_labels(ws, scenario_id)
    locked = left.multiselect(
        "Keep these territories as they are",
        leaf_ids,
        format_func=lambda t: labels.get(t, t),
        key="bal.locked",
        help="Their units stay put and nothing joins them.",
    )
    seed = left.number_input(
        "Seed", min_value=0, value=0, step=1, key="bal.seed",
        help="Same inputs and seed give the same plan.",
    )  # fmt: skip
    if mode == DESIGN:
        options = _design_options(right, ws, scenario_id, len(inputs.units), leaf_ids, recommended)
    else:
        options = _rebalance_options(right)
    disabled = not chosen or (mode == REBALANCE and not leaf_ids)
    if st.button("Run", type="primary", key="bal.run", disabled=disabled):
        bar = ProgressBar("Designing territories…" if mode == DESIGN else "Rebalancing…")
        try:
            request = BalanceRequest(
                mode=DESIGN if mode == DESIGN else REBALANCE,
                params=BalanceParams(
                    weight=chosen[0] if len(chosen) == 1 else weights,
                    tolerance=tolerance_pct / 100,
                    seed=int(seed),
                    k=cast("int | None", options.get("k")),
                    max_moved_accounts=cast("int | None", options.get("max_moved_accounts")),
                ),
                keep=tuple(locked),
                reps=cast("gpd.GeoDataFrame | None", options.get("reps")),
                curve=bool(options.get("curve", False)),
            )
            result = run_balance(ws, scenario_id, inputs, request, progress=bar)
        except PlannerError as exc:
            bar.clear()
            st.error(str(exc))
        else:
            bar.clear()
            set_last_run(BalanceRun(ws, scenario_id, result))
            st.rerun()  # the page draws the result, below the form


def _variables(
    left: st.delta_generator.DeltaGenerator, inputs: BalanceInputs, variables: dict[str, str]
) -> tuple[list[str], dict[str, float]]:
    """The variables to balance, and their weights when several are chosen."""
    chosen = left.multiselect(
        "Balance",
        list(variables),
        default=[next(iter(variables))],
        format_func=variables.__getitem__,
        key="bal.variables",
        help="Several variables are balanced together, each by its weight.",
    )
    if DRIVE_H_PER_WEEK in chosen and inputs.drive_note:
        left.caption(inputs.drive_note)
    if inputs.drive_error:
        left.caption(inputs.drive_error)  # why drive hours are not offered
    weights: dict[str, float] = {}
    if len(chosen) > 1:
        for col, name in zip(left.columns(len(chosen)), chosen, strict=True):
            weights[name] = col.number_input(
                f"Weight of {variables[name]}",
                min_value=0.1,
                max_value=10.0,
                value=1.0,
                step=0.1,
                key=f"bal.w.{name}",
            )
    return chosen, weights


def _design_options(
    right: st.delta_generator.DeltaGenerator,
    ws: Workspace,
    scenario_id: str,
    n_units: int,
    leaf_ids: list[str],
    recommended: int | None,
) -> dict[str, object]:
    """How many territories, or which reps to centre them on."""
    centre = right.checkbox(
        "Centre territories on where the reps live",
        key="bal.centre",
        help="One territory per rep, around the rep's home; targets follow each rep's capacity.",
    )
    if centre:
        staff = field_reps(ws)
        homes = staff[staff.geometry.notna() & ~staff.geometry.is_empty]
        owners = set(territory_owners(ws, scenario_id).values())
        default_reps = [r for r in homes[s.REP_ID].astype(str) if r in owners]
        rep_names = dict(zip(homes[s.REP_ID].astype(str), homes[s.NAME].astype(str), strict=True))
        picked = right.multiselect(
            "Reps",
            list(rep_names),
            default=default_reps or None,
            format_func=lambda r: rep_names.get(r, r),
            key="bal.reps",
        )
        reps = homes[homes[s.REP_ID].astype(str).isin(picked)]
        right.caption(f"{len(reps)} territories, one per rep.")
        return {"reps": reps}
    default_k = recommended or len(leaf_ids) or 4
    k = right.number_input(
        "Number of territories",
        min_value=1,
        max_value=max(n_units, 1),
        value=min(default_k, n_units),
        step=1,
        key="bal.k",
    )
    return {"k": int(k)}


def _rebalance_options(right: st.delta_generator.DeltaGenerator) -> dict[str, object]:
    """The move budget and whether to trace the trade-off curve."""
    max_moved = right.number_input(
        "Most accounts that may move",
        min_value=0,
        value=None,
        step=10,
        key="bal.max_moved",
        placeholder="no limit",
        help="Leave empty for no limit.",
    )
    curve = right.checkbox(
        "Draw the trade-off curve (deviation against accounts moved)", value=True, key="bal.curve"
    )
    return {"max_moved_accounts": None if max_moved is None else int(max_moved), "curve": curve}


def show_result(run: BalanceRun, inputs: BalanceInputs, variables: dict[str, str]) -> None:
    """Show a run: whether it met the tolerance, its figures, map, charts and table."""
    plan = run.plan
    tolerance = float(plan.parameters.get("tolerance", 0.02))
    st.subheader("Result")
    _headline(run, tolerance)
    _figures(run)
    ws, sid = run.workspace, run.base_scenario_id
    names = territory_labels(ws, sid, list(plan.territories))
    table = plan_table(plan, inputs.units, names, tolerance)
    weight_used = plan.parameters.get("weight")
    unit_label = (
        variables.get(weight_used, str(weight_used))
        if isinstance(weight_used, str)
        else "Weighted workload"
    )
    tabs = st.tabs(["Map", "Workload per territory", "Trade-off curve", "Table"])
    with tabs[0]:
        fmap, colors = plan_map(
            ws.units,
            plan,
            table,
            tiles=state.tile_source(),
            tolerance=tolerance,
            reps=run.result.request.reps,
        )
        maps.show_map(fmap, key="balance_map", height=560)
        maps.attribution_caption()
    with tabs[1]:
        st.altair_chart(
            workload_chart(table, colors, unit=unit_label, tolerance=tolerance), width="content"
        )
        st.caption(
            "Grey band: the tolerance around each territory's target (black tick); "
            "red outline: outside the band."
        )
    with tabs[2]:
        _curve(run)
    with tabs[3]:
        _table(table)


def _headline(run: BalanceRun, tolerance: float) -> None:
    m = run.plan.metrics
    if run.result.tolerance_met:
        st.success(
            f"Every territory is within ±{tolerance:.1%} of its target "
            f"({m.n_territories} territories, {run.result.elapsed_s:.1f} s)."
        )
    elif run.result.request.mode == DESIGN:
        st.warning(
            f"No plan within ±{tolerance:.1%} was found; this is the best one "
            f"({m.max_abs_deviation:.1%} at worst). Raise the tolerance, use fewer "
            "territories or fewer locks."
        )
    else:
        st.warning(
            f"The move budget does not allow ±{tolerance:.1%}; this plan gets as close "
            f"as the budget allows ({m.max_abs_deviation:.1%} at worst)."
        )


def _figures(run: BalanceRun) -> None:
    m = run.plan.metrics
    d = m.disruption
    cells = st.columns(6)
    cells[0].metric("Worst deviation", f"{m.max_abs_deviation:.1%}")
    cells[1].metric("Mean deviation", f"{m.mean_abs_deviation:.1%}")
    cells[2].metric("Contiguous", "Yes" if m.all_contiguous else f"No ({len(m.noncontiguous)})")
    cells[3].metric(
        "Polsby-Popper",
        f"{m.polsby_popper_mean:.2f}",
        help=f"Compactness, mean over territories (min {m.polsby_popper_min:.2f}); 1 is a disc.",
    )
    cells[4].metric(
        "Accounts moved",
        "–" if d is None or d.moved_accounts is None else f"{d.moved_accounts:,}",
        help=None
        if d is None
        else f"{d.moved_units:,} units, {d.moved_workload_share:.0%} of the workload",
    )
    cells[5].metric("Run time", f"{run.result.elapsed_s:.1f} s")
    if m.home_distance_mean_km is not None:
        st.caption(
            f"Distance from the workload to the rep's home: mean "
            f"{m.home_distance_mean_km:.1f} km, worst {m.home_distance_max_km:.1f} km."
        )


def _curve(run: BalanceRun) -> None:
    curve = run.result.curve
    if curve is None:
        st.info("The trade-off curve is drawn for a rebalance (tick “Draw the trade-off curve”).")
        return
    m = run.plan.metrics
    d = m.disruption
    shown = (
        None
        if d is None or d.moved_accounts is None
        else (float(d.moved_accounts), m.max_abs_deviation)
    )
    st.altair_chart(tradeoff_chart(curve, chosen=shown), width="stretch")
    st.caption(
        "Each dot is the least deviation found for a budget of moved accounts "
        "(the line joins those no other beats); the red diamond is the plan "
        "shown, which stops once within the tolerance."
    )


def _table(table: pd.DataFrame) -> None:
    st.dataframe(
        table.drop(columns=["lower", "upper"]),
        hide_index=True,
        width="stretch",
        column_config={
            "deviation": st.column_config.NumberColumn(format="percent"),
            "workload": st.column_config.NumberColumn(format="%.1f"),
            "target": st.column_config.NumberColumn(format="%.1f"),
            "polsby_popper": st.column_config.NumberColumn("Polsby-Popper", format="%.2f"),
        },
    )


@st.fragment
def save_controls(run: BalanceRun) -> None:
    """Name the plan and save it as a planning scenario (a fragment)."""
    st.subheader("Save")
    if run.saved_as is not None:
        st.success(
            f"Saved as planning scenario **{run.saved_as}**: everybody on this workspace "
            "sees it now. Open it from the sidebar, or compare it with the active plan on "
            "the compare page."
        )
        return
    ws, sid = run.workspace, run.base_scenario_id
    default_name = default_scenario_name(run.result, ws.scenario(sid))
    # one name field per run, so a new run proposes its own name
    name = st.text_input("Scenario name", value=default_name, key=f"bal.save_name.{id(run)}")
    if st.button("Save as scenario", key="bal.save"):
        user = auth.current_user()
        try:
            saved = save_balance(
                ws,
                run.result,
                base_scenario_id=sid,
                name=name or default_name,
                user=None if user is None else user.user_id,
            )
        except PlannerError as exc:
            st.error(str(exc))
        else:
            run.saved_as = saved.scenario_id
            state.mark_changed(SAVE_LABEL)
            st.rerun()  # the sidebar lists the new scenario


# --- the compare page ------------------------------------------------------------------------
@st.fragment
def promote_controls(ws: Workspace, by_id: dict[str, Scenario], b: str, active: str) -> None:
    """Promote scenario ``b`` after a confirmation; the active one is archived (a fragment)."""
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
    if promote_request() != b:
        st.button(
            f"Promote “{label}” to active", key="cmp.promote", on_click=request_promote, args=(b,)
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
    no.button("Cancel", key="cmp.cancel", on_click=clear_promote_request)
    if yes.button("Confirm", type="primary", key="cmp.confirm"):
        _promote(ws, b, label, current)


def _promote(ws: Workspace, b: str, label: str, current: Scenario | None) -> None:
    user = auth.current_user()
    try:
        ws.promote(b, user=None if user is None else user.user_id)
    except PlannerError as exc:
        st.error(str(exc))
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
    st.rerun()  # the whole app follows the new active scenario
