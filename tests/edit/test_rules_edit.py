"""Tests of planner.edit.rules: setting and clearing rules, the live count, fields, the chain."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import edit
from planner import schema as s
from planner.access import AccessDeniedError, AccessScope
from planner.auth import User
from planner.errors import InputError, RuleError
from planner.geo.rules import parse_rule
from planner.models import UserRole
from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace


def scope_of(
    role: str, editable: set[str] | None = None, accounts: set[str] | None = None
) -> AccessScope:
    """A user's scope: the territories they may edit (and see) and the accounts they may see."""
    return AccessScope(
        user=User("u1", UserRole(role)),
        scenario_id="base",
        as_of=date(2026, 1, 1),
        territory_ids=None if editable is None else frozenset(editable),
        account_ids=None if accounts is None else frozenset(accounts),
        rep_ids=None,
        editable_territory_ids=None if editable is None else frozenset(editable),
        own_territory_ids=frozenset(),
        subordinate_ids=frozenset(),
    )


def _members(ws: Workspace, territory_id: str, sid: str = "base") -> set[str]:
    mem = ws.memberships(sid)
    return set(mem.loc[mem[s.TERRITORY_ID] == territory_id, s.ACCOUNT_ID].astype(str))


@pytest.fixture(scope="module")
def master() -> Workspace:
    return build_small_workspace()


@pytest.fixture
def ws() -> Workspace:
    return build_small_workspace()


def test_set_rule_narrows_the_territory_to_the_matching_accounts(ws: Workspace) -> None:
    """After the rule, T1 holds exactly the accounts of its area the count said."""
    count = edit.count_matches(ws, "base", "T1", 'industry == "cafe"')
    outcome = edit.set_rule(ws, "base", "T1", ' industry == "cafe" ', user="P1")
    assert edit.rule_of(ws.territories("base"), "T1") == 'industry == "cafe"'
    assert outcome.assignment is not None
    assert len(_members(ws, "T1")) == count.matched < count.candidates
    industries = ws.accounts.set_index(s.ACCOUNT_ID)[s.INDUSTRY]
    assert {industries[a] for a in _members(ws, "T1")} == {"cafe"}
    audit = ws.tables["audit"]
    entry = audit[audit[s.ACTION] == "territory.rule"].iloc[-1]
    assert entry[s.USER] == "P1" and "cafe" in entry[s.DETAIL]


def test_clear_rule_gives_the_area_back(ws: Workspace) -> None:
    """Clearing the rule returns every account of the area; the audit keeps the old rule."""
    edit.set_rule(ws, "base", "T1", 'industry == "cafe"')
    few = len(_members(ws, "T1"))
    edit.clear_rule(ws, "base", "T1", user="P1")
    assert edit.rule_of(ws.territories("base"), "T1") is None
    assert len(_members(ws, "T1")) == edit.count_matches(ws, "base", "T1", "").candidates > few
    audit = ws.tables["audit"]
    assert (
        '"was": "industry == \\"cafe\\""'
        in audit[audit[s.ACTION] == "territory.rule"].iloc[-1][s.DETAIL]
    )


@pytest.mark.parametrize(
    ("text", "position", "fix"),
    [
        ("industry == cafe", 13, 'put text in quotes: "cafe"'),
        ('industy == "cafe"', 1, "did you mean 'industry'?"),
        ('annual_revenue >= "big"', 1, "compare it with a number"),
        ('industry == "cafe" and', 23, "start a condition with a field"),
        ('(industry == "cafe"', 20, "add the missing ')'"),
        ('industry === "cafe"', 10, "write '=='"),
    ],
)
def test_a_rule_that_does_not_parse_changes_nothing(
    ws: Workspace, text: str, position: int, fix: str
) -> None:
    """A bad rule: a RuleError naming the position and fix; territories and audit as before."""
    before = ws.territories("base").copy()
    audit = len(ws.tables["audit"])
    with pytest.raises(RuleError, match="territory T1: ") as info:
        edit.set_rule(ws, "base", "T1", text, user="P1")
    assert isinstance(info.value, InputError)
    assert info.value.position == position  # the editor points here
    assert text in info.value.problems[0].message
    assert fix in info.value.problems[0].fix
    pd.testing.assert_frame_equal(ws.territories("base"), before)
    assert len(ws.tables["audit"]) == audit


def test_unknown_territory_is_refused(ws: Workspace) -> None:
    with pytest.raises(InputError, match="there is no territory 'T9'"):
        edit.set_rule(ws, "base", "T9", 'industry == "cafe"')
    with pytest.raises(InputError, match="there is no territory 'T9'"):
        edit.count_matches(ws, "base", "T9", "")


def test_rights_are_checked_before_anything_changes(ws: Workspace) -> None:
    """A rep may not set rules; a manager only on territories they may edit."""
    before = ws.territories("base").copy()
    with pytest.raises(AccessDeniedError, match="may not edit"):
        edit.set_rule(ws, "base", "T1", 'industry == "cafe"', scope=scope_of("rep"))
    with pytest.raises(AccessDeniedError, match="T2 is outside"):
        edit.set_rule(
            ws, "base", "T2", 'industry == "cafe"', scope=scope_of("manager", editable={"T1"})
        )
    pd.testing.assert_frame_equal(ws.territories("base"), before)
    edit.set_rule(
        ws, "base", "T1", 'industry == "cafe"', scope=scope_of("manager", editable={"T1"})
    )
    assert edit.rule_of(ws.territories("base"), "T1") is not None


