"""Targets rolled up the hierarchy, reports by territory, star performers and sales cycles.

Every function takes frames (territories, memberships, accounts, targets,
opportunities...) and returns a new DataFrame, one row per territory or per
user; filter the inputs through :class:`planner.access.AccessScope` first, so a
report shows only what its reader may see.

Conventions
-----------
* Territory figures are **subtree totals**: a district counts the distinct
  accounts of all territories below it, and an opportunity counts once in its
  account's territory and once in each territory above it.
* Opportunities reach territories through the accounts' *primary*
  memberships (all memberships when there is no ``is_primary`` column).
* A **period** is ``"2025"``, ``"2025-H1"``, ``"2025-Q3"`` or ``"2025-07"``.
  Targets are matched on the period text; opportunities count in a period when
  their ``closed_date`` falls inside it.
* **Attainment** is closed-won amount divided by the target (``NaN`` without a
  positive target).
* **Opportunities** may be kept in the workspace (:func:`store_opportunities`);
  reports read them back with :func:`stored_opportunities`.
* **Quota proposals** (:func:`propose_quotas`) split a chosen total over leaf
  territories or their owners by revenue, accounts, won history or a blend.
"""

from __future__ import annotations

from planner.reports.actuals import actuals_by_territory, sales_cycle
from planner.reports.opportunities import OPPORTUNITY_COLUMNS, read_opportunities
from planner.reports.people import star_performers
from planner.reports.periods import next_period, period_bounds, previous_periods
from planner.reports.quotas import allocate, propose_quotas, quota_targets, save_quotas
from planner.reports.stored import StoredOpportunities, store_opportunities, stored_opportunities
from planner.reports.targets import set_targets, target_rollup
from planner.reports.territory import territory_report

__all__ = [
    "OPPORTUNITY_COLUMNS",
    "StoredOpportunities",
    "actuals_by_territory",
    "allocate",
    "next_period",
    "period_bounds",
    "previous_periods",
    "propose_quotas",
    "quota_targets",
    "read_opportunities",
    "sales_cycle",
    "save_quotas",
    "set_targets",
    "star_performers",
    "store_opportunities",
    "stored_opportunities",
    "target_rollup",
    "territory_report",
]
