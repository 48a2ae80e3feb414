"""Tests for balancing glue with workspace scenarios: plans read, aligned, saved and compared."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from planner import schema as s
from planner.balance import (
    ACCOUNT_COUNT,
    Locks,
    TerritoryPlan,
    compute_metrics,
    design_territories,
    units_with_workload,
)
from planner.balance.scenario import (
    SAVE_ACTION,
    align_plan,
    compare_scenarios,
    keep_territories_locks,
    moved_accounts,
    recorded_weight,
    save_plan_as_scenario,
    scenario_assignment,
    territory_owners,
    unique_scenario_id,
)
from planner.errors import InputError
from planner.models import Scenario, ScenarioState
from planner.workspace import Workspace

WEST, SOUTH, STEP = 24.90, 60.15, 0.01
#: Leaf territory of each grid column in the base plan.
BASE_COLUMNS = {0: "T1", 1: "T2", 2: "T2", 3: "T3"}


def _unit_id(i: int, j: int) -> str:
    return f"U{i}{j}"


def grid_workspace() -> Workspace:
    """Return a 4 x 3 grid of square units (column i, row j), two accounts in each.

    The active scenario ``base`` has a region ``R`` over leaves ``T1`` (column
    0), ``T2`` (columns 1-2) and ``T3`` (column 3), built from units. Rep
    ``R1`` owns T1, ``R2`` owns T2, ``R3``'s ownership of T3 ended in 2000 and
    manager ``M`` manages R.
    """
    cells = [(i, j) for i in range(4) for j in range(3)]
    units = gpd.GeoDataFrame(
        {s.UNIT_ID: [_unit_id(i, j) for i, j in cells], s.NAME: None, s.UNIT_TYPE: "h3"},
        geometry=[box(WEST + i * STEP, SOUTH + j * STEP, WEST + (i + 1) * STEP,
                      SOUTH + (j + 1) * STEP) for i, j in cells],
        crs=s.STORAGE_CRS,
    )
    points, ids = [], []
    for i, j in cells:
        for n, dx in enumerate((0.3, 0.7)):
            points.append(Point(WEST + (i + dx) * STEP, SOUTH + (j + 0.5) * STEP))
            ids.append(f"A{i}{j}{n}")
    accounts = gpd.GeoDataFrame(
        {s.ACCOUNT_ID: ids, s.NAME: [f"Shop {a}" for a in ids], s.VISITS_PER_MONTH: 2.0,
         s.VISIT_MINUTES: 30.0, s.ANNUAL_REVENUE: 1000.0, s.GEOCODE_PRECISION: "exact"},
        geometry=points, crs=s.STORAGE_CRS)
    reps = gpd.GeoDataFrame(
        {s.REP_ID: ["R1", "R2", "R3", "M"], s.NAME: ["Anna", "Ben", "Cleo", "Mona"],
         s.ROLE: ["rep", "rep", "rep", "manager"], s.CAPACITY_H_PER_WEEK: 40.0},
        geometry=[Point(WEST + 0.005, SOUTH + 0.015), Point(WEST + 0.025, SOUTH + 0.015),
                  Point(WEST + 0.035, SOUTH + 0.015), Point(WEST + 0.02, SOUTH + 0.02)],
        crs=s.STORAGE_CRS)
    ws = Workspace(name="Grid")
    ws.set_table("units", units)
    ws.set_table("accounts", accounts)
    ws.set_table("reps", reps)
    ws.add_scenario(Scenario("base", name="Base", state=ScenarioState.ACTIVE))
    assignment = {_unit_id(i, j): BASE_COLUMNS[i] for i, j in cells}
    ws.set_rows("unit_assignment", "base", pd.DataFrame(
        {s.UNIT_ID: list(assignment), s.TERRITORY_ID: list(assignment.values()),
         s.LOCKED: False}))
    shapes = {t: shapely.union_all([units.geometry[k] for k, (i, _j) in enumerate(cells)
                                    if BASE_COLUMNS[i] == t]) for t in ("T1", "T2", "T3")}
    ws.set_rows("territories", "base", gpd.GeoDataFrame(
        {s.TERRITORY_ID: ["R", "T1", "T2", "T3"], s.NAME: ["Region", "West", "Middle", "East"],
         s.PARENT_ID: [None, "R", "R", "R"], s.LEVEL: [0, 1, 1, 1],
         s.LEVEL_NAME: ["region", "territory", "territory", "territory"],
         s.TYPE_ID: "geographic", s.SOURCE: "units", s.RULE: None},
        geometry=[shapely.union_all(list(shapes.values())), shapes["T1"], shapes["T2"],
                  shapes["T3"]], crs=s.STORAGE_CRS))
    ws.set_rows("associations", "base", pd.DataFrame(
        {s.REP_ID: ["R1", "R2", "R3", "M"], s.TERRITORY_ID: ["T1", "T2", "T3", "R"],
         s.ROLE: ["owner", "owner", "owner", "manager"],
         s.END_DATE: [None, None, "2000-01-01", None]}))
    from planner.geo.assign import assign_workspace

    assign_workspace(ws, "base", store=True)
    return ws


@pytest.fixture
def grid_ws() -> Workspace:
    """A fresh 4 x 3 grid workspace with a region over three leaf territories."""
    return grid_workspace()


@pytest.fixture
def grid_units(grid_ws: Workspace) -> gpd.GeoDataFrame:
    """The grid's units with account_count and workload_h."""
    return units_with_workload(grid_ws.units, grid_ws.accounts)


