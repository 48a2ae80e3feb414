"""The ``targets`` command: show, set or import targets, saved to the workspace at once."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

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
from planner.cli.report_quotas import register_propose
from planner.errors import InputError, Problem, format_ids
from planner.models import Target
from planner.reports import set_targets, target_rollup
from planner.reports.periods import period_bounds
from planner.services import reporting
from planner.workspace import Workspace

__all__ = ["register_targets"]


def register_targets(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``targets`` command and its verbs (show, set, import, propose)."""
    p = sub.add_parser(
        "targets",
        help="show, set or import targets (quotas per territory, user and period)",
        description="planner targets --workspace W show | set --territory T --value N | "
        "import FILE.csv | propose --period P --total N. A change is saved to the workspace "
        "at once.",
    )
    add_common_options(p)
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
        add_common_options(verb, default=argparse.SUPPRESS)
        add_json_flag(verb)
        verb.set_defaults(handler=handler)
    register_propose(verbs)


def _show(args: argparse.Namespace) -> int:
    ws, sid, scope = open_scoped(args)
    view = visible(ws, scope)
    targets = view.rows("targets", sid)
    period = chosen_period(args, targets)
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
        "territories": records(shown),
        "users": records(users),
    }
    text = [f"targets of scenario {sid}, {metric}, period {period or 'all'}"]
    text.append(shown.to_string(index=False) if len(shown) else "no territories you can see")
    text.append(users.to_string(index=False) if len(users) else "no user targets")
    emit(args, payload, "\n".join(text))
    return 0


def _set(args: argparse.Namespace) -> int:
    ws, sid, scope = open_scoped(args)
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
    ws, sid, scope = open_scoped(args)
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
