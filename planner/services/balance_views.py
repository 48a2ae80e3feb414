"""Views of a balance plan and of a comparison: maps of territories and moves, charts.

Plain folium; the charts (altair) are in :mod:`planner.services.balance_charts`
and importable from here. The Balance and Compare pages show them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.balance import TerritoryPlan
from planner.export.safety import escape_html
from planner.geo.shapes import dissolve_units
from planner.models import Scenario
from planner.services.balance_charts import (
    signed_pct,
    tradeoff_chart,
    tradeoff_frontier,
    workload_chart,
)
from planner.viz import (
    UNASSIGNED_COLOR,
    LegendRow,
    TileSource,
    add_legend,
    add_reps,
    add_units,
    base_map,
    territory_colors,
)

__all__ = [
    "COMPARED_METRICS",
    "changes_map",
    "metrics_side_by_side",
    "plan_map",
    "scenarios_table",
    "tradeoff_chart",
    "tradeoff_frontier",
    "workload_chart",
]


# --- maps ------------------------------------------------------------------------------------
def _simplified(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4326, shapes simplified for drawing (1/4000 of the view)."""
    out = frame.to_crs(s.STORAGE_CRS) if frame.crs is not None else frame.set_crs(s.STORAGE_CRS)
    west, south, east, north = out.total_bounds
    if all(math.isfinite(v) for v in (west, south, east, north)):
        diag = math.hypot(east - west, north - south)
        out = out.copy()
        out.geometry = shapely.set_precision(
            shapely.simplify(out.geometry.to_numpy(), diag / 4000.0, preserve_topology=True), 1e-5
        )
    return out


def _bounds(frame: gpd.GeoDataFrame) -> list[list[float]] | None:
    west, south, east, north = frame.total_bounds
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        return None
    return [[float(south), float(west)], [float(north), float(east)]]


def plan_map(
    ws_units: gpd.GeoDataFrame,
    plan: TerritoryPlan,
    table: pd.DataFrame,
    *,
    tiles: TileSource,
    tolerance: float,
    reps: gpd.GeoDataFrame | None = None,
) -> tuple[folium.Map, dict[str, str]]:
    """Draw a plan: territories coloured, outlined red when outside the tolerance.

    The tooltip of a territory gives its workload, target, deviation,
    accounts and units.

    Parameters
    ----------
    ws_units
        The workspace's unit polygons.
    plan
        The plan.
    table
        Its :func:`plan_table`.
    tiles
        Basemap.
    tolerance
        The run's tolerance (for the legend).
    reps
        Reps whose homes to mark.

    Returns
    -------
    tuple
        The map and the colour of each territory (for the charts).
    """
    shapes, colors = _territory_shapes(ws_units, plan.assignment)
    info = table.set_index(s.TERRITORY_ID)
    frame = _simplified(shapes)
    frame["label"] = [_plan_label(tid, info.loc[tid]) for tid in frame[s.TERRITORY_ID]]
    frame["color"] = frame[s.TERRITORY_ID].map(colors).fillna(UNASSIGNED_COLOR)
    frame["outside"] = ~frame[s.TERRITORY_ID].map(info["within"]).fillna(True).astype(bool)
    m = base_map(_bounds(frame), tiles=tiles)
    add_units(m, ws_units, simplify_m=0.0, name="Units")
    _add_plan_layer(m, frame)
    extra: list[LegendRow] = []
    if frame["outside"].any():
        extra.append(
            LegendRow(
                "line",
                f"Outside ±{tolerance:.1%} of target",
                color="#d62728",
                weight=3.5,
                dashed=True,
            )
        )
    if reps is not None and add_reps(m, reps):
        extra.append(LegendRow("rep", "Rep home base"))
    deviation = info["deviation"].astype(float).to_dict()
    items = [
        (str(info.loc[t, "territory"]) + f" ({signed_pct(deviation[t])})", colors[t], None)
        for t in sorted(colors)
        if t in deviation
    ]
    add_legend(m, items, title="Territories (deviation)", extra=extra)
    return m, colors


