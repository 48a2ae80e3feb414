"""Core commands: ``validate`` a data file, ``info`` on a workspace, write a ``sample``."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from planner.access import restrict_workspace, scope_for
from planner.cli import add_json_flag, emit, parse_column_map
from planner.io import DEFAULT_LIMITS, ReadLimits
from planner.samples import SAMPLES, write_sample
from planner.workspace import open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate``, ``info`` and ``sample`` commands."""
    p = sub.add_parser(
        "validate",
        help="read a data file and report every problem",
        description="Read an accounts, reps, units or territories file and list every problem "
        "with its rows, column and fix. Exits 1 when the file has errors.",
    )
    p.add_argument(
        "file",
        help="CSV, XLSX, GeoJSON, GeoPackage, Parquet, zipped Shapefile, or gzip of one (.csv.gz)",
    )
    p.add_argument(
        "--kind",
        choices=["accounts", "reps", "units", "territories"],
        help="what the file holds (guessed from its columns when omitted)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=TARGET",
        help="map a file column to a planner column, e.g. --map 'Breite=latitude' (repeatable)",
    )
    p.add_argument(
        "--max-file-mb",
        type=float,
        default=None,
        help="refuse files larger than this (default 512 MB)",
    )
    p.add_argument(
        "--max-unpacked-mb",
        type=float,
        default=None,
        help="refuse zip/gzip files that expand past this (default 1024 MB)",
    )
    add_json_flag(p)
    p.set_defaults(handler=_validate)

    p = sub.add_parser("info", help="summarise a workspace: counts, scenarios, hierarchy depth")
    p.add_argument("workspace", help="a workspace .gpkg file")
    p.add_argument("--as-user", help="count only what this user may see (their scenario)")
    add_json_flag(p)
    p.set_defaults(handler=_info)

    p = sub.add_parser("sample", help="write a bundled sample workspace to a file")
    p.add_argument("name", choices=sorted(SAMPLES), help="which sample")
    p.add_argument("out", help="the .gpkg file to write")
    add_json_flag(p)
    p.set_defaults(handler=_sample)


def _limits(args: argparse.Namespace) -> ReadLimits:
    """The read limits, with the sizes given on the command line."""
    sizes = {
        "max_file_bytes": args.max_file_mb,
        "max_unpacked_bytes": args.max_unpacked_mb,
    }
    given = {k: int(v * 2**20) for k, v in sizes.items() if v is not None}
    return replace(DEFAULT_LIMITS, **given)


def _validate(args: argparse.Namespace) -> int:
    from planner.geo.io import validate_file

    report = validate_file(
        args.file,
        kind=args.kind,
        columns=parse_column_map(args.map) or None,
        limits=_limits(args),
    )
    payload = report.to_dict()
    lines = [
        f"{args.file}: read as {report.kind}",
        f"  rows read: {report.rows_read}; readable: {report.rows_valid}",
    ]
    if report.columns_recognised:
        lines.append(
            "  columns: "
            + ", ".join(f"{src} -> {dst}" for src, dst in report.columns_recognised.items())
        )
    errors = [p for p in report.problems if p.severity == "error"]
    warnings = [p for p in report.problems if p.severity != "error"]
    for label, group in (("errors", errors), ("warnings", warnings)):
        if group:
            lines.append(f"  {label} ({len(group)}):")
            lines.extend(f"    - {p}" for p in group)
    lines.append("  OK" if report.ok else "  NOT OK: fix the errors above and validate again")
    emit(args, payload, "\n".join(lines))
    return 0 if report.ok else 1


def _info(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    if args.as_user:
        ws = restrict_workspace(ws, scope_for(ws, args.as_user))
    info: dict[str, Any] = ws.info()
    lines = [
        f"workspace {info['name']} ({args.workspace})",
        f"  accounts: {info['accounts']}  reps/users: {info['reps']}  units: {info['units']}",
        f"  active scenario: {info['active_scenario']}  hierarchy depth: {info['hierarchy_depth']}",
        "  scenarios:",
    ]
    for sc in info["scenarios"]:
        lines.append(
            f"    - {sc['scenario_id']} [{sc['state']}] {sc['name']}: "
            f"{sc['territories']} territories on {sc['hierarchy_levels']} levels, "
            f"{sc['memberships']} memberships"
        )
    emit(args, info, "\n".join(lines))
    return 0


def _sample(args: argparse.Namespace) -> int:
    path = write_sample(args.name, args.out)
    emit(args, {"ok": True, "sample": args.name, "path": str(path)}, f"wrote {path}")
    return 0
