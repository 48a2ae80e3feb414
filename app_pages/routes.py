"""Routes: a rep's day route (map, ETA table, totals, downloads) and each territory's drive time."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

import pandas as pd
import streamlit as st

from planner import schema as s
from planner import viz
from planner.errors import InputError, PlannerError
from planner.export.safety import neutralise_frame
from planner.models import UserRole
from planner.routing import (
    EstimateParams,
    RoadNetwork,
    RouteParams,
    RoutePlan,
    WorkloadParams,
    directions_urls,
    plan_routes,
    to_geojson,
    to_gpx,
    travel_workload,
)
from planner.routing.hours import DAY_NAMES
from planner.workspace import Workspace
from ui import auth, maps, routes, state
from ui.progress import ProgressBar

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DUE, CHOSEN = "due", "chosen"


def show_error(exc: PlannerError) -> None:
    """Show a library error with every problem it lists."""
    st.error(str(exc))


def estimate_settings(network: RoadNetwork | None) -> EstimateParams:
    """Ask how to estimate drive times when there is no road network."""
    if network is not None:
        return EstimateParams()
    with st.expander("Estimate settings (no road network)"):
        left, right = st.columns(2)
        speed = left.number_input(
            "Average speed (km/h)", 10.0, 130.0, 40.0, 5.0, key="tp.widget.routes.speed"
        )
        circuity = right.number_input(
            "Road distance ÷ straight distance",
            1.0,
            3.0,
            1.3,
            0.05,
            key="tp.widget.routes.circuity",
            help="How much longer roads are than straight lines (1.2 to 1.4 in most places).",
        )
    return EstimateParams(circuity=float(circuity), speed_kph=float(speed))


def estimate_banner(plan: RoutePlan) -> None:
    """Say loudly that the figures are estimates when there is no road network."""
    if plan.estimated:
        st.warning(
            f"**Estimated drive times.** This workspace has no road network, so drive "
            f"times and distances are estimates ({plan.method}). The map joins the stops "
            "with straight dashed lines, not roads.",
            icon=":material/straighten:",
        )


# -- the day route ---------------------------------------------------------------------------


def day_route(ws: Workspace, sid: str, network: RoadNetwork | None, ws_file: Path | None) -> None:
    """The rep's route on a day: choose, plan, then map, ETA table, totals and downloads."""
    scope = auth.current_scope()
    today = date.today()
    top = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
    day = top[1].date_input(
        "Date",
        value=routes.next_working_day(today),
        key="tp.widget.routes.date",
        format="YYYY-MM-DD",
        help="Today, or the next weekday at weekends.",
    )
    reps = routes.routable_reps(ws, sid, scope, on=day)
    if reps.empty:
        top[0].selectbox("Rep", ["—"], disabled=True, key="tp.widget.routes.rep_none")
        st.info(
            "No rep whose routes you may see owns a territory in this scenario on "
            f"{day:%Y-%m-%d}. Assign an owner to a territory first."
        )
        return
    names = dict(zip(reps[s.REP_ID], reps[s.NAME], strict=True))
    own = scope.user_id if scope is not None and scope.user_id in names else None
    ids = list(names)
    rep_id = top[0].selectbox(
        "Rep",
        ids,
        index=ids.index(own) if own else 0,
        format_func=lambda r: f"{names[r]} ({r})",
        key="tp.widget.routes.rep",
        disabled=len(ids) == 1,
    )
    start = top[2].time_input("Day starts", clock(8, 0), key="tp.widget.routes.start")
    end = top[3].time_input("Day ends", clock(17, 0), key="tp.widget.routes.end")

    opts = st.columns([3, 2, 2], vertical_alignment="bottom")
    weekdays = (
        opts[0].pills(
            "Working days",
            list(range(7)),
            selection_mode="multi",
            default=[0, 1, 2, 3, 4],
            format_func=lambda d: DAY_NAMES[d],
            key="tp.widget.routes.weekdays",
        )
        or []
    )
    mode = opts[1].radio(
        "Accounts",
        [DUE, CHOSEN],
        horizontal=True,
        key="tp.widget.routes.mode",
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
        key="tp.widget.routes.search",
        help="Longer searches find slightly shorter routes.",
    )
    estimate = estimate_settings(network)

    accounts = routes.rep_accounts(ws, sid, rep_id, on=day)
    territories = routes.rep_territories(ws, sid, rep_id, on=day)
    if accounts.empty:
        st.info(
            f"{names[rep_id]}'s territories ({', '.join(territories)}) have no located "
            "accounts to visit."
        )
        return
    monday = routes.week_start(day)
    if mode == DUE:
        plan_days = tuple(sorted(weekdays))
        if not plan_days:
            st.warning("Pick at least one working day.")
            return
        stops = routes.visits_due(accounts, monday, working_days=len(plan_days))
        st.caption(
            f"{len(accounts):,} accounts in {', '.join(territories)} · "
            f"**{int(stops['visits_this_week'].sum()) if len(stops) else 0} visits due** in the "
            f"week of {monday:%d %b %Y} (from each account's visits per month), spread over "
            f"{', '.join(DAY_NAMES[d] for d in plan_days)}."
        )
        visits = tuple(int(v) for v in stops["visits_this_week"])
        # plan_routes turns visits per month into visits in the plan: ask for exactly these.
        stops = stops.assign(**{s.VISITS_PER_MONTH: stops["visits_this_week"] * 52.0 / 12.0})
    else:
        plan_days = (day.weekday(),)
        labels = {
            a: f"{n} ({a})" if isinstance(n, str) and n else str(a)
            for a, n in zip(accounts[s.ACCOUNT_ID].astype(str), accounts[s.NAME], strict=True)
        }
        with st.form("tp.form.routes.accounts", border=False):
            picked = st.multiselect(
                "Accounts to visit",
                list(labels),
                format_func=labels.__getitem__,
                key="tp.widget.routes.accounts",
                placeholder="Pick the accounts to visit",
            )
            st.form_submit_button(
                "Route these accounts", type="primary", key="tp.widget.routes.route_chosen"
            )
        stops = accounts[accounts[s.ACCOUNT_ID].astype(str).isin(picked)]
        visits = tuple(1 for _ in range(len(stops)))
    if stops.empty:
        st.info(
            "No visits to route: "
            + ("no account is due this week." if mode == DUE else "pick the accounts to visit.")
        )
        return

    home = routes.rep_home(ws, rep_id)
    if home is None:
        home = (float(stops[s.LATITUDE].mean()), float(stops[s.LONGITUDE].mean()))
        st.warning(
            f"{names[rep_id]} has no home location: the route starts and ends at the "
            "centre of the stops. Add the rep's home address on the data page."
        )
    try:
        params = RouteParams(
            day_start=f"{start:%H:%M}",
            day_end=f"{end:%H:%M}" if end != clock(0, 0) else "24:00",
            weekdays=plan_days,
            use_frequencies=mode == DUE,
            time_limit_s=float(search_s),
            estimate=estimate,
        )
    except InputError as exc:
        show_error(exc)
        return
    source = state.workspace_source()
    key = routes.PlanKey(
        workspace=source.key if source else "",
        version=state.workspace_version(),
        scenario_id=sid,
        rep_id=rep_id,
        first_day=monday if mode == DUE else day,
        weekdays=plan_days,
        day_start=params.day_start,
        day_end=params.day_end,
        account_ids=tuple(stops[s.ACCOUNT_ID].astype(str)),
        visits=visits,
        time_limit_s=params.time_limit_s,
        network=None if network is None else network.source,
        speed_kph=estimate.speed_kph,
        circuity=estimate.circuity,
    )
    plan = routes.recall("plan", key)
    if plan is None:
        bar = ProgressBar(f"Planning {names[rep_id]}'s route…")
        began = time.monotonic()
        try:
            plan = plan_routes(stops, home, network=network, params=params, progress=bar)
        except PlannerError as exc:
            bar.clear()
            show_error(exc)
            return
        bar.clear()
        routes.remember("plan", key, plan)
        routes.remember("plan_s", key, time.monotonic() - began)
    show_plan(plan, key, rep_id, names[rep_id], day, network, ws, sid, territories, ws_file)


