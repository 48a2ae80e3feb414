"""OSM opening hours ("Mo-Fr 09:00-18:00; Sa 10:00-16:00") as one week's time windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from opening_hours import OpeningHours, State

from planner.errors import InputError

__all__ = ["DAY_NAMES", "WeeklyHours", "parse_clock", "parse_opening_hours"]

#: OSM weekday abbreviations, Monday first (index 0).
DAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_SECONDS = 86_400

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")

Window = tuple[int, int]


def parse_clock(text: str, *, what: str = "time", allow_24: bool = True) -> int:
    """Return seconds after midnight of a ``HH:MM`` clock time.

    Parameters
    ----------
    text
        A time such as ``"08:00"`` or ``"17:30"``.
    what
        Name of the argument, for the error message.
    allow_24
        Whether ``"24:00"`` (end of day) is accepted.

    Raises
    ------
    InputError
        If the text is not a valid time of day (``"25:00"``, ``"8h"``, ``"12:60"``).
    """
    m = _CLOCK.match(str(text))
    if not m:
        raise InputError(f"{what} {text!r} is not a time of day: write it as HH:MM, e.g. 08:00")
    hours, minutes = int(m.group(1)), int(m.group(2))
    limit = 24 if allow_24 else 23
    if minutes > 59 or hours > limit or (hours == 24 and minutes > 0):
        raise InputError(
            f"{what} {text!r} is not a time of day: hours run 00-23 and minutes 00-59"
        )
    return hours * 3600 + minutes * 60


@dataclass(frozen=True)
class WeeklyHours:
    """When a place is open, per weekday.

    Parameters
    ----------
    windows
        Seven tuples (Monday first) of ``(open_s, close_s)`` windows in
        seconds after midnight, sorted and not overlapping.
    known
        ``False`` when the text was missing or could not be read; the
        windows then say "open all day" and ``note`` says why.
    note
        Why the hours are not fully known, or what was simplified.
    """

    windows: tuple[tuple[Window, ...], ...]
    known: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        if len(self.windows) != 7:
            raise ValueError("windows must have one entry per weekday (7)")
        for day in self.windows:
            for start, end in day:
                if not (0 <= start < end <= DAY_SECONDS):
                    raise ValueError(f"invalid window ({start}, {end})")

    @classmethod
    def always_open(cls, *, note: str = "", known: bool = True) -> WeeklyHours:
        """Return hours open all day, every day."""
        return cls(tuple(((0, DAY_SECONDS),) for _ in range(7)), known=known, note=note)

    def on(self, weekday: int) -> tuple[Window, ...]:
        """Return the windows of ``weekday`` (0 = Monday)."""
        return self.windows[weekday % 7]

    def within(self, weekday: int, start_s: int, end_s: int) -> tuple[Window, ...]:
        """Return the windows of ``weekday`` clipped to ``[start_s, end_s]``."""
        out = []
        for a, b in self.on(weekday):
            lo, hi = max(a, start_s), min(b, end_s)
            if lo < hi:
                out.append((lo, hi))
        return tuple(out)


def _merge(windows: list[Window]) -> tuple[Window, ...]:
    merged: list[list[int]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def _monday(week: date | None) -> date:
    day = week or date.today()
    return day - timedelta(days=day.weekday())


def _split_by_day(start: datetime, end: datetime, monday: date) -> list[tuple[int, Window]]:
    """Cut an interval at midnights into (weekday, window) pieces within the week."""
    out = []
    origin = datetime.combine(monday, datetime.min.time())
    t = start
    while t < end:
        day = (t - origin).days
        midnight = origin + timedelta(days=day + 1)
        stop = min(end, midnight)
        a = int((t - (midnight - timedelta(days=1))).total_seconds())
        b = int((stop - (midnight - timedelta(days=1))).total_seconds())
        if 0 <= day < 7 and b > a:
            out.append((day, (a, b)))
        t = stop
    return out


def parse_opening_hours(text: str | None, *, week: date | None = None) -> WeeklyHours:
    """Read an OSM ``opening_hours`` value into the windows of one week.

    The full OSM grammar is read by ``opening-hours-py`` (a maintained
    parser of the specification: weekday and month ranges, week numbers,
    ``off``, past-midnight times, ``sunrise``, comments, ``unknown``) and
    evaluated over the week starting on ``week``'s Monday, so seasonal
    rules give that week's hours. Times the value marks ``unknown`` are
    treated as open, with a note; public-holiday rules (``PH``) are not
    applied (no holiday calendar), with a note. A value that does not
    follow the grammar, or a missing one, is unknown: the place is then
    treated as open all day and ``note`` says why.

    Parameters
    ----------
    text
        The ``opening_hours`` value; missing or blank means unknown.
    week
        A day of the week to evaluate; ``None``: the current week.
    """
    if text is None or (isinstance(text, float) and text != text) or not str(text).strip():
        return WeeklyHours.always_open(known=False, note="no opening hours given")
    raw = str(text).strip()
    try:
        hours = OpeningHours(raw)
    except Exception as exc:  # the parser raises its own error types for bad syntax
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return WeeklyHours.always_open(
            known=False,
            note=f"opening hours {raw!r} not understood ({first.rstrip(':')}); assumed open",
        )
    monday = _monday(week)
    origin = datetime.combine(monday, datetime.min.time())
    per_day: list[list[Window]] = [[] for _ in range(7)]
    notes: list[str] = []
    for start, end, state, _ in hours.intervals(origin, origin + timedelta(days=7)):
        if state == State.CLOSED:
            continue
        if state == State.UNKNOWN:
            notes.append("times marked unknown treated as open")
        for day, window in _split_by_day(start, end, monday):
            per_day[day].append(window)
    if re.search(r"\b(PH|SH)\b", raw):
        notes.append("holiday rules not applied (no holiday calendar)")
    windows = tuple(_merge(w) for w in per_day)
    return WeeklyHours(windows, known=True, note="; ".join(dict.fromkeys(notes)))
