"""Show folium maps in Streamlit with the app's own (offline) Leaflet files.

A map is turned once into the parts the map component draws
(:func:`map_parts`: its script, header, HTML and asset links) and the parts
are shown with :func:`show_parts`; :func:`show_map` does both. Rendering a
folium map runs Jinja templates for every element (0.3-0.7 s for a map of
the Helsinki sample), so callers that show the same map on every run cache
its parts (:func:`ui.cache.map_parts`).

The component is streamlit-folium's own frontend. A map split into a fixed
part (the map, its fit, the drawing tools) and its layers keeps its iframe
while only the layers change: the new layers replace the old ones in place,
with no reload, no flicker and no lost click on a map just drawn.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import streamlit as st
import streamlit.components.v1 as components
import streamlit_folium
from branca.element import Element, Figure
from folium.map import FitBounds
from folium.plugins import Draw
from folium.raster_layers import TileLayer
from jinja2 import UndefinedError

from planner.viz import DEFAULT_ASSET_BASE_URL, is_fixed_element, localize_assets, map_html
from planner.viz import missing_vendor_files as _missing

__all__ = [
    "VENDOR_DIR",
    "MapParts",
    "attribution_caption",
    "compose",
    "kept_layer",
    "map_parts",
    "missing_vendor_files",
    "show_map",
    "show_parts",
]

#: The folder Streamlit serves at ``/app/static/vendor`` (see .streamlit/config.toml).
VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"

_SETUP_HINT = "run `python scripts/vendor_assets.py` (or `./dev setup`) once, then reload"

#: streamlit-folium's frontend, declared here so its arguments can be prepared (and cached) by us.
_component = components.declare_component(
    "st_folium", path=str(Path(streamlit_folium.__file__).parent / "frontend" / "build")
)

#: The name the component's page gives the map (its div and its variable).
_MAP_NAME = "map_div"
_SCRIPT_LINK = re.compile(
    r"<script\b[^>]*\bsrc=[\"'][^\"']*[\"'][^>]*>.*?</script\b[^>]*>", re.IGNORECASE | re.DOTALL
)
_CSS_LINK = re.compile(r'<link rel="stylesheet" href=".*?"/>')
_MAP_DIV = re.compile(r'<div class="folium-map" id=".*" ></div>')
_ELEMENT_REF = re.compile(r"\{\{\s*'([A-Za-z_$][A-Za-z0-9_$]*)'\s*\}\}")
_DRAWN_ITEMS = re.compile(r"drawnItems_draw_control_[0-9a-z_]+")
_ELEMENT_ID = re.compile(r"_[0-9a-f]{32}")

#: Replaces the layers of the previous update: what the layers' script adds to the map
#: (layers and controls) is remembered and removed before the next layers are added.
#: ``tpKeep(key, make)`` (see :func:`kept_layer`) keeps a layer across updates instead: made
#: once by ``make()``, reused while later updates name the same key, removed once one does not.
#: A reused layer keeps its place in the drawing order: the new shapes listed before it go
#: back behind it (a few territories, not the thousand markers kept), and should a new one
#: come between two kept layers, the rest comes to the front again, in order.
_LAYERS_BEGIN = """
(function () {
var map_div = window.map;
%(restack)s
(window.tpLayers || []).forEach(function (x) { try { x.remove(); } catch (e) {} });
var added = window.tpLayers = [];
var before = window.tpKept || {}, kept = {}, order = [], quiet = false;
var keep = function (e) {  // the map's renderers stay: kept layers are drawn in them
  if (quiet || e.layer instanceof L.Renderer) { return; }
  added.push(e.layer); order.push([e.layer, 0]);
};
var tpKeep = function (key, make) {
  var layer = before[key], kind = 2;
  delete before[key];
  if (!layer) {
    kind = 1;
    quiet = true;
    try { layer = make().addTo(map_div); } finally { quiet = false; }
  }
  kept[key] = layer;
  order.push([layer, kind]);
  return layer;
};
var controlAddTo = L.Control.prototype.addTo;
L.Control.prototype.addTo = function (map) {
  added.push(this); return controlAddTo.call(this, map);
};
map_div.on('layeradd', keep);
try {
"""
_LAYERS_END = """
} finally {
  map_div.off('layeradd', keep);
  L.Control.prototype.addTo = controlAddTo;
  Object.keys(before).forEach(function (k) { try { before[k].remove(); } catch (e) {} });
  window.tpKept = kept;
  tpRestack(order);
}
})();
"""
#: Puts the layers of an update in the order listed when some were kept (see above):
#: ``order`` holds ``[layer, 0 new | 1 kept, made now | 2 kept, reused]``.
_RESTACK = """
var tpRestack = function (order) {
  var first = -1, from = order.length, fresh = false, i, x;
  for (i = 0; i < order.length && first < 0; i++) { if (order[i][1] === 2) { first = i; } }
  if (first < 0) { return; }
  for (i = 0; i < first; i++) { if (order[i][1] === 1) { from = first; } }
  if (from > first) {
    for (i = first - 1; i >= 0; i--) { x = order[i][0]; if (x._path) { x.bringToBack(); } }
    for (i = first + 1; i < order.length && from === order.length; i++) {
      if (order[i][1] !== 2) { fresh = true; } else if (fresh) { from = i; }
    }
  }
  for (i = from; i < order.length; i++) {
    x = order[i][0];
    if ((order[i][1] !== 0 || x._path) && typeof x.bringToFront === 'function') {
      x.bringToFront();
    }
  }
};
"""
_LAYERS_BEGIN = _LAYERS_BEGIN.replace("%(restack)s", _RESTACK.strip())

#: A map's bounds when it has none (a part made of layers only).
_NO_BOUNDS: dict[str, dict[str, float | None]] = {
    "_southWest": {"lat": None, "lng": None},
    "_northEast": {"lat": None, "lng": None},
}


@dataclass(frozen=True)
class MapParts:
    """A rendered map as the component takes it.

    ``script`` makes the map and what must live as long as it (its fit, the
    drawing tools); ``layers`` adds everything else and, shown again with
    other layers, replaces them in place. ``mount`` changes exactly when
    ``script`` does (element ids left out): a new ``mount`` draws a new map.
    """

    script: str
    layers: str
    header: str
    html: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    bounds: dict[str, dict[str, float | None]]
    zoom: Any
    mount: str
    body: str = ""  # the layers' own script, before the wrapping that replaces old layers


def missing_vendor_files() -> list[str]:
    """Return the vendored map files that are missing on this server."""
    return _missing(VENDOR_DIR)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def _own_script(element: Element) -> str:
    """The script macro of one element (none: empty), as folium renders it."""
    template = getattr(element, "_template", None)
    if template is None:
        return ""
    try:  # reading the module runs the template's top level, which may need ``this``
        module = getattr(template, "module", None)
        if module is None or not hasattr(module, "script"):
            return ""
        return str(module.script(element))
    except UndefinedError:  # some elements (popups) only render as a whole template
        return str(template.render(this=element, kwargs={}))


def _script(element: Element) -> str:
    return "\n".join(_own_script(e) for e in _walk(element))


def _fixed(child: Element, m: folium.Map) -> bool:
    """Whether ``child`` belongs to the map's fixed part (see :class:`MapParts`)."""
    if isinstance(child, Draw | FitBounds | TileLayer) or is_fixed_element(child):
        return True
    return any(
        isinstance(other, Draw) and other.feature_group is child for other in m._children.values()
    )


