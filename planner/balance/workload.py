"""Workload of accounts (visit hours or any numeric column) and its aggregation to units."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.errors import InputError, Problem, format_ids
from planner.schema import (
    ACCOUNT_ID,
    ANNUAL_REVENUE,
    UNIT_ID,
    VISIT_MINUTES,
    VISITS_PER_MONTH,
)

__all__ = [
    "ACCOUNT_COUNT",
    "WORKLOAD_H",
    "BalanceWeight",
    "WorkloadSpec",
    "account_workload",
    "aggregate_to_units",
    "balance_values",
    "unit_of_accounts",
    "units_with_workload",
]

logger = logging.getLogger(__name__)

#: Column written by :func:`aggregate_to_units`: accounts per unit.
ACCOUNT_COUNT = "account_count"
#: Column written by :func:`aggregate_to_units`: workload hours per period.
WORKLOAD_H = "workload_h"

Period = Literal["week", "month", "year"]
_PER_MONTH = {"week": 12.0 / 52.0, "month": 1.0, "year": 12.0}


@dataclass(frozen=True)
class WorkloadSpec:
    """How to turn an account's visit pattern into hours of work.

    Hours per period = visits per period x (visit minutes + travel allowance) / 60.

    Parameters
    ----------
    visits_column
        Column with visits per month.
    minutes_column
        Column with minutes per visit.
    travel_allowance_min
        Minutes of travel added to every visit.
    period
        Period of the resulting hours: ``"week"``, ``"month"`` or ``"year"``.
    default_visits_per_month
        Used where the visits column is missing or empty; ``None`` makes a
        missing value an error.
    default_visit_minutes
        Used where the minutes column is missing or empty; ``None`` makes a
        missing value an error.
    """

    visits_column: str = VISITS_PER_MONTH
    minutes_column: str = VISIT_MINUTES
    travel_allowance_min: float = 0.0
    period: Period = "month"
    default_visits_per_month: float | None = None
    default_visit_minutes: float | None = None

    def __post_init__(self) -> None:
        if self.period not in _PER_MONTH:
            raise InputError(f"period must be week, month or year, not {self.period!r}")
        for name in ("travel_allowance_min", "default_visits_per_month", "default_visit_minutes"):
            value = getattr(self, name)
            if value is not None and (not np.isfinite(value) or value < 0):
                raise InputError(f"{name} must be a non-negative number, not {value!r}")

    def to_dict(self) -> dict[str, object]:
        """Return the specification as a JSON-friendly dictionary."""
        return {
            "visits_column": self.visits_column,
            "minutes_column": self.minutes_column,
            "travel_allowance_min": self.travel_allowance_min,
            "period": self.period,
            "default_visits_per_month": self.default_visits_per_month,
            "default_visit_minutes": self.default_visit_minutes,
        }


def account_workload(accounts: pd.DataFrame, spec: WorkloadSpec | None = None) -> pd.Series:
    """Return the workload hours per period of every account.

    Parameters
    ----------
    accounts
        Accounts with visit frequency and visit duration columns.
    spec
        Column names, travel allowance and period; the defaults read
        ``visits_per_month`` and ``visit_minutes`` and give hours per month.

    Returns
    -------
    pandas.Series
        Hours per period, named ``workload_h``, on the accounts' index.

    Raises
    ------
    InputError
        If a column is missing with no default, or values are missing (with no
        default), negative or not numbers; every problem is listed at once.
    """
    spec = spec or WorkloadSpec()
    problems: list[Problem] = []
    visits = _numeric(accounts, spec.visits_column, spec.default_visits_per_month, problems)
    minutes = _numeric(accounts, spec.minutes_column, spec.default_visit_minutes, problems)
    if problems:
        raise InputError("accounts' workload cannot be computed", problems, source="accounts")
    hours = visits * _PER_MONTH[spec.period] * (minutes + spec.travel_allowance_min) / 60.0
    return pd.Series(hours, index=accounts.index, name=WORKLOAD_H, dtype=float)


def _numeric(
    frame: pd.DataFrame, column: str, default: float | None, problems: list[Problem]
) -> np.ndarray:
    if column not in frame.columns:
        if default is None:
            problems.append(
                Problem(
                    f"column '{column}' is missing",
                    column=column,
                    fix=f"add '{column}' or set a default in WorkloadSpec",
                )
            )
            return np.zeros(len(frame))
        return np.full(len(frame), float(default))
    values = pd.to_numeric(frame[column], errors="coerce")
    raw_missing = frame[column].isna().to_numpy()
    not_number = values.isna().to_numpy() & ~raw_missing
    if not_number.any():
        problems.append(
            Problem(
                f"'{column}' has {int(not_number.sum())} values that are not numbers",
                rows=_rows(frame, not_number),
                column=column,
                fix="use plain numbers",
            )
        )
    if raw_missing.any():
        if default is None:
            problems.append(
                Problem(
                    f"'{column}' has {int(raw_missing.sum())} missing values",
                    rows=_rows(frame, raw_missing),
                    column=column,
                    fix=f"fill in '{column}' or set a default in WorkloadSpec",
                )
            )
        values = values.fillna(default if default is not None else 0.0)
    out = values.fillna(0.0).to_numpy(dtype=float)
    negative = out < 0
    if negative.any():
        problems.append(
            Problem(
                f"'{column}' has {int(negative.sum())} negative values",
                rows=_rows(frame, negative),
                column=column,
                fix="use zero or a positive number",
            )
        )
    return out


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> tuple[int, ...]:
    """Row numbers as a user sees them in a file (the header is row 1), at most 50."""
    return tuple(int(p) + 2 for p in np.flatnonzero(mask)[:50])


def aggregate_to_units(
    accounts: pd.DataFrame,
    units: gpd.GeoDataFrame | None = None,
    *,
    spec: WorkloadSpec | None = None,
    columns: Sequence[str] = (ANNUAL_REVENUE,),
    unit_column: str = UNIT_ID,
    outside: Literal["raise", "drop"] = "raise",
) -> pd.DataFrame:
    """Sum account workload, account count and numeric columns per unit.

    Accounts name their unit in ``unit_column``; when they do not, their
    points are joined to the ``units`` polygons (a point on a shared border
    goes to the first unit in the units' order).

    Parameters
    ----------
    accounts
        Accounts; a GeoDataFrame of points when they carry no unit column.
    units
        Unit polygons with a ``unit_id`` column; every unit gets a row in the
        result (zeros where it has no accounts). Needed when accounts have no
        unit column.
    spec
        Workload specification; when the visit columns are absent and no
        defaults are set, the workload column is left out (and logged).
    columns
        Further numeric account columns to sum (missing values count as 0;
        absent columns are skipped).
    unit_column
        Column of ``accounts`` naming the unit.
    outside
        What to do with accounts in no unit: ``"raise"`` an error naming
        them, or ``"drop"`` them (logged).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``, with ``account_count``, ``workload_h`` and the
        summed columns.

    Raises
    ------
    InputError
        If accounts cannot be placed in units, or the workload inputs are
        invalid.
    """
    unit_of = unit_of_accounts(accounts, units, unit_column)
    lost = unit_of.isna().to_numpy()
    if lost.any():
        _handle_outside(accounts, lost, outside)
    data = pd.DataFrame({UNIT_ID: unit_of.to_numpy()}, index=accounts.index)
    data[ACCOUNT_COUNT] = 1
    _add_workload(data, accounts, spec or WorkloadSpec())
    _add_columns(data, accounts, columns)
    return _sum_per_unit(data[~lost], units)


def _handle_outside(
    accounts: pd.DataFrame, lost: np.ndarray, outside: Literal["raise", "drop"]
) -> None:
    """Refuse accounts in no unit (``"raise"``), or log that they are dropped."""
    ids = accounts[ACCOUNT_ID] if ACCOUNT_ID in accounts.columns else accounts.index
    names = [str(x) for x in np.asarray(ids)[lost]]
    if outside == "raise":
        raise InputError(
            f"{int(lost.sum())} accounts lie in no unit",
            [
                Problem(
                    f"accounts {format_ids(names)} are outside every unit",
                    rows=_rows(accounts, lost),
                    fix="add units that cover them, or pass outside='drop'",
                )
            ],
            source="accounts",
        )
    logger.warning("dropping %d accounts outside every unit: %s", lost.sum(), format_ids(names))


def _add_workload(data: pd.DataFrame, accounts: pd.DataFrame, spec: WorkloadSpec) -> None:
    """Add each account's ``workload_h`` to ``data`` when the visit inputs are there."""
    has_visits = spec.visits_column in accounts.columns or spec.default_visits_per_month is not None
    has_minutes = spec.minutes_column in accounts.columns or spec.default_visit_minutes is not None
    if has_visits and has_minutes:
        data[WORKLOAD_H] = account_workload(accounts, spec)
    else:
        logger.info("no visit columns: workload_h left out")


def _add_columns(data: pd.DataFrame, accounts: pd.DataFrame, columns: Sequence[str]) -> None:
    """Add the further numeric columns to ``data`` (missing as 0; negative values refused)."""
    for col in columns:
        if col not in accounts.columns:
            continue
        values = pd.to_numeric(accounts[col], errors="coerce")
        negative = (values < 0).to_numpy()
        if negative.any():
            raise InputError(
                f"'{col}' has negative values",
                [Problem(f"'{col}' is negative", rows=_rows(accounts, negative), column=col,
                         fix="use zero or a positive number")],
                source="accounts",
            )
        data[col] = values.fillna(0.0).to_numpy(dtype=float)


def _sum_per_unit(data: pd.DataFrame, units: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Sum ``data`` per unit; every unit of ``units`` gets a row (zeros without accounts)."""
    sums = data.groupby(UNIT_ID, sort=True).sum(numeric_only=True)
    if units is not None:
        order = units[UNIT_ID].astype(str)
        sums = sums.reindex(order, fill_value=0)
        sums.index.name = UNIT_ID
    sums[ACCOUNT_COUNT] = sums[ACCOUNT_COUNT].astype(int)
    return sums


def units_with_workload(
    units: gpd.GeoDataFrame,
    accounts: pd.DataFrame,
    *,
    spec: WorkloadSpec | None = None,
    columns: Sequence[str] = (ANNUAL_REVENUE,),
    outside: Literal["raise", "drop"] = "raise",
) -> gpd.GeoDataFrame:
    """Return ``units`` with the accounts' aggregated columns joined on (ready to balance).

    Columns the units already have under the same names are replaced.

    Parameters
    ----------
    units
        Unit polygons with ``unit_id``.
    accounts, spec, columns, outside
        As for :func:`aggregate_to_units`.
    """
    sums = aggregate_to_units(accounts, units, spec=spec, columns=columns, outside=outside)
    base = units.drop(columns=[c for c in sums.columns if c in units.columns])
    keys = base[UNIT_ID].astype(str)
    joined = sums.reindex(keys.to_numpy())
    for col in sums.columns:
        base[col] = joined[col].to_numpy()
    return base


def unit_of_accounts(
    accounts: pd.DataFrame, units: gpd.GeoDataFrame | None, unit_column: str
) -> pd.Series:
    """Return each account's unit id: its ``unit_column`` when present, else the unit it is in."""
    if unit_column in accounts.columns:
        out = accounts[unit_column].astype(object)
        out = out.where(out.isna(), out.astype(str))
        if units is not None:
            known = set(units[UNIT_ID].astype(str))
            out = out.where(out.isin(known))
        return out
    if units is None or not isinstance(accounts, gpd.GeoDataFrame):
        raise InputError(
            "accounts cannot be placed in units",
            [
                Problem(
                    f"accounts have no '{unit_column}' column and no point geometry with units",
                    column=unit_column,
                    fix="add a unit column, or pass account points and the unit polygons",
                )
            ],
            source="accounts",
        )
    pts = accounts
    if units.crs is not None and pts.crs is not None and pts.crs != units.crs:
        pts = pts.to_crs(units.crs)
    polys = units[[UNIT_ID, "geometry"]].reset_index(drop=True)
    polys[UNIT_ID] = polys[UNIT_ID].astype(str)
    pos = pd.RangeIndex(len(pts))
    left = gpd.GeoDataFrame({"_pos": pos}, geometry=pts.geometry.to_numpy(), crs=pts.crs)
    joined = gpd.sjoin(left, polys, how="left", predicate="intersects")
    joined = joined.sort_values(["_pos", "index_right"]).drop_duplicates("_pos")
    return pd.Series(joined[UNIT_ID].to_numpy(), index=accounts.index, dtype=object)


#: A balance variable: one column, or several columns with weights.
BalanceWeight: TypeAlias = str | Mapping[str, float]


def balance_values(
    frame: pd.DataFrame, weight: BalanceWeight
) -> tuple[np.ndarray, dict[str, float]]:
    """Return the value to balance per row and the normalised variable weights.

    A single column is used as it is. Several columns are each divided by
    their total (so hours and revenue become shares) and summed with their
    weights, then scaled to the first column's total so the result keeps a
    readable magnitude.

    Parameters
    ----------
    frame
        Rows to weigh (units).
    weight
        A column name, or a mapping of column name to relative weight.

    Raises
    ------
    InputError
        If a column is missing, has missing, negative or non-numeric values,
        or a variable weight is not positive.
    """
    spec: dict[str, float] = {weight: 1.0} if isinstance(weight, str) else dict(weight)
    problems: list[Problem] = []
    if not spec:
        raise InputError("no balance variable given", [Problem("weight is empty",
                         fix="name a column to balance, e.g. workload_h")])
    for col, beta in spec.items():
        if not (isinstance(beta, int | float) and np.isfinite(beta) and beta > 0):
            problems.append(Problem(f"weight of '{col}' must be a positive number, not {beta!r}",
                                    column=col, fix="use a positive weight"))
    columns: dict[str, np.ndarray] = {}
    ids = frame[UNIT_ID].astype(str).to_numpy() if UNIT_ID in frame.columns else frame.index
    for col in spec:
        if col not in frame.columns:
            problems.append(Problem(f"column '{col}' is missing", column=col,
                                    fix=f"add '{col}' or choose another balance column"))
            continue
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            problems.append(Problem(
                f"'{col}' is missing or not a number for units {format_ids(np.asarray(ids)[bad])}",
                column=col, fix="fill in a number (0 for units with no workload)"))
        neg = np.isfinite(values) & (values < 0)
        if neg.any():
            problems.append(Problem(
                f"'{col}' is negative for units {format_ids(np.asarray(ids)[neg])}",
                column=col, fix="workload cannot be negative: use 0 or a positive value"))
        columns[col] = values
    if not problems:
        for col, values in columns.items():
            if values.sum() <= 0:
                problems.append(Problem(f"'{col}' sums to zero", column=col,
                                        fix="balance a column that has some workload"))
    if problems:
        raise InputError("the balance variable is invalid", problems, source="units")
    total_beta = sum(spec.values())
    betas = {c: b / total_beta for c, b in spec.items()}
    if len(columns) == 1:
        return next(iter(columns.values())).astype(float), betas
    first = next(iter(columns.values()))
    combined = sum(betas[c] * v / v.sum() for c, v in columns.items())
    return np.asarray(combined, dtype=float) * first.sum(), betas
