"""Map: the territories of the chosen scenario, coloured, with their accounts and reps."""

from __future__ import annotations

import streamlit as st

from planner import viz
from ui import auth, cache, maps, state

ws = state.current_workspace()
sid = state.current_scenario_id()
ws = auth.apply_query_focus(ws, sid)  # ?territory= / ?account=, refused outside the scope
scenario = ws.scenario(sid)
tiles = state.tile_source()
has_roads = cache.roads_file_for(state.workspace_path()) is not None

head, *toggles = st.columns([4, 1, 1, 1, 1], vertical_alignment="bottom")
head.title("Map")
show_units = toggles[0].toggle("Units", value=True, help="Outlines of the building blocks")
show_accounts = toggles[1].toggle("Accounts", value=True)
show_reps = toggles[2].toggle("Reps", value=True, help="Reps' home bases")
show_roads = has_roads and toggles[3].toggle(
    "Roads", value=tiles == "none", help="The road network saved with the workspace"
)
st.caption(
    f"Scenario **{scenario.name or sid}** ({scenario.state}) · "
    f"{len(ws.territories(sid)):,} territories · {len(ws.accounts):,} accounts · "
    f"{len(ws.reps):,} reps. Hover a territory for its figures, click an account for details."
)

options = state.map_options(show_units=show_units, show_accounts=show_accounts, show_reps=show_reps)
roads = cache.road_lines_for(state.workspace_path()) if show_roads else None
m = viz.workspace_map(ws, sid, options=options, roads=roads)
maps.show_map(m, key="territory_map", height=640)
maps.attribution_caption()
if tiles == "none":
    st.caption("No basemap: choose OpenStreetMap tiles in the sidebar when online.")
