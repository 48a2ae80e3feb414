"""Tours and day routes: a single closed tour, and a rep's day or week with time windows."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner import schema as S
from planner.errors import InputError, NetworkDataError, Problem, format_ids
from planner.routing.hours import DAY_NAMES, WeeklyHours, parse_clock, parse_opening_hours
from planner.routing.matrix import EstimateParams, TravelMatrix, travel_matrix
from planner.routing.network import RoadNetwork
from planner.routing.snapping import DEFAULT_MAX_SNAP_M, DEFAULT_REJECT_SNAP_M

__all__ = [
    "DayRoute",
    "RouteParams",
    "RoutePlan",
    "ScheduledStop",
    "StopStatus",
    "UnvisitedStop",
    "plan_routes",
    "solve_tour",
    "to_solver_units",
    "tour_length",
]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: Integer standing for "no road between these points" in solver matrices.
UNREACHABLE = 10**9

StopStatus = Literal[
    "unreachable", "closed", "window_too_short", "too_far", "no_room", "not_due"
]
#: What each status of an unvisited stop means, for people.
STATUS_TEXT: dict[str, str] = {
    "unreachable": "not reachable by road (too far from the road network)",
    "closed": "closed during the shift on every day of the plan",
    "window_too_short": "open for less time than the visit takes",
    "too_far": "cannot be reached and left in time within the shift",
    "no_room": "does not fit in the shift together with the other visits",
    "not_due": "its visit frequency asks for no visit in this plan's period",
}


# --- integer adapter ----------------------------------------------------------


def to_solver_units(
    values: np.ndarray,
    *,
    resolution: float | None = None,
    rounding: Literal["nearest", "up"] = "nearest",
) -> tuple[np.ndarray, float]:
    """Convert a float matrix (seconds, metres) into the integers PyVRP needs.

    Parameters
    ----------
    values
        Non-negative values; ``inf`` marks a missing connection.
    resolution
        Size of one integer unit, in the units of ``values``. ``None``: 1 if
        every finite value is already a whole number, else fine enough that
        the largest finite value becomes about a million units.
    rounding
        ``"nearest"`` for the best approximation; ``"up"`` so that schedules
        computed in floats are never later than the solver believed.

    Returns
    -------
    tuple
        The ``int64`` matrix (missing connections become :data:`UNREACHABLE`)
        and the resolution used.

    Raises
    ------
    InputError
        If a value is negative or NaN.
    """
    arr = np.asarray(values, dtype=float)
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError("travel times must be non-negative numbers (found NaN or < 0)")
    finite = np.isfinite(arr)
    top = float(arr[finite].max()) if finite.any() else 0.0
    if resolution is None:
        whole = bool(np.all(arr[finite] == np.round(arr[finite])))
        resolution = 1.0 if (whole and top <= 1e7) else max(top / 1e6, 1e-9)
    if resolution <= 0:
        raise InputError(f"resolution must be positive, got {resolution}")
    scaled = arr / resolution
    scaled = np.ceil(scaled - 1e-9) if rounding == "up" else np.rint(scaled)
    out = np.where(finite, scaled, UNREACHABLE).astype(np.int64)
    out = np.minimum(out, UNREACHABLE)
    if out.ndim == 2 and out.shape[0] == out.shape[1]:
        np.fill_diagonal(out, 0)
    return out, float(resolution)


# --- single tour --------------------------------------------------------------


def _matrices(matrix: np.ndarray) -> Any:
    """Wrap one matrix as PyVRP's list of per-profile matrices (its stubs type them oddly)."""
    return [matrix]


def _solver_stop(time_limit_s: float) -> Any:
    from pyvrp.stop import MaxRuntime

    return MaxRuntime(max(float(time_limit_s), 0.01))


def _nearest_neighbour_tour(D: np.ndarray, start: int) -> list[int]:
    """Greedy tour: always drive to the nearest unvisited point."""
    n = len(D)
    left = np.ones(n, dtype=bool)
    left[start] = False
    tour = [start]
    for _ in range(n - 1):
        row = np.where(left, D[tour[-1]], np.inf)
        nxt = int(np.argmin(row))
        tour.append(nxt)
        left[nxt] = False
    return tour


