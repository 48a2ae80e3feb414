"""What the browser tests share: Debian's Chromium under Playwright, `streamlit run` on a free
port of 127.0.0.1, pages whose off-machine requests are blocked and recorded, and signing in.

The fixtures built on these (``server``, ``browser``, ``visit``) live in ``tests/app/conftest.py``.
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
from playwright.sync_api import Browser, Page, Route, sync_playwright

from planner.samples import SAMPLES, data_dir
from planner.viz import missing_vendor_files

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


def sample_exists(name: str) -> bool:
    """Whether the bundled sample ``name`` has been built (scripts/build_samples.py)."""
    return (data_dir() / SAMPLES[name][0]).is_file()


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
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
    port = free_port()
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


@dataclass
class Visit:
    """A browser page on the app, with every off-machine request blocked and recorded."""

    page: Page
    blocked: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright (no `playwright install`)."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def offline_visit(browser: Browser, server: Server) -> Iterator[Visit]:
    """A fresh page whose requests may only reach the app on 127.0.0.1 (others recorded)."""
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


def screenshot(visit: Visit, name: str) -> Path:
    """Save the page as ``artifacts/NAME`` and return the path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    visit.page.screenshot(path=str(path))
    return path


def sign_in_if_asked(page: Page, login: str, *, shown: str, password: str = "demo") -> None:
    """Sign in when the page shows the sign-in form; return when it shows the text ``shown``.

    A workspace without users (local mode) opens the page at once.
    """
    form = page.get_by_label("User id or e-mail")
    form.or_(page.get_by_text(shown).first).first.wait_for(timeout=60_000)
    if form.count() == 0:
        return
    form.fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def signed_in_page(
    browser: Browser, server: Server, path: str, login: str | None, password: str = "demo"
) -> Page:
    """A new browser window on the app's page ``path``, signed in as ``login``."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{server.url}/{path}")
    sign_in(page, login, password)
    return page
