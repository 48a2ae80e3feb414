"""Tests of planner.hierarchy: navigation, checks, roll-ups, moves, renames and saving."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from planner import schema as s
from planner.errors import InputError
from planner.hierarchy import (
    ancestors,
    check_hierarchy,
    children,
    compute_levels,
    descendants,
    leaves,
    move_subtree,
    path,
    rename,
    rollup,
    roots,
    save_hierarchy,
    validate_hierarchy,
)
from planner.models import Scenario
from planner.workspace import Workspace

X0, Y0 = -84.5, 33.6


def _box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


@pytest.fixture
def region_district_territory() -> gpd.GeoDataFrame:
    """Two regions (N above S); N has districts N1, N2; N1 has territories T1, T2; S has T3."""
    rows = [
        ("N", None, 0, "region", _box(0, 1, 2, 1)),
        ("S", None, 0, "region", _box(0, 0, 2, 1)),
        ("N1", "N", 1, "district", _box(0, 1, 1, 1)),
        ("N2", "N", 1, "district", _box(1, 1, 1, 1)),
        ("T1", "N1", 2, "territory", _box(0, 1, 0.5, 1)),
        ("T2", "N1", 2, "territory", _box(0.5, 1, 0.5, 1)),
        ("T3", "S", 1, "district", _box(0, 0, 1, 1)),
    ]
    return gpd.GeoDataFrame(
        {
            s.TERRITORY_ID: [r[0] for r in rows],
            s.NAME: [f"name {r[0]}" for r in rows],
            s.PARENT_ID: [r[1] for r in rows],
            s.LEVEL: [r[2] for r in rows],
            s.LEVEL_NAME: [r[3] for r in rows],
            s.TYPE_ID: "geographic",
            s.SOURCE: "drawn",
            s.RULE: None,
        },
        geometry=[r[4] for r in rows],
        crs="EPSG:4326",
    )


def test_navigation(region_district_territory: gpd.GeoDataFrame) -> None:
    """Children, descendants, ancestors, path, roots and leaves follow the parent links."""
    t = region_district_territory
    assert children(t, "N") == ["N1", "N2"]
    assert descendants(t, "N") == ["N1", "N2", "T1", "T2"]
    assert ancestors(t, "T2") == ["N1", "N"]
    assert path(t, "T2") == ["N", "N1", "T2"]
    assert roots(t) == ["N", "S"]
    assert leaves(t) == ["N2", "T1", "T2", "T3"]
    assert compute_levels(t).to_dict() == {
        "N": 0,
        "S": 0,
        "N1": 1,
        "N2": 1,
        "T1": 2,
        "T2": 2,
        "T3": 1,
    }
    with pytest.raises(InputError, match="no territory 'X'"):
        children(t, "X")


def test_a_sound_hierarchy_has_no_problems(region_district_territory: gpd.GeoDataFrame) -> None:
    """The fixture passes every check."""
    assert validate_hierarchy(region_district_territory, territory_types={"geographic": 10}) == []
    check_hierarchy(region_district_territory)


def test_cycles_and_missing_parents_are_all_reported(
    region_district_territory: gpd.GeoDataFrame,
) -> None:
    """A cycle, a self-parent and a missing parent are each named in one error."""
    t = region_district_territory.copy()
    t.loc[t[s.TERRITORY_ID] == "N", s.PARENT_ID] = "T1"  # N > N1 > T1 > N
    t.loc[t[s.TERRITORY_ID] == "S", s.PARENT_ID] = "S"
    t.loc[t[s.TERRITORY_ID] == "T3", s.PARENT_ID] = "GHOST"
    with pytest.raises(InputError, match="3 problem") as info:
        check_hierarchy(t, check_geometry=False)
    text = str(info.value)
    assert "form a cycle: N > N1 > T1 > N" in text
    assert "territory S is its own parent" in text
    assert "territory T3 names parent GHOST, which does not exist" in text


def test_child_outside_parent_is_an_error(region_district_territory: gpd.GeoDataFrame) -> None:
    """A district drawn partly outside its region is named with the area outside."""
    t = region_district_territory.copy()
    t.loc[t[s.TERRITORY_ID] == "N2", "geometry"] = _box(1, 0.5, 1, 1)
    problems = validate_hierarchy(t)
    assert len(problems) == 1
    assert "territory N2 sticks out of its parent N" in problems[0].message
    assert "(50.1% of its area)" in problems[0].message
    assert validate_hierarchy(t, check_geometry=False) == []


def test_wrong_levels_and_types_are_reported(region_district_territory: gpd.GeoDataFrame) -> None:
    """A level that is not the depth is a warning; an unknown type is an error."""
    t = region_district_territory.copy()
    t.loc[t[s.TERRITORY_ID] == "T1", s.LEVEL] = 5
    t.loc[t[s.TERRITORY_ID] == "T2", s.TYPE_ID] = "overlay"
    problems = validate_hierarchy(t, territory_types={"geographic": 10})
    kinds = {(p.severity, p.column) for p in problems}
    assert kinds == {("warning", s.LEVEL), ("error", s.TYPE_ID)}


def test_duplicate_ids_are_an_error(region_district_territory: gpd.GeoDataFrame) -> None:
    """Two territories with one id are rejected."""
    t = pd.concat([region_district_territory, region_district_territory.iloc[[0]]])
    with pytest.raises(InputError, match="N appear more than once"):
        check_hierarchy(t)


def test_rollup_sums_and_means_up_the_tree(region_district_territory: gpd.GeoDataFrame) -> None:
    """Leaf values roll up to every ancestor; a mean is over the leaves below, not of means."""
    values = pd.Series({"T1": 10.0, "T2": 20.0, "N2": 30.0, "T3": 5.0})
    total = rollup(values, region_district_territory)
    assert total.to_dict() == {
        "N": 60.0,
        "N1": 30.0,
        "N2": 30.0,
        "S": 5.0,
        "T1": 10.0,
        "T2": 20.0,
        "T3": 5.0,
    }
    mean = rollup(values, region_district_territory, how="mean")
    assert mean["N"] == pytest.approx(20.0)
    frame = rollup(pd.DataFrame({"a": values, "b": values * 2}), region_district_territory)
    assert frame.loc["N", "b"] == 120.0
    with pytest.raises(InputError, match="not in the hierarchy"):
        rollup({"X": 1.0}, region_district_territory)


def test_move_subtree_relevels_and_renames_levels(
    region_district_territory: gpd.GeoDataFrame,
) -> None:
    """Moving T3 under N2 makes it a level-2 'territory'; the input is unchanged."""
    t = region_district_territory.copy()
    t.loc[t[s.TERRITORY_ID] == "T3", "geometry"] = _box(1, 1, 1, 1)
    moved = move_subtree(t, "T3", "N2")
    row = moved[moved[s.TERRITORY_ID] == "T3"].iloc[0]
    assert (row[s.PARENT_ID], row[s.LEVEL], row[s.LEVEL_NAME]) == ("N2", 2, "territory")
    assert t[t[s.TERRITORY_ID] == "T3"].iloc[0][s.PARENT_ID] == "S"


def test_move_into_own_subtree_or_outside_the_parent_is_rejected(
    region_district_territory: gpd.GeoDataFrame,
) -> None:
    """A move making a cycle, or putting a shape outside its new parent, raises."""
    with pytest.raises(InputError, match="would make a cycle"):
        move_subtree(region_district_territory, "N", "T1")
    with pytest.raises(InputError, match="sticks out of its parent N2"):
        move_subtree(region_district_territory, "T3", "N2")


def test_rename_changes_name_and_id_with_child_links(
    region_district_territory: gpd.GeoDataFrame,
) -> None:
    """A new id is followed by the children's parent_id; a taken id is refused."""
    out = rename(region_district_territory, "N1", name="North One", new_id="NORTH-1")
    assert children(out, "NORTH-1") == ["T1", "T2"]
    assert out.loc[out[s.TERRITORY_ID] == "NORTH-1", s.NAME].iloc[0] == "North One"
    with pytest.raises(InputError, match="is taken"):
        rename(region_district_territory, "N1", new_id="N2")


def test_save_hierarchy_saves_nothing_when_rejected(
    region_district_territory: gpd.GeoDataFrame,
) -> None:
    """A valid hierarchy is stored with an audit entry; a cyclic one changes nothing."""
    ws = Workspace()
    ws.add_scenario(Scenario("s1"))
    save_hierarchy(ws, "s1", region_district_territory, user="ann", action="hierarchy.import")
    assert len(ws.territories("s1")) == 7
    assert ws.audit.iloc[-1]["action"] == "hierarchy.import"
    entries = len(ws.audit)
    bad = region_district_territory.copy()
    bad.loc[bad[s.TERRITORY_ID] == "N", s.PARENT_ID] = "T1"
    with pytest.raises(InputError, match="cycle"):
        save_hierarchy(ws, "s1", bad, user="ann")
    assert ws.territories("s1")[s.PARENT_ID].isna().sum() == 2
    assert len(ws.audit) == entries
