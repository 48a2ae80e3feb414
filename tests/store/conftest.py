"""Fixtures of the store tests: every test runs on both backends.

The GeoPackage backend always runs. The PostGIS backend runs when
``$PLANNER_TEST_DATABASE_URL`` names a server (``./dev test`` starts one
with ``./dev db`` and sets it); without it those tests are skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from planner.samples import sample_path
from planner.store import create_store, open_store
from planner.store.connect import read_legacy_tables, schema_for
from planner.store.layout import postgres_engine
from planner.workspace import Workspace, open_workspace

TEST_URL_ENV = "PLANNER_TEST_DATABASE_URL"


def server_url() -> str | None:
    """Return the test server's URL, if one is configured."""
    return os.environ.get(TEST_URL_ENV) or None


@pytest.fixture(params=["gpkg", "postgis"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    if request.param == "postgis" and not server_url():
        pytest.skip(f"no PostGIS server: set {TEST_URL_ENV} (./dev db)")
    return str(request.param)


Opener = Callable[[], Workspace]


@pytest.fixture
def stored(backend: str, tmp_path: Path) -> Iterator[tuple[Opener, str]]:
    """Store the Helsinki sample on the backend; yield an opener and the target.

    The opener returns a fresh :class:`Workspace` (like a new session).
    """
    helsinki = open_workspace(sample_path("helsinki"))
    name = f"t{uuid.uuid4().hex[:10]}"
    if backend == "gpkg":
        target = str(tmp_path / "w.gpkg")
        create_store(target, helsinki.tables, name=name)
        yield (lambda: open_workspace(target)), target
        return
    url = server_url()
    assert url is not None
    create_store(url, helsinki.tables, name=name).dispose()
    yield (lambda: open_workspace(url, name=name)), f"{url}#{name}"
    engine = postgres_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE'))
    engine.dispose()


__all__ = ["open_store", "read_legacy_tables", "server_url"]
