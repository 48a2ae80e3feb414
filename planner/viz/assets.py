"""Browser assets of the maps: the vendored Leaflet files, served by the app itself (no CDN)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium

from planner.errors import InputError, Problem, format_ids

__all__ = [
    "ASSET_URLS",
    "DEFAULT_ASSET_BASE_URL",
    "VENDOR_FILES",
    "asset_urls",
    "localize_assets",
    "map_html",
    "missing_vendor_files",
]

#: Where the app serves the vendored files (Streamlit serves ./static at /app/static).
DEFAULT_ASSET_BASE_URL = "/app/static/vendor"

#: Files copied from ``node_modules/`` (key) into ``static/vendor/`` (value)
#: by ``scripts/vendor_assets.py``; folders are copied whole.
VENDOR_FILES: dict[str, str] = {
    "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
    "leaflet/dist/images": "leaflet/images",
    "leaflet/LICENSE": "leaflet/LICENSE",
    "leaflet-draw/dist/leaflet.draw.js": "leaflet-draw/leaflet.draw.js",
    "leaflet-draw/dist/leaflet.draw.css": "leaflet-draw/leaflet.draw.css",
    "leaflet-draw/dist/images": "leaflet-draw/images",
    "leaflet.markercluster/dist/leaflet.markercluster.js": (
        "leaflet.markercluster/leaflet.markercluster.js"
    ),
    "leaflet.markercluster/dist/MarkerCluster.css": "leaflet.markercluster/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css": (
        "leaflet.markercluster/MarkerCluster.Default.css"
    ),
    "leaflet.markercluster/MIT-LICENCE.txt": "leaflet.markercluster/LICENSE.txt",
    "jquery/dist/jquery.min.js": "jquery/jquery.min.js",
    "jquery/LICENSE.txt": "jquery/LICENSE.txt",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "bootstrap/LICENSE": "bootstrap/LICENSE",
    "leaflet.awesome-markers/dist/leaflet.awesome-markers.js": (
        "leaflet.awesome-markers/leaflet.awesome-markers.js"
    ),
    "leaflet.awesome-markers/dist/leaflet.awesome-markers.css": (
        "leaflet.awesome-markers/leaflet.awesome-markers.css"
    ),
    "leaflet.awesome-markers/dist/images": "leaflet.awesome-markers/images",
    "leaflet.awesome-markers/LICENSE": "leaflet.awesome-markers/LICENSE",
    "@fortawesome/fontawesome-free/css/all.min.css": "fontawesome/css/all.min.css",
    "@fortawesome/fontawesome-free/webfonts": "fontawesome/webfonts",
    "@fortawesome/fontawesome-free/LICENSE.txt": "fontawesome/LICENSE.txt",
}

#: Folium's name of each browser asset (the first item of its ``default_js``
#: and ``default_css`` pairs) -> the vendored file serving it, or ``None`` for
#: an asset the planner drops (Bootstrap 3 glyphicons are not packaged on npm:
#: give ``folium.Icon`` ``prefix="fa"``; the awesome-markers rotation sheet
#: only serves arbitrary ``angle`` values, Font Awesome rotates by 90/180/270).
ASSET_URLS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": None,
    "awesome_markers": "leaflet.awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "leaflet.awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_rotate_css": None,
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
}


def _is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def localize_assets(m: folium.Map, *, base_url: str = DEFAULT_ASSET_BASE_URL) -> folium.Map:
    """Point every script and stylesheet of ``m`` and its plugins at the vendored files.

    Rewrites the ``default_js``/``default_css`` of the map and of every
    element below it, in place. Call it after the last plugin is added.

    Parameters
    ----------
    m
        The map.
    base_url
        URL prefix of the vendored files (no trailing slash needed).

    Returns
    -------
    folium.Map
        ``m`` itself.

    Raises
    ------
    InputError
        If an element needs a remote asset the planner does not vendor (a new
        folium plugin): add its npm package to ``package.json`` and its files
        to :data:`VENDOR_FILES` and :data:`ASSET_URLS`.
    """
    base = base_url.rstrip("/")
    unknown: dict[str, str] = {}
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if not pairs:
                continue
            local: list[tuple[str, str]] = []
            for name, url in pairs:
                if not _is_remote(url):
                    local.append((name, url))
                elif name in ASSET_URLS:
                    path = ASSET_URLS[name]
                    if path is not None:
                        local.append((name, f"{base}/{path}"))
                else:
                    unknown[name] = url
            setattr(element, attr, local)
    if unknown:
        raise InputError(
            f"the map needs assets that are not served offline: {format_ids(sorted(unknown))}",
            [
                Problem(
                    f"'{name}' would load from {url}",
                    fix="add its npm package to package.json and map it in "
                    "planner.viz.VENDOR_FILES and ASSET_URLS",
                )
                for name, url in sorted(unknown.items())
            ],
        )
    return m


def asset_urls(m: folium.Map) -> list[str]:
    """Return every script and stylesheet URL ``m`` will load, in order, without duplicates."""
    urls: list[str] = []
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            urls.extend(url for _, url in getattr(element, attr, None) or [])
    return list(dict.fromkeys(urls))


def map_html(m: folium.Map, *, base_url: str = DEFAULT_ASSET_BASE_URL) -> str:
    """Return ``m`` as a standalone HTML document whose assets are all local."""
    localize_assets(m, base_url=base_url)
    return str(m.get_root().render())


def missing_vendor_files(vendor_dir: str | Path) -> list[str]:
    """Return the vendored files :data:`ASSET_URLS` needs that are missing under ``vendor_dir``."""
    root = Path(vendor_dir)
    needed = sorted({p for p in ASSET_URLS.values() if p is not None})
    return [p for p in needed if not (root / p).is_file()]
