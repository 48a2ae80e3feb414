"""The ``override`` commands: include or exclude accounts in a territory with a reason.

``override add`` and ``override remove`` check the whole request first
(unknown accounts named by their position on the command line), re-assign the
accounts and save at once as one recorded change. With ``--as-user USER``
the user's rights are checked and ``override list`` shows only what they
may see.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.access import AccessScope, scope_for
from planner.cli import add_json_flag, emit
from planner.edit import EditOutcome, add_overrides, override_table, remove_overrides
from planner.schema import OVERRIDE_ACTIONS
from planner.store import DATABASE_URL_ENV
from planner.workspace import Workspace, open_workspace

__all__ = ["register"]


def _common(p: argparse.ArgumentParser, *, territory_required: bool) -> None:
    p.add_argument(
        "--workspace", "-w", required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )  # fmt: skip
    p.add_argument("--territory", "-t", required=territory_required, help="the territory id")
    p.add_argument("--scenario", help="the scenario (default: the active one)")
    p.add_argument("--as-user", help="act as this user: their rights are checked")
    add_json_flag(p)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``override`` command group."""
    group = sub.add_parser(
        "override",
        help="include or exclude accounts in a territory with a reason; list or remove them",
        description="An include puts accounts in a territory whatever its shape and rule say; "
        "an exclude keeps them out of it and everything below it. Each keeps who, when, why.",
    )
    verbs = group.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="include or exclude accounts, then re-assign")
    add.add_argument("accounts", nargs="+", metavar="ACCOUNT", help="account ids")
    add.add_argument("--action", choices=OVERRIDE_ACTIONS, required=True)
    add.add_argument("--reason", required=True, help="why (kept on each override)")
    _common(add, territory_required=True)
    add.set_defaults(handler=_add)
    remove = verbs.add_parser("remove", help="remove the overrides of accounts on a territory")
    remove.add_argument("accounts", nargs="+", metavar="ACCOUNT", help="account ids")
    _common(remove, territory_required=True)
    remove.set_defaults(handler=_remove)
    listing = verbs.add_parser("list", help="the overrides, newest first")
    _common(listing, territory_required=False)
    listing.set_defaults(handler=_list)


def _open(args: argparse.Namespace) -> tuple[Workspace, str, AccessScope | None]:
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    scope = scope_for(ws, args.as_user, scenario_id=sid) if args.as_user else None
    if scope is not None and args.territory:
        scope.require_territory(args.territory)
    return ws, sid, scope


def _save(
    args: argparse.Namespace, label: str, outcome: EditOutcome, ws: Workspace, sid: str
) -> int:
    change = ws.commit(label, user=args.as_user, scenario_id=sid)
    payload = {
        "ok": True,
        "scenario_id": sid,
        "territory_id": args.territory,
        "message": outcome.message,
        "warnings": list(outcome.warnings),
        "version": None if change is None else change.version,
    }
    notes = "".join(f"\nnote: {w}" for w in outcome.warnings)
    emit(args, payload, f"{outcome.message} (version {payload['version']}){notes}")
    return 0


def _add(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    outcome = add_overrides(
        ws, sid, args.accounts, args.territory, args.action,
        reason=args.reason, user=args.as_user, scope=scope,
    )  # fmt: skip
    label = f"override {args.action} {len(args.accounts)} accounts {args.territory}"
    return _save(args, label, outcome, ws, sid)


def _remove(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    outcome = remove_overrides(
        ws, sid, args.accounts, args.territory, user=args.as_user, scope=scope
    )
    return _save(
        args, f"override remove {len(args.accounts)} accounts {args.territory}", outcome, ws, sid
    )


def _list(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    table = override_table(ws, sid, territory_id=args.territory, scope=scope)
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in table.to_dict("records")
    ]
    lines = [
        f"  {r['account_id']:<12} {r['action']:<8} {r['territory_id']:<12} "
        f"{r['reason'] or '-'}  ({r['set_by'] or '?'}, {r['set_at']})"
        for r in rows
    ] or ["  no overrides"]
    emit(args, {"ok": True, "scenario_id": sid, "overrides": rows},
         f"overrides of scenario {sid}:\n" + "\n".join(lines))  # fmt: skip
    return 0
