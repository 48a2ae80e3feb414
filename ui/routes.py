"""Streamlit pieces of the Routes page: cached road networks, the session's plans, and widgets.

What to route and how lives in :mod:`planner.services.rep_routes` (shared with
``planner route --workspace``); the tables in :mod:`planner.services.route_tables`
and the map in :mod:`planner.services.route_map`. This module keeps what needs
Streamlit: the road network cached per server, the last plan per session,
and the controls and panels the page is made of.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from planner import schema as s
from planner import viz
from planner.access import AccessScope
from planner.errors import InputError, PlannerError
from planner.export.safety import neutralise_frame
from planner.labels import count_of
from planner.routing import (
    EstimateParams,
    RoadNetwork,
    RouteParams,
    RoutePlan,
    WorkloadParams,
    directions_urls,
    load_network,
    to_geojson,
    to_gpx,
    travel_workload,
)
from planner.routing.hours import DAY_NAMES
from planner.services.rep_accounts import (
    account_drive_hours,
    routable_reps,
    saved_network_file,
    territory_accounts,
    territory_homes,
)
from planner.services.rep_routes import (
    RepDay,
    RepRoute,
    RepRouteRequest,
    RepStops,
    RouteMode,
    day_date,
    next_working_day,
    plan_rep_route,
)
from planner.services.route_map import route_map
from planner.services.route_tables import (
    WEEKDAY_NAMES,
    clock_text,
    day_label,
    day_to_show,
    eta_frame,
    workload_frame,
)
from planner.workspace import Workspace
from ui import display, keys, maps, state
from ui.progress import ProgressBar

__all__ = [
    "CHOSEN",
    "DUE",
    "DayChoice",
    "PlanKey",
    "account_drive_hours",
    "chosen_accounts",
    "day_controls",
    "due_caption",
    "estimate_settings",
    "network_caption",
    "network_error",
    "network_for",
    "planned_route",
    "recall",
    "remember",
    "road_context_for",
    "route_request",
    "show_route",
    "workload_section",
    "workspace_file",
]

logger = logging.getLogger(__name__)

_NETWORK_ERRORS: dict[str, str] = {}
DUE: RouteMode = "due"
CHOSEN: RouteMode = "chosen"


# -- road networks (shared by every session of the server) --------------------------------


def workspace_file(ws: Workspace) -> Path | None:
    """Return the file the session's workspace was read from (for files saved beside it).

    A rep's or a manager's workspace is an in-memory copy without a path, so
    the session's source is asked first.
    """
    source = state.workspace_source()
    if source is not None and source.path is not None:
        return Path(source.path)
    return None if ws.path is None else Path(ws.path)


@st.cache_resource(show_spinner="Loading the road network…", max_entries=4)
def _network(path: str, mtime_ns: int) -> RoadNetwork:
    """Read a road network once per server (it is only read, never changed, by its users)."""
    del mtime_ns  # only part of the cache key
    return load_network(path)


def network_for(workspace_path: str | Path | None) -> RoadNetwork | None:
    """Return the road network saved beside a workspace, or ``None`` if it has none.

    A network that fails to load counts as absent (routes then use the
    straight-line estimate); :func:`network_error` tells why.
    """
    file = saved_network_file(workspace_path)
    if file is None:
        return None
    key = str(file.resolve())
    try:
        network = _network(key, file.stat().st_mtime_ns)
    except PlannerError as exc:
        logger.warning("road network %s not used: %s", file, exc)
        _NETWORK_ERRORS[key] = str(exc)
        return None
    _NETWORK_ERRORS.pop(key, None)
    return network


def network_error(workspace_path: str | Path | None) -> str | None:
    """Return why the road network beside a workspace could not be loaded, if it failed."""
    file = saved_network_file(workspace_path)
    return None if file is None else _NETWORK_ERRORS.get(str(file.resolve()))


@st.cache_resource(max_entries=4)
def _road_context(path: str, mtime_ns: int) -> gpd.GeoDataFrame:
    del mtime_ns
    return viz.road_lines(_network(path, Path(path).stat().st_mtime_ns))


def road_context_for(workspace_path: str | Path | None) -> gpd.GeoDataFrame | None:
    """Return the streets of the network beside a workspace, as lines for the map, or ``None``."""
    file = saved_network_file(workspace_path)
    if file is None or network_for(workspace_path) is None:
        return None
    return _road_context(str(file.resolve()), file.stat().st_mtime_ns)


def network_caption(network: RoadNetwork | None, ws_file: Path | None) -> None:
    """Say what drive times are made from: the roads, or a straight-line estimate (and why)."""
    if network is not None:
        st.caption(
            f"Drive times along the roads of {network.source} ({network.n_nodes:,} junctions)."
        )
        return
    problem = network_error(ws_file)
    st.caption(
        (
            f"The road network beside this workspace could not be read ({problem}): "
            if problem
            else "No road network saved with this workspace: "
        )
        + "drive times are straight-line **estimates**."
    )


def estimate_settings(network: RoadNetwork | None) -> EstimateParams:
    """Ask how to estimate drive times when there is no road network."""
    if network is not None:
        return EstimateParams()
    with st.expander("Estimate settings (no road network)"):
        left, right = st.columns(2)
        speed = left.number_input(
            "Average speed (km/h)", 10.0, 130.0, 40.0, 5.0, key=keys.ROUTES_SPEED
        )
        circuity = right.number_input(
            "Road distance ÷ straight distance",
            1.0,
            3.0,
            1.3,
            0.05,
            key=keys.ROUTES_CIRCUITY,
            help="How much longer roads are than straight lines (1.2 to 1.4 in most places).",
        )
    return EstimateParams(circuity=float(circuity), speed_kph=float(speed))


# -- the session's last plan -----------------------------------------------------------------


@dataclass(frozen=True)
class PlanKey:
    """Everything a route plan was made from: a new key means a new plan."""

    workspace: str
    version: int
    scenario_id: str
    rep_id: str
    first_day: date
    request: RepRouteRequest
    network: str | None


def recall(name: str, key: object) -> Any:
    """Return the session's result ``name`` if it was made from ``key``, else ``None``."""
    stored = st.session_state.get(keys.routes_result(name))
    if stored is None or stored[0] != key:
        return None
    return stored[1]


