"""The transactional store on both backends: row-level commits, conflicts, history, undo."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pytest
import shapely

from planner import schema as s
from planner.errors import ConflictError, StoreUnavailableError, WorkspaceError
from planner.reassign import reassign
from planner.samples import sample_path
from planner.store import (
    copy_store,
    coverage_as_of,
    create_store,
    history_frame,
    list_workspaces,
    open_store,
    table_as_of,
)
from planner.store import core as store_core
from planner.store.connect import clean_leftovers
from planner.workspace import Workspace, open_workspace
from tests.store.conftest import Opener, server_url

SID = "2026-plan"


def rename(ws: Workspace, territory: str, name: str) -> None:
    """Rename one territory of the sample's active scenario in memory."""
    terr = ws.territories(SID).copy()
    terr.loc[terr[s.TERRITORY_ID] == territory, s.NAME] = name
    ws.set_rows("territories", SID, terr)


def name_of(ws: Workspace, territory: str) -> str:
    terr = ws.territories(SID)
    return str(terr.loc[terr[s.TERRITORY_ID] == territory, s.NAME].iloc[0])


def test_a_commit_writes_only_the_rows_it_changes(stored: tuple[Opener, str]) -> None:
    """Renaming one territory writes one row and one history entry, nothing else."""
    opener, _ = stored
    ws = opener()
    rename(ws, "HEL-1", "North")
    change = ws.commit("rename", user="ann")
    assert change is not None
    assert change.rows == 1 and change.tables == ("territories",)
    assert change.version == 2 and ws.version == 2
    again = opener()
    assert name_of(again, "HEL-1") == "North"
    hist = history_frame(again.store)  # type: ignore[arg-type]
    assert len(hist) == 1
    assert hist.iloc[0]["before"][s.NAME] == "Annankatu area"
    assert hist.iloc[0]["after"][s.NAME] == "North"
    assert ws.commit("nothing") is None, "no edit, no change"


def test_geometry_and_every_table_round_trip(stored: tuple[Opener, str]) -> None:
    """What is read back equals what was stored, shapes included."""
    opener, _ = stored
    original = open_workspace(sample_path("helsinki"))
    ws = opener()
    for table in s.TABLES:
        assert len(ws.tables[table]) == len(original.tables[table]), table
    a, b = ws.territories(SID), original.territories(SID)
    assert all(x.equals_exact(y, 1e-12) for x, y in zip(a.geometry, b.geometry, strict=True))
    poly = shapely.box(24.9, 60.1, 24.95, 60.2)
    terr = ws.territories(SID).copy()
    terr.loc[terr[s.TERRITORY_ID] == "HEL-2", "geometry"] = poly
    ws.set_rows("territories", SID, terr)
    ws.commit("redraw", user="ann")
    got = opener().territories(SID)
    assert got.loc[got[s.TERRITORY_ID] == "HEL-2"].geometry.iloc[0].equals(poly)


HOSTILE_TEXTS = [
    'He said "hi", then\nleft; a,b',  # quotes, newline, delimiters
    "",  # an empty text is not a missing one
    None,
    "t",  # a boolean's spelling
    "NULL",
    "\\N",
    "Ω ünïcödé 🙂",
    "  padded  ",
]


def test_awkward_text_and_numbers_read_back_exactly(stored: tuple[Opener, str]) -> None:
    """Empty and missing text stay apart; quotes and newlines survive both backends."""
    opener, _ = stored
    ws = opener()
    acc = ws.accounts.copy()
    rows = acc.index[: len(HOSTILE_TEXTS)]
    acc[s.NAME] = acc[s.NAME].astype(object)
    for row, text in zip(rows, HOSTILE_TEXTS, strict=True):
        acc.at[row, s.NAME] = text
    acc.loc[rows[:3], s.ANNUAL_REVENUE] = [float("nan"), float("inf"), -0.5]
    ws.set_table("accounts", acc)
    ws.commit("awkward values", user="ann")
    got = opener().accounts.set_index(s.ACCOUNT_ID)
    want = acc.set_index(s.ACCOUNT_ID)
    ids = want.index[: len(HOSTILE_TEXTS)]
    assert got.loc[ids, s.NAME].tolist() == HOSTILE_TEXTS
    revenue = got.loc[ids[:3], s.ANNUAL_REVENUE].tolist()
    # not-a-number and infinity are both stored as missing (no backend keeps infinity alike)
    assert pd.isna(revenue[0]) and pd.isna(revenue[1]) and revenue[2] == -0.5


