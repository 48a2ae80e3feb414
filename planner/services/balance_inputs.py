"""What the Balance page and ``planner balance --workspace`` balance: the workspace's units.

The workflow both share::

    inputs = balance_inputs(ws, "2026-plan", network=network)  # units with workload
    variables = variable_options(inputs.units)                 # what can be balanced
    table = plan_table(plan, inputs.units, territory_labels(ws, sid, ids), 0.02)

Every unit gets its accounts' count, visit hours per month (``workload_h``,
when the accounts have visit columns) and annual revenue; with a scenario,
also its weekly drive hours (``drive_h_per_week``), estimated from that
scenario's territories and reps' homes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from planner import schema as s
from planner.balance import (
    ACCOUNT_COUNT,
    WORKLOAD_H,
    BalanceUnits,
    TerritoryPlan,
    prepare_units,
    units_with_workload,
)
from planner.balance.scenario import territory_owners
from planner.errors import PlannerError
from planner.geo.adjacency import Contiguity
from planner.geodesy import haversine_m
from planner.routing import EstimateParams, RoadNetwork, load_network
from planner.routing.snapping import snap_points
from planner.routing.visits import DRIVE_H_PER_WEEK
from planner.services.rep_accounts import account_drive_hours, saved_network_file
from planner.workspace import Workspace

__all__ = [
    "DRIVE_H_PER_WEEK",
    "DRIVE_LABEL",
    "BalanceInputs",
    "balance_inputs",
    "drive_hours",
    "home_drive_hours",
    "owner_labels",
    "plan_table",
    "territory_labels",
    "variable_options",
    "workspace_network",
]

logger = logging.getLogger(__name__)

#: What the user reads for the per-unit weekly drive hours.
DRIVE_LABEL = "Drive hours per week (estimate)"

#: Columns that are never offered as balance variables (ids, shape sizes, coordinates).
_NOT_VARIABLES = frozenset(
    {
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
        s.UNIT_ID,
        s.GEOMETRY,
        DRIVE_H_PER_WEEK,
    }
)


@dataclass(frozen=True, eq=False)
class BalanceInputs:
    """The workspace's units ready to balance.

    Parameters
    ----------
    units
        The units with ``account_count``, ``workload_h`` (visit hours per
        month, when the accounts have visit columns) and ``annual_revenue``
        (and ``drive_h_per_week`` when it was estimated).
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


def balance_inputs(
    ws: Workspace,
    scenario_id: str | None = None,
    *,
    network: RoadNetwork | None = None,
    contiguity: Contiguity = "rook",
) -> BalanceInputs:
    """Return the workspace's units with their workload, measured for balancing.

    With ``scenario_id``, the units also get ``drive_h_per_week``: the
    weekly drive hours of that scenario's territories (the fast estimate of
    :func:`planner.routing.account_drive_hours`, on ``network`` when given,
    else on straight lines), split over the accounts and summed per unit.
    When they cannot be estimated, ``drive_error`` says why and the other
    variables are still there.

    Parameters
    ----------
    ws
        The workspace.
    scenario_id
        The scenario whose territories and reps the drive hours follow.
    network
        The road network beside the workspace, if it has one.
    contiguity
        ``"rook"`` or ``"queen"`` adjacency of the units.

    Raises
    ------
    planner.errors.PlannerError
        If the units cannot be balanced (none, or invalid polygons).
    """
    accounts = ws.accounts
    note = error = None
    if scenario_id is not None:
        hours, text = drive_hours(ws, scenario_id, network=network)
        if hours is not None:
            accounts = accounts.assign(**{DRIVE_H_PER_WEEK: hours})
            note = text
        else:
            error = text
    units = units_with_workload(
        ws.units, accounts, columns=(s.ANNUAL_REVENUE, DRIVE_H_PER_WEEK), outside="drop"
    )
    prepared = prepare_units(units, contiguity=contiguity)
    outside = len(ws.accounts) - int(units[ACCOUNT_COUNT].sum())
    return BalanceInputs(units, prepared, outside, drive_note=note, drive_error=error)


