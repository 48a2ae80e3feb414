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
import math
from pathlib import Path
from typing import Any

import pandas as pd

from planner import schema as s
from planner.access import AccessScope, restrict_workspace, scope_for
from planner.cli import add_json_flag, emit
from planner.errors import InputError, PlannerError, Problem, format_ids
from planner.export.files import csv_bytes, xlsx_bytes
from planner.models import Target
from planner.reports import (
    read_opportunities,
    sales_cycle,
    set_targets,
    star_performers,
    target_rollup,
    territory_report,
)
from planner.reports.periods import period_bounds
from planner.services import reporting
from planner.workspace import Workspace, open_workspace

__all__ = ["register"]

#: File suffixes ``planner report --out`` writes.
REPORT_SUFFIXES = (".csv", ".xlsx")
_TEXT_COLUMNS = (
    "path", "owners", "accounts", s.ANNUAL_REVENUE, "workload_h", reporting.DRIVE_COLUMN,
    "target_effective", "won_amount", "attainment",
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
    _common(p)
    p.add_argument("--opportunities", metavar="CSV", help="opportunities for won revenue")
    p.add_argument("--out", metavar="FILE", help="write the report to FILE.csv or FILE.xlsx")
    add_json_flag(p)
    p.set_defaults(handler=_report)
    _register_targets(sub)


def _common(p: argparse.ArgumentParser, *, default: Any = None) -> None:
    """The options every report and targets command takes (``default`` SUPPRESS on verbs)."""
    p.add_argument("--workspace", "-w", default=default, help="the workspace")
    p.add_argument("--scenario", default=default, help="scenario id (the active one by default)")
    p.add_argument(
        "--as-user", default=default, metavar="USER", help="act as this user id or email"
    )
    p.add_argument(
        "--period", default=default, help="e.g. 2026-Q1 (default: the latest target period)"
    )
    p.add_argument("--metric", default=default, help="target metric (default: revenue)")


def _register_targets(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "targets",
        help="show, set or import targets (quotas per territory, user and period)",
        description="planner targets --workspace W show | set --territory T --value N | "
        "import FILE.csv. A change is saved to the workspace at once.",
    )
    _common(p)
    verbs = p.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("show", help="targets rolled up the hierarchy, and users' targets")
    setter = verbs.add_parser("set", help="set one target")
    setter.add_argument("--territory", metavar="T", help="territory id")
    setter.add_argument("--rep", metavar="USER", help="user id (a user's target)")
    setter.add_argument("--value", required=True, help="the target, a non-negative number")
    importer = verbs.add_parser(
        "import", help="set targets from a CSV: territory_id,target (rep_id, period, metric)"
    )
    importer.add_argument("file", help="the CSV file")
    for verb, handler in ((show, _show), (setter, _set), (importer, _import)):
        _common(verb, default=argparse.SUPPRESS)
        add_json_flag(verb)
        verb.set_defaults(handler=handler)


# -- shared steps ------------------------------------------------------------------------


def _open(args: argparse.Namespace) -> tuple[Workspace, str, AccessScope | None]:
    """The workspace, the scenario, and the scope of ``--as-user`` (``None``: everything)."""
    if not args.workspace:
        raise InputError(
            "no workspace given",
            [Problem("--workspace is missing", column="--workspace", fix="add --workspace FILE")],
        )
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    ws.scenario(sid)  # an unknown scenario is refused here, with the known ones
    scope = scope_for(ws, args.as_user, scenario_id=sid) if args.as_user else None
    return ws, sid, scope


def _visible(ws: Workspace, scope: AccessScope | None) -> Workspace:
    if scope is None or scope.unrestricted:
        return ws
    scope.require("view")
    return restrict_workspace(ws, scope)


def _period(args: argparse.Namespace, targets: pd.DataFrame) -> str | None:
    if args.period:
        period_bounds(args.period)  # refuses an unknown period with the accepted forms
        return str(args.period)
    known = reporting.periods(targets)
    return known[-1] if known else None


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (missing values as ``null``)."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return None if pd.isna(value) else value


# -- planner report ----------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    _check_out(args.out)
    view = _visible(ws, scope)
    opportunities = _opportunities(args.opportunities, scope)
    targets = view.rows("targets", sid)
    period = _period(args, targets)
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
        "rows": _records(report),
    }
    emit(args, payload, _report_text(report, sid, period, args.out, notes))
    return 0


def _check_out(out: str | None) -> None:
    if out and Path(out).suffix.lower() not in REPORT_SUFFIXES:
        raise InputError(
            f"cannot write a report as {Path(out).suffix or 'a file without a suffix'}",
            [Problem(f"--out {out}", column="--out", fix="name a .csv or .xlsx file")],
        )