def plan_of(
    units: gpd.GeoDataFrame,
    mapping: dict[str, str],
    *,
    rep_of: dict[str, str] | None = None,
    **parameters: Any,
) -> TerritoryPlan:
    """Return a plan assigning units by ``mapping``, balanced on account counts."""
    assignment = pd.Series(mapping, name=s.TERRITORY_ID)
    assignment.index.name = s.UNIT_ID
    params = {"method": "design", "weight": ACCOUNT_COUNT, **parameters}
    locks = params.get("locks", {})
    metrics = compute_metrics(units, assignment, weight=ACCOUNT_COUNT,
                              locked_territories=locks.get("territories", []))
    return TerritoryPlan(assignment, params, metrics, frozenset(locks.get("units", {})),
                         rep_of=rep_of or {})


def by_column(columns: dict[int, str]) -> dict[str, str]:
    """Return unit id -> territory for a plan that gives whole grid columns to territories."""
    return {_unit_id(i, j): columns[i] for i in range(4) for j in range(3)}


# --- reading a scenario -----------------------------------------------------------------------
def test_scenario_assignment_reads_unit_assignment(grid_ws: Workspace) -> None:
    """Every unit gets the territory of its unit_assignment row, in the units' order."""
    got = scenario_assignment(grid_ws, "base")
    assert list(got.index) == list(grid_ws.units[s.UNIT_ID])
    assert got.to_dict() == by_column(BASE_COLUMNS)


def test_scenario_assignment_places_units_without_rows_by_shape(grid_ws: Workspace) -> None:
    """Units with no row take the leaf covering most of them, or the nearest leaf."""
    rows = grid_ws.rows("unit_assignment", "base")
    terr = grid_ws.territories("base")
    # T1 reaches 30 % into U10; T2 shrinks to column 1; T3 to the upper two cells of column 3,
    # so U30 lies in no leaf: T3 touches it, T2 is a cell away
    shrunk = terr.copy()
    shapes = {"T1": box(WEST, SOUTH, WEST + 1.3 * STEP, SOUTH + 3 * STEP),
              "T2": box(WEST + 1.3 * STEP, SOUTH, WEST + 2 * STEP, SOUTH + 3 * STEP),
              "T3": box(WEST + 3 * STEP, SOUTH + STEP, WEST + 4 * STEP, SOUTH + 3 * STEP)}
    for tid, shape in shapes.items():
        shrunk.loc[shrunk[s.TERRITORY_ID] == tid, "geometry"] = shape
    grid_ws.set_rows("territories", "base", shrunk)
    grid_ws.set_rows("unit_assignment", "base",
                     rows[~rows[s.UNIT_ID].isin(["U00", "U10", "U30"])])
    got = scenario_assignment(grid_ws, "base")
    assert got["U00"] == "T1"
    assert got["U10"] == "T2"  # 70 % of it is in T2
    assert got["U30"] == "T3"
    assert got["U31"] == "T3"  # rows that exist win


