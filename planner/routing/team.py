"""Team plans: several reps, each from their own home with their own shift and days, one pool.

One joint plan of who visits what when: every rep's every day is a vehicle
of the same model (:mod:`planner.routing.horizon`), so accounts go to the
rep and the day where they cost least, never to a rep without the skill
they need, and no visit that fits anyone's day is left out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from planner import schema as S
from planner.errors import InputError, Problem
from planner.progress import Progress, Stop, no_progress
from planner.routing.horizon import Shift
from planner.routing.hours import DAY_NAMES, parse_clock
from planner.routing.matrix import TravelMatrix, travel_matrix
from planner.routing.network import RoadNetwork
from planner.routing.params import RouteParams
from planner.routing.planning import day_route, left_out, place_visits, plan_notes
from planner.routing.plans import RoutePlan, UnvisitedStop
from planner.routing.requests import visit_counts_in_plan
from planner.routing.stops import StopTable, read_stops

__all__ = ["Rep", "TeamPlan", "plan_team", "read_reps"]

#: Column of the stop table naming the skill a visit needs (empty: anyone).
SKILL = "skill"


@dataclass(frozen=True)
class Rep:
    """One rep of a team plan.

    Parameters
    ----------
    rep_id, name
        Who.
    home
        ``(latitude, longitude)`` where the rep's days start and end.
    day_start, day_end
        Shift, ``HH:MM``.
    weekdays
        Days worked (0 = Monday).
    max_hours
        Longest working day; ``None``: the whole shift.
    skills
        What the rep can do; a visit needing a skill goes only to reps with it.
    max_visits
        Most visits a day; ``None``: no limit.
    """

    rep_id: str
    name: str
    home: tuple[float, float]
    day_start: str
    day_end: str
    weekdays: tuple[int, ...]
    max_hours: float | None = None
    skills: frozenset[str] = frozenset()
    max_visits: int | None = None


@dataclass(frozen=True, eq=False)
class TeamPlan:
    """The result of :func:`plan_team`: one :class:`RoutePlan` per rep and what nobody visits.

    Each rep's plan has that rep's home as point 0 and every stop after it,
    so it can be drawn and exported (GPX, GeoJSON) like a single rep's plan.
    """

    reps: tuple[Rep, ...]
    plans: tuple[RoutePlan, ...]
    unvisited: tuple[UnvisitedStop, ...]
    notes: tuple[str, ...] = ()
    stopped: bool = False

    def eta_table(self) -> pd.DataFrame:
        """Every visit of the team: rep, day, order and times."""
        frames = [
            plan.eta_table().assign(rep_id=rep.rep_id, rep_name=rep.name)
            for rep, plan in zip(self.reps, self.plans, strict=True)
        ]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        first = ["rep_id", "rep_name"]
        return table[first + [c for c in table.columns if c not in first]]

    def totals(self) -> pd.DataFrame:
        """One row per rep: visits, drive and working hours."""
        rows = [{"rep_id": rep.rep_id, "rep_name": rep.name, **plan.totals()}
                for rep, plan in zip(self.reps, self.plans, strict=True)]
        return pd.DataFrame(rows)


def _number(value: object) -> float:
    """A float from a cell, NaN when missing or not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _weekday_list(text: str) -> tuple[int, ...] | None:
    days = []
    for token in text.replace(";", ",").split(","):
        token = token.strip()[:2].title()
        if token not in DAY_NAMES:
            return None
        days.append(DAY_NAMES.index(token))
    return tuple(dict.fromkeys(days))


def read_reps(reps: pd.DataFrame, defaults: RouteParams) -> list[Rep]:
    """Validate a reps table, collecting every problem with its row.

    Columns: ``rep_id``, ``home_latitude`` and ``home_longitude`` (or
    ``latitude``/``longitude``), and optionally ``name``, ``day_start``,
    ``day_end``, ``weekdays`` (``Mo,Tu,We``), ``max_hours``, ``skills``
    (``a;b``) and ``max_visits``; missing values take ``defaults``.

    Raises
    ------
    InputError
        Naming every bad row: missing ids or homes, unreadable times,
        shifts that end before they start, unknown weekdays.
    """
    if reps is None or len(reps) == 0:
        raise InputError("there are no reps in the team", source="reps",
                         problems=[Problem("the reps list is empty", fix="pick at least one rep")])
    problems: list[Problem] = []
    out = []
    for pos, (_, row) in enumerate(reps.iterrows()):
        rep = _read_rep(row, pos + 2, defaults, problems)
        if rep is not None:
            out.append(rep)
    ids = [r.rep_id for r in out]
    if len(set(ids)) != len(ids):
        problems.append(Problem("rep ids repeat", column=S.REP_ID, fix="give each rep one row"))
    if problems:
        raise InputError(f"{len(problems)} problems in the reps list", problems, source="reps")
    return out


