"""Importing users (reps): merging them in, and what an import may not do to sign-ins.

Password hashes are never imported from a file, not even by an admin: a hash
copied from elsewhere is a credential nobody here chose. The column is left
out (with a note) and passwords are set with :func:`planner.auth.set_password`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.geo.io import ValidationReport
from planner.schema import text_or_none
from planner.services.importing_common import (
    NOT_USED,
    ImportOptions,
    ImportResult,
    active_scenario,
    drop_rows,
    plural,
)
from planner.workspace import Workspace

__all__ = ["PASSWORD_GUIDANCE", "import_reps", "without_password_hashes"]

_PRIVILEGED_ROLES = ("planner", "admin")
_ASK = "ask an admin to import users"
#: How passwords are set instead of being imported.
PASSWORD_GUIDANCE = (
    f"map the password column to '{NOT_USED}' (planner import: --map 'COLUMN=') or remove it; "
    "password hashes are never imported from files: users get their passwords from an admin "
    "(planner.auth.set_password)"
)


def import_reps(
    ws: Workspace,
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> ImportResult:
    """Add, update or replace the users of ``ws`` (a trial copy) with those of ``frame``.

    Raises
    ------
    InputError
        Listing everything the import may not do to sign-ins (see
        :func:`_user_problems`); nothing is imported then.
    """
    old = ws.reps
    if options.into == "new":
        merged, mode = without_password_hashes(frame), "create"
    else:
        merged = _merge_reps(old, without_password_hashes(frame), replace=options.replace_reps)
        mode = "replace" if options.replace_reps else "add"
        if _has_password(ws.reps):
            _refuse_problems(old, frame, merged, report, options, user, may_manage_users)
    ws.set_table("reps", merged)
    counts = _counts(old, frame, merged)
    ws.log(
        "import.reps",
        {"file": report.path, "rows": len(frame), "mode": mode, **counts},
        user=user,
    )
    message = (
        f"Imported {plural(len(frame), 'user')}: {counts['added']:,} added, "
        f"{counts['updated']:,} updated"
    )
    message += f", {counts['removed']:,} removed." if counts["removed"] else "."
    notes = _password_notes(frame, old, merged)
    if options.into == "open" and counts["removed"]:
        notes += _drop_associations(ws, old, merged)
    return ImportResult(ws, (message,), tuple(notes), active_scenario(ws))


def without_password_hashes(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` without its password-hash column (hashes never come from files)."""
    return frame.drop(columns=[s.PASSWORD_HASH], errors="ignore")


def _hash_rows(frame: pd.DataFrame) -> list[str]:
    """Ids of the rows of a users file that carry a password hash."""
    if s.PASSWORD_HASH not in frame.columns:
        return []
    ids = frame[s.REP_ID].astype(str)
    pairs = zip(ids, frame[s.PASSWORD_HASH], strict=True)
    return list(dict.fromkeys(rid for rid, v in pairs if _present(v)))


def _counts(old: pd.DataFrame, frame: pd.DataFrame, merged: pd.DataFrame) -> dict[str, int]:
    known = set(old[s.REP_ID].astype(str))
    ids = set(frame[s.REP_ID].astype(str))
    return {
        "added": len(ids - known),
        "updated": len(ids & known),
        "removed": len(known - set(merged[s.REP_ID].astype(str))),
    }


def _password_notes(frame: pd.DataFrame, old: pd.DataFrame, merged: pd.DataFrame) -> list[str]:
    notes = []
    carried = _hash_rows(frame)
    if carried:
        notes.append(
            f"Left out the password hashes of {plural(len(carried), 'user')} "
            f"({format_ids(carried)}): {PASSWORD_GUIDANCE}."
        )
    if not _has_password(old) and _has_password(merged):
        notes.append(
            "Some users now have passwords: from now on everyone signs in to this "
            "workspace, you too."
        )
    return notes


def _drop_associations(ws: Workspace, old: pd.DataFrame, merged: pd.DataFrame) -> list[str]:
    gone = set(old[s.REP_ID].astype(str)) - set(merged[s.REP_ID].astype(str))
    dropped = drop_rows(ws, "associations", s.REP_ID, keep=lambda v: v not in gone)
    if dropped:
        return [f"Dropped {plural(dropped, 'territory association')} of removed users."]
    return []


def _merge_reps(old: pd.DataFrame, new: pd.DataFrame, *, replace: bool) -> gpd.GeoDataFrame:
    """Users after the import: the file's values win, its blank cells keep the current ones."""
    old_i = pd.DataFrame(old).set_index(s.REP_ID)
    new_i = pd.DataFrame(new).set_index(s.REP_ID)
    old_i.index = old_i.index.astype(str)
    new_i.index = new_i.index.astype(str)
    columns = list(dict.fromkeys([*new_i.columns, *old_i.columns]))
    kept = [i for i in old_i.index if i not in new_i.index]
    if replace:
        kept = []
    order = [*[i for i in old_i.index if i in new_i.index or i in kept],
             *[i for i in new_i.index if i not in old_i.index]]  # fmt: skip
    merged = pd.DataFrame(index=pd.Index(order, name=s.REP_ID), columns=columns, dtype=object)
    for rid in order:
        fresh = new_i.loc[rid] if rid in new_i.index else None
        stale = old_i.loc[rid] if rid in old_i.index else None
        for col in columns:
            value = None
            if fresh is not None and col in fresh.index and _present(fresh[col]):
                value = fresh[col]
            elif stale is not None and col in stale.index and _present(stale[col]):
                value = stale[col]
            merged.at[rid, col] = value
    merged = merged.reset_index()
    geom = gpd.GeoSeries(merged.pop(s.GEOMETRY), crs=s.STORAGE_CRS)
    return gpd.GeoDataFrame(merged, geometry=geom, crs=s.STORAGE_CRS)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if hasattr(value, "is_empty"):  # a shapely geometry
        return not bool(value.is_empty)
    return text_or_none(value) is not None


