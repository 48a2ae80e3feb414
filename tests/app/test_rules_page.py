"""The "Rules and overrides" tab of the Assignment page, and the Map page's account panel (AppTest).

The map component is replaced by a stub (it needs a browser); everything else
runs as in the app: the rule field's live count, the caret under a parse
error's position, Apply saving one recorded change, includes and excludes
with a reason, removal, and the rights of a rep and of a manager.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import build_small_workspace
from tests.app.test_access_pages import PASSWORD, SUBMIT, build_team_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/assignment.py"

pytestmark = pytest.mark.slow  # each test runs the app a few times (5-30 s on a loaded machine)


@pytest.fixture(autouse=True)
def _no_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ui.maps.show_map", lambda *a, **k: {})
    monkeypatch.setattr("ui.maps.show_parts", lambda *a, **k: {})


def _app(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.delenv("PLANNER_SESSION_TIMEOUT_MIN", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[AppTest, Path]:
    """The app (local mode: full rights) on a fresh copy of the small workspace."""
    path = tmp_path / "small.gpkg"
    ws = build_small_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return _app(path, monkeypatch), path


@pytest.fixture(scope="module")
def _team_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("team") / "team.gpkg"
    ws = build_team_workspace()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    return path


@pytest.fixture
def team(
    _team_master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[AppTest, Path]:
    """The app on a copy of the team workspace (sign-in needed)."""
    path = tmp_path / "team.gpkg"
    shutil.copyfile(_team_master, path)
    return _app(path, monkeypatch), path


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open(at: AppTest, login: str | None = None) -> AppTest:
    at.run()
    if login is not None:
        at.text_input(key="tp.widget.login").input(login)
        at.text_input(key="tp.widget.password").input(PASSWORD)
        at.button(key=SUBMIT).click().run()
    at.switch_page(PAGE).run()
    _ok(at)
    return at


def _pick(at: AppTest, territory: str) -> None:
    at.selectbox(key="tp.assign.rules.territory").set_value(territory).run()
    _ok(at)


def _rule_field(at: AppTest) -> Any:
    return next(t for t in at.text_input if str(t.key).startswith("tp.assign.rules.text."))


def _count(at: AppTest) -> str:
    return next(m for m in at.metric if m.label == "Matching accounts").value


def _assigned(at: AppTest) -> int:
    return int(next(m for m in at.metric if m.label == "Assigned").value.replace(",", ""))


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _picker(at: AppTest, name: str) -> Any:
    """The picker table named ``name`` (its key changes with what it shows)."""
    return next(d for d in at.dataframe if str(d.key).startswith(f"tp.pick.{name}.table."))


def _select(at: AppTest, name: str, ids: list[str]) -> AppTest:
    """Click the rows of ``ids`` in picker ``name`` (sets the selection state a click sets)."""
    table = _picker(at, name)
    rows = [i for i, a in enumerate(table.value[s.ACCOUNT_ID]) if a in set(ids)]
    at.session_state[table.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    _ok(at)
    return at


def _members(path: Path, territory: str) -> set[str]:
    mem = open_workspace(path).memberships("base")
    return set(mem.loc[mem[s.TERRITORY_ID] == territory, s.ACCOUNT_ID].astype(str))


def test_typing_a_rule_counts_and_apply_saves_it(small: tuple[AppTest, Path]) -> None:
    """The count follows the text; Apply stores the rule and the assignment's figures change."""
    at, path = small
    _open(at)
    _pick(at, "T1")
    everything = _count(at)
    assert everything == "12 of 12"
    _rule_field(at).input('industry == "cafe"').run()
    _ok(at)
    assert _count(at) == "3 of 12"
    assert _assigned(at) == 40
    _button(at, "Apply").click().run()
    _ok(at)
    assert any(x.value == 'Set the rule of T1 to: industry == "cafe"' for x in at.success)
    assert _assigned(at) == 40 - 9
    ws = open_workspace(path)  # saved: one recorded change
    assert ws.territories("base").set_index(s.TERRITORY_ID)[s.RULE]["T1"] == 'industry == "cafe"'
    assert ws.store is not None and ws.store.changes()[0].action == "rule set T1"
    assert len(_members(path, "T1")) == 3
    _button(at, "Clear the rule").click().run()
    _ok(at)
    assert _assigned(at) == 40 and len(_members(path, "T1")) == 12


