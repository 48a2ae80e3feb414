"""``planner targets propose`` and ``planner import opportunities``: quotas from potential.

``targets propose`` splits a chosen total over the leaf territories (or their
owners) by revenue, accounts, won history or a blend, prints the proposal
and, with ``--save``, sets it as targets in one change. ``import
opportunities`` keeps an opportunities file in the workspace, where reports
and proposals read it.
"""

from __future__ import annotations

import argparse
from typing import Any

from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.cli.report_common import add_common_options, open_scoped, records, visible
from planner.errors import InputError, Problem
from planner.reports import propose_quotas, save_quotas, store_opportunities, stored_opportunities
from planner.reports.stored import StoreMode
from planner.workspace import open_workspace

__all__ = ["import_opportunities", "register_propose"]

_BASES = ("revenue", "accounts", "history", "blend")


def register_propose(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``propose`` to the verbs of ``planner targets``."""
    p = verbs.add_parser(
        "propose",
        help="propose targets that split --total by revenue, accounts, history or a blend",
        description="Split --total over the leaf territories (--per territory) or the users "
        "owning them (--per rep) in proportion to the accounts' revenue, their number, what "
        "was won in the periods before --period (stored opportunities) or a blend; every "
        "target a multiple of --step, summing exactly to the total. --save sets them.",
    )
    p.add_argument("--total", required=True, help="the amount to split, e.g. 12000000")
    p.add_argument("--basis", choices=_BASES, default="revenue", help="what to split by")
    p.add_argument("--per", choices=("territory", "rep"), default="territory")
    p.add_argument("--step", default="1", help="round each target to this (e.g. 1000)")
    p.add_argument("--lookback", type=int, default=1, help="history: periods to look back")
    p.add_argument(
        "--weight", action="append", default=[], metavar="BASIS=W",
        help="blend: a basis and its weight, e.g. --weight revenue=2 --weight history=1",
    )  # fmt: skip
    p.add_argument("--save", action="store_true", help="set the proposal as targets")
    add_common_options(p, default=argparse.SUPPRESS)
    add_json_flag(p)
    p.set_defaults(handler=_propose)


def _propose(args: argparse.Namespace) -> int:
    ws, sid, scope = open_scoped(args)
    total, step, weights = _numbers(args)
    if not args.period:
        raise InputError(
            "no period given",
            [Problem("--period is missing", column="--period", fix="add e.g. --period 2027-Q1")],
        )
    view = visible(ws, scope)
    opportunities = stored_opportunities(ws, scope=scope)
    proposal = propose_quotas(
        view, sid, total=total, period=args.period, basis=args.basis, per=args.per, step=step,
        lookback=args.lookback, weights=weights, opportunities=opportunities,
    )  # fmt: skip
    version = None
    if args.save:
        user = None if scope is None else scope.user_id
        save_quotas(ws, sid, proposal, period=args.period, metric=args.metric or "revenue",
                    scope=scope, user=user)  # fmt: skip
        change = ws.commit(f"propose {len(proposal)} target(s)", user=user, scenario_id=sid)
        version = None if change is None else change.version
    payload = {
        "ok": True, "scenario_id": sid, "period": args.period, "basis": args.basis,
        "per": args.per, "total": total, "step": step, "saved": bool(args.save),
        "version": version, "rows": records(proposal),
    }  # fmt: skip
    emit(args, payload, _text(proposal, args, sid))
    return 0


def _numbers(args: argparse.Namespace) -> tuple[float, float, dict[str, float] | None]:
    """``--total``, ``--step`` and ``--weight`` read, every bad one named at once."""
    problems: list[Problem] = []
    values = {}
    for option, text in (("--total", args.total), ("--step", args.step)):
        try:
            values[option] = float(str(text).replace(",", "").replace("_", ""))
        except ValueError:
            problems.append(Problem(f"{option} '{text}' is not a number", column=option,
                                    fix="write a plain number such as 1000000"))  # fmt: skip
    weights: dict[str, float] = {}
    for pair in args.weight:
        name, _, number = str(pair).partition("=")
        try:
            weights[name.strip()] = float(number)
        except ValueError:
            problems.append(Problem(f"--weight '{pair}' is not BASIS=NUMBER", column="--weight",
                                    fix="write e.g. --weight revenue=2"))  # fmt: skip
    if problems:
        raise InputError("no quotas can be proposed", problems)
    return values["--total"], values["--step"], weights or None


def _text(proposal: Any, args: argparse.Namespace, sid: str) -> str:
    total = float(proposal["proposed"].sum())
    head = (
        f"proposed targets of scenario {sid}, {args.period}: {total:,.0f} split by "
        f"{args.basis} per {args.per}"
    )
    shown = proposal.drop(columns=["path"], errors="ignore").astype(object)
    shown = shown.where(shown.notna(), "-")
    lines = [head, shown.to_string(index=False, formatters={
        "share": "{:.1%}".format, "proposed": "{:,.0f}".format,
        "last_actual": lambda v: v if v == "-" else f"{v:,.0f}",
        "basis_value": ("{:.3f}" if args.basis == "blend" else "{:,.0f}").format,
    })]  # fmt: skip
    lines.append("saved as targets" if args.save else "not saved: add --save to set them")
    return "\n".join(lines)


def import_opportunities(args: argparse.Namespace) -> int:
    """``planner import opportunities FILE --workspace W``: store them, one change.

    ``--user`` (when given) must have the ``import_data`` right; ``--merge``
    keeps stored opportunities the file does not name (by ``opportunity_id``).
    """
    if getattr(args, "new", None) or not getattr(args, "workspace", None):
        raise InputError(
            "opportunities are imported into an existing workspace",
            [Problem("no --workspace", column="--workspace", fix="add --workspace FILE")],
        )
    ws = open_workspace(args.workspace)
    user = getattr(args, "user", None)
    scope = scope_for(ws, user) if user else None
    mode: StoreMode = "merge" if getattr(args, "merge", False) else "replace"
    result = store_opportunities(ws, args.file, mode=mode, scope=scope, user=user)
    change = ws.commit(f"import {result.read} opportunities", user=user)
    payload = {"ok": True, "kind": "opportunities", "mode": mode, **result.__dict__,
               "version": None if change is None else change.version}  # fmt: skip
    text = (
        f"stored {result.read:,} opportunities from {args.file} ({result.added:,} new, "
        f"{result.replaced:,} replaced, {result.removed:,} removed); {result.total:,} in the "
        "workspace"
    )
    emit(args, payload, text)
    return 0
