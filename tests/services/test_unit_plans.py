"""Plans given as units: a county-to-territory file of Georgia, and filling a plan's gaps."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.cli import main
from planner.errors import InputError
from planner.services.importing import ImportOptions, plan_import, validate_upload
from planner.services.unit_plans import fill_gaps, read_unit_plan
from planner.workspace import Workspace, open_workspace

GEORGIA = Path(__file__).resolve().parents[2] / "data" / "georgia.gpkg"


@pytest.fixture(scope="module")
def georgia() -> Workspace:
    return open_workspace(GEORGIA)


def county_plan(ws: Workspace, *, parents: bool = False) -> pd.DataFrame:
    """The sample's own plan as a county-to-territory table (one row per county)."""
    sid = ws.active_scenario_id()
    rows = ws.rows("unit_assignment", sid)
    names = ws.rows("territories", sid).set_index(s.TERRITORY_ID)
    plan = pd.DataFrame({
        "County FIPS": rows[s.UNIT_ID].astype(str),
        "territory": rows[s.TERRITORY_ID].astype(str),
        "territory_name": rows[s.TERRITORY_ID].map(names[s.NAME]),
    })  # fmt: skip
    if parents:
        plan["parent_id"] = rows[s.TERRITORY_ID].map(names[s.PARENT_ID])
    return plan.reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def primary_counts(ws: Workspace, sid: str) -> dict[str, int]:
    rows = ws.rows("memberships", sid)
    counts = rows[rows[s.IS_PRIMARY]][s.TERRITORY_ID].value_counts()
    return {str(t): int(n) for t, n in counts.items() if str(t).startswith("T-")}


def test_a_georgia_county_plan_imports_into_13_territories(georgia: Workspace) -> None:
    """Georgia by county imports into 13 territories with the sample's units and accounts."""
    report = validate_upload("georgia_counties.csv", csv_bytes(county_plan(georgia)),
                             kind="territories")  # fmt: skip
    assert report.ok and report.rows_valid == 159
    result = plan_import(report, ImportOptions(into="open"), workspace=georgia, user="t")
    sid, old = result.scenario_id, georgia.active_scenario_id()
    assert sid is not None and sid != old
    made = result.workspace.rows("territories", sid)
    assert len(made) == 13 and set(made[s.SOURCE]) == {"units"}
    assert not made.geometry.is_empty.any() and made.geometry.notna().all()
    assert made.set_index(s.TERRITORY_ID).loc["T-SAV", s.NAME] == "Savannah"

    def units_of(ws: Workspace, scenario: str) -> dict[str, str]:
        rows = ws.rows("unit_assignment", scenario)
        return dict(zip(rows[s.UNIT_ID].astype(str), rows[s.TERRITORY_ID], strict=True))

    assert units_of(result.workspace, sid) == units_of(georgia, old)
    assert primary_counts(result.workspace, sid) == primary_counts(georgia, old)
    assert sum(primary_counts(result.workspace, sid).values()) == len(georgia.accounts)
    assert len(georgia.rows("territories", old)) == 22  # the open workspace is unchanged


def test_parents_make_the_districts_above_the_territories(georgia: Workspace) -> None:
    plan = county_plan(georgia, parents=True)
    report = validate_upload("plan.csv", csv_bytes(plan), kind="territories")
    result = plan_import(report, ImportOptions(into="open"), workspace=georgia, user="t")
    made = result.workspace.rows("territories", result.scenario_id).set_index(s.TERRITORY_ID)
    assert len(made) == 13 + 7
    assert made.loc["T-SAV", s.PARENT_ID] == "D-COAST" and made.loc["T-SAV", s.LEVEL] == 1
    assert made.loc["D-COAST", s.LEVEL] == 0
    coast = made.loc["D-COAST", s.GEOMETRY]
    assert coast.buffer(1e-6).contains(made.loc["T-SAV", s.GEOMETRY])


def test_an_xlsx_plan_with_numeric_fips_into_an_existing_scenario(georgia: Workspace) -> None:
    """FIPS read as numbers still find their counties; the plan replaces the scenario's."""
    plan = county_plan(georgia).rename(columns={"County FIPS": "GEOID"})
    plan["GEOID"] = plan["GEOID"].astype(int)
    buffer = io.BytesIO()
    plan.to_excel(buffer, index=False)
    report = validate_upload("plan.xlsx", buffer.getvalue(), kind="territories")
    assert report.ok, report.problems
    options = ImportOptions(into="open", scenario_id="fy2026", replace_territories=True)
    result = plan_import(report, options, workspace=georgia, user="t")
    assert len(result.workspace.rows("territories", "fy2026")) == 13
    assert len(result.workspace.rows("unit_assignment", "fy2026")) == 159


def test_unknown_units_are_refused_naming_their_rows(georgia: Workspace) -> None:
    plan = county_plan(georgia)
    plan.loc[4, "County FIPS"] = "99999"
    plan.loc[10, "County FIPS"] = "Atlantis"
    report = validate_upload("plan.csv", csv_bytes(plan), kind="territories")
    with pytest.raises(InputError) as caught:
        plan_import(report, ImportOptions(into="open"), workspace=georgia, user="t")
    (problem,) = caught.value.problems
    assert problem.rows == (6, 12) and problem.column == "County FIPS"
    assert "99999" in problem.message and "Atlantis" in problem.message and problem.fix


