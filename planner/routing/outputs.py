"""What a route plan becomes for people: road lines for the map, GeoJSON, GPX, directions links."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

from planner.errors import InputError
from planner.routing.network import RoadNetwork
from planner.routing.plans import DayRoute, RoutePlan, clock

__all__ = [
    "directions_urls",
    "leg_paths",
    "route_geometry",
    "stops_frame",
    "to_geojson",
    "to_gpx",
]

logger = logging.getLogger(__name__)

#: Most stops between origin and destination in one directions link.
MAX_LINK_WAYPOINTS = 9


def leg_paths(network: RoadNetwork, legs: list[tuple[int, int]]) -> list[list[int]]:
    """Return the node positions of the fastest path of each ``(from, to)`` leg.

    Parameters
    ----------
    network
        The road network.
    legs
        Pairs of node positions (rows of the network's node arrays).

    Returns
    -------
    list of list of int
        For each leg, the node positions from ``from`` to ``to`` inclusive
        (one node when both are the same; empty when unreachable).
    """
    if not legs:
        return []
    sources = sorted({a for a, _ in legs})
    row = {s: i for i, s in enumerate(sources)}
    _, pred = dijkstra(network.time_csr, directed=True, indices=sources, return_predecessors=True)
    out: list[list[int]] = []
    for a, b in legs:
        path = [b]
        p = pred[row[a]]
        v = b
        while v != a:
            v = int(p[v])
            if v < 0:
                path = []
                break
            path.append(v)
        out.append(path[::-1])
    return out


def _edge_coords(network: RoadNetwork, u: int, v: int) -> list[tuple[float, float]]:
    """Coordinates (lon, lat) of the fastest edge from position u to v, u first."""
    G = network.graph
    nu, nv = int(network.node_ids[u]), int(network.node_ids[v])
    edges = G.get_edge_data(nu, nv) or {}
    best = min(edges.values(), key=lambda d: d.get("travel_time", np.inf), default=None)
    geom = best.get("geometry") if best else None
    start = (float(network.lon[u]), float(network.lat[u]))
    end = (float(network.lon[v]), float(network.lat[v]))
    if geom is None or not hasattr(geom, "coords"):
        return [start, end]
    coords = [(float(x), float(y)) for x, y in geom.coords]
    if np.hypot(coords[0][0] - start[0], coords[0][1] - start[1]) > np.hypot(
        coords[-1][0] - start[0], coords[-1][1] - start[1]
    ):
        coords = coords[::-1]
    return coords


def _day_legs(plan: RoutePlan, day: DayRoute) -> list[tuple[int, int]]:
    pts = day.points if day.stops else []
    return list(itertools.pairwise(pts))


def route_geometry(plan: RoutePlan, network: RoadNetwork | None = None) -> gpd.GeoDataFrame:
    """Return one line per leg of every day, along the roads when a network is given.

    Parameters
    ----------
    plan
        A plan from :func:`~planner.routing.planning.plan_routes`.
    network
        The network the plan was computed on; ``None`` (or an estimated
        plan) draws straight lines, flagged ``estimated``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``day``, ``leg`` (1-based), ``from_id``, ``to_id``,
        ``drive_s``, ``drive_m``, ``estimated`` and a LineString geometry in
        EPSG:4326.
    """
    rows: list[dict[str, Any]] = []
    use_roads = network is not None and not plan.estimated and plan.matrix.snap is not None
    for day in plan.days:
        legs = _day_legs(plan, day)
        paths: list[list[int]] = []
        if use_roads and legs:
            assert network is not None and plan.matrix.snap is not None
            pos = plan.matrix.snap.position
            paths = leg_paths(network, [(int(pos[a]), int(pos[b])) for a, b in legs])
        for i, (a, b) in enumerate(legs):
            coords: list[tuple[float, float]] = [(float(plan.lon[a]), float(plan.lat[a]))]
            if paths and paths[i]:
                assert network is not None
                nodes = paths[i]
                coords.append((float(network.lon[nodes[0]]), float(network.lat[nodes[0]])))
                for u, v in itertools.pairwise(nodes):
                    coords.extend(_edge_coords(network, u, v)[1:])
            coords.append((float(plan.lon[b]), float(plan.lat[b])))
            dedup = [c for j, c in enumerate(coords) if j == 0 or c != coords[j - 1]]
            if len(dedup) < 2:
                dedup = [dedup[0], dedup[0]]
            rows.append(
                {
                    "day": day.label,
                    "leg": i + 1,
                    "from_id": plan.point_ids[a],
                    "to_id": plan.point_ids[b],
                    "drive_s": float(plan.matrix.duration_s[a, b]),
                    "drive_m": float(np.nan_to_num(plan.matrix.distance_m[a, b])),
                    "estimated": not use_roads,
                    "geometry": LineString(dedup),
                }
            )
    columns = ["day", "leg", "from_id", "to_id", "drive_s", "drive_m", "estimated", "geometry"]
    if not rows:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs="EPSG:4326")
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")


def stops_frame(plan: RoutePlan) -> gpd.GeoDataFrame:
    """Return home and the scheduled visits as points with their ETA, for the map."""
    rows: list[dict[str, Any]] = [
        {
            "day": "",
            "sequence": 0,
            "stop_id": "home",
            "name": "home",
            "arrival": "",
            "departure": "",
            "geometry": Point(float(plan.lon[0]), float(plan.lat[0])),
        }
    ]
    for day in plan.days:
        for s in day.stops:
            rows.append(
                {
                    "day": day.label,
                    "sequence": s.sequence,
                    "stop_id": s.stop_id,
                    "name": s.name,
                    "arrival": clock(s.arrival_s),
                    "departure": clock(s.departure_s),
                    "geometry": Point(float(plan.lon[s.point]), float(plan.lat[s.point])),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def to_geojson(plan: RoutePlan, network: RoadNetwork | None = None) -> dict[str, Any]:
    """Return the plan as a GeoJSON FeatureCollection: legs (lines) and stops (points).

    The collection carries ``estimated``, ``method`` and the totals as
    foreign members, so a map can label estimated routes.
    """
    legs = route_geometry(plan, network)
    stops = stops_frame(plan)
    features: list[dict[str, Any]] = []
    for frame, kind in ((legs, "leg"), (stops, "stop")):
        if len(frame) == 0:
            continue
        data = json.loads(frame.to_json(drop_id=True))
        for f in data["features"]:
            f["properties"]["kind"] = kind
            features.append(f)
    return {
        "type": "FeatureCollection",
        "features": features,
        "estimated": plan.estimated,
        "method": plan.method,
        "totals": plan.totals(),
        "unvisited": [u.__dict__ for u in plan.unvisited],
    }


def to_gpx(
    plan: RoutePlan,
    network: RoadNetwork | None = None,
    *,
    day: int | None = None,
    creator: str = "Territory Planner",
) -> str:
    """Return the plan as GPX 1.1 text for a phone: stops as waypoints, each day as a track.

    Parameters
    ----------
    plan
        The plan.
    network
        Road network for tracks along the roads (else straight lines).
    day
        Only this day (position in ``plan.days``); ``None``: every day.
    creator
        The GPX ``creator`` attribute.

    Raises
    ------
    InputError
        If ``day`` is not a day of the plan.
    """
    days = list(plan.days)
    if day is not None:
        if not (0 <= day < len(days)):
            raise InputError(f"day {day} is not in the plan (it has {len(days)} days)")
        days = [days[day]]
    legs = route_geometry(plan, network)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<gpx version="1.1" creator="{escape(creator)}" '
        'xmlns="http://www.topografix.com/GPX/1/1">',
        "  <metadata><name>Route plan</name>"
        + (f"<desc>{escape(plan.method)}</desc>" if plan.estimated else "")
        + "</metadata>",
        f'  <wpt lat="{plan.lat[0]:.7f}" lon="{plan.lon[0]:.7f}"><name>home</name></wpt>',
    ]
    for d in days:
        for s in d.stops:
            label = f"{d.label} {s.sequence}. {s.name or s.stop_id}"
            lines.append(
                f'  <wpt lat="{plan.lat[s.point]:.7f}" lon="{plan.lon[s.point]:.7f}">'
                f"<name>{escape(label)}</name><desc>{escape(s.stop_id)}: arrive "
                f"{clock(s.arrival_s)}, leave {clock(s.departure_s)}</desc></wpt>"
            )
    for d in days:
        if not d.stops:
            continue
        lines.append(f"  <rte><name>{escape(d.label)}</name>")
        for p in d.points:
            name = plan.point_names[p] or plan.point_ids[p]
            lines.append(
                f'    <rtept lat="{plan.lat[p]:.7f}" lon="{plan.lon[p]:.7f}">'
                f"<name>{escape(name)}</name></rtept>"
            )
        lines.append("  </rte>")
        lines.append(f"  <trk><name>{escape(d.label)}</name><trkseg>")
        part = legs[legs["day"] == d.label]
        last: tuple[float, float] | None = None
        for geom in part.geometry:
            for x, y in geom.coords:
                if (x, y) != last:
                    lines.append(f'    <trkpt lat="{y:.7f}" lon="{x:.7f}"/>')
                    last = (x, y)
        lines.append("  </trkseg></trk>")
    lines.append("</gpx>")
    return "\n".join(lines) + "\n"


def directions_urls(plan: RoutePlan, day: int = 0) -> list[str]:
    """Return Google Maps driving-directions links for one day (split when long).

    Each link has at most :data:`MAX_LINK_WAYPOINTS` stops between its origin
    and destination; consecutive links share their end points. They need
    internet to open.

    Raises
    ------
    InputError
        If ``day`` is not a day of the plan.
    """
    if not (0 <= day < len(plan.days)):
        raise InputError(f"day {day} is not in the plan (it has {len(plan.days)} days)")
    route = plan.days[day]
    if not route.stops:
        return []
    pts = route.points
    coords = [f"{plan.lat[p]:.6f},{plan.lon[p]:.6f}" for p in pts]
    urls = []
    step = MAX_LINK_WAYPOINTS + 1
    for i in range(0, len(coords) - 1, step):
        chunk = coords[i : i + step + 1]
        url = (
            "https://www.google.com/maps/dir/?api=1&travelmode=driving"
            f"&origin={quote(chunk[0])}&destination={quote(chunk[-1])}"
        )
        if len(chunk) > 2:
            url += "&waypoints=" + quote("|".join(chunk[1:-1]))
        urls.append(url)
    return urls
