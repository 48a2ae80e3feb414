"""Salesforce Enterprise Territory Management load files, in load order, and their delta.

A full export writes one CSV per step, numbered in the order a loader
(Data Loader, the Bulk API, ``sf data import``) must run them:

1. ``Territory2Type``   insert: DeveloperName, MasterLabel, Priority
2. ``Territory2Model``  insert: DeveloperName, Name
3. ``Territory2``       insert, parents before children
4. ``UserTerritory2Association``   insert: user, territory, RoleInTerritory2
5. ``ObjectTerritory2Association`` insert: account, territory,
   AssociationCause = Territory2Manual
6. ``Territory2``       update: ForecastUserId (it cannot be set on insert)

References to records created by an earlier step use the external-id column
style ``<Relationship>.DeveloperName`` (for example
``ParentTerritory2.DeveloperName``); users are referenced by
``User.Username`` and accounts by their id in ``ObjectId``. ``manifest.json``
lists each step's object, operation, key and references, so a load script can
also swap each reference for the record Id returned by the earlier step when
the API does not accept the external-id form.

With ``since`` (a previous export folder), only the **delta** is written:
deletions of associations first, then new and changed types and territories,
new associations, forecast users, and deletions of territories (children
first) and types last. ObjectTerritory2Association rows cannot be updated, so
an account that moves is a delete plus an insert. Every export also keeps the
full state in ``state/`` and the id <-> DeveloperName mapping in ``keys.csv``,
so the next delta, and :mod:`planner.export.importer`, can read it back.

DeveloperNames follow Salesforce's rules: letters, digits and single
underscores, starting with a letter, not ending with an underscore, at most 80
characters, unique (case-insensitively) within their object.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from planner import schema as s
from planner.access import active_mask
from planner.errors import InputError, Problem, format_ids
from planner.export.files import write_csv
from planner.export.plan import (
    MANIFEST,
    ExportResult,
    PlanData,
    base_manifest,
    prepare_out_dir,
    write_manifest,
)
from planner.export.safety import restore_frame
from planner.tree import TerritoryTree

__all__ = [
    "ACCESS_LEVELS",
    "OBJECTS",
    "SalesforceOptions",
    "check_load_order",
    "developer_name",
    "load_files",
    "read_state",
    "write_salesforce",
]

logger = logging.getLogger(__name__)

Operation = Literal["insert", "update", "delete"]

#: Salesforce objects written, in full-load order.
OBJECTS = (
    "Territory2Type",
    "Territory2Model",
    "Territory2",
    "UserTerritory2Association",
    "ObjectTerritory2Association",
)
#: Allowed API values of the access-level picklists of Territory2.
ACCESS_LEVELS = {
    "account_access": ("Read", "Edit", "All"),
    "opportunity_access": ("None", "Read", "Edit"),
    "case_access": ("None", "Read", "Edit"),
}
_MAX_NAME = 80
_MAX_DESCRIPTION = 1000
#: Value Data Loader reads as "set this field to null".
NULL_VALUE = "#N/A"
STATE_DIR = "state"
KEYS_FILE = "keys.csv"

# Column names of the load files.
DEV = "DeveloperName"
TYPE_REF = "Territory2Type.DeveloperName"
MODEL_REF = "Territory2Model.DeveloperName"
PARENT_REF = "ParentTerritory2.DeveloperName"
TERR_REF = "Territory2.DeveloperName"
FORECAST_REF = "ForecastUser.Username"
USER_REF = "User.Username"
OBJECT_ID = "ObjectId"
ROLE_FIELD = "RoleInTerritory2"
CAUSE_FIELD = "AssociationCause"
MANUAL = "Territory2Manual"

_ROLE_ORDER = {"owner": 0, "manager": 1, "overlay": 2}


@dataclass(frozen=True)
class SalesforceOptions:
    """Settings of the Salesforce export.

    Parameters
    ----------
    model_developer_name
        DeveloperName of the Territory2Model; derived from the scenario name
        when empty.
    account_access, opportunity_access, case_access
        Default access levels of every territory (API values: ``Read``,
        ``Edit``, ``All`` for accounts; ``None``, ``Read``, ``Edit`` for the others).
    user_column
        Column of ``reps`` holding each user's Salesforce username
        (``email`` by default; an extra column such as ``sf_username`` works).
    account_id_column
        Column of ``accounts`` holding each account's Salesforce Id
        (``account_id`` by default).
    role_labels
        RoleInTerritory2 picklist value of each association role; the picklist
        values must exist in the org.
    as_of
        The date associations are judged on (ended ones are not exported).
    """

    model_developer_name: str = ""
    account_access: str = "Edit"
    opportunity_access: str = "Read"
    case_access: str = "Read"
    user_column: str = s.EMAIL
    account_id_column: str = s.ACCOUNT_ID
    role_labels: Mapping[str, str] = field(
        default_factory=lambda: {"owner": "Owner", "overlay": "Overlay", "manager": "Manager"}
    )
    as_of: date | None = None

    def __post_init__(self) -> None:
        problems = []
        for name, allowed in ACCESS_LEVELS.items():
            value = getattr(self, name)
            if value not in allowed:
                problems.append(
                    Problem(f"{name}='{value}' is not allowed", fix=f"use {', '.join(allowed)}")
                )
        missing = [r for r in s.ASSOCIATION_ROLES if not self.role_labels.get(r)]
        if missing:
            problems.append(
                Problem(f"no RoleInTerritory2 label for {', '.join(missing)}", fix="add one")
            )
        if self.model_developer_name and developer_name(self.model_developer_name) != (
            self.model_developer_name
        ):
            problems.append(
                Problem(
                    f"model_developer_name '{self.model_developer_name}' breaks the rules",
                    fix=f"use '{developer_name(self.model_developer_name)}'",
                )
            )
        if problems:
            raise InputError("invalid Salesforce export options", problems)


# -- DeveloperName ----------------------------------------------------------------------


def developer_name(text: str, *, taken: Iterable[str] = (), prefix: str = "T") -> str:
    """Return a valid, unique Salesforce DeveloperName made from ``text``.

    Accents are dropped, every run of other characters becomes one
    underscore, a name starting with a digit gets ``prefix`` and an
    underscore, and ``_2``, ``_3``... are appended until the name is not in
    ``taken`` (compared case-insensitively).

    Examples
    --------
    >>> developer_name("Île-de-France / Nord")
    'Ile_de_France_Nord'
    >>> developer_name("42", taken=["T_42"])
    'T_42_2'
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")
    if not base:
        base = prefix
    if not base[0].isalpha():
        base = f"{prefix}_{base}"
    base = base[:_MAX_NAME].rstrip("_")
    used = {t.lower() for t in taken}
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f"_{n}"
        candidate = base[: _MAX_NAME - len(suffix)].rstrip("_") + suffix
        n += 1
    return candidate


