"""Tests of planner.geo.io: reading and validating accounts, reps, units and territories."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.errors import GeometryRepairWarning, InputError, InputWarning, Problem
from planner.geo.io import (
    ValidationReport,
    locate_postal_codes,
    read_accounts,
    read_reps,
    read_territories,
    read_units,
    validate_file,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "io"


def _only(problems: list[Problem], text: str) -> Problem:
    found = [p for p in problems if text in p.message]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def _error(path: Path | str, text: str, **kw: object) -> Problem:
    """Read strictly, expect an InputError, and return its one problem containing ``text``."""
    with pytest.raises(InputError, match="cannot") as info:
        read_accounts(path, **kw)  # type: ignore[arg-type]
    return _only(info.value.problems, text)


def _xlsx(path: Path, rows: list[list[object]], *, start_row: int = 1) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            ws.cell(row=start_row + i, column=j + 1, value=value)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- CRM exports


def test_salesforce_export_reads_into_the_accounts_schema() -> None:
    """A Salesforce export maps Billing* columns and keeps unknown ones."""
    accounts = read_accounts(DATA / "accounts_salesforce.csv")
    s.validate_frame(accounts, "accounts")
    assert list(accounts[s.ACCOUNT_ID]) == ["001A000001", "001A000002", "001A000003"]
    assert accounts.crs == s.STORAGE_CRS
    assert list(accounts[s.GEOCODE_PRECISION]) == ["exact", "postal_code", "postal_code"]
    assert accounts.geometry.iloc[0].equals(shapely.Point(-84.388, 33.759))
    assert accounts[s.ANNUAL_REVENUE].dtype == np.float64
    assert accounts[s.ANNUAL_REVENUE].iloc[0] == 1_200_000
    assert accounts[s.ADDRESS].iloc[0] == "191 Peachtree St NE"
    assert accounts[s.OWNER_ID].iloc[2] == "005U02"
    assert "NumberOfEmployees" in accounts.columns
    assert "BillingLatitude" not in accounts.columns
    assert accounts[s.POSTAL_CODE].iloc[2] == "02134"  # the lost leading zero is restored
    assert accounts.geometry.iloc[2].y == pytest.approx(42.35, abs=0.05)


def test_zoho_export_reads_billing_code_and_money() -> None:
    """Zoho's 'Billing Code' is the postal code; '$250,000' is a number; ZIP+4 is located."""
    accounts = read_accounts(DATA / "accounts_zoho.csv")
    assert list(accounts[s.ACCOUNT_ID]) == ["zcrm_1", "zcrm_2"]
    assert list(accounts[s.NAME]) == ["Harbor Bakery", "Elm Street Books"]
    assert list(accounts[s.ANNUAL_REVENUE]) == [250_000.0, 90_000.0]
    assert list(accounts[s.POSTAL_CODE]) == ["02108", "30303-1234"]
    assert list(accounts[s.GEOCODE_PRECISION]) == ["postal_code", "postal_code"]
    assert accounts.geometry.iloc[1].x == pytest.approx(-84.39, abs=0.05)


def test_explicit_column_mapping_wins_over_guessing(tmp_path: Path) -> None:
    """columns= maps odd names and overrides a column that would be guessed."""
    path = tmp_path / "odd.csv"
    path.write_text("Kundennr,id,Breite,Laenge\nK1,x1,48.1,11.6\nK2,x2,48.2,11.5\n")
    accounts = read_accounts(
        path, columns={"Kundennr": "account_id", "Breite": "latitude", "Laenge": "longitude"}
    )
    assert list(accounts[s.ACCOUNT_ID]) == ["K1", "K2"]
    assert list(accounts["id"]) == ["x1", "x2"]
    assert accounts.geometry.iloc[0].equals(shapely.Point(11.6, 48.1))


def test_explicit_mapping_to_a_missing_column_is_reported(tmp_path: Path) -> None:
    """A columns= entry naming a column the file lacks is an error with a fix."""
    path = tmp_path / "a.csv"
    path.write_text("account_id,latitude,longitude\nA,1,2\n")
    report = validate_file(path, kind="accounts", columns={"Breite": "latitude"})
    problem = _only(report.errors, "'Breite'")
    assert problem.fix == "correct the name in the column mapping"


