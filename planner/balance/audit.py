"""Fairness audit: where a plan sits among an ensemble of valid plans drawn under the same rules.

The ensemble is sampled with a ReCom chain (the method of redistricting
practice, as in GerryChain): at each step two touching territories are
merged and re-split along a random spanning tree. Every state of the chain
is a contiguous plan on the same adjacency (bridges included) that keeps the
plan's own rules (:mod:`planner.balance.ensemble`): each territory within the
tolerance of its own target (equal, or following its rep's capacity) and
within the minimum and maximum workload, locked units and territories where
they are, and no unit beyond a hard drive limit. Each sampled plan is
measured on the same metrics as the plan, and the audit reports, per metric,
the share of the ensemble the plan is at least as good as: a plan near 50 %
is typical; one near 0 % is an outlier for the worse. Which rules the
ensemble kept is in :attr:`AuditResult.rules`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.audit_rules import AuditRules, audit_rules, plan_targets
from planner.balance.ensemble import recom_plans
from planner.balance.measures import dispersion_km, encode_assignment, territory_perimeters
from planner.balance.params import BalanceParams
from planner.balance.plan import TerritoryPlan
from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import BalanceWeight, balance_values
from planner.errors import InputError, Problem
from planner.geo.adjacency import Contiguity
from planner.progress import Progress, Stop, never_stop, no_progress

__all__ = ["AuditResult", "MetricSense", "audit_plan"]

logger = logging.getLogger(__name__)

#: Whether a smaller or a larger value of a metric is better.
MetricSense = Literal["lower", "higher"]

_BASE_METRICS: dict[str, MetricSense] = {
    "max_abs_deviation": "lower",
    "mean_abs_deviation": "lower",
    "polsby_popper_mean": "higher",
    "cut_edges": "lower",
    "dispersion_km_mean": "lower",
}
_FOUR_PI = 4.0 * np.pi


@dataclass(frozen=True)
class AuditResult:
    """A plan beside an ensemble of plans valid under the same rules.

    Parameters
    ----------
    plan
        The audited plan's value of every metric.
    ensemble
        One row per sampled plan, one column per metric.
    senses
        Per metric, whether ``"lower"`` or ``"higher"`` values are better.
    tolerance
        Tolerance every sampled plan keeps.
    seed
        Seed of the chain.
    runtime_s
        Seconds the sampling and measuring took.
    stopped
        Whether a stop request ended the chain before ``n_plans``.
    rules
        Which of the plan's rules every sampled plan keeps (targets, bounds,
        locks, drive limit, adjacency), as :meth:`rules_text` says them.
    """

    plan: dict[str, float]
    ensemble: pd.DataFrame
    senses: dict[str, MetricSense]
    tolerance: float
    seed: int
    runtime_s: float
    stopped: bool = False
    rules: dict[str, Any] = field(default_factory=dict)

    def rules_text(self) -> list[str]:
        """The rules every sampled plan keeps, one sentence each (for reports)."""
        return AuditRules.sentences(self.rules, self.tolerance)

    def ranks(self) -> pd.DataFrame:
        """Per metric: the plan's value, the ensemble's spread, and the share it is as good as."""
        rows = []
        for name, sense in self.senses.items():
            values = self.ensemble[name].to_numpy(float)
            mine = self.plan[name]
            as_good = (mine <= values + 1e-12) if sense == "lower" else (mine >= values - 1e-12)
            rows.append({
                "metric": name,
                "better": sense,
                "plan": mine,
                "ensemble_min": float(values.min()),
                "ensemble_median": float(np.median(values)),
                "ensemble_max": float(values.max()),
                "as_good_as_share": float(as_good.mean()),
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the audit as a JSON-friendly dictionary (ranks, not the whole ensemble)."""
        return {
            "n_plans": len(self.ensemble),
            "tolerance": self.tolerance,
            "seed": self.seed,
            "runtime_s": round(self.runtime_s, 3),
            "stopped": self.stopped,
            "rules": self.rules,
            "plan": {k: float(v) for k, v in self.plan.items()},
            "ranks": self.ranks().to_dict(orient="records"),
        }


