"""Fixtures and helpers of the app tests: a small two-level workspace saved as a GeoPackage,
a bundled sample without passwords, opening one page of the app headless, and the browser
tests' running app, Chromium and offline page (helpers in ``tests/app/browser.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.auth import ScryptParams, hash_password
from planner.models import Scenario, ScenarioState
from planner.samples import sample_path
from planner.workspace import Workspace, open_workspace
from tests.app.browser import (
    Server,
    Visit,
    launched_chromium,
    offline_visit,
    require_map_assets,
    running_app,
    sample_exists,
)

#: The app's entry script.
APP = str(Path(__file__).resolve().parents[2] / "app.py")

#: An account name that would run script if a page or popup forgot to escape it.
HOSTILE_NAME = "<img src=x onerror=alert(1)> Smith & Sons"


#: A cheap scrypt cost for test passwords.
FAST_HASH = ScryptParams(log2_n=4, r=8, p=1)


def with_team(ws: Workspace) -> Workspace:
    """``ws`` with users R1 (rep), P1 (planner) and AD (admin), all with the password 'pw'."""
    reps = pd.DataFrame(
        {
            s.REP_ID: ["R1", "P1", "AD"],
            s.NAME: ["Aino", "Pekka", "Elina"],
            s.ROLE: ["rep", "planner", "admin"],
            s.EMAIL: ["r1@example.com", "p1@example.com", "ad@example.com"],
            s.CAPACITY_H_PER_WEEK: [40.0, 0.0, 0.0],
            s.PASSWORD_HASH: [hash_password("pw", params=FAST_HASH) for _ in range(3)],
        }
    )
    ws.set_table("reps", reps.assign(geometry=None))
    return ws


def build_small_workspace(n_accounts: int = 40, *, seed: int = 0) -> Workspace:
    """Return a workspace in central Helsinki: 12 square units, a region over 3 territories.

    Accounts are spread uniformly; each belongs to the territory whose third
    of the area holds it, except the last, which belongs to none.
    """
    rng = np.random.default_rng(seed)
    west, south, east, north = 24.90, 60.15, 24.98, 60.19
    step_x, step_y = (east - west) / 4, (north - south) / 3
    units = gpd.GeoDataFrame(
        {
            s.UNIT_ID: [f"U{i}{j}" for i in range(4) for j in range(3)],
            s.NAME: [f"Block {i}{j}" for i in range(4) for j in range(3)],
            s.UNIT_TYPE: "h3",
        },
        geometry=[
            box(
                west + i * step_x,
                south + j * step_y,
                west + (i + 1) * step_x,
                south + (j + 1) * step_y,
            )
            for i in range(4)
            for j in range(3)
        ],
        crs=s.STORAGE_CRS,
    )
    thirds = [(west, west + 0.03), (west + 0.03, west + 0.055), (west + 0.055, east)]
    leaves = [box(a, south, b, north) for a, b in thirds]
    territories = gpd.GeoDataFrame(
        {
            s.TERRITORY_ID: ["R", "T1", "T2", "T3"],
            s.NAME: ["Helsinki region", "West", "Centre & <b>Port</b>", "East"],
            s.PARENT_ID: [None, "R", "R", "R"],
            s.LEVEL: [0, 1, 1, 1],
            s.LEVEL_NAME: ["region", "territory", "territory", "territory"],
            s.TYPE_ID: "geographic",
            s.SOURCE: "drawn",
            s.RULE: None,
        },
        geometry=[box(west, south, east, north), *leaves],
        crs=s.STORAGE_CRS,
    )
    xs = rng.uniform(west + 0.001, east - 0.001, n_accounts)
    ys = rng.uniform(south + 0.001, north - 0.001, n_accounts)
    industries = np.array(["retail", "cafe", "office", "pharmacy"])
    accounts = gpd.GeoDataFrame(
        {
            s.ACCOUNT_ID: [f"A{i:04d}" for i in range(n_accounts)],
            s.NAME: [HOSTILE_NAME if i == 0 else f"Shop {i}" for i in range(n_accounts)],
            s.ADDRESS: [f"Testikatu {i}, Helsinki" for i in range(n_accounts)],
            s.INDUSTRY: industries[np.arange(n_accounts) % len(industries)],
            s.ANNUAL_REVENUE: rng.integers(50_000, 2_000_000, n_accounts).astype(float),
            s.VISITS_PER_MONTH: 2.0,
            s.VISIT_MINUTES: 30.0,
            s.GEOCODE_PRECISION: "exact",
        },
        geometry=[Point(x, y) for x, y in zip(xs, ys, strict=True)],
        crs=s.STORAGE_CRS,
    )
    reps = gpd.GeoDataFrame(
        {
            s.REP_ID: ["R1", "R2"],
            s.NAME: ["Aino Virtanen", "Mikko Korhonen"],
            s.ROLE: ["rep", "manager"],
            s.CAPACITY_H_PER_WEEK: [40.0, 20.0],
        },
        geometry=[Point(24.92, 60.17), Point(24.96, 60.16)],
        crs=s.STORAGE_CRS,
    )
    ws = Workspace(name="Small Helsinki", description="A test workspace.")
    ws.set_table("units", units)
    ws.set_table("accounts", accounts)
    ws.set_table("reps", reps)
    ws.add_scenario(Scenario("base", name="Base plan", state=ScenarioState.ACTIVE))
    ws.set_rows("territories", "base", territories)
    owner = np.where(xs < thirds[0][1], "T1", np.where(xs < thirds[1][1], "T2", "T3"))
    members = pd.DataFrame(
        {
            s.ACCOUNT_ID: accounts[s.ACCOUNT_ID].to_numpy()[:-1],
            s.TERRITORY_ID: owner[:-1],
            s.CAUSE: "spatial",
            s.DETAIL: "inside polygon",
            s.IS_PRIMARY: True,
        }
    )
    ws.set_rows("memberships", "base", members)
    ws.set_rows(
        "associations",
        "base",
        pd.DataFrame(
            {s.REP_ID: ["R1", "R2"], s.TERRITORY_ID: ["T1", "R"], s.ROLE: ["owner", "manager"]}
        ),
    )
    ws.copy_scenario("base", "draft", name="Draft: two territories")
    draft = territories.iloc[[0, 1, 2]].copy()
    draft.loc[draft.index[2], "geometry"] = box(thirds[1][0], south, east, north)
    ws.set_rows("territories", "draft", draft)
    moved = members.copy()
    moved.loc[moved[s.TERRITORY_ID] == "T3", s.TERRITORY_ID] = "T2"
    ws.set_rows("memberships", "draft", moved)
    return ws


@pytest.fixture(scope="session")
def _small_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ws") / "small.gpkg"
    ws = build_small_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


@pytest.fixture
def small_workspace_file(_small_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small workspace as a file of this test's own (the app saves edits into it)."""
    path = tmp_path_factory.mktemp("ws") / "small.gpkg"
    shutil.copyfile(_small_master, path)
    return path


