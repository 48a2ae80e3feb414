"""History, "as of" queries, undo and redo over a :class:`~planner.store.core.Store`.

Every committed change keeps a before and an after image of each row it
wrote, with the change's effective date. The state of a row *as of* a date
is the after image of its newest change effective on or before that date;
before its first recorded change, the row is as that change found it; a
row never changed is as it is now.

Undo replays a change's before images as a new change (it is itself on
record and can be redone); a user undoes and redoes their own changes, newest
first. Undo obeys the version check: if anybody changed the same rows after
the change being undone, the undo is refused with
:class:`~planner.errors.ConflictError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from planner import schema as s
from planner.errors import WorkspaceError
from planner.store.codec import row_images
from planner.store.core import Change, Store, iso_date
from planner.store.diff import RowChange, TableDiff, row_keys
from planner.store.overlay import TABLE, frame_of, merged_table, overlay_in

__all__ = [
    "coverage_as_of",
    "history_frame",
    "redo",
    "redo_target",
    "table_as_of",
    "undo",
    "undo_target",
]

_SEARCHABLE = (s.SCENARIO_ID, s.ACCOUNT_ID, s.TERRITORY_ID, s.REP_ID)


# -- undo and redo ------------------------------------------------------------
def undo_target(store: Store, user: str | None) -> Change | None:
    """Return the change ``user`` would undo next (their newest change not undone)."""
    mine = sorted(store.changes(user=user), key=lambda c: c.version)
    undone = {c.undo_of for c in mine if c.undo_of is not None}
    for change in reversed(mine):
        if (
            change.undo_of is None
            and change.action != "workspace.create"
            and change.version not in undone
        ):
            return change
    return None


def redo_target(store: Store, user: str | None) -> Change | None:
    """Return the undo ``user`` would redo next, if their last steps were undos."""
    mine = sorted(store.changes(user=user), key=lambda c: c.version)
    redone = {c.redo_of for c in mine if c.redo_of is not None}
    for change in reversed(mine):
        if change.redo_of is not None:
            continue
        if change.undo_of is None:
            return None  # a new edit after the undos clears the redo stack
        if change.version not in redone:
            return change
    return None


def _inverse(rows: list[RowChange]) -> list[TableDiff]:
    by_table: dict[str, TableDiff] = {}
    for r in reversed(rows):
        op = {"insert": "delete", "delete": "insert", "update": "update"}[r.op]
        inv = RowChange(r.table, r.key, op, r.after, r.before)
        by_table.setdefault(r.table, TableDiff(r.table)).changes.append(inv)
    return list(by_table.values())


def undo(store: Store, user: str | None, *, base_version: int) -> Change:
    """Undo ``user``'s newest change that is not undone yet, as a new recorded change.

    Raises
    ------
    WorkspaceError
        If the user has nothing to undo.
    ConflictError
        If somebody changed the same rows after the change being undone.
    """
    target = undo_target(store, user)
    if target is None:
        raise WorkspaceError(f"{user or 'you'} have nothing to undo in '{store.name}'")
    return store.commit(
        _inverse(store.row_changes(target.version)),
        base_version=base_version,
        conflict_base=target.version,
        action=f"undo: {target.action}",
        user=user,
        effective_date=target.effective_date,
        cause=target.cause,
        scenario_id=target.scenario_id,
        undo_of=target.version,
    )


def redo(store: Store, user: str | None, *, base_version: int) -> Change:
    """Redo ``user``'s newest undo (when nothing else of theirs came after it).

    Raises
    ------
    WorkspaceError
        If the user has nothing to redo.
    ConflictError
        If somebody changed the same rows after the undo.
    """
    target = redo_target(store, user)
    if target is None:
        raise WorkspaceError(f"{user or 'you'} have nothing to redo in '{store.name}'")
    action = target.action.removeprefix("undo: ")
    return store.commit(
        _inverse(store.row_changes(target.version)),
        base_version=base_version,
        conflict_base=target.version,
        action=f"redo: {action}",
        user=user,
        effective_date=target.effective_date,
        cause=target.cause,
        scenario_id=target.scenario_id,
        redo_of=target.version,
    )


# -- history ------------------------------------------------------------------
def history_frame(
    store: Store,
    *,
    account: str | None = None,
    territory: str | None = None,
    user: str | None = None,
    table: str | None = None,
    scenario: str | None = None,
) -> pd.DataFrame:
    """Return every recorded row change matching the filters, oldest first.

    ``user`` matches changes made by that user and changes to that user's
    rows (their associations, their user record). Columns: version,
    timestamp, user, action, effective_date, cause, table, op, key,
    scenario_id, account_id, territory_id, rep_id, before, after (images as
    dicts).
    """
    h, c = store.layout.history, store.layout.changes
    stmt = sa.select(
        h.c.version,
        c.c.timestamp,
        c.c.user,
        c.c.action,
        h.c.effective_date,
        c.c.cause,
        h.c.tbl.label("table"),
        h.c.op,
        h.c.key,
        h.c.scenario_id,
        h.c.account_id,
        h.c.territory_id,
        h.c.rep_id,
        h.c.before,
        h.c.after,
    ).select_from(h.join(c, h.c.version == c.c.version))
    if account is not None:
        stmt = stmt.where(h.c.account_id == account)
    if territory is not None:
        stmt = stmt.where(h.c.territory_id == territory)
    if user is not None:
        stmt = stmt.where(sa.or_(c.c.user == user, h.c.rep_id == user))
    if table is not None:
        stmt = stmt.where(h.c.tbl == table)
    if scenario is not None:
        stmt = stmt.where(h.c.scenario_id == scenario)
    with store.reading() as conn:
        result = conn.execute(stmt.order_by(h.c.id))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)
    frame = frame.where(frame.notna(), None)
    for col in ("before", "after"):
        frame[col] = [json.loads(v) if isinstance(v, str) else None for v in frame[col].tolist()]
    return frame


def table_as_of(
    store: Store, table: str, on: str | date, *, where: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return the rows of ``table`` as they stood on date ``on`` (geometry as WKB hex).

    Parameters
    ----------
    store
        The workspace's store.
    table
        A workspace table with a key (not the audit log).
    on
        The date (``YYYY-MM-DD``); a change applies from its effective date.
    where
        Equality filters on scenario_id, account_id, territory_id or rep_id.
    """
    if table not in s.TABLES or not s.TABLES[table].key:
        raise WorkspaceError(f"no history is kept for table {table!r}")
    day = iso_date(on)
    where = dict(where or {})
    bad = [k for k in where if k not in _SEARCHABLE]
    if bad:
        raise WorkspaceError(f"table_as_of filters only on {', '.join(_SEARCHABLE)}, not {bad}")
    columns = store.layout.columns(table)
    t = store.layout.tables[table]
    h = store.layout.history
    current_filter = (
        sa.and_(*[t.c[k] == v for k, v in where.items() if k in t.c]) if where else None
    )
    hist_stmt = sa.select(h.c.key, h.c.version, h.c.effective_date, h.c.before, h.c.after).where(
        h.c.tbl == table, *[h.c[k] == v for k, v in where.items()]
    )
    with store.reading() as conn:
        over = overlay_in(conn, store.layout, store.location) if table == TABLE else None
        now = store.read_table(conn, table, current_filter) if over is None else None
        hist = conn.execute(hist_stmt.order_by(h.c.version, h.c.id)).all()
    if now is None:  # accounts in a sidecar: the whole table, then the filter
        assert over is not None
        now = frame_of(merged_table(over, store.layout), store.layout)
        for k, v in where.items():
            if k in now.columns:
                now = now[now[k] == v]
    state: dict[str, dict[str, Any] | None] = {}
    if len(now):
        keys = row_keys(now, s.TABLES[table].key)
        state = dict(zip(keys.tolist(), row_images(now, columns), strict=True))
    by_key: dict[str, list[Any]] = {}
    for row in hist:
        by_key.setdefault(row.key, []).append(row)
    for key, rows in by_key.items():
        applied = [r for r in rows if r.effective_date <= day]
        if applied:
            last = applied[-1]
            state[key] = json.loads(last.after) if last.after else None
        else:
            first = rows[0]
            state[key] = json.loads(first.before) if first.before else None
    images = [img for img in state.values() if img is not None]
    return pd.DataFrame(images, columns=columns)


