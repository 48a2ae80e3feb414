"""Drawing a territory in a real browser: Leaflet.draw in Chromium, the count from the library.

Uses the server, browser and offline-guard fixtures of ``test_browser.py``:
the app runs with ``streamlit run`` on 127.0.0.1 and every request that would
leave the machine is blocked and recorded.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from playwright.sync_api import Frame, Page

from planner.errors import GeometryRepairWarning
from planner.geo.shapes import drawn_territory
from planner.samples import sample_path
from planner.workspace import open_workspace
from tests.app.browser import ARTIFACTS, MAP_FRAME, Server, Visit, sign_in
from tests.app.conftest import build_small_workspace

pytestmark = pytest.mark.browser

#: Half the side of the drawn square, in screen pixels.
HALF_SIDE_PX = 45
COUNT_TEXT = re.compile(r"([\d,]+) accounts inside")


def _accounts(server: Server) -> gpd.GeoDataFrame:
    """The accounts of the workspace the server opened (see the ``server`` fixture)."""
    if server.login is not None:
        return open_workspace(sample_path("helsinki")).accounts
    return build_small_workspace(300).accounts


def _densest_spot(accounts: gpd.GeoDataFrame, radius_deg: float) -> tuple[float, float]:
    """Return the (lon, lat) of the account with the most others within ``radius_deg``."""
    xy = np.column_stack([accounts.geometry.x.to_numpy(), accounts.geometry.y.to_numpy()])
    near = (np.abs(xy[:, None, :] - xy[None, :, :]) < radius_deg).all(axis=2).sum(axis=1)
    best = int(np.argmax(near))
    return float(xy[best, 0]), float(xy[best, 1])


def _map_frame(page: Page) -> Frame:
    handle = page.locator(MAP_FRAME).first.element_handle(timeout=60_000)
    frame = handle.content_frame()
    assert frame is not None, "the map iframe has no document"
    return frame


def _open_editor(page: Page, server: Server) -> Frame:
    page.goto(f"{server.url}/edit")
    sign_in(page, server.login)
    page.locator(MAP_FRAME).first.wait_for(timeout=60_000)
    frame = _map_frame(page)
    frame.locator(".leaflet-draw-draw-polygon").wait_for(timeout=60_000)
    frame.locator("path.tp-territory").first.wait_for(state="attached", timeout=60_000)
    frame.wait_for_function("() => window.map && window.map.getSize().x > 0", timeout=30_000)
    return frame


def _draw_square(page: Page, frame: Frame, lon: float, lat: float) -> list[list[float]]:
    """Draw a square around (lon, lat) with Leaflet.draw's polygon tool; return its corners (px)."""
    cx, cy = frame.evaluate(
        "([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    box = frame.locator(".leaflet-container").first.bounding_box()
    assert box is not None
    h = HALF_SIDE_PX
    corners = [[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]]
    frame.locator(".leaflet-draw-draw-polygon").click()
    for x, y in corners:
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(200)
    page.mouse.click(box["x"] + corners[0][0], box["y"] + corners[0][1])  # close the ring
    return corners


def _drawing(frame: Frame) -> Any:
    """What Leaflet.draw holds now, as GeoJSON (the shape st_folium sends to the app)."""
    return frame.evaluate("() => window.drawnItems.toGeoJSON()")


def test_drawing_a_polygon_shows_its_account_count(visit: Visit, server: Server) -> None:
    """Draw a square over a cluster of accounts: the page shows the library's count for it.

    Then create a territory from it: the redrawn map's legend lists the new
    territory with those accounts, and nothing was requested off the machine.
    """
    page = visit.page
    accounts = _accounts(server)
    frame = _open_editor(page, server)
    lon, lat = _densest_spot(accounts, 0.002)
    _draw_square(page, frame, lon, lat)
    shown = page.get_by_text(COUNT_TEXT).first
    shown.wait_for(timeout=60_000)
    match = COUNT_TEXT.search(shown.inner_text())
    assert match is not None
    count = int(match.group(1).replace(",", ""))
    drawing = _drawing(frame)
    assert len(drawing["features"]) == 1
    ring = drawing["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) >= 5, "four corners and the closing point"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeometryRepairWarning)  # clockwise rings re-oriented
        expected = drawn_territory(drawing, accounts).account_count
    assert count == expected
    assert count > 0
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draw-territory.png"))

    page.get_by_label("Name").fill("Drawn in the browser")
    page.get_by_role("button", name="Create the territory").click()
    page.get_by_text("Created territory").first.wait_for(timeout=60_000)
    legend = page.frame_locator(MAP_FRAME).first.locator(".tp-legend")
    legend.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].some(f => f.contentDocument && "
        "f.contentDocument.body.innerText.includes('Drawn in the browser'))",
        timeout=60_000,
    )
    rows = legend.locator(".tp-row").all_inner_texts()
    mine = [r for r in rows if "Drawn in the browser" in r]
    assert mine, rows
    assert mine[0].split()[-1].replace(",", "") == str(count), mine
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "draw-territory-saved.png"))
    assert visit.blocked == [], f"requests left the machine: {visit.blocked}"
    assert visit.errors == []


