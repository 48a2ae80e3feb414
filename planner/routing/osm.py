"""Drivable ways from OSM files (pyrosm or pyosmium) into a strongly connected graph with speeds."""

from __future__ import annotations

import itertools
import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import osmium
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from planner.errors import NetworkFileError, Problem
from planner.progress import Progress
from planner.routing.roads import (
    DRIVABLE_HIGHWAYS,
    MAX_LISTED_PARTS,
    DroppedPart,
    NetworkParams,
    NetworkReport,
    haversine_m,
)

__all__ = ["REPORT_ATTR", "add_speeds", "dropped_report", "largest_part", "read_osm"]

#: Graph attribute holding the :class:`NetworkReport` as JSON (kept in saved GraphML).
REPORT_ATTR = "dropped_parts"

logger = logging.getLogger(__name__)

_BLOCKED_ACCESS = frozenset({"no", "private"})
_EXCLUDED_SERVICE = frozenset(
    {"parking_aisle", "driveway", "emergency_access", "private", "alley", "drive-through"}
)


@dataclass
class _Ways:
    """Drivable ways as flat node sequences (the common shape of both readers)."""

    node_lat: dict[int, float] = field(default_factory=dict)
    node_lon: dict[int, float] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    #: Every way of the file, and those with any ``highway`` tag (counted by pyosmium).
    n_ways: int = 0
    n_highways: int = 0


def _is_drivable(tags: Mapping[str, Any], params: NetworkParams) -> bool:
    hw = tags.get("highway")
    if not isinstance(hw, str) or hw not in DRIVABLE_HIGHWAYS:
        return False
    if hw == "service" and (
        not params.include_service or tags.get("service") in _EXCLUDED_SERVICE
    ):
        return False
    if tags.get("area") == "yes":
        return False
    for key in ("access", "motor_vehicle", "motorcar", "vehicle"):
        if tags.get(key) in _BLOCKED_ACCESS:
            return False
    return True


def _read_with_osmium(path: Path, params: NetworkParams) -> _Ways:
    """Read drivable ways with pyosmium; ways are cut back to the nodes present."""

    result = _Ways()
    keep = ("highway", "oneway", "junction", "maxspeed", "name", "service", "area", "access",
            "motor_vehicle", "motorcar", "vehicle")
    needed: set[int] = set()
    try:
        for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
            if not isinstance(way, osmium.osm.Way):
                continue
            result.n_ways += 1
            result.n_highways += "highway" in way.tags
            tags = {k: way.tags[k] for k in keep if k in way.tags}
            if not _is_drivable(tags, params):
                continue
            refs = [n.ref for n in way.nodes]
            result.ways.append((way.id, refs, tags))
            needed.update(refs)
        for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
            if not isinstance(node, osmium.osm.Node):
                continue
            if node.id in needed and node.location.valid():
                result.node_lat[node.id] = node.location.lat
                result.node_lon[node.id] = node.location.lon
    except Exception as exc:  # libosmium raises RuntimeError, ValueError, OSError... on damage
        raise _file_error(
            path,
            "cannot read the OSM file",
            f"the file is not a complete OpenStreetMap file ({exc})",
            "download or export the extract again (.osm.pbf or .osm XML), and check that "
            "the copy finished",
        ) from exc
    return result


def _read_with_pyrosm(path: Path, params: NetworkParams) -> _Ways:
    """Read drivable ways with pyrosm (fast, but fails on some real extracts)."""
    import pyrosm

    osm = pyrosm.OSM(str(path))
    network_type = "driving+service" if params.include_service else "driving"
    with warnings.catch_warnings():  # "Could not find any edges": told to the user below
        warnings.simplefilter("ignore", UserWarning)
        nodes, edges = osm.get_network(nodes=True, network_type=network_type)
    result = _Ways()
    if edges is None or nodes is None or len(edges) == 0:
        return result
    node_ids = nodes["id"].astype("int64")
    result.node_lat = dict(zip(node_ids, nodes["lat"].astype(float), strict=True))
    result.node_lon = dict(zip(node_ids, nodes["lon"].astype(float), strict=True))
    cols = [c for c in ("highway", "oneway", "junction", "maxspeed", "name", "service", "area",
                        "access", "motor_vehicle", "motorcar", "vehicle") if c in edges.columns]
    frame = edges[["id", "u", "v", *cols]]
    extra = edges["tags"].tolist() if "tags" in edges.columns else None
    for i, row in enumerate(frame.itertuples(index=False)):
        tags = {c: str(val) for c, val in zip(cols, row[3:], strict=True) if isinstance(val, str)}
        if extra is not None and isinstance(extra[i], str) and "service" not in tags:
            # pyrosm keeps rarer tags in a JSON column; only 'service' matters here.
            text = extra[i]
            for value in _EXCLUDED_SERVICE:
                if f'"service": "{value}"' in text or f'"service":"{value}"' in text:
                    tags["service"] = value
        if not _is_drivable(tags, params):
            continue
        result.ways.append((int(row[0]), [int(row[1]), int(row[2])], tags))
    return result


