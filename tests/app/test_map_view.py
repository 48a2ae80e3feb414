"""The Map page with many accounts (ui.map_view): counts first, then the accounts of a view.

The fast path starts at :data:`planner.viz_fast.FAST_THRESHOLD` accounts; here the
threshold is lowered to the small workspaces' size. The map component is the
tests' :class:`~tests.app.test_edit_pages.FakeMap`, which also keeps the map parts
the page shows, so the layer's payload can be read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, mapping

from planner import schema as s
from planner.workspace import open_workspace
from tests.app.test_edit_pages import FakeMap
from tests.app.test_team_page import _app_on, _ok, _sign_in, team_copy

__all__ = ["team_copy"]  # a fixture, imported for these tests

PAGE = "app_pages/map.py"
WHOLE = {"bounds": [60.14, 24.89, 60.20, 24.99], "zoom": 15}


class _Shown(FakeMap):
    """A :class:`FakeMap` that keeps the parts of every map shown."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[Any] = []

    def __call__(self, m: object, **kwargs: Any) -> Any:
        self.parts.append(m)
        return super().__call__(m, **kwargs)

    def payload(self) -> dict[str, Any]:
        """The account layer's data in the last map shown."""
        text = self.parts[-1].layers
        found = re.search(r"var d = (\{.*?\"viewKey\":\"tp_view\"\});", text)
        assert found, "no account layer in the map's layers"
        return dict(json.loads(found.group(1).replace("<\\/", "</")))


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> _Shown:
    fake = _Shown()
    monkeypatch.setattr("ui.maps.show_map", fake)
    monkeypatch.setattr("ui.maps.show_parts", fake)
    monkeypatch.setattr("planner.viz_fast.FAST_THRESHOLD", 5)
    return fake


def _ids(payload: dict[str, Any]) -> set[str]:
    chunk = payload["chunk"]
    assert chunk is not None and chunk["kind"] == "points"
    return set(str(chunk["ids"]).split("\u001f")) if chunk["n"] else set()


def test_counts_first_then_the_accounts_of_the_view_asked(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch, shown: _Shown
) -> None:
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    _ok(at)
    first = shown.payload()
    assert first["chunk"] is None and first["n"] == 40
    assert "tp-account-canvas" in shown.parts[-1].layers
    shown.send({"tp_view": WHOLE})  # what the layer sets once few accounts are in view
    at.run()
    _ok(at)
    accounts = open_workspace(small_workspace_file).accounts
    assert _ids(shown.payload()) == set(accounts[s.ACCOUNT_ID].astype(str))
    # a drawing reported later does not carry the view: the page keeps it
    at.toggle(key="tp.map.select").set_value(True).run()
    shown.send(
        {
            "all_drawings": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": mapping(box(24.958, 60.155, 24.978, 60.185)),
                }
            ]
        }
    )
    at.run()
    _ok(at)
    assert _ids(shown.payload()) == set(accounts[s.ACCOUNT_ID].astype(str))
    assert any("in the drawn area" in m.value for m in at.markdown)


def test_a_rep_gets_only_their_accounts(
    team_copy: Path, monkeypatch: pytest.MonkeyPatch, shown: _Shown
) -> None:
    """R1 (T1): the counts and the accounts of the whole area are T1's, nobody else's."""
    at = _sign_in(_app_on(team_copy, monkeypatch), "R1")
    at.switch_page(PAGE).run()
    _ok(at)
    ws = open_workspace(team_copy)
    mem = ws.rows("memberships", "base")
    theirs = set(mem.loc[mem[s.TERRITORY_ID] == "T1", s.ACCOUNT_ID].astype(str))
    assert 0 < shown.payload()["n"] <= len(theirs) < len(ws.accounts)
    shown.send({"tp_view": WHOLE})
    at.run()
    _ok(at)
    assert _ids(shown.payload()) <= theirs


def test_a_malformed_view_draws_the_counts_only(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch, shown: _Shown
) -> None:
    at = _app_on(small_workspace_file, monkeypatch).run()
    at.switch_page(PAGE).run()
    for bad in ({"bounds": [1, 2], "zoom": 3}, {"bounds": [60.2, 24.9, 60.1, 25.0], "zoom": 9},
                {"bounds": [60.1, 24.9, 60.2, 25.0], "zoom": 99}, "nonsense"):  # fmt: skip
        shown.send({"tp_view": bad})
        at.run()
        _ok(at)
        assert shown.payload()["chunk"] is None
