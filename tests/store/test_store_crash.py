"""Crash safety and races, on both backends: SIGKILL mid-commit 100 times; two racing writers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from planner.store.connect import schema_for
from planner.store.layout import postgres_engine
from planner.workspace import open_workspace
from tests.store.conftest import server_url
from tests.store.crash import Opener, kill_drill, race_drill, store_drill

pytestmark = pytest.mark.slow


@pytest.fixture
def drill(backend: str, tmp_path: Path) -> Iterator[tuple[Opener, str | None]]:
    """The drill workspace on the backend; yields an opener and the file's folder."""
    name = f"d{uuid.uuid4().hex[:10]}"
    if backend == "gpkg":
        path = str(tmp_path / "drill.gpkg")
        store_drill(path, name)
        yield (lambda: open_workspace(path)), str(tmp_path)
        return
    url = server_url()
    assert url is not None
    store_drill(url, name)
    yield (lambda: open_workspace(url, name=name)), None
    engine = postgres_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE'))
    engine.dispose()


def test_a_killed_commit_is_whole_or_absent(drill: tuple[Opener, str | None]) -> None:
    """100 SIGKILLs at random moments of a committing process: the workspace always opens
    whole, and no file is left behind."""
    opener, folder = drill
    report = kill_drill(opener, 100, seed=1, folder=folder)
    assert report.kills == 100
    assert report.torn == []
    assert report.leftovers == []
    assert report.versions[-1] > 1, "the drill must actually commit between kills"
    assert report.versions == sorted(report.versions), "committed changes are never lost"


def test_racing_writers_lose_no_update_and_readers_see_no_tear(
    drill: tuple[Opener, str | None],
) -> None:
    """Two writers, 60 interleaved edits each, a reader opening all the while."""
    opener, _ = drill
    report = race_drill(opener, 60)
    assert report.lost_updates == 0
    assert report.torn == []
    for writer in ("w1", "w2"):
        assert report.committed[writer] + report.conflicts[writer] == 60
    assert report.head == 1 + sum(report.committed.values())
    assert report.opens > 5
