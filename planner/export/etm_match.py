"""Match the users and accounts of a Salesforce ETM export to a workspace's users and accounts.

Users are matched by their username or email (``User.csv``) against a users
column of the workspace (``email`` by default), or by their Id, username or
federation id against ``rep_id``. Accounts are matched by their Salesforce
Id (15 or 18 characters) against an accounts column (``account_id`` by default).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from planner import schema as s
from planner.errors import Problem, format_ids
from planner.export.etm_files import EtmFiles, id_key

__all__ = ["match_accounts", "match_users"]


def _rows(mask: pd.Series) -> tuple[int, ...]:
    return tuple(int(i) + 2 for i in mask.index[mask.to_numpy()][:50])


def _text(value: object) -> str:
    return "" if s.is_missing(value) else str(value).strip()


def _user_records(files: EtmFiles) -> dict[str, dict[str, str]]:
    """User Id key -> its User.csv row (empty when the export has no User.csv)."""
    table = files.get("User")
    if table is None:
        return {}
    return {
        id_key(str(r["Id"])): {str(k): str(v) for k, v in r.items()}
        for r in table.to_dict("records")
    }


def _rep_lookup(reps: pd.DataFrame, user_column: str) -> dict[str, tuple[str, str]]:
    """Lower-case name a user may be known by -> (rep_id, the rep's username value)."""
    lookup: dict[str, tuple[str, str]] = {}
    values = reps[user_column] if user_column in reps.columns else pd.Series("", index=reps.index)
    for rid, value in zip(reps[s.REP_ID], values, strict=True):
        rid_text, name = _text(rid), _text(value)
        if name:
            lookup.setdefault(name.lower(), (rid_text, name))
        lookup.setdefault(rid_text.lower(), (rid_text, name))
    return lookup


def match_users(
    files: EtmFiles,
    users: pd.DataFrame,
    reps: pd.DataFrame,
    user_column: str,
    problems: list[Problem],
) -> dict[str, tuple[str, str]]:
    """User Id key -> (rep_id, username as the workspace writes it) of every user named.

    Users of ``users`` (the association rows) that no User.csv row or
    workspace user matches are reported; forecast users are matched when possible.
    """
    records = _user_records(files)
    lookup = _rep_lookup(reps, user_column)
    named: Iterable[str] = list(users["UserId"]) + list(
        files.frames["Territory2"].get("ForecastUserId", pd.Series(dtype=str))
    )
    out: dict[str, tuple[str, str]] = {}
    for user_id in {id_key(u) for u in named if u}:
        record = records.get(user_id, {})
        candidates = [record.get(k, "") for k in ("Username", "Email", "FederationIdentifier")]
        for name in [*candidates, user_id, record.get("Id", "")]:
            hit = lookup.get(name.strip().lower()) if name.strip() else None
            if hit is not None:
                out[user_id] = (hit[0], hit[1] or record.get("Username", "") or hit[0])
                break
    keys = users["UserId"].map(id_key)
    if records:
        unknown = ~keys.isin(set(records))
        if unknown.any():
            problems.append(
                Problem(
                    "UserTerritory2Association.csv names users not in User.csv: "
                    f"{format_ids(sorted(set(users.loc[unknown, 'UserId'])))}",
                    rows=_rows(unknown),
                    column="UserId",
                    fix="export User with the associations (Id, Username, Email)",
                )
            )
    else:
        unknown = pd.Series(False, index=users.index)
    lacking = ~keys.isin(set(out)) & ~unknown
    if lacking.any():
        who = sorted({records.get(k, {}).get("Username") or k for k in keys[lacking]})
        problems.append(
            Problem(
                f"users {format_ids(who)} are not users of the workspace",
                rows=_rows(lacking),
                column="UserId",
                fix=f"import them first (their '{user_column}' must be the Salesforce username "
                "or email), or add User.csv to the export",
            )
        )
    return out


def match_accounts(
    objects: pd.DataFrame,
    accounts: pd.DataFrame,
    column: str,
    problems: list[Problem],
    notes: list[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Account rows of ``objects`` with ``_account`` (our id) and ``_object`` (the Salesforce
    Id as the workspace writes it); and that Salesforce Id -> our account id.
    """
    if "SobjectType" in objects.columns:
        other = (objects["SobjectType"] != "") & (objects["SobjectType"].str.lower() != "account")
        if other.any():
            notes.append(
                f"Skipped {int(other.sum())} associations of other objects than accounts "
                f"({format_ids(sorted(set(objects.loc[other, 'SobjectType'])))})."
            )
            objects = objects[~other]
    if column not in accounts.columns:
        problems.append(
            Problem(
                f"the workspace's accounts have no '{column}' column",
                column=column,
                fix="choose the column holding Salesforce Account Ids (--account-id-column)",
            )
        )
        return objects.assign(_account="", _object=""), {}
    by_key: dict[str, tuple[str, str]] = {}
    for aid, value in zip(accounts[s.ACCOUNT_ID], accounts[column], strict=True):
        text = _text(value)
        if text:
            by_key.setdefault(id_key(text), (_text(aid), text))
    keys = objects["ObjectId"].map(id_key)
    unknown = ~keys.isin(set(by_key))
    if unknown.any():
        problems.append(
            Problem(
                "ObjectTerritory2Association.csv names accounts not in the workspace: "
                f"{format_ids(sorted(set(objects.loc[unknown, 'ObjectId'])))}",
                rows=_rows(unknown),
                column="ObjectId",
                fix=f"import these accounts first, with their Salesforce Id in '{column}' "
                "(or choose that column with --account-id-column)",
            )
        )
    hit = keys.map(lambda k: by_key.get(k, ("", "")))
    out = objects.assign(_account=hit.map(lambda h: h[0]), _object=hit.map(lambda h: h[1]))
    return out, {h[1]: h[0] for h in hit if h[0]}
