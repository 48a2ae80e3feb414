"""A new scenario's rows appended to the tables: positions and digests handed on, and the
inserts a commit records found without comparing the tables (what the store's diff finds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError
from planner.models import Scenario
from planner.samples import sample_path
from planner.store.diff import TableDiff
from planner.workspace import SCENARIO_TABLES, Workspace, open_workspace
from planner.workspace.changed_rows import (
    append_rows,
    diff_pending,
    scenario_digest,
    scenario_positions,
)

SID = "2026-plan"
OTHER = "2026-what-if"


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Helsinki sample (never committed to: each test opens it afresh)."""
    target = tmp_path_factory.mktemp("helsinki") / "helsinki.gpkg"
    shutil.copyfile(sample_path("helsinki"), target)
    return target


def changes(diffs: list[TableDiff]) -> list[tuple[object, ...]]:
    """Each row change as a tuple (an audit row's key is a new random id each time: left out)."""
    return [(c.table, "" if c.table == "audit" else c.key, c.op, c.before, c.after)
            for d in diffs for c in d.changes]  # fmt: skip


def pending_diffs(
    ws: Workspace, baseline: dict[str, pd.DataFrame], direct: bool
) -> list[tuple[object, ...]]:
    """The row changes from ``baseline`` to the tables now: found directly, or by the store."""
    assert ws.store is not None
    scopes: dict[str, frozenset[str] | None] = {
        t: None for t in ws.tables if ws.tables[t] is not baseline[t]
    }
    if direct:
        return changes(diff_pending(ws.store, ws.tables, baseline, scopes)[0])
    return changes(ws.store.diff(ws.tables, baseline, scopes)[0])


@settings(derandomize=True, deadline=None, max_examples=8)
@given(
    picks=st.dictionaries(
        st.sampled_from(SCENARIO_TABLES),
        st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
        min_size=1,
    )
)
def test_appended_rows_are_the_inserts_the_store_finds(
    helsinki: Path, picks: dict[str, list[int]]
) -> None:
    """Whatever rows a new scenario gets (none, some, the same row twice: then the store
    compares them), the inserts recorded at once are the store's own diff, in its order."""
    ws = open_workspace(helsinki)
    baseline = dict(ws.tables)
    ws.add_scenario(Scenario("new", "New"))
    rows = {}
    for table, at in picks.items():
        base = ws.rows(table, SID)
        rows[table] = base.iloc[[i % len(base) for i in at]] if len(base) else base
    ws.add_scenario_rows("new", rows, validate=False)  # as a copy: twice the same row is kept
    assert pending_diffs(ws, baseline, direct=True) == pending_diffs(ws, baseline, direct=False)


def test_rows_of_a_scenario_the_table_had_are_compared_by_the_store(helsinki: Path) -> None:
    """Rows appended for a scenario that already has rows may re-use its keys: the store
    compares them (duplicates keep the last row), and the result is its diff."""
    ws = open_workspace(helsinki)
    baseline = dict(ws.tables)
    old = ws.tables["territories"]
    again = conform(ws.rows("territories", OTHER).iloc[:2], "territories")
    again[s.NAME] = ["Renamed", "Renamed too"]
    ws.tables["territories"] = append_rows(old, again, "territories").frame
    found = pending_diffs(ws, baseline, direct=True)
    assert found == pending_diffs(ws, baseline, direct=False)
    assert {op for _t, _k, op, _b, _a in found} == {"update"}


def test_positions_and_digests_are_handed_on(helsinki: Path) -> None:
    """After a new scenario's rows are appended, every scenario's positions and digests are
    those worked out afresh; an edit of one scenario changes its digest alone."""
    ws = open_workspace(helsinki)
    before = {t: scenario_digest(ws.tables[t], SID) for t in SCENARIO_TABLES}
    other = scenario_digest(ws.tables["territories"], OTHER)
    ws.copy_scenario(SID, "copy")
    for table in SCENARIO_TABLES:
        frame = ws.tables[table]
        fresh = frame.copy()  # another frame object: nothing known of it
        for sid in (SID, OTHER, "copy"):
            assert np.array_equal(scenario_positions(frame, sid), scenario_positions(fresh, sid))
            assert scenario_digest(frame, sid) == scenario_digest(fresh, sid)
        assert scenario_digest(frame, SID) == before[table]
    terr = ws.territories(OTHER)
    terr.loc[0, s.NAME] = "Renamed"
    ws.set_rows("territories", OTHER, terr)
    frame = ws.tables["territories"]
    assert scenario_digest(frame, SID) == before["territories"]
    assert scenario_digest(frame, OTHER) == scenario_digest(frame.copy(), OTHER)
    assert scenario_digest(frame, OTHER) != other


def test_adding_rows_to_a_scenario_that_has_rows_replaces_them(helsinki: Path) -> None:
    """``add_scenario_rows`` on a scenario with rows in a table does what ``set_rows`` does."""
    ws = open_workspace(helsinki)
    terr = ws.territories(OTHER).iloc[:2]
    ws.add_scenario_rows(OTHER, {"territories": terr})
    assert list(ws.territories(OTHER)[s.TERRITORY_ID]) == list(terr[s.TERRITORY_ID])
    assert len(ws.territories(SID)) == len(open_workspace(helsinki).territories(SID))


def test_adding_rows_checks_the_tables_and_the_rows(helsinki: Path) -> None:
    """Rows of a table that is not scenario-scoped, or rows breaking the schema, are refused
    and nothing is changed."""
    ws = open_workspace(helsinki)
    ws.add_scenario(Scenario("new", "New"))
    with pytest.raises(InputError, match="do not hold scenario rows"):
        ws.add_scenario_rows("new", {"accounts": ws.accounts})
    tables = dict(ws.tables)
    bad = ws.territories(SID).iloc[:1].assign(**{s.TERRITORY_ID: None})
    with pytest.raises(InputError, match="'territories' does not match its schema"):
        ws.add_scenario_rows("new", {"targets": ws.rows("targets", SID), "territories": bad})
    assert all(ws.tables[t] is tables[t] for t in tables)
