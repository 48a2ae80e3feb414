"""The full set of rows a plan needs in Salesforce Territory Management.

:func:`build_state` turns a plan into the Territory2Model, Territory2Type,
Territory2, user and account association and forecast-user frames, each
record named by a valid, unique DeveloperName (kept from a previous export's
keys when there is one). :mod:`planner.export.salesforce` writes them as load
files in the order :mod:`planner.export.salesforce_steps` gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from planner import schema as s
from planner.access import active_mask
from planner.errors import InputError, Problem, format_ids
from planner.export.plan import PlanData
from planner.export.salesforce_names import (
    CAUSE_FIELD,
    DEV,
    FORECAST_REF,
    MANUAL,
    MAX_DESCRIPTION,
    MAX_NAME,
    MODEL_REF,
    OBJECT_ID,
    OBJECTS,
    PARENT_REF,
    ROLE_FIELD,
    TERR_REF,
    TYPE_REF,
    USER_REF,
    SalesforceOptions,
    assign_names,
    clip_text,
    developer_name,
)
from planner.tree import TerritoryTree

__all__ = ["SalesforceState", "build_state"]

_ROLE_ORDER = {"owner": 0, "manager": 1, "overlay": 2}


# -- building the full state -----------------------------------------------------------


@dataclass(frozen=True)
class SalesforceState:
    """The full set of rows a plan needs in Salesforce, with our ids for each key."""

    model: pd.DataFrame
    types: pd.DataFrame
    territories: pd.DataFrame
    users: pd.DataFrame
    objects: pd.DataFrame
    forecast: pd.DataFrame
    keys: pd.DataFrame


@dataclass(frozen=True)
class _Names:
    """DeveloperNames given to the model, the types and the territories (in tree order)."""

    model: str
    type_ids: list[str]
    types: dict[str, str]
    territories: dict[str, str]
    order: list[str]


def _text_ids(series: pd.Series) -> pd.Series:
    values = [None if pd.isna(v) else str(v) for v in series.astype(object)]
    return pd.Series(values, index=series.index, dtype=object)


def build_state(
    plan: PlanData, options: SalesforceOptions, previous_keys: pd.DataFrame | None
) -> SalesforceState:
    """Return the Salesforce records of ``plan``, named as ``previous_keys`` named them.

    Parameters
    ----------
    plan
        The plan to export.
    options
        Access levels, username and account-id columns, role labels.
    previous_keys
        The ``keys.csv`` of a previous export (object, our id, DeveloperName),
        so records keep their names; ``None`` for a first export.

    Raises
    ------
    InputError
        Listing every user in a territory without a username and every
        account without a Salesforce Id, together.
    """
    problems: list[Problem] = []
    prev = _previous_names(previous_keys)
    tree = TerritoryTree.of(plan.territories)
    type_of = _type_of_territory(plan.territories)
    type_ids = sorted(set(type_of.values()))
    names = _Names(
        model=_model_name(plan, options, prev),
        type_ids=type_ids,
        types=assign_names(type_ids, prev["Territory2Type"], "Type"),
        territories=assign_names(tree.ordered(), prev["Territory2"], "T"),
        order=tree.ordered(),
    )
    territories = _territory_frame(plan, options, names, type_of, tree)
    assoc = _active_associations(plan, options, names)
    username = _usernames(plan, options, assoc, problems)
    position = {d: i for i, d in enumerate(territories[DEV])}
    users = _user_frame(assoc, username, names, position, options, problems)
    forecast = _forecast_frame(assoc, username, names)
    account_sf = _account_ids(plan, options, problems)
    objects = _object_frame(plan, options, names, position, account_sf, problems)
    if problems:
        raise InputError("the plan cannot be written as Salesforce load files", problems)
    return SalesforceState(
        _model_frame(plan, names),
        _type_frame(plan, names),
        territories,
        users,
        objects,
        forecast,
        _keys_frame(plan, names, account_sf),
    )


def _previous_names(previous_keys: pd.DataFrame | None) -> dict[str, dict[str, str]]:
    """Object -> our id -> the DeveloperName a previous export gave it."""
    prev: dict[str, dict[str, str]] = {o: {} for o in OBJECTS[:3]}
    if previous_keys is not None:
        for obj, our, dev in previous_keys[["object", "id", DEV]].itertuples(index=False):
            prev.setdefault(str(obj), {})[str(our)] = str(dev)
    return prev


def _model_name(plan: PlanData, options: SalesforceOptions, prev: dict[str, dict[str, str]]) -> str:
    return (
        options.model_developer_name
        or prev["Territory2Model"].get(plan.scenario_id)
        or developer_name(plan.scenario_name or plan.scenario_id, prefix="M")
    )


def _model_frame(plan: PlanData, names: _Names) -> pd.DataFrame:
    return pd.DataFrame(
        {
            DEV: [names.model],
            "Name": [clip_text(plan.scenario_name or plan.scenario_id, MAX_NAME)],
            "Description": [f"Territory Planner scenario {plan.scenario_id}"],
        }
    )


def _by_territory_id(territories: pd.DataFrame) -> pd.DataFrame:
    return territories.assign(
        **{s.TERRITORY_ID: territories[s.TERRITORY_ID].astype(str)}
    ).set_index(s.TERRITORY_ID)


def _type_of_territory(territories: pd.DataFrame) -> dict[str, str]:
    """Territory id -> its type id (``geographic`` when it has none)."""
    by_id = _by_territory_id(territories)
    return {
        t: (str(v) if v is not None and v == v and str(v) else "geographic")
        for t, v in zip(
            by_id.index, by_id.get(s.TYPE_ID, pd.Series(None, index=by_id.index)), strict=True
        )
    }


def _type_frame(plan: PlanData, names: _Names) -> pd.DataFrame:
    type_rows = {}
    if len(plan.territory_types):
        for row in plan.territory_types.to_dict("records"):
            type_rows[str(row[s.TYPE_ID])] = row
    used_types = names.type_ids
    return pd.DataFrame(
        {
            DEV: [names.types[t] for t in used_types],
            "MasterLabel": [
                clip_text(type_rows.get(t, {}).get(s.NAME) or t, MAX_NAME) for t in used_types
            ],
            "Priority": [int(type_rows.get(t, {}).get(s.PRIORITY) or 10) for t in used_types],
            "Description": [
                clip_text(type_rows.get(t, {}).get(s.DESCRIPTION), MAX_DESCRIPTION)
                for t in used_types
            ],
        }
    )


def _territory_frame(
    plan: PlanData,
    options: SalesforceOptions,
    names: _Names,
    type_of: Mapping[str, str],
    tree: TerritoryTree,
) -> pd.DataFrame:
    by_id = _by_territory_id(plan.territories)
    label = by_id[s.NAME] if s.NAME in by_id.columns else pd.Series(None, index=by_id.index)
    terr_dev, order = names.territories, names.order
    return pd.DataFrame(
        {
            DEV: [terr_dev[t] for t in order],
            "Name": [clip_text(label.get(t) or t, MAX_NAME) for t in order],
            MODEL_REF: names.model,
            TYPE_REF: [names.types[type_of[t]] for t in order],
            PARENT_REF: [
                terr_dev[p] if (p := tree.parent[t]) is not None and p in terr_dev else ""
                for t in order
            ],
            "AccountAccessLevel": options.account_access,
            "OpportunityAccessLevel": options.opportunity_access,
            "CaseAccessLevel": options.case_access,
        }
    )


def _active_associations(plan: PlanData, options: SalesforceOptions, names: _Names) -> pd.DataFrame:
    """The associations active on the export date, of territories being exported."""
    assoc = plan.associations
    if len(assoc):
        assoc = assoc[active_mask(assoc, options.as_of or plan.as_of or date.today())]
    if len(assoc):
        assoc = assoc[assoc[s.TERRITORY_ID].astype(str).isin(names.territories)]
    return assoc


def _usernames(
    plan: PlanData, options: SalesforceOptions, assoc: pd.DataFrame, problems: list[Problem]
) -> dict[str, str]:
    """Rep id -> Salesforce username, for reps that have one."""
    username: dict[str, str] = {}
    if options.user_column not in plan.reps.columns and len(assoc):
        problems.append(
            Problem(
                f"reps have no '{options.user_column}' column for Salesforce usernames",
                column=options.user_column,
                fix="add it, or choose another column with user_column=",
            )
        )
    elif len(assoc):
        for rid, value in zip(
            plan.reps[s.REP_ID].astype(str), plan.reps[options.user_column], strict=True
        ):
            if value is not None and value == value and str(value).strip():
                username[rid] = str(value).strip()
    return username


def _user_frame(
    assoc: pd.DataFrame,
    username: Mapping[str, str],
    names: _Names,
    position: Mapping[str, int],
    options: SalesforceOptions,
    problems: list[Problem],
) -> pd.DataFrame:
    """One UserTerritory2Association per (user, territory), with the user's highest role."""
    user_rows: dict[tuple[str, str], tuple[int, str]] = {}
    no_user: set[str] = set()
    for rid, tid, role in zip(
        assoc[s.REP_ID].astype(str),
        assoc[s.TERRITORY_ID].astype(str),
        assoc[s.ROLE].astype(str),
        strict=True,
    ):
        if rid not in username:
            no_user.add(rid)
            continue
        key = (username[rid], names.territories[tid])
        rank = _ROLE_ORDER.get(role, 9)
        if key not in user_rows or rank < user_rows[key][0]:
            user_rows[key] = (rank, role)
    if no_user and not problems:
        problems.append(
            Problem(
                f"users {format_ids(sorted(no_user))} have territories but no Salesforce username",
                column=options.user_column,
                fix=f"fill in '{options.user_column}' for them",
            )
        )
    ordered = sorted(user_rows, key=lambda k: (position[k[1]], k[0]))
    return pd.DataFrame(
        {
            USER_REF: [k[0] for k in ordered],
            TERR_REF: [k[1] for k in ordered],
            ROLE_FIELD: [options.role_labels[user_rows[k][1]] for k in ordered],
        },
        columns=[USER_REF, TERR_REF, ROLE_FIELD],
    )


