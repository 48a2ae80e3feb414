"""``planner handover``: a departing user's territories and accounts go to a successor on one day.

The departing user's assignments in force end the day before; the successor
takes them from that day; accounts the departing user owns get the successor
(see :mod:`planner.handover`). Saved at once as one change dated the
hand-over day; ``--dry-run`` only shows what would move. With ``--as USER``
the user's rights are checked first.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.handover import hand_over, plan_hand_over, require_hand_over_rights
from planner.store import DATABASE_URL_ENV
from planner.workspace import open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``handover`` command."""
    p = sub.add_parser(
        "handover",
        help="hand a departing user's territories and accounts to a successor, dated",
        description="The departing user's assignments in force end the day before --on; the "
        "successor takes each territory and role from --on; accounts the departing user owns "
        "get the successor. Saved at once as one change (--dry-run: only show it).",
    )
    p.add_argument(
        "--workspace",
        "-w",
        required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )
    p.add_argument("--from", dest="from_rep", required=True, help="the departing user's id")
    p.add_argument("--to", dest="to_rep", required=True, help="the successor's id")
    p.add_argument("--on", metavar="YYYY-MM-DD", help="the successor's first day (default: today)")
    p.add_argument("--scenario", help="the scenario (default: the active one)")
    p.add_argument("--dry-run", action="store_true", help="show what would move; change nothing")
    p.add_argument("--as", dest="as_user", help="act as this user: their rights are checked")
    add_json_flag(p)
    p.set_defaults(handler=_handover)


def _handover(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    scope = scope_for(ws, args.as_user, scenario_id=sid) if args.as_user else None
    if scope is not None:  # users the caller may not see are not even looked up
        scope.require_rep(args.from_rep)
        scope.require_rep(args.to_rep)
    plan = plan_hand_over(ws, sid, from_rep=args.from_rep, to_rep=args.to_rep, on=args.on)
    if scope is not None:
        require_hand_over_rights(scope, plan)
    changes = plan.changes.astype(object).where(plan.changes.notna(), None)
    payload: dict[str, Any] = {
        "ok": True, "scenario_id": sid, "on": plan.on.isoformat(), "applied": False,
        "changes": changes.to_dict("records"), "version": None,
    }  # fmt: skip
    head = f"hand-over of {plan.from_rep} to {plan.to_rep} from {plan.on} (dry run)"
    if not args.dry_run:
        outcome = hand_over(ws, sid, plan, user=args.as_user)
        change = ws.commit(f"hand over {plan.from_rep} to {plan.to_rep}", user=args.as_user,
                           effective_date=plan.on, cause="hand-over", scenario_id=sid)  # fmt: skip
        version = None if change is None else change.version
        payload.update(applied=True, message=outcome.message, version=version)
        head = f"{outcome.message} (version {version})"
    lines = [f"  {r['kind']:<9} {r['id']:<14} {r['role']:<13} {r['departing']} -> "
             f"{plan.to_rep} {r['successor']}" for r in payload["changes"]]  # fmt: skip
    emit(args, payload, head + "\n" + "\n".join(lines))
    return 0
