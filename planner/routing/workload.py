"""Weekly drive time per territory: simulated day routes, or a fast estimate checked on them."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import ConvexHull, QhullError

from planner import schema as S
from planner.errors import InputError, Problem
from planner.geodesy import EARTH_RADIUS_M
from planner.progress import Progress
from planner.routing.frequency import WEEKS_PER_MONTH, id_phase, visits_in_weeks
from planner.routing.matrix import EstimateParams
from planner.routing.network import RoadNetwork, haversine_m
from planner.routing.params import RouteParams
from planner.routing.planning import plan_routes
from planner.routing.snapping import snap_points

__all__ = ["WEEKS_PER_MONTH", "WORKLOAD_COLUMNS", "WorkloadParams", "travel_workload"]

logger = logging.getLogger(__name__)

#: Beardwood-Halton-Hammersley constant for a tour through n random points.
BHH_CONSTANT = 0.7124

#: Columns of the table :func:`travel_workload` returns.
WORKLOAD_COLUMNS = [
    S.TERRITORY_ID,
    "accounts",
    "visits_per_week",
    "drive_h_per_week",
    "drive_km_per_week",
    "visit_h_per_week",
    "spread_km",
    "method",
    "estimated",
]


@dataclass(frozen=True)
class WorkloadParams:
    """How weekly drive time is computed.

    Parameters
    ----------
    method
        ``"estimate"``: a closed-form tour-length estimate (milliseconds per
        territory) scaled by drive times measured from home on the network;
        ``"simulate"``: plan the routes of ``route.weeks`` weeks with
        :func:`~planner.routing.planning.plan_routes` and average them (seconds
        per territory); each account's visits in the period follow
        :func:`~planner.routing.visits.visit_counts` (fair on average, so
        rare visits are simulated too).
    route
        Shift, working days, weeks and solver time used by simulations
        (``use_frequencies`` is forced on).
    default_visits_per_month
        Frequency of accounts without ``visits_per_month``.
    default_visit_minutes
        Visit length of accounts without ``visit_minutes``.
    estimate
        Straight-line speed and circuity used without a road network.
    """

    method: Literal["estimate", "simulate"] = "estimate"
    route: RouteParams = field(
        default_factory=lambda: RouteParams(
            weekdays=(0, 1, 2, 3, 4), weeks=4, use_frequencies=True, time_limit_s=4.0
        )
    )
    default_visits_per_month: float = 1.0
    default_visit_minutes: float = 30.0
    estimate: EstimateParams = field(default_factory=EstimateParams)

    def __post_init__(self) -> None:
        if self.method not in ("estimate", "simulate"):
            raise InputError(f"method must be 'estimate' or 'simulate', got {self.method!r}")
        if not (self.default_visits_per_month >= 0):
            raise InputError("default_visits_per_month must not be negative")
        if not (self.default_visit_minutes >= 0):
            raise InputError("default_visit_minutes must not be negative")


def _local_xy(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Metres east/north of the points' mean (equirectangular; fine for a territory)."""
    lat0 = float(np.mean(lat))
    x = np.radians(lon - np.mean(lon)) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    return np.column_stack((x, y))


def _area_m2(xy: np.ndarray) -> float:
    """Area of the convex hull (0 for fewer than three distinct points)."""
    if len(np.unique(xy.round(1), axis=0)) < 3:
        return 0.0
    try:
        return float(ConvexHull(xy).volume)
    except QhullError:
        return 0.0


def _estimate_week_m(
    lat: np.ndarray,
    lon: np.ndarray,
    per_week: np.ndarray,
    home: tuple[float, float],
    days_per_week: int,
    days_of_work: float | None = None,
) -> float:
    """Straight-line metres driven per week (tour-length estimate).

    Each day out the rep drives to a part of the territory, tours the
    day's stops and comes back: out and back cost twice the mean distance
    from home to the stops; the tour inside the day's part, whose area is
    the territory's over the number of days, follows Beardwood, Halton and
    Hammersley, ``0.7124 * sqrt(n * area)``. Route plans put a week's
    visits on as few days as the shift allows (every day out costs a drive
    out and back), so the days out are the days of work the visits fill
    (``days_of_work``), at least as many as the most frequent account's
    visits a week, at most the working days; a fraction when the plan can
    gather several weeks' rare visits on one day.
    """
    visits = float(per_week.sum())
    if visits <= 0:
        return 0.0
    weights = per_week / visits
    to_home = haversine_m(home[0], home[1], lat, lon)
    reach = float(np.sum(weights * to_home))
    days = min(float(days_per_week), visits)
    if days_of_work is not None:
        days = min(days, max(days_of_work, float(per_week.max())))
    per_day = visits / days
    area = _area_m2(_local_xy(lat, lon)) / days
    tour = BHH_CONSTANT * math.sqrt(per_day * area) if per_day > 1 else 0.0
    return days * (2.0 * reach + tour)