def test_disjoint_edits_of_two_sessions_both_land(stored: tuple[Opener, str]) -> None:
    """A manager and a planner change different rows: both are kept, no conflict."""
    opener, _ = stored
    manager, planner_ = opener(), opener()
    rename(manager, "HEL-1", "North")
    manager.commit("rename north", user="manager")
    rename(planner_, "HEL-2", "South")
    change = planner_.commit("rename south", user="planner")
    assert change is not None and change.base_version == 1 and change.version == 3
    assert name_of(planner_, "HEL-1") == "North", "the later session takes the other's edit too"
    fresh = opener()
    assert (name_of(fresh, "HEL-1"), name_of(fresh, "HEL-2")) == ("North", "South")


def test_a_stale_edit_of_the_same_row_is_refused_naming_who(stored: tuple[Opener, str]) -> None:
    """The second writer of a row gets a ConflictError naming the first, and writes nothing."""
    opener, _ = stored
    first, second = opener(), opener()
    rename(first, "HEL-1", "North")
    first.commit("rename north", user="manager")
    rename(second, "HEL-1", "Nord")
    rename(second, "HEL-3", "Also mine")
    with pytest.raises(ConflictError) as info:
        second.commit("rename nord", user="planner")
    err = info.value
    assert "manager" in str(err) and "rename north" in str(err)
    assert err.base_version == 1 and err.head_version == 2
    assert err.changes[0]["user"] == "manager"
    assert ("territories", f"{SID}\x1fHEL-1") in err.rows
    fresh = opener()
    assert fresh.version == 2
    assert name_of(fresh, "HEL-1") == "North" and name_of(fresh, "HEL-3") == "Mannerheimintie area"
    assert second.has_changes(), "the refused edit stays in memory"
    # the way out that keeps the work: save it as a new scenario
    change = second.commit_as_new_scenario(SID, user="planner")
    assert change is not None
    mine = [sc for sc in opener().scenario_list() if sc.scenario_id.startswith(f"{SID}-planner")]
    assert len(mine) == 1 and mine[0].created_from == SID
    copy = opener().territories(mine[0].scenario_id)
    assert set(copy[s.NAME]) >= {"Nord", "Also mine"}


def test_reload_and_reapply_after_a_conflict(stored: tuple[Opener, str]) -> None:
    """After reloading, the same edit goes through on the new version."""
    opener, _ = stored
    first, second = opener(), opener()
    rename(first, "HEL-1", "North")
    first.commit("a", user="manager")
    rename(second, "HEL-1", "Nord")
    with pytest.raises(ConflictError):
        second.commit("b", user="planner")
    second.reload()
    assert not second.has_changes() and name_of(second, "HEL-1") == "North"
    rename(second, "HEL-1", "Nord")
    assert second.commit("b", user="planner") is not None
    assert name_of(opener(), "HEL-1") == "Nord"


def test_undo_and_redo_are_recorded_changes(stored: tuple[Opener, str]) -> None:
    """Undo restores the rows, redo brings them back; both are in the history."""
    opener, _ = stored
    ws = opener()
    ws.copy_scenario(SID, "what-if", user="ann")
    ws.commit("copy scenario", user="ann")
    rename(ws, "HEL-1", "North")
    ws.commit("rename", user="ann")
    undo = ws.undo("ann")
    assert undo.undo_of == 3 and name_of(ws, "HEL-1") == "Annankatu area"
    undo2 = ws.undo("ann")
    assert undo2.undo_of == 2 and "what-if" not in set(ws.scenarios[s.SCENARIO_ID])
    redo = ws.redo("ann")
    assert redo.redo_of == undo2.version and "what-if" in set(ws.scenarios[s.SCENARIO_ID])
    ws.redo("ann")
    assert name_of(opener(), "HEL-1") == "North"
    with pytest.raises(WorkspaceError, match="nothing to redo"):
        ws.redo("ann")
    actions = [c.action for c in ws.store.changes()]  # type: ignore[union-attr]
    assert actions[:4] == [
        "redo: rename",
        "redo: copy scenario",
        "undo: copy scenario",
        "undo: rename",
    ]


