"""Map: the territories of the chosen scenario, coloured, with their accounts and reps."""

from __future__ import annotations

import streamlit as st

from planner import viz
from ui import maps, state

ws = state.current_workspace()
sid = state.current_scenario_id()

st.title("Map")
controls = st.columns([1, 1, 1, 3])
show_units = controls[0].toggle("Units", value=True, help="Outlines of the building blocks")
show_accounts = controls[1].toggle("Accounts", value=True)
show_reps = controls[2].toggle("Reps", value=True, help="Reps' home bases")

options = state.map_options(show_units=show_units, show_accounts=show_accounts, show_reps=show_reps)
m = viz.workspace_map(ws, sid, options=options)
maps.show_map(m, key="territory_map", height=640)
maps.attribution_caption()
if options.tiles == "none":
    st.caption("No basemap: choose OpenStreetMap tiles in the sidebar when online.")
