"""A whole scenario on one map: units, territories, roads, accounts, reps and a legend."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.viz.assets import localize_assets
from planner.viz.basemap import add_roads, add_units, auto_tolerance_m, base_map, map_bounds
from planner.viz.legend import LegendRow, add_legend
from planner.viz.options import MapOptions
from planner.viz.places import add_place_labels, place_layer
from planner.viz.points import add_accounts, add_reps
from planner.viz.summary import (
    is_shown,
    leaf_territory_ids,
    primary_territory,
    territory_colors,
    territory_summary,
)
from planner.viz.territories import add_territories, outline_rows
from planner.workspace import Workspace

__all__ = ["workspace_map"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Territories:
    """How a scenario's territories are shown: leaves, colours, account counts and names."""

    leaves: list[str]
    colors: dict[str, str]
    counts: dict[str, int]
    names: dict[str, str]


def workspace_map(
    workspace: Workspace,
    scenario_id: str | None = None,
    *,
    options: MapOptions | None = None,
    roads: gpd.GeoDataFrame | None = None,
    owner: pd.Series | None = None,
    summary: pd.DataFrame | None = None,
) -> folium.Map:
    """Draw one scenario of a workspace: units, territories, accounts, reps and a legend.

    Parameters
    ----------
    workspace
        The workspace.
    scenario_id
        The scenario; the active one by default.
    options
        What to draw and how; see :class:`MapOptions`.
    roads
        Road lines to draw for context (worth it when ``options.tiles`` is ``"none"``).
    owner
        :func:`primary_territory` of the scenario, if the caller has it already.
    summary
        :func:`territory_summary` of the scenario, if the caller has it already.

    Returns
    -------
    folium.Map
        The map, its assets already pointing at ``options.asset_base_url``.
    """
    opts = options or MapOptions()
    sid = scenario_id or workspace.active_scenario_id()
    terr = workspace.territories(sid)
    accounts = workspace.accounts
    units = workspace.units
    bounds = map_bounds(accounts, terr, units if terr.empty else None)
    simplify_m = opts.simplify_m if opts.simplify_m is not None else auto_tolerance_m(bounds)
    m = base_map(bounds, tiles=opts.tiles)
    if opts.show_units and not units.empty:
        add_units(m, units, simplify_m=simplify_m)
    if owner is None:
        owner = primary_territory(workspace.memberships(sid), terr)
    if summary is None and len(terr):
        summary = territory_summary(workspace, sid, owner=owner)
    shown = _territories(terr, summary)
    add_territories(
        m, terr, colors=shown.colors, account_counts=shown.counts, simplify_m=simplify_m
    )
    if roads is not None and not roads.empty:
        add_roads(m, roads)  # above the fills, below the markers; clicks pass through
    if opts.show_places:
        area = units if not units.empty else terr
        add_place_labels(m, place_layer(bounds, accounts, within=area))
    n_accounts = 0
    if opts.show_accounts:
        n_accounts = add_accounts(
            m,
            accounts,
            territory_of=owner,
            colors=shown.colors,
            territory_names=shown.names,
            cluster_threshold=opts.cluster_threshold,
        )
    n_reps = add_reps(m, workspace.reps) if opts.show_reps else 0
    _add_workspace_legend(m, shown, terr, accounts, owner, opts, n_reps)
    localize_assets(m, base_url=opts.asset_base_url)
    logger.debug(
        "map of %s/%s: %d territories, %d accounts, %d reps",
        workspace.name,
        sid,
        len(terr),
        n_accounts,
        n_reps,
    )
    return m


def _territories(terr: gpd.GeoDataFrame, summary: pd.DataFrame | None) -> _Territories:
    leaves = leaf_territory_ids(terr)
    shapes = gpd.GeoSeries(terr.geometry.to_numpy(), index=terr[s.TERRITORY_ID].astype(str))
    counts: dict[str, int] = (
        dict(zip(summary[s.TERRITORY_ID], summary["accounts"], strict=True))
        if summary is not None
        else {}
    )
    names = {
        str(t): (str(n) if is_shown(n) else str(t))
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
    }
    return _Territories(leaves, territory_colors(leaves, geometries=shapes), counts, names)


def _add_workspace_legend(
    m: folium.Map,
    shown: _Territories,
    terr: pd.DataFrame,
    accounts: pd.DataFrame,
    owner: pd.Series,
    opts: MapOptions,
    n_reps: int,
) -> None:
    """Swatches of the leaves, then unassigned accounts, parent outlines and reps."""
    items = [(shown.names[t], shown.colors[t], shown.counts.get(t)) for t in shown.leaves]
    extra: list[LegendRow] = []
    known = set(owner.index.astype(str))  # a set: pandas' isin is slow on Arrow text
    ids = accounts[s.ACCOUNT_ID].astype(str).astype(object).to_numpy()
    unassigned = len(accounts) - sum(i in known for i in ids)
    if opts.show_accounts and unassigned > 0:
        extra.append(LegendRow("dot", f"No territory ({unassigned:,} accounts)"))
    extra.extend(outline_rows(terr, set(shown.leaves)))
    if n_reps:
        extra.append(LegendRow("rep", "Rep home base"))
    if items or extra:
        add_legend(m, items, title="Territories" if items else "Legend", extra=extra)
