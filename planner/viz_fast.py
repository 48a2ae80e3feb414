"""A fast account layer for large workspaces: counts on a grid, and dots once few are in view.

:func:`planner.viz.add_accounts` makes one Leaflet marker per account (and
clusters them), which takes the browser many seconds for 100,000 accounts.
:func:`add_fast_accounts` sends the accounts as compact arrays instead
(coordinates in 1e-5 degrees, a territory index; the name and id up to
:data:`TEXT_LIMIT` accounts) and draws them on one canvas, redrawn after
every pan or zoom. While more than :data:`POINT_LIMIT` accounts are in view,
they are drawn as aggregates: one bubble per grid cell of the screen
(64 px), at the mean place of its accounts, sized and labelled by their
count; a click on a bubble zooms in. With fewer in view, every account is a
dot coloured by its territory, and a click opens a popup of the nearest one
(its name, id and territory). Until the canvas is drawn, the map shows a
"Drawing N accounts…" note; once drawn, the map's container gets the class
``tp-accounts-drawn``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from jinja2 import Template

from planner import schema as s
from planner.viz import UNASSIGNED_COLOR

__all__ = ["FAST_THRESHOLD", "POINT_LIMIT", "TEXT_LIMIT", "account_arrays", "add_fast_accounts"]

#: From this many accounts on, maps draw them with :func:`add_fast_accounts`.
FAST_THRESHOLD = 20_000
#: With more accounts than this in view, the layer draws counts on a grid instead of dots.
POINT_LIMIT = 20_000
#: Names and ids travel with at most this many accounts (a million names would be 25 MB).
TEXT_LIMIT = 200_000

_SCALE = 100_000  # coordinates travel as integers of 1e-5 degrees (about 1 m)
_SEP = "\u001f"  # joins the names (and the ids) into one string: the "unit separator"


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _joined(values: pd.Series) -> str:
    return _SEP.join(values.astype(str).str.replace(_SEP, " ", regex=False))


def account_arrays(
    accounts: gpd.GeoDataFrame,
    *,
    territory_of: Mapping[str, str] | pd.Series,
    colors: Mapping[str, str],
    territory_names: Mapping[str, str] | None = None,
    text_limit: int = TEXT_LIMIT,
) -> dict[str, Any]:
    """Return the accounts as the compact arrays the canvas layer draws.

    Rows without a location are left out. Each territory is one index into
    ``colors`` and ``territories``; the last index is "no territory". Text is
    sent as it is: the map shows it as text, never as HTML. With more than
    ``text_limit`` accounts, names and ids are left out (popups then name
    the territory only).

    Returns
    -------
    dict
        ``xy`` (base64 of little-endian pairs: latitude, longitude in 1e-5
        degrees; ``xyBits`` 16: unsigned offsets from ``y0``, ``x0``, used
        when the accounts span less than 0.65 degrees, else 32: signed
        values), ``t`` (base64 of territory indexes, ``tBits`` 8 or 16),
        ``names`` and ``ids`` (joined by U+001F; empty beyond
        ``text_limit``), ``territories`` (names) and ``colors``.
    """
    geoms = accounts.geometry
    acc = accounts[(geoms.notna() & ~geoms.is_empty).to_numpy()]
    if acc.crs is not None and not acc.crs.equals(s.STORAGE_CRS):
        acc = acc.to_crs(s.STORAGE_CRS)
    owner = territory_of if isinstance(territory_of, pd.Series) else pd.Series(territory_of)
    ids = acc[s.ACCOUNT_ID].astype(str).reset_index(drop=True)
    tids = ids.map(owner.astype(str))
    codes, uniques = pd.factorize(tids, sort=True)  # -1: no territory
    keys = [str(k) for k in uniques]
    t = np.where(codes < 0, len(keys), codes).astype("<u2" if len(keys) >= 255 else "u1")
    xy = np.rint(
        np.column_stack([acc.geometry.y.to_numpy(), acc.geometry.x.to_numpy()]) * _SCALE
    ).astype("<i8")
    origin = xy.min(axis=0) if len(xy) else np.zeros(2, dtype="<i8")
    narrow = len(xy) > 0 and int((xy - origin).max()) < 2**16  # an area under ~0.65 degrees
    named = territory_names or {}
    with_text = len(ids) <= text_limit
    names = acc[s.NAME].reset_index(drop=True) if s.NAME in acc.columns else ids
    if with_text:
        names = names.where(names.notna() & (names.astype(str) != ""), ids)
    return {
        "n": len(ids),
        "xy": _b64((xy - origin).astype("<u2") if narrow else xy.astype("<i4")),
        "xyBits": 16 if narrow else 32,
        "y0": int(origin[0]) if narrow else 0,
        "x0": int(origin[1]) if narrow else 0,
        "t": _b64(t),
        "tBits": 8 * t.itemsize,
        "names": _joined(names) if with_text else "",
        "ids": _joined(ids) if with_text else "",
        "territories": [str(named.get(k) or k) for k in keys] + ["(none)"],
        "colors": [colors.get(k, UNASSIGNED_COLOR) for k in keys] + [UNASSIGNED_COLOR],
    }


class _RawScript(Element):
    """A script already written: rendered as it is (no template compiled from megabytes)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        del kwargs
        return self._text


