"""Folium maps and charts of a workspace: territories, units, accounts and reps, served offline.

Every map built here loads its JavaScript and CSS from the app's own static
files (``/app/static/vendor/...``, vendored from npm by
``scripts/vendor_assets.py``), never from a CDN, so it works with no
internet. The basemap is a setting: OpenStreetMap tiles when online, or none,
in which case units, territories and roads give the context.

A map is built like a recipe::

    m = workspace_map(ws, options=MapOptions(tiles="none"))
    html = map_html(m)  # a standalone HTML document with local asset URLs

or piece by piece with :func:`base_map`, :func:`add_units`,
:func:`add_territories`, :func:`add_accounts`, :func:`add_reps`,
:func:`add_legend`; call :func:`localize_assets` on any map before showing
it (``map_html`` does), so plugins added by other code are served locally too.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.export.safety import escape_html
from planner.tree import TerritoryTree

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from planner.routing.network import RoadNetwork
    from planner.workspace import Workspace

__all__ = [
    "ASSET_URLS",
    "DEFAULT_ASSET_BASE_URL",
    "OSM_ATTRIBUTION",
    "OSM_TILE_URL",
    "PALETTE",
    "UNASSIGNED_COLOR",
    "VENDOR_FILES",
    "LegendRow",
    "MapOptions",
    "TileSource",
    "add_accounts",
    "add_legend",
    "add_osm_attribution",
    "add_reps",
    "add_roads",
    "add_territories",
    "add_units",
    "asset_urls",
    "base_map",
    "leaf_territory_ids",
    "localize_assets",
    "map_html",
    "missing_vendor_files",
    "parent_outline_style",
    "primary_territory",
    "road_lines",
    "territory_bar_chart",
    "territory_colors",
    "territory_summary",
    "workspace_map",
]

logger = logging.getLogger(__name__)

TileSource = Literal["none", "osm"]

#: Where the app serves the vendored files (Streamlit serves ./static at /app/static).
DEFAULT_ASSET_BASE_URL = "/app/static/vendor"

OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright" target="_blank">'
    "OpenStreetMap</a> contributors"
)

#: Files copied from ``node_modules/`` (key) into ``static/vendor/`` (value)
#: by ``scripts/vendor_assets.py``; folders are copied whole.
VENDOR_FILES: dict[str, str] = {
    "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
    "leaflet/dist/images": "leaflet/images",
    "leaflet/LICENSE": "leaflet/LICENSE",
    "leaflet-draw/dist/leaflet.draw.js": "leaflet-draw/leaflet.draw.js",
    "leaflet-draw/dist/leaflet.draw.css": "leaflet-draw/leaflet.draw.css",
    "leaflet-draw/dist/images": "leaflet-draw/images",
    "leaflet.markercluster/dist/leaflet.markercluster.js": (
        "leaflet.markercluster/leaflet.markercluster.js"
    ),
    "leaflet.markercluster/dist/MarkerCluster.css": "leaflet.markercluster/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css": (
        "leaflet.markercluster/MarkerCluster.Default.css"
    ),
    "leaflet.markercluster/MIT-LICENCE.txt": "leaflet.markercluster/LICENSE.txt",
    "jquery/dist/jquery.min.js": "jquery/jquery.min.js",
    "jquery/LICENSE.txt": "jquery/LICENSE.txt",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "bootstrap/LICENSE": "bootstrap/LICENSE",
    "leaflet.awesome-markers/dist/leaflet.awesome-markers.js": (
        "leaflet.awesome-markers/leaflet.awesome-markers.js"
    ),
    "leaflet.awesome-markers/dist/leaflet.awesome-markers.css": (
        "leaflet.awesome-markers/leaflet.awesome-markers.css"
    ),
    "leaflet.awesome-markers/dist/images": "leaflet.awesome-markers/images",
    "leaflet.awesome-markers/LICENSE": "leaflet.awesome-markers/LICENSE",
    "@fortawesome/fontawesome-free/css/all.min.css": "fontawesome/css/all.min.css",
    "@fortawesome/fontawesome-free/webfonts": "fontawesome/webfonts",
    "@fortawesome/fontawesome-free/LICENSE.txt": "fontawesome/LICENSE.txt",
}

#: Folium's name of each browser asset (the first item of its ``default_js``
#: and ``default_css`` pairs) -> the vendored file serving it, or ``None`` for
#: an asset the planner drops (Bootstrap 3 glyphicons are not packaged on npm:
#: give ``folium.Icon`` ``prefix="fa"``; the awesome-markers rotation sheet
#: only serves arbitrary ``angle`` values, Font Awesome rotates by 90/180/270).
ASSET_URLS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": None,
    "awesome_markers": "leaflet.awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "leaflet.awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_rotate_css": None,
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
}

#: Twenty distinct fill colours, assigned to leaf territories in id order.
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#1b9e77",
    "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
    "#17becf", "#a6761d", "#bcbd22", "#8c564b", "#3182bd",
)  # fmt: skip
#: Colour of accounts that belong to no territory.
UNASSIGNED_COLOR = "#7f7f7f"
_PARENT_OUTLINE = "#2b2b2b"
_M_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class MapOptions:
    """How :func:`workspace_map` draws a workspace.

    Parameters
    ----------
    tiles
        ``"osm"`` for OpenStreetMap tiles (needs internet), ``"none"`` for no
        basemap (works offline).
    asset_base_url
        URL prefix under which the vendored files are served.
    cluster_threshold
        Accounts are clustered when there are more than this many (clusters
        take the colour of the territory most of their accounts belong to).
    show_units
        Draw the unit outlines (counties, ZIP areas, H3 cells).
    show_accounts
        Draw the accounts.
    show_reps
        Draw the reps' home bases.
    simplify_m
        Tolerance, in metres, for simplifying polygons before drawing (keeps
        the page small; 0 draws them exactly). ``None`` picks one from the
        size of the area: 1/4000 of its diagonal, between 5 and 500 m.
    """

    tiles: TileSource = "none"
    asset_base_url: str = DEFAULT_ASSET_BASE_URL
    cluster_threshold: int = 1500
    show_units: bool = True
    show_accounts: bool = True
    show_reps: bool = True
    simplify_m: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.tiles not in ("none", "osm"):
            problems.append(
                Problem(f"unknown tile source '{self.tiles}'", fix="use 'none' or 'osm'")
            )
        if self.cluster_threshold < 0:
            problems.append(Problem("cluster_threshold < 0", fix="use 0 or more"))
        if self.simplify_m is not None and self.simplify_m < 0:
            problems.append(Problem("simplify_m < 0", fix="use 0 or more metres"))
        if problems:
            raise InputError("invalid map options", problems)


# -- assets ---------------------------------------------------------------------


def _is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def localize_assets(m: folium.Map, *, base_url: str = DEFAULT_ASSET_BASE_URL) -> folium.Map:
    """Point every script and stylesheet of ``m`` and its plugins at the vendored files.

    Rewrites the ``default_js``/``default_css`` of the map and of every
    element below it, in place. Call it after the last plugin is added.

    Parameters
    ----------
    m
        The map.
    base_url
        URL prefix of the vendored files (no trailing slash needed).

    Returns
    -------
    folium.Map
        ``m`` itself.

    Raises
    ------
    InputError
        If an element needs a remote asset the planner does not vendor (a new
        folium plugin): add its npm package to ``package.json`` and its files
        to :data:`VENDOR_FILES` and :data:`ASSET_URLS`.
    """
    base = base_url.rstrip("/")
    unknown: dict[str, str] = {}
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if not pairs:
                continue
            local: list[tuple[str, str]] = []
            for name, url in pairs:
                if not _is_remote(url):
                    local.append((name, url))
                elif name in ASSET_URLS:
                    path = ASSET_URLS[name]
                    if path is not None:
                        local.append((name, f"{base}/{path}"))
                else:
                    unknown[name] = url
            setattr(element, attr, local)
    if unknown:
        raise InputError(
            f"the map needs assets that are not served offline: {format_ids(sorted(unknown))}",
            [
                Problem(
                    f"'{name}' would load from {url}",
                    fix="add its npm package to package.json and map it in "
                    "planner.viz.VENDOR_FILES and ASSET_URLS",
                )
                for name, url in sorted(unknown.items())
            ],
        )
    return m


def asset_urls(m: folium.Map) -> list[str]:
    """Return every script and stylesheet URL ``m`` will load, in order, without duplicates."""
    urls: list[str] = []
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            urls.extend(url for _, url in getattr(element, attr, None) or [])
    return list(dict.fromkeys(urls))


def map_html(m: folium.Map, *, base_url: str = DEFAULT_ASSET_BASE_URL) -> str:
    """Return ``m`` as a standalone HTML document whose assets are all local."""
    localize_assets(m, base_url=base_url)
    return str(m.get_root().render())


def missing_vendor_files(vendor_dir: str | Path) -> list[str]:
    """Return the vendored files :data:`ASSET_URLS` needs that are missing under ``vendor_dir``."""
    root = Path(vendor_dir)
    needed = sorted({p for p in ASSET_URLS.values() if p is not None})
    return [p for p in needed if not (root / p).is_file()]


# -- domain helpers -------------------------------------------------------------


def leaf_territory_ids(territories: pd.DataFrame) -> list[str]:
    """Return the ids of territories that are nobody's parent, sorted."""
    return sorted(TerritoryTree.of(territories).leaves())


