"""Maps and charts of planner.viz: offline assets, escaping, colours, legends, summaries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from folium.plugins import Draw, Fullscreen
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from planner import schema as s
from planner import viz
from planner.errors import InputError
from planner.routing.isochrones import IsochroneParams, isochrones
from planner.samples import sample_path
from planner.viz.basemap import display_geometries
from planner.viz.summary import is_shown
from planner.viz.territories import outline_rows
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import HOSTILE_NAME, build_small_workspace

_LOADED = re.compile(r"<(?:script|link)\b[^>]*?(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
_ANY_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\"'\s)\\]*")
#: The one remote address in an offline map: a link in the attribution, never loaded.
_COPYRIGHT = "https://www.openstreetmap.org/copyright"


def _loaded_urls(html: str) -> list[str]:
    return _LOADED.findall(html)


def test_offline_map_loads_nothing_remote(small_workspace: Workspace) -> None:
    """With no basemap, every script and stylesheet is local and no other remote URL appears."""
    html = viz.map_html(viz.workspace_map(small_workspace, options=viz.MapOptions(tiles="none")))
    loaded = _loaded_urls(html)
    assert loaded, "the map should load Leaflet"
    assert all(u.startswith("/app/static/vendor/") for u in loaded), loaded
    assert "/app/static/vendor/leaflet/leaflet.js" in loaded
    assert "/app/static/vendor/leaflet/leaflet.css" in loaded
    assert set(_ANY_URL.findall(html)) <= {_COPYRIGHT}


def test_online_map_adds_only_the_tile_url(small_workspace: Workspace) -> None:
    """With OSM tiles, the tile template is the only remote resource."""
    html = viz.map_html(viz.workspace_map(small_workspace, options=viz.MapOptions(tiles="osm")))
    assert all(u.startswith("/app/static/vendor/") for u in _loaded_urls(html))
    remote = set(_ANY_URL.findall(html)) - {_COPYRIGHT}
    assert remote == {viz.OSM_TILE_URL}


def test_asset_base_url_is_configurable(small_workspace: Workspace) -> None:
    """Assets can be served from another prefix (e.g. an exported map beside a vendor folder)."""
    m = viz.workspace_map(small_workspace, options=viz.MapOptions(asset_base_url="vendor/"))
    loaded = _loaded_urls(viz.map_html(m, base_url="vendor"))
    assert loaded and all(u.startswith("vendor/") for u in loaded)


def test_draw_plugin_is_served_locally() -> None:
    """Leaflet.draw, which the editing page adds, maps to the vendored copy."""
    m = viz.base_map([[60.1, 24.9], [60.2, 25.0]])
    Draw().add_to(m)
    loaded = _loaded_urls(viz.map_html(m))
    assert "/app/static/vendor/leaflet-draw/leaflet.draw.js" in loaded
    assert "/app/static/vendor/leaflet-draw/leaflet.draw.css" in loaded
    assert all(u.startswith("/app/static/vendor/") for u in loaded)


def test_unvendored_plugin_is_refused() -> None:
    """A plugin whose files are not vendored fails loudly instead of loading from a CDN."""
    m = viz.base_map()
    Fullscreen().add_to(m)
    with pytest.raises(InputError, match="not served offline"):
        viz.localize_assets(m)


def test_every_asset_is_a_vendored_file() -> None:
    """Each asset URL points into a file or folder the vendoring script copies."""
    copied = set(viz.VENDOR_FILES.values())
    for path in filter(None, viz.ASSET_URLS.values()):
        assert path in copied or any(path.startswith(f"{d}/") for d in copied), path


def test_folium_default_assets_are_all_known() -> None:
    """Every asset folium's map and the plugins we use ask for has a decision in ASSET_URLS."""
    from folium.plugins import FastMarkerCluster, MarkerCluster

    for element in (folium.Map, MarkerCluster, FastMarkerCluster, Draw):
        for name, _url in [*element.default_js, *element.default_css]:
            assert name in viz.ASSET_URLS, name


def test_missing_vendor_files_lists_what_is_absent(tmp_path: Path) -> None:
    """An empty vendor folder lacks every needed file; a complete one lacks none."""
    needed = viz.missing_vendor_files(tmp_path)
    assert "leaflet/leaflet.js" in needed
    for rel in needed:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert viz.missing_vendor_files(tmp_path) == []