def remember(name: str, key: object, value: object) -> None:
    """Keep ``value`` (made from ``key``) as the session's result ``name`` for the next runs."""
    st.session_state[keys.routes_result(name)] = (key, value)


# -- choosing the rep, the day and the visits ------------------------------------------------


@dataclass(frozen=True)
class DayChoice:
    """What the user chose above the route: rep, date, shift, days, accounts and search."""

    rep_id: str
    day: date
    start: clock
    end: clock
    weekdays: tuple[int, ...]
    mode: RouteMode
    search_s: int


def day_controls(ws: Workspace, sid: str, scope: AccessScope | None) -> DayChoice | None:
    """Ask for the rep, date, shift, working days, accounts and search time (None: nobody)."""
    top = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
    day = top[1].date_input(
        "Date",
        value=next_working_day(date.today()),
        key=keys.ROUTES_DATE,
        format="YYYY-MM-DD",
        help="Today, or the next weekday at weekends.",
    )
    reps = routable_reps(ws, sid, scope, on=day)
    if reps.empty:
        top[0].selectbox("Rep", ["—"], disabled=True, key=keys.ROUTES_REP_NONE)
        st.info(
            "No rep whose routes you may see owns a territory in this scenario on "
            f"{day:%Y-%m-%d}. Assign an owner to a territory first."
        )
        return None
    names = dict(zip(reps[s.REP_ID], reps[s.NAME], strict=True))
    ids = list(names)
    own = scope.user_id if scope is not None and scope.user_id in names else None
    rep_id = top[0].selectbox(
        "Rep",
        ids,
        index=ids.index(own) if own else 0,
        format_func=lambda r: f"{names[r]} ({r})",
        key=keys.ROUTES_REP,
        disabled=len(ids) == 1,
    )
    start = top[2].time_input("Day starts", clock(8, 0), key=keys.ROUTES_START)
    end = top[3].time_input("Day ends", clock(17, 0), key=keys.ROUTES_END)
    weekdays, mode, search_s = _plan_options()
    return DayChoice(str(rep_id), day, start, end, weekdays, mode, search_s)