def territory_colors(
    territory_ids: Iterable[str], *, geometries: gpd.GeoSeries | None = None
) -> dict[str, str]:
    """Give each territory a fill colour, stable for a given set of ids.

    Ids are coloured in sorted order from :data:`PALETTE`. With more
    territories than colours and ``geometries`` given (indexed by id), each
    territory takes the first colour none of its already-coloured neighbours
    has, so touching territories differ where possible.

    Parameters
    ----------
    territory_ids
        The territories to colour.
    geometries
        Their shapes, indexed by territory id (optional).
    """
    ids = sorted({str(i) for i in territory_ids})
    n = len(PALETTE)
    if len(ids) <= n or geometries is None:
        return {tid: PALETTE[i % n] for i, tid in enumerate(ids)}
    shapes = geometries.reindex(ids)
    valid = shapes.notna().to_numpy() & ~shapes.is_empty.to_numpy()
    tree = shapely.STRtree(shapes.to_numpy()[valid])
    positions = np.flatnonzero(valid)
    colors: dict[str, str] = {}
    for i, tid in enumerate(ids):
        taken: set[str] = set()
        if valid[i]:
            for j in tree.query(shapes.iloc[i], predicate="intersects"):
                other = ids[positions[j]]
                if other in colors:
                    taken.add(colors[other])
        choice = next((PALETTE[(i + k) % n] for k in range(n) if PALETTE[(i + k) % n] not in taken),
                      PALETTE[i % n])  # fmt: skip
        colors[tid] = choice
    return colors