def drive_hours(
    ws: Workspace, scenario_id: str, *, network: RoadNetwork | None = None
) -> tuple[pd.Series | None, str]:
    """Return each account's weekly drive hours in the scenario and how they were estimated.

    Returns
    -------
    tuple
        The hours on the index of ``ws.accounts`` (``None`` when they could
        not be estimated) and a sentence for the user: how they were
        estimated, or why they were not.
    """
    try:
        hours = account_drive_hours(ws, scenario_id, network=network)
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
    """Return the columns that can be balanced, with what the user reads for each.

    Visit hours, revenue (when any), the account count and drive hours (when
    any) come first; then every other unit column of numbers that are all
    present, none negative, not all equal and not all zero.
    """
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
        if col not in out and col not in _NOT_VARIABLES and _balanceable(units[col]):
            out[str(col)] = f"{col} (unit column)"
    return out


def _balanceable(column: pd.Series) -> bool:
    """Whether a unit column can be balanced: numbers, all there, none negative, varied."""
    if not pd.api.types.is_numeric_dtype(column):
        return False
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any() or (values < 0).any():
        return False
    return float(values.sum()) > 0 and values.nunique() >= 2


def _rep_names(ws: Workspace) -> dict[str, str]:
    return {
        str(r): str(n)
        for r, n in zip(ws.reps[s.REP_ID], ws.reps[s.NAME], strict=True)
        if isinstance(n, str) and n
    }


def territory_labels(ws: Workspace, scenario_id: str, territory_ids: list[str]) -> dict[str, str]:
    """Return a label per territory: its name in the scenario, else its rep's name, else its id."""
    terr = ws.territories(scenario_id)
    names = {
        str(t): str(n)
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
        if isinstance(n, str) and n
    }
    reps = _rep_names(ws)
    return {t: names.get(t) or reps.get(t) or t for t in territory_ids}


def owner_labels(ws: Workspace, scenario_id: str) -> dict[str, str]:
    """Return "territory name (owner name)" per territory of a scenario, for pickers."""
    terr = ws.territories(scenario_id)
    owners = territory_owners(ws, scenario_id)
    reps = _rep_names(ws)
    out = {}
    for t, n in zip(terr[s.TERRITORY_ID].astype(str), terr[s.NAME], strict=True):
        name = n if isinstance(n, str) and n else t
        owner = reps.get(owners.get(t, ""), owners.get(t))
        out[t] = f"{name} ({owner})" if owner else f"{name} ({t})"
    return out


def plan_table(
    plan: TerritoryPlan, units: pd.DataFrame, labels: Mapping[str, str], tolerance: float
) -> pd.DataFrame:
    """Return one row per territory: label, workload, target, deviation, band, accounts, shape.

    ``lower`` and ``upper`` bound the tolerance band around the target;
    ``within`` says whether the territory is locked or inside it.
    """
    rows = plan.metrics.territories.copy()
    rows[s.TERRITORY_ID] = rows[s.TERRITORY_ID].astype(str)
    target = rows["target"].astype(float)
    out = pd.DataFrame(
        {
            s.TERRITORY_ID: rows[s.TERRITORY_ID],
            "territory": rows[s.TERRITORY_ID].map(lambda t: labels.get(t, t)),
            "workload": rows["workload"].astype(float),
            "target": target,
            "deviation": rows["deviation"].astype(float),
            "lower": target * (1 - tolerance),
            "upper": target * (1 + tolerance),
            "accounts": rows[s.TERRITORY_ID].map(_accounts_per_territory(plan, units)),
            "units": rows["units"].astype(int),
            "locked": rows["locked"].astype(bool),
            "contiguous": rows["contiguous"].astype(bool),
            "polsby_popper": rows["polsby_popper"].astype(float),
        }
    )
    out["accounts"] = out["accounts"].fillna(0).astype(int)
    if "home_distance_km" in rows.columns:
        out["home_distance_km"] = rows["home_distance_km"].astype(float)
    out["within"] = out["locked"] | (out["deviation"].abs() <= tolerance + 1e-9)
    return out.reset_index(drop=True)


