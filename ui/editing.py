"""Streamlit glue for editing territories: the session's user and rights, maps, one-shot messages.

The edits themselves (drawn shapes, unit clicks, hierarchy moves, the
tables and the list of problems) live in :mod:`planner.edit`, which the
pages call directly. This module holds what needs the session: the
signed-in user, the access check with the session's scope, the cached
assignment, messages that survive a rerun and map interaction bookkeeping;
plus the folium maps of the editing pages (they stay here rather than in
:mod:`planner.viz` because they build on :mod:`planner.edit`, which itself
uses :mod:`planner.viz`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import shapely
import streamlit as st
from folium.plugins import Draw
from shapely.geometry.base import BaseGeometry
from streamlit.runtime.scriptrunner import get_script_run_ctx

from planner import edit, viz
from planner import schema as s
from planner.edit import EditOutcome, Trouble
from planner.errors import InputError, PlannerError
from planner.geo.assign import Assignment
from planner.viz.basemap import auto_tolerance_m, map_bounds
from planner.workspace import Workspace
from ui import auth, cache, keys, maps, state
from ui.maps import MapParts

__all__ = [
    "MapMode",
    "can_edit",
    "current_assignment",
    "current_user",
    "drawing_signature",
    "edit_map_parts",
    "first_time",
    "problem_map",
    "remember",
    "remember_error",
    "remember_warning",
    "require_edit",
    "rerun_fragment",
    "show_error",
    "show_flash",
    "take_flash",
]

MapMode = Literal["draw", "edit", "units"]

_SELECTED_COLOR = "#111111"
_PROBLEM_COLOR = "#d62728"


# --------------------------------------------------------------------------- maps


def _outline(
    m: folium.Map,
    geometry: BaseGeometry,
    *,
    color: str,
    class_name: str,
    weight: float = 3.5,
    dash: str | None = "8 5",
) -> None:
    """Draw a non-clickable outline of ``geometry``."""
    data = gpd.GeoDataFrame(geometry=gpd.GeoSeries([geometry], crs=s.STORAGE_CRS))
    folium.GeoJson(
        data.to_json(drop_id=True),
        style_function=lambda _f: {
            "color": color,
            "weight": weight,
            "opacity": 1.0,
            "fill": False,
            "dashArray": dash,
            "interactive": False,
            "className": class_name,
        },
        interactive=False,
        control=False,
    ).add_to(m)


def _for_display(geoms: np.ndarray) -> np.ndarray:
    """Simplify shapes for drawing (1/4000 of the area's diagonal) and round them to ~1 m."""
    west, south, east, north = shapely.total_bounds(geoms)
    tolerance = float(np.hypot(east - west, north - south)) / 4000.0
    if np.isfinite(tolerance) and tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    return np.asarray(shapely.set_precision(geoms, 1e-5), dtype=object)


def _clickable_units(
    m: folium.Map,
    units: gpd.GeoDataFrame,
    owner: Mapping[str, str],
    selected: str | None,
    color: str,
) -> None:
    """Unit outlines that can be clicked; the selected territory's units are filled."""
    shapes = units.to_crs(s.STORAGE_CRS) if units.crs is not None else units
    ids = units[s.UNIT_ID].astype(str)
    names = units[s.NAME].tolist() if s.NAME in units.columns else [None] * len(units)
    labels = []
    for uid, name in zip(ids, names, strict=True):
        title = html.escape(str(name)) if isinstance(name, str) and name else html.escape(uid)
        where = owner.get(uid)
        labels.append(
            f"<b>{title}</b><br>unit {html.escape(uid)} · "
            f"{html.escape(where) if where else 'no territory'}"
        )
    data = gpd.GeoDataFrame(
        {"uid": ids.to_numpy(), "mine": [owner.get(u) == selected for u in ids], "label": labels},
        geometry=_for_display(np.asarray(shapes.geometry.values, dtype=object)),
        crs=s.STORAGE_CRS,
    )

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        mine = bool(feature["properties"]["mine"])
        return {
            "color": color if mine else "#6f6f6f",
            "weight": 1.6 if mine else 0.8,
            "fillColor": color,
            "fillOpacity": 0.35 if mine else 0.02,
            "className": "tp-edit-unit tp-edit-unit-mine" if mine else "tp-edit-unit",
        }

    folium.GeoJson(
        data.to_json(drop_id=True),
        style_function=style,
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        control=False,
    ).add_to(m)


def _editable_shape(m: folium.Map, geometry: BaseGeometry, color: str) -> folium.FeatureGroup:
    """Put a territory's shape in a feature group Leaflet.draw can edit (one polygon per part)."""
    group = folium.FeatureGroup(name="Editable shape", control=False)
    for part in shapely.get_parts(shapely.orient_polygons(geometry)):
        if part.geom_type != "Polygon":
            continue
        rings = [part.exterior, *part.interiors]
        locations = [[[float(y), float(x)] for x, y in ring.coords] for ring in rings]
        folium.Polygon(
            locations if len(locations) > 1 else locations[0],
            color=color,
            weight=3,
            fill=True,
            fill_opacity=0.15,
            class_name="tp-edit-shape",
        ).add_to(group)
    group.add_to(m)
    return group


def edit_map_parts(
    ws: Workspace,
    scenario_id: str,
    *,
    mode: MapMode,
    selected: str | None,
    options: viz.MapOptions,
    zoom_to_selected: bool = False,
) -> MapParts:
    """Return the editing map: the scenario's territories and accounts plus the tools of ``mode``.

    ``draw``: Leaflet.draw's polygon and rectangle tools. ``edit``: the
    selected territory's shape, editable with Leaflet.draw's edit tool.
    ``units``: clickable unit outlines, the selected territory's filled.
    The selected territory is outlined, except while drawing unzoomed.

    The map is put together from parts rendered and cached apart
    (:func:`ui.maps.compose`): the tools of the mode (per version, mode
    and selection), the scenario's territories, accounts and legend (per
    version, shared by every mode), the units' outlines and the place names
    (per units and accounts: they outlive edits). A mode switch renders
    only the tools; a unit click the tools and the territories.
    """
    content = state.content_key(ws)
    terr = ws.territories(scenario_id)
    bounds = map_bounds(ws.accounts, terr, ws.units if terr.empty else None)
    tools = cache.map_parts(
        content,
        f"edit-tools|{scenario_id}|{mode}|{selected}|{zoom_to_selected}|{options.tiles}",
        lambda: _tools_map(ws, scenario_id, bounds, mode, selected, options, zoom_to_selected),
        split=True,
    )  # fmt: skip
    scene = cache.map_parts(
        content,
        f"edit-scene|{scenario_id}|{options!r}",
        lambda: viz.workspace_map(
            ws,
            scenario_id,
            options=replace(options, show_units=False, show_places=False),
            owner=cache.owners(ws, scenario_id),
        ),
        split=True,
    )
    under = [scene]  # the tools' layers stay on top: the unit outlines take the clicks
    if options.show_places:
        under.append(_places(ws, scenario_id, terr, bounds))
    if mode != "units" and options.show_units and not ws.units.empty:
        under.insert(0, _unit_outlines(ws, bounds, options))  # below the territories
    return maps.compose(tools, *under)


def _places(
    ws: Workspace, scenario_id: str, terr: gpd.GeoDataFrame, bounds: list[list[float]] | None
) -> MapParts:
    """The place names inside the units (else the territories), as :func:`viz.workspace_map`."""
    units = ws.units
    within = units if not units.empty else terr
    frames = (ws.accounts, units if not units.empty else ws.tables["territories"])

    def build() -> folium.Map:
        m = viz.base_map(bounds)
        viz.add_place_labels(m, viz.place_layer(bounds, ws.accounts, within=within))
        return m

    return cache.parts_of_frames(f"edit-places|{scenario_id}|{bounds}", frames, build)


def _unit_outlines(
    ws: Workspace, bounds: list[list[float]] | None, options: viz.MapOptions
) -> MapParts:
    """The units' thin grey outlines (they depend on the units only)."""
    simplify_m = options.simplify_m if options.simplify_m is not None else auto_tolerance_m(bounds)

    def build() -> folium.Map:
        m = viz.base_map(bounds)
        viz.add_units(m, ws.units, simplify_m=simplify_m)
        return m

    return cache.parts_of_frames(f"edit-units|{simplify_m}", (ws.units,), build)


def _tools_map(
    ws: Workspace,
    scenario_id: str,
    bounds: list[list[float]] | None,
    mode: MapMode,
    selected: str | None,
    options: viz.MapOptions,
    zoom_to_selected: bool,
) -> folium.Map:
    """The map itself with the tools of ``mode`` and the selection (see :func:`edit_map_parts`)."""
    m = viz.base_map(bounds, tiles=options.tiles)
    terr = ws.territories(scenario_id)
    leaves = viz.leaf_territory_ids(terr)
    shapes = gpd.GeoSeries(terr.geometry.to_numpy(), index=terr[s.TERRITORY_ID].astype(str))
    colors = viz.territory_colors(leaves, geometries=shapes)
    found = shapes.get(selected) if selected is not None else None
    geom: BaseGeometry = found if found is not None else shapely.Polygon()
    has_shape = not geom.is_empty
    color = colors.get(selected or "", _SELECTED_COLOR)
    if mode == "units":
        owner = edit.unit_owners(ws, scenario_id, selected=selected)
        _clickable_units(m, ws.units, owner, selected, color)
    if has_shape and (mode != "draw" or zoom_to_selected):
        # (not while drawing: a new selection would redraw the map and lose the drawing)
        _outline(m, geom, color=_SELECTED_COLOR, class_name="tp-edit-selected")
    if mode == "draw":
        _draw_tools(m)
    elif mode == "edit" and has_shape:
        _edit_tools(m, geom, color)
    if zoom_to_selected and has_shape:
        west, south, east, north = geom.bounds
        m.fit_bounds([[south, west], [north, east]], padding=(24, 24))
    viz.localize_assets(m, base_url=options.asset_base_url)
    return m


def _draw_tools(m: folium.Map) -> None:
    """Leaflet.draw's polygon and rectangle tools."""
    Draw(
        position="topleft",
        show_geometry_on_click=False,
        draw_options={
            "polyline": False,
            "circle": False,
            "circlemarker": False,
            "marker": False,
            "polygon": {"showArea": False, "shapeOptions": {"color": _PROBLEM_COLOR}},
            "rectangle": {"shapeOptions": {"color": _PROBLEM_COLOR}},
        },
        edit_options={"edit": True, "remove": True},
    ).add_to(m)


def _edit_tools(m: folium.Map, geom: BaseGeometry, color: str) -> None:
    """The shape in Leaflet.draw's edit tool."""
    group = _editable_shape(m, geom, color)
    Draw(
        position="topleft",
        feature_group=group,
        show_geometry_on_click=False,
        draw_options={
            k: False
            for k in ("polyline", "polygon", "rectangle", "circle", "circlemarker", "marker")
        },
        edit_options={"edit": True, "remove": False},
    ).add_to(m)


def problem_map(
    ws: Workspace,
    scenario_id: str,
    troubles: Sequence[Trouble],
    *,
    focus: Trouble | None,
    options: viz.MapOptions,
) -> folium.Map:
    """Return the scenario's map with the problems outlined in red, fitted to ``focus`` if given."""
    m = viz.workspace_map(ws, scenario_id, options=options)
    areas = [t.geometry for t in troubles if t.geometry.geom_type != "Point"]
    if areas:
        _outline(
            m,
            shapely.union_all(areas),
            color=_PROBLEM_COLOR,
            class_name="tp-problem",
            weight=2.0,
            dash="4 4",
        )
    if focus is not None:
        g = focus.geometry
        if g.geom_type == "Point":
            folium.CircleMarker(
                [g.y, g.x],
                radius=14,
                color=_PROBLEM_COLOR,
                weight=3,
                fill=False,
                class_name="tp-problem-focus",
            ).add_to(m)
            pad = 0.004
            bounds = (g.x - pad, g.y - pad, g.x + pad, g.y + pad)
        else:
            _outline(m, g, color=_PROBLEM_COLOR, class_name="tp-problem-focus", dash=None)
            bounds = g.bounds
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]], padding=(40, 40))
    return m


