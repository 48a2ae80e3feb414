"""Design territories from scratch: seed, balanced assignment, contiguity repair, local search."""

from __future__ import annotations

import logging
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.compact import burst_pairs, compact_pairs
from planner.balance.drive import (
    DriveCosts,
    add_drive_report,
    binds_text,
    check_reach,
    drive_costs,
    reach_mask,
    seeding_cost,
)
from planner.balance.exact import exact_partition, polish_exactly
from planner.balance.metrics import compute_metrics
from planner.balance.params import BalanceParams, LocksLike
from planner.balance.plan import TerritoryPlan, ToleranceNotMetError
from planner.balance.pool import pool_applies, pool_recombine
from planner.balance.problem import DesignProblem, check_feasible, frame_problem, granularity_bound
from planner.balance.recombine import recombine, redraw
from planner.balance.repair import fill_empty, repair_contiguity
from planner.balance.search import SearchState
from planner.balance.seeding import initial_labels
from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import BalanceWeight, balance_values
from planner.errors import InfeasibleError, InputError, Problem
from planner.geo.adjacency import Contiguity
from planner.progress import Progress, Stop, never_stop, no_progress, scaled
from planner.schema import CAPACITY_H_PER_WEEK, REP_ID, TERRITORY_ID, UNIT_ID

__all__ = ["design_territories"]

logger = logging.getLogger(__name__)