def _bounds(m: folium.Map) -> dict[str, dict[str, float | None]]:
    try:
        (south, west), (north, east) = m.get_bounds()
    except (AttributeError, TypeError, ValueError):
        south = west = north = east = None
    return {
        "_southWest": {"lat": south, "lng": west},
        "_northEast": {"lat": north, "lng": east},
    }


def _links(m: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    css: list[str] = []
    js: list[str] = []
    for element in _walk(m):
        css.extend(href for _, href in getattr(element, "default_css", None) or [])
        js.extend(src for _, src in getattr(element, "default_js", None) or [])
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


def map_parts(m: folium.Map, *, split: bool = False) -> MapParts:
    """Render ``m`` once into the parts :func:`show_parts` draws.

    Parameters
    ----------
    m
        The map; it is rendered (and so changed): pass a map of your own.
    split
        Put the layers apart from the map (see :class:`MapParts`), so
        showing other layers later keeps the map; ``False``: all in ``script``.
    """
    localize_assets(m, base_url=DEFAULT_ASSET_BASE_URL)
    root = m.get_root()
    if not isinstance(root, Figure):  # folium puts every map in a figure: this never happens
        raise TypeError("the map is not in a figure")
    root.render()
    name = m.get_name()
    children = list(m._children.values())
    fixed = [c for c in children if not split or _fixed(c, m)]
    moving = [c for c in children if split and not _fixed(c, m)]
    script = "\n".join([_own_script(m), *(_script(c) for c in fixed)])
    script = _DRAWN_ITEMS.sub("drawnItems", script.replace("alert(coords);", ""))
    if "drawnItems" not in script:
        script += "\nvar drawnItems = [];"
    body = _ELEMENT_REF.sub(r"\1", "\n".join(_script(c) for c in moving)).replace(name, _MAP_NAME)
    css, js = _links(m)
    header = _CSS_LINK.sub("", _SCRIPT_LINK.sub("", root.header.render()))
    html = _MAP_DIV.sub("", root.html.render()).strip()
    script = _ELEMENT_REF.sub(r"\1", script).replace(name, _MAP_NAME)
    mount = hashlib.sha1(_ELEMENT_ID.sub("", script).encode()).hexdigest()[:16]
    return MapParts(
        script=script,
        layers=_wrapped(body),
        header=header.replace(name, _MAP_NAME),
        html=html.replace(name, _MAP_NAME),
        css_links=css,
        js_links=js,
        bounds=_bounds(m),
        zoom=m.options.get("zoom"),
        mount=mount,
        body=body,
    )


def _wrapped(body: str) -> str:
    """The layers' script that replaces the layers shown before (nothing for no layers)."""
    return _LAYERS_BEGIN + body + _LAYERS_END if body.strip() else ""


def compose(base: MapParts, *under: MapParts) -> MapParts:
    """One map: ``base`` (its map, fixed part and layers) over the layers of ``under``.

    Each part is rendered (and cached) on its own, so a map whose layers
    change apart (the territories after an edit, the place names never)
    re-renders only what changed. ``under``'s layers are drawn in order
    below ``base``'s own (which stay on top: the clickable ones); only
    their layers, styles and asset links are used, not their own map
    script (``base`` makes the map, so the composed map mounts as ``base``).
    """
    parts = (*under, base)
    body = "\n".join(p.body for p in parts if p.body.strip())
    return MapParts(
        script=base.script,
        layers=_wrapped(body),
        header="\n".join(dict.fromkeys(p.header for p in parts if p.header.strip())),
        html="\n".join(dict.fromkeys(p.html for p in parts if p.html.strip())),
        css_links=tuple(dict.fromkeys(link for p in parts for link in p.css_links)),
        js_links=tuple(dict.fromkeys(link for p in parts for link in p.js_links)),
        bounds=base.bounds,
        zoom=base.zoom,
        mount=base.mount,
        body=body,
    )


def kept_layer(name: str, make: str, update: str = "") -> MapParts:
    """Layers made once and kept in the map across updates; ``update`` runs on them every time.

    For layers whose bulk rarely changes (the accounts' markers, the unit
    outlines) while a little of them changes with every edit (colours,
    labels): the browser makes them once and only restyles them after.

    Parameters
    ----------
    name
        What the layer is; with ``make``'s text it names the layer kept
        (other text, a new layer: the old one is removed).
    make
        A JavaScript function expression returning a Leaflet layer (not yet
        on the map); it runs once per map and text.
    update
        JavaScript statements run on every update with the layer as ``layer``.

    Returns
    -------
    MapParts
        Layers only, to :func:`compose` under a map.
    """
    digest = hashlib.sha1(make.encode()).hexdigest()[:16]
    key = json.dumps(f"{name}|{digest}")
    body = f"(function (layer) {{\n{update}\n}})(tpKeep({key}, {make}));"
    return MapParts(script="", layers=_wrapped(body), header="", html="", css_links=(),
                    js_links=(), bounds=_NO_BOUNDS, zoom=None, mount="", body=body)  # fmt: skip


def show_parts(
    parts: MapParts,
    *,
    key: str,
    height: int = 620,
    returned_objects: Iterable[str] = (),
    on_change: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """Show a rendered map (:func:`map_parts`); return what the map reports back.

    Parameters
    ----------
    parts
        The map.
    key
        Streamlit widget key; the component's own key is ``key`` and
        ``parts.mount``, so the same key with other layers keeps the map.
    height
        Height in pixels.
    returned_objects
        What the map reports back (``"last_object_clicked"``,
        ``"all_drawings"``, ...; as ``streamlit_folium.st_folium``). Empty:
        interacting with the map never reruns the page.
    on_change
        Called with the map's new report before the rerun it causes (a
        click handled here is drawn by that very rerun).

    Returns
    -------
    dict or None
        The map's report (its defaults until the user acts), or ``None``
        when the map's assets are missing.
    """
    if not _assets_present():
        return None
    wanted = list(returned_objects)
    defaults = {k: v for k, v in _defaults(parts).items() if k in wanted}
    component_key = f"{key}:{parts.mount}"

    def changed() -> None:
        value = st.session_state.get(component_key) or {}
        st.session_state[key] = value
        if on_change is not None:
            on_change(value)

    result: dict[str, Any] | None = _component(
        script=parts.script, header=parts.header, html=parts.html, id=_MAP_NAME,
        key=component_key, height=height, width=None, returned_objects=wanted,
        default=defaults, zoom=None, center=None, feature_group=parts.layers or None,
        return_on_hover=False, layer_control="", pixelated=False,
        css_links=list(parts.css_links), js_links=list(parts.js_links), on_change=changed,
        wrap_longitude=False,
    )  # fmt: skip
    return result


def _defaults(parts: MapParts) -> dict[str, Any]:
    """What the map reports before the user acts (the frontend's first report equals it)."""
    return {
        "last_clicked": None,
        "last_object_clicked": None,
        "last_object_clicked_count": 0,
        "last_object_clicked_tooltip": None,
        "last_object_clicked_popup": None,
        "all_drawings": None,
        "last_active_drawing": None,
        "bounds": parts.bounds,
        "zoom": parts.zoom,
        "last_circle_radius": None,
        "last_circle_polygon": None,
        "selected_layers": None,
        "selected_tags": None,
        "last_geocoder_result": None,
    }


def _assets_present() -> bool:
    missing = missing_vendor_files()
    if missing:
        st.error(
            "The map's JavaScript files are not installed on this server "
            f"(missing {', '.join(missing[:3])}{'…' if len(missing) > 3 else ''}): {_SETUP_HINT}."
        )
    return not missing


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
        What the map reports back to the script (see :func:`show_parts`).
    interactive
        ``False`` renders the plain HTML document in an iframe instead
        (nothing comes back; no component round trips).

    Returns
    -------
    dict or None
        What the map reports (see :func:`show_parts`), or ``None`` when
        ``interactive`` is false or the assets are missing.
    """
    if not interactive:
        if _assets_present():
            components.html(map_html(m), height=height)
        return None
    if not _assets_present():
        return None
    return show_parts(map_parts(m), key=key, height=height, returned_objects=returned_objects)


def attribution_caption() -> None:
    """Credit OpenStreetMap below a map (its data is ODbL: the credit is required)."""
    st.caption(
        "Map data © [OpenStreetMap](https://www.openstreetmap.org/copyright) contributors "
        "(ODbL). The map's scripts are served by this app, so it works offline."
    )
