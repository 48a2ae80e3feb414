"""The Map page's tools: find and fly, density, drive times (AppTest and the layers they draw)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import viz
from planner.services.search import Hit
from planner.workspace import Workspace
from tests.app.conftest import HOSTILE_NAME
from ui import map_tools

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(small_workspace_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    return AppTest.from_file(APP, default_timeout=60)


def test_find_offers_the_matching_accounts_then_every_layer_runs(app: AppTest) -> None:
    app.switch_page("app_pages/map.py").run()
    assert not app.exception
    app.text_input(key="tp.map.find").set_value("shop 1").run()
    pick = app.selectbox(key="tp.map.find_pick")
    labels = list(pick.options)  # shown as their labels
    assert labels and all("Shop 1" in label for label in labels)
    app.selectbox(key="tp.map.density").set_value("Accounts").run()
    homes = app.selectbox(key="tp.map.rings_from")
    homes.set_value(homes.options[1]).run()
    assert not app.exception, [e.value for e in app.exception]
    app.text_input(key="tp.map.find").set_value("zzzz-nothing").run()
    assert any("Nothing matches" in c.value for c in app.caption)


def test_layers_are_drawn_and_a_found_name_is_escaped(small_workspace: Workspace) -> None:
    m = viz.base_map([[60.1, 24.8], [60.3, 25.1]])
    rep = str(small_workspace.reps["rep_id"].iloc[0])
    found = Hit("account", "A1", f"{HOSTILE_NAME} (A1)", 60.17, 24.94)
    layers = map_tools.Layers(density="Accounts", rings_from=rep, minutes=(10, 20))
    map_tools.add_layers(m, small_workspace, layers, found, None)
    page = m.get_root().render()
    assert "20 min drive" in page and "10 min drive" in page  # estimated: no network
    assert "accounts" in page  # the density cells' tooltips
    assert HOSTILE_NAME not in page
