"""Point layers: accounts coloured by territory (clustered when many) and reps' home bases."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from planner import schema as s
from planner.export.safety import escape_html
from planner.viz.summary import UNASSIGNED_COLOR, is_shown

__all__ = ["add_accounts", "add_reps"]

#: Popup fields of an account: label and column.
_FIELDS = (
    ("Address", s.ADDRESS),
    ("Industry", s.INDUSTRY),
    ("Annual revenue", s.ANNUAL_REVENUE),
    ("Account id", s.ACCOUNT_ID),
)


def _fmt_number(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    return f"{x:,.0f}"


class _PointLayer(JSCSSMixin, Layer):
    """Many circle markers from a compact JSON array, optionally clustered.

    Popups are built lazily in the browser from fields escaped in Python, so
    a few thousand accounts cost a few hundred kilobytes, not megabytes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.payload }};
            function clusterIcon(cluster) {
                // the colour of the territory most of the cluster's accounts belong to
                var kids = cluster.getAllChildMarkers(), tally = {}, best = null;
                for (var k = 0; k < kids.length; k++) {
                    var c = kids[k].options.fillColor;
                    tally[c] = (tally[c] || 0) + 1;
                    if (best === null || tally[c] > tally[best]) { best = c; }
                }
                var n = cluster.getChildCount();
                var size = n < 10 ? 28 : n < 100 ? 34 : 40;
                return L.divIcon({
                    html: '<div style="background:' + best + '"><span>' + n + '</span></div>',
                    className: 'marker-cluster tp-cluster',
                    iconSize: L.point(size, size)
                });
            }
            var group = d.cluster
                ? L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false,
                                        disableClusteringAtZoom: 16, maxClusterRadius: 45,
                                        iconCreateFunction: clusterIcon})
                : L.featureGroup();
            var fields = d.fields;
            function popup(r) {
                var t = d.territories[r[2]];
                var out = '<div class="tp-popup"><b>' + r[3] + '</b>';
                for (var i = 0; i < fields.length; i++) {
                    var v = r[4 + i];
                    if (v !== '') {
                        out += '<br><span class="tp-k">' + fields[i] + ':</span> ' + v;
                    }
                }
                out += '<br><span class="tp-k">Territory:</span> '
                    + '<span class="tp-sw" style="background:' + d.colors[r[2]] + '"></span>'
                    + t + '</div>';
                return out;
            }
            for (var i = 0; i < d.rows.length; i++) {
                (function (r) {
                    var mk = L.circleMarker([r[0], r[1]], {
                        radius: d.radius, color: '#ffffff', weight: 1, opacity: 0.9,
                        fillColor: d.colors[r[2]], fillOpacity: 0.95, className: d.className
                    });
                    mk.bindPopup(function () { return popup(r); }, {maxWidth: 320});
                    group.addLayer(mk);
                })(d.rows[i]);
            }
            return group;
        })();
        {% endmacro %}
        """
    )

    # folium's JSCSSMixin declares these as plain attributes, so no ClassVar here
    default_js: list[tuple[str, str]] = [  # noqa: RUF012
        (
            "markerclusterjs",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
            "leaflet.markercluster.js",
        )
    ]
    default_css: list[tuple[str, str]] = [  # noqa: RUF012
        (
            "markerclustercss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
        ),
        (
            "markerclusterdefaultcss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
            "MarkerCluster.Default.css",
        ),
    ]

    def __init__(self, payload: dict[str, Any], *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PointLayer"
        # '</' cannot end the <script> early; all text is html-escaped already.
        self.payload = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")


def _located(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of ``frame`` with a location, in the storage CRS."""
    geoms = frame.geometry
    out = frame[geoms.notna() & ~geoms.is_empty]
    if not out.empty and out.crs is not None and not out.crs.equals(s.STORAGE_CRS):
        out = out.to_crs(s.STORAGE_CRS)
    return out