@pytest.fixture
def small_workspace() -> Workspace:
    """A fresh in-memory small workspace (40 accounts, 3 leaf territories, 2 scenarios)."""
    return build_small_workspace()


def password_free_copy(name: str, folder: Path) -> Path:
    """Save bundled sample ``name`` without passwords (local mode: the user is a planner)."""
    ws = open_workspace(sample_path(name))
    ws.reps[s.PASSWORD_HASH] = None
    return ws.save(folder / f"{name}.gpkg")


@pytest.fixture(scope="module")
def helsinki_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Helsinki sample without passwords, saved once per test module."""
    return password_free_copy("helsinki", tmp_path_factory.mktemp("helsinki"))


def no_errors(at: AppTest) -> None:
    """The run raised nothing and showed no error."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_page(
    path: Path, monkeypatch: pytest.MonkeyPatch, page: str, *, timeout: float = 120
) -> AppTest:
    """The app on workspace ``path`` (no tiles), switched to ``page``, checked for errors."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    no_errors(at)
    return at


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app (`streamlit run`) on a free port of 127.0.0.1 with the Helsinki sample, no basemap.

    Module-scoped: each browser test module gets a server of its own.
    """
    require_map_assets()
    login = None
    if sample_exists("helsinki"):
        workspace, login = "helsinki", "hel-planner"
    else:  # the samples are built by scripts/build_samples.py; fall back to the test workspace
        path = tmp_path_factory.mktemp("browser") / "small.gpkg"
        build_small_workspace(300).save(path)
        workspace = str(path)
    with running_app(workspace, login, tmp_path_factory.mktemp("streamlit")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, one per test module."""
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def visit(browser: Browser, server: Server) -> Iterator[Visit]:
    """A fresh page whose requests may only reach the app on 127.0.0.1."""
    with offline_visit(browser, server) as record:
        yield record
