"""Glue of the balance and compare pages: balancing inputs per session, plan maps and charts."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from planner import schema as s
from planner.balance import (
    ACCOUNT_COUNT,
    WORKLOAD_H,
    BalanceUnits,
    TerritoryPlan,
    TradeoffCurve,
    prepare_units,
    units_with_workload,
)
from planner.balance.scenario import territory_owners
from planner.errors import PlannerError
from planner.export.safety import escape_html
from planner.geo.shapes import dissolve_units
from planner.routing.visits import DRIVE_H_PER_WEEK
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
from planner.workspace import Workspace
from ui import routes, state
from ui.cache import roads_file_for

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

__all__ = [
    "DRIVE_H_PER_WEEK",
    "DRIVE_LABEL",
    "BalanceInputs",
    "BalanceRun",
    "balance_inputs",
    "changes_map",
    "clear_promote_request",
    "flash",
    "last_run",
    "owner_labels",
    "plan_map",
    "plan_table",
    "pop_flash",
    "promote_request",
    "request_promote",
    "set_last_run",
    "territory_labels",
    "tradeoff_chart",
    "variable_options",
    "workload_chart",
]

logger = logging.getLogger(__name__)

#: What the user reads for the per-unit weekly drive hours.
DRIVE_LABEL = "Drive hours per week (estimate)"

_INPUTS = "tp.balance.inputs"
_RUN = "tp.balance.run"
_PROMOTE = "tp.compare.promote"
_FLASH = "tp.compare.flash"

#: Columns that are never offered as balance variables.
_NOT_VARIABLES = {
    "h3_resolution",
    "AREA",
    "PERIMETER",
    "G_UTM_",
    "G_UTM_ID",
    "X",
    "Y",
    "Latitude",
    "Longitud",
    "AreaKey",
}


@dataclass(frozen=True, eq=False)
class BalanceInputs:
    """The workspace's units ready to balance.

    Parameters
    ----------
    units
        The units with ``account_count``, ``workload_h`` (visit hours per
        month, when the accounts have visit columns) and ``annual_revenue``.
    prepared
        The same units measured, with their adjacency graph.
    outside
        Accounts that lie in no unit (left out of every figure).
    drive_note
        How ``drive_h_per_week`` was estimated (``None`` when it was not).
    drive_error
        Why it could not be estimated, if it failed.
    """

    units: gpd.GeoDataFrame
    prepared: BalanceUnits
    outside: int
    drive_note: str | None = None
    drive_error: str | None = None


def balance_inputs(ws: Workspace, scenario_id: str | None = None) -> BalanceInputs:
    """Return the session workspace's units with workload, prepared once per workspace version.

    With ``scenario_id``, the units also get ``drive_h_per_week``: the
    weekly drive hours of that scenario's territories (the fast estimate
    of :func:`planner.routing.travel_workload`, on the road network saved
    beside the workspace when there is one, else on straight lines), split
    over the accounts and summed per unit.

    Raises
    ------
    planner.errors.PlannerError
        If the units cannot be balanced (none, or invalid polygons).
    """
    path = routes.workspace_file(ws)  # the routes glue owns the cached road networks
    roads = roads_file_for(path)
    roads_key = None if roads is None else (str(roads), roads.stat().st_mtime_ns)
    version = (id(ws), state.workspace_version(), roads_key)
    cached = st.session_state.get(_INPUTS)
    store: dict[str | None, BalanceInputs] = (
        cached[1] if cached is not None and cached[0] == version else {}
    )
    if scenario_id in store:  # one entry per scenario (and one without drive hours)
        return store[scenario_id]
    accounts = ws.accounts
    note = error = None
    if scenario_id is not None:
        hours, text = _drive_hours(ws, scenario_id, path)
        if hours is not None:
            accounts = accounts.assign(**{DRIVE_H_PER_WEEK: hours})
            note = text
        else:
            error = text
    units = units_with_workload(
        ws.units, accounts, columns=(s.ANNUAL_REVENUE, DRIVE_H_PER_WEEK), outside="drop"
    )
    prepared = prepare_units(units)
    outside = len(ws.accounts) - int(units[ACCOUNT_COUNT].sum())
    inputs = BalanceInputs(units, prepared, outside, drive_note=note, drive_error=error)
    store[scenario_id] = inputs
    st.session_state[_INPUTS] = (version, store)
    return inputs


def _drive_hours(
    ws: Workspace, scenario_id: str, path: Path | None
) -> tuple[pd.Series | None, str]:
    """Each account's weekly drive hours in the scenario, and how they were estimated."""
    network = routes.network_for(path)
    try:
        hours = routes.account_drive_hours(ws, scenario_id, network=network)
    except PlannerError as exc:
        logger.warning("drive hours not estimated: %s", exc)
        return None, f"Drive hours could not be estimated: {exc}"
    how = (
        "calibrated on the road network saved beside the workspace"
        if network is not None
        else "from straight-line distances (no road network beside the workspace)"
    )
    return hours, (
        f"{DRIVE_LABEL}: each territory's weekly driving in scenario {scenario_id}, "
        f"{how}, shared out over its accounts by visits and distance from the rep's home. "
        "An approximation: a territory's drive time is not quite the sum of its units'."
    )


