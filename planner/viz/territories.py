"""Territory layers: leaf territories filled with their colour, parents outlined by level."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from shapely.geometry import mapping

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
    leaves = set(leaf_territory_ids(territories))
    features = _features(territories, leaves, account_counts or {}, simplify_m)
    if not features:
        return None
    group = folium.FeatureGroup(name=name, show=True)
    _add_leaf_fills(group, [f for f in features if f["properties"]["leaf"]], colors)
    # parents on top as outlines that let clicks through to the leaves below
    max_level = max(int(f["properties"]["level"]) for f in features)
    _add_parent_outlines(group, [f for f in features if not f["properties"]["leaf"]], max_level)
    group.add_to(m)
    return group


def _features(
    terr: gpd.GeoDataFrame, leaves: set[str], counts: Mapping[str, int], simplify_m: float
) -> list[dict[str, Any]]:
    """One GeoJSON feature per territory with a shape: id, leaf or not, level, tooltip label.

    Plain dictionaries (a few territories: pandas' and geopandas' per-call
    costs would outweigh the work), as ``GeoDataFrame.to_json`` writes them.
    """
    shapes = display_geometries(terr, simplify_m).to_numpy()
    features = []
    for tid, tname, level, level_name, shape in zip(
        terr[s.TERRITORY_ID].astype(str).to_numpy(),
        terr[s.NAME].to_numpy(),
        terr[s.LEVEL].astype(int).to_numpy(),
        terr[s.LEVEL_NAME].to_numpy(),
        shapes,
        strict=True,
    ):
        if shape is None or shape.is_empty:
            continue
        title = escape_html(str(tname) if is_shown(tname) else tid)
        kind = escape_html(str(level_name)) if is_shown(level_name) else "territory"
        n = counts.get(tid)
        extra = f" · {n:,} accounts" if n is not None else ""
        props = {
            "tid": str(tid),
            "leaf": tid in leaves,
            "level": int(level),
            "label": f"<b>{title}</b><br>{kind} {escape_html(tid)}{extra}",
        }
        features.append({"type": "Feature", "properties": props, "geometry": mapping(shape)})
    return features


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _add_leaf_fills(
    group: folium.FeatureGroup, leaf_data: list[dict[str, Any]], colors: Mapping[str, str]
) -> None:
    if not leaf_data:
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
        _collection(leaf_data),
        style_function=leaf_style,
        highlight_function=lambda _f: {"fillOpacity": 0.5, "weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        control=False,
    ).add_to(group)


def _add_parent_outlines(
    group: folium.FeatureGroup, parent_data: list[dict[str, Any]], max_level: int
) -> None:
    if not parent_data:
        return
    parents = sorted(parent_data, key=lambda f: -int(f["properties"]["level"]))  # deepest first
    folium.GeoJson(
        _collection(parents),
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
    ids = territories[s.TERRITORY_ID].astype(str).to_numpy()
    levels = territories[s.LEVEL].to_numpy()
    names_by_level: dict[int, list[str]] = {}
    for tid, level, kind in zip(ids, levels, territories[s.LEVEL_NAME].to_numpy(), strict=True):
        if tid not in leaves:
            names_by_level.setdefault(int(level), []).extend([str(kind)] if is_shown(kind) else [])
    if not names_by_level:
        return []
    max_level = int(max(levels))
    rows = []
    for level in sorted(names_by_level):
        kind = _most_common(names_by_level[level]) or f"level {level}"
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


def _most_common(names: list[str]) -> str | None:
    """The most frequent name; of several as frequent, the first in sorted order."""
    if not names:
        return None
    counts = Counter(names)
    top = max(counts.values())
    return min(n for n, c in counts.items() if c == top)