def test_a_parent_rule_is_inherited_and_shown_down_the_tree(ws: Workspace) -> None:
    """R's rule narrows its leaves' candidates; the chain shows it above and below."""
    outcome = edit.set_rule(ws, "base", "R", "annual_revenue >= 1000000")
    assert any("inherit" in w for w in outcome.warnings)
    edit.set_rule(ws, "base", "T2", 'industry == "cafe"')
    territories = ws.territories("base")
    chain = edit.rule_chain(territories, "T2")
    assert chain[s.TERRITORY_ID].tolist() == ["R", "T2"]
    assert chain["relation"].tolist() == ["above", "this"]
    assert chain["applies"].iloc[-1] == '(annual_revenue >= 1000000) and (industry == "cafe")'
    down = edit.rule_chain(territories, "R")
    assert down[s.TERRITORY_ID].tolist() == ["R", "T1", "T2", "T3"]
    assert down["relation"].tolist() == ["this", "below", "below", "below"]
    assert down.set_index(s.TERRITORY_ID)["applies"]["T1"] == "annual_revenue >= 1000000"
    pool = edit.rule_candidates(ws, "base", "T2")
    assert (pool[s.ANNUAL_REVENUE] >= 1_000_000).all()
    revenue = ws.accounts.set_index(s.ACCOUNT_ID)[s.ANNUAL_REVENUE]
    assert all(revenue[a] >= 1_000_000 for a in _members(ws, "T1"))


def test_rule_that_matches_nothing_says_so(ws: Workspace) -> None:
    outcome = edit.set_rule(ws, "base", "T3", "annual_revenue > 1e12")
    assert any("matches none" in w for w in outcome.warnings)
    assert _members(ws, "T3") == set()


def test_fields_come_from_the_data(master: Workspace) -> None:
    """Every column but the geometry, its kind as the checker sees it, common values first."""
    fields = {f.name: f for f in edit.rule_fields(master.accounts)}
    assert s.GEOMETRY not in fields and set(fields) == set(master.accounts.columns) - {s.GEOMETRY}
    assert fields[s.INDUSTRY].kind == "text" and fields[s.INDUSTRY].groups
    assert set(fields[s.INDUSTRY].examples) == {'"retail"', '"cafe"', '"office"', '"pharmacy"'}
    assert fields[s.ANNUAL_REVENUE].kind == "number"
    assert not fields[s.ACCOUNT_ID].groups  # one value per account: no example uses it
    for f in fields.values():  # the kind is the one the rule checker accepts
        for value in f.examples[:1]:
            parse_rule(f"{f.name} == {value}", fields=master.accounts)


def test_examples_parse_against_the_data_and_show_and_or_not(master: Workspace) -> None:
    examples = edit.rule_examples(edit.rule_fields(master.accounts))
    texts = [t for t, _ in examples]
    for word in ("AND", "OR", "NOT", " in [", "is null"):
        assert any(word in t for t in texts), word
    for text in texts:
        edit.count_matches(master, "base", "R", text)  # parses and fits the columns


def test_fields_of_odd_columns() -> None:
    """Booleans, numbers stored as objects, names needing backticks, empty columns."""
    frame = pd.DataFrame(
        {
            "flag": [True, False, True],
            "score": pd.Series([1, 2.5, None], dtype=object),
            "sales region": ["N", "N", "S"],
            "empty": [None, None, None],
        }
    )
    fields = {f.name: f for f in edit.rule_fields(frame)}
    assert fields["flag"].kind == "bool" and fields["flag"].examples == ("true", "false")
    assert fields["score"].kind == "number" and fields["score"].missing == 1
    assert "`sales region`" in fields and fields["`sales region`"].examples[0] == '"N"'
    assert fields["empty"].examples == ()
    parse_rule('`sales region` == "N" AND flag', fields=frame)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    threshold=st.integers(0, 2_100_000),
    industries=st.sets(st.sampled_from(["retail", "cafe", "office", "pharmacy", "bank"])),
    territory=st.sampled_from(["R", "T1", "T2", "T3"]),
)
def test_a_rule_and_its_negation_split_the_candidates(
    master: Workspace, threshold: int, industries: set[str], territory: str
) -> None:
    """Without missing values, matched(rule) + matched(NOT rule) == candidates."""
    listed = ", ".join(f'"{i}"' for i in sorted(industries)) or '"none"'
    text = f"annual_revenue >= {threshold} or industry in [{listed}]"
    pool = edit.rule_candidates(master, "base", territory)
    yes = edit.count_matches(master, "base", territory, text, candidates=pool)
    no = edit.count_matches(master, "base", territory, f"NOT ({text})", candidates=pool)
    assert yes.matched + no.matched == yes.candidates == len(pool)
    assert set(yes.sample) <= set(pool[s.ACCOUNT_ID].astype(str))


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(threshold=st.integers(0, 2_100_000), territory=st.sampled_from(["T1", "T2", "T3"]))
def test_the_count_is_what_the_assignment_then_gives(threshold: int, territory: str) -> None:
    """The live count equals the territory's members once the rule is set (leaves, no overlap)."""
    ws = build_small_workspace()
    text = f"annual_revenue >= {threshold}"
    count = edit.count_matches(ws, "base", territory, text)
    edit.set_rule(ws, "base", territory, text)
    assert len(_members(ws, territory)) == count.matched
