"""Seeding a design: the price-iteration assignment used for large unit sets."""

from __future__ import annotations

import numpy as np
import pytest

import planner.balance.seeding as seeding
from planner.balance import BalanceParams, design_territories


@pytest.mark.parametrize("seed", [0, 1])
def test_the_price_assignment_gives_a_plan_within_tolerance(grid, monkeypatch, seed) -> None:
    """With the LP switched off (as above 2,500 units), designs still meet the tolerance."""
    monkeypatch.setattr(seeding, "_LP_MAX_UNITS", 0)
    units = grid(12, 10, np.random.default_rng(seed).uniform(1, 10, 120))
    plan = design_territories(units, BalanceParams(weight="w", k=6, tolerance=0.02, seed=seed,
                                                   restarts=1))
    assert plan.metrics.max_abs_deviation <= 0.02
    assert plan.metrics.all_contiguous


def test_price_iteration_evens_out_loads() -> None:
    """Prices move units from crowded to empty candidates until loads are near the room."""
    rng = np.random.default_rng(3)
    n, k = 400, 4
    cost = rng.uniform(0, 1, (n, k))
    cost[:, 0] *= 0.1  # everyone prefers territory 0
    cand = np.tile(np.arange(k), (n, 1))
    w = rng.uniform(1, 2, n)
    room = np.full(k, w.sum() / k)
    choice = seeding._price_iteration(cost, cand, w, room, k, 0.02)
    load = np.bincount(choice, weights=w, minlength=k)
    assert np.abs(load / room - 1).max() < 0.05
