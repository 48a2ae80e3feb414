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

from planner.cli import emit
from planner.cli.territory_edit import add_territory_options, open_for_territory
from planner.edit import EditOutcome, add_overrides, override_table, remove_overrides
from planner.schema import OVERRIDE_ACTIONS
from planner.workspace import Workspace

__all__ = ["register"]


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
    add_territory_options(add, territory_required=True)
    add.set_defaults(handler=_add)
    remove = verbs.add_parser("remove", help="remove the overrides of accounts on a territory")
    remove.add_argument("accounts", nargs="+", metavar="ACCOUNT", help="account ids")
    add_territory_options(remove, territory_required=True)
    remove.set_defaults(handler=_remove)
    listing = verbs.add_parser("list", help="the overrides, newest first")
    add_territory_options(listing, territory_required=False)
    listing.set_defaults(handler=_list)


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
    ws, sid, scope = open_for_territory(args)
    outcome = add_overrides(
        ws, sid, args.accounts, args.territory, args.action,
        reason=args.reason, user=args.as_user, scope=scope,
    )  # fmt: skip
    label = f"override {args.action} {len(args.accounts)} accounts {args.territory}"
    return _save(args, label, outcome, ws, sid)


def _remove(args: argparse.Namespace) -> int:
    ws, sid, scope = open_for_territory(args)
    outcome = remove_overrides(
        ws, sid, args.accounts, args.territory, user=args.as_user, scope=scope
    )
    return _save(
        args, f"override remove {len(args.accounts)} accounts {args.territory}", outcome, ws, sid
    )


def _list(args: argparse.Namespace) -> int:
    ws, sid, scope = open_for_territory(args)
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