def _territory_shapes(
    ws_units: gpd.GeoDataFrame, assignment: pd.Series
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Dissolve the units into the territories of ``assignment`` and colour them."""
    shapes = dissolve_units(ws_units, assignment.astype(str))
    shapes[s.TERRITORY_ID] = shapes[s.TERRITORY_ID].astype(str)
    colors = territory_colors(
        shapes[s.TERRITORY_ID],
        geometries=gpd.GeoSeries(shapes.geometry.to_numpy(), index=shapes[s.TERRITORY_ID]),
    )
    return shapes, colors


def _plan_label(tid: str, row: pd.Series) -> str:
    """The tooltip of a territory: workload, target, deviation and status, size."""
    status = (
        "locked"
        if row["locked"]
        else ("within tolerance" if row["within"] else "outside tolerance")
    )
    return (
        f"<b>{escape_html(str(row['territory']))}</b> ({escape_html(tid)})<br>"
        f"workload {row['workload']:,.1f} · target {row['target']:,.1f}<br>"
        f"deviation <b>{signed_pct(float(row['deviation']))}</b> ({status})<br>"
        f"{int(row['accounts']):,} accounts · {int(row['units']):,} units"
    )


def _add_plan_layer(m: folium.Map, frame: gpd.GeoDataFrame) -> None:
    """Draw the territories; those outside the tolerance outlined red and dashed."""

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        return {
            "color": "#d62728" if p["outside"] else "#333333",
            "weight": 3.5 if p["outside"] else 2.0,
            "opacity": 0.9,
            "dashArray": "6 4" if p["outside"] else None,
            "fillColor": p["color"],
            "fillOpacity": 0.4,
        }

    folium.GeoJson(
        frame[[s.TERRITORY_ID, "label", "color", "outside", "geometry"]].to_json(drop_id=True),
        style_function=style,
        highlight_function=lambda _f: {"fillOpacity": 0.6, "weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        name="Plan",
        control=False,
    ).add_to(m)


def changes_map(
    ws_units: gpd.GeoDataFrame,
    assignment_b: pd.Series,
    changes: gpd.GeoDataFrame,
    labels: Mapping[str, str],
    *,
    tiles: TileSource,
) -> folium.Map:
    """Draw scenario B's territories faintly and the units that changed territory in bold.

    Parameters
    ----------
    ws_units
        The workspace's unit polygons.
    assignment_b
        Unit id -> territory id of the scenario compared to.
    changes
        Moved units with ``unit_id``, ``from_territory``, ``to_territory``
        and their polygons (:attr:`PlanComparison.changes`).
    labels
        Display label per territory id (both scenarios).
    tiles
        Basemap.
    """
    shapes, colors = _territory_shapes(ws_units, assignment_b)
    frame = _simplified(shapes)
    frame["label"] = [
        f"<b>{escape_html(labels.get(t, t))}</b> ({escape_html(t)})" for t in frame[s.TERRITORY_ID]
    ]
    frame["color"] = frame[s.TERRITORY_ID].map(colors)
    m = base_map(_bounds(frame), tiles=tiles)
    add_units(m, ws_units, simplify_m=0.0, name="Units")
    folium.GeoJson(
        frame[[s.TERRITORY_ID, "label", "color", "geometry"]].to_json(drop_id=True),
        style_function=lambda f: {
            "color": f["properties"]["color"],
            "weight": 1.5,
            "fillColor": f["properties"]["color"],
            "fillOpacity": 0.15,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        name="Territories (B)",
        control=False,
    ).add_to(m)
    if len(changes):
        moved = _simplified(changes)
        moved["label"] = [
            f"unit <b>{escape_html(str(u))}</b><br>{escape_html(labels.get(str(a), str(a)))} → "
            f"<b>{escape_html(labels.get(str(b), str(b)))}</b>"
            for u, a, b in zip(
                moved[s.UNIT_ID], moved["from_territory"], moved["to_territory"], strict=True
            )
        ]
        moved["color"] = moved["to_territory"].astype(str).map(colors).fillna(UNASSIGNED_COLOR)
        folium.GeoJson(
            moved[[s.UNIT_ID, "label", "color", "geometry"]].to_json(drop_id=True),
            style_function=lambda f: {
                "color": "#111111",
                "weight": 2.5,
                "fillColor": f["properties"]["color"],
                "fillOpacity": 0.75,
            },
            highlight_function=lambda _f: {"weight": 4},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
            name="Moved units",
            control=False,
        ).add_to(m)
    items = [(labels.get(t, t), colors[t], None) for t in sorted(colors)]
    add_legend(
        m,
        items,
        title="Territories in B",
        extra=[LegendRow("line", f"Moved unit ({len(changes):,})", color="#111111", weight=2.5)],
    )
    return m


# --- tables of the compare page --------------------------------------------------------------
#: Figures of the side-by-side table, in order, with what the user reads.
COMPARED_METRICS = {
    "n_territories": "Territories",
    "total_workload": "Total workload",
    "max_abs_deviation": "Worst deviation from target",
    "mean_abs_deviation": "Mean deviation from target",
    "all_contiguous": "All territories contiguous",
    "polsby_popper_mean": "Compactness (Polsby-Popper, mean)",
    "polsby_popper_min": "Compactness (Polsby-Popper, worst)",
    "dispersion_mean_km": "Dispersion (km)",
    "moved_units": "Units moved",
    "moved_accounts": "Accounts moved",
    "moved_account_share": "Share of accounts moved",
    "moved_workload_share": "Share of workload moved",
}
_SHARES = {"max_abs_deviation", "mean_abs_deviation", "moved_account_share", "moved_workload_share"}


def metrics_side_by_side(metrics: pd.DataFrame) -> pd.DataFrame:
    """Return ``metric``, ``A`` and ``B`` as text from a comparison's metrics (columns a, b).

    Shares read as percentages, whole numbers with thousands separators,
    flags as yes/no and missing values as a dash.
    """
    rows = [
        {
            "metric": label,
            "A": _figure(metrics.loc[key, "a"], share=key in _SHARES),
            "B": _figure(metrics.loc[key, "b"], share=key in _SHARES),
        }
        for key, label in COMPARED_METRICS.items()
        if key in metrics.index
    ]
    return pd.DataFrame(rows, columns=["metric", "A", "B"])


def _figure(v: object, *, share: bool) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if share:
        return f"{float(v):.1%}"  # type: ignore[arg-type]
    if isinstance(v, int | np.integer) or (isinstance(v, float) and float(v).is_integer()):
        return f"{int(v):,}"
    return f"{float(v):,.3f}" if isinstance(v, float) else str(v)


def scenarios_table(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Return one row per scenario: name, id, state, when and from what it was made."""
    return pd.DataFrame(
        [
            {
                "scenario": sc.name or sc.scenario_id,
                "id": sc.scenario_id,
                "state": str(sc.state),
                "created": sc.created_at,
                "made from": sc.created_from or "",
                "description": sc.description,
            }
            for sc in scenarios
        ]
    )
