"""BalanceParams: one validated parameter object for design and rebalance."""

from __future__ import annotations

import numpy as np
import pytest

from planner.balance import BalanceParams, Locks, design_territories, rebalance
from planner.errors import InputError


def test_every_problem_is_reported_at_once() -> None:
    """Bad k, tolerance, contiguity, budget share and weights come back in one error."""
    with pytest.raises(InputError, match="the balance parameters are invalid") as info:
        BalanceParams(weight={"w": -1.0}, k=0, tolerance=1.5, contiguity="hex",  # type: ignore[arg-type]
                      max_moved_share=2.0, restarts=0)
    columns = {p.column for p in info.value.problems}
    assert columns == {"weight", "k", "tolerance", "contiguity", "max_moved_share", "restarts"}
    assert all(p.fix for p in info.value.problems)


def test_a_mapping_of_locks_becomes_locks() -> None:
    """``locked`` accepts a unit -> territory mapping, as the keyword API did."""
    params = BalanceParams(weight="w", k=2, locked={"u0": "A"})  # type: ignore[arg-type]
    assert isinstance(params.locked, Locks)
    assert params.locked.units == {"u0": "A"}
    assert params.to_dict()["locks"] == {"units": {"u0": "A"}, "territories": []}


def test_params_and_keywords_give_the_same_plan(grid) -> None:
    """The params object and the older keyword arguments are the same run."""
    units = grid(6, 5, np.random.default_rng(3).uniform(1, 5, 30))
    by_params = design_territories(units, BalanceParams(weight="w", k=3, tolerance=0.05, seed=1))
    by_keywords = design_territories(units, weight="w", k=3, tolerance=0.05, seed=1)
    assert by_params.assignment.equals(by_keywords.assignment)


def test_nothing_to_balance_is_a_clear_error(grid) -> None:
    """Neither params nor weight: an InputError that says what to pass."""
    with pytest.raises(InputError, match="nothing to balance"):
        design_territories(grid(3, 3), k=2)


def test_stop_returns_a_plan_after_the_first_start(grid) -> None:
    """A stop asked at once still returns a whole plan (the first start's)."""
    units = grid(6, 5, np.random.default_rng(4).uniform(1, 5, 30))
    plan = design_territories(units, BalanceParams(weight="w", k=3, tolerance=0.1, restarts=4),
                              stop=lambda: True)
    assert len(plan.assignment) == 30
    assert plan.metrics.all_contiguous


def test_rebalance_takes_params_with_a_budget(grid) -> None:
    """A rebalance with ``max_moved_accounts`` in the params keeps to the budget."""
    units = grid(6, 4, np.ones(24))
    baseline = {f"u{i}": "A" if i % 6 < 2 else "B" for i in range(24)}
    plan = rebalance(units, baseline, BalanceParams(weight="w", tolerance=0.0,
                                                    max_moved_accounts=2))
    assert plan.metrics.disruption is not None
    assert plan.metrics.disruption.moved_units <= 2


def test_workload_bounds_tighten_the_tolerance(grid) -> None:
    """A maximum 1 % above the mean target makes a 10 % request a 1 % design."""
    units = grid(8, 6, np.random.default_rng(5).uniform(1, 5, 48))
    mean = units["w"].sum() / 4
    plan = design_territories(units, BalanceParams(weight="w", k=4, tolerance=0.10,
                                                   max_workload=mean * 1.01))
    loads = plan.metrics.territories["workload"]
    assert loads.max() <= mean * 1.01 + 1e-9
    assert plan.parameters["tolerance"] == pytest.approx(0.01)
    assert plan.parameters["max_workload"] == pytest.approx(mean * 1.01)


def test_workload_bounds_no_plan_can_meet_are_infeasible(grid) -> None:
    """A minimum above the mean target is refused with what to change."""
    from planner.errors import InfeasibleError

    units = grid(4, 4)
    with pytest.raises(InfeasibleError, match="min_workload 5 is above the target 4"):
        design_territories(units, BalanceParams(weight="w", k=4, min_workload=5.0))


def test_workload_bounds_are_validated() -> None:
    """Negative or crossed bounds, and bounds on a blend of columns, are input errors."""
    with pytest.raises(InputError, match="min_workload 9 is above max_workload 3"):
        BalanceParams(weight="w", min_workload=9, max_workload=3)
    with pytest.raises(InputError, match="need a single weight column"):
        BalanceParams(weight={"a": 1.0, "b": 1.0}, max_workload=3)
    with pytest.raises(InputError, match="max_workload must be a number of 0 or more"):
        BalanceParams(weight="w", max_workload=-1)
