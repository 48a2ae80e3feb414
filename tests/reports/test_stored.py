"""Opportunities kept in the workspace: stored (replace, merge), read back, rights, bad files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner.access import AccessDeniedError, scope_for
from planner.errors import InputError
from planner.reports import store_opportunities, stored_opportunities
from planner.reports.periods import next_period, previous_periods
from planner.workspace import Workspace, open_workspace


def test_stored_opportunities_survive_a_commit(
    helsinki: Workspace, helsinki_path: Path, opportunities: pd.DataFrame
) -> None:
    """Raw columns with ISO dates are written; reading back gives what the file gave."""
    result = store_opportunities(helsinki, opportunities, user="hel-planner")
    assert (result.read, result.added, result.replaced, result.total) == (6, 6, 0, 6)
    helsinki.commit("store opportunities", user="hel-planner")
    again = open_workspace(helsinki_path)
    table = again.opportunities.set_index("opportunity_id")
    assert table.loc["006A", "closed_date"] == "2026-07-10"
    assert table.loc["006A", "created_date"] == "2026-01-05"
    assert pd.isna(table.loc["006E", "closed_date"])
    back = stored_opportunities(again)
    assert back is not None
    assert back.set_index("opportunity_id").loc["006A", "cycle_days"] == 186
    assert int(back["is_won"].sum()) == 4
    assert again.audit["action"].iloc[-1] == "store_opportunities"


def test_replace_drops_what_the_file_lacks_and_merge_keeps_it(
    helsinki: Workspace, opportunities: pd.DataFrame
) -> None:
    """Merge by id: same id replaced, new id added, others stay; replace keeps only the file."""
    store_opportunities(helsinki, opportunities)
    update = opportunities.iloc[[0]].assign(Amount="999")
    extra = opportunities.iloc[[1]].assign(Id="006Z")
    merged = store_opportunities(helsinki, pd.concat([update, extra]), mode="merge")
    assert (merged.added, merged.replaced, merged.removed, merged.total) == (1, 1, 0, 7)
    amounts = helsinki.opportunities.set_index("opportunity_id")["amount"]
    assert amounts["006A"] == 999 and amounts["006B"] == 100
    replaced = store_opportunities(helsinki, extra, mode="replace")
    assert (replaced.removed, replaced.total) == (6, 1)
    assert list(helsinki.opportunities["opportunity_id"]) == ["006Z"]


def test_bad_files_leave_the_workspace_unchanged(
    helsinki: Workspace, opportunities: pd.DataFrame
) -> None:
    """A repeated id, a merge without ids, a bad amount: named, and nothing stored."""
    twice = pd.concat([opportunities, opportunities.iloc[[2]]], ignore_index=True)
    with pytest.raises(InputError, match="more than once") as info:
        store_opportunities(helsinki, twice)
    assert info.value.problems[0].rows == (4, 8)
    no_ids = opportunities.drop(columns=["Id"])
    with pytest.raises(InputError, match="merged only by their ids"):
        store_opportunities(helsinki, no_ids, mode="merge")
    with pytest.raises(InputError, match="not a non-negative number"):
        store_opportunities(helsinki, opportunities.assign(Amount="lots"))
    with pytest.raises(InputError, match="unknown mode"):
        store_opportunities(helsinki, opportunities, mode="append")  # type: ignore[arg-type]
    assert helsinki.opportunities.empty and not helsinki.has_changes()
    assert stored_opportunities(helsinki) is None


def test_only_users_who_import_data_may_store(
    helsinki: Workspace, opportunities: pd.DataFrame
) -> None:
    """A manager may set targets but not import; a planner may; a rep sees only their own."""
    manager = scope_for(helsinki, "hel-mgr", scenario_id="2026-plan")
    with pytest.raises(AccessDeniedError, match="may not import data"):
        store_opportunities(helsinki, opportunities, scope=manager)
    assert helsinki.opportunities.empty
    planner = scope_for(helsinki, "hel-planner", scenario_id="2026-plan")
    store_opportunities(helsinki, opportunities, scope=planner)
    rep = scope_for(helsinki, "hel-rep-1", scenario_id="2026-plan")
    mine = stored_opportunities(helsinki, scope=rep)
    assert mine is not None and set(mine["opportunity_id"]) == {"006A", "006B"}


def test_previous_periods_walk_back_over_years() -> None:
    """Quarters, halves, months and years step back across the year boundary."""
    assert previous_periods("2026-Q1", 2) == ["2025-Q4", "2025-Q3"]
    assert previous_periods("2026-H1") == ["2025-H2"]
    assert previous_periods("2026-01") == ["2025-12"]
    assert previous_periods("FY2026", 2) == ["FY2025", "FY2024"]
    assert next_period("2026-Q4") == "2027-Q1" and next_period("2026-12") == "2027-01"
    assert next_period("FY2026-H2") == "FY2027-H1" and next_period("2026") == "2027"
    with pytest.raises(InputError, match="not understood"):
        previous_periods("Q1")
    with pytest.raises(InputError, match="look back"):
        previous_periods("2026", 0)
