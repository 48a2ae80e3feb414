"""A rep's route from a workspace (planner.services.rep_routes / rep_accounts): who, what, when."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner import schema as s
from planner.errors import InputError
from planner.routing import RouteParams, visits_due
from planner.services import rep_accounts, rep_routes
from planner.services.rep_routes import RepRouteRequest
from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace

MONDAY = date(2026, 1, 5)
FAST = RouteParams(time_limit_s=0.3)


def _with_associations(ws: Workspace, rows: list[dict[str, object]]) -> Workspace:
    ws.set_rows("associations", "base", pd.DataFrame(rows))
    return ws


def test_rep_day_is_the_owned_territories_accounts_and_home() -> None:
    """R1 owns T1: the day holds T1's located members and R1's home."""
    ws = build_small_workspace()
    day = rep_routes.rep_day(ws, "base", "R1", on=MONDAY)
    members = ws.memberships("base")
    assert day.territories == ("T1",)
    assert set(day.accounts[s.ACCOUNT_ID]) == set(
        members.loc[members[s.TERRITORY_ID] == "T1", s.ACCOUNT_ID]
    )
    assert day.home == pytest.approx((60.17, 24.92))
    assert day.rep_name == "Aino Virtanen" and day.monday == MONDAY


def test_unknown_rep_lists_the_owners() -> None:
    """An unknown rep id is refused and the fix names the reps who own a territory that day."""
    ws = build_small_workspace()
    with pytest.raises(InputError, match="unknown rep 'R9'") as info:
        rep_routes.rep_day(ws, "base", "R9", on=MONDAY)
    assert "R1" in info.value.problems[0].fix


def test_a_rep_without_territory_on_the_date_is_refused() -> None:
    """A manager owns nothing; an association that ended owns nothing either."""
    ws = build_small_workspace()
    with pytest.raises(InputError, match="owns no territory") as info:
        rep_routes.rep_day(ws, "base", "R2", on=MONDAY)
    assert "R1" in info.value.problems[0].fix
    _with_associations(ws, [{s.REP_ID: "R1", s.TERRITORY_ID: "T1", s.ROLE: "owner",
                             s.START_DATE: "2025-01-01", s.END_DATE: "2025-12-31"}])
    with pytest.raises(InputError, match="owns no territory"):
        rep_routes.rep_day(ws, "base", "R1", on=MONDAY)
    assert rep_accounts.rep_territories(ws, "base", "R1", on=date(2025, 6, 1)) == ["T1"]


def test_an_unreadable_end_date_is_an_error_not_an_open_association() -> None:
    """The one active-on-date rule (access.active_mask): a bad date is reported, not guessed."""
    ws = _with_associations(
        build_small_workspace(),
        [{s.REP_ID: "R1", s.TERRITORY_ID: "T1", s.ROLE: "owner", s.END_DATE: "someday"}],
    )
    with pytest.raises(InputError, match="unreadable end_date"):
        rep_accounts.rep_territories(ws, "base", "R1", on=MONDAY)


def test_territories_without_located_accounts_are_refused() -> None:
    """A rep whose accounts have no coordinates gets a problem saying how to fix them."""
    ws = build_small_workspace()
    members = ws.memberships("base")
    t1 = set(members.loc[members[s.TERRITORY_ID] == "T1", s.ACCOUNT_ID])
    accounts = ws.accounts.copy()
    accounts.loc[accounts[s.ACCOUNT_ID].isin(t1), "geometry"] = None
    ws.set_table("accounts", accounts)
    with pytest.raises(InputError, match="no account with coordinates") as info:
        rep_routes.rep_day(ws, "base", "R1", on=MONDAY)
    assert "latitude/longitude" in info.value.problems[0].fix


def test_due_stops_are_the_weeks_visits_due() -> None:
    """One week: exactly visits_due's accounts and counts; two weeks: the sum of both."""
    day = rep_routes.rep_day(build_small_workspace(), "base", "R1", on=MONDAY + timedelta(2))
    one = rep_routes.rep_stops(day, RepRouteRequest(weekdays=(0, 2, 4)))
    due = visits_due(day.accounts, MONDAY, working_days=3)
    assert list(one.stops[s.ACCOUNT_ID]) == list(due[s.ACCOUNT_ID])
    assert one.visits == int(due["visits_this_week"].sum()) and one.first_day == MONDAY
    assert one.weekdays == (0, 2, 4)
    two = rep_routes.rep_stops(day, RepRouteRequest(weeks=2))
    second = visits_due(day.accounts, MONDAY + timedelta(7), working_days=5)
    assert two.visits == one.visits + int(second["visits_this_week"].sum())


def test_chosen_stops_must_be_the_reps_accounts() -> None:
    """Chosen accounts are routed once on the date; another territory's account is refused."""
    ws = build_small_workspace()
    day = rep_routes.rep_day(ws, "base", "R1", on=MONDAY + timedelta(1))
    ids = tuple(day.accounts[s.ACCOUNT_ID][:3])
    chosen = rep_routes.rep_stops(day, RepRouteRequest(mode="chosen", account_ids=ids))
    assert chosen.weekdays == (1,) and chosen.first_day == MONDAY + timedelta(1)
    assert chosen.visits == 3
    other = ws.memberships("base")
    foreign = other.loc[other[s.TERRITORY_ID] == "T3", s.ACCOUNT_ID].iloc[0]
    with pytest.raises(InputError, match="not among the rep's located accounts"):
        rep_routes.rep_stops(day, RepRouteRequest(mode="chosen", account_ids=(foreign,)))


def test_request_reports_every_problem_at_once() -> None:
    """No working day and too many weeks are listed together; so are a bad mode and day."""
    with pytest.raises(InputError, match="2 problems") as info:
        RepRouteRequest(weekdays=(), weeks=20)
    assert info.value.problems[0].fix == "pick at least one working day"
    with pytest.raises(InputError, match="2 problems"):
        RepRouteRequest(mode="sometimes", weekdays=(9,))  # type: ignore[arg-type]


def test_plan_rep_route_visits_the_due_accounts_from_home() -> None:
    """The plan starts at the rep's home and accounts for every visit asked."""
    day = rep_routes.rep_day(build_small_workspace(), "base", "R1", on=MONDAY)
    route = rep_routes.plan_rep_route(day, RepRouteRequest(route=FAST))
    plan = route.plan
    assert not route.home_guessed
    assert (float(plan.lat[0]), float(plan.lon[0])) == pytest.approx((60.17, 24.92))
    assert plan.params.first_monday == MONDAY and plan.params.use_frequencies
    visited = sum(len(d.stops) for d in plan.days)
    assert visited + len(plan.unvisited) == route.stops.visits
    assert {x.stop_id for d in plan.days for x in d.stops} <= set(route.stops.stops[s.ACCOUNT_ID])


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       st.sets(st.integers(0, 6), min_size=1))
def test_calendar_helpers(day: date, weekdays: set[int]) -> None:
    """The week starts on its Monday; the next working day is a working day within a week."""
    monday = rep_routes.week_start(day)
    assert monday.weekday() == 0 and 0 <= (day - monday).days < 7
    assert rep_routes.day_date(monday, day.weekday()) == day
    nxt = rep_routes.next_working_day(day, tuple(weekdays))
    assert nxt.weekday() in weekdays and 0 <= (nxt - day).days < 7