# --------------------------------------------------------------------------- bad input


def test_csv_without_id_column_names_the_header_row_and_the_fix() -> None:
    """No id column: one error pointing at the header row, suggesting names and columns=."""
    problem = _error(DATA / "accounts_no_id.csv", "no account id column")
    assert problem.rows == (1,)
    assert "'Name', 'Latitude', 'Longitude'" in problem.message
    assert "account_id" in problem.fix and "columns=" in problem.fix


def test_latitude_95_is_an_error_on_its_row() -> None:
    """Latitude 95 is reported on row 3 of the file with the valid range."""
    problem = _error(DATA / "accounts_mixed_bad_rows.csv", "outside -90..90")
    assert problem.rows == (3,)
    assert problem.column == "latitude"
    assert "'95'" in problem.message
    assert "between -90 and 90" in problem.fix


def test_longitude_abc_is_an_error_on_its_row() -> None:
    """A non-numeric longitude names the value, the row and the expected format."""
    problem = _error(DATA / "accounts_mixed_bad_rows.csv", "not a number")
    assert problem.rows == (4,)
    assert problem.column == "longitude"
    assert "'abc'" in problem.message
    assert "decimal degrees" in problem.fix


def test_duplicate_ids_name_the_id_and_both_rows() -> None:
    """Two rows with id A4 are both named, with the fix."""
    problem = _error(DATA / "accounts_mixed_bad_rows.csv", "more than once")
    assert problem.rows == (5, 6)
    assert "A4 (rows 5, 6)" in problem.message
    assert problem.fix == "give every account its own id, or delete the repeated rows"


def test_row_without_location_asks_for_coordinates_or_postal_code() -> None:
    """A row with neither coordinates nor a postal code is named, with the fix."""
    problem = _error(DATA / "accounts_mixed_bad_rows.csv", "neither coordinates")
    assert problem.rows == (7,)
    assert problem.fix == "add latitude/longitude or a US postal code"


def test_mixed_file_reports_the_readable_rows() -> None:
    """validate_file returns the good row and every problem, and never raises."""
    report = validate_file(DATA / "accounts_mixed_bad_rows.csv")
    assert report.kind == "accounts"
    assert not report.ok
    assert (report.rows_read, report.rows_valid) == (6, 1)
    assert list(report.frame[s.ACCOUNT_ID]) == ["A1"]
    assert len(report.errors) == 4
    assert report.header_row == 1


def test_strict_reader_collects_every_problem_in_one_error() -> None:
    """read_accounts raises once, with a summary counting the unusable rows."""
    with pytest.raises(InputError, match="5 of 6 rows cannot be used") as info:
        read_accounts(DATA / "accounts_mixed_bad_rows.csv")
    assert info.value.source is not None and info.value.source.endswith(
        "accounts_mixed_bad_rows.csv"
    )
    assert len(info.value.problems) == 4
    assert "row 3" in str(info.value)


def test_zero_byte_file_is_reported_as_empty() -> None:
    """An empty file is one clear error, not a parser traceback."""
    report = validate_file(DATA / "accounts_empty.csv", kind="accounts")
    assert [p.message for p in report.errors] == ["the file is empty"]
    assert "header row" in report.errors[0].fix
    with pytest.raises(InputError, match="the accounts file cannot be read"):
        read_accounts(DATA / "accounts_empty.csv")


def test_header_only_file_points_at_the_header_row() -> None:
    """A file with column names but no rows names row 1 and asks for data rows."""
    report = validate_file(DATA / "accounts_header_only.csv")
    problem = _only(report.errors, "no data rows")
    assert problem.rows == (1,)
    assert "add at least one data row" in problem.fix
    assert report.rows_read == 0


def test_latin1_file_is_read_with_its_accents() -> None:
    """A Windows-1252 file is decoded correctly, with a warning that says so."""
    with pytest.warns(InputWarning, match="read as Windows-1252"):
        accounts = read_accounts(DATA / "accounts_latin1.csv")
    assert list(accounts[s.NAME]) == ["Café Olé", "Müller Bäckerei"]
    report = validate_file(DATA / "accounts_latin1.csv")
    assert report.ok and report.encoding == "cp1252"


