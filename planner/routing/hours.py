"""Opening hours in OSM syntax ("Mo-Fr 09:00-18:00; Sa 10:00-16:00") as weekly time windows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from planner.errors import InputError

__all__ = ["DAY_NAMES", "WeeklyHours", "parse_clock", "parse_opening_hours"]

#: OSM weekday abbreviations, Monday first (index 0).
DAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_SECONDS = 86_400

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_RANGE = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\+?$")
_DAY_TOKEN = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:\s*-\s*(Mo|Tu|We|Th|Fr|Sa|Su))?$")

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


def _days(selector: str) -> list[int] | None:
    days: list[int] = []
    for token in selector.split(","):
        m = _DAY_TOKEN.match(token.strip())
        if not m:
            return None
        first = DAY_NAMES.index(m.group(1))
        last = DAY_NAMES.index(m.group(2)) if m.group(2) else first
        d = first
        while True:
            days.append(d)
            if d == last:
                break
            d = (d + 1) % 7
    return days


def _time_of(text: str) -> int | None:
    m = _CLOCK.match(text)
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 48:
        return None
    return h * 3600 + mi * 60


def parse_opening_hours(text: str | None) -> WeeklyHours:
    """Read the common subset of OSM ``opening_hours`` into weekly windows.

    Understands rules separated by ``;`` made of weekday ranges and lists
    (``Mo-Fr``, ``Sa,Su``, ``Fr-Mo``), time ranges (``09:00-12:00,13:00-18:00``,
    past midnight as ``22:00-02:00`` or ``18:00-26:00``), ``24/7`` and
    ``off``/``closed``; a later rule replaces earlier ones on the days it
    names, as in OSM. Public-holiday rules (``PH``) are skipped with a note.
    Anything else (months, weeks, sunrise, comments) makes the whole text
    unknown: the place is then treated as open all day, with a note.

    Parameters
    ----------
    text
        The ``opening_hours`` value; missing or blank means unknown.
    """
    if text is None or (isinstance(text, float) and text != text) or not str(text).strip():
        return WeeklyHours.always_open(known=False, note="no opening hours given")
    raw = str(text).strip()
    if raw == "24/7":
        return WeeklyHours.always_open()
    per_day: list[list[Window]] = [[] for _ in range(7)]
    notes: list[str] = []

    def unknown(why: str) -> WeeklyHours:
        return WeeklyHours.always_open(
            known=False, note=f"opening hours {raw!r} not understood ({why}); assumed open"
        )

    # Rules end at ';' or '||'; a comma before a weekday also starts a new rule
    # ("Mo-Fr 09:00-18:00, Sa 10:00-14:00", a common way of writing it).
    for rule in re.split(r";|\|\||(?<=\d),\s*(?=(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)\b)", raw):
        rule = rule.strip()
        if not rule:
            continue
        if rule.startswith("PH") or rule.startswith("SH"):
            notes.append("holiday rules ignored")
            continue
        parts = rule.split(None, 1)
        days = _days(parts[0])
        rest = parts[1].strip() if days is not None and len(parts) > 1 else rule
        if days is None:
            days = list(range(7))
        elif len(parts) == 1:
            rest = "00:00-24:00"
        if rest.startswith("PH") or ",PH" in parts[0]:
            return unknown("mixed holiday rule")
        if rest in ("off", "closed"):
            for d in days:
                per_day[d] = []
            continue
        if rest == "24/7":
            rest = "00:00-24:00"
        spans: list[tuple[int, int]] = []
        for piece in rest.split(","):
            m = _RANGE.match(piece.strip())
            if not m:
                return unknown(f"cannot read {piece.strip()!r}")
            start, end = _time_of(m.group(1)), _time_of(m.group(2))
            if start is None or end is None or start >= DAY_SECONDS:
                return unknown(f"invalid time in {piece.strip()!r}")
            spans.append((start, end))
        additions: list[list[Window]] = [[] for _ in range(7)]
        for d in days:
            for start, end in spans:
                if end > start and end <= DAY_SECONDS:
                    additions[d].append((start, end))
                else:
                    # Past midnight: the rest belongs to the next morning.
                    spill = end - DAY_SECONDS if end > DAY_SECONDS else end
                    if start < DAY_SECONDS:
                        additions[d].append((start, DAY_SECONDS))
                    if spill > 0:
                        additions[(d + 1) % 7].append((0, min(spill, DAY_SECONDS)))
        for d in days:
            per_day[d] = list(additions[d])
        for d in range(7):
            if d not in days and additions[d]:
                per_day[d] = per_day[d] + additions[d]
    windows = tuple(_merge(w) for w in per_day)
    return WeeklyHours(windows, known=True, note="; ".join(dict.fromkeys(notes)))