def day_choice(plan: RoutePlan, key: routes.PlanKey, wanted: date) -> int:
    """Pick the day of the plan to show (the chosen date when it is a working day)."""
    if len(plan.days) == 1:
        return 0
    weekdays = [d.weekday for d in plan.days]
    first = weekdays.index(wanted.weekday()) if wanted.weekday() in weekdays else 0
    busy = [i for i, d in enumerate(plan.days) if d.stops]
    if wanted.weekday() not in weekdays:
        first = busy[0] if busy else 0
        st.info(
            f"{WEEKDAY_NAMES[wanted.weekday()]} is not a working day: showing "
            f"{WEEKDAY_NAMES[weekdays[first]]}."
        )
    elif not plan.days[first].stops and busy:
        first = busy[0]
        st.info(
            f"The week's visits fit on fewer days; none falls on "
            f"{WEEKDAY_NAMES[wanted.weekday()]}: showing {WEEKDAY_NAMES[weekdays[first]]}."
        )

    def label(i: int) -> str:
        d = plan.days[i]
        when = routes.day_date(key.first_day, d.weekday)
        return f"{DAY_NAMES[d.weekday]} {when:%d %b} · {len(d.stops)} visits"

    chosen = st.segmented_control(
        "Day",
        list(range(len(plan.days))),
        default=first,
        format_func=label,
        key=f"tp.widget.routes.day.{key.first_day}.{key.weekdays}",
    )
    return first if chosen is None else int(chosen)


