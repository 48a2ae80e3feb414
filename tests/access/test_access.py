"""Tests of the visibility rule: who sees and edits which territories, accounts and users."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.access import (
    AccessDeniedError,
    AccessScope,
    build_scope,
    export_action,
    manager_loops,
    restrict_workspace,
    scope_for,
)
from planner.models import Scenario
from planner.samples import sample_path
from planner.workspace import Workspace, open_workspace

TODAY = date(2025, 6, 1)


@pytest.fixture
def three_level_plan() -> dict[str, pd.DataFrame]:
    """Two regions > three districts > four territories, users in several territories.

    North (RN) > DN1 > T1, T2 and North > DN2 > T3; South (RS) > DS1 > T4.
    R1 owns T1 and overlays T3; R2 owns T2 and is T1's former owner; R5 will
    own T2 from next year; M1 manages DN1 (reports R1, R2); M2 manages DN2
    (report R3); V manages North (reports M1, M2); MS manages South (R4).
    """
    territories = pd.DataFrame(
        {
            "territory_id": ["RN", "RS", "DN1", "DN2", "DS1", "T1", "T2", "T3", "T4"],
            "name": ["North", "South", "N1", "N2", "S1", "T one", "T two", "T three", "T four"],
            "parent_id": [None, None, "RN", "RN", "RS", "DN1", "DN1", "DN2", "DS1"],
            "level": [0, 0, 1, 1, 1, 2, 2, 2, 2],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["A", "P", "V", "M1", "M2", "MS", "R1", "R2", "R3", "R4", "R5"],
            "name": list("APVMMMRRRRR"),
            "role": ["admin", "planner", "manager", "manager", "manager", "manager"] + ["rep"] * 5,
            "email": [
                f"{x.lower()}@example.com"
                for x in ["A", "P", "V", "M1", "M2", "MS", "R1", "R2", "R3", "R4", "R5"]
            ],
            "manager_id": [None, None, None, "V", "V", None, "M1", "M1", "M2", "MS", "M1"],
            "password_hash": ["$scrypt$secret"] * 11,
        }
    )
    associations = pd.DataFrame(
        [
            ("V", "RN", "manager", None, None),
            ("M1", "DN1", "manager", "2024-01-01", None),
            ("M2", "DN2", "manager", None, None),
            ("MS", "RS", "manager", None, None),
            ("R1", "T1", "owner", "2025-01-01", None),
            ("R1", "T3", "overlay", None, None),
            ("R2", "T2", "owner", None, None),
            ("R2", "T1", "owner", "2023-01-01", "2024-12-31"),
            ("R3", "T3", "owner", None, None),
            ("R4", "T4", "owner", None, None),
            ("R5", "T2", "overlay", "2026-01-01", None),
        ],
        columns=["rep_id", "territory_id", "role", "start_date", "end_date"],
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "owner_id": ["R1", "R1", "R2", "R3", "R4", "R1"],
        }
    )
    memberships = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "territory_id": ["T1", "T1", "T2", "T3", "T4"],
            "cause": ["spatial"] * 5,
            "is_primary": [True] * 5,
        }
    )
    return {
        "territories": territories,
        "reps": reps,
        "associations": associations,
        "accounts": accounts,
        "memberships": memberships,
    }


def scope(plan: dict[str, pd.DataFrame], user: str, *, as_of: date = TODAY) -> AccessScope:
    """The scope of ``user`` in the fixture plan."""
    return build_scope(user, as_of=as_of, **plan)


@pytest.mark.parametrize(
    ("user", "territories", "accounts"),
    [
        ("R1", {"T1", "T3"}, {"a1", "a2", "a4", "a6"}),
        ("R2", {"T2"}, {"a3"}),
        ("R3", {"T3"}, {"a4"}),
        ("R4", {"T4"}, {"a5"}),
        ("R5", set(), set()),
        ("M1", {"DN1", "T1", "T2", "T3"}, {"a1", "a2", "a3", "a4", "a6"}),
        ("M2", {"DN2", "T3"}, {"a4"}),
        ("V", {"RN", "DN1", "DN2", "T1", "T2", "T3"}, {"a1", "a2", "a3", "a4", "a6"}),
        ("MS", {"RS", "DS1", "T4"}, {"a5"}),
    ],
)
def test_visible_territories_and_accounts(
    three_level_plan: dict[str, pd.DataFrame],
    user: str,
    territories: set[str],
    accounts: set[str],
) -> None:
    """Each user sees their territories, everything below them, their team's, and what they own."""
    sc = scope(three_level_plan, user)
    assert sc.territory_ids == territories
    assert sc.account_ids == accounts


