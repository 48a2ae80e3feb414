"""Shared-workspace commands: ``history``, ``undo``, ``redo``, ``push``, ``pull``,
``workspaces``, ``compact`` and ``reassign``.

A ``--workspace`` argument is a ``.gpkg`` file or, with
``$PLANNER_DATABASE_URL`` set, the name of a workspace on that server.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from planner.access import AccessScope, scope_for
from planner.cli import add_json_flag, emit
from planner.errors import InputError, Problem, WorkspaceError
from planner.reassign import reassign
from planner.store import (
    DATABASE_URL_ENV,
    copy_store,
    coverage_as_of,
    history_frame,
    list_workspaces,
    open_store,
    table_as_of,
)
from planner.workspace import open_workspace, resolve_target

__all__ = ["register"]


def _workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        "-w",
        required=True,
        help=f"a workspace .gpkg file, or a workspace name on ${DATABASE_URL_ENV}",
    )


def _register_compact(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compact",
        help="fold a large workspace's changed accounts into a new GeoParquet file",
        description="A workspace file with many accounts keeps them in a GeoParquet file beside "
        "the .gpkg and only the accounts changed since in the .gpkg. This writes a new "
        "GeoParquet file with every change folded in (commits do it by themselves when the "
        "changes pass 5%% of the accounts). A workspace that has no such file yet gets one.",
    )
    p.add_argument("workspace", help="the .gpkg workspace file")
    add_json_flag(p)
    p.set_defaults(handler=_compact)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the shared-workspace commands."""
    p = sub.add_parser(
        "history",
        help="who changed what and when; who covered an account on a date",
        description="List the recorded changes of a workspace, filtered by account, territory "
        "or user. With --as-of DATE: the state on that date (for --account: which territories "
        "and users covered it; for --territory: its row; for --user: their associations).",
    )
    _workspace_arg(p)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--account", help="an account id")
    who.add_argument("--territory", help="a territory id")
    who.add_argument("--user", help="a user (rep) id: changes they made and changes to them")
    p.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD", help="the state on this date")
    p.add_argument("--scenario", help="the scenario (default: the one active on that date)")
    p.add_argument("--limit", type=int, default=200, help="at most this many rows (default 200)")
    p.add_argument("--as-user", help="only changes to accounts, territories and users they may see")
    add_json_flag(p)
    p.set_defaults(handler=_history)

    for verb in ("undo", "redo"):
        p = sub.add_parser(verb, help=f"{verb} your newest change (recorded as a change itself)")
        _workspace_arg(p)
        p.add_argument("--user", required=True, help="whose change (your user id)")
        add_json_flag(p)
        p.set_defaults(handler=_step, verb=verb)

    p = sub.add_parser("push", help="copy a workspace file with its history to the team server")
    p.add_argument("file", help="the .gpkg workspace to copy")
    p.add_argument("--name", help="the name on the server (default: the file's workspace name)")
    p.add_argument("--url", help=f"the server (default: ${DATABASE_URL_ENV})")
    p.add_argument("--overwrite", action="store_true", help="replace a workspace of that name")
    p.add_argument("--as-user", help="who copies it: must be an admin of the file (hashes go too)")
    add_json_flag(p)
    p.set_defaults(handler=_push)

    p = sub.add_parser("pull", help="copy a workspace with its history from the server to a file")
    p.add_argument("name", help="the workspace's name on the server")
    p.add_argument("file", help="the .gpkg file to write")
    p.add_argument("--url", help=f"the server (default: ${DATABASE_URL_ENV})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--as-user", help="who copies it: must be an admin of the server workspace")
    add_json_flag(p)
    p.set_defaults(handler=_pull)

    p = sub.add_parser("workspaces", help="list the workspaces in a folder and on the server")
    p.add_argument("--folder", default=os.environ.get("PLANNER_SAVE_DIR", "workspaces"))
    p.add_argument("--url", help=f"the server (default: ${DATABASE_URL_ENV})")
    add_json_flag(p)
    p.set_defaults(handler=_workspaces)

    _register_compact(sub)

    p = sub.add_parser(
        "reassign",
        help="move every account of a rep, a territory or units to a territory",
        description="Move accounts in bulk as manual overrides, effective from a date, and save "
        "the change. With --from-rep the rep's associations end the day before the date.",
    )
    _workspace_arg(p)
    p.add_argument("--to", required=True, dest="to_territory", help="the receiving territory")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-rep", help="a departing rep's id")
    src.add_argument("--from-territory", help="a territory to empty")
    src.add_argument("--units", nargs="+", help="unit ids to move with their accounts")
    p.add_argument("--effective-date", metavar="YYYY-MM-DD", help="from when (default today)")
    p.add_argument("--scenario", help="the scenario (default: the active one)")
    p.add_argument("--user", help="who moves them (recorded)")
    p.add_argument("--reason", default="", help="why (recorded)")
    add_json_flag(p)
    p.set_defaults(handler=_reassign)


