"""``planner gaps``: list the units no territory owns, and fill them.

Each unassigned unit is proposed to the touching territory with the fewest
accounts (see :func:`planner.services.unit_plans.fill_gaps`); ``--fill``
applies the proposal and records it as one change.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.edit import require_edit_rights
from planner.services.unit_plans import fill_gaps
from planner.store import DATABASE_URL_ENV
from planner.workspace import open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``gaps`` command."""
    p = sub.add_parser(
        "gaps",
        help="list units no territory owns, with the territory each would join; --fill applies",
        description=(
            "Each unit no territory owns is proposed to the touching territory with the "
            "fewest accounts (units touching only other gaps join in later rounds; an "
            "island stays unfilled). Without --fill nothing changes."
        ),
    )
    p.add_argument(
        "--workspace",
        "-w",
        required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )
    p.add_argument("--scenario", help="the scenario (default: the active one)")
    p.add_argument("--fill", action="store_true", help="apply the proposal and save it")
    p.add_argument("--as", dest="as_user", help="act as this user: their rights are checked")
    add_json_flag(p)
    p.set_defaults(handler=_gaps)


def _gaps(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    scope = scope_for(ws, args.as_user, scenario_id=sid) if args.as_user else None
    if scope is not None:
        scope.require("view")
    preview = fill_gaps(ws, sid, apply=False)
    targets = sorted(set(preview["territory_id"].dropna().astype(str)))
    if scope is not None and not scope.unrestricted:
        visible = set(scope.territory_ids or ())
        preview = preview[preview["territory_id"].isin(visible).to_numpy()]
    version = None
    if args.fill and len(preview):
        if scope is not None:
            require_edit_rights(scope, *targets, everything=True)
        fill_gaps(ws, sid, user=args.as_user)
        change = ws.commit(f"fill {len(targets)} territories' gaps", user=args.as_user,
                           cause="fill gaps", scenario_id=sid)  # fmt: skip
        version = None if change is None else change.version
    rows = _records(preview)
    payload: dict[str, Any] = {"ok": True, "scenario_id": sid, "gaps": rows,
                               "filled": bool(args.fill and rows), "version": version}  # fmt: skip
    emit(args, payload, _text(rows, filled=payload["filled"], version=version))
    return 0


def _records(preview: pd.DataFrame) -> list[dict[str, Any]]:
    frame = preview.astype(object).where(preview.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _text(rows: list[dict[str, Any]], *, filled: bool, version: int | None) -> str:
    if not rows:
        return "no gaps: every unit belongs to a territory"
    verb = "joined" if filled else "would join"
    lines = [
        f"  {r['unit_id']:<16} {verb} {r['territory_id'] or '(nothing touches it)'}"
        f"  ({r['accounts']} accounts; round {r['round']})"
        for r in rows
    ]
    left = sum(r["territory_id"] is None for r in rows)
    tail = f"\n{left} units touch no territory: draw one or assign them by hand" if left else ""
    head = f"{len(rows)} units without a territory"
    head += f" (filled, version {version})" if filled else " (run with --fill to apply)"
    return head + ":\n" + "\n".join(lines) + tail
