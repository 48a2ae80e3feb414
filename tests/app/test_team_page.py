"""The Team page run headless with AppTest: staff a territory, end and remove, load, vacancies."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.workspace import open_workspace
from tests.app.test_access_pages import PASSWORD, SUBMIT, build_team_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/team.py"


def _app_on(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.delenv("PLANNER_SESSION_TIMEOUT_MIN", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _pick(at: AppTest) -> Any:
    """The "Assignment" picker (its key follows the workspace version)."""
    return next(box for box in at.selectbox if box.label == "Assignment")


def _assoc(path: Path, territory_id: str) -> list[tuple[str, str, object, object]]:
    assoc = open_workspace(path).rows("associations", "base")
    mine = assoc[assoc[s.TERRITORY_ID] == territory_id]

    def day(v: object) -> object:
        return None if s.is_missing(v) else v

    return sorted(
        (r[s.REP_ID], r[s.ROLE], day(r[s.START_DATE]), day(r[s.END_DATE]))
        for _, r in mine.iterrows()
    )


def test_planner_staffs_a_vacant_territory_then_ends_and_removes_it(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local mode: T2 is vacant; adding R1 as owner saves it and fills the vacancy."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _ok(at)
    vacant = at.dataframe[-1].value
    assert vacant[s.TERRITORY_ID].tolist() == ["T2", "T3"]
    at.selectbox(key="tp.team.territory").set_value("T2").run()
    assert at.warning and "Nobody works on" in at.warning[0].value
    at.selectbox(key="tp.team.user").set_value("R1")
    at.selectbox(key="tp.team.role").set_value("owner")
    at.date_input(key="tp.team.start").set_value(date(2026, 1, 1))
    at.button(key="FormSubmitter:tp.team.add_form-Add").click().run()
    _ok(at)
    assert "Added R1 as owner of T2" in at.success[0].value
    assert _assoc(small_workspace_file, "T2") == [("R1", "owner", "2026-01-01", None)]
    assert at.dataframe[-1].value[s.TERRITORY_ID].tolist() == ["T3"]
    load = at.dataframe[-2].value.set_index(s.REP_ID)
    assert load.loc["R1", "territories"] == 2

    _pick(at).set_value("R1 · owner")
    at.date_input(key="tp.team.last_day").set_value(date(2026, 3, 31))
    at.button(key="tp.team.end_button").click().run()
    _ok(at)
    assert _assoc(small_workspace_file, "T2") == [("R1", "owner", "2026-01-01", "2026-03-31")]
    _pick(at).set_value("R1 · owner")
    at.button(key="tp.team.remove_button").click().run()
    _ok(at)
    assert _assoc(small_workspace_file, "T2") == []


def test_a_second_owner_is_refused_with_the_fix_and_nothing_saved(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T1 has owner R1: adding R2 as owner too shows the library's error; the file is unchanged."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    at.selectbox(key="tp.team.territory").set_value("T1").run()
    at.selectbox(key="tp.team.user").set_value("R2")
    at.button(key="FormSubmitter:tp.team.add_form-Add").click().run()
    _ok(at)
    assert "already has owner 'R1'" in at.error[0].value
    assert "add the user as overlay" in at.error[0].value
    assert open_workspace(small_workspace_file).version == 1


@pytest.fixture
def team_copy(tmp_path: Path) -> Path:
    """The team workspace (reps R1, R3 under manager M1; R4 under R2) as a writable file."""
    path = tmp_path / "team.gpkg"
    ws = build_team_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


def _sign_in(at: AppTest, login: str) -> AppTest:
    at.run()
    at.text_input(key="tp.widget.login").input(login)
    at.text_input(key="tp.widget.password").input(PASSWORD)
    at.button(key=SUBMIT).click().run()
    return _ok(at)


def test_a_manager_staffs_only_their_subtree(
    team_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M1 sees their reps' T1 and T2, adds R1 as overlay of T2; R4's T3 is not offered."""
    at = _sign_in(_app_on(team_copy, monkeypatch), "M1")
    at.switch_page(PAGE).run()
    _ok(at)
    picker = at.selectbox(key="tp.team.territory")
    assert sorted(picker.options) == sorted(["West (T1)", "Centre & <b>Port</b> (T2)"])
    picker.set_value("T2").run()
    at.selectbox(key="tp.team.user").set_value("R1")
    at.selectbox(key="tp.team.role").set_value("overlay")
    at.button(key="FormSubmitter:tp.team.add_form-Add").click().run()
    _ok(at)
    assert ("R1", "overlay", None, None) in _assoc(team_copy, "T2")
    store = open_workspace(team_copy).store
    assert store is not None and store.changes()[0].user == "M1"


def test_a_rep_gets_no_team_page(team_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Team page needs the edit right: it is not among a rep's pages."""
    at = _sign_in(_app_on(team_copy, monkeypatch), "R1")
    with pytest.raises(ValueError, match=r"not a registered page|Could not find"):
        at.switch_page(PAGE)
