"""Tests of planner.edit: drawn territories, unit toggles, hierarchy edits, tables and problems."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from planner import edit, viz
from planner import schema as s
from planner.access import AccessDeniedError, AccessScope
from planner.auth import User
from planner.edit import outcome
from planner.errors import InputError
from planner.geo.shapes import drawn_territory
from planner.models import Scenario, ScenarioState, UserRole
from planner.workspace import Workspace

#: A 3 x 2 grid of units, 0.01° wide, in central Helsinki.
WEST, SOUTH, STEP = 24.90, 60.15, 0.01


def _cell(i: int, j: int) -> box:
    return box(WEST + i * STEP, SOUTH + j * STEP, WEST + (i + 1) * STEP, SOUTH + (j + 1) * STEP)


def _column(i: int) -> box:
    return box(WEST + i * STEP, SOUTH, WEST + (i + 1) * STEP, SOUTH + 2 * STEP)


def build_grid_workspace() -> Workspace:
    """Return a workspace of six units (columns 0..2), a region R over T1 (drawn) and T2 (units).

    T1 is column 0 as a drawn shape; T2 is built from the units of column 1;
    column 2 is covered by R only, so its accounts are unassigned and its
    units are a gap. Each unit holds two accounts.
    """
    units = gpd.GeoDataFrame(
        {
            s.UNIT_ID: [f"U{i}{j}" for i in range(3) for j in range(2)],
            s.NAME: [f"Block {i}{j}" for i in range(3) for j in range(2)],
            s.UNIT_TYPE: "h3",
        },
        geometry=[_cell(i, j) for i in range(3) for j in range(2)],
        crs=s.STORAGE_CRS,
    )
    points = [
        (WEST + (i + fx) * STEP, SOUTH + (j + fy) * STEP)
        for i in range(3)
        for j in range(2)
        for fx, fy in ((0.3, 0.3), (0.7, 0.6))
    ]
    accounts = gpd.GeoDataFrame(
        {
            s.ACCOUNT_ID: [f"A{k:02d}" for k in range(len(points))],
            s.NAME: [f"Shop {k}" for k in range(len(points))],
            s.VISITS_PER_MONTH: 1.0,
            s.VISIT_MINUTES: 30.0,
            s.GEOCODE_PRECISION: "exact",
        },
        geometry=[Point(x, y) for x, y in points],
        crs=s.STORAGE_CRS,
    )
    territories = gpd.GeoDataFrame(
        {
            s.TERRITORY_ID: ["R", "T1", "T2"],
            s.NAME: ["Region", "West", "Centre"],
            s.PARENT_ID: [None, "R", "R"],
            s.LEVEL: [0, 1, 1],
            s.LEVEL_NAME: ["region", "territory", "territory"],
            s.TYPE_ID: "geographic",
            s.SOURCE: ["drawn", "drawn", "units"],
            s.RULE: None,
        },
        geometry=[box(WEST, SOUTH, WEST + 3 * STEP, SOUTH + 2 * STEP), _column(0), _column(1)],
        crs=s.STORAGE_CRS,
    )
    ws = Workspace(name="Grid", description="Six units, two leaf territories.")
    ws.set_table("units", units)
    ws.set_table("accounts", accounts)
    ws.add_scenario(Scenario("base", name="Base", state=ScenarioState.ACTIVE))
    ws.set_rows("territories", "base", territories)
    ws.set_rows(
        "unit_assignment",
        "base",
        pd.DataFrame(
            {
                s.UNIT_ID: ["U00", "U01", "U10", "U11"],
                s.TERRITORY_ID: ["T1", "T1", "T2", "T2"],
                s.LOCKED: False,
            }
        ),
    )
    edit.run_assignment(ws, "base")
    return ws


@pytest.fixture
def grid() -> Workspace:
    """A fresh grid workspace with its memberships assigned (see :func:`build_grid_workspace`)."""
    return build_grid_workspace()


def _counts(ws: Workspace) -> dict[str, int]:
    table = edit.counts_table(ws, "base")
    return dict(zip(table[s.TERRITORY_ID], table["accounts"], strict=True))


def _snapshot(ws: Workspace) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in ws.tables.items()}


def _assert_unchanged(ws: Workspace, before: dict[str, pd.DataFrame]) -> None:
    assert set(ws.tables) == set(before)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(ws.tables[name], frame)


def _scope(role: UserRole, editable: frozenset[str] | None) -> AccessScope:
    return AccessScope(
        user=User("u1", role),
        scenario_id="base",
        as_of=date(2026, 1, 1),
        territory_ids=editable,
        account_ids=None,
        rep_ids=None,
        editable_territory_ids=editable,
        own_territory_ids=frozenset(),
        subordinate_ids=frozenset(),
    )


# --------------------------------------------------------------------------- drawing


def test_drawn_territory_takes_its_accounts_and_rolls_up(grid: Workspace) -> None:
    """A territory drawn over the uncovered column takes its four accounts; the counts change."""
    assert _counts(grid) == {"R": 8, "T1": 4, "T2": 4}
    outcome = edit.add_drawn_territory(
        grid, "base", _column(2), territory_id="T3", name="East", parent_id="R", user="ann"
    )
    assert outcome.message == "Created territory T3."
    assert outcome.assignment is not None and outcome.assignment.unassigned.empty
    assert _counts(grid) == {"R": 12, "T1": 4, "T2": 4, "T3": 4}
    terr = grid.territories("base").set_index(s.TERRITORY_ID)
    assert terr.loc["T3", s.LEVEL] == 1 and terr.loc["T3", s.LEVEL_NAME] == "territory"
    assert terr.loc["T3", s.SOURCE] == "drawn"
    assert grid.audit.iloc[-1][s.USER] == "ann"


def test_counts_table_reports_the_change_since_before(grid: Workspace) -> None:
    """Given the counts from before an edit, the table adds each territory's change."""
    before = _counts(grid)
    edit.add_drawn_territory(grid, "base", _column(2), territory_id="T3", parent_id="R")
    table = edit.counts_table(grid, "base", before).set_index(s.TERRITORY_ID)
    assert table["change"].to_dict() == {"R": 4, "T1": 0, "T2": 0, "T3": 4}
    assert list(table.index) == ["R", "T1", "T2", "T3"]


