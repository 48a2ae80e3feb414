"""One PyVRP model for a whole plan: every rep's every day at once, with per-day opening hours.

Each working day of each rep is a vehicle whose shift sits on one long
time axis (day ``d`` starts at ``d x 86,400`` s); each visit is a group of
client copies, one per day and opening window it may take, of which the
solver picks at most one. The rep may leave home at any time of the shift,
so a stop that opens late costs only the drive, never hours of waiting.
Every visit carries a prize larger than any plan's whole cost, so the
solver never leaves out a visit that fits; among visits that cannot all
fit, the more valuable ones win.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyvrp import Activity, ActivityType, Model, Solution

from planner.routing.solver import Deadline, matrices, nearest_clients, run_pyvrp

__all__ = ["DAY_S", "HorizonSolution", "Shift", "VisitRequest", "solve_horizon"]

logger = logging.getLogger(__name__)

#: Seconds between the starts of two consecutive plan days on the model's time axis.
DAY_S = 86_400


@dataclass(frozen=True)
class Shift:
    """One rep's working day: one vehicle of the model.

    Parameters
    ----------
    rep
        Which rep (0 for a single rep's plan).
    day
        Position of the day in the plan's calendar (0-based, one per
        calendar day, so ``week x 7 + weekday`` for weekly plans).
    home
        Point (matrix index) where the day starts and ends.
    start_s, end_s
        Earliest departure and latest return, seconds after midnight.
    max_work_s
        Longest time from leaving home to coming back.
    max_visits
        Most visits in the day (the rep's capacity); ``None``: no limit.
    """

    rep: int
    day: int
    home: int
    start_s: int
    end_s: int
    max_work_s: int
    max_visits: int | None = None

    @property
    def offset_s(self) -> int:
        """Start of this shift's day on the model's time axis."""
        return self.day * DAY_S


@dataclass(frozen=True)
class VisitRequest:
    """One visit to place: where, how long, and on which shifts in which windows.

    Parameters
    ----------
    stop
        Row of the stop table.
    point
        Matrix index of the stop.
    service_s
        Visit length (whole seconds).
    options
        ``(shift index, (earliest start, latest start))`` pairs, times in
        seconds after midnight of that shift's day.
    weight
        Relative value in ``[0, 1]``: when not every visit fits, heavier
        ones are kept.
    """

    stop: int
    point: int
    service_s: int
    options: tuple[tuple[int, tuple[int, int]], ...]
    weight: float = 0.0


@dataclass(frozen=True)
class HorizonSolution:
    """The solver's answer: per shift, the visits in order with the window each uses."""

    routes: tuple[tuple[tuple[int, tuple[int, int]], ...], ...]
    feasible: bool


def solve_horizon(
    M: np.ndarray,
    shifts: Sequence[Shift],
    requests: Sequence[VisitRequest],
    *,
    deadline: Deadline,
    seed: int = 0,
) -> HorizonSolution:
    """Place and order every request over every shift at once.

    Parameters
    ----------
    M
        Integer drive times (seconds) between all points, ``UNREACHABLE``
        where there is no road.
    shifts, requests
        The vehicles and the visits.
    deadline
        When to stop searching (and whether the caller asked to stop).
    seed
        Seed of the solver's random choices.

    Returns
    -------
    HorizonSolution
        Routes of the best feasible plan found (infeasible routes, which
        should not occur, are returned empty and flagged).
    """
    if not requests or not shifts:
        return HorizonSolution(tuple(() for _ in shifts), True)
    model, owners = _build_model(M, shifts, requests)
    data = model.data().replace(
        distance_matrices=matrices(M[np.ix_(owners.points, owners.points)]),
        duration_matrices=matrices(M[np.ix_(owners.points, owners.points)]),
    )
    neighbours = _day_neighbours(M, owners) if len(owners.client_request) > _OWN_FROM else None
    result = run_pyvrp(data, deadline, seed=seed, neighbours=neighbours)
    return _decode(result.best, owners, len(shifts))


#: Models with more client copies than this use :func:`_day_neighbours` (PyVRP's own
#: neighbourhood takes seconds for thousands of copies: 5,000 ate a 5 s limit).
_OWN_FROM = 1500
_NEIGHBOURS = 30


def _day_neighbours(M: np.ndarray, owners: _Owners) -> dict[Activity, list[Activity]]:
    """Each client copy's nearest copies on the same day (other days cannot follow it)."""
    days = np.asarray(owners.client_day)
    points = np.asarray([owners.points[loc] for loc in owners.client_location])
    out: dict[Activity, list[Activity]] = {}
    for day in np.unique(days):
        copies = np.flatnonzero(days == day)
        if len(copies) < 2:
            out.update({Activity(ActivityType.CLIENT, int(c)): [] for c in copies})
            continue
        pts = points[copies]
        near = nearest_clients(M[np.ix_(pts, pts)], _NEIGHBOURS)
        for i, row in enumerate(near):
            out[Activity(ActivityType.CLIENT, int(copies[i]))] = [
                Activity(ActivityType.CLIENT, int(copies[j])) for j in row
            ]
    return out


@dataclass(frozen=True)
class _Owners:
    """Where each model object came from."""

    points: list[int]  # model location -> matrix point
    client_request: list[int]  # model client -> request index
    client_window: list[tuple[int, int]]  # model client -> window (s after midnight)
    client_day: list[int]  # model client -> calendar day
    client_location: list[int]  # model client -> model location


def _build_model(
    M: np.ndarray, shifts: Sequence[Shift], requests: Sequence[VisitRequest]
) -> tuple[Model, _Owners]:
    """The PyVRP model: depots at homes, a vehicle per shift, client copies per window."""
    model = Model()
    points = sorted({s.home for s in shifts} | {r.point for r in requests})
    homes = sorted({s.home for s in shifts})
    # Depots come first among PyVRP's locations, then clients.
    order = homes + [p for p in points if p not in set(homes)]
    loc_of = {p: model.add_location(x=0.0, y=0.0) for p in order}
    depot_of = {h: model.add_depot(loc_of[h]) for h in homes}
    prize = _base_prize(shifts)
    counted = any(s.max_visits is not None for s in shifts)
    for s in shifts:
        model.add_vehicle_type(
            1,
            capacity=[s.max_visits if s.max_visits is not None else len(requests)]
            if counted else [],
            start_depot=depot_of[s.home],
            end_depot=depot_of[s.home],
            tw_early=s.offset_s + s.start_s,
            tw_late=s.offset_s + s.end_s,
            start_late=s.offset_s + s.end_s,
            shift_duration=s.max_work_s,
            unit_distance_cost=1,
            unit_duration_cost=1,
            name=f"rep{s.rep}-day{s.day}",
        )
    owners = _Owners(order, [], [], [], [])
    index_of = {p: i for i, p in enumerate(order)}
    for r_idx, req in enumerate(requests):
        group = model.add_client_group(required=False) if len(req.options) > 1 else None
        value = int(prize * (1.0 + min(max(req.weight, 0.0), 1.0)))
        for shift_idx, (early, late) in _distinct_options(req, shifts):
            day = shifts[shift_idx].day
            model.add_client(
                loc_of[req.point], delivery=[1] if counted else [],
                service_duration=req.service_s,
                tw_early=day * DAY_S + early, tw_late=day * DAY_S + late,
                prize=value, required=False, group=group,
            )
            owners.client_request.append(r_idx)
            owners.client_window.append((early, late))
            owners.client_day.append(day)
            owners.client_location.append(index_of[req.point])
    return model, owners


def _distinct_options(
    req: VisitRequest, shifts: Sequence[Shift]
) -> list[tuple[int, tuple[int, int]]]:
    """Options with one copy per calendar day and window (reps working the same day share it)."""
    seen: set[tuple[int, int, int]] = set()
    out = []
    for shift_idx, window in req.options:
        key = (shifts[shift_idx].day, *window)
        if key not in seen:
            seen.add(key)
            out.append((shift_idx, window))
    return out


def _base_prize(shifts: Sequence[Shift]) -> int:
    """A prize above the cost of any plan: drive plus working time of every shift, twice over."""
    return int(2 * sum(2 * s.max_work_s for s in shifts) + 1000)


def _decode(best: Solution, owners: _Owners, n_shifts: int) -> HorizonSolution:
    """Per shift, the requests in visit order with the window each used."""
    routes: list[list[tuple[int, tuple[int, int]]]] = [[] for _ in range(n_shifts)]
    all_ok = True
    for route in best.routes():
        if not route.is_feasible():
            all_ok = False
            continue
        shift_idx = route.vehicle_type()
        for activity in route:
            if activity.is_client():
                c = activity.idx
                routes[shift_idx].append((owners.client_request[c], owners.client_window[c]))
    return HorizonSolution(tuple(tuple(r) for r in routes), all_ok and best.is_feasible())