def variable_options(units: pd.DataFrame) -> dict[str, str]:
    """Return the columns that can be balanced, with what the user reads for each."""
    out: dict[str, str] = {}
    if WORKLOAD_H in units.columns:
        out[WORKLOAD_H] = "Visit hours per month"
    if s.ANNUAL_REVENUE in units.columns and float(units[s.ANNUAL_REVENUE].sum()) > 0:
        out[s.ANNUAL_REVENUE] = "Annual revenue"
    out[ACCOUNT_COUNT] = "Account count"
    if DRIVE_H_PER_WEEK in units.columns:
        drive = pd.to_numeric(units[DRIVE_H_PER_WEEK], errors="coerce").fillna(0.0)
        if float(drive.sum()) > 0:
            out[DRIVE_H_PER_WEEK] = DRIVE_LABEL
    for col in units.columns:
        if col == DRIVE_H_PER_WEEK:
            continue
        if col in out or col in _NOT_VARIABLES or col in (s.UNIT_ID, s.GEOMETRY):
            continue
        values = pd.to_numeric(units[col], errors="coerce")
        if not pd.api.types.is_numeric_dtype(units[col]) or values.isna().any():
            continue
        if (values < 0).any() or float(values.sum()) <= 0 or values.nunique() < 2:
            continue
        out[str(col)] = f"{col} (unit column)"
    return out


# --- the page's last run -------------------------------------------------------------------
@dataclass(eq=False)
class BalanceRun:
    """One run of the balance page, kept in the session until the next run.

    Parameters
    ----------
    workspace
        The workspace it ran on (a run of another workspace is not shown).
    base_scenario_id
        The scenario it started from (and replaces when saved).
    plan
        The plan (already aligned to the base scenario's territory ids).
    tolerance_met
        Whether every territory is within the tolerance.
    elapsed_s
        Wall-clock time of the run.
    curve
        The trade-off curve of a rebalance, when asked for.
    reps
        The reps the territories were centred on, if any.
    saved_as
        The scenario it was saved as, once saved.
    """

    workspace: Workspace
    base_scenario_id: str
    plan: TerritoryPlan
    tolerance_met: bool
    elapsed_s: float
    curve: TradeoffCurve | None = None
    reps: gpd.GeoDataFrame | None = None
    saved_as: str | None = None
    notes: list[str] = field(default_factory=list)


def last_run(ws: Workspace, scenario_id: str) -> BalanceRun | None:
    """Return the session's last run if it was made on this workspace and scenario."""
    run = cast("BalanceRun | None", st.session_state.get(_RUN))
    if run is None or run.workspace is not ws or run.base_scenario_id != scenario_id:
        return None
    return run


def set_last_run(run: BalanceRun | None) -> None:
    """Keep ``run`` as the session's last run (``None`` forgets it)."""
    st.session_state[_RUN] = run


def request_promote(scenario_id: str | None) -> None:
    """Ask for confirmation before promoting ``scenario_id`` (``None`` withdraws the request)."""
    st.session_state[_PROMOTE] = scenario_id


