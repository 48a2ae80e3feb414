"""Glue of the routes page: cached road networks, a rep's stops and visits due, and route maps.

The page asks::

    network = routes.network_for(routes.workspace_file(ws))  # cached; None without one
    reps = routes.routable_reps(ws, sid, scope, on=day)       # only reps the user may see
    stops = routes.rep_accounts(ws, sid, rep_id, on=day)
    due = routes.visits_due(stops, week_start)                 # this week's visits
    m = routes.route_map(plan, day_index, network=network, tiles=tiles)

Everything but the cached loaders and the session store is plain Python, so it
is tested without a Streamlit server.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from branca.element import MacroElement
from folium.template import Template

from planner import schema as s
from planner import viz
from planner.access import AccessScope
from planner.errors import PlannerError
from planner.export.safety import escape_html
from planner.routing import (
    EstimateParams,
    RoadNetwork,
    RoutePlan,
    WorkloadParams,
    load_network,
    route_geometry,
    visits_due,
)
from planner.routing import account_drive_hours as routing_account_drive_hours
from planner.routing.hours import DAY_NAMES
from planner.routing.visits import DRIVE_H_PER_WEEK
from planner.routing.workload import WEEKS_PER_MONTH
from planner.workspace import Workspace
from ui.cache import roads_file_for

__all__ = [
    "ROUTE_COLOR",
    "WEEKS_PER_MONTH",
    "PlanKey",
    "account_drive_hours",
    "clock_text",
    "day_date",
    "escape",
    "eta_frame",
    "network_error",
    "network_for",
    "next_working_day",
    "recall",
    "remember",
    "rep_accounts",
    "rep_home",
    "rep_territories",
    "road_context_for",
    "routable_reps",
    "route_map",
    "territory_accounts",
    "territory_homes",
    "visits_due",
    "week_start",
    "workspace_file",
]

logger = logging.getLogger(__name__)

#: Colour of the route line and the numbered stops.
ROUTE_COLOR = "#1f6feb"
_UNVISITED_COLOR = "#d9480f"
_STORE = "tp.routes"
_NETWORK_ERRORS: dict[str, str] = {}


# -- road networks (shared by every session of the server) --------------------------------


def workspace_file(ws: Workspace) -> Path | None:
    """Return the file the session's workspace was read from (for files saved beside it).

    A rep's or a manager's workspace is an in-memory copy without a path, so
    the session's source is asked first.
    """
    from ui import state

    source = state.workspace_source()
    if source is not None and source.path is not None:
        return Path(source.path)
    return None if ws.path is None else Path(ws.path)


@st.cache_resource(show_spinner="Loading the road network…", max_entries=4)
def _network(path: str, mtime_ns: int) -> RoadNetwork:
    """Read a road network once per server (it is only read, never changed, by its users)."""
    del mtime_ns  # only part of the cache key
    return load_network(path)


def network_for(workspace_path: str | Path | None) -> RoadNetwork | None:
    """Return the road network saved beside a workspace, or ``None`` if it has none.

    A network that fails to load counts as absent (routes then use the
    straight-line estimate); :func:`network_error` tells why.
    """
    file = roads_file_for(workspace_path)
    if file is None:
        return None
    key = str(file.resolve())
    try:
        network = _network(key, file.stat().st_mtime_ns)
    except PlannerError as exc:
        logger.warning("road network %s not used: %s", file, exc)
        _NETWORK_ERRORS[key] = str(exc)
        return None
    _NETWORK_ERRORS.pop(key, None)
    return network


def network_error(workspace_path: str | Path | None) -> str | None:
    """Return why the road network beside a workspace could not be loaded, if it failed."""
    file = roads_file_for(workspace_path)
    return None if file is None else _NETWORK_ERRORS.get(str(file.resolve()))


@st.cache_resource(max_entries=4)
def _road_context(path: str, mtime_ns: int) -> gpd.GeoDataFrame:
    del mtime_ns
    return viz.road_lines(_network(path, Path(path).stat().st_mtime_ns))


def road_context_for(workspace_path: str | Path | None) -> gpd.GeoDataFrame | None:
    """Return the streets of the network beside a workspace, as lines for the map, or ``None``."""
    file = roads_file_for(workspace_path)
    if file is None or network_for(workspace_path) is None:
        return None
    return _road_context(str(file.resolve()), file.stat().st_mtime_ns)


# -- the session's last plan -----------------------------------------------------------------


@dataclass(frozen=True)
class PlanKey:
    """Everything a route plan was made from: a new key means a new plan."""

    workspace: str
    version: int
    scenario_id: str
    rep_id: str
    first_day: date
    weekdays: tuple[int, ...]
    day_start: str
    day_end: str
    account_ids: tuple[str, ...]
    visits: tuple[int, ...]
    time_limit_s: float
    network: str | None
    speed_kph: float
    circuity: float


def recall(name: str, key: object) -> Any:
    """Return the session's result ``name`` if it was made from ``key``, else ``None``."""
    stored = st.session_state.get(f"{_STORE}.{name}")
    if stored is None or stored[0] != key:
        return None
    return stored[1]


