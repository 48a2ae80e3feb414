"""The fairness audit of a workspace's plan, as the Balance page shows it.

The audit itself is :func:`planner.balance.audit.audit_plan` (a ReCom
ensemble of plans valid under the plan's rules: targets, bounds, locks,
tolerance, adjacency and a hard drive limit); this
module picks what the page compares (revenue potential and drive hours
beside the balanced workload), sizes the ensemble to the map, and draws
each measure as a histogram with the plan marked::

    result = audit_workspace_plan(inputs, plan, weight="workload_h", n_plans=1000)
    for metric in shown_metrics(result):
        chart = audit_chart(result, metric)
    html = audit_report_bytes(result, "html")
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.balance import BalanceParams, TerritoryPlan
from planner.balance.audit import AuditResult, audit_plan
from planner.balance.audit_report import write_audit_report
from planner.balance.workload import BalanceWeight
from planner.progress import Progress, Stop
from planner.routing.visits import DRIVE_H_PER_WEEK
from planner.services.balance_inputs import BalanceInputs

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

__all__ = [
    "AUDIT_MEASURES",
    "audit_chart",
    "audit_columns",
    "audit_report_bytes",
    "audit_table",
    "audit_verdict",
    "audit_workspace_plan",
    "default_ensemble_size",
    "plan_mark_text",
    "shown_metrics",
]

#: Each measure of the audit: what the user reads, and the axis format.
AUDIT_MEASURES: dict[str, tuple[str, str]] = {
    "max_abs_deviation": ("Workload spread (largest deviation from target)", ".1%"),
    "polsby_popper_mean": ("Compactness (mean Polsby-Popper, 1 is a disc)", ".2f"),
    f"spread_{s.ANNUAL_REVENUE}": ("Revenue potential spread (largest deviation from mean)", ".0%"),
    f"spread_{DRIVE_H_PER_WEEK}": ("Drive time spread (weekly drive hours, estimate)", ".0%"),
    "moved_accounts": ("Accounts moved from the scenario", ",.0f"),
    "dispersion_km_mean": ("Mean distance to the territory's centre (km)", ",.3~g"),
    "mean_abs_deviation": ("Mean workload deviation", ".1%"),
    "cut_edges": ("Cut edges (unit borders between territories)", ",.0f"),
}
_OUTLIER = 0.05  # a plan as good as fewer than 5 % of the ensemble is an outlier


def default_ensemble_size(n_units: int) -> int:
    """Return the ensemble size offered by default: 1,000 plans on small maps, fewer on large."""
    if n_units <= 1_000:
        return 1_000
    if n_units <= 5_000:
        return 300
    return 100


def audit_columns(units: pd.DataFrame, weight: BalanceWeight) -> list[str]:
    """Return the unit columns whose spread the audit compares: revenue and drive hours.

    A column is left out when it is the balanced one (its spread is the
    workload spread) or all zero.
    """
    balanced = {weight} if isinstance(weight, str) else set(weight)
    out = []
    for col in (s.ANNUAL_REVENUE, DRIVE_H_PER_WEEK):
        if col not in units.columns or col in balanced:
            continue
        if float(pd.to_numeric(units[col], errors="coerce").fillna(0).sum()) > 0:
            out.append(col)
    return out


def audit_workspace_plan(
    inputs: BalanceInputs,
    plan: TerritoryPlan | pd.Series,
    *,
    weight: BalanceWeight,
    n_plans: int,
    seed: int = 0,
    baseline: pd.Series | None = None,
    params: BalanceParams | None = None,
    reps: gpd.GeoDataFrame | None = None,
    drive_hours: pd.DataFrame | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> AuditResult:
    """Audit a plan of the workspace's units: the balanced workload, revenue and drive hours.

    Parameters
    ----------
    inputs
        The workspace's units (:func:`~planner.services.balance_inputs.balance_inputs`).
    plan
        A plan, or a scenario's assignment (unit id -> territory id).
    weight
        The balanced column(s).
    n_plans
        Plans to sample.
    seed
        Seed of the chain.
    baseline
        The scenario's assignment before the plan (unit id -> territory id):
        every plan is then also measured by the accounts it moves from it.
    params, reps, drive_hours
        The rules the plan was made under, when the plan does not record
        them (a scenario's assignment): its locks, workload bounds and drive
        limit; the reps (capacities, homes) and drive hours of a hard limit.
        A plan made on the page records its targets, locks and bounds; its
        hard drive limit is kept only with ``reps`` or ``drive_hours``.
    progress, stop
        Progress report and early stop.

    Raises
    ------
    planner.errors.InputError
        If the plan has fewer than two territories or ``n_plans`` is below 1.
    """
    return audit_plan(
        inputs.prepared,
        plan,
        weight=weight,
        n_plans=n_plans,
        columns=audit_columns(inputs.units, weight),
        seed=seed,
        baseline=baseline,
        params=params,
        reps=reps,
        drive_hours=drive_hours,
        progress=progress,
        stop=stop,
    )


def shown_metrics(result: AuditResult) -> list[str]:
    """Return the measures of ``result`` in the order the page shows them (known ones first)."""
    known = [m for m in AUDIT_MEASURES if m in result.senses]
    return known + [m for m in result.senses if m not in AUDIT_MEASURES]


def _label(metric: str) -> str:
    if metric in AUDIT_MEASURES:
        return AUDIT_MEASURES[metric][0]
    return metric.replace("spread_", "Spread of ").replace("_", " ")


def _shares(result: AuditResult) -> dict[str, float]:
    """Per measure, the share of the ensemble the plan is at least as good as."""
    return {
        str(r["metric"]): float(r["as_good_as_share"])
        for r in result.ranks().to_dict(orient="records")
    }


def _figure(metric: str, value: float) -> str:
    """A measure's value as the user reads it (the chart axis's format)."""
    d3 = AUDIT_MEASURES.get(metric, (metric, ".3~g"))[1]
    return format(value, d3.replace("~", ""))  # d3's "~" trims zeros, as Python's g does


def audit_table(result: AuditResult) -> pd.DataFrame:
    """Return one row per measure: the plan, the ensemble's median and range, its rank.

    Values are text in each measure's format (percentages, km, counts).
    """
    ranks = {str(r["metric"]): r for r in result.ranks().to_dict(orient="records")}
    rows = []
    for metric in shown_metrics(result):
        r = ranks[metric]
        rows.append(
            {
                "measure": _label(metric),
                "this plan": _figure(metric, float(r["plan"])),
                "ensemble median": _figure(metric, float(r["ensemble_median"])),
                "ensemble range": f"{_figure(metric, float(r['ensemble_min']))} to "
                f"{_figure(metric, float(r['ensemble_max']))}",
                "better is": str(r["better"]),
                "beats or ties": float(r["as_good_as_share"]),
            }
        )
    return pd.DataFrame(rows)


def audit_verdict(result: AuditResult) -> tuple[bool, str]:
    """Return whether the plan is typical on every measure, and a sentence saying so.

    A plan as good as fewer than 5 % of the sampled plans on a measure is an
    outlier on it.
    """
    shares = _shares(result)
    worse = [_label(m).split(" (")[0] for m in shown_metrics(result) if shares[m] < _OUTLIER]
    n = len(result.ensemble)
    if not worse:
        return True, (
            f"Among {n:,} plans that keep the same rules, this plan is never an outlier for "
            f"the worse: on every measure it is at least as good as {_OUTLIER:.0%} of them."
        )
    return False, (
        f"Among {n:,} plans that keep the same rules, this plan is worse than 95 % of them on: "
        f"{', '.join(worse)}."
    )


def audit_chart(result: AuditResult, metric: str, *, bins: int = 24) -> alt.LayerChart:
    """Return a histogram of one measure over the ensemble, the plan as a red rule and label.

    Parameters
    ----------
    result
        The audit.
    metric
        One of ``result.senses``.
    bins
        Number of bars.
    """
    import altair as alt  # the app's optional dependency

    values = result.ensemble[metric].to_numpy(float)
    mine = float(result.plan[metric])
    lo, hi = float(min(values.min(initial=mine), mine)), float(max(values.max(initial=mine), mine))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    bars = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "plans": counts})
    fmt = AUDIT_MEASURES.get(metric, (metric, ".3~g"))[1]
    x = alt.X("start:Q", bin="binned", title=None, axis=alt.Axis(format=fmt))
    hist = (
        alt.Chart(bars)
        .mark_bar(color="#7a9cc6")
        .encode(
            x=x,
            x2="end:Q",
            y=alt.Y("plans:Q", title="Sampled plans"),
            tooltip=[
                alt.Tooltip("start:Q", format=fmt, title="from"),
                alt.Tooltip("end:Q", format=fmt, title="to"),
                alt.Tooltip("plans:Q", title="plans"),
            ],
        )
    )
    mark = pd.DataFrame({"start": [mine], "text": [plan_mark_text(result, metric)]})
    rule = alt.Chart(mark).mark_rule(color="#d62728", strokeWidth=3).encode(x="start:Q")
    right_half = mine > (lo + hi) / 2  # the label goes on the side with room
    label = (
        alt.Chart(mark)
        .mark_text(
            color="#d62728",
            align="right" if right_half else "left",
            dx=-6 if right_half else 6,
            baseline="top",
            fontWeight="bold",
        )
        .encode(x="start:Q", y=alt.value(2), text="text:N")
    )
    title = alt.TitleParams(_label(metric), anchor="start", fontSize=13)
    return (hist + rule + label).properties(height=200, title=title)


def plan_mark_text(result: AuditResult, metric: str) -> str:
    """Return the label of the plan's line on a histogram: its rank among the sampled plans."""
    return f"this plan: beats or ties {_shares(result)[metric]:.0%}"


def audit_report_bytes(result: AuditResult, kind: Literal["html", "csv"]) -> bytes:
    """Return the audit report as a file's bytes: HTML histograms with the plan, or CSV rows."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_audit_report(result, Path(folder) / f"audit.{kind}")
        return path.read_bytes()
