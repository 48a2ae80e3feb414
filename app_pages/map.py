"""Map: the territories of the chosen scenario, coloured, with their accounts and reps."""

from __future__ import annotations

import streamlit as st

from planner import viz
from ui import maps, state

ws = state.current_workspace()
sid = state.current_scenario_id()
scenario = ws.scenario(sid)

head, units_col, accounts_col, reps_col = st.columns([4, 1, 1, 1], vertical_alignment="bottom")
head.title("Map")
show_units = units_col.toggle("Units", value=True, help="Outlines of the building blocks")
show_accounts = accounts_col.toggle("Accounts", value=True)
show_reps = reps_col.toggle("Reps", value=True, help="Reps' home bases")
st.caption(
    f"Scenario **{scenario.name or sid}** ({scenario.state}) · "
    f"{len(ws.territories(sid)):,} territories · {len(ws.accounts):,} accounts · "
    f"{len(ws.reps):,} reps. Hover a territory for its figures, click an account for details."
)

options = state.map_options(show_units=show_units, show_accounts=show_accounts, show_reps=show_reps)
m = viz.workspace_map(ws, sid, options=options)
maps.show_map(m, key="territory_map", height=640)
maps.attribution_caption()
if options.tiles == "none":
    st.caption("No basemap: choose OpenStreetMap tiles in the sidebar when online.")
