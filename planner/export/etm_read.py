"""Read a Salesforce Enterprise Territory Management export into a plan with each record's Id.

:func:`read_etm_export` checks an export's files against each other and
against the workspace's users and accounts (every problem at once: missing
files, duplicate or unknown Ids, dangling parents, a different model than
expected), then returns the territories (hierarchy), user associations and
account memberships as the workspace's tables shape them, and the
:class:`~planner.export.etm_state.EtmSnapshot` a later delta deletes by.
Territory ids are the territories' DeveloperNames.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.export.etm_files import EtmFiles, id_key, read_etm_files
from planner.export.etm_match import match_accounts, match_users
from planner.export.etm_state import ID, EtmSnapshot
from planner.export.salesforce_names import (
    CAUSE_FIELD,
    DEV,
    FORECAST_REF,
    MODEL_REF,
    OBJECT_ID,
    PARENT_REF,
    ROLE_FIELD,
    TERR_REF,
    TYPE_REF,
    USER_REF,
    SalesforceOptions,
    developer_name,
)
from planner.export.salesforce_state import SalesforceState
from planner.tree import TerritoryTree

__all__ = ["EtmExport", "EtmOptions", "read_etm_export"]


@dataclass(frozen=True)
class EtmOptions:
    """How to read a Salesforce ETM export.

    Parameters
    ----------
    model
        The Territory2Model expected (DeveloperName or Id); empty takes the
        export's only model.
    user_column
        Column of the workspace's users holding their Salesforce username or
        email (``email`` by default).
    account_id_column
        Column of the workspace's accounts holding their Salesforce Account Id.
    role_labels
        Our association role of each RoleInTerritory2 value (case ignored);
        other and blank values become ``overlay``.
    """

    model: str = ""
    user_column: str = s.EMAIL
    account_id_column: str = s.ACCOUNT_ID
    role_labels: Mapping[str, str] = field(
        default_factory=lambda: {v.lower(): k for k, v in SalesforceOptions().role_labels.items()}
    )


@dataclass(frozen=True)
class EtmExport:
    """A Salesforce ETM export read against a workspace.

    Parameters
    ----------
    model_name
        The Territory2Model's label (its DeveloperName when unknown).
    territories
        ``territory_id`` (the DeveloperName), ``name``, ``parent_id``,
        ``level``, ``type_id``, ``source``; parents first.
    territory_types
        ``type_id`` (DeveloperName), ``name``, ``priority``, ``description``.
    memberships
        ``account_id``, ``territory_id``, ``cause`` (manual), ``detail``, ``is_primary``.
    associations
        ``rep_id``, ``territory_id``, ``role``.
    snapshot
        The records with their Ids, for a delta.
    notes
        What was read differently from the file, one sentence each.
    """

    model_name: str
    territories: pd.DataFrame
    territory_types: pd.DataFrame
    memberships: pd.DataFrame
    associations: pd.DataFrame
    snapshot: EtmSnapshot
    notes: tuple[str, ...] = ()


def _rows(mask: pd.Series) -> tuple[int, ...]:
    """File rows (the header is row 1) of the ``True`` entries."""
    return tuple(int(i) + 2 for i in mask.index[mask.to_numpy()][:50])


def _keys(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].map(lambda v: id_key(v) if v else "")


def _duplicates(files: EtmFiles, problems: list[Problem]) -> None:
    """Every file's repeated Ids, and Territory2's repeated DeveloperNames."""
    for obj, frame in files.frames.items():
        dup = _keys(frame, ID).duplicated(keep=False) & (frame[ID] != "")
        if dup.any():
            problems.append(
                Problem(
                    f"{obj}.csv repeats Ids {format_ids(sorted(set(frame.loc[dup, ID])))}",
                    rows=_rows(dup),
                    column=ID,
                    fix="export each record once (remove the repeated rows)",
                )
            )
    terr = files.frames["Territory2"]
    dev = terr[DEV].str.lower().duplicated(keep=False)
    if dev.any():
        problems.append(
            Problem(
                "Territory2.csv repeats DeveloperNames "
                f"{format_ids(sorted(set(terr.loc[dev, DEV])))}",
                rows=_rows(dev),
                column=DEV,
                fix="give each territory its own DeveloperName in Salesforce",
            )
        )


def _model(files: EtmFiles, options: EtmOptions, problems: list[Problem]) -> tuple[str, str, str]:
    """The model read: its Id key, DeveloperName and label."""
    terr = files.frames["Territory2"]
    models = files.get("Territory2Model")
    label: dict[str, tuple[str, str]] = {}
    if models is not None:
        names = models["Name"] if "Name" in models.columns else models[DEV]
        label = {id_key(i): (d, n) for i, d, n in zip(models[ID], models[DEV], names, strict=True)}
    used = sorted(set(_keys(terr, "Territory2ModelId")) - {""})
    if models is not None:
        unknown = [m for m in used if m not in label]
        if unknown:
            mask = _keys(terr, "Territory2ModelId").isin(unknown)
            problems.append(
                Problem(
                    f"Territory2.csv names models {format_ids(unknown)} not in Territory2Model.csv",
                    rows=_rows(mask),
                    column="Territory2ModelId",
                    fix="export Territory2Model and Territory2 at the same time",
                )
            )

    def name_of(key: str) -> str:
        return label.get(key, (key, key))[0]

    wanted = options.model.strip()
    if wanted:
        chosen = [m for m in used if wanted.lower() == name_of(m).lower() or id_key(wanted) == m]
        if not chosen:
            problems.append(
                Problem(
                    f"the export holds model {format_ids(name_of(m) for m in used)}, "
                    f"not the expected '{wanted}'",
                    column="Territory2ModelId",
                    fix=f"export the territories of model '{wanted}', or expect "
                    f"'{name_of(used[0]) if used else ''}'",
                )
            )
            return "", wanted, wanted
        key = chosen[0]
    elif len(used) > 1:
        problems.append(
            Problem(
                f"the export holds {len(used)} models ({format_ids(name_of(m) for m in used)})",
                column="Territory2ModelId",
                fix="choose one with --model DEVELOPERNAME",
            )
        )
        return "", "", ""
    elif not used:
        problems.append(
            Problem("Territory2.csv has no territories", fix="export the model's territories")
        )
        return "", "", ""
    else:
        key = used[0]
    dev, name = label.get(key, (developer_name(key, prefix="Model"), key))
    return key, dev, name


def _territories(
    files: EtmFiles, model_key: str, problems: list[Problem]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The model's Territory2 rows (original index kept) and Id key -> DeveloperName of all."""
    terr = files.frames["Territory2"]
    dev_of = dict(zip(_keys(terr, ID), terr[DEV], strict=True))
    mine = terr[_keys(terr, "Territory2ModelId") == model_key]
    parent_keys = _keys(mine, "ParentTerritory2Id")
    mine_ids = set(_keys(mine, ID))
    dangling = (parent_keys != "") & ~parent_keys.isin(mine_ids)
    if dangling.any():
        problems.append(
            Problem(
                "Territory2.csv names parents that are not territories of the model: "
                f"{format_ids(sorted(set(mine.loc[dangling, 'ParentTerritory2Id'])))}",
                rows=_rows(dangling),
                column="ParentTerritory2Id",
                fix="export every territory of the model, or clear the parent",
            )
        )
    types = files.get("Territory2Type")
    if types is not None:
        type_keys = _keys(mine, "Territory2TypeId")
        bad = ~type_keys.isin(set(_keys(types, ID)))
        if bad.any():
            problems.append(
                Problem(
                    "Territory2.csv names types not in Territory2Type.csv: "
                    f"{format_ids(sorted(set(mine.loc[bad, 'Territory2TypeId'])))}",
                    rows=_rows(bad),
                    column="Territory2TypeId",
                    fix="export Territory2Type and Territory2 at the same time",
                )
            )
    return mine, dev_of


