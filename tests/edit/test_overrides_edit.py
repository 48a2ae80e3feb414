"""Tests of planner.edit.overrides: include, exclude and remove with a reason, rights, bad ids."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import edit
from planner import schema as s
from planner.access import AccessDeniedError
from planner.errors import InputError
from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace
from tests.edit.test_rules_edit import scope_of


def _primary(ws: Workspace, sid: str = "base") -> dict[str, str]:
    mem = ws.memberships(sid)
    mem = mem[mem[s.IS_PRIMARY].astype(bool)]
    return dict(zip(mem[s.ACCOUNT_ID].astype(str), mem[s.TERRITORY_ID].astype(str), strict=True))


def _in(ws: Workspace, territory_id: str) -> list[str]:
    return sorted(a for a, t in _primary(ws).items() if t == territory_id)


@pytest.fixture
def ws() -> Workspace:
    ws = build_small_workspace()
    edit.run_assignment(ws, "base")  # memberships as the library computes them
    return ws


def _tables(ws: Workspace) -> dict[str, pd.DataFrame]:
    return {n: ws.tables[n].copy() for n in ("overrides", "memberships", "audit")}


def _unchanged(ws: Workspace, before: dict[str, pd.DataFrame]) -> None:
    for name, frame in before.items():
        pd.testing.assert_frame_equal(ws.tables[name], frame)


def test_include_moves_accounts_and_keeps_who_and_why(ws: Workspace) -> None:
    """Two of T1's accounts included in T3: T3 is their primary territory, with the reason."""
    moving = _in(ws, "T1")[:2]
    outcome = edit.include_accounts(
        ws, "base", moving, "T3", reason="served from the port", user="P1"
    )
    assert outcome.message == "Included 2 accounts in T3 (served from the port)."
    assert all(_primary(ws)[a] == "T3" for a in moving)
    table = edit.override_table(ws, "base")
    assert sorted(table[s.ACCOUNT_ID]) == moving
    assert set(table[s.ACTION]) == {"include"} and set(table[s.SET_BY]) == {"P1"}
    assert set(table[s.REASON]) == {"served from the port"} and set(table["territory"]) == {
        "East (T3)"
    }
    mem = ws.memberships("base")
    cause = mem[mem[s.ACCOUNT_ID].isin(moving) & (mem[s.TERRITORY_ID] == "T3")][s.CAUSE]
    assert set(cause) == {"manual"}
    entry = ws.tables["audit"]
    assert (entry[s.ACTION] == "override.include").sum() == 1


def test_exclude_then_remove_gives_the_account_back(ws: Workspace) -> None:
    """Excluded from T2 the account is in no territory; removing the exclude brings it back."""
    account = _in(ws, "T2")[0]
    edit.exclude_accounts(ws, "base", [account], "T2", reason="closed for renovation")
    assert account not in _primary(ws)
    edit.remove_overrides(ws, "base", [account], "T2", user="P1")
    assert _primary(ws)[account] == "T2"
    assert edit.override_table(ws, "base").empty


def test_a_new_override_replaces_the_old_on_the_same_pair(ws: Workspace) -> None:
    account = _in(ws, "T2")[0]
    edit.exclude_accounts(ws, "base", [account], "T2", reason="first")
    edit.include_accounts(ws, "base", [account, account], "T2", reason="second")
    table = edit.override_table(ws, "base")
    assert table[[s.ACCOUNT_ID, s.ACTION, s.REASON]].values.tolist() == [
        [account, "include", "second"]
    ]
    assert _primary(ws)[account] == "T2"


def test_unknown_and_empty_ids_are_named_by_row_and_nothing_changes(ws: Workspace) -> None:
    before = _tables(ws)
    with pytest.raises(InputError, match="some accounts cannot be used") as info:
        edit.include_accounts(ws, "base", ["A0001", "NOPE", "", "ZZ"], "T3", reason="x")
    problems = {p.message: p for p in info.value.problems}
    assert problems["unknown accounts NOPE, ZZ"].rows == (2, 4)
    assert problems["empty account id"].rows == (3,)
    assert all(p.column == s.ACCOUNT_ID and p.fix for p in info.value.problems)
    _unchanged(ws, before)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda ws: edit.include_accounts(ws, "base", ["A0001"], "T9", reason="x"), "no territory"),
        (lambda ws: edit.include_accounts(ws, "base", ["A0001"], "T1", reason=" "), "a reason"),
        (lambda ws: edit.include_accounts(ws, "base", [], "T1", reason="x"), "no accounts"),
        (lambda ws: edit.add_overrides(ws, "base", ["A0001"], "T1", "pin", reason="x"), "pin"),  # type: ignore[arg-type]
        (lambda ws: edit.remove_overrides(ws, "base", ["A0001", "A0002"], "T1"), "rows 1, 2"),
    ],
    ids=["territory", "reason", "none", "action", "remove-missing"],
)
def test_bad_requests_are_refused_before_anything_changes(ws: Workspace, call, match: str) -> None:  # type: ignore[no-untyped-def]
    before = _tables(ws)
    with pytest.raises(InputError) as info:
        call(ws)
    assert match in str(info.value)
    _unchanged(ws, before)


