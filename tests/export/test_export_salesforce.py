"""Tests of the Salesforce ETM load files: names, load order, references, delta."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.export import check_load_order, export_plan, import_export
from planner.export.plan import PlanData
from planner.export.salesforce import SalesforceOptions, developer_name

VALID = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")


def read(folder: Path) -> tuple[dict, list[tuple[dict, pd.DataFrame]]]:
    """The manifest and every load file in load order."""
    manifest = json.loads((folder / "manifest.json").read_text())
    files = [
        (e, pd.read_csv(folder / e["file"], dtype=str, keep_default_na=False))
        for e in manifest["files"]
    ]
    return manifest, files


def dangling(files: list[tuple[dict, pd.DataFrame]], existing: dict[str, set[str]]) -> list[str]:
    """References to Territory2Type/Model/Territory2 rows not loaded in an earlier file.

    Written independently of the library's checker: the known columns are
    listed here, and rows only count as loaded once their whole file is.
    """
    columns = {
        "Territory2Model.DeveloperName": "Territory2Model",
        "Territory2Type.DeveloperName": "Territory2Type",
        "ParentTerritory2.DeveloperName": "Territory2",
        "Territory2.DeveloperName": "Territory2",
    }
    found = []
    for entry, frame in files:
        if entry["operation"] != "delete":
            for col, obj in columns.items():
                if col in frame.columns:
                    for value in frame[col]:
                        if value and value not in existing[obj]:
                            found.append(f"{entry['file']}:{col}={value}")
            if entry["operation"] == "update" and entry["object"] == "Territory2":
                found += [f"{entry['file']}:{v}" for v in frame["DeveloperName"]
                          if v not in existing["Territory2"]]
        if "DeveloperName" in frame.columns and entry["key"] == ["DeveloperName"]:
            if entry["operation"] == "insert":
                existing[entry["object"]] |= set(frame["DeveloperName"])
            elif entry["operation"] == "delete":
                existing[entry["object"]] -= set(frame["DeveloperName"])
    return found


def fresh() -> dict[str, set[str]]:
    """Nothing loaded yet."""
    return {"Territory2Model": set(), "Territory2Type": set(), "Territory2": set()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Île-de-France / Nord", "Ile_de_France_Nord"),
        ("__a__b__", "a_b"),
        ("2025 plan", "T_2025_plan"),
        ("???", "T"),
        ("x" * 100, "x" * 80),
    ],
)
def test_developer_name_rules(text: str, expected: str) -> None:
    """Accents dropped, runs of other characters to one underscore, a letter first, <= 80."""
    assert developer_name(text) == expected


def test_developer_name_uniqueness_is_case_insensitive() -> None:
    """A name taken in another case gets a suffix."""
    assert developer_name("north", taken=["North"]) == "north_2"
    assert developer_name("x" * 80, taken=["x" * 80]) == "x" * 78 + "_2"


@settings(derandomize=True, deadline=None, max_examples=150)
@given(st.lists(st.text(max_size=90), max_size=8))
def test_developer_names_are_valid_and_unique(texts: list[str]) -> None:
    """Any texts give valid, distinct DeveloperNames."""
    taken: list[str] = []
    for text in texts:
        name = developer_name(text, taken=taken)
        assert VALID.match(name) and len(name) <= 80, name
        assert name.lower() not in {t.lower() for t in taken}
        taken.append(name)


def test_full_export_load_order(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Files come in ETM load order, parents before children, forecast users last."""
    export_plan(two_region_plan, tmp_path / "sf", "salesforce")
    manifest, files = read(tmp_path / "sf")
    assert manifest["mode"] == "full"
    objects = [(e["object"], e["operation"]) for e, _ in files]
    assert objects == [
        ("Territory2Type", "insert"),
        ("Territory2Model", "insert"),
        ("Territory2", "insert"),
        ("Territory2", "insert"),
        ("Territory2", "insert"),
        ("UserTerritory2Association", "insert"),
        ("ObjectTerritory2Association", "insert"),
        ("Territory2", "update"),
    ]
    assert [f.name for f in sorted((tmp_path / "sf").glob("0*.csv"))] == [
        e["file"] for e, _ in files
    ]
    levels = [frame["DeveloperName"].tolist() for e, frame in files[2:5]]
    assert levels == [["RN", "RS"], ["DN1", "DS1"], ["T1", "T2", "T3"]]
    for _, frame in files[2:5]:
        assert "ForecastUserId" not in frame.columns
        assert "ForecastUser.Username" not in frame.columns


