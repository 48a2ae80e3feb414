"""Staffing: which users work on which territories, in which role, from when to when.

A staffing row is a row of the scenario's ``associations``; it is *current* on
a day inside its (inclusive, possibly open) start and end dates, the rule
:mod:`planner.access` uses. A territory has one owner at a time; overlays and
managers may be many. Bad input raises :class:`InputError` with the fix, the
workspace unchanged; a change is made in memory and audited: ``ws.commit`` it.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import active_mask
from planner.edit import EditOutcome
from planner.errors import InputError, Problem, format_ids
from planner.workspace import Workspace

__all__ = [
    "StaffRole",
    "assign_user",
    "end_assignment",
    "parse_day",
    "remove_assignment",
    "stored_day",
    "territory_staff",
    "user_load",
    "vacancies",
]

logger = logging.getLogger(__name__)

StaffRole = Literal["owner", "overlay", "manager"]
_ROLES: tuple[str, ...] = get_args(StaffRole)
_COLUMNS = [s.REP_ID, s.TERRITORY_ID, s.ROLE, s.START_DATE, s.END_DATE]
_VACANCY_COLUMNS = (s.TERRITORY_ID, s.NAME, s.PARENT_ID, "accounts", "last_owner",
                    "vacant_since", "next_owner", "starts")  # fmt: skip


# ------------------------------------------------------------------ validation helpers
def _error(message: str, fix: str, *, column: str | None = None) -> InputError:
    return InputError(message, [Problem(message, column=column, fix=fix)])


def parse_day(value: str | date | None, name: str) -> date | None:
    """A day given as a date or ``YYYY-MM-DD`` text (empty: ``None``); ``name`` is for errors."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise _error(
            f"{name} {value!r} is not a date", "write it as YYYY-MM-DD", column=name
        ) from exc


def stored_day(value: object) -> date | None:
    """A stored start or end date (missing or unreadable ones count as open)."""
    try:
        return None if s.is_missing(value) else parse_day(str(value), "date")
    except InputError:
        return None


def _text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _check_role(role: str) -> None:
    if role not in _ROLES:
        raise _error(
            f"role '{role}' is not a staffing role",
            f"use one of {', '.join(_ROLES)}",
            column=s.ROLE,
        )


def _check_known(ws: Workspace, scenario_id: str, territory_id: str, rep_id: str) -> None:
    """Refuse a territory of another scenario or a user not in the reps table."""
    territories = set(ws.territories(scenario_id)[s.TERRITORY_ID].astype(str))
    users = set(ws.reps[s.REP_ID].astype(str)) if len(ws.reps) else set()
    for ident, known, what, column in (
        (territory_id, territories, f"territory '{territory_id}' in scenario '{scenario_id}'",
         s.TERRITORY_ID),
        (rep_id, users, f"user '{rep_id}'", s.REP_ID),
    ):  # fmt: skip
        if str(ident) not in known:
            raise _error(f"there is no {what}", f"pick one of {format_ids(sorted(known))}",
                         column=column)  # fmt: skip


def _overlaps(a: tuple[date | None, date | None], b: tuple[date | None, date | None]) -> bool:
    lo = max(a[0] or date.min, b[0] or date.min)
    hi = min(a[1] or date.max, b[1] or date.max)
    return lo <= hi