def test_names_from_data_are_escaped(small_workspace: Workspace) -> None:
    """Account and territory names reach the page only as escaped text."""
    html = viz.map_html(viz.workspace_map(small_workspace))
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; Smith &amp; Sons" in html
    assert "<b>Port</b>" not in html
    assert "Centre &amp; &lt;b&gt;Port&lt;/b&gt;" in html


def test_payload_cannot_close_the_script_tag() -> None:
    """A '</script>' in the data never appears literally in the document."""
    ws = build_small_workspace(5)
    ws.accounts.loc[1, s.ADDRESS] = "</script><script>alert(1)</script>"
    html = viz.map_html(viz.workspace_map(ws))
    assert html.lower().count("</script>") == html.lower().count("<script")


def test_accounts_cluster_above_threshold(small_workspace: Workspace) -> None:
    """Markers are clustered only when there are more accounts than the threshold."""
    clustered = viz.map_html(
        viz.workspace_map(small_workspace, options=viz.MapOptions(cluster_threshold=10))
    )
    plain = viz.map_html(
        viz.workspace_map(small_workspace, options=viz.MapOptions(cluster_threshold=100))
    )
    assert '"cluster":true' in clustered
    assert '"cluster":false' in plain
    assert "leaflet.markercluster.js" in clustered


def test_legend_lists_leaves_with_counts(small_workspace: Workspace) -> None:
    """The legend names each leaf territory with its account count, plus outline and rep rows."""
    html = viz.map_html(viz.workspace_map(small_workspace))
    legend = re.search(r"var d = (\{\"title\":\"Territories\".*?\});", html)
    assert legend is not None
    text = legend.group(1)
    assert '"label":"West"' in text
    assert "Region boundary" in text
    assert "Rep home base" in text
    assert "No territory (1 accounts)" in text


def test_map_stays_small_for_thousands_of_accounts() -> None:
    """2,500 accounts make a page of well under 1.5 MB."""
    ws = build_small_workspace(2500)
    html = viz.map_html(viz.workspace_map(ws))
    assert len(html.encode()) < 1_500_000
    assert '"cluster":true' in html


def test_map_options_validate() -> None:
    """Bad options are reported together, with a fix."""
    with pytest.raises(InputError, match="invalid map options") as info:
        viz.MapOptions(tiles="google", cluster_threshold=-1)  # type: ignore[arg-type]
    assert len(info.value.problems) == 2


def test_empty_workspace_still_draws() -> None:
    """A workspace with a scenario but no data gives a world map, not an error."""
    ws = Workspace(name="empty")
    from planner.models import Scenario

    ws.add_scenario(Scenario("s1"))
    html = viz.map_html(viz.workspace_map(ws))
    assert "L.map(" in html


def test_territory_colors_are_stable_and_distinct() -> None:
    """Colours depend on the set of ids, not their order, and differ while the palette lasts."""
    ids = [f"T{i}" for i in range(12)]
    a = viz.territory_colors(ids)
    b = viz.territory_colors(list(reversed(ids)))
    assert a == b
    assert len(set(a.values())) == 12


@settings(derandomize=True, deadline=None, max_examples=15)
@given(rows=st.integers(1, 7), cols=st.integers(4, 8))
def test_touching_territories_differ_beyond_the_palette(rows: int, cols: int) -> None:
    """With more territories than colours, no two touching territories share one."""
    ids = [f"G{r:02d}{c:02d}" for r in range(rows) for c in range(cols)]
    shapes = gpd.GeoSeries(
        [box(c, r, c + 1, r + 1) for r in range(rows) for c in range(cols)], index=ids
    )
    colors = viz.territory_colors(ids, geometries=shapes)
    if len(ids) <= len(viz.PALETTE):
        assert len(set(colors.values())) == len(ids)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if shapes[a].intersects(shapes[b]):
                assert colors[a] != colors[b], (a, b)


