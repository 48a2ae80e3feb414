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
import pandas as pd
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


#: Reports a click on a unit to the app at once. The map component reports clicks a quarter
#: of a second late (it waits for more events); this sends the same report right after the
#: component noted the click, so its own late report finds nothing new to send. Only for a
#: map that reports the clicked object and nothing else (the unit map).
_REPORT_NOW = """function () {
  var g = window.__GLOBAL_DATA__, app = window.Streamlit;
  if (!g || !app || !g.returned_objects) { return; }
  var now = {last_object_clicked: g.last_object_clicked,
             last_object_clicked_count: g.last_object_clicked_count};
  if (!g.returned_objects.every(function (k) { return k in now; })) { return; }
  var data = {};
  Object.keys(now).forEach(function (k) {
    if (g.returned_objects.indexOf(k) >= 0) { data[k] = now[k]; }
  });
  if (JSON.stringify(g.previous_data) === JSON.stringify(data)) { return; }
  g.previous_data = data;
  app.setComponentValue(data);
}"""

#: The unit outlines of the unit map, made once per units (see :func:`ui.maps.kept_layer`);
#: ``layer.tpPaint`` fills the selected territory's units and sets each unit's holder.
_UNITS_JS = """function () {
  var d = %(data)s, now = {mine: [], color: '#111111', owner: [], names: []}, shapes = [];
  var report = %(report)s;
  function look(k, over) {
    var mine = !!now.mine[k];
    return {color: mine ? now.color : '#6f6f6f', weight: over ? 3 : (mine ? 1.6 : 0.8),
            fillColor: now.color, fillOpacity: over ? 0.5 : (mine ? 0.35 : 0.02)};
  }
  var group = L.geoJson(d, {
    style: function (f) {
      var s = look(f.properties.k, false); s.className = 'tp-edit-unit'; return s;
    },
    onEachFeature: function (f, l) {
      var k = f.properties.k, o;
      shapes[k] = l;
      l.bindTooltip(function () {
        o = now.owner[k];
        return '<b>' + f.properties.title + '</b><br>unit ' + f.properties.uid + ' · '
          + (o >= 0 ? now.names[o] : 'no territory');
      }, {sticky: true});
      l.on('mouseover', function () { l.setStyle(look(k, true)); });
      l.on('mouseout', function () { l.setStyle(look(k, false)); });
    }
  });
  group.on('click', function () { setTimeout(report, 0); });
  group.tpPaint = function (p) {
    now = p;
    shapes.forEach(function (l, k) {
      l.setStyle(look(k, false));
      if (l._path) {
        L.DomUtil[p.mine[k] ? 'addClass' : 'removeClass'](l._path, 'tp-edit-unit-mine');
      }
    });
  };
  return group;
}"""

#: The accounts of the editing maps, made once per accounts (see :func:`ui.maps.kept_layer`);
#: ``layer.tpPaint`` colours each by its territory (only the markers whose colour changed).
_ACCOUNTS_JS = """function () {
  var d = %(data)s, now = {of: [], colors: [], names: []}, marks = [];
  function popup(k) {
    var r = d.rows[k], t = now.of[k];
    return '<div class="tp-popup"><b>' + r[2] + '</b><br><span class="tp-k">Account id:</span> '
      + r[3] + '<br><span class="tp-k">Territory:</span> <span class="tp-sw" style="background:'
      + now.colors[t] + '"></span>' + now.names[t] + '</div>';
  }
  var group = L.featureGroup();
  d.rows.forEach(function (r, k) {
    var mk = L.circleMarker([r[0], r[1]], {radius: d.radius, color: '#ffffff', weight: 1,
      opacity: 0.9, fillColor: d.grey, fillOpacity: 0.95, className: 'tp-account'});
    mk.bindPopup(function () { return popup(k); }, {maxWidth: 320});
    marks.push(mk);
    group.addLayer(mk);
  });
  group.tpPaint = function (p) {
    now = p;
    for (var k = 0; k < marks.length; k++) {
      var c = p.colors[p.of[k]];
      if (marks[k].options.fillColor !== c) { marks[k].setStyle({fillColor: c}); }
    }
  };
  return group;
}"""


