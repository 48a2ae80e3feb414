"""Sizing: how many territories (reps) a workload needs at a capacity and target utilisation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem

__all__ = ["SizingRecommendation", "recommend_territory_count"]

_WEEKS_PER = {"week": 1.0, "month": 52.0 / 12.0, "year": 52.0}


@dataclass(frozen=True)
class SizingRecommendation:
    """How many territories a workload needs.

    Parameters
    ----------
    territories
        Recommended number of territories: the fewest whose mean utilisation
        does not exceed the target.
    workload_h_per_week
        Total workload, hours per week.
    capacity_h_per_week
        One rep's capacity, hours per week.
    target_utilisation
        Share of capacity a territory should fill.
    utilisation
        Mean utilisation at the recommended count.
    options
        Utilisation around the recommendation: ``territories``,
        ``utilisation``, ``spare_h_per_week`` (negative when overloaded).
    oversized_units
        Units whose own workload exceeds one rep's target hours (they need
        splitting whatever the count), as ``(unit id, hours per week)``.
    """

    territories: int
    workload_h_per_week: float
    capacity_h_per_week: float
    target_utilisation: float
    utilisation: float
    options: pd.DataFrame
    oversized_units: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the recommendation as a JSON-friendly dictionary."""
        return {
            "territories": self.territories,
            "workload_h_per_week": round(self.workload_h_per_week, 3),
            "capacity_h_per_week": self.capacity_h_per_week,
            "target_utilisation": self.target_utilisation,
            "utilisation": round(self.utilisation, 4),
            "options": [
                {"territories": int(n), "utilisation": round(float(u), 4),
                 "spare_h_per_week": round(float(s), 3)}
                for n, u, s in zip(
                    self.options["territories"], self.options["utilisation"],
                    self.options["spare_h_per_week"], strict=True,
                )
            ],
            "oversized_units": [[u, round(h, 3)] for u, h in self.oversized_units],
        }


def recommend_territory_count(
    workload_h: float | pd.Series,
    *,
    capacity_h_per_week: float,
    target_utilisation: float = 0.85,
    period: Literal["week", "month", "year"] = "month",
    spread: int = 2,
) -> SizingRecommendation:
    """Recommend the number of territories for a rep capacity and a target utilisation.

    The count is the smallest ``k`` with ``workload / (k * capacity) <=
    target_utilisation``.

    Parameters
    ----------
    workload_h
        Total workload hours per ``period``, or hours per unit (a Series
        indexed by unit id, e.g. the ``workload_h`` column of
        :func:`planner.balance.workload.aggregate_to_units`), which also
        reveals units too big for one rep.
    capacity_h_per_week
        Hours per week one rep can work in the field.
    target_utilisation
        Share of capacity to fill, in (0, 1]; below 1 it leaves room for
        growth and travel.
    period
        Period of ``workload_h``: ``"week"``, ``"month"`` or ``"year"``.
    spread
        How many counts either side of the recommendation to tabulate.

    Raises
    ------
    InputError
        If the capacity or utilisation is not positive, the period is
        unknown, or the workload is negative or missing.
    """
    problems = _setting_problems(capacity_h_per_week, target_utilisation, period)
    total, per_unit = _workload(workload_h, period, problems)
    if problems:
        raise InputError("sizing inputs are invalid", problems)
    weekly = total / _WEEKS_PER[period]
    usable = capacity_h_per_week * target_utilisation
    k = max(1, math.ceil(weekly / usable - 1e-12))
    return SizingRecommendation(
        territories=k,
        workload_h_per_week=weekly,
        capacity_h_per_week=capacity_h_per_week,
        target_utilisation=target_utilisation,
        utilisation=weekly / (k * capacity_h_per_week),
        options=_options(k, spread, weekly, capacity_h_per_week),
        oversized_units=_oversized(per_unit, usable),
    )


def _setting_problems(capacity_h_per_week: float, target_utilisation: float,
                      period: str) -> list[Problem]:
    """What is wrong with the capacity, the utilisation and the period."""
    problems = []
    if not (np.isfinite(capacity_h_per_week) and capacity_h_per_week > 0):
        problems.append(Problem(f"capacity_h_per_week is {capacity_h_per_week!r}",
                                fix="give a rep's weekly field hours, e.g. 32"))
    if not (0 < target_utilisation <= 1):
        problems.append(Problem(f"target_utilisation is {target_utilisation!r}",
                                fix="use a share in (0, 1], e.g. 0.85"))
    if period not in _WEEKS_PER:
        problems.append(Problem(f"period is {period!r}", fix="use week, month or year"))
    return problems


def _workload(workload_h: float | pd.Series, period: str,
              problems: list[Problem]) -> tuple[float, pd.Series | None]:
    """The total workload and the weekly hours per unit (``None`` for a total); adds problems."""
    if isinstance(workload_h, pd.Series):
        values = pd.to_numeric(workload_h, errors="coerce")
        if values.isna().any() or (values < 0).any():
            problems.append(Problem("workload has missing or negative values",
                                    fix="give every unit 0 or more hours"))
        return float(values.sum()), values / _WEEKS_PER.get(period, 1.0)
    total = float(workload_h)
    if not (np.isfinite(total) and total >= 0):
        problems.append(Problem(f"workload is {workload_h!r}", fix="use 0 or more hours"))
    return total, None


def _options(k: int, spread: int, weekly: float, capacity_h_per_week: float) -> pd.DataFrame:
    """Utilisation and spare hours for the counts around ``k``."""
    rows = []
    for n in range(max(1, k - spread), k + spread + 1):
        rows.append({
            "territories": n,
            "utilisation": weekly / (n * capacity_h_per_week),
            "spare_h_per_week": n * capacity_h_per_week - weekly,
        })
    return pd.DataFrame(rows)


def _oversized(per_unit: pd.Series | None, usable: float) -> tuple[tuple[str, float], ...]:
    """Units busier than one rep's usable hours, busiest first."""
    if per_unit is None:
        return ()
    big = per_unit[per_unit > usable].sort_values(ascending=False)
    return tuple((str(u), float(h)) for u, h in big.items())