def test_primary_territory_prefers_the_deepest_primary() -> None:
    """An account in a region and in one of its territories shows the territory."""
    terr = pd.DataFrame({s.TERRITORY_ID: ["R", "T1", "T2"], s.LEVEL: [0, 1, 1]})
    members = pd.DataFrame(
        {
            s.ACCOUNT_ID: ["A", "A", "B", "B"],
            s.TERRITORY_ID: ["R", "T1", "T2", "T1"],
            s.IS_PRIMARY: [True, True, False, True],
        }
    )
    own = viz.primary_territory(members, terr)
    assert own.to_dict() == {"A": "T1", "B": "T1"}


def test_territory_summary_rolls_counts_up(small_workspace: Workspace) -> None:
    """A parent's accounts and revenue are the sums over its children."""
    summary = viz.territory_summary(small_workspace).set_index(s.TERRITORY_ID)
    leaves = summary.loc[["T1", "T2", "T3"]]
    assert summary.loc["R", "accounts"] == leaves["accounts"].sum() == 39
    assert summary.loc["R", s.ANNUAL_REVENUE] == pytest.approx(leaves[s.ANNUAL_REVENUE].sum())
    assert list(summary["is_leaf"]) == [False, True, True, True]


def test_bar_chart_uses_map_colours(small_workspace: Workspace) -> None:
    """The chart has one bar per leaf territory in the map's colours; bad values are refused."""
    summary = viz.territory_summary(small_workspace)
    colors = viz.territory_colors(["T1", "T2", "T3"])
    chart = viz.territory_bar_chart(summary, value="accounts", colors=colors)
    data = chart.data
    assert isinstance(data, pd.DataFrame)
    assert sorted(data["color"]) == sorted(colors.values())
    with pytest.raises(InputError, match="no column 'profit'"):
        viz.territory_bar_chart(summary, value="profit")


def test_hostile_name_constant_is_in_fixture(small_workspace: Workspace) -> None:
    """The fixture really carries the hostile name the escaping tests rely on."""
    assert HOSTILE_NAME in set(small_workspace.accounts[s.NAME])


def test_road_lines_keep_each_street_once() -> None:
    """A two-way street is one line; the lines are drawn as non-clickable context."""
    import networkx as nx

    from planner.routing.network import RoadNetwork

    g = nx.MultiDiGraph()
    for node, (x, y) in {1: (24.94, 60.17), 2: (24.95, 60.17), 3: (24.95, 60.18)}.items():
        g.add_node(node, x=x, y=y)
    for u, v in [(1, 2), (2, 1), (2, 3), (3, 2)]:
        g.add_edge(u, v, length=500.0, travel_time=60.0)
    lines = viz.road_lines(RoadNetwork(g, source="test"))
    assert len(lines) == 1
    assert lines.geometry.iloc[0].length == pytest.approx(0.02)
    html = viz.map_html(viz.workspace_map(build_small_workspace(5), roads=lines))
    assert "tp-road" in html


def test_offline_map_names_the_biggest_places() -> None:
    georgia = open_workspace(sample_path("georgia"))
    m = viz.workspace_map(georgia)
    layer = next(c for c in m._children.values() if getattr(c, "layer_name", "") == "Place names")
    labels = [
        re.sub(r"<[^>]+>", "", marker.icon.options["html"]) for marker in layer._children.values()
    ]
    assert labels[0] == "Atlanta" and {"Macon", "Savannah", "Augusta"} <= set(labels)
    assert len(labels) <= 40
    quiet = viz.workspace_map(georgia, options=viz.MapOptions(show_places=False))
    assert "tp-place" not in quiet.get_root().render()


def test_place_names_from_data_are_escaped() -> None:
    places = gpd.GeoDataFrame(
        {"name": [HOSTILE_NAME], "weight": [3], "tier": [1]},
        geometry=gpd.points_from_xy([24.9], [60.2]),
        crs="EPSG:4326",
    )
    m = viz.base_map([[60.1, 24.8], [60.3, 25.0]])
    viz.add_place_labels(m, places)
    page = m.get_root().render()
    assert HOSTILE_NAME not in page and "tp-place" in page


