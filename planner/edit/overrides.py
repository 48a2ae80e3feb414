"""Manual overrides as an edit: include or exclude accounts in a territory with a reason.

An *include* puts an account in a territory whatever its shape and rule say
(and makes it the account's primary territory of that type); an *exclude*
keeps it out of the territory and everything below it, unless an include
puts it in one of those (:mod:`planner.assign`).
Each override keeps who set it, when and why. Every function checks the whole
request before anything changes (unknown accounts named by their row in the
request, the user's rights), writes one audit entry and re-assigns the
scenario; the caller commits (one recorded change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pandas as pd

from planner import schema as s
from planner.access import AccessDeniedError, AccessScope
from planner.edit.outcome import EditOutcome, all_or_nothing, finish, user_error
from planner.edit.rights import require_edit_rights
from planner.edit.rows import row_of, territory_label
from planner.errors import InputError, Problem, format_ids
from planner.models import now_iso
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "OverrideAction",
    "add_overrides",
    "exclude_accounts",
    "include_accounts",
    "override_choices",
    "override_table",
    "remove_overrides",
]

OverrideAction = Literal["include", "exclude"]

#: Columns of :func:`override_table`.
TABLE_COLUMNS = [
    s.ACCOUNT_ID,
    "account",
    s.TERRITORY_ID,
    "territory",
    s.ACTION,
    s.REASON,
    s.SET_BY,
    s.SET_AT,
]


def _texts(account_ids: Sequence[object]) -> list[str]:
    """The ids as text, in the order given (blank for a missing one)."""
    return ["" if s.is_missing(a) else str(a).strip() for a in account_ids]


def _check_accounts(
    ws: Workspace, ids: list[str], scope: AccessScope | None, *, known: bool = True
) -> None:
    """Refuse empty ids, and ids that do not exist or ``scope`` may not see, naming their rows.

    With ``known=False`` only empty ids are refused.
    """
    if not ids:
        raise user_error("no accounts given", "pick one or more accounts", column=s.ACCOUNT_ID)
    problems = []
    blank = tuple(i + 1 for i, a in enumerate(ids) if not a)
    if blank:
        problems.append(
            Problem("empty account id", rows=blank, column=s.ACCOUNT_ID, fix="give every row an id")
        )
    if known:
        problems.extend(_unknown(ws, ids, scope))
    if problems:
        raise InputError("some accounts cannot be used", problems)


def _unknown(ws: Workspace, ids: list[str], scope: AccessScope | None) -> list[Problem]:
    """Ids that do not exist (a problem), or that ``scope`` may not see (refused at once)."""
    if scope is not None and scope.account_ids is not None:
        hidden = [(i + 1, a) for i, a in enumerate(ids) if a and a not in scope.account_ids]
        if hidden:  # unknown and invisible read the same: existence is not revealed
            raise AccessDeniedError(
                f"accounts {format_ids([a for _, a in hidden])} (rows "
                f"{format_ids([r for r, _ in hidden])}) do not exist or are outside what user "
                f"'{scope.user_id}' may see; pick accounts of your territories"
            )
        return []
    present = set(ws.accounts[s.ACCOUNT_ID].astype(str))
    unknown = [(i + 1, a) for i, a in enumerate(ids) if a and a not in present]
    if not unknown:
        return []
    return [
        Problem(
            f"unknown accounts {format_ids([a for _, a in unknown])}",
            rows=tuple(r for r, _ in unknown),
            column=s.ACCOUNT_ID,
            fix="check the ids against the accounts table (planner find helps)",
        )
    ]


def _check_request(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    account_ids: Sequence[object],
    scope: AccessScope | None,
) -> list[str]:
    """The territory exists and may be edited, the accounts exist and may be seen."""
    row_of(ws.territories(scenario_id), territory_id)
    ids = _texts(account_ids)
    if scope is not None:
        require_edit_rights(scope, territory_id)
    _check_accounts(ws, ids, scope)
    return list(dict.fromkeys(ids))


def _type_of(territories: pd.DataFrame) -> dict[str, str]:
    types = territories[s.TYPE_ID].astype(object).where(territories[s.TYPE_ID].notna(), "")
    return dict(zip(territories[s.TERRITORY_ID].astype(str), types.astype(str), strict=True))


def _leaving(ws: Workspace, scenario_id: str, territory_id: str, ids: list[str]) -> list[str]:
    """Territories of the target's type that hold the accounts as primary now (they lose them)."""
    types = _type_of(ws.territories(scenario_id))
    members = ws.memberships(scenario_id)
    if members.empty:
        return []
    pick = (
        members[s.ACCOUNT_ID].astype(str).isin(ids)
        & members[s.IS_PRIMARY].astype(bool)
        & (members[s.TERRITORY_ID].astype(str) != territory_id)
    )
    held = set(members.loc[pick.to_numpy(), s.TERRITORY_ID].astype(str))
    return sorted(t for t in held if types.get(t) == types.get(territory_id))


