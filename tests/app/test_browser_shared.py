"""Two people on one workspace in real browsers: a manager and a planner, a conflict, undo.

The app runs with `streamlit run` on the Helsinki sample; each person has
their own Chromium context (their own session). The sidebar's timed
refresh is turned off so the planner's page stays on the version they saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from planner import schema as s
from planner.workspace import open_workspace
from tests.app.browser import (
    ARTIFACTS,
    Server,
    require_map_assets,
    running_app,
    sample_exists,
    signed_in_page,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """The app on the Helsinki sample; yields the server and the shared working copy."""
    require_map_assets()
    if not sample_exists("helsinki"):
        pytest.skip("the Helsinki sample is not built")
    folder = tmp_path_factory.mktemp("shared")
    with running_app("helsinki", None, folder, PLANNER_REFRESH_S="0") as server:
        yield server, folder / "saved" / "helsinki.gpkg"


def _person(browser: Browser, server: Server, login: str) -> Page:
    page = signed_in_page(browser, server, "hierarchy", login)
    page.get_by_role("heading", name="Rename").wait_for(timeout=60_000)
    return page


def _rename_first(page: Page, name: str) -> None:
    box = page.get_by_label("Name", exact=True)
    box.fill(name)
    page.get_by_role("button", name="Save", exact=True).click()


def _eventually(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait until ``check()`` holds (the browser's click is handled by the server meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the change did not reach the workspace file"
        time.sleep(0.3)


def _name(path: Path, territory: str = "HEL") -> str:
    ws = open_workspace(path)
    sid = ws.active_scenario_id()
    terr = ws.territories(sid)
    return str(terr.loc[terr[s.TERRITORY_ID] == territory, s.NAME].iloc[0])


def test_manager_and_planner_edit_at_once_and_the_second_gets_the_choice(
    shared: tuple[Server, Path], browser: Browser
) -> None:
    """The manager's rename is saved at once; the planner's stale rename of the same territory
    is refused with the two ways out, and "Save mine as a new scenario" keeps it."""
    server, path = shared
    manager = _person(browser, server, "hel-mgr")
    planner = _person(browser, server, "hel-planner")
    _rename_first(manager, "Centre (manager)")
    _eventually(lambda: _name(path) == "Centre (manager)")
    _rename_first(planner, "Centre (planner)")
    expect(planner.get_by_text("was not saved")).to_be_visible(timeout=30_000)
    expect(planner.get_by_role("button", name="Reload and reapply")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    planner.screenshot(path=str(ARTIFACTS / "shared-conflict.png"))
    assert _name(path) == "Centre (manager)", "nothing of the manager's change is lost"
    planner.get_by_role("button", name="Save mine as a new scenario").click()
    expect(planner.get_by_text("was not saved")).to_have_count(0, timeout=30_000)
    ws = open_workspace(path)
    copies = [sc for sc in ws.scenario_list() if sc.created_from == ws.active_scenario_id()]
    assert any("Centre (planner)" in set(ws.territories(sc.scenario_id)[s.NAME]) for sc in copies)
    manager.context.close()
    planner.context.close()


def test_undo_and_redo_by_button_and_shortcut(
    shared: tuple[Server, Path], browser: Browser
) -> None:
    """Undo (the button) takes a rename back; Ctrl+Y redoes it; both are saved at once."""
    server, path = shared
    page = _person(browser, server, "hel-planner")
    before = _name(path)
    _rename_first(page, "Centre (renamed)")
    expect(page.get_by_role("button", name="Undo")).to_be_enabled(timeout=30_000)
    assert _name(path) == "Centre (renamed)"
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Undo: rename territory")).to_be_visible(timeout=30_000)
    assert _name(path) == before
    page.locator("body").press("Control+y")
    expect(page.get_by_text("Redo: rename territory")).to_be_visible(timeout=30_000)
    assert _name(path) == "Centre (renamed)"
    version = open_workspace(path).version
    box = page.get_by_label("Name", exact=True)
    box.click()
    box.type("xyz")
    box.press("Control+z")  # undoes the typing, not the workspace
    time.sleep(3)
    assert open_workspace(path).version == version
    page.screenshot(path=str(ARTIFACTS / "shared-undo.png"))
    page.context.close()
