"""Streamlit pieces of the Routes page's *Team plan* tab: choose reps and a pool, plan, show.

What can be planned and how lives in :mod:`planner.services.team_routes`; the
map in :func:`planner.services.route_map.team_map`. This module keeps the
controls, the session's last team plan and the panels.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from planner import schema as s
from planner.access import AccessScope
from planner.errors import InputError, PlannerError
from planner.export.safety import neutralise_frame
from planner.labels import count_of
from planner.routing import EstimateParams, RoadNetwork, RouteParams, UnvisitedStop, to_gpx
from planner.routing.hours import DAY_NAMES
from planner.services.rep_routes import day_date, next_working_day, week_start
from planner.services.route_map import rep_color, team_map
from planner.services.team_routes import (
    PoolKind,
    TeamRequest,
    TeamRoutes,
    plan_team_routes,
    pool_territories,
    team_reps,
    team_summary,
    team_visits,
)
from planner.workspace import Workspace
from ui import display, keys, maps, state
from ui.progress import ProgressBar
from ui.routes import recall, remember, road_context_for, workspace_file

__all__ = ["team_section"]

_POOL_LABELS: dict[PoolKind, str] = {
    "territory": "Accounts of territories",
    "vacant": "A vacant territory's accounts",
    "unassigned": "Accounts in no territory",
}


def team_section(
    ws: Workspace,
    sid: str,
    scope: AccessScope | None,
    network: RoadNetwork | None,
    estimate: EstimateParams,
) -> None:
    """The whole tab: controls, the plan on demand (with progress), then map, tables, files."""
    request = _controls(ws, sid, scope, estimate)
    if request is None:
        return
    source = state.workspace_source()
    key = (
        source.key if source else "",
        state.workspace_version(),
        sid,
        request,
        None if network is None else network.source,
    )
    if st.button("Plan the team", type="primary", key=keys.TEAM_ROUTES_PLAN):
        _plan(ws, sid, scope, request, network, key)
    team = recall("team", key)
    if team is None:
        st.caption("Choose the reps and the accounts, then *Plan the team*.")
        return
    _show(team, network, ws, key)


# -- what to plan ----------------------------------------------------------------------------


def _controls(
    ws: Workspace, sid: str, scope: AccessScope | None, estimate: EstimateParams
) -> TeamRequest | None:
    top = st.columns([2, 3, 2], vertical_alignment="bottom")
    first = week_start(next_working_day(date.today()))
    monday = week_start(top[0].date_input("Week of", first, key=keys.TEAM_ROUTES_WEEK))
    pool: PoolKind = top[1].radio(
        "Pool of accounts",
        list(_POOL_LABELS),
        horizontal=True,
        format_func=_POOL_LABELS.__getitem__,
        key=keys.TEAM_ROUTES_POOL,
    )
    weeks = int(top[2].slider("Weeks", 1, 4, 1, key=keys.TEAM_ROUTES_WEEKS))
    territory_ids = _pool_territories(ws, sid, scope, pool, monday)
    reps = team_reps(ws, sid, scope, on=monday)
    if reps.empty:
        st.info("No rep you may plan has a home location. Add the reps' homes first.")
        return None
    owners = [
        r
        for r, t in zip(reps[s.REP_ID], reps["territories"], strict=True)
        if set(t.split(", ")) & set(territory_ids)
    ]
    names = dict(zip(reps[s.REP_ID], reps[s.NAME], strict=True))
    rep_ids = st.multiselect(
        "Reps",
        list(names),
        default=owners,
        format_func=lambda r: f"{names[r]} ({r})",
        key=keys.team_routes_reps(territory_ids),
        help="Each rep starts and ends every day at home; the plan decides who visits what.",
    )
    shifts = _shift_editor(reps[reps[s.REP_ID].isin(rep_ids)])
    opts = st.columns([3, 2], vertical_alignment="bottom")
    due = opts[0].radio(
        "Visits",
        [True, False],
        horizontal=True,
        key=keys.TEAM_ROUTES_DUE,
        format_func=lambda d: "As often as due (visit frequencies)" if d else "Each account once",
    )
    search = opts[1].slider("Search time (s)", 2, 60, 5, key=keys.TEAM_ROUTES_SEARCH)
    if not rep_ids:
        st.info("Pick the reps to plan together.")
        return None
    try:
        return TeamRequest(
            rep_ids=tuple(rep_ids),
            pool=pool,
            territory_ids=territory_ids,
            first_monday=monday,
            weeks=weeks,
            use_frequencies=bool(due),
            shifts=shifts,
            route=RouteParams(time_limit_s=float(search), estimate=estimate),
        )
    except InputError as exc:
        st.info("\n".join(p.message for p in exc.problems) or str(exc))
        return None


def _pool_territories(
    ws: Workspace, sid: str, scope: AccessScope | None, pool: PoolKind, monday: date
) -> tuple[str, ...]:
    """Ask which territories' accounts to pool (none asked for unassigned accounts)."""
    if pool == "unassigned":
        return ()
    terr = pool_territories(ws, sid, scope, on=monday)
    if pool == "vacant":
        terr = terr[terr["vacant"].astype(bool)]
        if terr.empty:
            st.info("Every territory you see has an owner in this week.")
            return ()
    labels = dict(zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True))
    picked = st.multiselect(
        "Territories",
        list(labels),
        format_func=lambda t: f"{labels[t]} ({t})",
        key=keys.team_routes_territories(pool),
        placeholder="Pick the territories whose accounts to plan",
    )
    return tuple(map(str, picked))


