"""Drive-time areas on a map: nested, see-through rings labelled with their minutes."""

from __future__ import annotations

import folium
import geopandas as gpd

__all__ = ["RING_COLORS", "add_isochrones"]

#: Fill colours, nearest ring first (a sequential blue scale).
RING_COLORS = ("#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef")


def add_isochrones(
    m: folium.Map, rings: gpd.GeoDataFrame, *, name: str = "Drive times"
) -> folium.FeatureGroup | None:
    """Draw the areas of :func:`planner.routing.isochrones.isochrones`, longest underneath.

    Each area shows its minutes and size on hover; estimated ones are drawn
    dashed and say so. ``None`` when there is nothing to draw.
    """
    if rings.empty:
        return None
    group = folium.FeatureGroup(name=name, show=True)
    ordered = rings.sort_values("minutes", ascending=False).reset_index(drop=True)
    n = len(ordered)
    for i, row in ordered.iterrows():
        color = RING_COLORS[min(n - 1 - int(i), len(RING_COLORS) - 1)]
        estimated = row["method"] == "estimate"
        label = f"{row['minutes']:g} min drive: {row['area_km2']:,.1f} km²" + (
            " (estimate: no road network)" if estimated else " (on the road network)"
        )
        style = {
            "color": color,
            "weight": 2,
            "fillColor": color,
            "fillOpacity": 0.18,
            "dashArray": "6 4" if estimated else None,
        }
        folium.GeoJson(
            gpd.GeoDataFrame(geometry=[row.geometry], crs=rings.crs).to_json(drop_id=True),
            style_function=lambda _f, style=style: style,
            tooltip=folium.Tooltip(label),
        ).add_to(group)
    group.add_to(m)
    return group
