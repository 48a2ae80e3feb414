"""The Map page's tools: find an account or a place, the density view, drive-time areas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import streamlit as st

from planner import schema as s
from planner.errors import PlannerError
from planner.export.safety import escape_html
from planner.routing.isochrones import IsochroneParams, isochrones
from planner.services.rep_accounts import rep_home
from planner.services.search import Hit, find
from planner.viz import add_density, add_isochrones, density_grid
from planner.workspace import Workspace
from ui import cache, keys

__all__ = ["Layers", "add_layers", "find_box", "layer_controls"]

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
        grid = density_grid(ws.accounts, weight=weight)
        add_density(m, grid, label=layers.density.lower())
    if layers.rings_from is not None and layers.minutes:
        home = rep_home(ws, layers.rings_from)
        if home is not None:
            add_isochrones(m, _rings(home, layers.minutes, network_file))
    if found is not None:
        _fly_to(m, found)


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
