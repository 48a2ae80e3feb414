"""The ``rule`` commands: show, set or clear a territory's assignment rule.

``rule show`` lists the territories with a rule, or for one territory the
rules that apply from above, the territories below that inherit its rule and
how many accounts its rule (or ``--try TEXT``) matches. ``rule set`` and
``rule clear`` parse the rule first, re-assign the accounts and save at once
as one recorded change. With ``--as-user USER`` the user's rights are checked
(and only what they may see is shown).
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from planner import schema as s
from planner.cli import emit
from planner.cli.territory_edit import add_territory_options, open_for_territory
from planner.edit import EditOutcome, clear_rule, count_matches, rule_chain, rule_of, set_rule
from planner.workspace import Workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``rule`` command group."""
    group = sub.add_parser(
        "rule",
        help='show, set or clear a territory\'s rule (e.g. industry == "Retail")',
        description="Territory rules narrow which accounts a territory takes; the territories "
        "below it inherit the rule. Language: field == value, !=, <, <=, >, >=, in [..], "
        "is null, AND, OR, NOT, parentheses.",
    )
    verbs = group.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("show", help="the rules; for one territory its chain and count")
    add_territory_options(show, territory_required=False)
    show.add_argument("--try", dest="trial", metavar="RULE", help="count a rule without saving it")
    show.set_defaults(handler=_show)
    put = verbs.add_parser("set", help="give a territory a rule (parsed first), then re-assign")
    put.add_argument(
        "rule", help="the rule, e.g. 'industry == \"Retail\" AND annual_revenue >= 1e6'"
    )
    add_territory_options(put, territory_required=True)
    put.set_defaults(handler=_set)
    clear = verbs.add_parser("clear", help="remove a territory's rule, then re-assign")
    add_territory_options(clear, territory_required=True)
    clear.set_defaults(handler=_clear)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in r.items()} for r in clean.to_dict("records")]


def _show(args: argparse.Namespace) -> int:
    ws, sid, scope = open_for_territory(args)
    territories = ws.territories(sid)
    if scope is not None:
        territories = scope.filter_territories(territories, reroot=False)
    if args.territory is None:
        rules = [
            {s.TERRITORY_ID: t, s.RULE: rule_of(territories, t)}
            for t in territories[s.TERRITORY_ID].astype(str)
        ]
        rules = [r for r in rules if r[s.RULE]]
        lines = [f"  {r[s.TERRITORY_ID]:<14} {r[s.RULE]}" for r in rules] or ["  no rules"]
        payload = {"ok": True, "scenario_id": sid, "rules": rules}
        emit(args, payload, f"rules of scenario {sid}:\n" + "\n".join(lines))
        return 0
    chain = rule_chain(territories, args.territory)
    text = args.trial if args.trial is not None else rule_of(territories, args.territory) or ""
    count = count_matches(ws, sid, args.territory, text)
    sample = [a for a in count.sample if scope is None or scope.can_view_account(a)]
    links = _records(chain)
    payload = {
        "ok": True,
        "scenario_id": sid,
        "territory_id": args.territory,
        "rule": text or None,
        "chain": links,
        "count": {**count.to_dict(), "sample": sample},
    }
    lines = [
        f"  {'  ' * int(r['depth'])}{r[s.TERRITORY_ID]:<12} {r['relation']:<6} {r[s.RULE] or '-'}"
        for r in links
    ]
    what = f"'{text}'" if text else "no rule"
    emit(
        args,
        payload,
        "\n".join(lines) + f"\n{what} matches {count.matched:,} of the {count.candidates:,} "
        f"accounts {args.territory} could hold",
    )
    return 0


def _save(
    args: argparse.Namespace, label: str, outcome: EditOutcome, ws: Workspace, sid: str
) -> int:
    change = ws.commit(label, user=args.as_user, scenario_id=sid)
    members = ws.memberships(sid)
    held = int((members[s.TERRITORY_ID].astype(str) == args.territory).sum())
    payload = {
        "ok": True,
        "scenario_id": sid,
        "territory_id": args.territory,
        "rule": rule_of(ws.territories(sid), args.territory),
        "message": outcome.message,
        "warnings": list(outcome.warnings),
        "accounts": held,
        "version": None if change is None else change.version,
    }
    notes = "".join(f"\nnote: {w}" for w in outcome.warnings)
    emit(args, payload, f"{outcome.message} {args.territory} now holds {held:,} accounts "
         f"(version {payload['version']}).{notes}")  # fmt: skip
    return 0


def _set(args: argparse.Namespace) -> int:
    ws, sid, scope = open_for_territory(args)
    outcome = set_rule(ws, sid, args.territory, args.rule, user=args.as_user, scope=scope)
    return _save(args, f"rule set {args.territory}", outcome, ws, sid)


def _clear(args: argparse.Namespace) -> int:
    ws, sid, scope = open_for_territory(args)
    outcome = clear_rule(ws, sid, args.territory, user=args.as_user, scope=scope)
    return _save(args, f"rule clear {args.territory}", outcome, ws, sid)