def test_undo_obeys_the_version_check(stored: tuple[Opener, str]) -> None:
    """Undoing a change whose rows someone changed since is refused, not forced."""
    opener, _ = stored
    ann, bob = opener(), opener()
    rename(ann, "HEL-1", "North")
    ann.commit("rename", user="ann")
    bob.reload()
    rename(bob, "HEL-1", "Bob's north")
    bob.commit("rename again", user="bob")
    with pytest.raises(ConflictError, match="bob"):
        ann.undo("ann")
    assert name_of(opener(), "HEL-1") == "Bob's north"
    with pytest.raises(WorkspaceError, match="nothing to undo"):
        opener().undo("carol")


def test_a_new_edit_clears_the_redo_stack(stored: tuple[Opener, str]) -> None:
    """After undo then a new edit, there is nothing to redo."""
    opener, _ = stored
    ws = opener()
    rename(ws, "HEL-1", "North")
    ws.commit("a", user="ann")
    ws.undo("ann")
    rename(ws, "HEL-2", "South")
    ws.commit("b", user="ann")
    with pytest.raises(WorkspaceError, match="nothing to redo"):
        ws.redo("ann")


def test_who_covered_an_account_on_a_date_after_a_dated_reassignment(
    stored: tuple[Opener, str],
) -> None:
    """A rep leaves on 1 March: before, their accounts were theirs; after, the new owner's."""
    opener, _ = stored
    ws = opener()
    members = ws.memberships(SID)
    account = str(members.loc[members[s.TERRITORY_ID] == "HEL-1", s.ACCOUNT_ID].iloc[0])
    reassign(
        ws, SID, to_territory="HEL-2", from_rep="hel-rep-1", user="hel-mgr",
        reason="left", effective_date="2026-03-01",
    )  # fmt: skip
    ws.commit("reassign", user="hel-mgr", effective_date="2026-03-01", cause="left")
    before = coverage_as_of(ws.store, account, "2026-02-15")  # type: ignore[arg-type]
    after = coverage_as_of(ws.store, account, "2026-03-15")  # type: ignore[arg-type]
    assert [t["territory_id"] for t in before["territories"]] == ["HEL-1"]
    assert {u["rep_id"] for u in before["users"]} == {"hel-rep-1"}
    assert [t["territory_id"] for t in after["territories"]] == ["HEL-2"]
    assert {u["rep_id"] for u in after["users"]} == {"hel-rep-2"}
    mine = {"rep_id": "hel-rep-1", "scenario_id": SID}
    assoc = table_as_of(ws.store, "associations", "2026-03-15", where=mine)  # type: ignore[arg-type]
    assert assoc[s.END_DATE].tolist() == ["2026-02-28"]
    audit = json.loads(ws.audit[ws.audit[s.ACTION] == "reassign"].iloc[-1][s.DETAIL])
    assert len(audit["account_ids"]) == audit["accounts"], "bulk changes are recorded in full"


def test_new_account_columns_are_added_to_the_store(stored: tuple[Opener, str]) -> None:
    """An import that brings a new account column adds it; it is read back."""
    opener, _ = stored
    ws = opener()
    accounts = ws.accounts.copy()
    accounts["tier"] = ["gold" if i % 2 else "silver" for i in range(len(accounts))]
    ws.set_table("accounts", accounts)
    change = ws.commit("import tiers", user="admin")
    assert change is not None and change.rows == len(accounts)
    assert opener().accounts["tier"].iloc[:2].tolist() == ["silver", "gold"]


def test_a_workspace_file_still_opens_in_gis_programs(tmp_path: Path) -> None:
    """GDAL (as QGIS uses it) lists and reads the workspace tables of a store file."""
    ws = open_workspace(sample_path("helsinki"))
    path = ws.save(tmp_path / "copy.gpkg")
    layers = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert {"accounts", "territories", "units", "memberships"} <= layers
    assert not any(n.startswith("tp_") for n in layers), "history tables stay out of the way"
    terr = pyogrio.read_dataframe(path, layer="territories")
    assert len(terr) == len(ws.tables["territories"]) and terr.crs.to_epsg() == 4326


def test_version_1_files_are_migrated_after_a_backup(tmp_path: Path) -> None:
    """A file saved whole by the previous planner opens, is migrated and keeps a backup."""
    ws = open_workspace(sample_path("helsinki"))
    old = tmp_path / "old.gpkg"
    meta = pd.DataFrame({"key": ["schema_version", "name"], "value": ["1", "Old plan"]})
    pyogrio.write_dataframe(meta, old, layer="meta", driver="GPKG")
    for table in s.TABLES:
        frame = ws.tables[table]
        if len(frame):
            pyogrio.write_dataframe(frame, old, layer=table, driver="GPKG")
    migrated = open_workspace(old)
    assert migrated.name == "Old plan" and migrated.version == 1
    assert len(migrated.accounts) == len(ws.accounts)
    assert (tmp_path / "old.v1-backup.gpkg").is_file()
    rename(migrated, "HEL-1", "North")
    assert migrated.commit("after migration") is not None


