"""A workspace stored before a table was declared gets it on open, on both backends."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import sqlalchemy as sa

from planner import schema as s
from planner.samples import sample_path
from planner.store import create_store, open_store
from planner.store.connect import schema_for
from planner.store.layout import postgres_engine
from planner.workspace import open_workspace
from tests.store.conftest import server_url

NEW = "opportunities"


def _older_file(tmp_path: Path) -> Path:
    """The Helsinki sample as a planner without the opportunities table wrote it."""
    path = tmp_path / "older.gpkg"
    shutil.copy(sample_path("helsinki"), path)
    con = sqlite3.connect(path)
    with con:
        con.execute(f'DROP TABLE "{NEW}"')
        con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (NEW,))
    con.close()
    return path


def _deal() -> pd.DataFrame:
    return pd.DataFrame(
        {
            s.OPPORTUNITY_ID: ["O-1"],
            s.ACCOUNT_ID: ["A1"],
            s.OWNER_ID: ["hel-rep-1"],
            s.AMOUNT: [1200.0],
            s.CREATED_DATE: ["2026-01-05"],
            s.CLOSED_DATE: [None],
            s.STAGE: ["Prospecting"],
        }
    )


def test_an_older_file_gets_the_table_and_gis_programs_see_it(tmp_path: Path) -> None:
    path = _older_file(tmp_path)
    assert NEW not in set(pyogrio.list_layers(path)[:, 0])
    ws = open_workspace(path)
    assert ws.opportunities.empty and list(ws.opportunities.columns) == s.TABLES[NEW].column_names
    assert NEW in set(pyogrio.list_layers(path)[:, 0])  # registered in gpkg_contents
    ws.set_table(NEW, _deal())
    change = ws.commit("add a deal", user="t")
    assert change is not None and change.rows == 1
    again = open_workspace(path)
    assert again.opportunities[s.OPPORTUNITY_ID].tolist() == ["O-1"]
    assert again.version == ws.version


def test_a_read_only_open_reads_the_missing_table_as_empty_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = _older_file(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    store = open_store(path, readonly=True)
    snap = store.read()
    store.dispose()
    assert snap.tables[NEW].empty and set(snap.tables) == set(s.TABLES)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.skipif(not server_url(), reason="no PostGIS server (./dev db)")
def test_a_server_workspace_gets_the_table_on_open() -> None:
    url = server_url()
    assert url is not None
    name = f"t{uuid.uuid4().hex[:10]}"
    create_store(url, open_workspace(sample_path("helsinki")).tables, name=name).dispose()
    engine = postgres_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE "{schema_for(name)}"."{NEW}"'))
        ws = open_workspace(url, name=name)
        assert ws.opportunities.empty
        ws.set_table(NEW, _deal())
        ws.commit("add a deal", user="t")
        assert open_workspace(url, name=name).opportunities[s.AMOUNT].tolist() == [1200.0]
        if ws.store is not None:
            ws.store.dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE'))
        engine.dispose()
