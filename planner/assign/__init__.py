"""Account assignment: every account's territories, each with a cause and a reason.

The modules: :mod:`~planner.assign.layout` prepares territories once
(shapes, hierarchy, point index), :mod:`~planner.assign.engine` runs the
recipe below, :mod:`~planner.assign.resolve` picks primaries,
:mod:`~planner.assign.explain` says why, :mod:`~planner.assign.cluster`
runs it on a Dask cluster.

How an account lands in a territory (the rules :func:`assign_accounts`
applies, in order):

1. **Who takes accounts.** Leaf territories (those without children) take
   accounts; regions and districts get theirs by roll-up
   (:func:`planner.hierarchy.rollup`). A manual *include* may name any
   territory.
2. **Eligibility.** A leaf is eligible for an account when the account lies
   inside the leaf's shape (interior or border) *and* inside the shape of
   every ancestor that has one, and when the account matches the leaf's rule
   *and* every ancestor's rule (rules are inherited down the hierarchy: a
   child only gets accounts that match its parent). A leaf without a shape
   uses its nearest ancestor's shape; a leaf with neither a shape nor a rule
   anywhere in its chain takes accounts only by manual include.
3. **Exclusions.** A manual *exclude* of an account from a territory removes
   it from that territory and from everything below it.
4. **One territory per type.** Territories of different types (say a
   geographic team and a healthcare overlay) may share an account; within
   one type the account gets one primary territory, chosen by, in order:
   a manual include (the most recent one, then the lowest id); a territory
   whose chain has a rule over one without (the more specific criteria
   win, so an "enterprise accounts" territory takes accounts from the
   geographic ones it overlaps); a territory containing the point strictly
   inside over one whose border it lies on; between territories containing
   it strictly inside (an overlap), the smaller shape; then the lowest
   territory id. **Border rule:** a point exactly on the shared border of
   territories of one type goes to the lowest ``territory_id`` among them
   (string order), unless it lies strictly inside another territory of that
   type. Several manual includes in one type are all kept; the extra ones
   are not primary.
5. **Priority between types.** Each account's *lead* territory (the one
   whose owner gets new business, like Salesforce's opportunity territory)
   is its primary territory of the type with the lowest priority number
   (:class:`~planner.models.TerritoryType`); see :meth:`Assignment.leads`.
6. **Unassigned accounts** are listed with a reason, never dropped.

Each membership carries ``cause`` (``manual`` for includes, ``rule`` when a
rule in the territory's chain was applied, else ``spatial``) and a
``detail``; :meth:`Assignment.explain` says why an account is in one
territory and not in another.
"""

import sys

from planner.assign.engine import assign_accounts
from planner.assign.explain import Explanation, Verdict
from planner.assign.layout import TerritoryLayout, prepare_territories
from planner.assign.results import MEMBERSHIP_COLUMNS, Assignment
from planner.assign.workspace import assign_workspace
from planner.callable import make_callable

__all__ = [
    "MEMBERSHIP_COLUMNS",
    "Assignment",
    "Explanation",
    "TerritoryLayout",
    "Verdict",
    "assign_accounts",
    "assign_workspace",
    "prepare_territories",
]

make_callable(sys.modules[__name__], "planner.jobs:assign")  # tp.assign(...) runs the job
