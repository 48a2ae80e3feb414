"""Map: the territories of the chosen scenario, coloured, with their accounts and reps.

From :data:`planner.viz_fast.FAST_THRESHOLD` accounts on, the map first
shows the accounts' counts per map cell, and the accounts themselves once few
are in view (:mod:`ui.map_view`); a note says the map is being prepared until
they are drawn, and the map says when it is loading a view's accounts.
"""

from __future__ import annotations

import folium
import streamlit as st

from planner import viz, viz_fast
from planner.labels import count_of
from ui import account_actions, auth, cache, editing, keys, map_tools, map_view, maps, state

ws = state.current_workspace()
sid = state.current_scenario_id()
ws = auth.apply_query_focus(ws, sid)  # ?territory= / ?account=, refused outside the scope
scenario = ws.scenario(sid)
tiles = state.tile_source()
has_roads = cache.roads_file_for(state.workspace_path()) is not None
n_accounts = len(ws.accounts)
fast = n_accounts >= viz_fast.FAST_THRESHOLD

head, *toggles = st.columns([4, 1, 1, 1, 1, 1], vertical_alignment="bottom")
head.title("Map")
show_units = toggles[0].toggle("Units", value=True, help="Outlines of the building blocks")
show_accounts = toggles[1].toggle("Accounts", value=True)
show_reps = toggles[2].toggle("Reps", value=True, help="Reps' home bases")
show_roads = has_roads and toggles[3].toggle(
    "Roads", value=tiles == "none", help="The road network saved with the workspace"
)
selecting = map_tools.select_toggle(toggles[4])
st.caption(
    f"Scenario **{scenario.name or sid}** ({scenario.state}) · "
    f"{count_of(len(ws.territories(sid)), 'territory')} · {count_of(n_accounts, 'account')} · "
    f"{count_of(len(ws.reps), 'user')}. Hover a territory for its figures, click an account "
    "for details."
)

found = map_tools.find_box(ws, st)
layers = map_tools.layer_controls(ws)
hint = st.empty()
if fast and show_accounts:
    hint.info(f"Preparing the map of {n_accounts:,} accounts…", icon=":material/hourglass_top:")
options = state.map_options(
    show_units=show_units, show_accounts=show_accounts and not fast, show_reps=show_reps
)


def _build() -> folium.Map:
    roads = cache.road_lines_for(state.workspace_path()) if show_roads else None
    return viz.workspace_map(ws, sid, options=options, roads=roads)


content = state.content_key(ws)
what = f"map|{sid}|{options!r}|{show_roads}|{fast}"
m = cache.map_copy(content, what, _build)
network_file = cache.roads_file_for(state.workspace_path())
map_tools.add_layers(m, ws, layers, found, None if network_file is None else str(network_file))
if fast and show_accounts:  # counts first; a view's accounts once the map asks for them
    map_view.add_accounts(m, content, ws, sid, what)
if selecting:
    map_tools.add_select_draw(m)
returns = map_tools.SELECT_RETURNS if selecting else ()
# a large map keeps its frame while its layers change (the accounts of each view)
parts = maps.map_parts(m, split=fast)
reply = maps.show_parts(
    parts, key=keys.MAP, height=640, returned_objects=returns,
    on_change=map_view.remember_view(what) if fast else None,
)  # fmt: skip
hint.empty()  # the map itself says "Drawing N accounts…" until its dots are drawn
account_actions.account_panel(sid, found)  # include / exclude the opened account (issue 14)
maps.attribution_caption()
if tiles == "none":
    st.caption("No basemap: choose OpenStreetMap tiles in the sidebar when online.")
editing.show_flash()  # below the map: a message that comes and goes must not move the map
if selecting:
    map_tools.selection_panel(ws, sid, reply)