def _cycles(tree: TerritoryTree, problems: list[Problem]) -> None:
    for cycle in tree.cycles():
        problems.append(
            Problem(
                f"territories {' > '.join(cycle)} are each other's parents",
                column="ParentTerritory2Id",
                fix="break the loop in Salesforce and export again",
            )
        )


def _type_frames(files: EtmFiles, terr: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Territory types (ours and Salesforce's) and type Id key -> type id."""
    types = files.get("Territory2Type")
    used = sorted(set(_keys(terr, "Territory2TypeId")) - {""})
    rows = []
    for key in used:
        row: dict[str, str] = {}
        if types is not None:
            match = types[_keys(types, ID) == key]
            row = match.iloc[0].to_dict() if len(match) else {}
        dev = row.get(DEV) or developer_name(key, prefix="Type")
        label = row.get("MasterLabel") or dev
        priority = str(row.get("Priority") or "10")
        rows.append((key, row.get(ID, key), dev, label, priority, row.get("Description", "")))
    frame = pd.DataFrame(rows, columns=["key", ID, DEV, "MasterLabel", "Priority", "Description"])
    return frame, dict(zip(frame["key"], frame[DEV], strict=True))


def _assoc_territories(
    files: EtmFiles,
    obj: str,
    all_dev: Mapping[str, str],
    model_dev: Mapping[str, str],
    problems: list[Problem],
    notes: list[str],
) -> pd.DataFrame:
    """Rows of ``obj`` in the model (unknown territories reported), with a ``_dev`` column."""
    frame = files.frames[obj]
    keys = _keys(frame, "Territory2Id")
    unknown = ~keys.isin(set(all_dev))
    if unknown.any():
        problems.append(
            Problem(
                f"{obj}.csv names territories not in Territory2.csv: "
                f"{format_ids(sorted(set(frame.loc[unknown, 'Territory2Id'])))}",
                rows=_rows(unknown),
                column="Territory2Id",
                fix="export Territory2 and the associations at the same time",
            )
        )
    mine = keys.isin(set(model_dev))
    other = int((~mine & ~unknown).sum())
    if other:
        notes.append(f"Skipped {other} rows of {obj}.csv that belong to other territory models.")
    return frame[mine].assign(_dev=keys[mine].map(model_dev).to_numpy())


def read_etm_export(
    path: str | os.PathLike[str],
    *,
    reps: pd.DataFrame,
    accounts: pd.DataFrame,
    options: EtmOptions | None = None,
) -> EtmExport:
    """Read a Salesforce ETM export folder (or zip) against a workspace's users and accounts.

    Parameters
    ----------
    path
        The export (see :func:`planner.export.etm_files.read_etm_files`).
    reps, accounts
        The workspace's users and accounts, matched by ``options``.
    options
        Expected model, user and account-id columns, role labels.

    Raises
    ------
    InputError
        Listing every problem together: missing files or columns, repeated
        Ids, territories, users or accounts no file or workspace knows,
        dangling parents, loops, another model than expected.
    """
    opts = options or EtmOptions()
    files = read_etm_files(path)
    problems: list[Problem] = []
    notes: list[str] = []
    _duplicates(files, problems)
    model_key, model_dev, model_name = _model(files, opts, problems)
    terr, all_dev = _territories(files, model_key, problems)
    dev_of = dict(zip(_keys(terr, ID), terr[DEV], strict=True))
    parents = _keys(terr, "ParentTerritory2Id")
    tree = TerritoryTree({d: dev_of.get(p) for d, p in zip(terr[DEV], parents, strict=True)})
    _cycles(tree, problems)
    types, type_dev = _type_frames(files, terr)
    users = _assoc_territories(files, "UserTerritory2Association", all_dev, dev_of, problems, notes)
    objects = _assoc_territories(
        files, "ObjectTerritory2Association", all_dev, dev_of, problems, notes
    )
    user_match = match_users(files, users, reps, opts.user_column, problems)
    objects, account_match = match_accounts(
        objects, accounts, opts.account_id_column, problems, notes
    )
    if problems:
        raise InputError(
            f"the Salesforce export cannot be read ({len(problems)} "
            f"problem{'' if len(problems) == 1 else 's'}): nothing was imported",
            problems,
            source=files.source,
        )
    parts = _Parts(terr, dev_of, type_dev, types, users, objects)
    model_id = str(terr["Territory2ModelId"].iloc[0]) if len(terr) else model_key
    state = _state(parts, model_id, model_dev, model_name, user_match, account_match)
    return EtmExport(
        model_name=model_name,
        territories=_our_territories(parts, tree),
        territory_types=_our_types(types),
        memberships=_our_memberships(objects),
        associations=_our_associations(users, user_match, opts, notes),
        snapshot=EtmSnapshot(state, model_id, files.source),
        notes=tuple(notes),
    )


def _our_types(types: pd.DataFrame) -> pd.DataFrame:
    names = {DEV: s.TYPE_ID, "MasterLabel": s.NAME, "Priority": s.PRIORITY}
    frame = types.rename(columns=names | {"Description": s.DESCRIPTION})
    return frame[[s.TYPE_ID, s.NAME, s.PRIORITY, s.DESCRIPTION]].reset_index(drop=True)


def _our_memberships(objects: pd.DataFrame) -> pd.DataFrame:
    causes = zip(objects["AssociationCause"], objects[ID], strict=True)
    frame = pd.DataFrame(
        {
            s.ACCOUNT_ID: objects["_account"].to_numpy(),
            s.TERRITORY_ID: objects["_dev"].to_numpy(),
            s.CAUSE: "manual",
            s.DETAIL: [f"Salesforce {c or 'Territory2Manual'} {i}" for c, i in causes],
            s.IS_PRIMARY: True,
        }
    )
    return frame.drop_duplicates([s.ACCOUNT_ID, s.TERRITORY_ID]).reset_index(drop=True)


@dataclass(frozen=True)
class _Parts:
    terr: pd.DataFrame
    dev_of: dict[str, str]
    type_dev: dict[str, str]
    types: pd.DataFrame
    users: pd.DataFrame
    objects: pd.DataFrame


def _our_territories(parts: _Parts, tree: TerritoryTree) -> pd.DataFrame:
    terr = parts.terr
    frame = pd.DataFrame(
        {
            s.TERRITORY_ID: terr[DEV].to_numpy(),
            s.NAME: terr["Name"].where(terr["Name"] != "", terr[DEV]).to_numpy(),
            s.PARENT_ID: [parts.dev_of.get(k) for k in _keys(terr, "ParentTerritory2Id")],
            s.LEVEL: [tree.depth(d) for d in terr[DEV]],
            s.TYPE_ID: [parts.type_dev[k] for k in _keys(terr, "Territory2TypeId")],
            s.SOURCE: "imported",
        }
    )
    order = {t: i for i, t in enumerate(tree.ordered())}
    return frame.sort_values(s.TERRITORY_ID, key=lambda c: c.map(order)).reset_index(drop=True)


def _our_associations(
    users: pd.DataFrame,
    user_match: Mapping[str, tuple[str, str]],
    opts: EtmOptions,
    notes: list[str],
) -> pd.DataFrame:
    labels = users["RoleInTerritory2"]
    roles = labels.str.lower().map(lambda v: opts.role_labels.get(v, "overlay"))
    other = sorted({v or "(blank)" for v in labels[~labels.str.lower().isin(opts.role_labels)]})
    if other:
        notes.append(f"RoleInTerritory2 values {format_ids(other)} were read as overlay.")
    frame = pd.DataFrame(
        {
            s.REP_ID: [user_match[id_key(u)][0] for u in users["UserId"]],
            s.TERRITORY_ID: users["_dev"].to_numpy(),
            s.ROLE: roles.to_numpy(),
        }
    )
    return frame.drop_duplicates([s.REP_ID, s.TERRITORY_ID, s.ROLE]).reset_index(drop=True)


def _state(
    parts: _Parts,
    model_id: str,
    model_dev: str,
    model_name: str,
    user_match: Mapping[str, tuple[str, str]],
    account_match: Mapping[str, str],
) -> SalesforceState:
    """The records as our export would name them, each with its Id."""
    terr = parts.terr

    def col(frame: pd.DataFrame, name: str, default: str) -> object:
        return frame[name].replace("", default).to_numpy() if name in frame.columns else default

    territories = pd.DataFrame(
        {
            DEV: terr[DEV].to_numpy(),
            "Name": terr["Name"].to_numpy(),
            MODEL_REF: model_dev,
            TYPE_REF: [parts.type_dev[k] for k in _keys(terr, "Territory2TypeId")],
            PARENT_REF: [parts.dev_of.get(k, "") for k in _keys(terr, "ParentTerritory2Id")],
            "AccountAccessLevel": col(terr, "AccountAccessLevel", "Edit"),
            "OpportunityAccessLevel": col(terr, "OpportunityAccessLevel", "Read"),
            "CaseAccessLevel": col(terr, "CaseAccessLevel", "Read"),
            ID: terr[ID].to_numpy(),
        }
    )
    forecast = [
        (d, user_match[id_key(u)][1])
        for d, u in zip(terr[DEV], col(terr, "ForecastUserId", ""), strict=True)  # type: ignore[call-overload]
        if u and id_key(u) in user_match
    ]
    users, objects = parts.users, parts.objects
    return SalesforceState(
        model=pd.DataFrame({DEV: [model_dev], "Name": [model_name], ID: [model_id]}),
        types=parts.types.drop(columns=["key"]),
        territories=territories,
        users=pd.DataFrame(
            {
                USER_REF: [user_match[id_key(u)][1] for u in users["UserId"]],
                TERR_REF: users["_dev"].to_numpy(),
                ROLE_FIELD: users["RoleInTerritory2"].to_numpy(),
                ID: users[ID].to_numpy(),
            }
        ),
        objects=pd.DataFrame(
            {
                OBJECT_ID: objects["_object"].to_numpy(),
                TERR_REF: objects["_dev"].to_numpy(),
                CAUSE_FIELD: objects["AssociationCause"].to_numpy(),
                ID: objects[ID].to_numpy(),
            }
        ),
        forecast=pd.DataFrame(forecast, columns=[DEV, FORECAST_REF]),
        keys=pd.DataFrame(
            [("Territory2Type", d, d) for d in parts.type_dev.values()]
            + [("Territory2", d, d) for d in terr[DEV]]
            + [("Account", a, o) for o, a in account_match.items()],
            columns=["object", "id", DEV],
        ),
    )
