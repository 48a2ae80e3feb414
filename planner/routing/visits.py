"""Visit rhythm and per-account drive time: which accounts are due when, and their drive hours."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from planner import schema as S
from planner.routing.frequency import id_phase, visits_in_weeks
from planner.routing.network import RoadNetwork, haversine_m
from planner.routing.workload import WEEKS_PER_MONTH, WorkloadParams, travel_workload

__all__ = ["DRIVE_H_PER_WEEK", "account_drive_hours", "visit_counts", "visits_due"]

logger = logging.getLogger(__name__)

#: Name of the per-account weekly drive hours (:func:`account_drive_hours`).
DRIVE_H_PER_WEEK = "drive_h_per_week"


def _per_week(accounts: pd.DataFrame, default_visits_per_month: float) -> np.ndarray:
    """Visits per week of each account (missing frequencies take the default, never negative)."""
    per_month = (
        pd.to_numeric(accounts[S.VISITS_PER_MONTH], errors="coerce")
        if S.VISITS_PER_MONTH in accounts.columns
        else pd.Series(np.nan, index=accounts.index)
    )
    filled = per_month.fillna(default_visits_per_month).clip(lower=0)
    return filled.to_numpy(float) / WEEKS_PER_MONTH


def visits_due(
    accounts: pd.DataFrame,
    monday: date,
    *,
    working_days: int = 5,
    default_visits_per_month: float = 1.0,
) -> pd.DataFrame:
    """Return the accounts due for a visit in the week starting on ``monday``, with how often.

    An account visited ``r`` times a week on average (``visits_per_month x
    12 / 52``) gets ``floor(r (w + 1) + u) - floor(r w + u)`` visits in week
    ``w``, where ``u`` in ``[0, 1)`` comes from a fixed hash of its id. The
    visits come at a steady rhythm (every other week for ``r = 0.5``; one
    or two a week for ``r = 1.4``), the long-run average is exactly ``r``
    for any frequency, the hash spreads a territory's accounts evenly over
    the weeks, and the same week always gives the same accounts. Over the
    first ``n`` weeks this matches :func:`visit_counts`.

    Parameters
    ----------
    accounts
        Rows with ``account_id`` and optionally ``visits_per_month``.
    monday
        First day of the week.
    working_days
        Days worked in the week (an account gets at most one visit a day).
    default_visits_per_month
        Frequency of accounts without one.

    Returns
    -------
    pandas.DataFrame
        The due rows with a ``visits_this_week`` column (1 or more).
    """
    if accounts.empty:
        return accounts.assign(visits_this_week=pd.Series(dtype=int))
    rate = np.clip(_per_week(accounts, default_visits_per_month), 0.0, None)
    week = (monday.toordinal() - 1) // 7  # day 1 (1 January of year 1) is a Monday
    phase = id_phase(accounts[S.ACCOUNT_ID].astype(str))
    count = visits_in_weeks(rate, phase, first_week=week, weeks=1)
    count = np.clip(count, 0, max(working_days, 1)).astype(int)
    due = accounts[count > 0].copy()
    due["visits_this_week"] = count[count > 0]
    return due


def visit_counts(
    accounts: pd.DataFrame,
    *,
    weeks: int,
    working_days: int = 5,
    default_visits_per_month: float = 1.0,
) -> np.ndarray:
    """Return how many visits each account gets over ``weeks`` weeks, fair on average.

    An account expecting ``e = visits per week x weeks`` visits gets
    ``floor(e + u)``, where ``u`` in ``[0, 1)`` comes from a fixed hash of
    its id: always ``floor(e)`` or one more, and ``e`` on average over
    accounts. An account visited every other month thus still gets its
    share of visits in a 4-week period (about half of such accounts get
    one) instead of none, so a territory's visits add up to what its
    frequencies ask. The same ids always give the same counts.

    Parameters
    ----------
    accounts
        Rows with ``account_id`` and optionally ``visits_per_month``.
    weeks
        Length of the period.
    working_days
        Days worked per week (an account gets at most one visit a day).
    default_visits_per_month
        Frequency of accounts without one.

    Returns
    -------
    numpy.ndarray
        Integer visits per row of ``accounts``.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    if accounts.empty:
        return np.zeros(0, dtype=int)
    rate = _per_week(accounts, default_visits_per_month)
    phase = id_phase(accounts[S.ACCOUNT_ID].astype(str))
    counts = visits_in_weeks(rate, phase, first_week=0, weeks=weeks)
    return np.minimum(counts, max(working_days, 0) * weeks)