def show_plan(
    plan: RoutePlan,
    key: routes.PlanKey,
    rep_id: str,
    rep_name: str,
    wanted: date,
    network: RoadNetwork | None,
    ws: Workspace,
    sid: str,
    territories: list[str],
    ws_file: Path | None,
) -> None:
    """Map, ETA table, totals, what was left out, downloads and directions of a plan."""
    estimate_banner(plan)
    i = day_choice(plan, key, wanted)
    route = plan.days[i]
    when = routes.day_date(key.first_day, route.weekday) if len(plan.days) > 1 else key.first_day
    est = " (estimate)" if plan.estimated else ""
    cols = st.columns(6)
    cols[0].metric("Visits", len(route.stops))
    cols[1].metric("Drive time" + est, f"{route.drive_s / 60:,.0f} min")
    cols[2].metric("Drive distance" + est, f"{route.drive_m / 1000:,.1f} km")
    cols[3].metric("Leave home", routes.clock_text(route.leave_home_s) if route.stops else "—")
    cols[4].metric("Back home", routes.clock_text(route.return_home_s) if route.stops else "—")
    cols[5].metric("Working time", f"{route.work_s / 3600:,.1f} h")

    terr = ws.territories(sid)
    mine = terr[terr[s.TERRITORY_ID].astype(str).isin(territories)]
    tiles = state.tile_source()
    roads = routes.road_context_for(ws_file) if tiles == "none" and network is not None else None
    m = routes.route_map(plan, i, network=network, tiles=tiles, roads=roads, territories=mine)
    maps.show_map(m, key=f"tp.routes.map.{i}", height=520)
    maps.attribution_caption()

    st.subheader(f"{WEEKDAY_NAMES[route.weekday]} {when:%d %B %Y}: {rep_name}")
    if route.stops:
        st.dataframe(routes.eta_frame(plan, i), hide_index=True, width="stretch")
    else:
        st.info("No visit on this day.")
    for note in plan.notes:
        if not note.startswith("drive times are estimates"):
            st.caption(f"Note: {note}")

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
            st.dataframe(plan.unvisited_table(), hide_index=True, width="stretch")
    elapsed = routes.recall("plan_s", key)
    st.caption(f"{plan.method} · planned in {elapsed:.1f} s" if elapsed else plan.method)

    downloads(plan, i, rep_id, when, network)
    directions(plan, i)


def downloads(
    plan: RoutePlan, day: int, rep_id: str, when: date, network: RoadNetwork | None
) -> None:
    """GPX of the day for a phone, the plan as GeoJSON, and the ETA table as CSV."""
    stem = f"route-{rep_id}-{when:%Y-%m-%d}"
    eta = plan.eta_table()
    cols = st.columns(3)
    cols[0].download_button(
        "GPX for your phone",
        to_gpx(plan, network, day=day),
        file_name=f"{stem}.gpx",
        mime="application/gpx+xml",
        key="tp.widget.routes.gpx",
        on_click="ignore",
        disabled=not plan.days[day].stops,
        icon=":material/smartphone:",
    )
    cols[1].download_button(
        "GeoJSON (whole plan)",
        json.dumps(to_geojson(plan, network)),
        file_name=f"{stem}.geojson",
        mime="application/geo+json",
        key="tp.widget.routes.geojson",
        on_click="ignore",
    )
    cols[2].download_button(
        "ETA table (CSV)",
        neutralise_frame(eta).to_csv(index=False).encode("utf-8"),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key="tp.widget.routes.csv",
        on_click="ignore",
    )


def directions(plan: RoutePlan, day: int) -> None:
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


