"""Reading a Salesforce ETM export (with Ids) into a workspace scenario, and refusing bad ones."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from planner.errors import InputError
from planner.export.etm_read import EtmOptions, read_etm_export
from planner.export.etm_state import EtmSnapshot
from planner.export.salesforce import write_salesforce
from planner.services.crm_import import (
    import_salesforce,
    imported_scenarios,
    salesforce_snapshot,
)
from tests.export.conftest import make_two_region_plan
from tests.export.etm_fixtures import ETM_EXPORT, copy_export, edit_csv, etm_workspace

SF_IDS = EtmOptions(account_id_column="sf_id")


def test_the_export_becomes_a_scenario_with_hierarchy_owners_and_manual_includes() -> None:
    """Territories keep their parents, users their roles, accounts their territories."""
    ws = etm_workspace()
    result = import_salesforce(ws, ETM_EXPORT, options=SF_IDS, user="admin")
    sid = result.scenario_id
    assert sid is not None
    new = result.workspace
    terr = new.rows("territories", sid).set_index("territory_id")
    assert terr.loc["Atlanta_Metro", "parent_id"] == "North"
    assert terr.loc["Savannah_Coast", "name"] == "Savannah & Coast"
    assert terr.loc["Key_Accounts", "type_id"] == "Named_Accounts"
    assert terr.loc["Savannah_Coast", "level"] == 1
    assoc = set(
        new.rows("associations", sid)[["rep_id", "territory_id", "role"]].itertuples(
            index=False, name=None
        )
    )
    assert assoc == {
        ("M1", "North", "manager"),
        ("R1", "Atlanta_Metro", "owner"),
        ("R2", "Savannah_Coast", "owner"),
        ("R1", "Key_Accounts", "overlay"),
    }
    members = new.rows("memberships", sid)
    assert sorted(members.loc[members["account_id"] == "A-1", "territory_id"]) == [
        "Atlanta_Metro",
        "Key_Accounts",
    ]
    assert set(members["cause"]) == {"manual"}
    overrides = new.rows("overrides", sid)
    assert len(overrides) == 5 and set(overrides["action"]) == {"include"}
    # the account written with a 15-character Id was matched to the 18-character one
    assert "A-2" in set(members["account_id"])
    assert imported_scenarios(new) == [sid]
    assert ws.scenarios.empty, "the workspace given is not changed"


def test_each_record_keeps_its_salesforce_id_in_the_scenario() -> None:
    """The snapshot in the scenario's parameters names every record's Id."""
    result = import_salesforce(etm_workspace(), ETM_EXPORT, options=SF_IDS)
    assert result.scenario_id is not None
    snap = salesforce_snapshot(result.workspace, result.scenario_id)
    assert snap.model == "FY26_Sales" and snap.model_id == "0MA5g0000004CkLGAU"
    assert snap.record_id("Territory2", ("Savannah_Coast",)) == "0MI5g0000004Q1dGAE"
    assert snap.record_id("Territory2Type", ("Named_Accounts",)) == "0M55g0000004DeOCAU"
    assert (
        snap.record_id("ObjectTerritory2Association", ("0015g00000XyZ01AAE", "Key_Accounts"))
        == "0R15g000000b1AeCAI"
    )
    assert (
        snap.record_id("UserTerritory2Association", ("rae.sav@acme.example", "Savannah_Coast"))
        == "0R05g0000008aAcCAI"
    )
    again = EtmSnapshot.from_json(snap.to_json())
    assert again.record_id("Territory2", ("North",)) == "0MI5g0000004Q1aGAE"


def test_a_zip_of_the_export_reads_like_the_folder(tmp_path: Path) -> None:
    """Data Loader users often zip the folder; file names are matched without case."""
    archive = tmp_path / "etm.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in ETM_EXPORT.iterdir():
            zf.write(path, f"export/{path.name.lower()}")
    ws = etm_workspace()
    from_zip = read_etm_export(archive, reps=ws.reps, accounts=ws.accounts, options=SF_IDS)
    from_dir = read_etm_export(ETM_EXPORT, reps=ws.reps, accounts=ws.accounts, options=SF_IDS)
    pd.testing.assert_frame_equal(from_zip.territories, from_dir.territories)
    pd.testing.assert_frame_equal(from_zip.memberships, from_dir.memberships)


def test_missing_files_are_named_together(tmp_path: Path) -> None:
    folder = copy_export(tmp_path)
    (folder / "Territory2.csv").unlink()
    (folder / "ObjectTerritory2Association.csv").unlink()
    ws = etm_workspace()
    with pytest.raises(InputError, match="incomplete") as info:
        import_salesforce(ws, folder, options=SF_IDS)
    text = str(info.value)
    assert "Territory2.csv is missing" in text
    assert "ObjectTerritory2Association.csv is missing" in text
    assert ws.scenarios.empty


def test_every_inconsistency_is_listed_at_once_and_nothing_is_imported(tmp_path: Path) -> None:
    """A repeated Id, a dangling parent, unknown users, accounts and territories: one error."""
    folder = copy_export(tmp_path)

    def break_territories(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[3, "PARENTTERRITORY2ID"] = "0MI5g0000009ZZZGAE"  # Savannah's parent gone
        return frame

    def break_objects(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[1, "ID"] = frame.loc[0, "ID"]  # a repeated Id
        frame.loc[2, "OBJECTID"] = "0015g00000NoSuchAAE"  # an account nobody knows
        frame.loc[4, "TERRITORY2ID"] = "0MI5g0000004Q9zGAE"  # a territory nobody knows
        return frame

    def break_users(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, "USERID"] = "0055g00000A9z9zAAB"  # not in User.csv
        return frame

    edit_csv(folder / "Territory2.csv", break_territories)
    edit_csv(folder / "ObjectTerritory2Association.csv", break_objects)
    edit_csv(folder / "UserTerritory2Association.csv", break_users)
    ws = etm_workspace()
    with pytest.raises(InputError, match="nothing was imported") as info:
        import_salesforce(ws, folder, options=SF_IDS)
    problems = {p.column: p for p in info.value.problems}
    assert problems["ParentTerritory2Id"].rows == (5,)
    assert "0MI5g0000009ZZZGAE" in problems["ParentTerritory2Id"].message
    assert problems["Id"].rows == (2, 3) and "ObjectTerritory2Association.csv" in (
        problems["Id"].message
    )
    assert (
        problems["ObjectId"].rows == (4,) and "0015g00000NoSuchAAE" in problems["ObjectId"].message
    )
    assert problems["Territory2Id"].rows == (6,)
    assert problems["UserId"].rows == (2,) and "User.csv" in problems["UserId"].message
    assert all(p.fix for p in info.value.problems)
    assert ws.scenarios.empty


def test_users_unknown_to_the_workspace_are_named_with_the_fix(tmp_path: Path) -> None:
    ws = etm_workspace()
    reps = ws.reps[ws.reps["rep_id"] != "R2"]
    with pytest.raises(InputError, match="cannot be read") as info:
        read_etm_export(ETM_EXPORT, reps=reps, accounts=ws.accounts, options=SF_IDS)
    (problem,) = info.value.problems
    assert "rae.sav@acme.example" in problem.message and problem.rows == (4,)
    assert "import them first" in problem.fix


def test_a_different_model_than_expected_is_refused() -> None:
    ws = etm_workspace()
    with pytest.raises(InputError, match="cannot be read") as info:
        read_etm_export(
            ETM_EXPORT,
            reps=ws.reps,
            accounts=ws.accounts,
            options=EtmOptions(model="FY27_Sales", account_id_column="sf_id"),
        )
    assert "not the expected 'FY27_Sales'" in info.value.problems[0].message
    ok = read_etm_export(
        ETM_EXPORT,
        reps=ws.reps,
        accounts=ws.accounts,
        options=EtmOptions(model="fy26_sales", account_id_column="sf_id"),
    )
    assert ok.snapshot.model == "FY26_Sales"


def test_two_models_need_a_choice(tmp_path: Path) -> None:
    """An export of two models names both; --model picks one and drops the other's rows."""
    folder = copy_export(tmp_path)
    edit_csv(
        folder / "Territory2Model.csv",
        lambda f: pd.concat(
            [
                f,
                pd.DataFrame(
                    [
                        {
                            "ID": "0MA5g0000004CkMGAU",
                            "NAME": "FY27 Draft",
                            "DEVELOPERNAME": "FY27_Draft",
                            "STATE": "Planning",
                            "DESCRIPTION": "",
                        }
                    ]
                ),
            ],
            ignore_index=True,
        ),
    )

    def add_draft(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame.iloc[0].copy()
        row["ID"], row["DEVELOPERNAME"] = "0MI5g0000004Q2aGAE", "North_Draft"
        row["TERRITORY2MODELID"] = "0MA5g0000004CkMGAU"
        return pd.concat([frame, row.to_frame().T], ignore_index=True)

    edit_csv(folder / "Territory2.csv", add_draft)
    ws = etm_workspace()
    with pytest.raises(InputError, match="cannot be read") as info:
        read_etm_export(folder, reps=ws.reps, accounts=ws.accounts, options=SF_IDS)
    assert "2 models (FY26_Sales, FY27_Draft)" in info.value.problems[0].message
    draft = read_etm_export(
        folder,
        reps=ws.reps,
        accounts=ws.accounts,
        options=EtmOptions(model="FY27_Draft", account_id_column="sf_id"),
    )
    assert list(draft.territories["territory_id"]) == ["North_Draft"]
    assert draft.memberships.empty
    assert any("5 rows of ObjectTerritory2Association.csv" in n for n in draft.notes)


def test_a_loop_of_parents_is_refused(tmp_path: Path) -> None:
    folder = copy_export(tmp_path)

    def loop(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, "PARENTTERRITORY2ID"] = frame.loc[2, "ID"]  # North under Atlanta Metro
        return frame

    edit_csv(folder / "Territory2.csv", loop)
    ws = etm_workspace()
    with pytest.raises(InputError, match="cannot be read") as info:
        read_etm_export(folder, reps=ws.reps, accounts=ws.accounts, options=SF_IDS)
    assert "each other's parents" in info.value.problems[0].message


def test_a_missing_column_names_file_and_column(tmp_path: Path) -> None:
    folder = copy_export(tmp_path)
    edit_csv(
        folder / "UserTerritory2Association.csv", lambda f: f.drop(columns=["ROLEINTERRITORY2"])
    )
    ws = etm_workspace()
    with pytest.raises(InputError, match="incomplete") as info:
        read_etm_export(folder, reps=ws.reps, accounts=ws.accounts, options=SF_IDS)
    (problem,) = info.value.problems
    assert problem.column == "RoleInTerritory2"
    assert "UserTerritory2Association.csv" in problem.message


def test_a_zip_of_our_own_export_is_not_taken_for_salesforces(tmp_path: Path) -> None:
    """Our export also has a Territory2.csv (in state/): its manifest tells them apart."""
    ours = write_salesforce(make_two_region_plan(), tmp_path / "ours").out_dir
    archive = tmp_path / "ours.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in ours.rglob("*"):
            if path.is_file():
                zf.write(path, f"ours/{path.relative_to(ours).as_posix()}")
    ws = etm_workspace()
    with pytest.raises(InputError, match="an export of Territory Planner, not one from Salesforce"):
        import_salesforce(ws, archive, options=SF_IDS)
