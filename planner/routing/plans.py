"""What a route plan returns: timed visits per day, the stops left out and why, and totals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner import schema as S
from planner.routing.hours import DAY_NAMES
from planner.routing.matrix import TravelMatrix
from planner.routing.params import RouteParams

__all__ = [
    "STATUS_TEXT",
    "DayRoute",
    "RoutePlan",
    "ScheduledStop",
    "StopStatus",
    "UnvisitedStop",
    "clock",
]

StopStatus = Literal[
    "unreachable", "closed", "outside_shift", "window_too_short", "too_far", "no_room",
    "not_due", "stopped", "no_skill",
]
#: What each status of an unvisited stop means, for people.
STATUS_TEXT: dict[str, str] = {
    "unreachable": "not reachable by road (too far from the road network)",
    "closed": "closed on every day of the plan",
    "outside_shift": "open on days of the plan, but never during the shift",
    "window_too_short": "open for less time than the visit takes",
    "too_far": "cannot be reached and left in time within the shift",
    "no_room": "does not fit in the shift together with the other visits",
    "not_due": "its visit frequency asks for no visit in this plan's period",
    "stopped": "planning was stopped before this visit was placed",
    "no_skill": "no rep of the plan has the skill this visit needs",
}



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
    stopped
        Whether the caller stopped the search early (the plan is the best
        found until then).
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
    stopped: bool = False

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
                        "arrival": clock(s.arrival_s),
                        "start": clock(s.start_s),
                        "departure": clock(s.departure_s),
                        "wait_min": round(s.wait_s / 60, 1),
                        "drive_min": round(s.drive_s / 60, 1),
                        "drive_km": round(s.drive_m / 1000, 2),
                        "window": f"{clock(s.window[0])}-{clock(s.window[1])}",
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


def clock(seconds: float) -> str:
    """Format seconds after midnight as ``HH:MM``."""
    s = round(seconds)
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"

