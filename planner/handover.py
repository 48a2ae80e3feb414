"""Hand-over: a departing user's territories and accounts move to a successor on one day.

On the hand-over day ``D`` every assignment of the departing user that is in
force ends on ``D - 1`` and the successor takes the same territory and role
from ``D`` to the departing user's old end; assignments that start on or
after ``D`` are given to the successor whole; ended ones stay as history.
Accounts whose ``owner_id`` is the departing user get the successor. Make
the plan with :func:`plan_hand_over` (what the app previews), check the
user's rights with :func:`require_hand_over_rights`, and apply it with
:func:`hand_over` (in memory and audited: ``ws.commit`` it, dated ``D``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.edit import EditOutcome, require_edit_rights
from planner.edit.outcome import user_error
from planner.errors import AccessDeniedError, format_ids
from planner.staffing import parse_day, stored_day
from planner.workspace import Workspace

__all__ = ["HAND_OVER_COLUMNS", "HandOverPlan", "hand_over", "plan_hand_over",
           "require_hand_over_rights"]  # fmt: skip

logger = logging.getLogger(__name__)

#: The columns of :attr:`HandOverPlan.changes`.
HAND_OVER_COLUMNS = ("kind", "id", "name", "role", "departing", "successor", "accounts")
_ASSOC = [s.REP_ID, s.TERRITORY_ID, s.ROLE, s.START_DATE, s.END_DATE]


@dataclass(frozen=True, eq=False)
class HandOverPlan:
    """What a hand-over moves, before it is applied.

    Parameters
    ----------
    from_rep, to_rep
        The departing user and the successor.
    on
        The first day of the successor (the departing user's last is the day before).
    associations
        The scenario's associations as they will be after the hand-over.
    account_ids
        Accounts whose ``owner_id`` changes to the successor.
    changes
        One row per moving assignment or account, columns :data:`HAND_OVER_COLUMNS`
        (``accounts``: the territory's member accounts; empty on account rows).
    """

    from_rep: str
    to_rep: str
    on: date
    associations: pd.DataFrame
    account_ids: tuple[str, ...]
    changes: pd.DataFrame

    @property
    def territory_ids(self) -> tuple[str, ...]:
        """The territories whose staffing changes."""
        rows = self.changes[self.changes["kind"] == "territory"]
        return tuple(dict.fromkeys(rows["id"].astype(str)))


def _day_text(value: date | None, empty: str) -> str:
    return empty if value is None else value.isoformat()


def _check_people(ws: Workspace, from_rep: str, to_rep: str) -> None:
    known = set(ws.reps[s.REP_ID].astype(str)) if len(ws.reps) else set()
    for who, column in ((from_rep, "from_rep"), (to_rep, "to_rep")):
        if str(who) not in known:
            raise user_error(f"there is no user '{who}'",
                             f"pick one of {format_ids(sorted(known))}", column=column)  # fmt: skip
    if str(from_rep) == str(to_rep):
        raise user_error(f"'{from_rep}' cannot hand over to themselves",
                         "pick another user as the successor", column="to_rep")  # fmt: skip


def _move_rows(
    assoc: pd.DataFrame, from_rep: str, to_rep: str, on: date
) -> tuple[pd.DataFrame, list[tuple[str, str, str, str]]]:
    """The associations after the hand-over, and (territory, role, departing, successor) moved."""
    keep, added, moved = [], [], []
    held = {(str(t), str(r)) for t, r, who in
            zip(assoc[s.TERRITORY_ID], assoc[s.ROLE], assoc[s.REP_ID].astype(str), strict=True)
            if who == str(to_rep)}  # fmt: skip
    for row in assoc.to_dict("records"):
        first, last = stored_day(row[s.START_DATE]), stored_day(row[s.END_DATE])
        if str(row[s.REP_ID]) != str(from_rep) or (last is not None and last < on):
            keep.append(row)  # another user's, or history
            continue
        tid, role = str(row[s.TERRITORY_ID]), str(row[s.ROLE])
        if (tid, role) in held:
            raise user_error(
                f"'{to_rep}' already has {'an' if role[0] in 'aeiou' else 'a'} {role} "
                f"assignment on territory '{tid}'",
                f"end or remove it on the Team page first (planner staff --territory {tid}), "
                "or pick another successor",
                column=s.ROLE,
            )
        if first is None or first < on:  # in force: the departing user's row ends the day before
            start = on
            keep.append({**row, s.END_DATE: (on - timedelta(days=1)).isoformat()})
            departing = f"until {on - timedelta(days=1)}"
        else:  # not started yet: given away whole
            start = first
            departing = "given away before it starts"
        added.append({**row, s.REP_ID: str(to_rep), s.START_DATE: start.isoformat()})
        successor = f"{start} to {_day_text(last, 'open end')}"
        moved.append((tid, role, departing, successor))
    after = pd.DataFrame(keep + added, columns=_ASSOC)
    return after, moved


def _owned_accounts(ws: Workspace, from_rep: str) -> pd.DataFrame:
    acc = ws.accounts
    if s.OWNER_ID not in acc.columns:
        return acc.iloc[:0]
    return acc[acc[s.OWNER_ID].astype(str) == str(from_rep)]


def _changes(
    ws: Workspace, scenario_id: str, moved: list[tuple[str, str, str, str]],
    accounts: pd.DataFrame, on: date,
) -> pd.DataFrame:  # fmt: skip
    terr = ws.territories(scenario_id)
    names = dict(zip(terr[s.TERRITORY_ID].astype(str), terr[s.NAME], strict=True))
    mem = ws.rows("memberships", scenario_id)
    sizes = mem.groupby(mem[s.TERRITORY_ID].astype(str))[s.ACCOUNT_ID].nunique()
    rows: list[tuple[object, ...]] = [
        ("territory", tid, names.get(tid), role, gone, new, int(sizes.get(tid, 0)))
        for tid, role, gone, new in moved
    ]
    since = f"from {on}"
    rows += [("account", str(a), n, "account owner", f"until {on - timedelta(days=1)}", since, None)
             for a, n in zip(accounts[s.ACCOUNT_ID], accounts[s.NAME], strict=True)]  # fmt: skip
    return pd.DataFrame(rows, columns=list(HAND_OVER_COLUMNS))


def plan_hand_over(
    ws: Workspace,
    scenario_id: str,
    *,
    from_rep: str,
    to_rep: str,
    on: str | date | None = None,
) -> HandOverPlan:
    """Work out what a hand-over from ``from_rep`` to ``to_rep`` on ``on`` moves (nothing changes).

    Parameters
    ----------
    ws
        The workspace (not changed).
    scenario_id
        The scenario whose staffing moves (account owners are workspace-wide).
    from_rep, to_rep
        The departing user and the successor.
    on
        The successor's first day (``YYYY-MM-DD``; today by default).

    Raises
    ------
    InputError
        Unknown users, the same user twice, a day that is not a date, the
        successor already holding one of the moving roles on a territory, or
        nothing to hand over.
    """
    _check_people(ws, from_rep, to_rep)
    day = parse_day(on, "on") or date.today()
    assoc = ws.rows("associations", scenario_id)[_ASSOC]
    after, moved = _move_rows(assoc, str(from_rep), str(to_rep), day)
    accounts = _owned_accounts(ws, from_rep)
    if not moved and not len(accounts):
        raise user_error(
            f"'{from_rep}' has no territory from {day} on and owns no account: "
            "nothing to hand over",
            "pick the departing user, or an earlier hand-over day",
            column="from_rep",
        )
    changes = _changes(ws, scenario_id, moved, accounts, day)
    ids = tuple(accounts[s.ACCOUNT_ID].astype(str))
    return HandOverPlan(str(from_rep), str(to_rep), day, after, ids, changes)


def require_hand_over_rights(scope: AccessScope | None, plan: HandOverPlan) -> None:
    """Raise unless the user may make ``plan``: edit every territory in it, see every account.

    Raises
    ------
    planner.access.AccessDeniedError
        Naming the territories or accounts outside the user's rights.
    """
    require_edit_rights(scope, *plan.territory_ids)
    assert scope is not None  # require_edit_rights refuses nobody signed in
    hidden = [a for a in plan.account_ids if not scope.can_view_account(a)]
    if hidden:
        raise AccessDeniedError(
            f"Access denied: accounts {format_ids(hidden)} owned by '{plan.from_rep}' are "
            "outside what you may see; ask a planner to make this hand-over"
        )


def hand_over(ws: Workspace, scenario_id: str, plan: HandOverPlan,
              *, user: str | None = None) -> EditOutcome:  # fmt: skip
    """Apply ``plan`` (from :func:`plan_hand_over`) to ``ws`` in memory and audit it.

    Commit it with ``ws.commit(..., effective_date=plan.on)``.
    """
    ws.set_rows("associations", scenario_id, plan.associations)
    if plan.account_ids:
        acc = ws.accounts.copy()
        mask = acc[s.ACCOUNT_ID].astype(str).isin(plan.account_ids)
        acc.loc[mask, s.OWNER_ID] = plan.to_rep
        ws.set_table("accounts", acc)
    n_terr = len(plan.territory_ids)
    detail = {
        "from_rep": plan.from_rep, "to_rep": plan.to_rep, "on": plan.on.isoformat(),
        "territories": list(plan.territory_ids), "accounts": len(plan.account_ids),
    }  # fmt: skip
    ws.log("staff hand over", detail, user=user, scenario_id=scenario_id)
    logger.info("handed %s over to %s on %s", plan.from_rep, plan.to_rep, plan.on)
    what = [f"{n_terr} territor{'y' if n_terr == 1 else 'ies'}"]
    if plan.account_ids:
        n = len(plan.account_ids)
        what.append(f"{n} account{'' if n == 1 else 's'} as owner")
    return EditOutcome(
        f"Handed {plan.from_rep} over to {plan.to_rep} from {plan.on}: {' and '.join(what)}."
    )
