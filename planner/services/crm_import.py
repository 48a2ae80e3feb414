"""Importing a CRM's territory plan into a workspace as a new scenario (Salesforce ETM, Zoho).

The export is checked in full before anything changes (every problem at
once); the scenario is made on a trial copy of the workspace, which the
caller commits. The scenario remembers each record's Salesforce Id in its
``parameters`` (key ``salesforce_etm``), so the export page and
``planner export --since-scenario`` can write a delta that deletes by Id.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.balance.scenario_save import unique_scenario_id
from planner.export.etm_read import EtmExport, EtmOptions, read_etm_export
from planner.export.etm_state import PARAMETER, EtmSnapshot, snapshot_of_scenario
from planner.export.zoho import ZohoOptions, read_zoho_accounts
from planner.models import Scenario, TerritoryType, now_iso
from planner.services.importing_common import ImportResult, plural, trial_copy
from planner.workspace import Workspace

__all__ = ["import_salesforce", "import_zoho", "imported_scenarios", "salesforce_snapshot"]


def import_salesforce(
    ws: Workspace,
    path: str | os.PathLike[str],
    *,
    options: EtmOptions | None = None,
    scenario_name: str = "",
    user: str | None = None,
) -> ImportResult:
    """Import a Salesforce ETM export (folder or zip) into a new planning scenario.

    Territories keep their hierarchy (ids are their DeveloperNames), users
    their associations, accounts their territories as manual includes.

    Parameters
    ----------
    ws
        The workspace; it is not changed (the result holds a changed copy).
    path
        The export folder or zip (Territory2.csv, UserTerritory2Association.csv,
        ObjectTerritory2Association.csv, optionally Territory2Model.csv,
        Territory2Type.csv and User.csv).
    options
        Expected model, user and account-id columns, role labels.
    scenario_name
        Name of the new scenario (the model's label by default).
    user
        Who imports (recorded).

    Raises
    ------
    InputError
        Listing every problem of the export; nothing is imported then.
    """
    export = read_etm_export(path, reps=ws.reps, accounts=ws.accounts, options=options)
    trial = trial_copy(ws)
    name = scenario_name.strip() or export.model_name or export.snapshot.model
    sid = unique_scenario_id(trial, name)
    trial.add_scenario(
        Scenario(
            sid,
            name=name,
            description=f"Imported from Salesforce territory model {export.snapshot.model} "
            f"({Path(path).name}).",
            parameters={PARAMETER: export.snapshot.to_json()},
        ),
        user=user,
    )
    notes = list(export.notes)
    _add_types(trial, export, notes)
    _store_rows(trial, sid, export, user)
    trial.log(
        "import.salesforce",
        {
            "source": str(path),
            "model": export.snapshot.model,
            "territories": len(export.territories),
            "memberships": len(export.memberships),
            "associations": len(export.associations),
        },
        user=user,
        scenario_id=sid,
    )
    message = (
        f"Imported Salesforce model {export.snapshot.model} into planning scenario '{name}' "
        f"({sid}): {plural(len(export.territories), 'territory', 'territories')}, "
        f"{plural(len(export.associations), 'user association')}, "
        f"{plural(len(export.memberships), 'account membership')}."
    )
    return ImportResult(trial, (message,), tuple(notes), sid)


def _add_types(ws: Workspace, export: EtmExport, notes: list[str]) -> None:
    """Add the export's territory types the workspace lacks."""
    known = set(ws.territory_types[s.TYPE_ID].astype(str))
    added = []
    for row in export.territory_types.itertuples(index=False):
        type_id = str(getattr(row, s.TYPE_ID))
        if type_id in known:
            continue
        priority = pd.to_numeric(getattr(row, s.PRIORITY), errors="coerce")
        ws.add_territory_type(
            TerritoryType(
                type_id,
                name=str(getattr(row, s.NAME) or type_id),
                priority=10 if pd.isna(priority) else int(priority),
                description=str(getattr(row, s.DESCRIPTION) or ""),
            )
        )
        added.append(type_id)
    if added:
        notes.append(f"Added territory types {', '.join(added)} from Salesforce.")


def _store_rows(ws: Workspace, sid: str, export: EtmExport, user: str | None) -> None:
    """Territories (no shapes), memberships and their manual includes, associations."""
    territories = gpd.GeoDataFrame(
        export.territories.assign(**{s.LEVEL_NAME: None, s.RULE: None}),
        geometry=gpd.GeoSeries([None] * len(export.territories)),
        crs=s.STORAGE_CRS,
    )
    ws.set_rows("territories", sid, territories)
    members = export.memberships.copy()
    members[s.IS_PRIMARY] = ~members[s.ACCOUNT_ID].duplicated()
    ws.set_rows("memberships", sid, members)
    overrides = pd.DataFrame(
        {
            s.ACCOUNT_ID: members[s.ACCOUNT_ID],
            s.TERRITORY_ID: members[s.TERRITORY_ID],
            s.ACTION: "include",
            s.SET_BY: user,
            s.SET_AT: now_iso(),
            s.REASON: members[s.DETAIL],
        }
    )
    ws.set_rows("overrides", sid, overrides)
    associations = export.associations.assign(**{s.START_DATE: None, s.END_DATE: None})
    ws.set_rows("associations", sid, associations)


def salesforce_snapshot(ws: Workspace, scenario_id: str) -> EtmSnapshot:
    """The Salesforce records (with Ids) a scenario was imported from.

    Raises
    ------
    InputError
        If the scenario was not imported from a Salesforce ETM export.
    """
    return snapshot_of_scenario(ws.scenario(scenario_id).parameters, scenario_id)


def imported_scenarios(ws: Workspace) -> list[str]:
    """Ids of the scenarios imported from a Salesforce ETM export."""
    return [sc.scenario_id for sc in ws.scenario_list() if PARAMETER in sc.parameters]


def import_zoho(
    ws: Workspace,
    name: str,
    data: bytes,
    *,
    base_scenario: str | None = None,
    scenario_name: str = "",
    options: ZohoOptions | None = None,
    user: str | None = None,
) -> ImportResult:
    """Import the Territories field of a Zoho CRM Accounts export into a copy of a scenario.

    The accounts the file lists get exactly its territories (manual includes,
    and excludes from the territories they leave); other accounts keep theirs.

    Parameters
    ----------
    ws
        The workspace; it is not changed (the result holds a changed copy).
    name, data
        The file's name and content (CSV or XLSX with ``Record Id`` and
        ``Territories``).
    base_scenario
        The scenario whose territories the names refer to (the active one by default).
    scenario_name
        Name of the new scenario.
    options
        The accounts column holding Zoho Record Ids.
    user
        Who imports (recorded).

    Raises
    ------
    InputError
        Listing every row with an unknown account or territory; nothing is
        imported then.
    """
    base = base_scenario or ws.active_scenario_id()
    rows = read_zoho_accounts(
        name,
        data,
        territories=ws.rows("territories", base),
        accounts=ws.accounts,
        options=options,
    )
    trial = trial_copy(ws)
    label = scenario_name.strip() or f"Zoho territories from {name}"
    sid = unique_scenario_id(trial, label)
    trial.copy_scenario(base, sid, name=label, user=user)
    listed = set(rows[s.ACCOUNT_ID])
    rows = rows[rows[s.TERRITORY_ID].notna()]
    _replace_memberships(trial, sid, rows, listed, user, name)
    trial.log(
        "import.zoho",
        {"file": name, "accounts": len(listed), "memberships": len(rows)},
        user=user,
        scenario_id=sid,
    )
    message = (
        f"Imported the Zoho territories of {plural(len(listed), 'account')} "
        f"({plural(len(rows), 'membership')}) into planning scenario '{label}' ({sid}), "
        f"a copy of {base}."
    )
    return ImportResult(trial, (message,), (), sid)


def _replace_memberships(
    ws: Workspace, sid: str, rows: pd.DataFrame, listed: set[str], user: str | None, name: str
) -> None:
    """The listed accounts' memberships become the file's, as manual overrides."""
    members = ws.rows("memberships", sid)
    was = members[members[s.ACCOUNT_ID].astype(str).isin(listed)]
    new_pairs = set(zip(rows[s.ACCOUNT_ID], rows[s.TERRITORY_ID], strict=True))
    old_pairs = set(
        zip(was[s.ACCOUNT_ID].astype(str), was[s.TERRITORY_ID].astype(str), strict=True)
    )
    kept = members[~members[s.ACCOUNT_ID].astype(str).isin(listed)]
    added = pd.DataFrame(
        {
            s.ACCOUNT_ID: rows[s.ACCOUNT_ID].to_numpy(),
            s.TERRITORY_ID: rows[s.TERRITORY_ID].to_numpy(),
            s.CAUSE: "manual",
            s.DETAIL: f"Zoho CRM Territories ({name})",
            s.IS_PRIMARY: ~rows[s.ACCOUNT_ID].duplicated().to_numpy(),
        }
    ).drop_duplicates([s.ACCOUNT_ID, s.TERRITORY_ID])
    ws.set_rows("memberships", sid, pd.concat([kept, added], ignore_index=True))
    stamp = now_iso()
    changes = [(a, t, "include") for a, t in sorted(new_pairs)] + [
        (a, t, "exclude") for a, t in sorted(old_pairs - new_pairs)
    ]
    overrides = ws.rows("overrides", sid)
    touched = {(a, t) for a, t, _ in changes}
    keep = [
        (str(a), str(t)) not in touched
        for a, t in zip(overrides[s.ACCOUNT_ID], overrides[s.TERRITORY_ID], strict=True)
    ]
    fresh = pd.DataFrame(changes, columns=[s.ACCOUNT_ID, s.TERRITORY_ID, s.ACTION]).assign(
        **{s.SET_BY: user, s.SET_AT: stamp, s.REASON: f"Zoho CRM import of {name}"}
    )
    ws.set_rows("overrides", sid, pd.concat([overrides[keep], fresh], ignore_index=True))