def _polish_tour(
    D: np.ndarray, tour: list[int], *, deadline: float, neighbours: int = 10
) -> list[int]:
    """Improve a closed tour by 2-opt and Or-opt moves until none helps or time is up.

    2-opt reverses a stretch of the tour; on asymmetric matrices the
    reversed stretch's cost comes from prefix sums of the backward edges.
    Or-opt moves a run of one to three stops next to one of its nearest
    neighbours. ``tour[0]`` stays first.
    """
    n = len(tour)
    if n < 5:
        return list(tour)
    Dl = D.tolist()
    k = min(neighbours, n - 1)
    near = np.argsort(D + D.T, axis=1)[:, 1 : k + 1].tolist()
    t = list(tour)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        pos = [0] * n
        for i, c in enumerate(t):
            pos[c] = i
        fwd = [0.0] * n
        back = [0.0] * n
        for i in range(1, n):
            fwd[i] = fwd[i - 1] + Dl[t[i - 1]][t[i]]
            back[i] = back[i - 1] + Dl[t[i]][t[i - 1]]
        for i in range(n - 1):
            a, b = t[i], t[i + 1]
            best, best_j = -1e-9, -1
            for c in near[a]:
                j = pos[c]
                if j <= i + 1:
                    continue
                d = t[(j + 1) % n]
                delta = (
                    Dl[a][c] + Dl[b][d] - Dl[a][b] - Dl[c][d]
                    + (back[j] - back[i + 1]) - (fwd[j] - fwd[i + 1])
                )
                if delta < best:
                    best, best_j = delta, j
            if best_j >= 0:
                t[i + 1 : best_j + 1] = t[i + 1 : best_j + 1][::-1]
                improved = True
                break
        if improved:
            continue
        for length in (1, 2, 3):
            for s_ in range(1, n - length + 1):
                e = s_ + length - 1
                p, q = t[s_ - 1], t[(e + 1) % n]
                first, last = t[s_], t[e]
                gain = Dl[p][first] + Dl[last][q] - Dl[p][q]
                for c in near[first]:
                    j = pos[c]
                    if s_ - 1 <= j <= e or s_ <= (j + 1) % n <= e:
                        continue
                    d = t[(j + 1) % n]
                    if Dl[c][first] + Dl[last][d] - Dl[c][d] - gain < -1e-9:
                        seg = t[s_ : e + 1]
                        rest = t[:s_] + t[e + 1 :]
                        at = rest.index(c) + 1
                        t = rest[:at] + seg + rest[at:]
                        improved = True
                        break
                if improved:
                    break
            if improved:
                break
    r = t.index(tour[0])
    return t[r:] + t[:r]


