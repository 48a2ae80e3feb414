"""The import page and its glue (ui.importing), run headless with AppTest."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from planner import schema as s
from planner.errors import InputError
from planner.samples import SAMPLES, data_dir
from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace, with_team
from ui import importing
from ui.importing import ImportOptions, plan_import, validate_upload

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/import_data.py"
UPLOADER = "tp.import.file.0"

#: Six shops in central Helsinki, inside the small workspace's territories.
GOOD_ACCOUNTS = b"account_id,name,latitude,longitude,industry\n" + b"".join(
    f"B{i},Shop {i},{60.160 + i * 0.004:.3f},{24.910 + i * 0.012:.3f},retail\n".encode()
    for i in range(6)
)
#: Row 2 has latitude 95; rows 2 and 3 share id A1.
BAD_ACCOUNTS = b"account_id,name,latitude,longitude\nA1,Alpha,95,24.94\nA1,Beta,60.18,24.95\n"


@pytest.fixture
def app(small_workspace_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app on the small workspace (local mode), saving new workspaces under tmp_path."""
    monkeypatch.setenv("PLANNER_WORKSPACE", str(small_workspace_file))
    monkeypatch.setenv("PLANNER_TILES", "none")
    monkeypatch.setenv("PLANNER_SAVE_DIR", str(tmp_path / "saved"))
    return AppTest.from_file(APP, default_timeout=60)


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open_page(at: AppTest) -> AppTest:
    at.run()
    at.switch_page(PAGE).run()
    _no_exceptions(at)
    return at


def _upload(at: AppTest, name: str, data: bytes, *, kind: str = "auto") -> AppTest:
    if kind != "auto":
        at.selectbox(key="tp.import.kind").set_value(kind).run()
    at.file_uploader(key=UPLOADER).upload(name, data).run()
    _no_exceptions(at)
    return at


def _ws(at: AppTest) -> Workspace:
    ws = at.session_state["tp.workspace"]
    assert isinstance(ws, Workspace)
    return ws


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _frame(at: AppTest, *columns: str) -> pd.DataFrame:
    for element in at.dataframe:
        frame = element.value
        if isinstance(frame, pd.DataFrame) and all(c in frame.columns for c in columns):
            return frame
    raise KeyError(columns)


