"""User-territory associations: which are in force on a date."""

from __future__ import annotations

from datetime import date

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = ["active_mask"]


def active_mask(associations: pd.DataFrame, as_of: date) -> pd.Series:
    """Rows of ``associations`` in force on ``as_of`` (ended or future ones are not)."""
    day = pd.Timestamp(as_of)
    mask = pd.Series(True, index=associations.index)
    for col, test in ((s.START_DATE, "start"), (s.END_DATE, "end")):
        if col not in associations.columns:
            continue
        raw = associations[col]
        when = pd.to_datetime(raw.astype(object).where(raw.notna(), None), errors="coerce")
        when = when.dt.tz_localize(None) if getattr(when.dt, "tz", None) is not None else when
        bad = raw.notna() & (raw.astype(str).str.strip() != "") & when.isna()
        if bad.any():
            rows = tuple(int(i) + 2 for i in associations.index[bad.to_numpy()][:50])
            raise InputError(
                f"associations have unreadable {col} values",
                [Problem(f"'{col}' is not a date", rows=rows, column=col, fix="use YYYY-MM-DD")],
                source="associations",
            )
        if test == "start":
            mask &= when.isna() | (when.dt.normalize() <= day)
        else:
            mask &= when.isna() | (when.dt.normalize() >= day)
    return mask
