"""A rep's routes for a day, a week or several weeks, optimised together in one model."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import InputError, NetworkDataError, format_ids
from planner.progress import Progress, Stop, no_progress
from planner.routing.horizon import Shift, VisitRequest, solve_horizon
from planner.routing.matrix import TravelMatrix, travel_matrix
from planner.routing.network import RoadNetwork
from planner.routing.params import RouteParams
from planner.routing.plans import (
    STATUS_TEXT,
    DayRoute,
    RoutePlan,
    ScheduledStop,
    StopStatus,
    UnvisitedStop,
)
from planner.routing.requests import Allowed, build_requests, visit_counts_in_plan
from planner.routing.schedule import (
    Leg,
    TimedRoute,
    improve_routes,
    insert_missing,
    time_route,
)
from planner.routing.solver import Deadline, to_solver_units
from planner.routing.stops import StopTable, read_stops

__all__ = ["PlacedVisits", "day_route", "left_out", "place_visits", "plan_notes", "plan_routes"]

logger = logging.getLogger(__name__)

#: Share of the time limit kept for building the model, repairs and timing.
_RESERVE = 0.12


def plan_routes(
    stops: pd.DataFrame,
    home: tuple[float, float],
    *,
    network: RoadNetwork | None = None,
    params: RouteParams | None = None,
    matrix: TravelMatrix | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> RoutePlan:
    """Plan a rep's routes for a day or weeks: leave home, visit, come back.

    The recipe: validate the stops; compute drive times between home and
    the stops (along roads, or estimated without a network); find the
    days and opening windows in which each visit fits at all, and report
    the others with their true reason (closed, outside the shift, window
    too short, too far); turn visit frequencies into visits on separate
    days (the accumulator rule, exact over time); place and order every
    visit of every day at once in one PyVRP model, where the rep may leave
    home late and no visit that fits is left out; add any left-out visit
    that still fits; and time every visit. Visits that cannot all fit are
    reported with the stops they compete with, never dropped silently.

    Parameters
    ----------
    stops
        One row per account: ``account_id`` (or ``id``), ``latitude`` and
        ``longitude`` (or a point geometry), and optionally ``name``,
        ``visit_minutes``, ``opening_hours`` (OSM syntax),
        ``visits_per_month`` and ``value`` (kept first when not all fit).
    home
        ``(latitude, longitude)`` where each day starts and ends.
    network
        Road network; ``None`` estimates from straight lines (the plan says so).
    params
        Shift, days and solver settings; defaults to a one-day plan
        08:00-17:00 on a Monday.
    matrix
        Travel times already computed for ``[home, *stops]`` (skips the
        network).
    progress
        Told the share done and what is happening.
    stop
        Asked during the search; ``True`` returns the best plan so far
        (``RoutePlan.stopped`` says so).

    Returns
    -------
    RoutePlan

    Raises
    ------
    InputError
        If the stop list is empty or has invalid rows, or ``home`` is invalid.
    NetworkDataError
        If home is too far from the road network to route from.
    """
    began = time.monotonic()
    params = params or RouteParams()
    report = progress or no_progress
    st = read_stops(stops, params)
    report(0.05, "computing drive times")
    matrix, lat, lon = _drive_times(st, home, network, params, matrix)
    T = matrix.duration_s
    shifts = _shifts(params)
    counts = visit_counts_in_plan(
        st, weeks=params.weeks, first_week=params.first_week, n_days=len(shifts),
        use_frequencies=params.use_frequencies,
    )
    placed = place_visits(st, T, shifts, counts, params=params, began=began, stop=stop,
                          report=report)
    days = [day_route(i, s, placed.routes[i], st, T, matrix) for i, s in enumerate(shifts)]
    unvisited = placed.unvisited + left_out(placed, days, st)
    report(1.0, f"routes planned in {time.monotonic() - began:.1f} s")
    return RoutePlan(
        days=tuple(days), unvisited=tuple(unvisited), matrix=matrix,
        point_ids=("home", *st.ids), point_names=("home", *st.names), lat=lat, lon=lon,
        params=params, notes=tuple(plan_notes(st, matrix)), stopped=placed.stopped,
    )


@dataclass
class PlacedVisits:
    """Visits placed on shifts: per shift ``(request, leg)`` in order, and the requests left."""

    requests: list[VisitRequest]
    routes: list[list[tuple[int, Leg]]]
    left: list[int]
    unvisited: list[UnvisitedStop]
    stopped: bool


def place_visits(
    st: StopTable,
    T: np.ndarray,
    shifts: Sequence[Shift],
    counts: np.ndarray,
    *,
    params: RouteParams,
    began: float,
    stop: Stop | None,
    report: Progress,
    first_point: int = 1,
    allowed: Allowed | None = None,
) -> PlacedVisits:
    """Requests, one horizon model over every shift, then insertion of what still fits."""
    requests, unvisited = build_requests(st, T, shifts, counts, first_point=first_point,
                                         allowed=allowed)
    report(0.2, f"placing {len(requests)} visits on {len(shifts)} days")
    deadline = Deadline(began + (1 - _RESERVE) * params.time_limit_s, stop)
    M, _ = to_solver_units(T, resolution=1.0, rounding="up")
    answer = solve_horizon(M, shifts, requests, deadline=deadline, seed=params.seed)
    report(0.85, "timing the visits")
    routes = _routes_of(answer.routes, requests)
    placed = {r for route in routes for r, _ in route}
    left = [r for r in range(len(requests)) if r not in placed]
    left = insert_missing(routes, left, requests, shifts, T,
                          deadline=began + params.time_limit_s)
    improve_routes(routes, shifts, T, deadline=began + params.time_limit_s)
    return PlacedVisits(requests, routes, left, unvisited, deadline.stopped)


def _drive_times(
    st: StopTable,
    home: tuple[float, float],
    network: RoadNetwork | None,
    params: RouteParams,
    matrix: TravelMatrix | None,
) -> tuple[TravelMatrix, np.ndarray, np.ndarray]:
    """Drive times between home (point 0) and the stops; home must be on the network."""
    hlat, hlon = float(home[0]), float(home[1])
    if not (math.isfinite(hlat) and math.isfinite(hlon) and abs(hlat) <= 90 and abs(hlon) <= 180):
        raise InputError(f"home {home} is not a (latitude, longitude) pair in degrees")
    lat = np.concatenate(([hlat], st.lat))
    lon = np.concatenate(([hlon], st.lon))
    if matrix is None:
        matrix = travel_matrix(
            lat, lon, network, ids=("home", *st.ids), max_snap_m=params.max_snap_m,
            reject_snap_m=params.reject_snap_m, estimate=params.estimate,
        )
    elif matrix.n != len(lat):
        raise InputError(f"matrix has {matrix.n} points but home and stops make {len(lat)}")
    if matrix.snap is not None and bool(matrix.snap.off_network[0]):
        raise NetworkDataError(
            f"home ({hlat:.5f}, {hlon:.5f}) is {matrix.snap.distance_m[0]:,.0f} m from the "
            f"nearest road of {network.source if network else 'the network'}: use a network "
            "that covers the rep's home, or correct the home location"
        )
    return matrix, lat, lon


def _shifts(params: RouteParams, *, rep: int = 0, home: int = 0) -> list[Shift]:
    """One shift per working day of the plan, on the calendar (week x 7 + weekday)."""
    return [
        Shift(rep=rep, day=w * 7 + wd, home=home, start_s=params.day_start_s,
              end_s=params.day_end_s, max_work_s=params.max_work_s)
        for w in range(params.weeks) for wd in params.weekdays
    ]


def _routes_of(
    answer: Sequence[Sequence[tuple[int, tuple[int, int]]]], requests: Sequence[VisitRequest]
) -> list[list[tuple[int, Leg]]]:
    """The solver's routes as (request, leg) lists."""
    return [
        [(r, Leg(requests[r].point, float(requests[r].service_s), window))
         for r, window in route]
        for route in answer
    ]


