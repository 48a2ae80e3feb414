"""The import page takes a unit-to-territory file (one row per unit) as territories."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/import_data.py"

#: The small workspace's 12 units (U<row><column>) in two territories, with a parent for both.
UNITS = [f"U{row}{col}" for row in range(4) for col in range(3)]
WEST = UNITS[:6]
PLAN = b"unit_id,territory,territory_name,parent_id\n" + b"".join(
    (f"{u},A,West,TOP\n" if u in WEST else f"{u},B,East,TOP\n").encode() for u in UNITS
)


@pytest.fixture
def app(small_workspace_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(small_workspace_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.setenv("PLANNER_SAVE_DIR", str(tmp_path / "saved"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    return at


def _upload_plan(at: AppTest, data: bytes) -> None:
    at.selectbox(key="tp.import.kind").set_value("territories").run()
    at.file_uploader(key="tp.import.file.0").upload("plan.csv", data).run()
    at.radio(key="tp.import.into").set_value("open").run()
    sig = hashlib.sha256(data).hexdigest()[:12]
    at.text_input(key=f"tp.import.sc_name.{sig}").input("By units").run()
    at.button(key="tp.import.go").click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_unit_plan_imports_into_a_new_scenario(app: AppTest) -> None:
    _upload_plan(app, PLAN)
    assert not app.error, [e.value for e in app.error]
    ws = app.session_state["tp.workspace"]
    assert isinstance(ws, Workspace)
    made = ws.territories("by-units").set_index(s.TERRITORY_ID)
    assert sorted(made.index) == ["A", "B", "TOP"] and set(made[s.SOURCE]) == {"units"}
    assert made.loc["A", s.NAME] == "West" and made.loc["A", s.PARENT_ID] == "TOP"
    units = ws.rows("unit_assignment", "by-units")
    assert len(units) == 12 and units[s.TERRITORY_ID].value_counts().to_dict() == {"A": 6, "B": 6}
    west = ws.units[ws.units[s.UNIT_ID].isin(WEST)].union_all()
    assert made.loc["A", s.GEOMETRY].symmetric_difference(west).area < 1e-9
    assert len(ws.territories("base")) == 4  # the other scenarios keep their territories


def test_a_unit_plan_naming_an_unknown_unit_is_refused_on_the_page(app: AppTest) -> None:
    bad = PLAN.replace(b"U11,", b"U99,")
    _upload_plan(app, bad)
    shown = " ".join(str(e.value) for e in app.error) + " ".join(
        str(frame.value.to_dict()) for frame in app.dataframe
    )
    assert "U99" in shown
    ws = app.session_state["tp.workspace"]
    assert "by-units" not in set(ws.scenarios[s.SCENARIO_ID])
