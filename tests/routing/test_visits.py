"""Visit rhythm (visits due per week, visits per period) and per-account drive hours."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from planner.errors import InputError
from planner.routing import account_drive_hours, travel_workload, visit_counts, visits_due
from planner.routing.visits import DRIVE_H_PER_WEEK

MONDAY = date(2026, 1, 5)


@pytest.fixture(scope="module")
def two_towns() -> pd.DataFrame:
    """Eight accounts in two territories near Helsinki, one far out, two without a place."""
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(10)],
            "territory_id": ["T1"] * 4 + ["T2"] * 4 + [None, "T2"],
            "latitude": [60.17, 60.18, 60.16, 60.30, 60.20, 60.21, 60.19, 60.20, 60.2, None],
            "longitude": [24.92, 24.94, 24.90, 25.20, 25.00, 25.02, 25.01, 24.98, 25.0, 25.0],
            "visits_per_month": [1.0, 2.0, 4.0, 1.0, 0.5, 1.0, 2.0, np.nan, 1.0, 1.0],
        },
        index=pd.Index([f"row{i}" for i in range(10)]),
    )


def test_visits_due_keep_the_monthly_rhythm() -> None:
    """Over a year each frequency is met roughly; the same week always gives the same visits."""
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(200)],
            "visits_per_month": np.repeat([0.5, 1.0, 8.0, 0.0], 50),
        }
    )
    counts = pd.Series(0, index=accounts["account_id"])
    for w in range(52):
        due = visits_due(accounts, MONDAY + timedelta(weeks=w))
        counts[due["account_id"]] += due["visits_this_week"].to_numpy()
    per_year = counts.groupby(np.repeat(np.arange(4), 50)).mean().to_numpy()
    # 52 weeks hold 12 months: each account's yearly count is 12 x its rate, give or take one
    assert per_year[:3] == pytest.approx([6.0, 12.0, 96.0], abs=1.0)
    assert per_year[3] == 0
    assert visits_due(accounts, MONDAY).equals(visits_due(accounts, MONDAY))


def test_low_frequencies_get_their_share_of_visits() -> None:
    """Every other month over 4 weeks: about half the accounts get one visit, not none."""
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(400)], "visits_per_month": 0.5})
    counts = visit_counts(accounts, weeks=4)
    assert set(np.unique(counts)) == {0, 1}
    assert counts.sum() == pytest.approx(400 * 0.5 * 4 * 12 / 52, rel=0.1)
    assert np.array_equal(counts, visit_counts(accounts, weeks=4))  # deterministic


@settings(derandomize=True, deadline=None, max_examples=25)
@given(
    per_month=hs.lists(hs.floats(0.0, 40.0), min_size=1, max_size=30),
    weeks=hs.integers(1, 8),
)
def test_visit_counts_round_each_expectation_down_or_up(per_month: list[float], weeks: int) -> None:
    """Each account gets floor or ceil of its expected visits, never over one a working day."""
    accounts = pd.DataFrame(
        {"account_id": [f"X{i}" for i in range(len(per_month))], "visits_per_month": per_month}
    )
    counts = visit_counts(accounts, weeks=weeks, working_days=5)
    expected = np.asarray(per_month) * 12 / 52 * weeks
    assert np.all(counts >= np.minimum(np.floor(expected), 5 * weeks))
    assert np.all(counts <= np.minimum(np.floor(expected) + 1, 5 * weeks))


def test_visit_counts_reject_an_empty_period() -> None:
    """A period of no weeks is a caller's mistake."""
    with pytest.raises(ValueError, match="weeks must be at least 1"):
        visit_counts(pd.DataFrame({"account_id": ["A"]}), weeks=0)


def test_account_drive_hours_keep_each_territory_total(two_towns: pd.DataFrame) -> None:
    """Shares add up to each territory's drive hours; unplaced rows get 0; far-out costs more."""
    homes = {"T1": (60.17, 24.92)}
    hours = account_drive_hours(two_towns, homes)
    assert hours.name == DRIVE_H_PER_WEEK and hours.index.equals(two_towns.index)
    assert hours["row8"] == 0.0 and hours["row9"] == 0.0  # no territory / no place
    placed = two_towns.iloc[:8]
    table = travel_workload(placed, homes=homes).set_index("territory_id")
    by_territory = hours.iloc[:8].groupby(placed["territory_id"]).sum()
    assert by_territory.to_numpy() == pytest.approx(table["drive_h_per_week"].to_numpy())
    assert hours["row3"] > hours[["row0", "row1"]].max()  # 15 km out, same frequency as row0


def test_account_drive_hours_name_missing_columns() -> None:
    """Accounts without coordinates columns cannot be measured."""
    with pytest.raises(InputError, match="latitude"):
        account_drive_hours(pd.DataFrame({"territory_id": ["T"], "longitude": [24.0]}))


def test_account_drive_hours_of_nothing_placed_are_zero() -> None:
    """No account with a territory and a place: all zeros, no error."""
    frame = pd.DataFrame({"territory_id": [None], "latitude": [60.0], "longitude": [24.0]})
    assert account_drive_hours(frame).tolist() == [0.0]