def test_wrong_explicit_encoding_is_an_error() -> None:
    """Forcing UTF-8 on a Windows-1252 file reports the decoding failure and the fix."""
    report = validate_file(DATA / "accounts_latin1.csv", encoding="utf-8")
    problem = _only(report.errors, "cannot be decoded as utf-8")
    assert "encoding=" in problem.fix


def test_swapped_columns_are_swapped_back_with_a_warning() -> None:
    """Latitudes in Antarctica whose swap lands in the US: swapped back, warned."""
    with pytest.warns(InputWarning, match="latitude and longitude look swapped") as record:
        accounts = read_accounts(DATA / "accounts_swapped.csv")
    assert "columns={'latitude': 'longitude', 'longitude': 'latitude'}" in str(record[0].message)
    assert accounts.geometry.iloc[0].equals(shapely.Point(-84.388, 33.759))
    assert accounts.geometry.iloc[2].equals(shapely.Point(-104.99, 39.739))


def test_swapped_columns_are_an_error_when_fixing_is_off() -> None:
    """With fix_swapped=False the swap is an error naming every row and the fix."""
    with pytest.raises(InputError, match="look swapped") as info:
        read_accounts(DATA / "accounts_swapped.csv", fix_swapped=False)
    problem = _only(info.value.problems, "look swapped")
    assert problem.rows == (2, 3, 4)
    assert "swap the two column names" in problem.fix


def test_swapped_detected_from_latitudes_out_of_range(tmp_path: Path) -> None:
    """East Asian points with longitudes over 90 in the latitude column are swapped back."""
    path = tmp_path / "asia.csv"
    path.write_text("id,lat,lng\nSH,121.47,31.23\nTK,139.69,35.69\n")
    with pytest.warns(InputWarning, match="look swapped"):
        accounts = read_accounts(path)
    assert accounts.geometry.iloc[1].equals(shapely.Point(139.69, 35.69))


def test_swapped_rows_in_a_mostly_swapped_file_are_errors(tmp_path: Path) -> None:
    """When most but not all rows look swapped, the swapped rows are errors (no guessing)."""
    path = tmp_path / "partly.csv"
    path.write_text(
        "id,latitude,longitude\nA,-84.388,33.759\nB,-71.058,42.360\nC,39.739,-104.990\n"
    )
    report = validate_file(path)
    problem = _only(report.errors, "look swapped in 2 of 3 rows")
    assert problem.rows == (2, 3)
    assert "swap the latitude and longitude values in these rows" in problem.fix
    assert list(report.frame[s.ACCOUNT_ID]) == ["C"]


def test_swapped_detected_from_zip_codes(tmp_path: Path) -> None:
    """A swapped row far from its ZIP code, but on it once swapped, is flagged."""
    path = tmp_path / "zip.csv"
    path.write_text(
        "id,latitude,longitude,zip\n"
        "A,33.759,-84.388,30303\nB,33.790,-84.390,30309\nC,-71.06,42.36,02108\n"
    )
    report = validate_file(path)
    problem = _only(report.warnings, "may be swapped")
    assert problem.rows == (4,)
    assert "ZIP code" in problem.message


def test_xlsx_header_on_row_3_reports_real_sheet_rows(tmp_path: Path) -> None:
    """A title above the table is skipped; problems use the sheet's row numbers."""
    path = _xlsx(
        tmp_path / "export.xlsx",
        [
            ["Account export"],
            ["generated 2026-01-05"],
            ["Account ID", "Account Name", "Latitude", "Longitude", "ZIP"],
            [1001, "Peachtree Supply", 33.759, -84.388, None],
            [1002, "Midtown Foods", None, None, 30309],
            [1003, "Broken", 95, -84.0, None],
        ],
    )
    report = validate_file(path)
    assert report.header_row == 3
    assert (report.rows_read, report.rows_valid) == (3, 2)
    assert list(report.frame[s.ACCOUNT_ID]) == ["1001", "1002"]
    problem = _only(report.errors, "outside -90..90")
    assert problem.rows == (6,)
    assert problem.column == "Latitude"


