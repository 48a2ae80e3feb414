"""recommend_territory_count: reps needed for a workload at a capacity and utilisation."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.balance import recommend_territory_count
from planner.errors import InputError


def test_count_is_the_fewest_within_target_utilisation() -> None:
    """340 h/week at 40 h and 85 % needs exactly 10 reps; 341 h needs 11."""
    rec = recommend_territory_count(340.0, capacity_h_per_week=40, period="week")
    assert rec.territories == 10
    assert rec.utilisation == pytest.approx(0.85)
    assert recommend_territory_count(341.0, capacity_h_per_week=40, period="week").territories == 11


def test_monthly_workload_is_converted_to_weeks() -> None:
    """Monthly hours are divided by 52/12 weeks."""
    rec = recommend_territory_count(52 / 12 * 100, capacity_h_per_week=50,
                                    target_utilisation=1.0)
    assert rec.workload_h_per_week == pytest.approx(100.0)
    assert rec.territories == 2
    assert rec.options["territories"].tolist() == [1, 2, 3, 4]


def test_units_too_big_for_one_rep_are_listed() -> None:
    """Per-unit workload reveals units that one rep cannot cover alone."""
    hours = pd.Series({"z1": 10.0, "z2": 45.0, "z3": 5.0})
    rec = recommend_territory_count(hours, capacity_h_per_week=40, period="week")
    assert rec.oversized_units == (("z2", 45.0),)
    assert rec.to_dict()["territories"] == 2


def test_invalid_inputs_are_listed_together() -> None:
    """Zero capacity and an impossible utilisation are both reported."""
    with pytest.raises(InputError, match=r"capacity_h_per_week is 0[\s\S]*target_utilisation"):
        recommend_territory_count(100.0, capacity_h_per_week=0, target_utilisation=1.5)
