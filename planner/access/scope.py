"""The access scope: what one user may see and do, record by record and frame by frame."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from planner import schema as s
from planner.access.rights import ACTIONS, ROLE_ACTIONS, Action
from planner.auth import User
from planner.errors import AccessDeniedError, InputError, Problem
from planner.models import UserRole

__all__ = ["AccessScope"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessScope:
    """What one user may see and edit in one scenario, on one date.

    Build it with :func:`scope_for` (from a workspace) or :func:`build_scope`
    (from frames). ``None`` in a ``*_ids`` field means "everything".

    Parameters
    ----------
    user
        The user.
    scenario_id
        The scenario the territory sets refer to.
    as_of
        The date associations are judged on.
    territory_ids
        Visible territories.
    account_ids
        Visible accounts.
    rep_ids
        Visible users (their routes, rep targets, attainment).
    editable_territory_ids
        Territories the user may edit.
    own_territory_ids
        Territories the user is actively associated with (any role).
    subordinate_ids
        Users below the user in the manager chain.
    """

    user: User
    scenario_id: str | None
    as_of: date
    territory_ids: frozenset[str] | None
    account_ids: frozenset[str] | None
    rep_ids: frozenset[str] | None
    editable_territory_ids: frozenset[str] | None
    own_territory_ids: frozenset[str]
    subordinate_ids: frozenset[str]

    # -- summary -------------------------------------------------------------------------
    @property
    def user_id(self) -> str:
        """The user's id."""
        return self.user.user_id

    @property
    def role(self) -> UserRole:
        """The user's organisation role."""
        return self.user.role

    @property
    def unrestricted(self) -> bool:
        """Whether the user sees everything (planners and admins)."""
        return self.territory_ids is None

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary for the app's frame and the CLI."""

        def n(ids: frozenset[str] | None) -> int | str:
            return "all" if ids is None else len(ids)

        return {
            "user_id": self.user_id,
            "role": str(self.role),
            "scenario_id": self.scenario_id,
            "as_of": self.as_of.isoformat(),
            "own_territories": sorted(self.own_territory_ids),
            "territories": n(self.territory_ids),
            "accounts": n(self.account_ids),
            "users": n(self.rep_ids),
            "editable_territories": n(self.editable_territory_ids),
        }

    # -- actions ---------------------------------------------------------------------------
    def can(self, action: Action) -> bool:
        """Tell whether the user's role allows ``action`` at all."""
        if action not in ACTIONS:
            raise InputError(
                f"unknown action '{action}'",
                [Problem(f"unknown action '{action}'", fix=f"use one of {', '.join(ACTIONS)}")],
            )
        return action in ROLE_ACTIONS[self.role]

    def require(self, action: Action) -> None:
        """Raise :class:`AccessDeniedError` unless the user's role allows ``action``."""
        if not self.can(action):
            raise AccessDeniedError(
                f"user '{self.user_id}' ({self.role}) may not {action.replace('_', ' ')}; "
                "ask an admin or a planner"
            )

    # -- single records ------------------------------------------------------------------
    def can_view_territory(self, territory_id: str) -> bool:
        """Tell whether the territory is visible."""
        return self.territory_ids is None or str(territory_id) in self.territory_ids

    def can_view_account(self, account_id: str) -> bool:
        """Tell whether the account is visible."""
        return self.account_ids is None or str(account_id) in self.account_ids

    def can_view_rep(self, rep_id: str) -> bool:
        """Tell whether the user's records (routes, targets, attainment) are visible."""
        return self.rep_ids is None or str(rep_id) in self.rep_ids

    def can_edit_territory(self, territory_id: str) -> bool:
        """Tell whether the user may edit the territory (shape, name, its accounts)."""
        if not self.can("edit"):
            return False
        ids = self.editable_territory_ids
        return ids is None or str(territory_id) in ids

    def can_move_account(self, account_id: str, from_id: str | None, to_id: str) -> bool:
        """Tell whether the user may move an account from one territory to another."""
        if not self.can_view_account(account_id):
            return False
        sides = [to_id] if from_id is None else [from_id, to_id]
        return all(self.can_edit_territory(t) for t in sides)

    def can_set_target(self, territory_id: str | None, rep_id: str | None) -> bool:
        """Tell whether the user may set a target for this territory and/or user."""
        if not self.can("set_target"):
            return False
        if self.unrestricted:
            return True
        if territory_id is not None and not self.can_edit_territory(territory_id):
            return False
        if rep_id is not None and (rep_id == self.user_id or not self.can_view_rep(rep_id)):
            return False
        return territory_id is not None or rep_id is not None

    def _deny(self, kind: str, ident: str) -> AccessDeniedError:
        logger.info("access denied: user %s asked for %s %s", self.user_id, kind, ident)
        return AccessDeniedError(
            f"{kind} '{ident}' does not exist or is outside what user '{self.user_id}' may see"
        )

    def require_territory(self, territory_id: str) -> None:
        """Raise :class:`AccessDeniedError` unless the territory is visible."""
        if not self.can_view_territory(territory_id):
            raise self._deny("territory", str(territory_id))

    def require_account(self, account_id: str) -> None:
        """Raise :class:`AccessDeniedError` unless the account is visible."""
        if not self.can_view_account(account_id):
            raise self._deny("account", str(account_id))

    def require_rep(self, rep_id: str) -> None:
        """Raise :class:`AccessDeniedError` unless the user's records are visible."""
        if not self.can_view_rep(rep_id):
            raise self._deny("user", str(rep_id))

    def require_edit_territory(self, territory_id: str) -> None:
        """Raise :class:`AccessDeniedError` unless the user may edit the territory."""
        if not self.can_edit_territory(territory_id):
            if self.can_view_territory(territory_id):
                raise AccessDeniedError(
                    f"user '{self.user_id}' ({self.role}) may see territory '{territory_id}' "
                    "but not edit it; ask its manager or a planner"
                )
            raise self._deny("territory", str(territory_id))

    def require_move_account(self, account_id: str, from_id: str | None, to_id: str) -> None:
        """Raise :class:`AccessDeniedError` unless the user may move the account."""
        self.require_account(account_id)
        for tid in [to_id] if from_id is None else [from_id, to_id]:
            self.require_edit_territory(tid)

    def require_set_target(self, territory_id: str | None, rep_id: str | None) -> None:
        """Raise :class:`AccessDeniedError` unless the user may set this target."""
        if not self.can_set_target(territory_id, rep_id):
            parts = [f"territory {territory_id}" if territory_id else ""]
            parts.append(f"user {rep_id}" if rep_id else "")
            who = ", ".join(p for p in parts if p)
            raise AccessDeniedError(
                f"user '{self.user_id}' ({self.role}) may not set the target of {who or 'nobody'}"
            )

    # -- frames --------------------------------------------------------------------------
    @staticmethod
    def _keep(frame: pd.DataFrame, column: str, ids: frozenset[str] | None) -> pd.Series:
        if ids is None:
            return pd.Series(True, index=frame.index)
        if column not in frame.columns:
            return pd.Series(False, index=frame.index)
        return frame[column].astype(str).isin(ids) & frame[column].notna()

    def filter_accounts(self, accounts: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``accounts`` (or any frame with ``account_id``) the user may see."""
        return accounts[self._keep(accounts, s.ACCOUNT_ID, self.account_ids)]

    def filter_territories(self, territories: pd.DataFrame, *, reroot: bool = True) -> pd.DataFrame:
        """Visible rows of ``territories``.

        Parameters
        ----------
        territories
            The territories frame.
        reroot
            Clear ``parent_id`` where the parent is not visible, so the result
            is a tree of its own and names no territory outside the scope.
        """
        out = territories[self._keep(territories, s.TERRITORY_ID, self.territory_ids)]
        if reroot and self.territory_ids is not None and s.PARENT_ID in out.columns:
            out = out.copy()
            parent = out[s.PARENT_ID]
            hidden = parent.notna() & ~parent.astype(str).isin(self.territory_ids)
            out[s.PARENT_ID] = parent.astype(object).where(~hidden, None)
        return out

    def filter_memberships(self, memberships: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``memberships``, ``unit_assignment`` or ``overrides`` in visible territories."""
        return memberships[self._keep(memberships, s.TERRITORY_ID, self.territory_ids)]

    def filter_associations(self, associations: pd.DataFrame) -> pd.DataFrame:
        """User-territory associations of visible territories."""
        return associations[self._keep(associations, s.TERRITORY_ID, self.territory_ids)]

    def filter_targets(self, targets: pd.DataFrame) -> pd.DataFrame:
        """Targets of visible territories, and user-only targets of visible users."""
        if self.territory_ids is None:
            return targets
        has_territory = targets[s.TERRITORY_ID].notna()
        by_territory = has_territory & self._keep(targets, s.TERRITORY_ID, self.territory_ids)
        by_rep = ~has_territory & self._keep(targets, s.REP_ID, self.rep_ids)
        return targets[by_territory | by_rep]

    def filter_reps(self, reps: pd.DataFrame) -> pd.DataFrame:
        """Visible users, always without their password hashes."""
        out = reps[self._keep(reps, s.REP_ID, self.rep_ids)]
        return out.drop(columns=[s.PASSWORD_HASH], errors="ignore")

    def filter_routes(self, routes: pd.DataFrame, *, rep_column: str = s.REP_ID) -> pd.DataFrame:
        """Rows of a routes (or any per-user) frame belonging to visible users."""
        return routes[self._keep(routes, rep_column, self.rep_ids)]

    def filter_opportunities(self, opportunities: pd.DataFrame) -> pd.DataFrame:
        """Opportunities of visible accounts, or owned by visible users."""
        keep = self._keep(opportunities, s.ACCOUNT_ID, self.account_ids)
        keep |= self._keep(opportunities, s.OWNER_ID, self.rep_ids)
        return opportunities[keep]

    def filter_table(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Filter a workspace table by name (see :data:`planner.schema.TABLES`).

        ``units`` and ``territory_types`` are shared reference data and pass
        unchanged; ``scenarios`` pass unchanged; ``audit`` is for admins only.
        """
        handlers = {
            "accounts": self.filter_accounts,
            "reps": self.filter_reps,
            "territories": self.filter_territories,
            "memberships": self.filter_memberships,
            "unit_assignment": self.filter_memberships,
            "overrides": self.filter_memberships,
            "associations": self.filter_associations,
            "targets": self.filter_targets,
            "opportunities": self.filter_opportunities,
        }
        if table in handlers:
            return handlers[table](frame)
        if table == "audit":
            return frame if self.role == UserRole.ADMIN else frame.iloc[0:0]
        if table in ("units", "territory_types", "scenarios"):
            return frame
        raise InputError(
            f"no access rule for table '{table}'",
            [Problem(f"unknown table '{table}'", fix=f"use one of {', '.join(s.TABLES)}")],
        )