def _opportunities(path: str | None, scope: AccessScope | None) -> pd.DataFrame | None:
    if not path:
        return None
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


def _show(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    view = _visible(ws, scope)
    targets = view.rows("targets", sid)
    period = _period(args, targets)
    metric = args.metric or "revenue"
    terr = view.territories(sid)
    rollup = target_rollup(terr, targets, period=period, metric=metric) if len(terr) else None
    users = reporting.rep_targets(view, sid, period=period)
    columns = ["path", s.TERRITORY_ID, "target", "target_below", "target_effective", "target_gap"]
    shown = rollup[columns] if rollup is not None else pd.DataFrame(columns=columns)
    payload = {
        "ok": True,
        "scenario_id": sid,
        "period": period,
        "metric": metric,
        "territories": _records(shown),
        "users": _records(users),
    }
    text = [f"targets of scenario {sid}, {metric}, period {period or 'all'}"]
    text.append(shown.to_string(index=False) if len(shown) else "no territories you can see")
    text.append(users.to_string(index=False) if len(users) else "no user targets")
    emit(args, payload, "\n".join(text))
    return 0


def _set(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    problems: list[Problem] = []
    value = _number(args.value, problems, column="--value", row=None)
    if not args.territory and not args.rep:
        problems.append(
            Problem("neither --territory nor --rep given", column="--territory",
                    fix="name the territory (or the user) the target is for")
        )  # fmt: skip
    _known_ids(ws, sid, [(None, args.territory, args.rep)], problems)
    period = _required_period(args, problems)
    target = Target(
        period=period or "",
        value=value if value is not None else 0.0,
        metric=args.metric or "revenue",
        territory_id=args.territory or None,
        rep_id=args.rep or None,
    ) if not problems else None  # fmt: skip
    _save_targets(args, ws, sid, scope, [target] if target else [], problems, source=None)
    return 0


def _import(args: argparse.Namespace) -> int:
    ws, sid, scope = _open(args)
    problems: list[Problem] = []
    raw = _read_targets_csv(args.file)
    items = _targets_from_rows(args, ws, sid, raw, problems)
    _save_targets(args, ws, sid, scope, items, problems, source=args.file)
    return 0


def _required_period(args: argparse.Namespace, problems: list[Problem]) -> str | None:
    if not args.period:
        problems.append(Problem("--period is missing", column="--period", fix="add e.g. 2026-Q1"))
        return None
    try:
        period_bounds(args.period)
    except InputError:
        problems.append(
            Problem(f"unknown period '{args.period}'", column="--period",
                    fix="write 2026, 2026-H1, 2026-Q1, 2026-01 or FY2026")
        )  # fmt: skip
        return None
    return str(args.period)


def _number(text: Any, problems: list[Problem], *, column: str, row: int | None) -> float | None:
    """``text`` as a non-negative finite number, else a problem naming the row and column."""
    try:
        value = float(str(text).strip().replace(",", ""))
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value >= 0:
        return value
    problems.append(
        Problem(f"'{text}' is not a non-negative number", rows=(row,) if row else (),
                column=column, fix="write the target as a plain number such as 250000")
    )  # fmt: skip
    return None


def _known_ids(
    ws: Workspace,
    sid: str,
    rows: list[tuple[int | None, str | None, str | None]],
    problems: list[Problem],
) -> None:
    """Refuse territory and user ids the scenario does not have (every one listed)."""
    territories = set(ws.territories(sid)[s.TERRITORY_ID].astype(str))
    users = set(ws.reps[s.REP_ID].astype(str))
    for what, known, index, column in (
        ("territory", territories, 1, s.TERRITORY_ID),
        ("user", users, 2, s.REP_ID),
    ):
        bad = [(r[0], str(r[index])) for r in rows if r[index] and str(r[index]) not in known]
        if bad:
            ids = sorted({b[1] for b in bad})
            problems.append(
                Problem(
                    f"unknown {what} {format_ids(ids)} in scenario {sid}",
                    rows=tuple(r for r, _ in bad if r is not None),
                    column=column if bad[0][0] is not None else f"--{what.replace('user', 'rep')}",
                    fix=f"use a {what} id of the scenario (planner info lists them)",
                )
            )


def _period_ok(period: Any) -> bool:
    try:
        period_bounds(str(period))
    except InputError:
        return False
    return True


def _read_targets_csv(path: str) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise InputError(
            f"targets file {file} does not exist",
            [Problem(f"no file {file}", column="FILE", fix="check the path")],
        )
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{file} cannot be read as CSV",
            [Problem(f"unreadable CSV: {exc}", fix="save it as UTF-8 CSV with a header row")],
            source=str(file),
        ) from exc
    raw.columns = [str(c).strip().lower().replace(" ", "_") for c in raw.columns]
    return raw.rename(columns={"value": "target", "user_id": s.REP_ID, "rep": s.REP_ID})


def _targets_from_rows(
    args: argparse.Namespace,
    ws: Workspace,
    sid: str,
    raw: pd.DataFrame,
    problems: list[Problem],
) -> list[Target]:
    """One target per CSV row; every bad row and column goes to ``problems``."""
    missing = [
        Problem(f"required column '{c}' is missing", column=c, fix=f"add a '{c}' column")
        for c in ("target",) if c not in raw.columns
    ]  # fmt: skip
    if s.TERRITORY_ID not in raw.columns and s.REP_ID not in raw.columns:
        missing.append(
            Problem("no territory_id or rep_id column", column=s.TERRITORY_ID,
                    fix="add a territory_id column (and rep_id for users' targets)")
        )  # fmt: skip
    if "period" not in raw.columns and not args.period:
        missing.append(
            Problem("no period column and no --period", column=s.PERIOD,
                    fix="add a period column or pass --period 2026-Q1")
        )  # fmt: skip
    if missing:
        problems.extend(missing)
        return []
    return _row_targets(args, ws, sid, raw, problems)


def _row_targets(
    args: argparse.Namespace,
    ws: Workspace,
    sid: str,
    raw: pd.DataFrame,
    problems: list[Problem],
) -> list[Target]:
    items: list[Target] = []
    ids: list[tuple[int | None, str | None, str | None]] = []
    no_key, bad_period = [], []
    for i, row in enumerate(raw.to_dict("records")):
        file_row = i + 2  # the header is row 1
        territory = str(row.get(s.TERRITORY_ID, "")).strip() or None
        rep = str(row.get(s.REP_ID, "")).strip() or None
        period = str(row.get(s.PERIOD, "")).strip() or args.period
        value = _number(row["target"], problems, column="target", row=file_row)
        if territory is None and rep is None:
            no_key.append(file_row)
        elif _period_ok(period):
            if value is not None:
                metric = str(row.get(s.METRIC, "")).strip() or args.metric or "revenue"
                items.append(Target(period=str(period), value=value, metric=metric,
                                    territory_id=territory, rep_id=rep))  # fmt: skip
        else:
            bad_period.append(file_row)
        ids.append((file_row, territory, rep))
    if no_key:
        problems.append(
            Problem("the row names no territory and no user", rows=tuple(no_key),
                    column=s.TERRITORY_ID, fix="fill in territory_id (or rep_id)")
        )  # fmt: skip
    if bad_period:
        problems.append(
            Problem("the period is not understood", rows=tuple(bad_period), column=s.PERIOD,
                    fix="write 2026, 2026-H1, 2026-Q1, 2026-01 or FY2026")
        )  # fmt: skip
    _known_ids(ws, sid, ids, problems)
    return items


def _save_targets(
    args: argparse.Namespace,
    ws: Workspace,
    sid: str,
    scope: AccessScope | None,
    items: list[Target],
    problems: list[Problem],
    *,
    source: str | None,
) -> None:
    """Refuse every problem at once, else set the targets (in scope) and commit the change."""
    if problems:
        raise InputError("targets not set: nothing was changed", problems, source=source)
    if scope is not None:
        scope.require("set_target")
    updated = set_targets(ws.rows("targets", sid), items, scenario_id=sid, scope=scope)
    ws.set_rows("targets", sid, updated)
    user = None if scope is None else scope.user_id
    detail = {"targets": len(items), "file": source} if source else _detail(items[0])
    ws.log("set_target", detail, user=user, scenario_id=sid)
    change = ws.commit(f"set {len(items)} target(s)", user=user, scenario_id=sid)
    payload = {
        "ok": True,
        "scenario_id": sid,
        "set": [_detail(t) for t in items],
        "version": None if change is None else change.version,
    }
    lines = [f"set {len(items)} target(s) in scenario {sid}"]
    lines += [
        f"  {t.territory_id or '-'} / {t.rep_id or '-'} / {t.period} / {t.metric}: {t.value:,.0f}"
        for t in items[:20]
    ]
    emit(args, payload, "\n".join(lines))


def _detail(t: Target) -> dict[str, Any]:
    return {"territory_id": t.territory_id, "rep_id": t.rep_id, "period": t.period,
            "metric": t.metric, "value": t.value}  # fmt: skip
