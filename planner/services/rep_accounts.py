"""Who can be routed on a date, and their stops: owners, homes and located accounts.

The facts a rep's route (and each territory's travel workload) is made from,
read from a workspace: the territories each rep owns on a date (owner
associations in force then, by the rule :func:`planner.access.active_mask`
uses), the rep's home, and the located accounts of territories. Shared by
the Routes page, ``planner route --workspace`` and balancing's drive-hours
column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessScope, active_mask
from planner.models import AssociationRole
from planner.routing import EstimateParams, RoadNetwork, WorkloadParams
from planner.routing import account_drive_hours as routing_account_drive_hours
from planner.routing.visits import DRIVE_H_PER_WEEK
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "NETWORK_SUFFIXES",
    "account_drive_hours",
    "located_accounts",
    "network_file_for",
    "owned_territories",
    "rep_accounts",
    "rep_home",
    "rep_territories",
    "routable_reps",
    "saved_network_file",
    "territory_accounts",
    "territory_homes",
]


#: The names a workspace's saved road network may have after the workspace's own name.
NETWORK_SUFFIXES = ("_roads.graphml.gz", "_roads.graphml")


def saved_network_file(workspace_path: str | Path | None) -> Path | None:
    """Return the road network saved beside a workspace, or ``None`` if it has none.

    A workspace ``NAME.gpkg`` keeps its network as ``NAME_roads.graphml.gz``
    (or ``NAME_roads.graphml``) in the same folder, as ``planner network
    build`` writes it; the Routes page and ``planner route --workspace`` read it.
    """
    if workspace_path is None:
        return None
    path = Path(workspace_path)
    for suffix in NETWORK_SUFFIXES:
        candidate = path.with_name(f"{path.stem}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def network_file_for(workspace_path: str | Path) -> Path:
    """Return where a workspace's road network is written: ``NAME_roads.graphml.gz`` beside it."""
    path = Path(workspace_path)
    return path.with_name(f"{path.stem}{NETWORK_SUFFIXES[0]}")


# -- who owns what on a date ----------------------------------------------------------------


def _owners(ws: Workspace, scenario_id: str, on: date) -> pd.DataFrame:
    """Owner associations of the scenario in force on ``on`` (the rule access uses)."""
    assoc = ws.associations(scenario_id)
    if assoc.empty:
        return assoc
    owners = assoc[assoc[s.ROLE].astype(str) == AssociationRole.OWNER.value]
    return owners[active_mask(owners, on).to_numpy()]


def rep_territories(ws: Workspace, scenario_id: str, rep_id: str, *, on: date) -> list[str]:
    """Return the territories ``rep_id`` owns in the scenario on ``on``, sorted."""
    owners = _owners(ws, scenario_id, on)
    mine = owners[owners[s.REP_ID].astype(str) == str(rep_id)]
    return sorted(set(mine[s.TERRITORY_ID].astype(str)))