def day_route(
    index: int,
    shift: Shift,
    route: list[tuple[int, Leg]],
    st: StopTable,
    T: np.ndarray,
    matrix: TravelMatrix,
    first_point: int = 1,
) -> DayRoute:
    """Time one day's visits and total its drive, visits and waiting."""
    legs = [leg for _, leg in route]
    timed = time_route(legs, T, shift) if legs else None
    if legs and timed is None:  # cannot happen: the solver's order keeps every window
        raise RuntimeError(f"the route of day {index} breaks a window or the shift")
    Dm = np.where(np.isnan(matrix.distance_m), 0.0, matrix.distance_m)
    stops = _scheduled(legs, timed, T, Dm, shift.home, st, first_point) if timed else []
    last = legs[-1].point if legs else shift.home
    ret_s = float(T[last, shift.home]) if legs else 0.0
    ret_m = float(Dm[last, shift.home]) if legs else 0.0
    leave = timed.leave_s if timed else float(shift.start_s)
    return DayRoute(
        day=index, weekday=shift.day % 7, week=shift.day // 7, stops=tuple(stops),
        leave_home_s=leave, return_home_s=timed.back_s if timed else leave,
        return_drive_s=ret_s, return_drive_m=ret_m,
        drive_s=sum(s.drive_s for s in stops) + ret_s,
        drive_m=sum(s.drive_m for s in stops) + ret_m,
        visit_s=sum(s.departure_s - s.start_s for s in stops),
        wait_s=sum(s.wait_s for s in stops),
    )


