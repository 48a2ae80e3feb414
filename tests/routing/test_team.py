"""Team plans: several reps from their own homes share one pool; skills, shifts and caps kept."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planner.cli import main
from planner.errors import InputError
from planner.routing.params import RouteParams
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
    assert 13 * 3600 <= late.start_s <= 13.25 * 3600
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
