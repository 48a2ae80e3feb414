"""Team plans: several reps from their own homes share one pool; skills, shifts and caps kept."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.errors import InputError
from planner.routing.horizon import Shift
from planner.routing.hours import parse_clock, parse_opening_hours
from planner.routing.params import RouteParams
from planner.routing.schedule import Leg, time_route
from planner.routing.team import plan_team


@pytest.fixture()
def pool() -> pd.DataFrame:
    """Thirty accounts across central Helsinki; five need a forklift licence."""
    rng = np.random.default_rng(0)
    n = 30
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "latitude": 60.17 + rng.uniform(-0.03, 0.03, n),
            "longitude": 24.94 + rng.uniform(-0.06, 0.06, n),
            "visit_minutes": 30,
            "opening_hours": ["Mo 13:00-14:00"] + ["Mo-Fr 09:00-17:00"] * (n - 1),
            "skill": [""] * 25 + ["forklift"] * 5,
        }
    )


@pytest.fixture()
def reps() -> pd.DataFrame:
    """Anna lives west and works Mo, Tu; Ben lives east and works Mo, We until 15:00."""
    return pd.DataFrame(
        {
            "rep_id": ["anna", "ben"],
            "name": ["Anna", "Ben"],
            "home_latitude": [60.17, 60.17],
            "home_longitude": [24.88, 25.00],
            "weekdays": ["Mo,Tu", "Mo,We"],
            "day_end": [None, "15:00"],
            "skills": ["forklift", ""],
            "max_visits": [None, 5],
        }
    )


def test_team_week_visits_every_account_once(pool, reps):
    """Two reps, one pool: every account once, each rep from home, shifts, skills and caps kept."""
    team = plan_team(pool, reps, params=RouteParams(time_limit_s=1.5))
    assert team.unvisited == ()
    seen = [s.stop_id for p in team.plans for d in p.days for s in d.stops]
    assert sorted(seen) == sorted(pool["account_id"])
    anna, ben = team.plans
    assert {d.label for d in anna.days} == {"Mo", "Tu"} and {d.label for d in ben.days} == {
        "Mo", "We"}
    forklift = set(pool.loc[pool["skill"] == "forklift", "account_id"])
    assert not forklift & {s.stop_id for d in ben.days for s in d.stops}
    for d in ben.days:
        assert len(d.stops) <= 5
        assert not d.stops or d.return_home_s <= 15 * 3600 + 1e-6
    late = next(s for p in team.plans for d in p.days for s in d.stops if s.stop_id == "A0")
    # A0 opens on Monday 13:00-14:00 only; the visit starts inside that window (how early
    # depends on the order the time-limited search found, so only the window is checked).
    assert late.window == (13 * 3600, 14 * 3600)
    assert 13 * 3600 <= late.start_s <= 14 * 3600
    for s in (s for p in team.plans for d in p.days for s in d.stops):
        assert s.window[0] - 1e-6 <= s.start_s <= s.window[1] + 1e-6
    # Each rep's plan starts at that rep's home (point 0 of its own matrix).
    assert anna.lat[0] == 60.17 and anna.lon[0] == 24.88 and ben.lon[0] == 25.00
    table = team.eta_table()
    assert list(table.columns[:2]) == ["rep_id", "rep_name"] and len(table) == 30
    assert set(team.totals()["rep_id"]) == {"anna", "ben"}


def test_visit_nobody_may_make_is_reported(pool, reps):
    """A visit needing a skill no rep has is 'no_skill', not dropped silently."""
    pool.loc[3, "skill"] = "crane"
    team = plan_team(pool, reps, params=RouteParams(time_limit_s=0.8))
    (u,) = team.unvisited
    assert u.stop_id == "A3" and u.status == "no_skill"


def test_bad_reps_are_listed_at_once(pool):
    """Missing home, a shift that ends before it starts and unknown weekdays: one error each."""
    bad = pd.DataFrame({"rep_id": ["a", "b", "c"], "home_latitude": [None, 60.1, 60.1],
                        "home_longitude": [24.9, 24.9, 24.9], "day_start": ["08:00", "17:00", None],
                        "day_end": [None, "09:00", None], "weekdays": [None, None, "Mo,Xx"]})
    with pytest.raises(InputError, match="3 problems") as info:
        plan_team(pool, bad)
    text = str(info.value)
    assert "no valid home" in text and "ends before it starts" in text and "Xx" in text


def test_cli_plans_a_team(tmp_path, pool, reps, capsys):
    """`planner route --stops --reps` writes a GeoJSON and GPX per rep and the visit table."""
    pool.to_csv(tmp_path / "stops.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    code = main(["route", "--stops", str(tmp_path / "stops.csv"), "--reps",
                 str(tmp_path / "reps.csv"), "--out", str(tmp_path / "team"),
                 "--time-limit", "1", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["unvisited"] == []
    assert {r["rep_id"] for r in payload["reps"]} == {"anna", "ben"}
    for rep in ("anna", "ben"):
        assert json.loads((tmp_path / "team" / f"{rep}.geojson").read_text())["features"]
        assert (tmp_path / "team" / f"{rep}.gpx").read_text().startswith("<?xml")
    assert len(pd.read_csv(tmp_path / "team" / "visits.csv")) == 30


HOURS = st.sampled_from([None, "Mo-Fr 09:00-17:00", "Mo-Fr 13:00-14:00", "Tu,Th 08:00-10:00",
                         "Mo 15:00-16:00", "Sa 10:00-14:00", "We 12:00-12:45"])


@settings(derandomize=True, deadline=None, max_examples=6,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), hours=st.lists(HOURS, min_size=2, max_size=16),
       n_reps=st.integers(1, 3))
def test_team_plans_keep_every_invariant(seed, hours, n_reps):
    """Property: each stop at most once, every visit in its rep's shift and opening hours,
    and no left-out visit fits into any rep's day."""
    rng = np.random.default_rng(seed)
    n = len(hours)
    stops = pd.DataFrame({
        "account_id": [f"S{i}" for i in range(n)],
        "latitude": 60.17 + rng.uniform(-0.03, 0.03, n),
        "longitude": 24.94 + rng.uniform(-0.06, 0.06, n),
        "visit_minutes": rng.choice([20, 45, 90], n), "opening_hours": hours,
    })
    reps = pd.DataFrame({
        "rep_id": [f"R{r}" for r in range(n_reps)],
        "home_latitude": 60.17 + rng.uniform(-0.02, 0.02, n_reps),
        "home_longitude": 24.94 + rng.uniform(-0.05, 0.05, n_reps),
        "weekdays": rng.choice(["Mo", "Mo,We", "Tu,Th"], n_reps),
        "day_end": rng.choice(["13:00", "17:00"], n_reps),
    })
    team = plan_team(stops, reps, params=RouteParams(time_limit_s=0.5, seed=seed % 50))
    visited = [s.stop_id for p in team.plans for d in p.days for s in d.stops]
    assert len(visited) == len(set(visited))
    assert set(visited) | {u.stop_id for u in team.unvisited} == set(stops["account_id"])
    for rep, plan in zip(team.reps, team.plans, strict=True):
        shift_end = parse_clock(rep.day_end)
        for day in plan.days:
            assert day.weekday in rep.weekdays
            assert not day.stops or day.return_home_s <= shift_end + 1e-6
            for s in day.stops:
                windows = parse_opening_hours(stops.loc[int(s.stop_id[1:]), "opening_hours"]).on(
                    day.weekday)
                assert any(a - 1e-6 <= s.start_s and s.departure_s <= b + 1e-6
                           for a, b in windows)
    for u in team.unvisited:
        if u.status != "no_room":
            continue
        i = int(u.stop_id[1:])
        visit = float(stops.loc[i, "visit_minutes"]) * 60
        hours_i = parse_opening_hours(stops.loc[i, "opening_hours"])
        for r, (rep, plan) in enumerate(zip(team.reps, team.plans, strict=True)):
            for day in plan.days:
                shift = Shift(rep=0, day=day.weekday, home=0, start_s=parse_clock(rep.day_start),
                              end_s=parse_clock(rep.day_end), max_work_s=10**9)
                legs = [Leg(s.point, s.departure_s - s.start_s,
                            (s.window[0], s.window[1] - math.ceil(s.departure_s - s.start_s)))
                        for s in day.stops]
                for a, b in hours_i.within(day.weekday, shift.start_s, shift.end_s):
                    if b - math.ceil(visit) < a:
                        continue
                    leg = Leg(i + 1, float(math.ceil(visit)), (a, b - math.ceil(visit)))
                    T = plan.matrix.duration_s
                    for pos in range(len(legs) + 1):
                        trial = [*legs[:pos], leg, *legs[pos:]]
                        assert time_route(trial, T, shift) is None, (u.stop_id, r, day.label)