def test_leftovers_of_interrupted_saves_are_removed_on_open(tmp_path: Path) -> None:
    """Temporary files of dead processes and of old whole-file saves go away on the next open."""
    path = open_workspace(sample_path("helsinki")).save(tmp_path / "w.gpkg")
    dead = tmp_path / ".w.gpkg.999999999.tmp.gpkg"
    old_style = tmp_path / ".w.gpkg.k2j3h4.tmp.gpkg"
    for f in (dead, old_style, Path(f"{old_style}-journal")):
        f.write_bytes(b"x")
    past = time.time() - 3600
    os.utime(old_style, (past, past))
    os.utime(f"{old_style}-journal", (past, past))
    open_workspace(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.gpkg"]
    assert clean_leftovers(path) == []


def test_a_locked_file_gives_a_clear_message_quickly(tmp_path: Path) -> None:
    """Another program holding the write lock: the change is refused within seconds, intact."""
    path = open_workspace(sample_path("helsinki")).save(tmp_path / "w.gpkg")
    store = open_store(path, lock_timeout_s=0.5)
    ws = open_workspace(path)
    ws.store = store
    rename(ws, "HEL-1", "North")
    blocker = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="another program"):
        ws.commit("rename", user="ann")
    assert time.monotonic() - started < 5
    blocker.execute("ROLLBACK")
    blocker.close()
    assert ws.commit("rename", user="ann") is not None, "the kept edit goes through on retry"


def test_a_read_only_store_refuses_changes_clearly(tmp_path: Path) -> None:
    """A workspace opened read-only says so when a change is attempted."""
    path = open_workspace(sample_path("helsinki")).save(tmp_path / "w.gpkg")
    ws = open_workspace(path)
    ws.store = open_store(path, readonly=True)
    rename(ws, "HEL-1", "North")
    with pytest.raises(StoreUnavailableError, match="read-only"):
        ws.commit("rename")
    assert name_of(open_workspace(path), "HEL-1") == "Annankatu area"


def test_an_unreachable_server_fails_fast_and_clearly() -> None:
    """A wrong PLANNER_DATABASE_URL is reported within seconds, naming the fix."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="PLANNER_DATABASE_URL"):
        open_store("postgresql://planner:secret@127.0.0.1:1/planner", name="x")
    assert time.monotonic() - started < 10
    with pytest.raises(WorkspaceError, match="needs a name"):
        open_store("postgresql://planner@127.0.0.1:1/planner")


def test_the_password_never_shows_in_messages() -> None:
    """Connection errors name the server but not its password."""
    with pytest.raises(StoreUnavailableError) as info:
        open_store("postgresql://planner:hunter2@127.0.0.1:1/planner", name="x")
    assert "hunter2" not in str(info.value)


def test_picker_lists_every_workspace_in_the_folder(tmp_path: Path) -> None:
    """Saved workspaces are found again; backups, temp files and plain files are not listed."""
    ws = open_workspace(sample_path("helsinki"))
    ws.save(tmp_path / "north.gpkg")
    ws.save(tmp_path / "south.gpkg")
    (tmp_path / "notes.gpkg").write_text("not a workspace")
    (tmp_path / ".south.gpkg.1.tmp.gpkg").write_bytes(b"")
    names = [w.name for w in list_workspaces(tmp_path)]
    assert names == ["north", "south"]


@pytest.mark.skipif(not server_url(), reason="no PostGIS server (./dev db)")
def test_push_and_pull_keep_the_history(tmp_path: Path) -> None:
    """A file pushed to the server and pulled back keeps its rows, versions and history."""
    url = server_url()
    assert url is not None
    ws = open_workspace(sample_path("helsinki")).save(tmp_path / "w.gpkg")
    local = open_workspace(ws)
    rename(local, "HEL-1", "North")
    local.commit("rename", user="ann")
    name = f"push{os.getpid()}"
    pushed = copy_store(local.store, url, name=name, overwrite=True)  # type: ignore[arg-type]
    remote = open_workspace(url, name=name)
    assert remote.version == 2 and name_of(remote, "HEL-1") == "North"
    assert name in [w.name for w in list_workspaces(None, url)]
    rename(remote, "HEL-2", "South")
    remote.commit("rename on server", user="bob")
    pulled = copy_store(open_store(url, name=name), tmp_path / "back.gpkg")
    back = open_workspace(pulled.location)
    assert back.version == 3 and name_of(back, "HEL-2") == "South"
    assert len(history_frame(back.store)) == 2  # type: ignore[arg-type]
    with pytest.raises(WorkspaceError, match="already has a workspace"):
        create_store(url, back.tables, name=name)
    pushed.dispose()


@pytest.mark.skipif(not server_url(), reason="no PostGIS server (./dev db)")
def test_a_server_gone_mid_change_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server drops the connection half-way through a commit: a clear error, the change is
    absent, the edit stays in memory, and a retry goes through."""
    url = server_url()
    assert url is not None
    name = f"gone{os.getpid()}"
    create_store(url, open_workspace(sample_path("helsinki")).tables, name=name, overwrite=True)
    ws = open_workspace(url, name=name)
    rename(ws, "HEL-1", "North")
    real = store_core.Store._record

    def drop_connection(self: store_core.Store, conn: Any, *args: Any) -> None:
        conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(store_core.Store, "_record", drop_connection)
    with pytest.raises(StoreUnavailableError, match="Nothing was changed"):
        ws.commit("rename", user="ann")
    monkeypatch.setattr(store_core.Store, "_record", real)
    fresh = open_workspace(url, name=name)
    assert fresh.version == 1 and name_of(fresh, "HEL-1") == "Annankatu area"
    assert ws.has_changes()
    assert ws.commit("rename", user="ann") is not None
    assert name_of(open_workspace(url, name=name), "HEL-1") == "North"


