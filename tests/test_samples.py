"""The bundled sample workspaces (data/helsinki.gpkg, data/georgia.gpkg) and their build script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import pandas as pd
import pytest

from planner import schema as s
from planner.samples import SAMPLES, data_dir, sample_path
from planner.workspace import Workspace, open_workspace

ROOT = Path(__file__).resolve().parents[1]


def _load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_samples", ROOT / "scripts/build_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_samples", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build() -> ModuleType:
    """The build script, imported as a module."""
    return _load_build_script()


@pytest.fixture(scope="module")
def georgia() -> Workspace:
    """The bundled Georgia sample."""
    return open_workspace(sample_path("georgia"))


@pytest.fixture(scope="module")
def helsinki() -> Workspace:
    """The bundled Helsinki sample."""
    return open_workspace(sample_path("helsinki"))


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest) -> Workspace:
    """Each bundled sample in turn."""
    return open_workspace(sample_path(request.param))


# --- both samples -------------------------------------------------------------
def test_every_table_matches_its_schema(sample: Workspace) -> None:
    """Every table of a sample passes the schema validator."""
    for table, frame in sample.tables.items():
        s.validate_frame(frame, table)


def test_one_active_scenario(sample: Workspace) -> None:
    """Each sample has exactly one active scenario."""
    assert (sample.scenarios[s.STATE] == "active").sum() == 1


def test_every_account_has_one_primary_membership_per_type(sample: Workspace) -> None:
    """In every scenario each account has exactly one primary leaf territory per type."""
    for sc in sample.scenario_list():
        members = sample.rows("memberships", sc.scenario_id)
        terr = sample.rows("territories", sc.scenario_id)
        typed = members.merge(terr[[s.TERRITORY_ID, s.TYPE_ID]], on=s.TERRITORY_ID, how="left")
        assert typed[s.TYPE_ID].notna().all(), "membership of an unknown territory"
        primary = typed[typed[s.IS_PRIMARY]]
        per_type = primary.groupby([s.ACCOUNT_ID, s.TYPE_ID]).size()
        assert (per_type == 1).all()
        assert set(primary[s.ACCOUNT_ID]) == set(sample.accounts[s.ACCOUNT_ID])
        leaves = set(terr[s.TERRITORY_ID]) - set(terr[s.PARENT_ID].dropna())
        assert set(primary[s.TERRITORY_ID]) <= leaves


def test_hierarchy_is_well_formed(sample: Workspace) -> None:
    """Parents exist one level up, and each parent's polygon covers its children."""
    for sc in sample.scenario_list():
        terr = sample.rows("territories", sc.scenario_id).set_index(s.TERRITORY_ID)
        for tid, row in terr.iterrows():
            parent = row[s.PARENT_ID]
            if parent is None:
                assert row[s.LEVEL] == 0
                continue
            assert terr.at[parent, s.LEVEL] == row[s.LEVEL] - 1, tid
            child = gpd.GeoSeries([row.geometry], crs=s.STORAGE_CRS).to_crs(3857)
            outer = gpd.GeoSeries([terr.at[parent, "geometry"]], crs=s.STORAGE_CRS).to_crs(3857)
            assert child.difference(outer).area.iloc[0] < 1.0, tid


def test_units_map_to_leaf_territories(sample: Workspace) -> None:
    """unit_assignment puts every unit in exactly one leaf territory of the scenario."""
    for sc in sample.scenario_list():
        ua = sample.rows("unit_assignment", sc.scenario_id)
        terr = sample.rows("territories", sc.scenario_id)
        leaves = set(terr[s.TERRITORY_ID]) - set(terr[s.PARENT_ID].dropna())
        assert sorted(ua[s.UNIT_ID]) == sorted(sample.units[s.UNIT_ID])
        assert set(ua[s.TERRITORY_ID]) <= leaves


def test_owner_id_is_the_owner_of_the_active_territory(sample: Workspace) -> None:
    """An account's owner_id is the owner of its primary territory in the active scenario."""
    assoc = sample.associations()
    owners = assoc[assoc[s.ROLE] == "owner"].set_index(s.TERRITORY_ID)[s.REP_ID]
    members = sample.memberships()
    expected = members.set_index(s.ACCOUNT_ID)[s.TERRITORY_ID].map(owners)
    actual = sample.accounts.set_index(s.ACCOUNT_ID)[s.OWNER_ID]
    pd.testing.assert_series_equal(
        actual.sort_index(), expected.sort_index(), check_names=False, check_dtype=False
    )


