"""Tests of target roll-ups, reports by territory, star performers and sales cycles."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from planner.access import AccessDeniedError, build_scope
from planner.errors import InputError
from planner.models import Target
from planner.reports import (
    actuals_by_territory,
    period_bounds,
    read_opportunities,
    sales_cycle,
    set_targets,
    star_performers,
    target_rollup,
    territory_report,
)
from planner.reports.frames import str_ids


@pytest.fixture
def small_tree() -> pd.DataFrame:
    """Root > D1 > (T1, T2) and Root > D2 > T3."""
    return pd.DataFrame(
        {
            "territory_id": ["ROOT", "D1", "D2", "T1", "T2", "T3"],
            "name": ["All", "East", "West", "T one", "T two", "T three"],
            "parent_id": [None, "ROOT", "ROOT", "D1", "D1", "D2"],
        }
    )


@pytest.fixture
def four_accounts() -> pd.DataFrame:
    """Four accounts with revenue and visit patterns."""
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4"],
            "annual_revenue": [100.0, 200.0, None, 400.0],
            "visits_per_month": [2.0, 1.0, 4.0, None],
            "visit_minutes": [30.0, 60.0, 15.0, 45.0],
        }
    )


@pytest.fixture
def memberships() -> pd.DataFrame:
    """a1, a2 in T1; a3 in T2; a4 in T3; a4 also (non-primary) in T1."""
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a4"],
            "territory_id": ["T1", "T1", "T2", "T3", "T1"],
            "is_primary": [True, True, True, True, False],
        }
    )


@pytest.fixture
def targets() -> pd.DataFrame:
    """T1 has its own target; T2's comes from two users; D1 has a target above the sum."""
    return pd.DataFrame(
        {
            "scenario_id": ["s"] * 6,
            "territory_id": ["T1", "T2", "T2", "D1", None, "T1"],
            "rep_id": [None, "R1", "R2", None, "R1", None],
            "period": ["2025", "2025", "2025", "2025", "2025", "2024"],
            "metric": ["revenue"] * 6,
            "value": [100.0, 60.0, 40.0, 250.0, 500.0, 999.0],
        }
    )


OPPORTUNITIES_CSV = """Opportunity ID,Account ID,Owner,Amount,Created Date,Close Date,Stage Name
o1,a1,R1,50,2025-01-10,2025-02-09,Closed Won
o2,a2,R1,30,2025-03-01,2025-03-31,Closed Lost
o3,a3,R2,80,2024-12-01,2025-01-30,Closed Won
o4,a4,R3,70,2025-02-01,,Prospecting
o5,a4,R3,20,2024-01-01,2024-03-01,Closed Won
"""


@pytest.fixture
def opportunities(tmp_path: Path) -> pd.DataFrame:
    """Five opportunities read from a CSV with CRM-style headers."""
    path = tmp_path / "opportunities.csv"
    path.write_text(OPPORTUNITIES_CSV)
    return read_opportunities(path)


def test_read_opportunities(opportunities: pd.DataFrame) -> None:
    """Headers are recognised, stages classified and cycles measured in days."""
    assert opportunities["opportunity_id"].tolist() == ["o1", "o2", "o3", "o4", "o5"]
    assert opportunities["is_won"].tolist() == [True, False, True, False, True]
    assert opportunities["is_closed"].tolist() == [True, True, True, False, True]
    assert opportunities["cycle_days"].tolist()[:3] == [30.0, 30.0, 60.0]
    assert math.isnan(opportunities["cycle_days"][3])


