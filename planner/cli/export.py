"""The ``export`` command: a scenario as CSV, GeoJSON, GeoPackage, XLSX, Salesforce or PDF files."""

from __future__ import annotations

import argparse
from typing import Any

from planner.cli import add_json_flag, emit

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` command."""
    from planner.export.plan import FORMATS

    p = sub.add_parser(
        "export",
        help="export a scenario (CSV, GeoJSON, GPKG, XLSX, Salesforce ETM, Zoho CRM, PDF, map)",
        description="Write a scenario of a workspace to a folder. With --as-user only what that "
        "user may see is written. With --since (Salesforce only) only the changes from a "
        "previous export are written, as delete/insert/update load files in load order.",
    )
    p.add_argument("--workspace", required=True, help="the workspace .gpkg file")
    p.add_argument("--scenario", help="scenario id (the active scenario by default)")
    p.add_argument("--format", required=True, choices=FORMATS, dest="fmt", help="what to write")
    p.add_argument("--out", required=True, help="folder to write (created if missing)")
    since = p.add_mutually_exclusive_group()
    since.add_argument(
        "--since",
        metavar="PREVIOUS_EXPORT",
        help="write the Salesforce delta from this export: a folder we wrote (deletes by "
        "DeveloperName) or an export from Salesforce, folder or zip (deletes by Id)",
    )
    since.add_argument(
        "--since-scenario",
        metavar="SCENARIO",
        help="write the Salesforce delta from the Salesforce export this scenario was "
        "imported from (deletes by Id)",
    )
    p.add_argument("--as-user", metavar="USER", help="write only what this user id or email sees")
    p.add_argument("--territory", metavar="T", help="PDF only: print this territory alone")
    p.add_argument(
        "--opportunities", metavar="CSV", help="opportunities for the XLSX report (optional)"
    )
    p.add_argument("--period", help="report period, e.g. 2025 or 2025-Q3 (latest target period)")
    p.add_argument(
        "--user-column",
        default="email",
        help="reps column with Salesforce usernames / Zoho account owners (default: email)",
    )
    p.add_argument(
        "--account-id-column",
        default="account_id",
        help="accounts column with Salesforce account Ids / Zoho Record Ids (default: account_id)",
    )
    p.add_argument("--model", default="", help="Territory2Model DeveloperName (default: scenario)")
    add_json_flag(p)
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from planner.access import AccessDeniedError, export_action, scope_for
    from planner.errors import InputError, Problem
    from planner.export import export_plan, plan_from_workspace
    from planner.export.salesforce import SalesforceOptions
    from planner.export.zoho import ZohoOptions
    from planner.services.crm_import import salesforce_snapshot
    from planner.workspace import open_workspace

    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    if args.as_user:
        scope = scope_for(ws, args.as_user, scenario_id=sid)
        scope.require(export_action(args.fmt))  # the CRM load set needs its own right
        delta = args.since or args.since_scenario
        if args.fmt == "salesforce" and delta and not scope.unrestricted:
            raise AccessDeniedError(
                f"a Salesforce delta as user '{scope.user_id}' would delete everything they "
                "cannot see; write deltas as an admin (without --as-user)"
            )
    opportunities = None
    if args.opportunities:
        from planner.reports import read_opportunities

        opportunities = read_opportunities(args.opportunities)
    if args.fmt != "xlsx" and opportunities is not None:
        raise InputError(
            "--opportunities is used by the XLSX report only",
            [Problem("opportunities given for another format", fix="use --format xlsx")],
        )
    plan = plan_from_workspace(
        ws, sid, as_user=args.as_user, opportunities=opportunities, period=args.period
    )
    options: Any = None
    if args.fmt == "zoho":
        options = ZohoOptions(
            account_id_column=args.account_id_column, user_column=args.user_column
        )
    if args.fmt == "salesforce":
        options = SalesforceOptions(
            model_developer_name=args.model,
            user_column=args.user_column,
            account_id_column=args.account_id_column,
        )
    since = args.since
    if args.since_scenario:
        since = salesforce_snapshot(ws, args.since_scenario)
    result = export_plan(
        plan, args.out, args.fmt, since=since, options=options, territory_id=args.territory
    )
    payload: dict[str, Any] = {"ok": True, **result.to_dict()}
    lines = [
        f"exported scenario {sid} as {args.fmt} to {result.out_dir}"
        + (f" (as user {plan.as_user})" if plan.as_user else ""),
        f"  territories: {len(plan.territories)}  memberships: {len(plan.memberships)}",
    ]
    for entry in result.manifest.get("files", []):
        op = f" {entry['operation']} {entry['object']}" if "operation" in entry else ""
        size = next((f"{entry[k]} {k}" for k in ("rows", "pages") if k in entry), "written")
        lines.append(f"  {entry['file']}:{op} {size}")
    emit(args, payload, "\n".join(lines))
    return 0
