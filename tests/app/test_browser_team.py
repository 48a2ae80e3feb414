"""Staffing in a real browser: a manager staffs a vacant drawn territory, then the rep sees it.

The app runs with `streamlit run` (``running_app`` of ``test_browser.py``) on a
copy of the team workspace whose drawn territory T3 has no owner. Manager R2
(over the whole region) adds rep R4 as T3's owner on the Team page; R4 then
signs in and the map shows exactly T3's accounts, as the library's
:func:`planner.access.scope_for` says.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from planner import schema as s
from planner.access import scope_for
from planner.workspace import open_workspace
from tests.app.browser import (
    MAP_FRAME,
    Server,
    require_map_assets,
    running_app,
    signed_in_page,
)
from tests.app.test_access_pages import PASSWORD, build_team_workspace
from tests.app.test_browser_access import MARKER_IDS_JS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def team_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """The app on the team workspace with T3 vacant (R4's ownership removed)."""
    require_map_assets()
    folder = tmp_path_factory.mktemp("team")
    path = folder / "team.gpkg"
    ws = build_team_workspace()
    assoc = ws.rows("associations", "base")
    ws.set_rows("associations", "base", assoc[assoc[s.REP_ID] != "R4"])
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    with running_app(str(path), None, folder) as server:
        yield server, path


def _choose(page: Page, label: str, text: str) -> None:
    """Pick the option containing ``text`` in the selectbox labelled ``label``."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option").filter(has_text=text).first.click()


def test_manager_staffs_a_drawn_territory_and_the_rep_then_sees_it(
    browser: Browser, team_app: tuple[Server, Path]
) -> None:
    """R2 adds R4 as owner of T3 on the Team page; R4's map then shows T3's accounts."""
    server, path = team_app
    before = scope_for(open_workspace(path), "R4")
    assert not before.account_ids  # R4 works on nothing yet

    manager = signed_in_page(browser, server, "team", "R2", PASSWORD)
    manager.get_by_role("heading", name="People of a territory").wait_for(timeout=60_000)
    _choose(manager, "Territory", "(T3)")
    expect(manager.get_by_text("Nobody works on")).to_be_visible(timeout=30_000)
    _choose(manager, "User", "(R4)")
    manager.get_by_role("button", name="Add", exact=True).click()
    expect(manager.get_by_text("Added R4 as owner of T3")).to_be_visible(timeout=60_000)

    ws = open_workspace(path)
    mem = ws.rows("memberships", "base")
    t3 = set(mem.loc[mem[s.TERRITORY_ID] == "T3", s.ACCOUNT_ID].astype(str))
    assert t3 and set(scope_for(ws, "R4").account_ids or ()) == t3

    rep = signed_in_page(browser, server, "map", "R4", PASSWORD)
    rep.frame_locator(MAP_FRAME).first.locator("path.tp-account").first.wait_for(
        state="attached", timeout=60_000
    )
    frame = next(f for f in rep.frames if "st_folium" in f.url)
    shown: list[str] = frame.evaluate(MARKER_IDS_JS)
    assert sorted(shown) == sorted(t3)