def _members_of(ws: Workspace, scenario_id: str, territory_id: str) -> set[str]:
    members = ws.memberships(scenario_id)
    return set(
        members.loc[members[s.TERRITORY_ID].astype(str) == territory_id, s.ACCOUNT_ID].astype(str)
    )


def add_overrides(
    ws: Workspace,
    scenario_id: str,
    account_ids: Sequence[object],
    territory_id: str,
    action: OverrideAction,
    *,
    reason: str,
    user: str | None = None,
    scope: AccessScope | None = None,
) -> EditOutcome:
    """Include accounts in a territory, or exclude them from it, with a reason; then re-assign.

    An override already set on the same account and territory is replaced.

    Parameters
    ----------
    ws, scenario_id
        The workspace (changed in memory; call ``ws.commit`` to record it)
        and scenario.
    account_ids
        One or many accounts (repeats are taken once).
    territory_id
        The territory (any level: an include of a parent counts for it).
    action
        ``"include"`` or ``"exclude"``.
    reason
        Why (required: kept on every override and shown by ``explain``).
    user
        Who sets them.
    scope
        The user's rights (``None``: no check). The territory must be one
        they may edit, the accounts ones they may see, and for an include
        also the territories of that type the accounts leave.

    Raises
    ------
    InputError
        Naming the rows of empty or unknown account ids, an unknown
        territory or action, or a missing reason; nothing is changed.
    planner.access.AccessDeniedError
        If ``scope`` may not make the change; nothing is changed.
    """
    if action not in s.OVERRIDE_ACTIONS:
        raise user_error(
            f"unknown override action '{action}'", "use include or exclude", column=s.ACTION
        )
    ids = _check_request(ws, scenario_id, territory_id, account_ids, scope)
    if not reason.strip():
        raise user_error(
            "an override needs a reason", "say why, e.g. 'key account of Ann'", column=s.REASON
        )
    if scope is not None and action == "include":
        require_edit_rights(scope, *_leaving(ws, scenario_id, territory_id, ids))
    notes = _notes(ws, scenario_id, territory_id, ids, action)
    stamp = now_iso()
    fresh = pd.DataFrame(
        {
            s.ACCOUNT_ID: ids,
            s.TERRITORY_ID: territory_id,
            s.ACTION: action,
            s.SET_BY: user,
            s.SET_AT: stamp,
            s.REASON: reason.strip(),
        }
    )
    verb = "Included" if action == "include" else "Excluded"
    where = "in" if action == "include" else "from"
    message = f"{verb} {_accounts(ids)} {where} {territory_id} ({reason.strip()})."
    detail = {"territory_id": territory_id, "account_ids": ids, "reason": reason.strip()}
    return _save(ws, scenario_id, fresh, [], f"override.{action}", detail, message, notes, user)


def include_accounts(
    ws: Workspace,
    scenario_id: str,
    account_ids: Sequence[object],
    territory_id: str,
    *,
    reason: str,
    user: str | None = None,
    scope: AccessScope | None = None,
) -> EditOutcome:
    """Include accounts in a territory (see :func:`add_overrides`)."""
    return add_overrides(
        ws, scenario_id, account_ids, territory_id, "include", reason=reason, user=user, scope=scope
    )


