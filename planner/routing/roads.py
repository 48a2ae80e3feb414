"""Road network basics: speeds by road class, network parameters, distances on the sphere."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import networkx as nx
import numpy as np

from planner.errors import InputError, NetworkFileError, Problem, format_ids
from planner.geodesy import haversine_m

#: The fix for a network file whose roads cannot be used.
REBUILD_FIX = (
    "build the network again from an OSM extract with `planner network build FILE.osm.pbf`"
)

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "DRIVABLE_HIGHWAYS",
    "MAX_LISTED_PARTS",
    "REBUILD_FIX",
    "DroppedPart",
    "NetworkParams",
    "NetworkReport",
    "edge_arrays",
    "haversine_m",
    "node_coordinates",
    "unit_xyz",
]

#: Typical free-flow speeds (km/h) by OSM ``highway`` class, used where a road
#: has no ``maxspeed`` tag.
DEFAULT_SPEEDS_KPH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 100.0,
        "motorway_link": 60.0,
        "trunk": 80.0,
        "trunk_link": 50.0,
        "primary": 60.0,
        "primary_link": 45.0,
        "secondary": 50.0,
        "secondary_link": 40.0,
        "tertiary": 40.0,
        "tertiary_link": 35.0,
        "unclassified": 35.0,
        "residential": 30.0,
        "road": 30.0,
        "living_street": 10.0,
        "service": 15.0,
    }
)

#: OSM ``highway`` values a car may use.
DRIVABLE_HIGHWAYS = frozenset(DEFAULT_SPEEDS_KPH)


@dataclass(frozen=True)
class NetworkParams:
    """How a drivable network is built from OSM data.

    Parameters
    ----------
    speeds_kph
        Free-flow speed by OSM ``highway`` class for roads without a
        ``maxspeed`` tag; classes missing here get ``fallback_speed_kph``.
    fallback_speed_kph
        Speed of roads whose class has no entry in ``speeds_kph``.
    include_service
        Whether ``highway=service`` roads (business access roads, not parking
        aisles or driveways) are drivable; they bring accounts closer to the
        network.
    engine
        Reader of ``.pbf`` files: ``"pyrosm"``, ``"osmium"`` or ``"auto"``
        (pyrosm, falling back to pyosmium when pyrosm cannot read the file).
    """

    speeds_kph: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KPH))
    fallback_speed_kph: float = 30.0
    include_service: bool = True
    engine: Literal["auto", "pyrosm", "osmium"] = "auto"

    def __post_init__(self) -> None:
        bad = [k for k, v in self.speeds_kph.items() if not (v > 0 and math.isfinite(v))]
        if bad or not (self.fallback_speed_kph > 0 and math.isfinite(self.fallback_speed_kph)):
            raise InputError(
                "road speeds must be positive numbers of km/h",
                source=f"speeds for {', '.join(bad) or 'fallback_speed_kph'}",
            )
        if self.engine not in ("auto", "pyrosm", "osmium"):
            raise InputError(
                f"unknown OSM reader engine {self.engine!r}: use auto, pyrosm or osmium"
            )
        object.__setattr__(self, "speeds_kph", MappingProxyType(dict(self.speeds_kph)))

    def fingerprint(self) -> str:
        """Return a short hash of the parameters, used in cache file names."""
        text = repr(
            (sorted(self.speeds_kph.items()), self.fallback_speed_kph, self.include_service)
        )
        return hashlib.sha1(text.encode()).hexdigest()[:10]


#: Dropped parts described one by one (largest first); the totals count them all.
MAX_LISTED_PARTS = 50


@dataclass(frozen=True)
class DroppedPart:
    """A piece of the road network left out because it cannot be reached and left again.

    Parameters
    ----------
    nodes, edges
        How many junctions and directed road segments the piece had.
    bbox
        ``(west, south, east, north)`` in degrees.
    """

    nodes: int
    edges: int
    bbox: tuple[float, float, float, float]

    @property
    def centroid(self) -> tuple[float, float]:
        """Return the middle of the box as ``(latitude, longitude)``."""
        west, south, east, north = self.bbox
        return ((south + north) / 2, (west + east) / 2)


@dataclass(frozen=True)
class NetworkReport:
    """What building a road network kept and what it left out.

    Only the largest strongly connected part of the roads is routable (from
    any junction one can reach any other and come back); the rest is dropped
    and listed here, so a user can see where roads are missing.

    Parameters
    ----------
    kept_nodes, kept_edges
        Junctions and directed road segments kept.
    dropped_nodes, dropped_edges
        Junctions and segments left out (segments into or out of a dropped
        junction included).
    n_dropped_parts
        How many separate pieces were left out.
    dropped_parts
        The largest of them (at most :data:`MAX_LISTED_PARTS`), largest first.
    """

    kept_nodes: int
    kept_edges: int
    dropped_nodes: int = 0
    dropped_edges: int = 0
    n_dropped_parts: int = 0
    dropped_parts: tuple[DroppedPart, ...] = ()

    @property
    def dropped_share(self) -> float:
        """Return the share of junctions dropped (0 to 1)."""
        total = self.kept_nodes + self.dropped_nodes
        return self.dropped_nodes / total if total else 0.0

    def summary(self) -> str:
        """Return one sentence for users: what was dropped, and where the largest piece lies."""
        if not self.dropped_nodes:
            return "every road junction is reachable: nothing was dropped"
        text = (
            f"{self.dropped_nodes:,} of {self.kept_nodes + self.dropped_nodes:,} road junctions "
            f"({self.dropped_share:.1%}) and {self.dropped_edges:,} road segments were dropped "
            f"as unreachable, in {self.n_dropped_parts:,} parts"
        )
        if self.dropped_parts:
            big = self.dropped_parts[0]
            lat, lon = big.centroid
            text += f"; the largest ({big.nodes:,} junctions) is around ({lat:.5f}, {lon:.5f})"
        return text

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready values."""
        return {
            "kept_nodes": self.kept_nodes,
            "kept_edges": self.kept_edges,
            "dropped_nodes": self.dropped_nodes,
            "dropped_edges": self.dropped_edges,
            "n_dropped_parts": self.n_dropped_parts,
            "dropped_parts": [
                {
                    "nodes": p.nodes,
                    "edges": p.edges,
                    "bbox": list(p.bbox),
                    "centroid": list(p.centroid),
                }
                for p in self.dropped_parts
            ],
        }

    def to_json(self) -> str:
        """Return the report as a JSON string (kept in saved GraphML files)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> NetworkReport:
        """Read a report written by :meth:`to_json`.

        Raises
        ------
        ValueError
            If the text is not such a report.
        """
        data = json.loads(text)
        parts = tuple(
            DroppedPart(
                int(p["nodes"]),
                int(p["edges"]),
                (
                    float(p["bbox"][0]),
                    float(p["bbox"][1]),
                    float(p["bbox"][2]),
                    float(p["bbox"][3]),
                ),
            )
            for p in data["dropped_parts"]
        )
        return cls(
            int(data["kept_nodes"]),
            int(data["kept_edges"]),
            int(data["dropped_nodes"]),
            int(data["dropped_edges"]),
            int(data["n_dropped_parts"]),
            parts,
        )


def node_coordinates(
    graph: nx.MultiDiGraph, ids: list[Any], label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Node latitudes and longitudes, refusing nodes without valid coordinates.

    Raises
    ------
    NetworkFileError
        Naming the nodes without a finite ``x``/``y`` in degrees.
    """
    lat = np.full(len(ids), np.nan)
    lon = np.full(len(ids), np.nan)
    for i, n in enumerate(ids):
        data = graph.nodes[n]
        try:
            lat[i], lon[i] = float(data["y"]), float(data["x"])
        except (KeyError, TypeError, ValueError):
            continue
    bad = ~(np.abs(lat) <= 90) | ~(np.abs(lon) <= 180)  # NaN fails both tests
    if bad.any():
        named = [ids[i] for i in np.flatnonzero(bad)]
        raise NetworkFileError(
            "some road junctions have no valid coordinates",
            [
                Problem(
                    f"{len(named):,} node(s) lack a longitude 'x' or latitude 'y' in degrees, "
                    f"or have one off the globe (node ids {format_ids(named)})",
                    column="x/y",
                    fix=REBUILD_FIX,
                )
            ],
            source=label,
        )
    return lat, lon


