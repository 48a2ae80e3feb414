"""Show folium maps in Streamlit with the app's own (offline) Leaflet files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium
import streamlit as st
import streamlit.components.v1 as components
from streamlit_folium import st_folium

from planner.viz import DEFAULT_ASSET_BASE_URL, localize_assets, map_html
from planner.viz import missing_vendor_files as _missing

__all__ = ["VENDOR_DIR", "attribution_caption", "missing_vendor_files", "show_map"]

#: The folder Streamlit serves at ``/app/static/vendor`` (see .streamlit/config.toml).
VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"

_SETUP_HINT = "run `python scripts/vendor_assets.py` (or `./dev setup`) once, then reload"


def missing_vendor_files() -> list[str]:
    """Return the vendored map files that are missing on this server."""
    return _missing(VENDOR_DIR)


def show_map(
    m: folium.Map,
    *,
    key: str,
    height: int = 620,
    returned_objects: Iterable[str] = (),
    interactive: bool = True,
) -> dict[str, Any] | None:
    """Show a folium map whose scripts and styles come from the app itself.

    Parameters
    ----------
    m
        The map (its assets are pointed at the vendored files here).
    key
        Streamlit widget key.
    height
        Height in pixels.
    returned_objects
        What the map reports back to the script (``"last_object_clicked"``,
        ``"all_drawings"``, ...; see ``streamlit_folium.st_folium``). Empty:
        interacting with the map never reruns the page.
    interactive
        ``False`` renders the plain HTML document in an iframe instead
        (nothing comes back; no component round trips).

    Returns
    -------
    dict or None
        What ``st_folium`` returns, or ``None`` when ``interactive`` is false
        or the assets are missing.
    """
    missing = missing_vendor_files()
    if missing:
        st.error(
            "The map's JavaScript files are not installed on this server "
            f"(missing {', '.join(missing[:3])}{'…' if len(missing) > 3 else ''}): {_SETUP_HINT}."
        )
        return None
    localize_assets(m, base_url=DEFAULT_ASSET_BASE_URL)
    if not interactive:
        components.html(map_html(m), height=height)
        return None
    result: dict[str, Any] = st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=list(returned_objects),
    )
    return result


def attribution_caption() -> None:
    """Credit OpenStreetMap below a map (its data is ODbL: the credit is required)."""
    st.caption(
        "Map data © [OpenStreetMap](https://www.openstreetmap.org/copyright) contributors "
        "(ODbL). The map's scripts are served by this app, so it works offline."
    )
