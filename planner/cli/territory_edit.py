"""Options and opening shared by the commands that edit one territory (``rule``, ``override``)."""

from __future__ import annotations

import argparse

from planner.access import AccessScope, scope_for
from planner.cli import add_json_flag
from planner.store import DATABASE_URL_ENV
from planner.workspace import Workspace, open_workspace

__all__ = ["add_territory_options", "open_for_territory"]


def add_territory_options(p: argparse.ArgumentParser, *, territory_required: bool) -> None:
    """``--workspace``, ``--territory``, ``--scenario``, ``--as-user`` and ``--json``."""
    p.add_argument(
        "--workspace", "-w", required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )  # fmt: skip
    p.add_argument("--territory", "-t", required=territory_required, help="the territory id")
    p.add_argument("--scenario", help="the scenario (default: the active one)")
    p.add_argument("--as-user", help="act as this user: their rights are checked")
    add_json_flag(p)


def open_for_territory(args: argparse.Namespace) -> tuple[Workspace, str, AccessScope | None]:
    """The workspace, the scenario, and the user's scope (refusing a territory outside it)."""
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    scope = scope_for(ws, args.as_user, scenario_id=sid) if args.as_user else None
    if scope is not None and args.territory:
        scope.require_territory(args.territory)
    return ws, sid, scope
