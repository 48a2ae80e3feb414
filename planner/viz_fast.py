"""A fast account layer for large workspaces: counts per map cell, and dots once few are in view.

:func:`planner.viz.add_accounts` makes one Leaflet marker per account (and
clusters them), which takes the browser many seconds for 100,000 accounts.
:func:`add_account_layer` draws on one canvas, redrawn after every pan or
zoom, what :mod:`planner.viz.aggregate` prepared on the server: the counts
per cell of 64 screen pixels at each zoom level (:func:`~planner.viz.aggregate.overview`,
a few hundred kilobytes whatever the number of accounts) and, once fewer than
:data:`POINT_LIMIT` accounts are in view, the accounts of that view
(:func:`~planner.viz.aggregate.view_chunk`). While more are in view, each
occupied cell is a bubble at the mean place of its accounts, sized and
labelled by their count, coloured by their territory when they share one; a
click on a bubble zooms in. With fewer, the layer asks the page for the
accounts of the view (it sets the map component's value ``tp_view``:
``{"bounds": [south, west, north, east], "zoom": z}``) and says "Loading the
accounts in view…" until they come; then every account is a dot coloured by
its territory, and a click opens a popup of the nearest one (its name, id
and territory). Until the canvas is first drawn, the map shows a "Drawing N
accounts…" note (from the page's first paint, before any script has run);
once drawn, the map's container gets the class ``tp-accounts-drawn``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from planner.viz.aggregate import MAX_ZOOM

__all__ = [
    "DEEP_POINT_LIMIT",
    "FAST_THRESHOLD",
    "POINT_LIMIT",
    "VIEW_KEY",
    "add_account_layer",
]

#: From this many accounts on, maps draw them with :func:`add_account_layer`.
FAST_THRESHOLD = 20_000
#: With more accounts than this in view, the layer draws counts per cell instead of dots.
POINT_LIMIT = 20_000
#: At the deepest zoom, dots up to this many accounts in view (closer there is no counting).
DEEP_POINT_LIMIT = 4 * POINT_LIMIT
#: The key of the map component's value under which the layer asks for the accounts in view.
VIEW_KEY = "tp_view"



class _RawScript(Element):
    """A script already written: rendered as it is (no template compiled from megabytes)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        del kwargs
        return self._text