def remember(name: str, key: object, value: object) -> None:
    """Keep ``value`` (made from ``key``) as the session's result ``name`` for the next runs."""
    st.session_state[f"{_STORE}.{name}"] = (key, value)


# -- who and what to route -------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _active(associations: pd.DataFrame, on: date) -> pd.DataFrame:
    """Owner associations in force on ``on``."""
    if associations.empty:
        return associations
    out = associations[associations[s.ROLE].astype(str) == "owner"]
    day = pd.Timestamp(on)
    for col, before in ((s.START_DATE, True), (s.END_DATE, False)):
        if col not in out.columns:
            continue
        when = pd.to_datetime(out[col].astype(object), errors="coerce")
        keep = when.isna() | ((when <= day) if before else (when >= day))
        out = out[keep.to_numpy()]
    return out


def rep_territories(ws: Workspace, scenario_id: str, rep_id: str, *, on: date) -> list[str]:
    """Return the territories ``rep_id`` owns in the scenario on ``on``."""
    owners = _active(ws.associations(scenario_id), on)
    mine = owners[owners[s.REP_ID].astype(str) == str(rep_id)]
    return sorted(set(mine[s.TERRITORY_ID].astype(str)))


def routable_reps(
    ws: Workspace, scenario_id: str, scope: AccessScope | None, *, on: date
) -> pd.DataFrame:
    """Return the reps whose routes the user may see: they own a territory and are in scope.

    A signed-in rep gets only themself, a manager the reps below them,
    planners and admins everyone (the scope's ``can_view_rep``). ``None``
    (nobody signed in) gets nobody.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``name``, ``territories`` (list of ids), ordered by name.
    """
    columns = [s.REP_ID, s.NAME, "territories"]
    if scope is None:
        return pd.DataFrame(columns=columns)
    owners = _active(ws.associations(scenario_id), on)
    by_rep: dict[str, list[str]] = {}
    for rep, tid in zip(
        owners[s.REP_ID].astype(str), owners[s.TERRITORY_ID].astype(str), strict=True
    ):
        by_rep.setdefault(rep, []).append(tid)
    reps = ws.reps
    rows = []
    for rid, name in zip(reps[s.REP_ID].astype(str), reps[s.NAME], strict=True):
        if rid in by_rep and scope.can_view_rep(rid):
            rows.append(
                {s.REP_ID: rid, s.NAME: _text(name) or rid, "territories": sorted(set(by_rep[rid]))}
            )
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values([s.NAME, s.REP_ID], kind="stable").reset_index(drop=True)


def rep_home(ws: Workspace, rep_id: str) -> tuple[float, float] | None:
    """Return the rep's home as ``(latitude, longitude)``, or ``None`` if it has none."""
    reps = ws.reps
    rows = reps[reps[s.REP_ID].astype(str) == str(rep_id)]
    if rows.empty:
        return None
    geom = rows.geometry.iloc[0]
    if geom is None or geom.is_empty:
        return None
    point = geom if geom.geom_type == "Point" else geom.centroid
    if rows.crs is not None and not rows.crs.equals(s.STORAGE_CRS):
        point = gpd.GeoSeries([point], crs=rows.crs).to_crs(s.STORAGE_CRS).iloc[0]
    return float(point.y), float(point.x)