def add_accounts(
    m: folium.Map,
    accounts: gpd.GeoDataFrame,
    *,
    territory_of: Mapping[str, str] | pd.Series,
    colors: Mapping[str, str],
    territory_names: Mapping[str, str] | None = None,
    cluster_threshold: int = 1500,
    name: str = "Accounts",
) -> int:
    """Draw accounts as circle markers coloured by territory, with popups; return how many.

    Parameters
    ----------
    m
        The map.
    accounts
        The accounts (rows without a location are skipped).
    territory_of
        Territory id by account id (see :func:`primary_territory`).
    colors
        Colour by territory id; other accounts are grey.
    territory_names
        Display name by territory id.
    cluster_threshold
        Cluster the markers when there are more accounts than this.
    name
        Layer name.
    """
    acc = _located(accounts)
    if acc.empty:
        return 0
    owner = (
        pd.Series(territory_of, dtype=object)
        if not isinstance(territory_of, pd.Series)
        else territory_of
    )
    tids = acc[s.ACCOUNT_ID].astype(str).map(owner)
    keys = sorted({str(t) for t in tids.dropna()})
    names = territory_names or {}
    rows = _account_rows(acc, tids, keys)
    payload = {
        "cluster": len(rows) > cluster_threshold,
        "radius": 5 if len(rows) <= 2000 else 4,
        "className": "tp-account",
        "fields": [f for f, _ in _FIELDS],
        "territories": [escape_html(str(names.get(t) or t)) for t in keys] + ["(none)"],
        "colors": [colors.get(t, UNASSIGNED_COLOR) for t in keys] + [UNASSIGNED_COLOR],
        "rows": rows,
    }
    m.add_child(_PointLayer(payload, name=name))
    return len(rows)


def _texts(values: pd.Series) -> list[Any]:
    """The values as plain Python objects (pandas' per-item access is slow on Arrow text)."""
    plain = np.array(values.astype(object).to_numpy(), dtype=object)  # a copy of our own
    plain[pd.isna(plain)] = None
    return plain.tolist()


def _popup_columns(acc: gpd.GeoDataFrame) -> dict[str, list[str]]:
    """Each popup field's escaped text per account ("" when missing)."""
    columns = {}
    for label, col in _FIELDS:
        if col not in acc.columns:
            columns[label] = [""] * len(acc)
        elif col == s.ANNUAL_REVENUE:
            columns[label] = [_fmt_number(v) for v in _texts(acc[col])]
        else:
            columns[label] = [escape_html(str(v)) if is_shown(v) else "" for v in _texts(acc[col])]
    return columns


def _account_rows(acc: gpd.GeoDataFrame, tids: pd.Series, keys: list[str]) -> list[list[Any]]:
    """``[lat, lon, territory index, title, *fields]`` per account (index ``len(keys)``: none)."""
    index = pd.Series(np.arange(len(keys)), index=pd.Index(np.asarray(keys, dtype=object)))
    where = pd.Series(np.asarray(_texts(tids), dtype=object)).map(index)
    color_index = where.fillna(len(keys)).astype("int64").tolist()
    ids = _texts(acc[s.ACCOUNT_ID].astype(str))
    xs = np.round(acc.geometry.x.to_numpy(), 6).tolist()
    ys = np.round(acc.geometry.y.to_numpy(), 6).tolist()
    columns = _popup_columns(acc)
    fields = [columns[f] for f, _ in _FIELDS]
    title = [
        escape_html(str(n)) if is_shown(n) else escape_html(str(i))
        for n, i in zip(_texts(acc[s.NAME]), ids, strict=True)
    ]
    return [
        [ys[k], xs[k], color_index[k], title[k], *(col[k] for col in fields)]
        for k in range(len(ids))
    ]


def add_reps(m: folium.Map, reps: gpd.GeoDataFrame, *, name: str = "Reps") -> int:
    """Draw each rep's home base as a dark round marker with a tooltip; return how many."""
    r = _located(reps)
    if r.empty:
        return 0
    group = folium.FeatureGroup(name=name, show=True)
    for rid, rname, role, cap, pt in zip(
        r[s.REP_ID].astype(str),
        r[s.NAME].to_numpy(),
        r[s.ROLE].to_numpy(),
        r[s.CAPACITY_H_PER_WEEK].to_numpy(),
        r.geometry,
        strict=True,
    ):
        label = escape_html(str(rname) if is_shown(rname) else rid)
        detail = f"{escape_html(str(role))} {escape_html(rid)}"
        if is_shown(cap):
            detail += f" · {float(cap):g} h/week"
        folium.Marker(
            [float(pt.y), float(pt.x)],
            icon=folium.DivIcon(
                html="", icon_size=(14, 14), icon_anchor=(7, 7), class_name="tp-rep-icon"
            ),
            tooltip=f"<b>{label}</b><br>{detail}<br>home base",
        ).add_to(group)
    group.add_to(m)
    return len(r)
