"""How fast the app answers in a real browser: click to updated screen, Helsinki sample.

Run: python benchmarks/bench_app.py [--repeat 3] [--accounts 100000[,1000000]] [--ref COMMIT]
     [--save-before] [--steps edit,scenario,map] [--keep DIR]

Drives Debian's Chromium with Playwright against ``streamlit run app.py`` on
127.0.0.1 (as the browser tests do; no request leaves the machine) and times,
from the click to the updated screen (the expected result shown and the app's
script no longer running). The click is the mouse press as the page sees it
(``pointerdown``); the time Playwright spends before it, checking that the
target is visible, still and on top, is printed apart (before commit 70df201
it was counted in each figure, the before-figures included):

- ``mode_switch``: Edit territories, switching the map mode (draw <-> units);
- ``unit_click``: one click on a unit polygon of a fresh unit-mode map (adds
  it); then a second click on the map redrawn after that edit (printed apart:
  a click with no answer in 15 s is counted as lost); with the size of the
  layers' script the click sent to the map (printed apart);
- ``save_scenario``: Balance, "Save as scenario" after a design run;
- ``promote_ask`` / ``promote_confirm``: Compare, "Promote" then "Confirm";
- ``map_100k`` (``map_1m``, ...): the Map page's first full render (from the
  click in the menu until the accounts are drawn: markers, dots or counts)
  with ``--accounts`` accounts in a copy of the sample (the sample's accounts
  copied with a seeded jitter), and whether a loading hint showed before
  them. ``--keep DIR`` keeps those copies in DIR for the next run (writing
  a million accounts takes minutes).

Each figure prints beside the same step measured before the app was made
fast (``benchmarks/data/bench_app_before.json``, with its commit).
``--save-before`` stores this run as those figures; ``--ref COMMIT`` measures
another commit from a ``git worktree`` in a temp folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from playwright.sync_api import Browser, Frame, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner import schema as s  # noqa: E402
from planner.samples import sample_path  # noqa: E402
from planner.workspace import Workspace, open_workspace  # noqa: E402

BEFORE_FILE = ROOT / "benchmarks" / "data" / "bench_app_before.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
MAP_FRAME = "iframe[title$='st_folium']"
LOGIN = "hel-planner"
#: A click on the map with no answer in this many seconds is counted as lost.
LOST_AFTER_S = 15.0
TIMEOUT_MS = int(os.environ.get("BENCH_APP_TIMEOUT_MS", "300000"))
#: What the Map page shows while its markers are not drawn yet (text or class).
HINT_TEXT = re.compile(r"(loading|drawing|preparing).{0,40}(map|account|marker)", re.IGNORECASE)
MARKERS = "path.tp-account, .marker-cluster, .tp-accounts-drawn"
GOALS = {"mode_switch": 1.0, "unit_click": 1.0, "save_scenario": 1.0,
         "promote_ask": 1.0, "promote_confirm": 1.0, "map_100k": 3.0, "map_1m": 5.0}  # fmt: skip


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_app(tree: Path, workspace: str, folder: Path) -> Iterator[str]:
    """Run ``streamlit run app.py`` of ``tree`` on a free port; yield its URL."""
    port = _free_port()
    env = {**os.environ, "PLANNER_WORKSPACE": workspace, "PLANNER_TILES": "none",
           "PLANNER_SAVE_DIR": str(folder / "saved"), "PYTHONPATH": str(tree),
           "PLANNER_DATA_DIR": str(tree / "data")}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "streamlit.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"streamlit exited: {(folder / 'streamlit.log').read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp,
            ):
                if resp.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("streamlit did not start in 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def new_page(browser: Browser, url: str) -> Iterator[Page]:
    """A fresh browser session whose requests may only reach the app."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.route(
        "**/*",
        lambda r: (
            r.continue_()
            if r.request.url.startswith(
                (url, url.replace("http", "ws"), "data:", "blob:", "about:")
            )
            else r.abort()
        ),
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page) -> None:
    box = page.get_by_label("User id or e-mail")
    box.wait_for(timeout=TIMEOUT_MS)
    box.fill(LOGIN)
    page.get_by_role("textbox", name="Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()


def idle(page: Page) -> bool:
    """Whether the app's script is not running (Streamlit's own state attribute)."""
    return bool(
        page.evaluate(
            "() => { const e = document.querySelector('[data-test-script-state]');"
            " return !!e && e.getAttribute('data-test-script-state') !== 'running'; }"
        )
    )


def timed(page: Page, click: Callable[[], None], done: Callable[[], bool]) -> float:
    """Seconds from ``click`` until ``done()`` holds and the script is idle."""
    took = timed_or_lost(page, click, done, TIMEOUT_MS / 1000)
    if took is not None:
        return took
    shot = Path(tempfile.gettempdir()) / "bench_app_timeout.png"
    page.screenshot(path=str(shot))
    raise SystemExit(f"timed out waiting for the screen to update ({page.url}; see {shot})")


#: Seconds Playwright spent in each click before the mouse press (its actionability checks:
#: visible, stable over two frames, scrolled into view, hit target); not the app's time.
PRESS_LAGS: list[float] = []

#: Remembers the page's wall clock at the first mouse press after it runs (one document).
_WATCH_PRESS = (
    "() => { window.__tpPress = null; document.addEventListener('pointerdown',"
    " () => { window.__tpPress = window.__tpPress || Date.now(); },"
    " {capture: true, once: true}); }"
)


def _in_frames(page: Page, script: str) -> list[Any]:
    """Run ``script`` in the page and every frame it can reach; the answers."""
    out = []
    for frame in page.frames:
        with contextlib.suppress(PlaywrightError):
            out.append(frame.evaluate(script))
    return out


def timed_or_lost(
    page: Page, click: Callable[[], None], done: Callable[[], bool], limit_s: float
) -> float | None:
    """Like :func:`timed`, but ``None`` when the screen has not changed in ``limit_s``.

    The time runs from the mouse press as the page saw it (``pointerdown``,
    in the page or a map frame) to the moment ``done()`` holds and the script
    is idle; Playwright's own checks before the press are kept apart in
    :data:`PRESS_LAGS`. Without a press seen, from the call of ``click``.
    """
    _in_frames(page, _WATCH_PRESS)
    start = time.perf_counter()
    called = float(page.evaluate("() => Date.now()"))
    click()
    page.wait_for_timeout(50)  # let the click reach the server before looking
    while time.perf_counter() < start + limit_s:
        if done() and idle(page):
            took = time.perf_counter() - start
            pressed = [t for t in _in_frames(page, "() => window.__tpPress") if t]
            if not pressed:
                return took
            lag = (min(pressed) - called) / 1000
            PRESS_LAGS.append(lag)
            return took - lag
        page.wait_for_timeout(25)
    return None


def frame_has(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            "(sel) => [...document.querySelectorAll('iframe')].some(f => { try {"
            " return !!(f.contentDocument && f.contentDocument.querySelector(sel)); }"
            " catch (e) { return false; } })",
            selector,
        )
    )