def _plan_options() -> tuple[tuple[int, ...], RouteMode, int]:
    opts = st.columns([3, 2, 2], vertical_alignment="bottom")
    weekdays = opts[0].pills(
        "Working days",
        list(range(7)),
        selection_mode="multi",
        default=[0, 1, 2, 3, 4],
        format_func=lambda d: DAY_NAMES[d],
        key=keys.ROUTES_WEEKDAYS,
    )
    mode = opts[1].radio(
        "Accounts",
        [DUE, CHOSEN],
        horizontal=True,
        key=keys.ROUTES_MODE,
        format_func=lambda m: "Due this week" if m == DUE else "Choose accounts",
        help="Due this week: visit frequencies decide which accounts are due, and the "
        "week's visits are spread over the working days. Choose accounts: route the "
        "accounts you pick on the chosen date only.",
    )
    search_s = opts[2].slider(
        "Search time (s)",
        1,
        10,
        1,
        key=keys.ROUTES_SEARCH,
        help="Longer searches find slightly shorter routes.",
    )
    return tuple(sorted(weekdays or [])), CHOSEN if mode == CHOSEN else DUE, int(search_s)


def chosen_accounts(accounts: pd.DataFrame) -> tuple[str, ...]:
    """Ask which of the rep's accounts to visit (a form: one plan per submit)."""
    labels = {
        a: f"{n} ({a})" if isinstance(n, str) and n else str(a)
        for a, n in zip(accounts[s.ACCOUNT_ID].astype(str), accounts[s.NAME], strict=True)
    }
    with st.form(keys.ROUTES_ACCOUNTS_FORM, border=False):
        picked = st.multiselect(
            "Accounts to visit",
            list(labels),
            format_func=labels.__getitem__,
            key=keys.ROUTES_ACCOUNTS,
            placeholder="Pick the accounts to visit",
        )
        st.form_submit_button("Route these accounts", type="primary", key=keys.ROUTES_ROUTE_CHOSEN)
    return tuple(map(str, picked))


def route_request(
    choice: DayChoice, estimate: EstimateParams, account_ids: tuple[str, ...]
) -> RepRouteRequest | None:
    """The request the controls describe, or ``None`` (with the problems shown)."""
    if choice.mode == DUE and not choice.weekdays:
        st.warning("Pick at least one working day.")
        return None
    try:
        shift = RouteParams(
            day_start=f"{choice.start:%H:%M}",
            day_end=f"{choice.end:%H:%M}" if choice.end != clock(0, 0) else "24:00",
            time_limit_s=float(choice.search_s),
            estimate=estimate,
        )
        return RepRouteRequest(
            mode=choice.mode, weekdays=choice.weekdays, account_ids=account_ids, route=shift
        )
    except InputError as exc:
        st.error(str(exc))
        return None


def due_caption(day: RepDay, stops: RepStops) -> None:
    """Say how many visits are due in the week and over which days."""
    st.caption(
        f"{count_of(len(day.accounts), 'account')} in {', '.join(day.territories)} · "
        f"**{count_of(stops.visits, 'visit')} due** in the week of {day.monday:%d %b %Y} "
        "(from each account's visits per month), spread over "
        f"{', '.join(DAY_NAMES[d] for d in stops.weekdays)}."
    )


# -- planning, remembered per session --------------------------------------------------------


def planned_route(
    day: RepDay, request: RepRouteRequest, stops: RepStops, network: RoadNetwork | None
) -> tuple[RepRoute, PlanKey] | None:
    """Plan the route (or recall the session's plan of the same inputs); ``None`` on error."""
    source = state.workspace_source()
    key = PlanKey(
        workspace=source.key if source else "",
        version=state.workspace_version(),
        scenario_id=day.scenario_id,
        rep_id=day.rep_id,
        first_day=stops.first_day,
        request=request,
        network=None if network is None else network.source,
    )
    route = recall("plan", key)
    if route is not None:
        return route, key
    bar = ProgressBar(f"Planning {day.rep_name}'s route…")
    began = time.monotonic()
    try:
        route = plan_rep_route(day, request, network=network, progress=bar, stops=stops)
    except PlannerError as exc:
        st.error(str(exc))
        return None
    finally:
        bar.clear()
    remember("plan", key, route)
    remember("plan_s", key, time.monotonic() - began)
    remember("plan_serial", key, time.time_ns())  # a new plan, a new day picker
    return route, key


