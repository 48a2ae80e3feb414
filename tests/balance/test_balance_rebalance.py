"""rebalance and tradeoff_curve: budgets respected, contiguity kept, locks honoured."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.balance import Locks, rebalance, tradeoff_curve
from planner.errors import InputError


def _columns(nx: int, ny: int, split: int) -> pd.Series:
    """Two territories: columns left of ``split`` are L, the rest R."""
    return pd.Series({f"u{j * nx + i}": "L" if i < split else "R"
                      for j in range(ny) for i in range(nx)})


def test_an_uneven_split_is_evened_out(grid) -> None:
    """6x4 grid split 2 columns / 4 columns becomes 12 / 12 units, still contiguous."""
    plan = rebalance(grid(6, 4), _columns(6, 4, 2), weight="w", tolerance=0.0)
    m = plan.metrics
    assert m.max_abs_deviation == 0.0
    assert m.all_contiguous
    assert m.disruption is not None and m.disruption.moved_units == 4
    assert plan.parameters["tolerance_met"]
    assert plan.parameters["budget_basis"] == "units"


def test_the_move_budget_is_respected_in_accounts(grid) -> None:
    """With account counts, no more accounts move than the budget allows."""
    units = grid(6, 4).assign(account_count=3)
    plan = rebalance(units, _columns(6, 4, 2), weight="w", tolerance=0.0, max_moved_accounts=7)
    d = plan.metrics.disruption
    assert d is not None
    assert d.moved_accounts is not None and d.moved_accounts <= 7
    assert d.moved_units == 2  # 3 accounts each: two units fit a budget of 7
    assert not plan.parameters["tolerance_met"]


def test_a_share_budget_of_zero_keeps_the_baseline(grid) -> None:
    """max_moved_share=0 returns the baseline unchanged."""
    base = _columns(6, 4, 2)
    plan = rebalance(grid(6, 4), base, weight="w", max_moved_share=0.0)
    assert plan.assignment.to_dict() == base.to_dict()


def test_rebalancing_stops_once_within_tolerance(grid) -> None:
    """A plan already within tolerance is left alone: nothing moves."""
    base = _columns(6, 4, 3)
    w = np.ones(24)
    w[0] = 1.2
    plan = rebalance(grid(6, 4, w), base, weight="w", tolerance=0.05)
    assert plan.metrics.disruption is not None
    assert plan.metrics.disruption.moved_units == 0


def test_kept_territories_do_not_change(grid) -> None:
    """Keeping L as it is forces the balance onto the other territories only."""
    base = pd.Series({f"u{j * 6 + i}": ("L" if i < 2 else "M" if i < 3 else "R")
                      for j in range(4) for i in range(6)})
    locks = Locks.keep_territories(base, ["L"])
    plan = rebalance(grid(6, 4), base, weight="w", tolerance=0.0, locked=locks)
    assert sorted(plan.units_of("L")) == sorted(base.index[base == "L"])
    table = plan.metrics.territories.set_index("territory_id")
    assert table.loc["M", "workload"] == table.loc["R", "workload"] == 8.0


def test_locks_that_contradict_the_baseline_are_rejected(grid) -> None:
    """A unit locked to a territory it is not in is an input error."""
    with pytest.raises(InputError, match="locked to a territory other than the baseline's"):
        rebalance(grid(6, 4), _columns(6, 4, 2), weight="w", locked={"u0": "R"})


def test_negative_budgets_are_rejected(grid) -> None:
    """Negative budgets are input errors naming the argument."""
    with pytest.raises(InputError, match="max_moved_accounts must be 0 or more, not -1"):
        rebalance(grid(6, 4), _columns(6, 4, 2), weight="w", max_moved_accounts=-1)


def test_tradeoff_curve_improves_with_budget(grid) -> None:
    """More budget never gives a worse deviation; zero budget is the baseline."""
    w = np.random.default_rng(0).uniform(1, 10, 48)
    curve = tradeoff_curve(grid(8, 6, w), _columns(8, 6, 2), weight="w",
                           budgets=[0, 2, 4, 8, None])
    devs = curve.points["max_abs_deviation"].tolist()
    assert devs[0] == pytest.approx(curve.baseline_max_abs_deviation)
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(devs))
    assert (curve.points["moved_accounts"] <= [0, 2, 4, 8, np.inf]).all()
    assert 0 <= curve.recovered_share(curve.points["budget_share"][2]) <= 1
    assert len(curve.plans) == 5
    assert curve.to_dict()["points"][-1]["budget_accounts"] is None


@settings(derandomize=True, deadline=None, max_examples=12)
@given(
    weights=st.lists(st.integers(1, 9), min_size=30, max_size=30),
    budget=st.integers(0, 10),
)
def test_rebalance_keeps_units_assigned_contiguous_and_within_budget(
    grid, connected, weights, budget
) -> None:
    """Random weights and budgets: all units kept, territories connected, budget honoured."""
    units = grid(6, 5, [float(w) for w in weights])
    base = pd.Series({f"u{j * 6 + i}": ("A" if i < 1 else "B" if i < 4 else "C")
                      for j in range(5) for i in range(6)})
    plan = rebalance(units, base, weight="w", tolerance=0.0, max_moved_accounts=budget)
    a = plan.assignment
    assert sorted(a.index) == sorted(base.index)
    for t in ("A", "B", "C"):
        assert connected(set(a.index[a == t]), 6, 5)
    assert int((a != base.reindex(a.index)).sum()) <= budget
    assert plan.metrics.territories["workload"].sum() == pytest.approx(sum(weights))


def test_a_baseline_in_pieces_is_not_split_further(grid) -> None:
    """A territory already in two pieces stays in at most two; the others stay whole."""
    base = _columns(6, 4, 3)
    base["u5"] = "L"  # a stray unit of L on R's side
    plan = rebalance(grid(6, 4), base, weight="w", tolerance=0.0)
    pieces = plan.metrics.territories.set_index("territory_id")["pieces"]
    assert pieces["L"] <= 2
    assert pieces["R"] == 1
    assert plan.metrics.max_abs_deviation == 0.0