def _assign_names(ids: Iterable[str], previous: Mapping[str, str], prefix: str) -> dict[str, str]:
    """DeveloperNames for ``ids``: the previous one when known, else a new unique one."""
    out: dict[str, str] = {}
    taken = set(previous.values())
    for our_id in ids:
        if our_id in previous:
            out[our_id] = previous[our_id]
    for our_id in ids:
        if our_id not in out:
            name = developer_name(our_id, taken=taken, prefix=prefix)
            taken.add(name)
            out[our_id] = name
    return out


def _clip(text: Any, limit: int) -> str:
    value = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


# -- building the full state -----------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """The full set of rows a plan needs in Salesforce, with our ids for each key."""

    model: pd.DataFrame
    types: pd.DataFrame
    territories: pd.DataFrame
    users: pd.DataFrame
    objects: pd.DataFrame
    forecast: pd.DataFrame
    keys: pd.DataFrame


def _text_ids(series: pd.Series) -> pd.Series:
    values = [None if pd.isna(v) else str(v) for v in series.astype(object)]
    return pd.Series(values, index=series.index, dtype=object)


def _build_state(
    plan: PlanData, options: SalesforceOptions, previous_keys: pd.DataFrame | None
) -> _State:
    problems: list[Problem] = []
    prev: dict[str, dict[str, str]] = {o: {} for o in OBJECTS[:3]}
    if previous_keys is not None:
        for obj, our, dev in previous_keys[["object", "id", DEV]].itertuples(index=False):
            prev.setdefault(str(obj), {})[str(our)] = str(dev)

    # model
    model_dev = options.model_developer_name or prev["Territory2Model"].get(
        plan.scenario_id
    ) or developer_name(plan.scenario_name or plan.scenario_id, prefix="M")
    model = pd.DataFrame(
        {DEV: [model_dev], "Name": [_clip(plan.scenario_name or plan.scenario_id, _MAX_NAME)],
         "Description": [f"Territory Planner scenario {plan.scenario_id}"]}
    )

    # territories and their types
    terr = plan.territories
    tree = TerritoryTree.of(terr)
    order = tree.ordered()
    by_id = terr.assign(**{s.TERRITORY_ID: terr[s.TERRITORY_ID].astype(str)}).set_index(
        s.TERRITORY_ID
    )
    type_of = {
        t: (str(v) if v is not None and v == v and str(v) else "geographic")
        for t, v in zip(by_id.index, by_id.get(s.TYPE_ID, pd.Series(None, index=by_id.index)),
                        strict=True)
    }
    types_frame = plan.territory_types
    type_rows = {}
    if len(types_frame):
        for row in types_frame.to_dict("records"):
            type_rows[str(row[s.TYPE_ID])] = row
    used_types = sorted(set(type_of.values()))
    type_dev = _assign_names(used_types, prev["Territory2Type"], "Type")
    types = pd.DataFrame(
        {
            DEV: [type_dev[t] for t in used_types],
            "MasterLabel": [
                _clip(type_rows.get(t, {}).get(s.NAME) or t, _MAX_NAME) for t in used_types
            ],
            "Priority": [int(type_rows.get(t, {}).get(s.PRIORITY) or 10) for t in used_types],
            "Description": [
                _clip(type_rows.get(t, {}).get(s.DESCRIPTION), _MAX_DESCRIPTION)
                for t in used_types
            ],
        }
    )
    terr_dev = _assign_names(order, prev["Territory2"], "T")
    names = by_id[s.NAME] if s.NAME in by_id.columns else pd.Series(None, index=by_id.index)
    territories = pd.DataFrame(
        {
            DEV: [terr_dev[t] for t in order],
            "Name": [_clip(names.get(t) or t, _MAX_NAME) for t in order],
            MODEL_REF: model_dev,
            TYPE_REF: [type_dev[type_of[t]] for t in order],
            PARENT_REF: [
                terr_dev[p] if (p := tree.parent[t]) is not None and p in terr_dev else ""
                for t in order
            ],
            "AccountAccessLevel": options.account_access,
            "OpportunityAccessLevel": options.opportunity_access,
            "CaseAccessLevel": options.case_access,
        }
    )

    # users in territories
    assoc = plan.associations
    if len(assoc):
        assoc = assoc[active_mask(assoc, options.as_of or plan.as_of or date.today())]
    assoc = assoc[assoc[s.TERRITORY_ID].astype(str).isin(terr_dev)] if len(assoc) else assoc
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
        for rid, value in zip(plan.reps[s.REP_ID].astype(str), plan.reps[options.user_column],
                              strict=True):
            if value is not None and value == value and str(value).strip():
                username[rid] = str(value).strip()
    user_rows: dict[tuple[str, str], tuple[int, str]] = {}
    no_user: set[str] = set()
    for rid, tid, role in zip(assoc[s.REP_ID].astype(str), assoc[s.TERRITORY_ID].astype(str),
                              assoc[s.ROLE].astype(str), strict=True):
        if rid not in username:
            no_user.add(rid)
            continue
        key = (username[rid], terr_dev[tid])
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
    pos = {d: i for i, d in enumerate(territories[DEV])}
    ordered = sorted(user_rows, key=lambda k: (pos[k[1]], k[0]))
    users = pd.DataFrame(
        {
            USER_REF: [k[0] for k in ordered],
            TERR_REF: [k[1] for k in ordered],
            ROLE_FIELD: [options.role_labels[user_rows[k][1]] for k in ordered],
        },
        columns=[USER_REF, TERR_REF, ROLE_FIELD],
    )

    # forecast user: the first active owner, else the first manager (by start date, then id)
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
        forecast_rows = [(terr_dev[t], username[chosen[t]]) for t in order if t in chosen]
    forecast = pd.DataFrame(forecast_rows, columns=[DEV, FORECAST_REF])

    # accounts in territories
    members = plan.memberships
    account_sf: dict[str, str] = {}
    if options.account_id_column != s.ACCOUNT_ID:
        if options.account_id_column not in plan.accounts.columns:
            problems.append(
                Problem(
                    f"accounts have no '{options.account_id_column}' column",
                    column=options.account_id_column,
                    fix="add the Salesforce account Ids, or use account_id_column='account_id'",
                )
            )
        else:
            pairs = zip(_text_ids(plan.accounts[s.ACCOUNT_ID]),
                        _text_ids(plan.accounts[options.account_id_column]), strict=True)
            account_sf = {a: v for a, v in pairs if a is not None and v}
    acc_ids = _text_ids(members[s.ACCOUNT_ID])
    tids = members[s.TERRITORY_ID].astype(str)
    known = tids.isin(terr_dev)
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
            TERR_REF: tids[known].map(terr_dev).to_numpy(),
            CAUSE_FIELD: MANUAL,
        },
        columns=[OBJECT_ID, TERR_REF, CAUSE_FIELD],
    )
    objects = objects.assign(_o=objects[TERR_REF].map(pos)).sort_values(
        ["_o", OBJECT_ID], kind="stable"
    ).drop(columns="_o").drop_duplicates([OBJECT_ID, TERR_REF]).reset_index(drop=True)
    if problems:
        raise InputError("the plan cannot be written as Salesforce load files", problems)

    keys = pd.DataFrame(
        [("Territory2Model", plan.scenario_id, model_dev)]
        + [("Territory2Type", t, type_dev[t]) for t in used_types]
        + [("Territory2", t, terr_dev[t]) for t in order],
        columns=["object", "id", DEV],
    )
    if account_sf:
        extra = pd.DataFrame(
            {"object": "Account", "id": list(account_sf), DEV: list(account_sf.values())}
        )
        keys = pd.concat([keys, extra], ignore_index=True)
    return _State(model, types, territories, users, objects, forecast, keys)