def test_a_rule_that_does_not_parse_points_at_the_position(small: tuple[AppTest, Path]) -> None:
    """The error names position and fix, a caret sits under it, Apply is off, nothing is saved."""
    at, path = small
    _open(at)
    _pick(at, "T2")
    _rule_field(at).input("industry == cafe").run()
    _ok(at)
    assert any("position 13" in e.value and 'Fix: put text in quotes: "cafe"' in e.value
               for e in at.error)  # fmt: skip
    assert any(c.value == "industry == cafe\n            ^" for c in at.code)
    assert _button(at, "Apply").disabled
    assert open_workspace(path).version == 1


def test_fields_and_examples_fill_the_field(small: tuple[AppTest, Path]) -> None:
    """An example's Use button puts it in the field; the count follows; nothing is saved."""
    at, path = small
    _open(at)
    _pick(at, "R")
    fields = next(d.value for d in at.dataframe if "holds" in d.value.columns)
    assert "industry" in set(fields["field"]) and '"cafe"' in ", ".join(fields["for example"])
    at.button(key="tp.assign.rules.use.0").click().run()
    _ok(at)
    assert _rule_field(at).value.startswith("industry == ")
    assert _count(at) == "10 of 40"
    assert open_workspace(path).version == 1


def test_the_rules_down_the_tree(small: tuple[AppTest, Path]) -> None:
    """After R gets a rule, T2's chain shows it above, with what an account must match."""
    at, _ = small
    _open(at)
    _pick(at, "R")
    _rule_field(at).input("annual_revenue >= 1000000").run()
    _button(at, "Apply").click().run()
    _ok(at)
    assert any("inherit the rule" in w.value for w in at.warning)
    _pick(at, "T2")
    chain = next(d.value for d in at.dataframe if "an account must match" in d.value.columns)
    assert chain["its rule"].tolist() == ["annual_revenue >= 1000000", ""]
    assert chain["an account must match"].tolist() == ["annual_revenue >= 1000000"] * 2
    assert _count(at).endswith(f"of {int(_count(at).split()[-1]):,}")


def test_include_exclude_and_remove_with_a_reason(small: tuple[AppTest, Path]) -> None:
    """Two accounts included in T3 with a reason, listed; one removed."""
    at, path = small
    _open(at)
    _pick(at, "T3")
    moving = sorted(_members(path, "T1"))[:2]
    _select(at, "rules.T3.include", moving)
    at.text_input(key="tp.assign.rules.reason").input("served from the port").run()
    _button(at, "Include 2 accounts").click().run()
    _ok(at)
    assert any(x.value == "Included 2 accounts in T3 (served from the port)." for x in at.success)
    assert set(moving) <= _members(path, "T3")
    listed = next(d.value for d in at.dataframe if s.REASON in d.value.columns)
    assert sorted(listed[s.ACCOUNT_ID]) == moving
    assert not at.session_state["tp.pick.rules.T3.include.chosen"]  # answered: the pick is gone
    _select(at, "remove.T3", moving[:1])
    _button(at, "Remove 1 override").click().run()
    _ok(at)
    assert moving[0] not in _members(path, "T3") and moving[1] in _members(path, "T3")
    ws = open_workspace(path)
    assert ws.store is not None
    assert [c.action for c in ws.store.changes()[:2]] == [
        "override remove 1 accounts T3", "override include 2 accounts T3",
    ]  # fmt: skip


def test_the_pick_survives_a_search_and_is_counted(small: tuple[AppTest, Path]) -> None:
    """Rows clicked, then a search hides one: still 2 selected, said so; cleared by the button."""
    at, path = small
    _open(at)
    _pick(at, "T3")
    moving = sorted(_members(path, "T1"))[:2]
    _select(at, "rules.T3.include", moving)
    assert any(m.value.startswith("**2 accounts selected**") for m in at.markdown)
    at.text_input(key="tp.assign.rules.search").input(moving[1]).run()
    _ok(at)
    assert _picker(at, "rules.T3.include").value[s.ACCOUNT_ID].tolist() == [moving[1]]
    assert any("1 of them not in the table now" in m.value for m in at.markdown)
    assert _button(at, "Include 2 accounts")
    at.text_input(key="tp.assign.rules.search").input("").run()
    _ok(at)  # the whole list again: both rows come back selected
    table = _picker(at, "rules.T3.include")
    rows = at.session_state[table.key]["selection"]["rows"]
    assert sorted(table.value[s.ACCOUNT_ID].iloc[rows]) == moving
    at.button(key="tp.pick.rules.T3.include.clear").click().run()
    _ok(at)
    assert any("none selected" in c.value for c in at.caption)
    assert _button(at, "Include accounts").disabled
    at.text_input(key="tp.assign.rules.search").input("no such shop").run()
    assert any(c.value == "No account matches the search." for c in at.caption)
    assert open_workspace(path).version == 1


