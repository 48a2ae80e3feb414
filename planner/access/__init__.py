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
unknown id from a forbidden one, so probing ids reveals nothi

The rules live in modules by concern: :mod:`~planner.access.rights` (actions
and roles), :mod:`~planner.access.managers` (the manager chain),
:mod:`~planner.access.associations` (associations in force),
:mod:`~planner.access.scope` (the scope and its record filters) and
:mod:`~planner.access.build` (building a scope); this package gathers their
public names.
"""

from __future__ import annotations

from planner.access.associations import active_mask
from planner.access.build import build_scope, restrict_workspace, scope_for
from planner.access.managers import manager_loops
from planner.access.rights import ACTIONS, Action, export_action
from planner.access.scope import AccessScope
from planner.errors import AccessDeniedError

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
