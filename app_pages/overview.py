"""Overview: what the open workspace holds, its scenarios and how its territories compare."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner import schema as s
from planner import viz
from planner.labels import count_of
from ui import display, state

ws = state.current_workspace()
sid = state.current_scenario_id()
info = ws.info()

st.title(ws.name)
if ws.description:
    st.write(ws.description)

scenario = next(sc for sc in info["scenarios"] if sc["scenario_id"] == sid)
roles = ws.reps[s.ROLE].astype(str) if s.ROLE in ws.reps.columns else pd.Series(dtype=str)
n_reps = int((roles == "rep").sum()) if len(roles) else info["reps"]
terr_all = ws.territories(sid)
n_leaves = len(viz.leaf_territory_ids(terr_all))
cols = st.columns(6)
cols[0].metric("Accounts", f"{info['accounts']:,}")
cols[1].metric("Reps", f"{n_reps:,}", help=f"{count_of(info['reps'], 'user')} in all (every role)")
cols[2].metric("Units", f"{info['units']:,}")
cols[3].metric(
    "Territories",
    f"{n_leaves:,}",
    help=f"Territories accounts belong to; {count_of(len(terr_all), 'territory')} "
    "with the groupings above them",
)
cols[4].metric("Hierarchy levels", scenario["hierarchy_levels"])
cols[5].metric("Scenarios", len(info["scenarios"]))

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(f"Territories of “{scenario['name'] or sid}”")
    summary = viz.territory_summary(ws, sid)
    if summary.empty:
        st.info("This scenario has no territories yet.")
    else:
        leaves = viz.leaf_territory_ids(terr_all)
        shapes = terr_all.set_index(terr_all[s.TERRITORY_ID].astype(str)).geometry
        colors = viz.territory_colors(leaves, geometries=shapes)
        metric = st.segmented_control(
            "Compare by",
            ["accounts", "annual_revenue"],
            format_func=lambda v: "Accounts" if v == "accounts" else "Annual revenue",
            default="accounts",
        )
        chart = viz.territory_bar_chart(summary, value=metric or "accounts", colors=colors)
        st.altair_chart(chart, width="stretch")
with right:
    st.subheader("Scenarios")
    table = pd.DataFrame(info["scenarios"])[
        ["name", "state", "territories", "hierarchy_levels", "memberships"]
    ]
    display.show_table(
        table,
        column_config={
            "name": "Scenario",
            "hierarchy_levels": "Levels",
            "memberships": "Assigned accounts",
        },
    )
    st.caption(
        f"Active scenario: **{info['active_scenario'] or 'none'}** · "
        f"{info['audit_entries']:,} audit entries · workspace schema v{info['schema_version']}"
    )