def _shift_editor(reps: pd.DataFrame) -> tuple[tuple[str, str, str, str], ...]:
    """Show the chosen reps' shifts (from the reps table), editable for this plan."""
    if reps.empty:
        return ()
    table = reps[[s.REP_ID, s.NAME, "territories", "day_start", "day_end", "weekdays"]]
    edited = st.data_editor(
        table,
        hide_index=True,
        width="stretch",
        key=keys.team_routes_shifts(reps[s.REP_ID]),
        disabled=[s.REP_ID, s.NAME, "territories"],
        column_config=display.table_config(
            table,
            {
                "day_start": st.column_config.TextColumn("Day starts", help="HH:MM"),
                "day_end": st.column_config.TextColumn("Day ends", help="HH:MM"),
                "weekdays": st.column_config.TextColumn("Working days", help="e.g. Mo,Tu,We,Th,Fr"),
            },
        ),
    )
    return tuple(
        (str(r), str(a), str(b), str(w))
        for r, a, b, w in zip(
            edited[s.REP_ID],
            edited["day_start"],
            edited["day_end"],
            edited["weekdays"],
            strict=True,
        )
    )


def _plan(
    ws: Workspace,
    sid: str,
    scope: AccessScope | None,
    request: TeamRequest,
    network: RoadNetwork | None,
    key: object,
) -> None:
    bar = ProgressBar(f"Planning {count_of(len(request.rep_ids), 'rep')} together…")
    began = time.monotonic()
    try:
        team = plan_team_routes(ws, sid, scope, request, network=network, progress=bar)
    except PlannerError as exc:
        st.error(str(exc))
        if isinstance(exc, InputError):
            for problem in exc.problems:
                st.caption(f"- {problem.message}" + (f" ({problem.fix})" if problem.fix else ""))
        return
    finally:
        bar.clear()
    remember("team", key, team)
    remember("team_s", key, time.monotonic() - began)


# -- the plan --------------------------------------------------------------------------------


