"""The Team page's hand-over run headless: preview what moves, confirm once, the prompt goes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner.workspace import open_workspace
from tests.app.test_team_page import PAGE, _app_on, _assoc, _ok, _sign_in, team_copy

__all__ = ["team_copy"]  # the fixture, imported for these tests

ASK, YES, NO = "tp.team.ho_ask", "tp.team.ho_yes", "tp.team.ho_no"


def _choose(at: AppTest, gone: str, heir: str, day: date) -> AppTest:
    at.selectbox(key="tp.team.ho_from").set_value(gone).run()
    at.selectbox(key="tp.team.ho_to").set_value(heir)
    at.date_input(key="tp.team.ho_on").set_value(day).run()
    return _ok(at)


def _preview(at: AppTest) -> list[tuple[str, str]]:
    """The territories the preview says move: (id, role)."""
    frame = next(d.value for d in at.dataframe if "successor" in d.value.columns)
    return list(zip(frame["id"], frame["role"], strict=True))


def test_planner_hands_a_rep_over_after_a_preview_and_one_confirm(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R1 owns T1: handing R1 over to R2 from 1 April ends R1 on 31 March; R2 owns T1 after."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _choose(at, "R1", "R2", date(2026, 4, 1))
    assert _preview(at) == [("T1", "owner")]
    assert any("Moves 1 territory and 0 accounts" in m.value for m in at.markdown)
    assert open_workspace(small_workspace_file).version == 1  # a preview saves nothing

    at.button(key=ASK).click().run()
    _ok(at)
    assert any("Hand Aino Virtanen (R1) over to" in w.value for w in at.warning)
    at.button(key=YES).click().run()
    _ok(at)
    assert "Handed R1 over to R2 from 2026-04-01: 1 territory." in at.success[0].value
    assert _assoc(small_workspace_file, "T1") == [
        ("R1", "owner", None, "2026-03-31"),
        ("R2", "owner", "2026-04-01", None),
    ]
    assert not any("over to" in w.value for w in at.warning)  # the prompt is gone
    assert not [b for b in at.button if b.key == YES]
    assert any("nothing to hand over" in e.value for e in at.error)  # R1 has nothing left
    store = open_workspace(small_workspace_file).store
    assert store is not None and store.changes()[0].action == "hand over R1 to R2"
    assert str(store.changes()[0].effective_date) == "2026-04-01"  # dated the hand-over day


def test_cancel_closes_the_prompt_and_saves_nothing(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel: the question goes away and the workspace stays at its version."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _choose(at, "R1", "R2", date(2026, 4, 1))
    at.button(key=ASK).click().run()
    at.button(key=NO).click().run()
    _ok(at)
    assert not [b for b in at.button if b.key in {YES, NO}]
    assert open_workspace(small_workspace_file).version == 1


def test_a_manager_hands_over_inside_their_subtree(
    team_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M1 hands R1's T1 to R3, signed in; the change is M1's."""
    at = _sign_in(_app_on(team_copy, monkeypatch), "M1")
    at.switch_page(PAGE).run()
    _choose(at, "R1", "R3", date(2026, 5, 1))
    assert ("T1", "owner") in _preview(at)
    at.button(key=ASK).click().run()
    at.button(key=YES).click().run()
    _ok(at)
    assert ("R3", "owner", "2026-05-01", None) in _assoc(team_copy, "T1")
    store = open_workspace(team_copy).store
    assert store is not None and store.changes()[0].user == "M1"