def test_drive_time_rings_are_drawn_longest_first_with_their_minutes() -> None:
    rings = isochrones(60.17, 24.94, IsochroneParams(minutes=(10, 20)))
    m = viz.base_map([[59.9, 24.5], [60.4, 25.4]])
    assert viz.add_isochrones(m, rings) is not None
    page = m.get_root().render()
    assert page.index("20 min drive") < page.index("10 min drive")
    assert "estimate: no road network" in page
    assert viz.add_isochrones(m, rings.iloc[0:0]) is None


def test_density_grid_keeps_every_account_and_sums_the_weight() -> None:
    rng = np.random.default_rng(1)
    n = 5_000
    accounts = gpd.GeoDataFrame(
        {"annual_revenue": rng.random(n) * 1000, "label": "x"},
        geometry=gpd.points_from_xy(24.9 + rng.normal(0, 0.05, n), 60.2 + rng.normal(0, 0.02, n)),
        crs="EPSG:4326",
    )
    accounts.loc[0, "geometry"] = None  # no position: left out
    grid = viz.density_grid(accounts, cells_across=40)
    assert grid["accounts"].sum() == n - 1 and set(grid["class"]) <= set(range(5))
    cells = grid.geometry.to_numpy()
    points = accounts.geometry.iloc[1:].to_numpy()
    assert shapely.intersects(shapely.union_all(cells), points).all()  # each in a drawn cell
    revenue = viz.density_grid(accounts, weight="annual_revenue", cells_across=40)
    assert revenue["value"].sum() == pytest.approx(accounts["annual_revenue"].iloc[1:].sum())
    with pytest.raises(InputError) as caught:
        viz.density_grid(accounts, weight="label", cells_across=5)
    assert len(caught.value.problems) == 2
    m = viz.base_map([[60.0, 24.6], [60.4, 25.2]])
    assert viz.add_density(m, revenue, label="revenue") is not None
    assert "accounts)" in m.get_root().render()


def test_territory_layers_carry_each_shape_as_geopandas_writes_it() -> None:
    """The fills and outlines hold one feature per territory with a shape: the display shape
    as ``GeoDataFrame.to_json`` writes it, leaves filled, parents deepest first."""
    ws = open_workspace(sample_path("georgia"))
    terr = ws.territories(ws.active_scenario_id())
    m = viz.base_map(None)
    group = viz.add_territories(m, terr, colors={}, simplify_m=15.0)
    assert group is not None
    fills, outlines = [c.data["features"] for c in group._children.values()]
    shapes = display_geometries(terr, 15.0)
    expected = json.loads(gpd.GeoDataFrame(geometry=shapes).to_json(drop_id=True))["features"]
    by_id = dict(zip(terr[s.TERRITORY_ID].astype(str), expected, strict=True))
    leaves = set(viz.leaf_territory_ids(terr))
    assert {f["properties"]["tid"] for f in fills} == leaves
    assert {f["properties"]["tid"] for f in outlines} == set(by_id) - leaves
    for f in fills + outlines:
        assert json.loads(json.dumps(f["geometry"])) == by_id[f["properties"]["tid"]]["geometry"]
    levels = [f["properties"]["level"] for f in outlines]
    assert levels == sorted(levels, reverse=True) and len(set(levels)) > 1


def test_missing_level_names_are_not_shown_as_text() -> None:
    """A level name missing as ``pd.NA`` (an Arrow string column) is not "<NA>": the tooltip
    says "territory" and the legend falls back to the level's number."""
    assert not is_shown(pd.NA) and not is_shown(float("nan")) and not is_shown("")
    terr = gpd.GeoDataFrame(
        {
            s.TERRITORY_ID: ["R", "T1"],
            s.NAME: ["Region", "One"],
            s.PARENT_ID: [None, "R"],
            s.LEVEL: [0, 1],
            s.LEVEL_NAME: pd.array([None, None], dtype="string[pyarrow]"),
        },
        geometry=[box(0, 0, 2, 2), box(0, 0, 1, 1)],
        crs=s.STORAGE_CRS,
    )
    rows = outline_rows(terr, {"T1"})
    assert [r.label for r in rows] == ["Level 0 boundary"]
    m = folium.Map(tiles=None)
    viz.add_territories(m, terr, colors={"T1": "#123456"})
    html = m.get_root().render()
    assert "<NA>" not in html and "&lt;NA&gt;" not in html