def audit_plan(
    units: UnitsLike,
    plan: TerritoryPlan | pd.Series | Mapping[str, str],
    *,
    weight: BalanceWeight | None = None,
    params: BalanceParams | None = None,
    reps: gpd.GeoDataFrame | None = None,
    drive_hours: pd.DataFrame | None = None,
    tolerance: float | None = None,
    n_plans: int = 1000,
    columns: Sequence[str] = (),
    contiguity: Contiguity = "rook",
    seed: int = 0,
    baseline: pd.Series | Mapping[str, str] | None = None,
    moved_column: str | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> AuditResult:
    """Sample ``n_plans`` plans with ReCom under the plan's rules and measure them beside it.

    The rules are the plan's own (:mod:`planner.balance.audit_rules`): targets
    (reps' capacities), workload bounds, locks and a hard drive limit;
    ``result.rules`` says which are kept.

    Parameters
    ----------
    units
        The plan's units (GeoDataFrame or prepared units).
    plan, weight
        The plan to audit, or its assignment (unit id -> territory id); the
        balanced column(s) (default: ``params.weight``).
    params, reps, drive_hours
        The rules the plan was made under (tolerance, bounds, locks, drive
        limit; else what the plan records), the reps (capacities, homes) and
        the drive hours of a hard drive limit.
    tolerance
        Allowed relative deviation of the ensemble (default: the tolerance
        the plan was made with, 2 % for a bare assignment, or the plan's own
        largest deviation if that is larger, so the plan is a member of the
        ensemble it is compared with).
    n_plans
        Plans to sample (chain steps, the plan itself not counted).
    columns
        Further unit columns (e.g. revenue potential) whose spread between
        territories (largest relative deviation from the mean) is compared.
    contiguity, seed
        Adjacency used when ``units`` are not prepared yet; seed of the chain.
    baseline, moved_column
        The plan before (unit id -> territory id): every plan is then also
        measured by ``moved_accounts``, what it moves away from it, counted
        in the units' ``moved_column`` (default ``account_count`` when the
        units have it, else each unit counts one).
    progress, stop
        Progress report and early stop (keeping the plans sampled so far).

    Raises
    ------
    InputError
        If ``n_plans`` is below 1, a column is missing, the plan has fewer than
        two territories, no weight is given or locks do not match the plan.
    """
    started = time.perf_counter()
    report = progress or no_progress
    bu = prepare_units(units, contiguity=params.contiguity if params else contiguity)
    labels, territories = encode_assignment(bu, _assignment(plan))
    values, _ = balance_values(bu.frame, _weight(weight, params))
    extra = _extra_columns(bu, columns, n_plans, len(territories))
    moved = _moved_weights(bu, territories, baseline, moved_column)
    targets, _kind = plan_targets(plan, territories, values, reps)
    measure = partial(_measure, bu, values, extra, targets, moved)
    mine = measure(labels)
    tol = _ensemble_tolerance(tolerance, params, plan, mine["max_abs_deviation"])
    rules = audit_rules(bu, plan, labels, territories, values, tol, params=params, reps=reps,
                        drive_hours=drive_hours)
    rows, stopped = _sample(bu, values, labels, rules, n_plans, seed, measure, report,
                            should_stop=stop or never_stop)
    senses = _senses(extra, moved is not None)
    report(1.0, "done")
    return AuditResult(mine, pd.DataFrame(rows, columns=list(senses)), senses, tol, seed,
                       time.perf_counter() - started, stopped, rules.described)


def _assignment(plan: TerritoryPlan | pd.Series | Mapping[str, str]) -> pd.Series:
    return plan.assignment if isinstance(plan, TerritoryPlan) else pd.Series(plan)


def _senses(extra: Mapping[str, np.ndarray], with_moves: bool) -> dict[str, MetricSense]:
    """Whether lower or higher is better, per metric of this audit."""
    senses = dict(_BASE_METRICS) | {f"spread_{c}": "lower" for c in extra}
    if with_moves:
        senses["moved_accounts"] = "lower"
    return senses


def _weight(weight: BalanceWeight | None, params: BalanceParams | None) -> BalanceWeight:
    """The balanced column(s): ``weight``, else the parameters'."""
    if weight is not None:
        return weight
    if params is not None:
        return params.weight
    raise InputError("nothing to audit", [Problem("neither weight nor params was given",
                                                  column="weight",
                                                  fix="pass weight='workload_h'")],
                     source="audit")


def _ensemble_tolerance(
    tolerance: float | None, params: BalanceParams | None,
    plan: TerritoryPlan | pd.Series | Mapping[str, str], worst: float,
) -> float:
    """The tolerance asked for, else the plan's (or its own worst deviation, if larger)."""
    if tolerance is not None:
        return tolerance
    made = params.tolerance if params is not None else _plan_tolerance(plan)
    return max(made, worst + 1e-9)


def _plan_tolerance(plan: TerritoryPlan | pd.Series | Mapping[str, str]) -> float:
    """The tolerance the plan was made with (2 % when it does not say)."""
    if isinstance(plan, TerritoryPlan):
        value = plan.parameters.get("tolerance")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return 0.02


def _extra_columns(
    bu: BalanceUnits, columns: Sequence[str], n_plans: int, k: int
) -> dict[str, np.ndarray]:
    problems: list[Problem] = []
    if not isinstance(n_plans, int) or n_plans < 1:
        problems.append(Problem(f"n_plans must be at least 1, not {n_plans!r}",
                                column="n_plans", fix="pass n_plans=1000"))
    if k < 2:
        problems.append(Problem("the plan has one territory: there is nothing to recombine",
                                fix="audit a plan with two territories or more"))
    out = {}
    for c in columns:
        if c not in bu.frame.columns:
            problems.append(Problem(f"column '{c}' is not in the units", column=c,
                                    fix="name a numeric column of the units"))
            continue
        out[c] = pd.to_numeric(bu.frame[c], errors="coerce").fillna(0.0).to_numpy(float)
    if problems:
        raise InputError("the audit request is invalid", problems, source="audit")
    return out


def _moved_weights(
    bu: BalanceUnits,
    territories: Sequence[str],
    baseline: pd.Series | Mapping[str, str] | None,
    column: str | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The baseline's label per unit (-1: a territory the plan lacks) and what each unit moves."""
    if baseline is None:
        return None
    before = pd.Series(baseline)
    before.index = before.index.astype(str)
    code = {str(t): i for i, t in enumerate(territories)}
    start = np.array([code.get(str(before.get(u, "")), -1) for u in bu.ids], dtype=np.int64)
    name = column or ("account_count" if "account_count" in bu.frame.columns else None)
    if name is not None and name not in bu.frame.columns:
        raise InputError(
            f"the units have no column '{name}' to count what moves",
            [Problem(f"no column '{name}'", column=name, fix="name the units' account count")],
            source="audit",
        )
    weights = (
        np.ones(bu.n)
        if name is None
        else pd.to_numeric(bu.frame[name], errors="coerce").fillna(0.0).to_numpy(float)
    )
    return start, weights


def _measure(
    bu: BalanceUnits, values: np.ndarray, extra: dict[str, np.ndarray], targets: np.ndarray,
    moved: tuple[np.ndarray, np.ndarray] | None, labels: np.ndarray,
) -> dict[str, float]:
    """The audit metrics of one plan (deviations from each territory's target)."""
    k = len(targets)
    load = np.bincount(labels, weights=values, minlength=k)
    dev = load / targets - 1.0
    area = np.bincount(labels, weights=bu.area_m2, minlength=k)
    perim = territory_perimeters(bu, labels, k)
    pp = np.where(perim > 0, _FOUR_PI * area / np.maximum(perim, 1e-12) ** 2, 0.0)
    pairs = bu.adjacency.pairs
    cut = int((labels[pairs[:, 0]] != labels[pairs[:, 1]]).sum()) if len(pairs) else 0
    disp_km = dispersion_km(bu, labels, k, values)
    out = {
        "max_abs_deviation": float(np.abs(dev).max()),
        "mean_abs_deviation": float(np.abs(dev).mean()),
        "polsby_popper_mean": float(pp.mean()),
        "cut_edges": float(cut),
        "dispersion_km_mean": float(disp_km.mean()),
    }
    for name, col in extra.items():
        tot = np.bincount(labels, weights=col, minlength=k)
        mean = tot.mean()
        out[f"spread_{name}"] = float(np.abs(tot / mean - 1.0).max()) if mean else 0.0
    if moved is not None:
        start, weights = moved
        out["moved_accounts"] = float(weights[labels != start].sum())
    return out


def _sample(
    bu: BalanceUnits,
    values: np.ndarray,
    labels: np.ndarray,
    rules: AuditRules,
    n_plans: int,
    seed: int,
    measure: Any,
    report: Progress,
    *,
    should_stop: Stop,
) -> tuple[list[dict[str, float]], bool]:
    """Run the ReCom chain from the plan under its rules and measure each state."""
    rows: list[dict[str, float]] = []
    plans = recom_plans(bu, values, labels, rules.chain, n_plans=n_plans,
                        rng=np.random.default_rng(seed))
    for step, state in enumerate(plans, start=1):
        rows.append(measure(state))
        if step % 25 == 0:
            report(step / n_plans, f"sampled {step} of {n_plans} plans")
            if should_stop():
                return rows, True
    logger.info("audit: %d plans sampled under %s", len(rows), rules.described)
    return rows, False