def _show(team: TeamRoutes, network: RoadNetwork | None, ws: Workspace, key: object) -> None:
    plan = team.plan
    summary = team_summary(team)
    cols = st.columns(4)
    cols[0].metric("Reps", len(plan.reps))
    cols[1].metric("Visits", int(summary["visits"].sum()))
    cols[2].metric(
        "Drive time" + (" (estimate)" if network is None else ""),
        f"{summary['drive h'].sum():,.1f} h",
    )
    missed = [u for u in plan.unvisited if u.status != "not_due"]
    cols[3].metric("Not visited", len(missed), help="Visits due in the plan that nobody makes")
    day = _day_choice(team)
    tiles = state.tile_source()
    roads = road_context_for(workspace_file(ws)) if tiles == "none" and network else None
    m = team_map(plan, day, network=network, tiles=tiles, roads=roads)
    maps.show_map(m, key=keys.TEAM_ROUTES_MAP, height=520)
    maps.attribution_caption()
    display.show_table(_colored(summary), hide_index=True, width="stretch")
    visits = team_visits(team)
    if day is not None:
        when = day_date(team.monday, day[1], day[0])
        visits = visits[visits["date"] == f"{DAY_NAMES[day[1]]} {when:%Y-%m-%d}"]
    display.show_table(visits, hide_index=True, width="stretch")
    if missed:
        with st.expander(f"Not visited: {len(missed)}"):
            display.show_table(_unvisited(missed), hide_index=True, width="stretch")
    not_due = len(plan.unvisited) - len(missed)
    if not_due:
        st.caption(f"{count_of(not_due, 'account')} of the pool {'is' if not_due == 1 else 'are'} "
                   "not due in these weeks.")  # fmt: skip
    _downloads(team, network)
    took = recall("team_s", key)
    method = plan.plans[0].method if plan.plans else ""
    st.caption(f"{method} · planned in {took:.1f} s" if took else method)


def _day_choice(team: TeamRoutes) -> tuple[int, int] | None:
    days = sorted({(d.week, d.weekday) for p in team.plan.plans for d in p.days})

    def label(i: int) -> str:
        if i < 0:
            return "Whole plan"
        week, weekday = days[i]
        return f"{DAY_NAMES[weekday]} {day_date(team.monday, weekday, week):%d %b}"

    chosen = st.segmented_control(
        "Day", [-1, *range(len(days))], default=-1, format_func=label, key=keys.TEAM_ROUTES_DAY
    )
    return None if chosen is None or chosen < 0 else days[int(chosen)]


def _colored(summary: pd.DataFrame) -> object:
    """The summary with each rep's name on the rep's map colour."""

    def style(row: pd.Series) -> list[str]:
        color = rep_color(int(str(row.name)))
        return [f"background-color: {color}; color: #fff" if c == "rep" else "" for c in row.index]

    return summary.style.apply(style, axis=1).format(
        {"drive h": "{:.2f}", "drive km": "{:.1f}", "working h": "{:.1f}"}
    )


def _unvisited(missed: list[UnvisitedStop]) -> pd.DataFrame:
    rows = [
        {
            "account": u.name or u.stop_id,
            "account id": u.stop_id,
            "status": u.status,
            "reason": u.reason,
        }
        for u in missed
    ]
    return pd.DataFrame(rows)


def _downloads(team: TeamRoutes, network: RoadNetwork | None) -> None:
    """GPX (every day, for the rep's phone) and the visits as CSV, per rep."""
    st.markdown("**Files per rep**")
    end = team.monday + timedelta(days=7 * team.request.weeks - 1)
    for r, (rep, plan) in enumerate(zip(team.plan.reps, team.plan.plans, strict=True)):
        stem = f"team-route-{rep.rep_id}-{team.monday:%Y-%m-%d}-{end:%Y-%m-%d}"
        cols = st.columns([2, 1, 1], vertical_alignment="center")
        cols[0].markdown(
            f":material/circle: {rep.name}  \n`{rep.rep_id}`",
            help=f"colour on the map: {rep_color(r)}",
        )
        empty = not any(d.stops for d in plan.days)
        cols[1].download_button(
            "GPX",
            to_gpx(plan, network),
            file_name=f"{stem}.gpx",
            mime="application/gpx+xml",
            key=keys.team_routes_file("gpx", r),
            on_click="ignore",
            disabled=empty,
            icon=":material/smartphone:",
        )
        cols[2].download_button(
            "CSV",
            neutralise_frame(plan.eta_table()).to_csv(index=False).encode("utf-8"),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=keys.team_routes_file("csv", r),
            on_click="ignore",
        )