def test_drawn_territory_is_clipped_to_its_parent(grid: Workspace) -> None:
    """A shape sticking out of its parent is cut to the parent's shape."""
    outside = box(WEST + 2 * STEP, SOUTH, WEST + 5 * STEP, SOUTH + 2 * STEP)
    edit.add_drawn_territory(grid, "base", outside, territory_id="T3", parent_id="R")
    shape = grid.territories("base").set_index(s.TERRITORY_ID).geometry["T3"]
    assert shape.symmetric_difference(_column(2)).area < 1e-12


def test_new_territory_id_skips_taken_ids(grid: Workspace) -> None:
    """The proposed id is the prefix, else the prefix with the first free number."""
    terr = grid.territories("base")
    assert edit.new_territory_id(terr) == "T-NEW"
    assert edit.new_territory_id(terr, prefix="T1") == "T1-2"


# --------------------------------------------------------------------------- units


def test_toggling_a_unit_moves_it_in_then_out(grid: Workspace) -> None:
    """A unit of T2 clicked into T1 moves with its accounts; clicked again it leaves T1."""
    assert edit.units_of(grid, "base", "T1") == ["U00", "U01"]
    outcome = edit.toggle_unit(grid, "base", "T1", "U10", user="ann")
    assert outcome.message == "Added unit U10 to T1 (taken from T2)."
    assert edit.units_of(grid, "base", "T1") == ["U00", "U01", "U10"]
    assert edit.units_of(grid, "base", "T2") == ["U11"]
    assert edit.unit_holder(grid, "base", "U10") == "T1"
    assert _counts(grid) == {"R": 8, "T1": 6, "T2": 2}

    outcome = edit.toggle_unit(grid, "base", "T1", "U10")
    assert outcome.message == "Removed unit U10 from T1."
    assert edit.units_of(grid, "base", "T1") == ["U00", "U01"]
    assert edit.unit_holder(grid, "base", "U10") is None
    assert _counts(grid) == {"R": 6, "T1": 4, "T2": 2}


def test_unit_owners_claims_the_units_inside_a_drawn_selection(grid: Workspace) -> None:
    """Each assigned unit maps to its territory; a drawn selection claims the units inside it."""
    assert edit.unit_owners(grid, "base") == {"U00": "T1", "U01": "T1", "U10": "T2", "U11": "T2"}
    edit.add_drawn_territory(grid, "base", _column(2), territory_id="T3", parent_id="R")
    owners = edit.unit_owners(grid, "base", selected="T3")
    assert owners["U20"] == owners["U21"] == "T3"


def test_unit_at_finds_the_clicked_unit(grid: Workspace) -> None:
    """A click inside a unit names it; a click outside every unit gives None."""
    assert edit.unit_at(grid.units, WEST + 1.5 * STEP, SOUTH + 0.5 * STEP) == "U10"
    assert edit.unit_at(grid.units, 0.0, 0.0) is None


# --------------------------------------------------------------------------- all or nothing


