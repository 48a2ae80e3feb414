"""The ``planner`` command: batch access to the library.

Each sub-command lives in a module of this package that exposes
``register(subparsers)``; this module wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from planner.errors import InputError, PlannerError, Problem

__all__ = ["main"]

#: Modules of this package that contribute sub-commands, in help order.
COMMAND_MODULES = (
    "core",
    "workspace",
    "assign",
    "route",
    "network",
    "balance",
    "gaps",
    "export",
    "store",
    "staff",
    "handover",
    "accounts",
    "report",
    "isochrone",
    "find",
    "rules",
    "overrides",
)

Handler = Callable[[argparse.Namespace], int]


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    """Print ``payload`` as JSON when ``--json`` was given, else ``text``."""
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print(text)


def parse_column_map(pairs: list[str], *, allow_ignore: bool = False) -> dict[str, str | None]:
    """Read repeated ``--map SOURCE=TARGET`` options (``SOURCE=`` ignores a column if allowed).

    Raises
    ------
    InputError
        Naming every malformed pair at once.
    """
    mapping: dict[str, str | None] = {}
    bad = []
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or (not target and not allow_ignore):
            bad.append(pair)
            continue
        mapping[source] = target or None
    if bad:
        raise InputError(
            "bad --map value",
            [
                Problem(f"'{b}' is not SOURCE=TARGET", fix="write --map 'file column=latitude'")
                for b in bad
            ],
        )
    return mapping


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` the ``--json`` flag every command has."""
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of text"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="planner", description="Territory Planner: territories, assignment, balance, routes."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"planner.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``planner`` command and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    handler: Handler = args.handler
    try:
        return handler(args)
    except PlannerError as exc:
        if getattr(args, "json", False):
            payload: dict[str, Any] = {
                "ok": False,
                "error": type(exc).__name__,
                "message": str(exc),
            }
            problems = getattr(exc, "problems", None)
            if problems:
                payload["problems"] = [p.to_dict() for p in problems]
            print(json.dumps(payload, indent=2, default=str))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