def edge_arrays(
    graph: nx.MultiDiGraph, position: dict[Any, int], label: str
) -> tuple[np.ndarray, np.ndarray, list[Any], np.ndarray, np.ndarray]:
    """Edge ends (as node rows), keys, travel times and lengths of a road graph.

    Raises
    ------
    NetworkFileError
        Naming the edges whose ``length`` or ``travel_time`` is missing,
        negative or infinite.
    """
    us, vs, keys, times, lengths = [], [], [], [], []
    for u, v, k, data in graph.edges(keys=True, data=True):
        us.append(position[u])
        vs.append(position[v])
        keys.append((u, v, k))
        times.append(_number(data.get("travel_time")))
        lengths.append(_number(data.get("length")))
    t_arr = np.asarray(times, dtype=float)
    l_arr = np.asarray(lengths, dtype=float)
    problems = [
        problem
        for values, column, unit in ((l_arr, "length", "m"), (t_arr, "travel_time", "s"))
        if (problem := _bad_values(values, keys, column, unit)) is not None
    ]
    if problems:
        raise NetworkFileError(
            "some road segments have unusable lengths or times", problems, source=label
        )
    return np.asarray(us, dtype=np.int64), np.asarray(vs, dtype=np.int64), keys, t_arr, l_arr


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _bad_values(values: np.ndarray, keys: list[Any], column: str, unit: str) -> Problem | None:
    """A problem naming the edges whose ``column`` is missing, negative or infinite."""
    bad = ~(values >= 0) | np.isinf(values)
    if not bad.any():
        return None
    shown = [
        f"{u}->{v} ({'missing' if np.isnan(x) else f'{x:g} {unit}'})"
        for (u, v, _), x in ((keys[i], values[i]) for i in np.flatnonzero(bad))
    ]
    fix = (
        "give every edge a length in metres of 0 or more and a travel_time in seconds "
        "(build_network() does both), or " + REBUILD_FIX
    )
    return Problem(
        f"{len(shown):,} road segment(s) with a missing, negative or infinite {column} "
        f"(edges {format_ids(shown)})",
        column=column,
        fix=fix,
    )


def unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (for nearest-neighbour queries in 3-D)."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))