def primary_territory(memberships: pd.DataFrame, territories: pd.DataFrame) -> pd.Series:
    """Return each account's territory for display: its deepest primary membership.

    Parameters
    ----------
    memberships
        One scenario's memberships.
    territories
        The same scenario's territories.

    Returns
    -------
    pandas.Series
        Territory id indexed by account id (accounts with no membership are absent).
    """
    if memberships.empty:
        return pd.Series(dtype=object, name=s.TERRITORY_ID)
    level = territories.set_index(s.TERRITORY_ID)[s.LEVEL]
    frame = memberships[[s.ACCOUNT_ID, s.TERRITORY_ID, s.IS_PRIMARY]].copy()
    frame["_level"] = frame[s.TERRITORY_ID].map(level).fillna(-1)
    frame = frame.sort_values(
        [s.ACCOUNT_ID, s.IS_PRIMARY, "_level", s.TERRITORY_ID], ascending=[True, False, False, True]
    )
    first = frame.drop_duplicates(s.ACCOUNT_ID)
    return pd.Series(
        first[s.TERRITORY_ID].astype(str).to_numpy(),
        index=first[s.ACCOUNT_ID].astype(str).to_numpy(),
        name=s.TERRITORY_ID,
    )


def territory_summary(workspace: Workspace, scenario_id: str | None = None) -> pd.DataFrame:
    """Return one row per territory: name, parent, level, accounts and revenue.

    Counts and revenue roll up the hierarchy: a region's figures include every
    account of its districts and territories.

    Parameters
    ----------
    workspace
        The workspace.
    scenario_id
        The scenario; the active one by default.
    """
    terr = workspace.territories(scenario_id)
    cols = [s.TERRITORY_ID, s.NAME, s.PARENT_ID, s.LEVEL, s.LEVEL_NAME, s.TYPE_ID, s.SOURCE]
    out = pd.DataFrame(terr[cols]).copy()
    own = primary_territory(workspace.memberships(scenario_id), terr)
    accounts = workspace.accounts
    revenue = pd.Series(
        pd.to_numeric(accounts[s.ANNUAL_REVENUE], errors="coerce").fillna(0.0).to_numpy(),
        index=accounts[s.ACCOUNT_ID].astype(str).to_numpy(),
    )
    rev = revenue.groupby(level=0).first().reindex(own.index).fillna(0.0)
    direct = pd.DataFrame({"tid": own.to_numpy(), "rev": rev.to_numpy()})
    counts = direct.groupby("tid").size()
    sums = direct.groupby("tid")["rev"].sum()
    parent = dict(zip(out[s.TERRITORY_ID], out[s.PARENT_ID], strict=True))
    total_n: dict[str, int] = dict.fromkeys(out[s.TERRITORY_ID], 0)
    total_r: dict[str, float] = dict.fromkeys(out[s.TERRITORY_ID], 0.0)
    for tid in counts.index:
        node: Any = tid
        seen: set[str] = set()
        while node is not None and node in total_n and node not in seen:
            seen.add(node)
            total_n[node] += int(counts[tid])
            total_r[node] += float(sums[tid])
            node = parent.get(node)
    out["accounts"] = out[s.TERRITORY_ID].map(total_n).astype("int64")
    out[s.ANNUAL_REVENUE] = out[s.TERRITORY_ID].map(total_r).astype("float64")
    leaves = set(leaf_territory_ids(terr))
    out["is_leaf"] = out[s.TERRITORY_ID].isin(leaves)
    return out.sort_values([s.LEVEL, s.TERRITORY_ID]).reset_index(drop=True)


# -- map building ---------------------------------------------------------------


def _display_geometries(frame: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoSeries:
    """Simplify and round shapes for drawing (about 1 m precision)."""
    geoms = frame.geometry
    if geoms.crs is not None and not geoms.crs.equals(s.STORAGE_CRS):
        geoms = geoms.to_crs(s.STORAGE_CRS)
    values = geoms.to_numpy()
    if simplify_m > 0:
        values = shapely.simplify(values, simplify_m / _M_PER_DEGREE, preserve_topology=True)
    values = shapely.set_precision(values, 1e-5)
    return gpd.GeoSeries(values, index=frame.index, crs=s.STORAGE_CRS)


def _bounds(*frames: gpd.GeoDataFrame | None) -> list[list[float]] | None:
    boxes = []
    for frame in frames:
        if frame is None or frame.empty:
            continue
        geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
        if len(geoms):
            boxes.append(geoms.total_bounds)
    if not boxes:
        return None
    arr = np.array(boxes)
    west, south = arr[:, 0].min(), arr[:, 1].min()
    east, north = arr[:, 2].max(), arr[:, 3].max()
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        return None
    return [[float(south), float(west)], [float(north), float(east)]]


def _auto_tolerance_m(bounds: list[list[float]] | None) -> float:
    """Return a simplification tolerance fit for drawing an area of ``bounds`` on a screen."""
    if bounds is None:
        return 5.0
    (south, west), (north, east) = bounds
    mid = math.radians((south + north) / 2)
    dx = (east - west) * _M_PER_DEGREE * math.cos(mid)
    dy = (north - south) * _M_PER_DEGREE
    return min(max(math.hypot(dx, dy) / 4000.0, 5.0), 500.0)


class _Css(MacroElement):
    """A stylesheet placed in the map document's head."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        """
    )

    def __init__(self, css: str) -> None:
        super().__init__()
        self._name = "Css"
        self.css = css


