"""Territory layers: leaf territories filled with their colour, parents outlined by level."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.export.safety import escape_html
from planner.viz.basemap import display_geometries
from planner.viz.legend import LegendRow
from planner.viz.summary import UNASSIGNED_COLOR, is_shown, leaf_territory_ids

__all__ = ["add_territories", "outline_rows", "parent_outline_style"]

_PARENT_OUTLINE = "#2b2b2b"


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
    data = _features(terr, leaves, account_counts or {}, simplify_m)
    group = folium.FeatureGroup(name=name, show=True)
    _add_leaf_fills(group, data[data["leaf"]], colors)
    # parents on top as outlines that let clicks through to the leaves below
    _add_parent_outlines(group, data[~data["leaf"]], int(terr[s.LEVEL].max()))
    group.add_to(m)
    return group


def _features(
    terr: gpd.GeoDataFrame, leaves: set[str], counts: Mapping[str, int], simplify_m: float
) -> gpd.GeoDataFrame:
    """One feature per territory: id, leaf or not, level, tooltip label and display shape."""
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
        title = escape_html(str(tname) if is_shown(tname) else tid)
        kind = escape_html(str(level_name)) if is_shown(level_name) else "territory"
        n = counts.get(tid)
        extra = f" · {n:,} accounts" if n is not None else ""
        labels.append(f"<b>{title}</b><br>{kind} {escape_html(tid)}{extra}")
    props["label"] = labels
    shapes = display_geometries(terr, simplify_m)
    return gpd.GeoDataFrame(props, geometry=shapes.to_numpy(), crs=s.STORAGE_CRS)


def _add_leaf_fills(
    group: folium.FeatureGroup, leaf_data: gpd.GeoDataFrame, colors: Mapping[str, str]
) -> None:
    if not len(leaf_data):
        return

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


def _add_parent_outlines(
    group: folium.FeatureGroup, parent_data: gpd.GeoDataFrame, max_level: int
) -> None:
    parents = parent_data.sort_values("level", ascending=False)
    if not len(parents):
        return
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


def outline_rows(territories: pd.DataFrame, leaves: set[str]) -> list[LegendRow]:
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