def travel_workload(
    accounts: pd.DataFrame,
    *,
    homes: Mapping[str, tuple[float, float]] | None = None,
    network: RoadNetwork | None = None,
    params: WorkloadParams | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Return each territory's weekly drive time, a variable to balance territories on.

    Parameters
    ----------
    accounts
        One row per account with ``territory_id``, ``latitude`` and
        ``longitude``, and optionally ``visits_per_month``,
        ``visit_minutes``, ``opening_hours`` (used by simulations),
        ``account_id`` and ``name``.
    homes
        Territory id -> rep home ``(latitude, longitude)``; territories
        without one start from the mean of their accounts.
    network
        Road network; ``None`` uses straight-line estimates (flagged).
    params
        Method and settings.
    progress
        Called with (fraction, message).

    Returns
    -------
    pandas.DataFrame
        :data:`WORKLOAD_COLUMNS`, one row per territory: ``spread_km`` is the
        visit-weighted mean distance of the accounts from their centre (a
        territory that is too spread out shows a high value).
    """
    params = params or WorkloadParams()
    frame = _prepared(accounts, params)
    homes = {str(k): v for k, v in (homes or {}).items()}
    out: list[dict[str, object]] = []
    groups = list(frame.groupby(S.TERRITORY_ID, sort=True))
    for gi, (tid, g) in enumerate(groups):
        out.append(_territory_row(tid, g, homes, network, params))
        if progress:
            progress((gi + 1) / len(groups), f"territory {tid}")
    return pd.DataFrame(out, columns=WORKLOAD_COLUMNS)


def _prepared(accounts: pd.DataFrame, params: WorkloadParams) -> pd.DataFrame:
    """Accounts with numeric coordinates, frequency and visit length; bad rows refused."""
    problems = [
        Problem(f"required column '{c}' is missing", column=c, fix=f"add a '{c}' column")
        for c in (S.TERRITORY_ID, S.LATITUDE, S.LONGITUDE)
        if c not in accounts.columns
    ]
    if problems:
        raise InputError("accounts cannot be used for travel workload", problems)
    frame = accounts.copy()
    frame["_lat"] = pd.to_numeric(frame[S.LATITUDE], errors="coerce")
    frame["_lon"] = pd.to_numeric(frame[S.LONGITUDE], errors="coerce")
    bad = frame["_lat"].isna() | frame["_lon"].isna() | frame[S.TERRITORY_ID].isna()
    if bad.any():
        rows = tuple(int(i) + 2 for i in np.flatnonzero(bad.to_numpy())[:50])
        raise InputError(
            "accounts cannot be used for travel workload",
            [
                Problem(
                    "accounts without coordinates or territory",
                    rows=rows,
                    fix="fill in latitude, longitude and territory_id",
                )
            ],
        )
    vpm = (
        pd.to_numeric(frame[S.VISITS_PER_MONTH], errors="coerce")
        if S.VISITS_PER_MONTH in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    frame["_vpm"] = vpm.fillna(params.default_visits_per_month).clip(lower=0)
    vmin = (
        pd.to_numeric(frame[S.VISIT_MINUTES], errors="coerce")
        if S.VISIT_MINUTES in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    frame["_vmin"] = vmin.fillna(params.default_visit_minutes).clip(lower=0)
    return frame


def _territory_row(
    tid: object,
    g: pd.DataFrame,
    homes: Mapping[str, tuple[float, float]],
    network: RoadNetwork | None,
    params: WorkloadParams,
) -> dict[str, object]:
    """One territory's weekly visits, drive (simulated or estimated), visit hours and spread."""
    lat = g["_lat"].to_numpy(float)
    lon = g["_lon"].to_numpy(float)
    per_week = g["_vpm"].to_numpy(float) / WEEKS_PER_MONTH
    visits = float(per_week.sum())
    weights = per_week / visits if visits > 0 else np.full(len(g), 1 / len(g))
    clat, clon = float(np.sum(weights * lat)), float(np.sum(weights * lon))
    spread_km = float(np.sum(weights * haversine_m(clat, clon, lat, lon))) / 1000
    home = homes.get(str(tid), (clat, clon))
    visit_h = float(np.sum(per_week * g["_vmin"].to_numpy(float))) / 60
    if params.method == "simulate":
        drive_s, drive_m, method = _simulate(g, home, network, params)
    else:
        # Visits plus a first guess of the drive (a tenth of the day) fill these days.
        days_of_work = visit_h / (0.9 * params.route.max_work_s / 3600)
        drive_s, drive_m, method = _estimate(
            lat, lon, per_week, home, network, params, len(params.route.weekdays), days_of_work
        )
    return {
        S.TERRITORY_ID: tid,
        "accounts": len(g),
        "visits_per_week": visits,
        "drive_h_per_week": drive_s / 3600,
        "drive_km_per_week": drive_m / 1000,
        "visit_h_per_week": visit_h,
        "spread_km": spread_km,
        "method": method,
        "estimated": network is None,
    }


def _estimate(
    lat: np.ndarray,
    lon: np.ndarray,
    per_week: np.ndarray,
    home: tuple[float, float],
    network: RoadNetwork | None,
    params: WorkloadParams,
    days_per_week: int,
    days_of_work: float | None = None,
) -> tuple[float, float, str]:
    straight_m = _estimate_week_m(lat, lon, per_week, home, days_per_week, days_of_work)
    if network is None:
        est = params.estimate
        metres = straight_m * est.circuity
        return metres / (est.speed_kph / 3.6), metres, f"tour estimate; {est.describe()}"
    # Calibrate on the network: drive time and road distance per straight
    # metre, measured from home to every account with one Dijkstra each way.
    snap = snap_points(network, np.r_[home[0], lat], np.r_[home[1], lon], warn=False)
    src = int(snap.position[0])
    pos = snap.position[1:]
    out_t = dijkstra(network.time_csr, indices=src)[pos]
    back_t = dijkstra(network.time_csr.T.tocsr(), indices=src)[pos]
    out_m = dijkstra(network.length_csr, indices=src)[pos]
    straight = haversine_m(home[0], home[1], lat, lon)
    ok = np.isfinite(out_t) & np.isfinite(back_t) & (straight > 50) & ~snap.off_network[1:]
    if ok.sum() == 0:
        est = params.estimate
        metres = straight_m * est.circuity
        return metres / (est.speed_kph / 3.6), metres, "tour estimate; accounts next to home"
    s_per_m = float(np.sum((out_t[ok] + back_t[ok]) / 2) / np.sum(straight[ok]))
    circuity = float(np.sum(out_m[ok]) / np.sum(straight[ok]))
    return straight_m * s_per_m, straight_m * circuity, "tour estimate calibrated on roads"


def _simulate(
    g: pd.DataFrame,
    home: tuple[float, float],
    network: RoadNetwork | None,
    params: WorkloadParams,
) -> tuple[float, float, str]:
    stops = pd.DataFrame(
        {
            S.ACCOUNT_ID: (
                g[S.ACCOUNT_ID].astype(str).to_numpy()
                if S.ACCOUNT_ID in g.columns
                else [str(i) for i in range(len(g))]
            ),
            S.LATITUDE: g["_lat"].to_numpy(float),
            S.LONGITUDE: g["_lon"].to_numpy(float),
            S.VISIT_MINUTES: g["_vmin"].to_numpy(float),
            S.VISITS_PER_MONTH: g["_vpm"].to_numpy(float),
        }
    )
    if S.OPENING_HOURS in g.columns:
        stops[S.OPENING_HOURS] = g[S.OPENING_HOURS].to_numpy()
    route = replace(params.route, use_frequencies=True, estimate=params.estimate)
    # Visits over the simulated weeks, fair on average: rounding each account's
    # expected count would give none to an account seen every other month. The
    # frequency is restated so that plan_routes' rounding lands on exactly that count.
    rate = stops[S.VISITS_PER_MONTH].to_numpy(float) / WEEKS_PER_MONTH
    counts = np.minimum(
        visits_in_weeks(rate, id_phase(stops[S.ACCOUNT_ID]), first_week=0, weeks=route.weeks),
        len(route.weekdays) * route.weeks,
    )
    stops[S.VISITS_PER_MONTH] = counts * WEEKS_PER_MONTH / route.weeks
    plan = plan_routes(stops, home, network=network, params=route)
    weeks = route.weeks
    drive_s = sum(d.drive_s for d in plan.days) / weeks
    drive_m = sum(d.drive_m for d in plan.days) / weeks
    missed = sum(1 for u in plan.unvisited if u.status != "not_due")
    method = f"simulated {weeks}-week routes"
    if missed:
        method += f" ({missed} visits did not fit)"
    return drive_s, drive_m, method
