"""The stop table of a route plan: read once, every problem reported with its row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import schema as S
from planner.errors import InputError, Problem, format_ids
from planner.routing.hours import WeeklyHours, parse_opening_hours
from planner.routing.params import RouteParams

__all__ = ["StopTable", "read_stops"]


@dataclass(frozen=True, eq=False)
class StopTable:
    """The validated stops of a plan, row by row (visit lengths in seconds)."""

    ids: list[str]
    names: list[str]
    lat: np.ndarray
    lon: np.ndarray
    visit_s: np.ndarray
    hours: list[WeeklyHours]
    per_month: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def _column(frame: pd.DataFrame, *names: str) -> str | None:
    for n in names:
        if n in frame.columns:
            return n
    return None


def read_stops(stops: pd.DataFrame, params: RouteParams) -> StopTable:
    """Validate the stop table, collecting every problem, and return it as arrays.

    Columns: ``account_id`` (or ``stop_id``/``id``), ``latitude`` and
    ``longitude`` (or a point geometry), and optionally ``name``,
    ``visit_minutes``, ``opening_hours``, ``visits_per_month`` and
    ``value`` (or ``annual_revenue``): when not every visit fits, the more
    valuable ones are kept.

    Raises
    ------
    InputError
        Listing every bad row (missing or repeated ids, coordinates, visit
        lengths, frequencies, values).
    """
    if stops is None or len(stops) == 0:
        raise InputError(
            "there are no stops to route", source="stops",
            problems=[Problem("the stop list is empty", fix="select at least one account")],
        )
    problems: list[Problem] = []
    rows = np.arange(2, len(stops) + 2)  # spreadsheet rows: header is row 1
    ids = _ids(stops, rows, problems)
    name_col = _column(stops, S.NAME)
    names = [
        "" if (name_col is None or pd.isna(v)) else str(v)
        for v in (stops[name_col] if name_col else [None] * len(stops))
    ]
    lat, lon = _coordinates(stops, ids, rows, problems)
    visit_min = _visit_minutes(stops, params, rows, problems)
    per_month = _frequencies(stops, rows, problems)
    hours_col = _column(stops, S.OPENING_HOURS)
    hours = [
        parse_opening_hours(v if hours_col else None, week=params.first_monday)
        for v in (stops[hours_col] if hours_col else [None] * len(stops))
    ]
    value = _values(stops, rows, problems)
    if problems:
        raise InputError(f"{len(problems)} problems in the stop list", problems, source="stops")
    return StopTable(ids, names, lat, lon, visit_min * 60.0, hours, per_month, value)


def _ids(stops: pd.DataFrame, rows: np.ndarray, problems: list[Problem]) -> list[str]:
    """Stop ids (row numbers when there is no id column); missing or repeated ids are problems."""
    id_col = _column(stops, S.ACCOUNT_ID, "stop_id", "id")
    if id_col is None:
        return [str(i + 1) for i in range(len(stops))]
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
    return ids


def _coordinates(
    stops: pd.DataFrame, ids: list[str], rows: np.ndarray, problems: list[Problem]
) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude from columns or point geometry; bad rows are problems."""
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
    return lat, lon


def _visit_minutes(
    stops: pd.DataFrame, params: RouteParams, rows: np.ndarray, problems: list[Problem]
) -> np.ndarray:
    """Visit length per stop in minutes (the default where missing), checked."""
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
    return vm


def _frequencies(stops: pd.DataFrame, rows: np.ndarray, problems: list[Problem]) -> np.ndarray:
    """Visits per month per stop (1 where missing), checked."""
    freq_col = _column(stops, S.VISITS_PER_MONTH)
    if not freq_col:
        return np.ones(len(stops))
    per_month = pd.to_numeric(stops[freq_col], errors="coerce").to_numpy(float)
    per_month = np.where(np.isnan(per_month), 1.0, per_month)
    negf = per_month < 0
    if negf.any():
        problems.append(Problem("visits_per_month must not be negative",
                                rows=tuple(rows[negf]), column=freq_col,
                                fix="give 0 or more visits per month"))
    return per_month


def _values(stops: pd.DataFrame, rows: np.ndarray, problems: list[Problem]) -> np.ndarray:
    """Each stop's value (``value`` or ``annual_revenue``; 0 when missing), checked."""
    col = _column(stops, S.VALUE, S.ANNUAL_REVENUE)
    if col is None:
        return np.zeros(len(stops))
    raw = stops[col]
    value = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    bad = (np.isnan(value) & raw.notna().to_numpy()) | (value < 0)
    if bad.any():
        problems.append(Problem(f"{col} must be a non-negative number", rows=tuple(rows[bad]),
                                column=col, fix="give a number such as 12000, or leave it empty"))
    return np.where(np.isfinite(value) & (value >= 0), value, 0.0)