def _oneway(tags: Mapping[str, str]) -> Literal["no", "yes", "-1"]:
    value = str(tags.get("oneway", "")).lower()
    if value in ("yes", "true", "1"):
        return "yes"
    if value in ("-1", "reverse"):
        return "-1"
    if value in ("no", "false", "0", "reversible", "alternating"):
        return "no"
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return "yes"
    return "no"


def _edges_from_ways(ways: _Ways) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Directed edges (from, to, attributes) of the drivable ways, both ways unless one-way."""
    us: list[int] = []
    vs: list[int] = []
    attrs: list[dict[str, Any]] = []
    lat = ways.node_lat
    for way_id, refs, tags in ways.ways:
        # Cut the way into runs of consecutive nodes present in the file.
        present = [r if r in lat else None for r in refs]
        direction = _oneway(tags)
        for a, b in itertools.pairwise(present):
            if a is None or b is None or a == b:
                continue
            base = {"osmid": way_id, "highway": tags.get("highway")}
            if "maxspeed" in tags:
                base["maxspeed"] = tags["maxspeed"]
            if "name" in tags:
                base["name"] = tags["name"]
            if direction in ("yes", "no"):
                us.append(a)
                vs.append(b)
                attrs.append({**base, "oneway": direction == "yes", "reversed": False})
            if direction in ("-1", "no"):
                us.append(b)
                vs.append(a)
                attrs.append({**base, "oneway": direction == "-1", "reversed": True})
    return np.asarray(us, dtype=np.int64), np.asarray(vs, dtype=np.int64), attrs


def _strong_labels(iu: np.ndarray, iv: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Strongly connected part of each node (edges ``iu -> iv`` over nodes ``0..n-1``)."""
    graph = csr_matrix((np.ones(len(iu)), (iu, iv)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    return labels, int(np.bincount(labels).argmax())


def dropped_report(
    labels: np.ndarray,
    biggest: int,
    iu: np.ndarray,
    iv: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
) -> NetworkReport:
    """Describe what keeping only part ``biggest`` of the roads leaves out.

    Parameters
    ----------
    labels
        The strongly connected part of each node.
    biggest
        The part that is kept.
    iu, iv
        Edges as node positions.
    lat, lon
        Node coordinates.
    """
    kept_node = labels == biggest
    kept_edge = kept_node[iu] & kept_node[iv]
    dropped = np.flatnonzero(~kept_node)
    if len(dropped) == 0:
        return NetworkReport(int(kept_node.sum()), int(kept_edge.sum()))
    order = dropped[np.argsort(labels[dropped], kind="stable")]
    part_ids, starts, sizes = np.unique(labels[order], return_index=True, return_counts=True)
    inside = (labels[iu] == labels[iv]) & ~kept_edge
    edges = np.bincount(labels[iu][inside], minlength=int(labels.max()) + 1)[part_ids]
    box = [np.minimum.reduceat(lon[order], starts), np.minimum.reduceat(lat[order], starts),
           np.maximum.reduceat(lon[order], starts), np.maximum.reduceat(lat[order], starts)]
    listed = np.lexsort((box[1], box[0], -sizes))[:MAX_LISTED_PARTS]
    parts = tuple(
        DroppedPart(int(sizes[i]), int(edges[i]),
                    (float(box[0][i]), float(box[1][i]), float(box[2][i]), float(box[3][i])))
        for i in listed
    )
    return NetworkReport(
        kept_nodes=int(kept_node.sum()),
        kept_edges=int(kept_edge.sum()),
        dropped_nodes=len(dropped),
        dropped_edges=int((~kept_edge).sum()),
        n_dropped_parts=len(part_ids),
        dropped_parts=parts,
    )


def _speed_kph(maxspeed: object) -> float | None:
    """A ``maxspeed`` tag in km/h (``50``, ``30 mph``, ``50;70`` averaged); None if unreadable."""
    if not isinstance(maxspeed, str):
        return None
    values = []
    for part in re.split(r"[;|]", maxspeed):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*", part)
        if m:
            factor = 1.609344 if m.group(2) == "mph" else 1.0
            values.append(float(m.group(1)) * factor)
    speed = sum(values) / len(values) if values else None
    return speed if speed is not None and speed > 0 else None


def largest_part(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The largest strongly connected part of a downloaded graph, with what was dropped.

    The :class:`~planner.routing.roads.NetworkReport` is kept as JSON in the
    graph attribute ``dropped_parts`` (read by ``RoadNetwork.report``).
    """
    if G.number_of_nodes() == 0:
        return G
    ids = list(G.nodes)
    where = {n: i for i, n in enumerate(ids)}
    iu = np.fromiter((where[u] for u, _ in G.edges()), np.int64, G.number_of_edges())
    iv = np.fromiter((where[v] for _, v in G.edges()), np.int64, G.number_of_edges())
    lat = np.fromiter((float(G.nodes[n]["y"]) for n in ids), float, len(ids))
    lon = np.fromiter((float(G.nodes[n]["x"]) for n in ids), float, len(ids))
    labels, biggest = _strong_labels(iu, iv, len(ids))
    report = dropped_report(labels, biggest, iu, iv, lat, lon)
    if report.dropped_nodes:
        G = G.subgraph([n for n, keep in zip(ids, labels == biggest, strict=True) if keep]).copy()
    G.graph[REPORT_ATTR] = report.to_json()
    return G


def add_speeds(G: nx.MultiDiGraph, params: NetworkParams) -> None:
    """Speed (``maxspeed`` or the road class) and travel time on every edge of ``G``."""
    for _, _, data in G.edges(data=True):
        highway = data.get("highway")
        highway = highway[0] if isinstance(highway, list) else highway
        maxspeed = data.get("maxspeed")
        maxspeed = maxspeed[0] if isinstance(maxspeed, list) else maxspeed
        speed = _speed_kph(maxspeed) or params.speeds_kph.get(highway, params.fallback_speed_kph)
        data["speed_kph"] = float(speed)
        data["travel_time"] = float(data["length"]) / (speed / 3.6)


def _graph_from_ways(ways: _Ways, params: NetworkParams, *, name: str) -> nx.MultiDiGraph:
    """The strongly connected osmnx-style graph of the ways, with speeds and travel times.

    Everything is computed on arrays before the graph is made, once: the
    largest strongly connected part with scipy, speeds from ``maxspeed`` or
    the road class. (Building the whole graph with networkx, taking its
    largest part and letting osmnx add speeds took most of a minute on a
    city extract.)
    """
    u, v, attrs = _edges_from_ways(ways)
    G = nx.MultiDiGraph(crs="EPSG:4326", name=name, simplified=False)
    if len(u) == 0:
        return G
    nodes, inverse = np.unique(np.concatenate((u, v)), return_inverse=True)
    iu, iv = inverse[: len(u)], inverse[len(u):]
    labels, biggest = _strong_labels(iu, iv, len(nodes))
    report = dropped_report(labels, biggest, iu, iv,
                            np.array([ways.node_lat[n] for n in nodes.tolist()]),
                            np.array([ways.node_lon[n] for n in nodes.tolist()]))
    if report.dropped_nodes:
        logger.info("road network %s: %s", name, report.summary())
    G.graph[REPORT_ATTR] = report.to_json()
    keep = (labels == biggest)[iu] & (labels == biggest)[iv]
    u, v = u[keep], v[keep]
    kept = [a for a, k in zip(attrs, keep, strict=True) if k]
    lat, lon = ways.node_lat, ways.node_lon
    length = haversine_m(np.array([lat[a] for a in u]), np.array([lon[a] for a in u]),
                         np.array([lat[b] for b in v]), np.array([lon[b] for b in v]))
    speeds = params.speeds_kph
    for a, metres in zip(kept, length.tolist(), strict=True):
        speed = _speed_kph(a.get("maxspeed")) or speeds.get(a["highway"],
                                                             params.fallback_speed_kph)
        a["length"] = metres
        a["speed_kph"] = float(speed)
        a["travel_time"] = metres / (speed / 3.6)
    G.add_nodes_from((n, {"x": lon[n], "y": lat[n]}) for n in np.unique(np.concatenate((u, v))))
    G.add_edges_from(zip(u.tolist(), v.tolist(), kept, strict=True))
    return G


def read_osm(
    path: str | Path,
    *,
    params: NetworkParams | None = None,
    progress: Progress | None = None,
) -> nx.MultiDiGraph:
    """Build a drivable road graph from an OSM file, offline.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file or an OSM XML file (``.osm``, ``.osm.gz``,
        ``.osm.bz2``).
    params
        Road classes and speeds; defaults to :class:`NetworkParams`.
    progress
        Called with (fraction, message) as the work advances.

    Returns
    -------
    networkx.MultiDiGraph
        An unsimplified, strongly connected osmnx-style graph with
        ``length``, ``speed_kph`` and ``travel_time`` on every edge.

    Raises
    ------
    NetworkDataError
        If the file is missing, empty, corrupt, or holds no drivable roads.
    """
    params = params or NetworkParams()
    path = Path(path)
    _check_file(path)
    if progress:
        progress(0.05, f"reading {path.name}")
    ways = _read_ways(path, params)
    if progress:
        progress(0.5, "building the road graph")
    G = _graph_from_ways(ways, params, name=path.name)
    if G.number_of_edges() == 0:
        counted = ways if ways.n_ways or not ways.ways else _read_with_osmium(path, params)
        raise _no_roads_error(path, counted)  # pyrosm does not count the file's ways
    if progress:
        progress(1.0, f"{G.number_of_nodes()} nodes, {G.number_of_edges()} edges")
    return G


def _file_error(path: Path, summary: str, message: str, fix: str) -> NetworkFileError:
    return NetworkFileError(summary, [Problem(message, fix=fix)], source=str(path))


def _check_file(path: Path) -> None:
    """Refuse a missing or empty OSM file."""
    if not path.is_file():
        raise _file_error(path, "the OSM file does not exist", f"there is no file '{path}'",
                          "pass the path of an .osm.pbf or .osm file")
    if path.stat().st_size == 0:
        raise _file_error(path, "the OSM file is empty", "the file has no bytes",
                          "export or download the area again from OpenStreetMap")


def _read_ways(path: Path, params: NetworkParams) -> _Ways:
    """Drivable ways with pyrosm (``.pbf``, when chosen), else or on failure with pyosmium.

    A pyrosm read that finds no roads is repeated with pyosmium, which counts
    the file's ways so the error can say what the file holds.
    """
    if path.name.lower().endswith(".pbf") and params.engine in ("auto", "pyrosm"):
        try:
            ways = _read_with_pyrosm(path, params)
        except Exception as exc:  # pyrosm raises bare ValueErrors/KeyErrors on odd files
            if params.engine == "pyrosm":
                raise _file_error(
                    path, "pyrosm cannot read the file", f"pyrosm failed: {exc}",
                    "use engine='auto' or 'osmium' (pyosmium reads extracts pyrosm cannot)",
                ) from exc
            logger.info("pyrosm failed on %s (%s); reading it with pyosmium", path.name, exc)
        else:
            if ways.ways or params.engine == "pyrosm":
                return ways
    return _read_with_osmium(path, params)


def _no_roads_error(path: Path, ways: _Ways) -> NetworkFileError:
    """Say what the file holds instead of drivable roads."""
    if ways.n_ways == 0:
        held = "the file has no ways at all (only points, or nothing)"
    elif ways.n_highways == 0:
        held = f"the file has {_count(ways.n_ways, 'way')} but none is a road (no highway tag)"
    else:
        held = (
            f"the file has {_count(ways.n_highways, 'way')} with a highway tag, but none a car "
            "may use in a connected piece (footways, paths, private or closed roads, "
            "one-way stubs that cannot be left)"
        )
    box = _header_box(path)
    if box is not None:
        held += f"; its extract covers ({box[0]:.4f}, {box[1]:.4f}, {box[2]:.4f}, {box[3]:.4f})"
    return _file_error(
        path,
        "the file has no drivable roads",
        held + "; routing needs drivable roads (highway=primary, residential, ...)",
        "use an extract that covers the accounts' streets, with its roads "
        "(e.g. a Geofabrik .osm.pbf of the region)",
    )


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _header_box(path: Path) -> tuple[float, float, float, float] | None:
    """The ``(west, south, east, north)`` box an extract's header declares, if any."""
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            box = reader.header().box()
        finally:
            reader.close()
    except Exception:  # an unreadable header only means no box to show
        return None
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
