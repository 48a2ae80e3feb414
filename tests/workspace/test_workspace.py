"""Workspace files: round trip, schema version, atomic saves, scenario lifecycle."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from planner import schema as s
from planner.errors import InputError, SchemaVersionError, WorkspaceError
from planner.models import Scenario, ScenarioState, TerritoryType
from planner.store import connect as store_connect
from planner.store import core as store_core
from planner.workspace import Workspace, open_workspace


@pytest.fixture
def two_account_workspace() -> Workspace:
    """A workspace with two accounts, one active scenario and a two-level hierarchy."""
    ws = Workspace(name="tiny")
    ws.set_table(
        "accounts",
        gpd.GeoDataFrame(
            {
                "account_id": ["a1", "a2"],
                "name": ["Café Ørsted", "<b>Bold</b> Ltd"],
                "geocode_precision": ["exact", "postal_code"],
                "annual_revenue": [1200.0, None],
                "custom_score": [3, 4],
            },
            geometry=[shapely.Point(24.94, 60.17), shapely.Point(24.95, 60.18)],
            crs="EPSG:4326",
        ),
    )
    ws.add_scenario(Scenario("s1", "Plan 2026", state="active"))
    ws.set_rows(
        "territories",
        "s1",
        gpd.GeoDataFrame(
            {
                "territory_id": ["R", "T1"],
                "name": ["Region", "Territory 1"],
                "parent_id": [None, "R"],
                "level": [0, 1],
                "type_id": ["geographic", "geographic"],
                "source": ["none", "drawn"],
            },
            geometry=[None, shapely.box(24.9, 60.1, 25.0, 60.2)],
            crs="EPSG:4326",
        ),
    )
    ws.set_rows(
        "memberships",
        "s1",
        pd.DataFrame(
            {
                "account_id": ["a1", "a2"],
                "territory_id": ["T1", "T1"],
                "cause": ["spatial", "spatial"],
                "detail": ["inside Territory 1", "inside Territory 1"],
                "is_primary": [True, True],
            }
        ),
    )
    return ws


def test_round_trip_keeps_every_table(two_account_workspace: Workspace, tmp_path: Path) -> None:
    """What is saved is what is read back: accounts, extra columns, scenarios, territories."""
    path = two_account_workspace.save(tmp_path / "w.gpkg")
    ws = open_workspace(path)
    assert ws.name == "tiny"
    assert ws.accounts["account_id"].tolist() == ["a1", "a2"]
    assert ws.accounts["name"].tolist() == ["Café Ørsted", "<b>Bold</b> Ltd"]
    assert ws.accounts["custom_score"].tolist() == [3, 4]
    assert pd.isna(ws.accounts["annual_revenue"].iloc[1])
    assert ws.accounts.crs.to_epsg() == 4326
    assert ws.active_scenario_id() == "s1"
    terr = ws.territories()
    assert terr["parent_id"].tolist() == [None, "R"]
    assert terr.geometry.iloc[0] is None
    assert terr.geometry.iloc[1].equals(shapely.box(24.9, 60.1, 25.0, 60.2))
    assert len(ws.memberships()) == 2
    assert ws.audit["action"].tolist() == ["scenario.add"]


def test_failed_commit_writes_nothing(
    two_account_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails midway leaves the store as it was; the edit stays in memory."""
    path = two_account_workspace.save(tmp_path / "w.gpkg")
    ws = open_workspace(path)
    ws.log("edit", {"note": "this change must not half-land"})
    ws.copy_scenario("s1", "s2", name="copy")

    def failing_record(*args: object, **kwargs: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(store_core.Store, "_record", failing_record)
    with pytest.raises(WorkspaceError, match="Nothing was changed"):
        ws.commit("edit", user="ann")
    assert ws.has_changes(), "the unsaved edit stays in memory to retry"
    monkeypatch.undo()
    again = open_workspace(path)
    assert again.audit["action"].tolist() == ["scenario.add"]
    assert [sc.scenario_id for sc in again.scenario_list()] == ["s1"]
    assert ws.commit("edit", user="ann") is not None, "a retry goes through"
    assert len(open_workspace(path).scenario_list()) == 2


def test_failed_copy_leaves_previous_file_intact(
    two_account_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a failure at the final rename of "save a copy" keeps the old file and no temp file."""
    path = two_account_workspace.save(tmp_path / "w.gpkg")
    before = path.read_bytes()

    def failing_replace(src: object, dst: object) -> None:
        raise PermissionError("simulated")

    other = Workspace(name="other", tables=dict(two_account_workspace.tables))
    monkeypatch.setattr(store_connect.os, "replace", failing_replace)
    with pytest.raises(WorkspaceError, match="previous file is unchanged"):
        other.save(tmp_path / "w.gpkg")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.gpkg"]


def test_newer_schema_version_is_refused(two_account_workspace: Workspace, tmp_path: Path) -> None:
    """A file from a newer planner is refused with a message that says what to do."""
    path = two_account_workspace.save(tmp_path / "w.gpkg")
    with sqlite3.connect(path) as con:
        con.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(s.SCHEMA_VERSION + 1),)
        )
    with pytest.raises(SchemaVersionError, match="Upgrade Territory Planner"):
        open_workspace(path)


def test_non_workspace_files_are_refused(tmp_path: Path) -> None:
    """Missing files, non-SQLite files and plain GeoPackages each get their own message."""
    with pytest.raises(WorkspaceError, match="does not exist"):
        open_workspace(tmp_path / "nope.gpkg")
    text = tmp_path / "x.gpkg"
    text.write_text("id,name\n1,a\n")
    with pytest.raises(WorkspaceError, match="not a GeoPackage"):
        open_workspace(text)
    plain = tmp_path / "plain.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(plain)
    with pytest.raises(WorkspaceError, match="not a Territory Planner workspace"):
        open_workspace(plain)


def test_promote_archives_previous_active(two_account_workspace: Workspace) -> None:
    """Promoting a planning copy makes it active and archives the old active scenario."""
    ws = two_account_workspace
    ws.copy_scenario("s1", "s2", name="Rebalanced", user="planner1")
    assert ws.scenario("s2").state == ScenarioState.PLANNING
    assert len(ws.territories("s2")) == 2
    ws.promote("s2", user="planner1")
    assert ws.active_scenario_id() == "s2"
    assert ws.scenario("s1").state == ScenarioState.ARCHIVED
    with pytest.raises(InputError, match="archived"):
        ws.promote("s1")
    with pytest.raises(InputError, match="active and cannot be deleted"):
        ws.delete_scenario("s2")
    assert ws.audit["action"].tolist()[-1] == "scenario.promote"


def test_unknown_scenario_and_duplicates(two_account_workspace: Workspace) -> None:
    """Unknown or duplicate scenario ids and a second active scenario are rejected."""
    ws = two_account_workspace
    with pytest.raises(InputError, match="unknown scenario 'zz'"):
        ws.territories("zz")
    with pytest.raises(InputError, match="already exists"):
        ws.add_scenario(Scenario("s1"))
    with pytest.raises(InputError, match="cannot be added as active"):
        ws.add_scenario(Scenario("s3", state="active"))


def test_set_table_validates_schema() -> None:
    """A table that breaks its schema is rejected with every problem listed."""
    ws = Workspace()
    bad = pd.DataFrame({"scenario_id": ["a", "a"], "state": ["draft", "active"]})
    with pytest.raises(InputError, match="unknown values draft") as info:
        ws.set_table("scenarios", bad)
    messages = [p.message for p in info.value.problems]
    assert any("not unique" in m for m in messages)
    assert any("created_at" in m for m in messages)


def test_territory_types_default_and_replace() -> None:
    """A new workspace has the geographic type; adding a type with the same id replaces it."""
    ws = Workspace()
    assert ws.territory_types["type_id"].tolist() == ["geographic"]
    ws.add_territory_type(TerritoryType("overlay", "Healthcare overlay", priority=20))
    ws.add_territory_type(TerritoryType("overlay", "Overlay", priority=5))
    types = ws.territory_types.set_index("type_id")
    assert types.loc["overlay", "priority"] == 5
    assert len(types) == 2


def test_plain_frames_for_spatial_tables_are_accepted() -> None:
    """A plain DataFrame (no geometry) for a spatial table gets an empty geometry column."""
    reps = pd.DataFrame({"rep_id": ["r1"], "name": ["Anna"], "role": ["rep"]})
    ws = Workspace(tables={"reps": reps})
    assert ws.reps.geometry.iloc[0] is None
    assert ws.reps.crs.to_epsg() == 4326
    ws.add_scenario(Scenario("s"))
    ws.set_rows(
        "territories",
        "s",
        pd.DataFrame(
            {"territory_id": ["T"], "level": [0], "type_id": ["geographic"], "source": ["none"]}
        ),
    )
    assert ws.territories("s").geometry.iloc[0] is None