def _scheduled(
    legs: list[Leg], timed: TimedRoute, T: np.ndarray, Dm: np.ndarray, home: int, st: StopTable,
    first_point: int,
) -> list[ScheduledStop]:
    out = []
    prev = home
    for seq, (leg, arrive, start) in enumerate(
        zip(legs, timed.arrivals, timed.starts, strict=True), start=1
    ):
        row = leg.point - first_point
        out.append(
            ScheduledStop(
                stop_id=st.ids[row], name=st.names[row], point=leg.point, sequence=seq,
                arrival_s=arrive, start_s=start, departure_s=start + leg.service_s,
                wait_s=start - arrive, drive_s=float(T[prev, leg.point]),
                drive_m=float(Dm[prev, leg.point]),
                window=(leg.window[0], leg.window[1] + math.ceil(leg.service_s)),
            )
        )
        prev = leg.point
    return out


def left_out(
    placed: PlacedVisits,
    days: Sequence[DayRoute],
    st: StopTable,
    labels: Sequence[str] | None = None,
) -> list[UnvisitedStop]:
    """Why each left-out visit did not fit: its possible days and the visits it competes with.

    ``labels`` names each shift (default: the day's label, "Mo" or "week 2 Tu").
    """
    out = []
    stopped = placed.stopped
    for r in placed.left:
        req = placed.requests[r]
        rivals: Counter[str] = Counter()
        day_names = []
        for s_idx, (a, latest) in req.options:
            day = days[s_idx]
            day_names.append(labels[s_idx] if labels is not None else day.label)
            rivals.update(
                s.stop_id for s in day.stops
                if s.start_s < latest + req.service_s and s.departure_s > a
            )
        if not rivals:
            rivals.update(s.stop_id for s_idx, _ in req.options for s in days[s_idx].stops)
        labels = list(dict.fromkeys(day_names))
        names = format_ids([sid for sid, _ in rivals.most_common(5)])
        status: StopStatus = "stopped" if stopped else "no_room"
        reason = (
            f"{STATUS_TEXT[status]}: it fits alone on {', '.join(labels[:6])}"
            + (" ..." if len(labels) > 6 else "")
            + (f", but not with the visits planned then; it competes with {names}"
               if names else "")
        )
        out.append(UnvisitedStop(st.ids[req.stop], st.names[req.stop], status, reason))
    return out


def plan_notes(st: StopTable, matrix: TravelMatrix) -> list[str]:
    """Things the user should know: estimated drive times, unreadable opening hours."""
    notes = []
    if matrix.estimated:
        notes.append(f"drive times are estimates: {matrix.method}")
    unknown = [
        st.ids[i] for i, h in enumerate(st.hours)
        if not h.known and h.note != "no opening hours given"
    ]
    if unknown:
        notes.append(
            f"opening hours not understood for {format_ids(unknown)}; assumed open all shift"
        )
    simplified: dict[str, list[str]] = {}
    for i, h in enumerate(st.hours):
        if h.known and h.note:
            simplified.setdefault(h.note, []).append(st.ids[i])
    notes += [f"opening hours of {format_ids(ids)}: {note}" for note, ids in simplified.items()]
    return notes
