"""Reading OSM opening hours into weekly windows, and clock times."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.routing.hours import DAY_NAMES, parse_clock, parse_opening_hours

H = 3600


def test_weekday_ranges_and_saturday():
    """'Mo-Fr 09:00-18:00; Sa 10:00-16:00' opens weekdays and Saturday, closes Sunday."""
    h = parse_opening_hours("Mo-Fr 09:00-18:00; Sa 10:00-16:00")
    assert h.known
    assert h.on(0) == ((9 * H, 18 * H),) and h.on(4) == ((9 * H, 18 * H),)
    assert h.on(5) == ((10 * H, 16 * H),)
    assert h.on(6) == ()


def test_lists_split_hours_off_and_always():
    """Day lists, lunch breaks, 'off' and 24/7 are understood."""
    h = parse_opening_hours("Mo,We 08:00-12:00,13:00-17:00; We off")
    assert h.on(0) == ((8 * H, 12 * H), (13 * H, 17 * H))
    assert h.on(2) == () and h.on(1) == ()
    assert parse_opening_hours("24/7").on(3) == ((0, 24 * H),)
    comma = parse_opening_hours("Mo-Fr 09:00-18:00, Sa 10:00-14:00")
    assert comma.known and comma.on(5) == ((10 * H, 14 * H),) and comma.on(0) == ((9 * H, 18 * H),)


def test_past_midnight_spills_into_next_day():
    """'Fr 22:00-02:00' opens late Friday and early Saturday."""
    h = parse_opening_hours("Fr 22:00-02:00")
    assert h.on(4) == ((22 * H, 24 * H),)
    assert h.on(5) == ((0, 2 * H),)


def test_unknown_text_means_open_with_a_note():
    """Unreadable or missing hours are open all day, flagged and explained."""
    for text in ("Seasonal, only summer time", "Mo-Fr 25:00-26:00", "Mo-Fr 9-5"):
        h = parse_opening_hours(text)
        assert not h.known and "assumed open" in h.note and "not understood" in h.note
        assert h.on(2) == ((0, 24 * H),)
    assert not parse_opening_hours(None).known
    holiday = parse_opening_hours("Mo-Fr 08:00-17:00; PH off")
    assert holiday.known and "holiday" in holiday.note


def test_full_grammar_is_evaluated_in_the_plan_week():
    """Months, 'unknown' and comments follow the OSM grammar, for the week asked."""
    winter = parse_opening_hours("Jan-Mar Mo 10:00-12:00", week=date(2026, 1, 7))
    summer = parse_opening_hours("Jan-Mar Mo 10:00-12:00", week=date(2026, 7, 8))
    assert winter.known and winter.on(0) == ((10 * H, 12 * H),) and summer.on(0) == ()
    h = parse_opening_hours('Mo-Fr 09:00-12:00 "call first"; Sa unknown', week=date(2026, 3, 2))
    assert h.known and h.on(0) == ((9 * H, 12 * H),)
    assert h.on(5) == ((0, 24 * H),) and "unknown treated as open" in h.note
    assert parse_opening_hours("Su 22:00-02:00", week=date(2026, 3, 2)).on(0) == ((0, 2 * H),)


def test_clock_times():
    """HH:MM parses; '25:00' and '12:60' are errors that say how to write a time."""
    assert parse_clock("08:30") == 8 * H + 1800
    assert parse_clock("24:00") == 24 * H
    with pytest.raises(InputError, match="hours run 00-23"):
        parse_clock("25:00")
    with pytest.raises(InputError, match="HH:MM"):
        parse_clock("8h")
    with pytest.raises(InputError, match="minutes 00-59"):
        parse_clock("12:60")


@settings(derandomize=True, deadline=None, max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(DAY_NAMES),
            st.sampled_from(DAY_NAMES),
            st.integers(0, 23),
            st.integers(1, 30),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_windows_are_sorted_and_disjoint(rules):
    """Whatever the rules, each day's windows are sorted, disjoint and inside the day."""
    text = "; ".join(
        f"{a}-{b} {start:02d}:00-{min(start + length, 47):02d}:00"
        for a, b, start, length in rules
    )
    h = parse_opening_hours(text)
    assert h.known
    for day in h.windows:
        for (a, b), (c, _) in itertools.pairwise(day):
            assert a < b < c
        for a, b in day:
            assert 0 <= a < b <= 24 * H