def routable_reps(
    ws: Workspace, scenario_id: str, scope: AccessScope | None, *, on: date
) -> pd.DataFrame:
    """Return the reps whose routes the user may see: they own a territory and are in scope.

    A signed-in rep gets only themself, a manager the reps below them,
    planners and admins everyone (the scope's ``can_view_rep``). ``None``
    (nobody signed in) gets nobody.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``name``, ``territories`` (list of ids), ordered by name.
    """
    columns = [s.REP_ID, s.NAME, "territories"]
    if scope is None:
        return pd.DataFrame(columns=columns)
    by_rep = owned_territories(ws, scenario_id, on)
    rows = [
        {s.REP_ID: rid, s.NAME: s.text_or_none(name) or rid, "territories": by_rep[rid]}
        for rid, name in zip(ws.reps[s.REP_ID].astype(str), ws.reps[s.NAME], strict=True)
        if rid in by_rep and scope.can_view_rep(rid)
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values([s.NAME, s.REP_ID], kind="stable").reset_index(drop=True)


def owned_territories(ws: Workspace, scenario_id: str, on: date) -> dict[str, list[str]]:
    """Return each rep owning territories of the scenario on ``on``, with their ids (sorted)."""
    owners = _owners(ws, scenario_id, on)
    by_rep: dict[str, set[str]] = {}
    for rep, tid in zip(
        owners[s.REP_ID].astype(str), owners[s.TERRITORY_ID].astype(str), strict=True
    ):
        by_rep.setdefault(rep, set()).add(tid)
    return {rep: sorted(tids) for rep, tids in by_rep.items()}


def rep_home(ws: Workspace, rep_id: str) -> tuple[float, float] | None:
    """Return the rep's home as ``(latitude, longitude)``, or ``None`` if it has none."""
    reps = ws.reps
    rows = reps[reps[s.REP_ID].astype(str) == str(rep_id)]
    if rows.empty:
        return None
    geom = rows.geometry.iloc[0]
    if geom is None or geom.is_empty:
        return None
    point = geom if geom.geom_type == "Point" else geom.centroid
    if rows.crs is not None and not rows.crs.equals(s.STORAGE_CRS):
        point = gpd.GeoSeries([point], crs=rows.crs).to_crs(s.STORAGE_CRS).iloc[0]
    return float(point.y), float(point.x)


# -- their accounts -------------------------------------------------------------------------


def _with_coordinates(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Accounts with ``latitude``/``longitude`` columns (from their points), no geometry."""
    geo = frame
    if geo.crs is not None and not geo.crs.equals(s.STORAGE_CRS):
        geo = geo.to_crs(s.STORAGE_CRS)
    ok = geo.geometry.notna() & ~geo.geometry.is_empty
    points = geo.geometry.where(ok, None)
    out = pd.DataFrame(geo.drop(columns=geo.geometry.name))
    out[s.LATITUDE] = [p.y if p is not None else np.nan for p in points]
    out[s.LONGITUDE] = [p.x if p is not None else np.nan for p in points]
    return out


def located_accounts(ws: Workspace, scenario_id: str, territories: set[str]) -> pd.DataFrame:
    """Return the located accounts of ``territories``, each once, with ``territory_id``.

    An account in two of them counts in its primary one. Columns are the
    account table's (without geometry) plus ``latitude``, ``longitude`` and
    ``territory_id``; accounts without a location are left out.
    """
    members = ws.memberships(scenario_id)
    inside = members[members[s.TERRITORY_ID].astype(str).isin(territories)]
    if s.IS_PRIMARY in inside.columns:  # an account in two of the territories: its primary
        inside = inside.sort_values(s.IS_PRIMARY, ascending=False, kind="stable")
    inside = inside.drop_duplicates(s.ACCOUNT_ID)
    territory_of = dict(
        zip(inside[s.ACCOUNT_ID].astype(str), inside[s.TERRITORY_ID].astype(str), strict=True)
    )
    accounts = ws.accounts
    out = _with_coordinates(accounts[accounts[s.ACCOUNT_ID].astype(str).isin(territory_of)])
    out[s.TERRITORY_ID] = out[s.ACCOUNT_ID].astype(str).map(territory_of)
    located = out[s.LATITUDE].notna() & out[s.LONGITUDE].notna()
    return out[located].reset_index(drop=True)


def rep_accounts(ws: Workspace, scenario_id: str, rep_id: str, *, on: date) -> pd.DataFrame:
    """Return the accounts of the territories ``rep_id`` owns on ``on``, one row each.

    Columns are the account table's (without geometry) plus ``latitude``,
    ``longitude`` and ``territory_id``; accounts without a location are left
    out.
    """
    territories = set(rep_territories(ws, scenario_id, rep_id, on=on))
    return located_accounts(ws, scenario_id, territories)


def territory_accounts(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return every located account with its primary leaf territory (for travel workload)."""
    leaves = set(TerritoryTree.of(ws.territories(scenario_id)).leaves())
    return located_accounts(ws, scenario_id, leaves)


def territory_homes(ws: Workspace, scenario_id: str, *, on: date) -> dict[str, tuple[float, float]]:
    """Return each territory's owner's home ``(latitude, longitude)`` (first owner by rep id)."""
    owners = _owners(ws, scenario_id, on).sort_values([s.TERRITORY_ID, s.REP_ID], kind="stable")
    homes: dict[str, tuple[float, float]] = {}
    for tid, rid in zip(
        owners[s.TERRITORY_ID].astype(str), owners[s.REP_ID].astype(str), strict=True
    ):
        if tid in homes:
            continue
        home = rep_home(ws, rid)
        if home is not None:
            homes[tid] = home
    return homes


def account_drive_hours(
    ws: Workspace,
    scenario_id: str,
    *,
    network: RoadNetwork | None = None,
    on: date | None = None,
    estimate: EstimateParams | None = None,
) -> pd.Series:
    """Return each account of ``ws`` with its share of its territory's weekly drive hours.

    The workspace form of :func:`planner.routing.account_drive_hours`:
    accounts in their primary leaf territory, starting from the owner's
    home on ``on`` (today by default).

    Returns
    -------
    pandas.Series
        ``drive_h_per_week`` on the index of ``ws.accounts``; 0 for accounts
        in no territory or without a location.
    """
    out = pd.Series(0.0, index=ws.accounts.index, name=DRIVE_H_PER_WEEK)
    accounts = territory_accounts(ws, scenario_id)
    if accounts.empty:
        return out
    hours = routing_account_drive_hours(
        accounts,
        territory_homes(ws, scenario_id, on=on or date.today()),
        network=network,
        params=WorkloadParams(estimate=estimate or EstimateParams()),
    )
    by_id = pd.Series(hours.to_numpy(float), index=accounts[s.ACCOUNT_ID].astype(str).to_numpy())
    out[:] = ws.accounts[s.ACCOUNT_ID].astype(str).map(by_id).fillna(0.0).to_numpy(float)
    return out
