"""The result of an assignment: memberships, unassigned accounts, overlaps resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner import schema as s
from planner.assign.context import Context
from planner.assign.explain import Explanation, explain_account
from planner.models import DEFAULT_TYPE

__all__ = ["MEMBERSHIP_COLUMNS", "Assignment"]

#: Columns of :attr:`Assignment.memberships` (the ``memberships`` table without the scenario).
MEMBERSHIP_COLUMNS = [s.ACCOUNT_ID, s.TERRITORY_ID, s.CAUSE, s.DETAIL, s.IS_PRIMARY]


@dataclass(frozen=True, eq=False)
class Assignment:
    """Every account's memberships for one scenario.

    Parameters
    ----------
    memberships
        One row per (account, territory): ``account_id``, ``territory_id``,
        ``cause``, ``detail``, ``is_primary``; rows follow the accounts'
        order, then the territory id. Their content does not depend on the
        order of the input rows.
    unassigned
        ``account_id`` and ``reason`` of every account in no territory.
    overlaps
        Conflicts resolved within a type: ``type_id``, ``winner``,
        ``loser``, ``reason`` and ``accounts`` (how many accounts).
    warnings
        What was repaired or ignored (repaired shapes, stale overrides...).
    """

    memberships: pd.DataFrame
    unassigned: pd.DataFrame
    overlaps: pd.DataFrame
    warnings: tuple[str, ...]
    _context: Context = field(repr=False)

    def counts(self) -> pd.Series:
        """Number of primary member accounts per territory (every territory, zeros included)."""
        primary = self.memberships[self.memberships[s.IS_PRIMARY]]
        counts = primary[s.TERRITORY_ID].value_counts()
        index = pd.Index(sorted(str(t) for t in self._context.tids), name=s.TERRITORY_ID)
        return counts.reindex(index, fill_value=0).astype("int64").rename("accounts")

    def leads(self) -> pd.Series:
        """Each assigned account's lead territory: its primary of the highest-priority type."""
        ctx = self._context
        frame = self.memberships[self.memberships[s.IS_PRIMARY]]
        if len(set(ctx.types.tolist())) == 1:  # one type: every primary is the lead
            return pd.Series(
                frame[s.TERRITORY_ID].astype(object).to_numpy(),
                index=pd.Index(frame[s.ACCOUNT_ID].to_numpy(), name=s.ACCOUNT_ID),
                name="lead",
            )
        type_of = dict(zip(ctx.tids.tolist(), ctx.types.tolist(), strict=True))
        types = frame[s.TERRITORY_ID].map(type_of)
        prio = types.map(lambda t: ctx.priorities.get(t, DEFAULT_TYPE.priority))
        ordered = frame.assign(_p=prio.to_numpy(), _t=types.to_numpy()).sort_values(
            [s.ACCOUNT_ID, "_p", "_t", s.TERRITORY_ID], kind="stable"
        )
        first = ordered.drop_duplicates(s.ACCOUNT_ID)
        return pd.Series(
            first[s.TERRITORY_ID].to_numpy(),
            index=pd.Index(first[s.ACCOUNT_ID].to_numpy(), name=s.ACCOUNT_ID),
            name="lead",
        )

    def summary(self) -> dict[str, Any]:
        """Counts for a report: accounts, memberships, unassigned, per territory."""
        counts = self.counts()
        return {
            "accounts": len(self._context.accounts),
            "memberships": len(self.memberships),
            "assigned": int(self.memberships[s.ACCOUNT_ID].nunique()),
            "unassigned": len(self.unassigned),
            "territories": {str(k): int(v) for k, v in counts.items()},
            "overlaps": self.overlaps.to_dict("records"),
            "warnings": list(self.warnings),
        }

    def explain(self, account_id: str, territory_id: str | None = None) -> Explanation:
        """Say why an account is in its territories and, optionally, not in ``territory_id``.

        Parameters
        ----------
        account_id
            The account.
        territory_id
            A territory to explain as well ("why not in Z?").

        Returns
        -------
        Explanation

        Raises
        ------
        InputError
            If the account or the territory does not exist.
        """
        return explain_account(
            self._context,
            self.memberships,
            self.unassigned,
            str(account_id),
            None if territory_id is None else str(territory_id),
        )