# -- showing a plan --------------------------------------------------------------------------


def show_route(
    route: RepRoute, key: PlanKey, wanted: date, network: RoadNetwork | None, ws: Workspace
) -> None:
    """Map, ETA table, totals, what was left out, downloads and directions of a plan."""
    plan = route.plan
    if route.home_guessed:
        st.warning(
            f"{route.day.rep_name} has no home location: the route starts and ends at the "
            "centre of the stops. Add the rep's home address on the data page."
        )
    _estimate_banner(plan)
    _far_from_roads(plan)
    i = _day_choice(plan, key, wanted)
    day = plan.days[i]
    when = day_date(key.first_day, day.weekday, day.week) if len(plan.days) > 1 else key.first_day
    _day_metrics(plan, i)
    _route_map(route, i, network, ws)
    st.subheader(f"{WEEKDAY_NAMES[day.weekday]} {when:%d %B %Y}: {route.day.rep_name}")
    if day.stops:
        display.show_table(eta_frame(plan, i), hide_index=True, width="stretch")
    else:
        st.info("No visit on this day.")
    for note in plan.notes:
        if not note.startswith("drive times are estimates"):
            st.caption(f"Note: {note}")
    _week_totals(plan)
    elapsed = recall("plan_s", key)
    st.caption(f"{plan.method} · planned in {elapsed:.1f} s" if elapsed else plan.method)
    _downloads(plan, i, route.day.rep_id, when, network)
    _directions(plan, i)


def _estimate_banner(plan: RoutePlan) -> None:
    """Say loudly that the figures are estimates when there is no road network."""
    if plan.estimated:
        st.warning(
            f"**Estimated drive times.** This workspace has no road network, so drive "
            f"times and distances are estimates ({plan.method}). The map joins the stops "
            "with straight dashed lines, not roads.",
            icon=":material/straighten:",
        )


def _far_from_roads(plan: RoutePlan) -> None:
    """List the stops (and home) that join the road network from far away."""
    snap = plan.matrix.snap
    if snap is None:
        return
    far = snap.far_points(plan.point_ids)
    if not far:
        return
    names = dict(zip(plan.point_ids, plan.point_names, strict=True))
    cut = sum(p.off_network for p in far)
    noun = "stop is" if len(far) == 1 else "stops are"
    text = f"**{len(far)} {noun} far from a drivable road** of the network: their drive "
    text += "times are less reliable. Check their coordinates, or use a larger extract."
    if cut:
        text += f" {cut} of them are too far to route at all and are left out."
    st.warning(text, icon=":material/wrong_location:")
    with st.expander("Stops far from a road", expanded=False):
        display.show_table(
            pd.DataFrame(
                {
                    "Stop": [p.id for p in far],
                    "Name": [names.get(p.id, "") for p in far],
                    "To the nearest road (km)": [round(p.distance_m / 1000, 2) for p in far],
                    "Routable": ["no" if p.off_network else "yes" for p in far],
                }
            ),
            hide_index=True,
            width="stretch",
        )


def _day_choice(plan: RoutePlan, key: PlanKey, wanted: date) -> int:
    """Pick the day of the plan to show (the chosen date when it is a working day)."""
    first, note = day_to_show(plan, wanted)
    if len(plan.days) == 1:
        return 0
    if note:
        st.info(note)
    chosen = st.segmented_control(
        "Day",
        list(range(len(plan.days))),
        default=first,
        format_func=lambda i: day_label(plan, i, key.first_day),
        # One picker per plan: a new plan of the same week must not inherit the old choice.
        key=keys.routes_day(recall("plan_serial", key)),
    )
    return first if chosen is None else int(chosen)


