"""Drivable road networks: build from an OSM file, download on request, cache, save and load."""

from __future__ import annotations

import gzip
import hashlib
import logging
import socket
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix

from planner.errors import InputError, NetworkDataError, NetworkFileError, Problem
from planner.io.limits import DEFAULT_LIMITS, ReadLimits, gunzip_chunks
from planner.progress import Progress
from planner.routing.osm import REPORT_ATTR, add_speeds, largest_part, read_osm
from planner.routing.roads import (
    DEFAULT_SPEEDS_KPH,
    DRIVABLE_HIGHWAYS,
    REBUILD_FIX,
    DroppedPart,
    NetworkParams,
    NetworkReport,
    edge_arrays,
    haversine_m,
    node_coordinates,
    unit_xyz,
)

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "DRIVABLE_HIGHWAYS",
    "DroppedPart",
    "NetworkParams",
    "NetworkReport",
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


_EDGE_ATTRS = ("osmid", "highway", "oneway", "reversed", "length", "maxspeed", "name")
_GRAPHML_SUFFIXES = (".graphml", ".graphml.gz")
_OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".xml")


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

    Attributes
    ----------
    report
        What building the network left out as unreachable
        (:class:`~planner.routing.roads.NetworkReport`: counts, and a box and
        centroid per dropped part), or ``None`` when the graph does not say.

    Raises
    ------
    NetworkFileError
        If the graph has no nodes, a node without valid ``x``/``y``, or an
        edge whose ``length`` or ``travel_time`` is missing, negative or
        infinite (naming the edges).
    """

    def __init__(self, graph: nx.MultiDiGraph, *, source: str = "") -> None:
        label = source or "road network"
        if graph.number_of_nodes() == 0:
            raise _network_error(label, "the network has no nodes", [Problem(
                "the graph has no road junctions", fix=_REBUILD)])
        self.graph = graph
        self.source = source
        self.report: NetworkReport | None = _stored_report(graph)
        ids = list(graph.nodes)
        self.node_ids = np.asarray(ids, dtype=np.int64)
        self.lat, self.lon = node_coordinates(graph, ids, label)
        self._position = {n: i for i, n in enumerate(ids)}
        u_arr, v_arr, keys, t_arr, l_arr = edge_arrays(graph, self._position, label)
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
        self.edge_key = [keys[i][2] for i in best]  # the MultiDiGraph key of each edge
        self.edge_time_s = t_best
        self.edge_length_m = np.maximum(l_arr[best], 1e-3)
        # Edges are sorted by (u, v): build both CSR matrices with the same layout,
        # so entry k of either is edge k of the arrays above.
        indptr = np.searchsorted(self.edge_u, np.arange(n + 1))
        self.time_csr = csr_matrix((t_best, self.edge_v, indptr), shape=(n, n))
        self.length_csr = csr_matrix((self.edge_length_m, self.edge_v, indptr), shape=(n, n))
        self._tree: Any = None

    @property
    def dropped_parts(self) -> tuple[DroppedPart, ...]:
        """The largest parts left out as unreachable (empty when none or not recorded)."""
        return self.report.dropped_parts if self.report is not None else ()

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


_REBUILD = REBUILD_FIX


def _network_error(label: str, summary: str, problems: list[Problem]) -> NetworkFileError:
    return NetworkFileError(summary, problems, source=label)


def _stored_report(graph: nx.MultiDiGraph) -> NetworkReport | None:
    text = graph.graph.get(REPORT_ATTR)
    if not isinstance(text, str):
        return None
    try:
        return NetworkReport.from_json(text)
    except (ValueError, KeyError, TypeError, IndexError):
        logger.info("ignoring an unreadable %s attribute", REPORT_ATTR)
        return None


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
        raise _network_error(str(path), "unknown network file type", [Problem(
            f"'{path.name}' is not an OpenStreetMap or GraphML file",
            fix="give an .osm.pbf, .osm (or .osm.gz) extract, or a .graphml(.gz) network")])
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
    G = largest_part(G)
    add_speeds(G, params)
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
    kept = ("crs", "name", REPORT_ATTR)
    slim = nx.MultiDiGraph(**{k: v for k, v in G.graph.items() if k in kept})
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


def load_network(path: str | Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> RoadNetwork:
    """Load a network saved by :func:`save_network` (``.graphml`` or ``.graphml.gz``).

    A compressed file is inflated chunk by chunk into a temporary file (never
    whole into memory) and refused once it expands past
    ``limits.max_unpacked_bytes`` (1 GB by default). Its roads are checked
    (coordinates of every junction, a length and travel time of 0 or more on
    every segment), and what building it left out is read back into
    :attr:`RoadNetwork.report`.

    Raises
    ------
    NetworkFileError
        If the file is missing, not GraphML, too large unpacked, or its roads
        are unusable; a :class:`~planner.errors.NetworkDataError` and an
        :class:`~planner.errors.InputError` naming the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise _network_error(str(path), "the network file does not exist", [Problem(
            f"there is no file '{path}'",
            fix="build it from an OSM file with build_network() or "
            "`planner network build FILE.osm.pbf --workspace W.gpkg`")])
    if path.name.endswith(".gz"):
        with tempfile.TemporaryDirectory(prefix="planner-net-") as tmp:
            plain = Path(tmp) / "network.graphml"
            _inflate(path, plain, limits)
            G = _read_graphml(plain, path)
    else:
        G = _read_graphml(path, path)
    if G.number_of_edges() == 0:
        raise _network_error(str(path), "the saved network has no roads", [Problem(
            f"the GraphML file has {G.number_of_nodes():,} nodes and no edges", fix=_REBUILD)])
    return RoadNetwork(G, source=path.name)


def _inflate(path: Path, target: Path, limits: ReadLimits) -> None:
    """Write the gzip file ``path`` unpacked to ``target``, piece by piece, within the limits."""
    try:
        with path.open("rb") as fh, target.open("wb") as out:
            for piece in gunzip_chunks(fh, limits, name=path.name):
                out.write(piece)
    except InputError as exc:
        raise _network_error(str(path), exc.summary, exc.problems) from exc


def _read_graphml(plain: Path, shown: Path) -> nx.MultiDiGraph:
    """Parse a GraphML road network; anything osmnx or the XML parser raises is told clearly."""
    import osmnx as ox

    try:
        return ox.load_graphml(plain)
    except Exception as exc:  # XML ParseError, ValueError, KeyError...: all mean a bad file
        raise _network_error(str(shown), "not a readable GraphML road network", [Problem(
            f"the file cannot be read as GraphML ({type(exc).__name__}: {exc})",
            fix="give a network saved by `planner network build` (or osmnx save_graphml); "
            + _REBUILD)]) from exc


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