def test_read_opportunities_lists_every_bad_row(tmp_path: Path) -> None:
    """All problems are reported at once, with file row numbers."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "account_id,owner_id,amount,created_date,closed_date,stage\n"
        "a1,R1,ten,2025-01-01,2025-02-01,Closed Won\n"
        ",R1,5,2025-01-01,,Open\n"
        "a3,R1,5,2025-03-01,2025-02-01,Closed Won\n"
        "a4,R1,5,2025-03-01,,Closed Lost\n"
        "a5,R1,-1,soon,,Open\n"
    )
    with pytest.raises(InputError, match="opportunities cannot be used") as info:
        read_opportunities(path)
    text = str(info.value)
    assert "'amount' is not a non-negative number (rows 2, 6" in text
    assert "'account_id' is empty (row 3" in text
    assert "closed_date is before created_date (row 4" in text
    assert "a closed opportunity has no closed_date (row 5" in text
    assert "'created_date' is not a date (row 6" in text


def test_read_opportunities_missing_columns() -> None:
    """Missing columns are named."""
    with pytest.raises(InputError, match="required column 'stage' is missing"):
        read_opportunities(
            pd.DataFrame(
                {
                    "account_id": ["a"],
                    "owner_id": ["r"],
                    "amount": [1],
                    "created_date": ["2025-01-01"],
                    "closed_date": [""],
                }
            )
        )


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2025", "2025-01-01", "2026-01-01"),
        ("2025-q2", "2025-04-01", "2025-07-01"),
        ("2025-H2", "2025-07-01", "2026-01-01"),
        ("2025-12", "2025-12-01", "2026-01-01"),
    ],
)
def test_period_bounds(period: str, start: str, end: str) -> None:
    """Years, halves, quarters and months map to half-open date ranges."""
    assert period_bounds(period) == (pd.Timestamp(start), pd.Timestamp(end))


def test_period_bounds_refuses_nonsense() -> None:
    """An unknown period is an input error with the accepted forms."""
    with pytest.raises(InputError, match="write 2025, 2025-H1"):
        period_bounds("2025-13")


def test_target_rollup(small_tree: pd.DataFrame, targets: pd.DataFrame) -> None:
    """Own targets, user sums, effective targets rolled up, and the undistributed gap."""
    out = target_rollup(small_tree, targets, period="2025").set_index("territory_id")
    assert out.loc["T1", "target"] == 100.0
    assert out.loc["T2", "target_users"] == 100.0 and out.loc["T2", "target"] == 100.0
    assert out.loc["D1", "target_below"] == 200.0
    assert out.loc["D1", "target_effective"] == 250.0
    assert out.loc["D1", "target_gap"] == 50.0
    assert math.isnan(out.loc["D2", "target_effective"])
    assert out.loc["ROOT", "target_effective"] == 250.0
    assert math.isnan(out.loc["ROOT", "target"])
    assert out.index.tolist()[0] == "ROOT"


def test_target_rollup_needs_a_period_when_several(
    small_tree: pd.DataFrame, targets: pd.DataFrame
) -> None:
    """Targets of two periods cannot be mixed silently."""
    with pytest.raises(InputError, match="targets cover several periods"):
        target_rollup(small_tree, targets)


def test_territory_report(
    small_tree: pd.DataFrame,
    four_accounts: pd.DataFrame,
    memberships: pd.DataFrame,
    targets: pd.DataFrame,
    opportunities: pd.DataFrame,
) -> None:
    """Subtree totals of accounts, revenue and workload; won amounts against targets."""
    assoc = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "territory_id": ["T1", "T1"], "role": ["owner", "overlay"]}
    )
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Ann", "Bob"]})
    extra = pd.DataFrame({"territory_id": ["T1"], "drive_time_h": [3.5]})
    out = territory_report(
        small_tree,
        memberships,
        four_accounts,
        targets=targets,
        opportunities=opportunities,
        associations=assoc,
        reps=reps,
        period="2025",
        extra=extra,
    ).set_index("territory_id")
    assert out.loc["T1", "owners"] == "Ann"
    assert out.loc["T1", "accounts"] == 2 and out.loc["D1", "accounts"] == 3
    assert out.loc["ROOT", "accounts"] == 4
    assert out.loc["D1", "annual_revenue"] == 300.0
    assert out.loc["T1", "workload_h"] == pytest.approx(2.0)
    assert out.loc["T1", "drive_time_h"] == 3.5 and math.isnan(out.loc["T2", "drive_time_h"])
    assert out.loc["T1", "won_amount"] == 50.0 and out.loc["T1", "attainment"] == 0.5
    assert out.loc["D1", "won_amount"] == 130.0
    assert out.loc["D1", "attainment"] == pytest.approx(130.0 / 250.0)
    assert out.loc["T3", "won_amount"] == 0.0  # o5 closed in 2024
    assert out.loc["T3", "pipeline_amount"] == 70.0
    assert out.loc["ROOT", "path"] == "All" and out.loc["T1", "path"] == "All › East › T one"


def test_actuals_count_each_opportunity_once_per_territory(
    small_tree: pd.DataFrame, opportunities: pd.DataFrame
) -> None:
    """An account in two territories of one subtree counts once in their common parent."""
    twice = pd.DataFrame({"account_id": ["a1", "a1"], "territory_id": ["T1", "T2"]})
    out = actuals_by_territory(small_tree, twice, opportunities).set_index("territory_id")
    assert out.loc["T1", "won_amount"] == out.loc["T2", "won_amount"] == 50.0
    assert out.loc["D1", "won_amount"] == 50.0


def test_star_performers(
    small_tree: pd.DataFrame, targets: pd.DataFrame, opportunities: pd.DataFrame
) -> None:
    """Users ranked by attainment; user-level targets win over territory sums."""
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"], "name": ["Ann", "Bob", "Cy", "Di"]})
    assoc = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R2"],
            "territory_id": ["T1", "T2", "T1"],
            "role": ["owner", "owner", "overlay"],
            "end_date": [None, None, "2020-01-01"],
        }
    )
    out = star_performers(
        reps, targets, opportunities, associations=assoc, territories=small_tree, period="2025"
    )
    assert out["rep_id"].tolist() == ["R2", "R1"]
    first = out.iloc[0]
    assert (first["rank"], first["target"], first["won_amount"]) == (1, 40.0, 80.0)
    assert first["attainment"] == 2.0 and first["territories"] == "T two"
    assert out.iloc[1]["target"] == 500.0 and out.iloc[1]["attainment"] == 0.1


def test_sales_cycle(
    small_tree: pd.DataFrame, memberships: pd.DataFrame, opportunities: pd.DataFrame
) -> None:
    """Cycle statistics per territory, rolled up; won_only narrows the measure."""
    out = sales_cycle(small_tree, memberships, opportunities, period="2025").set_index(
        "territory_id"
    )
    assert out.loc["T1", "closed_count"] == 2 and out.loc["T1", "win_rate"] == 0.5
    assert out.loc["D1", "cycle_days_median"] == 30.0
    assert out.loc["D1", "cycle_days_mean"] == pytest.approx(40.0)
    assert out.loc["T3", "closed_count"] == 0 and math.isnan(out.loc["T3", "cycle_days_median"])
    won = sales_cycle(small_tree, memberships, opportunities, won_only=True)
    assert won.set_index("territory_id").loc["ROOT", "cycle_days_median"] == 60.0


def test_set_targets_upserts_and_checks_scope(targets: pd.DataFrame) -> None:
    """set_targets replaces same-key rows, refuses bad values and respects the scope."""
    out = set_targets(targets, [Target("2025", 120.0, territory_id="T1")], scenario_id="s")
    assert len(out) == len(targets)
    t1 = out[(out["territory_id"] == "T1") & (out["period"] == "2025")]
    assert t1["value"].tolist() == [120.0]
    with pytest.raises(InputError, match="use a non-negative number"):
        set_targets(targets, [Target("2025", -1.0, territory_id="T1")], scenario_id="s")
    reps = pd.DataFrame({"rep_id": ["R1"], "role": ["rep"]})
    terr = pd.DataFrame({"territory_id": ["T1"], "parent_id": [None]})
    assoc = pd.DataFrame({"rep_id": ["R1"], "territory_id": ["T1"], "role": ["owner"]})
    rep = build_scope("R1", reps=reps, territories=terr, associations=assoc)
    with pytest.raises(AccessDeniedError, match="may not set the targets T1/-"):
        set_targets(targets, [Target("2025", 1.0, territory_id="T1")], scenario_id="s", scope=rep)


def test_fiscal_periods_are_understood() -> None:
    """FY periods match calendar years by default and shift with the fiscal start month."""
    from planner.reports import period_bounds

    assert period_bounds("FY2027-Q1") == (pd.Timestamp("2027-01-01"), pd.Timestamp("2027-04-01"))
    assert period_bounds("fy2026", fiscal_year_start_month=2) == (
        pd.Timestamp("2025-02-01"),
        pd.Timestamp("2026-02-01"),
    )
    assert period_bounds("FY2026-Q2", fiscal_year_start_month=7) == (
        pd.Timestamp("2025-10-01"),
        pd.Timestamp("2026-01-01"),
    )
    with pytest.raises(InputError, match="FY2025-Q1"):
        period_bounds("FY2026-07")


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["A1", None, "B2"], dtype="string"),
        pd.Series([1, 2, None]),
        pd.Series([1.5, float("nan"), 3.0]),
        pd.Series(["a", None, 3]),
        pd.Series(pd.array([7, None], dtype="Int64")),
        pd.Series([], dtype=object),
    ],
)
def test_ids_as_text_keep_missing_as_none(values: pd.Series) -> None:
    """str_ids gives each present value's text and None for every kind of missing value."""
    expected = [None if pd.isna(v) else str(v) for v in values.astype(object)]
    got = str_ids(values)
    assert list(got) == expected
    assert got.index.equals(values.index)
