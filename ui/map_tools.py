"""The Map page's tools: find an account or a place, the density view, drive-time areas,
and selecting accounts by a drawn lasso or radius to move them to a territory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import shapely
import streamlit as st
from folium.plugins import Draw

from planner import edit
from planner import schema as s
from planner.errors import PlannerError
from planner.export.safety import escape_html
from planner.geo.selection import accounts_in_area, drawn_area
from planner.routing.isochrones import IsochroneParams, isochrones
from planner.services.rep_accounts import rep_home
from planner.services.search import Hit, find
from planner.services.tables import accounts_table
from planner.viz import add_density, add_isochrones, density_grid
from planner.workspace import Workspace
from ui import auth, cache, display, editing, keys, state

__all__ = ["Layers", "add_layers", "add_select_draw", "find_box", "layer_controls",
           "select_toggle", "selection_panel"]  # fmt: skip

#: What the map component reports while selecting: every shape drawn.
SELECT_RETURNS = ("all_drawings",)

#: What the density view can sum: label -> account column (``None``: count accounts).
DENSITY_WEIGHTS: dict[str, str | None] = {
    "Accounts": None,
    "Annual revenue": s.ANNUAL_REVENUE,
    "Visits per month": s.VISITS_PER_MONTH,
}
_RING_CHOICES = (5, 10, 15, 20, 30, 45, 60, 90)


@dataclass(frozen=True)
class Layers:
    """The extra layers chosen on the page."""

    density: str | None = None  # a key of DENSITY_WEIGHTS
    rings_from: str | None = None  # a rep id
    minutes: tuple[int, ...] = ()


def find_box(ws: Workspace, where: st.delta_generator.DeltaGenerator) -> Hit | None:
    """A search field and, once something matches, the result to fly to."""
    text = where.text_input(
        "Find", key=keys.MAP_FIND, placeholder="Find an account or a place",
        label_visibility="collapsed",
    )  # fmt: skip
    if not text.strip():
        return None
    try:
        hits = find(ws, text, limit=20)
    except PlannerError as exc:
        where.caption(str(exc).splitlines()[0])
        return None
    if not hits:
        where.caption(f"Nothing matches '{text}'.")
        return None
    return where.selectbox(
        "Go to", hits, format_func=lambda h: h.label, key=keys.MAP_FIND_PICK,
        label_visibility="collapsed",
    )  # fmt: skip


def layer_controls(ws: Workspace) -> Layers:
    """The density view and the drive-time areas, in an expander."""
    with st.expander("Density and drive times"):
        left, right = st.columns(2)
        weights = [k for k, col in DENSITY_WEIGHTS.items() if col is None or col in ws.accounts]
        density = left.selectbox(
            "Density of", ["(off)", *weights], key=keys.MAP_DENSITY,
            help="Accounts (or their revenue, visits) summed on a grid: where the business is",
        )  # fmt: skip
        homes = _reps_with_homes(ws)
        rep = right.selectbox(
            "Drive times from the home of", ["(off)", *homes], key=keys.MAP_RINGS_FROM,
            format_func=lambda r: homes.get(r, r),
        )  # fmt: skip
        minutes = right.multiselect(
            "Minutes", _RING_CHOICES, default=[15, 30], key=keys.MAP_RINGS_MINUTES,
        )  # fmt: skip
    return Layers(
        density=None if density == "(off)" else density,
        rings_from=None if rep == "(off)" else rep,
        minutes=tuple(sorted(minutes)),
    )


def _reps_with_homes(ws: Workspace) -> dict[str, str]:
    reps = ws.reps[ws.reps.geometry.notna() & ~ws.reps.geometry.is_empty]
    return {str(r): f"{n or r} ({r})" for r, n in zip(reps[s.REP_ID], reps[s.NAME], strict=True)}


def add_layers(
    m: folium.Map, ws: Workspace, layers: Layers, found: Hit | None, network_file: str | None
) -> None:
    """Draw the chosen layers on ``m`` (a copy), and fly to what was found."""
    if layers.density is not None:
        weight = DENSITY_WEIGHTS[layers.density]
        content = state.content_key(ws)
        grid = (
            density_grid(ws.accounts, weight=weight)
            if content is None
            else _density(content, weight, ws.accounts)
        )
        add_density(m, grid, label=layers.density.lower())
    if layers.rings_from is not None and layers.minutes:
        home = rep_home(ws, layers.rings_from)
        if home is not None:
            add_isochrones(m, _rings(home, layers.minutes, network_file))
    if found is not None:
        _fly_to(m, found)


@st.cache_data(show_spinner=False, max_entries=8)
def _density(
    content: tuple[str, int], weight: str | None, _accounts: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """The density grid of one workspace version (a million accounts take a second to bin)."""
    del content  # only part of the cache key
    return density_grid(_accounts, weight=weight)


def _rings(
    home: tuple[float, float], minutes: tuple[int, ...], network_file: str | None
) -> gpd.GeoDataFrame:
    params = IsochroneParams(minutes=minutes)
    if network_file is None:
        return isochrones(home[0], home[1], params)
    try:
        network = cache.network(network_file, Path(network_file).stat().st_mtime_ns)
        return isochrones(home[0], home[1], params, network=network)
    except (PlannerError, OSError) as exc:  # no usable network, or the home outside it
        st.caption(f"Drive times estimated: {str(exc).splitlines()[0]}")
        return isochrones(home[0], home[1], params)


def _fly_to(m: folium.Map, hit: Hit) -> None:
    """Mark the hit and fit the map around it (a street's width for an account)."""
    pad = 0.004 if hit.kind == "account" else 0.05
    label = escape_html(hit.label)  # names come from data: never markup
    folium.Marker(
        [hit.lat, hit.lon],
        tooltip=folium.Tooltip(label),
        popup=folium.Popup(label, show=True),
        icon=folium.Icon(color="red", icon="search", prefix="fa"),
    ).add_to(m)
    m.fit_bounds([[hit.lat - pad, hit.lon - pad], [hit.lat + pad, hit.lon + pad]])


# --------------------------------------------------------------------------- lasso / radius


def select_toggle(where: st.delta_generator.DeltaGenerator) -> bool:
    """The switch that turns the map's drawing tools on for selecting accounts."""
    return bool(where.toggle("Select", key=keys.MAP_SELECT,
                             help="Draw a lasso (polygon), a rectangle or a circle on the map to "
                             "list the accounts inside and move them to a territory"))  # fmt: skip


def add_select_draw(m: folium.Map) -> None:
    """Leaflet.draw's polygon, rectangle and circle tools (served offline, see planner.viz)."""
    shape = {"color": "#111111", "weight": 2, "fillOpacity": 0.08}
    Draw(
        position="topleft",
        show_geometry_on_click=False,
        draw_options={
            "polyline": False, "marker": False, "circlemarker": False,
            "polygon": {"showArea": False, "shapeOptions": shape},
            "rectangle": {"shapeOptions": shape},
            "circle": {"shapeOptions": shape, "showRadius": True, "metric": True},
        },
        edit_options={"edit": True, "remove": True},
    ).add_to(m)  # fmt: skip


def _selected(ws: Workspace, reply: dict[str, object] | None) -> list[str] | None:
    """Accounts inside every area drawn (``None`` when nothing is drawn)."""
    features = (reply or {}).get("all_drawings") or []
    if not isinstance(features, list) or not features:
        return None
    area = shapely.union_all([drawn_area(f) for f in features])
    return accounts_in_area(ws.accounts, area)


def _move_form(sid: str, ids: list[str]) -> None:
    """Move the selected accounts into a territory the user may edit, as overrides with a reason."""
    scope = auth.current_scope()
    labels = edit.territory_label(state.current_workspace().territories(sid))
    targets = [t for t in labels if scope is not None and scope.can_edit_territory(t)]
    if not targets:
        return
    with st.form(keys.MAP_MOVE_FORM):
        left, right = st.columns(2)
        target = left.selectbox("Move them to", targets, format_func=lambda t: labels.get(t, t),
                                key=keys.MAP_MOVE_TO)  # fmt: skip
        reason = right.text_input(
            "Reason", key=keys.MAP_MOVE_REASON, placeholder="e.g. new key-account team"
        )
        n = len(ids)
        if st.form_submit_button(f"Move {n:,} account{'' if n == 1 else 's'}", type="primary"):
            try:
                outcome = edit.include_accounts(
                    state.workspace_for_edit(), sid, ids, target, reason=reason,
                    user=editing.current_user(), scope=scope,
                )  # fmt: skip
            except PlannerError as exc:
                editing.show_error(exc)
                return
            state.mark_changed(f"move {n} accounts to {target}")
            editing.remember(outcome)
            st.rerun()


def selection_panel(ws: Workspace, sid: str, reply: dict[str, object] | None) -> None:
    """The accounts inside the drawn areas and, for users who may edit, where to move them."""
    try:
        ids = _selected(ws, reply)
    except PlannerError as exc:
        editing.show_error(exc)
        return
    if ids is None:
        st.caption("Draw a lasso, a rectangle or a circle with the tools at the map's top left.")
        return
    table = accounts_table(ws, sid)
    shown = table[table[s.ACCOUNT_ID].isin(ids)]
    cols = [s.ACCOUNT_ID, s.NAME, "territory", s.INDUSTRY, s.ANNUAL_REVENUE]
    by_territory = shown["territory"].value_counts()
    parts = ", ".join(f"{t} {n:,}" for t, n in by_territory.items())
    st.markdown(f"**{len(ids):,} account{'' if len(ids) == 1 else 's'} in the drawn area**"
                + (f" ({parts})" if parts else ""))  # fmt: skip
    if not ids:
        return
    revenue = st.column_config.NumberColumn("annual revenue", format="%,.0f")
    display.show_table(shown[cols], hide_index=True, width="stretch",
                 column_config={s.ANNUAL_REVENUE: revenue})  # fmt: skip
    if editing.can_edit():
        _move_form(sid, ids)