def test_data_values_that_look_like_names_do_not_become_the_header(tmp_path: Path) -> None:
    """A data row holding 'x' and 'y' does not beat the real header row."""
    path = tmp_path / "xy.csv"
    path.write_text("id,colour,shape,lat,lon\nA,x,y,1,2\n")
    report = validate_file(path, kind="accounts")
    assert report.header_row == 1
    assert list(report.frame["colour"]) == ["x"]


def test_xlsx_blank_rows_keep_sheet_numbering(tmp_path: Path) -> None:
    """Blank rows are skipped without shifting the row numbers of later rows."""
    path = _xlsx(
        tmp_path / "gaps.xlsx",
        [["id", "lat", "lon"], ["A", 33.7, -84.3], [None, None, None], ["B", "x", -84.3]],
        start_row=2,
    )
    report = validate_file(path, kind="accounts")
    assert report.header_row == 2
    assert _only(report.errors, "not a number").rows == (5,)


def test_xlsx_sheet_is_chosen_by_name(tmp_path: Path) -> None:
    """sheet= picks a sheet; an unknown sheet lists the sheets there are."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    ws = wb.create_sheet("Accounts")
    ws.append(["id", "lat", "lon"])
    ws.append(["A", 1.5, 2.5])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    assert list(read_accounts(path)[s.ACCOUNT_ID]) == ["A"]  # named like the kind
    report = validate_file(path, kind="accounts", sheet="Missing")
    assert "Notes, Accounts" in _only(report.errors, "no sheet").message


def test_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    """A European export (';' and decimal commas) reads coordinates and money."""
    path = tmp_path / "eu.csv"
    path.write_text("id;lat;lon;revenue\nA;48,137;11,575;1.200.000,50\n", encoding="utf-8")
    accounts = read_accounts(path)
    assert accounts.geometry.iloc[0].equals(shapely.Point(11.575, 48.137))
    assert accounts[s.ANNUAL_REVENUE].iloc[0] == 1_200_000.5


def test_bad_revenue_is_an_error_with_an_example(tmp_path: Path) -> None:
    """A revenue that is not a number names the row and shows a plain number."""
    path = tmp_path / "rev.csv"
    path.write_text("id,lat,lon,AnnualRevenue\nA,1,2,lots\nB,1,2,-5\n")
    report = validate_file(path)
    assert _only(report.errors, "not a number").rows == (2,)
    assert "1250000" in _only(report.errors, "not a number").fix
    assert _only(report.errors, "below zero").rows == (3,)


def test_null_island_falls_back_to_postal_code(tmp_path: Path) -> None:
    """Latitude 0 and longitude 0 mean unknown: the ZIP code is used, with a warning."""
    path = tmp_path / "zero.csv"
    path.write_text("id,lat,lon,zip\nA,0,0,30303\n")
    report = validate_file(path)
    assert report.ok
    assert _only(report.warnings, "latitude 0 and longitude 0").rows == (2,)
    assert report.frame[s.GEOCODE_PRECISION].iloc[0] == "postal_code"


def test_unknown_zip_and_foreign_postal_codes_are_errors(tmp_path: Path) -> None:
    """An unknown ZIP and a UK postcode without coordinates are errors naming the rows."""
    path = tmp_path / "zips.csv"
    path.write_text("id,zip,country\nA,00000,US\nB,SW1A 1AA,United Kingdom\nC,30303,\n")
    report = validate_file(path)
    assert _only(report.errors, "not a known US ZIP code").rows == (2,)
    foreign = _only(report.errors, "outside the US")
    assert foreign.rows == (3,)
    assert "latitude and longitude" in foreign.fix
    assert list(report.frame[s.ACCOUNT_ID]) == ["C"]


def test_half_filled_coordinates_are_an_error(tmp_path: Path) -> None:
    """A row with a latitude but no longitude asks for both."""
    path = tmp_path / "half.csv"
    path.write_text("id,lat,lon\nA,33.7,\nB,33.7,-84.3\n")
    problem = _error(path, "only one of latitude and longitude")
    assert problem.rows == (2,)
    assert problem.column == "lon"


def test_ragged_row_is_a_warning_and_the_rest_still_reads(tmp_path: Path) -> None:
    """A row with more values than columns is named; its extra values are dropped."""
    path = tmp_path / "ragged.csv"
    path.write_text("id,lat,lon\nA,33.7,-84.3\nB,33.7,-84.3,oops\n\nC,33.8,-84.2\n")
    report = validate_file(path)
    assert report.ok
    assert _only(report.warnings, "more values").rows == (3,)
    assert list(report.frame[s.ACCOUNT_ID]) == ["A", "B", "C"]


def test_blank_lines_do_not_shift_row_numbers(tmp_path: Path) -> None:
    """Row numbers count blank lines, as a spreadsheet would show them."""
    path = tmp_path / "blank.csv"
    path.write_text("id,lat,lon\nA,33.7,-84.3\n\n\nB,95,-84.3\n")
    assert _error(path, "outside -90..90").rows == (5,)


def test_unsupported_and_missing_files_are_reported(tmp_path: Path) -> None:
    """A .doc file and a missing path are problems in the report, not exceptions."""
    doc = tmp_path / "accounts.doc"
    doc.write_bytes(b"\xd0\xcf")
    assert "cannot be read" in validate_file(doc).errors[0].message
    missing = validate_file(tmp_path / "nope.csv")
    assert missing.errors[0].message.startswith("there is no file")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    assert "save it as .xlsx" in validate_file(old).errors[0].fix


def test_unknown_kind_is_an_argument_error() -> None:
    """kind= must be one of the four kinds."""
    with pytest.raises(InputError, match="unknown kind 'users'"):
        validate_file(DATA / "reps.csv", kind="users")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- in-memory input


def test_uploaded_bytes_read_like_a_file() -> None:
    """A BytesIO with filename= reads the same as the path."""
    data = (DATA / "accounts_salesforce.csv").read_bytes()
    from_memory = read_accounts(io.BytesIO(data), filename="upload.csv")
    from_path = read_accounts(DATA / "accounts_salesforce.csv")
    pd.testing.assert_frame_equal(pd.DataFrame(from_memory), pd.DataFrame(from_path))
    assert len(read_accounts(data, filename="x.csv")) == 3


def test_nameless_bytes_ask_for_a_file_name() -> None:
    """Bytes without a file name cannot be read, and the fix says to pass filename=."""
    report = validate_file(b"id,lat,lon\nA,1,2\n")
    assert "filename=" in report.errors[0].fix


def test_named_file_object_needs_no_filename(tmp_path: Path) -> None:
    """A file object with a name (like an upload) uses its name for the format."""
    path = tmp_path / "acc.csv"
    path.write_text("id,lat,lon\nA,1,2\n")
    with path.open("rb") as fh:
        assert list(read_accounts(fh)[s.ACCOUNT_ID]) == ["A"]


# --------------------------------------------------------------------------- GIS and Parquet


def _points_3857() -> gpd.GeoDataFrame:
    pts = gpd.GeoSeries([shapely.Point(-84.388, 33.759), shapely.Point(-71.06, 42.36)], crs=4326)
    return gpd.GeoDataFrame(
        {"AccountId": ["A", "B"], "Industry": ["x", "y"]}, geometry=pts.to_crs(3857)
    )


def test_geopackage_points_are_reprojected(tmp_path: Path) -> None:
    """Account points in a projected GeoPackage come back in EPSG:4326, precision exact."""
    path = tmp_path / "accounts.gpkg"
    _points_3857().to_file(path, layer="accounts")
    accounts = read_accounts(path)
    assert accounts.crs == s.STORAGE_CRS
    assert accounts.geometry.iloc[0].x == pytest.approx(-84.388)
    assert list(accounts[s.GEOCODE_PRECISION]) == ["exact", "exact"]
    assert list(accounts[s.INDUSTRY]) == ["x", "y"]


def test_geopackage_with_several_layers_needs_a_layer(tmp_path: Path) -> None:
    """Two layers and none named like the kind: an error listing them; layer= chooses."""
    path = tmp_path / "many.gpkg"
    _points_3857().to_file(path, layer="a")
    _points_3857().to_file(path, layer="b")
    report = validate_file(path, kind="accounts")
    problem = _only(report.errors, "2 layers")
    assert "a, b" in problem.message and "layer=" in problem.fix
    assert len(read_accounts(path, layer="b")) == 2


def test_geojson_accounts_from_memory() -> None:
    """GeoJSON bytes with filename= are read through a temporary file."""
    gdf = _points_3857().to_crs(4326)
    data = gdf.to_json().encode()
    accounts = read_accounts(io.BytesIO(data), filename="acc.geojson")
    assert list(accounts[s.ACCOUNT_ID]) == ["A", "B"]


def test_parquet_with_and_without_geometry(tmp_path: Path) -> None:
    """Plain Parquet with lat/lon columns and GeoParquet with points both read."""
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"id": ["A"], "lat": [33.7], "lon": [-84.3]}).to_parquet(plain)
    assert read_accounts(plain).geometry.iloc[0].equals(shapely.Point(-84.3, 33.7))
    geo = tmp_path / "geo.parquet"
    _points_3857().to_parquet(geo)
    assert read_accounts(geo).geometry.iloc[1].y == pytest.approx(42.36)


def _zip_shapefile(tmp_path: Path, gdf: gpd.GeoDataFrame, *, drop: tuple[str, ...] = ()) -> Path:
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf.to_file(folder / "counties.shp")
    path = tmp_path / "counties.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in folder.iterdir():
            if part.suffix not in drop:
                zf.write(part, f"export/{part.name}")
    return path


def _counties(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    boxes = gpd.GeoSeries(
        [shapely.box(-84.8, 33.5, -84.3, 34.2), shapely.box(-84.3, 33.6, -84.0, 34.0)],
        crs=4326,
    ).to_crs(crs)
    return gpd.GeoDataFrame(
        {"GEOID": ["13121", "13089"], "NAME": ["Fulton", "DeKalb"]}, geometry=boxes
    )


def test_zipped_shapefile_units_are_reprojected(tmp_path: Path) -> None:
    """A zipped Shapefile in a subfolder, in EPSG:3857, gives units in EPSG:4326."""
    path = _zip_shapefile(tmp_path, _counties("EPSG:3857"))
    units = read_units(path, unit_type="county")
    s.validate_frame(units, "units")
    assert list(units[s.UNIT_ID]) == ["13121", "13089"]
    assert list(units[s.UNIT_TYPE]) == ["county", "county"]
    assert units.total_bounds == pytest.approx([-84.8, 33.5, -84.0, 34.2])


def test_shapefile_without_prj_needs_crs(tmp_path: Path) -> None:
    """Projected coordinates and no .prj: an error asking for crs=; crs= fixes it."""
    path = _zip_shapefile(tmp_path, _counties("EPSG:3857"), drop=(".prj",))
    with pytest.raises(InputError, match="no coordinate reference system") as info:
        read_units(path)
    assert "crs=" in info.value.problems[0].fix
    units = read_units(path, crs="EPSG:3857")
    assert units.total_bounds == pytest.approx([-84.8, 33.5, -84.0, 34.2])


def test_shapefile_without_prj_in_degrees_assumes_wgs84(tmp_path: Path) -> None:
    """Degrees and no .prj: EPSG:4326 is assumed, with a warning naming crs=."""
    path = _zip_shapefile(tmp_path, _counties(), drop=(".prj",))
    with pytest.warns(InputWarning, match="EPSG:4326 was assumed"):
        units = read_units(path)
    assert len(units) == 2


def test_zip_missing_dbf_names_the_missing_part(tmp_path: Path) -> None:
    """A zip with .shp but no .dbf says which part is missing and how to fix it."""
    path = _zip_shapefile(tmp_path, _counties(), drop=(".dbf",))
    with pytest.raises(InputError, match=r"counties\.dbf") as info:
        read_units(path)
    assert "zip the .shp, .shx, .dbf and .prj" in info.value.problems[0].fix


def test_units_id_column_explicit_and_duplicates(tmp_path: Path) -> None:
    """id_column= picks the id; duplicated ids are errors naming both features."""
    gdf = _counties()
    gdf["code"] = ["X", "X"]
    path = tmp_path / "units.geojson"
    gdf.to_file(path)
    with pytest.raises(InputError, match="more than once") as info:
        read_units(path, id_column="code")
    assert info.value.problems[0].rows == (1, 2)
    assert list(read_units(path, id_column="NAME")[s.UNIT_ID]) == ["Fulton", "DeKalb"]


def test_units_must_be_polygons(tmp_path: Path) -> None:
    """Point units and a CSV without shapes are errors telling what to use instead."""
    path = tmp_path / "pts.geojson"
    _points_3857().rename(columns={"AccountId": "unit_id"}).to_file(path)
    with pytest.raises(InputError, match="not a polygon"):
        read_units(path)
    csv_path = tmp_path / "units.csv"
    csv_path.write_text("unit_id,name\nU1,One\n")
    with pytest.raises(InputError, match="need polygons"):
        read_units(csv_path)


def test_invalid_unit_polygon_is_repaired_with_a_warning(tmp_path: Path) -> None:
    """A self-crossing (bow-tie) polygon is repaired and a GeometryRepairWarning is raised."""
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    path = tmp_path / "bow.geojson"
    gpd.GeoDataFrame({"id": ["U1"]}, geometry=[bowtie], crs=4326).to_file(path)
    with pytest.warns(GeometryRepairWarning, match="repaired"):
        units = read_units(path)
    assert units.geometry.iloc[0].is_valid
    assert units.geometry.iloc[0].area == pytest.approx(0.5)


# --------------------------------------------------------------------------- reps


def test_reps_names_roles_homes_and_capacity() -> None:
    """First and last names join, roles normalise, homes come from ZIP codes or stay empty."""
    reps = read_reps(DATA / "reps.csv")
    s.validate_frame(reps, "reps")
    assert list(reps[s.NAME]) == ["Ana Ruiz", "Ben Okafor", "Cleo Park"]
    assert list(reps[s.ROLE]) == ["manager", "rep", "rep"]
    assert list(reps[s.CAPACITY_H_PER_WEEK]) == [35.0, 40.0, 40.0]
    assert reps.geometry.iloc[1] is None
    assert reps.geometry.iloc[2].y == pytest.approx(42.35, abs=0.05)
    assert reps[s.MANAGER_ID].iloc[1] == "R1"


def test_reps_bad_role_and_capacity(tmp_path: Path) -> None:
    """An unknown role and a zero capacity are errors with the allowed values."""
    path = tmp_path / "reps.csv"
    path.write_text("user_id,name,role,capacity\nU1,A,wizard,40\nU2,B,rep,0\n")
    with pytest.raises(InputError, match="2 of 2 rows") as info:
        read_reps(path)
    role = _only(info.value.problems, "unknown roles")
    assert role.rows == (2,) and "rep, manager, planner, admin" in role.fix
    assert _only(info.value.problems, "zero").rows == (3,)


def test_reps_xlsx(tmp_path: Path) -> None:
    """Reps read from a workbook, with home coordinates."""
    path = _xlsx(
        tmp_path / "reps.xlsx",
        [["Id", "Name", "Home Latitude", "Home Longitude"], ["U1", "Ana", 33.7, -84.3]],
    )
    reps = read_reps(path)
    assert reps.geometry.iloc[0].equals(shapely.Point(-84.3, 33.7))
    assert list(reps[s.ROLE]) == ["rep"]


# --------------------------------------------------------------------------- territories


def test_territories_hierarchy_levels_and_names() -> None:
    """Level names in the 'level' column become level_name; levels count from the root."""
    territories = read_territories(DATA / "territories.geojson", scenario_id="S1")
    s.validate_frame(territories, "territories")
    assert list(territories[s.LEVEL]) == [0, 1, 2]
    assert list(territories[s.LEVEL_NAME]) == ["Region", "District", "Territory"]
    assert list(territories[s.PARENT_ID].fillna("")) == ["", "SE", "ATL"]
    assert list(territories[s.SOURCE]) == ["imported", "imported", "none"]
    assert set(territories[s.TYPE_ID]) == {"geographic"}
    assert set(territories[s.SCENARIO_ID]) == {"S1"}


def test_territories_unknown_parent_and_cycle(tmp_path: Path) -> None:
    """A parent not in the file and a loop in the hierarchy are errors naming rows."""
    path = tmp_path / "t.csv"
    path.write_text("territory_id,parent_id\nA,B\nB,A\nC,ZZ\nD,\n")
    with pytest.raises(InputError, match="3 of 4 rows") as info:
        read_territories(path)
    assert _only(info.value.problems, "not a territory in the file").rows == (4,)
    cycle = _only(info.value.problems, "own ancestor")
    assert cycle.rows == (2, 3) and "break the loop" in cycle.fix


def test_territories_numeric_levels_must_deepen(tmp_path: Path) -> None:
    """A child whose level is not below its parent's is an error."""
    path = tmp_path / "t.csv"
    path.write_text("id,parent,level\nR,,1\nD,R,1\n")
    with pytest.raises(InputError, match="cannot be used") as info:
        read_territories(path)
    assert _only(info.value.problems, "level").rows == (3,)