def test_users_have_every_role_and_a_valid_manager_chain(sample: Workspace) -> None:
    """Reps, managers, a planner and an admin; every manager_id names a manager."""
    reps = sample.reps
    assert set(reps[s.ROLE]) == {"rep", "manager", "planner", "admin"}
    by_id = reps.set_index(s.REP_ID)
    for manager in reps[s.MANAGER_ID].dropna():
        assert by_id.at[manager, s.ROLE] == "manager"
    field_reps = reps[reps[s.ROLE] == "rep"]
    assert field_reps.geometry.notna().all()
    assert (field_reps[s.CAPACITY_H_PER_WEEK] > 0).all()


def test_targets_cover_every_territory_each_quarter(sample: Workspace) -> None:
    """The active scenario has a revenue target for every territory in four quarters."""
    sid = sample.active_scenario_id()
    targets = sample.rows("targets", sid)
    terr = sample.territories(sid)
    per = targets.groupby(s.TERRITORY_ID)[s.PERIOD].nunique()
    assert set(per.index) == set(terr[s.TERRITORY_ID])
    assert (per == 4).all()
    assert (targets[s.VALUE] > 0).all()


def test_every_user_signs_in_with_the_demo_password(sample: Workspace) -> None:
    """Every sample user has a salted scrypt hash of "demo", each with a salt of its own."""
    from planner.auth import authenticate

    hashes = sample.reps[s.PASSWORD_HASH]
    assert hashes.str.startswith("$scrypt$").all()
    assert hashes.is_unique  # a salt per user
    for login in sample.reps[s.REP_ID]:
        user = authenticate(sample.reps, login, "demo")
        assert user is not None and user.user_id == login
    assert authenticate(sample.reps, sample.reps[s.REP_ID].iloc[0], "Demo") is None


def test_account_attributes_are_filled(sample: Workspace) -> None:
    """Industry, revenue, visits, visit minutes, size and product line are set on every account."""
    acc = sample.accounts
    for col in (s.INDUSTRY, s.ANNUAL_REVENUE, s.VISITS_PER_MONTH, s.VISIT_MINUTES):
        assert acc[col].notna().all(), col
    assert set(acc[s.SIZE]) <= {"S", "M", "L"}
    assert set(acc[s.PRODUCT_LINE]) <= {"A", "B", "C"}
    assert (acc[s.ANNUAL_REVENUE] > 0).all()


# --- Georgia ------------------------------------------------------------------
def test_georgia_has_159_counties_and_three_levels(georgia: Workspace) -> None:
    """159 county units; the active hierarchy is region > district > territory."""
    info = georgia.info()
    assert info["units"] == 159
    assert info["hierarchy_depth"] == 3
    assert set(georgia.units[s.UNIT_TYPE]) == {"county"}
    assert georgia.units[s.NAME].is_unique
    assert {"TotPop90", "AREA", "PctRural"} <= set(georgia.units.columns)
    terr = georgia.territories()
    levels = terr.groupby(s.LEVEL)[s.LEVEL_NAME].agg(set).to_dict()
    assert levels == {0: {"region"}, 1: {"district"}, 2: {"territory"}}


def test_georgia_scenario_lifecycle(georgia: Workspace) -> None:
    """FY2027 is active and FY2026 archived."""
    states = dict(zip(georgia.scenarios[s.NAME], georgia.scenarios[s.STATE], strict=True))
    assert states == {"FY2026 plan": "archived", "FY2027 plan": "active"}


def test_georgia_accounts_are_inside_their_county(georgia: Workspace) -> None:
    """Each account lies inside exactly one county, the one named in county_fips."""
    joined = gpd.sjoin(
        georgia.accounts[[s.ACCOUNT_ID, "county_fips", "geometry"]],
        georgia.units[[s.UNIT_ID, "geometry"]],
        predicate="within",
    )
    assert len(joined) == len(georgia.accounts)
    assert joined[s.ACCOUNT_ID].is_unique
    assert (joined["county_fips"] == joined[s.UNIT_ID]).all()
    assert (georgia.accounts[s.COUNTRY] == "US").all()
    assert georgia.accounts[s.POSTAL_CODE].str.fullmatch(r"3\d{4}").all()


