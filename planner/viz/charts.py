"""Charts of a scenario's territories (Altair, an optional dependency of the app)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.viz.summary import PALETTE, UNASSIGNED_COLOR, is_shown

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

__all__ = ["territory_bar_chart"]


def territory_bar_chart(
    summary: pd.DataFrame,
    *,
    value: str = "accounts",
    colors: Mapping[str, str] | None = None,
    leaves_only: bool = True,
) -> alt.Chart:
    """Return a horizontal bar chart of ``value`` per territory (an Altair chart).

    Parameters
    ----------
    summary
        A frame from :func:`territory_summary`.
    value
        The column to plot, e.g. ``"accounts"`` or ``"annual_revenue"``.
    colors
        Bar colour by territory id (the map's colours); one colour if ``None``.
    leaves_only
        Plot only leaf territories (their figures are not double counted).
    """
    import altair as alt  # the app's optional dependency

    if value not in summary.columns:
        raise InputError(
            f"territory_bar_chart: no column '{value}'",
            [Problem(f"unknown value '{value}'", fix=f"use one of {list(summary.columns)}")],
        )
    frame = summary[summary["is_leaf"]] if leaves_only else summary
    data = pd.DataFrame(
        {
            "territory": [
                str(n) if is_shown(n) else str(t)
                for n, t in zip(frame[s.NAME], frame[s.TERRITORY_ID], strict=True)
            ],
            "territory_id": frame[s.TERRITORY_ID].astype(str).to_numpy(),
            value: frame[value].to_numpy(),
        }
    )
    if colors:
        data["color"] = data["territory_id"].map(colors).fillna(UNASSIGNED_COLOR)
        color: Any = alt.Color("color:N", scale=None, legend=None)
    else:
        color = alt.value(PALETTE[0])
    title = value.replace("_", " ")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y("territory:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            color=color,
            tooltip=["territory", "territory_id", alt.Tooltip(f"{value}:Q", format=",.0f")],
        )
        .properties(height=max(160, 30 * len(data)))
    )
