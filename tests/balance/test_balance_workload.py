"""Workload per account and its aggregation to units; balance variables with weights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planner.balance import (
    WorkloadSpec,
    account_workload,
    aggregate_to_units,
    units_with_workload,
)
from planner.balance.workload import balance_values
from planner.errors import InputError


@pytest.fixture
def three_accounts() -> pd.DataFrame:
    """Three accounts with visit frequency, visit length and revenue, each in a unit."""
    return pd.DataFrame({
        "account_id": ["A1", "A2", "A3"],
        "visits_per_month": [2.0, 4.0, 1.0],
        "visit_minutes": [30.0, 45.0, 60.0],
        "annual_revenue": [1000.0, 2000.0, None],
        "unit_id": ["u0", "u0", "u1"],
    })


def test_hours_are_visits_times_minutes_plus_travel(three_accounts) -> None:
    """Hours per month = visits x (minutes + travel allowance) / 60."""
    hours = account_workload(three_accounts, WorkloadSpec(travel_allowance_min=15))
    assert hours.tolist() == pytest.approx([1.5, 4.0, 1.25])


def test_period_converts_monthly_visits(three_accounts) -> None:
    """A week has 12/52 of a month's visits, a year 12 months."""
    month = account_workload(three_accounts)
    week = account_workload(three_accounts, WorkloadSpec(period="week"))
    year = account_workload(three_accounts, WorkloadSpec(period="year"))
    assert week.tolist() == pytest.approx((month * 12 / 52).tolist())
    assert year.tolist() == pytest.approx((month * 12).tolist())


def test_missing_and_negative_visit_values_are_listed_together(three_accounts) -> None:
    """A missing visit count and a negative visit length both appear in one error."""
    bad = three_accounts.copy()
    bad.loc[0, "visits_per_month"] = None
    bad.loc[2, "visit_minutes"] = -5
    with pytest.raises(InputError, match=r"missing values[\s\S]*negative values"):
        account_workload(bad)


def test_defaults_fill_missing_values(three_accounts) -> None:
    """A default visit length stands in for missing values."""
    frame = three_accounts.drop(columns="visit_minutes")
    hours = account_workload(frame, WorkloadSpec(default_visit_minutes=30))
    assert hours.tolist() == pytest.approx([1.0, 2.0, 0.5])


def test_aggregate_by_unit_column_sums_per_unit(three_accounts, grid) -> None:
    """Accounts with a unit id are summed per unit; units without accounts get zeros."""
    units = grid(2, 2)
    out = aggregate_to_units(three_accounts, units)
    assert out.index.tolist() == ["u0", "u1", "u2", "u3"]
    assert out["account_count"].tolist() == [2, 1, 0, 0]
    assert out["workload_h"].tolist() == pytest.approx([4.0, 1.0, 0.0, 0.0])
    assert out["annual_revenue"].tolist() == pytest.approx([3000.0, 0.0, 0.0, 0.0])


def test_aggregate_by_points_joins_them_to_units(grid) -> None:
    """Account points are placed in the unit polygon that holds them."""
    units = grid(2, 1)
    pts = gpd.GeoDataFrame(
        {"account_id": ["A", "B"], "visits_per_month": [1.0, 1.0], "visit_minutes": [60.0, 60.0]},
        geometry=gpd.points_from_xy([500_500.0, 501_500.0], [3_700_500.0, 3_700_500.0]),
        crs=units.crs,
    ).to_crs("EPSG:4326")
    out = aggregate_to_units(pts, units)
    assert out["workload_h"].tolist() == pytest.approx([1.0, 1.0])


def test_accounts_outside_every_unit_are_named(grid) -> None:
    """An account in no unit is an error naming it, unless outside='drop'."""
    units = grid(1, 1)
    pts = gpd.GeoDataFrame(
        {"account_id": ["in", "far"], "visits_per_month": [1.0, 1.0],
         "visit_minutes": [60.0, 60.0]},
        geometry=gpd.points_from_xy([500_500.0, 900_000.0], [3_700_500.0, 3_700_500.0]),
        crs=units.crs,
    )
    with pytest.raises(InputError, match="accounts far are outside every unit"):
        aggregate_to_units(pts, units)
    out = aggregate_to_units(pts, units, outside="drop")
    assert out["account_count"].tolist() == [1]


def test_several_balance_variables_are_normalised_and_weighted() -> None:
    """Each variable becomes a share of its total, weighted, scaled to the first total."""
    frame = pd.DataFrame({"unit_id": ["a", "b"], "h": [1.0, 3.0], "rev": [300.0, 100.0]})
    values, betas = balance_values(frame, {"h": 1.0, "rev": 1.0})
    assert betas == {"h": 0.5, "rev": 0.5}
    assert values.tolist() == pytest.approx([(0.25 + 0.75) / 2 * 4, (0.75 + 0.25) / 2 * 4])


def test_negative_missing_and_absent_weights_are_reported() -> None:
    """Negative and missing weights name their units; an absent column is named."""
    frame = pd.DataFrame({"unit_id": ["a", "b", "c"], "w": [1.0, -2.0, np.nan]})
    with pytest.raises(InputError, match=r"not a number for units c[\s\S]*negative for units b"):
        balance_values(frame, "w")
    with pytest.raises(InputError, match="column 'nope' is missing"):
        balance_values(frame, "nope")


def test_units_with_workload_joins_the_sums_onto_the_polygons(three_accounts, grid) -> None:
    """The units keep their geometry and gain account_count, workload_h and revenue."""
    units = units_with_workload(grid(2, 2), three_accounts)
    assert isinstance(units, gpd.GeoDataFrame)
    assert units["workload_h"].tolist() == pytest.approx([4.0, 1.0, 0.0, 0.0])
    assert units["account_count"].tolist() == [2, 1, 0, 0]