def _with_coordinates(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Accounts with ``latitude``/``longitude`` columns (from their points), no geometry."""
    geo = frame
    if geo.crs is not None and not geo.crs.equals(s.STORAGE_CRS):
        geo = geo.to_crs(s.STORAGE_CRS)
    ok = geo.geometry.notna() & ~geo.geometry.is_empty
    points = geo.geometry.where(ok, None)
    out = pd.DataFrame(geo.drop(columns=geo.geometry.name))
    out[s.LATITUDE] = [p.y if p is not None else np.nan for p in points]
    out[s.LONGITUDE] = [p.x if p is not None else np.nan for p in points]
    return out


def rep_accounts(ws: Workspace, scenario_id: str, rep_id: str, *, on: date) -> pd.DataFrame:
    """Return the accounts of the territories ``rep_id`` owns on ``on``, one row each.

    Columns are the account table's (without geometry) plus ``latitude``,
    ``longitude`` and ``territory_id``; accounts without a location are left
    out (see :func:`planner.geo` for fixing them).
    """
    territories = set(rep_territories(ws, scenario_id, rep_id, on=on))
    members = ws.memberships(scenario_id)
    inside = members[members[s.TERRITORY_ID].astype(str).isin(territories)]
    if s.IS_PRIMARY in inside.columns:  # an account in two of the rep's territories: its primary
        inside = inside.sort_values(s.IS_PRIMARY, ascending=False, kind="stable")
    inside = inside.drop_duplicates(s.ACCOUNT_ID)
    territory_of = dict(
        zip(inside[s.ACCOUNT_ID].astype(str), inside[s.TERRITORY_ID].astype(str), strict=True)
    )
    accounts = ws.accounts
    chosen = accounts[accounts[s.ACCOUNT_ID].astype(str).isin(territory_of)]
    out = _with_coordinates(chosen)
    out[s.TERRITORY_ID] = out[s.ACCOUNT_ID].astype(str).map(territory_of)
    located = out[s.LATITUDE].notna() & out[s.LONGITUDE].notna()
    return out[located].reset_index(drop=True)


def week_start(day: date) -> date:
    """Return the Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def next_working_day(day: date, weekdays: Sequence[int] = (0, 1, 2, 3, 4)) -> date:
    """Return ``day`` if it is one of ``weekdays`` (0 = Monday), else the next one that is."""
    if not weekdays:
        return day
    for ahead in range(7):
        candidate = day + timedelta(days=ahead)
        if candidate.weekday() in weekdays:
            return candidate
    return day


def day_date(first_day: date, weekday: int) -> date:
    """Return the date of ``weekday`` (0 = Monday) in the week starting on Monday ``first_day``."""
    return first_day + timedelta(days=weekday)


def territory_accounts(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return every located account with its primary leaf territory (for travel workload)."""
    members = ws.memberships(scenario_id)
    terr = ws.territories(scenario_id)
    leaves = set(viz.leaf_territory_ids(terr))
    inside = members[members[s.TERRITORY_ID].astype(str).isin(leaves)]
    if s.IS_PRIMARY in inside.columns:
        inside = inside.sort_values(s.IS_PRIMARY, ascending=False, kind="stable")
    inside = inside.drop_duplicates(s.ACCOUNT_ID)
    territory_of = dict(
        zip(inside[s.ACCOUNT_ID].astype(str), inside[s.TERRITORY_ID].astype(str), strict=True)
    )
    accounts = ws.accounts[ws.accounts[s.ACCOUNT_ID].astype(str).isin(territory_of)]
    out = _with_coordinates(accounts)
    out[s.TERRITORY_ID] = out[s.ACCOUNT_ID].astype(str).map(territory_of)
    return out[out[s.LATITUDE].notna() & out[s.LONGITUDE].notna()].reset_index(drop=True)


def territory_homes(ws: Workspace, scenario_id: str, *, on: date) -> dict[str, tuple[float, float]]:
    """Return each territory's owner's home ``(latitude, longitude)`` (first owner by rep id)."""
    owners = _active(ws.associations(scenario_id), on).sort_values(
        [s.TERRITORY_ID, s.REP_ID], kind="stable"
    )
    homes: dict[str, tuple[float, float]] = {}
    for tid, rid in zip(
        owners[s.TERRITORY_ID].astype(str), owners[s.REP_ID].astype(str), strict=True
    ):
        if tid in homes:
            continue
        home = rep_home(ws, rid)
        if home is not None:
            homes[tid] = home
    return homes


def account_drive_hours(
    ws: Workspace,
    scenario_id: str,
    *,
    network: RoadNetwork | None = None,
    on: date | None = None,
    estimate: EstimateParams | None = None,
) -> pd.Series:
    """Return each account of ``ws`` with its share of its territory's weekly drive hours.

    The workspace form of :func:`planner.routing.account_drive_hours`:
    accounts in their primary leaf territory, starting from the owner's
    home on ``on`` (today by default).

    Returns
    -------
    pandas.Series
        ``drive_h_per_week`` on the index of ``ws.accounts``; 0 for accounts
        in no territory or without a location.
    """
    out = pd.Series(0.0, index=ws.accounts.index, name=DRIVE_H_PER_WEEK)
    accounts = territory_accounts(ws, scenario_id)
    if accounts.empty:
        return out
    hours = routing_account_drive_hours(
        accounts,
        territory_homes(ws, scenario_id, on=on or date.today()),
        network=network,
        params=WorkloadParams(estimate=estimate or EstimateParams()),
    )
    by_id = pd.Series(hours.to_numpy(float), index=accounts[s.ACCOUNT_ID].astype(str).to_numpy())
    out[:] = ws.accounts[s.ACCOUNT_ID].astype(str).map(by_id).fillna(0.0).to_numpy(float)
    return out


# -- tables ----------------------------------------------------------------------------------


def eta_frame(plan: RoutePlan, day: int) -> pd.DataFrame:
    """Return the ETA table of one day of ``plan`` for people: one row per visit, then home."""
    route = plan.days[day]
    rows: list[dict[str, Any]] = []
    for stop in route.stops:
        rows.append(
            {
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
        )
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


def clock_text(seconds: float) -> str:
    """Return seconds after midnight as ``HH:MM``."""
    whole = round(seconds)
    return f"{whole // 3600:02d}:{(whole % 3600) // 60:02d}"


# -- the map ---------------------------------------------------------------------------------


def escape(value: object) -> str:
    """Return text safe inside a folium tooltip (see :func:`planner.export.safety.escape_html`)."""
    return escape_html(value)


_ROUTE_CSS = f"""
.tp-stop {{ background: none; border: none; }}
.tp-stop div {{ width: 24px; height: 24px; border-radius: 50%; background: {ROUTE_COLOR};
  color: #fff; font: 600 12px/24px system-ui, sans-serif; text-align: center;
  box-shadow: 0 0 0 2px #fff, 0 1px 4px rgba(0,0,0,0.5); }}
.tp-home {{ background: none; border: none; }}
.tp-home div {{ width: 26px; height: 26px; border-radius: 6px; background: #1f1f1f;
  color: #fff; font: 700 15px/26px system-ui, sans-serif; text-align: center;
  box-shadow: 0 0 0 2px #fff, 0 1px 4px rgba(0,0,0,0.5); }}
"""


class _RouteCss(MacroElement):
    """The route markers' stylesheet, in the map document's head."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "RouteCss"
        self.css = _ROUTE_CSS


def _bounds(lat: Sequence[float], lon: Sequence[float]) -> list[list[float]] | None:
    if not len(lat):
        return None
    pad = max(0.08 * max(max(lat) - min(lat), max(lon) - min(lon)), 0.0005)
    return [[min(lat) - pad, min(lon) - pad], [max(lat) + pad, max(lon) + pad]]


def route_map(
    plan: RoutePlan,
    day: int,
    *,
    network: RoadNetwork | None = None,
    tiles: viz.TileSource = "none",
    roads: gpd.GeoDataFrame | None = None,
    territories: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw one day of ``plan``: the road polyline, numbered stops, home and what was left out.

    Parameters
    ----------
    plan
        The plan.
    day
        Position of the day in ``plan.days``.
    network
        The network the plan was made on (the line follows its roads);
        ``None`` or an estimated plan draws dashed straight lines.
    tiles
        The basemap.
    roads
        Street lines drawn for context (when there is no basemap).
    territories
        The rep's territories, outlined for context.
    """
    route = plan.days[day]
    points = route.points if route.stops else [0]
    lat = [float(plan.lat[p]) for p in points]
    lon = [float(plan.lon[p]) for p in points]
    m = viz.base_map(_bounds(lat, lon), tiles=tiles)
    m.add_child(_RouteCss())
    if territories is not None and not territories.empty:
        shapes = territories[territories.geometry.notna() & ~territories.geometry.is_empty]
        folium.GeoJson(
            gpd.GeoDataFrame(geometry=shapes.geometry.to_numpy(), crs=shapes.crs).to_json(),
            style_function=lambda _f: {
                "color": "#6c757d",
                "weight": 1.5,
                "fillOpacity": 0.04,
                "dashArray": "4 4",
                "className": "tp-route-territory",
            },
            interactive=False,
            control=False,
        ).add_to(m)
    if roads is not None and not roads.empty and tiles == "none":
        viz.add_roads(m, roads)
    estimated = plan.estimated or network is None
    legs = route_geometry(plan, None if estimated else network)
    legs = legs[legs["day"] == route.label]
    for leg in legs.itertuples():
        coords = [(float(y), float(x)) for x, y in leg.geometry.coords]
        tip = (
            f"{escape(str(leg.from_id))} → {escape(str(leg.to_id))}: "
            f"{leg.drive_s / 60:.0f} min, {leg.drive_m / 1000:.1f} km"
            + (" (estimate)" if estimated else "")
        )
        folium.PolyLine(
            coords,
            color=ROUTE_COLOR,
            weight=5,
            opacity=0.85,
            dash_array="8 8" if estimated else None,
            class_name="tp-route",
            tooltip=tip,
        ).add_to(m)
    for stop in route.stops:
        label = escape(stop.name or stop.stop_id)
        folium.Marker(
            [float(plan.lat[stop.point]), float(plan.lon[stop.point])],
            icon=folium.DivIcon(
                html=f"<div>{stop.sequence}</div>",
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name="tp-stop",
            ),
            tooltip=(
                f"<b>{stop.sequence}. {label}</b><br>arrive {clock_text(stop.arrival_s)}"
                f" · leave {clock_text(stop.departure_s)}<br>{escape(stop.stop_id)}"
            ),
        ).add_to(m)
    folium.Marker(
        [float(plan.lat[0]), float(plan.lon[0])],
        icon=folium.DivIcon(
            html="<div>⌂</div>", icon_size=(26, 26), icon_anchor=(13, 13), class_name="tp-home"
        ),
        tooltip=(
            f"<b>Home</b><br>leave {clock_text(route.leave_home_s)} · back "
            f"{clock_text(route.return_home_s)}"
        )
        if route.stops
        else "<b>Home</b>",
    ).add_to(m)
    index = {pid: i for i, pid in enumerate(plan.point_ids)}
    left_out: dict[str, list[str]] = {}
    for u in plan.unvisited:
        left_out.setdefault(u.stop_id, []).append(u.reason)
    for stop_id, reasons in left_out.items():
        i = index.get(stop_id)
        if i is None:
            continue
        name = escape(plan.point_names[i] or stop_id)
        folium.CircleMarker(
            [float(plan.lat[i]), float(plan.lon[i])],
            radius=6,
            color=_UNVISITED_COLOR,
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=0.9,
            class_name="tp-unvisited",
            tooltip=f"<b>{name}</b><br>not visited: {escape('; '.join(sorted(set(reasons))))}",
        ).add_to(m)
    extra = [
        viz.LegendRow(
            "line",
            "Straight-line estimate" if estimated else "Route along roads",
            color=ROUTE_COLOR,
            weight=4,
            dashed=estimated,
        ),
        viz.LegendRow("dot", "Visit, numbered in order", color=ROUTE_COLOR),
        viz.LegendRow("rep", "Home"),
    ]
    if left_out:
        extra.append(viz.LegendRow("dot", "Not visited", color=_UNVISITED_COLOR))
    viz.add_legend(m, [], title=f"Route · {DAY_NAMES[route.weekday]}", extra=extra)
    return m
