"""The parameters of a rep's route plan: shift, days, frequencies and search, checked at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from planner.errors import InputError, Problem
from planner.routing.hours import parse_clock
from planner.routing.matrix import EstimateParams
from planner.routing.snapping import DEFAULT_MAX_SNAP_M, DEFAULT_REJECT_SNAP_M

__all__ = ["RouteParams"]


@dataclass(frozen=True)
class RouteParams:
    """A rep's working time and how hard to search.

    Parameters
    ----------
    day_start, day_end
        Shift start and latest return home, ``HH:MM``.
    max_hours
        Longest working day (driving, waiting and visits), hours; ``None``:
        the whole shift.
    weekdays
        Weekdays worked (0 = Monday), in plan order. A one-day plan has one.
    weeks
        Number of weeks planned (repeats ``weekdays``).
    use_frequencies
        Whether ``visits_per_month`` sets how often each account is visited
        in the plan (twice a month over a 4-week plan: 2 visits on days
        spread apart). ``False``: every stop is visited once.
    default_visit_minutes
        Visit length of stops without ``visit_minutes``.
    time_limit_s
        Total search time of the route solver.
    seed
        Seed of the solver's random choices.
    max_snap_m, reject_snap_m
        Snap distances that warn, and that make a stop unreachable.
    estimate
        Straight-line estimate used when there is no road network.
    first_monday
        Monday of the plan's first week, for visit frequencies: the
        accumulator rule of :func:`~planner.routing.visits.visits_due` then
        gives each account exactly its share of visits in these weeks (an
        account seen every fourth month gets one visit in about every fourth
        4-week plan). ``None``: the plan's weeks count from week 0.
    """

    day_start: str = "08:00"
    day_end: str = "17:00"
    max_hours: float | None = None
    weekdays: tuple[int, ...] = (0,)
    weeks: int = 1
    use_frequencies: bool = False
    default_visit_minutes: float = 30.0
    time_limit_s: float = 2.0
    seed: int = 0
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    reject_snap_m: float = DEFAULT_REJECT_SNAP_M
    estimate: EstimateParams = field(default_factory=EstimateParams)
    first_monday: date | None = None

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        start = end = None
        try:
            start = parse_clock(self.day_start, what="day_start", allow_24=False)
        except InputError as exc:
            problems.append(Problem(str(exc), fix="use HH:MM between 00:00 and 23:59"))
        try:
            end = parse_clock(self.day_end, what="day_end")
        except InputError as exc:
            problems.append(Problem(str(exc), fix="use HH:MM between 00:00 and 24:00"))
        if start is not None and end is not None and end <= start:
            problems.append(
                Problem(
                    f"day_end {self.day_end} is not after day_start {self.day_start}",
                    fix="give a shift that ends after it starts on the same day",
                )
            )
        if self.max_hours is not None and not (0 < self.max_hours <= 24):
            problems.append(Problem(f"max_hours must be within 0..24, got {self.max_hours}"))
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            problems.append(
                Problem(f"weekdays must be numbers 0 (Monday) to 6, got {self.weekdays}")
            )
        if len(set(self.weekdays)) != len(self.weekdays):
            problems.append(Problem(f"weekdays repeat a day: {self.weekdays}"))
        if not (1 <= self.weeks <= 13):
            problems.append(Problem(f"weeks must be within 1..13, got {self.weeks}"))
        if not (0 <= self.default_visit_minutes <= 24 * 60):
            problems.append(Problem("default_visit_minutes must be within 0..1440"))
        if not (0 < self.time_limit_s <= 600):
            problems.append(Problem(f"time_limit_s must be within 0..600, got {self.time_limit_s}"))
        if self.first_monday is not None and self.first_monday.weekday() != 0:
            problems.append(
                Problem(f"first_monday {self.first_monday} is a {self.first_monday:%A}",
                        fix="give the Monday of the plan's first week")
            )
        if problems:
            raise InputError(f"invalid route parameters ({len(problems)} problems)", problems)

    @property
    def day_start_s(self) -> int:
        """Shift start, seconds after midnight."""
        return parse_clock(self.day_start)

    @property
    def day_end_s(self) -> int:
        """Latest return home, seconds after midnight."""
        return parse_clock(self.day_end)

    @property
    def first_week(self) -> int:
        """Index of the plan's first week for the visit rhythm (0 without ``first_monday``)."""
        if self.first_monday is None:
            return 0
        return (self.first_monday.toordinal() - 1) // 7  # 1 January of year 1 is a Monday

    @property
    def max_work_s(self) -> int:
        """Longest working day, seconds."""
        shift = self.day_end_s - self.day_start_s
        if self.max_hours is None:
            return shift
        return min(shift, round(self.max_hours * 3600))

