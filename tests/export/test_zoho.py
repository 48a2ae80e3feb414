"""Zoho CRM: the Territories field of an Accounts export read into a scenario, and written back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main
from planner.errors import InputError
from planner.export import export_plan, plan_from_workspace
from planner.export.etm_read import EtmOptions
from planner.export.zoho import ZOHO_COLUMNS, ZohoOptions, read_zoho_accounts
from planner.services.crm_import import import_salesforce, import_zoho
from planner.workspace import Workspace, open_workspace
from tests.export.etm_fixtures import ETM_EXPORT, etm_workspace

#: Shaped like Zoho CRM's Accounts export: Record Id with its zcrm_ prefix, names in the
#: Territories field separated by semicolons, other columns Zoho writes.
ZOHO_EXPORT = (
    "Record Id,Account Name,Account Owner,Territories,Billing City,Modified Time\r\n"
    "zcrm_5725767000000411001,Peach Mills,rob@acme.example,Atlanta Metro;Key Accounts,"
    "Atlanta,2026-11-02 10:14:00\r\n"
    "zcrm_5725767000000411002,Delta Foods,rae.sav@acme.example,Savannah & Coast,"
    "Atlanta,2026-11-02 10:14:00\r\n"
    "zcrm_5725767000000411005,Macon Tools,,,Macon,2026-11-03 08:00:00\r\n"
)
ZOHO = ZohoOptions(account_id_column="zoho_id")


@pytest.fixture
def workspace() -> tuple[Workspace, str]:
    """The Salesforce fixture imported, accounts also carrying their Zoho Record Ids."""
    ws = etm_workspace()
    ws.set_table(
        "accounts",
        ws.accounts.assign(zoho_id=[f"57257670000004110{i:02d}" for i in range(1, 6)]),
    )
    result = import_salesforce(ws, ETM_EXPORT, options=EtmOptions(account_id_column="sf_id"))
    assert result.scenario_id is not None
    return result.workspace, result.scenario_id


def test_the_territories_field_becomes_memberships(workspace: tuple[Workspace, str]) -> None:
    """Names match territories (case ignored), the zcrm_ prefix is dropped."""
    ws, sid = workspace
    rows = read_zoho_accounts(
        "Accounts.csv",
        ZOHO_EXPORT.encode(),
        territories=ws.rows("territories", sid),
        accounts=ws.accounts,
        options=ZOHO,
    )
    pairs = set(rows.dropna()[["account_id", "territory_id"]].itertuples(index=False, name=None))
    assert pairs == {("A-1", "Atlanta_Metro"), ("A-1", "Key_Accounts"), ("A-2", "Savannah_Coast")}
    assert rows.loc[rows["account_id"] == "A-5", "territory_id"].isna().all()


def test_import_gives_listed_accounts_exactly_the_files_territories(
    workspace: tuple[Workspace, str],
) -> None:
    """A copy of the scenario: A-2 moves, A-5 leaves its territories, A-3 keeps its own."""
    ws, sid = workspace
    result = import_zoho(
        ws, "Accounts.csv", ZOHO_EXPORT.encode(), base_scenario=sid, options=ZOHO, user="admin"
    )
    new_sid = result.scenario_id
    assert new_sid is not None and new_sid != sid
    members = result.workspace.rows("memberships", new_sid)
    by_account = members.groupby("account_id")["territory_id"].apply(sorted).to_dict()
    assert by_account["A-2"] == ["Savannah_Coast"]
    assert by_account["A-1"] == ["Atlanta_Metro", "Key_Accounts"]
    assert by_account["A-3"] == ["Savannah_Coast"]
    overrides = result.workspace.rows("overrides", new_sid).set_index(
        ["account_id", "territory_id"]
    )
    assert overrides.loc[("A-2", "Atlanta_Metro"), "action"] == "exclude"
    assert overrides.loc[("A-2", "Savannah_Coast"), "action"] == "include"
    assert len(ws.rows("memberships", sid)) == 5, "the given workspace is unchanged"


def test_unknown_accounts_and_territories_are_named_by_row(
    workspace: tuple[Workspace, str],
) -> None:
    ws, sid = workspace
    bad = ZOHO_EXPORT + "zcrm_999,Nobody,,Atlantis;North\r\nzcrm_5725767000000411001,Again,,,\r\n"
    with pytest.raises(InputError, match="nothing was imported") as info:
        import_zoho(ws, "Accounts.csv", bad.encode(), base_scenario=sid, options=ZOHO)
    messages = {p.message.split(":")[0]: p for p in info.value.problems}
    assert messages["accounts not in the workspace"].rows == (5,)
    assert messages["territories not in the scenario"].rows == (5,)
    assert "Atlantis" in messages["territories not in the scenario"].message
    assert messages["accounts listed more than once"].rows == (2, 6)


def test_a_file_without_the_territories_column_is_refused(
    workspace: tuple[Workspace, str],
) -> None:
    ws, sid = workspace
    with pytest.raises(InputError, match="not a Zoho CRM Accounts export") as info:
        read_zoho_accounts(
            "a.csv",
            b"Record Id,Account Name\r\n1,x\r\n",
            territories=ws.rows("territories", sid),
            accounts=ws.accounts,
        )
    assert info.value.problems[0].column == "Territories"


def test_the_export_reads_back_to_the_same_memberships(
    workspace: tuple[Workspace, str], tmp_path: Path
) -> None:
    """Round trip: what export_zoho writes, read_zoho_accounts reads as the plan's memberships."""
    ws, sid = workspace
    plan = plan_from_workspace(ws, sid)
    result = export_plan(plan, tmp_path / "z", "zoho", options=ZOHO)
    (path,) = result.files
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert tuple(table.columns) == ZOHO_COLUMNS
    assert table.set_index("Account Name").loc["Peach Mills", "Territories"] == (
        "Atlanta Metro;Key Accounts"
    )
    rows = read_zoho_accounts(
        path.name,
        path.read_bytes(),
        territories=plan.territories,
        accounts=plan.accounts,
        options=ZOHO,
    ).dropna()
    got = set(rows[["account_id", "territory_id"]].itertuples(index=False, name=None))
    want = set(plan.memberships[["account_id", "territory_id"]].itertuples(index=False, name=None))
    assert got == want
    manifest = json.loads((tmp_path / "z" / "manifest.json").read_text())
    assert manifest["format"] == "zoho" and manifest["files"][0]["match_on"] == "Record Id"


def test_cli_imports_and_exports_zoho(
    workspace: tuple[Workspace, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, sid = workspace
    path = ws.save(tmp_path / "ws.gpkg")
    data = tmp_path / "Accounts.csv"
    data.write_text(ZOHO_EXPORT)
    code = main(
        [
            "import",
            "zoho",
            str(data),
            "-w",
            str(path),
            "--scenario",
            sid,
            "--account-id-column",
            "zoho_id",
            "--json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["scenario_id"] in set(
        open_workspace(path).scenarios["scenario_id"]
    )
    code = main(
        [
            "export",
            "--workspace",
            str(path),
            "--scenario",
            payload["scenario_id"],
            "--format",
            "zoho",
            "--out",
            str(tmp_path / "z"),
            "--account-id-column",
            "zoho_id",
            "--json",
        ]
    )
    assert code == 0
    assert (tmp_path / "z" / "Accounts_territories.csv").is_file()