def exclude_accounts(
    ws: Workspace,
    scenario_id: str,
    account_ids: Sequence[object],
    territory_id: str,
    *,
    reason: str,
    user: str | None = None,
    scope: AccessScope | None = None,
) -> EditOutcome:
    """Exclude accounts from a territory and everything below it (see :func:`add_overrides`)."""
    return add_overrides(
        ws, scenario_id, account_ids, territory_id, "exclude", reason=reason, user=user, scope=scope
    )


def remove_overrides(
    ws: Workspace,
    scenario_id: str,
    account_ids: Sequence[object],
    territory_id: str,
    *,
    user: str | None = None,
    scope: AccessScope | None = None,
) -> EditOutcome:
    """Remove the overrides of accounts on a territory; their shape and rules decide again.

    With a ``scope``, the territory must be one the user may edit; the
    accounts need not be visible any more (an account excluded from the
    user's territory has left their scope), only have an override there.

    Raises
    ------
    InputError
        Naming the rows of accounts with no override on the territory (or
        empty ids), or an unknown territory; nothing is changed.
    planner.access.AccessDeniedError
        If ``scope`` may not edit the territory or see the accounts.
    """
    row_of(ws.territories(scenario_id), territory_id)
    if scope is not None:
        require_edit_rights(scope, territory_id)
    ids = _texts(account_ids)
    _check_accounts(ws, ids, None, known=False)  # each must have an override: checked below
    ids = list(dict.fromkeys(ids))
    old = ws.rows("overrides", scenario_id)
    on_t = old[s.TERRITORY_ID].astype(str) == territory_id
    have = set(old.loc[on_t.to_numpy(), s.ACCOUNT_ID].astype(str))
    missing = [(i + 1, a) for i, a in enumerate(_texts(account_ids)) if a not in have]
    if missing:
        message = (
            f"accounts {format_ids([a for _, a in missing])} have no override on {territory_id}"
        )
        raise InputError(
            message,
            [
                Problem(
                    message,
                    rows=tuple(r for r, _ in missing),
                    column=s.ACCOUNT_ID,
                    fix=f"pick accounts listed by the overrides of {territory_id}",
                )
            ],
        )
    drop = (on_t & old[s.ACCOUNT_ID].astype(str).isin(ids)).to_numpy()
    message = f"Removed the overrides of {_accounts(ids)} on {territory_id}."
    detail = {"territory_id": territory_id, "account_ids": ids}
    return _save(
        ws, scenario_id, old.iloc[:0], list(drop), "override.remove", detail, message, [], user
    )


