"""Account assignment (moved to :mod:`planner.assign`; this name stays for existing callers)."""

from __future__ import annotations

from planner.assign import (
    MEMBERSHIP_COLUMNS,
    Assignment,
    Explanation,
    TerritoryLayout,
    Verdict,
    assign_accounts,
    assign_workspace,
    prepare_territories,
)

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