def _forecast_frame(
    assoc: pd.DataFrame, username: Mapping[str, str], names: _Names
) -> pd.DataFrame:
    """Forecast user: the first active owner, else the first manager (by start date, then id)."""
    forecast_rows = []
    if len(assoc):
        a = assoc.assign(
            _rank=assoc[s.ROLE].astype(str).map(_ROLE_ORDER).fillna(9),
            _start=assoc[s.START_DATE].astype(object).where(assoc[s.START_DATE].notna(), "")
            if s.START_DATE in assoc.columns
            else "",
            _rep=assoc[s.REP_ID].astype(str),
            _tid=assoc[s.TERRITORY_ID].astype(str),
        )
        a = a[(a["_rank"] <= 1) & a["_rep"].isin(username)]
        a = a.sort_values(["_tid", "_rank", "_start", "_rep"]).drop_duplicates("_tid")
        chosen = dict(zip(a["_tid"], a["_rep"], strict=True))
        forecast_rows = [
            (names.territories[t], username[chosen[t]]) for t in names.order if t in chosen
        ]
    return pd.DataFrame(forecast_rows, columns=[DEV, FORECAST_REF])


def _account_ids(
    plan: PlanData, options: SalesforceOptions, problems: list[Problem]
) -> dict[str, str]:
    """Our account id -> its Salesforce Id (empty when account ids are the Salesforce Ids)."""
    if options.account_id_column == s.ACCOUNT_ID:
        return {}
    if options.account_id_column not in plan.accounts.columns:
        problems.append(
            Problem(
                f"accounts have no '{options.account_id_column}' column",
                column=options.account_id_column,
                fix="add the Salesforce account Ids, or use account_id_column='account_id'",
            )
        )
        return {}
    pairs = zip(
        _text_ids(plan.accounts[s.ACCOUNT_ID]),
        _text_ids(plan.accounts[options.account_id_column]),
        strict=True,
    )
    return {a: v for a, v in pairs if a is not None and v}