def design_territories(
    units: UnitsLike,
    params: BalanceParams | None = None,
    *,
    reps: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
    weight: BalanceWeight | None = None,
    k: int | None = None,
    tolerance: float = 0.02,
    locked: LocksLike = None,
    seed: int = 0,
    contiguity: Contiguity = "rook",
    compactness_sweeps: int = 6,
    restarts: int | None = None,
    capacity_column: str = CAPACITY_H_PER_WEEK,
    drive_hours: pd.DataFrame | None = None,
) -> TerritoryPlan:
    """Split units into contiguous territories of even workload.

    The recipe: seed centres (weighted k-means, or the reps' homes); assign
    units under capacity (HiGHS LP); hand stray pieces to neighbours; search
    locally without breaking contiguity (flows, moves, swaps, tree re-splits
    of :mod:`planner.balance.recombine`); solve a missed tolerance exactly
    (:mod:`planner.balance.exact`); round outlines off (:mod:`planner.balance.compact`,
    :mod:`planner.balance.pool`). Same inputs and seed, same plan.

    Parameters
    ----------
    units
        Polygons with ``unit_id`` and the balance column(s), any CRS; or prepared.
    params
        What to balance and how (:class:`BalanceParams`); else the keywords below.
    reps
        Reps with ``rep_id`` and a home point: one territory per rep (named by
        it, around the home); targets follow capacity when every rep has one.
    progress
        Receives (fraction done, message).
    stop
        Asked between starts and repairs; ``True`` returns the best plan so far.
    weight, k, tolerance, locked, seed, contiguity, compactness_sweeps, restarts, capacity_column
        The fields of :class:`BalanceParams`, for callers that pass no ``params``.
    drive_hours
        Hours from each rep's home (rows) to each unit (columns), e.g. on roads,
        for ``max_drive_h`` and drive compactness (else estimated).

    Returns
    -------
    TerritoryPlan
        Assignment, parameters, metrics.

    Raises
    ------
    InputError
        If inputs are invalid (missing or negative weights, ``k`` too large...).
    InfeasibleError
        If the tolerance cannot be met (a unit heavier than a target allows,
        locks too heavy, cut off or not joinable) or a hard drive limit leaves
        units out of every rep's reach (named); the message says what to change.
    ToleranceNotMetError
        (an :class:`InfeasibleError`) if the search ended outside the tolerance
        or a hard drive limit (by how much, what binds); the best is ``.plan``.
    """
    started = time.perf_counter()
    report = progress or no_progress
    p = params if params is not None else _legacy_params(
        weight, k=k, tolerance=tolerance, locked=locked, seed=seed, contiguity=contiguity,
        compactness_sweeps=compactness_sweeps, restarts=restarts,
        capacity_column=capacity_column)
    bu, values, problem, p = _setup(units, p, reps, report)
    drive = _drive(bu, problem, p, reps, drive_hours)
    n_runs = p.restarts if p.restarts is not None else max(1, min(6, 1000 // bu.n))
    state = _best_of_starts(bu, values, problem, p, n_runs, report, stop or never_stop,
                            drive)
    proved = _solve_exactly(state, p, report)
    _round_off(state, p, report)
    plan = _finish(bu, state, problem, p, values, reps, started, n_runs, proved=proved,
                   drive=drive, report=report)
    report(1.0, "done")
    return plan


def _finish(
    bu: BalanceUnits,
    state: SearchState,
    problem: DesignProblem,
    p: BalanceParams,
    values: np.ndarray,
    reps: gpd.GeoDataFrame | None,
    started: float,
    n_runs: int,
    *,
    proved: bool = False,
    drive: DriveCosts | None = None,
    report: Progress = no_progress,
) -> TerritoryPlan:
    """Measure the best state as a plan; raise with it attached if it misses the tolerance."""
    report(0.95, "measuring")
    plan = _make_plan(bu, state.labels(), problem, p, values, reps,
                      time.perf_counter() - started, restarts=n_runs)
    plan.parameters["proved_infeasible"] = proved
    if drive is not None:
        plan.parameters["drive"] = add_drive_report(plan.metrics.territories, drive, bu,
                                                    state.labels(), problem.territories)
    _raise_if_missed(state, values, problem, p.tolerance, plan, proved=proved)
    _raise_if_beyond(plan)
    logger.info("designed %d territories in %.2f s, max deviation %.3f%%",
                len(problem.territories), time.perf_counter() - started,
                100 * state.max_abs_dev())
    return plan


def _setup(
    units: UnitsLike, p: BalanceParams, reps: gpd.GeoDataFrame | None, report: Progress
) -> tuple[BalanceUnits, np.ndarray, DesignProblem, BalanceParams]:
    """Prepare the units, their balance values and the problem; refuse an infeasible one.

    The parameters come back with the tolerance tightened where the workload
    bounds bind.
    """
    report(0.0, "preparing units")
    bu = prepare_units(units, contiguity=p.contiguity)
    values, _betas = balance_values(bu.frame, p.weight)
    problem = frame_problem(bu, values, k=p.k, reps=reps, locks=p.locked,
                            tolerance=p.tolerance, capacity_column=p.capacity_column)
    p = _bounded(p, problem)
    check_feasible(bu, values, problem, p.tolerance)
    return bu, values, problem, p


def _bounded(p: BalanceParams, problem: DesignProblem) -> BalanceParams:
    """Tighten the tolerance where the workload bounds bind; refuse bounds no plan can meet."""
    lo, hi = p.min_workload, p.max_workload
    if lo is None and hi is None:
        return p
    targets = problem.targets[problem.open_]
    if not len(targets):
        return p
    tol = p.tolerance
    if lo is not None:
        if lo > targets.min():
            raise InfeasibleError(
                f"min_workload {lo:g} is above the target {targets.min():g} of a territory: "
                "the workload cannot give every territory that much; lower the minimum or use "
                "fewer territories")
        tol = min(tol, float((1 - lo / targets).min()))
    if hi is not None:
        if hi < targets.max():
            raise InfeasibleError(
                f"max_workload {hi:g} is below the target {targets.max():g} of a territory: "
                "the workload does not fit; raise the maximum or use more territories")
        tol = min(tol, float((hi / targets - 1).min()))
    if tol < p.tolerance:
        logger.info("workload bounds tighten the tolerance from %.4f to %.4f", p.tolerance, tol)
    return p.with_(tolerance=max(tol, 0.0))


def _drive(
    bu: BalanceUnits, problem: DesignProblem, p: BalanceParams, reps: gpd.GeoDataFrame | None,
    drive_hours: pd.DataFrame | None,
) -> DriveCosts | None:
    """The drive hours and limit of the design; refuse a hard limit that leaves units out."""
    drive = drive_costs(bu, problem.territories, p, reps=reps, drive_hours=drive_hours)
    check_reach(drive, bu, problem.territories, problem.pinned, problem.open_)
    return drive


def _legacy_params(weight: BalanceWeight | None, **kwargs: Any) -> BalanceParams:
    """Parameters from the keyword arguments of the older signature."""
    if weight is None:
        raise InputError("nothing to balance",
                         [Problem("neither params nor weight was given", column="weight",
                                  fix="pass BalanceParams(weight='workload_h', k=10)")])
    return BalanceParams(weight=weight, **kwargs)


def _best_of_starts(
    bu: BalanceUnits,
    values: np.ndarray,
    problem: DesignProblem,
    p: BalanceParams,
    n_runs: int,
    report: Progress,
    stop: Stop,
    drive: DriveCosts | None = None,
) -> SearchState:
    """Run independent starts; keep the plan within tolerance first, then the most compact.

    Under a hard drive limit, plans with fewer units beyond it come first.
    """
    ok = reach_mask(drive, bu)
    best: tuple[tuple[float, float, float], SearchState] | None = None
    for run in range(n_runs):
        if best is not None and stop():
            break
        state = _search_once(bu, values, problem, p, p.seed + 7919 * run,
                             scaled(report, 0.05 + 0.9 * run / n_runs,
                                    0.05 + 0.9 * (run + 1) / n_runs), stop, (drive, ok))
        pp_mean = sum(state.compactness_of(t) for t in range(state.k)) / state.k
        beyond = float(len(state.beyond_reach())) if ok is not None else 0.0
        key = (beyond, max(state.max_abs_dev(), p.tolerance), -pp_mean)
        if best is None or key < best[0]:
            best = (key, state)
    assert best is not None
    return best[1]


def _solve_exactly(state: SearchState, p: BalanceParams, report: Progress) -> bool:
    """Settle a missed tolerance exactly; ``True`` when none can be met (proved).

    On small maps the whole map is solved or proved infeasible at once
    (:func:`~planner.balance.exact.exact_partition`); where that is out of
    reach, the neighbourhoods of the territories outside the tolerance are
    cut again exactly (:func:`~planner.balance.exact.polish_exactly`). A plan
    within the tolerance is then made more compact.
    """
    if state.max_abs_dev() <= p.tolerance:
        return False
    report(0.9, "solving exactly")
    before, beyond = state.snapshot(), len(state.beyond_reach())
    outcome = exact_partition(state, p.tolerance)
    logger.info("exact set partitioning: %s", outcome)
    if outcome == "solved" and len(state.beyond_reach()) > beyond:
        state.restore(before)  # the exact step knows no drive limit: keep the search's plan
        outcome = "skipped"
    if outcome == "skipped":
        polished = polish_exactly(state, p.tolerance)
        logger.info("exact neighbourhoods: %d re-solved, max deviation %.4f", polished,
                    state.max_abs_dev())
    if state.max_abs_dev() <= p.tolerance and p.compactness_sweeps:
        state.compact(p.tolerance, sweeps=p.compactness_sweeps)
    # proved without the drive limit: true, but not the question asked
    return outcome == "infeasible" and state.drive is None


#: Largest map whose pairs are re-split for compactness (:func:`_round_off`).
_ROUND_OFF_UNITS = 1000
#: Most steps of each short-burst compactness chain on such maps (they stop at a plateau).
_BURST_STEPS = 1500
#: Rounds of pooled recombination (each from the plan the last one made) and their chains' steps.
_POOL_ROUNDS = 2
_POOL_STEPS = 600
#: Widest tolerance whose plans are recombined from a pool (wider ones leave the bursts room).
_POOL_TOLERANCE = 0.01


def _rounds_off(p: BalanceParams, n_units: int, drive: DriveCosts | None) -> bool:
    """Whether :func:`_round_off` works on this map (small, compact by shape)."""
    by_drive = drive is not None and drive.by_drive
    return bool(p.compactness_sweeps) and n_units <= _ROUND_OFF_UNITS and not by_drive


def _round_off(state: SearchState, p: BalanceParams, report: Progress) -> None:
    """Re-split touching pairs of a plan within the tolerance for rounder outlines.

    Only on maps of up to ``_ROUND_OFF_UNITS`` units: on larger ones the
    boundary moves of the compactness search have room enough, and the trees
    would cost more than the search itself. Within a tight tolerance (up to
    ``_POOL_TOLERANCE``), where the bursts stop on low plateaus, the plan is
    then recombined from a pool of territories (:mod:`planner.balance.pool`).
    """
    if state.max_abs_dev() > p.tolerance or not _rounds_off(p, len(state.lab), state.drive):
        return
    report(0.92, "rounding outlines")
    rng = np.random.default_rng(p.seed)
    burst_pairs(state, p.tolerance, rng=rng, steps=_BURST_STEPS)
    if p.tolerance <= _POOL_TOLERANCE and pool_applies(state, p.tolerance):
        report(0.95, "recombining territories from a pool")
        pool_recombine(state, p.tolerance, rng=rng, rounds=_POOL_ROUNDS, steps=_POOL_STEPS)
    compact_pairs(state, p.tolerance, rng=rng)
    state.compact(p.tolerance, sweeps=p.compactness_sweeps)


def _raise_if_missed(
    state: SearchState, values: np.ndarray, problem: DesignProblem, tolerance: float,
    plan: TerritoryPlan, *, proved: bool = False,
) -> None:
    reached = state.max_abs_dev()
    if reached <= tolerance + 1e-12:
        return
    binds = _drive_binds(plan, tolerance)
    lower = granularity_bound(values, problem)
    floor = (f" (the heaviest unit alone forces at least {lower:.2%})" if lower > 0 else "")
    if proved:
        floor += (f"; no contiguous plan within {tolerance:.2%} exists with these units, "
                  "adjacency, locks and number of territories (proved by listing every "
                  "connected set of units within the tolerance)")
    raise ToleranceNotMetError(
        f"the best plan found is {reached:.2%} from target at worst, outside the "
        f"tolerance of {tolerance:.2%}{floor}. To make it feasible: raise the tolerance to "
        f"{reached:.2%} or more, use smaller units, fewer territories, or fewer locks.{binds} "
        "The best plan is attached as .plan.",
        plan,
    )


def _drive_binds(plan: TerritoryPlan, tolerance: float) -> str:
    """Where the drive limit keeps territories off target, as a sentence (or nothing)."""
    summary = plan.parameters.get("drive")
    if not summary:
        return ""
    table = plan.metrics.territories
    devs = dict(zip(table["territory_id"].astype(str), table["deviation"], strict=True))
    text = binds_text(summary, devs, tolerance)
    return f" Also, {text}." if text else ""


def _raise_if_beyond(plan: TerritoryPlan) -> None:
    """Refuse a plan that breaks a hard drive limit (attached, with the units beyond it)."""
    summary = plan.parameters.get("drive")
    if not summary or summary["met"] or summary["drive_limit"] != "hard":
        return
    table = plan.metrics.territories
    over = table.loc[table["drive_units_beyond"] > 0, "territory_id"].astype(str).tolist()
    raise ToleranceNotMetError(
        f"the best plan found breaks the drive limit of {summary['max_drive_h']:g} h: "
        f"{summary['units_beyond']} units lie beyond it, in territories {', '.join(over)} "
        f"(longest drive {summary['drive_max_h']:.2f} h). To make it feasible: raise the drive "
        "limit, make it soft, add reps, or loosen the tolerance. The best plan is attached "
        "as .plan.",
        plan,
    )


def _search_once(
    bu: BalanceUnits,
    values: np.ndarray,
    problem: DesignProblem,
    p: BalanceParams,
    seed: int,
    report: Progress,
    stop: Stop,
    drive: tuple[DriveCosts | None, np.ndarray | None] = (None, None),
) -> SearchState:
    """One start: seed, assign, repair, balance, compact (within the drive limit, if any)."""
    tolerance = p.tolerance
    report(0.0, "seeding and assigning")
    labels = initial_labels(bu, values, problem, tolerance, seed,
                            extra_cost=seeding_cost(*drive))
    report(0.4, "repairing contiguity")
    labels = repair_contiguity(bu, values, labels, problem)
    state = SearchState(bu, values, labels, problem.targets, problem.pinned < 0, problem.open_)
    fill_empty(state, bu, problem)
    state.use_drive(*drive)
    state.fix_reach()
    report(0.5, "balancing")
    rng = np.random.default_rng(seed)
    _balance(state, tolerance * 0.5, rng, stop)
    for sweep in range(2 if p.compactness_sweeps else 0):
        report(0.7 + 0.1 * sweep, "improving compactness")
        state.compact(tolerance * 0.9, sweeps=p.compactness_sweeps)
        state.descend(tolerance)
    _balance(state, tolerance, rng, stop)
    return state


def _balance(state: SearchState, goal: float, rng: np.random.Generator, stop: Stop) -> None:
    """Flows, descent and kicks; then, if a territory is still off, recombination and again."""
    state.flow_balance(goal)
    state.descend(goal)
    state.kick(goal)
    if state.max_abs_dev() > goal and recombine(state, goal, rng=rng, stop=stop):
        state.flow_balance(goal)
        state.descend(goal)
        state.kick(goal)
    if state.max_abs_dev() > goal and redraw(state, goal, rng=rng, stop=stop):
        state.descend(goal)
        recombine(state, goal, rng=rng, stop=stop)



def _make_plan(
    bu: BalanceUnits,
    labels: np.ndarray,
    problem: DesignProblem,
    p: BalanceParams,
    values: np.ndarray,
    reps: gpd.GeoDataFrame | None,
    elapsed_s: float,
    *,
    restarts: int,
) -> TerritoryPlan:
    terr = np.asarray(problem.territories, dtype=object)[labels]
    assignment = pd.Series(terr, index=pd.Index(bu.ids, name=UNIT_ID), name=TERRITORY_ID)
    targets = {t: float(v) for t, v in zip(problem.territories, problem.targets, strict=True)}
    locks = p.locked
    metrics = compute_metrics(bu, assignment, weight=p.weight, targets=targets,
                              locked_territories=locks.territories, reps=reps)
    parameters = {
        "method": "design",
        "weight": p.weight if isinstance(p.weight, str) else dict(p.weight),
        "k": len(problem.territories),
        "tolerance": p.tolerance,
        "min_workload": p.min_workload,
        "max_workload": p.max_workload,
        "seed": p.seed,
        "restarts": restarts,
        "contiguity": bu.adjacency.contiguity,
        "bridges": [b.to_dict() for b in bu.adjacency.bridges],
        "reps": None if reps is None else [str(r) for r in reps[REP_ID]],
        "locks": locks.to_dict(),
        "runtime_s": round(elapsed_s, 3),
    }
    rep_of = {t: t for t in problem.territories} if reps is not None else {}
    return TerritoryPlan(assignment, parameters, metrics, frozenset(locks.units), targets, rep_of)
