"""Place-name labels drawn on the map itself, so an offline map still says where it is.

Finding the places reads every account's place name (a second for 100,000
accounts), so :func:`place_layer` keeps its last few answers, keyed by a
digest of what they depend on: the bounds, the limit, the accounts'
positions and place names, and the shapes they must fall in.
"""

from __future__ import annotations

import hashlib
import html
import math
import threading
from collections import OrderedDict

import folium
import geopandas as gpd
import shapely

from planner import schema as s
from planner.geo.places import CITY_COLUMNS, place_labels

__all__ = ["add_place_labels", "place_layer"]

#: Labels keep at least this fraction of the map's diagonal between them.
_GAPS_PER_DIAGONAL = 28
#: Label font size (px) by tier: 1 = the biggest places.
_FONT_PX = {1: 15, 2: 13, 3: 11}
_LABEL_CSS = (
    "white-space:nowrap;font:600 {px}px/1.1 system-ui,sans-serif;color:#3b3b3b;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;pointer-events:none;"
    "transform:translate(-50%,-50%);display:inline-block"
)


def place_layer(
    bounds: list[list[float]] | None,
    accounts: gpd.GeoDataFrame | None = None,
    *,
    within: gpd.GeoDataFrame | None = None,
    limit: int = 40,
) -> gpd.GeoDataFrame:
    """The places to label inside a map's ``[[south, west], [north, east]]`` bounds.

    With ``within`` (the units or territories), only places inside one of
    its shapes are kept: a map of Georgia names Georgia's cities, not
    those of the neighbouring states inside its frame. The last answers
    are kept (see the module): the same map drawn again finds them at once.
    """
    if bounds is None:
        return place_labels((0.0, 0.0, 0.0, 0.0), limit=0)
    key = (tuple(map(tuple, bounds)), limit, _digest(accounts), _digest(within))
    with _LOCK:
        known = _KEPT.get(key)
        if known is not None:
            _KEPT.move_to_end(key)
            return known.copy()
    kept = _place_layer(bounds, accounts, within, limit)
    with _LOCK:
        _KEPT[key] = kept.copy()
        while len(_KEPT) > _KEEP:
            _KEPT.popitem(last=False)
    return kept


#: How many answers :func:`place_layer` keeps.
_KEEP = 16
_KEPT: OrderedDict[tuple[object, ...], gpd.GeoDataFrame] = OrderedDict()
_LOCK = threading.Lock()


def _digest(frame: gpd.GeoDataFrame | None) -> str | None:
    """A digest of the shapes of ``frame`` and the columns place names are read from."""
    if frame is None:
        return None
    h = hashlib.blake2b(digest_size=16)
    geoms = frame.geometry.to_numpy()
    h.update(f"{len(frame)}|{frame.crs}|{list(frame.columns)}".encode())
    h.update(shapely.get_num_coordinates(geoms).tobytes())
    h.update(shapely.get_coordinates(geoms).tobytes())
    for column in (*CITY_COLUMNS, s.ADDRESS):
        if column in frame.columns:  # one join of the texts: faster than hashing each
            texts = frame[column].astype(object).to_numpy()
            h.update("\u001f".join(map(str, texts)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _place_layer(
    bounds: list[list[float]],
    accounts: gpd.GeoDataFrame | None,
    within: gpd.GeoDataFrame | None,
    limit: int,
) -> gpd.GeoDataFrame:
    (south, west), (north, east) = bounds
    box = (west, south, east, north)
    found = place_labels(box, accounts=accounts, limit=limit * 5)
    if within is not None and not within.empty and not found.empty:
        shapes = within.to_crs(found.crs) if within.crs != found.crs else within
        hits = shapes.sindex.query(found.geometry, predicate="intersects")
        found = found.iloc[sorted(set(hits[0].tolist()))]
    gap = math.hypot(east - west, north - south) / _GAPS_PER_DIAGONAL
    kept = _spaced(found, gap).head(limit).reset_index(drop=True)
    kept["rank"] = range(1, len(kept) + 1)
    return kept


def _spaced(places: gpd.GeoDataFrame, gap: float) -> gpd.GeoDataFrame:
    """Keep places biggest first, dropping any closer than ``gap`` degrees to one kept."""
    xs, ys = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    keep: list[int] = []
    for i in range(len(places)):
        if all(math.hypot(xs[i] - xs[j], ys[i] - ys[j]) >= gap for j in keep):
            keep.append(i)
    return places.iloc[keep]


def add_place_labels(
    m: folium.Map, places: gpd.GeoDataFrame, *, name: str = "Place names"
) -> folium.FeatureGroup | None:
    """Write each place's name at its position (bigger for bigger places); ``None`` if none.

    The labels are text, not markers: they take no clicks, so the
    territories and accounts under them stay clickable.
    """
    if places.empty:
        return None
    group = folium.FeatureGroup(name=name, show=True)
    for row in places.itertuples(index=False):
        px = _FONT_PX.get(int(getattr(row, "tier", 3)), 11)
        text = html.escape(str(row.name))
        folium.Marker(
            location=[row.geometry.y, row.geometry.x],
            icon=folium.DivIcon(
                html=f'<span class="tp-place" style="{_LABEL_CSS.format(px=px)}">{text}</span>',
                icon_size=(0, 0),
                class_name="tp-place-icon",
            ),
            interactive=False,
            keyboard=False,
        ).add_to(group)
    group.add_to(m)
    return group