def _day_metrics(plan: RoutePlan, i: int) -> None:
    route = plan.days[i]
    est = " (estimate)" if plan.estimated else ""
    cols = st.columns(6)
    cols[0].metric("Visits", len(route.stops))
    cols[1].metric("Drive time" + est, f"{route.drive_s / 60:,.0f} min")
    cols[2].metric("Drive distance" + est, f"{route.drive_m / 1000:,.1f} km")
    cols[3].metric("Leave home", clock_text(route.leave_home_s) if route.stops else "—")
    cols[4].metric("Back home", clock_text(route.return_home_s) if route.stops else "—")
    cols[5].metric("Working time", f"{route.work_s / 3600:,.1f} h")


def _route_map(route: RepRoute, i: int, network: RoadNetwork | None, ws: Workspace) -> None:
    terr = ws.territories(route.day.scenario_id)
    mine = terr[terr[s.TERRITORY_ID].astype(str).isin(route.day.territories)]
    tiles = state.tile_source()
    ws_file = workspace_file(ws)
    roads = road_context_for(ws_file) if tiles == "none" and network is not None else None
    m = route_map(route.plan, i, network=network, tiles=tiles, roads=roads, territories=mine)
    maps.show_map(m, key=keys.routes_map(i), height=520)
    maps.attribution_caption()


def _week_totals(plan: RoutePlan) -> None:
    est = " (estimate)" if plan.estimated else ""
    totals = plan.totals()
    if len(plan.days) > 1:
        st.markdown("**Week totals**")
        wk = st.columns(5)
        wk[0].metric("Visits", totals["visits"])
        wk[1].metric("Drive time" + est, f"{totals['drive_h']:,.1f} h")
        wk[2].metric("Drive distance" + est, f"{totals['drive_km']:,.1f} km")
        wk[3].metric("Working time", f"{totals['work_h']:,.1f} h")
        wk[4].metric("Not visited", totals["unvisited"])
    if plan.unvisited:
        with st.expander(f"Not visited: {len(plan.unvisited)}", expanded=len(plan.days) == 1):
            display.show_table(plan.unvisited_table(), hide_index=True, width="stretch")


def _downloads(
    plan: RoutePlan, day: int, rep_id: str, when: date, network: RoadNetwork | None
) -> None:
    """GPX of the day for a phone, the plan as GeoJSON, and the ETA table as CSV."""
    stem = f"route-{rep_id}-{when:%Y-%m-%d}"
    cols = st.columns(3)
    cols[0].download_button(
        "GPX for your phone",
        to_gpx(plan, network, day=day),
        file_name=f"{stem}.gpx",
        mime="application/gpx+xml",
        key=keys.ROUTES_GPX,
        on_click="ignore",
        disabled=not plan.days[day].stops,
        icon=":material/smartphone:",
    )
    cols[1].download_button(
        "GeoJSON (whole plan)",
        json.dumps(to_geojson(plan, network)),
        file_name=f"{stem}.geojson",
        mime="application/geo+json",
        key=keys.ROUTES_GEOJSON,
        on_click="ignore",
    )
    cols[2].download_button(
        "ETA table (CSV)",
        neutralise_frame(plan.eta_table()).to_csv(index=False).encode("utf-8"),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=keys.ROUTES_CSV,
        on_click="ignore",
    )


def _directions(plan: RoutePlan, day: int) -> None:
    """Driving-directions links (they need internet: shown only with the online basemap)."""
    if not plan.days[day].stops:
        return
    if state.tile_source() != "osm":
        st.caption(
            "Directions links open Google Maps, which needs internet: choose "
            "*OpenStreetMap tiles (online)* as the basemap in the sidebar to show them. "
            "Offline, take the GPX file to your phone."
        )
        return
    urls = directions_urls(plan, day)
    cols = st.columns(max(len(urls), 1))
    for n, url in enumerate(urls, start=1):
        label = "Directions in Google Maps" + (
            f" (part {n} of {len(urls)})" if len(urls) > 1 else ""
        )
        cols[n - 1].link_button(label, url, icon=":material/directions:")


