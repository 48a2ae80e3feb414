"""Workspace commands: ``import`` a data file into a workspace, ``promote`` a scenario.

Each command that changes a workspace commits the change at once (one
recorded change, undoable with ``planner undo``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from planner import schema as s
from planner.access import AccessScope, build_scope, scope_for
from planner.cli import add_json_flag, emit, parse_column_map
from planner.cli.report_quotas import import_opportunities
from planner.errors import InputError, Problem, WorkspaceError
from planner.export.etm_read import EtmOptions
from planner.export.zoho import ZohoOptions
from planner.geo.columns import Kind
from planner.services.crm_import import import_salesforce, import_zoho
from planner.services.importing import (
    NEW_SCENARIO,
    ImportOptions,
    plan_import,
    validate_upload,
)
from planner.workspace import Workspace, open_workspace

__all__ = ["register"]

_KINDS = ("accounts", "users", "units", "territories", "salesforce", "zoho", "opportunities")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` and ``promote`` commands."""
    p = sub.add_parser(
        "import",
        help="import accounts, users, units, territories or a Salesforce ETM export",
        description="Check a file (every problem at once), then import it into an existing "
        "workspace (saved at once as one change) or into a new workspace file. "
        "`import salesforce DIR` reads a Salesforce Territory Management export (a folder or "
        "zip of Territory2.csv, UserTerritory2Association.csv, ObjectTerritory2Association.csv, "
        "optionally Territory2Model.csv, Territory2Type.csv, User.csv) into a new scenario that "
        "remembers each record's Id.",
    )
    p.add_argument("kind", choices=_KINDS, help="what the file holds")
    p.add_argument(
        "file",
        help="CSV, XLSX, GeoJSON, GeoPackage, Parquet or zipped Shapefile; "
        "salesforce: the export folder or zip; zoho: the Accounts export (CSV or XLSX)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--workspace", "-w", help="the workspace to import into")
    where.add_argument("--new", metavar="FILE.gpkg", help="make a new workspace file")
    p.add_argument("--name", help="the new workspace's name (default: the file's stem)")
    p.add_argument(
        "--scenario", help="territories: the scenario to import into (default: a new one)"
    )
    p.add_argument("--scenario-name", default="", help="territories: name of a new scenario")
    p.add_argument("--replace", action="store_true", help="replace all users / territories")
    p.add_argument("--unit-type", default="custom", help="units: county, zip or custom")
    p.add_argument("--h3", action="store_true", help="make H3 units from the accounts if none")
    p.add_argument("--crs", help="the coordinates' CRS when the file does not say (EPSG code)")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=TARGET",
        help="map a file column to a planner column (repeatable); TARGET empty ignores it",
    )
    p.add_argument("--model", default="", help="salesforce: the Territory2Model expected")
    p.add_argument(
        "--user-column",
        default="email",
        help="salesforce: users column with Salesforce usernames or emails (default: email)",
    )
    p.add_argument(
        "--account-id-column",
        default="account_id",
        help="salesforce, zoho: accounts column with the CRM's account Ids (default: account_id)",
    )
    p.add_argument("--merge", action="store_true", help="opportunities: merge by id (else replace)")
    p.add_argument("--user", help="who imports (recorded; must be a planner or admin if set)")
    add_json_flag(p)
    p.set_defaults(handler=_import)

    p = sub.add_parser("promote", help="make a scenario the active one (the old one is archived)")
    p.add_argument("scenario", help="the scenario id")
    p.add_argument("--workspace", "-w", required=True, help="the workspace")
    p.add_argument("--user", help="who promotes (recorded)")
    add_json_flag(p)
    p.set_defaults(handler=_promote)