def _read_rep(
    row: pd.Series, line: int, defaults: RouteParams, problems: list[Problem]
) -> Rep | None:
    """One rep from a row; problems are added with the row number."""
    before = len(problems)
    rep_id = _text(row.get(S.REP_ID, row.get("id")))
    if not rep_id:
        problems.append(Problem("rep without an id", rows=(line,), column=S.REP_ID))
    lat = _number(row.get("home_latitude", row.get(S.LATITUDE)))
    lon = _number(row.get("home_longitude", row.get(S.LONGITUDE)))
    if not (np.isfinite(lat) and np.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        problems.append(Problem(f"rep {rep_id or '?'} has no valid home", rows=(line,),
                                column="home_latitude",
                                fix="give home_latitude and home_longitude in degrees"))
    start = _text(row.get("day_start")) or defaults.day_start
    end = _text(row.get("day_end")) or defaults.day_end
    try:
        if parse_clock(end) <= parse_clock(start, allow_24=False):
            problems.append(Problem(f"rep {rep_id}: shift {start}-{end} ends before it starts",
                                    rows=(line,), column="day_end"))
    except InputError as exc:
        problems.append(Problem(str(exc), rows=(line,), column="day_start",
                                fix="write times as HH:MM"))
    weekdays_text = _text(row.get("weekdays"))
    weekdays = _weekday_list(weekdays_text) if weekdays_text else defaults.weekdays
    if weekdays is None:
        problems.append(Problem(f"rep {rep_id}: weekdays {weekdays_text!r} not understood",
                                rows=(line,), column="weekdays", fix="write e.g. Mo,Tu,We"))
    max_hours = _number(row.get("max_hours"))
    max_visits = _number(row.get("max_visits"))
    if len(problems) > before or weekdays is None:
        return None
    skills = frozenset(s.strip() for s in _text(row.get("skills")).split(";") if s.strip())
    return Rep(
        rep_id=rep_id, name=_text(row.get(S.NAME)) or rep_id, home=(float(lat), float(lon)),
        day_start=start, day_end=end, weekdays=weekdays,
        max_hours=float(max_hours) if np.isfinite(max_hours) else defaults.max_hours,
        skills=skills, max_visits=int(max_visits) if np.isfinite(max_visits) else None,
    )


def plan_team(
    stops: pd.DataFrame,
    reps: pd.DataFrame | list[Rep],
    *,
    network: RoadNetwork | None = None,
    params: RouteParams | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> TeamPlan:
    """Plan a team's days at once: who visits which account, on which day, in which order.

    The recipe: validate stops and reps; compute drive times between every
    home and every stop; give each rep's each working day a shift; place
    all visits in one model over every shift (skills and visit caps kept);
    add what still fits; then cut the joint plan into one plan per rep.

    Parameters
    ----------
    stops
        The pool of accounts, as for :func:`~planner.routing.planning.plan_routes`,
        optionally with a ``skill`` column.
    reps
        The team (see :func:`read_reps`), or :class:`Rep` objects.
    network
        Road network; ``None`` estimates from straight lines.
    params
        Weeks, frequencies, search time and the default shift of reps
        without their own.
    progress, stop
        Progress report and early stop, as for ``plan_routes``.

    Returns
    -------
    TeamPlan
    """
    began = time.monotonic()
    params = params or RouteParams()
    report = progress or no_progress
    team = reps if isinstance(reps, list) else read_reps(reps, params)
    st = read_stops(stops, params)
    skills = _skills(stops)
    report(0.05, "computing drive times")
    matrix = _team_matrix(st, team, network, params)
    T = matrix.duration_s
    shifts = _team_shifts(team, params)
    counts = visit_counts_in_plan(
        st, weeks=params.weeks, first_week=params.first_week,
        n_days=len({s.day for s in shifts}), use_frequencies=params.use_frequencies,
    )
    n_reps = len(team)

    def allowed(stop_row: int, shift: Shift) -> bool:
        need = skills[stop_row]
        return not need or need in team[shift.rep].skills

    placed = place_visits(st, T, shifts, counts, params=params, began=began, stop=stop,
                          report=report, first_point=n_reps, allowed=allowed)
    days = [day_route(i, s, placed.routes[i], st, T, matrix, n_reps)
            for i, s in enumerate(shifts)]
    labels = [f"{d.label} ({team[s.rep].name})" for d, s in zip(days, shifts, strict=True)]
    unvisited = placed.unvisited + left_out(placed, days, st, labels)
    plans = tuple(_rep_plan(r, team[r], shifts, days, st, matrix, params, placed.stopped)
                  for r in range(n_reps))
    report(1.0, "team plan ready")
    return TeamPlan(tuple(team), plans, tuple(unvisited), tuple(plan_notes(st, matrix)),
                    placed.stopped)


def _skills(stops: pd.DataFrame) -> list[str]:
    if SKILL not in stops.columns:
        return [""] * len(stops)
    return [_text(v).strip() for v in stops[SKILL]]


def _team_matrix(
    st: StopTable, team: list[Rep], network: RoadNetwork | None, params: RouteParams
) -> TravelMatrix:
    """Drive times between every home (points 0..R-1) and every stop (points R..)."""
    lat = np.concatenate(([r.home[0] for r in team], st.lat))
    lon = np.concatenate(([r.home[1] for r in team], st.lon))
    ids = (*[f"home of {r.rep_id}" for r in team], *st.ids)
    matrix = travel_matrix(lat, lon, network, ids=ids, max_snap_m=params.max_snap_m,
                           reject_snap_m=params.reject_snap_m, estimate=params.estimate)
    if matrix.snap is not None and bool(matrix.snap.off_network[: len(team)].any()):
        off = [r.rep_id for r, bad in zip(team, matrix.snap.off_network, strict=False) if bad]
        raise InputError(
            f"the homes of {', '.join(off)} are too far from the road network",
            [Problem("a home off the network cannot start a route",
                     fix="correct the home location or use a network that covers it")],
            source="reps",
        )
    return matrix


def _team_shifts(team: list[Rep], params: RouteParams) -> list[Shift]:
    shifts = []
    for r, rep in enumerate(team):
        p = replace(params, day_start=rep.day_start, day_end=rep.day_end,
                    max_hours=rep.max_hours, weekdays=rep.weekdays)
        shifts += [
            Shift(rep=r, day=w * 7 + wd, home=r, start_s=p.day_start_s, end_s=p.day_end_s,
                  max_work_s=p.max_work_s, max_visits=rep.max_visits)
            for w in range(params.weeks) for wd in rep.weekdays
        ]
    return shifts


def _rep_plan(
    r: int,
    rep: Rep,
    shifts: list[Shift],
    days: list,
    st: StopTable,
    matrix: TravelMatrix,
    params: RouteParams,
    stopped: bool,
) -> RoutePlan:
    """One rep's days as a single-rep plan: home is point 0, stop ``i`` point ``i + 1``."""
    n_reps = len({s.rep for s in shifts})
    index = [r, *range(n_reps, matrix.n)]
    own = [d for d, s in zip(days, shifts, strict=True) if s.rep == r]
    remapped = tuple(
        replace(d, day=k, stops=tuple(replace(s, point=s.point - n_reps + 1) for s in d.stops))
        for k, d in enumerate(own)
    )
    lat = np.concatenate(([rep.home[0]], st.lat))
    lon = np.concatenate(([rep.home[1]], st.lon))
    rep_params = replace(params, day_start=rep.day_start, day_end=rep.day_end,
                         max_hours=rep.max_hours, weekdays=rep.weekdays)
    return RoutePlan(
        days=remapped, unvisited=(), matrix=matrix.subset(index),
        point_ids=("home", *st.ids), point_names=("home", *st.names), lat=lat, lon=lon,
        params=rep_params, stopped=stopped,
    )
