"""Tours and day routes on real extracts: each stop at most once, home to home, windows kept."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError, NetworkDataError, SnapDistanceWarning
from planner.routing.hours import parse_opening_hours
from planner.routing.tours import (
    UNREACHABLE,
    RouteParams,
    RoutePlan,
    plan_routes,
    solve_tour,
    to_solver_units,
    tour_length,
)

FAST = {"time_limit_s": 0.3}


def assert_valid_plan(plan: RoutePlan, stops: pd.DataFrame) -> None:
    """Check the invariants every plan must keep."""
    params = plan.params
    seen: dict[str, set[int]] = {}
    for day in plan.days:
        points = day.points
        if day.stops:
            assert points[0] == 0 and points[-1] == 0, "starts and ends at home"
        assert len(set(points[1:-1])) == len(points[1:-1]), "a stop twice in one day"
        assert day.leave_home_s >= params.day_start_s - 1e-6
        assert day.return_home_s <= params.day_end_s + 1e-6
        assert day.return_home_s - day.leave_home_s <= params.max_work_s + 1e-6
        prev_departure = day.leave_home_s
        for s in day.stops:
            seen.setdefault(s.stop_id, set()).add(day.day)
            assert s.arrival_s >= prev_departure - 1e-6
            assert s.start_s >= s.arrival_s - 1e-6
            assert s.window[0] - 1e-6 <= s.start_s
            assert s.departure_s <= s.window[1] + 1e-6, "visit ends after closing"
            row = stops.loc[stops["account_id"] == s.stop_id].iloc[0]
            hours = parse_opening_hours(row.get("opening_hours"))
            inside = any(
                a - 1e-6 <= s.start_s and s.departure_s <= b + 1e-6
                for a, b in hours.on(day.weekday)
            )
            assert inside, f"{s.stop_id} visited outside its opening hours"
            prev_departure = s.departure_s
    counted = sum(len(d.stops) for d in plan.days)
    assert counted == sum(len(v) for v in seen.values()), "a stop twice on the same day"
    if not params.use_frequencies:
        listed = set(seen) | {u.stop_id for u in plan.unvisited}
        assert listed == set(stops["account_id"].astype(str)), "a stop dropped silently"
        assert all(len(v) == 1 for v in seen.values())


def test_solver_units_are_integers():
    """Seconds become integers, inf becomes UNREACHABLE, and rounding up is available."""
    m = np.array([[0.0, 1.4, np.inf], [2.6, 0.0, 3.0], [1.0, 1.5, 0.0]])
    near, res = to_solver_units(m)
    assert res == pytest.approx(3.0 / 1e6)
    up, _ = to_solver_units(m, resolution=1.0, rounding="up")
    assert up.dtype == np.int64
    assert up[0, 1] == 2 and up[1, 0] == 3 and up[0, 2] == UNREACHABLE
    assert near[0, 1] == round(1.4 / res)
    whole, unit = to_solver_units(np.array([[0.0, 5.0], [7.0, 0.0]]))
    assert unit == 1.0 and whole[1, 0] == 7
    with pytest.raises(InputError, match="non-negative"):
        to_solver_units(np.array([[0.0, -1.0], [1.0, 0.0]]))


@settings(derandomize=True, deadline=None, max_examples=6)
@given(st.integers(4, 7), st.integers(0, 10**6))
def test_solve_tour_finds_the_optimum_of_small_asymmetric_tours(n, seed):
    """On small asymmetric matrices the tour equals the brute-force optimum."""
    rng = np.random.default_rng(seed)
    D = rng.integers(10, 500, size=(n, n)).astype(float)
    np.fill_diagonal(D, 0)
    start = seed % n
    tour = solve_tour(D, start=start, time_limit_s=0.1, seed=seed)
    assert tour[0] == start and sorted(tour) == list(range(n))
    others = [i for i in range(n) if i != start]
    best = min(tour_length(D, [start, *p]) for p in itertools.permutations(others))
    assert tour_length(D, tour) == pytest.approx(best)


def test_solve_tour_edge_cases():
    """Tiny tours need no solver; bad input says what is wrong."""
    assert solve_tour(np.zeros((1, 1))) == [0]
    assert solve_tour(np.array([[0, 1], [1, 0]]), start=1) == [1, 0]
    with pytest.raises(InputError, match="square"):
        solve_tour(np.zeros((2, 3)))
    with pytest.raises(InputError, match="start=5"):
        solve_tour(np.zeros((3, 3)), start=5)


def test_day_route_in_monte_carlo(monaco_network, monaco_stops, monaco_home):
    """A Monday in Monte Carlo: every stop visited once, home to home, windows kept."""
    plan = plan_routes(
        monaco_stops, monaco_home, network=monaco_network, params=RouteParams(**FAST)
    )
    assert_valid_plan(plan, monaco_stops)
    assert not plan.estimated
    assert len(plan.days) == 1 and len(plan.days[0].stops) == 6
    assert plan.unvisited == ()
    market = next(s for s in plan.days[0].stops if s.stop_id == "M6")
    assert market.departure_s <= 11 * 3600
    totals = plan.totals()
    assert totals["visits"] == 6 and totals["drive_h"] > 0
    eta = plan.eta_table()
    assert list(eta["sequence"]) == [1, 2, 3, 4, 5, 6]


@settings(derandomize=True, deadline=None, max_examples=4)
@given(st.integers(0, 10**6), st.integers(5, 25), st.sampled_from(["08:00", "09:30"]))
def test_helsinki_routes_keep_invariants(helsinki_network, helsinki_shops, seed, n, start):
    """Random sets of real Helsinki shops with their own opening hours keep every invariant."""
    stops = helsinki_shops.sample(n, random_state=seed).reset_index(drop=True)
    weekday = seed % 6
    params = RouteParams(day_start=start, day_end="16:00", weekdays=(weekday,), time_limit_s=0.2,
                         seed=seed)
    plan = plan_routes(stops, (60.1699, 24.9384), network=helsinki_network, params=params)
    assert_valid_plan(plan, stops)


def test_week_plan_spreads_frequent_visits(helsinki_network, helsinki_shops):
    """Twice-a-week accounts get two visits on different days; none is lost."""
    stops = helsinki_shops.head(12).copy()
    stops["opening_hours"] = None
    stops["visits_per_month"] = [52 / 12 * 2] * 4 + [52 / 12] * 8
    params = RouteParams(weekdays=(0, 1, 2, 3, 4), use_frequencies=True, time_limit_s=0.5)
    plan = plan_routes(stops, (60.1699, 24.9384), network=helsinki_network, params=params)
    assert_valid_plan(plan, stops)
    days_of: dict[str, list[int]] = {}
    for day in plan.days:
        for s in day.stops:
            days_of.setdefault(s.stop_id, []).append(day.day)
    for sid in stops["account_id"][:4]:
        assert len(days_of[sid]) == 2 and abs(days_of[sid][0] - days_of[sid][1]) >= 1
    for sid in stops["account_id"][4:]:
        assert len(days_of[sid]) == 1


def test_unvisitable_stops_are_reported_with_reasons(monaco_network, monaco_stops, monaco_home):
    """Closed, too-short, off-network and overfull stops each get their own status."""
    extra = pd.DataFrame(
        {
            "account_id": ["closed", "short", "nice", "sea"],
            "latitude": [43.7410, 43.7415, 43.70, 43.735],
            "longitude": [7.4230, 7.4240, 7.27, 7.435],
            "visit_minutes": [20, 30, 20, 20],
            "opening_hours": ["Su 10:00-12:00", "Mo 08:00-08:10", None, None],
        }
    )
    stops = pd.concat([monaco_stops, extra], ignore_index=True)
    with pytest.warns(SnapDistanceWarning, match="sea"):
        plan = plan_routes(stops, monaco_home, network=monaco_network, params=RouteParams(**FAST))
    status = {u.stop_id: u.status for u in plan.unvisited}
    assert status == {"closed": "closed", "short": "window_too_short", "nice": "unreachable"}
    assert_valid_plan(plan, stops)
    assert "sea" in {s.stop_id for s in plan.days[0].stops}


def test_overfull_day_reports_no_room(monaco_network, monaco_home):
    """More visits than a short shift holds: the rest are 'no_room', none dropped silently."""
    rng = np.random.default_rng(1)
    stops = pd.DataFrame(
        {
            "account_id": [f"S{i}" for i in range(10)],
            "latitude": rng.uniform(43.737, 43.743, 10),
            "longitude": rng.uniform(7.419, 7.427, 10),
            "visit_minutes": 45,
        }
    )
    params = RouteParams(day_start="09:00", day_end="13:00", time_limit_s=0.3)
    plan = plan_routes(stops, monaco_home, network=monaco_network, params=params)
    assert_valid_plan(plan, stops)
    assert 3 <= len(plan.days[0].stops) <= 5
    assert {u.status for u in plan.unvisited} == {"no_room"}


def test_plan_without_network_is_an_estimate(monaco_stops, monaco_home):
    """Without a network the plan uses straight lines and says so."""
    plan = plan_routes(monaco_stops, monaco_home, params=RouteParams(**FAST))
    assert plan.estimated and "estimate" in plan.method
    assert any("estimate" in n for n in plan.notes)
    assert_valid_plan(plan, monaco_stops)


def test_bad_input_is_reported(monaco_network, monaco_stops, monaco_home):
    """Empty stops, '25:00', bad coordinates and a home off the network fail clearly."""
    with pytest.raises(InputError, match="no stops"):
        plan_routes(monaco_stops.iloc[:0], monaco_home, network=monaco_network)
    with pytest.raises(InputError, match="25:00"):
        RouteParams(day_start="25:00")
    with pytest.raises(InputError, match="not after day_start"):
        RouteParams(day_start="17:00", day_end="08:00")
    bad = monaco_stops.copy()
    bad.loc[1, "latitude"] = np.nan
    bad.loc[2, "account_id"] = "M1"
    with pytest.raises(InputError, match="2 problems") as info:
        plan_routes(bad, monaco_home, network=monaco_network)
    assert "M2" in str(info.value) and "repeat" in str(info.value)
    with (
        pytest.warns(SnapDistanceWarning),
        pytest.raises(NetworkDataError, match="home"),
    ):
        plan_routes(monaco_stops, (43.70, 7.27), network=monaco_network)


def test_tight_week_moves_or_reports_every_visit(monaco_network, monaco_home):
    """A week too short for its visits still accounts for every stop: routed or 'no_room'."""
    rng = np.random.default_rng(5)
    stops = pd.DataFrame(
        {
            "account_id": [f"W{i}" for i in range(12)],
            "latitude": rng.uniform(43.737, 43.743, 12),
            "longitude": rng.uniform(7.419, 7.427, 12),
            "visit_minutes": 60,
            "opening_hours": ["Mo-We 08:00-18:00"] * 6 + ["Mo 08:00-18:00"] * 6,
        }
    )
    params = RouteParams(day_start="09:00", day_end="13:00", weekdays=(0, 1, 2),
                         time_limit_s=0.6)
    plan = plan_routes(stops, monaco_home, network=monaco_network, params=params)
    assert_valid_plan(plan, stops)
    routed = sum(len(d.stops) for d in plan.days)
    assert routed >= 6
    assert routed + len(plan.unvisited) == 12


def test_more_visits_than_open_days_are_reported(monaco_network, monaco_home):
    """Twice a week at a place open only on Mondays: one visit, the other reported."""
    stops = pd.DataFrame(
        {
            "account_id": ["MON", "ANY"],
            "latitude": [43.7393, 43.7365],
            "longitude": [7.4285, 7.4210],
            "opening_hours": ["Mo 09:00-17:00", None],
            "visits_per_month": [52 / 12 * 2, 52 / 12 * 2],
        }
    )
    params = RouteParams(weekdays=(0, 1, 2, 3, 4), use_frequencies=True, time_limit_s=0.3)
    plan = plan_routes(stops, monaco_home, network=monaco_network, params=params)
    assert_valid_plan(plan, stops)
    visits = [s.stop_id for d in plan.days for s in d.stops]
    assert visits.count("MON") == 1 and visits.count("ANY") == 2
    (missed,) = plan.unvisited
    assert missed.stop_id == "MON" and missed.status == "closed"
    assert "only 1 day of" in missed.reason