_MAP_CSS = """
.leaflet-container { background: #f3f1ec; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; }
.tp-legend { background: rgba(255,255,255,0.92); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 12px; line-height: 1.35;
  max-height: 45vh; overflow-y: auto; min-width: 140px; }
.tp-legend h4 { font-size: 13px; font-weight: 600; margin: 0 0 6px 0; }
.tp-legend .tp-row { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.tp-legend .tp-swatch { width: 14px; height: 14px; border-radius: 3px; flex: none;
  border: 1px solid rgba(0,0,0,0.25); }
.tp-legend .tp-dot { width: 10px; height: 10px; border-radius: 50%; flex: none;
  margin: 0 2px; border: 1px solid #fff; box-shadow: 0 0 0 1px rgba(0,0,0,0.35); }
.tp-legend .tp-line { width: 14px; height: 0; border-top: 2.5px solid #2b2b2b; flex: none; }
.tp-legend .tp-count { color: #666; margin-left: auto; padding-left: 8px; }
.tp-cluster { background: rgba(255,255,255,0.55); border-radius: 50%; }
.tp-cluster div { width: calc(100% - 6px); height: calc(100% - 6px); margin: 3px;
  border-radius: 50%; display: flex; align-items: center; justify-content: center;
  box-shadow: 0 0 0 1.5px #fff, 0 1px 3px rgba(0,0,0,0.45); }
.tp-cluster span { color: #fff; font-weight: 600; font-size: 12px;
  text-shadow: 0 0 2px rgba(0,0,0,0.6); }
.tp-rep-icon { background: #1f1f1f; border: 2px solid #fff; border-radius: 50%;
  box-shadow: 0 0 0 1px #1f1f1f, 0 1px 3px rgba(0,0,0,0.5); }
.tp-popup { font-size: 12.5px; line-height: 1.4; min-width: 180px; }
.tp-popup b { font-size: 13.5px; }
.tp-popup .tp-k { color: #666; }
.tp-popup .tp-sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 4px; vertical-align: -1px; }
"""


def base_map(
    bounds: Sequence[Sequence[float]] | None = None,
    *,
    tiles: TileSource = "none",
) -> folium.Map:
    """Return an empty map fitted to ``bounds`` with the chosen basemap and attribution.

    Parameters
    ----------
    bounds
        ``[[south, west], [north, east]]`` in degrees; a world view if ``None``.
    tiles
        ``"osm"`` for OpenStreetMap tiles, ``"none"`` for no basemap.
    """
    m = folium.Map(
        location=[0.0, 0.0] if bounds is None else None,
        zoom_start=2,
        tiles=None,
        control_scale=True,
    )
    # The map itself needs a maxZoom when it has no tile layer (marker clusters ask for it).
    m.options["max_zoom"] = 19
    # quarter zoom steps let fitBounds fill the frame instead of leaving wide margins
    m.options["zoom_snap"] = 0.25
    m.options["zoom_delta"] = 0.5
    if tiles == "osm":
        folium.TileLayer(
            tiles=OSM_TILE_URL,
            attr=OSM_ATTRIBUTION,
            name="OpenStreetMap",
            max_zoom=19,
            overlay=False,
            control=False,
        ).add_to(m)
    m.add_child(_Css(_MAP_CSS))
    add_osm_attribution(m)
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])], padding=(16, 16))
    return m


class _Attribution(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


def add_osm_attribution(m: folium.Map) -> None:
    """Show "© OpenStreetMap contributors" in the map's attribution control.

    The sample data (accounts, roads) comes from OpenStreetMap, so the credit
    is due even without OSM tiles.
    """
    m.add_child(_Attribution(OSM_ATTRIBUTION))


def add_units(
    m: folium.Map, units: gpd.GeoDataFrame, *, simplify_m: float = 15.0, name: str = "Units"
) -> folium.FeatureGroup | None:
    """Draw unit outlines (thin grey lines, not clickable) and return their layer."""
    style = {"color": "#8a8a8a", "weight": 0.6, "opacity": 0.8, "fill": False}
    return _context_layer(m, units, simplify_m=simplify_m, name=name, style=style, css="tp-unit")


def add_roads(
    m: folium.Map, roads: gpd.GeoDataFrame, *, name: str = "Roads"
) -> folium.FeatureGroup | None:
    """Draw road lines (context when there is no basemap) and return their layer."""
    style = {"color": "#ffffff", "weight": 2.0, "opacity": 0.85}
    return _context_layer(m, roads, simplify_m=5.0, name=name, style=style, css="tp-road")


def _context_layer(
    m: folium.Map,
    frame: gpd.GeoDataFrame,
    *,
    simplify_m: float,
    name: str,
    style: dict[str, Any],
    css: str,
) -> folium.FeatureGroup | None:
    """Draw ``frame``'s shapes as a non-interactive context layer; ``None`` when empty."""
    if frame.empty:
        return None
    shapes = _display_geometries(frame, simplify_m)
    data = gpd.GeoDataFrame(geometry=shapes[shapes.notna() & ~shapes.is_empty])
    group = folium.FeatureGroup(name=name, show=True)
    full_style = {**style, "interactive": False, "className": css}
    folium.GeoJson(
        data.to_json(drop_id=True),
        style_function=lambda _f: full_style,
        interactive=False,
        control=False,
    ).add_to(group)
    group.add_to(m)
    return group


def road_lines(network: RoadNetwork) -> gpd.GeoDataFrame:
    """Return a road network's streets as lines (one merged geometry) for drawing as context.

    Each road between two nodes is kept once, whatever its directions.

    Parameters
    ----------
    network
        A :class:`planner.routing.network.RoadNetwork`.
    """
    if network.n_edges == 0:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=s.STORAGE_CRS))
    a = np.minimum(network.edge_u, network.edge_v)
    b = np.maximum(network.edge_u, network.edge_v)
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    start = np.stack([network.lon[pairs[:, 0]], network.lat[pairs[:, 0]]], axis=1)
    end = np.stack([network.lon[pairs[:, 1]], network.lat[pairs[:, 1]]], axis=1)
    segments = shapely.linestrings(np.stack([start, end], axis=1))
    merged = shapely.line_merge(shapely.union_all(segments))
    return gpd.GeoDataFrame(geometry=[merged], crs=s.STORAGE_CRS)


