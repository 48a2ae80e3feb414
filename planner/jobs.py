"""The five jobs behind ``import planner as tp``: assign, balance, route, export, and their inputs.

Each job takes the workspace (or plain frames) and one parameter object,
and returns a result object; none of them writes the workspace unless
asked (``save=True``), and then as one change committed with the user.
``tp.assign``, ``tp.balance`` and ``tp.export`` are also the packages of the
same names, made callable (:mod:`planner.callable`), so ``tp.assign(ws)``
and ``from planner.assign import Assignment`` both work.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.assign import Assignment, assign_accounts, assign_workspace
from planner.balance import BalanceParams, TerritoryPlan, design_territories, rebalance
from planner.export import ExportFormat, ExportResult, export_plan, plan_from_workspace
from planner.progress import Progress, Stop
from planner.workspace import Workspace

__all__ = ["assign", "balance", "export"]


def assign(
    accounts: Workspace | pd.DataFrame,
    territories: gpd.GeoDataFrame | None = None,
    *,
    scenario_id: str | None = None,
    save: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
    **options: Any,
) -> Assignment:
    """Assign accounts to territories: every account's territories with cause and reason.

    ``accounts`` is a :class:`~planner.workspace.Workspace` (its scenario's
    territories, rules and overrides are used; ``save=True`` stores the
    memberships and commits them as one change by ``user``), or an accounts
    frame with a ``territories`` frame (``options`` go to
    :func:`planner.assign.assign_accounts`).
    """
    if isinstance(accounts, Workspace):
        result = assign_workspace(
            accounts, scenario_id, store=save, user=user, progress=progress, stop=stop
        )
        if save and accounts.store is not None:
            accounts.commit("assign accounts", user=user, scenario_id=scenario_id)
        return result
    if territories is None:
        raise TypeError("assign(accounts, territories): give the territories frame too")
    return assign_accounts(accounts, territories, progress=progress, stop=stop, **options)


def balance(
    units: gpd.GeoDataFrame,
    params: BalanceParams | None = None,
    *,
    baseline: TerritoryPlan | pd.Series | dict[str, str] | None = None,
    reps: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> TerritoryPlan:
    """Design balanced territories from units, or rebalance a ``baseline`` plan.

    ``params`` (:class:`~planner.balance.BalanceParams`) says what to
    balance, how many territories, the tolerance, locks and how many
    accounts may move; it checks itself and reports every problem at once.
    """
    if baseline is None:
        return design_territories(units, params, reps=reps, progress=progress, stop=stop)
    return rebalance(units, baseline, params, reps=reps, progress=progress, stop=stop)


def export(
    workspace: Workspace,
    out_dir: str | os.PathLike[str],
    fmt: ExportFormat,
    *,
    scenario_id: str | None = None,
    as_user: str | None = None,
    as_of: date | None = None,
    since: str | os.PathLike[str] | None = None,
    options: Any = None,
    territory_id: str | None = None,
) -> ExportResult:
    """Write a scenario of ``workspace`` to ``out_dir`` as ``fmt`` (csv, geojson, gpkg, xlsx,
    salesforce, pdf, png, svg), filtered to what ``as_user`` may see when given; a PDF of one
    territory with ``territory_id``."""
    plan = plan_from_workspace(workspace, scenario_id, as_user=as_user, as_of=as_of)
    return export_plan(
        plan, out_dir, fmt, since=since, options=options, territory_id=territory_id
    )