def test_full_export_has_no_dangling_reference(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Every reference names a record loaded by an earlier file; the library agrees."""
    export_plan(two_region_plan, tmp_path / "sf", "salesforce")
    _, files = read(tmp_path / "sf")
    assert dangling(files, fresh()) == []
    assert check_load_order(tmp_path / "sf") == []


def test_check_load_order_catches_a_reordered_export(
    two_region_plan: PlanData, tmp_path: Path
) -> None:
    """Swapping two level files makes children name parents not yet loaded."""
    export_plan(two_region_plan, tmp_path / "sf", "salesforce")
    manifest = json.loads((tmp_path / "sf" / "manifest.json").read_text())
    manifest["files"][2], manifest["files"][3] = manifest["files"][3], manifest["files"][2]
    (tmp_path / "sf" / "manifest.json").write_text(json.dumps(manifest))
    problems = check_load_order(tmp_path / "sf")
    assert len(problems) == 1 and "RN, RS" in problems[0].message


def test_file_contents(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Real ETM field names; manual association cause; roles as picklist labels; active only."""
    export_plan(two_region_plan, tmp_path / "sf", "salesforce")
    _, files = read(tmp_path / "sf")
    frames = {e["file"].split("_", 1)[1]: f for e, f in files}
    types = frames["Territory2Type.csv"]
    assert types.columns.tolist() == ["DeveloperName", "MasterLabel", "Priority", "Description"]
    assert frames["Territory2Model.csv"]["DeveloperName"].tolist() == ["Plan_2025"]
    level2 = frames["Territory2_level2.csv"]
    assert level2.columns.tolist() == [
        "DeveloperName", "Name", "Territory2Model.DeveloperName", "Territory2Type.DeveloperName",
        "ParentTerritory2.DeveloperName", "AccountAccessLevel", "OpportunityAccessLevel",
        "CaseAccessLevel",
    ]
    assert level2.loc[0, "Name"] == "'=HYPERLINK(\"x\")"
    users = frames["UserTerritory2Association.csv"]
    assert users.values.tolist() == [
        ["m1@x.org", "DN1", "Manager"],
        ["r1@x.org", "T1", "Owner"],
        ["r2@x.org", "T1", "Overlay"],
        ["r2@x.org", "T2", "Owner"],
        ["r3@x.org", "T3", "Owner"],
    ]
    objects = frames["ObjectTerritory2Association.csv"]
    assert set(objects["AssociationCause"]) == {"Territory2Manual"}
    assert len(objects) == 6
    forecast = frames["Territory2_ForecastUser.csv"]
    assert dict(forecast.values.tolist()) == {
        "DN1": "m1@x.org", "T1": "r1@x.org", "T2": "r2@x.org", "T3": "r3@x.org",
    }


def test_salesforce_account_ids_and_usernames(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Account Ids from another column; users without a username are all named at once."""
    opts = SalesforceOptions(account_id_column="sf_id")
    export_plan(two_region_plan, tmp_path / "sf", "salesforce", options=opts)
    _, files = read(tmp_path / "sf")
    objects = next(f for e, f in files if e["object"] == "ObjectTerritory2Association")
    assert set(objects["ObjectId"]) == {"001A", "001B", "001C", "001D", "001E"}
    back = import_export(tmp_path / "sf")
    assert set(back.memberships["account_id"]) == {"a1", "a2", "a3", "a4", "+a5"}
    no_mail = replace(two_region_plan, reps=two_region_plan.reps.assign(email=None))
    with pytest.raises(InputError, match=r"users M1, R1, R2, R3 have territories but no"):
        export_plan(no_mail, tmp_path / "bad", "salesforce")


def test_options_validate() -> None:
    """Unknown access levels and bad model names are refused."""
    with pytest.raises(InputError, match="account_access='Write' is not allowed"):
        SalesforceOptions(account_access="Write")
    with pytest.raises(InputError, match="use 'Plan_2025'"):
        SalesforceOptions(model_developer_name="Plan 2025")


def changed(plan: PlanData) -> PlanData:
    """The plan after a season of edits.

    a3 moves from T2 to T1; T2 is renamed; T3 and its district DS1 go away
    (their accounts leave); a new T4 under a new district DN2 appears, owned
    by R3, who leaves T3; R2 becomes T1's owner, replacing R1 as forecast user.
    """
    terr = plan.territories
    terr = terr[~terr["territory_id"].isin(["T3", "DS1"])].copy()
    terr.loc[terr["territory_id"] == "T2", "name"] = "T two renamed"
    new = terr.iloc[[0, 0]].copy()
    new["territory_id"] = ["DN2", "T4"]
    new["name"] = ["District 2", "T four"]
    new["parent_id"] = ["RN", "DN2"]
    terr = pd.concat([terr, new], ignore_index=True)
    members = plan.memberships
    members = members[members["territory_id"] != "T3"].copy()
    members.loc[members["account_id"] == "a3", "territory_id"] = "T1"
    members = pd.concat(
        [members, pd.DataFrame({"account_id": ["a4"], "territory_id": ["T4"], "cause": ["manual"],
                                "detail": [None], "is_primary": [True]})],
        ignore_index=True,
    )
    assoc = plan.associations
    assoc = assoc[assoc["territory_id"] != "T3"].copy()
    assoc.loc[(assoc["rep_id"] == "R1") & (assoc["territory_id"] == "T1"), "end_date"] = (
        "2025-05-01"
    )
    assoc.loc[(assoc["rep_id"] == "R2") & (assoc["territory_id"] == "T1"), "role"] = "owner"
    assoc = pd.concat(
        [assoc, pd.DataFrame({"rep_id": ["R3"], "territory_id": ["T4"], "role": ["owner"]})],
        ignore_index=True,
    )
    return replace(plan, territories=terr, memberships=members, associations=assoc)


def test_delta(two_region_plan: PlanData, tmp_path: Path) -> None:
    """The delta moves an account by delete + insert, and orders deletes safely."""
    export_plan(two_region_plan, tmp_path / "v1", "salesforce")
    export_plan(changed(two_region_plan), tmp_path / "v2", "salesforce", since=tmp_path / "v1")
    manifest, files = read(tmp_path / "v2")
    assert manifest["mode"] == "delta"
    by_name = {e["file"].split("_", 1)[1].removesuffix(".csv"): f for e, f in files}
    ota_ops = {e["operation"] for e, _ in files if e["object"] == "ObjectTerritory2Association"}
    assert ota_ops == {"insert", "delete"}
    deleted = by_name["ObjectTerritory2Association_delete"].values.tolist()
    inserted = by_name["ObjectTerritory2Association_insert"]
    assert ["a3", "T2"] in deleted and ["a4", "T3"] in deleted
    assert inserted[["ObjectId", "Territory2.DeveloperName"]].values.tolist() == [
        ["a3", "T1"], ["a4", "T4"],
    ]
    assert by_name["Territory2_update"]["DeveloperName"].tolist() == ["T2"]
    assert by_name["Territory2_insert_level1"]["DeveloperName"].tolist() == ["DN2"]
    assert by_name["Territory2_insert_level2"]["DeveloperName"].tolist() == ["T4"]
    assert by_name["Territory2_delete"]["DeveloperName"].tolist() == ["T3", "DS1"]
    assert by_name["UserTerritory2Association_update"].values.tolist() == [
        ["r2@x.org", "T1", "Owner"]
    ]
    assert by_name["UserTerritory2Association_delete"].values.tolist() == [
        ["r1@x.org", "T1"], ["r3@x.org", "T3"],
    ]
    clear = by_name["Territory2_ForecastUser_clear"].values.tolist()
    assert clear == [["T1", "#N/A"], ["T3", "#N/A"]]
    assert by_name["Territory2_ForecastUser"].values.tolist() == [
        ["T1", "r2@x.org"], ["T4", "r3@x.org"],
    ]
    order = [e["file"] for e, _ in files]
    assert order.index(next(f for f in order if "ForecastUser_clear" in f)) < order.index(
        next(f for f in order if "UserTerritory2Association_delete" in f)
    )
    v1_state = {"Territory2Model": {"Plan_2025"}, "Territory2Type": {"geographic", "overlay"},
                "Territory2": {"RN", "RS", "DN1", "DS1", "T1", "T2", "T3"}}
    assert dangling(files, v1_state) == []
    assert check_load_order(tmp_path / "v2", previous=tmp_path / "v1") == []


def test_delta_of_an_unchanged_plan_is_empty(two_region_plan: PlanData, tmp_path: Path) -> None:
    """Exporting the same plan again writes no rows; chained deltas work."""
    export_plan(two_region_plan, tmp_path / "v1", "salesforce")
    export_plan(changed(two_region_plan), tmp_path / "v2", "salesforce", since=tmp_path / "v1")
    export_plan(changed(two_region_plan), tmp_path / "v3", "salesforce", since=tmp_path / "v2")
    _, files = read(tmp_path / "v3")
    assert all(len(f) == 0 for _, f in files)
    back = import_export(tmp_path / "v3")
    assert set(back.territories["territory_id"]) == {"RN", "RS", "DN1", "DN2", "T1", "T2", "T4"}


def test_delta_refusals(two_region_plan: PlanData, tmp_path: Path) -> None:
    """No delta over itself, from a CSV export, or across territory models."""
    export_plan(two_region_plan, tmp_path / "v1", "salesforce")
    with pytest.raises(InputError, match="cannot be written over the previous export"):
        export_plan(two_region_plan, tmp_path / "v1", "salesforce", since=tmp_path / "v1")
    export_plan(two_region_plan, tmp_path / "csv", "csv")
    with pytest.raises(InputError, match="holds a csv export, not a Salesforce one"):
        export_plan(two_region_plan, tmp_path / "v2", "salesforce", since=tmp_path / "csv")
    other = SalesforceOptions(model_developer_name="Other_Model")
    with pytest.raises(InputError, match="previous export is of another territory model"):
        export_plan(two_region_plan, tmp_path / "v3", "salesforce", since=tmp_path / "v1",
                    options=other)
    with pytest.raises(InputError, match="for Salesforce only"):
        export_plan(two_region_plan, tmp_path / "v4", "csv", since=tmp_path / "v1")
