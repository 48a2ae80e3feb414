"""Routing: road networks, travel-time matrices, day, week and team routes, and travel workload."""

from __future__ import annotations

from planner.routing.hours import WeeklyHours, parse_clock, parse_opening_hours
from planner.routing.instances import InstanceResult, read_instance, solve_instance
from planner.routing.matrix import EstimateParams, TravelMatrix, estimate_matrix, travel_matrix
from planner.routing.network import (
    NetworkParams,
    RoadNetwork,
    build_network,
    download_network,
    load_network,
    read_osm,
    save_network,
)
from planner.routing.outputs import (
    directions_urls,
    route_geometry,
    stops_frame,
    to_geojson,
    to_gpx,
)
from planner.routing.snapping import SnapResult, snap_points
from planner.routing.team import Rep, TeamPlan, plan_team, read_reps
from planner.routing.tours import (
    DayRoute,
    RouteParams,
    RoutePlan,
    ScheduledStop,
    UnvisitedStop,
    plan_routes,
    solve_tour,
)
from planner.routing.visits import account_drive_hours, visit_counts, visits_due
from planner.routing.workload import WorkloadParams, travel_workload

__all__ = [
    "DayRoute",
    "EstimateParams",
    "InstanceResult",
    "NetworkParams",
    "Rep",
    "RoadNetwork",
    "RouteParams",
    "RoutePlan",
    "ScheduledStop",
    "SnapResult",
    "TeamPlan",
    "TravelMatrix",
    "UnvisitedStop",
    "WeeklyHours",
    "WorkloadParams",
    "account_drive_hours",
    "build_network",
    "directions_urls",
    "download_network",
    "estimate_matrix",
    "load_network",
    "parse_clock",
    "parse_opening_hours",
    "plan_routes",
    "plan_team",
    "read_instance",
    "read_osm",
    "read_reps",
    "route_geometry",
    "save_network",
    "snap_points",
    "solve_instance",
    "solve_tour",
    "stops_frame",
    "to_geojson",
    "to_gpx",
    "travel_matrix",
    "travel_workload",
    "visit_counts",
    "visits_due",
]
