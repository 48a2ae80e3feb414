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

from planner.viz.assets import (
    ASSET_URLS,
    DEFAULT_ASSET_BASE_URL,
    VENDOR_FILES,
    asset_urls,
    localize_assets,
    map_html,
    missing_vendor_files,
)
from planner.viz.basemap import (
    add_osm_attribution,
    add_roads,
    add_units,
    base_map,
    is_fixed_element,
    road_lines,
)
from planner.viz.charts import territory_bar_chart
from planner.viz.density import add_density, density_grid
from planner.viz.legend import LegendRow, add_legend
from planner.viz.maps import workspace_map
from planner.viz.options import OSM_ATTRIBUTION, OSM_TILE_URL, MapOptions, TileSource
from planner.viz.places import add_place_labels, place_layer
from planner.viz.points import add_accounts, add_reps
from planner.viz.rings import add_isochrones
from planner.viz.summary import (
    PALETTE,
    UNASSIGNED_COLOR,
    leaf_territory_ids,
    primary_territory,
    territory_colors,
    territory_summary,
)
from planner.viz.territories import add_territories, parent_outline_style

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
    "add_density",
    "add_isochrones",
    "add_legend",
    "add_osm_attribution",
    "add_place_labels",
    "add_reps",
    "add_roads",
    "add_territories",
    "add_units",
    "asset_urls",
    "base_map",
    "density_grid",
    "is_fixed_element",
    "leaf_territory_ids",
    "localize_assets",
    "map_html",
    "missing_vendor_files",
    "parent_outline_style",
    "place_layer",
    "primary_territory",
    "road_lines",
    "territory_bar_chart",
    "territory_colors",
    "territory_summary",
    "workspace_map",
]
