"""A team plan in a real browser: the Helsinki manager plans two reps' week and sees both routes.

Reuses the server and browser fixtures of ``test_browser.py`` (the app on
127.0.0.1 with the Helsinki sample and no basemap; requests leaving the
machine are blocked and recorded). The screenshot lands in
``artifacts/team_routes.png``.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import FrameLocator, Page

from tests.app.browser import MAP_FRAME, Server, Visit, screenshot, sign_in_if_asked

pytestmark = pytest.mark.browser

#: The manager of the Helsinki sample's four reps (password "demo").
MANAGER = "hel-mgr"


def _pick(page: Page, label: str, option: str) -> None:
    """Choose ``option`` in the multiselect labelled ``label`` (type it, then Enter)."""
    box = page.get_by_test_id("stMultiSelect").filter(has_text=label).first
    box.locator("input").click()
    box.locator("input").fill(option)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def _team_frame(page: Page, timeout_s: float = 120.0) -> FrameLocator:
    """The map frame that draws the second rep's route (the team map)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for i in range(page.locator(MAP_FRAME).count()):
            frame = page.frame_locator(MAP_FRAME).nth(i)
            if frame.locator("path.tp-rep-1").count():
                return frame
        page.wait_for_timeout(500)
    raise AssertionError("no map shows two reps' routes")


def test_manager_plans_two_reps_week(visit: Visit, server: Server) -> None:
    """Two territories pooled: their owners get the week's visits, each rep in their colour."""
    page = visit.page
    page.goto(f"{server.url}/routes")
    sign_in_if_asked(visit.page, MANAGER, shown="Routes")
    page.get_by_role("tab", name="Team plan").click(timeout=90_000)
    _pick(page, "Territories", "HEL-1")
    _pick(page, "Territories", "HEL-2")
    page.get_by_text("Aino Virtanen (hel-rep-1)").first.wait_for(timeout=30_000)
    page.get_by_text("Mikko Korhonen (hel-rep-2)").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Plan the team").click(timeout=90_000)
    frame = _team_frame(page)
    for r in (0, 1):
        assert frame.locator(f"path.tp-rep-{r}").count() >= 2, f"rep {r} has no route"
        assert frame.locator(f".tp-stop.tp-rep-{r}").count() >= 1
        assert frame.locator(f".tp-home.tp-rep-{r}").count() == 1
    legend = frame.locator(".tp-legend").inner_text()
    assert "Aino Virtanen" in legend and "Mikko Korhonen" in legend
    # the downloads are drawn after the map: under load the script may still be on its way there
    page.get_by_role("button", name="GPX").nth(1).wait_for(timeout=60_000)
    assert page.get_by_role("button", name="GPX").count() == 2
    assert page.get_by_test_id("stException").count() == 0
    page.locator(MAP_FRAME).last.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(800)
    shot = screenshot(visit, "team_routes.png")
    assert shot.stat().st_size > 20_000
    assert visit.blocked == [], f"requests left the machine: {visit.blocked}"
    assert visit.errors == []