def solve_tour(
    duration_matrix: np.ndarray,
    *,
    start: int = 0,
    time_limit_s: float = 2.0,
    seed: int = 0,
) -> list[int]:
    """Return the shortest closed tour through every point found within the time limit.

    A nearest-neighbour tour polished by 2-opt and Or-opt warm-starts
    PyVRP's iterated local search, whose best tour gets a last polish (PyVRP
    has no move that reverses part of a single route). On TSPLIB this
    reaches a mean gap of about 0.3-0.7 % at 2 s (``benchmarks/bench_tsp.py``).

    Parameters
    ----------
    duration_matrix
        ``(n, n)`` travel times (or distances); may be asymmetric.
    start
        Point the tour starts from and returns to.
    time_limit_s
        Search time.
    seed
        Seed of the solver's random choices.

    Returns
    -------
    list of int
        Every point once, starting with ``start``; the return to ``start``
        is implied.

    Raises
    ------
    InputError
        If the matrix is not square, has negative or NaN values, or ``start``
        is out of range.
    """
    began = time.monotonic()
    D = np.asarray(duration_matrix, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise InputError(f"duration_matrix must be square, got shape {D.shape}")
    n = D.shape[0]
    if not (0 <= start < n):
        raise InputError(f"start={start} is not a point of the {n}x{n} matrix")
    if n <= 3:
        others = [i for i in range(n) if i != start]
        if n == 3:
            a, b = others
            if D[start, b] + D[b, a] + D[a, start] < D[start, a] + D[a, b] + D[b, start]:
                others = [b, a]
        return [start, *others]
    from pyvrp import Client, Depot, Location, ProblemData, Solution, VehicleType, solve

    order = [start, *[i for i in range(n) if i != start]]
    M, _ = to_solver_units(D[np.ix_(order, order)])
    Mf = M.astype(float)
    data = ProblemData(
        [Location(0.0, 0.0) for _ in range(n)],
        [Client(location=i) for i in range(1, n)],
        [Depot(location=0)],
        [VehicleType(1)],
        _matrices(M),
        _matrices(np.zeros_like(M)),
    )
    # Local positions: point order[i] is location i; client c sits at location c + 1.
    warm = _polish_tour(
        Mf, _nearest_neighbour_tour(Mf, 0), deadline=began + 0.25 * time_limit_s
    )
    initial = Solution(data, [[x - 1 for x in warm[1:]]])
    left = time_limit_s - (time.monotonic() - began)
    result = solve(
        data, _solver_stop(0.95 * left), seed=seed, collect_stats=False, display=False,
        initial_solution=initial,
    )
    clients = data.clients()
    route = result.best.routes()[0]
    local = [0, *[clients[a.idx].location for a in route if a.is_client()]]
    local = _polish_tour(Mf, local, deadline=began + time_limit_s)
    return [order[i] for i in local]


def tour_length(matrix: np.ndarray, tour: Sequence[int]) -> float:
    """Return the length of the closed tour ``tour`` under ``matrix``."""
    t = list(tour)
    return float(sum(matrix[a, b] for a, b in zip(t, t[1:] + t[:1], strict=True)))


# --- day and week plans -------------------------------------------------------


@dataclass(frozen=True)
class RouteParams:
    """A rep's working time and how hard to search.

    Parameters
    ----------
    day_start, day_end
        Shift start and latest return home, ``HH:MM``.
    max_hours
        Longest working day (driving, waiting and visits), hours; ``None``:
        the whole shift.
    weekdays
        Weekdays worked (0 = Monday), in plan order. A one-day plan has one.
    weeks
        Number of weeks planned (repeats ``weekdays``).
    use_frequencies
        Whether ``visits_per_month`` sets how often each account is visited
        in the plan (twice a month over a 4-week plan: 2 visits on days
        spread apart). ``False``: every stop is visited once.
    default_visit_minutes
        Visit length of stops without ``visit_minutes``.
    time_limit_s
        Total search time of the route solver.
    seed
        Seed of the solver's random choices.
    max_snap_m, reject_snap_m
        Snap distances that warn, and that make a stop unreachable.
    estimate
        Straight-line estimate used when there is no road network.
    """

    day_start: str = "08:00"
    day_end: str = "17:00"
    max_hours: float | None = None
    weekdays: tuple[int, ...] = (0,)
    weeks: int = 1
    use_frequencies: bool = False
    default_visit_minutes: float = 30.0
    time_limit_s: float = 2.0
    seed: int = 0
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    reject_snap_m: float = DEFAULT_REJECT_SNAP_M
    estimate: EstimateParams = field(default_factory=EstimateParams)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        start = end = None
        try:
            start = parse_clock(self.day_start, what="day_start", allow_24=False)
        except InputError as exc:
            problems.append(Problem(str(exc), fix="use HH:MM between 00:00 and 23:59"))
        try:
            end = parse_clock(self.day_end, what="day_end")
        except InputError as exc:
            problems.append(Problem(str(exc), fix="use HH:MM between 00:00 and 24:00"))
        if start is not None and end is not None and end <= start:
            problems.append(
                Problem(
                    f"day_end {self.day_end} is not after day_start {self.day_start}",
                    fix="give a shift that ends after it starts on the same day",
                )
            )
        if self.max_hours is not None and not (0 < self.max_hours <= 24):
            problems.append(Problem(f"max_hours must be within 0..24, got {self.max_hours}"))
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            problems.append(
                Problem(f"weekdays must be numbers 0 (Monday) to 6, got {self.weekdays}")
            )
        if len(set(self.weekdays)) != len(self.weekdays):
            problems.append(Problem(f"weekdays repeat a day: {self.weekdays}"))
        if not (1 <= self.weeks <= 13):
            problems.append(Problem(f"weeks must be within 1..13, got {self.weeks}"))
        if not (0 <= self.default_visit_minutes <= 24 * 60):
            problems.append(Problem("default_visit_minutes must be within 0..1440"))
        if not (0 < self.time_limit_s <= 600):
            problems.append(Problem(f"time_limit_s must be within 0..600, got {self.time_limit_s}"))
        if problems:
            raise InputError("invalid route parameters", problems)

    @property
    def day_start_s(self) -> int:
        """Shift start, seconds after midnight."""
        return parse_clock(self.day_start)

    @property
    def day_end_s(self) -> int:
        """Latest return home, seconds after midnight."""
        return parse_clock(self.day_end)

    @property
    def max_work_s(self) -> int:
        """Longest working day, seconds."""
        shift = self.day_end_s - self.day_start_s
        if self.max_hours is None:
            return shift
        return min(shift, round(self.max_hours * 3600))


@dataclass(frozen=True)
class ScheduledStop:
    """One visit of a day route (a row of the ETA table).

    Times are seconds after midnight of the route's day.
    """

    stop_id: str
    name: str
    point: int
    sequence: int
    arrival_s: float
    start_s: float
    departure_s: float
    wait_s: float
    drive_s: float
    drive_m: float
    window: tuple[int, int]


@dataclass(frozen=True)
class DayRoute:
    """A rep's route on one day: leave home, visit stops in order, come back.

    Parameters
    ----------
    day
        Position of the day in the plan (0-based).
    weekday
        0 = Monday.
    week
        0-based week of the plan.
    stops
        The visits in order.
    leave_home_s, return_home_s
        Departure from and arrival back home, seconds after midnight.
    drive_s, drive_m
        Total driving time and distance including the way back home.
    visit_s, wait_s
        Total time at stops and waiting for stops to open.
    """

    day: int
    weekday: int
    week: int
    stops: tuple[ScheduledStop, ...]
    leave_home_s: float
    return_home_s: float
    return_drive_s: float
    return_drive_m: float
    drive_s: float
    drive_m: float
    visit_s: float
    wait_s: float

    @property
    def label(self) -> str:
        """Human label such as ``"Mo"`` or ``"week 2 Tu"``."""
        name = DAY_NAMES[self.weekday]
        return name if self.week == 0 else f"week {self.week + 1} {name}"

    @property
    def points(self) -> list[int]:
        """Point indices of the route including home (0) at both ends."""
        return [0, *[s.point for s in self.stops], 0]

    @property
    def work_s(self) -> float:
        """Time from leaving home to coming back."""
        return self.return_home_s - self.leave_home_s if self.stops else 0.0


@dataclass(frozen=True)
class UnvisitedStop:
    """A stop (or one of its visits) the plan could not include, and why."""

    stop_id: str
    name: str
    status: StopStatus
    reason: str


@dataclass(frozen=True, eq=False)
class RoutePlan:
    """The result of :func:`plan_routes`.

    Parameters
    ----------
    days
        One route per planned day (days without visits included, empty).
    unvisited
        Every stop or visit left out, with the reason: nothing is dropped
        silently.
    matrix
        Travel times between the points; point 0 is home, point ``i + 1``
        is stop row ``i``.
    point_ids, point_names, lat, lon
        Labels and coordinates of the points (home first).
    params
        The parameters used.
    notes
        Things the user should know (unknown opening hours, estimates).
    """

    days: tuple[DayRoute, ...]
    unvisited: tuple[UnvisitedStop, ...]
    matrix: TravelMatrix
    point_ids: tuple[str, ...]
    point_names: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    params: RouteParams
    notes: tuple[str, ...] = ()

    @property
    def estimated(self) -> bool:
        """Whether drive times are straight-line estimates, not road times."""
        return self.matrix.estimated

    @property
    def method(self) -> str:
        """How drive times were computed, to show beside them."""
        return self.matrix.method

    def eta_table(self) -> pd.DataFrame:
        """Return one row per visit: day, order, arrival, start, departure, drive."""
        rows: list[dict[str, Any]] = []
        for day in self.days:
            for s in day.stops:
                rows.append(
                    {
                        "day": day.label,
                        "sequence": s.sequence,
                        S.ACCOUNT_ID: s.stop_id,
                        S.NAME: s.name,
                        "arrival": _clock(s.arrival_s),
                        "start": _clock(s.start_s),
                        "departure": _clock(s.departure_s),
                        "wait_min": round(s.wait_s / 60, 1),
                        "drive_min": round(s.drive_s / 60, 1),
                        "drive_km": round(s.drive_m / 1000, 2),
                        "window": f"{_clock(s.window[0])}-{_clock(s.window[1])}",
                    }
                )
        columns = [
            "day", "sequence", S.ACCOUNT_ID, S.NAME, "arrival", "start", "departure",
            "wait_min", "drive_min", "drive_km", "window",
        ]
        return pd.DataFrame(rows, columns=columns)

    def unvisited_table(self) -> pd.DataFrame:
        """Return one row per stop left out, with status and reason."""
        return pd.DataFrame(
            [
                {S.ACCOUNT_ID: u.stop_id, S.NAME: u.name, "status": u.status, "reason": u.reason}
                for u in self.unvisited
            ],
            columns=[S.ACCOUNT_ID, S.NAME, "status", "reason"],
        )

    def totals(self) -> dict[str, Any]:
        """Return plan totals (hours, km, counts) as a JSON-friendly dict."""
        drive_s = sum(d.drive_s for d in self.days)
        return {
            "days": len(self.days),
            "visits": sum(len(d.stops) for d in self.days),
            "unvisited": len(self.unvisited),
            "drive_h": round(float(drive_s) / 3600, 3),
            "drive_km": round(float(sum(d.drive_m for d in self.days)) / 1000, 3),
            "visit_h": round(float(sum(d.visit_s for d in self.days)) / 3600, 3),
            "wait_h": round(float(sum(d.wait_s for d in self.days)) / 3600, 3),
            "work_h": round(float(sum(d.work_s for d in self.days)) / 3600, 3),
            "estimated": self.estimated,
            "method": self.method,
        }


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


# --- inputs -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Stops:
    ids: list[str]
    names: list[str]
    lat: np.ndarray
    lon: np.ndarray
    visit_s: np.ndarray
    hours: list[WeeklyHours]
    per_month: np.ndarray


def _column(frame: pd.DataFrame, *names: str) -> str | None:
    for n in names:
        if n in frame.columns:
            return n
    return None


def _read_stops(stops: pd.DataFrame, params: RouteParams) -> _Stops:
    """Validate the stop table, collecting every problem."""
    if stops is None or len(stops) == 0:
        raise InputError(
            "there are no stops to route", source="stops",
            problems=[Problem("the stop list is empty", fix="select at least one account")],
        )
    problems: list[Problem] = []
    rows = np.arange(2, len(stops) + 2)  # spreadsheet rows: header is row 1
    id_col = _column(stops, S.ACCOUNT_ID, "stop_id", "id")
    if id_col is None:
        ids = [str(i + 1) for i in range(len(stops))]
    else:
        raw_ids = stops[id_col]
        missing = raw_ids.isna().to_numpy()
        if missing.any():
            problems.append(Problem("stops without an id", rows=tuple(rows[missing]),
                                    column=id_col, fix="give every stop an id"))
        ids = [str(v) for v in raw_ids]
        dup = pd.Series(ids).duplicated(keep=False).to_numpy() & ~missing
        if dup.any():
            problems.append(
                Problem(f"stop ids repeat: {format_ids(sorted(set(np.asarray(ids)[dup])))}",
                        rows=tuple(rows[dup]), column=id_col, fix="give every stop its own id")
            )
    name_col = _column(stops, S.NAME)
    names = [
        "" if (name_col is None or pd.isna(v)) else str(v)
        for v in (stops[name_col] if name_col else [None] * len(stops))
    ]
    lat_col = _column(stops, S.LATITUDE, "lat")
    lon_col = _column(stops, S.LONGITUDE, "lon", "lng")
    if lat_col and lon_col:
        lat = pd.to_numeric(stops[lat_col], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(stops[lon_col], errors="coerce").to_numpy(float)
    elif "geometry" in stops.columns:
        geom = stops.geometry
        lat = np.array([g.y if g is not None and not g.is_empty else np.nan for g in geom])
        lon = np.array([g.x if g is not None and not g.is_empty else np.nan for g in geom])
    else:
        raise InputError(
            "stops have no coordinates", source="stops",
            problems=[Problem("no latitude/longitude columns and no point geometry",
                              fix="add 'latitude' and 'longitude' columns")],
        )
    bad = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        problems.append(
            Problem(f"stops without valid coordinates (ids {format_ids(np.asarray(ids)[bad])})",
                    rows=tuple(rows[bad]), column=lat_col or "geometry",
                    fix="give latitude within -90..90 and longitude within -180..180")
        )
    visit_col = _column(stops, S.VISIT_MINUTES)
    if visit_col:
        vm = pd.to_numeric(stops[visit_col], errors="coerce").to_numpy(float)
        vm = np.where(np.isnan(vm), params.default_visit_minutes, vm)
    else:
        vm = np.full(len(stops), params.default_visit_minutes)
    neg = (vm < 0) | (vm > 24 * 60)
    if neg.any():
        problems.append(Problem("visit_minutes must be within 0..1440", rows=tuple(rows[neg]),
                                column=visit_col, fix="give the visit length in minutes"))
    freq_col = _column(stops, S.VISITS_PER_MONTH)
    if freq_col:
        per_month = pd.to_numeric(stops[freq_col], errors="coerce").to_numpy(float)
        per_month = np.where(np.isnan(per_month), 1.0, per_month)
        negf = per_month < 0
        if negf.any():
            problems.append(Problem("visits_per_month must not be negative",
                                    rows=tuple(rows[negf]), column=freq_col))
    else:
        per_month = np.ones(len(stops))
    hours_col = _column(stops, S.OPENING_HOURS)
    hours = [
        parse_opening_hours(v if hours_col else None)
        for v in (stops[hours_col] if hours_col else [None] * len(stops))
    ]
    if problems:
        raise InputError(f"{len(problems)} problems in the stop list", problems, source="stops")
    return _Stops(ids, names, lat, lon, vm * 60.0, hours, per_month)


# --- planning -------------------------------------------------------------------


@dataclass
class _Visit:
    stop: int  # row in _Stops
    number: int  # which visit of this stop (0-based)
    allowed: list[int]  # plan days preferred (this visit's part of the plan)
    possible: list[int]  # every plan day the stop can be visited on
    day: int = -1


def _visit_windows(
    hours: WeeklyHours, weekday: int, visit_s: float, params: RouteParams
) -> list[tuple[int, int]]:
    """Windows in which a visit may start: open, and finished before closing."""
    out = []
    for a, b in hours.within(weekday, params.day_start_s, params.day_end_s):
        latest = b - math.ceil(visit_s)
        if latest >= a:
            out.append((a, latest))
    return out


def _classify(
    stop: int,
    st: _Stops,
    T: np.ndarray,
    days: list[tuple[int, int]],
    params: RouteParams,
) -> tuple[list[int], StopStatus | None, str]:
    """Return the plan days a stop can be visited on, or why it cannot."""
    p = stop + 1
    if not (np.isfinite(T[0, p]) and np.isfinite(T[p, 0])):
        return [], "unreachable", STATUS_TEXT["unreachable"]
    open_any = False
    long_enough = False
    feasible: list[int] = []
    visit = st.visit_s[stop]
    for d, (_, weekday) in enumerate(days):
        clipped = st.hours[stop].within(weekday, params.day_start_s, params.day_end_s)
        if clipped:
            open_any = True
        for a, latest in _visit_windows(st.hours[stop], weekday, visit, params):
            long_enough = True
            start = max(a, params.day_start_s + T[0, p])
            back = start + visit + T[p, 0]
            if (
                start <= latest
                and back <= params.day_end_s
                and back - params.day_start_s <= params.max_work_s
            ):
                feasible.append(d)
                break
    if feasible:
        return feasible, None, ""
    if not open_any:
        return [], "closed", STATUS_TEXT["closed"]
    if not long_enough:
        return [], "window_too_short", STATUS_TEXT["window_too_short"]
    return [], "too_far", STATUS_TEXT["too_far"]


def _visit_counts(st: _Stops, n_days: int, params: RouteParams) -> np.ndarray:
    if not params.use_frequencies:
        return np.ones(len(st.ids), dtype=int)
    expected = st.per_month * params.weeks * 12.0 / 52.0
    counts = np.floor(expected + 0.5).astype(int)
    return np.minimum(counts, n_days)


def _assign_days(
    visits: list[_Visit],
    st: _Stops,
    T: np.ndarray,
    n_days: int,
    params: RouteParams,
) -> None:
    """Spread visits over days: balanced load, near the day's other stops."""
    if n_days == 1:
        for v in visits:
            v.day = v.allowed[0]
        return
    capacity = params.max_work_s
    load = np.zeros(n_days)
    members: list[list[int]] = [[] for _ in range(n_days)]
    # Most constrained first, then the longest visits.
    order = sorted(range(len(visits)), key=lambda i: (len(visits[i].allowed),
                                                      -st.visit_s[visits[i].stop]))
    taken: dict[int, set[int]] = {}
    for i in order:
        v = visits[i]
        p = v.stop + 1
        best_day, best_cost = -1, math.inf
        used = taken.setdefault(v.stop, set())
        for d in v.allowed:
            if d in used:
                continue
            near = [0, *members[d]]
            link = float(np.min(T[near, p] + T[p, near]) / 2)
            extra = st.visit_s[v.stop] + link
            over = max(0.0, load[d] + extra - 0.95 * capacity)
            cost = link + 0.25 * load[d] / max(len(v.allowed), 1) + 10.0 * over
            if cost < best_cost:
                best_day, best_cost = d, cost
        if best_day < 0:
            free = [d for d in v.possible if d not in used]
            best_day = min(free, key=lambda d: load[d])
        v.day = best_day
        used.add(best_day)
        members[best_day].append(p)
        near = [0, *members[best_day][:-1]]
        load[best_day] += st.visit_s[v.stop] + float(np.min(T[near, p] + T[p, near]) / 2)


def _solve_day(
    points: list[int],
    windows: list[list[tuple[int, int]]],
    visit_s: list[float],
    T: np.ndarray,
    params: RouteParams,
    time_limit_s: float,
    seed: int,
) -> list[int]:
    """Order one day's visits with PyVRP; return the indices (into ``points``) visited."""
    if not points:
        return []
    from pyvrp import Client, ClientGroup, Depot, Location, ProblemData, VehicleType, solve

    idx = [0, *points]
    M, _ = to_solver_units(T[np.ix_(idx, idx)], resolution=1.0, rounding="up")
    finite = M[M < UNREACHABLE]
    prize = int(4 * (finite.max() if finite.size else 1) + 3 * 3600 + 1000)
    clients: list[Any] = []
    groups: list[Any] = []
    owner: list[int] = []
    for k, wins in enumerate(windows):
        service = math.ceil(visit_s[k])
        group = None
        if len(wins) > 1:
            group = len(groups)
            groups.append(ClientGroup(required=False))
        for a, latest in wins:
            if group is not None:
                groups[group].add_client(len(clients))
            clients.append(
                Client(location=k + 1, service_duration=service, tw_early=int(a),
                       tw_late=int(latest), prize=prize, required=False, group=group)
            )
            owner.append(k)
    # Cost: drive time plus the time until the rep is back home, counted from
    # the shift start, so the day ends as early as the windows allow.
    vehicle = VehicleType(
        1,
        tw_early=params.day_start_s,
        tw_late=params.day_end_s,
        start_late=params.day_start_s,
        shift_duration=params.max_work_s,
        unit_distance_cost=1,
        unit_duration_cost=1,
    )
    data = ProblemData(
        [Location(0.0, 0.0) for _ in idx],
        clients,
        [Depot(location=0)],
        [vehicle],
        _matrices(M),
        _matrices(M),
        groups,
    )
    result = solve(data, _solver_stop(time_limit_s), seed=seed, collect_stats=False,
                   display=False)
    best = result.best
    if not best.is_feasible():
        logger.info("route solver found no feasible order; visiting none of %d", len(points))
        return []
    route = best.routes()
    if not route:
        return []
    return [owner[a.idx] for a in route[0] if a.is_client()]


def _schedule(
    order: list[int],
    points: list[int],
    windows: list[list[tuple[int, int]]],
    visit_s: list[float],
    T: np.ndarray,
    Dm: np.ndarray,
    params: RouteParams,
) -> tuple[list[ScheduledStop], float, float] | None:
    """Times of a visit order, or ``None`` if it breaks a window or the shift."""
    t = float(params.day_start_s)
    prev = 0
    out: list[tuple[int, float, float, float, float, tuple[int, int]]] = []
    for k in order:
        p = points[k]
        arrive = t + T[prev, p]
        chosen = None
        for a, latest in windows[k]:
            if arrive <= latest + 1e-6:
                chosen = (a, latest)
                break
        if chosen is None:
            return None
        start = max(arrive, chosen[0])
        out.append((k, arrive, start, T[prev, p], Dm[prev, p], chosen))
        t = start + visit_s[k]
        prev = p
    end = t + T[prev, 0]
    if end > params.day_end_s + 1e-6:
        return None
    # Leave home later instead of waiting at the first stop.
    # Waiting at the first stop only moves the departure: nothing later changes.
    shift = max(0.0, out[0][2] - out[0][1]) if out else 0.0
    leave = params.day_start_s + shift
    stops: list[ScheduledStop] = []
    t = leave
    prev = 0
    for seq, (k, _, _, _, _, win) in enumerate(out, start=1):
        p = points[k]
        arrive = t + T[prev, p]
        start = max(arrive, win[0])
        stops.append(
            ScheduledStop(
                stop_id="", name="", point=p, sequence=seq, arrival_s=arrive, start_s=start,
                departure_s=start + visit_s[k], wait_s=start - arrive, drive_s=float(T[prev, p]),
                drive_m=float(Dm[prev, p]), window=(win[0], win[1] + math.ceil(visit_s[k])),
            )
        )
        t = start + visit_s[k]
        prev = p
    end = t + T[prev, 0]
    if end - leave > params.max_work_s + 1e-6 or end > params.day_end_s + 1e-6:
        return None
    return stops, leave, end


def plan_routes(
    stops: pd.DataFrame,
    home: tuple[float, float],
    *,
    network: RoadNetwork | None = None,
    params: RouteParams | None = None,
    matrix: TravelMatrix | None = None,
    progress: Progress | None = None,
) -> RoutePlan:
    """Plan a rep's routes for a day or a week: leave home, visit, come back.

    The recipe: validate the stops; compute drive times between home and
    the stops (along roads, or estimated without a network); find on which
    days each stop can be visited at all (opening hours, shift, distance)
    and report the others with a reason; spread the visits over the days
    (visit frequencies turn into visits on days spread apart); order each
    day with PyVRP under time windows and the shift limits; and time every
    visit. Stops that do not fit are reported, never dropped silently.

    Parameters
    ----------
    stops
        One row per account: ``account_id`` (or ``id``), ``latitude`` and
        ``longitude`` (or a point geometry), and optionally ``name``,
        ``visit_minutes``, ``opening_hours`` (OSM syntax) and
        ``visits_per_month``.
    home
        ``(latitude, longitude)`` where each day starts and ends.
    network
        Road network; ``None`` estimates from straight lines (the plan says so).
    params
        Shift, days and solver settings; defaults to a one-day plan
        08:00-17:00 on a Monday.
    matrix
        Travel times already computed for ``[home, *stops]`` (skips the
        network).
    progress
        Called with (fraction, message).

    Returns
    -------
    RoutePlan

    Raises
    ------
    InputError
        If the stop list is empty or has invalid rows, or ``home`` is invalid.
    NetworkDataError
        If home is too far from the road network to route from.
    """
    params = params or RouteParams()
    st = _read_stops(stops, params)
    hlat, hlon = float(home[0]), float(home[1])
    if not (math.isfinite(hlat) and math.isfinite(hlon) and abs(hlat) <= 90 and abs(hlon) <= 180):
        raise InputError(f"home {home} is not a (latitude, longitude) pair in degrees")
    lat = np.concatenate(([hlat], st.lat))
    lon = np.concatenate(([hlon], st.lon))
    point_ids = ("home", *st.ids)
    if progress:
        progress(0.05, "computing drive times")
    if matrix is None:
        matrix = travel_matrix(
            lat, lon, network, ids=point_ids, max_snap_m=params.max_snap_m,
            reject_snap_m=params.reject_snap_m, estimate=params.estimate,
        )
    elif matrix.n != len(lat):
        raise InputError(f"matrix has {matrix.n} points but home and stops make {len(lat)}")
    if matrix.snap is not None and bool(matrix.snap.off_network[0]):
        raise NetworkDataError(
            f"home ({hlat:.5f}, {hlon:.5f}) is {matrix.snap.distance_m[0]:,.0f} m from the "
            f"nearest road of {network.source if network else 'the network'}: use a network "
            "that covers the rep's home, or correct the home location"
        )
    T = matrix.duration_s
    Dm = np.where(np.isnan(matrix.distance_m), 0.0, matrix.distance_m)
    days = [(w, wd) for w in range(params.weeks) for wd in params.weekdays]
    n_days = len(days)
    notes: list[str] = []
    if matrix.estimated:
        notes.append(f"drive times are estimates: {matrix.method}")
    unknown = [
        st.ids[i]
        for i, h in enumerate(st.hours)
        if not h.known and h.note != "no opening hours given"
    ]
    if unknown:
        notes.append(
            f"opening hours not understood for {format_ids(unknown)}; assumed open all shift"
        )
    unvisited: list[UnvisitedStop] = []
    visits: list[_Visit] = []
    counts = _visit_counts(st, n_days, params)
    for i in range(len(st.ids)):
        allowed, status, reason = _classify(i, st, T, days, params)
        if status is not None:
            unvisited.append(UnvisitedStop(st.ids[i], st.names[i], status, reason))
            continue
        k = int(counts[i])
        if k == 0:
            unvisited.append(
                UnvisitedStop(st.ids[i], st.names[i], "not_due", STATUS_TEXT["not_due"])
            )
            continue
        if k > len(allowed):
            for _ in range(k - len(allowed)):
                unvisited.append(
                    UnvisitedStop(
                        st.ids[i], st.names[i], "closed",
                        f"{k} visits asked, but it can be visited on only {len(allowed)} "
                        f"day{'s' if len(allowed) != 1 else ''} of the plan",
                    )
                )
            k = len(allowed)
        for j in range(k):
            lo, hi = (j * n_days) // k, ((j + 1) * n_days) // k
            seg = [d for d in allowed if lo <= d < hi]
            visits.append(_Visit(i, j, seg or list(allowed), list(allowed)))
    if progress:
        progress(0.2, "assigning visits to days")
    _assign_days(visits, st, T, n_days, params)
    n_visits = max(len(visits), 1)
    started = time.monotonic()

    def route_day(d: int, todays: list[_Visit], budget: float) -> tuple[list[int], Any]:
        weekday = days[d][1]
        points = [v.stop + 1 for v in todays]
        windows = [_visit_windows(st.hours[v.stop], weekday, st.visit_s[v.stop], params)
                   for v in todays]
        vs = [float(st.visit_s[v.stop]) for v in todays]
        order = _solve_day(points, windows, vs, T, params, budget, params.seed + d)
        sched = _schedule(order, points, windows, vs, T, Dm, params)
        while sched is None and order:
            order = order[:-1]  # should not happen: the solver's schedule was feasible
            sched = _schedule(order, points, windows, vs, T, Dm, params)
        return order, sched

    per_day: list[list[_Visit]] = [[v for v in visits if v.day == d] for d in range(n_days)]
    results: list[tuple[list[int], Any]] = []
    for d in range(n_days):
        # Keep a fifth of the time to move visits between days, when there are several.
        share = 0.95 if n_days == 1 else 0.8
        budget = max(0.05, share * params.time_limit_s * max(len(per_day[d]), 1) / n_visits)
        results.append(route_day(d, per_day[d], budget))
        if progress:
            progress(0.25 + 0.6 * (d + 1) / n_days, f"routed {DAY_NAMES[days[d][1]]}")
    # Repair: a visit that did not fit its day tries the other days it may go on.
    dropped = [
        per_day[d][k] for d in range(n_days) for k in range(len(per_day[d]))
        if k not in set(results[d][0])
    ]
    repair_deadline = time.monotonic() + 0.5 * params.time_limit_s
    for v in dropped:
        on_days = {w.day for w in visits if w.stop == v.stop and w is not v}
        candidates = sorted(
            (o for o in v.possible if o != v.day and o not in on_days),
            key=lambda o: sum(st.visit_s[w.stop] for w in per_day[o]),
        )[:3]
        for o in candidates:
            if time.monotonic() > repair_deadline:
                break
            kept = set(results[o][0])
            trial = [*[w for i, w in enumerate(per_day[o]) if i in kept], v]
            order, sched = route_day(o, trial, 0.1)
            if len(order) == len(trial) and sched is not None:
                left_out = [w for i, w in enumerate(per_day[o]) if i not in kept]
                per_day[o] = trial + left_out
                results[o] = (order, sched)
                v.day = o
                break
    routes: list[DayRoute] = []
    for d, (week, weekday) in enumerate(days):
        todays = per_day[d]
        order, sched = results[d]
        scheduled, leave, back = sched if sched else ([], float(params.day_start_s),
                                                       float(params.day_start_s))
        visited = set(order)
        for k, v in enumerate(todays):
            if k not in visited and v.day == d:
                unvisited.append(
                    UnvisitedStop(st.ids[v.stop], st.names[v.stop], "no_room",
                                  f"{STATUS_TEXT['no_room']} on {DAY_NAMES[weekday]}"
                                  + (f" of week {week + 1}" if params.weeks > 1 else ""))
                )
        named = [
            ScheduledStop(**{**s.__dict__, "stop_id": st.ids[s.point - 1],
                             "name": st.names[s.point - 1]})
            for s in scheduled
        ]
        last = named[-1].point if named else 0
        ret_s = float(T[last, 0]) if named else 0.0
        ret_m = float(Dm[last, 0]) if named else 0.0
        routes.append(
            DayRoute(
                day=d, weekday=weekday, week=week, stops=tuple(named),
                leave_home_s=leave, return_home_s=back if named else leave,
                return_drive_s=ret_s, return_drive_m=ret_m,
                drive_s=sum(s.drive_s for s in named) + ret_s,
                drive_m=sum(s.drive_m for s in named) + ret_m,
                visit_s=sum(s.departure_s - s.start_s for s in named),
                wait_s=sum(s.wait_s for s in named),
            )
        )
    if progress:
        progress(1.0, "routes planned")
    logger.info("planned %d days in %.2f s", n_days, time.monotonic() - started)
    return RoutePlan(
        days=tuple(routes),
        unvisited=tuple(unvisited),
        matrix=matrix,
        point_ids=tuple(point_ids),
        point_names=("home", *st.names),
        lat=lat,
        lon=lon,
        params=params,
        notes=tuple(notes),
    )