def promote_request() -> str | None:
    """Return the scenario waiting for a confirmed promotion, if any."""
    value = st.session_state.get(_PROMOTE)
    return None if value is None else str(value)


def clear_promote_request() -> None:
    """Forget a pending promotion."""
    st.session_state[_PROMOTE] = None


def flash(message: str) -> None:
    """Keep a message to show once after the next rerun."""
    st.session_state[_FLASH] = message


def pop_flash() -> str | None:
    """Return the message kept by :func:`flash` (once), or ``None``."""
    value = st.session_state.pop(_FLASH, None)
    return None if value is None else str(value)


# --- tables ----------------------------------------------------------------------------------
def territory_labels(ws: Workspace, scenario_id: str, territory_ids: list[str]) -> dict[str, str]:
    """Return a label per territory: its name in the scenario, else its rep's name, else its id."""
    terr = ws.territories(scenario_id)
    names = {
        str(t): str(n)
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
        if isinstance(n, str) and n
    }
    reps = {
        str(r): str(n)
        for r, n in zip(ws.reps[s.REP_ID], ws.reps[s.NAME], strict=True)
        if isinstance(n, str) and n
    }
    return {t: names.get(t) or reps.get(t) or t for t in territory_ids}


def plan_table(
    plan: TerritoryPlan, units: pd.DataFrame, labels: Mapping[str, str], tolerance: float
) -> pd.DataFrame:
    """Return one row per territory: label, workload, target, deviation, band, accounts, shape."""
    rows = plan.metrics.territories.copy()
    rows[s.TERRITORY_ID] = rows[s.TERRITORY_ID].astype(str)
    counts = pd.Series(
        pd.to_numeric(units[ACCOUNT_COUNT]).to_numpy(),
        index=units[s.UNIT_ID].astype(str).to_numpy(),
    )
    assignment = plan.assignment.astype(str)
    per = (
        counts.reindex(assignment.index.astype(str)).fillna(0).groupby(assignment.to_numpy()).sum()
    )
    out = pd.DataFrame(
        {
            s.TERRITORY_ID: rows[s.TERRITORY_ID],
            "territory": rows[s.TERRITORY_ID].map(lambda t: labels.get(t, t)),
            "workload": rows["workload"].astype(float),
            "target": rows["target"].astype(float),
            "deviation": rows["deviation"].astype(float),
            "lower": rows["target"].astype(float) * (1 - tolerance),
            "upper": rows["target"].astype(float) * (1 + tolerance),
            "accounts": rows[s.TERRITORY_ID].map(per).fillna(0).astype(int),
            "units": rows["units"].astype(int),
            "locked": rows["locked"].astype(bool),
            "contiguous": rows["contiguous"].astype(bool),
            "polsby_popper": rows["polsby_popper"].astype(float),
        }
    )
    if "home_distance_km" in rows.columns:
        out["home_distance_km"] = rows["home_distance_km"].astype(float)
    out["within"] = out["locked"] | (out["deviation"].abs() <= tolerance + 1e-9)
    return out.reset_index(drop=True)


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