def _server_url(given: str | None) -> str:
    url = given or os.environ.get(DATABASE_URL_ENV, "").strip()
    if not url:
        raise InputError(
            "no team server given",
            [Problem("no server URL", fix=f"pass --url or set {DATABASE_URL_ENV} (see ./dev db)")],
        )
    return url


def _history(args: argparse.Namespace) -> int:
    where, name = resolve_target(args.workspace)
    store = open_store(where, name=name)
    scope = _history_scope(args)
    if args.as_of:
        payload = _as_of(store, args)
        emit(args, payload, _as_of_text(payload))
        return 0
    frame = history_frame(store, account=args.account, territory=args.territory, user=args.user)
    if scope is not None and not scope.unrestricted:
        frame = frame[_visible_rows(frame, scope)]
    frame = frame.tail(args.limit)
    records = frame.drop(columns=["key"]).to_dict("records")
    rows: list[dict[str, Any]] = [{str(k): v for k, v in row.items()} for row in records]
    if scope is not None and not scope.unrestricted:
        rows = [_masked(row, scope) for row in rows]
    payload = {"ok": True, "workspace": store.name, "changes": rows, "count": len(rows)}
    lines = [f"{len(rows)} recorded row changes in {store.name}:"]
    for r in rows:
        thing = r["account_id"] or r["territory_id"] or r["rep_id"] or ""
        lines.append(
            f"  v{r['version']} {r['timestamp']} {r['user'] or '-'} {r['action']}: "
            f"{r['op']} {r['table']} {thing} (effective {r['effective_date']})"
        )
    emit(args, payload, "\n".join(lines))
    return 0


def _history_scope(args: argparse.Namespace) -> AccessScope | None:
    """With ``--as-user``: the user's scope, checked against what was asked for."""
    if not args.as_user:
        return None
    scope = scope_for(open_workspace(args.workspace), args.as_user)
    if args.account:
        scope.require_account(args.account)
    if args.territory:
        scope.require_territory(args.territory)
    if args.user:
        scope.require_rep(args.user)
    return scope


def _visible_rows(frame: Any, scope: AccessScope) -> Any:
    """Rows naming only accounts, territories and users the scope sees (and at least one)."""
    named_any = False
    hidden_any = False
    for column, can in (
        ("account_id", scope.can_view_account),
        ("territory_id", scope.can_view_territory),
        ("rep_id", scope.can_view_rep),
    ):
        ids = frame[column]
        named = ids.notna() & (ids.astype(str) != "")
        visible = ids.map(lambda v, can=can: isinstance(v, str) and can(v))
        named_any = named_any | named
        hidden_any = hidden_any | (named & ~visible.astype(bool))
    return named_any & ~hidden_any


#: Id fields of a changed row's before/after values, and who may see each.
_ID_FIELDS = {
    "account_id": "account",
    "territory_id": "territory",
    "parent_id": "territory",
    "rep_id": "rep",
    "manager_id": "rep",
}


def _masked(row: dict[str, Any], scope: AccessScope) -> dict[str, Any]:
    """The row with ids outside the scope blanked in its before/after values."""
    can = {
        "account": scope.can_view_account,
        "territory": scope.can_view_territory,
        "rep": scope.can_view_rep,
    }
    for side in ("before", "after"):
        values = row.get(side)
        if isinstance(values, dict):
            row[side] = {
                k: None if k in _ID_FIELDS and isinstance(v, str) and not can[_ID_FIELDS[k]](v)
                else v
                for k, v in values.items()
            }  # fmt: skip
    return row


def _require_admin(args: argparse.Namespace, target: str, name: str | None = None) -> None:
    """With ``--as-user``: only an admin may copy a whole workspace (its hashes too)."""
    if args.as_user:
        scope_for(open_workspace(target, name=name), args.as_user).require("manage_users")


def _as_of(store: Any, args: argparse.Namespace) -> dict[str, Any]:
    if args.account:
        found = coverage_as_of(store, args.account, args.as_of, scenario_id=args.scenario)
        return {"ok": True, **found}
    where: dict[str, str] = {}
    if args.scenario:
        where["scenario_id"] = args.scenario
    if args.territory:
        rows = table_as_of(
            store, "territories", args.as_of, where={**where, "territory_id": args.territory}
        )
        users = table_as_of(
            store, "associations", args.as_of, where={**where, "territory_id": args.territory}
        )
        return {
            "ok": True,
            "as_of": args.as_of,
            "territory": rows.drop(columns=["geometry"], errors="ignore").to_dict("records"),
            "associations": users.to_dict("records"),
        }
    if args.user:
        rows = table_as_of(store, "associations", args.as_of, where={**where, "rep_id": args.user})
        return {"ok": True, "as_of": args.as_of, "associations": rows.to_dict("records")}
    raise InputError(
        "--as-of needs --account, --territory or --user",
        [Problem("nothing to look up", fix="add --account ID, --territory ID or --user ID")],
    )