def _object_frame(
    plan: PlanData,
    options: SalesforceOptions,
    names: _Names,
    position: Mapping[str, int],
    account_sf: Mapping[str, str],
    problems: list[Problem],
) -> pd.DataFrame:
    """One ObjectTerritory2Association per (account, territory), in territory order."""
    members = plan.memberships
    acc_ids = _text_ids(members[s.ACCOUNT_ID])
    tids = members[s.TERRITORY_ID].astype(str)
    known = tids.isin(names.territories)
    object_ids = acc_ids.map(lambda a: account_sf.get(a, a)) if account_sf else acc_ids
    if options.account_id_column != s.ACCOUNT_ID and account_sf:
        lacking = sorted(set(acc_ids[known & ~acc_ids.isin(account_sf)].dropna()))
        if lacking:
            problems.append(
                Problem(
                    f"accounts {format_ids(lacking)} have no '{options.account_id_column}'",
                    column=options.account_id_column,
                    fix="fill in their Salesforce Ids",
                )
            )
    objects = pd.DataFrame(
        {
            OBJECT_ID: object_ids[known].to_numpy(),
            TERR_REF: tids[known].map(names.territories).to_numpy(),
            CAUSE_FIELD: MANUAL,
        },
        columns=[OBJECT_ID, TERR_REF, CAUSE_FIELD],
    )
    return (
        objects.assign(_o=objects[TERR_REF].map(position))
        .sort_values(["_o", OBJECT_ID], kind="stable")
        .drop(columns="_o")
        .drop_duplicates([OBJECT_ID, TERR_REF])
        .reset_index(drop=True)
    )


def _keys_frame(plan: PlanData, names: _Names, account_sf: Mapping[str, str]) -> pd.DataFrame:
    """Object, our id and DeveloperName (or Salesforce Id) of every record named."""
    keys = pd.DataFrame(
        [("Territory2Model", plan.scenario_id, names.model)]
        + [("Territory2Type", t, names.types[t]) for t in names.type_ids]
        + [("Territory2", t, names.territories[t]) for t in names.order],
        columns=["object", "id", DEV],
    )
    if account_sf:
        extra = pd.DataFrame(
            {"object": "Account", "id": list(account_sf), DEV: list(account_sf.values())}
        )
        keys = pd.concat([keys, extra], ignore_index=True)
    return keys