# --------------------------------------------------------------------------- report


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("accounts_salesforce.csv", "accounts"),
        ("accounts_zoho.csv", "accounts"),
        ("reps.csv", "reps"),
        ("territories.geojson", "territories"),
        ("units_counties.geojson", "units"),
    ],
)
def test_kind_is_guessed(name: str, kind: str) -> None:
    """validate_file guesses the kind from the columns and geometry."""
    report = validate_file(DATA / name)
    assert report.kind == kind
    assert report.ok, [str(p) for p in report.problems]


def test_report_to_dict_is_json() -> None:
    """to_dict has the counts, the recognised columns and every problem, as JSON."""
    report = validate_file(DATA / "accounts_mixed_bad_rows.csv")
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["ok"] is False
    assert payload["rows_read"] == 6 and payload["rows_valid"] == 1
    assert payload["columns_recognised"]["latitude"] == "latitude"
    assert {p["severity"] for p in payload["problems"]} == {"error"}
    assert "frame" not in payload


def test_report_rejects_inconsistent_counts() -> None:
    """A report cannot have more valid rows than rows read."""
    with pytest.raises(InputError, match="rows_valid"):
        ValidationReport("x", "accounts", 1, 2, {}, (), pd.DataFrame())


# --------------------------------------------------------------------------- postal codes