def _as_of_text(payload: dict[str, Any]) -> str:
    if "territories" in payload:
        lines = [
            f"account {payload['account_id']} on {payload['as_of']} "
            f"(scenario {payload['scenario_id']}):"
        ]
        for t in payload["territories"]:
            lines.append(f"  in territory {t['territory_id']} ({t['name']}), by {t['cause']}")
        for u in payload["users"]:
            lines.append(f"  covered by {u['rep_id']} as {u['role']} of {u['territory_id']}")
        if not payload["territories"]:
            lines.append("  in no territory")
        return "\n".join(lines)
    return "\n".join(f"{k}: {v}" for k, v in payload.items() if k != "ok")


def _step(args: argparse.Namespace) -> int:
    """Undo or redo the user's newest change (``args.verb``)."""
    ws = open_workspace(args.workspace)
    change = ws.undo(args.user) if args.verb == "undo" else ws.redo(args.user)
    done = "undid" if args.verb == "undo" else "redid"
    emit(
        args,
        {"ok": True, **change.to_dict()},
        f"{done} version {change.undo_of or change.redo_of}: now version {change.version}",
    )
    return 0


def _push(args: argparse.Namespace) -> int:
    url = _server_url(args.url)
    if not Path(args.file).is_file():
        raise WorkspaceError(f"workspace file {args.file} does not exist")
    _require_admin(args, args.file)
    source = open_store(args.file)
    copy = copy_store(source, url, name=args.name or source.name, overwrite=args.overwrite)
    payload = {"ok": True, "name": copy.name, "version": copy.head(), "server": copy.location}
    emit(args, payload, f"pushed {args.file} to {copy.location} (version {payload['version']})")
    return 0


def _pull(args: argparse.Namespace) -> int:
    url = _server_url(args.url)
    target = Path(args.file)
    if target.exists() and not args.overwrite:
        raise WorkspaceError(f"{target} exists: pass --overwrite to replace it")
    _require_admin(args, url, args.name)
    source = open_store(url, name=args.name)
    copy = copy_store(source, target, name=source.name, overwrite=True)
    payload = {"ok": True, "name": copy.name, "version": copy.head(), "file": str(target)}
    emit(args, payload, f"pulled '{args.name}' into {target} (version {payload['version']})")
    return 0


def _workspaces(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get(DATABASE_URL_ENV, "").strip() or None
    found = list_workspaces(args.folder, url)
    rows = [{"name": w.name, "location": w.location, "backend": w.backend} for w in found]
    lines = [f"  {w.name}  ({w.backend}: {w.location})" for w in found] or ["  none"]
    emit(args, {"ok": True, "workspaces": rows}, "\n".join(["workspaces:", *lines]))
    return 0


def _compact(args: argparse.Namespace) -> int:
    store = open_store(args.workspace)
    try:
        done = store.compact()
    finally:
        store.dispose()
    if done is None:
        emit(args, {"ok": True, "compacted": False}, "nothing to fold: the file is up to date")
        return 0
    payload = {
        "ok": True,
        "compacted": True,
        "file": str(done.folder / done.file),
        "version": done.version,
        "accounts": done.rows,
        "seconds": round(done.seconds, 2),
    }
    text = f"wrote {payload['file']}: {done.rows:,} accounts as of version {done.version}"
    emit(args, payload, text)
    return 0


def _reassign(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    sid = args.scenario or ws.active_scenario_id()
    scope = scope_for(ws, args.user, scenario_id=sid) if args.user else None
    summary = reassign(
        ws,
        args.scenario,
        scope=scope,
        to_territory=args.to_territory,
        from_rep=args.from_rep,
        from_territory=args.from_territory,
        units=args.units,
        user=args.user,
        reason=args.reason,
        effective_date=args.effective_date,
    )
    change = ws.commit(
        "reassign",
        user=args.user,
        effective_date=args.effective_date,
        cause=args.reason or "reassignment",
        scenario_id=summary.scenario_id,
    )
    payload = {
        "ok": True,
        **summary.to_dict(),
        "version": None if change is None else change.version,
    }
    emit(
        args,
        payload,
        f"moved {len(summary.account_ids)} accounts to {summary.to_territory} "
        f"(version {payload['version']})",
    )
    return 0