def test_a_self_crossing_drawing_is_repaired_with_a_warning(visit: Visit, server: Server) -> None:
    """A bow-tie drawn in the browser is repaired; the page says so and still counts accounts."""
    page = visit.page
    frame = _open_editor(page, server)
    lon, lat = _densest_spot(_accounts(server), 0.002)
    cx, cy = frame.evaluate(
        "([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    box = frame.locator(".leaflet-container").first.bounding_box()
    assert box is not None
    h = HALF_SIDE_PX
    bowtie = [[cx - h, cy - h], [cx + h, cy + h], [cx + h, cy - h], [cx - h, cy + h]]
    frame.locator(".leaflet-draw-draw-polygon").click()
    for x, y in bowtie:
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(200)
    page.mouse.click(box["x"] + bowtie[0][0], box["y"] + bowtie[0][1])
    page.get_by_text(COUNT_TEXT).first.wait_for(timeout=60_000)
    warning = page.get_by_text(re.compile(r"Repaired: .*drawn shape"))
    warning.first.wait_for(timeout=30_000)
    assert visit.errors == []


def _px(frame: Frame, lon: float, lat: float) -> tuple[float, float]:
    x, y = frame.evaluate(
        "([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    return float(x), float(y)


def _switch_mode(page: Page, label: str, ready: str) -> Frame:
    """Pick a map mode and wait for its map (``ready``: a selector inside the new map)."""
    page.get_by_text(label, exact=True).first.click()
    page.wait_for_function(
        "(sel) => [...document.querySelectorAll('iframe')].some(f => f.contentDocument && "
        "f.contentDocument.querySelector(sel))",
        arg=ready,
        timeout=60_000,
    )
    frame = _map_frame(page)
    frame.wait_for_function("() => window.map && window.map.getSize().x > 0", timeout=30_000)
    return frame


def test_clicking_a_unit_moves_it_into_the_selected_territory(visit: Visit, server: Server) -> None:
    """In unit mode a click on another territory's unit adds it to the selected one (HEL-1)."""
    if server.login is None:
        pytest.skip("the fallback workspace has no unit assignment")
    page = visit.page
    _open_editor(page, server)
    frame = _switch_mode(page, "Add or remove units", "path.tp-edit-unit")
    ws = open_workspace(sample_path("helsinki"))
    sid = ws.active_scenario_id()
    ua = ws.rows("unit_assignment", sid)
    other = ua[ua["territory_id"] != "HEL-1"]["unit_id"].astype(str).tolist()
    units = ws.units.set_index("unit_id")
    target = other[len(other) // 2]
    spot = units.loc[target].geometry.representative_point()
    x, y = _px(frame, spot.x, spot.y)
    box = frame.locator(".leaflet-container").first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    done = page.get_by_text(re.compile(rf"Added unit {target} to HEL-1"))
    done.first.wait_for(timeout=60_000)
    mine = page.frame_locator(MAP_FRAME).first.locator("path.tp-edit-unit-mine")
    mine.first.wait_for(state="attached", timeout=60_000)
    page.locator(MAP_FRAME).first.wait_for(state="visible", timeout=30_000)
    box = page.locator(MAP_FRAME).first.bounding_box()
    assert box is not None and box["height"] > 400, "the redrawn map is collapsed"
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "edit-units.png"))
    assert visit.blocked == []
    assert visit.errors == []


def test_reshaping_the_selected_territory(visit: Visit, server: Server) -> None:
    """Leaflet.draw's edit tool drags a corner of the selected shape; saving it replaces it."""
    page = visit.page
    _open_editor(page, server)
    frame = _switch_mode(page, "Reshape the selected", "path.tp-edit-shape")
    frame.locator(".leaflet-draw-edit-edit").click()
    handle = frame.locator(".leaflet-editing-icon").first
    handle.wait_for(timeout=30_000)
    hb = handle.bounding_box()
    assert hb is not None
    cx, cy = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 25, cy - 25, steps=8)
    page.mouse.up()
    frame.get_by_role("link", name="Save").click()
    page.get_by_text(COUNT_TEXT).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Save the new shape").click()
    page.get_by_text(re.compile(r"Replaced the shape of")).first.wait_for(timeout=60_000)
    assert visit.blocked == []
    assert visit.errors == []
