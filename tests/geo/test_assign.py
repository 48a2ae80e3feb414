"""Tests of account assignment: point location, rules, overrides, explain, reassignment, CLI."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.cli import main
from planner.errors import InputError, PlannerWarning
from planner.geo.assign import MEMBERSHIP_COLUMNS, assign_accounts, assign_workspace
from planner.geo.locate import build_index, locate_points, on_boundary
from planner.models import Scenario
from planner.reassign import reassign
from planner.workspace import Workspace

X0, Y0 = -84.5, 33.6
D = 0.1  # side of a territory square, degrees


def _square(i: int, j: int = 0, w: float = 1.0) -> shapely.Polygon:
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + w) * D, Y0 + (j + 1) * D)


def _at(i: float, j: float) -> shapely.Point:
    """The point at (i, j) in territory-square units."""
    return shapely.Point(X0 + i * D, Y0 + j * D)


def _accounts(points: dict[str, shapely.Point | None], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {s.ACCOUNT_ID: list(points), **columns}, geometry=list(points.values()), crs="EPSG:4326"
    )


def _territories(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    for col in (s.PARENT_ID, s.TYPE_ID, s.RULE):
        if col not in frame:
            frame[col] = None
    geometry = frame.pop("geometry") if "geometry" in frame else [None] * len(frame)
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs="EPSG:4326")


@pytest.fixture
def strip_of_three() -> gpd.GeoDataFrame:
    """Three geographic squares A | B | C side by side, west to east."""
    return _territories(
        [
            {s.TERRITORY_ID: "A", "geometry": _square(0)},
            {s.TERRITORY_ID: "B", "geometry": _square(1)},
            {s.TERRITORY_ID: "C", "geometry": _square(2)},
        ]
    )


@pytest.fixture
def six_accounts() -> gpd.GeoDataFrame:
    """Accounts inside A, B and C, on the A|B border, outside everything, and unlocated."""
    return _accounts(
        {
            "in_a": _at(0.5, 0.5),
            "in_b": _at(1.5, 0.5),
            "in_c": _at(2.5, 0.5),
            "ab_border": _at(1.0, 0.5),
            "far": _at(9, 9),
            "no_location": None,
        },
        industry=["Healthcare", "Retail", "Healthcare", "Retail", "Retail", "Healthcare"],
        annual_revenue=[2e6, 52e3, 9e6, 1e6, 5e6, 3e6],
    )


def _pairs(result: object) -> set[tuple[str, str]]:
    mem = result.memberships  # type: ignore[attr-defined]
    return set(zip(mem[s.ACCOUNT_ID].astype(str), mem[s.TERRITORY_ID].astype(str), strict=True))


# --------------------------------------------------------------------------- locate


def _voronoi(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = shapely.box(0, 0, 100, 100)
    cells = shapely.voronoi_polygons(shapely.multipoints(rng.random((n, 2)) * 100), extend_to=frame)
    return shapely.intersection(shapely.get_parts(cells), frame)


def _georgia() -> gpd.GeoDataFrame:
    import libpysal

    path = os.path.join(os.path.dirname(libpysal.__file__), "examples", "georgia", "G_utm.shp")
    return gpd.read_file(path).set_crs(32616)


@pytest.mark.parametrize("layout", ["voronoi", "georgia"])
def test_grid_location_equals_sjoin_within_off_the_borders(layout: str) -> None:
    """On 30,000 random points the fast path gives exactly sjoin(within)'s polygon per point."""
    polys = _voronoi(300, 1) if layout == "voronoi" else _georgia().geometry.to_numpy()
    xmin, ymin, xmax, ymax = shapely.total_bounds(polys)
    rng = np.random.default_rng(7)
    n = 30_000
    x = xmin + rng.random(n) * (xmax - xmin)
    y = ymin + rng.random(n) * (ymax - ymin)
    index = build_index(polys, expected_points=n, grid=True)
    assert index.cells is not None
    ours = locate_points(x, y, index)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y))
    peer = gpd.sjoin(points, gpd.GeoDataFrame(geometry=np.asarray(polys)), predicate="within")
    a = np.full(n, -1)
    a[ours.point_index] = ours.polygon_index
    b = np.full(n, -1)
    b[peer.index.to_numpy()] = peer["index_right"].to_numpy()
    assert np.array_equal(a, b)