def test_an_override_without_a_reason_is_refused(small: tuple[AppTest, Path]) -> None:
    at, path = small
    _open(at)
    _pick(at, "T2")
    at.radio(key="tp.assign.rules.action").set_value("exclude").run()
    _select(at, "rules.T2.exclude", sorted(_members(path, "T2"))[:1])
    _button(at, "Exclude 1 account").click().run()
    _ok(at)
    assert any("an override needs a reason" in e.value for e in at.error)
    assert open_workspace(path).version == 1


def test_a_rep_sees_the_rule_but_may_not_change_it(team: tuple[AppTest, Path]) -> None:
    at, path = team
    _open(at, "R1")
    before = open_workspace(path).version  # (signing in upgraded the test's cheap hash)
    _pick(at, "T1")
    assert _button(at, "Apply").disabled and _button(at, "Clear the rule").disabled
    assert any("may not change accounts' territories" in i.value for i in at.info)
    _rule_field(at).input('industry == "cafe"').run()
    assert _button(at, "Apply").disabled
    assert open_workspace(path).version == before


def test_a_manager_edits_rules_only_in_their_subtree(team: tuple[AppTest, Path]) -> None:
    """M1 sees T1 and T2 (their reps'), sets T1's rule; the territory list holds nothing else."""
    at, path = team
    _open(at, "M1")
    options = at.selectbox(key="tp.assign.rules.territory").options
    assert {o.split("(")[-1].rstrip(")") for o in options} <= {"T1", "T2", "R"}
    _pick(at, "T1")
    _rule_field(at).input('industry != "cafe"').run()
    _button(at, "Apply").click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    ws: Workspace = open_workspace(path)
    assert ws.territories("base").set_index(s.TERRITORY_ID)[s.RULE]["T1"] == 'industry != "cafe"'


def test_map_page_includes_the_account_opened_by_address(small: tuple[AppTest, Path]) -> None:
    """``?account=`` on the Map page: the account's panel includes it in another territory."""
    at, path = small
    at.run()
    account = sorted(_members(path, "T1"))[0]
    at.query_params["account"] = account
    at.switch_page("app_pages/map.py").run()
    _ok(at)
    assert any(f"({account})" in e.label for e in at.expander)
    form_select = next(sb for sb in at.selectbox if sb.label == "Territory")
    form_select.set_value("T3")
    next(t for t in at.text_input if t.label == "Reason").input("moved office")
    at.button(key=f"FormSubmitter:tp.map.account.form.{account}-Save").click().run()
    _ok(at)
    assert any(f"Included account {account} in T3" in x.value for x in at.success)
    assert account in _members(path, "T3")


def test_a_saved_rule_that_no_longer_parses_can_be_fixed_on_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The assignment fails on T1's broken rule; the editor shows it pointed at and fixes it."""
    path = tmp_path / "broken.gpkg"
    ws = build_small_workspace()
    terr = ws.territories("base")
    terr.loc[terr[s.TERRITORY_ID] == "T1", s.RULE] = 'industy == "cafe"'
    ws.set_rows("territories", "base", terr)
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    at = _open(_app(path, monkeypatch))
    assert any("did you mean 'industry'" in e.value for e in at.error)
    _pick(at, "T1")
    assert any(c.value == 'industy == "cafe"\n^' for c in at.code)
    _rule_field(at).input('industry == "cafe"').run()
    assert _count(at) == "3 of 12"
    _button(at, "Apply").click().run()
    _ok(at)
    assert _assigned(at) == 40 - 9