# -- load steps --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    name: str
    obj: str
    operation: Operation
    frame: pd.DataFrame
    key: tuple[str, ...]
    references: tuple[dict[str, Any], ...] = ()


def _ref(column: str, obj: str, field_name: str = DEV, *, external: bool = False) -> dict[str, Any]:
    return {"column": column, "object": obj, "field": field_name, "external": external}


_TERRITORY_REFS = (
    _ref(MODEL_REF, "Territory2Model"),
    _ref(TYPE_REF, "Territory2Type"),
    _ref(PARENT_REF, "Territory2"),
)
_USER_REFS = (_ref(USER_REF, "User", "Username", external=True), _ref(TERR_REF, "Territory2"))
_OBJECT_REFS = (_ref(OBJECT_ID, "Account", "Id", external=True), _ref(TERR_REF, "Territory2"))
_FORECAST_REFS = (_ref(DEV, "Territory2"), _ref(FORECAST_REF, "User", "Username", external=True))


def _depths(territories: pd.DataFrame, known_parent: Mapping[str, str] | None = None) -> pd.Series:
    """Depth of each row of a Territory2 frame below the roots (parents looked up by name)."""
    parent = dict(zip(territories[DEV], territories[PARENT_REF], strict=True))
    if known_parent:
        parent = {**known_parent, **parent}
    depth: dict[str, int] = {}

    def walk(name: str) -> int:
        chain = []
        node: str | None = name
        while node and node not in depth and node not in chain:
            chain.append(node)
            node = parent.get(node) or None
        base = depth.get(node, -1) if node else -1
        for n in reversed(chain):
            base += 1
            depth[n] = base
        return depth[name]

    return territories[DEV].map(walk)


