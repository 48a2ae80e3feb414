"""Rules in a real browser: a rule written in the editor changes the counts.

The app runs with `streamlit run` (``running_app`` of ``test_browser.py``) on
a copy of the small Helsinki workspace (local mode: full rights). On the
Assignment page's "Rules and overrides" tab the user picks T1, types a rule:
the live count of matching accounts follows the typing (no Enter needed), a
typo is pointed at; Apply saves it and the page's figures (assigned,
unassigned) change by what the count said; the file holds the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from planner import edit
from planner import schema as s
from planner.workspace import open_workspace
from tests.app.browser import (
    ARTIFACTS,
    Server,
    require_map_assets,
    running_app,
)
from tests.app.conftest import build_small_workspace

pytestmark = pytest.mark.browser

RULE = 'industry == "cafe" OR annual_revenue >= 1500000'


@pytest.fixture(scope="module")
def rules_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """The app on the small workspace with its memberships as the library computes them."""
    require_map_assets()
    folder = tmp_path_factory.mktemp("rules")
    path = folder / "small.gpkg"
    ws = build_small_workspace()
    edit.run_assignment(ws, "base")
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    with running_app(str(path), None, folder) as server:
        yield server, path


def _metric(page: Page, label: str) -> Locator:
    """The value of the visible metric labelled ``label``."""
    box = page.locator("[data-testid='stMetric']:visible").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{label}$"))
    )
    return box.first.locator("[data-testid='stMetricValue']")


def test_a_rule_written_in_the_editor_changes_the_counts(
    browser: Browser, rules_app: tuple[Server, Path]
) -> None:
    server, path = rules_app
    ws = open_workspace(path)
    expected = edit.count_matches(ws, "base", "T1", RULE)
    assert 0 < expected.matched < expected.candidates

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{server.url}/assignment")
    page.get_by_role("tab", name="Rules and overrides").click()
    expect(_metric(page, "Assigned")).to_have_text("40", timeout=60_000)
    picker = page.get_by_label("Territory", exact=True).locator("visible=true").first
    picker.click()
    page.get_by_role("option").filter(has_text="(T1)").first.click()
    count = _metric(page, "Matching accounts")
    expect(count).to_have_text(f"{expected.candidates} of {expected.candidates}", timeout=30_000)

    field = page.locator("[class*='st-key-tp-assign-rules-text-T1-'] input")  # not R's, fading
    field.fill("industry == cafe")  # a typo first: pointed at, no Enter needed
    expect(page.get_by_text("at position 13")).to_be_visible(timeout=30_000)
    field.fill(RULE)
    expect(count).to_have_text(f"{expected.matched} of {expected.candidates}", timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rules_editor.png"), full_page=True)

    page.get_by_role("button", name="Apply").click()
    done = page.get_by_text("Set the rule of T1 to: industry", exact=False)  # >= shows as ≥
    expect(done).to_be_visible(timeout=60_000)
    expect(page.get_by_role("tab", name="Rules and overrides")).to_have_attribute(
        "aria-selected", "true"
    )
    lost = expected.candidates - expected.matched
    expect(_metric(page, "Assigned")).to_have_text(str(40 - lost), timeout=30_000)
    expect(_metric(page, "Unassigned")).to_have_text(str(lost))

    saved = open_workspace(path)
    assert saved.territories("base").set_index(s.TERRITORY_ID)[s.RULE]["T1"] == RULE
    mem = saved.memberships("base")
    assert (mem[s.TERRITORY_ID] == "T1").sum() == expected.matched