def map_frame(page: Page) -> Frame:
    handle = page.locator(f"{MAP_FRAME} >> visible=true").first.element_handle(timeout=TIMEOUT_MS)
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_function("() => window.map && window.map.getSize().x > 0", timeout=TIMEOUT_MS)
    return frame


# --------------------------------------------------------------------------- the steps


def edit_steps(browser: Browser, url: str, repeat: int) -> dict[str, list[Any]]:
    """Mode switches and unit clicks on Edit territories."""
    ws = open_workspace(sample_path("helsinki"))
    sid = ws.active_scenario_id()
    ua = ws.rows("unit_assignment", sid)
    units = ws.units.set_index(s.UNIT_ID)
    out: dict[str, list[Any]] = {"mode_switch": [], "unit_click": [], "unit_click_next": [],
                                 "unit_click_layers_kb": []}  # fmt: skip
    with new_page(browser, url) as page:
        page.goto(f"{url}/edit")
        sign_in(page)
        page.locator(MAP_FRAME).first.wait_for(timeout=TIMEOUT_MS)
        map_frame(page).locator(".leaflet-draw-draw-polygon").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelector('[data-test-script-state]')"
            ".getAttribute('data-test-script-state') !== 'running'",
            timeout=TIMEOUT_MS,
        )
        selected = page.get_by_label("Territory").first.input_value() or ""
        chosen = _territory_id(page, ws, sid, selected)
        others = ua[ua[s.TERRITORY_ID].astype(str) != chosen][s.UNIT_ID].astype(str).tolist()
        rng = np.random.default_rng(7)
        queue = [others[k] for k in rng.permutation(len(others))]
        for _ in range(repeat):
            out["mode_switch"].append(_switch(page, "Add or remove units", "path.tp-edit-unit"))
            took = _click_unit(page, queue, units, LOST_AFTER_S)
            if took is None:
                raise SystemExit("a click on a unit of a fresh unit map was lost")
            out["unit_click"].append(took)
            out["unit_click_layers_kb"].append(_layers_kb(page))
            # the next click, on the map redrawn after the edit (lost clicks count as lost)
            out["unit_click_next"].append(_click_unit(page, queue, units, LOST_AFTER_S))
            out["mode_switch"].append(_switch(page, "Draw a shape", ".leaflet-draw-draw-polygon"))
    return out


