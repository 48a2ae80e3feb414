"""The Salesforce delta against an export from Salesforce: deletes and updates by record Id."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.errors import InputError
from planner.export import plan_from_workspace
from planner.export.etm_read import EtmOptions
from planner.export.salesforce import (
    SalesforceOptions,
    check_load_order,
    load_files,
    write_salesforce,
)
from planner.services.crm_import import import_salesforce, salesforce_snapshot
from planner.workspace import Workspace, open_workspace
from tests.export.etm_fixtures import ETM_EXPORT, etm_workspace

SF = SalesforceOptions(account_id_column="sf_id")


@pytest.fixture(scope="module")
def imported() -> tuple[Workspace, str]:
    """The fixture export imported into the fixture workspace."""
    result = import_salesforce(
        etm_workspace(), ETM_EXPORT, options=EtmOptions(account_id_column="sf_id")
    )
    assert result.scenario_id is not None
    return result.workspace, result.scenario_id


def _files(folder: Path) -> dict[str, pd.DataFrame]:
    """Load files with rows, by step name (without the number)."""
    return {e["file"][3:-4]: f for e, f in load_files(folder) if len(f)}


def test_the_imported_plan_unchanged_gives_an_empty_delta(
    imported: tuple[Workspace, str], tmp_path: Path
) -> None:
    """Read back and written again, nothing differs: names, parents, roles, forecast users."""
    ws, sid = imported
    plan = plan_from_workspace(ws, sid)
    result = write_salesforce(plan, tmp_path / "d", since=salesforce_snapshot(ws, sid), options=SF)
    assert _files(tmp_path / "d") == {}
    assert result.manifest["mode"] == "delta" and result.manifest["deletes_by"] == "Id"


def test_moves_and_removals_delete_by_id(imported: tuple[Workspace, str], tmp_path: Path) -> None:
    """An account moved, a territory dropped, a user removed: the deletes list their Ids."""
    ws, sid = imported
    plan = plan_from_workspace(ws, sid)
    members = plan.memberships.copy()
    members.loc[members["account_id"] == "A-2", "territory_id"] = "Savannah_Coast"
    members = members[members["territory_id"] != "Key_Accounts"]
    territories = plan.territories.copy()
    territories.loc[territories["territory_id"] == "South", "name"] = "South & Coast"
    territories = territories[territories["territory_id"] != "Key_Accounts"]
    assoc = plan.associations[plan.associations["territory_id"] != "Key_Accounts"]
    changed = plan.__class__(
        plan.scenario_id,
        plan.scenario_name,
        territories=territories,
        memberships=members,
        accounts=plan.accounts,
        reps=plan.reps,
        associations=assoc,
        territory_types=plan.territory_types,
    )
    write_salesforce(changed, tmp_path / "d", since=salesforce_snapshot(ws, sid), options=SF)
    files = _files(tmp_path / "d")
    objects = files["ObjectTerritory2Association_delete"]
    assert objects.columns[0] == "Id"
    assert set(objects["Id"]) == {"0R15g000000b1AbCAI", "0R15g000000b1AeCAI"}
    assert list(files["UserTerritory2Association_delete"]["Id"]) == ["0R05g0000008aAdCAI"]
    assert list(files["Territory2_delete"]["Id"]) == ["0MI5g0000004Q1eGAE"]
    assert list(files["Territory2Type_delete"]["Id"]) == ["0M55g0000004DeOCAU"]
    update = files["Territory2_update"]
    assert list(update["Id"]) == ["0MI5g0000004Q1bGAE"] and list(update["Name"]) == [
        "South & Coast"
    ]
    inserted = files["ObjectTerritory2Association_insert"]
    assert list(inserted["ObjectId"]) == ["0015g00000XyZ02"]
    assert check_load_order(tmp_path / "d", previous=ETM_EXPORT) == []
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    deletes = [e for e in manifest["files"] if e["operation"] == "delete" and e["rows"]]
    assert deletes and all(e["key"] == ["Id"] for e in deletes)


def test_the_folder_and_the_scenario_give_the_same_delta(
    imported: tuple[Workspace, str], tmp_path: Path
) -> None:
    """--since the Salesforce folder or the scenario imported from it: the same files."""
    ws, sid = imported
    plan = plan_from_workspace(ws, sid)
    plan = plan.__class__(
        plan.scenario_id,
        plan.scenario_name,
        territories=plan.territories,
        memberships=plan.memberships[plan.memberships["account_id"] != "A-3"],
        accounts=plan.accounts,
        reps=plan.reps,
        associations=plan.associations,
        territory_types=plan.territory_types,
    )
    write_salesforce(plan, tmp_path / "a", since=salesforce_snapshot(ws, sid), options=SF)
    write_salesforce(plan, tmp_path / "b", since=ETM_EXPORT, options=SF)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() == {"ObjectTerritory2Association_delete"}
    pd.testing.assert_frame_equal(
        a["ObjectTerritory2Association_delete"], b["ObjectTerritory2Association_delete"]
    )


def test_a_delta_for_another_model_is_refused(
    imported: tuple[Workspace, str], tmp_path: Path
) -> None:
    ws, sid = imported
    plan = plan_from_workspace(ws, sid)
    other = SalesforceOptions(account_id_column="sf_id", model_developer_name="FY27_Sales")
    with pytest.raises(InputError, match="another territory model"):
        write_salesforce(plan, tmp_path / "a", since=salesforce_snapshot(ws, sid), options=other)
    with pytest.raises(InputError, match="not the expected 'FY27_Sales'"):
        write_salesforce(plan, tmp_path / "b", since=ETM_EXPORT, options=other)


@pytest.mark.slow
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dropped=st.sets(st.integers(min_value=0, max_value=4)))
def test_exactly_the_dropped_account_associations_are_deleted(
    imported: tuple[Workspace, str], tmp_path_factory: pytest.TempPathFactory, dropped: set[int]
) -> None:
    """Property: the delete file holds the Ids of the dropped memberships, no other."""
    ws, sid = imported
    plan = plan_from_workspace(ws, sid)
    members = plan.memberships.reset_index(drop=True)
    snap = salesforce_snapshot(ws, sid)
    kept = members.drop(index=sorted(dropped))
    changed = plan.__class__(
        plan.scenario_id,
        plan.scenario_name,
        territories=plan.territories,
        memberships=kept,
        accounts=plan.accounts,
        reps=plan.reps,
        associations=plan.associations,
        territory_types=plan.territory_types,
    )
    out = tmp_path_factory.mktemp("delta")
    write_salesforce(changed, out / "d", since=snap, options=SF)
    deleted = _files(out / "d").get("ObjectTerritory2Association_delete")
    got = set() if deleted is None else set(deleted["Id"])
    sf_id = dict(zip(plan.accounts["account_id"], plan.accounts["sf_id"], strict=True))
    expected = {
        snap.record_id("ObjectTerritory2Association", (sf_id[a], t))
        for a, t in members.loc[sorted(dropped), ["account_id", "territory_id"]].itertuples(
            index=False
        )
    }
    assert got == expected


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_cli_imports_the_export_then_writes_the_delta_by_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`planner import salesforce`, then `planner export --since-scenario` and `--since DIR`."""
    path = etm_workspace().save(tmp_path / "ws.gpkg")
    code, payload = _run(
        capsys,
        "import",
        "salesforce",
        str(ETM_EXPORT),
        "-w",
        str(path),
        "--account-id-column",
        "sf_id",
        "--scenario-name",
        "From Salesforce",
        "--user",
        "admin",
    )
    assert code == 0 and payload["scenario_id"] == "from-salesforce"
    ws = open_workspace(path)
    assert len(ws.rows("territories", "from-salesforce")) == 5
    code, payload = _run(
        capsys,
        "export",
        "--workspace",
        str(path),
        "--scenario",
        "from-salesforce",
        "--format",
        "salesforce",
        "--out",
        str(tmp_path / "delta"),
        "--since-scenario",
        "from-salesforce",
        "--account-id-column",
        "sf_id",
    )
    assert code == 0 and payload["manifest"]["deletes_by"] == "Id"
    code, payload = _run(
        capsys,
        "export",
        "--workspace",
        str(path),
        "--scenario",
        "from-salesforce",
        "--format",
        "salesforce",
        "--out",
        str(tmp_path / "delta2"),
        "--since",
        str(ETM_EXPORT),
        "--account-id-column",
        "sf_id",
    )
    assert code == 0 and payload["manifest"]["mode"] == "delta"


def test_cli_refuses_a_bad_export_and_leaves_the_workspace_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = etm_workspace().save(tmp_path / "ws.gpkg")
    before = open_workspace(path).version
    code = main(["import", "salesforce", str(ETM_EXPORT), "-w", str(path), "--model", "Other"])
    err = capsys.readouterr().err
    assert code != 0
    assert "not the expected 'Other'" in err
    # the accounts' Salesforce Ids are in sf_id, not account_id: every row named
    code = main(["import", "salesforce", str(ETM_EXPORT), "-w", str(path)])
    err = capsys.readouterr().err
    assert code != 0 and "names accounts not in the workspace" in err and "rows 2, 3, 4" in err
    assert open_workspace(path).version == before
    assert open_workspace(path).scenarios.empty