def _has_password(reps: pd.DataFrame) -> bool:
    if s.PASSWORD_HASH not in reps.columns:
        return False
    return any(text_or_none(v) is not None for v in reps[s.PASSWORD_HASH])


def _refuse_problems(
    old: pd.DataFrame,
    new: pd.DataFrame,
    merged: pd.DataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> None:
    problems = _user_problems(
        old,
        new,
        merged,
        replace=options.replace_reps,
        user=user,
        may_manage_users=may_manage_users,
    )
    if problems:
        raise InputError(
            f"{plural(len(problems), 'problem')} with the users in {report.path}: "
            "nothing was imported",
            problems,
            source=report.path,
        )


def _user_problems(
    old: pd.DataFrame,
    new: pd.DataFrame,
    merged: pd.DataFrame,
    *,
    replace: bool,
    user: str | None,
    may_manage_users: bool,
) -> list[Problem]:
    """What a reps import into a workspace with sign-in may not do.

    Without the right to manage users (admins), an import may add reps and
    managers and update their names, capacities, managers and homes, but may
    not set passwords, give anyone the planner or admin role, change a user's
    role or e-mail (their sign-in), or replace every user. Nobody may remove
    their own user or the last password.
    """
    old_by_id = {str(r[s.REP_ID]): r for r in old.to_dict("records")}
    problems = [] if may_manage_users else _unmanaged_problems(old_by_id, new, replace=replace)
    remaining = set(merged[s.REP_ID].astype(str))
    if user is not None and user in old_by_id and user not in remaining:
        problems.append(
            Problem(
                f"the import would remove your own user ({user})",
                fix="add your user to the file, or choose 'add or update'",
            )
        )
    if _has_password(old) and not _has_password(merged):
        problems.append(
            Problem(
                "after the import no user would have a password, so the workspace would open "
                "for everyone without signing in",
                fix="keep the users with passwords, or choose 'add or update'",
            )
        )
    return problems


def _unmanaged_problems(
    old_by_id: dict[str, Any], new: pd.DataFrame, *, replace: bool
) -> list[Problem]:
    """What an importer without the right to manage users may not do."""
    problems: list[Problem] = []
    if replace:
        problems.append(
            Problem(
                "replacing every user needs the right to manage users",
                fix=f"choose 'add or update' instead, or {_ASK}",
            )
        )
    pw = _hash_rows(new)
    if pw:
        problems.append(
            Problem(
                f"{plural(len(pw), 'row')} set a password ({format_ids(pw)}); setting "
                "passwords needs the right to manage users",
                column=s.PASSWORD_HASH,
                fix=PASSWORD_GUIDANCE,
            )
        )
    return problems + _sign_in_problems(old_by_id, new)


def _sign_in_problems(old_by_id: dict[str, Any], new: pd.DataFrame) -> list[Problem]:
    """Rows that give a high role, change a role or change an e-mail (a sign-in)."""
    high, changed_role, changed_mail = [], [], []
    for rid in dict.fromkeys(new[s.REP_ID].astype(str)):
        role = text_or_none(_get(new, rid, s.ROLE))
        old_row = old_by_id.get(rid)
        old_role = None if old_row is None else text_or_none(old_row[s.ROLE])
        if role in _PRIVILEGED_ROLES and (old_row is None or old_role != role):
            high.append(rid)
        elif old_row is not None and role is not None and old_role != role:
            changed_role.append(rid)
        mail = text_or_none(_get(new, rid, s.EMAIL))
        old_mail = None if old_row is None else text_or_none(old_row.get(s.EMAIL))
        if mail is not None and (old_mail or "").casefold() != mail.casefold():
            changed_mail.append(rid)
    checks = [
        (high, "give the planner or admin role", s.ROLE, "use the roles rep or manager"),
        (changed_role, "change the role of an existing user", s.ROLE,
         "keep their current roles (or leave the cells blank)"),
        (changed_mail, "set or change an e-mail, which users sign in with", s.EMAIL,
         f"map the e-mail column to '{NOT_USED}'"),
    ]  # fmt: skip
    return [
        Problem(
            f"{plural(len(ids), 'row')} {what} ({format_ids(ids)}); that needs the right to "
            "manage users",
            column=column,
            fix=f"{fix}, or {_ASK}",
        )
        for ids, what, column, fix in checks
        if ids
    ]


def _get(frame: pd.DataFrame, rep_id: str, column: str) -> Any:
    if column not in frame.columns:
        return None
    hits = frame.loc[frame[s.REP_ID].astype(str) == rep_id, column]
    return None if hits.empty else hits.iloc[0]
