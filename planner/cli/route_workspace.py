"""``planner route --workspace W --rep USER --date D``: a rep's route planned from a workspace.

The rep's territories on the date, their accounts (visit frequencies,
durations, opening hours) and the rep's home come from the workspace, through
:mod:`planner.services.rep_routes`, exactly as the app's Routes page plans them.
Every problem of the arguments and of the rep on that date is reported at once.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from planner import schema as s
from planner.access import restrict_workspace, scope_for
from planner.cli import emit
from planner.cli.route_common import (
    WORKWEEK,
    network_of,
    parse_weekdays,
    plan_report,
    route_params,
    write_plan,
)
from planner.errors import InputError, PlannerWarning, Problem
from planner.routing import RoadNetwork, load_network
from planner.services.rep_accounts import saved_network_file
from planner.services.rep_routes import (
    RepDay,
    RepRoute,
    RepRouteRequest,
    plan_rep_route,
    rep_day,
    unknown_rep,
)
from planner.workspace import Workspace, open_workspace

__all__ = ["route_workspace"]

T = TypeVar("T")


def route_workspace(args: argparse.Namespace) -> int:
    """Plan a rep's day (or weeks) from a workspace, as the Routes page does."""
    problems: list[Problem] = []
    on = _parse_date(args.date, problems)
    request = _request(args, problems)
    whole = open_workspace(args.workspace)
    sid = _scenario(whole, args.scenario, problems)
    ws = _as_user(whole, sid, args)
    day = _rep_day(ws, sid, args.rep, on, problems)
    if problems or day is None or request is None:
        raise InputError(f"cannot route from {args.workspace} ({len(problems)} problems)", problems)
    network = _workspace_network(args, whole)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        route = plan_rep_route(day, request, network=network)
    written = write_plan(args, route.plan, network)
    messages = [str(w.message) for w in caught] + list(route.plan.notes)
    payload, lines = plan_report(route.plan, messages, written)
    payload.update(_route_facts(route))
    emit(args, payload, "\n".join([_route_heading(route), *lines]))
    return 0


def _parse_date(text: str | None, problems: list[Problem]) -> date | None:
    if not text:
        problems.append(
            Problem("--date is missing", fix="give the day to route: --date 2026-01-05")
        )
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append(Problem(f"--date {text!r} is not a date", fix="use YYYY-MM-DD"))
        return None


def _request(args: argparse.Namespace, problems: list[Problem]) -> RepRouteRequest | None:
    """The route request of the options, or ``None`` with its problems added."""
    if args.stops or args.reps or args.frequencies or args.weekday or args.home:
        problems.append(
            Problem(
                "--stops, --reps, --home, --weekday and --frequencies do not apply to a workspace",
                fix="leave them out: the workspace gives the stops, the home and frequencies",
            )
        )
    accounts = tuple(a.strip() for a in (args.accounts or "").split(",") if a.strip())
    weekdays = _attempt(lambda: parse_weekdays(args.weekdays or WORKWEEK), problems)
    shift = _attempt(lambda: route_params(args, weekdays=weekdays or (0,)), problems)
    if weekdays is None or shift is None:
        return None
    return _attempt(
        lambda: RepRouteRequest(
            mode="chosen" if accounts else "due",
            weekdays=weekdays,
            weeks=args.weeks,
            account_ids=accounts,
            route=shift,
        ),
        problems,
    )


def _attempt(make: Callable[[], T], problems: list[Problem]) -> T | None:
    """Return ``make()``, or ``None`` with the problems of its :class:`InputError` added."""
    try:
        return make()
    except InputError as exc:
        for problem in exc.problems or [Problem(exc.summary)]:
            if problem not in problems:
                problems.append(problem)
        return None


def _scenario(ws: Workspace, scenario: str | None, problems: list[Problem]) -> str | None:
    known = [str(v) for v in ws.scenarios[s.SCENARIO_ID]]
    if scenario is None:
        return ws.active_scenario_id()
    if scenario not in known:
        problems.append(
            Problem(
                f"--scenario {scenario!r} is not in the workspace",
                fix=f"use one of {', '.join(known) or '(none)'}",
            )
        )
        return None
    return scenario


def _as_user(ws: Workspace, sid: str | None, args: argparse.Namespace) -> Workspace:
    """With ``--as-user``: only what that user may see, and only a rep they may see."""
    if not args.as_user or sid is None:
        return ws
    scope = scope_for(ws, args.as_user, scenario_id=sid)
    if args.rep:
        scope.require_rep(args.rep)
    return restrict_workspace(ws, scope)


def _rep_day(
    ws: Workspace, sid: str | None, rep: str | None, on: date | None, problems: list[Problem]
) -> RepDay | None:
    if not rep:
        problems.append(Problem("--rep is missing", fix="give the rep's user id: --rep USER"))
        return None
    if sid is None or on is None:
        unknown = unknown_rep(ws, sid or ws.active_scenario_id(), rep, on=on)
        if unknown is not None:
            problems.append(_as_argument(unknown, rep))
        return None
    try:
        return rep_day(ws, sid, rep, on=on)
    except InputError as exc:
        problems.extend(_as_argument(p, rep) for p in exc.problems)
        return None


def _as_argument(problem: Problem, rep: str) -> Problem:
    """A problem of the rep, named by its argument."""
    return Problem(f"--rep {rep}: {problem.message}", fix=problem.fix)


def _workspace_network(args: argparse.Namespace, ws: Workspace) -> RoadNetwork | None:
    if args.network:
        return network_of(args)
    saved = saved_network_file(ws.path)
    return None if saved is None else load_network(saved)


def _route_facts(route: RepRoute) -> dict[str, Any]:
    day = route.day
    return {
        "scenario_id": day.scenario_id,
        "rep_id": day.rep_id,
        "rep_name": day.rep_name,
        "date": day.on.isoformat(),
        "first_day": route.stops.first_day.isoformat(),
        "territories": list(day.territories),
        "accounts": len(day.accounts),
        "visits_asked": route.stops.visits,
        "home": list(route.home),
        "home_guessed": route.home_guessed,
    }


def _route_heading(route: RepRoute) -> str:
    day = route.day
    home = "centre of the stops (no home location)" if route.home_guessed else "home"
    return (
        f"{day.rep_name} ({day.rep_id}), {', '.join(day.territories)}, from {home}: "
        f"{route.stops.visits} visits asked from {len(day.accounts)} located accounts, "
        f"first day {route.stops.first_day:%a %Y-%m-%d}"
    )
