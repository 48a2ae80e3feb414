"""Save as scenario in a real browser: a planner designs four territories, sees the workload
chart drawn, saves the plan, and the sidebar lists the new scenario at once.

Reuses the server and browser fixtures of ``tests/app/conftest.py`` (the app on 127.0.0.1
with the Helsinki sample and no basemap; every request leaving the machine is blocked and
recorded). The workload chart is drawn from a Vega-Lite spec made once per run
(``ui.balance_result``), so it is checked on screen: its bars are coloured pixels.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.app.browser import Server, Visit, sign_in

pytestmark = pytest.mark.browser


def _coloured_pixels(png: bytes) -> int:
    """Pixels of a screenshot that are neither white, grey nor black (the bars)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return int((rgb.max(axis=2) - rgb.min(axis=2) > 60).sum())


def _open_scenario_select(page: Page) -> None:
    """Open the sidebar's scenario select, clicking again while the page still redraws.

    The select opens on a click on its box (not its inner input); a click that lands
    while the rerun after the save redraws the sidebar is lost, so it is repeated.
    """
    sidebar = page.get_by_test_id("stSidebar")
    box = sidebar.get_by_test_id("stSelectbox").filter(
        has=page.get_by_role("combobox", name="Scenario")
    )
    for _ in range(10):
        box.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=1_000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError("the sidebar's scenario select did not open")


def test_planner_saves_a_designed_plan_and_the_sidebar_lists_it(
    visit: Visit, server: Server
) -> None:
    """Design, see the workload bars, save: the saved message, and the new scenario offered."""
    page = visit.page
    page.goto(f"{server.url}/balance")
    sign_in(page, server.login)
    run = page.get_by_role("button", name="Run", exact=True)
    run.wait_for(timeout=90_000)
    run.click()
    save = page.get_by_role("button", name="Save as scenario")
    save.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Workload per territory").click()
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.wait_for(timeout=30_000)
    page.wait_for_timeout(1_500)  # let the canvas draw
    assert _coloured_pixels(chart.screenshot()) > 500, "the workload bars are not drawn"
    save.click()
    page.get_by_text("Saved as planning scenario").wait_for(timeout=60_000)
    _open_scenario_select(page)
    page.get_by_role("option", name="Designed: 4 territories · planning").wait_for(timeout=10_000)
    assert page.get_by_test_id("stException").count() == 0
    assert visit.blocked == [], f"requests left the machine: {visit.blocked}"
    assert visit.errors == []
