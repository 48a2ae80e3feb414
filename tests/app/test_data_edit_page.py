"""The Data page's account editing run headless: one value for many, cells, rights, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.workspace import open_workspace
from tests.app.test_team_page import PAGE as _TEAM
from tests.app.test_team_page import _app_on, _ok, _sign_in, team_copy

__all__ = ["team_copy"]  # the fixture, imported for these tests
assert _TEAM  # the Team page's helpers are shared; this page is another

PAGE = "app_pages/data.py"


def _select(at: AppTest, rows: list[int]) -> AppTest:
    """Click ``rows`` of the accounts table (its key changes with what it shows)."""
    table = next(d for d in at.dataframe if str(d.key).startswith("tp.pick.data.table."))
    at.session_state[table.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return _ok(at.run())


def _accounts(path: Path) -> dict[str, dict[str, object]]:
    acc = open_workspace(path).accounts.set_index(s.ACCOUNT_ID)
    return acc[[s.INDUSTRY, s.ANNUAL_REVENUE, s.NAME]].to_dict("index")


def _search(at: AppTest, text: str) -> AppTest:
    at.text_input[0].input(text).run()
    return _ok(at)


def _set(at: AppTest, column: str, value: str) -> AppTest:
    at.selectbox(key="tp.data.set_column").set_value(column).run()
    at.text_input(key="tp.data.set_value").input(value).run()
    at.button(key="tp.data.set_button").click().run()
    return _ok(at)


def test_one_value_for_the_shown_accounts_is_saved_as_one_change(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Search 'Shop 1' (A0001, A0010-A0019): set industry 'bakery' for those 11, one change."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _search(at, "Shop 1")
    assert at.button(key="tp.data.set_button").label == "Set Industry for 11 accounts"
    _set(at, s.INDUSTRY, "bakery")
    assert "Saved 11 changed values in industry of 11 accounts." in at.success[0].value
    got = _accounts(small_workspace_file)
    assert {a for a, row in got.items() if row[s.INDUSTRY] == "bakery"} == {
        "A0001",
        *(f"A00{i}" for i in range(10, 20)),
    }
    ws = open_workspace(small_workspace_file)
    assert ws.version == 2 and ws.store is not None
    assert ws.store.changes()[0].action == "set industry of 11 accounts"


def test_selected_rows_only_and_a_bad_number_is_named(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two selected rows get the revenue; 'lots' is refused with the account and column named."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _select(at, [2, 3])
    assert any(m.value.startswith("**2 accounts selected** (A0002, A0003)") for m in at.markdown)
    _set(at, s.ANNUAL_REVENUE, "lots")
    assert "account A0002: 'lots' is not a number" in at.error[0].value
    assert open_workspace(small_workspace_file).version == 1
    _set(at, s.ANNUAL_REVENUE, "125,000")
    got = _accounts(small_workspace_file)
    assert [a for a, row in got.items() if row[s.ANNUAL_REVENUE] == 125000.0] == ["A0002", "A0003"]


def test_the_selection_is_kept_through_a_search(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows picked, then a search that hides them, then one more row: all three are edited."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _select(at, [2, 3])  # A0002, A0003
    _search(at, "Shop 39")
    assert any("2 of them not in the table now" in m.value for m in at.markdown)
    _select(at, [0])  # A0039
    assert at.button(key="tp.data.set_button").label == "Set Industry for 3 accounts"
    _set(at, s.INDUSTRY, "bakery")
    got = _accounts(small_workspace_file)
    assert {a for a, row in got.items() if row[s.INDUSTRY] == "bakery"} == {
        "A0002",
        "A0003",
        "A0039",
    }


def test_cells_edited_in_the_table_are_saved_together(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cells of two accounts edited in the cell editor: one save, both read back."""
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _search(at, "Shop 3")  # A0003, A0030-A0039
    at.radio(key="tp.data.edit_how").set_value("Edit cells").run()
    version = at.session_state.get("tp.version", 0)
    editor = f"tp.data.editor.{version}"  # the editor's key follows the workspace version
    at.session_state[editor] = {
        "edited_rows": {0: {s.NAME: "Corner Shop"}, 2: {s.VISITS_PER_MONTH: 4.0}},
        "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    save = at.button(key="tp.data.editor_save")
    assert save.label == "Save 2 edited accounts"
    save.click().run()
    _ok(at)
    ws = open_workspace(small_workspace_file)
    acc = ws.accounts.set_index(s.ACCOUNT_ID)
    assert acc.loc["A0003", s.NAME] == "Corner Shop"
    assert acc.loc["A0031", s.VISITS_PER_MONTH] == 4.0
    assert ws.version == 2


def test_a_manager_may_not_edit_accounts_outside_their_territories(
    team_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M1 sees T1 and T2 only: every shown account is theirs to edit; a rep sees no editor."""
    at = _sign_in(_app_on(team_copy, monkeypatch), "M1")
    at.switch_page(PAGE).run()
    _ok(at)
    shown = at.dataframe[0].value
    assert set(shown["territory_id"].dropna()) <= {"T1", "T2"}
    _set(at, s.INDUSTRY, "kiosk")
    assert "Saved" in at.success[0].value
    got = _accounts(team_copy)
    assert {a for a, row in got.items() if row[s.INDUSTRY] == "kiosk"} == set(shown[s.ACCOUNT_ID])

    rep = _sign_in(_app_on(team_copy, monkeypatch), "R1")
    rep.switch_page(PAGE).run()
    _ok(rep)
    assert not [b for b in rep.button if b.key == "tp.data.set_button"]