def _click_unit(page: Page, queue: list[str], units: Any, limit_s: float) -> float | None:
    """Click a unit of another territory; seconds until it shows as added (``None``: lost)."""
    page.mouse.move(5, 5)  # off the map: no tooltip or highlight left over
    page.wait_for_timeout(1000)  # the redrawn map settles before the click
    frame = map_frame(page)
    target, x, y = _clickable_unit(frame, queue, units)
    area = frame.locator(".leaflet-container").first
    text = page.get_by_text(re.compile(rf"Added unit {re.escape(target)}\b"))
    return timed_or_lost(
        page,
        lambda: area.click(position={"x": x, "y": y}),
        lambda: text.count() > 0 and frame_has(page, "path.tp-edit-unit-mine"),
        limit_s,
    )


def _layers_kb(page: Page) -> float:
    """Size of the layers' script the map was sent with its last update (KB)."""
    return float(
        map_frame(page).evaluate(
            "() => ((window.__GLOBAL_DATA__ || {}).last_feature_group || '').length / 1024"
        )
    )


def _clickable_unit(frame: Frame, queue: list[str], units: Any) -> tuple[str, float, float]:
    """The next unit of ``queue`` whose inside point is a unit outline on screen (not a marker,
    not the legend); with its point in the map's pixels. Taken off the queue."""
    while queue:
        target = queue.pop(0)
        spot = units.loc[target].geometry.representative_point()
        x, y, hit = frame.evaluate(
            "([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);"
            " const r = window.map.getContainer().getBoundingClientRect();"
            " const e = document.elementFromPoint(r.left + p.x, r.top + p.y);"
            " return [p.x, p.y, !!e && e.classList.contains('tp-edit-unit')]; }",
            [spot.y, spot.x],
        )
        if hit:
            return target, float(x), float(y)
    raise SystemExit("no unit outline left to click on the map")


def _switch(page: Page, label: str, ready: str) -> float:
    return timed(
        page, lambda: page.get_by_text(label, exact=True).first.click(),
        lambda: frame_has(page, ready),
    )  # fmt: skip


def _territory_id(page: Page, ws: Workspace, sid: str, shown: str) -> str:
    """The id of the territory the editor selected (its selectbox shows a label)."""
    ids = ws.territories(sid)[s.TERRITORY_ID].astype(str).tolist()
    return next((t for t in ids if re.search(rf"\b{re.escape(t)}\b", shown)), "HEL-1")


def scenario_steps(browser: Browser, url: str, repeat: int) -> dict[str, list[float]]:
    """Save a designed plan as a scenario (Balance), then promote it (Compare)."""
    out: dict[str, list[float]] = {"save_scenario": [], "promote_ask": [], "promote_confirm": []}
    for _ in range(repeat):
        with new_page(browser, url) as page:
            page.goto(f"{url}/balance")
            sign_in(page)
            page.get_by_role("button", name="Run", exact=True).wait_for(timeout=TIMEOUT_MS)
            page.get_by_role("button", name="Run", exact=True).click()
            save = page.get_by_role("button", name="Save as scenario")
            save.wait_for(timeout=TIMEOUT_MS)
            page.wait_for_function(
                "() => document.querySelector('[data-test-script-state]')"
                ".getAttribute('data-test-script-state') !== 'running'",
                timeout=TIMEOUT_MS,
            )
            saved = page.get_by_text("Saved as planning scenario")
            out["save_scenario"].append(timed(page, save.click, lambda s=saved: s.count() > 0))
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
            ask = page.get_by_role("button", name=re.compile(r"^Promote"))
            ask.wait_for(timeout=TIMEOUT_MS)
            page.wait_for_timeout(300)
            confirm = page.get_by_role("button", name="Confirm")
            out["promote_ask"].append(timed(page, ask.click, lambda c=confirm: c.count() > 0))
            done = page.get_by_text("is now the active scenario")
            out["promote_confirm"].append(timed(page, confirm.click, lambda d=done: d.count() > 0))
    return out


