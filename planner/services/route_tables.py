"""Route plans as tables for people: a day's ETAs, which day to show, each territory's driving.

Shared by the Routes page (shown) and ``planner route --workspace`` (printed).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from planner import schema as s
from planner.routing import RoutePlan, ScheduledStop
from planner.routing.hours import DAY_NAMES
from planner.routing.plans import clock
from planner.services.rep_routes import day_date

__all__ = [
    "WEEKDAY_NAMES",
    "clock_text",
    "day_label",
    "day_to_show",
    "eta_frame",
    "workload_frame",
]

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def clock_text(seconds: float) -> str:
    """Return seconds after midnight as ``HH:MM``."""
    return clock(seconds)


def _stop_row(stop: ScheduledStop) -> dict[str, Any]:
    return {
        "#": stop.sequence,
        "account": stop.name or stop.stop_id,
        "account id": stop.stop_id,
        "arrive": clock_text(stop.arrival_s),
        "wait (min)": round(stop.wait_s / 60, 1),
        "visit starts": clock_text(stop.start_s),
        "leave": clock_text(stop.departure_s),
        "drive from previous (min)": round(stop.drive_s / 60, 1),
        "drive from previous (km)": round(stop.drive_m / 1000, 2),
        "open for visits": f"{clock_text(stop.window[0])}-{clock_text(stop.window[1])}",
    }


def eta_frame(plan: RoutePlan, day: int) -> pd.DataFrame:
    """Return the ETA table of one day of ``plan`` for people: one row per visit, then home."""
    route = plan.days[day]
    rows = [_stop_row(stop) for stop in route.stops]
    if route.stops:
        rows.append(
            {
                "#": None,
                "account": "back home",
                "account id": "",
                "arrive": clock_text(route.return_home_s),
                "wait (min)": None,
                "visit starts": "",
                "leave": "",
                "drive from previous (min)": round(route.return_drive_s / 60, 1),
                "drive from previous (km)": round(route.return_drive_m / 1000, 2),
                "open for visits": "",
            }
        )
    return pd.DataFrame(rows)


def day_label(plan: RoutePlan, day: int, first_day: date) -> str:
    """Return ``"Mo 05 Jan · 6 visits"`` for a day of a plan starting on Monday ``first_day``."""
    route = plan.days[day]
    when = day_date(first_day, route.weekday, route.week)
    return f"{DAY_NAMES[route.weekday]} {when:%d %b} · {len(route.stops)} visits"


def day_to_show(plan: RoutePlan, wanted: date) -> tuple[int, str | None]:
    """Return the day of ``plan`` to show first for date ``wanted``, and why if not that day.

    The wanted weekday when the plan has it with visits; else the first day
    with visits, with a note saying why.
    """
    if len(plan.days) == 1:
        return 0, None
    weekdays = [d.weekday for d in plan.days]
    busy = [i for i, d in enumerate(plan.days) if d.stops]
    name = WEEKDAY_NAMES[wanted.weekday()]
    if wanted.weekday() not in weekdays:
        first = busy[0] if busy else 0
        return first, f"{name} is not a working day: showing {WEEKDAY_NAMES[weekdays[first]]}."
    first = weekdays.index(wanted.weekday())
    if not plan.days[first].stops and busy:
        first = busy[0]
        return first, (
            f"The week's visits fit on fewer days; none falls on {name}: "
            f"showing {WEEKDAY_NAMES[weekdays[first]]}."
        )
    return first, None


def workload_frame(
    table: pd.DataFrame,
    territories: pd.DataFrame,
    simulated: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, str]:
    """Return each territory's weekly travel workload for people, and the column to chart.

    Parameters
    ----------
    table
        :func:`planner.routing.travel_workload`'s estimate.
    territories
        The scenario's territories (for their names).
    simulated
        The simulated workload, if it was run: adds its drive hours and method.

    Returns
    -------
    tuple of pandas.DataFrame and str
        The table (with ``territory_id``) and the drive-hours column it is judged on.
    """
    names = {
        str(t): s.text_or_none(n) or str(t)
        for t, n in zip(territories[s.TERRITORY_ID], territories[s.NAME], strict=True)
    }
    ids = table[s.TERRITORY_ID].astype(str)
    shown = pd.DataFrame(
        {
            "territory": ids.map(names),
            s.TERRITORY_ID: ids,
            "accounts": table["accounts"],
            "visits / week": table["visits_per_week"].round(1),
            "visit h / week": table["visit_h_per_week"].round(1),
            "drive h / week (estimate)": table["drive_h_per_week"].round(2),
            "drive km / week (estimate)": table["drive_km_per_week"].round(1),
            "spread (km)": table["spread_km"].round(2),
        }
    )
    value = "drive h / week (estimate)"
    if simulated is not None:
        by_id = simulated.set_index(simulated[s.TERRITORY_ID].astype(str))
        shown["drive h / week (simulated)"] = ids.map(by_id["drive_h_per_week"]).round(2)
        shown["simulation"] = ids.map(by_id["method"])
        value = "drive h / week (simulated)"
    drive = shown[value].astype(float)
    work = drive + shown["visit h / week"].astype(float)
    shown["drive share of work"] = (drive / work.where(work > 0)).round(2)
    median = float(shown["spread (km)"].median())
    shown["spread out?"] = [
        "spread out" if median > 0 and v > 1.5 * median else "" for v in shown["spread (km)"]
    ]
    return shown, value