def test_the_importer_becomes_the_new_workspace_admin() -> None:
    """A new workspace made by an import belongs to whoever imported it, password kept."""
    ws = open_workspace(sample_path("helsinki"))
    reps = ws.reps
    planner_row = reps[reps[s.REP_ID] == "hel-planner"].iloc[0]
    new = Workspace(name="fresh")
    new.ensure_admin(
        "hel-planner",
        name=str(planner_row[s.NAME]),
        password_hash=str(planner_row[s.PASSWORD_HASH]),
    )
    row = new.reps[new.reps[s.REP_ID] == "hel-planner"].iloc[0]
    assert row[s.ROLE] == "admin" and row[s.PASSWORD_HASH] == planner_row[s.PASSWORD_HASH]
    existing = Workspace(name="with users", tables={"reps": reps})
    existing.ensure_admin("hel-rep-1")
    assert existing.reps.set_index(s.REP_ID).loc["hel-rep-1", s.ROLE] == "admin"


def _sorted(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    key = list(s.TABLES[table].key) or [c for c in frame.columns if c != "geometry"]
    plain = pd.DataFrame(frame).copy()
    if "geometry" in plain.columns:
        plain["geometry"] = [None if g is None else g.wkb_hex for g in plain["geometry"]]
    plain = plain[sorted(plain.columns)]
    return plain.sort_values(key).reset_index(drop=True).astype(object)


def test_reload_replays_only_the_changes_and_equals_a_fresh_read(
    stored: tuple[Opener, str],
) -> None:
    """A session brought up to date from the history has exactly what a fresh read has."""
    opener, _ = stored
    ann, bob = opener(), opener()
    bob.copy_scenario(SID, "what-if-2", user="bob")
    bob.commit("copy", user="bob")
    rename(bob, "HEL-2", "South")
    terr = bob.territories(SID).copy()
    terr.loc[terr[s.TERRITORY_ID] == "HEL-3", "geometry"] = shapely.box(24.9, 60.1, 24.95, 60.2)
    bob.set_rows("territories", SID, terr)
    bob.commit("edit", user="bob")
    accounts = bob.accounts.copy()
    accounts["tier"] = "gold"
    accounts = accounts.iloc[5:]
    bob.set_table("accounts", accounts)
    bob.commit("import", user="bob")
    bob.delete_scenario("what-if-2", user="bob")
    bob.commit("delete", user="bob")
    assert ann.version == 1
    ann.reload()
    fresh = opener()
    assert ann.version == fresh.version == 5
    for table in s.TABLES:
        a, b = _sorted(ann.tables[table], table), _sorted(fresh.tables[table], table)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=table)
