"""Route outputs: lines along the roads, GeoJSON, GPX and directions links."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from planner.errors import InputError
from planner.routing.outputs import directions_urls, route_geometry, to_geojson, to_gpx
from planner.routing.tours import RouteParams, plan_routes

GPX = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture(scope="module")
def monaco_plan(monaco_network, monaco_stops, monaco_home):
    """A Monday route through the six Monte Carlo stops."""
    return plan_routes(
        monaco_stops, monaco_home, network=monaco_network, params=RouteParams(time_limit_s=0.3)
    )


def test_legs_follow_the_roads(monaco_plan, monaco_network):
    """One line per leg, from home back to home, with road bends between the stops."""
    legs = route_geometry(monaco_plan, monaco_network)
    assert len(legs) == 7 and legs.crs.to_epsg() == 4326
    assert not legs["estimated"].any()
    first, last = legs.geometry.iloc[0], legs.geometry.iloc[-1]
    home = Point(monaco_plan.lon[0], monaco_plan.lat[0])
    assert Point(first.coords[0]).equals(home) and Point(last.coords[-1]).equals(home)
    assert sum(len(g.coords) for g in legs.geometry) > 3 * len(legs)
    assert list(legs["to_id"].iloc[:-1]) == [s.stop_id for s in monaco_plan.days[0].stops]


def test_estimated_plan_draws_straight_flagged_lines(monaco_stops, monaco_home):
    """Without a network, legs are straight lines marked as estimates."""
    plan = plan_routes(monaco_stops, monaco_home, params=RouteParams(time_limit_s=0.2))
    legs = route_geometry(plan)
    assert legs["estimated"].all()
    assert all(len(g.coords) == 2 for g in legs.geometry)


def test_geojson_is_serialisable_and_labelled(monaco_plan, monaco_network):
    """The GeoJSON has legs and stops, totals, and the estimate flag."""
    data = json.loads(json.dumps(to_geojson(monaco_plan, monaco_network)))
    kinds = [f["properties"]["kind"] for f in data["features"]]
    assert kinds.count("leg") == 7 and kinds.count("stop") == 7
    assert data["estimated"] is False and data["totals"]["visits"] == 6


def test_gpx_has_waypoints_route_and_track(monaco_plan, monaco_network):
    """The GPX parses, with home and every stop as waypoints and the day as a track."""
    root = ET.fromstring(to_gpx(monaco_plan, monaco_network))
    assert len(root.findall(f"{GPX}wpt")) == 7
    assert len(root.findall(f"{GPX}rte/{GPX}rtept")) == 8
    assert len(root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")) > 20
    with pytest.raises(InputError, match="day 3"):
        to_gpx(monaco_plan, day=3)


def test_directions_links_split_long_days(monaco_network, monaco_home):
    """A 20-stop day needs three links; consecutive links share their end point."""
    rng = np.random.default_rng(2)
    stops = pd.DataFrame(
        {
            "account_id": [f"S{i}" for i in range(20)],
            "latitude": rng.uniform(43.737, 43.743, 20),
            "longitude": rng.uniform(7.419, 7.427, 20),
            "visit_minutes": 5,
        }
    )
    plan = plan_routes(stops, monaco_home, network=monaco_network,
                       params=RouteParams(time_limit_s=0.3))
    urls = directions_urls(plan, 0)
    assert len(urls) == 3
    assert all(u.startswith("https://www.google.com/maps/dir/?api=1") for u in urls)
    assert urls[0].split("destination=")[1].split("&")[0] in urls[1]