def test_scenario_assignment_without_rows_or_shapes_says_how_to_fix(grid_ws: Workspace) -> None:
    """A scenario with neither unit rows nor leaf shapes is an input error naming the fix."""
    grid_ws.set_rows("unit_assignment", "base", grid_ws.rows("unit_assignment", "base").iloc[:0])
    terr = grid_ws.territories("base")
    terr["geometry"] = None
    grid_ws.set_rows("territories", "base", terr, validate=False)
    with pytest.raises(InputError, match="no leaf territory has a shape"):
        scenario_assignment(grid_ws, "base")


def test_territory_owners_skips_ended_associations(grid_ws: Workspace) -> None:
    """Current owners only: R3's ownership ended, and managers are not owners."""
    assert territory_owners(grid_ws, "base") == {"T1": "R1", "T2": "R2"}


def test_keep_territories_locks_relabels_to_reps(grid_ws: Workspace) -> None:
    """Keeping T1 pins its units; with labels the pins name T1's rep."""
    base = scenario_assignment(grid_ws, "base")
    locks = keep_territories_locks(base, ["T1"])
    assert locks.territories == frozenset({"T1"})
    assert set(locks.units) == {"U00", "U01", "U02"}
    relabelled = keep_territories_locks(base, ["T1"], labels={"T1": "R1"})
    assert relabelled.territories == frozenset({"R1"})
    assert set(relabelled.units.values()) == {"R1"}


def test_keep_territories_locks_needs_a_label_for_each(grid_ws: Workspace) -> None:
    """A locked territory without an owner cannot be kept in a design around reps."""
    base = scenario_assignment(grid_ws, "base")
    with pytest.raises(InputError, match="T3 have no owner rep"):
        keep_territories_locks(base, ["T3"], labels={"T1": "R1"})


def test_recorded_weight(grid_ws: Workspace) -> None:
    """The balance variable comes from the scenario's parameters when recorded."""
    assert recorded_weight(grid_ws, "base") is None
    grid_ws.update_scenario(Scenario("base", name="Base", state=ScenarioState.ACTIVE,
                                     parameters={"weight": {"a": 1, "b": 2}}))
    assert recorded_weight(grid_ws, "base") == {"a": 1.0, "b": 2.0}


