"""Tests of the CSV, GeoJSON, GeoPackage and XLSX exports and of exporting as a user."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook

from planner.access import build_scope
from planner.errors import InputError
from planner.export import export_plan
from planner.export.files import hierarchy_table, membership_table, territory_paths
from planner.export.plan import PlanData


def test_territory_paths(two_region_plan: PlanData) -> None:
    """Each territory's path names its ancestors from the root down."""
    paths = territory_paths(two_region_plan.territories)
    assert paths["T3"] == "Süd > District S > Tea & co"
    assert paths["RN"] == "North"


def test_hierarchy_table_lists_parents_first(two_region_plan: PlanData) -> None:
    """Every parent row comes before its children."""
    table = hierarchy_table(two_region_plan.territories.iloc[::-1])
    seen: set[str] = set()
    for tid, parent in zip(table["territory_id"], table["parent_id"], strict=True):
        assert pd.isna(parent) or parent in seen
        seen.add(tid)


def test_membership_table(two_region_plan: PlanData) -> None:
    """Memberships carry account name, territory name, path, cause and primary flag."""
    table = membership_table(
        two_region_plan.memberships, two_region_plan.territories, two_region_plan.accounts
    )
    row = table[(table["account_id"] == "a3")].iloc[0]
    assert row["account_name"] == "@Gamma"
    assert row["territory_path"] == "North > District 1 > <b>T2</b>"
    assert (row["cause"], row["detail"], bool(row["is_primary"])) == (
        "manual",
        "moved by M1",
        True,
    )


def test_csv_export(two_region_plan: PlanData, tmp_path: Path) -> None:
    """The CSV export writes its five tables and a manifest; no password column anywhere."""
    result = export_plan(
        PlanData(
            **{
                **two_region_plan.__dict__,
                "reps": two_region_plan.reps.assign(password_hash="$scrypt$x"),
            }
        ),
        tmp_path / "csv",
        "csv",
    )
    assert [p.name for p in result.files] == [
        "hierarchy.csv",
        "membership.csv",
        "associations.csv",
        "targets.csv",
        "users.csv",
    ]
    membership = pd.read_csv(tmp_path / "csv" / "membership.csv", dtype=str)
    assert membership.columns.tolist() == [
        "account_id",
        "account_name",
        "territory_id",
        "territory_name",
        "territory_path",
        "cause",
        "detail",
        "is_primary",
    ]
    assert len(membership) == 6
    for path in (tmp_path / "csv").glob("*.csv"):
        assert "scrypt" not in path.read_text()
    manifest = json.loads((tmp_path / "csv" / "manifest.json").read_text())
    assert manifest["format"] == "csv" and manifest["scenario_id"] == "plan-2025"


