"""Two sessions on one workspace: edits saved at once, conflicts offered a choice, undo and redo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.workspace import Workspace, open_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _session(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/hierarchy.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _rename(at: AppTest, territory: str, name: str) -> None:
    at.selectbox(key="tp.hierarchy.rename_id").set_value(territory).run()
    at.text_input(key=f"tp.hierarchy.name.{territory}").set_value(name)
    _button(at, "Save").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _name(ws: Workspace, territory: str, scenario: str = "base") -> str:
    terr = ws.territories(scenario)
    return str(terr.loc[terr[s.TERRITORY_ID] == territory, s.NAME].iloc[0])


def test_an_edit_is_saved_at_once(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No save button: the rename is in the file as soon as it is made, with its author."""
    at = _session(small_workspace_file, monkeypatch)
    _rename(at, "T1", "West side")
    stored = open_workspace(small_workspace_file)
    assert _name(stored, "T1") == "West side"
    change = stored.store.changes()[0]  # type: ignore[union-attr]
    assert change.action == "rename territory" and change.rows >= 1
    assert not [b for b in at.button if b.key == "tp.widget.save"], "no Save workspace button"


def test_a_stale_edit_gets_the_conflict_choice(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Manager and planner rename the same territory: the second is told, and keeps their work
    as a new scenario; nothing of the first is overwritten."""
    first = _session(small_workspace_file, monkeypatch)
    second = _session(small_workspace_file, monkeypatch)
    _rename(first, "T1", "West side")
    _rename(second, "T1", "Western edge")
    banner = " ".join(e.value for e in second.error)
    assert "was not saved" in banner and "rename territory" in banner
    assert _name(open_workspace(small_workspace_file), "T1") == "West side"
    _button(second, "Save mine as a new scenario").click().run()
    assert not second.exception
    assert not second.error, [e.value for e in second.error]
    stored = open_workspace(small_workspace_file)
    assert _name(stored, "T1") == "West side"
    mine = [sc.scenario_id for sc in stored.scenario_list() if sc.scenario_id.startswith("base-")]
    assert len(mine) == 1 and _name(stored, "T1", mine[0]) == "Western edge"


def test_reload_and_reapply_after_a_conflict(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Reload and reapply" drops the stale edit and shows the other session's name."""
    first = _session(small_workspace_file, monkeypatch)
    second = _session(small_workspace_file, monkeypatch)
    _rename(first, "T1", "West side")
    _rename(second, "T1", "Western edge")
    _button(second, "Reload and reapply").click().run()
    assert not second.error
    ws = second.session_state["tp.workspace"]
    assert _name(ws, "T1") == "West side"
    _rename(second, "T1", "Western edge")
    assert _name(open_workspace(small_workspace_file), "T1") == "Western edge"


def test_others_changes_show_up_on_refresh(
    small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change by another session shows once the page refreshes (the sidebar polls for it)."""
    first = _session(small_workspace_file, monkeypatch)
    second = _session(small_workspace_file, monkeypatch)
    _rename(first, "T2", "Port")
    second.session_state["tp.refresh"] = True  # what the sidebar's watcher sets
    second.run()
    assert _name(second.session_state["tp.workspace"], "T2") == "Port"


def test_undo_and_redo_buttons(small_workspace_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo takes the rename back, redo brings it again; both are saved changes."""
    at = _session(small_workspace_file, monkeypatch)
    undo = at.button(key="tp.widget.undo")
    assert undo.disabled, "nothing to undo yet"
    _rename(at, "T1", "West side")
    at.button(key="tp.widget.undo").click().run()
    assert _name(open_workspace(small_workspace_file), "T1") == "West"
    assert _name(at.session_state["tp.workspace"], "T1") == "West"
    at.button(key="tp.widget.redo").click().run()
    assert _name(open_workspace(small_workspace_file), "T1") == "West side"
    actions = [c.action for c in open_workspace(small_workspace_file).store.changes()]  # type: ignore[union-attr]
    assert actions[:3] == ["redo: rename territory", "undo: rename territory", "rename territory"]
