"""Reassignment rights: every territory a move touches must be one the mover may edit."""

from __future__ import annotations

import pytest

from planner.access import AccessDeniedError, scope_for
from planner.reassign import reassign
from planner.samples import sample_path
from planner.workspace import Workspace, open_workspace


@pytest.fixture
def georgia() -> Workspace:
    return open_workspace(sample_path("georgia"))


def _savannah_unit(ws: Workspace) -> str:
    ua = ws.rows("unit_assignment", ws.active_scenario_id())
    return str(ua.loc[ua["territory_id"] == "T-SAV", "unit_id"].iloc[0])


def test_a_manager_may_not_take_units_from_another_region(georgia: Workspace) -> None:
    sid = georgia.active_scenario_id()
    before = {t: georgia.tables[t] for t in ("unit_assignment", "overrides", "territories")}
    north = scope_for(georgia, "ga-mgr-r-north", scenario_id=sid)
    with pytest.raises(AccessDeniedError):
        reassign(georgia, sid, to_territory="T-ATL", units=[_savannah_unit(georgia)], scope=north)
    for table, frame in before.items():
        assert georgia.tables[table] is frame  # nothing changed, not even in memory


def test_an_empty_unit_still_needs_its_holders_right(georgia: Workspace) -> None:
    """A unit without accounts moves no account, but its territory still loses it."""
    sid = georgia.active_scenario_id()
    unit = _savannah_unit(georgia)
    accounts = georgia.accounts
    georgia.set_table("accounts", accounts.iloc[0:0])  # no account anywhere
    north = scope_for(georgia, "ga-mgr-r-north", scenario_id=sid)
    with pytest.raises(AccessDeniedError):
        reassign(georgia, sid, to_territory="T-ATL", units=[unit], scope=north, recompute=False)


def test_a_planner_may_move_them(georgia: Workspace) -> None:
    sid = georgia.active_scenario_id()
    unit = _savannah_unit(georgia)
    planner = scope_for(georgia, "ga-planner", scenario_id=sid)
    done = reassign(georgia, sid, to_territory="T-ATL", units=[unit], scope=planner)
    ua = georgia.rows("unit_assignment", sid).set_index("unit_id")["territory_id"]
    assert ua[unit] == "T-ATL" and done.units_moved == (unit,)
