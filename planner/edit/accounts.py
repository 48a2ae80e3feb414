"""Editing account attributes: one column set to one value for many accounts, or a table of edits.

Only attributes are edited: the id, the location (geometry, address, postal
code, country, geocode precision) and other ids stay, since moving an account
is a re-import or a reassignment, not a cell edit. Values are checked against
the accounts schema (numbers for the numeric columns, not negative; a known
user for ``owner_id``) and every problem is named by row, column and account
at once; nothing changes unless all are right. The change is made in memory
and audited (``ws.commit`` it); a scenario whose rules read an edited column
is re-assigned in the same change, so its memberships stay right.

Access: :func:`require_account_edit_rights` lets planners and admins edit any
account and managers the accounts of territories they may edit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.edit.outcome import EditOutcome, run_assignment, user_error
from planner.edit.rights import require_edit_rights
from planner.errors import AccessDeniedError, InputError, Problem, format_ids
from planner.workspace import Workspace

__all__ = [
    "LOCKED_ACCOUNT_COLUMNS",
    "edit_accounts",
    "editable_account_columns",
    "require_account_edit_rights",
    "set_account_values",
]

logger = logging.getLogger(__name__)

#: Columns a cell edit never changes: the key, the location and what was geocoded from it.
LOCKED_ACCOUNT_COLUMNS = (
    s.ACCOUNT_ID, s.GEOMETRY, s.ADDRESS, s.POSTAL_CODE, s.COUNTRY, s.GEOCODE_PRECISION,
    s.LATITUDE, s.LONGITUDE,
)  # fmt: skip
#: Numeric columns that cannot be negative.
_NOT_NEGATIVE = (s.ANNUAL_REVENUE, s.VISITS_PER_MONTH, s.VISIT_MINUTES)


def editable_account_columns(ws: Workspace) -> tuple[str, ...]:
    """The accounts' columns a user may edit: the schema's attributes and extra text columns."""
    specs = {c.name: c for c in s.TABLES["accounts"].columns}
    out = []
    for name in ws.accounts.columns:
        if name in LOCKED_ACCOUNT_COLUMNS or (name.endswith("_id") and name != s.OWNER_ID):
            continue
        spec = specs.get(name)
        if spec is not None or pd.api.types.is_string_dtype(ws.accounts[name]):
            out.append(str(name))
    return tuple(out)


def _kind(ws: Workspace, column: str) -> str:
    spec = next((c for c in s.TABLES["accounts"].columns if c.name == column), None)
    if spec is not None:
        return spec.kind
    return "float" if pd.api.types.is_numeric_dtype(ws.accounts[column]) else "str"


def _parse(value: object, kind: str, column: str, users: set[str]) -> tuple[object, str | None]:
    """The stored value of ``value`` for ``column``, or ``(None, why)`` when it cannot be."""
    if value is None or s.is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None, None
    if kind == "float":
        try:
            number = float(str(value).strip().replace(",", ""))
        except (TypeError, ValueError):
            return None, f"'{value}' is not a number"
        if not math.isfinite(number) or (column in _NOT_NEGATIVE and number < 0):
            return None, f"{value} is not a number of 0 or more"
        return number, None
    text = str(value).strip()
    if column == s.OWNER_ID and text not in users:
        return None, f"there is no user '{text}'"
    return text, None


def _check_columns(ws: Workspace, columns: Iterable[str]) -> None:
    allowed = editable_account_columns(ws)
    bad = [c for c in columns if c not in allowed]
    if bad:
        raise user_error(
            f"column {format_ids(bad)} cannot be edited here",
            f"edit one of {', '.join(allowed)} (locations change by re-importing the accounts)",
            column=bad[0],
        )


def _check_ids(ws: Workspace, account_ids: Sequence[str]) -> None:
    known = set(ws.accounts[s.ACCOUNT_ID].astype(str))
    unknown = [a for a in dict.fromkeys(account_ids) if a not in known]
    if unknown:
        raise user_error(f"there is no account {format_ids(unknown)}",
                         "pick accounts listed on the Data page", column=s.ACCOUNT_ID)  # fmt: skip
    if not account_ids:
        raise user_error("no account chosen", "pick at least one account", column=s.ACCOUNT_ID)


def _parsed_table(ws: Workspace, edits: pd.DataFrame) -> pd.DataFrame:
    """``edits`` with every value parsed, or an InputError naming every bad cell."""
    users = set(ws.reps[s.REP_ID].astype(str)) if len(ws.reps) else set()
    out = edits.copy().astype(object)
    problems = []
    for column in [c for c in edits.columns if c != s.ACCOUNT_ID]:
        kind = _kind(ws, column)
        values = []
        for pos, (aid, value) in enumerate(zip(edits[s.ACCOUNT_ID], edits[column], strict=True)):
            parsed, why = _parse(value, kind, column, users)
            values.append(parsed)
            if why is not None:
                fix = "give a number such as 1200.50" if kind == "float" else "pick a user id"
                problems.append(Problem(f"account {aid}: {why}", rows=(pos + 1,), column=column,
                                        fix=fix))  # fmt: skip
        out[column] = pd.Series(values, index=out.index, dtype=object)
    if problems:
        raise InputError(f"{len(problems)} edited value(s) cannot be saved", problems,
                         source="account edits")  # fmt: skip
    return out


def _rules_read(ws: Workspace, columns: Iterable[str]) -> list[str]:
    """Scenarios whose territory rules mention one of ``columns``."""
    terr = ws.tables["territories"]
    if s.RULE not in terr.columns:
        return []
    rules = terr[terr[s.RULE].notna()]
    mask = pd.Series([any(c in str(r) for c in columns) for r in rules[s.RULE]],
                     index=rules.index, dtype=bool)  # fmt: skip
    hit = rules[mask]
    return sorted(set(hit[s.SCENARIO_ID].astype(str)))


def edit_accounts(ws: Workspace, edits: pd.DataFrame, *, user: str | None = None) -> EditOutcome:
    """Save a table of edits: ``account_id`` and the edited columns, one row per account.

    Parameters
    ----------
    ws
        The workspace; changed in memory.
    edits
        The new values (missing or empty: clear the value).
    user
        Who edits (recorded in the audit).

    Raises
    ------
    InputError
        Unknown accounts or columns, an account twice, or values that do not
        fit their column (every one named by row, column and account).
    """
    if s.ACCOUNT_ID not in edits.columns:
        raise user_error("the edits have no account_id column", "name the accounts edited",
                         column=s.ACCOUNT_ID)  # fmt: skip
    ids = edits[s.ACCOUNT_ID].astype(str).tolist()
    _check_ids(ws, ids)
    twice = sorted({a for a in ids if ids.count(a) > 1})
    if twice:
        raise user_error(f"account {format_ids(twice)} is edited twice",
                         "give one row per account", column=s.ACCOUNT_ID)  # fmt: skip
    columns = [str(c) for c in edits.columns if c != s.ACCOUNT_ID]
    _check_columns(ws, columns)
    parsed = _parsed_table(ws, edits.assign(**{s.ACCOUNT_ID: ids}))
    changed = _apply(ws, parsed, columns)
    for sid in _rules_read(ws, columns):
        run_assignment(ws, sid, user=user)
    detail = {"accounts": len(ids), "columns": columns, "changed_cells": changed}
    ws.log("accounts edit", detail, user=user)
    n = len(ids)
    return EditOutcome(
        f"Saved {changed:,} changed value{'' if changed == 1 else 's'} in {', '.join(columns)} "
        f"of {n:,} account{'' if n == 1 else 's'}."
    )


def _same(a: object, b: object) -> bool:
    if s.is_missing(a) and s.is_missing(b):
        return True
    if s.is_missing(a) or s.is_missing(b):
        return False
    return bool(a == b)


def _apply(ws: Workspace, parsed: pd.DataFrame, columns: Sequence[str]) -> int:
    """Write the parsed values into the accounts table; return how many cells changed."""
    acc = ws.accounts.copy()
    where = pd.Series(range(len(acc)), index=acc[s.ACCOUNT_ID].astype(str))
    rows = where.loc[parsed[s.ACCOUNT_ID]].to_numpy()
    changed = 0
    for column in columns:
        new = parsed[column].tolist()
        old = acc[column].iloc[rows].tolist()
        changed += sum(not _same(a, b) for a, b in zip(old, new, strict=True))
        if _kind(ws, column) == "float":
            values: Any = pd.Series(new, dtype=object).astype(float).to_numpy()
        else:
            acc[column] = acc[column].astype(object)
            values = pd.Series(new, dtype=object).to_numpy()
        acc.iloc[rows, acc.columns.get_loc(column)] = values
    if changed:
        ws.set_table("accounts", acc)
    return changed


def set_account_values(
    ws: Workspace,
    *,
    account_ids: Sequence[str],
    column: str,
    value: object,
    user: str | None = None,
) -> EditOutcome:
    """Set ``column`` to ``value`` for every account of ``account_ids`` (see :func:`edit_accounts`).

    Raises
    ------
    InputError
        Unknown accounts, a column that cannot be edited, or a value that does
        not fit the column.
    """
    ids = [str(a) for a in dict.fromkeys(account_ids)]
    edits = pd.DataFrame({s.ACCOUNT_ID: ids, column: [value] * len(ids)})
    return edit_accounts(ws, edits, user=user)


def require_account_edit_rights(
    scope: AccessScope | None,
    memberships: pd.DataFrame,
    account_ids: Iterable[str],
    *,
    owners: Iterable[object] = (),
) -> None:
    """Raise unless the user may edit every account named.

    Planners and admins may edit any account; managers those that belong to
    a territory they may edit (``memberships`` of the scenario they work in),
    and hand them (``owners``, the new ``owner_id`` values) only to users
    they may see: an owner sees the account, so a manager cannot show it to
    someone outside their team.

    Raises
    ------
    planner.access.AccessDeniedError
        Naming the accounts outside the user's rights.
    """
    require_edit_rights(scope)
    assert scope is not None  # require_edit_rights refuses nobody signed in
    if scope.editable_territory_ids is None:
        return
    pairs = zip(memberships[s.ACCOUNT_ID].astype(str), memberships[s.TERRITORY_ID].astype(str),
                strict=True)  # fmt: skip
    editable = {aid for aid, tid in pairs if scope.can_edit_territory(tid)}
    denied = [a for a in dict.fromkeys(str(a) for a in account_ids) if a not in editable]
    unseen = [a for a in denied if not scope.can_view_account(a)]
    seen = [a for a in denied if scope.can_view_account(a)]
    if unseen:  # never name what the user may not see
        n = len(unseen)
        raise AccessDeniedError(
            f"Access denied: {n} account{' does' if n == 1 else 's do'} not exist or "
            f"{'is' if n == 1 else 'are'} outside what you may see"
        )
    if seen:
        raise AccessDeniedError(
            f"Access denied: account {format_ids(seen)} is outside the territories you may "
            "edit; ask a planner"
        )
    named = {str(o).strip() for o in owners if isinstance(o, str) and o.strip()}
    strangers = sorted(o for o in named if not scope.can_view_rep(o))
    if strangers:
        raise AccessDeniedError(
            f"Access denied: {len(strangers)} new owner{'s are' if len(strangers) > 1 else ' is'} "
            "not a user you may see; give accounts to your team, or ask a planner"
        )
