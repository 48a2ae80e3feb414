"""Times of a day's visits in a given order, and adding a left-out visit where it still fits.

The rep leaves home as late as the order allows without coming back later:
waiting for a late-opening stop happens at home, not in the car.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.routing.horizon import Shift, VisitRequest

__all__ = ["Leg", "TimedRoute", "improve_routes", "insert_missing", "time_route"]

_EPS = 1e-6


@dataclass(frozen=True)
class Leg:
    """One visit of a route: the stop's point, visit length and the window its start must keep."""

    point: int
    service_s: float
    window: tuple[int, int]  # earliest and latest start, seconds after midnight


@dataclass(frozen=True)
class TimedRoute:
    """A feasible day: departure, per-visit arrival and start, and return home."""

    leave_s: float
    arrivals: tuple[float, ...]
    starts: tuple[float, ...]
    back_s: float

    @property
    def waits(self) -> tuple[float, ...]:
        """Waiting before each visit (arrived before it opens)."""
        return tuple(s - a for a, s in zip(self.arrivals, self.starts, strict=True))


def _forward(
    legs: Sequence[Leg], T: np.ndarray, home: int, depart: float
) -> tuple[list[float], list[float], float] | None:
    """Earliest arrival and start at each visit when leaving at ``depart``; None if one is late."""
    t, prev = depart, home
    arrivals: list[float] = []
    starts: list[float] = []
    for leg in legs:
        arrive = t + T[prev, leg.point]
        if not arrive <= leg.window[1] + _EPS:
            return None
        start = max(arrive, float(leg.window[0]))
        arrivals.append(arrive)
        starts.append(start)
        t = start + leg.service_s
        prev = leg.point
    return arrivals, starts, t + T[prev, home]


def time_route(legs: Sequence[Leg], T: np.ndarray, shift: Shift) -> TimedRoute | None:
    """Return the times of visiting ``legs`` in order on ``shift``, or ``None`` if infeasible.

    The day ends as early as the order allows (every visit as early as
    possible); among departures that keep that end, the latest is taken, so
    the time from leaving to coming back is the shortest possible. ``None``
    when a visit would start after its window, the rep would be back after
    the shift, the day would be longer than ``shift.max_work_s``, or it
    has more visits than ``shift.max_visits``.
    """
    if shift.max_visits is not None and len(legs) > shift.max_visits:
        return None
    first = _forward(legs, T, shift.home, float(shift.start_s))
    if first is None or first[2] > shift.end_s + _EPS:
        return None
    arrivals, starts, back = first
    waited = 0.0
    delay = float("inf")
    for leg, a, s in zip(legs, arrivals, starts, strict=True):
        waited += s - a
        delay = min(delay, leg.window[1] - s + waited)
    delay = max(0.0, min(delay, waited))
    if delay > 0:
        again = _forward(legs, T, shift.home, shift.start_s + delay)
        if again is not None and again[2] <= back + _EPS:
            arrivals, starts, back = again
        else:
            delay = 0.0
    leave = shift.start_s + delay
    if back - leave > shift.max_work_s + _EPS:
        return None
    return TimedRoute(leave, tuple(arrivals), tuple(starts), back)


def _drive(legs: Sequence[Leg], T: np.ndarray, home: int) -> float:
    pts = [home, *[leg.point for leg in legs], home]
    return float(sum(T[a, b] for a, b in itertools.pairwise(pts)))


def _best_insertion(
    legs: list[Leg], leg: Leg, T: np.ndarray, shift: Shift
) -> tuple[float, int] | None:
    """Cheapest feasible position for ``leg`` in ``legs`` (added drive seconds, position)."""
    best: tuple[float, int] | None = None
    base = _drive(legs, T, shift.home)
    for pos in range(len(legs) + 1):
        trial = [*legs[:pos], leg, *legs[pos:]]
        if time_route(trial, T, shift) is None:
            continue
        added = _drive(trial, T, shift.home) - base
        if best is None or added < best[0]:
            best = (added, pos)
    return best


def insert_missing(
    routes: list[list[tuple[int, Leg]]],
    missing: Sequence[int],
    requests: Sequence[VisitRequest],
    shifts: Sequence[Shift],
    T: np.ndarray,
    *,
    deadline: float,
) -> list[int]:
    """Insert left-out requests wherever they still fit, cheapest first; return those still out.

    ``routes[s]`` holds ``(request index, leg)`` pairs of shift ``s`` in
    order and is changed in place. After this no left-out visit fits into
    any of its days at any position (unless the deadline came first).
    """
    still: list[int] = []
    for r in missing:
        if time.monotonic() > deadline:
            still.append(r)
            continue
        req = requests[r]
        best: tuple[float, int, int, Leg] | None = None
        for shift_idx, window in req.options:
            legs = [leg for _, leg in routes[shift_idx]]
            leg = Leg(req.point, float(req.service_s), window)
            found = _best_insertion(legs, leg, T, shifts[shift_idx])
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], shift_idx, found[1], leg)
        if best is None:
            still.append(r)
            continue
        _, shift_idx, pos, leg = best
        routes[shift_idx].insert(pos, (r, leg))
    return still


def _day_cost(legs: Sequence[Leg], T: np.ndarray, shift: Shift) -> float | None:
    """The solver's objective for one day: drive plus time from leaving to coming back."""
    if not legs:
        return 0.0
    timed = time_route(legs, T, shift)
    if timed is None:
        return None
    return _drive(legs, T, shift.home) + timed.back_s - timed.leave_s


def _better_order(
    route: list[tuple[int, Leg]], T: np.ndarray, shift: Shift, deadline: float
) -> list[tuple[int, Leg]]:
    """Relocate single visits within the day while that lowers its cost (first improvement)."""
    best = _day_cost([leg for _, leg in route], T, shift)
    if best is None:
        return route
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for i in range(len(route)):
            rest = route[:i] + route[i + 1:]
            for j in range(len(rest) + 1):
                if j == i:
                    continue
                trial = [*rest[:j], route[i], *rest[j:]]
                cost = _day_cost([leg for _, leg in trial], T, shift)
                if cost is not None and cost < best - 1e-6:
                    route, best, improved = trial, cost, True
                    break
            if improved or time.monotonic() >= deadline:
                break
    return route


def improve_routes(
    routes: list[list[tuple[int, Leg]]],
    shifts: Sequence[Shift],
    T: np.ndarray,
    *,
    deadline: float,
) -> None:
    """Polish each day's order by relocating visits (in place), until none helps or time is up.

    PyVRP's moves are general; this exact check of the day's windows and
    working time often finds a few more minutes on days of a few dozen
    visits.
    """
    for s_idx, route in enumerate(routes):
        if time.monotonic() >= deadline:
            return
        if len(route) > 2:
            routes[s_idx] = _better_order(route, T, shifts[s_idx], deadline)
