"""The Map page's accounts in a large workspace: counts per map cell first, a view's accounts later.

The first render sends only the counts per cell at every zoom
(:func:`planner.viz.aggregate.overview`, cached per workspace version and
scenario); once the map shows a view with few accounts, its layer asks for
them (the map component's value :data:`planner.viz_fast.VIEW_KEY`, kept by
:func:`remember_view`), the page reruns and :func:`add_accounts` adds that
view's accounts
(:func:`planner.viz.aggregate.view_chunk`, cached per view). The map itself
stays: only its layers are replaced (``ui.maps.map_parts(..., split=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import streamlit as st

from planner import schema as s
from planner.errors import PlannerError
from planner.viz import leaf_territory_ids, primary_territory, territory_colors
from planner.viz.aggregate import MAX_ZOOM, AccountPoints, account_points, overview, view_chunk
from planner.viz_fast import DEEP_POINT_LIMIT, POINT_LIMIT, VIEW_KEY, add_account_layer
from planner.workspace import Workspace
from ui import keys
from ui.cache import Content

__all__ = ["add_accounts", "asked_view", "remember_view"]

#: A view: (south, west, north, east) and the zoom level.
View = tuple[tuple[float, float, float, float], int]


def _points(ws: Workspace, scenario_id: str) -> AccountPoints:
    terr = ws.territories(scenario_id)
    shapes = gpd.GeoSeries(terr.geometry.to_numpy(), index=terr[s.TERRITORY_ID].astype(str))
    colors = territory_colors(leaf_territory_ids(terr), geometries=shapes)
    names = {
        str(t): str(n) if isinstance(n, str) and n else str(t)
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
    }
    owner = primary_territory(ws.memberships(scenario_id), terr)
    return account_points(ws.accounts, territory_of=owner, colors=colors, territory_names=names)


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_points(content: Content, scenario_id: str, _ws: Workspace) -> AccountPoints:
    del content  # only part of the cache key
    return _points(_ws, scenario_id)


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_overview(content: Content, scenario_id: str, _pts: AccountPoints) -> dict[str, Any]:
    del content, scenario_id  # only part of the cache key
    return overview(_pts)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_chunk(
    content: Content, scenario_id: str, view: View, _pts: AccountPoints
) -> dict[str, Any]:
    del content, scenario_id  # only part of the cache key
    return _chunk(_pts, view)


def _chunk(points: AccountPoints, view: View) -> dict[str, Any]:
    """The accounts of ``view``: dots up to the layer's limit (more at the deepest zoom)."""
    limit = DEEP_POINT_LIMIT if view[1] >= MAX_ZOOM else POINT_LIMIT
    return view_chunk(points, view[0], view[1], limit=limit)


def remember_view(what: str) -> Callable[[dict[str, Any]], None]:
    """The map component's ``on_change`` for the map ``what``: keeps the view its layer asks.

    The layer sets the component's value (:data:`planner.viz_fast.VIEW_KEY`);
    other reports of the map (a drawing) do not carry it, so the page keeps
    the last view asked for (:func:`asked_view`).
    """

    def remember(value: dict[str, Any]) -> None:
        view = _parsed((value or {}).get(VIEW_KEY))
        if view is not None:
            st.session_state[keys.MAP_VIEW] = (what, view)

    return remember


def asked_view(what: str) -> View | None:
    """The view the account layer of the map ``what`` last asked for, if any."""
    kept = st.session_state.get(keys.MAP_VIEW)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == what:
        return _parsed({"bounds": kept[1][0], "zoom": kept[1][1]})
    return None


def _parsed(asked: object) -> View | None:
    """``{"bounds": [s, w, n, e], "zoom": z}`` as a view; ``None`` for anything else."""
    if not isinstance(asked, dict):
        return None
    bounds, zoom = asked.get("bounds"), asked.get("zoom")
    try:
        box = tuple(float(v) for v in bounds)  # type: ignore[union-attr]
        return (box[0], box[1], box[2], box[3]), int(zoom)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None


def add_accounts(
    m: folium.Map, content: Content | None, ws: Workspace, scenario_id: str, what: str
) -> int:
    """Add the accounts' layer to ``m``: counts per cell, and the accounts of the view asked for.

    ``content`` keys the caches (``None``: a user's restricted copy, computed
    afresh); ``what`` names the map (a view asked on another map is not used).
    Returns how many accounts the layer holds.
    """
    if content is None:
        points = _points(ws, scenario_id)
        summary = overview(points)
    else:
        points = _cached_points(content, scenario_id, ws)
        summary = _cached_overview(content, scenario_id, points)
    chunk = None
    view = asked_view(what)
    if view is not None:
        try:
            chunk = (
                _chunk(points, view)
                if content is None
                else _cached_chunk(content, scenario_id, view, points)
            )
        except PlannerError:  # a view the map never sends: draw the counts only
            chunk = None
    return add_account_layer(m, summary, chunk)