def test_georgia_territories_are_contiguous(georgia: Workspace, build: ModuleType) -> None:
    """Every territory, district and region is one connected set of counties."""
    units = georgia.units.to_crs(build.GEORGIA_CRS)
    neighbours = build.adjacency(units.geometry, min_shared_m=100.0)
    pos = {u: i for i, u in enumerate(units[s.UNIT_ID])}
    for sc in georgia.scenario_list():
        terr = georgia.rows("territories", sc.scenario_id).set_index(s.TERRITORY_ID)
        ua = georgia.rows("unit_assignment", sc.scenario_id)
        for tid in terr.index:
            members = []
            for unit, leaf in zip(ua[s.UNIT_ID], ua[s.TERRITORY_ID], strict=True):
                node = leaf
                while node is not None and node != tid:
                    node = terr.at[node, s.PARENT_ID]
                if node == tid:
                    members.append(pos[unit])
            assert members, tid
            assert len(build.components(members, neighbours)) == 1, tid


# --- Helsinki -----------------------------------------------------------------
def test_helsinki_accounts_are_osm_points_of_interest(helsinki: Workspace) -> None:
    """Accounts are named OSM features with their tag, most with a street address."""
    acc = helsinki.accounts
    assert len(acc) > 1000
    assert acc[s.ACCOUNT_ID].str.match(r"osm-(node|way|relation)-\d+$").all()
    assert acc[s.NAME].notna().all()
    assert (acc[s.COUNTRY] == "FI").all()
    assert (acc[s.GEOCODE_PRECISION] == "exact").all()
    assert acc[s.ADDRESS].notna().mean() > 0.6
    assert acc[s.OPENING_HOURS].notna().sum() > 300
    assert acc["category"].str.contains("=").all()


def test_helsinki_h3_units_cover_every_account(helsinki: Workspace) -> None:
    """Every account lies in (or on the edge of) one of the H3 unit cells."""
    cells = helsinki.units
    assert set(cells[s.UNIT_TYPE]) == {"h3"}
    joined = gpd.sjoin(helsinki.accounts, cells[[s.UNIT_ID, "geometry"]], predicate="intersects")
    assert set(joined[s.ACCOUNT_ID]) == set(helsinki.accounts[s.ACCOUNT_ID])


def test_helsinki_rep_territories_are_single_polygons(helsinki: Workspace) -> None:
    """Four rep territories, each one polygon, under one district."""
    terr = helsinki.territories()
    leaves = terr[terr[s.LEVEL] == 1]
    assert len(leaves) == 4
    assert (leaves.geometry.geom_type == "Polygon").all()
    assert terr[s.PARENT_ID].isna().sum() == 1


# --- the build ----------------------------------------------------------------
def test_hash_draws_are_stable(build: ModuleType) -> None:
    """The keyed-hash draws give fixed numbers on every machine and Python run."""
    assert build.uniform("GA-00001", "size") == 0.22423332317856812
    attrs = build.account_attributes("GA-00001", "Retail")
    assert attrs == build.account_attributes("GA-00001", "Retail")


def test_rebuild_gives_the_bundled_tables(build: ModuleType) -> None:
    """Building again (a new process's worth of state) reproduces every stored table exactly."""
    for name, builder in build.BUILDERS.items():
        fresh = build.table_digest(builder())
        stored = build.table_digest(open_workspace(sample_path(name)))
        assert fresh == stored, f"{name}: run `python scripts/build_samples.py` and commit data/"


def test_data_folder_stays_small() -> None:
    """The bundled data stays within a few MB."""
    total = sum(p.stat().st_size for p in data_dir().iterdir() if p.is_file())
    assert total < 8_000_000


def test_helsinki_road_network_reaches_every_account(helsinki: Workspace) -> None:
    """The bundled drivable network loads and has a node within 300 m of every account."""
    from scipy.spatial import cKDTree

    from planner.routing.network import load_network

    network = load_network(data_dir() / "helsinki_roads.graphml.gz")
    assert network.n_nodes > 1000
    xy = [(d["x"], d["y"]) for _, d in network.graph.nodes(data=True)]
    nodes = gpd.GeoSeries(gpd.points_from_xy(*zip(*xy, strict=True)), crs=s.STORAGE_CRS)
    nodes = nodes.to_crs("EPSG:3067")
    tree = cKDTree(list(zip(nodes.x, nodes.y, strict=True)))
    for frame in (helsinki.accounts, helsinki.reps[helsinki.reps.geometry.notna()]):
        pts = frame.geometry.to_crs("EPSG:3067")
        dist, _ = tree.query(list(zip(pts.x, pts.y, strict=True)))
        assert dist.max() < 300.0
