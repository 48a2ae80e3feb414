"""Report periods: calendar and fiscal years, halves, quarters and months."""

from __future__ import annotations

import re

import pandas as pd

from planner.errors import InputError, Problem

__all__ = ["in_period", "next_period", "period_bounds", "previous_periods"]


def period_bounds(
    period: str, *, fiscal_year_start_month: int = 1
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first day of ``period`` and the first day after it.

    Parameters
    ----------
    period
        A calendar period, ``"2025"``, ``"2025-H1"``, ``"2025-Q3"`` or
        ``"2025-07"``, or a fiscal one, ``"FY2026"``, ``"FY2026-H2"`` or
        ``"FY2026-Q1"``.
    fiscal_year_start_month
        First month of the fiscal year. A fiscal year is named by the
        calendar year it ends in, so with ``2`` (February), ``FY2026`` runs
        from February 2025 to January 2026. With ``1`` (the default) fiscal
        and calendar years coincide.

    Raises
    ------
    InputError
        If the period is written otherwise.
    """
    text = str(period).strip().upper()
    m = re.fullmatch(r"(FY)?(\d{4})(?:-(?:(Q)([1-4])|(H)([12])|(\d{2})))?", text)
    bad = not m or (m.group(7) and (m.group(1) or not 1 <= int(m.group(7)) <= 12))
    if bad or not 1 <= fiscal_year_start_month <= 12:
        raise InputError(
            f"period '{period}' is not understood",
            [
                Problem(
                    f"unknown period '{period}'",
                    fix="write 2025, 2025-H1, 2025-Q3, 2025-07, FY2025 or FY2025-Q1",
                )
            ],
        )
    assert m is not None
    year = int(m.group(2))
    if m.group(3):
        first, months = 3 * (int(m.group(4)) - 1) + 1, 3
    elif m.group(5):
        first, months = 6 * (int(m.group(6)) - 1) + 1, 6
    elif m.group(7):
        first, months = int(m.group(7)), 1
    else:
        first, months = 1, 12
    start = pd.Timestamp(year=year, month=first, day=1)
    if m.group(1) and fiscal_year_start_month != 1:
        start = start + pd.DateOffset(months=fiscal_year_start_month - 1 - 12)
    return start, start + pd.DateOffset(months=months)


def in_period(when: pd.Series, period: str | None) -> pd.Series:
    """Which of the timestamps ``when`` fall inside ``period`` (every known one when ``None``)."""
    if period is None:
        return when.notna()
    start, end = period_bounds(period)
    return (when >= start) & (when < end)


def previous_periods(period: str, count: int = 1) -> list[str]:
    """Return the ``count`` periods of the same kind just before ``period``, latest first.

    ``"2026-Q1"`` gives ``["2025-Q4", "2025-Q3"]`` for two, ``"2026-07"``
    ``["2026-06"]``, ``"FY2026-H1"`` ``["FY2025-H2"]``, ``"2026"`` ``["2025"]``.

    Raises
    ------
    InputError
        If ``period`` is not understood, or ``count`` is below 1.
    """
    if count < 1:
        raise InputError(
            f"cannot look back {count} periods",
            [Problem(f"count {count}", fix="look back at least one period")],
        )
    return [_shifted(period, -k) for k in range(1, count + 1)]


def next_period(period: str) -> str:
    """Return the period of the same kind just after ``period`` (``"2026-Q4"``: ``"2027-Q1"``).

    Raises
    ------
    InputError
        If ``period`` is not understood.
    """
    return _shifted(period, 1)


def _shifted(period: str, by: int) -> str:
    """The period ``by`` periods of the same kind away from ``period``."""
    period_bounds(period)  # refuses an unknown period with the accepted forms
    m = re.fullmatch(r"(FY)?(\d{4})(?:-(Q|H)?(\d{1,2}))?", str(period).strip().upper())
    assert m is not None
    fiscal, year = m.group(1) or "", int(m.group(2))
    if m.group(4) is None:
        return f"{fiscal}{year + by}"
    kind = m.group(3) or ""
    per_year = {"Q": 4, "H": 2, "": 12}[kind]
    y, part = divmod(year * per_year + int(m.group(4)) - 1 + by, per_year)
    label = f"{kind}{part + 1}" if kind else f"{part + 1:02d}"
    return f"{fiscal}{y}-{label}"