def _accounts_per_territory(plan: TerritoryPlan, units: pd.DataFrame) -> pd.Series:
    """Accounts in each territory of the plan, from the units' ``account_count``."""
    counts = pd.Series(
        pd.to_numeric(units[ACCOUNT_COUNT]).to_numpy(),
        index=units[s.UNIT_ID].astype(str).to_numpy(),
    )
    assignment = plan.assignment.astype(str)
    per_unit = counts.reindex(assignment.index.astype(str)).fillna(0)
    return per_unit.groupby(assignment.to_numpy()).sum()


def workspace_network(ws: Workspace) -> tuple[RoadNetwork | None, str | None]:
    """Return the road network saved beside the workspace file, if any, or why it is not used.

    A network that fails to load counts as absent (drive hours then use the
    straight-line estimate); the second value says why.
    """
    file = saved_network_file(ws.path)
    if file is None:
        return None, None
    try:
        return load_network(file), None
    except PlannerError as exc:
        logger.warning("road network %s not used: %s", file, exc)
        return None, f"the road network {file.name} was not used: {exc}"


def home_drive_hours(
    units: BalanceUnits,
    homes: Mapping[str, tuple[float, float]],
    *,
    network: RoadNetwork | None = None,
    estimate: EstimateParams | None = None,
) -> tuple[pd.DataFrame, str]:
    """Drive hours from each home to each unit's centroid, for a balance's drive limit.

    Parameters
    ----------
    units
        The prepared units.
    homes
        ``(latitude, longitude)`` per row id: a rep id, or a territory id
        for its owner's home.
    network
        The road network: fastest paths from each home (one Dijkstra per
        home). Homes or unit centres too far from every road fall back to
        the estimate.
    estimate
        The straight-line estimate used without a network (routing's).

    Returns
    -------
    tuple
        The hours (rows the ``homes`` keys, columns unit ids) and how they were made.
    """
    est = estimate or EstimateParams()
    centres = units.geometry.centroid.to_crs(s.STORAGE_CRS)
    lat, lon = centres.y.to_numpy(float), centres.x.to_numpy(float)
    keys = [str(k) for k in homes]
    hla = np.array([homes[k][0] for k in keys], dtype=float)[:, None]
    hlo = np.array([homes[k][1] for k in keys], dtype=float)[:, None]
    hours = haversine_m(hla, hlo, lat[None, :], lon[None, :]) * est.circuity / (
        est.speed_kph * 1000.0)
    method = est.describe()
    if network is not None and keys:
        hours, method = _road_hours(network, hla[:, 0], hlo[:, 0], lat, lon, hours)
    return pd.DataFrame(hours, index=keys, columns=list(units.ids)), method


def _road_hours(
    network: RoadNetwork, hla: np.ndarray, hlo: np.ndarray, lat: np.ndarray, lon: np.ndarray,
    fallback: np.ndarray,
) -> tuple[np.ndarray, str]:
    """Fastest road time from each home's node to each unit's node; the estimate where off roads."""
    homes = snap_points(network, hla, hlo, warn=False)
    cells = snap_points(network, lat, lon, warn=False)
    seconds = dijkstra(network.time_csr, directed=True, indices=homes.position)
    out = seconds[:, cells.position] / 3600.0
    off = homes.off_network[:, None] | cells.off_network[None, :] | ~np.isfinite(out)
    out = np.where(off, fallback, out)
    note = f" ({int(off.sum())} pairs off the roads estimated)" if off.any() else ""
    return out, f"roads: fastest paths on {network.source or 'the road network'}{note}"
