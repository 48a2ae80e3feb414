"""One day of a route plan on a folium map: the road polyline, numbered stops, home, left-outs.

The map of the Routes page; plain folium, so it is tested (and could be
saved as HTML) without a Streamlit server.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from planner import viz
from planner.export.safety import escape_html
from planner.routing import DayRoute, RoadNetwork, RoutePlan, TeamPlan, route_geometry
from planner.routing.hours import DAY_NAMES
from planner.services.route_tables import clock_text

__all__ = ["REP_COLORS", "ROUTE_COLOR", "rep_color", "route_map", "team_map"]

#: Colour of the route line and the numbered stops.
ROUTE_COLOR = "#1f6feb"
_UNVISITED_COLOR = "#d9480f"
#: One colour per rep of a team plan (then repeated), told apart on a light or plain map.
REP_COLORS = (
    "#1f6feb",
    "#d6336c",
    "#2f9e44",
    "#f08c00",
    "#7048e8",
    "#0c8599",
    "#a61e4d",
    "#5c940d",
    "#e8590c",
    "#364fc7",
)

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
    m = viz.base_map(
        _bounds([float(plan.lat[p]) for p in points], [float(plan.lon[p]) for p in points]),
        tiles=tiles,
    )
    m.add_child(_RouteCss())
    _add_territories(m, territories)
    if roads is not None and not roads.empty and tiles == "none":
        viz.add_roads(m, roads)
    estimated = plan.estimated or network is None
    _add_legs(m, plan, route, None if estimated else network, estimated)
    _add_stops(m, plan, route)
    _add_home(m, plan, route)
    left_out = _add_unvisited(m, plan)
    _add_legend(m, route, estimated, left_out)
    return m


def _add_territories(m: folium.Map, territories: gpd.GeoDataFrame | None) -> None:
    """Outline the rep's territories, dashed and not clickable."""
    if territories is None or territories.empty:
        return
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


def _add_legs(
    m: folium.Map,
    plan: RoutePlan,
    route: DayRoute,
    network: RoadNetwork | None,
    estimated: bool,
) -> None:
    """One polyline per leg, along the roads (or straight and dashed for an estimate)."""
    legs = route_geometry(plan, network)
    legs = legs[legs["day"] == route.label]
    for leg in legs.itertuples():
        coords = [(float(y), float(x)) for x, y in leg.geometry.coords]
        tip = (
            f"{escape_html(str(leg.from_id))} → {escape_html(str(leg.to_id))}: "
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


def _add_stops(m: folium.Map, plan: RoutePlan, route: DayRoute) -> None:
    """A numbered marker per visit, with its times in the tooltip."""
    for stop in route.stops:
        label = escape_html(stop.name or stop.stop_id)
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
                f" · leave {clock_text(stop.departure_s)}<br>{escape_html(stop.stop_id)}"
            ),
        ).add_to(m)


def _add_home(
    m: folium.Map, plan: RoutePlan, route: DayRoute, *, rep_class: str = "", color: str = ""
) -> None:
    tip = (
        f"<b>Home</b><br>leave {clock_text(route.leave_home_s)} · back "
        f"{clock_text(route.return_home_s)}"
        if route.stops
        else "<b>Home</b>"
    )
    folium.Marker(
        [float(plan.lat[0]), float(plan.lon[0])],
        icon=folium.DivIcon(
            html=f'<div style="background:{color}">⌂</div>' if color else "<div>⌂</div>",
            icon_size=(26, 26),
            icon_anchor=(13, 13),
            class_name=f"tp-home {rep_class}".strip(),
        ),
        tooltip=tip,
    ).add_to(m)


def _add_unvisited(m: folium.Map, plan: RoutePlan) -> bool:
    """Mark every stop left out with its reasons; return whether there was one."""
    index = {pid: i for i, pid in enumerate(plan.point_ids)}
    left_out: dict[str, list[str]] = {}
    for u in plan.unvisited:
        left_out.setdefault(u.stop_id, []).append(u.reason)
    for stop_id, reasons in left_out.items():
        i = index.get(stop_id)
        if i is None:
            continue
        name = escape_html(plan.point_names[i] or stop_id)
        why = escape_html("; ".join(sorted(set(reasons))))
        folium.CircleMarker(
            [float(plan.lat[i]), float(plan.lon[i])],
            radius=6,
            color=_UNVISITED_COLOR,
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=0.9,
            class_name="tp-unvisited",
            tooltip=f"<b>{name}</b><br>not visited: {why}",
        ).add_to(m)
    return bool(left_out)


