"""The real app in a real browser: `streamlit run` on 127.0.0.1 driven by Debian's Chromium.

Every request that does not go to the app itself is blocked and recorded, so
these tests prove the map works with no internet (no CDN scripts, no tiles).
Screenshots land in ``artifacts/``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import FrameLocator
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.app.browser import MAP_FRAME, Server, Visit, sample_exists, screenshot, sign_in

pytestmark = pytest.mark.browser


def _open_map(visit: Visit, server: Server) -> FrameLocator:
    page = visit.page
    page.goto(f"{server.url}/map")
    sign_in(page, server.login)
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("path.tp-territory").first.wait_for(state="attached", timeout=60_000)
    frame.locator("path.tp-account, .marker-cluster").first.wait_for(
        state="attached", timeout=60_000
    )
    return frame


def test_map_shows_territories_and_accounts_offline(visit: Visit, server: Server) -> None:
    """The map page draws territories, accounts, reps, legend and credit with no remote request."""
    frame = _open_map(visit, server)
    page = visit.page
    territories = frame.locator("path.tp-territory").count()
    accounts = frame.locator("path.tp-account").count()
    clusters = frame.locator(".marker-cluster").count()
    reps = frame.locator(".tp-rep-icon").count()
    assert territories > 0
    assert accounts + clusters > 0
    assert reps > 0
    legend = frame.locator(".tp-legend").inner_text()
    assert "Territories" in legend
    attribution = frame.locator(".leaflet-control-attribution").inner_text()
    assert "OpenStreetMap contributors" in attribution
    box = page.locator(MAP_FRAME).bounding_box()
    assert box is not None and box["height"] > 400, "the map frame is collapsed"
    assert page.get_by_text("OpenStreetMap", exact=False).count() > 0
    page.wait_for_timeout(800)  # let the markers settle
    shot = screenshot(visit, "map.png")
    assert shot.stat().st_size > 20_000
    assert visit.blocked == [], f"requests left the machine: {visit.blocked}"
    assert visit.errors == []


def test_account_popup_shows_details(visit: Visit, server: Server) -> None:
    """Clicking an account opens a popup with its details and territory."""
    frame = _open_map(visit, server)
    marker = frame.locator("path.tp-account")
    if marker.count() == 0:
        frame.locator(".marker-cluster").first.click()
        marker.first.wait_for(state="attached", timeout=10_000)
    popup = frame.locator(".tp-popup")
    for _ in range(3):  # the map component can swallow the first click after it draws
        marker.first.click(force=True)
        try:
            popup.wait_for(timeout=4_000)
            break
        except PlaywrightTimeoutError:
            continue
    assert "Territory:" in popup.inner_text()
    assert visit.blocked == []
    assert visit.errors == []


def test_an_account_found_by_search_opens_its_popup(visit: Visit, server: Server) -> None:
    """Typing a name in Find flies the map to the account and opens its popup."""
    frame = _open_map(visit, server)
    box = visit.page.get_by_placeholder("Find an account or a place")
    box.fill("Scandinavian Outdoor")
    box.press("Enter")
    popup = frame.locator(".leaflet-popup-content", has_text="Scandinavian Outdoor")
    popup.first.wait_for(timeout=60_000)
    assert "Scandinavian Outdoor" in popup.first.inner_text()
    assert visit.blocked == []
    assert visit.errors == []


@pytest.mark.skipif(not sample_exists("georgia"), reason="the Georgia sample is not built")
def test_switching_to_georgia_clusters_accounts(visit: Visit, server: Server) -> None:
    """Picking the Georgia sample in the sidebar redraws a 3-level map with clusters."""
    frame = _open_map(visit, server)
    page = visit.page
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Georgia (sample)").click()
    sign_in(page, "ga-planner")  # another workspace, other users
    frame.locator("path.tp-territory-parent").first.wait_for(state="attached", timeout=60_000)
    frame.locator(".marker-cluster").first.wait_for(state="attached", timeout=60_000)
    assert frame.locator("path.tp-territory").count() > 10
    legend = frame.locator(".tp-legend").inner_text()
    assert "Region boundary" in legend and "District boundary" in legend
    page.wait_for_timeout(800)
    screenshot(visit, "map-georgia.png")
    assert visit.blocked == []
    assert visit.errors == []


def test_overview_and_data_pages_render(visit: Visit, server: Server) -> None:
    """The overview and data pages load in the browser without an exception."""
    page = visit.page
    page.goto(server.url)
    sign_in(page, server.login)
    page.get_by_test_id("stMetric").first.wait_for(timeout=60_000)
    page.goto(f"{server.url}/data")  # a new browser session: sign in again
    sign_in(page, server.login)
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
    assert page.get_by_test_id("stException").count() == 0
    screenshot(visit, "data.png")
    assert visit.blocked == []
    assert visit.errors == []


def test_osm_basemap_requests_only_tiles(visit: Visit, server: Server) -> None:
    """Choosing OpenStreetMap tiles makes tile images the only requests leaving the machine."""
    frame = _open_map(visit, server)
    page = visit.page
    page.get_by_test_id("stSidebar").get_by_text("OpenStreetMap tiles (online)").click()
    frame.locator("img.leaflet-tile").first.wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(500)
    assert visit.blocked, "the tile layer should have asked for tiles"
    for kind, url in visit.blocked:
        assert kind == "image" and url.startswith("https://tile.openstreetmap.org/"), url
