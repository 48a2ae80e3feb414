"""A rep's route from a workspace: the rep on a date, the visits to make, and the plan.

The workflow the Routes page and ``planner route --workspace`` share::

    day = rep_day(ws, scenario_id, "hel-rep-1", on=date(2026, 1, 5))  # every problem at once
    route = plan_rep_route(day, RepRouteRequest(weekdays=(0, 1, 2, 3, 4)), network=network)
    route.plan.eta_table()

A rep's stops are the located accounts of the territories the rep owns on
the date (:mod:`planner.services.rep_accounts`); the route starts and ends at
the rep's home. With ``mode="due"`` the visit frequencies decide which
accounts are due in the week(s) of the date and how often; with
``mode="chosen"`` the chosen accounts are visited once on the date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.progress import Progress, Stop
from planner.routing import RoadNetwork, RouteParams, RoutePlan, plan_routes, visits_due
from planner.services.rep_accounts import (
    account_drive_hours,
    located_accounts,
    owned_territories,
    rep_home,
    rep_territories,
)
from planner.workspace import Workspace

__all__ = [
    "RepDay",
    "RepRoute",
    "RepRouteRequest",
    "RepStops",
    "RouteMode",
    "account_drive_hours",
    "day_date",
    "next_working_day",
    "plan_rep_route",
    "rep_day",
    "rep_stops",
    "route_home",
    "route_params",
    "unknown_rep",
    "week_start",
]

#: ``due``: the visits the frequencies make due in the week(s); ``chosen``: the accounts picked.
RouteMode = Literal["due", "chosen"]


# -- the calendar ---------------------------------------------------------------------------


def week_start(day: date) -> date:
    """Return the Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def next_working_day(day: date, weekdays: Sequence[int] = (0, 1, 2, 3, 4)) -> date:
    """Return ``day`` if it is one of ``weekdays`` (0 = Monday), else the next one that is."""
    for ahead in range(7):
        candidate = day + timedelta(days=ahead)
        if candidate.weekday() in weekdays:
            return candidate
    return day


def day_date(first_day: date, weekday: int, week: int = 0) -> date:
    """Return the date of ``weekday`` (0 = Monday) in week ``week`` from Monday ``first_day``."""
    return first_day + timedelta(days=7 * week + weekday)


# -- one rep on one date --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RepDay:
    """A rep on a date: the territories owned then, their located accounts and the home.

    Build it with :func:`rep_day`, which checks that there is something to route.
    """

    scenario_id: str
    rep_id: str
    rep_name: str
    on: date
    territories: tuple[str, ...]
    accounts: pd.DataFrame
    home: tuple[float, float] | None

    @property
    def monday(self) -> date:
        """Monday of the date's week."""
        return week_start(self.on)


def rep_day(ws: Workspace, scenario_id: str, rep_id: str, *, on: date) -> RepDay:
    """Return what ``rep_id`` can be routed through on ``on``.

    Raises
    ------
    InputError
        Naming every problem at once: an unknown rep (with the known ones),
        no territory owned on the date, no account with coordinates.
    """
    names = dict(zip(ws.reps[s.REP_ID].astype(str), ws.reps[s.NAME], strict=True))
    rep_id = str(rep_id)
    unknown = unknown_rep(ws, scenario_id, rep_id, on=on)
    if unknown is not None:
        raise InputError(f"unknown rep '{rep_id}'", [unknown])
    territories = rep_territories(ws, scenario_id, rep_id, on=on)
    accounts = located_accounts(ws, scenario_id, set(territories))
    problems = _day_problems(ws, scenario_id, rep_id, on, territories, accounts)
    if problems:
        raise InputError(f"nothing to route for rep '{rep_id}' on {on:%Y-%m-%d}", problems)
    return RepDay(
        scenario_id=scenario_id,
        rep_id=rep_id,
        rep_name=s.text_or_none(names[rep_id]) or rep_id,
        on=on,
        territories=tuple(territories),
        accounts=accounts,
        home=rep_home(ws, rep_id),
    )