def _json(value: object) -> str:
    """JSON for a script inside the page (``</`` cannot end the script early)."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def _unit_shapes(units: gpd.GeoDataFrame) -> str:
    """The units' outlines as GeoJSON text: position ``k``, id and (escaped) title per unit."""
    shapes = units.to_crs(s.STORAGE_CRS) if units.crs is not None else units
    ids = units[s.UNIT_ID].astype(str).tolist()
    names = units[s.NAME].tolist() if s.NAME in units.columns else [None] * len(units)
    data = gpd.GeoDataFrame(
        {
            "k": np.arange(len(ids)),
            "uid": [html.escape(u) for u in ids],
            "title": [html.escape(n if isinstance(n, str) and n else u)
                      for u, n in zip(ids, names, strict=True)],
        },
        geometry=_for_display(np.asarray(shapes.geometry.values, dtype=object)),
        crs=s.STORAGE_CRS,
    )  # fmt: skip
    return data.to_json(drop_id=True, separators=(",", ":")).replace("</", "<\\/")


def _unit_layer(ws: Workspace, scenario_id: str, selected: str | None, color: str) -> MapParts:
    """The clickable unit outlines, the selected territory's filled (kept across edits)."""
    units = ws.units
    shapes = cache.by_frames("edit-unit-shapes", (units,), lambda: _unit_shapes(units))
    owner = edit.unit_owners(ws, scenario_id, selected=selected)
    ids = units[s.UNIT_ID].astype(str).tolist()
    holders = sorted(set(owner.values()))
    where = {t: i for i, t in enumerate(holders)}
    paint = {
        "mine": [owner.get(u) == selected for u in ids],
        "color": color,
        "owner": [where.get(owner.get(u, ""), -1) for u in ids],
        "names": [html.escape(t) for t in holders],
    }
    make = _UNITS_JS % {"data": shapes, "report": _REPORT_NOW}
    return maps.kept_layer("edit-units", make, f"layer.tpPaint({_json(paint)});")


def _account_rows(accounts: gpd.GeoDataFrame) -> tuple[pd.Index, str]:
    """The located accounts' ids and their markers' data (position to ~1 m, title, id)."""
    located = accounts[accounts.geometry.notna() & ~accounts.geometry.is_empty]
    if located.crs is not None and not located.crs.equals(s.STORAGE_CRS):
        located = located.to_crs(s.STORAGE_CRS)
    ids = located[s.ACCOUNT_ID].astype(str).tolist()
    names = located[s.NAME].astype(object).tolist() if s.NAME in located.columns else ids
    xy = np.round(shapely.get_coordinates(located.geometry.values), 5).tolist()
    rows = [
        [y, x, html.escape(n if isinstance(n, str) and n.strip() else i), html.escape(i)]
        for (x, y), n, i in zip(xy, names, ids, strict=True)
    ]
    data = {"rows": rows, "radius": 5 if len(rows) <= 2000 else 4, "grey": viz.UNASSIGNED_COLOR}
    return pd.Index(ids, dtype=object), _json(data)


def _territory_of(ids: pd.Index, owner: pd.Series) -> tuple[list[str], list[int]]:
    """The territories shown (sorted) and each account's position among them (past the end:
    none), by array lookups (a million accounts in well under a second)."""
    tids = owner.to_numpy(dtype=object)
    keys = sorted({str(t) for t in tids})
    if not owner.index.is_unique:
        owner = owner[~owner.index.duplicated()]
        tids = owner.to_numpy(dtype=object)
    at = owner.index.get_indexer(ids)
    code = pd.Index(keys, dtype=object).get_indexer([str(t) for t in tids])
    return keys, np.where(at >= 0, code[at], len(keys)).tolist()


