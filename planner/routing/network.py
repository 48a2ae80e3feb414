"""Drivable road networks: build from an OSM file, download on request, cache, save and load."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import logging
import math
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from planner.errors import InputError, NetworkDataError

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "DRIVABLE_HIGHWAYS",
    "NetworkParams",
    "RoadNetwork",
    "build_network",
    "configure_osmnx",
    "download_network",
    "graph_bbox",
    "haversine_m",
    "load_network",
    "read_osm",
    "save_network",
    "unit_xyz",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

Progress = Callable[[float, str], None]

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

_BLOCKED_ACCESS = frozenset({"no", "private"})
_EXCLUDED_SERVICE = frozenset(
    {"parking_aisle", "driveway", "emergency_access", "private", "alley", "drive-through"}
)
_EDGE_ATTRS = ("osmid", "highway", "oneway", "reversed", "length", "maxspeed", "name")
_GRAPHML_SUFFIXES = (".graphml", ".graphml.gz")
_OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".xml")
_EARTH_RADIUS_M = 6_371_008.8


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


class RoadNetwork:
    """A drivable road graph with the arrays that routing needs.

    Wraps an osmnx-style ``networkx.MultiDiGraph`` (nodes with ``x``/``y`` in
    EPSG:4326; edges with ``length`` in metres and ``travel_time`` in
    seconds) that is strongly connected, and keeps, built once, the node
    coordinates, a CSR matrix of the fastest edge between each node pair and
    a nearest-node index.

    Parameters
    ----------
    graph
        The road graph; see :func:`build_network` to make one.
    source
        Where the graph came from (file name or description), shown to users.
    """

    def __init__(self, graph: nx.MultiDiGraph, *, source: str = "") -> None:
        if graph.number_of_nodes() == 0:
            raise NetworkDataError(f"{source or 'road network'}: the network has no nodes")
        self.graph = graph
        self.source = source
        ids = list(graph.nodes)
        self.node_ids = np.asarray(ids, dtype=np.int64)
        self.lat = np.fromiter((graph.nodes[n]["y"] for n in ids), float, len(ids))
        self.lon = np.fromiter((graph.nodes[n]["x"] for n in ids), float, len(ids))
        self._position = {n: i for i, n in enumerate(ids)}
        us, vs, keys, times, lengths = [], [], [], [], []
        for u, v, k, data in graph.edges(keys=True, data=True):
            us.append(self._position[u])
            vs.append(self._position[v])
            keys.append(k)
            times.append(float(data.get("travel_time", np.nan)))
            lengths.append(float(data.get("length", np.nan)))
        u_arr = np.asarray(us, dtype=np.int64)
        v_arr = np.asarray(vs, dtype=np.int64)
        t_arr = np.asarray(times, dtype=float)
        l_arr = np.asarray(lengths, dtype=float)
        if np.isnan(t_arr).any() or np.isnan(l_arr).any():
            raise NetworkDataError(
                f"{source or 'road network'}: some edges lack 'travel_time' or 'length'; "
                "build the graph with build_network() or run osmnx add_edge_speeds and "
                "add_edge_travel_times first"
            )
        # Keep the fastest of parallel edges: the CSR constructor would sum them.
        order = np.lexsort((t_arr, v_arr, u_arr))
        u_s, v_s = u_arr[order], v_arr[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (u_s[1:] != u_s[:-1]) | (v_s[1:] != v_s[:-1])
        best = order[first]
        n = len(ids)
        # csgraph treats stored zeros as missing edges: keep every weight positive.
        t_best = np.maximum(t_arr[best], 1e-3)
        self.edge_u = u_arr[best]
        self.edge_v = v_arr[best]
        self.edge_key = [keys[i] for i in best]
        self.edge_time_s = t_best
        self.edge_length_m = np.maximum(l_arr[best], 1e-3)
        # Edges are sorted by (u, v): build both CSR matrices with the same layout,
        # so entry k of either is edge k of the arrays above.
        indptr = np.searchsorted(self.edge_u, np.arange(n + 1))
        self.time_csr = csr_matrix((t_best, self.edge_v, indptr), shape=(n, n))
        self.length_csr = csr_matrix((self.edge_length_m, self.edge_v, indptr), shape=(n, n))
        self._tree: Any = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of directed node pairs joined by a road."""
        return len(self.edge_u)

    def position(self, node_id: int) -> int:
        """Return the row of ``node_id`` in the node arrays."""
        return self._position[node_id]

    def node_xyz(self) -> np.ndarray:
        """Return node positions on the unit sphere (for nearest-node queries)."""
        return unit_xyz(self.lat, self.lon)

    @property
    def kdtree(self) -> Any:
        """A ``scipy.spatial.cKDTree`` over the nodes on the unit sphere."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.node_xyz())
        return self._tree

    def bounds(self) -> tuple[float, float, float, float]:
        """Return ``(west, south, east, north)`` in degrees."""
        return (
            float(self.lon.min()),
            float(self.lat.min()),
            float(self.lon.max()),
            float(self.lat.max()),
        )

    def __repr__(self) -> str:
        return f"RoadNetwork({self.source!r}, {self.n_nodes} nodes, {self.n_edges} edges)"


def unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (for nearest-neighbour queries in 3-D)."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def haversine_m(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Return great-circle distances in metres (broadcasting like numpy)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


# --- osmnx configuration ------------------------------------------------------

_OSMNX_CONFIGURED = False


def configure_osmnx(*, cache_folder: str | Path | None = None, timeout_s: float = 20.0) -> None:
    """Set osmnx's global settings once, for every use of osmnx in the planner.

    osmnx has no offline switch: its downloader first polls the Overpass
    status endpoint and can stall about a minute before failing. The planner
    therefore never lets osmnx touch the network unless
    :func:`download_network` was called with ``allow_download=True``, turns
    the rate-limit poll off, bounds every request by ``timeout_s`` and keeps
    osmnx's log away from the console.

    Parameters
    ----------
    cache_folder
        Where osmnx caches raw Overpass answers.
    timeout_s
        Timeout of each HTTP request osmnx makes.
    """
    global _OSMNX_CONFIGURED
    import osmnx as ox

    ox.settings.log_console = False
    ox.settings.overpass_rate_limit = False
    ox.settings.requests_timeout = timeout_s
    ox.settings.use_cache = cache_folder is not None
    if cache_folder is not None:
        ox.settings.cache_folder = str(cache_folder)
    _OSMNX_CONFIGURED = True


# --- reading OSM files --------------------------------------------------------


@dataclass
class _Ways:
    """Drivable ways as flat node sequences (the common shape of both readers)."""

    node_lat: dict[int, float] = field(default_factory=dict)
    node_lon: dict[int, float] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)


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
    import osmium

    result = _Ways()
    keep = ("highway", "oneway", "junction", "maxspeed", "name", "service", "area", "access",
            "motor_vehicle", "motorcar", "vehicle")
    needed: set[int] = set()
    try:
        for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
            if not isinstance(way, osmium.osm.Way):
                continue
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
    except (RuntimeError, ValueError, OSError) as exc:
        raise NetworkDataError(
            f"{path}: cannot read the OSM file ({exc}); check that it is a complete "
            ".osm.pbf or .osm XML file"
        ) from exc
    return result


def _read_with_pyrosm(path: Path, params: NetworkParams) -> _Ways:
    """Read drivable ways with pyrosm (fast, but fails on some real extracts)."""
    import pyrosm

    osm = pyrosm.OSM(str(path))
    network_type = "driving+service" if params.include_service else "driving"
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


def _strongly_connected(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Mask of the edges inside the largest strongly connected part, and node counts."""
    nodes, inverse = np.unique(np.concatenate((u, v)), return_inverse=True)
    iu, iv = inverse[: len(u)], inverse[len(u):]
    graph = csr_matrix((np.ones(len(u)), (iu, iv)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=True, connection="strong")
    biggest = np.bincount(labels).argmax()
    keep_node = labels == biggest
    return keep_node[iu] & keep_node[iv], int(keep_node.sum()), len(nodes)


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


def _largest_scc(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The largest strongly connected part of a downloaded graph."""
    if G.number_of_nodes() == 0:
        return G
    largest = max(nx.strongly_connected_components(G), key=len)
    return G if len(largest) == G.number_of_nodes() else G.subgraph(largest).copy()


def _add_speeds(G: nx.MultiDiGraph, params: NetworkParams) -> None:
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
    keep, kept_nodes, all_nodes = _strongly_connected(u, v)
    if kept_nodes < all_nodes:
        logger.info("kept the largest strongly connected part: %d of %d nodes",
                    kept_nodes, all_nodes)
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
    if not path.is_file():
        raise NetworkDataError(
            f"OSM file {path} does not exist: pass the path of an .osm.pbf or .osm file"
        )
    if path.stat().st_size == 0:
        raise NetworkDataError(f"OSM file {path} is empty: export the area again from OSM")
    if progress:
        progress(0.05, f"reading {path.name}")
    is_pbf = path.name.lower().endswith(".pbf")
    ways: _Ways | None = None
    if is_pbf and params.engine in ("auto", "pyrosm"):
        try:
            ways = _read_with_pyrosm(path, params)
        except Exception as exc:  # pyrosm raises bare ValueErrors/KeyErrors on odd files
            if params.engine == "pyrosm":
                raise NetworkDataError(f"{path}: pyrosm cannot read the file ({exc})") from exc
            logger.info("pyrosm failed on %s (%s); reading it with pyosmium", path.name, exc)
            ways = None
    if ways is None:
        ways = _read_with_osmium(path, params)
    if progress:
        progress(0.5, "building the road graph")
    G = _graph_from_ways(ways, params, name=path.name)
    if G.number_of_edges() == 0:
        raise NetworkDataError(
            f"{path}: the file has no drivable roads (highway=primary, residential, ...); "
            "use an extract that covers the accounts' streets"
        )
    if progress:
        progress(1.0, f"{G.number_of_nodes()} nodes, {G.number_of_edges()} edges")
    return G


def build_network(
    path: str | Path,
    *,
    params: NetworkParams | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> RoadNetwork:
    """Return the drivable network of an OSM or GraphML file, using a cache.

    Parameters
    ----------
    path
        An OSM file (see :func:`read_osm`) or a network saved by
        :func:`save_network` (``.graphml`` or ``.graphml.gz``).
    params
        Road classes and speeds for OSM files.
    cache_dir
        Folder for GraphML caches of OSM files; the cache is keyed by file
        name, size, modification time and ``params``. ``None``: no cache.
    progress
        Called with (fraction, message) as the work advances.

    Raises
    ------
    NetworkDataError
        If the file is missing, unreadable or has no drivable roads.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(_GRAPHML_SUFFIXES):
        return load_network(path)
    if not name.endswith(_OSM_SUFFIXES):
        raise NetworkDataError(
            f"{path}: unknown network file type; use .osm.pbf, .osm or .graphml(.gz)"
        )
    params = params or NetworkParams()
    cache: Path | None = None
    if cache_dir is not None and path.is_file():
        st = path.stat()
        key = hashlib.sha1(
            f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{params.fingerprint()}".encode()
        ).hexdigest()[:12]
        cache = Path(cache_dir) / f"{path.name.split('.')[0]}-{key}.graphml.gz"
        if cache.is_file():
            logger.info("using cached network %s", cache)
            cached = load_network(cache)
            cached.source = path.name
            return cached
    G = read_osm(path, params=params, progress=progress)
    network = RoadNetwork(G, source=path.name)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        save_network(network, cache)
    return network


def download_network(
    bbox: tuple[float, float, float, float],
    *,
    allow_download: bool = False,
    params: NetworkParams | None = None,
    cache_path: str | Path | None = None,
    timeout_s: float = 20.0,
) -> RoadNetwork:
    """Download the drivable network of a bounding box with osmnx.

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in degrees.
    allow_download
        The user's consent to go online; without it this fails at once.
    params
        Road speeds.
    cache_path
        GraphML file to reuse if it exists, and to write after a download.
    timeout_s
        Timeout of each request, and of the first connection attempt.

    Raises
    ------
    NetworkDataError
        At once when downloads are not allowed or the Overpass server cannot
        be reached, naming the file or setting that would fix it.
    """
    if cache_path is not None and Path(cache_path).is_file():
        return load_network(cache_path)
    where = f"cache_path={cache_path}" if cache_path else "an OSM file (--network FILE)"
    if not allow_download:
        raise NetworkDataError(
            f"no road network for bounding box {bbox}: give {where}, or allow downloading "
            "from OpenStreetMap (allow_download=True) when there is internet"
        )
    west, south, east, north = bbox
    if not (west < east and south < north):
        raise InputError(f"bounding box {bbox} must be (west, south, east, north) with west<east")
    import osmnx as ox

    configure_osmnx(timeout_s=timeout_s)
    host = ox.settings.overpass_url.split("//", 1)[-1].split("/", 1)[0]
    try:
        socket.create_connection((host, 443), timeout=min(timeout_s, 5.0)).close()
    except OSError as exc:
        raise NetworkDataError(
            f"cannot reach {host} to download the road network ({exc}); work offline with "
            f"{where}"
        ) from exc
    params = params or NetworkParams()
    try:
        G = ox.graph_from_bbox(bbox, network_type="drive", simplify=False, retain_all=False)
    except Exception as exc:
        raise NetworkDataError(f"downloading the road network failed: {exc}") from exc
    G = _largest_scc(G)
    _add_speeds(G, params)
    network = RoadNetwork(G, source=f"OpenStreetMap download {bbox}")
    if cache_path is not None:
        save_network(network, cache_path)
    return network


# --- saving and loading -------------------------------------------------------


def save_network(network: RoadNetwork | nx.MultiDiGraph, path: str | Path) -> Path:
    """Save a network as GraphML, gzip-compressed when ``path`` ends in ``.gz``.

    Only the attributes routing needs are kept (node ``x``/``y``; edge
    ``osmid``, ``highway``, ``oneway``, ``reversed``, ``length``,
    ``maxspeed``, ``name``, ``speed_kph``, ``travel_time``, ``geometry``), so
    a city's network stays a few MB.

    Parameters
    ----------
    network
        The network or graph to save.
    path
        Target ``.graphml`` or ``.graphml.gz`` file; written atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import osmnx as ox

    G = network.graph if isinstance(network, RoadNetwork) else network
    slim = nx.MultiDiGraph(**{k: v for k, v in G.graph.items() if k in ("crs", "name")})
    slim.add_nodes_from((n, {"x": d["x"], "y": d["y"]}) for n, d in G.nodes(data=True))
    keep = (*_EDGE_ATTRS, "speed_kph", "travel_time", "geometry")
    slim.add_edges_from(
        (u, v, k, {a: d[a] for a in keep if a in d}) for u, v, k, d in G.edges(keys=True, data=True)
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    plain = tmp.with_name(tmp.name + ".graphml")
    ox.save_graphml(slim, plain)
    if path.name.endswith(".gz"):
        with plain.open("rb") as src, gzip.open(tmp, "wb", compresslevel=9) as dst:
            dst.write(src.read())
        plain.unlink()
    else:
        plain.replace(tmp)
    tmp.replace(path)
    return path


def load_network(path: str | Path) -> RoadNetwork:
    """Load a network saved by :func:`save_network` (``.graphml`` or ``.graphml.gz``).

    Raises
    ------
    NetworkDataError
        If the file is missing or not a readable GraphML road network.
    """
    import osmnx as ox

    path = Path(path)
    if not path.is_file():
        raise NetworkDataError(
            f"network file {path} does not exist: build it from an OSM file with "
            "build_network() or `planner route --network FILE.osm.pbf`"
        )
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                text = fh.read()
            G = ox.load_graphml(graphml_str=text)
        else:
            G = ox.load_graphml(path)
    except Exception as exc:
        raise NetworkDataError(f"{path}: not a readable GraphML road network ({exc})") from exc
    if G.number_of_edges() == 0:
        raise NetworkDataError(f"{path}: the saved network has no roads")
    return RoadNetwork(G, source=path.name)


def graph_bbox(points_lat: Iterable[float], points_lon: Iterable[float], *, pad_deg: float = 0.01
               ) -> tuple[float, float, float, float]:
    """Return ``(west, south, east, north)`` around the points, padded by ``pad_deg``."""
    lat = np.asarray(list(points_lat), dtype=float)
    lon = np.asarray(list(points_lon), dtype=float)
    return (
        float(lon.min() - pad_deg),
        float(lat.min() - pad_deg),
        float(lon.max() + pad_deg),
        float(lat.max() + pad_deg),
    )