def _import(args: argparse.Namespace) -> int:
    if args.kind == "opportunities":
        return import_opportunities(args)
    if args.kind in ("salesforce", "zoho"):
        return _import_crm(args)
    path = Path(args.file)
    if not path.is_file():
        raise InputError(
            f"{path} does not exist", [Problem(f"no file {path}", fix="check the path")]
        )
    kind: Kind = "reps" if args.kind == "users" else args.kind
    report = validate_upload(
        path.name,
        path.read_bytes(),
        kind=kind,
        columns=parse_column_map(args.map, allow_ignore=True) or None,
        crs=args.crs,
    )
    ws = None if args.new else open_workspace(args.workspace)
    may_manage = True
    if ws is not None and args.user:
        scope = scope_for(ws, args.user)
        scope.require("import_data")
        may_manage = scope.can("manage_users")
    options = ImportOptions(
        into="new" if args.new else "open",
        workspace_name=args.name or (Path(args.new).stem if args.new else ""),
        replace_reps=args.replace,
        scenario_id=args.scenario or NEW_SCENARIO,
        replace_territories=args.replace,
        scenario_name=args.scenario_name,
        make_h3_units=args.h3,
        unit_type=args.unit_type,
    )
    result = plan_import(report, options, workspace=ws, user=args.user, may_manage_users=may_manage)
    version = _save(result.workspace, ws, args)
    payload = {
        "ok": True,
        "kind": args.kind,
        "rows": report.rows_valid,
        "messages": list(result.messages),
        "notes": list(result.notes),
        "scenario_id": result.scenario_id,
        "version": version,
        "workspace": args.new or args.workspace,
    }
    lines = [*result.messages, *(f"note: {n}" for n in result.notes)]
    emit(args, payload, "\n".join(lines) or "imported")
    return 0


def _import_crm(args: argparse.Namespace) -> int:
    if args.new:
        raise InputError(
            f"a {args.kind} file is imported into a workspace with its users and accounts",
            [Problem("--new given", fix="import users and accounts first, then use --workspace")],
        )
    ws = open_workspace(args.workspace)
    if args.user:
        _scope(ws, args.user).require("import_data")
    if args.kind == "salesforce":
        options = EtmOptions(
            model=args.model, user_column=args.user_column, account_id_column=args.account_id_column
        )
        result = import_salesforce(
            ws, args.file, options=options, scenario_name=args.scenario_name, user=args.user
        )
    else:
        path = Path(args.file)
        if not path.is_file():
            raise InputError(f"{path} does not exist", [Problem(f"no file {path}", fix="check it")])
        result = import_zoho(
            ws,
            path.name,
            path.read_bytes(),
            base_scenario=args.scenario,
            scenario_name=args.scenario_name,
            user=args.user,
            options=ZohoOptions(account_id_column=args.account_id_column),
        )
    version = _save(result.workspace, ws, args)
    payload = {
        "ok": True,
        "kind": args.kind,
        "messages": list(result.messages),
        "notes": list(result.notes),
        "scenario_id": result.scenario_id,
        "version": version,
        "workspace": args.workspace,
    }
    lines = [*result.messages, *(f"note: {n}" for n in result.notes)]
    emit(args, payload, "\n".join(lines))
    return 0


def _scope(ws: Workspace, user: str) -> AccessScope:
    """What ``user`` may do (by role alone while the workspace has no scenario)."""
    if ws.scenarios.empty:
        empty = s.empty_frame
        return build_scope(
            user, reps=ws.reps, territories=empty("territories"), associations=empty("associations")
        )
    return scope_for(ws, user)


def _save(new: Workspace, ws: Workspace | None, args: argparse.Namespace) -> int | None:
    if ws is None:
        target = Path(args.new)
        if target.exists():
            raise WorkspaceError(f"{target} exists: choose another file for the new workspace")
        if args.user:
            new.ensure_admin(args.user)
        new.save(target)
        return new.version
    ws.tables = dict(new.tables)
    change = ws.commit(f"import {args.kind}", user=args.user)
    return None if change is None else change.version


def _promote(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    if args.user:
        scope_for(ws, args.user).require("manage_scenarios")
    ws.promote(args.scenario, user=args.user)
    change = ws.commit(f"promote scenario {args.scenario}", user=args.user)
    payload = {
        "ok": True,
        "active_scenario": args.scenario,
        "version": None if change is None else change.version,
    }
    emit(args, payload, f"{args.scenario} is now the active scenario")
    return 0
