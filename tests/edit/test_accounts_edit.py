"""Editing account attributes: checked per the schema, audited, saved as one change, with rights."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.access import scope_for
from planner.cli import main
from planner.edit import edit_accounts, require_account_edit_rights, set_account_values, set_rule
from planner.edit.accounts import editable_account_columns
from planner.errors import AccessDeniedError, InputError
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import build_small_workspace
from tests.app.test_access_pages import build_team_workspace


@functools.cache
def _small() -> Workspace:
    return build_small_workspace(n_accounts=12)


def _fresh() -> Workspace:
    """A workspace of the small one's tables (edits replace frames, never change them in place)."""
    ws = Workspace(name="copy")
    ws.tables.update(_small().tables)
    return ws


def test_editable_columns_leave_ids_and_locations_alone() -> None:
    cols = editable_account_columns(_small())
    assert {s.NAME, s.INDUSTRY, s.ANNUAL_REVENUE, s.VISITS_PER_MONTH} <= set(cols)
    assert not {s.ACCOUNT_ID, s.GEOMETRY, s.ADDRESS, s.GEOCODE_PRECISION} & set(cols)


def test_set_one_column_for_many_accounts_is_audited() -> None:
    ws = _fresh()
    out = set_account_values(ws, account_ids=["A0001", "A0002"], column=s.INDUSTRY,
                             value=" bakery ", user="P1")  # fmt: skip
    assert out.message == "Saved 2 changed values in industry of 2 accounts."
    got = ws.accounts.set_index(s.ACCOUNT_ID)[s.INDUSTRY]
    assert got[["A0001", "A0002"]].tolist() == ["bakery", "bakery"]
    assert got["A0003"] == _small().accounts.set_index(s.ACCOUNT_ID)[s.INDUSTRY]["A0003"]
    entry = ws.audit.iloc[-1]
    assert entry[s.ACTION] == "accounts edit" and entry[s.USER] == "P1"


def test_a_table_of_edits_names_every_bad_cell_and_changes_nothing() -> None:
    """Two bad numbers and an unknown owner: one error listing the three, by row and column."""
    ws = _fresh()
    edits = pd.DataFrame({
        s.ACCOUNT_ID: ["A0001", "A0002", "A0003"],
        s.ANNUAL_REVENUE: ["12,500", "lots", -5],
        s.OWNER_ID: ["R1", "NOPE", None],
    })  # fmt: skip
    with pytest.raises(InputError, match="3 edited value") as caught:
        edit_accounts(ws, edits)
    where = sorted((p.rows, p.column) for p in caught.value.problems)
    assert where == [((2,), s.ANNUAL_REVENUE), ((2,), s.OWNER_ID), ((3,), s.ANNUAL_REVENUE)]
    assert "account A0002: 'lots' is not a number" in str(caught.value)
    assert ws.accounts is _small().accounts  # nothing changed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"account_ids": ["A0001"], "column": s.GEOMETRY, "value": "x"}, "cannot be edited"),
        ({"account_ids": ["A0001"], "column": s.ADDRESS, "value": "x"}, "re-importing"),
        ({"account_ids": ["ZZZ"], "column": s.NAME, "value": "x"}, "there is no account ZZZ"),
        ({"account_ids": [], "column": s.NAME, "value": "x"}, "no account chosen"),
        ({"account_ids": ["A0001"], "column": s.VISIT_MINUTES, "value": "-3"}, "0 or more"),
    ],
)
def test_bad_requests_are_refused_with_the_fix(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        set_account_values(_fresh(), **kwargs)


def test_managers_edit_only_accounts_of_their_territories() -> None:
    """M1 manages T1 and T2: an account of T3 is refused; a rep may edit nothing."""
    ws = build_team_workspace()
    mem = ws.rows("memberships", "base")
    by_terr = mem.groupby(s.TERRITORY_ID)[s.ACCOUNT_ID].first()
    scope = scope_for(ws, "M1", scenario_id="base")
    require_account_edit_rights(scope, mem, [by_terr["T1"], by_terr["T2"]])
    with pytest.raises(AccessDeniedError, match="outside what you may see"):
        require_account_edit_rights(scope, mem, [by_terr["T3"]])
    with pytest.raises(AccessDeniedError, match="may not edit"):
        require_account_edit_rights(scope_for(ws, "R1", scenario_id="base"), mem, [by_terr["T1"]])
    require_account_edit_rights(scope_for(ws, "P1", scenario_id="base"), mem, [by_terr["T3"]])


def test_managers_hand_accounts_only_to_users_they_see() -> None:
    """M1 may make R1 (his rep) the owner, not R4 (another manager's): R4 would then see it."""
    ws = build_team_workspace()
    mem = ws.rows("memberships", "base")
    account = mem.groupby(s.TERRITORY_ID)[s.ACCOUNT_ID].first()["T1"]
    scope = scope_for(ws, "M1", scenario_id="base")
    require_account_edit_rights(scope, mem, [account], owners=["R1"])
    with pytest.raises(AccessDeniedError, match="not a user you may see") as refused:
        require_account_edit_rights(scope, mem, [account], owners=["R4"])
    assert "R4" not in str(refused.value)  # never names who exists outside the scope
    planner = scope_for(ws, "P1", scenario_id="base")
    require_account_edit_rights(planner, mem, [account], owners=["R4"])


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda t: t.strip() != ""
)


