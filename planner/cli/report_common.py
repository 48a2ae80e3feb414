"""What ``planner report`` and ``planner targets`` share: options, workspace, scope, output."""

from __future__ import annotations

import argparse
import math
from typing import Any

import pandas as pd

from planner.access import AccessScope, restrict_workspace, scope_for
from planner.errors import InputError, Problem
from planner.reports.periods import period_bounds
from planner.services import reporting
from planner.workspace import Workspace, open_workspace

__all__ = ["add_common_options", "chosen_period", "open_scoped", "records", "visible"]


def add_common_options(p: argparse.ArgumentParser, *, default: Any = None) -> None:
    """The options every report and targets command takes (``default`` SUPPRESS on verbs)."""
    p.add_argument("--workspace", "-w", default=default, help="the workspace")
    p.add_argument("--scenario", default=default, help="scenario id (the active one by default)")
    p.add_argument(
        "--as-user", default=default, metavar="USER", help="act as this user id or email"
    )
    p.add_argument(
        "--period", default=default, help="e.g. 2026-Q1 (default: the latest target period)"
    )
    p.add_argument("--metric", default=default, help="target metric (default: revenue)")


def open_scoped(args: argparse.Namespace) -> tuple[Workspace, str, AccessScope | None]:
    """The workspace, the scenario, and the scope of ``--as-user`` (``None``: everything)."""
    if not args.workspace:
        raise InputError(
            "no workspace given",
            [Problem("--workspace is missing", column="--workspace", fix="add --workspace FILE")],
        )
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    ws.scenario(sid)  # an unknown scenario is refused here, with the known ones
    scope = scope_for(ws, args.as_user, scenario_id=sid) if args.as_user else None
    return ws, sid, scope


def visible(ws: Workspace, scope: AccessScope | None) -> Workspace:
    """What the scope's user may see of ``ws`` (all of it without a scope)."""
    if scope is None or scope.unrestricted:
        return ws
    scope.require("view")
    return restrict_workspace(ws, scope)


def chosen_period(args: argparse.Namespace, targets: pd.DataFrame) -> str | None:
    """``--period`` (checked), else the latest period the targets have."""
    if args.period:
        period_bounds(args.period)  # refuses an unknown period with the accepted forms
        return str(args.period)
    known = reporting.periods(targets)
    return known[-1] if known else None


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (missing values as ``null``)."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return None if pd.isna(value) else value
