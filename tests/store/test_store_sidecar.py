"""Large workspaces: accounts in a GeoParquet sidecar, changed rows as an overlay in the .gpkg."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.cli import main
from planner.errors import ConflictError, InputError, SidecarError, WorkspaceError
from planner.samples import sample_path
from planner.store import create_store, open_store, read_accounts, table_as_of
from planner.store.overlay import merged_table, overlay_in, plan_compaction
from planner.store.sidecar import SIDECAR_ENV, threshold
from planner.workspace import Workspace, open_workspace
from planner.workspace.opening import open_accounts


def sidecars(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.accounts.v*.parquet"))


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame comparable across stores: sorted by account id, geometry as WKB."""
    out = pd.DataFrame(frame).sort_values(s.ACCOUNT_ID).reset_index(drop=True)
    out[s.GEOMETRY] = shapely.to_wkb(out[s.GEOMETRY].to_numpy())
    return out


@pytest.fixture(scope="module")
def helsinki() -> Workspace:
    return open_workspace(sample_path("helsinki"))


@pytest.fixture
def big(tmp_path: Path, helsinki: Workspace) -> Path:
    """The Helsinki sample stored with its 1,256 accounts in a sidecar."""
    target = tmp_path / "big.gpkg"
    create_store(target, helsinki.tables, name="big", sidecar_threshold=100).dispose()
    return target


def test_create_writes_the_accounts_beside_the_file(big: Path, helsinki: Workspace) -> None:
    """Past the threshold the accounts go to one GeoParquet file; the .gpkg keeps none of them."""
    assert len(sidecars(big.parent)) == 1
    assert pyogrio.read_info(big, layer="accounts")["features"] == 0
    frame = gpd.read_parquet(big.parent / sidecars(big.parent)[0])  # plain GeoParquet
    assert len(frame) == len(helsinki.accounts) and frame.crs.to_epsg() == 4326
    opened = open_workspace(big)
    pd.testing.assert_frame_equal(pd.DataFrame(opened.accounts), pd.DataFrame(helsinki.accounts))


def test_small_workspaces_keep_accounts_in_the_file(tmp_path: Path, helsinki: Workspace) -> None:
    """Below the threshold nothing changes: no sidecar, every account in the GeoPackage."""
    target = tmp_path / "small.gpkg"
    create_store(target, helsinki.tables, name="small").dispose()
    assert sidecars(tmp_path) == []
    assert pyogrio.read_info(target, layer="accounts")["features"] == len(helsinki.accounts)