def _active_scenario_as_of(store: Store, day: str) -> str | None:
    scenarios = table_as_of(store, "scenarios", day)
    active = scenarios[scenarios[s.STATE] == "active"]
    if len(active):
        return str(active.iloc[0][s.SCENARIO_ID])
    if len(scenarios):
        return str(scenarios.iloc[-1][s.SCENARIO_ID])
    return None


def _covers(row: Mapping[str, Any], day: str) -> bool:
    start, end = row.get(s.START_DATE), row.get(s.END_DATE)
    if start and str(start)[:10] > day:
        return False
    return not (end and str(end)[:10] < day)


def coverage_as_of(
    store: Store, account_id: str, on: str | date, *, scenario_id: str | None = None
) -> dict[str, Any]:
    """Answer "who covered account ``account_id`` on date ``on``".

    Returns the scenario that was active then, the territories the account
    belonged to (with cause) and the users associated with those territories
    on that day (owner, overlay or manager), all as they stood on that date.
    """
    day = iso_date(on)
    sid = scenario_id or _active_scenario_as_of(store, day)
    if sid is None:
        raise WorkspaceError(f"'{store.name}' had no scenario on {day}")
    members = table_as_of(
        store, "memberships", day, where={s.SCENARIO_ID: sid, s.ACCOUNT_ID: account_id}
    )
    territories = []
    reps: list[dict[str, Any]] = []
    names = table_as_of(store, "territories", day, where={s.SCENARIO_ID: sid})
    name_of = dict(zip(names[s.TERRITORY_ID], names[s.NAME], strict=True)) if len(names) else {}
    for m in members.to_dict("records"):
        tid = str(m[s.TERRITORY_ID])
        territories.append(
            {
                "territory_id": tid,
                "name": name_of.get(tid),
                "cause": m.get(s.CAUSE),
                "is_primary": bool(m.get(s.IS_PRIMARY)),
            }
        )
        assoc = table_as_of(
            store, "associations", day, where={s.SCENARIO_ID: sid, s.TERRITORY_ID: tid}
        )
        for a in assoc.to_dict("records"):
            if _covers({str(k): v for k, v in a.items()}, day):
                reps.append({"rep_id": a[s.REP_ID], "territory_id": tid, "role": a[s.ROLE]})
    return {
        "account_id": account_id,
        "as_of": day,
        "scenario_id": sid,
        "territories": territories,
        "users": reps,
    }
