"""Charts of a balance plan: workload per territory, and the trade-off curve of a rebalance.

Plain altair (the app's optional dependency, imported when a chart is
drawn); the Balance page shows them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner import schema as s
from planner.balance import TradeoffCurve
from planner.viz import UNASSIGNED_COLOR

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

__all__ = ["signed_pct", "tradeoff_chart", "tradeoff_frontier", "workload_chart"]


def signed_pct(value: float) -> str:
    """Return a share as a signed percentage, e.g. ``+1.2 %``."""
    return f"{value:+.1%}".replace("%", " %")


def workload_chart(
    table: pd.DataFrame, colors: Mapping[str, str], *, unit: str, tolerance: float
) -> alt.HConcatChart:
    """Return workload per territory (bars over the tolerance band) beside its deviation.

    Left: each territory's workload as a bar, its target as a black tick and
    the tolerance band around the target in grey. Right: the deviation from
    target, with the band of ±``tolerance`` shaded, so small differences show.
    Bars outside the band are outlined in red.

    Parameters
    ----------
    table
        A :func:`plan_table`.
    colors
        Bar colour per territory id (the map's).
    unit
        What the workload is measured in (axis title).
    tolerance
        The accepted relative deviation.
    """
    import altair as alt  # the app's optional dependency

    data = table.copy()
    data["color"] = data[s.TERRITORY_ID].map(colors).fillna(UNASSIGNED_COLOR)
    data["deviation_text"] = data["deviation"].map(signed_pct)
    data["tol_low"], data["tol_high"] = -tolerance, tolerance
    order = data.sort_values("workload", ascending=False)["territory"].tolist()
    y = alt.Y("territory:N", sort=order, title=None, axis=alt.Axis(labelLimit=240))
    tooltip = [
        alt.Tooltip("territory:N"),
        alt.Tooltip("workload:Q", format=",.1f"),
        alt.Tooltip("target:Q", format=",.1f"),
        alt.Tooltip("deviation_text:N", title="deviation"),
        alt.Tooltip("accounts:Q", format=","),
    ]
    outline = alt.condition("datum.within", alt.value("transparent"), alt.value("#d62728"))
    step = alt.Step(28)
    base = alt.Chart(data)
    band = base.mark_bar(color="#9e9e9e", opacity=0.45).encode(
        y=y, x=alt.X("lower:Q", title=unit), x2="upper:Q"
    )
    bars = base.mark_bar(size=14).encode(
        y=y,
        x="workload:Q",
        color=alt.Color("color:N", scale=None, legend=None),
        stroke=outline,
        strokeWidth=alt.value(2),
        tooltip=tooltip,
    )
    target = base.mark_tick(color="#222222", thickness=2).encode(y=y, x="target:Q")
    workload = (band + bars + target).properties(
        height=step, width=420, title="Workload and tolerance band"
    )
    span = max(float(data["deviation"].abs().max()), tolerance) * 1.15
    scale = alt.Scale(domain=[-span, span])
    dev_band = base.mark_bar(color="#9e9e9e", opacity=0.45).encode(
        y=alt.Y("territory:N", sort=order, axis=None),
        x=alt.X("tol_low:Q", scale=scale, title="Deviation from target", axis=alt.Axis(format="%")),
        x2="tol_high:Q",
    )
    dev_bars = base.mark_bar(size=14).encode(
        y=alt.Y("territory:N", sort=order, axis=None),
        x=alt.X("deviation:Q", scale=scale),
        color=alt.Color("color:N", scale=None, legend=None),
        stroke=outline,
        strokeWidth=alt.value(2),
        tooltip=tooltip,
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(color="#222222")
        .encode(x=alt.X("x:Q", scale=scale))
    )
    deviation = (dev_band + dev_bars + zero).properties(
        height=step, width=260, title=f"Deviation (band ±{tolerance:.1%})"
    )
    return alt.hconcat(workload, deviation, spacing=12)


def tradeoff_frontier(
    curve: TradeoffCurve, *, chosen: tuple[float, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the curve's plans and its frontier, the plan shown among them.

    Every point is a plan found under the same settings as the plan shown:
    the current plan (nothing moved), each budget's rebalance and, when
    given, the plan shown itself. The frontier keeps, for each number of
    accounts moved, the least worst deviation of any plan moving no more,
    so the plan shown lies on it or above it.

    Parameters
    ----------
    curve
        From :func:`planner.balance.tradeoff_curve`.
    chosen
        ``(accounts moved, worst deviation)`` of the plan shown.

    Returns
    -------
    tuple
        The points (``moved_accounts``, ``max_abs_deviation``, ``budget``,
        ``moved_units``, ``kind``), sorted by accounts moved, and the
        frontier's corners.
    """
    pts = curve.points.copy()
    pts["budget"] = [
        ("no limit" if not np.isfinite(b) else f"at most {b:,.0f} accounts")
        for b in pts["budget_accounts"]
    ]
    pts["kind"] = "budget"
    rows = [
        {"moved_accounts": 0.0, "max_abs_deviation": curve.baseline_max_abs_deviation,
         "budget": "current plan", "moved_units": 0, "kind": "current"},
    ]  # fmt: skip
    if chosen is not None:
        rows.append({"moved_accounts": float(chosen[0]), "max_abs_deviation": float(chosen[1]),
                     "budget": "the plan shown", "moved_units": None, "kind": "shown"})  # fmt: skip
    columns = ["moved_accounts", "max_abs_deviation", "budget", "moved_units", "kind"]
    data = pd.concat([pd.DataFrame(rows, columns=columns), pts[columns]], ignore_index=True)
    data = data.sort_values(["moved_accounts", "max_abs_deviation"], kind="stable")
    data = data.reset_index(drop=True)
    # a corner is a plan beating every plan that moves fewer accounts (or as many, listed first)
    before = data["max_abs_deviation"].cummin().shift(fill_value=math.inf)
    frontier = data[data["max_abs_deviation"] < before - 1e-12].reset_index(drop=True)
    return data, frontier


def tradeoff_chart(
    curve: TradeoffCurve,
    *,
    chosen: tuple[float, float] | None = None,
    tolerance: float | None = None,
) -> alt.LayerChart:
    """Return the trade-off curve: worst deviation against accounts moved.

    Blue dots are the plans of :func:`tradeoff_frontier`; the step line is
    its frontier (the least deviation for at most that many moves); the
    plan shown is a red diamond on it; the tolerance a dashed grey line.

    Parameters
    ----------
    curve
        From :func:`planner.balance.tradeoff_curve`.
    chosen
        ``(accounts moved, worst deviation)`` of the plan shown.
    tolerance
        The run's tolerance, drawn as a horizontal line.
    """
    import altair as alt  # the app's optional dependency

    data, frontier = tradeoff_frontier(curve, chosen=chosen)
    x = alt.X("moved_accounts:Q", title="Accounts moved")
    y = alt.Y("max_abs_deviation:Q", title="Worst deviation from target", axis=alt.Axis(format="%"))
    tooltip = [
        alt.Tooltip("budget:N", title="plan"),
        alt.Tooltip("moved_accounts:Q", format=",.0f", title="accounts moved"),
        alt.Tooltip("max_abs_deviation:Q", format=".2%", title="worst deviation"),
    ]
    line = alt.Chart(frontier).mark_line(interpolate="step-after", color="#4e79a7").encode(x=x, y=y)
    others = data[data["kind"] != "shown"]
    dots = (
        alt.Chart(others)
        .mark_point(filled=True, size=70, color="#4e79a7")
        .encode(x=x, y=y, tooltip=tooltip)
    )
    chart = line + dots
    if tolerance is not None:
        rule = pd.DataFrame({"max_abs_deviation": [tolerance]})
        chart += (
            alt.Chart(rule)
            .mark_rule(color="#777777", strokeDash=[5, 4])
            .encode(y="max_abs_deviation:Q")
        )
    shown = data[data["kind"] == "shown"]
    if len(shown):
        chart += (
            alt.Chart(shown)
            .mark_point(size=240, color="#d62728", shape="diamond", filled=True)
            .encode(x=x, y=y, tooltip=tooltip)
        )
    return chart.properties(height=300)