def _by_level(step: _Step, known_parent: Mapping[str, str] | None = None) -> list[_Step]:
    """Split a Territory2 insert into one step per depth, so no row names a parent in its batch.

    Loaders send rows in batches and resolve external-id references before a
    batch is saved, so a parent and its child must not share a file.
    """
    if step.frame.empty:
        return [step]
    depth = _depths(step.frame, known_parent)
    steps = []
    for level in sorted(set(depth)):
        part = step.frame[(depth == level).to_numpy()].reset_index(drop=True)
        steps.append(
            _Step(f"{step.name}_level{level}", step.obj, step.operation, part, step.key,
                  step.references)
        )
    return steps


def _full_steps(state: _State) -> list[_Step]:
    territories = _Step(
        "Territory2", "Territory2", "insert", state.territories, (DEV,), _TERRITORY_REFS
    )
    return [
        _Step("Territory2Type", "Territory2Type", "insert", state.types, (DEV,)),
        _Step("Territory2Model", "Territory2Model", "insert", state.model, (DEV,)),
        *_by_level(territories),
        _Step(
            "UserTerritory2Association", "UserTerritory2Association", "insert", state.users,
            (USER_REF, TERR_REF), _USER_REFS,
        ),
        _Step(
            "ObjectTerritory2Association", "ObjectTerritory2Association", "insert",
            state.objects, (OBJECT_ID, TERR_REF), _OBJECT_REFS,
        ),
        _Step(
            "Territory2_ForecastUser", "Territory2", "update", state.forecast, (DEV,),
            _FORECAST_REFS,
        ),
    ]