def _pct(value: float) -> str:
    return f"{value:+.1%}".replace("%", " %")


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
    shapes = dissolve_units(ws_units, plan.assignment.astype(str))
    shapes[s.TERRITORY_ID] = shapes[s.TERRITORY_ID].astype(str)
    colors = territory_colors(
        shapes[s.TERRITORY_ID],
        geometries=gpd.GeoSeries(shapes.geometry.to_numpy(), index=shapes[s.TERRITORY_ID]),
    )
    info = table.set_index(s.TERRITORY_ID)
    frame = _simplified(shapes)
    labels = []
    for tid in frame[s.TERRITORY_ID]:
        row = info.loc[tid]
        status = (
            "locked"
            if row["locked"]
            else ("within tolerance" if row["within"] else "outside tolerance")
        )
        labels.append(
            f"<b>{escape_html(str(row['territory']))}</b> ({escape_html(tid)})<br>"
            f"workload {row['workload']:,.1f} · target {row['target']:,.1f}<br>"
            f"deviation <b>{_pct(float(row['deviation']))}</b> ({status})<br>"
            f"{int(row['accounts']):,} accounts · {int(row['units']):,} units"
        )
    frame["label"] = labels
    frame["color"] = frame[s.TERRITORY_ID].map(colors).fillna(UNASSIGNED_COLOR)
    frame["outside"] = ~frame[s.TERRITORY_ID].map(info["within"]).fillna(True).astype(bool)
    m = base_map(_bounds(frame), tiles=tiles)
    add_units(m, ws_units, simplify_m=0.0, name="Units")

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
        (str(info.loc[t, "territory"]) + f" ({_pct(deviation[t])})", colors[t], None)
        for t in sorted(colors)
        if t in deviation
    ]
    add_legend(m, items, title="Territories (deviation)", extra=extra)
    return m, colors


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
    shapes = dissolve_units(ws_units, assignment_b.astype(str))
    shapes[s.TERRITORY_ID] = shapes[s.TERRITORY_ID].astype(str)
    colors = territory_colors(
        shapes[s.TERRITORY_ID],
        geometries=gpd.GeoSeries(shapes.geometry.to_numpy(), index=shapes[s.TERRITORY_ID]),
    )
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


# --- charts ----------------------------------------------------------------------------------
def workload_chart(
    table: pd.DataFrame, colors: Mapping[str, str], *, unit: str, tolerance: float
) -> alt.HConcatChart:
    """Return workload per territory (bars over the tolerance band) beside its deviation.

    Left: each territory's workload as a bar, its target as a black tick and
    the tolerance band around the target in grey. Right: the deviation from
    target, with the band of ±``tolerance`` shaded, so small differences show.
    Bars outside the band are outlined in red.

    Parameters
    ----------
    table
        A :func:`plan_table`.
    colors
        Bar colour per territory id (the map's).
    unit
        What the workload is measured in (axis title).
    tolerance
        The accepted relative deviation.
    """
    import altair as alt

    data = table.copy()
    data["color"] = data[s.TERRITORY_ID].map(colors).fillna(UNASSIGNED_COLOR)
    data["deviation_text"] = data["deviation"].map(_pct)
    data["tol_low"], data["tol_high"] = -tolerance, tolerance
    order = data.sort_values("workload", ascending=False)["territory"].tolist()
    y = alt.Y("territory:N", sort=order, title=None, axis=alt.Axis(labelLimit=240))
    tooltip = [
        alt.Tooltip("territory:N"),
        alt.Tooltip("workload:Q", format=",.1f"),
        alt.Tooltip("target:Q", format=",.1f"),
        alt.Tooltip("deviation_text:N", title="deviation"),
        alt.Tooltip("accounts:Q", format=","),
    ]
    outline = alt.condition("datum.within", alt.value("transparent"), alt.value("#d62728"))
    step = alt.Step(28)
    base = alt.Chart(data)
    band = base.mark_bar(color="#9e9e9e", opacity=0.45).encode(
        y=y, x=alt.X("lower:Q", title=unit), x2="upper:Q"
    )
    bars = base.mark_bar(size=14).encode(
        y=y,
        x="workload:Q",
        color=alt.Color("color:N", scale=None, legend=None),
        stroke=outline,
        strokeWidth=alt.value(2),
        tooltip=tooltip,
    )
    target = base.mark_tick(color="#222222", thickness=2).encode(y=y, x="target:Q")
    workload = (band + bars + target).properties(
        height=step, width=420, title="Workload and tolerance band"
    )
    span = max(float(data["deviation"].abs().max()), tolerance) * 1.15
    scale = alt.Scale(domain=[-span, span])
    dev_band = base.mark_bar(color="#9e9e9e", opacity=0.45).encode(
        y=alt.Y("territory:N", sort=order, axis=None),
        x=alt.X("tol_low:Q", scale=scale, title="Deviation from target", axis=alt.Axis(format="%")),
        x2="tol_high:Q",
    )
    dev_bars = base.mark_bar(size=14).encode(
        y=alt.Y("territory:N", sort=order, axis=None),
        x=alt.X("deviation:Q", scale=scale),
        color=alt.Color("color:N", scale=None, legend=None),
        stroke=outline,
        strokeWidth=alt.value(2),
        tooltip=tooltip,
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(color="#222222")
        .encode(x=alt.X("x:Q", scale=scale))
    )
    deviation = (dev_band + dev_bars + zero).properties(
        height=step, width=260, title=f"Deviation (band ±{tolerance:.1%})"
    )
    return alt.hconcat(workload, deviation, spacing=12)