def _account_layer(
    ws: Workspace, scenario_id: str, terr: gpd.GeoDataFrame, colors: Mapping[str, str]
) -> MapParts:
    """The accounts coloured by territory, kept across edits (only their colours change)."""
    accounts = ws.accounts
    ids, data = cache.by_frames("edit-account-rows", (accounts,), lambda: _account_rows(accounts))
    keys, of = _territory_of(ids, cache.owners(ws, scenario_id))
    names = {str(t): str(n) if isinstance(n, str) and n.strip() else str(t)
             for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)}  # fmt: skip
    paint = {
        "of": of,
        "colors": [colors.get(t, viz.UNASSIGNED_COLOR) for t in keys] + [viz.UNASSIGNED_COLOR],
        "names": [html.escape(names.get(t, t)) for t in keys] + ["(none)"],
    }
    make = _ACCOUNTS_JS % {"data": data}
    return maps.kept_layer("edit-accounts", make, f"layer.tpPaint({_json(paint)});")


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
    and selection), the scenario's territories and legend (per version,
    shared by every mode), the units' outlines and the place names (per
    units and accounts: they outlive edits). The accounts and the
    clickable units are layers the browser keeps across edits
    (:func:`ui.maps.kept_layer`): their bulk is made once per accounts and
    units, and an edit sends only their colours and holders. A mode switch
    renders only the tools; a unit click the tools and the territories.
    More accounts than ``options.cluster_threshold`` are drawn clustered
    with the territories instead, as on the Map page.
    """
    content = state.content_key(ws)
    terr = ws.territories(scenario_id)
    bounds = map_bounds(ws.accounts, terr, ws.units if terr.empty else None)
    colors = _colors(terr)
    tools = cache.map_parts(
        content,
        f"edit-tools|{scenario_id}|{mode}|{selected}|{zoom_to_selected}|{options.tiles}",
        lambda: _tools_map(ws, scenario_id, bounds, mode, selected, options, zoom_to_selected),
        split=True,
    )  # fmt: skip
    kept = options.show_accounts and _located(ws.accounts) <= options.cluster_threshold
    drawn = options.show_accounts and not kept  # clustered with the territories
    scene_options = replace(options, show_units=False, show_places=False, show_accounts=drawn)
    scene = cache.map_parts(
        content,
        f"edit-scene|{scenario_id}|{scene_options!r}",
        lambda: viz.workspace_map(
            ws,
            scenario_id,
            options=scene_options,
            owner=cache.owners(ws, scenario_id),
            summary=cache.summary(ws, scenario_id),
        ),
        split=True,
    )
    under = [scene]  # the tools' layers stay on top: the unit outlines take the clicks
    if options.show_places:
        under.append(_places(ws, scenario_id, terr, bounds))
    if kept:
        under.append(_account_layer(ws, scenario_id, terr, colors))
    if mode == "units" and not ws.units.empty:
        color = colors.get(selected or "", _SELECTED_COLOR)
        under.append(_unit_layer(ws, scenario_id, selected, color))
    if mode != "units" and options.show_units and not ws.units.empty:
        under.insert(0, _unit_outlines(ws, bounds, options))  # below the territories
    return maps.compose(tools, *under)


def _colors(terr: gpd.GeoDataFrame) -> dict[str, str]:
    """Each leaf territory's colour, as :func:`planner.viz.workspace_map` gives it."""
    shapes = gpd.GeoSeries(terr.geometry.to_numpy(), index=terr[s.TERRITORY_ID].astype(str))
    return viz.territory_colors(viz.leaf_territory_ids(terr), geometries=shapes)


def _located(accounts: gpd.GeoDataFrame) -> int:
    """How many accounts have a location (more than the cluster threshold: clustered markers)."""
    geoms = accounts.geometry
    return int((geoms.notna() & ~geoms.is_empty).sum())


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
    shapes = gpd.GeoSeries(terr.geometry.to_numpy(), index=terr[s.TERRITORY_ID].astype(str))
    found = shapes.get(selected) if selected is not None else None
    geom: BaseGeometry = found if found is not None else shapely.Polygon()
    has_shape = not geom.is_empty
    if has_shape and (mode != "draw" or zoom_to_selected):
        # (not while drawing: a new selection would redraw the map and lose the drawing)
        _outline(m, geom, color=_SELECTED_COLOR, class_name="tp-edit-selected")
    if mode == "draw":
        _draw_tools(m)
    elif mode == "edit" and has_shape:
        _edit_tools(m, geom, _colors(terr).get(selected or "", _SELECTED_COLOR))
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