FAILED_EDITS: dict[str, tuple[Callable[[Workspace], object], str]] = {
    "move under its own child": (
        lambda ws: edit.move_territory(ws, "base", "R", "T1"),
        "cycle",
    ),
    "move under a missing parent": (
        lambda ws: edit.move_territory(ws, "base", "T1", "NOPE"),
        "no territory 'NOPE'",
    ),
    "draw with a taken id": (
        lambda ws: edit.add_drawn_territory(ws, "base", _column(2), territory_id="T1"),
        "territory id 'T1' is taken",
    ),
    "draw outside the parent": (
        lambda ws: edit.add_drawn_territory(
            ws, "base", box(25.5, 60.5, 25.6, 60.6), territory_id="T3", parent_id="R"
        ),
        "lies outside its parent R",
    ),
    "remove the last unit": (
        lambda ws: edit.toggle_unit(ws, "base", "T2", "U10"),
        "last unit of T2",
    ),
    "units for a parent": (
        lambda ws: edit.toggle_unit(ws, "base", "R", "U20"),
        "only the lowest level takes units",
    ),
    "rename to nothing": (
        lambda ws: edit.rename_territory(ws, "base", "T1", name="  "),
        "needs a name",
    ),
}


@pytest.mark.parametrize("case", list(FAILED_EDITS))
def test_failed_edit_changes_no_table(grid: Workspace, case: str) -> None:
    """A refused edit leaves every table, the audit log included, as it was."""
    if case == "remove the last unit":  # T2 keeps one unit: U11 goes to T1 first
        edit.toggle_unit(grid, "base", "T1", "U11")
    run, match = FAILED_EDITS[case]
    before = _snapshot(grid)
    with pytest.raises(InputError, match=match):
        run(grid)
    _assert_unchanged(grid, before)


def test_failure_after_a_write_restores_the_tables(
    grid: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the re-assignment fails after the territories were saved, they are put back."""
    before = _snapshot(grid)

    def broken(*_: object, **__: object) -> object:
        raise InputError("the assignment broke", [])

    monkeypatch.setattr(outcome, "assign_workspace", broken)
    with pytest.raises(InputError, match="the assignment broke"):
        edit.add_drawn_territory(grid, "base", _column(2), territory_id="T3", parent_id="R")
    _assert_unchanged(grid, before)


# --------------------------------------------------------------------------- hierarchy


def test_rename_changes_the_name_and_logs_it(grid: Workspace) -> None:
    """Renaming changes only the name and writes one audit entry."""
    audit_before = len(grid.audit)
    outcome = edit.rename_territory(grid, "base", "T1", name=" West side ", user="ann")
    assert outcome.message == "Renamed T1 to “West side”."
    assert outcome.assignment is None
    terr = grid.territories("base").set_index(s.TERRITORY_ID)
    assert terr.loc["T1", s.NAME] == "West side"
    assert len(grid.audit) == audit_before + 1
    assert edit.territory_label(grid.territories("base"))["T1"] == "West side (T1)"


def test_move_to_the_top_level_relevels(grid: Workspace) -> None:
    """Moving T1 to the top level makes it a root; R then counts only T2's accounts."""
    outcome = edit.move_territory(grid, "base", "T1", None)
    assert outcome.message == "Moved T1 to the top level."
    terr = grid.territories("base").set_index(s.TERRITORY_ID)
    assert terr.loc["T1", s.PARENT_ID] is None and terr.loc["T1", s.LEVEL] == 0
    assert _counts(grid)["R"] == 4


def test_hierarchy_table_is_an_indented_tree(grid: Workspace) -> None:
    """One row per territory depth first, with the path from the root."""
    table = edit.hierarchy_table(grid, "base")
    assert list(table[s.TERRITORY_ID]) == ["R", "T1", "T2"]
    assert table.set_index(s.TERRITORY_ID).loc["T2", "path"] == "Region (R) › Centre (T2)"


def test_territory_types_are_checked_before_saving(grid: Workspace) -> None:
    """Repeated ids and fractional priorities are reported together; nothing is saved."""
    before = _snapshot(grid)
    bad = pd.DataFrame(
        {
            s.TYPE_ID: ["x", "x"],
            s.NAME: ["X", "Y"],
            s.PRIORITY: [1.5, 2],
            s.DESCRIPTION: ["", ""],
        }
    )
    with pytest.raises(InputError, match="cannot be saved") as info:
        edit.save_territory_types(grid, bad)
    assert len(info.value.problems) == 2
    _assert_unchanged(grid, before)


# --------------------------------------------------------------------------- tables and problems


def test_trouble_list_finds_unassigned_accounts_and_gaps(grid: Workspace) -> None:
    """Accounts under R only are unassigned, its bare units are gaps; drawing T3 fixes both."""
    troubles = edit.trouble_list(grid, "base", edit.run_assignment(grid, "base"))
    unassigned = sorted(t.key for t in troubles if t.kind == "unassigned")
    assert unassigned == ["u:A08", "u:A09", "u:A10", "u:A11"]
    assert sorted(t.key for t in troubles if t.kind == "gap") == ["g:U20", "g:U21"]
    first = next(t for t in troubles if t.key == "u:A08")
    assert first.label.startswith("Account Shop 8 (A08): ")
    edit.add_drawn_territory(grid, "base", _column(2), territory_id="T3", parent_id="R")
    assert edit.trouble_list(grid, "base", edit.run_assignment(grid, "base")) == []


def test_membership_filters_combine(grid: Workspace) -> None:
    """Territory, cause and text filters all apply; the text matches account names."""
    table = edit.membership_table(grid, "base")
    assert len(table) == 8
    t1 = edit.filter_memberships(table, territories=["T1"], causes=["spatial"])
    assert set(t1[s.TERRITORY_ID]) == {"T1"} and len(t1) == 4
    assert list(edit.filter_memberships(table, text="shop 5")[s.ACCOUNT_ID]) == ["A05"]


def test_stale_accounts_names_accounts_whose_territory_changed(grid: Workspace) -> None:
    """Memberships stored before an edit differ from the new ones for the moved accounts."""
    stored = grid.memberships("base")
    outcome = edit.toggle_unit(grid, "base", "T1", "U10")
    assert outcome.assignment is not None
    assert edit.stale_accounts(stored, outcome.assignment) == ["A04", "A05"]


def test_repair_notes_read_once_and_skip_orientation() -> None:
    """A repaired drawing names itself once; a lone re-orientation note is dropped."""
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[24.9, 60.1], [24.95, 60.15], [24.95, 60.1], [24.9, 60.15], [24.9, 60.1]]],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drawn = drawn_territory(bow_tie, label="the drawn shape")
    notes = edit.repair_notes(drawn.warnings)
    assert notes and all("drawn shape the drawn shape" not in n for n in notes)
    assert notes[0].startswith("the drawn shape (Self-intersection)")
    assert all("orientation" not in n for n in notes)