def tradeoff_chart(
    curve: TradeoffCurve, *, chosen: tuple[float, float] | None = None
) -> alt.LayerChart:
    """Return the trade-off curve: worst deviation against accounts moved.

    Every budget's plan is a dot; the line joins the plans no other plan
    beats on both counts (the efficient frontier), from the current plan on.

    Parameters
    ----------
    curve
        From :func:`planner.balance.tradeoff_curve`.
    chosen
        ``(accounts moved, worst deviation)`` of the plan shown, marked in red.
    """
    import altair as alt

    pts = curve.points.copy()
    pts["budget"] = [
        ("no limit" if not np.isfinite(b) else f"{b:,.0f} accounts") for b in pts["budget_accounts"]
    ]
    start = pd.DataFrame(
        [
            {
                "moved_accounts": 0.0,
                "max_abs_deviation": curve.baseline_max_abs_deviation,
                "budget": "current plan",
                "moved_units": 0,
            }
        ]
    )
    data = pd.concat(
        [start, pts[["moved_accounts", "max_abs_deviation", "budget", "moved_units"]]],
        ignore_index=True,
    )
    data = (
        data.sort_values(["moved_accounts", "max_abs_deviation"])
        .drop_duplicates(["moved_accounts", "max_abs_deviation"])
        .reset_index(drop=True)
    )
    best = data["max_abs_deviation"].cummin()
    frontier = data[data["max_abs_deviation"] <= best + 1e-12].drop_duplicates("max_abs_deviation")
    x = alt.X("moved_accounts:Q", title="Accounts moved")
    y = alt.Y("max_abs_deviation:Q", title="Worst deviation from target", axis=alt.Axis(format="%"))
    tooltip = [
        alt.Tooltip("budget:N", title="budget"),
        alt.Tooltip("moved_accounts:Q", format=",.0f", title="accounts moved"),
        alt.Tooltip("moved_units:Q", title="units moved"),
        alt.Tooltip("max_abs_deviation:Q", format=".2%", title="worst deviation"),
    ]
    line = alt.Chart(frontier).mark_line(interpolate="step-after", color="#4e79a7").encode(x=x, y=y)
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=70, color="#4e79a7")
        .encode(x=x, y=y, tooltip=tooltip)
    )
    chart = line + dots
    if chosen is not None:
        mark = pd.DataFrame(
            [
                {
                    "moved_accounts": chosen[0],
                    "max_abs_deviation": chosen[1],
                    "budget": "the plan shown",
                    "moved_units": None,
                }
            ]
        )
        chart = chart + alt.Chart(mark).mark_point(
            size=240, color="#d62728", shape="diamond", filled=True
        ).encode(x=x, y=y, tooltip=tooltip[:2] + tooltip[3:])
    return chart.properties(height=300)


def owner_labels(ws: Workspace, scenario_id: str) -> dict[str, str]:
    """Return "territory name (owner name)" per territory of a scenario, for pickers."""
    terr = ws.territories(scenario_id)
    owners = territory_owners(ws, scenario_id)
    reps = {
        str(r): str(n)
        for r, n in zip(ws.reps[s.REP_ID], ws.reps[s.NAME], strict=True)
        if isinstance(n, str) and n
    }
    out = {}
    for t, n in zip(terr[s.TERRITORY_ID].astype(str), terr[s.NAME], strict=True):
        name = n if isinstance(n, str) and n else t
        owner = reps.get(owners.get(t, ""), owners.get(t))
        out[t] = f"{name} ({owner})" if owner else f"{name} ({t})"
    return out
