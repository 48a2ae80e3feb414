"""Territory Planner: the one way in.

    import planner as tp

    ws = tp.open_workspace("plan.gpkg")               # or a server URL and name=
    result = tp.assign(ws, save=True, user="ann")     # every account's territories, explained
    plan = tp.balance(units, tp.BalanceParams(k=10, weight="workload_h"))
    day = tp.route(stops, home, params=tp.RouteParams(...))
    tp.export(ws, "out/", "salesforce")
    scope = tp.scope_for(ws, "hel-rep-1")             # what a user may see and do

Names are loaded on first use, so ``import planner`` stays quick. Every
error the library raises on purpose is a :class:`PlannerError`.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from planner.errors import (
    ConflictError,
    InfeasibleError,
    InputError,
    NetworkDataError,
    PlannerError,
    Problem,
    SchemaVersionError,
    StoreUnavailableError,
    WorkspaceError,
)
from planner.progress import Progress, Stop

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from planner.access import AccessScope, scope_for
    from planner.balance import BalanceParams, TerritoryPlan
    from planner.routing import RouteParams, RoutePlan
    from planner.routing import plan_routes as route
    from planner.workspace import Workspace, open_workspace

__all__ = [
    "AccessScope",
    "BalanceParams",
    "ConflictError",
    "InfeasibleError",
    "InputError",
    "NetworkDataError",
    "PlannerError",
    "Problem",
    "Progress",
    "RouteParams",
    "RoutePlan",
    "SchemaVersionError",
    "Stop",
    "StoreUnavailableError",
    "TerritoryPlan",
    "Workspace",
    "WorkspaceError",
    "assign",
    "balance",
    "export",
    "open_workspace",
    "route",
    "scope_for",
]

_LAZY = {
    "open_workspace": ("planner.workspace", "open_workspace"),
    "Workspace": ("planner.workspace", "Workspace"),
    "scope_for": ("planner.access", "scope_for"),
    "AccessScope": ("planner.access", "AccessScope"),
    "BalanceParams": ("planner.balance", "BalanceParams"),
    "TerritoryPlan": ("planner.balance", "TerritoryPlan"),
    "RouteParams": ("planner.routing", "RouteParams"),
    "RoutePlan": ("planner.routing", "RoutePlan"),
    "route": ("planner.routing", "plan_routes"),
}
_JOBS = ("assign", "balance", "export")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _JOBS:  # callable packages: planner.callable
        return importlib.import_module(f"planner.{name}")
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
