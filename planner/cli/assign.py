"""Assignment commands: ``assign`` accounts to territories from files, ``explain`` one account."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd

from planner import schema as s
from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.errors import InputError, Problem

__all__ = ["register"]

#: Unassigned accounts listed in full in the JSON answer; the rest are counted.
_JSON_UNASSIGNED_LIMIT = 1000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``assign`` and ``explain`` commands."""
    p = sub.add_parser(
        "assign",
        help="assign accounts to territories and write the memberships",
        description="Put every account in its territories (by shape, rules and overrides) and "
        "report per territory counts, overlaps resolved and unassigned accounts. With --out, "
        "write one CSV row per membership plus one row per unassigned account (cause "
        "'unassigned', the reason in 'detail').",
    )
    p.add_argument("--accounts", required=True, help="accounts file (CSV, XLSX, GeoJSON, GPKG...)")
    p.add_argument("--territories", required=True, help="territories file with polygons")
    p.add_argument(
        "--rules",
        help="territory rules: a CSV with territory_id,rule columns, a JSON object "
        "{territory_id: rule}, or text lines 'territory_id: rule'",
    )
    p.add_argument(
        "--overrides",
        help="manual includes/excludes: CSV with account_id,territory_id,action[,set_by,"
        "set_at,reason]",
    )
    p.add_argument(
        "--out",
        help="write the memberships to this CSV file (with --scheduler/--workers: a folder of "
        "Parquet files, one per partition)",
    )
    scale = p.add_mutually_exclusive_group()
    scale.add_argument(
        "--scheduler",
        help="run on this Dask scheduler (tcp://HOST:PORT); --accounts is then a folder, glob or "
        "file of Parquet/GeoParquet/CSV partitions that the workers read themselves",
    )
    scale.add_argument(
        "--workers",
        type=int,
        help="run on a local Dask cluster of this many worker processes (as --scheduler)",
    )
    add_json_flag(p)
    p.set_defaults(handler=_assign)

    p = sub.add_parser(
        "explain",
        help="say why an account is in its territories (and not in another)",
        description="Recompute a scenario's assignment from a workspace and explain one account.",
    )
    p.add_argument("--workspace", required=True, help="a workspace .gpkg file")
    p.add_argument("account_id", help="the account to explain")
    p.add_argument("--scenario", help="scenario id (the active one by default)")
    p.add_argument("--territory", help="also explain why the account is not in this territory")
    p.add_argument("--as-user", help="explain only an account (and territory) this user may see")
    add_json_flag(p)
    p.set_defaults(handler=_explain)