def _add_legend(m: folium.Map, route: DayRoute, estimated: bool, left_out: bool) -> None:
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


# -- a team plan: every rep's days, one colour per rep -------------------------------------


def rep_color(position: int) -> str:
    """Return the colour of the rep at ``position`` in a team plan."""
    return REP_COLORS[position % len(REP_COLORS)]


def team_map(
    team: TeamPlan,
    day: tuple[int, int] | None = None,
    *,
    network: RoadNetwork | None = None,
    tiles: viz.TileSource = "none",
    roads: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw a team plan: each rep's routes, stops and home in the rep's own colour.

    Parameters
    ----------
    team
        The plan (:func:`planner.routing.plan_team`).
    day
        ``(week, weekday)`` of the day to draw (0 = first week, 0 = Monday);
        ``None`` draws every day.
    network
        The network the plan was made on (lines follow its roads).
    tiles, roads
        The basemap, and street lines for context when there is none.

    Each rep's lines and markers carry the class ``tp-rep-<position>``.
    """
    lat = [float(p.lat[i]) for p in team.plans for i in range(len(p.lat))]
    lon = [float(p.lon[i]) for p in team.plans for i in range(len(p.lon))]
    m = viz.base_map(_bounds(lat, lon), tiles=tiles)
    m.add_child(_RouteCss())
    if roads is not None and not roads.empty and tiles == "none":
        viz.add_roads(m, roads)
    estimated = any(p.estimated for p in team.plans) or network is None
    rows = []
    for r, (rep, plan) in enumerate(zip(team.reps, team.plans, strict=True)):
        days = [d for d in plan.days if day is None or (d.week, d.weekday) == day]
        _add_rep_days(m, plan, days, None if estimated else network, estimated, r)
        _add_home(
            m,
            plan,
            days[0] if len(days) == 1 else plan.days[0],
            rep_class=f"tp-rep-{r}",
            color=rep_color(r),
        )
        visits = sum(len(d.stops) for d in days)
        rows.append(
            viz.LegendRow(
                "line",
                f"{rep.name}: {visits} visits",
                color=rep_color(r),
                weight=4,
                dashed=estimated,
            )
        )
    rows.append(viz.LegendRow("rep", "Home"))
    title = "Team plan" if day is None else f"Team plan · {_day_title(day)}"
    viz.add_legend(m, [], title=title, extra=rows)
    return m


def _day_title(day: tuple[int, int]) -> str:
    week, weekday = day
    return DAY_NAMES[weekday] if week == 0 else f"week {week + 1} {DAY_NAMES[weekday]}"


def _add_rep_days(
    m: folium.Map,
    plan: RoutePlan,
    days: list[DayRoute],
    network: RoadNetwork | None,
    estimated: bool,
    r: int,
) -> None:
    """One rep's legs and numbered stops on ``days``, in the rep's colour."""
    color = rep_color(r)
    labels = {d.label for d in days}
    legs = route_geometry(plan, network)
    for leg in legs[legs["day"].isin(labels)].itertuples():
        folium.PolyLine(
            [(float(y), float(x)) for x, y in leg.geometry.coords],
            color=color,
            weight=5,
            opacity=0.85,
            dash_array="8 8" if estimated else None,
            class_name=f"tp-route tp-rep-{r}",
            tooltip=f"{escape_html(leg.day)}: {escape_html(str(leg.from_id))} → "
            f"{escape_html(str(leg.to_id))}, {leg.drive_s / 60:.0f} min",
        ).add_to(m)
    for d in days:
        for stop in d.stops:
            label = escape_html(stop.name or stop.stop_id)
            folium.Marker(
                [float(plan.lat[stop.point]), float(plan.lon[stop.point])],
                icon=folium.DivIcon(
                    html=f'<div style="background:{color}">{stop.sequence}</div>',
                    icon_size=(24, 24),
                    icon_anchor=(12, 12),
                    class_name=f"tp-stop tp-rep-{r}",
                ),
                tooltip=f"<b>{escape_html(d.label)} {stop.sequence}. {label}</b><br>arrive "
                f"{clock_text(stop.arrival_s)} · leave {clock_text(stop.departure_s)}",
            ).add_to(m)
