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
from planner.routing import DayRoute, RoadNetwork, RoutePlan, route_geometry
from planner.routing.hours import DAY_NAMES
from planner.services.route_tables import clock_text

__all__ = ["ROUTE_COLOR", "route_map"]

#: Colour of the route line and the numbered stops.
ROUTE_COLOR = "#1f6feb"
_UNVISITED_COLOR = "#d9480f"

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


def _add_home(m: folium.Map, plan: RoutePlan, route: DayRoute) -> None:
    tip = (
        f"<b>Home</b><br>leave {clock_text(route.leave_home_s)} · back "
        f"{clock_text(route.return_home_s)}"
        if route.stops
        else "<b>Home</b>"
    )
    folium.Marker(
        [float(plan.lat[0]), float(plan.lon[0])],
        icon=folium.DivIcon(
            html="<div>⌂</div>", icon_size=(26, 26), icon_anchor=(13, 13), class_name="tp-home"
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
