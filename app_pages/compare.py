"""Compare two scenarios: metrics side by side, what moves, a map of the changes; promote one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner import schema as s
from planner.balance.scenario import compare_scenarios, recorded_weight, scenario_assignment
from planner.errors import PlannerError
from planner.labels import count_of
from planner.models import ScenarioState
from planner.services.balance_inputs import territory_labels, variable_options
from planner.services.balance_views import changes_map, metrics_side_by_side, scenarios_table
from ui import auth, cache, display, keys, maps, scenarios, state

auth.require("manage_scenarios")  # planners and admins
ws = state.current_workspace()
st.title("Compare scenarios")
notice = scenarios.pop_flash()
if notice:
    st.success(notice)
all_scenarios = ws.scenario_list()
if len(all_scenarios) < 2:
    st.info(
        "This workspace has one scenario. Make another on the balance page (or copy this "
        "one), then compare them here."
    )
    st.stop()
by_id = {sc.scenario_id: sc for sc in all_scenarios}
ids = list(by_id)


def _label(scenario_id: str) -> str:
    sc = by_id[scenario_id]
    return f"{sc.name or scenario_id} · {sc.state}"


try:
    active = ws.active_scenario_id()
except PlannerError:
    active = ids[0]
others = [i for i in ids if i != active]
planning = [i for i in others if by_id[i].state == ScenarioState.PLANNING]
default_b = (planning or others)[-1]

with st.expander("Scenarios and their states", expanded=False):
    display.show_table(scenarios_table(all_scenarios), hide_index=True, width="stretch")
    st.caption(
        "Lifecycle: planning → active → archived. Promoting a scenario archives the "
        "active one; an archived scenario cannot be promoted again."
    )

pick_a, pick_b = st.columns(2)
a = pick_a.selectbox("From (A)", ids, index=ids.index(active), format_func=_label, key=keys.CMP_A)
b = pick_b.selectbox("To (B)", ids, index=ids.index(default_b), format_func=_label, key=keys.CMP_B)
if a == b:
    st.info("Pick two different scenarios.")
    st.stop()

inputs = scenarios.inputs_or_stop(ws, None, "compared")
variables = variable_options(inputs.units)
recorded = recorded_weight(ws, b) or recorded_weight(ws, a)
default_weight = recorded if isinstance(recorded, str) and recorded in variables else None
weight = st.selectbox(
    "Measure workload by",
    list(variables),
    index=list(variables).index(default_weight) if default_weight else 0,
    format_func=variables.__getitem__,
    key=keys.CMP_WEIGHT,
    help="The variable deviations are measured in (by default the one B was balanced on).",
)
#: What a comparison reads: the units measured, both scenarios' rows and their parameters
#: (promoting changes only the scenarios' states: the comparison shown stays cached).
frames = (inputs.units, *(ws.tables[t] for t in ("territories", "unit_assignment", "memberships")))
what = f"compare|{a}|{b}|{weight}|{by_id[a].parameters!r}|{by_id[b].parameters!r}"
try:
    comparison = cache.by_frames(
        what, frames, lambda: compare_scenarios(ws, a, b, inputs.prepared, weight=weight)
    )
except PlannerError as exc:
    st.error(str(exc))
    st.stop()

labels = {
    **territory_labels(ws, a, list(map(str, ws.territories(a)[s.TERRITORY_ID]))),
    **territory_labels(ws, b, list(map(str, ws.territories(b)[s.TERRITORY_ID]))),
}
moved_units = comparison.moved_units
moved_accounts = (
    comparison.moved_accounts if comparison.moved_accounts is not None else pd.DataFrame()
)
st.caption(
    f"**{_label(a)}** → **{_label(b)}**: {count_of(len(moved_units), 'unit')} and "
    f"{count_of(len(moved_accounts), 'account')} change territory."
)

# --- metrics side by side ---------------------------------------------------------------------
left, right = st.columns([2, 3])
with left:
    st.subheader("Metrics")
    rows = metrics_side_by_side(comparison.metrics)
    display.show_table(rows, hide_index=True, width="stretch", height=36 * (len(rows) + 1) + 2)
with right:
    st.subheader("Per territory")
    per = comparison.territories.copy()
    per.insert(1, "territory", per[s.TERRITORY_ID].astype(str).map(labels))
    display.show_table(
        per,
        hide_index=True,
        width="stretch",
        column_config={
            "deviation_a": st.column_config.NumberColumn("deviation A", format="percent"),
            "deviation_b": st.column_config.NumberColumn("deviation B", format="percent"),
            "workload_a": st.column_config.NumberColumn("workload A", format="%.1f"),
            "workload_b": st.column_config.NumberColumn("workload B", format="%.1f"),
            "polsby_popper_a": st.column_config.NumberColumn("Polsby-Popper A", format="%.2f"),
            "polsby_popper_b": st.column_config.NumberColumn("Polsby-Popper B", format="%.2f"),
        },
    )

# --- what moves -------------------------------------------------------------------------------
st.subheader("What moves")
tab_map, tab_units, tab_accounts = st.tabs(
    ["Map of the changes", f"Units ({len(moved_units):,})", f"Accounts ({len(moved_accounts):,})"]
)
with tab_map:
    tiles = state.tile_source()
    parts = cache.parts_of_frames(
        f"{what}|{tiles}|{sorted(labels.items())!r}",
        (*frames, ws.units),
        lambda: changes_map(
            ws.units, scenario_assignment(ws, b), comparison.changes, labels, tiles=tiles
        ),
        split=False,
    )
    maps.show_parts(parts, key=keys.CMP_MAP, height=520)
    maps.attribution_caption()
with tab_units:
    shown = moved_units.copy()
    shown["from"] = shown["from_territory"].astype(str).map(labels)
    shown["to"] = shown["to_territory"].astype(str).map(labels)
    display.show_table(
        shown,
        hide_index=True,
        width="stretch",
        column_config={"workload": st.column_config.NumberColumn(format="%.2f")},
    )
with tab_accounts:
    if len(moved_accounts):
        shown = moved_accounts.copy()
        shown["from"] = shown["from_territory"].map(lambda t: labels.get(str(t), t) if t else "")
        shown["to"] = shown["to_territory"].map(lambda t: labels.get(str(t), t) if t else "")
        display.show_table(shown, hide_index=True, width="stretch")
        st.download_button(
            "Download moved accounts (CSV)",
            shown.to_csv(index=False).encode("utf-8"),
            file_name=f"moved_accounts_{a}_to_{b}.csv",
            mime="text/csv",
            key=keys.CMP_DOWNLOAD,
        )
    else:
        st.info("No account changes territory.")

scenarios.promote_controls(ws, by_id, b, active)  # asks first; the active one is archived