def _sig(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _territories_geojson() -> bytes:
    """West and East halves of the small workspace's area, as a GeoJSON of two territories."""
    frame = gpd.GeoDataFrame(
        {"territory_id": ["W", "E"], "name": ["West half", "East half"]},
        geometry=[box(24.90, 60.15, 24.94, 60.19), box(24.94, 60.15, 24.98, 60.19)],
        crs="EPSG:4326",
    )
    return frame.to_json().encode("utf-8")


def _shapefile_zip_without_prj(tmp_path: Path) -> bytes:
    """Four square counties in ETRS-TM35FIN metres, zipped without the .prj file."""
    squares = gpd.GeoDataFrame(
        {"GEOID": ["C1", "C2", "C3", "C4"], "NAME": ["North", "East", "South", "West"]},
        geometry=[box(24.90 + i * 0.02, 60.15, 24.92 + i * 0.02, 60.19) for i in range(4)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3067")
    folder = tmp_path / "shp"
    folder.mkdir()
    squares.to_file(folder / "counties.shp", engine="pyogrio")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in folder.iterdir():
            if part.suffix != ".prj":
                archive.write(part, part.name)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the page


def test_good_accounts_make_a_new_workspace_with_h3_units(app: AppTest) -> None:
    """A clean accounts CSV becomes a new saved workspace with a scenario and H3 units."""
    _upload(_open_page(app), "my_accounts.csv", GOOD_ACCOUNTS)
    assert _metrics(app)["Rows read"] == "6" and _metrics(app)["Rows readable"] == "6"
    mapping = _frame(app, "file column", "planner column")
    recognised = dict(zip(mapping["file column"], mapping["planner column"], strict=True))
    assert recognised["latitude"] == s.LATITUDE and recognised["industry"] == s.INDUSTRY
    assert app.radio(key="tp.import.into").value == "new"
    app.text_input(key=f"tp.import.ws_name.{_sig(GOOD_ACCOUNTS)}").input("Field sales")
    assert app.checkbox(key="tp.import.h3").value is True
    app.button(key="tp.import.go").click().run()
    _no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    ws = _ws(app)
    assert ws.name == "Field sales"
    assert sorted(ws.accounts[s.ACCOUNT_ID]) == [f"B{i}" for i in range(6)]
    assert [sc.scenario_id for sc in ws.scenario_list()] == ["base"]
    assert len(ws.units) >= 1 and set(ws.units[s.UNIT_TYPE]) == {"h3"}
    assert ws.path is not None and ws.path.parent.name == "saved" and ws.path.is_file()
    actions = list(ws.audit["action"])
    assert {"workspace.create", "import.accounts", "units.h3", "assignment.run"} <= set(actions)
    assert set(ws.audit["user"]) == {"local"}
    assert any("Imported 6 accounts" in m.value for m in app.success)
    assert _metrics(app)["Unassigned accounts"] == "6"  # no territories yet
    app.run()  # the sidebar keeps the new workspace open on the next run
    _no_exceptions(app)
    assert _ws(app).name == "Field sales"
    assert "Field sales" in " ".join(c.value for c in app.sidebar.caption)
    picker = app.selectbox(key="tp.widget.workspace")
    assert picker.value == f"file:{ws.path.resolve()}"  # listed and selected, not "upload"


def test_bad_accounts_list_rows_and_change_nothing(app: AppTest) -> None:
    """Latitude 95 and a repeated id are listed with their rows; no import is offered."""
    _open_page(app)
    before, version = _ws(app), app.session_state["tp.version"]
    accounts_before = before.accounts.copy()
    _upload(app, "bad.csv", BAD_ACCOUNTS, kind="accounts")
    problems = _frame(app, "severity", "rows", "column", "message", "fix")
    by_column = {row["column"]: row for _, row in problems.iterrows()}
    assert by_column["account_id"]["rows"] == "2, 3" and "A1" in by_column["account_id"]["message"]
    assert by_column["latitude"]["rows"] == "2" and "-90..90" in by_column["latitude"]["message"]
    assert set(problems["severity"]) == {"error"}
    assert _metrics(app)["Errors"] == "2"
    assert not [b for b in app.button if b.key == "tp.import.go"]
    assert any("Nothing to import yet" in i.value for i in app.info)
    assert _ws(app) is before and app.session_state["tp.version"] == version
    pd.testing.assert_frame_equal(pd.DataFrame(_ws(app).accounts), pd.DataFrame(accounts_before))


def test_territories_geojson_into_the_open_workspace_recomputes_memberships(app: AppTest) -> None:
    """Two imported territories replace the base scenario's; every account lands in one of them."""
    _upload(_open_page(app), "halves.geojson", _territories_geojson())
    assert "holds **territories**" in " ".join(c.value for c in app.caption)
    app.radio(key="tp.import.into").set_value("open").run()
    app.selectbox(key="tp.import.scenario").set_value("base").run()
    app.radio(key="tp.import.terr_mode").set_value(True).run()
    app.button(key="tp.import.go").click().run()
    _no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    ws = _ws(app)
    assert ws.name == "Small Helsinki"
    assert set(ws.territories("base")[s.TERRITORY_ID]) == {"W", "E"}
    members = ws.memberships("base")
    assert set(members[s.TERRITORY_ID]) == {"W", "E"}
    assert members[members[s.IS_PRIMARY]][s.ACCOUNT_ID].nunique() == 40
    west = ws.accounts[ws.accounts.geometry.x < 24.94][s.ACCOUNT_ID]
    assert set(members[members[s.TERRITORY_ID] == "W"][s.ACCOUNT_ID]) == set(west)
    assert len(ws.territories("draft")) == 3  # the other scenario is untouched
    assert ws.associations("base").empty  # R1 -> T1 and R2 -> R named territories now gone
    assert any("2 associations" in w.value for w in app.warning), [w.value for w in app.warning]
    assert _metrics(app)["Assigned accounts"] == "40"
    assert list(ws.audit["action"])[-2:] == ["import.territories", "assignment.run"]
    assert app.session_state["tp.version"] > 1


def test_territories_into_a_new_planning_scenario(app: AppTest) -> None:
    """Territories can go into a new planning scenario, which becomes the chosen one."""
    _upload(_open_page(app), "halves.geojson", _territories_geojson())
    app.radio(key="tp.import.into").set_value("open").run()
    app.text_input(key=f"tp.import.sc_name.{_sig(_territories_geojson())}").input("Halves").run()
    app.button(key="tp.import.go").click().run()
    _no_exceptions(app)
    ws = _ws(app)
    assert ws.scenario("halves").state == "planning"
    assert set(ws.territories("base")[s.TERRITORY_ID]) == {"R", "T1", "T2", "T3"}
    assert app.session_state["tp.scenario_id"] == "halves"
    assert app.sidebar.selectbox(key="tp.widget.scenario").value == "halves"


def test_column_mapping_can_be_overridden(app: AppTest) -> None:
    """Unknown headers are errors until the user maps them; the file is checked again at once."""
    data = b"Kundennummer,Firma,Breite,Laenge\nK1,Alpha,60.17,24.94\nK2,Beta,60.18,24.95\n"
    _upload(_open_page(app), "kunden.csv", data, kind="accounts")
    assert _metrics(app)["Errors"] != "0"
    sig = _sig(data)
    for i, target in enumerate([s.ACCOUNT_ID, s.NAME, s.LATITUDE, s.LONGITUDE]):
        app.selectbox(key=f"tp.import.map.{sig}.accounts.{i}").set_value(target)
    app.run()
    _no_exceptions(app)
    assert _metrics(app)["Errors"] == "0" and _metrics(app)["Rows readable"] == "2"
    mapping = _frame(app, "file column", "planner column")
    assert list(mapping["planner column"]) == [s.ACCOUNT_ID, s.NAME, s.LATITUDE, s.LONGITUDE]


def test_shapefile_without_prj_takes_an_epsg_code(app: AppTest, tmp_path: Path) -> None:
    """A zipped Shapefile in metres without .prj is an error until its EPSG code is typed."""
    data = _shapefile_zip_without_prj(tmp_path)
    _upload(_open_page(app), "counties.zip", data, kind="units")
    problems = _frame(app, "severity", "message")
    assert any("coordinate reference system" in m for m in problems["message"])
    app.text_input(key=f"tp.import.crs.{_sig(data)}").input("3067").run()
    _no_exceptions(app)
    assert _metrics(app)["Errors"] == "0"
    app.radio(key="tp.import.into").set_value("open").run()
    app.selectbox(key="tp.import.unit_type").set_value("county").run()
    app.button(key="tp.import.go").click().run()
    _no_exceptions(app)
    units = _ws(app).units
    assert sorted(units[s.UNIT_ID]) == ["C1", "C2", "C3", "C4"]
    assert set(units[s.UNIT_TYPE]) == {"county"}
    minx, miny, maxx, maxy = units.total_bounds
    assert 24.89 < minx < maxx < 24.99 and 60.14 < miny < maxy < 60.20


def _tree_geojson() -> bytes:
    """Parent P and a child C that sticks far out of it."""
    frame = gpd.GeoDataFrame(
        {"territory_id": ["P", "C"], "parent_id": [None, "P"]},
        geometry=[box(24.90, 60.15, 24.92, 60.17), box(24.91, 60.16, 24.98, 60.19)],
        crs="EPSG:4326",
    )
    return frame.to_json().encode("utf-8")


def test_refused_import_shows_its_problems_and_changes_nothing(app: AppTest) -> None:
    """A hierarchy the library rejects is listed on the page; the scenario keeps its territories."""
    _upload(_open_page(app), "tree.geojson", _tree_geojson(), kind="territories")
    version = app.session_state["tp.version"]
    app.radio(key="tp.import.into").set_value("open").run()
    app.selectbox(key="tp.import.scenario").set_value("base").run()
    app.radio(key="tp.import.terr_mode").set_value(True).run()
    app.button(key="tp.import.go").click().run()
    _no_exceptions(app)
    assert any("Nothing was imported from tree.geojson" in e.value for e in app.error)
    refused = _frame(app, "severity", "rows", "message", "fix")
    assert set(refused["severity"]) == {"error"} and len(refused) >= 1
    assert set(_ws(app).territories("base")[s.TERRITORY_ID]) == {"R", "T1", "T2", "T3"}
    assert app.session_state["tp.version"] == version


def test_h3_units_for_a_workspace_without_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workspace with accounts but no units is offered H3 units, made in one click."""
    ws = build_small_workspace()
    ws.set_table("units", ws.units.iloc[0:0])
    path = tmp_path / "no_units.gpkg"
    ws.save(path)
    monkeypatch.setenv("PLANNER_WORKSPACE", str(path))
    monkeypatch.setenv("PLANNER_TILES", "none")
    at = _open_page(AppTest.from_file(APP, default_timeout=60))
    assert any("no units" in i.value for i in at.info)
    at.button(key="tp.import.make_h3").click().run()
    _no_exceptions(at)
    units = _ws(at).units
    assert len(units) >= 1 and set(units[s.UNIT_TYPE]) == {"h3"}
    assert int(units["account_count"].sum()) == 40
    assert _ws(at).audit.iloc[-1]["action"] == "units.h3"
    assert not [b for b in at.button if b.key == "tp.import.make_h3"]


def test_template_is_offered_and_reads_cleanly(app: AppTest) -> None:
    """The page offers the accounts template, and the template itself has no problems."""
    _open_page(app)
    assert app.get("download_button")
    report = validate_upload("accounts_template.csv", importing.accounts_template_csv())
    assert report.ok and not report.problems and report.rows_valid == 2
    assert set(importing.ACCOUNT_TEMPLATE_COLUMNS) - {s.LATITUDE, s.LONGITUDE} <= set(
        report.frame.columns
    )


def _sample(name: str) -> str:
    if not (data_dir() / SAMPLES[name][0]).is_file():
        pytest.skip(f"the {name} sample is not built (scripts/build_samples.py)")
    return name


def _sign_in(at: AppTest, user: str) -> None:
    at.text_input(key="tp.widget.login").input(user)
    at.text_input(key="tp.widget.password").input("demo")
    at.button(key="FormSubmitter:tp.form.signin-Sign in").click().run()
    _no_exceptions(at)


@pytest.mark.parametrize(("user", "allowed"), [("hel-rep-1", False), ("hel-planner", True)])
def test_only_planners_open_the_page(
    user: str, allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rep has no import page in the menu; the demo planner does."""
    monkeypatch.setenv("PLANNER_WORKSPACE", _sample("helsinki"))
    monkeypatch.setenv("PLANNER_TILES", "none")
    at = AppTest.from_file(APP, default_timeout=60).run()
    _sign_in(at, user)
    if not allowed:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(PAGE)
        return
    at.switch_page(PAGE).run()
    _no_exceptions(at)
    assert at.title[0].value == "Import data"


# --------------------------------------------------------------------------- the glue


def _reps_report(text: str) -> Any:
    report = validate_upload("users.csv", text.encode(), kind="reps")
    assert report.ok, report.problems
    return report


def test_planner_adds_and_updates_reps_keeping_passwords(small_workspace: Workspace) -> None:
    """Adding reps updates same-id rows; blank cells and passwords keep their current values."""
    ws = with_team(small_workspace)
    report = _reps_report("rep_id,name,role,capacity_h_per_week\nR1,,rep,32\nR9,Ville,rep,40\n")
    result = plan_import(report, ImportOptions(into="open"), workspace=ws, user="P1")
    reps = result.workspace.reps.set_index(s.REP_ID)
    assert list(reps.index) == ["R1", "P1", "AD", "R9"]
    assert reps.loc["R1", s.CAPACITY_H_PER_WEEK] == 32.0 and reps.loc["R1", s.NAME] == "Aino"
    assert reps.loc["R1", s.PASSWORD_HASH] == ws.reps.set_index(s.REP_ID).loc["R1", s.PASSWORD_HASH]
    assert len(ws.reps) == 3  # the open workspace itself is untouched until committed
    assert result.workspace.audit.iloc[-1]["user"] == "P1"


def test_planner_may_not_change_sign_ins(small_workspace: Workspace) -> None:
    """Roles above manager, changed e-mails, passwords and replacing all users need an admin."""
    ws = with_team(small_workspace)
    report = _reps_report(
        "rep_id,name,role,email,password_hash\n"
        "R1,Aino,rep,attacker@example.com,\n"
        "R7,Eve,admin,,\n"
        "R8,Mallory,rep,,$scrypt$ln=4,r=8,p=1$abc$def\n"
    )
    with pytest.raises(InputError, match="problems with the users") as caught:
        plan_import(report, ImportOptions(into="open", replace_reps=True), workspace=ws, user="P1")
    text = " ".join(p.message for p in caught.value.problems)
    for phrase in ("replacing every user", "set a password", "planner or admin role", "e-mail"):
        assert phrase in text
    admin = plan_import(report, ImportOptions(into="open"), workspace=ws, user="AD",
                        may_manage_users=True)  # fmt: skip
    assert "R7" in set(admin.workspace.reps[s.REP_ID])


def test_nobody_removes_themselves_or_the_last_password(small_workspace: Workspace) -> None:
    """Even an admin may not replace the users without themselves or without any password."""
    ws = with_team(small_workspace)
    report = _reps_report("rep_id,name,role\nR5,Ville,rep\n")
    options = ImportOptions(into="open", replace_reps=True)
    with pytest.raises(InputError, match="problem") as caught:
        plan_import(report, options, workspace=ws, user="AD", may_manage_users=True)
    text = " ".join(p.message for p in caught.value.problems)
    assert "your own user" in text and "no user would have a password" in text


def test_broken_hierarchy_is_refused_with_its_problems(small_workspace: Workspace) -> None:
    """A child sticking out of its parent is listed and the workspace is left as it was."""
    report = validate_upload("tree.geojson", _tree_geojson(), kind="territories")
    assert report.ok, report.problems
    options = ImportOptions(into="open", scenario_id="base", replace_territories=True)
    with pytest.raises(InputError, match="sound hierarchy") as caught:
        plan_import(report, options, workspace=small_workspace, user="local")
    assert any(p.column == s.PARENT_ID or "C" in p.message for p in caught.value.problems)
    assert set(small_workspace.territories("base")[s.TERRITORY_ID]) == {"R", "T1", "T2", "T3"}


def test_errors_in_the_file_refuse_the_import(small_workspace: Workspace) -> None:
    """plan_import refuses a report with errors, naming them, whatever the options."""
    report = validate_upload("bad.csv", BAD_ACCOUNTS, kind="accounts")
    with pytest.raises(InputError, match="2 errors: nothing was imported"):
        plan_import(report, ImportOptions(into="open"), workspace=small_workspace, user="local")


def test_unknown_crs_is_a_problem_not_a_crash() -> None:
    """A CRS the user mistyped comes back as a problem with a fix."""
    report = validate_upload("x.geojson", _territories_geojson(), crs="EPSG:9999999")
    assert not report.ok and "not a coordinate reference system" in report.problems[0].message
    assert importing.parse_crs(" 3067 ") == "EPSG:3067"
    assert importing.parse_crs("epsg:26916") == "EPSG:26916"
    assert importing.parse_crs("") is None