def drawing_signature(features: object) -> str:
    """Return a stable text for a map drawing (to tell a new drawing from one already handled)."""
    return json.dumps(features, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- Streamlit glue


def current_user() -> str | None:
    """Return the signed-in user's id (``local`` in local mode), or ``None``."""
    user = auth.current_user()
    return None if user is None else str(user.user_id)


def can_edit() -> bool:
    """Tell whether the session's user may edit territories at all."""
    scope = auth.current_scope()
    return scope is not None and scope.can("edit")


def require_edit(*territory_ids: str | None, everything: bool = False) -> None:
    """Raise unless the session's user may edit every territory named.

    The rule is :func:`planner.edit.require_edit_rights`, applied to the
    session's access scope.

    Parameters
    ----------
    territory_ids
        The territories the edit changes (``None`` entries are skipped).
    everything
        The edit reaches beyond single territories (a new top-level
        territory, the territory types, a rep's whole book): only users who
        see everything (planners, admins, local mode) may make it.

    Raises
    ------
    planner.access.AccessDeniedError
        Naming what the user may not change.
    """
    edit.require_edit_rights(auth.current_scope(), *territory_ids, everything=everything)


def current_assignment(ws: Workspace, scenario_id: str) -> Assignment:
    """Return the assignment of the scenario as the library computes it now (cached per version).

    Shared by every session on the same version (:func:`ui.cache.assignment`).

    Raises
    ------
    planner.errors.PlannerError
        If the scenario's territories cannot be used.
    """
    return cache.assignment(state.content_key(ws), ws, scenario_id)


def remember(outcome: EditOutcome, before: Mapping[str, int] | None = None) -> None:
    """Keep an edit's message for the next run (the page reruns right after an edit).

    An edit that could not be saved (see :func:`ui.state.pending`) shows no
    success message: the banner above the page says what happened instead.
    """
    if state.pending() is not None:
        st.session_state.pop(keys.EDIT_FLASH, None)
        return
    st.session_state[keys.EDIT_FLASH] = {
        "success": outcome.message,
        "warnings": list(outcome.warnings),
        "before": dict(before or {}),
    }  # fmt: skip


def remember_error(exc: PlannerError) -> None:
    """Keep a refused edit's message for the next run (from a callback, before the run)."""
    st.session_state[keys.EDIT_FLASH] = {"error": _error_text(exc)}


def remember_warning(text: str) -> None:
    """Keep a warning for the next run (from a callback, before the run)."""
    st.session_state[keys.EDIT_FLASH] = {"warnings": [text]}


def take_flash() -> dict[str, Any]:
    """Take the messages kept for this run (see :func:`show_flash`); empty if none."""
    flash = st.session_state.pop(keys.EDIT_FLASH, None)
    return flash if isinstance(flash, dict) else {}


def show_flash(flash: Mapping[str, Any] | None = None) -> dict[str, int] | None:
    """Show the messages kept for this run once; return the counts from before the edit, if any.

    ``flash``: messages already taken with :func:`take_flash` (default: take them now).
    """
    if flash is None:
        flash = take_flash()
    if flash.get("success"):
        st.success(flash["success"])
    if flash.get("error"):
        st.error(flash["error"])
    for note in flash.get("warnings", []):
        st.warning(note)
    return flash.get("before") or None


def _error_text(exc: PlannerError) -> str:
    if isinstance(exc, InputError) and exc.problems:
        return "\n".join([exc.summary, *[f"- {p}" for p in exc.problems]])
    return str(exc)


def show_error(exc: PlannerError) -> None:
    """Show a library error with its list of problems."""
    st.error(_error_text(exc))


def rerun_fragment() -> None:
    """Rerun the fragment this code runs in (the whole page when it runs as part of a full run).

    Streamlit refuses ``st.rerun(scope="fragment")`` outside a fragment's own rerun.
    """
    ctx = get_script_run_ctx()
    in_fragment = ctx is not None and bool(ctx.fragment_ids_this_run)
    st.rerun(scope="fragment" if in_fragment else "app")


def first_time(kind: str, signature: str) -> bool:
    """Return ``True`` the first time ``signature`` of ``kind`` (a click, a drawing) is seen."""
    seen: dict[str, str] = st.session_state.setdefault(keys.EDIT_SEEN, {})
    if seen.get(kind) == signature:
        return False
    seen[kind] = signature
    return True