def big_workspace(path: Path, accounts: int, seed: int = 0) -> Path:
    """Write the Helsinki sample with its accounts copied (seeded jitter) up to ``accounts``."""
    ws = open_workspace(sample_path("helsinki"))
    base = ws.accounts
    rng = np.random.default_rng(seed)
    source = np.arange(accounts) % len(base)
    frame = base.iloc[source].reset_index(drop=True)
    old_ids = frame[s.ACCOUNT_ID].astype(str).to_numpy()
    frame[s.ACCOUNT_ID] = [f"B{i:07d}" for i in range(accounts)]
    xy = shapely.get_coordinates(frame.geometry.values) + rng.normal(0, 0.0015, (accounts, 2))
    frame = frame.set_geometry(shapely.points(xy), crs=s.STORAGE_CRS)
    new_of = pd.Series(frame[s.ACCOUNT_ID].to_numpy(), index=old_ids)
    members = {sid: ws.memberships(sid) for sid in ws.scenarios[s.SCENARIO_ID].astype(str)}
    ws.set_table("accounts", frame)
    for sid, mem in members.items():
        grown = mem.merge(
            new_of.rename("new_id").rename_axis(s.ACCOUNT_ID).reset_index(), on=s.ACCOUNT_ID
        )
        grown[s.ACCOUNT_ID] = grown.pop("new_id")
        ws.set_rows("memberships", sid, grown.drop(columns=[s.SCENARIO_ID], errors="ignore"))
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


def map_name(accounts: int) -> str:
    """The figure's name: ``map_100k``, ``map_1m``."""
    if accounts % 1_000_000 == 0:
        return f"map_{accounts // 1_000_000}m"
    return f"map_{accounts // 1000}k"


def map_steps(browser: Browser, url: str, repeat: int, name: str) -> dict[str, Any]:
    """The Map page's first render in fresh sessions, and whether a loading hint showed."""
    times: list[float] = []
    hints: list[bool] = []
    for _ in range(repeat):
        with new_page(browser, url) as page:
            page.goto(url)
            sign_in(page)
            page.get_by_test_id("stMetric").first.wait_for(timeout=TIMEOUT_MS)
            page.wait_for_function(
                "() => document.querySelector('[data-test-script-state]')"
                ".getAttribute('data-test-script-state') !== 'running'",
                timeout=TIMEOUT_MS,
            )
            seen = {"hint": False}

            def drawn(pg: Page = page, seen: dict[str, bool] = seen) -> bool:
                if frame_has(pg, MARKERS):
                    return True
                if not seen["hint"]:
                    seen["hint"] = pg.get_by_text(HINT_TEXT).count() > 0 or frame_has(
                        pg, ".tp-loading"
                    )
                return False

            link = page.get_by_test_id("stSidebarNav").get_by_role("link", name="Map", exact=True)
            times.append(timed(page, link.click, drawn))
            hints.append(seen["hint"])
    return {name: times, f"{name}_hint": hints}


# --------------------------------------------------------------------------- the run


