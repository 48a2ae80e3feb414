"""compare_plans: metrics side by side, moved units and accounts, a map of the changes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from planner.balance import compare_plans, design_territories, rebalance
from planner.errors import InputError


def _halves(nx: int, ny: int, split: int) -> pd.Series:
    return pd.Series({f"u{j * nx + i}": "L" if i < split else "R"
                      for j in range(ny) for i in range(nx)})


def test_moved_units_and_accounts_are_listed_from_to(grid) -> None:
    """Moving one column of a 4x2 grid lists its two units and their accounts."""
    units = grid(4, 2).assign(account_count=1)
    a, b = _halves(4, 2, 2), _halves(4, 2, 3)
    accounts = pd.DataFrame({"account_id": ["x", "y", "z"], "unit_id": ["u2", "u0", "u6"]})
    cmp = compare_plans(a, b, units, accounts, weight="w")
    moved = cmp.moved_units.set_index("unit_id")
    assert moved.to_dict("index") == {
        "u2": {"from_territory": "R", "to_territory": "L", "workload": 1.0, "account_count": 1},
        "u6": {"from_territory": "R", "to_territory": "L", "workload": 1.0, "account_count": 1},
    }
    assert cmp.moved_accounts is not None
    assert cmp.moved_accounts["account_id"].tolist() == ["x", "z"]
    assert cmp.changes.crs.to_epsg() == 4326
    assert len(cmp.changes) == 2


def test_metrics_are_side_by_side_with_deltas(grid) -> None:
    """The table has a, b and b - a; disruption of b is measured against a."""
    units = grid(4, 2)
    cmp = compare_plans(_halves(4, 2, 1), _halves(4, 2, 2), units, weight="w")
    row = cmp.metrics.loc["max_abs_deviation"]
    assert (row["a"], row["b"], row["delta"]) == pytest.approx((0.5, 0.0, -0.5))
    assert cmp.metrics.loc["moved_units", "b"] == 2
    assert set(cmp.territories.columns) >= {"territory_id", "workload_a", "workload_b"}
    json.dumps(cmp.to_dict())


def test_plans_carry_their_weight(grid) -> None:
    """Two TerritoryPlans compare without naming the weight again."""
    units = grid(6, 4)
    first = design_territories(units, k=3, weight="w", tolerance=0.0)
    second = rebalance(units, first, weight="w", tolerance=0.0)
    cmp = compare_plans(first, second, units)
    assert cmp.moved_units.empty
    assert cmp.metrics.loc["n_territories", "delta"] == 0


def test_assignments_need_a_weight(grid) -> None:
    """Plain assignments give no weight: the error says to pass one."""
    with pytest.raises(InputError, match="pass weight="):
        compare_plans(_halves(4, 2, 1), _halves(4, 2, 2), grid(4, 2))