def unknown_rep(ws: Workspace, scenario_id: str, rep_id: str, *, on: date | None) -> Problem | None:
    """Return the problem of a rep id the workspace does not know (``None`` if it knows it).

    The fix lists the reps owning a territory on ``on`` (every rep and user
    when ``on`` is ``None`` or nobody owns one then).
    """
    if str(rep_id) in set(ws.reps[s.REP_ID].astype(str)):
        return None
    owners = sorted(owned_territories(ws, scenario_id, on)) if on is not None else []
    known = owners or sorted(ws.reps[s.REP_ID].astype(str))
    return Problem(
        f"no rep or user '{rep_id}' in the workspace",
        column=s.REP_ID,
        fix=f"use one of the reps owning a territory on {on:%Y-%m-%d}: {format_ids(known)}"
        if owners and on is not None
        else f"use one of {format_ids(known)}",
    )


def _day_problems(
    ws: Workspace,
    scenario_id: str,
    rep_id: str,
    on: date,
    territories: list[str],
    accounts: pd.DataFrame,
) -> list[Problem]:
    if not territories:
        owners = sorted(owned_territories(ws, scenario_id, on))
        return [
            Problem(
                f"rep '{rep_id}' owns no territory in scenario '{scenario_id}' on {on:%Y-%m-%d}",
                fix="choose a date the rep owns a territory, or one of the owners then: "
                + (format_ids(owners) if owners else "(none: assign an owner first)"),
            )
        ]
    if accounts.empty:
        return [
            Problem(
                f"the territories of rep '{rep_id}' ({', '.join(territories)}) have no "
                "account with coordinates",
                column=s.LATITUDE,
                fix="add latitude/longitude or a postal code to their accounts",
            )
        ]
    return []


# -- what to visit, and the plan ------------------------------------------------------------


@dataclass(frozen=True)
class RepRouteRequest:
    """Which visits of a rep's day (or week) to plan, and how.

    Parameters
    ----------
    mode
        ``"due"``: the accounts the visit frequencies make due in the
        ``weeks`` weeks from the date's Monday, spread over ``weekdays``;
        ``"chosen"``: ``account_ids``, once each, on the date.
    weekdays
        Working days (0 = Monday) of a ``"due"`` plan.
    weeks
        Weeks of a ``"due"`` plan.
    account_ids
        The accounts of a ``"chosen"`` plan.
    route
        Shift, search time, estimate and seed; its days, weeks and
        frequencies are set from the fields above.
    """

    mode: RouteMode = "due"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    weeks: int = 1
    account_ids: tuple[str, ...] = ()
    route: RouteParams = field(default_factory=RouteParams)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if self.mode not in ("due", "chosen"):
            problems.append(Problem(f"mode must be 'due' or 'chosen', got {self.mode!r}"))
        if self.mode == "due" and not self.weekdays:
            problems.append(Problem("no working day", fix="pick at least one working day"))
        if any(d not in range(7) for d in self.weekdays):
            problems.append(Problem(f"weekdays must be 0 (Monday) to 6, got {self.weekdays}"))
        if not (1 <= self.weeks <= 13):
            problems.append(Problem(f"weeks must be within 1..13, got {self.weeks}"))
        if self.mode == "chosen" and self.weeks != 1:
            problems.append(
                Problem("chosen accounts are routed on one day", fix="leave weeks at 1")
            )
        if problems:
            raise InputError(f"invalid route request ({len(problems)} problems)", problems)


@dataclass(frozen=True, eq=False)
class RepStops:
    """The stops of a request: the accounts to visit, on which days, from which first day.

    Parameters
    ----------
    stops
        The rep's accounts to visit (a due plan adds ``visits_in_plan``).
    weekdays
        The plan's working days (0 = Monday), in order.
    first_day
        The Monday of the date's week (due), or the date itself (chosen).
    visits
        Visits asked: due visits over the weeks, or one per chosen account.
    """

    stops: pd.DataFrame
    weekdays: tuple[int, ...]
    first_day: date
    visits: int