def travel_workload_section(ws: Workspace, sid: str, network: RoadNetwork | None) -> None:
    """Each territory's weekly drive time: a quick estimate, a simulation on demand."""
    st.caption(
        "Weekly drive time of each territory's rep, from the accounts' visit frequencies "
        "and the rep's home. The estimate takes milliseconds; the simulation plans every "
        "territory's routes and takes a few seconds per territory. A territory whose "
        "accounts lie far from their centre (high spread) is costly to drive."
    )
    estimate = (
        EstimateParams()
        if network is not None
        else EstimateParams(
            speed_kph=float(st.session_state.get("tp.widget.routes.speed", 40.0)),
            circuity=float(st.session_state.get("tp.widget.routes.circuity", 1.3)),
        )
    )
    accounts = routes.territory_accounts(ws, sid)
    if accounts.empty:
        st.info("No located account belongs to a territory of this scenario.")
        return
    homes = routes.territory_homes(ws, sid, on=date.today())
    try:
        table = travel_workload(
            accounts, homes=homes, network=network, params=WorkloadParams(estimate=estimate)
        )
    except PlannerError as exc:
        show_error(exc)
        return
    if network is None:
        st.warning(
            f"**Estimated**: no road network, so drive times use {estimate.describe()}. "
            "Change the speed and the road factor under *Estimate settings* on the Day "
            "route tab.",
            icon=":material/straighten:",
        )

    controls = st.columns([1, 1, 2], vertical_alignment="bottom")
    weeks = controls[0].slider("Weeks simulated", 1, 8, 4, key="tp.widget.routes.sim_weeks")
    per_territory = controls[1].slider(
        "Search time per territory (s)", 1, 8, 2, key="tp.widget.routes.sim_search"
    )
    source = state.workspace_source()
    sim_key = (
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
        key="tp.widget.routes.simulate",
        help="Plans each territory's routes for the weeks chosen and "
        "averages their drive time (slower, closer to reality).",
    ):
        bar = ProgressBar("Simulating each territory's routes…")
        params = WorkloadParams(
            method="simulate",
            estimate=estimate,
            route=RouteParams(
                weekdays=(0, 1, 2, 3, 4),
                weeks=weeks,
                use_frequencies=True,
                time_limit_s=float(per_territory),
                estimate=estimate,
            ),
        )
        began = time.monotonic()
        try:
            simulated = travel_workload(
                accounts, homes=homes, network=network, params=params, progress=bar
            )
        except PlannerError as exc:
            bar.clear()
            show_error(exc)
            return
        bar.clear()
        routes.remember("workload", sim_key, (simulated, time.monotonic() - began))
    stored = routes.recall("workload", sim_key)

    terr = ws.territories(sid)
    names = {
        str(t): (str(n) if isinstance(n, str) and n else str(t))
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
    }
    shown = pd.DataFrame(
        {
            "territory": table[s.TERRITORY_ID].astype(str).map(names),
            s.TERRITORY_ID: table[s.TERRITORY_ID].astype(str),
            "accounts": table["accounts"],
            "visits / week": table["visits_per_week"].round(1),
            "visit h / week": table["visit_h_per_week"].round(1),
            "drive h / week (estimate)": table["drive_h_per_week"].round(2),
            "drive km / week (estimate)": table["drive_km_per_week"].round(1),
            "spread (km)": table["spread_km"].round(2),
        }
    )
    value = "drive h / week (estimate)"
    if stored is not None:
        simulated, took = stored
        by_id = simulated.set_index(simulated[s.TERRITORY_ID].astype(str))
        shown["drive h / week (simulated)"] = (
            shown[s.TERRITORY_ID].map(by_id["drive_h_per_week"]).round(2)
        )
        shown["simulation"] = shown[s.TERRITORY_ID].map(by_id["method"])
        value = "drive h / week (simulated)"
        st.caption(f"Simulated {weeks} weeks per territory in {took:.1f} s.")
    drive = shown[value].astype(float)
    work = drive + shown["visit h / week"].astype(float)
    shown["drive share of work"] = (drive / work.where(work > 0)).round(2)
    median = float(shown["spread (km)"].median())
    shown["spread out?"] = [
        "spread out" if median > 0 and v > 1.5 * median else "" for v in shown["spread (km)"]
    ]
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
    st.dataframe(shown.drop(columns=[s.TERRITORY_ID]), hide_index=True, width="stretch")
    st.download_button(
        "Travel workload (CSV)",
        neutralise_frame(shown).to_csv(index=False).encode("utf-8"),
        file_name=f"travel-workload-{sid}-{datetime.now():%Y%m%d}.csv",
        mime="text/csv",
        key="tp.widget.routes.workload_csv",
        on_click="ignore",
    )


# -- the page --------------------------------------------------------------------------------

ws = state.current_workspace()
sid = state.current_scenario_id()
scope = auth.current_scope()
ws_file = routes.workspace_file(ws)
network = routes.network_for(ws_file)

st.title("Routes")
if network is None:
    problem = routes.network_error(ws_file)
    st.caption(
        (
            f"The road network beside this workspace could not be read ({problem}): "
            if problem
            else "No road network saved with this workspace: "
        )
        + "drive times are straight-line **estimates**."
    )
else:
    st.caption(f"Drive times along the roads of {network.source} ({network.n_nodes:,} junctions).")

if scope is not None and scope.role == UserRole.REP:
    day_route(ws, sid, network, ws_file)
else:
    route_tab, workload_tab = st.tabs(["Day route", "Travel workload"])
    with route_tab:
        day_route(ws, sid, network, ws_file)
    with workload_tab:
        travel_workload_section(ws, sid, network)