class _CanvasAccounts(MacroElement):
    """A Leaflet layer drawing the accounts' counts or dots on one canvas (see the module)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var d = {{ this.payload }};
            function bytes(b64) {
                var s = atob(b64), out = new Uint8Array(s.length);
                for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
                return out.buffer;
            }
            function cells(l) {
                return {z: l.z, n: l.n, x: new Float32Array(bytes(l.x)),
                        y: new Float32Array(bytes(l.y)), c: new Uint32Array(bytes(l.c)),
                        t: new Uint16Array(bytes(l.t))};
            }
            var levels = d.levels.map(cells), ch = d.chunk, pts = null, near = null;
            if (ch && ch.kind === 'points') { pts = points(ch); }
            if (ch && ch.kind === 'cells') { near = cells(ch); }
            function points(c) {
                var xy = new Int32Array(bytes(c.xy)), n = c.n, tt = new Uint16Array(bytes(c.t));
                var p = {n: n, lat: new Float64Array(n), lon: new Float64Array(n), t: tt,
                         mx: new Float64Array(n), my: new Float64Array(n),
                         sx: new Float32Array(n), sy: new Float32Array(n),
                         names: c.names.split('\\u001f'), ids: c.ids.split('\\u001f'),
                         order: new Uint32Array(n)};
                for (var i = 0; i < n; i++) {
                    p.lat[i] = xy[2 * i] * 1e-5; p.lon[i] = xy[2 * i + 1] * 1e-5;
                    var phi = p.lat[i] * Math.PI / 180;
                    p.mx[i] = (p.lon[i] + 180) / 360;
                    p.my[i] = (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2;
                }
                // the dots in territory order (a counting sort): one fill per colour
                var first = new Uint32Array(d.colors.length + 1);
                for (var i = 0; i < n; i++) { first[tt[i] + 1]++; }
                for (var k = 0; k < d.colors.length; k++) { first[k + 1] += first[k]; }
                for (var i = 0; i < n; i++) { p.order[first[tt[i]]++] = i; }
                return p;
            }
            var note = null, drawnOnce = false, bubbles = null, asking = null;
            function say(text) {
                if (!note) {
                    note = L.DomUtil.create('div', 'tp-loading', map.getContainer());
                    note.style.cssText = 'position:absolute;z-index:1000;top:10px;left:50%;'
                        + 'transform:translateX(-50%);background:#fff;padding:4px 10px;'
                        + 'border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);'
                        + 'font:13px sans-serif';
                }
                note.textContent = text;
            }
            function quiet() { if (note) { L.DomUtil.remove(note); note = null; } }
            if (!window.tpAccountsDrawn) {
                say('Drawing ' + d.n.toLocaleString('en') + ' accounts…');
            }
            function short(v) {
                return v >= 1e6 ? (v / 1e6).toFixed(1) + 'M'
                    : v >= 1e4 ? Math.round(v / 1e3) + 'k'
                    : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : String(v);
            }
            function covers(box, b) {
                return !!box && b.getSouth() >= box[0] && b.getWest() >= box[1]
                    && b.getNorth() <= box[2] && b.getEast() <= box[3];
            }
            function ask(b, z) {
                // the page answers with the accounts of this view (see planner.viz_fast)
                // rounded outwards: what the page sends back covers the view
                var lo = function (v) { return Math.floor(v * 1e5) / 1e5; };
                var hi = function (v) { return Math.ceil(v * 1e5) / 1e5; };
                var view = {bounds: [lo(b.getSouth()), lo(b.getWest()), hi(b.getNorth()),
                                     hi(b.getEast())], zoom: z};
                var key = JSON.stringify(view);
                if (window.tpAsked === key) { return; }
                clearTimeout(asking);
                asking = setTimeout(function () {
                    var g = window.__GLOBAL_DATA__, S = window.Streamlit;
                    if (!g || !S) { return; }
                    window.tpAsked = key;
                    var value = Object.assign({}, g.previous_data || {});
                    value[d.viewKey] = view;
                    S.setComponentValue(value);
                }, 300);
            }
            var Layer = L.Layer.extend({
                onAdd: function (m) {
                    this._c = L.DomUtil.create('canvas', 'tp-account-canvas leaflet-zoom-hide');
                    this._c.style.pointerEvents = 'none';
                    m.getPanes().overlayPane.appendChild(this._c);
                    m.on('moveend resize', this._draw, this);
                    m.on('click', this._click, this);
                    var self = this;
                    requestAnimationFrame(function () {
                        requestAnimationFrame(function () { self._draw(); });
                    });
                },
                onRemove: function (m) {
                    L.DomUtil.remove(this._c); quiet(); clearTimeout(asking);
                    m.off('moveend resize', this._draw, this);
                    m.off('click', this._click, this);
                },
                _draw: function () {
                    var m = this._map, size = m.getSize(), c = this._c;
                    var tl = m.containerPointToLayerPoint([0, 0]);
                    L.DomUtil.setPosition(c, tl);
                    c.width = size.x; c.height = size.y;
                    var po = m.getPixelOrigin(), z = m.getZoom(), b = m.getBounds();
                    // zoom may be fractional (a fit): cells and requests use its level
                    var zl = Math.max(0, Math.min(Math.floor(z), d.maxZoom));
                    var v = {ctx: c.getContext('2d'), size: size, z: zl,
                             scale: 256 * Math.pow(2, z), ox: po.x + tl.x, oy: po.y + tl.y};
                    var wanted = this._pick(v, b);
                    quiet();
                    var first = document.getElementById('tp-loading-first');
                    if (first) { first.remove(); }  // the page's own note (see add_account_layer)
                    if (wanted) { say('Loading the accounts in view…'); ask(b, v.z); }
                    window.tpAccountsDrawn = true;
                    L.DomUtil.addClass(m.getContainer(), 'tp-accounts-drawn');
                },
                _pick: function (v, b) {
                    // what to draw; true when the page must send the accounts of the view
                    bubbles = null;
                    this._c.setAttribute('data-shown', 'counts');  // for tests and tools
                    var most = v.z >= d.maxZoom ? d.deepLimit : d.pointLimit;
                    if (pts && covers(ch.box, b) && this._dots(v, true) <= most) {
                        this._dots(v, false);
                        this._c.setAttribute('data-shown', 'dots');
                        return false;
                    }
                    if (near && near.z === v.z && covers(ch.box, b)) {
                        this._bubbles(v, near);
                        return false;
                    }
                    if (!levels.length) { return false; }
                    var deep = v.z >= levels.length;
                    var seen = this._bubbles(v, levels[Math.min(v.z, levels.length - 1)]);
                    return seen > 0 && (deep || seen <= most);
                },
                _dots: function (v, counting) {
                    var r = v.z >= 14 ? 4 : v.z >= 11 ? 2.5 : 1.5, last = -1, ctx = v.ctx;
                    var seen = 0, size = v.size;
                    if (counting) {
                        for (var i = 0; i < pts.n; i++) {
                            var x = pts.mx[i] * v.scale - v.ox, y = pts.my[i] * v.scale - v.oy;
                            pts.sx[i] = x; pts.sy[i] = y;
                            if (x >= 0 && y >= 0 && x <= size.x && y <= size.y) { seen++; }
                        }
                        return seen;
                    }
                    ctx.strokeStyle = '#ffffff'; ctx.lineWidth = r > 2 ? 1 : 0;
                    for (var j = 0; j < pts.n; j++) {
                        var i = pts.order[j], x = pts.sx[i], y = pts.sy[i];
                        if (x < -r || y < -r || x > size.x + r || y > size.y + r) { continue; }
                        if (pts.t[i] !== last) {
                            if (last >= 0) { ctx.fill(); if (r > 2) { ctx.stroke(); } }
                            last = pts.t[i]; ctx.fillStyle = d.colors[last]; ctx.beginPath();
                        }
                        ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
                    }
                    if (last >= 0) { ctx.fill(); if (r > 2) { ctx.stroke(); } }
                    return 0;
                },
                _bubbles: function (v, l) {
                    // one bubble per occupied cell in view; returns the accounts they hold
                    var most = 1, seen = 0, shown = [], ctx = v.ctx;
                    for (var j = 0; j < l.n; j++) {
                        var x = l.x[j] * v.scale - v.ox, y = l.y[j] * v.scale - v.oy;
                        if (x < -24 || y < -24 || x > v.size.x + 24 || y > v.size.y + 24) {
                            continue;
                        }
                        shown.push([x, y, j]);
                        if (x >= 0 && y >= 0 && x <= v.size.x && y <= v.size.y) { seen += l.c[j]; }
                        if (l.c[j] > most) { most = l.c[j]; }
                    }
                    bubbles = [];
                    ctx.font = '600 11px system-ui, sans-serif';
                    ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
                    for (var k = 0; k < shown.length; k++) {
                        var x = shown[k][0], y = shown[k][1], j = shown[k][2];
                        var r = 10 + 14 * Math.sqrt(l.c[j] / most);
                        ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
                        ctx.fillStyle = l.t[j] < d.colors.length ? d.colors[l.t[j]] : '#4a4a4a';
                        ctx.globalAlpha = 0.85; ctx.fill(); ctx.globalAlpha = 1;
                        ctx.lineWidth = 1.5; ctx.strokeStyle = '#ffffff'; ctx.stroke();
                        ctx.fillStyle = '#ffffff'; ctx.fillText(short(l.c[j]), x, y);
                        bubbles.push([x, y, r]);
                    }
                    return seen;
                },
                _click: function (e) {
                    var p = e.containerPoint, m = this._map;
                    if (bubbles) {
                        for (var b = 0; b < bubbles.length; b++) {
                            var dx = bubbles[b][0] - p.x, dy = bubbles[b][1] - p.y;
                            if (dx * dx + dy * dy <= bubbles[b][2] * bubbles[b][2]) {
                                m.setView(m.containerPointToLatLng([bubbles[b][0], bubbles[b][1]]),
                                          m.getZoom() + 2);
                                return;
                            }
                        }
                        return;
                    }
                    if (!pts) { return; }
                    var best = -1, bd = 64;
                    for (var i = 0; i < pts.n; i++) {
                        var dx = pts.sx[i] - p.x, dy = pts.sy[i] - p.y, dd = dx * dx + dy * dy;
                        if (dd < bd) { bd = dd; best = i; }
                    }
                    if (best >= 0) { this._popup(best); }
                },
                _popup: function (i) {
                    var box = L.DomUtil.create('div', 'tp-popup');
                    function line(key, text, color) {
                        L.DomUtil.create('br', '', box);
                        L.DomUtil.create('span', 'tp-k', box).textContent = key + ' ';
                        if (color) {
                            L.DomUtil.create('span', 'tp-sw', box).style.background = color;
                        }
                        box.appendChild(document.createTextNode(text));
                    }
                    L.DomUtil.create('b', '', box).textContent = pts.names[i];
                    line('Account id:', pts.ids[i]);
                    line('Territory:', d.territories[pts.t[i]], d.colors[pts.t[i]]);
                    L.popup({maxWidth: 320}).setLatLng([pts.lat[i], pts.lon[i]])
                        .setContent(box).openOn(this._map);
                }
            });
            new Layer().addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self._name = "CanvasAccounts"
        # '</' cannot end the <script> early (the text is shown as text, never as HTML)
        self.payload = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")

    def render(self, **kwargs: Any) -> str:
        """Add the layer's script to the figure as it is (see :class:`_RawScript`)."""
        script = self._template.module.__dict__["script"](self, kwargs)
        figure: Any = self.get_root()
        figure.script.add_child(_RawScript(script), name=self.get_name())
        return ""