def add_territories(
    m: folium.Map,
    territories: gpd.GeoDataFrame,
    *,
    colors: Mapping[str, str],
    account_counts: Mapping[str, int] | None = None,
    simplify_m: float = 15.0,
    name: str = "Territories",
) -> folium.FeatureGroup | None:
    """Fill leaf territories with their colour and outline their parents.

    Parameters
    ----------
    m
        The map.
    territories
        One scenario's territories (rows without a shape are skipped).
    colors
        Fill colour by territory id (leaves); see :func:`territory_colors`.
    account_counts
        Accounts per territory, shown in the tooltip.
    simplify_m
        Simplification tolerance in metres.
    name
        Layer name.
    """
    has_shape = territories.geometry.notna() & ~territories.geometry.is_empty
    terr = territories[has_shape]
    if terr.empty:
        return None
    leaves = set(leaf_territory_ids(territories))
    max_level = int(terr[s.LEVEL].max())
    counts = account_counts or {}
    props = pd.DataFrame(
        {
            "tid": terr[s.TERRITORY_ID].astype(str).to_numpy(),
            "leaf": terr[s.TERRITORY_ID].astype(str).isin(leaves).to_numpy(),
            "level": terr[s.LEVEL].astype(int).to_numpy(),
        }
    )
    labels = []
    for tid, tname, level_name in zip(
        props["tid"], terr[s.NAME].to_numpy(), terr[s.LEVEL_NAME].to_numpy(), strict=True
    ):
        title = escape_html(str(tname) if _present(tname) else tid)
        kind = escape_html(str(level_name)) if _present(level_name) else "territory"
        n = counts.get(tid)
        extra = f" · {n:,} accounts" if n is not None else ""
        labels.append(f"<b>{title}</b><br>{kind} {escape_html(tid)}{extra}")
    props["label"] = labels
    shapes = _display_geometries(terr, simplify_m)
    data = gpd.GeoDataFrame(props, geometry=shapes.to_numpy(), crs=s.STORAGE_CRS)
    group = folium.FeatureGroup(name=name, show=True)
    leaf_data = data[data["leaf"]]
    if len(leaf_data):

        def leaf_style(feature: dict[str, Any]) -> dict[str, Any]:
            color = colors.get(feature["properties"]["tid"], UNASSIGNED_COLOR)
            return {
                "color": color,
                "weight": 1.5,
                "opacity": 0.95,
                "fillColor": color,
                "fillOpacity": 0.3,
                "className": "tp-territory",
            }

        folium.GeoJson(
            leaf_data.to_json(drop_id=True),
            style_function=leaf_style,
            highlight_function=lambda _f: {"fillOpacity": 0.5, "weight": 3},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
            control=False,
        ).add_to(group)
    # parents on top as outlines that let clicks through to the leaves below
    parents = data[~data["leaf"]].sort_values("level", ascending=False)
    if len(parents):
        folium.GeoJson(
            parents.to_json(drop_id=True),
            style_function=lambda f: {
                **parent_outline_style(int(f["properties"]["level"]), max_level),
                "fill": False,
                "interactive": False,
                "className": "tp-territory-parent",
            },
            interactive=False,
            control=False,
        ).add_to(group)
    group.add_to(m)
    return group


def parent_outline_style(level: int, max_level: int) -> dict[str, Any]:
    """Return the outline style of a parent territory at ``level`` in a tree ``max_level`` deep.

    Higher levels (regions) get heavier lines; the levels between the top and
    the leaves are dashed.
    """
    depth = max(max_level - level, 1)
    return {
        "color": _PARENT_OUTLINE,
        "weight": round(1.3 + 1.2 * depth, 1),
        "opacity": 0.9,
        "dashArray": "7 5" if level > 0 else None,
    }


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value) != ""


