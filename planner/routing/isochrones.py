"""Drive-time areas (isochrones): how far a rep gets from a point in so many minutes.

On a road network the area is what the roads reach: the shortest drive
times from the start (Dijkstra on the network's travel times) mark every
road, a road reached part way is cut where the time runs out, and the
reached roads are widened by a corridor (``corridor_m``, 150 m by default)
into one shape. Without a network the area is a circle whose radius is the
estimate's speed times the minutes, divided by its circuity (the same
estimate the drive-time matrix uses), and is labelled as an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import dijkstra

from planner import schema as s
from planner.errors import InputError, Problem
from planner.routing.matrix import EstimateParams
from planner.routing.network import RoadNetwork
from planner.routing.snapping import snap_points

__all__ = ["IsochroneParams", "isochrones"]

#: Longest drive time asked for, minutes (a working day).
MAX_MINUTES = 600.0


@dataclass(frozen=True)
class IsochroneParams:
    """What :func:`isochrones` draws.

    Parameters
    ----------
    minutes
        The drive times, each a ring (e.g. ``(15, 30, 45)``).
    corridor_m
        Half-width of the corridor around reached roads, metres (how far
        off the road a stop may lie and still count as reached).
    estimate
        The straight-line estimate used without a road network.
    """

    minutes: Sequence[float] = (15.0, 30.0, 45.0)
    corridor_m: float = 150.0
    estimate: EstimateParams = field(default_factory=EstimateParams)

    def __post_init__(self) -> None:
        problems = []
        values = list(self.minutes)
        if not values:
            problems.append(Problem("no drive time given", column="minutes", fix="give e.g. 15,30"))
        for m in values:
            if not (isinstance(m, int | float) and math.isfinite(m) and 0 < m <= MAX_MINUTES):
                problems.append(
                    Problem(
                        f"drive time {m!r} is not between 0 and {MAX_MINUTES:.0f} minutes",
                        column="minutes",
                        fix="give minutes such as 15,30,45",
                    )
                )
        if not (math.isfinite(self.corridor_m) and 0 < self.corridor_m <= 5_000):
            problems.append(
                Problem(
                    f"corridor {self.corridor_m!r} m is not between 0 and 5,000 m",
                    column="corridor_m",
                    fix="use about 100-300 m",
                )
            )
        if problems:
            raise InputError("invalid drive-time request", problems)


def isochrones(
    lat: float,
    lon: float,
    params: IsochroneParams | None = None,
    *,
    network: RoadNetwork | None = None,
) -> gpd.GeoDataFrame:
    """Return the areas reachable from ``(lat, lon)`` within each of ``params.minutes``.

    Parameters
    ----------
    lat, lon
        The start (a rep's home, an account), degrees.
    params
        Drive times, corridor and estimate; see :class:`IsochroneParams`.
    network
        The road network; without it the areas are estimated circles.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per drive time, longest first (so it is drawn underneath):
        ``minutes``, ``method`` (``roads`` or ``estimate``), ``area_km2``,
        ``reached_nodes`` (road junctions reached; 0 for an estimate) and the
        area in EPSG:4326.

    Raises
    ------
    InputError
        If the start is not a valid position, lies too far from every road
        of ``network``, or a parameter is out of range.
    """
    params = params or IsochroneParams()
    _check_start(lat, lon)
    minutes = sorted({float(m) for m in params.minutes}, reverse=True)
    crs = _local_crs(lat, lon)
    if network is None:
        shapes, reached = _estimated(minutes, params), [0] * len(minutes)
        method = "estimate"
    else:
        shapes, reached = _on_roads(lat, lon, minutes, params, network, crs)
        method = "roads"
    local = gpd.GeoSeries(shapes, crs=crs)
    return gpd.GeoDataFrame(
        {
            "minutes": minutes,
            "method": method,
            "area_km2": np.round(local.area.to_numpy() / 1e6, 3),
            "reached_nodes": reached,
        },
        geometry=local.to_crs(s.STORAGE_CRS),
    )


def _check_start(lat: float, lon: float) -> None:
    ok = all(isinstance(v, int | float) and math.isfinite(v) for v in (lat, lon))
    if not ok or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(
            "the start is not a position",
            [
                Problem(
                    f"({lat!r}, {lon!r}) is not a latitude and longitude",
                    column="start",
                    fix="give LAT,LON in degrees, e.g. 60.17,24.94",
                )
            ],
        )


def _local_crs(lat: float, lon: float) -> CRS:
    """An azimuthal equidistant projection centred on the start: true distances from it."""
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")


def _estimated(minutes: list[float], params: IsochroneParams) -> list[shapely.Geometry]:
    """Circles of the straight-line distance the estimate covers in each time."""
    est = params.estimate
    return [shapely.Point(0, 0).buffer(est.speed_kph * 1000 * m / 60 / est.circuity, 64)
            for m in minutes]  # fmt: skip


def _on_roads(
    lat: float,
    lon: float,
    minutes: list[float],
    params: IsochroneParams,
    network: RoadNetwork,
    crs: CRS,
) -> tuple[list[shapely.Geometry], list[int]]:
    """The reached roads within each time, widened into areas; junctions reached per time."""
    snap = snap_points(network, [lat], [lon], ids=["start"], warn=False)
    if bool(snap.off_network[0]):
        raise InputError(
            "the start is too far from every road of the network",
            [
                Problem(
                    f"the nearest road junction is {snap.distance_m[0] / 1000:,.1f} km away",
                    column="start",
                    fix="pick a start inside the network's area, or draw an estimate "
                    "without the network",
                )
            ],
        )
    limit_s = max(minutes) * 60
    seconds = dijkstra(network.time_csr, directed=True, indices=int(snap.position[0]),
                       limit=limit_s)  # fmt: skip
    xy = _projected(network, crs)
    shapes, reached = [], []
    for m in minutes:
        lines = _reached_lines(network, seconds, m * 60, xy)
        reached.append(int(np.sum(seconds <= m * 60)))
        shapes.append(_corridor(lines, params.corridor_m))
    return shapes, reached


def _projected(network: RoadNetwork, crs: CRS) -> np.ndarray:
    """The junctions in the local projection, as an ``(n, 2)`` array of metres."""
    points = gpd.GeoSeries(gpd.points_from_xy(network.lon, network.lat), crs=s.STORAGE_CRS)
    return shapely.get_coordinates(points.to_crs(crs).to_numpy())


def _reached_lines(
    network: RoadNetwork, seconds: np.ndarray, limit_s: float, xy: np.ndarray
) -> np.ndarray:
    """Each road reached in time: whole when its far end is, cut where the time runs out."""
    t_u = seconds[network.edge_u]
    t_v = seconds[network.edge_v]
    start_ok = t_u <= limit_s
    whole = start_ok & (t_v <= limit_s)
    part = start_ok & ~whole & (network.edge_time_s > 0)
    a, b = xy[network.edge_u], xy[network.edge_v]
    frac = np.clip((limit_s - t_u[part]) / network.edge_time_s[part], 0.0, 1.0)
    cut_end = a[part] + (b[part] - a[part]) * frac[:, None]
    starts = np.concatenate([a[whole], a[part]])
    ends = np.concatenate([b[whole], cut_end])
    if not len(starts):
        return np.empty(0, dtype=object)
    return shapely.linestrings(np.stack([starts, ends], axis=1))


def _corridor(lines: np.ndarray, width_m: float) -> shapely.Geometry:
    """The reached roads widened by ``width_m`` into one area, the start included.

    The roads are joined into long lines first and each is widened alone:
    GEOS unions a few hundred long corridors far faster than thousands of
    short ones (or one widened network).
    """
    start = shapely.Point(0, 0).buffer(width_m)
    if not len(lines):
        return start
    merged = shapely.get_parts(shapely.line_merge(shapely.union_all(lines)))
    corridors = shapely.buffer(merged, width_m, quad_segs=4)
    return shapely.union_all([start, *corridors]).simplify(width_m / 5)