def test_grid_aligned_borders_and_points_on_them() -> None:
    """Squares whose borders fall on grid lines, and points exactly on them, stay exact."""
    squares = np.array([shapely.box(i, j, i + 1, j + 1) for i in range(8) for j in range(8)])
    xs, ys = np.meshgrid(np.arange(0, 8.01, 0.25), np.arange(0, 8.01, 0.25))
    x, y = xs.ravel(), ys.ravel()
    index = build_index(squares, expected_points=50_000, grid=True)
    located = locate_points(x, y, index)
    exact = shapely.STRtree(squares).query(shapely.points(x, y), predicate="intersects")
    assert set(zip(located.point_index, located.polygon_index, strict=True)) == set(
        zip(exact[0], exact[1], strict=True)
    )
    border = on_boundary(x, y, index, located)
    on_line = (np.mod(x[located.point_index], 1) == 0) | (np.mod(y[located.point_index], 1) == 0)
    assert np.array_equal(border, on_line)


# --------------------------------------------------------------------------- spatial


def test_each_account_lands_in_its_square(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """Inside points go to their square; outside and unlocated ones are listed as unassigned."""
    result = assign_accounts(six_accounts, strip_of_three)
    assert list(result.memberships.columns) == MEMBERSHIP_COLUMNS
    assert _pairs(result) == {("in_a", "A"), ("in_b", "B"), ("in_c", "C"), ("ab_border", "A")}
    assert set(result.memberships[s.CAUSE]) == {"spatial"}
    reasons = dict(zip(result.unassigned[s.ACCOUNT_ID], result.unassigned[s.REASON], strict=True))
    assert reasons == {
        "far": "outside every territory",
        "no_location": "no location, and no rule-only territory matches it",
    }
    assert result.counts().to_dict() == {"A": 2, "B": 1, "C": 1}


def test_border_point_goes_to_the_lowest_territory_id(six_accounts: gpd.GeoDataFrame) -> None:
    """On the shared border of Z-WEST and A-EAST, A-EAST (lower id) wins, whatever the order."""
    terr = _territories(
        [
            {s.TERRITORY_ID: "Z-WEST", "geometry": _square(0)},
            {s.TERRITORY_ID: "A-EAST", "geometry": _square(1)},
        ]
    )
    result = assign_accounts(six_accounts, terr)
    row = result.memberships.set_index(s.ACCOUNT_ID).loc["ab_border"]
    assert row[s.TERRITORY_ID] == "A-EAST"
    assert "on the border of both; A-EAST comes first by territory id" in row[s.DETAIL]
    flipped = assign_accounts(six_accounts, terr.iloc[::-1])
    assert _pairs(flipped) == _pairs(result)
    why = result.explain("ab_border", "Z-WEST").verdict("Z-WEST")
    assert "lies on the border of both; A-EAST comes first" in why.reasons[0]


def test_inside_beats_border_and_smaller_beats_larger() -> None:
    """In an overlap the smaller territory wins; strictly inside beats lying on a border."""
    terr = _territories(
        [
            {s.TERRITORY_ID: "BIG", "geometry": _square(0, w=2)},
            {s.TERRITORY_ID: "SMALL", "geometry": _square(1)},
        ]
    )
    accounts = _accounts({"overlap": _at(1.5, 0.5), "edge_of_small": _at(1.0, 0.5)})
    result = assign_accounts(accounts, terr)
    assert _pairs(result) == {("overlap", "SMALL"), ("edge_of_small", "BIG")}
    assert result.overlaps[["winner", "loser"]].values.tolist() == [
        ["BIG", "SMALL"],
        ["SMALL", "BIG"],
    ]
    text = result.explain("overlap", "BIG").text
    assert "lost to SMALL: SMALL is smaller" in text
    text = result.explain("edge_of_small", "SMALL").text
    assert "strictly inside BIG and on the border of SMALL" in text


def test_types_share_accounts_and_priority_picks_the_lead(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """An overlay overlapping geographic squares shares their accounts; its priority leads."""
    overlay = _territories(
        [{s.TERRITORY_ID: "HC", s.TYPE_ID: "overlay", "geometry": _square(0, w=3)}]
    )
    terr = pd.concat([strip_of_three, overlay], ignore_index=True)
    result = assign_accounts(six_accounts, terr, territory_types={"geographic": 10, "overlay": 5})
    assert ("in_a", "A") in _pairs(result)
    assert ("in_a", "HC") in _pairs(result)
    assert result.memberships[s.IS_PRIMARY].all()
    assert result.leads()["in_a"] == "HC"
    result = assign_accounts(six_accounts, terr, territory_types={"geographic": 1, "overlay": 5})
    assert result.leads()["in_a"] == "A"
    why = result.explain("in_b", "HC")
    assert why.verdict("HC").member


# --------------------------------------------------------------------------- rules


def test_rules_filter_and_are_inherited_down_the_hierarchy(six_accounts: gpd.GeoDataFrame) -> None:
    """A child gets only accounts matching its parent's rule and its own; rule-only leaves inherit
    the nearest shape above them."""
    terr = _territories(
        [
            {s.TERRITORY_ID: "R", "geometry": _square(0, w=3), s.RULE: "annual_revenue >= 1e6"},
            {s.TERRITORY_ID: "A", s.PARENT_ID: "R", "geometry": _square(0)},
            {s.TERRITORY_ID: "BC", s.PARENT_ID: "R", "geometry": _square(1, w=2)},
            {
                s.TERRITORY_ID: "HC",
                s.PARENT_ID: "R",
                s.TYPE_ID: "overlay",
                s.RULE: 'industry == "Healthcare"',
            },
        ]
    )
    result = assign_accounts(six_accounts, terr)
    pairs = _pairs(result)
    assert ("in_b", "BC") not in pairs  # 52,000 fails the parent's rule
    assert {("in_a", "A"), ("in_c", "BC"), ("ab_border", "A")} <= pairs
    assert {("in_a", "HC"), ("in_c", "HC")} <= pairs
    assert ("no_location", "HC") not in pairs  # HC inherits R's shape
    rows = result.memberships.set_index([s.ACCOUNT_ID, s.TERRITORY_ID])
    assert rows.loc[("in_a", "A"), s.CAUSE] == "rule"
    assert "(inherited from R)" in rows.loc[("in_a", "A"), s.DETAIL]
    why = result.explain("in_b", "BC").verdict("BC")
    assert why.reasons == (
        "the rule of R (above it) fails: annual_revenue >= 1000000 (value 52000)",
    )
    reasons = dict(zip(result.unassigned[s.ACCOUNT_ID], result.unassigned[s.REASON], strict=True))
    assert reasons["in_b"] == "fails the rules of BC, HC"


def test_a_rule_only_territory_takes_matching_accounts_from_geography(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """An enterprise territory (a rule, no shape) of the same type wins over the squares."""
    ent = _territories([{s.TERRITORY_ID: "ENT", s.RULE: "annual_revenue >= 5000000"}])
    result = assign_accounts(six_accounts, pd.concat([strip_of_three, ent], ignore_index=True))
    pairs = _pairs(result)
    assert {("in_c", "ENT"), ("far", "ENT")} <= pairs
    assert ("in_c", "C") not in pairs
    assert "ENT has a rule and C has none" in result.explain("in_c", "C").text


def test_rules_file_replaces_the_rule_column(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """`rules=` sets a territory's rule; a bad rule is an error naming position and fields."""
    result = assign_accounts(six_accounts, strip_of_three, rules={"A": 'industry == "Retail"'})
    assert ("in_a", "A") not in _pairs(result)
    assert ("ab_border", "A") in _pairs(result)
    with pytest.raises(InputError, match="territory A") as info:
        assign_accounts(six_accounts, strip_of_three, rules={"A": "revenue > 5"})
    problem = info.value.problems[0]
    assert "unknown field 'revenue' at position 1" in problem.message
    assert "annual_revenue" in problem.fix
    with pytest.raises(InputError, match="unknown operator"):
        assign_accounts(six_accounts, strip_of_three, rules={"A": "annual_revenue ≥ 5"})
    with pytest.raises(InputError, match="do not exist"):
        assign_accounts(six_accounts, strip_of_three, rules={"Q": "annual_revenue > 5"})


# --------------------------------------------------------------------------- overrides


def _overrides(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: [r[0] for r in rows],
            s.TERRITORY_ID: [r[1] for r in rows],
            s.ACTION: [r[2] for r in rows],
            s.SET_BY: "ann",
            s.SET_AT: "2026-03-01T10:00:00+00:00",
            s.REASON: "key account",
        }
    )


def test_manual_include_and_exclude(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """An include moves the account (cause manual, who and when); an exclude passes it on."""
    ov = _overrides(
        ("in_a", "C", "include"), ("ab_border", "A", "exclude"), ("far", "B", "include")
    )
    result = assign_accounts(six_accounts, strip_of_three, overrides=ov)
    pairs = _pairs(result)
    assert {("in_a", "C"), ("ab_border", "B"), ("far", "B")} <= pairs
    assert ("in_a", "A") not in pairs
    rows = result.memberships.set_index([s.ACCOUNT_ID, s.TERRITORY_ID])
    assert rows.loc[("in_a", "C"), s.CAUSE] == "manual"
    assert rows.loc[("in_a", "C"), s.DETAIL] == (
        "included manually by ann at 2026-03-01T10:00:00+00:00: key account"
    )
    text = result.explain("ab_border", "A").text
    assert "excluded manually from A by ann at 2026-03-01T10:00:00+00:00: key account" in text
    assert "lost to C, included manually by ann" in result.explain("in_a", "A").text


def test_exclusion_from_a_region_covers_its_children(six_accounts: gpd.GeoDataFrame) -> None:
    """Excluding an account from a region excludes it from every territory below."""
    terr = _territories(
        [
            {s.TERRITORY_ID: "R", "geometry": _square(0, w=2)},
            {s.TERRITORY_ID: "A", s.PARENT_ID: "R", "geometry": _square(0)},
        ]
    )
    result = assign_accounts(six_accounts, terr, overrides=_overrides(("in_a", "R", "exclude")))
    assert "in_a" not in set(result.memberships[s.ACCOUNT_ID])
    reasons = dict(zip(result.unassigned[s.ACCOUNT_ID], result.unassigned[s.REASON], strict=True))
    assert reasons["in_a"] == "excluded manually from A"


def test_stale_overrides_are_ignored_with_a_warning(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """Overrides of deleted accounts or territories do not break the assignment."""
    ov = _overrides(("gone", "A", "include"), ("in_a", "DELETED", "exclude"))
    with pytest.warns(PlannerWarning, match="do not exist"):
        result = assign_accounts(six_accounts, strip_of_three, overrides=ov)
    assert len(result.warnings) == 2
    assert ("in_a", "A") in _pairs(result)


def test_two_manual_includes_of_one_type_keep_one_primary(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """Two includes in one type: both memberships, one primary (the most recent)."""
    ov = _overrides(("in_a", "B", "include"), ("in_a", "C", "include"))
    ov.loc[1, s.SET_AT] = "2026-04-01T00:00:00+00:00"
    result = assign_accounts(six_accounts, strip_of_three, overrides=ov)
    rows = result.memberships[result.memberships[s.ACCOUNT_ID] == "in_a"]
    assert dict(zip(rows[s.TERRITORY_ID], rows[s.IS_PRIMARY], strict=True)) == {
        "B": False,
        "C": True,
    }


# --------------------------------------------------------------------------- bad input


def test_bad_accounts_are_rejected_naming_them(strip_of_three: gpd.GeoDataFrame) -> None:
    """Duplicate ids and polygons where points were expected are both listed."""
    bad = gpd.GeoDataFrame(
        {s.ACCOUNT_ID: ["x", "x", "poly"]},
        geometry=[_at(0.5, 0.5), _at(0.5, 0.5), _square(0)],
        crs="EPSG:4326",
    )
    with pytest.raises(InputError, match="2 problem") as info:
        assign_accounts(bad, strip_of_three)
    text = str(info.value)
    assert "account ids x appear more than once" in text
    assert "accounts poly have a Polygon where a point was expected" in text


def test_bad_territories_are_rejected_or_repaired(six_accounts: gpd.GeoDataFrame) -> None:
    """A point territory and a hierarchy cycle are errors; a bow-tie is repaired with a warning."""
    point = _territories([{s.TERRITORY_ID: "P", "geometry": _at(0, 0)}])
    with pytest.raises(InputError, match="territory P: a Point where a polygon was expected"):
        assign_accounts(six_accounts, point)
    cycle = _territories(
        [
            {s.TERRITORY_ID: "A", s.PARENT_ID: "B", "geometry": _square(0)},
            {s.TERRITORY_ID: "B", s.PARENT_ID: "A", "geometry": _square(1)},
        ]
    )
    with pytest.raises(InputError, match="cycle"):
        assign_accounts(six_accounts, cycle)
    ghost = _territories([{s.TERRITORY_ID: "A", s.PARENT_ID: "NOPE", "geometry": _square(0)}])
    with pytest.raises(InputError, match="parent NOPE, which does not exist"):
        assign_accounts(six_accounts, ghost)
    x, y = X0, Y0
    bow = shapely.Polygon([(x, y), (x + D, y + D), (x + D, y), (x, y + D)])
    tie = _territories([{s.TERRITORY_ID: "BOW", "geometry": bow}])
    with pytest.warns(PlannerWarning, match="territory BOW"):
        result = assign_accounts(six_accounts, tie)
    assert any("BOW" in w for w in result.warnings)


def test_crs_mismatch_and_missing_crs(
    strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame
) -> None:
    """Territories in another CRS are reprojected with a warning; a missing CRS is assumed."""
    with pytest.warns(PlannerWarning, match="reprojected"):
        result = assign_accounts(six_accounts, strip_of_three.to_crs(32616))
    assert ("in_a", "A") in _pairs(result)
    with pytest.warns(PlannerWarning, match="EPSG:4326 is assumed"):
        result = assign_accounts(six_accounts.set_crs(None, allow_override=True), strip_of_three)
    assert ("in_b", "B") in _pairs(result)


# --------------------------------------------------------------------------- invariants


_CELL = st.tuples(st.integers(0, 8), st.integers(0, 4))


@settings(derandomize=True, deadline=None, max_examples=25)
@given(
    cells=st.lists(_CELL, min_size=1, max_size=30),
    revenue=st.lists(st.integers(0, 3), min_size=30, max_size=30),
    seed=st.integers(0, 1000),
)
def test_one_primary_per_type_or_unassigned_and_order_free(
    cells: list[tuple[int, int]], revenue: list[int], seed: int
) -> None:
    """Every account has at most one primary per type, exactly one geographic primary (the
    squares cover the area) unless unassigned, and shuffling the rows changes nothing."""
    # points on a half-square lattice: many lie exactly on borders and corners
    accounts = _accounts(
        {f"a{k}": _at(i / 2, j / 2) for k, (i, j) in enumerate(cells)},
        annual_revenue=[float(r) * 1e6 for r in revenue[: len(cells)]],
    )
    squares = [
        {s.TERRITORY_ID: f"G{i}{j}", "geometry": _square(i, j)} for i in range(4) for j in range(2)
    ]
    extras = [
        {s.TERRITORY_ID: "OV", s.TYPE_ID: "overlay", "geometry": _square(1, 0, w=2)},
        {s.TERRITORY_ID: "BIG", s.RULE: "annual_revenue >= 2000000"},
        {s.TERRITORY_ID: "OV2", s.TYPE_ID: "overlay", "geometry": _square(2, 0, w=2)},
    ]
    terr = _territories(squares + extras)
    result = assign_accounts(accounts, terr)
    mem = result.memberships
    types = dict(zip(terr[s.TERRITORY_ID], terr[s.TYPE_ID].fillna("geographic"), strict=True))
    primary = mem[mem[s.IS_PRIMARY]].assign(type_id=lambda f: f[s.TERRITORY_ID].map(types))
    assert not primary.duplicated([s.ACCOUNT_ID, "type_id"]).any()
    geo = set(primary.loc[primary["type_id"] == "geographic", s.ACCOUNT_ID])
    unassigned = set(result.unassigned[s.ACCOUNT_ID])
    for account in accounts[s.ACCOUNT_ID]:
        assert (account in geo) != (account in unassigned)
    assert unassigned.isdisjoint(set(mem[s.ACCOUNT_ID]))
    shuffled = assign_accounts(
        accounts.sample(frac=1, random_state=seed), terr.sample(frac=1, random_state=seed)
    )

    def canon(frame: pd.DataFrame) -> list[tuple[object, ...]]:
        return sorted(map(tuple, frame.astype(str).to_numpy().tolist()))

    assert canon(shuffled.memberships) == canon(mem)
    assert canon(shuffled.unassigned) == canon(result.unassigned)


# --------------------------------------------------------------------------- workspace


@pytest.fixture
def strip_workspace(strip_of_three: gpd.GeoDataFrame, six_accounts: gpd.GeoDataFrame) -> Workspace:
    """A workspace with the strip, the six accounts, two reps and associations."""
    accounts = six_accounts.assign(
        name=six_accounts[s.ACCOUNT_ID],
        geocode_precision="exact",
        owner_id=["ann", "bob", "bob", "ann", None, None],
    )
    terr = strip_of_three.assign(
        name=strip_of_three[s.TERRITORY_ID],
        level=0,
        level_name="territory",
        type_id="geographic",
        source="drawn",
    )
    ws = Workspace(tables={"accounts": accounts})
    ws.add_scenario(Scenario("s1"))
    ws.set_rows("territories", "s1", terr)
    ws.set_rows(
        "associations",
        "s1",
        pd.DataFrame({s.REP_ID: ["ann", "bob"], s.TERRITORY_ID: ["A", "B"], s.ROLE: "owner"}),
    )
    return ws


def test_reassign_a_territory_records_overrides_and_audit(strip_workspace: Workspace) -> None:
    """Moving territory A's accounts to C writes include/exclude overrides and one audit entry."""
    summary = reassign(
        strip_workspace, "s1", from_territory="A", to_territory="C", user="boss", reason="leaver"
    )
    assert summary.account_ids == ("ab_border", "in_a")
    assert summary.from_territories == {"A": 2}
    ov = strip_workspace.rows("overrides", "s1")
    assert set(zip(ov[s.ACCOUNT_ID], ov[s.TERRITORY_ID], ov[s.ACTION], strict=True)) == {
        ("ab_border", "C", "include"),
        ("in_a", "C", "include"),
        ("ab_border", "A", "exclude"),
        ("in_a", "A", "exclude"),
    }
    assert set(ov[s.SET_BY]) == {"boss"}
    mem = strip_workspace.memberships("s1")
    assert set(mem.loc[mem[s.TERRITORY_ID] == "C", s.ACCOUNT_ID]) == {"in_a", "in_c", "ab_border"}
    actions = strip_workspace.audit["action"].tolist()
    assert "reassign" in actions
    entry = json.loads(strip_workspace.audit.loc[actions.index("reassign"), s.DETAIL])
    assert entry["from_territory"] == "A" and entry["accounts"] == 2
    why = assign_workspace(strip_workspace, "s1").explain("in_a", "A").text
    assert "excluded manually from A by boss" in why


def test_reassign_a_rep_and_units(strip_workspace: Workspace) -> None:
    """A leaving rep's territory accounts and owned accounts move; units move their accounts."""
    summary = reassign(strip_workspace, "s1", from_rep="ann", to_territory="B", user="boss")
    assert set(summary.account_ids) == {"in_a", "ab_border"}
    units = gpd.GeoDataFrame(
        {s.UNIT_ID: ["u_c"], s.NAME: ["c"], s.UNIT_TYPE: "custom"},
        geometry=[_square(2)],
        crs="EPSG:4326",
    )
    strip_workspace.set_table("units", units)
    summary = reassign(strip_workspace, "s1", units=["u_c"], to_territory="A", user="boss")
    assert summary.account_ids == ("in_c",)
    assert summary.units_moved == ("u_c",)
    ua = strip_workspace.rows("unit_assignment", "s1")
    assert ua[s.TERRITORY_ID].tolist() == ["A"]
    with pytest.raises(InputError, match="exactly one"):
        reassign(strip_workspace, "s1", to_territory="A")
    with pytest.raises(InputError, match="no territory 'Q'"):
        reassign(strip_workspace, "s1", from_territory="Q", to_territory="A")
    with pytest.raises(InputError, match="no rep 'zed'"):
        reassign(strip_workspace, "s1", from_rep="zed", to_territory="A")


# --------------------------------------------------------------------------- CLI


def test_cli_assign_writes_memberships_and_unassigned(
    tmp_path: Path,
    strip_of_three: gpd.GeoDataFrame,
    six_accounts: gpd.GeoDataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`planner assign` reads files, applies a rules file and writes every account to the CSV."""
    terr_file = tmp_path / "territories.geojson"
    strip_of_three[[s.TERRITORY_ID, "geometry"]].to_file(terr_file, driver="GeoJSON")
    acc = six_accounts.iloc[:5]
    acc_file = tmp_path / "accounts.csv"
    pd.DataFrame(
        {
            s.ACCOUNT_ID: acc[s.ACCOUNT_ID],
            "latitude": acc.geometry.y,
            "longitude": acc.geometry.x,
            s.INDUSTRY: acc[s.INDUSTRY],
            s.ANNUAL_REVENUE: acc[s.ANNUAL_REVENUE],
        }
    ).to_csv(acc_file, index=False)
    rules = tmp_path / "rules.txt"
    rules.write_text('# territory: rule\nC: industry == "Retail"\n')
    out = tmp_path / "membership.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(
            [
                "assign",
                "--accounts",
                str(acc_file),
                "--territories",
                str(terr_file),
                "--rules",
                str(rules),
                "--out",
                str(out),
                "--json",
            ]
        )
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["territories"] == {"A": 2, "B": 1, "C": 0}
    assert payload["unassigned"] == 2
    written = pd.read_csv(out)
    assert sorted(written[s.ACCOUNT_ID]) == sorted(acc[s.ACCOUNT_ID])
    assert set(written.loc[written[s.CAUSE] == "unassigned", s.ACCOUNT_ID]) == {"far", "in_c"}


def test_cli_explain_and_bad_rule(
    tmp_path: Path, strip_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner explain` answers from a saved workspace; a bad rules file exits with the problem."""
    path = strip_workspace.save(tmp_path / "w.gpkg")
    code = main(["explain", "--workspace", str(path), "ab_border", "--territory", "B"])
    text = capsys.readouterr().out
    assert code == 0
    assert "in A (geographic, primary) by spatial" in text
    assert "not in B (geographic): lost to A" in text
    code = main(["explain", "--workspace", str(path), "nobody", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code != 0 and "unknown account" in payload["message"]