def measure(
    tree: Path, repeat: int, accounts: list[int], steps: set[str], keep: Path | None
) -> dict[str, Any]:
    """Every figure of the app in ``tree``: medians (seconds) and the single runs."""
    runs: dict[str, Any] = {}
    os.environ["PLANNER_DATA_DIR"] = str(tree / "data")  # the samples of the tree measured
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        folder = Path(tmp)
        with running_app(tree, "helsinki", folder / "small") as url:
            if "edit" in steps:
                runs.update(edit_steps(browser, url, repeat))
            if "scenario" in steps:
                runs.update(scenario_steps(browser, url, repeat))
        for n in accounts if "map" in steps else []:
            big = (keep or folder) / f"helsinki_big_{n}.gpkg"
            if not big.is_file():
                big_workspace(big, n)
            with running_app(tree, str(big), folder / f"big{n}") as url:
                runs.update(map_steps(browser, url, repeat, map_name(n)))
        browser.close()
    figures = {k: statistics.median(v) for k, v in runs.items() if k in GOALS}
    return {"figures": figures, "runs": runs, "accounts": accounts}


def _commit(tree: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tree, check=True, capture_output=True, text=True
    ).stdout.strip()


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``ref`` in a temp folder, with our vendor files."""
    with tempfile.TemporaryDirectory(prefix="bench-app-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        try:
            vendor = tree / "static" / "vendor"
            if not vendor.exists():
                shutil.copytree(ROOT / "static" / "vendor", vendor)  # served files: no links
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False, capture_output=True)  # fmt: skip


def report(result: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Print every figure beside the before-figure and the goal."""
    old = (before or {}).get("figures", {})
    where = f" (commit {before['commit'][:10]})" if before else ""
    print(f"{'step':<18}{'now s':>9}{'before s':>10}{'goal s':>8}  runs now")
    for key, goal in GOALS.items():
        if key not in result["figures"]:
            continue
        now = result["figures"][key]
        was = f"{old[key]:.2f}" if key in old else "-"
        runs = ", ".join(f"{v:.2f}" for v in result["runs"][key])
        mark = "ok" if now < goal else "SLOW"
        print(f"{key:<18}{now:>9.2f}{was:>10}{goal:>8.1f}  [{runs}] {mark}")
    if "unit_click_next" in result["runs"]:
        nxt = result["runs"]["unit_click_next"]
        was = (before or {}).get("runs", {}).get("unit_click_next")
        print(f"next unit click on the redrawn map: {_answers(nxt)} (before: {_answers(was)})")
    if "unit_click_layers_kb" in result["runs"]:
        sizes = ", ".join(f"{v:.0f}" for v in result["runs"]["unit_click_layers_kb"])
        print(f"layers' script sent with each unit click: [{sizes}] KB")
    for key, hints in result["runs"].items():
        if key.endswith("_hint"):
            print(f"loading hint seen before the accounts ({key[:-5]}): {hints}")
    if PRESS_LAGS:
        lags = sorted(PRESS_LAGS)
        print(
            f"timed from the mouse press; Playwright's checks before each press (not counted): "
            f"median {statistics.median(lags):.2f} s, {lags[0]:.2f}-{lags[-1]:.2f} s"
        )
    print(f"before-figures from {BEFORE_FILE.relative_to(ROOT)}{where}")


def _answers(runs: list[float | None] | None) -> str:
    if runs is None:
        return "-"
    shown = ", ".join("lost" if v is None else f"{v:.2f} s" for v in runs)
    return f"{sum(v is None for v in runs)} of {len(runs)} lost [{shown}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--accounts", default="100000", help="comma-separated sizes")
    parser.add_argument("--keep", type=Path, help="keep the large workspaces here for next time")
    parser.add_argument("--ref", help="measure this commit (a git worktree in a temp folder)")
    parser.add_argument("--save-before", action="store_true", help="store as before-figures")
    parser.add_argument(
        "--steps", default="edit,scenario,map", help="which of edit,scenario,map to run"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        tree = stack.enter_context(worktree(args.ref)) if args.ref else ROOT
        sizes = [int(v) for v in args.accounts.split(",")]
        result = measure(tree, args.repeat, sizes, set(args.steps.split(",")), args.keep)
        result["commit"] = _commit(tree)
    before = json.loads(BEFORE_FILE.read_text()) if BEFORE_FILE.is_file() else None
    report(result, None if args.save_before else before)
    if args.save_before:
        BEFORE_FILE.parent.mkdir(parents=True, exist_ok=True)
        BEFORE_FILE.write_text(json.dumps(result, indent=2) + "\n")
        print(f"saved as the before-figures: {BEFORE_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
