"""Which visits a plan asks for, on which days they can happen at all, and why the others cannot."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from planner.routing.frequency import WEEKS_PER_MONTH, id_phase, visits_in_weeks
from planner.routing.horizon import Shift, VisitRequest
from planner.routing.hours import DAY_NAMES, WeeklyHours
from planner.routing.plans import STATUS_TEXT, StopStatus, UnvisitedStop, clock
from planner.routing.schedule import Leg, time_route
from planner.routing.stops import StopTable

__all__ = ["Allowed", "build_requests", "visit_counts_in_plan", "visit_windows"]

#: Whether the rep of a shift may visit a stop (stop row, shift) -> bool.
Allowed = Callable[[int, Shift], bool]


def visit_windows(hours: WeeklyHours, weekday: int, visit_s: float, shift: Shift) -> list[
    tuple[int, int]
]:
    """Windows in which a visit may start on ``weekday``: open, and finished before closing."""
    out = []
    for a, b in hours.within(weekday, shift.start_s, shift.end_s):
        latest = b - math.ceil(visit_s)
        if latest >= a:
            out.append((a, latest))
    return out


def visit_counts_in_plan(
    st: StopTable, *, weeks: int, first_week: int, n_days: int, use_frequencies: bool
) -> np.ndarray:
    """Visits each stop asks for in the plan: one each, or by the accumulator rule."""
    if not use_frequencies:
        return np.ones(len(st), dtype=int)
    per_week = st.per_month / WEEKS_PER_MONTH
    counts = visits_in_weeks(per_week, id_phase(st.ids), first_week=first_week, weeks=weeks)
    return np.minimum(counts, n_days)


def _weekday(shift: Shift) -> int:
    return shift.day % 7


def _feasible_options(
    stop: int, st: StopTable, T: np.ndarray, shifts: Sequence[Shift], first_point: int,
    allowed: Allowed | None,
) -> list[tuple[int, tuple[int, int]]]:
    """Every (shift, window) in which the visit fits when it is the day's only one."""
    out = []
    p = stop + first_point
    for s_idx, shift in enumerate(shifts):
        if allowed is not None and not allowed(stop, shift):
            continue
        for window in visit_windows(st.hours[stop], _weekday(shift), st.visit_s[stop], shift):
            leg = Leg(p, float(math.ceil(st.visit_s[stop])), window)
            if time_route([leg], T, shift) is not None:
                out.append((s_idx, window))
    return out


def _why_never(
    stop: int, st: StopTable, T: np.ndarray, shifts: Sequence[Shift], first_point: int,
    allowed: Allowed | None,
) -> tuple[StopStatus, str]:
    """The true reason a stop cannot be visited on any day of the plan, even alone."""
    p = stop + first_point
    hours = st.hours[stop]
    if allowed is not None:
        shifts = [s for s in shifts if allowed(stop, s)]
        if not shifts:
            return "no_skill", STATUS_TEXT["no_skill"]
    homes = sorted({s.home for s in shifts})
    if not any(np.isfinite(T[h, p]) and np.isfinite(T[p, h]) for h in homes):
        return "unreachable", STATUS_TEXT["unreachable"]
    drive = min(float(T[h, p]) for h in homes)
    weekdays = sorted({_weekday(s) for s in shifts})
    day_list = ", ".join(DAY_NAMES[d] for d in weekdays)
    if not any(hours.on(d) for d in weekdays):
        return "closed", f"closed on every day of the plan ({day_list})"
    if not any(hours.within(_weekday(s), s.start_s, s.end_s) for s in shifts):
        open_text = "; ".join(
            f"{DAY_NAMES[d]} {', '.join(f'{clock(a)}-{clock(b)}' for a, b in hours.on(d))}"
            for d in weekdays if hours.on(d)
        )
        return "outside_shift", f"open only outside the shift on the plan's days ({open_text})"
    minutes = st.visit_s[stop] / 60
    if not any(visit_windows(hours, _weekday(s), st.visit_s[stop], s) for s in shifts):
        longest = max(
            (b - a for s in shifts for a, b in hours.within(_weekday(s), s.start_s, s.end_s)),
            default=0,
        )
        return "window_too_short", (
            f"the {minutes:.0f}-minute visit is longer than its opening time within the shift "
            f"(at most {longest / 60:.0f} minutes)"
        )
    return "too_far", (
        f"{STATUS_TEXT['too_far']}: the drive from home is {drive / 60:.0f} min "
        f"each way, too long for the {minutes:.0f}-minute visit within its opening hours"
    )


def _segments(days: list[int], k: int, horizon: int) -> list[list[int]]:
    """Split the days a stop may be visited on into ``k`` runs spread over the plan."""
    segs = [[d for d in days if (j * horizon) // k <= d < ((j + 1) * horizon) // k]
            for j in range(k)]
    if all(segs):
        return segs
    size = len(days) / k  # fall back to equal shares of the possible days
    return [days[round(j * size): round((j + 1) * size)] for j in range(k)]


def build_requests(
    st: StopTable,
    T: np.ndarray,
    shifts: Sequence[Shift],
    counts: np.ndarray,
    *,
    first_point: int = 1,
    allowed: Allowed | None = None,
) -> tuple[list[VisitRequest], list[UnvisitedStop]]:
    """Turn stops into visit requests with their feasible options; report the impossible ones.

    A stop with ``k`` visits gets ``k`` requests on separate runs of days
    (twice a week: early and late in the week). Visits that cannot happen
    on any day, even alone, are reported with their true reason. Stop
    ``i`` is matrix point ``i + first_point``; ``allowed(stop, shift)``
    says whether that shift's rep may make the visit (skills).
    """
    horizon = max(s.day for s in shifts) + 1
    top_value = float(st.value.max()) if len(st) and st.value.max() > 0 else 1.0
    requests: list[VisitRequest] = []
    unvisited: list[UnvisitedStop] = []
    for i in range(len(st)):
        k = int(counts[i])
        if k == 0:
            unvisited.append(UnvisitedStop(st.ids[i], st.names[i], "not_due",
                                           STATUS_TEXT["not_due"]))
            continue
        options = _feasible_options(i, st, T, shifts, first_point, allowed)
        if not options:
            status, reason = _why_never(i, st, T, shifts, first_point, allowed)
            unvisited.extend(UnvisitedStop(st.ids[i], st.names[i], status, reason)
                             for _ in range(k))
            continue
        days = sorted({shifts[s].day for s, _ in options})
        if k > len(days):
            unvisited.extend(
                UnvisitedStop(
                    st.ids[i], st.names[i], "closed",
                    f"{k} visits asked, but it can be visited on only {len(days)} "
                    f"day{'s' if len(days) != 1 else ''} of the plan",
                )
                for _ in range(k - len(days))
            )
            k = len(days)
        weight = float(st.value[i]) / top_value
        for seg in _segments(days, k, horizon):
            keep = set(seg)
            requests.append(
                VisitRequest(
                    stop=i, point=i + first_point, service_s=math.ceil(st.visit_s[i]),
                    options=tuple(o for o in options if shifts[o[0]].day in keep),
                    weight=weight,
                )
            )
    return requests, unvisited