def test_locate_postal_codes_normalises_spreadsheet_damage() -> None:
    """ZIP+4, lost leading zeros, Excel floats and junk are handled."""
    located = locate_postal_codes(["30303-1234", "2134", 2134.0, "303031234", "99999", "abc", None])
    assert list(located[s.POSTAL_CODE].iloc[:5]) == ["30303", "02134", "02134", "30303", "99999"]
    assert located[s.LATITUDE].iloc[:4].notna().all()
    assert located[s.LATITUDE].iloc[4:].isna().all()


_SOME_ZIPS = ["02134", "30303", "10001", "94103", "60601", "00501", "98101"]


@settings(derandomize=True, deadline=None, max_examples=25)
@given(zip5=st.sampled_from(_SOME_ZIPS), plus4=st.integers(0, 9999), form=st.integers(0, 3))
def test_zip_spellings_locate_to_the_same_point(zip5: str, plus4: int, form: int) -> None:
    """Every spelling of a ZIP code (ZIP+4, no leading zero, float) lands on the same place."""
    spelled = [zip5, f"{zip5}-{plus4:04d}", zip5.lstrip("0"), float(zip5)][form]
    located = locate_postal_codes([zip5, spelled])
    assert located[s.LATITUDE].iloc[0] == located[s.LATITUDE].iloc[1]
    assert located[s.LONGITUDE].iloc[0] == located[s.LONGITUDE].iloc[1]


@settings(derandomize=True, deadline=None, max_examples=15)
@given(
    rows=st.lists(
        st.tuples(
            st.floats(-59.9, 89.9, allow_nan=False).map(lambda v: round(v, 5)),
            st.floats(-179.9, 179.9, allow_nan=False).map(lambda v: round(v, 5)),
        ).filter(lambda r: r != (0.0, 0.0)),
        min_size=1,
        max_size=12,
    )
)
def test_valid_rows_round_trip(rows: list[tuple[float, float]]) -> None:
    """Every row of valid coordinates outside Antarctica is read back exactly, as given."""
    lines = ["id,latitude,longitude"] + [f"R{i},{la},{lo}" for i, (la, lo) in enumerate(rows)]
    report = validate_file(("\n".join(lines) + "\n").encode(), filename="r.csv")
    assert (report.rows_read, report.rows_valid) == (len(rows), len(rows))
    assert [(p.y, p.x) for p in report.frame.geometry] == rows
