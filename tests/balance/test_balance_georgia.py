"""Real data: Georgia's 159 counties (bundled with libpysal) balanced by 1990 population."""

from __future__ import annotations

import geopandas as gpd
import pytest

from planner.balance import design_territories, rebalance

libpysal_examples = pytest.importorskip("libpysal.examples")


@pytest.fixture(scope="module")
def georgia_counties() -> gpd.GeoDataFrame:
    """Georgia's counties in UTM 16N with unit_id = FIPS code."""
    g = gpd.read_file(libpysal_examples.get_path("G_utm.shp")).set_crs(32616)
    g["unit_id"] = g["AreaKey"].astype(str)
    return g


def test_georgia_into_ten_meets_the_issue_goals(georgia_counties) -> None:
    """k=10 on TotPop90: within 2 %, every territory contiguous, mean Polsby-Popper >= 0.30."""
    plan = design_territories(georgia_counties, k=10, weight="TotPop90", tolerance=0.02)
    m = plan.metrics
    assert m.max_abs_deviation <= 0.02
    assert m.all_contiguous
    assert m.polsby_popper_mean >= 0.30
    assert plan.assignment["13121"] not in {plan.assignment["13089"], plan.assignment["13067"]}


def test_rebalancing_a_balanced_georgia_plan_moves_nothing(georgia_counties) -> None:
    """A plan already within tolerance is left as it is; a tighter one costs a few moves."""
    plan = design_territories(georgia_counties, k=10, weight="TotPop90", tolerance=0.02)
    same = rebalance(georgia_counties, plan, weight="TotPop90", tolerance=0.02)
    assert same.metrics.disruption is not None
    assert same.metrics.disruption.moved_units == 0
    tighter = rebalance(georgia_counties, plan, weight="TotPop90", tolerance=0.0,
                        max_moved_accounts=5)
    assert tighter.metrics.disruption is not None
    assert tighter.metrics.disruption.moved_units <= 5
    assert tighter.metrics.max_abs_deviation <= plan.metrics.max_abs_deviation


@pytest.mark.slow
def test_georgia_at_half_a_percent_stays_compact(georgia_counties) -> None:
    """k=10 within 0.5 %: contiguous, and the pooled recombination rounds the outlines off.

    The issue's goal is a mean Polsby-Popper of 0.33; seed 0 reaches 0.344
    (over nine seeds 0.31-0.35, median 0.334: ``benchmarks/bench_balance.py --seeds 9``).
    """
    plan = design_territories(georgia_counties, k=10, weight="TotPop90", tolerance=0.005)
    m = plan.metrics
    assert m.max_abs_deviation <= 0.005
    assert m.all_contiguous
    assert m.polsby_popper_mean >= 0.33
