"""Building a user's access scope from a scenario's frames or a workspace."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import pandas as pd

from planner import schema as s
from planner.access.associations import active_mask
from planner.access.managers import subordinates
from planner.access.rights import UNRESTRICTED_ROLES
from planner.access.scope import AccessScope
from planner.auth import User, find_user
from planner.errors import AccessDeniedError
from planner.models import UserRole
from planner.tree import TerritoryTree
from planner.workspace import SCENARIO_TABLES, Workspace

__all__ = ["build_scope", "restrict_workspace", "scope_for"]

FrameT = TypeVar("FrameT", pd.DataFrame, pd.DataFrame | None)


def build_scope(
    user_id: str,
    *,
    reps: pd.DataFrame,
    territories: pd.DataFrame,
    associations: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    memberships: pd.DataFrame | None = None,
    scenario_id: str | None = None,
    as_of: date | None = None,
) -> AccessScope:
    """Decide what ``user_id`` may see, from the frames of one scenario.

    Parameters
    ----------
    user_id
        A ``rep_id`` (or a unique email) of ``reps``.
    reps
        Users with ``role`` and ``manager_id``.
    territories
        The scenario's territories (``territory_id``, ``parent_id``).
    associations
        The scenario's user-territory associations with dates.
    accounts
        Accounts with ``owner_id``; without them only memberships grant accounts.
    memberships
        The scenario's account memberships.
    scenario_id
        Recorded in the scope; when given, rows of other scenarios in the
        scenario-scoped frames are ignored.
    as_of
        The date associations are judged on (today by default).

    Raises
    ------
    AccessDeniedError
        If ``user_id`` is not a user.
    """
    day = as_of or date.today()
    user = find_user(reps, str(user_id))
    if user is None:
        raise AccessDeniedError(f"'{user_id}' is not a user of this workspace")
    below = subordinates(reps, user.user_id)
    if user.role in UNRESTRICTED_ROLES:
        return _everything(user, scenario_id, day, below)
    territories = _of_scenario(territories, scenario_id)
    associations = _of_scenario(associations, scenario_id)
    tree = TerritoryTree.of(territories)
    links = _active_links(associations, day, set(tree.ids))
    own = {t for r, t in links if r == user.user_id}
    team = {user.user_id, *below}
    visible_territories = set(
        tree.descendants({t for r, t in links if r in team}, include_self=True)
    )
    accounts_seen = _visible_accounts(
        _of_scenario(memberships, scenario_id), accounts, visible_territories, team
    )
    below_own = set(tree.descendants(own))
    users_below = {r for r, t in links if t in below_own}
    editable = visible_territories if user.role == UserRole.MANAGER else set()
    return AccessScope(
        user=user,
        scenario_id=scenario_id,
        as_of=day,
        territory_ids=frozenset(visible_territories),
        account_ids=frozenset(accounts_seen),
        rep_ids=frozenset(team | users_below),
        editable_territory_ids=frozenset(editable),
        own_territory_ids=frozenset(own),
        subordinate_ids=frozenset(below),
    )


def _everything(user: User, scenario_id: str | None, day: date, below: set[str]) -> AccessScope:
    """The scope of a planner or an admin: everything visible and editable."""
    return AccessScope(
        user=user,
        scenario_id=scenario_id,
        as_of=day,
        territory_ids=None,
        account_ids=None,
        rep_ids=None,
        editable_territory_ids=None,
        own_territory_ids=frozenset(),
        subordinate_ids=frozenset(below),
    )


def _of_scenario(frame: FrameT, scenario_id: str | None) -> FrameT:
    """The rows of ``scenario_id`` (all rows without a scenario or a scenario column)."""
    if frame is None or scenario_id is None or s.SCENARIO_ID not in frame.columns:
        return frame
    return frame[frame[s.SCENARIO_ID].astype(str) == scenario_id]


def _active_links(associations: pd.DataFrame, day: date, known: set[str]) -> list[tuple[str, str]]:
    """(user, territory) of the associations in force on ``day``, for known territories."""
    active = associations[active_mask(associations, day)]
    pairs = zip(active[s.REP_ID].astype(str), active[s.TERRITORY_ID].astype(str), strict=True)
    return [(r, t) for r, t in pairs if t in known]


def _visible_accounts(
    memberships: pd.DataFrame | None,
    accounts: pd.DataFrame | None,
    territories: set[str],
    team: set[str],
) -> set[str]:
    """Accounts with a membership in ``territories``, and those owned by the ``team``."""
    seen: set[str] = set()
    if memberships is not None and len(memberships):
        in_scope = memberships[s.TERRITORY_ID].astype(str).isin(territories)
        seen.update(memberships.loc[in_scope, s.ACCOUNT_ID].astype(str))
    if accounts is not None and s.OWNER_ID in accounts.columns:
        owned = accounts[s.OWNER_ID].astype(str).isin(team) & accounts[s.OWNER_ID].notna()
        seen.update(accounts.loc[owned, s.ACCOUNT_ID].astype(str))
    return seen


def scope_for(
    workspace: Workspace,
    user_id: str,
    *,
    scenario_id: str | None = None,
    as_of: date | None = None,
) -> AccessScope:
    """Decide what ``user_id`` may see in a :class:`planner.workspace.Workspace`.

    Parameters
    ----------
    workspace
        The workspace.
    user_id
        A ``rep_id`` or unique email.
    scenario_id
        The scenario (the active one by default).
    as_of
        The date associations are judged on (today by default).
    """
    sid = scenario_id or workspace.active_scenario_id()
    return build_scope(
        user_id,
        reps=workspace.reps,
        territories=workspace.rows("territories", sid),
        associations=workspace.rows("associations", sid),
        accounts=workspace.accounts,
        memberships=workspace.rows("memberships", sid),
        scenario_id=sid,
        as_of=as_of,
    )


def restrict_workspace(workspace: Workspace, scope: AccessScope) -> Workspace:
    """Return a new in-memory workspace holding only what ``scope`` may see.

    Only the scope's scenario is kept; password hashes are dropped; the result
    has no file path, so it cannot be saved over the original by accident.
    """
    sid = scope.scenario_id or workspace.active_scenario_id()
    tables: dict[str, pd.DataFrame] = {}
    for table, frame in workspace.tables.items():
        if table in SCENARIO_TABLES or table == "scenarios":
            frame = frame[frame[s.SCENARIO_ID] == sid]
        tables[table] = scope.filter_table(table, frame).reset_index(drop=True)
    return Workspace(
        name=workspace.name, tables=tables, path=None, description=workspace.description
    )