def account_drive_hours(
    accounts: pd.DataFrame,
    homes: Mapping[str, tuple[float, float]] | None = None,
    *,
    network: RoadNetwork | None = None,
    params: WorkloadParams | None = None,
) -> pd.Series:
    """Return each account's share of its territory's weekly drive hours (a balance variable).

    The recipe: measure each territory's weekly drive time with
    :func:`~planner.routing.workload.travel_workload`, then split it over
    the territory's accounts in proportion to ``visits per week x (distance
    from the rep's home + the territory's spread)``: far-out accounts cost
    more driving, and every visit carries part of the day's tour. Each
    territory's total is kept exactly. Summed per unit it is a column that
    territories can be balanced on; an approximation, since a territory's
    drive time is not quite the sum of its parts once units move.

    Parameters
    ----------
    accounts
        One row per account with ``territory_id``, ``latitude`` and
        ``longitude``, and optionally ``visits_per_month``; rows without a
        territory or a location get 0.
    homes
        Territory id -> rep home ``(latitude, longitude)``; territories
        without one use the mean of their accounts.
    network
        Road network; ``None`` uses the straight-line estimate.
    params
        Method and settings of :func:`travel_workload` (the fast estimate
        by default).

    Returns
    -------
    pandas.Series
        ``drive_h_per_week`` on the index of ``accounts``.

    Raises
    ------
    planner.errors.InputError
        If ``territory_id``, ``latitude`` or ``longitude`` is missing.
    """
    params = params or WorkloadParams()
    out = pd.Series(0.0, index=accounts.index, name=DRIVE_H_PER_WEEK)
    frame = accounts.reset_index(drop=True)
    if {S.TERRITORY_ID, S.LATITUDE, S.LONGITUDE} <= set(frame.columns):
        lat_all = pd.to_numeric(frame[S.LATITUDE], errors="coerce")
        lon_all = pd.to_numeric(frame[S.LONGITUDE], errors="coerce")
        located = frame[S.TERRITORY_ID].notna() & lat_all.notna() & lon_all.notna()
        if not bool(located.any()):
            return out
        frame = frame[located.to_numpy()]
    table = travel_workload(frame, homes=homes, network=network, params=params)
    tids_t = table[S.TERRITORY_ID].astype(str)
    drive_h = dict(zip(tids_t, table["drive_h_per_week"].astype(float), strict=True))
    spread_km = dict(zip(tids_t, table["spread_km"].astype(float), strict=True))
    homes_s = {str(k): v for k, v in (homes or {}).items()}
    per_week = _per_week(frame, params.default_visits_per_month)
    lat = pd.to_numeric(frame[S.LATITUDE], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(frame[S.LONGITUDE], errors="coerce").to_numpy(float)
    share = np.zeros(len(frame))
    for tid, rows in frame.groupby(frame[S.TERRITORY_ID].astype(str)).indices.items():
        key = str(tid)
        home = homes_s.get(key, (float(lat[rows].mean()), float(lon[rows].mean())))
        away_km = haversine_m(home[0], home[1], lat[rows], lon[rows]) / 1000
        weight = per_week[rows] * (away_km + spread_km[key])
        total = float(weight.sum())
        if total <= 0:
            weight, total = np.ones(len(rows)), float(len(rows))
        share[rows] = drive_h[key] * weight / total
    values = np.zeros(len(accounts))
    values[frame.index.to_numpy()] = share  # frame's index: positions in ``accounts``
    out[:] = values
    return out