def test_a_unit_listed_twice_is_refused_naming_its_rows(georgia: Workspace) -> None:
    plan = county_plan(georgia)
    plan.loc[7, "County FIPS"] = plan.loc[2, "County FIPS"]
    report = validate_upload("plan.csv", csv_bytes(plan), kind="territories")
    assert not report.ok
    (problem,) = report.errors
    assert problem.rows == (4, 9) and "appears more than once" in problem.message
    with pytest.raises(InputError):
        plan_import(report, ImportOptions(into="open"), workspace=georgia, user="t")


def test_a_territory_with_two_parents_is_refused() -> None:
    data = b"zip,territory_id,parent_id\n00100,T1,D1\n00120,T1,D2\n00130,T2,D1\n"
    report = read_unit_plan("plan.csv", data)
    assert report is not None and not report.ok
    (problem,) = report.errors
    assert problem.rows == (2, 3) and "2 different parents" in problem.message


def test_a_file_without_a_unit_column_is_not_a_unit_plan() -> None:
    assert read_unit_plan("t.csv", b"territory_id,name\nT1,North\n") is None
    assert read_unit_plan("t.geojson", b"{}") is None


def test_the_cli_imports_a_county_plan_as_one_change(
    georgia: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "ga.gpkg"
    shutil.copy(GEORGIA, target)
    plan = tmp_path / "counties.csv"
    plan.write_bytes(csv_bytes(county_plan(georgia)))
    before = open_workspace(target).version
    code = main(["import", "territories", str(plan), "--workspace", str(target),
                 "--user", "ga-planner", "--json"])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0, payload
    ws = open_workspace(target)
    assert ws.version == before + 1
    new = [sid for sid in ws.scenarios[s.SCENARIO_ID] if sid not in ("fy2026", "fy2027")]
    assert len(new) == 1 and len(ws.rows("territories", new[0])) == 13
    assert len(ws.rows("unit_assignment", new[0])) == 159


def test_fill_gaps_gives_every_gap_to_a_touching_territory(georgia: Workspace) -> None:
    ws = plan_import(
        validate_upload("plan.csv", csv_bytes(county_plan(georgia)), kind="territories"),
        ImportOptions(into="open"), workspace=georgia, user="t",
    ).workspace  # fmt: skip
    sid = str(ws.scenarios[s.SCENARIO_ID].iloc[-1])
    rows = ws.rows("unit_assignment", sid)
    gaps = ["13121", "13051", "13089", "13063"]  # Fulton, Chatham, DeKalb, Clayton
    ws.set_rows("unit_assignment", sid, rows[~rows[s.UNIT_ID].isin(gaps)].drop(
        columns=[s.SCENARIO_ID]))  # fmt: skip
    preview = fill_gaps(ws, sid, apply=False)
    assert sorted(preview[s.UNIT_ID]) == sorted(gaps) and preview[s.TERRITORY_ID].notna().all()
    assert len(ws.rows("unit_assignment", sid)) == 159 - 4  # a preview changes nothing
    for _, move in preview.iterrows():
        assert move[s.TERRITORY_ID] in move["neighbours"].split(", ")
    fill_gaps(ws, sid, user="t")
    filled = ws.rows("unit_assignment", sid).set_index(s.UNIT_ID)[s.TERRITORY_ID]
    assert len(filled) == 159
    assert filled[preview[s.UNIT_ID]].tolist() == preview[s.TERRITORY_ID].tolist()
    assert sum(primary_counts(ws, sid).values()) == len(ws.accounts)
    shapes = ws.rows("territories", sid).set_index(s.TERRITORY_ID)[s.GEOMETRY]
    units = ws.units.set_index(s.UNIT_ID)[s.GEOMETRY]
    for unit, tid in zip(preview[s.UNIT_ID], preview[s.TERRITORY_ID], strict=True):
        assert shapes[tid].contains(units[unit].representative_point())  # the shape grew
    assert fill_gaps(ws, sid, apply=False).empty


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["N", "S", "E"]), min_size=12, max_size=12))
def test_any_unit_plan_gives_each_territory_exactly_its_units(
    small_workspace: Workspace, owners: list[str]
) -> None:
    """Whatever the plan, each territory gets its units and their shapes; nothing else moves."""
    units = list(small_workspace.units[s.UNIT_ID].astype(str))
    plan = pd.DataFrame({"zip": units, "territory_id": owners})
    report = validate_upload("plan.csv", csv_bytes(plan), kind="territories")
    result = plan_import(report, ImportOptions(into="open"), workspace=small_workspace, user="t")
    ws, sid = result.workspace, result.scenario_id
    made = ws.rows("territories", sid).set_index(s.TERRITORY_ID)
    assert sorted(made.index) == sorted(set(owners))
    rows = ws.rows("unit_assignment", sid)
    assert dict(zip(rows[s.UNIT_ID], rows[s.TERRITORY_ID], strict=True)) == dict(
        zip(units, owners, strict=True)
    )
    shapes = small_workspace.units.set_index(s.UNIT_ID)[s.GEOMETRY]
    for tid in set(owners):
        mine = shapes[[u for u, o in zip(units, owners, strict=True) if o == tid]].union_all()
        assert made.loc[tid, s.GEOMETRY].symmetric_difference(mine).area < 1e-9


def test_a_county_plan_is_recognised_when_the_kind_is_guessed(georgia: Workspace) -> None:
    report = validate_upload("plan.csv", csv_bytes(county_plan(georgia)), kind=None)
    assert report.kind == "territories" and report.ok and report.rows_valid == 159
    assert report.columns_recognised["County FIPS"] == s.UNIT_ID
