"""The bad-input corpus through the app's Import page (AppTest): shown clearly, nothing changed.

Every case of ``tests/data/bad/cases.json`` is uploaded on the Import page
with its kind chosen: the page must not raise (no traceback on screen), must
show the expected problem in its problem table, must not offer the import for
a refused file, and must leave the open workspace exactly as it was. A page
run costs two seconds here, so the default run takes the cases the issue
reported and one per format and expectation; ``PLANNER_APP_CORPUS=all`` runs
them all. Files whose extension the page's uploader does not take for the kind
(``.xls``, ``.gz``...) are refused by the browser before any upload and are
left out.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID251 (the Import page, headless)

from tests.app.conftest import build_small_workspace
from ui.importing import FILE_TYPES

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
CASES: list[dict[str, Any]] = json.loads((BAD / "cases.json").read_text())


#: The cases the issue reported, always run on the page.
REPORTED = {
    "png_renamed.csv", "long_cell.csv", "wide_header.csv", "nan_coordinate.geojson",
    "projected_metres.geojson", "lat_95_polygon.geojson", "cut_last_value.csv",
    "null_byte_ids.csv", "formula_cells.xlsx", "manager_cycle_2.csv", "rule_open_paren.csv",
    "unclosed_quote.csv", "utf16le_no_bom.csv", "repeated_latitude.csv", "zero_width_id.csv",
    "overlapping_units.geojson", "password_hashes.csv",
}  # fmt: skip


def _families(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reported cases, plus one case per (format, expectation)."""
    picked: dict[tuple[str, str], dict[str, Any]] = {}
    for c in cases:
        picked.setdefault((Path(c["file"]).suffix, c["expect"]), c)
    chosen = {c["file"] for c in picked.values()} | REPORTED
    return [c for c in cases if c["file"] in chosen]


# The page's uploader takes these extensions for each kind (the browser refuses others).
_CHOSEN = [c for c in CASES if Path(c["file"]).suffix.lstrip(".") in FILE_TYPES[c["kind"]]]
if os.environ.get("PLANNER_APP_CORPUS") != "all":
    _CHOSEN = _families(_CHOSEN)


@pytest.fixture(scope="module")
def workspace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ws") / "small.gpkg"
    build_small_workspace().save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", _CHOSEN, ids=[c["file"] for c in _CHOSEN])
def test_import_page_shows_the_problem_and_changes_nothing(
    case: dict[str, Any],
    workspace_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page lists the expected problem, raises nothing and leaves the workspace as it was."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(workspace_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.setenv("PLANNER_SAVE_DIR", str(tmp_path / "saved"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/import_data.py").run()
    before = at.session_state["tp.workspace"]
    accounts = pd.DataFrame(before.accounts).copy()
    version = at.session_state["tp.version"]
    at.selectbox(key="tp.import.kind").set_value(case["kind"]).run()
    data = (BAD / case["file"]).read_bytes()
    at.file_uploader(key="tp.import.file.0").upload(case["file"], data).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(
        [str(e.value) for e in at.error]
        + [str(w.value) for w in at.warning]
        + [df.value.to_string() for df in at.dataframe]
    )
    assert "Traceback" not in shown
    assert re.search(case["match"], shown, re.IGNORECASE), shown[:2000]
    if case["expect"] == "error":
        assert not [b for b in at.button if b.key == "tp.import.go"]
    assert at.session_state["tp.workspace"] is before
    assert at.session_state["tp.version"] == version
    pd.testing.assert_frame_equal(pd.DataFrame(before.accounts), accounts)