def rep_stops(day: RepDay, request: RepRouteRequest) -> RepStops:
    """Return the accounts ``request`` visits (due ones get a ``visits_in_plan`` column).

    Raises
    ------
    InputError
        If chosen accounts are not the rep's located accounts.
    """
    if request.mode == "chosen":
        return _chosen_stops(day, request.account_ids)
    plan_days = tuple(sorted(set(request.weekdays)))
    counts = pd.Series(0, index=day.accounts.index, dtype=int)
    for week in range(request.weeks):
        due = visits_due(day.accounts, day_date(day.monday, 0, week), working_days=len(plan_days))
        counts = counts.add(due["visits_this_week"], fill_value=0).astype(int)
    stops = day.accounts[counts > 0].assign(visits_in_plan=counts[counts > 0])
    return RepStops(stops, plan_days, day.monday, int(counts.sum()))


def _chosen_stops(day: RepDay, account_ids: Sequence[str]) -> RepStops:
    ids = day.accounts[s.ACCOUNT_ID].astype(str)
    unknown = sorted(set(map(str, account_ids)) - set(ids))
    if unknown:
        raise InputError(
            f"{len(unknown)} chosen accounts are not among the rep's located accounts",
            [
                Problem(
                    f"accounts {format_ids(unknown)} are not in territories "
                    f"{', '.join(day.territories)} on {day.on:%Y-%m-%d} (or have no location)",
                    column=s.ACCOUNT_ID,
                    fix="choose accounts of the rep's territories",
                )
            ],
        )
    stops = day.accounts[ids.isin(set(map(str, account_ids))).to_numpy()]
    return RepStops(stops, (day.on.weekday(),), day.on, len(stops))


def route_params(day: RepDay, request: RepRouteRequest, stops: RepStops) -> RouteParams:
    """Return the route parameters of the request: its days, weeks and the week's Monday."""
    due = request.mode == "due"
    return replace(
        request.route,
        weekdays=stops.weekdays,
        weeks=request.weeks if due else 1,
        use_frequencies=due,
        first_monday=day.monday,
    )


@dataclass(frozen=True, eq=False)
class RepRoute:
    """A planned route of a rep: the plan, its stops, and where it starts.

    ``home_guessed`` says the rep has no home location, so the route starts
    and ends at the centre of the stops.
    """

    day: RepDay
    stops: RepStops
    plan: RoutePlan
    home: tuple[float, float]
    home_guessed: bool


def route_home(day: RepDay, stops: pd.DataFrame) -> tuple[tuple[float, float], bool]:
    """Return the route's start and end: the rep's home, else the stops' centre (guessed)."""
    if day.home is not None:
        return day.home, False
    return (float(stops[s.LATITUDE].mean()), float(stops[s.LONGITUDE].mean())), True


def plan_rep_route(
    day: RepDay,
    request: RepRouteRequest,
    *,
    network: RoadNetwork | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
    stops: RepStops | None = None,
) -> RepRoute:
    """Plan a rep's route: pick the stops, start at home, plan the day or week.

    Parameters
    ----------
    day
        The rep on the date (:func:`rep_day`).
    request
        Which visits, on which days, with which shift and search time.
    network
        The road network; ``None``: straight-line estimates.
    progress, stop
        Progress callback and stop request of the search.
    stops
        :func:`rep_stops` of ``day`` and ``request`` when the caller has them.

    Raises
    ------
    InputError
        If nothing is due or chosen, or a chosen account is not the rep's.
    """
    chosen = stops if stops is not None else rep_stops(day, request)
    if chosen.stops.empty:
        raise InputError(
            "no visits to route",
            [
                Problem(
                    f"no account of {', '.join(day.territories)} is due in the "
                    f"{request.weeks} week(s) from {day.monday:%Y-%m-%d}"
                    if request.mode == "due"
                    else "no account chosen",
                    fix="choose other weeks or more working days"
                    if request.mode == "due"
                    else "choose the accounts to visit",
                )
            ],
        )
    home, guessed = route_home(day, chosen.stops)
    params = route_params(day, request, chosen)
    plan = plan_routes(
        chosen.stops, home, network=network, params=params, progress=progress, stop=stop
    )
    return RepRoute(day=day, stops=chosen, plan=plan, home=home, home_guessed=guessed)