@settings(max_examples=40, deadline=None)
@given(
    picks=st.lists(st.integers(0, 11), min_size=1, max_size=6, unique=True),
    column=st.sampled_from([s.NAME, s.INDUSTRY, s.ANNUAL_REVENUE, s.VISITS_PER_MONTH]),
    data=st.data(),
)
def test_edit_then_read_back(picks: list[int], column: str, data: st.DataObject) -> None:
    """Property: every edited cell reads back as the value given; no other cell changes."""
    ws = _fresh()
    ids = [f"A{i:04d}" for i in picks]
    numeric = column in (s.ANNUAL_REVENUE, s.VISITS_PER_MONTH)
    values = data.draw(st.lists(
        st.floats(0, 1e9, allow_nan=False) if numeric else _TEXT,
        min_size=len(ids), max_size=len(ids)))  # fmt: skip
    edit_accounts(ws, pd.DataFrame({s.ACCOUNT_ID: ids, column: values}))
    after = ws.accounts.set_index(s.ACCOUNT_ID)
    before = _small().accounts.set_index(s.ACCOUNT_ID)
    for aid, value in zip(ids, values, strict=True):
        assert after.loc[aid, column] == (value if numeric else value.strip())
    others = before.index.difference(ids)
    pd.testing.assert_series_equal(after.loc[others, column], before.loc[others, column])
    untouched = [c for c in before.columns if c not in (column, s.GEOMETRY)]
    pd.testing.assert_frame_equal(after[untouched], before[untouched])


@pytest.mark.slow
def test_cli_sets_values_as_one_change_and_they_read_back_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ws.gpkg"
    ws = build_small_workspace(n_accounts=12)
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    argv = ["accounts", "set", "-w", str(path), "--ids", "A0001,A0002", "A0003",
            "--column", s.ANNUAL_REVENUE, "--value", "250000", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["version"] == 2 and out["accounts"] == 3
    again = open_workspace(path).accounts.set_index(s.ACCOUNT_ID)[s.ANNUAL_REVENUE]
    assert again[["A0001", "A0002", "A0003"]].tolist() == [250000.0] * 3
    assert main([*argv[:-3], "--value", "many", "--json"]) == 2
    bad = json.loads(capsys.readouterr().out)
    assert bad["error"] == "InputError" and bad["problems"][0]["column"] == s.ANNUAL_REVENUE
    assert open_workspace(path).version == 2


def test_an_edit_a_rule_reads_reassigns_that_scenario() -> None:
    """T2 takes only cafes: an account of T2 made a cafe is in T2 at once, in the same change."""
    ws = _fresh()
    set_rule(ws, "base", "T2", 'industry == "cafe"')
    mem = ws.rows("memberships", "base")
    in_t2 = set(mem.loc[mem[s.TERRITORY_ID] == "T2", s.ACCOUNT_ID])
    outside = sorted(set(ws.accounts[s.ACCOUNT_ID]) - in_t2)
    candidates = [a for a in outside if _in_t2(ws, a)]
    assert candidates, "an account inside T2's shape that the rule keeps out"
    set_account_values(ws, account_ids=candidates[:1], column=s.INDUSTRY, value="cafe")
    mem = ws.rows("memberships", "base")
    assert candidates[0] in set(mem.loc[mem[s.TERRITORY_ID] == "T2", s.ACCOUNT_ID])


def _in_t2(ws: Workspace, account_id: str) -> bool:
    shape = ws.territories("base").set_index(s.TERRITORY_ID).geometry["T2"]
    point = ws.accounts.set_index(s.ACCOUNT_ID).geometry[account_id]
    return bool(shape.contains(point))
