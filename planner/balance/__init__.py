"""Balance territories: workload, metrics, design from scratch, rebalance, sizing, comparison."""

from __future__ import annotations

import sys

from planner.balance.compare import PlanComparison, compare_plans
from planner.balance.design import design_territories
from planner.balance.metrics import Disruption, PlanMetrics, compute_metrics
from planner.balance.params import BalanceParams
from planner.balance.plan import Locks, TerritoryPlan, ToleranceNotMetError
from planner.balance.rebalance import TradeoffCurve, rebalance, tradeoff_curve
from planner.balance.sizing import SizingRecommendation, recommend_territory_count
from planner.balance.units import BalanceUnits, prepare_units
from planner.balance.workload import (
    ACCOUNT_COUNT,
    WORKLOAD_H,
    WorkloadSpec,
    account_workload,
    aggregate_to_units,
    units_with_workload,
)
from planner.callable import make_callable

__all__ = [
    "ACCOUNT_COUNT",
    "WORKLOAD_H",
    "BalanceParams",
    "BalanceUnits",
    "Disruption",
    "Locks",
    "PlanComparison",
    "PlanMetrics",
    "SizingRecommendation",
    "TerritoryPlan",
    "ToleranceNotMetError",
    "TradeoffCurve",
    "WorkloadSpec",
    "account_workload",
    "aggregate_to_units",
    "compare_plans",
    "compute_metrics",
    "design_territories",
    "prepare_units",
    "rebalance",
    "recommend_territory_count",
    "tradeoff_curve",
    "units_with_workload",
]

make_callable(sys.modules[__name__], "planner.jobs:balance")  # tp.balance(...) runs the job
