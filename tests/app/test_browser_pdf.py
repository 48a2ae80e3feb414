"""Printing in a real browser: a planner downloads the PDF of one territory from the Export page.

The app runs with `streamlit run` on 127.0.0.1 (the fixtures of ``test_browser.py``),
driven by Debian's Chromium with every off-machine request blocked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.app.browser import Server, Visit, sample_exists, screenshot, sign_in
from tests.export.test_pdf import pages, pdf_lines

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not sample_exists("helsinki"), reason="the Helsinki sample is not built"),
]


def test_pdf_of_a_territory_downloads_with_a_map_page(
    visit: Visit, server: Server, tmp_path: Path
) -> None:
    """Export page > PDF for printing > Bulevardi area > Prepare > Download: a PDF whose
    first page is the territory's map with its key figures, then its account list."""
    page = visit.page
    page.goto(f"{server.url}/export")
    sign_in(page, server.login)
    page.get_by_text("PDF for printing", exact=True).click()
    picker = page.locator("[data-testid='stSelectbox']").filter(has_text="Territory")
    expect(picker).to_be_visible(timeout=60_000)
    picker.click()
    page.get_by_role("option", name="Bulevardi area (HEL-2)").click()
    page.get_by_role("button", name="Prepare the export").click()
    button = page.get_by_role("button", name="Download PDF for printing (.pdf)")
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename.endswith("-HEL-2.pdf")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    screenshot(visit, "export_pdf.png")
    assert path.read_bytes().startswith(b"%PDF")
    assert pages(path) >= 2
    text = pdf_lines(path)
    assert "Bulevardi area" in text and "Territories" in text  # the map page and its legend
    assert "Territory id" in text and "HEL-2" in text  # its key figures
    assert not visit.blocked, visit.blocked
