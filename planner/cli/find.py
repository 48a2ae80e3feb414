"""``planner find``: search accounts and places by id, name, address or town."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.services.search import find
from planner.store import DATABASE_URL_ENV
from planner.workspace import open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``find`` command."""
    p = sub.add_parser("find", help="search accounts and places by id, name, address or town")
    p.add_argument("text", help="what to look for (case and accents do not matter)")
    p.add_argument(
        "--workspace", "-w", required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )  # fmt: skip
    p.add_argument("--limit", type=int, default=10, help="most results (10)")
    p.add_argument("--as-user", help="search only what this user may see")
    add_json_flag(p)
    p.set_defaults(handler=_find)


def _find(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    scope = scope_for(ws, args.as_user) if args.as_user else None
    hits = find(ws, args.text, scope=scope, limit=args.limit)
    lines = [f"  {h.kind:<8} {h.label}  at {h.lat:.5f},{h.lon:.5f}" for h in hits]
    emit(args, {"ok": True, "hits": [asdict(h) for h in hits]},
         "\n".join(lines) if lines else f"nothing matches '{args.text}'")  # fmt: skip
    return 0