def _keyed(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    return frame.set_index(list(key))


def _diff(
    old: pd.DataFrame, new: pd.DataFrame, key: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of ``new`` not in ``old``, rows of ``new`` whose other columns changed, keys gone."""
    o, n = _keyed(old.astype(str), key), _keyed(new.astype(str), key)
    added = n.index.difference(o.index, sort=False)
    gone = o.index.difference(n.index, sort=False)
    common = n.index.intersection(o.index, sort=False)
    cols = [c for c in n.columns if c in o.columns]
    if len(common) and cols:
        left = n.loc[common, cols]
        right = o.loc[common, cols].reindex(left.index)
        changed = left.index[(left != right).any(axis=1).to_numpy()]
    else:
        changed = common[:0]
    inserts = new[_keyed(new.astype(str), key).index.isin(added)]
    updates = new[_keyed(new.astype(str), key).index.isin(changed)]
    deletes = old[_keyed(old.astype(str), key).index.isin(gone)][list(key)]
    return inserts.reset_index(drop=True), updates.reset_index(drop=True), deletes.reset_index(
        drop=True
    )


def _delta_steps(old: _State, new: _State) -> list[_Step]:
    if old.model[DEV].iloc[0] != new.model[DEV].iloc[0]:
        raise InputError(
            "the previous export is of another territory model",
            [
                Problem(
                    f"previous model '{old.model[DEV].iloc[0]}', this one "
                    f"'{new.model[DEV].iloc[0]}'",
                    fix="export in full (without --since) to load a new model",
                )
            ],
        )
    t_ins, t_upd, t_del = _diff(old.types, new.types, (DEV,))
    tr_ins, tr_upd, tr_del = _diff(old.territories, new.territories, (DEV,))
    u_ins, u_upd, u_del = _diff(old.users, new.users, (USER_REF, TERR_REF))
    o_ins, _, o_del = _diff(old.objects, new.objects, (OBJECT_ID, TERR_REF))
    f_old = old.forecast.set_index(DEV)[FORECAST_REF] if len(old.forecast) else pd.Series(
        dtype=object)
    f_new = new.forecast.set_index(DEV)[FORECAST_REF] if len(new.forecast) else pd.Series(
        dtype=object)
    cleared = [d for d in f_old.index if d not in f_new.index]
    # a forecast user whose association is deleted must be cleared before the deletion
    leaving = set(zip(u_del[USER_REF], u_del[TERR_REF], strict=True)) if len(u_del) else set()
    swapped = [
        d for d in f_old.index
        if d in f_new.index and f_new[d] != f_old[d] and (f_old[d], d) in leaving
    ]
    clear = pd.DataFrame({DEV: cleared + swapped, FORECAST_REF: NULL_VALUE})
    clear = clear.assign(_o=clear[DEV].map({d: i for i, d in enumerate(old.territories[DEV])}))
    clear = clear.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    changed_forecast = [d for d in f_new.index if d not in f_old.index or f_new[d] != f_old[d]]
    forecast = new.forecast[new.forecast[DEV].isin(changed_forecast)].reset_index(drop=True)
    # territories are deleted children first: reverse of the previous order
    tr_del = tr_del.iloc[::-1].reset_index(drop=True)
    return [
        _Step("Territory2_ForecastUser_clear", "Territory2", "update", clear, (DEV,),
              (_ref(DEV, "Territory2"),)),
        _Step("ObjectTerritory2Association_delete", "ObjectTerritory2Association", "delete",
              o_del, (OBJECT_ID, TERR_REF), _OBJECT_REFS),
        _Step("UserTerritory2Association_delete", "UserTerritory2Association", "delete", u_del,
              (USER_REF, TERR_REF), _USER_REFS),
        _Step("Territory2Type_insert", "Territory2Type", "insert", t_ins, (DEV,)),
        _Step("Territory2Type_update", "Territory2Type", "update", t_upd, (DEV,)),
        *_by_level(
            _Step("Territory2_insert", "Territory2", "insert", tr_ins, (DEV,), _TERRITORY_REFS),
            dict(zip(new.territories[DEV], new.territories[PARENT_REF], strict=True)),
        ),
        _Step("Territory2_update", "Territory2", "update", tr_upd, (DEV,), _TERRITORY_REFS),
        _Step("UserTerritory2Association_insert", "UserTerritory2Association", "insert", u_ins,
              (USER_REF, TERR_REF), _USER_REFS),
        _Step("UserTerritory2Association_update", "UserTerritory2Association", "update", u_upd,
              (USER_REF, TERR_REF), _USER_REFS),
        _Step("ObjectTerritory2Association_insert", "ObjectTerritory2Association", "insert",
              o_ins, (OBJECT_ID, TERR_REF), _OBJECT_REFS),
        _Step("Territory2_ForecastUser", "Territory2", "update", forecast, (DEV,),
              _FORECAST_REFS),
        _Step("Territory2_delete", "Territory2", "delete", tr_del, (DEV,)),
        _Step("Territory2Type_delete", "Territory2Type", "delete", t_del, (DEV,)),
    ]


# -- reading and writing folders ---------------------------------------------------------


_STATE_FILES = {
    "model": "Territory2Model.csv",
    "types": "Territory2Type.csv",
    "territories": "Territory2.csv",
    "users": "UserTerritory2Association.csv",
    "objects": "ObjectTerritory2Association.csv",
    "forecast": "Territory2_ForecastUser.csv",
}


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                        encoding="utf-8-sig")
    return restore_frame(frame)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(
            f"{folder} is not an export of Territory Planner (no {MANIFEST})",
            [Problem(f"{MANIFEST} is missing", fix="give the folder a previous export wrote")],
        )
    try:
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON",
            [Problem(f"unreadable manifest: {exc}", fix="export again")],
        ) from exc
    return manifest


def read_state(folder: str | os.PathLike[str]) -> tuple[_State, dict[str, Any]]:
    """Read the full Salesforce state a previous export recorded, and its manifest.

    Raises
    ------
    InputError
        If the folder is not a Salesforce export of Territory Planner.
    """
    root = Path(folder)
    manifest = _read_manifest(root)
    if manifest.get("format") != "salesforce":
        raise InputError(
            f"{root} holds a {manifest.get('format')} export, not a Salesforce one",
            [Problem("a delta needs a previous Salesforce export", fix="pick the right folder")],
        )
    state_dir = root / STATE_DIR
    frames = {}
    missing = []
    for attr, name in _STATE_FILES.items():
        path = state_dir / name
        if not path.is_file():
            missing.append(name)
            continue
        frames[attr] = _read_csv(path)
    keys_path = root / KEYS_FILE
    if not keys_path.is_file():
        missing.append(KEYS_FILE)
    if missing:
        raise InputError(
            f"{root} is an incomplete Salesforce export",
            [Problem(f"missing {format_ids(missing)}", fix="export in full again")],
        )
    return _State(keys=_read_csv(keys_path), **frames), manifest


def _write_step(folder: Path, number: int, step: _Step) -> tuple[Path, dict[str, Any]]:
    name = f"{number:02d}_{step.name}.csv"
    path = write_csv(step.frame, folder / name)
    entry = {
        "step": number,
        "file": name,
        "object": step.obj,
        "operation": step.operation,
        "key": list(step.key),
        "references": list(step.references),
        "rows": len(step.frame),
    }
    return path, entry


def write_salesforce(
    plan: PlanData,
    out_dir: str | os.PathLike[str],
    *,
    since: str | os.PathLike[str] | None = None,
    options: SalesforceOptions | None = None,
) -> ExportResult:
    """Write the Salesforce load files of ``plan`` (or their delta from ``since``).

    Parameters
    ----------
    plan
        The plan.
    out_dir
        The folder to write (must not be ``since``).
    since
        A previous Salesforce export folder: write only the changes.
    options
        Access levels, username and account-id columns, role labels.

    Returns
    -------
    ExportResult
        The load files in load order (``manifest.json`` lists them with
        their operations and references).

    Raises
    ------
    InputError
        If users in territories lack a username, accounts lack a Salesforce
        Id, the hierarchy has a cycle, or ``since`` is not a Salesforce export
        of the same model.
    """
    opts = options or SalesforceOptions()
    previous: _State | None = None
    if since is not None:
        if Path(since).resolve() == Path(out_dir).resolve():
            raise InputError(
                "the delta cannot be written over the previous export",
                [Problem("--out equals --since", fix="write the delta to a new folder")],
            )
        previous, _ = read_state(since)
    state = _build_state(plan, opts, previous.keys if previous is not None else None)
    folder = prepare_out_dir(out_dir)
    for stale in folder.glob("[0-9][0-9]_*.csv"):
        stale.unlink()
    steps = _full_steps(state) if previous is None else _delta_steps(previous, state)
    written, entries = [], []
    for number, step in enumerate(steps, start=1):
        path, entry = _write_step(folder, number, step)
        written.append(path)
        entries.append(entry)
    state_dir = folder / STATE_DIR
    state_dir.mkdir(exist_ok=True)
    for attr, name in _STATE_FILES.items():
        write_csv(getattr(state, attr), state_dir / name)
    write_csv(state.keys, folder / KEYS_FILE)
    manifest = base_manifest(plan, "salesforce") | {
        "mode": "full" if previous is None else "delta",
        "since": None if since is None else str(Path(since).resolve()),
        "model": state.model[DEV].iloc[0],
        "files": entries,
        "state": {attr: f"{STATE_DIR}/{name}" for attr, name in _STATE_FILES.items()},
        "keys": KEYS_FILE,
        "null_value": NULL_VALUE,
    }
    write_manifest(folder, manifest)
    logger.info("wrote %s Salesforce export (%d steps) to %s", manifest["mode"], len(steps), folder)
    return ExportResult("salesforce", folder, tuple(written), manifest)


def load_files(folder: str | os.PathLike[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Read an export's load files in load order, each with its manifest entry."""
    root = Path(folder)
    manifest = _read_manifest(root)
    return [(e, _read_csv(root / e["file"])) for e in manifest.get("files", [])]


def check_load_order(
    folder: str | os.PathLike[str], *, previous: str | os.PathLike[str] | None = None
) -> list[Problem]:
    """Check that every reference in an export points to a record loaded before it.

    Walks the steps in order keeping the set of records that exist (those of
    ``previous`` first, for a delta); external references (users, accounts)
    are assumed to exist in the org.

    Returns
    -------
    list of Problem
        Empty when every step can load.
    """
    existing: dict[str, set[str]] = {"Territory2Type": set(), "Territory2Model": set(),
                                     "Territory2": set()}
    if previous is not None:
        old, _ = read_state(previous)
        existing["Territory2Type"] |= set(old.types[DEV])
        existing["Territory2Model"] |= set(old.model[DEV])
        existing["Territory2"] |= set(old.territories[DEV])
    problems = []
    for entry, frame in load_files(folder):
        for ref in entry["references"]:
            if ref["external"] or ref["column"] not in frame.columns:
                continue
            if entry["operation"] == "delete":
                continue
            values = {v for v in frame[ref["column"]] if v not in ("", NULL_VALUE)}
            if entry["operation"] == "insert" and ref["column"] == DEV:
                continue
            dangling = sorted(values - existing.get(ref["object"], set()))
            if dangling:
                problems.append(
                    Problem(
                        f"{entry['file']}: '{ref['column']}' names {ref['object']} records not "
                        f"loaded before: {format_ids(dangling)}",
                        column=ref["column"],
                        fix="load the referenced records in an earlier step",
                    )
                )
        if entry["object"] in existing and entry["key"] == [DEV]:
            if entry["operation"] == "insert":
                existing[entry["object"]] |= set(frame[DEV])
            elif entry["operation"] == "delete":
                existing[entry["object"]] -= set(frame[DEV])
    return problems
