"""Rights: the actions there are, and which role may take which."""

from __future__ import annotations

from typing import Literal, get_args

from planner.models import UserRole

__all__ = ["ACTIONS", "ROLE_ACTIONS", "UNRESTRICTED_ROLES", "Action", "export_action"]


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

#: The actions each role may take.
ROLE_ACTIONS: dict[UserRole, frozenset[str]] = {
    UserRole.REP: frozenset({"view", "export"}),
    UserRole.MANAGER: frozenset({"view", "export", "edit", "set_target"}),
    UserRole.PLANNER: frozenset(
        {"view", "export", "edit", "set_target", "manage_scenarios", "import_data"}
    ),
    UserRole.ADMIN: frozenset(ACTIONS),
}

#: Roles that see and edit everything.
UNRESTRICTED_ROLES = (UserRole.PLANNER, UserRole.ADMIN)

#: Export formats that need more than the plain ``export`` right.
_EXPORT_RIGHTS: dict[str, Action] = {"salesforce": "export_salesforce"}


def export_action(fmt: str) -> Action:
    """Return the right an export format needs: ``export_salesforce`` for the CRM load files.

    Every writer (CLI, app, library workflow) checks ``scope.require(export_action(fmt))``
    before writing, so a rep cannot write the Salesforce load set by choosing it.
    """
    return _EXPORT_RIGHTS.get(fmt.strip().lower(), "export")