@pytest.mark.parametrize("user", ["A", "P"])
def test_planners_and_admins_see_everything(
    three_level_plan: dict[str, pd.DataFrame], user: str
) -> None:
    """Planner and admin scopes are unrestricted."""
    sc = scope(three_level_plan, user)
    assert sc.unrestricted
    assert len(sc.filter_accounts(three_level_plan["accounts"])) == 6
    assert sc.can_view_territory("T4") and sc.can_edit_territory("RS")


def test_rep_does_not_see_sibling_territory(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """R1 (T1) cannot see T2, its sibling under DN1, nor its accounts."""
    sc = scope(three_level_plan, "R1")
    assert not sc.can_view_territory("T2")
    assert not sc.can_view_account("a3")
    with pytest.raises(AccessDeniedError, match="territory 'T2' does not exist or is outside"):
        sc.require_territory("T2")


def test_rep_does_not_see_other_region(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """R1 cannot see South, its district, T4 or T4's account."""
    sc = scope(three_level_plan, "R1")
    for tid in ("RS", "DS1", "T4"):
        assert not sc.can_view_territory(tid)
    with pytest.raises(AccessDeniedError, match="account 'a5' does not exist or is outside"):
        sc.require_account("a5")


def test_rep_does_not_see_territories_above(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """A territory's users see below it, never above: R1 does not see DN1 or North."""
    sc = scope(three_level_plan, "R1")
    assert not sc.can_view_territory("DN1")
    assert not sc.can_view_territory("RN")


def test_former_owner_loses_access(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """R2 owned T1 until 2024-12-31: today R2 sees neither T1 nor its accounts."""
    now = scope(three_level_plan, "R2")
    assert not now.can_view_territory("T1")
    assert not now.can_view_account("a1")
    then = scope(three_level_plan, "R2", as_of=date(2024, 6, 1))
    assert then.can_view_territory("T1") and then.can_view_account("a1")


def test_future_association_grants_nothing_yet(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """R5's overlay on T2 starts next year: no access today, access then."""
    assert not scope(three_level_plan, "R5").can_view_territory("T2")
    assert scope(three_level_plan, "R5", as_of=date(2026, 2, 1)).can_view_territory("T2")


def test_unknown_id_and_forbidden_id_read_the_same(
    three_level_plan: dict[str, pd.DataFrame],
) -> None:
    """Probing ids reveals nothing: a missing territory is refused like a forbidden one."""
    sc = scope(three_level_plan, "R1")
    messages = []
    for tid in ("T4", "NOPE"):
        with pytest.raises(AccessDeniedError, match="does not exist or is outside") as info:
            sc.require_territory(tid)
        messages.append(str(info.value).replace(tid, "X"))
    assert messages[0] == messages[1]


def test_visible_users(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """Reps see only themselves; managers see their chain and the users below their territories."""
    assert scope(three_level_plan, "R1").rep_ids == {"R1"}
    assert scope(three_level_plan, "M1").rep_ids == {"M1", "R1", "R2", "R5"}
    assert scope(three_level_plan, "M2").rep_ids == {"M2", "R3", "R1"}
    assert scope(three_level_plan, "V").rep_ids == {"V", "M1", "M2", "R1", "R2", "R3", "R5"}


def test_routes_of_colleagues_stay_private(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """R1 and R3 share T3 but see only their own routes."""
    routes = pd.DataFrame({"rep_id": ["R1", "R3", "R4"], "stops": [5, 6, 7]})
    assert scope(three_level_plan, "R1").filter_routes(routes)["rep_id"].tolist() == ["R1"]
    with pytest.raises(AccessDeniedError, match="user 'R3' does not exist or is outside"):
        scope(three_level_plan, "R1").require_rep("R3")


def test_editing_rights(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """Reps edit nothing; managers edit their subtree only; moves need both ends editable."""
    r1, m1 = scope(three_level_plan, "R1"), scope(three_level_plan, "M1")
    assert not r1.can_edit_territory("T1")
    with pytest.raises(AccessDeniedError, match="may see territory 'T1' but not edit it"):
        r1.require_edit_territory("T1")
    assert m1.can_edit_territory("T2")
    assert m1.can_move_account("a1", "T1", "T2")
    assert not m1.can_move_account("a1", "T1", "T4")
    with pytest.raises(AccessDeniedError, match="territory 'T4' does not exist or is outside"):
        m1.require_move_account("a1", "T1", "T4")


def test_target_rights(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """Managers set targets on their territories and reports, not on themselves; reps on none."""
    m1 = scope(three_level_plan, "M1")
    assert m1.can_set_target("T1", "R1")
    assert m1.can_set_target(None, "R2")
    assert not m1.can_set_target("DN1", "M1")
    assert not m1.can_set_target("T4", None)
    assert not scope(three_level_plan, "R1").can_set_target("T1", "R1")
    with pytest.raises(AccessDeniedError, match="may not set the target of territory T4"):
        m1.require_set_target("T4", None)


def test_role_actions(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """Only admins manage users and write Salesforce files."""
    assert scope(three_level_plan, "A").can("export_salesforce")
    assert not scope(three_level_plan, "P").can("manage_users")
    with pytest.raises(AccessDeniedError, match=r"'M1' \(manager\) may not export salesforce"):
        scope(three_level_plan, "M1").require("export_salesforce")


def test_filters(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """Frames are filtered by the scope; reparenting hides the parents outside it; no hashes."""
    sc = scope(three_level_plan, "R1")
    terr = sc.filter_territories(three_level_plan["territories"])
    assert terr["territory_id"].tolist() == ["T1", "T3"]
    assert terr["parent_id"].isna().all()
    assert sc.filter_memberships(three_level_plan["memberships"])["account_id"].tolist() == [
        "a1",
        "a2",
        "a4",
    ]
    assert sc.filter_associations(three_level_plan["associations"])["territory_id"].tolist() == [
        "T1",
        "T3",
        "T1",
        "T3",
    ]
    reps = sc.filter_reps(three_level_plan["reps"])
    assert reps["rep_id"].tolist() == ["R1"] and "password_hash" not in reps.columns
    opps = pd.DataFrame({"account_id": ["a1", "a3", "a9"], "owner_id": ["R2", "R2", "R1"]})
    assert sc.filter_opportunities(opps)["account_id"].tolist() == ["a1", "a9"]


def test_filter_targets(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """Targets of hidden territories and of hidden users disappear."""
    targets = pd.DataFrame(
        {
            "territory_id": ["T1", "T2", None, None],
            "rep_id": ["R1", "R2", "R1", "R2"],
            "value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert scope(three_level_plan, "R1").filter_targets(targets)["value"].tolist() == [1.0, 3.0]


def test_unknown_user_is_refused(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """A user id that is not in the reps table gets no scope."""
    with pytest.raises(AccessDeniedError, match="'Z' is not a user"):
        scope(three_level_plan, "Z")


def test_scope_by_email(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """A unique email identifies the user, as after an identity-provider sign-in."""
    assert scope(three_level_plan, "R1@EXAMPLE.com").user_id == "R1"


def test_unreadable_dates_are_reported(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """A bad end_date is an input error naming the row, not a silent grant."""
    plan = dict(three_level_plan)
    plan["associations"] = plan["associations"].copy()
    plan["associations"].loc[7, "end_date"] = "last year"
    with pytest.raises(ValueError, match="unreadable end_date"):
        scope(plan, "R2")


def test_scope_for_workspace_and_restrict(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """scope_for reads a workspace; restrict_workspace keeps only what the user sees."""
    plan = three_level_plan
    reps = gpd.GeoDataFrame(plan["reps"], geometry=[None] * 11, crs="EPSG:4326")
    accounts = gpd.GeoDataFrame(
        plan["accounts"].assign(name="x", geocode_precision="exact"),
        geometry=[None] * 6,
        crs="EPSG:4326",
    )
    ws = Workspace(tables={"reps": reps, "accounts": accounts})
    ws.add_scenario(Scenario("s1", "plan"))
    terr = gpd.GeoDataFrame(
        plan["territories"].assign(type_id="geographic", source="none"),
        geometry=[None] * 9,
        crs="EPSG:4326",
    )
    ws.set_rows("territories", "s1", terr)
    ws.set_rows("associations", "s1", plan["associations"])
    ws.set_rows("memberships", "s1", plan["memberships"].assign(detail=None))
    sc = scope_for(ws, "R1", as_of=TODAY)
    assert sc.scenario_id == "s1" and sc.territory_ids == {"T1", "T3"}
    small = restrict_workspace(ws, sc)
    assert small.path is None
    assert set(small.accounts["account_id"]) == {"a1", "a2", "a4", "a6"}
    assert small.territories("s1")["territory_id"].tolist() == ["T1", "T3"]
    assert small.reps["password_hash"].isna().all()


@st.composite
def random_plans(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """A random forest of territories, accounts in them and reps associated with some."""
    n = draw(st.integers(1, 12))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    territories = pd.DataFrame(
        {
            "territory_id": [f"t{i}" for i in range(n)],
            "parent_id": [None if p is None else f"t{p}" for p in parents],
        }
    )
    k = draw(st.integers(0, 15))
    memberships = pd.DataFrame(
        {
            "account_id": [f"a{j}" for j in range(k)],
            "territory_id": [f"t{draw(st.integers(0, n - 1))}" for _ in range(k)],
        }
    )
    pairs = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, n - 1)), max_size=6))
    associations = pd.DataFrame(
        {
            "rep_id": [f"r{r}" for r, _ in pairs],
            "territory_id": [f"t{t}" for _, t in pairs],
            "role": ["owner"] * len(pairs),
        }
    )
    reps = pd.DataFrame({"rep_id": [f"r{i}" for i in range(4)], "role": ["rep"] * 4})
    return {
        "territories": territories,
        "memberships": memberships,
        "associations": associations,
        "reps": reps,
    }


@settings(derandomize=True, deadline=None, max_examples=60)
@given(plan=random_plans())
def test_reps_see_exactly_their_subtrees(plan: dict[str, pd.DataFrame]) -> None:
    """A rep sees exactly the subtrees of their territories and the accounts in them."""
    parent = dict(
        zip(plan["territories"]["territory_id"], plan["territories"]["parent_id"], strict=True)
    )

    def under(tid: str, root: str) -> bool:
        node: str | None = tid
        while node is not None:
            if node == root:
                return True
            up = parent[node]
            node = None if pd.isna(up) else up
        return False

    for rep in plan["reps"]["rep_id"]:
        sc = build_scope(rep, as_of=TODAY, **plan)
        own = set(plan["associations"].loc[plan["associations"]["rep_id"] == rep, "territory_id"])
        expected = {t for t in parent if any(under(t, o) for o in own)}
        assert sc.territory_ids == expected
        m = plan["memberships"]
        assert sc.account_ids == set(m.loc[m["territory_id"].isin(expected), "account_id"])


def test_a_manager_loop_widens_nobody_s_view(three_level_plan: dict[str, pd.DataFrame]) -> None:
    """R1 and its manager M1 made each other's manager: R1 still sees only its own accounts.

    Before, the loop made M1 (and so R2, R5 and their territories) subordinates
    of R1, who then saw the whole district.
    """
    plan = dict(three_level_plan)
    reps = plan["reps"].copy()
    reps.loc[reps["rep_id"] == "M1", "manager_id"] = "R1"  # R1 > M1 > R1
    plan["reps"] = reps
    looped = scope(plan, "R1")
    alone = scope(three_level_plan, "R1")
    assert looped.subordinate_ids == frozenset()
    assert looped.account_ids == alone.account_ids
    assert looped.territory_ids == alone.territory_ids
    assert scope(plan, "M1").subordinate_ids == frozenset({"R2", "R5"})
    assert manager_loops(reps) == [["M1", "R1"]] or manager_loops(reps) == [["R1", "M1"]]
    assert manager_loops(three_level_plan["reps"]) == []


@pytest.mark.parametrize(
    ("user", "fmt", "allowed"),
    [
        ("R1", "csv", True),
        ("R1", "salesforce", False),
        ("M1", "Salesforce", False),
        ("P", "salesforce", False),
        ("A", "salesforce", True),
        ("M1", "geopackage", True),
    ],
)
def test_each_export_format_needs_its_right(
    three_level_plan: dict[str, pd.DataFrame], user: str, fmt: str, allowed: bool
) -> None:
    """The Salesforce load files need export_salesforce (admins); other formats need export."""
    sc = scope(three_level_plan, user)
    assert sc.can(export_action(fmt)) is allowed
    if not allowed:
        with pytest.raises(AccessDeniedError, match="may not export salesforce"):
            sc.require(export_action(fmt))


@pytest.mark.slow
@pytest.mark.parametrize("user", ["ga-rep-atl", "ga-mgr-r-south", "ga-mgr-d-nw"])
@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_cli_export_as_user_holds_only_the_user_s_scope(
    user: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner export --as-user` writes no account or territory outside the user's scope.

    A rep, the manager of the other region and a district manager of the north
    each export the Georgia sample; every id in the files is in their scope.
    """
    from planner.cli import main as cli_main
    from planner.samples import sample_path
    from planner.workspace import open_workspace

    path = sample_path("georgia")
    allowed = scope_for(open_workspace(path), user)
    out = tmp_path / fmt
    assert cli_main(["export", "--workspace", str(path), "--format", fmt, "--out", str(out),
                     "--as-user", user]) == 0  # fmt: skip
    capsys.readouterr()
    if fmt == "csv":
        frames = [pd.read_csv(f, dtype=str) for f in out.glob("*.csv")]
    else:
        frames = [pd.DataFrame(gpd.read_file(f)) for f in out.glob("*.geojson")]
    accounts = {a for f in frames if "account_id" in f for a in f["account_id"].dropna()}
    territories = {t for f in frames if "territory_id" in f for t in f["territory_id"].dropna()}
    assert accounts and territories
    assert allowed.account_ids is not None and allowed.territory_ids is not None
    assert accounts <= allowed.account_ids
    assert territories <= allowed.territory_ids


def test_every_workspace_table_has_an_access_rule() -> None:
    """A new table without a rule would break every restricted view (sign-in included)."""
    ws = open_workspace(sample_path("helsinki"))
    rep = scope_for(ws, "hel-rep-1")
    for table in s.TABLES:
        rep.filter_table(table, ws.tables[table])  # raises for a table without a rule
