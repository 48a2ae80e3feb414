"""Select accounts on the Map page by a drawn lasso or circle and move them (AppTest).

The map component cannot draw without a browser, so ``ui.maps.show_map`` is
replaced by the tests' :class:`FakeMap`, which answers what the component
would: the shapes drawn (``all_drawings``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box, mapping
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.geo.selection import accounts_in_area, drawn_area
from planner.workspace import open_workspace
from tests.app.test_edit_pages import FakeMap, fake_map
from tests.app.test_team_page import _app_on, _ok, _sign_in, team_copy

__all__ = ["fake_map", "team_copy"]  # fixtures, imported for these tests

PAGE = "app_pages/map.py"
#: A box in the east of the small workspace (T3 is east of 24.955 E).
EAST_BOX = box(24.958, 60.155, 24.978, 60.185)
SUBMIT = "FormSubmitter:tp.map.move_form-Move {n} accounts"


def _lasso(geom: object) -> dict:
    return {"type": "Feature", "properties": {}, "geometry": mapping(geom)}


def _circle(lon: float, lat: float, radius_m: float) -> dict:
    point = {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "properties": {"radius": radius_m}, "geometry": point}


def _selecting(at: AppTest) -> AppTest:
    at.switch_page(PAGE).run()
    at.toggle(key="tp.map.select").set_value(True).run()
    return _ok(at)


def _inside(path: Path, feature: dict) -> list[str]:
    return accounts_in_area(open_workspace(path).accounts, drawn_area(feature))


def test_a_lasso_lists_the_accounts_inside_and_moves_them_with_a_reason(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch, fake_map: FakeMap
) -> None:
    """Draw a box over the east: its accounts are listed; moved to West, they are West's."""
    expected = _inside(small_workspace_file, _lasso(EAST_BOX))
    assert len(expected) >= 3
    at = _selecting(_app_on(small_workspace_file, monkeypatch).run())
    assert any("Draw a lasso" in c.value for c in at.caption)
    fake_map.send({"all_drawings": [_lasso(EAST_BOX)]})
    at.run()
    _ok(at)
    listed = next(d.value for d in at.dataframe if "territory" in d.value.columns)
    assert sorted(listed[s.ACCOUNT_ID]) == sorted(expected)
    assert any(f"{len(expected)} accounts in the drawn area" in m.value for m in at.markdown)

    at.selectbox(key="tp.map.move_to").set_value("T1")
    at.button(key=SUBMIT.format(n=len(expected))).click().run()
    _ok(at)
    assert any("an override needs a reason" in e.value for e in at.error)  # a reason is asked
    at.text_input(key="tp.map.move_reason").input("east key accounts go west")
    at.button(key=SUBMIT.format(n=len(expected))).click().run()
    _ok(at)
    ws = open_workspace(small_workspace_file)
    mem = ws.rows("memberships", "base")
    primary = mem[mem[s.IS_PRIMARY].astype(bool)].set_index(s.ACCOUNT_ID)[s.TERRITORY_ID]
    assert set(primary[expected]) == {"T1"}
    assert ws.version == 2 and ws.store is not None
    assert ws.store.changes()[0].action == f"move {len(expected)} accounts to T1"


def test_a_circle_selects_by_ground_distance(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch, fake_map: FakeMap
) -> None:
    """A 1 km circle around the centre lists exactly the accounts within 1 km."""
    circle = _circle(24.94, 60.17, 1000.0)
    expected = _inside(small_workspace_file, circle)
    at = _selecting(_app_on(small_workspace_file, monkeypatch).run())
    fake_map.send({"all_drawings": [circle]})
    at.run()
    _ok(at)
    listed = next(d.value for d in at.dataframe if "territory" in d.value.columns)
    assert sorted(listed[s.ACCOUNT_ID]) == sorted(expected) and expected


def test_a_manager_may_move_only_into_and_out_of_their_territories(
    team_copy: Path, monkeypatch: pytest.MonkeyPatch, fake_map: FakeMap
) -> None:
    """M1 (T1, T2) lassos the whole area: only their accounts are listed; T3 is no target."""
    at = _selecting(_sign_in(_app_on(team_copy, monkeypatch), "M1"))
    fake_map.send({"all_drawings": [_lasso(box(24.89, 60.14, 24.99, 60.20))]})
    at.run()
    _ok(at)
    listed = next(d.value for d in at.dataframe if "territory" in d.value.columns)
    ws = open_workspace(team_copy)
    mem = ws.rows("memberships", "base")
    theirs = set(mem.loc[mem[s.TERRITORY_ID].isin(["T1", "T2"]), s.ACCOUNT_ID])
    assert set(listed[s.ACCOUNT_ID]) <= theirs
    options = list(at.selectbox(key="tp.map.move_to").options)
    assert any("(T1)" in o for o in options) and not any("(T3)" in o for o in options)
