"""Picking accounts by clicking table rows, in a real browser (the Accounts & data page).

Two rows are clicked in the accounts table: the page says "2 accounts
selected"; a search that hides them keeps them ("2 of them not in the table
now"); emptying the search shows them selected again, and the bulk edit is
offered for those 2. This checks what AppTest cannot: that the browser's
table shows the kept pick when a view comes back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.app.browser import ARTIFACTS, Server, running_app
from tests.app.conftest import build_small_workspace

pytestmark = pytest.mark.browser

#: Rows of st.dataframe are drawn on a canvas: header and rows are this tall (px).
ROW_PX = 35


@pytest.fixture(scope="module")
def data_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("pick")
    path = folder / "small.gpkg"
    ws = build_small_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    with running_app(str(path), None, folder) as server:
        yield server


def _click_row(page: Page, row: int) -> None:
    """Click the selection box of ``row`` (0-based) of the page's first table."""
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * (row + 1) + ROW_PX / 2)


def _search(page: Page, text: str) -> None:
    field = page.get_by_placeholder("id, name or address")
    field.fill(text)
    field.press("Enter")


def test_rows_clicked_stay_picked_through_a_search(browser: Browser, data_app: Server) -> None:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        page.goto(f"{data_app.url}/data")
        expect(page.get_by_text("Click rows to select accounts")).to_be_visible(timeout=60_000)
        _click_row(page, 0)
        expect(page.get_by_text("1 account selected", exact=True)).to_be_visible(timeout=20_000)
        _click_row(page, 2)
        expect(page.get_by_text("2 accounts selected", exact=True)).to_be_visible(timeout=20_000)
        expect(page.get_by_text("(A0000, A0002)")).to_be_visible()
        _search(page, "Shop 39")
        expect(page.get_by_text("2 of them not in the table now")).to_be_visible(timeout=20_000)
        _search(page, "")
        expect(page.get_by_text("2 accounts selected", exact=True)).to_be_visible(timeout=20_000)
        expect(page.get_by_text("not in the table now")).to_have_count(0)
        expect(page.get_by_text("Edit accounts (2 accounts selected)")).to_be_visible()
        _click_row(page, 0)  # the row came back selected: a click now unselects it
        expect(page.get_by_text("1 account selected", exact=True)).to_be_visible(timeout=20_000)
        expect(page.get_by_text("(A0002)")).to_be_visible()
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser_pick.png"), full_page=True)
        raise
    finally:
        page.close()
