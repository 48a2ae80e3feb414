"""Who may see and edit which accounts, territories, users, routes and reports.

This module is the one place that decides visibility. The app, the CLI and
the exports ask an :class:`AccessScope` for what a user may see and filter
every frame through it before showing or writing it.

The rule (from the seed documents, as in Salesforce's territory management):
a record is visible to its owner, to the users above the owner in the role
hierarchy, to the other users of the record's territory, and to the users of
the territories above it. Concretely, for a user ``U`` on date ``as_of``:

* **Planners and admins** see and edit everything.
* ``U``'s **active associations** are the rows of ``associations`` for ``U``
  whose ``start_date`` is empty or on/before ``as_of`` and whose ``end_date``
  is empty or on/after it. An association that has ended (a *former owner*)
  or not yet started gives nothing.
* **Subordinates** are the users below ``U`` in the ``manager_id`` chain.
* **Visible territories** are the territories ``U`` or a subordinate is
  actively associated with (any role: owner, overlay, manager), plus all
  their descendants: users of a territory see the territories below it.
  Territories above or beside them are not visible.
* **Visible accounts** are the accounts with a membership in a visible
  territory, plus the accounts owned (``accounts.owner_id``) by ``U`` or a
  subordinate.
* **Visible users** (whose routes, rep-level targets and attainment ``U``
  sees) are ``U``, ``U``'s subordinates and the users actively associated with
  territories strictly below ``U``'s own territories. Colleagues in the same
  territory see each other's accounts but not each other's routes.
* **Editing**: reps edit nothing structural. Managers edit the territories
  they see (move accounts between them, redraw, rename) and set targets on
  them and on their visible users other than themselves. Planners and admins
  edit everything. Only admins manage users and write Salesforce files.

Every refusal raises :class:`AccessDeniedError`, whose message never tells an
unknown id from a forbidden one, so probing ids reveals nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

import pandas as pd

from planner import schema as s
from planner.auth import User
from planner.errors import AccessDeniedError, InputError, Problem
from planner.models import UserRole
from planner.tree import TerritoryTree

__all__ = [
    "ACTIONS",
    "AccessDeniedError",
    "AccessScope",
    "Action",
    "active_mask",
    "build_scope",
    "export_action",
    "manager_loops",
    "restrict_workspace",
    "scope_for",
]

logger = logging.getLogger(__name__)


Action = Literal[
    "view",
    "export",
    "edit",
    "set_target",
    "manage_scenarios",
    "import_data",
    "export_salesforce",
    "manage_users",
]

#: Every action, in increasing order of privilege.
ACTIONS: tuple[Action, ...] = get_args(Action)

_ROLE_ACTIONS: dict[UserRole, frozenset[str]] = {
    UserRole.REP: frozenset({"view", "export"}),
    UserRole.MANAGER: frozenset({"view", "export", "edit", "set_target"}),
    UserRole.PLANNER: frozenset(
        {"view", "export", "edit", "set_target", "manage_scenarios", "import_data"}
    ),
    UserRole.ADMIN: frozenset(ACTIONS),
}

_UNRESTRICTED_ROLES = (UserRole.PLANNER, UserRole.ADMIN)

#: Export formats that need more than the plain ``export`` right.
_EXPORT_RIGHTS: dict[str, Action] = {"salesforce": "export_salesforce"}


def export_action(fmt: str) -> Action:
    """Return the right an export format needs: ``export_salesforce`` for the CRM load files.

    Every writer (CLI, app, library workflow) checks ``scope.require(export_action(fmt))``
    before writing, so a rep cannot write the Salesforce load set by choosing it.
    """
    return _EXPORT_RIGHTS.get(fmt.strip().lower(), "export")


# -- small tree helpers (until planner.hierarchy offers them) ------------------------------


# -- the scope -----------------------------------------------------------------------------


def _subordinates(reps: pd.DataFrame, user_id: str) -> set[str]:
    """Users below ``user_id`` in the manager chain.

    A loop in the chain (A manages B, B manages A) must not widen anyone's
    view: users who are also *above* ``user_id`` are never its subordinates,
    so everyone in a loop sees only what their own place outside it gives.
    The reps reader refuses such loops; this guards workspaces made otherwise.
    """
    if s.MANAGER_ID not in reps.columns:
        return set()
    reports: dict[str, list[str]] = {}
    manager_of: dict[str, str] = {}
    for rep, manager in zip(reps[s.REP_ID].astype(str), reps[s.MANAGER_ID], strict=True):
        m = s.text_or_none(manager)
        if m is not None:
            reports.setdefault(m, []).append(rep)
            manager_of[rep] = m
    above: set[str] = set()
    node = manager_of.get(user_id)
    while node is not None and node not in above:
        above.add(node)
        node = manager_of.get(node)
    seen: set[str] = set()
    stack = list(reports.get(user_id, []))
    while stack:
        rep = stack.pop()
        if rep in seen or rep == user_id or rep in above:
            continue
        seen.add(rep)
        stack.extend(reports.get(rep, []))
    return seen


def manager_loops(reps: pd.DataFrame) -> list[list[str]]:
    """Return each loop of the manager chain as the list of its users (empty when none).

    Parameters
    ----------
    reps
        Users with ``rep_id`` and ``manager_id``.
    """
    if s.MANAGER_ID not in reps.columns:
        return []
    managers = map(s.text_or_none, reps[s.MANAGER_ID])
    manager_of = {
        str(r): m
        for r, m in zip(reps[s.REP_ID].astype(str), managers, strict=True)
        if m is not None
    }
    loops: list[list[str]] = []
    done: set[str] = set()
    for start in manager_of:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path.append(node)
            node = manager_of.get(node)
        if node is not None and node in path:
            loops.append(path[path.index(node) :])
        done.update(path)
    return loops


def active_mask(associations: pd.DataFrame, as_of: date) -> pd.Series:
    """Rows of ``associations`` in force on ``as_of`` (ended or future ones are not)."""
    day = pd.Timestamp(as_of)
    mask = pd.Series(True, index=associations.index)
    for col, test in ((s.START_DATE, "start"), (s.END_DATE, "end")):
        if col not in associations.columns:
            continue
        raw = associations[col]
        when = pd.to_datetime(raw.astype(object).where(raw.notna(), None), errors="coerce")
        when = when.dt.tz_localize(None) if getattr(when.dt, "tz", None) is not None else when
        bad = raw.notna() & (raw.astype(str).str.strip() != "") & when.isna()
        if bad.any():
            rows = tuple(int(i) + 2 for i in associations.index[bad.to_numpy()][:50])
            raise InputError(
                f"associations have unreadable {col} values",
                [Problem(f"'{col}' is not a date", rows=rows, column=col, fix="use YYYY-MM-DD")],
                source="associations",
            )
        if test == "start":
            mask &= when.isna() | (when.dt.normalize() <= day)
        else:
            mask &= when.isna() | (when.dt.normalize() >= day)
    return mask


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
        return action in _ROLE_ACTIONS[self.role]

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
    from planner.auth import find_user

    day = as_of or date.today()
    user = find_user(reps, str(user_id))
    if user is None:
        raise AccessDeniedError(f"'{user_id}' is not a user of this workspace")
    if user.role in _UNRESTRICTED_ROLES:
        return AccessScope(
            user=user,
            scenario_id=scenario_id,
            as_of=day,
            territory_ids=None,
            account_ids=None,
            rep_ids=None,
            editable_territory_ids=None,
            own_territory_ids=frozenset(),
            subordinate_ids=frozenset(_subordinates(reps, user.user_id)),
        )

    def _of_scenario(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None or scenario_id is None or s.SCENARIO_ID not in frame.columns:
            return frame
        return frame[frame[s.SCENARIO_ID].astype(str) == scenario_id]

    territories = _of_scenario(territories)  # type: ignore[assignment]
    associations = _of_scenario(associations)  # type: ignore[assignment]
    memberships = _of_scenario(memberships)
    tree = TerritoryTree.of(territories)
    known = set(tree.ids)

    subordinates = _subordinates(reps, user.user_id)
    active = associations[active_mask(associations, day)]
    active_rep = active[s.REP_ID].astype(str)
    active_tid = active[s.TERRITORY_ID].astype(str)
    own = {t for r, t in zip(active_rep, active_tid, strict=True) if r == user.user_id} & known
    team = {user.user_id, *subordinates}
    team_territories = {
        t for r, t in zip(active_rep, active_tid, strict=True) if r in team
    } & known
    visible_territories = set(tree.descendants(team_territories, include_self=True))

    visible_accounts: set[str] = set()
    if memberships is not None and len(memberships):
        in_scope = memberships[s.TERRITORY_ID].astype(str).isin(visible_territories)
        visible_accounts.update(memberships.loc[in_scope, s.ACCOUNT_ID].astype(str))
    if accounts is not None and s.OWNER_ID in accounts.columns:
        owned = accounts[s.OWNER_ID].astype(str).isin(team) & accounts[s.OWNER_ID].notna()
        visible_accounts.update(accounts.loc[owned, s.ACCOUNT_ID].astype(str))

    below_own = set(tree.descendants(own))
    users_below = {r for r, t in zip(active_rep, active_tid, strict=True) if t in below_own}
    visible_reps = team | users_below

    editable: frozenset[str] = frozenset()
    if user.role == UserRole.MANAGER:
        editable = frozenset(visible_territories)

    return AccessScope(
        user=user,
        scenario_id=scenario_id,
        as_of=day,
        territory_ids=frozenset(visible_territories),
        account_ids=frozenset(visible_accounts),
        rep_ids=frozenset(visible_reps),
        editable_territory_ids=editable,
        own_territory_ids=frozenset(own),
        subordinate_ids=frozenset(subordinates),
    )


def scope_for(
    workspace: Any,
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


def restrict_workspace(workspace: Any, scope: AccessScope) -> Any:
    """Return a new in-memory workspace holding only what ``scope`` may see.

    Only the scope's scenario is kept; password hashes are dropped; the result
    has no file path, so it cannot be saved over the original by accident.
    """
    from planner.workspace import SCENARIO_TABLES, Workspace

    sid = scope.scenario_id or workspace.active_scenario_id()
    tables: dict[str, pd.DataFrame] = {}
    for table, frame in workspace.tables.items():
        if table in SCENARIO_TABLES or table == "scenarios":
            frame = frame[frame[s.SCENARIO_ID] == sid]
        tables[table] = scope.filter_table(table, frame).reset_index(drop=True)
    return Workspace(
        name=workspace.name, tables=tables, path=None, description=workspace.description
    )