def test_an_account_outside_the_scope_is_refused_like_an_unknown_one(ws: Workspace) -> None:
    """A manager of T1 sees T1's accounts: another's account and a made-up id read the same."""
    mine = set(_in(ws, "T1"))
    scope = scope_of("manager", editable={"T1"}, accounts=mine)
    other = _in(ws, "T2")[0]
    before = _tables(ws)
    messages = []
    for account in (other, "MADE-UP"):
        with pytest.raises(AccessDeniedError, match="do not exist or are outside") as info:
            edit.exclude_accounts(
                ws, "base", [sorted(mine)[0], account], "T1", reason="x", scope=scope
            )
        messages.append(str(info.value).replace(account, "ID"))
    assert messages[0] == messages[1] and "(rows 2)" in messages[0]
    _unchanged(ws, before)


def test_rights_on_the_target_and_on_the_territory_an_include_takes_from(ws: Workspace) -> None:
    """A rep may not override; a manager of T3 may not take T1's account into T3."""
    before = _tables(ws)
    account = _in(ws, "T1")[0]
    with pytest.raises(AccessDeniedError, match="may not edit"):
        edit.include_accounts(ws, "base", [account], "T3", reason="x", scope=scope_of("rep"))
    with pytest.raises(AccessDeniedError, match="T1 is outside"):
        edit.include_accounts(
            ws, "base", [account], "T3", reason="x", scope=scope_of("manager", editable={"T3"})
        )
    with pytest.raises(AccessDeniedError, match="T2 is outside"):
        edit.exclude_accounts(
            ws, "base", [account], "T2", reason="x", scope=scope_of("manager", editable={"T3"})
        )
    _unchanged(ws, before)
    edit.include_accounts(
        ws, "base", [account], "T3", reason="x", scope=scope_of("manager", editable={"T1", "T3"})
    )
    assert _primary(ws)[account] == "T3"


def test_the_table_shows_only_the_scope(ws: Workspace) -> None:
    edit.exclude_accounts(ws, "base", _in(ws, "T1")[:1], "T1", reason="a")
    edit.exclude_accounts(ws, "base", _in(ws, "T3")[:1], "T3", reason="b")
    assert len(edit.override_table(ws, "base")) == 2
    mine = edit.override_table(ws, "base", scope=scope_of("manager", editable={"T1"}))
    assert mine[s.TERRITORY_ID].tolist() == ["T1"]
    assert edit.override_table(ws, "base", territory_id="T3")[s.REASON].tolist() == ["b"]


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(
    picks=st.lists(st.integers(0, 38), min_size=1, max_size=6, unique=True),
    target=st.sampled_from(["T1", "T2", "T3"]),
    action=st.sampled_from(["include", "exclude"]),
)
def test_override_then_remove_is_the_identity(picks: list[int], target: str, action: str) -> None:
    """Any include or exclude followed by its removal leaves the memberships as they were;
    while it stands, included accounts are primary in the target and excluded ones are not in it."""
    ws = build_small_workspace()
    edit.run_assignment(ws, "base")
    before = _primary(ws)
    ids = [f"A{i:04d}" for i in picks]
    edit.add_overrides(ws, "base", ids, target, action, reason="test")  # type: ignore[arg-type]
    now = _primary(ws)
    if action == "include":
        assert all(now[a] == target for a in ids)
    else:
        assert all(now.get(a) != target for a in ids)
    untouched = set(before) - set(ids)
    assert all(now.get(a) == before[a] for a in untouched)
    edit.remove_overrides(ws, "base", ids, target)
    assert _primary(ws) == before


def test_choices_are_the_accounts_an_override_would_change(ws: Workspace) -> None:
    """Exclude offers the territory's (and below) accounts; include every other; text narrows."""
    out_of_t1 = edit.override_choices(ws, "base", "T1", "exclude")
    assert sorted(out_of_t1[s.ACCOUNT_ID]) == _in(ws, "T1")
    assert set(out_of_t1["now"]) == {"T1"}
    into_t1 = edit.override_choices(ws, "base", "T1", "include")
    assert not set(into_t1[s.ACCOUNT_ID]) & set(_in(ws, "T1"))
    assert len(into_t1) + len(out_of_t1) == len(ws.accounts)
    assert len(edit.override_choices(ws, "base", "R", "exclude")) == len(_primary(ws))
    named = edit.override_choices(ws, "base", "T1", "include", text="SHOP 1", limit=3)
    assert len(named) <= 3 and all(str(n).startswith("Shop 1") for n in named["account"])
