"""Balance: design territories of even workload, or rebalance the chosen scenario, and save it."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from planner import schema as s
from planner.balance import (
    ToleranceNotMetError,
    design_territories,
    rebalance,
    recommend_territory_count,
    tradeoff_curve,
)
from planner.balance.scenario import (
    align_plan,
    keep_territories_locks,
    save_plan_as_scenario,
    scenario_assignment,
    territory_owners,
    unique_scenario_id,
)
from planner.errors import PlannerError
from planner.hierarchy import leaves
from ui import auth, maps, scenarios, state
from ui.progress import ProgressBar

DESIGN, REBALANCE = "design", "rebalance"
MODES = {DESIGN: "Design from scratch", REBALANCE: "Rebalance this scenario"}

auth.require("manage_scenarios")  # planners and admins
user = auth.current_user()
ws = state.current_workspace()
sid = state.current_scenario_id()
scenario = ws.scenario(sid)
st.title("Balance territories")
try:
    inputs = scenarios.balance_inputs(ws, sid)
except PlannerError as exc:
    st.error(f"The units of this workspace cannot be balanced: {exc}")
    st.stop()
units = inputs.units
unit_kind = str(units[s.UNIT_TYPE].mode().iloc[0]) if len(units) else "unit"
variables = scenarios.variable_options(units)
has_hours = "workload_h" in variables
st.caption(
    f"Scenario **{scenario.name or sid}** ({scenario.state}) · {len(units):,} {unit_kind} units · "
    f"{int(units['account_count'].sum()):,} accounts"
    + (f" · {units['workload_h'].sum():,.0f} visit hours per month" if has_hours else "")
)
if inputs.outside:
    st.warning(f"{inputs.outside:,} accounts lie outside every unit and are left out of balancing.")

# --- sizing: how many reps does this workload need? ------------------------------------------
reps_all = ws.reps
field_reps = reps_all[(reps_all[s.ROLE].astype(str) == "rep").to_numpy()]
capacities = pd.to_numeric(field_reps[s.CAPACITY_H_PER_WEEK], errors="coerce").dropna()
recommended = None
if has_hours:
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
        recommended = sizing.territories
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

# --- the request ----------------------------------------------------------------------------
base_terr = ws.territories(sid)
leaf_ids = leaves(base_terr) if len(base_terr) else []
owner_of = territory_owners(ws, sid)
labels = scenarios.owner_labels(ws, sid)
can_rebalance = bool(leaf_ids)

st.subheader("What to balance")
mode = st.radio(
    "Mode",
    list(MODES),
    format_func=MODES.__getitem__,
    horizontal=True,
    key="bal.mode",
    label_visibility="collapsed",
)
if mode == REBALANCE and not can_rebalance:
    st.info("This scenario has no territories yet: design them from scratch first.")
left, right = st.columns(2)
chosen = left.multiselect(
    "Balance",
    list(variables),
    default=[next(iter(variables))],
    format_func=variables.__getitem__,
    key="bal.variables",
    help="Several variables are balanced together, each by its weight.",
)
if scenarios.DRIVE_H_PER_WEEK in chosen and inputs.drive_note:
    left.caption(inputs.drive_note)
if inputs.drive_error:
    left.caption(inputs.drive_error)  # why drive hours are not offered
weights: dict[str, float] = {}
if len(chosen) > 1:
    cols = left.columns(len(chosen))
    for col, name in zip(cols, chosen, strict=True):
        weights[name] = col.number_input(
            f"Weight of {variables[name]}",
            min_value=0.1,
            max_value=10.0,
            value=1.0,
            step=0.1,
            key=f"bal.w.{name}",
        )
tolerance_pct = left.slider(
    "Tolerance (± % of target)", 0.5, 20.0, 2.0, step=0.5, key="bal.tolerance"
)
locked = left.multiselect(
    "Keep these territories as they are",
    leaf_ids,
    format_func=lambda t: labels.get(t, t),
    key="bal.locked",
    help="Their units stay put and nothing joins them.",
)
seed = left.number_input(
    "Seed",
    min_value=0,
    value=0,
    step=1,
    key="bal.seed",
    help="Same inputs and seed give the same plan.",
)
reps = None
k = None
max_moved = None
want_curve = False
if mode == DESIGN:
    centre = right.checkbox(
        "Centre territories on where the reps live",
        key="bal.centre",
        help="One territory per rep, around the rep's home; targets follow each rep's capacity.",
    )
    if centre:
        homes = field_reps[field_reps.geometry.notna() & ~field_reps.geometry.is_empty]
        default_reps = [r for r in homes[s.REP_ID].astype(str) if r in set(owner_of.values())]
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
    else:
        default_k = recommended or len(leaf_ids) or 4
        k = int(
            right.number_input(
                "Number of territories",
                min_value=1,
                max_value=max(len(units), 1),
                value=min(default_k, len(units)),
                step=1,
                key="bal.k",
            )
        )
else:
    max_moved = right.number_input(
        "Most accounts that may move",
        min_value=0,
        value=None,
        step=10,
        key="bal.max_moved",
        placeholder="no limit",
        help="Leave empty for no limit.",
    )
    want_curve = right.checkbox(
        "Draw the trade-off curve (deviation against accounts moved)", value=True, key="bal.curve"
    )

run_clicked = st.button(
    "Run",
    type="primary",
    key="bal.run",
    disabled=not chosen or (mode == REBALANCE and not can_rebalance),
)

if run_clicked:
    weight = chosen[0] if len(chosen) == 1 else weights
    tolerance = tolerance_pct / 100
    bar = ProgressBar("Designing territories…" if mode == DESIGN else "Rebalancing…")
    started = time.perf_counter()
    try:
        baseline = scenario_assignment(ws, sid) if leaf_ids else None
        reserved = [t for t in base_terr[s.TERRITORY_ID].astype(str) if t not in set(leaf_ids)]
        met = True
        curve = None
        if mode == DESIGN:
            rep_owned = {r: t for t, r in owner_of.items()}
            lock_labels = owner_of if reps is not None else None
            locks = (
                keep_territories_locks(baseline, locked, labels=lock_labels)
                if locked and baseline is not None
                else None
            )
            try:
                plan = design_territories(
                    inputs.prepared,
                    k=k,
                    reps=reps,
                    weight=weight,
                    tolerance=tolerance,
                    locked=locks,
                    seed=int(seed),
                    progress=bar,
                )
            except ToleranceNotMetError as exc:
                plan, met = exc.plan, False
            if baseline is not None:
                fixed = (
                    {r: rep_owned[r] for r in plan.territories if r in rep_owned}
                    if reps is not None
                    else None
                )
                plan = align_plan(
                    plan, inputs.prepared, baseline, fixed=fixed, reserved=reserved, reps=reps
                )
        else:
            assert baseline is not None
            locks = keep_territories_locks(baseline, locked) if locked else None
            plan = rebalance(
                inputs.prepared,
                baseline,
                weight=weight,
                tolerance=tolerance,
                max_moved_accounts=None if max_moved is None else int(max_moved),
                locked=locks,
                seed=int(seed),
                progress=bar,
            )
            met = bool(plan.parameters.get("tolerance_met", True))
            if want_curve:
                bar(0.0, "Tracing the trade-off curve…")
                curve = tradeoff_curve(
                    inputs.prepared,
                    baseline,
                    weight=weight,
                    tolerance=tolerance,  # the curve's points match the plan shown
                    locked=locks,
                    seed=int(seed),
                    progress=bar,
                )
    except PlannerError as exc:
        bar.clear()
        st.error(str(exc))
    else:
        bar.clear()
        scenarios.set_last_run(
            scenarios.BalanceRun(
                ws, sid, plan, met, time.perf_counter() - started, curve=curve, reps=reps
            )
        )

# --- the result -----------------------------------------------------------------------------
run = scenarios.last_run(ws, sid)
if run is not None:
    plan = run.plan
    m = plan.metrics
    tolerance = float(plan.parameters.get("tolerance", 0.02))
    method = plan.parameters.get("method", DESIGN)
    st.subheader("Result")
    if run.tolerance_met:
        st.success(
            f"Every territory is within ±{tolerance:.1%} of its target "
            f"({m.n_territories} territories, {run.elapsed_s:.1f} s)."
        )
    elif method == DESIGN:
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
    cells[5].metric("Run time", f"{run.elapsed_s:.1f} s")
    if m.home_distance_mean_km is not None:
        st.caption(
            f"Distance from the workload to the rep's home: mean "
            f"{m.home_distance_mean_km:.1f} km, worst {m.home_distance_max_km:.1f} km."
        )

    names = scenarios.territory_labels(ws, sid, list(plan.territories))
    table = scenarios.plan_table(plan, units, names, tolerance)
    weight_used = plan.parameters.get("weight")
    unit_label = (
        variables.get(weight_used, str(weight_used))
        if isinstance(weight_used, str)
        else "Weighted workload"
    )
    tabs = st.tabs(["Map", "Workload per territory", "Trade-off curve", "Table"])
    with tabs[0]:
        fmap, colors = scenarios.plan_map(
            ws.units, plan, table, tiles=state.tile_source(), tolerance=tolerance, reps=run.reps
        )
        maps.show_map(fmap, key="balance_map", height=560)
        maps.attribution_caption()
    with tabs[1]:
        st.altair_chart(
            scenarios.workload_chart(table, colors, unit=unit_label, tolerance=tolerance),
            width="content",
        )
        st.caption(
            "Grey band: the tolerance around each territory's target (black tick); "
            "red outline: outside the band."
        )
    with tabs[2]:
        if run.curve is not None:
            shown_point = (
                None
                if d is None or d.moved_accounts is None
                else (float(d.moved_accounts), m.max_abs_deviation)
            )
            st.altair_chart(
                scenarios.tradeoff_chart(run.curve, chosen=shown_point), width="stretch"
            )
            st.caption(
                "Each dot is the least deviation found for a budget of moved accounts "
                "(the line joins those no other beats); the red diamond is the plan "
                "shown, which stops once within the tolerance."
            )
        else:
            st.info(
                "The trade-off curve is drawn for a rebalance (tick “Draw the trade-off curve”)."
            )
    with tabs[3]:
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

    st.subheader("Save")
    if run.saved_as is not None:
        st.success(
            f"Saved as planning scenario **{run.saved_as}**: everybody on this workspace "
            "sees it now. Open it from the sidebar, or compare it with the active plan on "
            "the compare page."
        )
    else:
        default_name = (
            f"Designed: {m.n_territories} territories"
            if method == DESIGN
            else f"Rebalanced {scenario.name or sid}"
        )
        # one name field per run, so a new run proposes its own name
        name = st.text_input("Scenario name", value=default_name, key=f"bal.save_name.{id(run)}")
        if st.button("Save as scenario", key="bal.save"):
            new_id = unique_scenario_id(ws, name or default_name)
            try:
                saved = save_plan_as_scenario(
                    ws,
                    plan,
                    scenario_id=new_id,
                    name=name or default_name,
                    base_scenario_id=sid,
                    user=None if user is None else user.user_id,
                    description=f"{MODES.get(str(method), str(method))} of {scenario.name or sid}",
                )
            except PlannerError as exc:
                st.error(str(exc))
            else:
                run.saved_as = saved.scenario_id
                state.mark_changed("save balance plan as scenario")
                st.rerun()