# --------------------------------------------------------------------------- access


def test_edit_rights_follow_the_scope() -> None:
    """Nobody signed in edits nothing; a manager edits only their own territories."""
    with pytest.raises(AccessDeniedError, match="may not edit territories"):
        edit.require_edit_rights(None, "T1")
    manager = _scope(UserRole.MANAGER, frozenset({"T1"}))
    edit.require_edit_rights(manager, "T1", None)
    with pytest.raises(AccessDeniedError, match="T2 is outside"):
        edit.require_edit_rights(manager, "T1", "T2")
    with pytest.raises(AccessDeniedError, match="only planners and admins"):
        edit.require_edit_rights(manager, everything=True)
    edit.require_edit_rights(_scope(UserRole.PLANNER, None), "T2", everything=True)


def test_an_edit_that_splits_a_territory_says_so_and_lists_it(grid: Workspace) -> None:
    """T2 = U10, U11, U20 (an L); giving U10 to T1 leaves U11 and U20 touching at a corner."""
    joined = edit.toggle_unit(grid, "base", "T2", "U20")
    assert not any("separate parts" in w for w in joined.warnings)
    split = edit.toggle_unit(grid, "base", "T1", "U10")
    assert any(w.startswith("T2 is now in 2 separate parts") for w in split.warnings)
    troubles = edit.trouble_list(grid, "base", split.assignment)
    assert [t.label for t in troubles if t.kind == "split"] == [
        "T2 is in 2 separate parts (not contiguous)"
    ]
    mended = edit.toggle_unit(grid, "base", "T2", "U10")  # take it back: whole again
    assert not any("separate parts" in w for w in mended.warnings)
    assert not [t for t in edit.trouble_list(grid, "base", mended.assignment) if t.kind == "split"]


def test_counts_from_a_given_summary_and_their_change_match_the_table(grid: Workspace) -> None:
    """A caller's summary gives the same table; ``with_change`` adds the change as
    ``counts_table(..., before)`` does, on a copy."""
    before = _counts(grid)
    edit.add_drawn_territory(grid, "base", _column(2), territory_id="T3", parent_id="R")
    table = edit.counts_table(grid, "base", summary=viz.territory_summary(grid, "base"))
    pd.testing.assert_frame_equal(table, edit.counts_table(grid, "base"))
    changed = edit.with_change(table, before)
    pd.testing.assert_frame_equal(changed, edit.counts_table(grid, "base", before))
    assert "change" not in table.columns and changed["change"].abs().sum() == 8
