"""The Export page's PDF: a territory picker limited to the user's scope and a PDF download."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from planner.export import pdf
from planner.samples import SAMPLES, data_dir

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "app_pages/export.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (data_dir() / SAMPLES["helsinki"][0]).is_file(), reason="Helsinki sample not built"
    ),
]


def _open(user: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Export page of the Helsinki sample, signed in as ``user`` (password "demo")."""
    monkeypatch.setenv("PLANNER_WORKSPACE", "helsinki")
    monkeypatch.setenv("PLANNER_TILES", "none")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE).run()
    at.text_input(key="tp.widget.login").input(user)
    at.text_input(key="tp.widget.password").input("demo")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Export"
    at.radio(key="tp.widget.export_format").set_value("pdf").run()
    return at


def test_planner_downloads_the_pdf_of_a_territory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing PDF and a territory gives a download of that territory's PDF."""
    made: list[tuple[Any, bytes]] = []
    real = pdf.pdf_bytes

    def recording(plan: pdf.PlanData, *, territory_id: str | None = None) -> bytes:
        data = real(plan, territory_id=territory_id)
        made.append((territory_id, data))
        return data

    monkeypatch.setattr(pdf, "pdf_bytes", recording)
    at = _open("hel-planner", monkeypatch)
    picker = at.selectbox(key="tp.widget.export_territory")
    assert picker.value is None and picker.options[0] == "The whole plan"
    assert "Bulevardi area (HEL-2)" in picker.options
    picker.set_value("HEL-2").run()
    at.button(key="tp.widget.export_prepare").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    button = at.get("download_button")[0]
    assert button.label == "Download PDF for printing (.pdf)"
    assert button.proto.url.endswith(".pdf")
    assert [tid for tid, _ in made] == ["HEL-2"]
    data = made[0][1]
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2  # the map page and the list


def test_rep_picks_only_their_own_territories(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rep's picker offers only the territory they own (HEL-1), not the others."""
    at = _open("hel-rep-1", monkeypatch)
    options = at.selectbox(key="tp.widget.export_territory").options
    assert options == ["The whole plan", "Annankatu area (HEL-1)"]