def override_table(
    ws: Workspace,
    scenario_id: str,
    *,
    territory_id: str | None = None,
    scope: AccessScope | None = None,
) -> pd.DataFrame:
    """The scenario's overrides, newest first, with account and territory names.

    Parameters
    ----------
    territory_id
        Only the overrides on this territory.
    scope
        Only the overrides a user may see (their territories' and accounts').

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`.
    """
    rows = ws.rows("overrides", scenario_id)
    if scope is not None:
        rows = scope.filter_table("overrides", rows)  # an excluded account is no longer seen
    if territory_id is not None:
        rows = rows[(rows[s.TERRITORY_ID].astype(str) == territory_id).to_numpy()]
    accounts = ws.accounts
    names = dict(zip(accounts[s.ACCOUNT_ID].astype(str), accounts[s.NAME], strict=True))
    labels = territory_label(ws.territories(scenario_id))
    out = pd.DataFrame(
        {
            s.ACCOUNT_ID: rows[s.ACCOUNT_ID].astype(str).to_numpy(),
            "account": [names.get(str(a)) for a in rows[s.ACCOUNT_ID]],
            s.TERRITORY_ID: rows[s.TERRITORY_ID].astype(str).to_numpy(),
            "territory": [labels.get(str(t), str(t)) for t in rows[s.TERRITORY_ID]],
            s.ACTION: rows[s.ACTION].to_numpy(),
            s.REASON: rows[s.REASON].to_numpy(),
            s.SET_BY: rows[s.SET_BY].to_numpy(),
            s.SET_AT: rows[s.SET_AT].astype(str).to_numpy(),
        },
        columns=TABLE_COLUMNS,
    )
    out = out.astype(object).where(out.notna(), None)
    return out.sort_values(
        [s.SET_AT, s.ACCOUNT_ID], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def override_choices(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    action: OverrideAction,
    *,
    text: str = "",
    limit: int | None = None,
) -> pd.DataFrame:
    """The accounts an include in (or exclude from) a territory would change, for a picker.

    For an exclude, the accounts in the territory or below it now; for an
    include, every other account. ``text`` keeps those whose id, name or
    address contains it (case ignored).

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``account`` (the name) and ``now`` (the territories
        holding it as primary, joined), sorted by id, at most ``limit`` rows.
    """
    territories = ws.territories(scenario_id)
    row_of(territories, territory_id)
    subtree = {territory_id, *TerritoryTree.of(territories).descendants(territory_id)}
    members = ws.memberships(scenario_id)
    held = set(
        members.loc[members[s.TERRITORY_ID].astype(str).isin(subtree), s.ACCOUNT_ID].astype(str)
    )
    primary = members[members[s.IS_PRIMARY].astype(bool)]
    now = primary.groupby(primary[s.ACCOUNT_ID].astype(str))[s.TERRITORY_ID].agg(
        lambda t: ", ".join(sorted(map(str, t)))
    )
    accounts = ws.accounts
    ids = accounts[s.ACCOUNT_ID].astype(str)
    keep = ids.isin(held) if action == "exclude" else ~ids.isin(held)
    needle = text.strip().casefold()
    if needle:
        found = ids.str.casefold().str.contains(needle, regex=False)
        for column in (s.NAME, s.ADDRESS):
            if column in accounts.columns:
                words = accounts[column].astype(str).str.casefold()
                found |= words.str.contains(needle, regex=False) & accounts[column].notna()
        keep &= found
    chosen = accounts[keep.to_numpy()]
    out = pd.DataFrame(
        {
            s.ACCOUNT_ID: chosen[s.ACCOUNT_ID].astype(str).to_numpy(),
            "account": chosen[s.NAME].to_numpy(),
            "now": chosen[s.ACCOUNT_ID].astype(str).map(now).to_numpy(),
        }
    ).sort_values(s.ACCOUNT_ID, kind="stable")
    out = out.astype(object).where(out.notna(), None).reset_index(drop=True)
    return out if limit is None else out.head(limit)


def _accounts(ids: list[str]) -> str:
    return f"account {ids[0]}" if len(ids) == 1 else f"{len(ids):,} accounts"


def _notes(
    ws: Workspace, scenario_id: str, territory_id: str, ids: list[str], action: OverrideAction
) -> list[str]:
    """What the override changes little: accounts already in, or never in, the territory."""
    members = _members_of(ws, scenario_id, territory_id)
    if action == "include":
        already = [a for a in ids if a in members]
        if already:
            return [f"{_accounts(already)} already in {territory_id}: the include keeps them there"]
        return []
    absent = [a for a in ids if a not in members]
    if absent:
        return [f"{_accounts(absent)} not in {territory_id} now: the exclude keeps them out"]
    return []


def _save(
    ws: Workspace,
    scenario_id: str,
    fresh: pd.DataFrame,
    drop: list[bool],
    action: str,
    detail: Mapping[str, object],
    message: str,
    notes: list[str],
    user: str | None,
) -> EditOutcome:
    """Replace the overrides on the same pairs with ``fresh`` (or drop rows), log, re-assign."""
    old = ws.rows("overrides", scenario_id)
    keys = set(zip(fresh[s.ACCOUNT_ID].astype(str), fresh[s.TERRITORY_ID].astype(str), strict=True))
    keep = [
        (str(a), str(t)) not in keys and not (drop[i] if drop else False)
        for i, (a, t) in enumerate(zip(old[s.ACCOUNT_ID], old[s.TERRITORY_ID], strict=True))
    ]
    parts = [p for p in (old[keep], fresh) if len(p)]
    merged = pd.concat(parts, ignore_index=True) if parts else old.iloc[:0]
    with all_or_nothing(ws):
        ws.set_rows("overrides", scenario_id, merged)
        ws.log(action, dict(detail), user=user, scenario_id=scenario_id)
        return finish(ws, scenario_id, message, notes, user=user)