def edited(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One renamed, one deleted and one new account."""
    out = frame.copy()
    out.loc[3, s.NAME] = "renamed"
    new = out.iloc[[0]].copy()
    new[s.ACCOUNT_ID] = "NEW-1"
    out = out.drop(index=5)
    return gpd.GeoDataFrame(pd.concat([out, new], ignore_index=True), crs=s.STORAGE_CRS)


def test_commits_write_only_the_changed_rows(big: Path) -> None:
    """A commit adds the changed rows to the .gpkg and a deletion mark; reading applies them."""
    ws = open_workspace(big)
    gone = ws.accounts[s.ACCOUNT_ID].iloc[5]
    want = edited(ws.accounts)
    ws.set_table("accounts", want)
    change = ws.commit("edit accounts", user="ann")
    assert change is not None and change.rows == 3
    assert pyogrio.read_info(big, layer="accounts")["features"] == 2  # renamed + new
    with sqlite3.connect(big) as con:
        assert con.execute("SELECT tp_key FROM tp_overlay_deleted").fetchall() == [(gone,)]
    again = open_workspace(big)
    pd.testing.assert_frame_equal(pd.DataFrame(again.accounts), pd.DataFrame(want))
    assert len(sidecars(big.parent)) == 1  # 3 rows are far below 5%: no compaction


def test_undo_redo_and_history_through_the_sidecar(big: Path) -> None:
    """Undo restores the deleted and renamed accounts; as-of reads see the base and the overlay."""
    ws = open_workspace(big)
    before = ws.accounts.copy()
    day = ws.store.changes()[0].effective_date if ws.store else ""
    ws.set_table("accounts", edited(ws.accounts))
    ws.commit("edit accounts", user="ann", effective_date="2100-01-01")
    ws.undo("ann")
    assert plain(open_workspace(big).accounts).equals(plain(before))
    ws.redo("ann")
    assert plain(open_workspace(big).accounts).equals(plain(edited(before)))
    store = open_store(big)
    assert len(table_as_of(store, "accounts", day)) == len(before)
    renamed = table_as_of(store, "accounts", "2100-01-02", where={s.ACCOUNT_ID: "NEW-1"})
    assert renamed[s.ACCOUNT_ID].tolist() == ["NEW-1"]


def test_conflicts_on_accounts_are_still_refused(big: Path) -> None:
    """Two users renaming the same account: the second is refused, nothing of it written."""
    first, second = open_workspace(big), open_workspace(big)
    for ws, name in ((first, "by ann"), (second, "by bob")):
        frame = ws.accounts.copy()
        frame.loc[7, s.NAME] = name
        ws.set_table("accounts", frame)
    first.commit("rename", user="ann")
    with pytest.raises(ConflictError, match="ann"):
        second.commit("rename", user="bob")
    assert open_workspace(big).accounts.loc[7, s.NAME] == "by ann"


def test_compact_folds_the_overlay_and_keeps_the_previous_file(big: Path) -> None:
    """Compaction writes a new file, empties the overlay, keeps one previous file for readers."""
    ws = open_workspace(big)
    want = edited(ws.accounts)
    ws.set_table("accounts", want)
    ws.commit("edit accounts", user="ann")
    first = sidecars(big.parent)
    store = open_store(big)
    done = store.compact()
    assert done is not None and done.installed and done.rows == len(want)
    assert pyogrio.read_info(big, layer="accounts")["features"] == 0
    assert set(first) < set(sidecars(big.parent)) and len(sidecars(big.parent)) == 2
    assert store.compact() is None  # nothing left to fold
    assert plain(open_workspace(big).accounts).equals(plain(want))
    frame = want.copy()
    frame.loc[0, s.NAME] = "again"
    ws.set_table("accounts", frame)
    ws.commit("rename", user="ann")
    assert store.compact() is not None
    assert first[0] not in sidecars(big.parent) and len(sidecars(big.parent)) == 2
    assert plain(open_workspace(big).accounts).equals(plain(frame))


def test_a_reader_of_the_old_base_still_reads_it(big: Path) -> None:
    """A reader that took the meta before a compaction reads the file it named, rightly."""
    ws = open_workspace(big)
    want = edited(ws.accounts)
    ws.set_table("accounts", want)
    ws.commit("edit accounts", user="ann")
    reader = open_store(big)
    with reader.reading() as conn:
        seen = overlay_in(conn, reader.layout, reader.location)
    assert seen is not None
    assert open_store(big).compact() is not None  # another process compacts meanwhile
    late = merged_table(seen, reader.layout).to_pandas()
    assert late[s.ACCOUNT_ID].tolist() == want[s.ACCOUNT_ID].tolist()


def test_commits_compact_by_themselves_past_the_fraction(big: Path) -> None:
    """Renaming 10% of the accounts (past 5%) makes the commit fold them into a new file."""
    ws = open_workspace(big)
    frame = ws.accounts.copy()
    frame.loc[frame.index[:130], s.NAME] = "bulk"
    ws.set_table("accounts", frame)
    ws.commit("bulk rename", user="ann")
    assert len(sidecars(big.parent)) == 2
    assert pyogrio.read_info(big, layer="accounts")["features"] == 0
    assert plain(open_workspace(big).accounts).equals(plain(frame))


def test_growing_past_the_threshold_moves_accounts_out(
    tmp_path: Path, helsinki: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workspace whose accounts grow past the threshold gets its sidecar at that commit."""
    target = tmp_path / "grow.gpkg"
    tables = dict(helsinki.tables)
    tables["accounts"] = helsinki.accounts.iloc[:50]
    create_store(target, tables, name="grow").dispose()
    monkeypatch.setenv(SIDECAR_ENV, "100")
    ws = open_workspace(target)
    ws.set_table("accounts", helsinki.accounts.iloc[:200].reset_index(drop=True))
    ws.commit("import accounts", user="ann")
    assert len(sidecars(tmp_path)) == 1
    assert pyogrio.read_info(target, layer="accounts")["features"] == 0
    assert plain(open_workspace(target).accounts).equals(plain(helsinki.accounts.iloc[:200]))


def test_a_deletion_during_the_first_compaction_is_kept(
    tmp_path: Path, helsinki: Workspace
) -> None:
    """An account deleted while the first file is written stays deleted (the file has it)."""
    target = tmp_path / "race.gpkg"
    create_store(target, helsinki.tables, name="race").dispose()
    store = open_store(target)
    with store.reading() as conn:
        plan = plan_compaction(conn, store.layout, store.location, store.head())
    assert plan is not None
    ws = open_workspace(target)
    gone = ws.accounts[s.ACCOUNT_ID].iloc[9]
    ws.set_table("accounts", ws.accounts.drop(index=9).reset_index(drop=True))
    ws.commit("delete one", user="ann")
    plan.write(store.layout)
    with store.writing() as conn:
        plan.install(conn, store.layout)
    plan.finish()
    ids = open_workspace(target).accounts[s.ACCOUNT_ID]
    assert gone not in set(ids) and len(ids) == len(helsinki.accounts) - 1


def test_a_missing_sidecar_names_the_file_and_the_fix(big: Path) -> None:
    """Without its .parquet file the workspace does not open, and the message says why."""
    (big.parent / sidecars(big.parent)[0]).unlink()
    with pytest.raises(SidecarError, match=r"big\.accounts\.v1\..*missing.*copy them together"):
        open_workspace(big)


def test_a_corrupt_sidecar_names_the_file_and_the_fix(big: Path) -> None:
    """A truncated .parquet file: a SidecarError naming it, never a raw Arrow error."""
    path = big.parent / sidecars(big.parent)[0]
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(SidecarError, match=r"cannot be read.*Restore"):
        open_workspace(big)
    with pytest.raises(SidecarError, match="cannot be read"):
        open_accounts(big, [s.ACCOUNT_ID])


def test_read_accounts_reads_only_the_columns_asked_in_compact_dtypes(big: Path) -> None:
    """Ids as Arrow strings, repeated text as categories, values as in the workspace."""
    ws = open_workspace(big)
    frame = edited(ws.accounts)
    ws.set_table("accounts", frame)
    ws.commit("edit accounts", user="ann")
    got = open_accounts(big, [s.ACCOUNT_ID, s.INDUSTRY, s.GEOMETRY])
    assert list(got.columns) == [s.ACCOUNT_ID, s.INDUSTRY, s.GEOMETRY]
    assert isinstance(got[s.INDUSTRY].dtype, pd.CategoricalDtype)
    assert str(got[s.ACCOUNT_ID].dtype).startswith("string")
    assert got[s.ACCOUNT_ID].tolist() == frame[s.ACCOUNT_ID].tolist()
    assert got[s.INDUSTRY].astype(object).where(got[s.INDUSTRY].notna(), None).tolist() == (
        frame[s.INDUSTRY].tolist()
    )
    assert got.geometry.equals(frame.geometry)
    revenue = read_accounts(open_store(big), [s.ANNUAL_REVENUE])
    assert list(revenue.columns) == [s.ANNUAL_REVENUE] and not isinstance(revenue, gpd.GeoDataFrame)
    with pytest.raises(InputError, match="no column 'nope'"):
        open_accounts(big, ["nope"])


def test_read_accounts_without_a_sidecar(tmp_path: Path, helsinki: Workspace) -> None:
    """The same reader works on a small workspace (all accounts in the GeoPackage)."""
    target = tmp_path / "small.gpkg"
    create_store(target, helsinki.tables, name="small").dispose()
    got = open_accounts(target, [s.ACCOUNT_ID, s.GEOMETRY], compact=False)
    assert got[s.ACCOUNT_ID].tolist() == helsinki.accounts[s.ACCOUNT_ID].tolist()


def test_the_threshold_comes_from_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A given value wins, then the env; a bad env value is a clear WorkspaceError."""
    monkeypatch.setenv(SIDECAR_ENV, "1_000")
    assert threshold() == 1000 and threshold(5) == 5
    monkeypatch.setenv(SIDECAR_ENV, "many")
    with pytest.raises(WorkspaceError, match="whole number"):
        threshold()


def test_cli_compact(big: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`planner compact W.gpkg` folds the changes and reports the new file."""
    ws = open_workspace(big)
    ws.set_table("accounts", edited(ws.accounts))
    ws.commit("edit accounts", user="ann")
    assert main(["compact", str(big), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["compacted"] and out["accounts"] == len(ws.accounts)
    assert Path(out["file"]).exists()
    assert main(["compact", str(big), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compacted"] is False


# -- the property: a sidecar never changes what is read -------------------------------
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("rename"), st.integers(0, 10_000)),
        st.tuples(st.just("delete"), st.integers(0, 10_000)),
        st.tuples(st.just("insert"), st.integers(0, 10_000)),
        st.tuples(st.just("compact"), st.just(0)),
        st.tuples(st.just("undo"), st.just(0)),
    ),
    min_size=1,
    max_size=6,
)


def _step(ws: Workspace, op: str, n: int, counter: list[int]) -> None:
    frame = ws.accounts
    if op == "compact":
        assert ws.store is not None
        ws.store.compact()
        return
    if op == "undo":
        if ws.store is not None and ws.store.changes(user="p")[:1]:
            ws.undo("p")
        return
    if not len(frame):
        op = "insert"
    frame = frame.copy()
    at = n % max(len(frame), 1)
    if op == "rename":
        frame.loc[frame.index[at], s.NAME] = f"name {n}"
    elif op == "delete":
        frame = frame.drop(index=frame.index[at])
    else:
        counter[0] += 1
        new = ws.accounts.iloc[[0]].copy() if len(ws.accounts) else None
        if new is None:
            return
        new[s.ACCOUNT_ID] = f"N{counter[0]}-{n}"
        frame = pd.concat([frame, new], ignore_index=True)
    ws.set_table("accounts", gpd.GeoDataFrame(frame.reset_index(drop=True), crs=s.STORAGE_CRS))
    ws.commit(op, user="p")


@pytest.mark.slow
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_STEPS)
def test_sidecar_reads_equal_plain_reads(
    tmp_path_factory: pytest.TempPathFactory, helsinki: Workspace, steps: list[tuple[str, int]]
) -> None:
    """For random commits, undos and compactions, a sidecar workspace reads as a plain one."""
    folder = tmp_path_factory.mktemp("prop")
    tables = dict(helsinki.tables)
    tables["accounts"] = helsinki.accounts.iloc[:30].reset_index(drop=True)
    create_store(folder / "side.gpkg", tables, name="side", sidecar_threshold=10).dispose()
    create_store(folder / "plain.gpkg", tables, name="plain", sidecar_threshold=10**9).dispose()
    side, flat = open_workspace(folder / "side.gpkg"), open_workspace(folder / "plain.gpkg")
    for ws in (side, flat):
        assert ws.store is not None
        ws.store.sidecar_threshold = 10 if ws is side else 10**9
    counters = [[0], [0]]
    for op, n in steps:
        for ws, counter in zip((side, flat), counters, strict=True):
            if op == "compact" and ws is flat:
                continue
            _step(ws, op, n, counter)
        a = open_workspace(folder / "side.gpkg").accounts
        b = open_workspace(folder / "plain.gpkg").accounts
        assert plain(a).equals(plain(b))


def test_two_compactions_racing_keep_one_file(big: Path) -> None:
    """Two compactions of the same version: the first installs, the second removes its own file."""
    ws = open_workspace(big)
    want = edited(ws.accounts)
    ws.set_table("accounts", want)
    ws.commit("edit accounts", user="ann")
    store = open_store(big)
    plans = []
    for _ in range(2):
        with store.reading() as conn:
            plan = plan_compaction(conn, store.layout, store.location, store.head())
        assert plan is not None
        plan.write(store.layout)
        plans.append(plan)
    for plan in plans:
        with store.writing() as conn:
            plan.install(conn, store.layout)
        plan.finish()
    assert [p.installed for p in plans] == [True, False]
    assert plans[1].file not in sidecars(big.parent) and plans[0].file in sidecars(big.parent)
    assert plain(open_workspace(big).accounts).equals(plain(want))
