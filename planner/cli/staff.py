"""The ``staff`` command: put users on territories with a role and dates, end or remove them.

Every change is saved at once as one recorded change of the workspace. With
``--as USER`` the user's rights are checked first (managers staff the
territories below them; planners and admins any territory).
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.edit import EditOutcome, require_edit_rights
from planner.schema import ASSOCIATION_ROLES
from planner.staffing import (
    assign_user,
    end_assignment,
    remove_assignment,
    territory_staff,
)
from planner.store import DATABASE_URL_ENV
from planner.workspace import Workspace, open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``staff`` command."""
    p = sub.add_parser(
        "staff",
        help="add, end or remove a user on a territory (owner, overlay, manager)",
        description="Without --user: list the territory's people. With --user and --role: "
        "add the user (or change the dates of that assignment); --end alone ends an existing "
        "assignment on that day; --remove deletes it. Saved at once.",
    )
    p.add_argument(
        "--workspace",
        "-w",
        required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )
    p.add_argument("--territory", required=True, help="the territory id")
    p.add_argument("--user", help="the user (rep) id to staff")
    p.add_argument("--role", choices=ASSOCIATION_ROLES, default="owner", help="default: owner")
    p.add_argument("--start", metavar="YYYY-MM-DD", help="first day (default: open)")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="last day (default: open)")
    p.add_argument("--remove", action="store_true", help="delete the assignment")
    p.add_argument("--scenario", help="the scenario (default: the active one)")
    p.add_argument("--as", dest="as_user", help="act as this user: their rights are checked")
    add_json_flag(p)
    p.set_defaults(handler=_staff)


def _change(ws: Workspace, sid: str, args: argparse.Namespace) -> tuple[str, EditOutcome]:
    """Apply the requested change; return its label for the history and the outcome."""
    who = {"territory_id": args.territory, "rep_id": args.user, "role": args.role}
    if args.remove:
        return "staff remove", remove_assignment(ws, sid, **who, user=args.as_user)
    staff = territory_staff(ws, sid, args.territory)
    exists = ((staff["rep_id"] == args.user) & (staff["role"] == args.role)).any()
    if args.end and not args.start and exists:
        outcome = end_assignment(ws, sid, **who, end_date=args.end, user=args.as_user)
        return "staff end", outcome
    outcome = assign_user(
        ws, sid, **who, start_date=args.start, end_date=args.end, user=args.as_user
    )
    return "staff assign", outcome


def _staff(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    if args.as_user:
        scope = scope_for(ws, args.as_user, scenario_id=sid)
        if args.user is None:
            scope.require_territory(args.territory)
        else:
            require_edit_rights(scope, args.territory)
    payload: dict[str, Any] = {"ok": True, "scenario_id": sid, "territory_id": args.territory}
    text = ""
    if args.user is not None:
        label, outcome = _change(ws, sid, args)
        change = ws.commit(
            f"{label} {args.user} {args.role} {args.territory}",
            user=args.as_user,
            effective_date=args.start or args.end,
            scenario_id=sid,
        )
        payload.update(message=outcome.message, version=None if change is None else change.version)
        text = f"{outcome.message} (version {payload['version']})\n"
    staff = territory_staff(ws, sid, args.territory)
    payload["staff"] = staff.astype(object).where(staff.notna(), None).to_dict("records")
    lines = [
        f"  {r['rep_id']:<12} {r['role']:<8} {r['start_date'] or '-'} to {r['end_date'] or '-'}"
        + ("" if r["current"] else "  (not current)")
        for r in payload["staff"]
    ] or ["  nobody"]
    emit(args, payload, text + f"people of {args.territory}:\n" + "\n".join(lines))
    return 0
