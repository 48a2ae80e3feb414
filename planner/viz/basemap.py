"""The base of every map: frame, tiles, attribution, styles and context layers (units, roads)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from planner import schema as s
from planner.routing.network import RoadNetwork
from planner.viz.options import OSM_ATTRIBUTION, OSM_TILE_URL, TileSource

__all__ = [
    "add_osm_attribution",
    "add_roads",
    "add_units",
    "auto_tolerance_m",
    "base_map",
    "display_geometries",
    "is_fixed_element",
    "map_bounds",
    "road_lines",
]

_M_PER_DEGREE = 111_320.0


def display_geometries(frame: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoSeries:
    """Simplify and round shapes for drawing (about 1 m precision)."""
    geoms = frame.geometry
    if geoms.crs is not None and not geoms.crs.equals(s.STORAGE_CRS):
        geoms = geoms.to_crs(s.STORAGE_CRS)
    values = geoms.to_numpy()
    if simplify_m > 0:
        values = shapely.simplify(values, simplify_m / _M_PER_DEGREE, preserve_topology=True)
    values = shapely.set_precision(values, 1e-5)
    return gpd.GeoSeries(values, index=frame.index, crs=s.STORAGE_CRS)


def map_bounds(*frames: gpd.GeoDataFrame | None) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` around every shape of ``frames``; ``None`` if none."""
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


def auto_tolerance_m(bounds: list[list[float]] | None) -> float:
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
        # rounded to ~1 cm: the same view gives the same script (a map shown keeps its frame)
        corners = [[round(float(v), 7) for v in corner] for corner in bounds]
        m.fit_bounds(corners, padding=(16, 16))
    return m


def is_fixed_element(element: object) -> bool:
    """Whether ``element`` is part of the base map itself (its styles and attribution).

    Such elements live as long as the map; everything else added to it is a
    layer that may be redrawn in place (see ``ui.maps``).
    """
    return isinstance(element, _Css | _Attribution)


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
    shapes = display_geometries(frame, simplify_m)
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