# -- travel workload -------------------------------------------------------------------------


def workload_section(
    ws: Workspace, sid: str, network: RoadNetwork | None, estimate: EstimateParams
) -> None:
    """Each territory's weekly drive time: a quick estimate, a simulation on demand."""
    accounts = territory_accounts(ws, sid)
    if accounts.empty:
        st.info("No located account belongs to a territory of this scenario.")
        return
    homes = territory_homes(ws, sid, on=date.today())
    try:
        table = travel_workload(
            accounts, homes=homes, network=network, params=WorkloadParams(estimate=estimate)
        )
    except PlannerError as exc:
        st.error(str(exc))
        return
    if network is None:
        st.warning(
            f"**Estimated**: no road network, so drive times use {estimate.describe()}. "
            "Change the speed and the road factor under *Estimate settings* above.",
            icon=":material/straighten:",
        )
    simulated = _simulation(accounts, homes, network, estimate, sid)
    shown, value = workload_frame(table, ws.territories(sid), simulated)
    _workload_chart(ws, sid, shown, value)
    display.show_table(shown.drop(columns=[s.TERRITORY_ID]), hide_index=True, width="stretch")
    st.download_button(
        "Travel workload (CSV)",
        neutralise_frame(shown).to_csv(index=False).encode("utf-8"),
        file_name=f"travel-workload-{sid}-{datetime.now():%Y%m%d}.csv",
        mime="text/csv",
        key=keys.ROUTES_WORKLOAD_CSV,
        on_click="ignore",
    )


def _simulation(
    accounts: pd.DataFrame,
    homes: dict[str, tuple[float, float]],
    network: RoadNetwork | None,
    estimate: EstimateParams,
    sid: str,
) -> pd.DataFrame | None:
    """The simulate controls; the session's simulated workload for these inputs, if any."""
    controls = st.columns([1, 1, 2], vertical_alignment="bottom")
    weeks = controls[0].slider("Weeks simulated", 1, 8, 4, key=keys.ROUTES_SIM_WEEKS)
    per_territory = controls[1].slider(
        "Search time per territory (s)", 1, 8, 2, key=keys.ROUTES_SIM_SEARCH
    )
    source = state.workspace_source()
    key = (
        source.key if source else "",
        state.workspace_version(),
        sid,
        weeks,
        per_territory,
        network is None,
        estimate,
    )
    if controls[2].button(
        "Simulate routes",
        key=keys.ROUTES_SIMULATE,
        help="Plans each territory's routes for the weeks chosen and "
        "averages their drive time (slower, closer to reality).",
    ):
        route = RouteParams(
            weekdays=(0, 1, 2, 3, 4),
            weeks=weeks,
            use_frequencies=True,
            time_limit_s=float(per_territory),
            estimate=estimate,
        )
        params = WorkloadParams(method="simulate", estimate=estimate, route=route)
        bar = ProgressBar("Simulating each territory's routes…")
        began = time.monotonic()
        try:
            result = travel_workload(
                accounts, homes=homes, network=network, params=params, progress=bar
            )
        except PlannerError as exc:
            st.error(str(exc))
            return None
        finally:
            bar.clear()
        remember("workload", key, (result, time.monotonic() - began))
    stored = recall("workload", key)
    if stored is None:
        return None
    simulated, took = stored
    st.caption(f"Simulated {weeks} weeks per territory in {took:.1f} s.")
    return simulated


def _workload_chart(ws: Workspace, sid: str, shown: pd.DataFrame, value: str) -> None:
    terr = ws.territories(sid)
    leaves = viz.leaf_territory_ids(terr)
    shapes = terr.set_index(terr[s.TERRITORY_ID].astype(str)).geometry
    colors = viz.territory_colors(leaves, geometries=shapes)
    chart_data = pd.DataFrame(
        {
            s.TERRITORY_ID: shown[s.TERRITORY_ID],
            s.NAME: shown["territory"],
            "is_leaf": True,
            value: shown[value],
        }
    )
    st.altair_chart(
        viz.territory_bar_chart(chart_data, value=value, colors=colors), width="stretch"
    )
