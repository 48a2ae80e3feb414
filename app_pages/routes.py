"""Routes: a rep's day route (map, ETA table, totals, downloads) and each territory's drive time.

Choosing the rep, the date or the visits re-plans only the route (a fragment);
the travel workload's simulation reruns only its own section.
"""

from __future__ import annotations

import streamlit as st

from planner.errors import InputError
from planner.models import UserRole
from planner.routing import EstimateParams, RoadNetwork
from planner.services.rep_routes import rep_day, rep_stops
from planner.workspace import Workspace
from ui import auth, network_upload, routes, state, team_routes


@st.fragment
def day_route(
    ws: Workspace, sid: str, network: RoadNetwork | None, estimate: EstimateParams
) -> None:
    """The rep's route on a day: choose, plan, then map, ETA table, totals and downloads."""
    choice = routes.day_controls(ws, sid, auth.current_scope())
    if choice is None:
        return
    try:
        day = rep_day(ws, sid, choice.rep_id, on=choice.day)
    except InputError as exc:
        st.info("\n".join(p.message for p in exc.problems) or str(exc))
        return
    picked = routes.chosen_accounts(day.accounts) if choice.mode == routes.CHOSEN else ()
    request = routes.route_request(choice, estimate, picked)
    if request is None:
        return
    stops = rep_stops(day, request)
    if choice.mode == routes.DUE:
        routes.due_caption(day, stops)
    if stops.stops.empty:
        st.info(
            "No visits to route: "
            + (
                "no account is due this week."
                if choice.mode == routes.DUE
                else "pick the accounts to visit."
            )
        )
        return
    planned = routes.planned_route(day, request, stops, network)
    if planned is not None:
        routes.show_route(*planned, choice.day, network, ws)


@st.fragment
def travel_workload(
    ws: Workspace, sid: str, network: RoadNetwork | None, estimate: EstimateParams
) -> None:
    """Each territory's weekly drive time: a quick estimate, a simulation on demand."""
    st.caption(
        "Weekly drive time of each territory's rep, from the accounts' visit frequencies "
        "and the rep's home. The estimate takes milliseconds; the simulation plans every "
        "territory's routes and takes a few seconds per territory. A territory whose "
        "accounts lie far from their centre (high spread) is costly to drive."
    )
    routes.workload_section(ws, sid, network, estimate)


@st.fragment
def team_plan(
    ws: Workspace, sid: str, network: RoadNetwork | None, estimate: EstimateParams
) -> None:
    """Several reps planned at once over a pool of accounts: map, tables and files per rep."""
    st.caption(
        "Plan several reps' days together, each from their own home with their own shift: "
        "the plan decides who visits which account on which day. You see only your reps "
        "and their accounts."
    )
    team_routes.team_section(ws, sid, auth.current_scope(), network, estimate)


# -- the page --------------------------------------------------------------------------------

ws = state.current_workspace()
sid = state.current_scenario_id()
scope = auth.current_scope()
ws_file = routes.workspace_file(ws)
network = routes.network_for(ws_file)

st.title("Routes")
routes.network_caption(network, ws_file)
estimate = routes.estimate_settings(network)

if scope is not None and scope.role == UserRole.REP:
    day_route(ws, sid, network, estimate)
else:
    planner = scope is not None and scope.unrestricted and scope.can("edit")
    names = ["Day route", "Team plan", "Travel workload"] + (["Road network"] if planner else [])
    tabs = st.tabs(names)
    with tabs[0]:
        day_route(ws, sid, network, estimate)
    with tabs[1]:
        team_plan(ws, sid, network, estimate)
    with tabs[2]:
        travel_workload(ws, sid, network, estimate)
    if planner:
        with tabs[3]:
            network_upload.network_section(ws, ws_file, network)
