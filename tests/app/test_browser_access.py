"""Who sees what, in a real browser: a Helsinki rep signs in and sees only their own accounts.

The app runs with `streamlit run` on 127.0.0.1 (the fixtures of
``test_browser.py``), driven by Debian's Chromium. Every account marker on the
map and every row of the data table is compared with the library's
:func:`planner.access.scope_for`; another territory's id in the address is
refused.
"""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from planner import schema as s
from planner.access import AccessScope, scope_for
from planner.samples import sample_path
from planner.workspace import open_workspace
from tests.app.browser import MAP_FRAME, Server, Visit, sample_exists, screenshot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not sample_exists("helsinki"), reason="the Helsinki sample is not built"),
]

REP = "hel-rep-1"

#: Every account id on the map: the popups of the account markers (clustered or not).
MARKER_IDS_JS = """() => {
  const seen = new Set(), ids = [];
  function visit(layer) {
    if (seen.has(layer)) return;
    seen.add(layer);
    if (layer.options && layer.options.className === 'tp-account' && layer.getPopup()) {
      let html = layer.getPopup()._content;
      if (typeof html === 'function') html = html(layer);
      const m = /Account id:<\\/span> ([^<]*)/.exec(html);
      ids.push(m ? m[1] : '?');
      return;
    }
    if (layer.getLayers) layer.getLayers().forEach(visit);
  }
  map_div.eachLayer(visit);
  return ids;
}"""


@pytest.fixture(scope="module")
def rep_scope() -> AccessScope:
    """What the library lets the rep see in the sample's active scenario."""
    ws = open_workspace(sample_path("helsinki"))
    scope = scope_for(ws, REP)
    assert scope.account_ids is not None and 0 < len(scope.account_ids) < len(ws.accounts)
    return scope


def _map_account_ids(page: Page) -> list[str]:
    frame_locator = page.frame_locator(MAP_FRAME).first
    frame_locator.locator("path.tp-account").first.wait_for(state="attached", timeout=60_000)
    frame = next(f for f in page.frames if "st_folium" in f.url)
    ids: list[str] = frame.evaluate(MARKER_IDS_JS)
    return ids


def test_rep_sees_only_their_accounts_on_the_map_and_in_the_table(
    visit: Visit, server: Server, rep_scope: AccessScope
) -> None:
    """Map markers and the data table's rows are exactly the rep's accounts per the library."""
    page = visit.page
    # the table's CSV download falls back to a plain download without the File System Access API
    page.context.add_init_script("delete window.showSaveFilePicker;")
    page.goto(f"{server.url}/map")
    sign_in(page, REP)
    on_map = _map_account_ids(page)
    assert len(on_map) == len(set(on_map))
    assert set(on_map) == rep_scope.account_ids
    frame = page.frame_locator(MAP_FRAME).first
    assert frame.locator("path.tp-account").count() == len(rep_scope.account_ids)
    legend = frame.locator(".tp-legend").inner_text()
    assert legend.count("\n") <= 3, legend  # one territory, the rep marker
    page.wait_for_timeout(500)
    screenshot(visit, "map-rep.png")

    # same session: open the data page from the menu
    page.get_by_test_id("stSidebarNav").get_by_text("Accounts & data").click()
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for(timeout=60_000)
    n = len(rep_scope.account_ids)
    page.get_by_text(f"{n} of {n} accounts").wait_for(timeout=30_000)
    grid.hover()
    with page.expect_download(timeout=30_000) as download:
        grid.get_by_role("button", name="Download as CSV").click()
    table = pd.read_csv(download.value.path(), dtype=str, encoding="utf-8-sig")
    assert set(table[s.ACCOUNT_ID]) == rep_scope.account_ids
    assert set(table[s.TERRITORY_ID]) == rep_scope.own_territory_ids == {"HEL-1"}
    assert visit.blocked == []
    assert visit.errors == []


def test_another_territory_in_the_address_is_refused(
    visit: Visit, server: Server, rep_scope: AccessScope
) -> None:
    """?territory=<another rep's territory> shows "access denied" and nothing of it."""
    page = visit.page
    other = "HEL-2"
    assert not rep_scope.can_view_territory(other)
    page.goto(f"{server.url}/map?territory={other}")
    sign_in(page, REP)
    alert = page.get_by_test_id("stAlert").filter(has_text="Access denied")
    alert.wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # give a wrongly drawn map the time to appear
    # expect() retries: elements of the sign-in run stay on screen until the new run ends,
    # but nothing of the map may remain once it has
    expect(page.locator(MAP_FRAME)).to_have_count(0, timeout=15_000)
    expect(page.get_by_test_id("stHeading").filter(has_text="Map")).to_have_count(0)
    screenshot(visit, "access-denied.png")

    page.goto(f"{server.url}/data?territory={other}")  # a fresh session: sign in again
    sign_in(page, REP)
    page.get_by_test_id("stAlert").filter(has_text="Access denied").wait_for(timeout=60_000)
    # the sign-in page's demo-users table may linger until the run ends; then no table at all
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0, timeout=15_000)

    page.goto(f"{server.url}/data?territory=HEL-1")  # their own territory is fine
    sign_in(page, REP)
    page.get_by_text("Showing only territory").wait_for(timeout=60_000)
    assert page.get_by_test_id("stAlert").filter(has_text="Access denied").count() == 0
    assert visit.blocked == []
    assert visit.errors == []
