"""The routes page in a real browser: a Helsinki rep signs in and sees their day on the map.

Reuses the server and browser fixtures of ``test_browser.py`` (the app on
127.0.0.1 with the Helsinki sample and no basemap; every request leaving the
machine is blocked and recorded). The screenshot lands in
``artifacts/routes.png``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import FrameLocator

from tests.app.browser import MAP_FRAME, Server, Visit, screenshot, sign_in_if_asked

pytestmark = pytest.mark.browser

#: The rep signed in (a user of the Helsinki sample; every sample user's password is "demo").
REP = "hel-rep-1"


def _open_routes(visit: Visit, server: Server) -> FrameLocator:
    page = visit.page
    page.goto(f"{server.url}/routes")  # the sign-in form keeps the address: we land on routes
    sign_in_if_asked(visit.page, REP, shown="Routes")
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("path.tp-route").first.wait_for(state="attached", timeout=90_000)
    frame.locator(".tp-stop").first.wait_for(state="attached", timeout=30_000)
    return frame


def test_rep_sees_their_route_on_the_map(visit: Visit, server: Server) -> None:
    """The rep's day shows as a road polyline with numbered stops and an ETA table, offline."""
    frame = _open_routes(visit, server)
    page = visit.page
    legs = frame.locator("path.tp-route")
    stops = frame.locator(".tp-stop")
    assert legs.count() >= 2
    numbers = [int(t) for t in stops.all_inner_texts()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert frame.locator(".tp-home").count() == 1
    # Along the roads: a leg has many vertices, not just its two ends.
    vertices = max((legs.nth(i).get_attribute("d") or "").count("L") for i in range(legs.count()))
    assert vertices > 2, "the route should follow the streets"
    legend = frame.locator(".tp-legend").inner_text()
    assert "Route along roads" in legend or "Straight-line estimate" in legend
    box = page.locator(MAP_FRAME).bounding_box()
    assert box is not None and box["height"] > 400, "the map frame is collapsed"
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
    assert page.get_by_text("GPX for your phone").count() == 1
    assert page.get_by_test_id("stException").count() == 0
    # the day's totals, the map and the start of the ETA table
    page.locator(MAP_FRAME).evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(800)  # let the markers settle
    shot = screenshot(visit, "routes.png")
    assert shot.stat().st_size > 20_000
    assert visit.blocked == [], f"requests left the machine: {visit.blocked}"
    assert visit.errors == []