def _associations(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    return ws.rows("associations", scenario_id)[_COLUMNS].copy()


def _row_mask(assoc: pd.DataFrame, territory_id: str, rep_id: str, role: str) -> np.ndarray:
    return (
        (assoc[s.TERRITORY_ID].astype(str) == str(territory_id))
        & (assoc[s.REP_ID].astype(str) == str(rep_id))
        & (assoc[s.ROLE].astype(str) == role)
    ).to_numpy()


def _find(
    ws: Workspace, scenario_id: str, territory_id: str, rep_id: str, role: str
) -> tuple[pd.DataFrame, np.ndarray]:
    _check_role(role)
    assoc = _associations(ws, scenario_id)
    mask = _row_mask(assoc, territory_id, rep_id, role)
    if not mask.any():
        raise _error(
            f"user '{rep_id}' has no {role} assignment on territory '{territory_id}'",
            "pick an assignment listed for the territory (planner staff shows them)",
        )
    return assoc, mask


def _check_single_owner(
    assoc: pd.DataFrame, territory_id: str, rep_id: str, period: tuple[date | None, date | None]
) -> None:
    """Refuse a second owner of the territory in any part of ``period``."""
    others = assoc[
        (assoc[s.TERRITORY_ID].astype(str) == str(territory_id))
        & (assoc[s.ROLE].astype(str) == "owner")
        & (assoc[s.REP_ID].astype(str) != str(rep_id))
    ]
    clashes = [
        (str(r[s.REP_ID]), stored_day(r[s.START_DATE]), stored_day(r[s.END_DATE]))
        for _, r in others.iterrows()
        if _overlaps(period, (stored_day(r[s.START_DATE]), stored_day(r[s.END_DATE])))
    ]
    if clashes:
        who, first, last = clashes[0]
        span = _period(first, last)
        raise _error(
            f"territory '{territory_id}' already has owner '{who}' ({span}) in that period",
            f"end {who}'s ownership before the new start date, start the new owner later, "
            "or add the user as overlay",
            column=s.START_DATE,
        )


def _write(ws: Workspace, scenario_id: str, assoc: pd.DataFrame) -> None:
    ws.set_rows("associations", scenario_id, assoc.reset_index(drop=True))


# ------------------------------------------------------------------ changes
def assign_user(
    ws: Workspace,
    scenario_id: str,
    *,
    territory_id: str,
    rep_id: str,
    role: str,
    start_date: str | date | None = None,
    end_date: str | date | None = None,
    user: str | None = None,
) -> EditOutcome:
    """Put a user on a territory with a role and dates (or change the dates of that row).

    Parameters
    ----------
    ws
        The workspace; changed in memory.
    scenario_id
        The scenario.
    territory_id, rep_id, role
        Which territory, which user, which role (``owner``, ``overlay``, ``manager``).
    start_date, end_date
        First and last day (``YYYY-MM-DD``); empty means open.
    user
        Who makes the change (recorded in the audit).

    Raises
    ------
    InputError
        Unknown scenario, territory or user; unknown role; a date that is
        not a date; an end before the start; a second owner of the
        territory in any part of the period.
    """
    _check_role(role)
    _check_known(ws, scenario_id, territory_id, rep_id)
    first, last = parse_day(start_date, s.START_DATE), parse_day(end_date, s.END_DATE)
    if first is not None and last is not None and last < first:
        raise _error(
            f"end date {last} is before start date {first}",
            "give an end date on or after the start date",
            column=s.END_DATE,
        )
    assoc = _associations(ws, scenario_id)
    if role == "owner":
        _check_single_owner(assoc, territory_id, rep_id, (first, last))
    mask = _row_mask(assoc, territory_id, rep_id, role)
    values = (str(rep_id), str(territory_id), role, _text(first), _text(last))
    row = dict(zip(_COLUMNS, values, strict=True))
    kept = assoc[~mask]
    _write(ws, scenario_id, pd.concat([kept, pd.DataFrame([row])], ignore_index=True))
    verb = "changed" if mask.any() else "added"
    ws.log("staff assign", {**row, "change": verb}, user=user, scenario_id=scenario_id)
    logger.info("%s %s as %s on %s", verb, rep_id, role, territory_id)
    return EditOutcome(
        f"{verb.capitalize()} {rep_id} as {role} of {territory_id} ({_period(first, last)})."
    )


def end_assignment(
    ws: Workspace,
    scenario_id: str,
    *,
    territory_id: str,
    rep_id: str,
    role: str,
    end_date: str | date | None = None,
    user: str | None = None,
) -> EditOutcome:
    """End a user's assignment on a territory: its last day becomes ``end_date`` (today by default).

    Raises
    ------
    InputError
        No such assignment, a date that is not a date, or an end before the
        assignment's start.
    """
    assoc, mask = _find(ws, scenario_id, territory_id, rep_id, role)
    last = parse_day(end_date, s.END_DATE) or date.today()
    first = stored_day(assoc.loc[mask, s.START_DATE].iloc[0])
    if first is not None and last < first:
        raise _error(
            f"end date {last} is before the assignment's start {first}",
            "end it on or after its start, or remove the assignment instead",
            column=s.END_DATE,
        )
    assoc.loc[mask, s.END_DATE] = last.isoformat()
    _write(ws, scenario_id, assoc)
    detail = {s.REP_ID: rep_id, s.TERRITORY_ID: territory_id, s.ROLE: role, s.END_DATE: str(last)}
    ws.log("staff end", detail, user=user, scenario_id=scenario_id)
    return EditOutcome(f"Ended {rep_id} as {role} of {territory_id} on {last}.")


def remove_assignment(
    ws: Workspace,
    scenario_id: str,
    *,
    territory_id: str,
    rep_id: str,
    role: str,
    user: str | None = None,
) -> EditOutcome:
    """Delete a user's assignment on a territory (as if it never was; to keep history, end it).

    Raises
    ------
    InputError
        No such assignment.
    """
    assoc, mask = _find(ws, scenario_id, territory_id, rep_id, role)
    _write(ws, scenario_id, assoc[~mask])
    detail = {s.REP_ID: rep_id, s.TERRITORY_ID: territory_id, s.ROLE: role}
    ws.log("staff remove", detail, user=user, scenario_id=scenario_id)
    return EditOutcome(f"Removed {rep_id} as {role} of {territory_id}.")


def _period(first: date | None, last: date | None) -> str:
    return f"{_text(first) or 'open start'} to {_text(last) or 'open end'}"


# ------------------------------------------------------------------ views
def territory_staff(
    ws: Workspace, scenario_id: str, territory_id: str, *, as_of: date | None = None
) -> pd.DataFrame:
    """The people of one territory: user, name, role, dates and whether current on ``as_of``."""
    day = as_of or date.today()
    assoc = _associations(ws, scenario_id)
    rows = assoc[assoc[s.TERRITORY_ID].astype(str) == str(territory_id)].copy()
    reps = ws.reps
    names = dict(zip(reps[s.REP_ID].astype(str), reps[s.NAME], strict=True))
    rows[s.NAME] = rows[s.REP_ID].astype(str).map(names)
    rows["current"] = active_mask(rows, day).to_numpy()  # the rule access uses
    order = [s.REP_ID, s.NAME, s.ROLE, s.START_DATE, s.END_DATE, "current"]
    rank = {r: i for i, r in enumerate(_ROLES)}
    rows = rows.sort_values(
        [s.ROLE, s.REP_ID], key=lambda c: c.map(rank) if c.name == s.ROLE else c
    )
    return rows[order].reset_index(drop=True)


def _account_workload_h(ws: Workspace) -> pd.Series | None:
    """Monthly visit hours per account, when the accounts say how often and how long."""
    acc = ws.accounts
    if s.VISITS_PER_MONTH not in acc.columns or s.VISIT_MINUTES not in acc.columns:
        return None
    hours = acc[s.VISITS_PER_MONTH].astype(float) * acc[s.VISIT_MINUTES].astype(float) / 60.0
    return pd.Series(hours.fillna(0.0).to_numpy(), index=acc[s.ACCOUNT_ID].astype(str))


def user_load(ws: Workspace, scenario_id: str, *, as_of: date | None = None) -> pd.DataFrame:
    """Each user's current territories, roles and load on ``as_of`` (today by default).

    Returns
    -------
    pandas.DataFrame
        One row per user of the workspace: ``rep_id``, ``name``, ``territories``
        (count), ``territory_ids`` (comma-separated), ``roles`` (e.g. ``owner 2,
        overlay 1``), ``accounts`` (distinct accounts in the territories the user
        owns or overlays) and, when the accounts carry visit frequency and
        duration, ``workload_h_per_month``; ``capacity_h_per_week`` when the
        users have it.
    """
    day = as_of or date.today()
    assoc = _associations(ws, scenario_id)
    current = assoc[active_mask(assoc, day).to_numpy()]
    mem = ws.rows("memberships", scenario_id)
    members: dict[str, set[str]] = {}
    for a, t in zip(mem[s.ACCOUNT_ID].astype(str), mem[s.TERRITORY_ID].astype(str), strict=True):
        members.setdefault(t, set()).add(a)
    hours = _account_workload_h(ws)
    reps = ws.reps
    by_rep = dict(list(current.groupby(current[s.REP_ID].astype(str))))
    rows = []
    for rep_id in reps[s.REP_ID].astype(str) if len(reps) else []:
        mine = by_rep.get(rep_id, current.iloc[:0])
        counts = mine[s.ROLE].astype(str).value_counts()
        working = mine[mine[s.ROLE].astype(str).isin(["owner", "overlay"])]
        accounts = set().union(
            *(members.get(t, set()) for t in working[s.TERRITORY_ID].astype(str))
        )
        row: dict[str, Any] = {
            s.REP_ID: rep_id,
            "territories": int(mine[s.TERRITORY_ID].nunique()),
            "territory_ids": ", ".join(sorted(set(mine[s.TERRITORY_ID].astype(str)))),
            "roles": ", ".join(f"{r} {int(counts[r])}" for r in _ROLES if r in counts),
            "accounts": len(accounts),
        }
        if hours is not None:
            row["workload_h_per_month"] = round(float(hours.reindex(sorted(accounts)).sum()), 1)
        rows.append(row)
    columns = [s.REP_ID, "territories", "territory_ids", "roles", "accounts"]
    frame = pd.DataFrame(
        rows, columns=columns + (["workload_h_per_month"] if hours is not None else [])
    )
    extra = [c for c in (s.NAME, s.CAPACITY_H_PER_WEEK) if c in reps.columns]
    info = pd.DataFrame(reps[[s.REP_ID, *extra]]).assign(**{s.REP_ID: reps[s.REP_ID].astype(str)})
    return info.merge(frame, on=s.REP_ID, how="left").reset_index(drop=True)


def vacancies(ws: Workspace, scenario_id: str, *, as_of: date | None = None) -> pd.DataFrame:
    """Leaf territories without a current owner on ``as_of`` (today by default).

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``name``, ``parent_id``, ``accounts`` (members) and
        ``last_owner`` / ``vacant_since`` (the day after the latest ended owner,
        if any; a future owner shows as ``next_owner`` / ``starts``).
    """
    day = as_of or date.today()
    terr = ws.territories(scenario_id)
    parents = set(terr[s.PARENT_ID].dropna().astype(str))
    leaves = terr[~terr[s.TERRITORY_ID].astype(str).isin(parents)]
    owners = _associations(ws, scenario_id)
    owners = owners[owners[s.ROLE].astype(str) == "owner"]
    mem = ws.rows("memberships", scenario_id)
    sizes = mem.groupby(mem[s.TERRITORY_ID].astype(str))[s.ACCOUNT_ID].nunique()
    by_tid: dict[str, list[tuple[str, date | None, date | None]]] = {}
    cols = owners[[s.REP_ID, s.TERRITORY_ID, s.START_DATE, s.END_DATE]]
    for r, tid, a, b in cols.itertuples(index=False):
        by_tid.setdefault(str(tid), []).append((str(r), stored_day(a), stored_day(b)))
    owned_now = set(owners.loc[active_mask(owners, day).to_numpy(), s.TERRITORY_ID].astype(str))
    rows = []
    for _, t in leaves.iterrows():
        tid = str(t[s.TERRITORY_ID])
        periods = by_tid.get(tid, [])
        if tid in owned_now:
            continue
        past = max(((b, r) for r, _, b in periods if b is not None and b < day), default=None)
        nxt = min(((a, r) for r, a, _ in periods if a is not None and a > day), default=None)
        since = None if past is None else (past[0] + timedelta(days=1)).isoformat()
        values = (tid, t[s.NAME], t[s.PARENT_ID], int(sizes.get(tid, 0)))
        rows.append((*values, past and past[1], since, nxt and nxt[1], nxt and str(nxt[0])))
    return pd.DataFrame(rows, columns=list(_VACANCY_COLUMNS))