# --- aligning a designed plan -----------------------------------------------------------------
def test_align_plan_renames_to_the_most_overlapping_territories(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """Designed ids take the ids of the base territories they share most accounts with."""
    plan = plan_of(grid_units, by_column({0: "T02", 1: "T01", 2: "T01", 3: "T03"}))
    base = scenario_assignment(grid_ws, "base")
    aligned = align_plan(plan, grid_units, base)
    assert aligned.assignment.to_dict() == by_column(BASE_COLUMNS)
    assert aligned.parameters["renamed"] == {"T01": "T2", "T02": "T1", "T03": "T3"}
    assert aligned.metrics.disruption is not None
    assert aligned.metrics.disruption.moved_accounts == 0


def test_align_plan_gives_extra_territories_free_ids(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """With more territories than the base, the extra one gets an id no one uses."""
    mapping = {**by_column({0: "T01", 1: "T02", 2: "T02", 3: "T03"}), "U02": "R"}
    plan = plan_of(grid_units, mapping)
    base = scenario_assignment(grid_ws, "base")
    aligned = align_plan(plan, grid_units, base, reserved=["R"])
    assert aligned.parameters["renamed"] == {"R": "T01", "T01": "T1", "T02": "T2", "T03": "T3"}
    assert aligned.assignment["U02"] == "T01"  # 'R' is reserved (a parent); T1..T3 are taken
    disruption = aligned.metrics.disruption
    assert disruption is not None and disruption.moved_accounts == 2


def test_align_plan_keeps_locked_and_fixed_ids(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """Locked territories keep their id; ``fixed`` names territories whatever the overlap."""
    locks = {"territories": ["T1"], "units": {"U00": "T1", "U01": "T1", "U02": "T1"}}
    plan = plan_of(grid_units, by_column({0: "T1", 1: "R2", 2: "R2", 3: "T01"}), locks=locks)
    base = scenario_assignment(grid_ws, "base")
    aligned = align_plan(plan, grid_units, base, fixed={"R2": "T3"})
    # T01 shares no account with T2, the base territory left over: it keeps its own id
    assert aligned.assignment.to_dict() == by_column({0: "T1", 1: "T3", 2: "T3", 3: "T01"})
    assert aligned.parameters["locks"]["territories"] == ["T1"]


def test_align_plan_rejects_two_territories_fixed_to_one_id(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """``fixed`` may not give one id to two territories."""
    plan = plan_of(grid_units, by_column({0: "A", 1: "B", 2: "B", 3: "C"}))
    with pytest.raises(InputError, match="T1 are given to several territories"):
        align_plan(plan, grid_units, scenario_assignment(grid_ws, "base"),
                   fixed={"A": "T1", "B": "T1"})


def test_align_plan_of_a_design_around_reps_keeps_their_territories(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """A design for reps R1, R2 maps each rep back to the territory they own."""
    reps = grid_ws.reps[grid_ws.reps[s.REP_ID].isin(["R1", "R2"])]
    plan = design_territories(grid_units, reps=reps, weight=ACCOUNT_COUNT, tolerance=0.2)
    aligned = align_plan(plan, grid_units, scenario_assignment(grid_ws, "base"),
                         fixed={"R1": "T1", "R2": "T2"}, reps=reps)
    assert set(aligned.assignment) == {"T1", "T2"}
    assert aligned.rep_of == {"T1": "R1", "T2": "R2"}
    assert aligned.metrics.home_distance_mean_km is not None


# --- saving a plan ----------------------------------------------------------------------------
def test_save_creates_a_planning_scenario_with_parameters_and_metrics(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """The new scenario is planning, made from the base, with the run's figures."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T1", 2: "T2", 3: "T3"}))
    sc = save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="Version 2",
                               base_scenario_id="base", user="planner", description="why")
    assert sc.state == ScenarioState.PLANNING
    assert sc.created_from == "base"
    assert sc.description == "why"
    assert sc.parameters["weight"] == ACCOUNT_COUNT
    assert sc.parameters["base_scenario"] == "base"
    assert sc.metrics["n_territories"] == 3
    assert grid_ws.scenario("base").state == ScenarioState.ACTIVE
    entry = grid_ws.audit.iloc[-1]
    assert entry[s.ACTION] == SAVE_ACTION and entry[s.USER] == "planner"
    assert '"moved_units": 3' in entry[s.DETAIL]


def test_save_writes_unit_assignment_with_locks(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """unit_assignment holds the plan, locked units flagged."""
    locks = {"territories": ["T1"], "units": {"U00": "T1", "U01": "T1", "U02": "T1"}}
    plan = plan_of(grid_units, by_column(BASE_COLUMNS), locks=locks)
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    rows = grid_ws.rows("unit_assignment", "v2").set_index(s.UNIT_ID)
    assert rows[s.TERRITORY_ID].to_dict() == by_column(BASE_COLUMNS)
    assert set(rows.index[rows[s.LOCKED]]) == {"U00", "U01", "U02"}


def test_save_redraws_leaves_and_parents_from_units(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """Leaves are the union of their units; the region above is the union of its leaves."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T1", 2: "T2", 3: "T3"}))
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    terr = grid_ws.territories("v2").set_index(s.TERRITORY_ID)
    assert sorted(terr.index) == ["R", "T1", "T2", "T3"]
    expected_t1 = box(WEST, SOUTH, WEST + 2 * STEP, SOUTH + 3 * STEP)
    assert terr.geometry["T1"].symmetric_difference(expected_t1).area < 1e-12
    assert terr.geometry["R"].symmetric_difference(
        box(WEST, SOUTH, WEST + 4 * STEP, SOUTH + 3 * STEP)).area < 1e-12
    assert terr.loc["T1", s.NAME] == "West" and terr.loc["T1", s.PARENT_ID] == "R"
    assert terr.loc["R", s.NAME] == "Region" and pd.isna(terr.loc["R", s.PARENT_ID])
    assert set(terr[s.SOURCE]) == {"units"}


def test_save_puts_new_territories_under_the_majority_parent(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """A new territory joins the parent of the base territories its units came from."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T2", 2: "T04", 3: "T3"}))
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base",
                          names={"T04": "New middle"})
    terr = grid_ws.territories("v2").set_index(s.TERRITORY_ID)
    assert terr.loc["T04", s.PARENT_ID] == "R"
    assert terr.loc["T04", s.LEVEL] == 1
    assert terr.loc["T04", s.LEVEL_NAME] == "territory"
    assert terr.loc["T04", s.NAME] == "New middle"


def test_save_drops_removed_territories_and_their_links(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """A base leaf missing from the plan goes, with its associations; the log names it."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T1", 2: "T2", 3: "T2"}))
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    assert sorted(grid_ws.territories("v2")[s.TERRITORY_ID]) == ["R", "T1", "T2"]
    assert "T3" not in set(grid_ws.associations("v2")[s.TERRITORY_ID])
    assert '"dropped_territories": ["T3"]' in grid_ws.audit.iloc[-1][s.DETAIL]


def test_save_gives_territories_made_for_reps_to_them(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """A plan's rep_of becomes owner associations; other owners of those territories go."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T2", 2: "T2", 3: "T3"}),
                   rep_of={"T1": "R2", "T2": "R1"})
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    assoc = grid_ws.associations("v2")
    owners = assoc[assoc[s.ROLE] == "owner"]
    assert set(zip(owners[s.REP_ID], owners[s.TERRITORY_ID], strict=True)) == {
        ("R2", "T1"), ("R1", "T2"), ("R3", "T3")}
    assert ("M", "R") in set(zip(assoc[s.REP_ID], assoc[s.TERRITORY_ID], strict=True))


def test_save_reassigns_every_account_to_its_units_territory(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """Each account has one primary membership: the plan's territory of its unit."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T1", 2: "T3", 3: "T3"}))
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    members = grid_ws.memberships("v2")
    assert members[s.ACCOUNT_ID].is_unique
    got = dict(zip(members[s.ACCOUNT_ID], members[s.TERRITORY_ID], strict=True))
    assert got == {a: ("T1" if a[1] in "01" else "T3") for a in grid_ws.accounts[s.ACCOUNT_ID]}


def test_save_refuses_a_taken_id_and_changes_nothing(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """Saving under an existing id fails before touching the workspace."""
    plan = plan_of(grid_units, by_column(BASE_COLUMNS))
    before = {k: len(v) for k, v in grid_ws.tables.items()}
    with pytest.raises(InputError, match="scenario 'base' already exists"):
        save_plan_as_scenario(grid_ws, plan, scenario_id="base", name="X",
                              base_scenario_id="base")
    assert {k: len(v) for k, v in grid_ws.tables.items()} == before


def test_save_refuses_a_territory_named_like_a_parent(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """A plan territory with the id of a base parent would break the hierarchy."""
    plan = plan_of(grid_units, by_column({0: "R", 1: "T2", 2: "T2", 3: "T3"}))
    with pytest.raises(InputError, match="plan territories R are parents"):
        save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")


def test_save_refuses_units_the_workspace_lacks(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """A plan of other units cannot be saved into this workspace."""
    mapping = {**by_column(BASE_COLUMNS), "ZZ": "T1"}
    assignment = pd.Series(mapping)
    plan = TerritoryPlan(assignment, {"weight": ACCOUNT_COUNT},
                         plan_of(grid_units, by_column(BASE_COLUMNS)).metrics)
    with pytest.raises(InputError, match="units ZZ the workspace lacks"):
        save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")


def test_save_rolls_back_when_a_step_fails(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure at the last step (the audit entry, after every table got its rows) leaves
    every table as it was."""
    real_log = grid_ws.log

    def log(action: str, *args: Any, **kwargs: Any) -> Any:
        if action == SAVE_ACTION:
            raise RuntimeError("disk on fire")
        return real_log(action, *args, **kwargs)

    monkeypatch.setattr(grid_ws, "log", log)
    plan = plan_of(grid_units, by_column(BASE_COLUMNS))
    before = dict(grid_ws.tables)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    assert all(grid_ws.tables[k] is before[k] for k in before)
    assert "v2" not in set(grid_ws.scenarios[s.SCENARIO_ID])


def test_saved_workspace_round_trips(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame, tmp_path: Any
) -> None:
    """The new scenario survives writing the workspace to a GeoPackage and reading it back."""
    from planner.workspace import open_workspace

    plan = plan_of(grid_units, by_column({0: "T1", 1: "T1", 2: "T2", 3: "T3"}))
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    again = open_workspace(grid_ws.save(tmp_path / "grid.gpkg"))
    assert scenario_assignment(again, "v2").to_dict() == plan.assignment.to_dict()
    assert again.scenario("v2").metrics["n_territories"] == 3


@settings(derandomize=True, deadline=None, max_examples=5)
@given(st.lists(st.sampled_from(["T1", "T2", "T3", "T9"]), min_size=4, max_size=4))
def test_saved_memberships_follow_any_plan(columns: list[str]) -> None:
    """Whatever the plan, every account is in exactly the territory of its unit."""
    ws = grid_workspace()
    units = units_with_workload(ws.units, ws.accounts)
    plan = plan_of(units, by_column(dict(enumerate(columns))))
    save_plan_as_scenario(ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    members = ws.memberships("v2")
    assert len(members) == len(ws.accounts)
    got = dict(zip(members[s.ACCOUNT_ID], members[s.TERRITORY_ID], strict=True))
    assert got == {a: columns[int(a[1])] for a in ws.accounts[s.ACCOUNT_ID]}
    leaves_now = set(ws.territories("v2")[s.TERRITORY_ID]) - {"R"}
    assert leaves_now == set(columns)


def test_unique_scenario_id() -> None:
    """Ids are slugs of the name, numbered when taken."""
    ws = grid_workspace()
    assert unique_scenario_id(ws, "Rebalanced: Q3 plan!") == "rebalanced-q3-plan"
    assert unique_scenario_id(ws, "Base") == "base-2"
    assert unique_scenario_id(ws, "***") == "scenario"


# --- comparing two scenarios ------------------------------------------------------------------
def test_compare_scenarios_lists_moved_units_and_accounts(
    grid_ws: Workspace, grid_units: gpd.GeoDataFrame
) -> None:
    """Moving column 1 from T2 to T1 moves its 3 units and 6 accounts, from T2 to T1."""
    plan = plan_of(grid_units, by_column({0: "T1", 1: "T1", 2: "T2", 3: "T3"}))
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    comparison = compare_scenarios(grid_ws, "base", "v2", grid_units)
    assert sorted(comparison.moved_units[s.UNIT_ID]) == ["U10", "U11", "U12"]
    assert set(comparison.moved_units["from_territory"]) == {"T2"}
    assert set(comparison.moved_units["to_territory"]) == {"T1"}
    accounts = comparison.moved_accounts
    assert accounts is not None and len(accounts) == 6
    assert set(accounts[s.UNIT_ID]) == {"U10", "U11", "U12"}
    assert comparison.metrics.loc["moved_accounts", "b"] == 6
    assert len(comparison.changes) == 3 and comparison.changes.crs == s.STORAGE_CRS


def test_compare_uses_the_recorded_targets(grid_ws: Workspace) -> None:
    """A scenario balanced with a locked territory is measured against its own targets."""
    units = units_with_workload(grid_ws.units, grid_ws.accounts)
    base = scenario_assignment(grid_ws, "base")
    locks = keep_territories_locks(base, ["T1"])
    plan = design_territories(units, k=3, weight=ACCOUNT_COUNT, tolerance=0.5, locked=locks)
    save_plan_as_scenario(grid_ws, plan, scenario_id="v2", name="V2", base_scenario_id="base")
    comparison = compare_scenarios(grid_ws, "base", "v2", units)
    assert comparison.metrics.loc["max_abs_deviation", "b"] == pytest.approx(
        plan.metrics.max_abs_deviation, abs=1e-6)


def test_moved_accounts_follow_memberships(grid_ws: Workspace) -> None:
    """A manual membership change counts as a move even when no unit moved."""
    grid_ws.copy_scenario("base", "copy")
    members = grid_ws.memberships("copy").copy()
    members.loc[members[s.ACCOUNT_ID] == "A000", s.TERRITORY_ID] = "T3"
    members.loc[members[s.ACCOUNT_ID] == "A000", s.CAUSE] = "manual"
    grid_ws.set_rows("memberships", "copy", members)
    moved = moved_accounts(grid_ws, "base", "copy")
    assert moved.to_dict("records") == [{s.ACCOUNT_ID: "A000", s.NAME: "Shop A000",
                                         s.UNIT_ID: "U00", "from_territory": "T1",
                                         "to_territory": "T3"}]


def test_locks_type_is_the_library_one(grid_ws: Workspace) -> None:
    """keep_territories_locks returns planner.balance.Locks (usable by design and rebalance)."""
    locks = keep_territories_locks(scenario_assignment(grid_ws, "base"), ["T2"])
    assert isinstance(locks, Locks)
    assert np.array_equal(sorted(locks.units), ["U10", "U11", "U12", "U20", "U21", "U22"])
