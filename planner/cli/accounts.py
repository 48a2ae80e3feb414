"""``planner accounts set``: set one attribute of many accounts, saved as one recorded change.

Only attributes are edited (see :func:`planner.edit.accounts.editable_account_columns`);
values are checked against the accounts schema and every bad one is named.
With ``--as-user USER`` the user's rights are checked first: planners and
admins edit any account, managers those of the territories they may edit.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner import schema as s
from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.edit.accounts import (
    editable_account_columns,
    require_account_edit_rights,
    set_account_values,
)
from planner.store import DATABASE_URL_ENV
from planner.workspace import open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``accounts`` command group (``accounts set``)."""
    group = sub.add_parser("accounts", help="edit account attributes")
    verbs = group.add_subparsers(dest="accounts_command", required=True)
    p = verbs.add_parser(
        "set",
        help="set one column to one value for the accounts named; saved at once",
        description="Set --column to --value for every account of --ids (an empty value "
        "clears it). Ids, locations and geocoding cannot be edited here. Saved as one change.",
    )
    p.add_argument(
        "--workspace",
        "-w",
        required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )
    p.add_argument("--ids", nargs="+", required=True,
                   help="account ids (space- or comma-separated)")  # fmt: skip
    p.add_argument("--column", required=True, help="the column to set, e.g. industry")
    p.add_argument("--value", required=True, help="the new value ('' clears it)")
    p.add_argument("--scenario", help="the scenario whose territories decide the rights "
                   "(default: the active one)")  # fmt: skip
    p.add_argument("--as-user", help="act as this user: their rights are checked")
    add_json_flag(p)
    p.set_defaults(handler=_set)


def _set(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    ids = [i.strip() for chunk in args.ids for i in chunk.split(",") if i.strip()]
    if args.as_user:
        scope = scope_for(ws, args.as_user, scenario_id=sid)
        owners = [args.value] if args.column == s.OWNER_ID else []
        require_account_edit_rights(scope, ws.rows("memberships", sid), ids, owners=owners)
    outcome = set_account_values(ws, account_ids=ids, column=args.column, value=args.value,
                                 user=args.as_user)  # fmt: skip
    change = ws.commit(f"set {args.column} of {len(ids)} accounts", user=args.as_user,
                       cause="account edit", detail={"column": args.column})  # fmt: skip
    version = None if change is None else change.version
    payload: dict[str, Any] = {
        "ok": True, "message": outcome.message, "version": version, "column": args.column,
        "accounts": len(ids), "editable_columns": list(editable_account_columns(ws)),
    }  # fmt: skip
    emit(args, payload, f"{outcome.message} (version {version})")
    return 0
