"""Rebalance an existing plan within a budget of moved accounts, and the trade-off curve."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.drive import (
    DriveCosts,
    add_drive_report,
    check_reach,
    drive_costs,
    reach_mask,
)
from planner.balance.metrics import compute_metrics
from planner.balance.params import BalanceParams
from planner.balance.plan import Locks, TerritoryPlan
from planner.balance.rebalance_setup import (
    Baseline,
    RebalanceSetup,
    move_budget,
    prepare_rebalance,
)
from planner.balance.search import SearchState
from planner.balance.units import UnitsLike
from planner.balance.workload import ACCOUNT_COUNT, BalanceWeight
from planner.errors import InputError, Problem
from planner.geo.adjacency import Contiguity
from planner.progress import Progress, Stop, never_stop, no_progress
from planner.schema import CAPACITY_H_PER_WEEK, REP_ID, TERRITORY_ID, UNIT_ID

__all__ = ["TradeoffCurve", "rebalance", "tradeoff_curve"]

logger = logging.getLogger(__name__)


#: Budget shares of the trade-off curve when none are given (``None`` is unlimited).
DEFAULT_CURVE_SHARES: tuple[float | None, ...] = (
    0.0, 0.005, 0.01, 0.02, 0.05, 0.10, 0.20, None
)


def rebalance(
    units: UnitsLike,
    baseline: Baseline,
    params: BalanceParams | None = None,
    *,
    reps: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
    weight: BalanceWeight | None = None,
    tolerance: float = 0.02,
    max_moved_accounts: int | None = None,
    max_moved_share: float | None = None,
    locked: Locks | Mapping[str, str] | pd.Series | None = None,
    account_count: str = ACCOUNT_COUNT,
    capacity_column: str = CAPACITY_H_PER_WEEK,
    contiguity: Contiguity = "rook",
    seed: int = 0,
    drive_hours: pd.DataFrame | None = None,
) -> TerritoryPlan:
    """Even out an existing plan while moving as few accounts as the budget allows.

    A greedy search from the baseline: each step takes the boundary move with
    the largest cut in squared deviation per account moved that the budget
    affords (moving back refunds), until every territory is within
    ``tolerance``, the budget is spent or no move helps; territories never
    split. With no budget limit, moves, swaps and kicks go as low as they can.

    Parameters
    ----------
    units
        Polygons with the balance column(s) (and ``account_count``); or prepared.
    baseline
        The plan to start from: a :class:`TerritoryPlan` or unit -> territory.
    params
        What to balance and how (:class:`BalanceParams`; ``k``, ``restarts``,
        ``compactness_sweeps`` and ``seed`` unused). ``tolerance`` 0 asks for
        the least deviation the budget allows; the tighter move limit applies;
        without ``account_count`` each unit counts as one (``budget_basis``).
    reps
        Reps setting targets by capacity (territory id = rep id); their homes.
    progress
        Receives (fraction done, message).
    stop
        Asked between steps; ``True`` returns the plan so far.
    weight, tolerance, max_moved_accounts, max_moved_share, locked, account_count
        :class:`BalanceParams` fields for callers without ``params`` (as are
        ``capacity_column``, ``contiguity``, ``seed``).
    drive_hours
        Hours from each territory's home (rows) to each unit (columns) for
        ``max_drive_h`` (else estimated). No move goes beyond a hard limit;
        the baseline's units beyond it are brought within reach by an
        unlimited budget, else reported (``parameters["drive"]``).

    Returns
    -------
    TerritoryPlan
        The rebalanced plan (disruption in its metrics); a missed tolerance is
        no error (the budget is the caller's): ``parameters["tolerance_met"]``.

    Raises
    ------
    InputError
        If the baseline misses units, budgets are negative, locks contradict it.
    InfeasibleError
        If a hard drive limit leaves units out of every rep's reach.
    """
    started = time.perf_counter()
    report = progress or no_progress
    p = params if params is not None else _legacy_params(
        weight, tolerance=tolerance, max_moved_accounts=max_moved_accounts,
        max_moved_share=max_moved_share, locked=locked, account_count=account_count,
        capacity_column=capacity_column, contiguity=contiguity, seed=seed)
    prep, budget = _prepare(units, baseline, p, reps, report)
    drive = _drive(prep, p, reps, drive_hours)
    report(0.1, "rebalancing")
    state = _run(prep, budget, p.tolerance, stop or never_stop, drive)
    report(0.9, "measuring")
    plan = _measured(prep, state, p, budget, reps, time.perf_counter() - started, drive)
    report(1.0, "done")
    return plan


def _prepare(
    units: UnitsLike,
    baseline: Baseline,
    p: BalanceParams,
    reps: gpd.GeoDataFrame | None,
    report: Progress,
) -> tuple[RebalanceSetup, float]:
    """The baseline, targets, locks and move costs of a rebalance, and its move budget."""
    report(0.0, "preparing")
    prep = prepare_rebalance(units, baseline, weight=p.weight, locked=p.locked,
                             account_count=p.account_count, reps=reps,
                             capacity_column=p.capacity_column, contiguity=p.contiguity,
                             tolerance=p.tolerance)
    return prep, move_budget(prep, p.max_moved_accounts, p.max_moved_share)


def _measured(
    prep: RebalanceSetup,
    state: SearchState,
    p: BalanceParams,
    budget: float,
    reps: gpd.GeoDataFrame | None,
    elapsed_s: float,
    drive: DriveCosts | None = None,
) -> TerritoryPlan:
    """The plan the search reached, measured, with the run's parameters (and drive report)."""
    plan = _plan(prep, state, weight=p.weight, tolerance=p.tolerance, budget=budget, reps=reps,
                 seed=p.seed, contiguity=p.contiguity, elapsed_s=elapsed_s,
                 max_moved_accounts=p.max_moved_accounts, max_moved_share=p.max_moved_share)
    if drive is not None:
        plan.parameters["drive"] = add_drive_report(plan.metrics.territories, drive, prep.bu,
                                                    state.labels(), prep.territories)
    return plan


def _drive(
    prep: RebalanceSetup, p: BalanceParams, reps: gpd.GeoDataFrame | None,
    drive_hours: pd.DataFrame | None,
) -> DriveCosts | None:
    """The drive hours and limit of a rebalance; refuse a hard limit that leaves units out."""
    drive = drive_costs(prep.bu, prep.territories, p, reps=reps, drive_hours=drive_hours)
    pinned = np.where(prep.movable, -1, prep.labels)
    check_reach(drive, prep.bu, prep.territories, pinned, prep.open_)
    return drive


def _legacy_params(weight: BalanceWeight | None, **kwargs: Any) -> BalanceParams:
    """Parameters from the keyword arguments of the older signature."""
    if weight is None:
        raise InputError("nothing to balance",
                         [Problem("neither params nor weight was given", column="weight",
                                  fix="pass BalanceParams(weight='workload_h')")])
    return BalanceParams(weight=weight, **kwargs)


def _run(
    prep: RebalanceSetup, budget: float, tolerance: float, stop: Stop = never_stop,
    drive: DriveCosts | None = None,
) -> SearchState:
    state = SearchState(prep.bu, prep.values, prep.labels, prep.targets, prep.movable, prep.open_)
    state.use_drive(drive, reach_mask(drive, prep.bu))
    if drive is not None and math.isinf(budget):
        state.fix_reach()
    base = prep.labels.tolist()
    cost = prep.cost.tolist()
    state.power = 4 if math.isfinite(budget) else 2
    state.budget_descent(base, cost, budget, tolerance)
    state.budget_kick(base, cost, budget, tolerance)
    state.power = 2
    if math.isinf(budget) and not stop():
        state.descend(tolerance)
        state.kick(tolerance)
    return state


@dataclass(frozen=True, eq=False)
class TradeoffCurve:
    """Deviation reached against accounts moved, over a range of budgets.

    Parameters
    ----------
    points
        One row per budget: ``budget_accounts`` (inf for unlimited),
        ``budget_share``, ``moved_accounts``, ``moved_share``, ``moved_units``,
        ``max_abs_deviation``, ``mean_abs_deviation``.
    baseline_max_abs_deviation, baseline_mean_abs_deviation
        The baseline's deviation (the curve's starting point).
    plans
        The plan reached at each budget, in the order of ``points``.
    """

    points: pd.DataFrame
    baseline_max_abs_deviation: float
    baseline_mean_abs_deviation: float
    plans: tuple[TerritoryPlan, ...]

    def recovered_share(self, budget_share: float) -> float:
        """Share of the unlimited budget's improvement reached at ``budget_share``.

        Raises
        ------
        KeyError
            If the curve has no such budget or no unlimited point.
        """
        pts = self.points
        unlimited = pts[np.isinf(pts["budget_accounts"])]
        at = pts[np.isclose(pts["budget_share"], budget_share)]
        if unlimited.empty or at.empty:
            raise KeyError(f"the curve has no point at share {budget_share} or no unlimited point")
        full = self.baseline_max_abs_deviation - float(unlimited["max_abs_deviation"].iloc[0])
        got = self.baseline_max_abs_deviation - float(at["max_abs_deviation"].iloc[0])
        return got / full if full > 0 else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return the curve as a JSON-friendly dictionary."""
        rows = []
        for rec in self.points.to_dict(orient="records"):
            rows.append({
                str(k): (None if isinstance(v, float) and not math.isfinite(v) else
                         (round(float(v), 6) if isinstance(v, float) else int(v)))
                for k, v in rec.items()
            })
        return {
            "baseline_max_abs_deviation": round(self.baseline_max_abs_deviation, 6),
            "baseline_mean_abs_deviation": round(self.baseline_mean_abs_deviation, 6),
            "points": rows,
        }


def tradeoff_curve(
    units: UnitsLike,
    baseline: Baseline,
    params: BalanceParams | None = None,
    *,
    weight: BalanceWeight | None = None,
    budgets: Sequence[int | None] | None = None,
    shares: Sequence[float | None] = DEFAULT_CURVE_SHARES,
    tolerance: float = 0.0,
    locked: Locks | Mapping[str, str] | pd.Series | None = None,
    account_count: str = ACCOUNT_COUNT,
    reps: gpd.GeoDataFrame | None = None,
    capacity_column: str = CAPACITY_H_PER_WEEK,
    contiguity: Contiguity = "rook",
    seed: int = 0,
    progress: Progress | None = None,
    drive_hours: pd.DataFrame | None = None,
) -> TradeoffCurve:
    """Rebalance for each of a range of budgets and record deviation against accounts moved.

    Each point is a :func:`rebalance` run from the baseline under the same
    rules as the plan it is drawn beside (pass that plan's ``params``, ``reps``
    and ``drive_hours``: tolerance, locks, capacity targets, account count,
    adjacency and the drive limit, hard or soft). Budgets are run in
    ascending order; each point is the best plan of any run that moved no
    more than its budget, so the curve never gets worse with more budget,
    and the run at the plan's own budget is the plan, which therefore lies
    on the curve or above it. Every point is a plan the user can pick.

    Parameters
    ----------
    units, baseline, reps, drive_hours
        As for :func:`rebalance`.
    params
        The rules of every run (:class:`BalanceParams`; its move budget is
        replaced by each point's); else the keywords below.
    weight, tolerance, locked, account_count, capacity_column, contiguity, seed
        The fields of :class:`BalanceParams`, for callers without ``params``;
        ``tolerance`` 0 (their default) asks each run for the least deviation.
    budgets
        Budgets in accounts (``None`` for unlimited); overrides ``shares``.
    shares
        Budgets as shares of all accounts (``None`` for unlimited).
    progress
        Called with (fraction done, message).

    Raises
    ------
    InputError
        If a budget is negative or the baseline, locks or drive hours are bad.
    InfeasibleError
        If a hard drive limit leaves units out of every rep's reach.
    """
    report = progress or no_progress
    p = params if params is not None else _legacy_params(
        weight, tolerance=tolerance, locked=locked, account_count=account_count,
        capacity_column=capacity_column, contiguity=contiguity, seed=seed)
    prep, _budget = _prepare(units, baseline, p.with_(max_moved_accounts=None,
                                                      max_moved_share=None), reps, report)
    drive = _drive(prep, p, reps, drive_hours)
    total = float(prep.cost.sum())
    pairs = _budgets(budgets, shares, total)
    runs: list[tuple[tuple[float, ...], float, np.ndarray, TerritoryPlan]] = []
    for i, budget in enumerate(sorted(set(pairs))):
        report(i / len(set(pairs)), f"budget {budget:g}")
        runs.append(_curve_run(prep, p, budget, reps, drive))
    rows, plans = _curve_points(prep, pairs, _best_within(runs, pairs), total)
    base_dev = _devs(prep.values, prep.labels, prep.targets, prep.open_)
    report(1.0, "done")
    return TradeoffCurve(
        points=pd.DataFrame(rows),
        baseline_max_abs_deviation=float(np.abs(base_dev).max()),
        baseline_mean_abs_deviation=float(np.abs(base_dev).mean()),
        plans=tuple(plans),
    )


def _best_within(
    runs: list[tuple[tuple[float, ...], float, np.ndarray, TerritoryPlan]], pairs: list[float]
) -> dict[float, tuple[np.ndarray, TerritoryPlan]]:
    """Per budget, the best plan of any run that moved no more than it.

    A plan found with a larger budget but few moves (the greedy path differs)
    counts too; runs rank by their key (units beyond a hard drive limit, then
    deviation), then by accounts moved.
    """
    results: dict[float, tuple[np.ndarray, TerritoryPlan]] = {}
    for budget in set(pairs):
        fits = [r for r in runs if r[1] <= budget + 1e-9]
        _score, _moved, labels, plan = min(fits, key=lambda r: (r[0], r[1]))
        results[budget] = (labels, plan)
    return results


def _budgets(
    budgets: Sequence[int | None] | None, shares: Sequence[float | None], total: float
) -> list[float]:
    """The curve's budgets in accounts (inf: unlimited); negative ones refused."""
    if budgets is not None:
        pairs = [(math.inf if b is None else float(b)) for b in budgets]
    else:
        pairs = [(math.inf if s is None else float(s) * total) for s in shares]
    bad = [b for b in pairs if b < 0]
    if bad:
        raise InputError(f"budgets must not be negative, got {bad[0]:g}", [Problem(
            f"budget {bad[0]:g}", column="budgets", fix="pass budgets of 0 or more accounts")])
    return pairs


def _curve_run(
    prep: RebalanceSetup, p: BalanceParams, budget: float, reps: gpd.GeoDataFrame | None,
    drive: DriveCosts | None,
) -> tuple[tuple[float, ...], float, np.ndarray, TerritoryPlan]:
    """One point's rebalance: exactly the plan's run with this budget, and its rank.

    The rank is the units beyond a hard drive limit, then the largest and the
    squared deviations.
    """
    started = time.perf_counter()
    run_budget = math.floor(budget + 1e-9) if math.isfinite(budget) else budget
    state = _run(prep, run_budget, p.tolerance, never_stop, drive)
    labels = state.labels()
    limit = None if math.isinf(budget) else int(run_budget)
    plan = _measured(prep, state, p.with_(max_moved_accounts=limit, max_moved_share=None),
                     budget, reps, time.perf_counter() - started, drive)
    moved = float(prep.cost[labels != prep.labels].sum())
    beyond = float(len(state.beyond_reach())) if drive is not None and drive.hard else 0.0
    return (beyond, *state.balance_score()), moved, labels, plan


def _curve_points(
    prep: RebalanceSetup,
    pairs: list[float],
    results: dict[float, tuple[np.ndarray, TerritoryPlan]],
    total: float,
) -> tuple[list[dict[str, float]], list[TerritoryPlan]]:
    """One row (accounts moved, deviations) and one plan per requested budget."""
    rows = []
    plans = []
    for budget in pairs:
        labels, plan = results[budget]
        moved = labels != prep.labels
        dev = _devs(prep.values, labels, prep.targets, prep.open_)
        moved_acc = float(prep.cost[moved].sum())
        rows.append({
            "budget_accounts": budget,
            "budget_share": budget / total if total else 0.0,
            "moved_accounts": moved_acc,
            "moved_share": moved_acc / total if total else 0.0,
            "moved_units": int(moved.sum()),
            "max_abs_deviation": float(np.abs(dev).max()),
            "mean_abs_deviation": float(np.abs(dev).mean()),
        })
        plans.append(plan)
    return rows, plans


def _devs(values: np.ndarray, labels: np.ndarray, targets: np.ndarray,
          open_: np.ndarray) -> np.ndarray:
    load = np.bincount(labels, weights=values, minlength=len(targets))
    dev = (load - targets) / targets
    return dev[open_] if open_.any() else dev


def _plan(
    prep: RebalanceSetup,
    state: SearchState,
    *,
    weight: BalanceWeight,
    tolerance: float,
    budget: float,
    reps: gpd.GeoDataFrame | None,
    seed: int,
    contiguity: Contiguity,
    elapsed_s: float,
    max_moved_accounts: int | None,
    max_moved_share: float | None,
) -> TerritoryPlan:
    labels = state.labels()
    assignment = pd.Series(np.asarray(prep.territories, dtype=object)[labels],
                           index=pd.Index(prep.bu.ids, name=UNIT_ID), name=TERRITORY_ID)
    targets = {t: float(v) for t, v in zip(prep.territories, prep.targets, strict=True)}
    metrics = compute_metrics(prep.bu, assignment, weight=weight, targets=targets,
                              locked_territories=prep.locks.territories,
                              baseline=prep.baseline, reps=reps)
    moved = labels != prep.labels
    parameters = {
        "method": "rebalance",
        "weight": weight if isinstance(weight, str) else dict(weight),
        "k": len(prep.territories),
        "tolerance": tolerance,
        "tolerance_met": bool(state.max_abs_dev() <= tolerance + 1e-12),
        "max_moved_accounts": max_moved_accounts,
        "max_moved_share": max_moved_share,
        "budget": None if math.isinf(budget) else budget,
        "budget_basis": prep.budget_basis,
        "moved_accounts": float(prep.cost[moved].sum()),
        "seed": seed,
        "contiguity": contiguity,
        "locks": prep.locks.to_dict(),
        "reps": None if reps is None else [str(r) for r in reps[REP_ID]],
        "runtime_s": round(elapsed_s, 3),
    }
    rep_of = {t: t for t in prep.territories} if reps is not None else {}
    return TerritoryPlan(assignment, parameters, metrics, frozenset(prep.locks.units), targets,
                         rep_of)
