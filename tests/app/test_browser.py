"""The real app in a real browser: `streamlit run` on 127.0.0.1 driven by Debian's Chromium.

Every request that does not go to the app itself is blocked and recorded, so
these tests prove the map works with no internet (no CDN scripts, no tiles).
Screenshots land in ``artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from planner.samples import SAMPLES, data_dir
from planner.viz import missing_vendor_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAP_FRAME = "iframe[title$='st_folium']"
STARTUP_TIMEOUT_S = 90


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _sample_exists(name: str) -> bool:
    return (data_dir() / SAMPLES[name][0]).is_file()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `streamlit run app.py`."""

    url: str
    port: int
    log: Path
    #: The user to sign in as (the samples' users have the demo password), or ``None``.
    login: str | None = None


@contextlib.contextmanager
def running_app(
    workspace: str, login: str | None, folder: Path, **env_extra: str
) -> Iterator[Server]:
    """Run `streamlit run app.py` on a free port of 127.0.0.1 until the block ends.

    ``folder`` holds its log and its workspaces (``$PLANNER_SAVE_DIR``).
    """
    port = _free_port()
    log = folder / "streamlit.log"
    env = {
        **os.environ,
        "PLANNER_WORKSPACE": workspace,
        "PLANNER_TILES": "none",
        "PLANNER_SAVE_DIR": str(folder / "saved"),
        **env_extra,
    }
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer in {STARTUP_TIMEOUT_S} s:\n{log.read_text()}"
                )
            time.sleep(0.3)
        yield Server(url, port, log, login)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def require_map_assets() -> None:
    """Fail with the fix when the map's vendored files are missing."""
    _require_chromium()
    missing = missing_vendor_files(ROOT / "static" / "vendor")
    if missing:
        pytest.fail(
            f"the map's vendored files are missing ({', '.join(missing[:3])}...): "
            "run `python scripts/vendor_assets.py` (./dev setup does it)"
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Start the app on a free port of 127.0.0.1 with the Helsinki sample and no basemap."""
    require_map_assets()
    login = None
    if _sample_exists("helsinki"):
        workspace, login = "helsinki", "hel-planner"
    else:  # the samples are built by scripts/build_samples.py; fall back to the test workspace
        from tests.app.conftest import build_small_workspace

        path = tmp_path_factory.mktemp("browser") / "small.gpkg"
        build_small_workspace(300).save(path)
        workspace = str(path)
    with running_app(workspace, login, tmp_path_factory.mktemp("streamlit")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Browser]:
    """Debian's Chromium under Playwright (no `playwright install`)."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A browser page on the app, with every off-machine request blocked and recorded."""

    page: Page
    blocked: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Browser, server: Server) -> Iterator[Visit]:
    """A fresh page whose requests may only reach the app on 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    record = Visit(page)
    local = (f"http://127.0.0.1:{server.port}/", f"ws://127.0.0.1:{server.port}/")

    def route(r: Route) -> None:
        request = r.request
        if request.url.startswith((*local, "data:", "blob:", "about:")):
            r.continue_()
        else:
            record.blocked.append((request.resource_type, request.url))
            r.abort()

    context.route("**/*", route)
    page.on("pageerror", lambda exc: record.errors.append(str(exc)))
    try:
        yield record
    finally:
        context.close()


def sign_in(page: Page, login: str | None, password: str = "demo") -> None:
    """Fill the sign-in form shown in place of the page asked for (not when ``login`` is None)."""
    if login is None:
        return
    box = page.get_by_label("User id or e-mail")
    box.wait_for(timeout=60_000)
    box.fill(login)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


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


def _screenshot(visit: Visit, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    visit.page.screenshot(path=str(path))
    return path


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
    shot = _screenshot(visit, "map.png")
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


@pytest.mark.skipif(not _sample_exists("georgia"), reason="the Georgia sample is not built")
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
    _screenshot(visit, "map-georgia.png")
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
    _screenshot(visit, "data.png")
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
