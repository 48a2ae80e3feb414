"""Overview: what the open workspace holds, its scenarios and how its territories compare."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner import viz
from ui import display, state

ws = state.current_workspace()
sid = state.current_scenario_id()
info = ws.info()

st.title(ws.name)
if ws.description:
    st.write(ws.description)

scenario = next(sc for sc in info["scenarios"] if sc["scenario_id"] == sid)
cols = st.columns(6)
cols[0].metric("Accounts", f"{info['accounts']:,}")
cols[1].metric("Reps", f"{info['reps']:,}")
cols[2].metric("Units", f"{info['units']:,}")
cols[3].metric("Territories", f"{scenario['territories']:,}")
cols[4].metric("Hierarchy levels", scenario["hierarchy_levels"])
cols[5].metric("Scenarios", len(info["scenarios"]))

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(f"Territories of “{scenario['name'] or sid}”")
    summary = viz.territory_summary(ws, sid)
    if summary.empty:
        st.info("This scenario has no territories yet.")
    else:
        terr = ws.territories(sid)
        leaves = viz.leaf_territory_ids(terr)
        shapes = terr.set_index(terr["territory_id"].astype(str)).geometry
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
    table = pd.DataFrame(info["scenarios"]).rename(
        columns={"scenario_id": "id", "hierarchy_levels": "levels"}
    )
    display.show_table(table, hide_index=True, width="stretch")
    st.caption(
        f"Active scenario: **{info['active_scenario'] or 'none'}** · "
        f"{info['audit_entries']:,} audit entries · workspace schema v{info['schema_version']}"
    )
