"""Staffing: assigning users to territories with a role and dates, their load, the vacancies."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.access import scope_for
from planner.errors import InputError
from planner.staffing import (
    assign_user,
    end_assignment,
    remove_assignment,
    territory_staff,
    user_load,
    vacancies,
)
from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace


@pytest.fixture
def ws() -> Workspace:
    """The small Helsinki workspace: R1 owns T1, R2 manages R; T2 and T3 have no owner."""
    return build_small_workspace()


def _rows(ws: Workspace, territory_id: str) -> list[tuple[str, str, object, object]]:
    assoc = ws.rows("associations", "base")
    mine = assoc[assoc[s.TERRITORY_ID] == territory_id]

    def day(v: object) -> object:
        return None if s.is_missing(v) else v

    return sorted(
        (r[s.REP_ID], r[s.ROLE], day(r[s.START_DATE]), day(r[s.END_DATE]))
        for _, r in mine.iterrows()
    )


def test_assign_adds_a_dated_row_and_logs_it(ws: Workspace) -> None:
    """A new owner gets one association row with its dates and one audit entry."""
    before = len(ws.audit)
    out = assign_user(
        ws, "base", territory_id="T2", rep_id="R1", role="owner",
        start_date="2026-01-01", end_date="2026-12-31", user="P1",
    )  # fmt: skip
    assert _rows(ws, "T2") == [("R1", "owner", "2026-01-01", "2026-12-31")]
    assert "Added R1 as owner of T2" in out.message
    assert len(ws.audit) == before + 1
    assert ws.audit.iloc[-1][s.ACTION] == "staff assign"
    assert ws.audit.iloc[-1][s.USER] == "P1"


def test_assign_again_changes_the_dates_of_the_same_row(ws: Workspace) -> None:
    """The same user, territory and role is one row: a second assignment updates its dates."""
    assign_user(ws, "base", territory_id="T2", rep_id="R1", role="overlay")
    out = assign_user(
        ws, "base", territory_id="T2", rep_id="R1", role="overlay", start_date="2026-03-01"
    )
    assert _rows(ws, "T2") == [("R1", "overlay", "2026-03-01", None)]
    assert out.message.startswith("Changed")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"territory_id": "NOPE", "rep_id": "R1", "role": "owner"}, "no territory 'NOPE'"),
        ({"territory_id": "T2", "rep_id": "ghost", "role": "owner"}, "no user 'ghost'"),
        ({"territory_id": "T2", "rep_id": "R1", "role": "boss"}, "not a staffing role"),
        (
            {"territory_id": "T2", "rep_id": "R1", "role": "owner", "start_date": "soon"},
            "is not a date",
        ),
        (
            {
                "territory_id": "T2", "rep_id": "R1", "role": "owner",
                "start_date": "2026-05-01", "end_date": "2026-04-30",
            },
            "before start date",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_fix(ws: Workspace, kwargs: dict, match: str) -> None:
    """Each mistake gets an InputError naming it and a fix; nothing changes."""
    before = ws.rows("associations", "base").copy()
    with pytest.raises(InputError, match=match) as info:
        assign_user(ws, "base", **kwargs)
    assert info.value.problems and info.value.problems[0].fix
    assert ws.rows("associations", "base").equals(before)


def test_two_owners_at_once_are_refused_but_successive_ones_are_fine(ws: Workspace) -> None:
    """T1 is owned by R1 (open dates): R2 can own it only after R1's ownership ends."""
    with pytest.raises(InputError, match="already has owner 'R1'"):
        assign_user(ws, "base", territory_id="T1", rep_id="R2", role="owner")
    end_assignment(ws, "base", territory_id="T1", rep_id="R1", role="owner", end_date="2026-06-30")
    with pytest.raises(InputError, match="already has owner 'R1'"):
        assign_user(
            ws, "base", territory_id="T1", rep_id="R2", role="owner", start_date="2026-06-30"
        )
    assign_user(ws, "base", territory_id="T1", rep_id="R2", role="owner", start_date="2026-07-01")
    assign_user(ws, "base", territory_id="T1", rep_id="R2", role="overlay")  # overlays may overlap
    assert [r[:2] for r in _rows(ws, "T1")] == [("R1", "owner"), ("R2", "overlay"), ("R2", "owner")]