def read_rules(path: str) -> dict[str, str]:
    """Read territory rules from a CSV, JSON or ``id: rule`` text file.

    Raises
    ------
    InputError
        If the file is missing or not in one of these shapes.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(
            f"rules file {path} does not exist",
            [Problem(f"no file {path}", fix="check the --rules path")],
        )
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path} is not valid JSON",
                [Problem(f"{exc.msg} at line {exc.lineno}", fix='write {"T1": "rule", ...}')],
            ) from exc
        if not isinstance(data, dict):
            raise InputError(
                f"{path}: expected a JSON object",
                [Problem("the JSON is not an object", fix='write {"T1": "industry == \\"X\\""}')],
            )
        return {str(k): str(v) for k, v in data.items() if v is not None}
    if file.suffix.lower() in (".csv", ".txt") and text.lstrip().lower().startswith(s.TERRITORY_ID):
        rows = list(csv.DictReader(text.splitlines()))
        if not rows or s.RULE not in rows[0]:
            raise InputError(
                f"{path}: no '{s.RULE}' column",
                [
                    Problem(
                        "the CSV needs territory_id and rule columns",
                        column=s.RULE,
                        fix="add a rule column",
                    )
                ],
            )
        return {r[s.TERRITORY_ID]: r[s.RULE] for r in rows if (r.get(s.RULE) or "").strip()}
    rules: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, rule = line.partition(":")
        if not sep or not key.strip():
            problems.append(
                Problem(
                    f"line {number} is not 'territory_id: rule'",
                    rows=(number,),
                    fix="write one 'territory_id: rule' per line",
                )
            )
            continue
        rules[key.strip()] = rule.strip()
    if problems:
        raise InputError(f"{path}: unreadable rules", problems)
    return rules


def _read_overrides(path: str) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise InputError(
            f"overrides file {path} does not exist",
            [Problem(f"no file {path}", fix="check the --overrides path")],
        )
    return pd.read_csv(file, dtype=str, keep_default_na=False).replace({"": None})


def _membership_rows(result: Any) -> pd.DataFrame:
    mem = result.memberships.astype({s.TERRITORY_ID: object, s.CAUSE: object, s.DETAIL: object})
    un = result.unassigned
    extra = pd.DataFrame(
        {
            s.ACCOUNT_ID: un[s.ACCOUNT_ID].astype(object),
            s.TERRITORY_ID: "",
            s.CAUSE: "unassigned",
            s.DETAIL: un[s.REASON].astype(object),
            s.IS_PRIMARY: False,
        }
    )
    return pd.concat([mem, extra], ignore_index=True) if len(extra) else mem


def _assign(args: argparse.Namespace) -> int:
    from planner.assign import assign_accounts
    from planner.geo.io import read_accounts, read_territories

    if args.scheduler or args.workers:
        return _assign_on_cluster(args)
    accounts = read_accounts(args.accounts)
    territories = read_territories(args.territories)
    rules = read_rules(args.rules) if args.rules else None
    overrides = _read_overrides(args.overrides) if args.overrides else None
    result = assign_accounts(accounts, territories, rules=rules, overrides=overrides)
    if args.out:
        out = Path(args.out)
        if not out.parent.exists():
            raise InputError(
                f"cannot write {out}: folder {out.parent} does not exist",
                [Problem("output folder missing", fix="create the folder first")],
            )
        _membership_rows(result).to_csv(out, index=False)
    summary = result.summary()
    unassigned = result.unassigned
    payload: dict[str, Any] = {
        "ok": True,
        **{k: v for k, v in summary.items() if k != "warnings"},
        "warnings": list(result.warnings),
        "unassigned_accounts": unassigned.head(_JSON_UNASSIGNED_LIMIT).to_dict("records"),
        "out": args.out,
    }
    lines = [
        f"{summary['accounts']} accounts, {len(territories)} territories: "
        f"{summary['assigned']} assigned ({summary['memberships']} memberships), "
        f"{summary['unassigned']} unassigned",
    ]
    counts = summary["territories"]
    if counts:
        lines.append("  accounts per territory:")
        lines.extend(f"    {tid}: {n}" for tid, n in counts.items())
    if len(result.overlaps):
        lines.append("  overlaps resolved:")
        for r in result.overlaps.to_dict("records"):
            lines.append(
                f"    {r['accounts']} account(s) to {r['winner']} rather than {r['loser']} "
                f"({r['type_id']}): {r['reason']}"
            )
    if len(unassigned):
        lines.append(f"  unassigned ({len(unassigned)}):")
        for r in unassigned.head(20).to_dict("records"):
            lines.append(f"    {r[s.ACCOUNT_ID]}: {r[s.REASON]}")
        if len(unassigned) > 20:
            lines.append(f"    ... and {len(unassigned) - 20} more")
    for w in result.warnings:
        lines.append(f"  warning: {w}")
    if args.out:
        lines.append(f"  wrote {args.out}")
    emit(args, payload, "\n".join(lines))
    return 0


def _assign_on_cluster(args: argparse.Namespace) -> int:
    """``planner assign --scheduler/--workers``: partitions assigned by Dask workers."""
    from planner.assign.cluster import assign_partitioned
    from planner.geo.io import read_territories

    if args.workers is not None and args.workers < 1:
        raise InputError(
            "--workers must be at least 1",
            [Problem(f"--workers {args.workers}", fix="give a number of worker processes")],
        )
    territories = read_territories(args.territories)
    rules = read_rules(args.rules) if args.rules else None
    overrides = _read_overrides(args.overrides) if args.overrides else None
    result = assign_partitioned(
        args.accounts,
        territories,
        scheduler=args.scheduler,
        workers=args.workers,
        out=args.out,
        rules=rules,
        overrides=overrides,
    )
    summary = result.summary()
    lines = [
        f"{result.accounts} accounts in {result.partitions} partitions, {len(territories)} "
        f"territories: {result.assigned} assigned ({result.memberships} memberships), "
        f"{result.unassigned} unassigned",
    ]
    lines += [f"  failed partition {f.partition}: {f.message}" for f in result.failures]
    lines += [f"  warning: {w}" for w in result.warnings]
    if args.out:
        lines.append(f"  wrote {args.out}/part-*.parquet")
    emit(args, {"ok": not result.failures, **summary}, "\n".join(lines))
    return 1 if result.failures else 0


def _explain(args: argparse.Namespace) -> int:
    from planner.assign import assign_workspace
    from planner.workspace import open_workspace

    ws = open_workspace(args.workspace)
    scenario = args.scenario or ws.active_scenario_id()
    if args.as_user:
        scope = scope_for(ws, args.as_user, scenario_id=scenario)
        scope.require_account(args.account_id)
        if args.territory:
            scope.require_territory(args.territory)
    result = assign_workspace(ws, scenario)
    explanation = result.explain(args.account_id, args.territory)
    payload = {"ok": True, "scenario_id": scenario, **explanation.to_dict()}
    emit(args, payload, f"scenario {scenario}\n{explanation.text}")
    return 0
