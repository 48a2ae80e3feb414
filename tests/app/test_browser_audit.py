"""The fairness audit in a real browser: a planner audits the Helsinki plan and sees it marked.

Reuses the server and browser fixtures of ``test_browser.py`` (the app on
127.0.0.1 with the Helsinki sample and no basemap; every request leaving the
machine is blocked and recorded). The charts are drawn on canvases, so the
plan's red line is found by its colour in a screenshot of each histogram.
The screenshot of the section lands in ``artifacts/audit.png``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.app.browser import Server, Visit, screenshot, sign_in

pytestmark = pytest.mark.browser

#: The plan's line in the histograms (planner.services.balance_audit.audit_chart).
PLAN_RED = np.array([0xD6, 0x27, 0x28])


def _red_pixels(png: bytes) -> int:
    """Pixels of a screenshot within a small distance of the plan's red."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return int((np.abs(rgb - PLAN_RED).sum(axis=2) < 60).sum())


def test_planner_sees_the_plan_among_sampled_plans(visit: Visit, server: Server) -> None:
    """Run a 60-plan audit of the scenario: a verdict, and a red plan line on every histogram."""
    page = visit.page
    page.goto(f"{server.url}/balance")
    sign_in(page, server.login)
    plans = page.get_by_role("spinbutton", name="Plans to sample")
    plans.wait_for(timeout=90_000)
    plans.fill("60")
    plans.press("Enter")
    page.wait_for_timeout(1_500)
    page.get_by_role("button", name="Run the audit").click()
    page.get_by_text("plans sampled in").first.wait_for(timeout=120_000)
    charts = page.get_by_test_id("stVegaLiteChart")
    charts.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1_500)  # let the canvases draw
    assert charts.count() >= 5
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        assert _red_pixels(chart.screenshot()) > 40, f"histogram {i} does not mark the plan"
    assert page.get_by_text("60 plans sampled").count() >= 1
    assert page.get_by_role("button", name="Download the report (HTML)").count() == 1
    assert page.get_by_test_id("stException").count() == 0
    charts.first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    shot = screenshot(visit, "audit.png")
    assert shot.stat().st_size > 20_000
    assert visit.blocked == [], f"requests left the machine: {visit.blocked}"
    assert visit.errors == []