def _fmt_number(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    return f"{x:,.0f}"


class _PointLayer(JSCSSMixin, Layer):
    """Many circle markers from a compact JSON array, optionally clustered.

    Popups are built lazily in the browser from fields escaped in Python, so
    a few thousand accounts cost a few hundred kilobytes, not megabytes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.payload }};
            function clusterIcon(cluster) {
                // the colour of the territory most of the cluster's accounts belong to
                var kids = cluster.getAllChildMarkers(), tally = {}, best = null;
                for (var k = 0; k < kids.length; k++) {
                    var c = kids[k].options.fillColor;
                    tally[c] = (tally[c] || 0) + 1;
                    if (best === null || tally[c] > tally[best]) { best = c; }
                }
                var n = cluster.getChildCount();
                var size = n < 10 ? 28 : n < 100 ? 34 : 40;
                return L.divIcon({
                    html: '<div style="background:' + best + '"><span>' + n + '</span></div>',
                    className: 'marker-cluster tp-cluster',
                    iconSize: L.point(size, size)
                });
            }
            var group = d.cluster
                ? L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false,
                                        disableClusteringAtZoom: 16, maxClusterRadius: 45,
                                        iconCreateFunction: clusterIcon})
                : L.featureGroup();
            var fields = d.fields;
            function popup(r) {
                var t = d.territories[r[2]];
                var out = '<div class="tp-popup"><b>' + r[3] + '</b>';
                for (var i = 0; i < fields.length; i++) {
                    var v = r[4 + i];
                    if (v !== '') {
                        out += '<br><span class="tp-k">' + fields[i] + ':</span> ' + v;
                    }
                }
                out += '<br><span class="tp-k">Territory:</span> '
                    + '<span class="tp-sw" style="background:' + d.colors[r[2]] + '"></span>'
                    + t + '</div>';
                return out;
            }
            for (var i = 0; i < d.rows.length; i++) {
                (function (r) {
                    var mk = L.circleMarker([r[0], r[1]], {
                        radius: d.radius, color: '#ffffff', weight: 1, opacity: 0.9,
                        fillColor: d.colors[r[2]], fillOpacity: 0.95, className: d.className
                    });
                    mk.bindPopup(function () { return popup(r); }, {maxWidth: 320});
                    group.addLayer(mk);
                })(d.rows[i]);
            }
            return group;
        })();
        {% endmacro %}
        """
    )

    # folium's JSCSSMixin declares these as plain attributes, so no ClassVar here
    default_js: list[tuple[str, str]] = [  # noqa: RUF012
        (
            "markerclusterjs",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
            "leaflet.markercluster.js",
        )
    ]
    default_css: list[tuple[str, str]] = [  # noqa: RUF012
        (
            "markerclustercss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
        ),
        (
            "markerclusterdefaultcss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
            "MarkerCluster.Default.css",
        ),
    ]

    def __init__(self, payload: dict[str, Any], *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PointLayer"
        # '</' cannot end the <script> early; all text is html-escaped already.
        self.payload = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")


def add_accounts(
    m: folium.Map,
    accounts: gpd.GeoDataFrame,
    *,
    territory_of: Mapping[str, str] | pd.Series,
    colors: Mapping[str, str],
    territory_names: Mapping[str, str] | None = None,
    cluster_threshold: int = 1500,
    name: str = "Accounts",
) -> int:
    """Draw accounts as circle markers coloured by territory, with popups; return how many.

    Parameters
    ----------
    m
        The map.
    accounts
        The accounts (rows without a location are skipped).
    territory_of
        Territory id by account id (see :func:`primary_territory`).
    colors
        Colour by territory id; other accounts are grey.
    territory_names
        Display name by territory id.
    cluster_threshold
        Cluster the markers when there are more accounts than this.
    name
        Layer name.
    """
    geoms = accounts.geometry
    ok = geoms.notna() & ~geoms.is_empty
    acc = accounts[ok]
    if acc.empty:
        return 0
    if acc.crs is not None and not acc.crs.equals(s.STORAGE_CRS):
        acc = acc.to_crs(s.STORAGE_CRS)
    names = territory_names or {}
    owner = (
        pd.Series(territory_of, dtype=object)
        if not isinstance(territory_of, pd.Series)
        else (territory_of)
    )
    ids = acc[s.ACCOUNT_ID].astype(str)
    tids = ids.map(owner)
    keys = sorted({str(t) for t in tids.dropna()})
    index = {t: i for i, t in enumerate(keys)}
    terr_labels = [escape_html(str(names.get(t) or t)) for t in keys] + ["(none)"]
    terr_colors = [colors.get(t, UNASSIGNED_COLOR) for t in keys] + [UNASSIGNED_COLOR]
    none_index = len(keys)
    xs = np.round(acc.geometry.x.to_numpy(), 6)
    ys = np.round(acc.geometry.y.to_numpy(), 6)
    fields = [
        ("Address", s.ADDRESS),
        ("Industry", s.INDUSTRY),
        ("Annual revenue", s.ANNUAL_REVENUE),
        ("Account id", s.ACCOUNT_ID),
    ]
    columns = {}
    for label, col in fields:
        if col not in acc.columns:
            columns[label] = [""] * len(acc)
        elif col == s.ANNUAL_REVENUE:
            columns[label] = [_fmt_number(v) for v in acc[col].to_numpy()]
        else:
            columns[label] = [escape_html(str(v)) if _present(v) else "" for v in acc[col]]
    title = [
        escape_html(str(n)) if _present(n) else escape_html(str(i))
        for n, i in zip(acc[s.NAME].to_numpy(), ids.to_numpy(), strict=True)
    ]
    rows = []
    for k in range(len(acc)):
        t = tids.iloc[k]
        ci = index[str(t)] if isinstance(t, str) and t in index else none_index
        rows.append([float(ys[k]), float(xs[k]), ci, title[k], *(columns[f][k] for f, _ in fields)])
    payload = {
        "cluster": len(rows) > cluster_threshold,
        "radius": 5 if len(rows) <= 2000 else 4,
        "className": "tp-account",
        "fields": [f for f, _ in fields],
        "territories": terr_labels,
        "colors": terr_colors,
        "rows": rows,
    }
    m.add_child(_PointLayer(payload, name=name))
    return len(rows)


def add_reps(m: folium.Map, reps: gpd.GeoDataFrame, *, name: str = "Reps") -> int:
    """Draw each rep's home base as a dark round marker with a tooltip; return how many."""
    geoms = reps.geometry
    ok = geoms.notna() & ~geoms.is_empty
    r = reps[ok]
    if r.empty:
        return 0
    if r.crs is not None and not r.crs.equals(s.STORAGE_CRS):
        r = r.to_crs(s.STORAGE_CRS)
    group = folium.FeatureGroup(name=name, show=True)
    for rid, rname, role, cap, pt in zip(
        r[s.REP_ID].astype(str),
        r[s.NAME].to_numpy(),
        r[s.ROLE].to_numpy(),
        r[s.CAPACITY_H_PER_WEEK].to_numpy(),
        r.geometry,
        strict=True,
    ):
        label = escape_html(str(rname) if _present(rname) else rid)
        detail = f"{escape_html(str(role))} {escape_html(rid)}"
        if _present(cap):
            detail += f" · {float(cap):g} h/week"
        folium.Marker(
            [float(pt.y), float(pt.x)],
            icon=folium.DivIcon(
                html="", icon_size=(14, 14), icon_anchor=(7, 7), class_name="tp-rep-icon"
            ),
            tooltip=f"<b>{label}</b><br>{detail}<br>home base",
        ).add_to(group)
    group.add_to(m)
    return len(r)


class _Legend(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var d = {{ this.payload }};
            var legend = L.control({position: d.position});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'tp-legend');
                var out = '<h4>' + d.title + '</h4>';
                for (var i = 0; i < d.items.length; i++) {
                    var it = d.items[i];
                    var mark = it.kind === 'dot'
                        ? '<span class="tp-dot" style="background:' + it.color + '"></span>'
                        : it.kind === 'line' ? '<span class="tp-line" style="border-top:'
                            + it.weight + 'px ' + (it.dashed ? 'dashed' : 'solid') + ' '
                            + it.color + '"></span>'
                        : it.kind === 'rep'
                            ? '<span class="tp-dot" style="background:#1f1f1f"></span>'
                        : '<span class="tp-swatch" style="background:' + it.color + '"></span>';
                    out += '<div class="tp-row">' + mark + '<span>' + it.label + '</span>'
                        + (it.count !== '' ? '<span class="tp-count">' + it.count + '</span>' : '')
                        + '</div>';
                }
                div.innerHTML = out;
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Legend"
        self.payload = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")


@dataclass(frozen=True)
class LegendRow:
    """A non-swatch row of the legend.

    Parameters
    ----------
    kind
        ``"dot"`` (an account marker), ``"line"`` (an outline) or ``"rep"`` (a rep marker).
    label
        Plain text.
    color
        Colour of the dot or line.
    weight
        Line width in pixels (lines).
    dashed
        Dashed line (lines).
    """

    kind: Literal["dot", "line", "rep"]
    label: str
    color: str = UNASSIGNED_COLOR
    weight: float = 2.5
    dashed: bool = False


def add_legend(
    m: folium.Map,
    items: Sequence[tuple[str, str, int | None]],
    *,
    title: str = "Territories",
    extra: Sequence[LegendRow] = (),
    position: Literal["topright", "bottomright", "bottomleft", "topleft"] = "bottomright",
) -> None:
    """Add a legend box (a Leaflet control) listing colours and labels.

    Parameters
    ----------
    m
        The map.
    items
        ``(label, colour, count or None)`` per swatch; labels are plain text.
    title
        Heading, plain text.
    extra
        Rows after the swatches (outlines, markers).
    position
        Corner of the map.
    """
    rows: list[dict[str, Any]] = [
        {
            "kind": "swatch",
            "label": escape_html(label),
            "color": color,
            "count": "" if count is None else f"{count:,}",
        }
        for label, color, count in items
    ]
    for row in extra:
        rows.append(
            {
                "kind": row.kind,
                "label": escape_html(row.label),
                "color": row.color,
                "weight": row.weight,
                "dashed": row.dashed,
                "count": "",
            }
        )
    m.add_child(_Legend({"title": escape_html(title), "items": rows, "position": position}))


def workspace_map(
    workspace: Workspace,
    scenario_id: str | None = None,
    *,
    options: MapOptions | None = None,
    roads: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw one scenario of a workspace: units, territories, accounts, reps and a legend.

    Parameters
    ----------
    workspace
        The workspace.
    scenario_id
        The scenario; the active one by default.
    options
        What to draw and how; see :class:`MapOptions`.
    roads
        Road lines to draw for context (worth it when ``options.tiles`` is ``"none"``).

    Returns
    -------
    folium.Map
        The map, its assets already pointing at ``options.asset_base_url``.
    """
    opts = options or MapOptions()
    sid = scenario_id or workspace.active_scenario_id()
    terr = workspace.territories(sid)
    accounts = workspace.accounts
    units = workspace.units
    bounds = _bounds(accounts, terr, units if terr.empty else None)
    simplify_m = opts.simplify_m if opts.simplify_m is not None else _auto_tolerance_m(bounds)
    m = base_map(bounds, tiles=opts.tiles)
    if opts.show_units and not units.empty:
        add_units(m, units, simplify_m=simplify_m)
    leaves = leaf_territory_ids(terr)
    shapes = gpd.GeoSeries(terr.geometry.to_numpy(), index=terr[s.TERRITORY_ID].astype(str))
    colors = territory_colors(leaves, geometries=shapes)
    summary = territory_summary(workspace, sid) if len(terr) else None
    counts: dict[str, int] = (
        dict(zip(summary[s.TERRITORY_ID], summary["accounts"], strict=True))
        if summary is not None
        else {}
    )
    names = {
        str(t): (str(n) if _present(n) else str(t))
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
    }
    add_territories(m, terr, colors=colors, account_counts=counts, simplify_m=simplify_m)
    if roads is not None and not roads.empty:
        add_roads(m, roads)  # above the fills, below the markers; clicks pass through
    owner = primary_territory(workspace.memberships(sid), terr)
    n_accounts = 0
    if opts.show_accounts:
        n_accounts = add_accounts(
            m,
            accounts,
            territory_of=owner,
            colors=colors,
            territory_names=names,
            cluster_threshold=opts.cluster_threshold,
        )
    n_reps = add_reps(m, workspace.reps) if opts.show_reps else 0
    items = [(names[t], colors[t], counts.get(t)) for t in leaves]
    extra: list[LegendRow] = []
    unassigned = len(accounts) - int(accounts[s.ACCOUNT_ID].astype(str).isin(owner.index).sum())
    if opts.show_accounts and unassigned > 0:
        extra.append(LegendRow("dot", f"No territory ({unassigned:,} accounts)"))
    extra.extend(_outline_rows(terr, set(leaves)))
    if n_reps:
        extra.append(LegendRow("rep", "Rep home base"))
    if items or extra:
        add_legend(m, items, title="Territories" if items else "Legend", extra=extra)
    localize_assets(m, base_url=opts.asset_base_url)
    logger.debug(
        "map of %s/%s: %d territories, %d accounts, %d reps",
        workspace.name,
        sid,
        len(terr),
        n_accounts,
        n_reps,
    )
    return m


def _outline_rows(territories: pd.DataFrame, leaves: set[str]) -> list[LegendRow]:
    """Legend rows for the parent outlines, one per level ("Region boundary", ...)."""
    parents = territories[~territories[s.TERRITORY_ID].astype(str).isin(leaves)]
    if parents.empty:
        return []
    max_level = int(territories[s.LEVEL].max())
    rows = []
    for level_value, group in parents.groupby(s.LEVEL, sort=True):
        level = int(str(level_value))
        names = group[s.LEVEL_NAME].dropna().astype(str)
        names = names[names != ""]
        kind = names.mode().iloc[0] if len(names) else f"level {level}"
        style = parent_outline_style(level, max_level)
        rows.append(
            LegendRow(
                "line",
                f"{kind[:1].upper()}{kind[1:]} boundary",
                color=style["color"],
                weight=style["weight"],
                dashed=style["dashArray"] is not None,
            )
        )
    return rows


# -- charts ---------------------------------------------------------------------


def territory_bar_chart(
    summary: pd.DataFrame,
    *,
    value: str = "accounts",
    colors: Mapping[str, str] | None = None,
    leaves_only: bool = True,
) -> alt.Chart:
    """Return a horizontal bar chart of ``value`` per territory (an Altair chart).

    Parameters
    ----------
    summary
        A frame from :func:`territory_summary`.
    value
        The column to plot, e.g. ``"accounts"`` or ``"annual_revenue"``.
    colors
        Bar colour by territory id (the map's colours); one colour if ``None``.
    leaves_only
        Plot only leaf territories (their figures are not double counted).
    """
    import altair as alt  # the app's optional dependency

    if value not in summary.columns:
        raise InputError(
            f"territory_bar_chart: no column '{value}'",
            [Problem(f"unknown value '{value}'", fix=f"use one of {list(summary.columns)}")],
        )
    frame = summary[summary["is_leaf"]] if leaves_only else summary
    data = pd.DataFrame(
        {
            "territory": [
                str(n) if _present(n) else str(t)
                for n, t in zip(frame[s.NAME], frame[s.TERRITORY_ID], strict=True)
            ],
            "territory_id": frame[s.TERRITORY_ID].astype(str).to_numpy(),
            value: frame[value].to_numpy(),
        }
    )
    if colors:
        data["color"] = data["territory_id"].map(colors).fillna(UNASSIGNED_COLOR)
        color: Any = alt.Color("color:N", scale=None, legend=None)
    else:
        color = alt.value(PALETTE[0])
    title = value.replace("_", " ")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y("territory:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            color=color,
            tooltip=["territory", "territory_id", alt.Tooltip(f"{value}:Q", format=",.0f")],
        )
        .properties(height=max(160, 30 * len(data)))
    )
