"""Editing territories: drawn shapes, unit clicks, hierarchy moves, each followed by re-assignment.

Each edit function takes a workspace, changes one scenario in memory and
re-runs the account assignment (:func:`planner.geo.assign.assign_workspace`),
so callers can show the new counts at once. An edit is all or nothing: if any
step fails (a hierarchy check, a table's schema, the assignment), every
table is put back as it was and an :class:`~planner.errors.InputError`
naming the problem and its fix is raised. Every edit writes one audit entry
under ``user``.

Shapes of territories built from units (``source == "units"``) follow their
units; parents built from units follow their children (a parent's shape is
the union of its children's). Drawn shapes change only when drawn again or
when the user adds or removes a unit.

Access: the edit functions do not check who may make them; the caller does,
with :func:`require_edit_rights` and the user's
:class:`~planner.access.AccessScope` (the app through ``ui.editing.require_edit``,
which passes the session's scope). The edits themselves then stay usable by
scripts and the CLI that run with full rights.

The edits live in modules by concern: :mod:`~planner.edit.drawing` (drawn
shapes), :mod:`~planner.edit.units` (unit clicks), :mod:`~planner.edit.structure`
(moves, renames, territory types), :mod:`~planner.edit.tables` and
:mod:`~planner.edit.trouble` (what the pages show), :mod:`~planner.edit.rights`
(who may edit), :mod:`~planner.edit.rules` (territory rules) and
:mod:`~planner.edit.overrides` (manual includes and excludes, which take the
user's scope and check it themselves); this package gathers their public names.
"""

from __future__ import annotations

from planner.edit.accounts import edit_accounts, require_account_edit_rights, set_account_values
from planner.edit.drawing import add_drawn_territory, repair_notes, replace_shape
from planner.edit.geometry import redraw_parents
from planner.edit.outcome import EditOutcome, run_assignment
from planner.edit.overrides import (
    add_overrides,
    exclude_accounts,
    include_accounts,
    override_choices,
    override_table,
    remove_overrides,
)
from planner.edit.rights import require_edit_rights
from planner.edit.rows import new_territory_id, territory_label
from planner.edit.rules import (
    RuleCount,
    RuleField,
    clear_rule,
    count_matches,
    rule_candidates,
    rule_chain,
    rule_examples,
    rule_fields,
    rule_of,
    set_rule,
)
from planner.edit.structure import move_territory, rename_territory, save_territory_types
from planner.edit.tables import (
    counts_table,
    filter_memberships,
    hierarchy_table,
    membership_table,
    stale_accounts,
    with_change,
)
from planner.edit.trouble import Trouble, trouble_list
from planner.edit.units import toggle_unit, unit_at, unit_holder, unit_owners, units_of

__all__ = [
    "EditOutcome",
    "RuleCount",
    "RuleField",
    "Trouble",
    "add_drawn_territory",
    "add_overrides",
    "clear_rule",
    "count_matches",
    "counts_table",
    "edit_accounts",
    "exclude_accounts",
    "filter_memberships",
    "hierarchy_table",
    "include_accounts",
    "membership_table",
    "move_territory",
    "new_territory_id",
    "override_choices",
    "override_table",
    "redraw_parents",
    "remove_overrides",
    "rename_territory",
    "repair_notes",
    "replace_shape",
    "require_account_edit_rights",
    "require_edit_rights",
    "rule_candidates",
    "rule_chain",
    "rule_examples",
    "rule_fields",
    "rule_of",
    "run_assignment",
    "save_territory_types",
    "set_account_values",
    "set_rule",
    "stale_accounts",
    "territory_label",
    "toggle_unit",
    "trouble_list",
    "unit_at",
    "unit_holder",
    "unit_owners",
    "units_of",
    "with_change",
]