def test_geojson_export(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Territories with their metrics and accounts with their territory, in WGS 84."""
    export_plan(two_region_plan, tmp_path / "gj", "geojson")
    terr = gpd.read_file(tmp_path / "gj" / "territories.geojson")
    assert terr.crs.to_epsg() == 4326
    assert len(terr) == 7
    t1 = terr.set_index("territory_id").loc["T1"]
    assert (t1["accounts"], t1["annual_revenue"], t1["target"], t1["won_amount"]) == (
        2,
        300.0,
        100.0,
        60.0,
    )
    assert t1["name"] == '=HYPERLINK("x")'  # GIS files keep names as they are
    accounts = gpd.read_file(tmp_path / "gj" / "accounts.geojson")
    assert accounts.set_index("account_id").loc["a1", "territory_id"] == "T1"


def test_gpkg_export(two_region_plan: PlanData, tmp_path: Path) -> None:
    """One GeoPackage with a territories layer (with metrics) and an accounts layer."""
    export_plan(two_region_plan, tmp_path / "gp", "gpkg")
    path = tmp_path / "gp" / "territories.gpkg"
    assert {name for name, _ in pyogrio.list_layers(path)} == {"territories", "accounts"}
    terr = gpd.read_file(path, layer="territories")
    assert {"workload_h", "attainment", "owners", "path"} <= set(terr.columns)
    assert terr.set_index("territory_id").loc["T3", "workload_h"] == pytest.approx(1.5)
    assert not list(tmp_path.glob("gp/.*"))


def test_gpkg_export_has_spatial_indexes_and_restores_gdal_config(
    two_region_plan: PlanData, tmp_path: Path
) -> None:
    """Both layers get a filled GeoPackage R-tree; the SQLite settings of the write end with it."""
    pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": "7"})
    try:
        export_plan(two_region_plan, tmp_path / "gp", "gpkg")
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE") == 7
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_JOURNAL") is None
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": None})
    path = tmp_path / "gp" / "territories.gpkg"
    with sqlite3.connect(path) as db:
        indexed = db.execute(
            "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'"
        ).fetchall()
        assert sorted(name for (name,) in indexed) == ["accounts", "territories"]
        for layer in ("accounts", "territories"):
            shapes = gpd.read_file(path, layer=layer).geometry
            rows = int((shapes.notna() & ~shapes.is_empty).sum())  # what an R-tree holds
            (column,) = db.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            entries = db.execute(f"SELECT count(*) FROM rtree_{layer}_{column}").fetchone()[0]
            assert rows > 0 and entries == rows
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    info = pyogrio.read_info(path, layer="accounts")
    assert info["capabilities"]["fast_spatial_filter"]


def test_xlsx_export(two_region_plan: PlanData, tmp_path: Path) -> None:
    """The XLSX report has a sheet per report and table."""
    export_plan(two_region_plan, tmp_path / "x", "xlsx")
    book = load_workbook(tmp_path / "x" / "report.xlsx", read_only=True)
    assert book.sheetnames == [
        "Territories",
        "Targets",
        "Star performers",
        "Sales cycle",
        "Hierarchy",
        "Membership",
        "Users in territories",
        "Users",
    ]
    stars = list(book["Star performers"].iter_rows(values_only=True))
    assert stars[1][:2] == (1, "R2")


def test_export_as_a_rep_writes_only_their_area(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Filtered for R1 (owner of T1), no other territory's account reaches any file."""
    plan = two_region_plan
    scope = build_scope(
        "R1",
        reps=plan.reps,
        territories=plan.territories,
        associations=plan.associations,
        accounts=plan.accounts,
        memberships=plan.memberships,
        as_of=plan.as_of,
    )
    mine = plan.restricted(scope)
    for fmt in ("csv", "geojson", "gpkg", "xlsx", "salesforce"):
        export_plan(mine, tmp_path / fmt, fmt)
    membership = pd.read_csv(tmp_path / "csv" / "membership.csv", dtype=str)
    assert set(membership["territory_id"]) == {"T1"}
    assert set(membership["account_id"]) == {"a1", "a2"}
    hierarchy = pd.read_csv(tmp_path / "csv" / "hierarchy.csv", dtype=str, keep_default_na=False)
    assert hierarchy["territory_id"].tolist() == ["T1"] and hierarchy["parent_id"].tolist() == [""]
    users = pd.read_csv(tmp_path / "csv" / "users.csv", dtype=str)
    assert users["rep_id"].tolist() == ["R1"]
    everything = "".join(
        p.read_text(errors="ignore")
        for p in tmp_path.rglob("*")
        if p.is_file() and p.suffix in (".csv", ".geojson", ".json")
    )
    for other in ("a3", "a4", "T2", "T3", "Gamma", "Delta", "r3@x.org"):
        # whole words only: an ISO timestamp such as 2026-11-22T20:11 contains "T2"
        assert not re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", everything), other
    terr = gpd.read_file(tmp_path / "gpkg" / "territories.gpkg", layer="territories")
    assert terr["territory_id"].tolist() == ["T1"]
    accounts = gpd.read_file(tmp_path / "gpkg" / "territories.gpkg", layer="accounts")
    assert set(accounts["account_id"]) == {"a1", "a2"}


def test_unknown_format_and_bad_folder(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Unknown formats and folders whose parent is missing are input errors."""
    with pytest.raises(InputError, match="unknown export format 'docx'"):
        export_plan(two_region_plan, tmp_path / "x", "docx")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        export_plan(two_region_plan, tmp_path / "no" / "such", "csv")
