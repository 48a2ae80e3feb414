"""The legend box of a map: colour swatches, outline and marker rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import folium
from branca.element import MacroElement
from folium.template import Template

from planner.export.safety import escape_html
from planner.viz.summary import UNASSIGNED_COLOR

__all__ = ["LegendRow", "add_legend"]


class _Legend(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var d = {{ this.payload }};
            var legend = L.control({position: d.position});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'tp-legend');
                var out = '<h4>' + d.title + '</h4>';
                for (var i = 0; i < d.items.length; i++) {
                    var it = d.items[i];
                    var mark = it.kind === 'dot'
                        ? '<span class="tp-dot" style="background:' + it.color + '"></span>'
                        : it.kind === 'line' ? '<span class="tp-line" style="border-top:'
                            + it.weight + 'px ' + (it.dashed ? 'dashed' : 'solid') + ' '
                            + it.color + '"></span>'
                        : it.kind === 'rep'
                            ? '<span class="tp-dot" style="background:#1f1f1f"></span>'
                        : '<span class="tp-swatch" style="background:' + it.color + '"></span>';
                    out += '<div class="tp-row">' + mark + '<span>' + it.label + '</span>'
                        + (it.count !== '' ? '<span class="tp-count">' + it.count + '</span>' : '')
                        + '</div>';
                }
                div.innerHTML = out;
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Legend"
        self.payload = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")


@dataclass(frozen=True)
class LegendRow:
    """A non-swatch row of the legend.

    Parameters
    ----------
    kind
        ``"dot"`` (an account marker), ``"line"`` (an outline) or ``"rep"`` (a rep marker).
    label
        Plain text.
    color
        Colour of the dot or line.
    weight
        Line width in pixels (lines).
    dashed
        Dashed line (lines).
    """

    kind: Literal["dot", "line", "rep"]
    label: str
    color: str = UNASSIGNED_COLOR
    weight: float = 2.5
    dashed: bool = False


def add_legend(
    m: folium.Map,
    items: Sequence[tuple[str, str, int | None]],
    *,
    title: str = "Territories",
    extra: Sequence[LegendRow] = (),
    position: Literal["topright", "bottomright", "bottomleft", "topleft"] = "bottomright",
) -> None:
    """Add a legend box (a Leaflet control) listing colours and labels.

    Parameters
    ----------
    m
        The map.
    items
        ``(label, colour, count or None)`` per swatch; labels are plain text.
    title
        Heading, plain text.
    extra
        Rows after the swatches (outlines, markers).
    position
        Corner of the map.
    """
    rows: list[dict[str, Any]] = [
        {
            "kind": "swatch",
            "label": escape_html(label),
            "color": color,
            "count": "" if count is None else f"{count:,}",
        }
        for label, color, count in items
    ]
    for row in extra:
        rows.append(
            {
                "kind": row.kind,
                "label": escape_html(row.label),
                "color": row.color,
                "weight": row.weight,
                "dashed": row.dashed,
                "count": "",
            }
        )
    m.add_child(_Legend({"title": escape_html(title), "items": rows, "position": position}))