def test_end_and_remove_need_an_existing_assignment(ws: Workspace) -> None:
    """Ending or removing what is not there says so; ending before the start is refused."""
    with pytest.raises(InputError, match="has no owner assignment on territory 'T3'"):
        end_assignment(ws, "base", territory_id="T3", rep_id="R1", role="owner")
    with pytest.raises(InputError, match="has no overlay assignment"):
        remove_assignment(ws, "base", territory_id="T1", rep_id="R1", role="overlay")
    assign_user(ws, "base", territory_id="T3", rep_id="R1", role="owner", start_date="2026-05-01")
    with pytest.raises(InputError, match="before the assignment's start"):
        end_assignment(
            ws, "base", territory_id="T3", rep_id="R1", role="owner", end_date="2026-04-01"
        )
    remove_assignment(ws, "base", territory_id="T3", rep_id="R1", role="owner", user="P1")
    assert _rows(ws, "T3") == []
    assert ws.audit.iloc[-1][s.ACTION] == "staff remove"


def test_a_rep_staffed_on_a_territory_then_sees_its_accounts(ws: Workspace) -> None:
    """Staffing is what access reads: R1 sees T3's accounts from the start date on, not before."""
    start = date.today() + timedelta(days=10)
    assign_user(ws, "base", territory_id="T3", rep_id="R1", role="overlay", start_date=start)
    mem = ws.rows("memberships", "base")
    t3 = set(mem.loc[mem[s.TERRITORY_ID] == "T3", s.ACCOUNT_ID])
    assert t3
    assert not t3 & set(scope_for(ws, "R1", scenario_id="base").account_ids or ())
    later = scope_for(ws, "R1", scenario_id="base", as_of=start)
    assert t3 <= set(later.account_ids or ())


def test_territory_staff_lists_people_with_current_flag(ws: Workspace) -> None:
    """The people of T1: its owner with name and role, current today."""
    assign_user(ws, "base", territory_id="T1", rep_id="R2", role="overlay", end_date="2000-01-01")
    staff = territory_staff(ws, "base", "T1")
    assert staff[[s.REP_ID, s.ROLE, "current"]].values.tolist() == [
        ["R1", "owner", True],
        ["R2", "overlay", False],
    ]
    assert staff[s.NAME].tolist() == ["Aino Virtanen", "Mikko Korhonen"]


def test_user_load_counts_territories_accounts_and_workload(ws: Workspace) -> None:
    """R1 owns T1: its accounts and their visit hours (2 visits x 30 min a month each)."""
    load = user_load(ws, "base").set_index(s.REP_ID)
    mem = ws.rows("memberships", "base")
    n_t1 = int((mem[s.TERRITORY_ID] == "T1").sum())
    assert load.loc["R1", "territories"] == 1
    assert load.loc["R1", "roles"] == "owner 1"
    assert load.loc["R1", "accounts"] == n_t1
    assert load.loc["R1", "workload_h_per_month"] == pytest.approx(n_t1 * 1.0)
    assert load.loc["R2", "roles"] == "manager 1"
    assert load.loc["R2", "accounts"] == 0  # managing is not working the accounts


def test_vacancies_are_leaves_without_a_current_owner(ws: Workspace) -> None:
    """T2 and T3 are vacant (R is a parent, T1 is owned); staffing T2 fills it."""
    assert vacancies(ws, "base")[s.TERRITORY_ID].tolist() == ["T2", "T3"]
    assign_user(ws, "base", territory_id="T2", rep_id="R2", role="owner")
    end_assignment(ws, "base", territory_id="T1", rep_id="R1", role="owner", end_date="2001-02-28")
    vac = vacancies(ws, "base").set_index(s.TERRITORY_ID)
    assert vac.index.tolist() == ["T1", "T3"]
    assert vac.loc["T1", "last_owner"] == "R1"
    assert vac.loc["T1", "vacant_since"] == "2001-03-01"


_PROPERTY_WS = build_small_workspace(n_accounts=5)
_PROPERTY_ASSOC = _PROPERTY_WS.rows("associations", "base")
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=25, deadline=None)
@given(start=days, length=st.integers(0, 400), probe=days)
def test_after_assign_then_end_the_user_is_current_only_inside_the_dates(
    start: date, length: int, probe: date
) -> None:
    """Assign from ``start``, end ``length`` days later: current exactly on the days between."""
    ws = _PROPERTY_WS
    ws.set_rows("associations", "base", _PROPERTY_ASSOC)
    end = start + timedelta(days=length)
    assign_user(ws, "base", territory_id="T2", rep_id="R1", role="owner", start_date=start)
    end_assignment(ws, "base", territory_id="T2", rep_id="R1", role="owner", end_date=end)
    staff = territory_staff(ws, "base", "T2", as_of=probe)
    assert staff["current"].tolist() == [start <= probe <= end]
    own = scope_for(ws, "R1", scenario_id="base", as_of=probe).own_territory_ids
    assert ("T2" in own) == (start <= probe <= end)