def add_account_layer(
    m: folium.Map,
    overview: Mapping[str, Any],
    chunk: Mapping[str, Any] | None = None,
    *,
    point_limit: int = POINT_LIMIT,
) -> int:
    """Draw the accounts of ``overview`` (and of ``chunk``, a view) on one canvas; return how many.

    Parameters
    ----------
    m
        The map.
    overview
        :func:`planner.viz.aggregate.overview` of the accounts.
    chunk
        :func:`planner.viz.aggregate.view_chunk` of the view the layer last
        asked for, if any: drawn while the map shows that view.
    point_limit
        With at most this many accounts in view, dots instead of counts (at
        the deepest zoom, :data:`DEEP_POINT_LIMIT`).
    """
    payload = {**overview, "chunk": dict(chunk) if chunk else None, "maxZoom": MAX_ZOOM,
               "pointLimit": int(point_limit), "deepLimit": DEEP_POINT_LIMIT,
               "viewKey": VIEW_KEY}  # fmt: skip
    m.add_child(_CanvasAccounts(payload))
    # a note in the page itself, shown before any script has run; the layer removes it
    note = _FIRST_NOTE.format(n=int(overview["n"]))
    m.get_root().html.add_child(Element(note), name="tp_loading_first")  # type: ignore[attr-defined]
    return int(overview["n"])


_FIRST_NOTE = (
    '<div id="tp-loading-first" class="tp-loading" style="position:fixed;z-index:2000;'
    "top:10px;left:50%;transform:translateX(-50%);background:#fff;padding:4px 10px;"
    'border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px sans-serif">'
    "Drawing {n:,} accounts…</div>"
)