class _CanvasAccounts(MacroElement):
    """A Leaflet layer drawing the accounts' dots on one canvas (see the module's text)."""

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
            var xy = d.xyBits === 16 ? new Uint16Array(bytes(d.xy)) : new Int32Array(bytes(d.xy));
            var tt = d.tBits === 8 ? new Uint8Array(bytes(d.t)) : new Uint16Array(bytes(d.t));
            function lat(i) { return (xy[2 * i] + d.y0) * 1e-5; }
            function lon(i) { return (xy[2 * i + 1] + d.x0) * 1e-5; }
            var names = d.names ? d.names.split('\u001f') : null;
            var ids = d.ids ? d.ids.split('\u001f') : null;
            var n = d.n, mx = new Float64Array(n), my = new Float64Array(n);
            for (var i = 0; i < n; i++) {
                var phi = lat(i) * Math.PI / 180;
                mx[i] = (lon(i) + 180) / 360;
                my[i] = (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2;
            }
            // the dots in territory order (a counting sort): one fill per colour
            var nt = d.colors.length, first = new Uint32Array(nt + 1), order = new Uint32Array(n);
            for (var i = 0; i < n; i++) { first[tt[i] + 1]++; }
            for (var c = 0; c < nt; c++) { first[c + 1] += first[c]; }
            for (var i = 0; i < n; i++) { order[first[tt[i]]++] = i; }
            var sx = new Float32Array(n), sy = new Float32Array(n), bubbles = null;
            var note = L.DomUtil.create('div', 'tp-loading', map.getContainer());
            note.textContent = 'Drawing ' + n.toLocaleString('en') + ' accounts…';
            note.style.cssText = 'position:absolute;z-index:1000;top:10px;left:50%;'
                + 'transform:translateX(-50%);background:#fff;padding:4px 10px;'
                + 'border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px sans-serif';
            function short(v) {
                return v >= 1e6 ? (v / 1e6).toFixed(1) + 'M'
                    : v >= 1e4 ? Math.round(v / 1e3) + 'k'
                    : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : String(v);
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
                    L.DomUtil.remove(this._c);
                    m.off('moveend resize', this._draw, this);
                    m.off('click', this._click, this);
                },
                _draw: function () {
                    var m = this._map, size = m.getSize(), c = this._c;
                    var tl = m.containerPointToLayerPoint([0, 0]);
                    L.DomUtil.setPosition(c, tl);
                    c.width = size.x; c.height = size.y;
                    var ctx = c.getContext('2d'), po = m.getPixelOrigin();
                    var scale = 256 * Math.pow(2, m.getZoom()), ox = po.x + tl.x, oy = po.y + tl.y;
                    var seen = 0;
                    for (var i = 0; i < n; i++) {
                        var x = mx[i] * scale - ox, y = my[i] * scale - oy;
                        sx[i] = x; sy[i] = y;
                        if (x >= 0 && y >= 0 && x <= size.x && y <= size.y) { seen++; }
                    }
                    if (seen > d.pointLimit) {
                        this._bubbles(ctx, size, ox, oy);
                    } else {
                        bubbles = null;
                        this._dots(ctx, size, m.getZoom());
                    }
                    L.DomUtil.remove(note);
                    L.DomUtil.addClass(m.getContainer(), 'tp-accounts-drawn');
                },
                _dots: function (ctx, size, zoom) {
                    var r = zoom >= 14 ? 4 : zoom >= 11 ? 2.5 : 1.5, last = -1;
                    ctx.strokeStyle = '#ffffff'; ctx.lineWidth = r > 2 ? 1 : 0;
                    for (var j = 0; j < n; j++) {
                        var i = order[j], x = sx[i], y = sy[i];
                        if (x < -r || y < -r || x > size.x + r || y > size.y + r) { continue; }
                        if (tt[i] !== last) {
                            if (last >= 0) { ctx.fill(); if (r > 2) { ctx.stroke(); } }
                            last = tt[i]; ctx.fillStyle = d.colors[last]; ctx.beginPath();
                        }
                        ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
                    }
                    if (last >= 0) { ctx.fill(); if (r > 2) { ctx.stroke(); } }
                },
                _bubbles: function (ctx, size, ox, oy) {
                    // cells of the world's pixel grid (they stay put while panning)
                    var g = 64, gx = Math.floor(ox / g), gy = Math.floor(oy / g);
                    var cols = Math.ceil(size.x / g) + 2, rows = Math.ceil(size.y / g) + 2;
                    var nc = cols * rows, cnt = new Uint32Array(nc);
                    var hue = new Int32Array(nc).fill(-1);
                    var ax = new Float64Array(nc), ay = new Float64Array(nc);
                    for (var i = 0; i < n; i++) {
                        var cx = Math.floor((sx[i] + ox) / g) - gx;
                        var cy = Math.floor((sy[i] + oy) / g) - gy;
                        if (cx < 0 || cy < 0 || cx >= cols || cy >= rows) { continue; }
                        var j = cy * cols + cx;
                        cnt[j]++; ax[j] += sx[i]; ay[j] += sy[i];
                        hue[j] = hue[j] === -1 || hue[j] === tt[i] ? tt[i] : -2;  // -2: mixed
                    }
                    var most = 1;
                    for (var j = 0; j < cnt.length; j++) { if (cnt[j] > most) { most = cnt[j]; } }
                    bubbles = [];
                    ctx.font = '600 11px system-ui, sans-serif';
                    ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
                    for (var j = 0; j < cnt.length; j++) {
                        if (!cnt[j]) { continue; }
                        var x = ax[j] / cnt[j], y = ay[j] / cnt[j];
                        var r = 10 + 14 * Math.sqrt(cnt[j] / most);
                        ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
                        ctx.fillStyle = hue[j] >= 0 ? d.colors[hue[j]] : '#4a4a4a';
                        ctx.globalAlpha = 0.85; ctx.fill(); ctx.globalAlpha = 1;
                        ctx.lineWidth = 1.5; ctx.strokeStyle = '#ffffff'; ctx.stroke();
                        ctx.fillStyle = '#ffffff'; ctx.fillText(short(cnt[j]), x, y);
                        bubbles.push([x, y, r]);
                    }
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
                    var best = -1, bd = 64;
                    for (var i = 0; i < n; i++) {
                        var dx = sx[i] - p.x, dy = sy[i] - p.y, dd = dx * dx + dy * dy;
                        if (dd < bd) { bd = dd; best = i; }
                    }
                    if (best < 0) { return; }
                    var box = L.DomUtil.create('div', 'tp-popup');
                    function line(key, text, color) {
                        L.DomUtil.create('br', '', box);
                        L.DomUtil.create('span', 'tp-k', box).textContent = key + ' ';
                        if (color) {
                            L.DomUtil.create('span', 'tp-sw', box).style.background = color;
                        }
                        box.appendChild(document.createTextNode(text));
                    }
                    L.DomUtil.create('b', '', box).textContent = names ? names[best] : 'Account';
                    if (ids) { line('Account id:', ids[best]); }
                    line('Territory:', d.territories[tt[best]], d.colors[tt[best]]);
                    L.popup({maxWidth: 320}).setLatLng([lat(best), lon(best)])
                        .setContent(box)
                        .openOn(m);
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


def add_fast_accounts(m: folium.Map, payload: Mapping[str, Any]) -> int:
    """Draw the accounts of ``payload`` (see :func:`account_arrays`) on one canvas; return how many.

    Counts on a grid while more than :data:`POINT_LIMIT` are in view, dots
    below. Popups show the nearest account's name, id and territory (the
    full details of each account would make the page several times larger).
    """
    m.add_child(_CanvasAccounts({**payload, "pointLimit": POINT_LIMIT}))
    return int(payload["n"])
