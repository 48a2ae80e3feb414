"""The ``report`` and ``targets`` commands: the Reports and Targets pages of the app, in batch.

``planner report`` prints (or writes as CSV or XLSX) the report by territory
the app's Reports page shows: accounts, revenue, visit workload, estimated
drive time, owners, targets rolled up the hierarchy and, with opportunities,
won revenue and attainment. ``planner targets`` shows the targets, sets one
(``set``) or many from a CSV (``import``) and saves the workspace at once.
With ``--as-user`` only what that user may see is reported, and only targets
they may set are accepted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.cli import add_json_flag, emit
from planner.cli.report_common import (
    add_common_options,
    chosen_period,
    open_scoped,
    records,
    visible,
)
from planner.cli.report_targets import register_targets
from planner.errors import InputError, PlannerError, Problem
from planner.export.files import csv_bytes, xlsx_bytes
from planner.reports import (
    read_opportunities,
    sales_cycle,
    star_performers,
    stored_opportunities,
    territory_report,
)
from planner.services import reporting
from planner.workspace import Workspace

__all__ = ["register"]

#: File suffixes ``planner report --out`` writes.
REPORT_SUFFIXES = (".csv", ".xlsx")
_TEXT_COLUMNS = (
    s.TERRITORY_ID, "path", "owners", "accounts", s.ANNUAL_REVENUE, "workload_h",
    reporting.DRIVE_COLUMN, "target_effective", "won_amount", "attainment",
)  # fmt: skip


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` and ``targets`` commands."""
    p = sub.add_parser(
        "report",
        help="the report by territory (accounts, revenue, workload, drive time, targets, won)",
        description="Print the report by territory the app's Reports page shows, or write it "
        "with --out (.csv, or .xlsx with star performers and sales cycles when opportunities "
        "are given). With --as-user only what that user may see is reported.",
    )
    add_common_options(p)
    p.add_argument(
        "--opportunities",
        metavar="CSV",
        help="opportunities for won revenue (default: those stored in the workspace)",
    )
    p.add_argument("--out", metavar="FILE", help="write the report to FILE.csv or FILE.xlsx")
    add_json_flag(p)
    p.set_defaults(handler=_report)
    register_targets(sub)


# -- planner report ----------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    ws, sid, scope = open_scoped(args)
    _check_out(args.out)
    view = visible(ws, scope)
    opportunities = _opportunities(ws, args.opportunities, scope)
    targets = view.rows("targets", sid)
    period = chosen_period(args, targets)
    report, notes = _territory_report(view, sid, targets, opportunities, period, args.metric)
    sheets = _sheets(view, sid, report, targets, opportunities, period, args.metric)
    if args.out:
        _write(args.out, report, sheets)
    payload = {
        "ok": True,
        "scenario_id": sid,
        "period": report.attrs.get("period", period),
        "as_user": None if scope is None else scope.user_id,
        "out": args.out,
        "notes": notes,
        "rows": records(report),
    }
    emit(args, payload, _report_text(report, sid, period, args.out, notes))
    return 0


def _check_out(out: str | None) -> None:
    if out and Path(out).suffix.lower() not in REPORT_SUFFIXES:
        raise InputError(
            f"cannot write a report as {Path(out).suffix or 'a file without a suffix'}",
            [Problem(f"--out {out}", column="--out", fix="name a .csv or .xlsx file")],
        )


def _opportunities(
    ws: Workspace, path: str | None, scope: AccessScope | None
) -> pd.DataFrame | None:
    """The file's opportunities, else the workspace's stored ones (what the scope may see)."""
    if not path:
        return stored_opportunities(ws, scope=scope)
    opportunities = read_opportunities(path)
    return opportunities if scope is None else scope.filter_opportunities(opportunities)


def _territory_report(
    view: Workspace,
    sid: str,
    targets: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    period: str | None,
    metric: str | None,
) -> tuple[pd.DataFrame, list[str]]:
    """The report by territory as the Reports page builds it, and notes about it."""
    notes: list[str] = []
    try:
        drive = reporting.drive_time_by_territory(view, sid)
    except PlannerError as exc:
        notes.append(f"drive time not estimated: {exc}")
        drive = None
    report = territory_report(
        view.territories(sid),
        view.memberships(sid),
        view.accounts,
        targets=targets if len(targets) else None,
        opportunities=opportunities,
        associations=view.associations(sid),
        reps=view.reps,
        period=period,
        metric=metric or "revenue",
        extra=drive,
    )
    if report.empty:
        notes.append("the scenario has no territories you can see")
    return report, notes


def _sheets(
    view: Workspace,
    sid: str,
    report: pd.DataFrame,
    targets: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    period: str | None,
    metric: str | None,
) -> dict[str, pd.DataFrame]:
    """The XLSX sheets of the Reports page: by territory, star performers, sales cycle."""
    sheets = {"By territory": report}
    if opportunities is not None and not report.empty:
        terr = view.territories(sid)
        sheets["Star performers"] = star_performers(
            view.reps, targets, opportunities, associations=view.associations(sid),
            territories=terr, period=period, metric=metric or "revenue",
        )  # fmt: skip
        sheets["Sales cycle"] = sales_cycle(
            terr, view.memberships(sid), opportunities, period=period
        )
    return sheets


def _write(out: str, report: pd.DataFrame, sheets: dict[str, pd.DataFrame]) -> None:
    path = Path(out)
    if not path.parent.is_dir():
        raise InputError(
            f"cannot write {path}: no folder {path.parent}",
            [Problem(f"--out {out}", column="--out", fix="create the folder first")],
        )
    data = csv_bytes(report) if path.suffix.lower() == ".csv" else xlsx_bytes(sheets)
    path.write_bytes(data)


def _report_text(
    report: pd.DataFrame, sid: str, period: str | None, out: str | None, notes: list[str]
) -> str:
    head = f"report of scenario {sid}" + (f", period {period}" if period else "")
    lines = [head, *(f"note: {n}" for n in notes)]
    if not report.empty:
        shown = report[[c for c in _TEXT_COLUMNS if c in report.columns]]
        lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    if out:
        lines.append(f"wrote {out}")
    return "\n".join(lines)


# -- planner targets ---------------------------------------------------------------------
