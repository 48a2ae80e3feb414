"""The steps of a Salesforce load: full (in load order) or the delta from a previous export.

Each step is one CSV a loader runs: an object, an operation, the key columns
and the references to records an earlier step created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from planner.errors import InputError, Problem
from planner.export.salesforce_names import (
    DEV,
    FORECAST_REF,
    MODEL_REF,
    NULL_VALUE,
    OBJECT_ID,
    PARENT_REF,
    TERR_REF,
    TYPE_REF,
    USER_REF,
)
from planner.export.salesforce_state import SalesforceState
from planner.schema import text_or_none
from planner.tree import TerritoryTree

__all__ = ["LoadStep", "Operation", "delta_steps", "full_steps"]

Operation = Literal["insert", "update", "delete"]


# -- load steps --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadStep:
    """One load file: its name, object, operation, rows, key and references."""

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
    tree = TerritoryTree({str(k): text_or_none(v) for k, v in parent.items()})
    return territories[DEV].map(lambda name: tree.depth(str(name)))


def _by_level(step: LoadStep, known_parent: Mapping[str, str] | None = None) -> list[LoadStep]:
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
            LoadStep(
                f"{step.name}_level{level}",
                step.obj,
                step.operation,
                part,
                step.key,
                step.references,
            )
        )
    return steps


def full_steps(state: SalesforceState) -> list[LoadStep]:
    """The steps of a full load of ``state``, in load order."""
    territories = LoadStep(
        "Territory2", "Territory2", "insert", state.territories, (DEV,), _TERRITORY_REFS
    )
    return [
        LoadStep("Territory2Type", "Territory2Type", "insert", state.types, (DEV,)),
        LoadStep("Territory2Model", "Territory2Model", "insert", state.model, (DEV,)),
        *_by_level(territories),
        LoadStep(
            "UserTerritory2Association",
            "UserTerritory2Association",
            "insert",
            state.users,
            (USER_REF, TERR_REF),
            _USER_REFS,
        ),
        LoadStep(
            "ObjectTerritory2Association",
            "ObjectTerritory2Association",
            "insert",
            state.objects,
            (OBJECT_ID, TERR_REF),
            _OBJECT_REFS,
        ),
        LoadStep(
            "Territory2_ForecastUser",
            "Territory2",
            "update",
            state.forecast,
            (DEV,),
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
    return (
        inserts.reset_index(drop=True),
        updates.reset_index(drop=True),
        deletes.reset_index(drop=True),
    )


def delta_steps(old: SalesforceState, new: SalesforceState) -> list[LoadStep]:
    """The steps that turn ``old`` (a previous export's state) into ``new``.

    Raises
    ------
    InputError
        If the two states are of different territory models.
    """
    _check_same_model(old, new)
    t_ins, t_upd, t_del = _diff(old.types, new.types, (DEV,))
    tr_ins, tr_upd, tr_del = _diff(old.territories, new.territories, (DEV,))
    u_ins, u_upd, u_del = _diff(old.users, new.users, (USER_REF, TERR_REF))
    o_ins, _, o_del = _diff(old.objects, new.objects, (OBJECT_ID, TERR_REF))
    clear, forecast = _forecast_changes(old, new, u_del)
    # territories are deleted children first: reverse of the previous order
    tr_del = tr_del.iloc[::-1].reset_index(drop=True)
    return [
        LoadStep(
            "Territory2_ForecastUser_clear",
            "Territory2",
            "update",
            clear,
            (DEV,),
            (_ref(DEV, "Territory2"),),
        ),
        LoadStep(
            "ObjectTerritory2Association_delete",
            "ObjectTerritory2Association",
            "delete",
            o_del,
            (OBJECT_ID, TERR_REF),
            _OBJECT_REFS,
        ),
        LoadStep(
            "UserTerritory2Association_delete",
            "UserTerritory2Association",
            "delete",
            u_del,
            (USER_REF, TERR_REF),
            _USER_REFS,
        ),
        LoadStep("Territory2Type_insert", "Territory2Type", "insert", t_ins, (DEV,)),
        LoadStep("Territory2Type_update", "Territory2Type", "update", t_upd, (DEV,)),
        *_by_level(
            LoadStep("Territory2_insert", "Territory2", "insert", tr_ins, (DEV,), _TERRITORY_REFS),
            dict(zip(new.territories[DEV], new.territories[PARENT_REF], strict=True)),
        ),
        LoadStep("Territory2_update", "Territory2", "update", tr_upd, (DEV,), _TERRITORY_REFS),
        LoadStep(
            "UserTerritory2Association_insert",
            "UserTerritory2Association",
            "insert",
            u_ins,
            (USER_REF, TERR_REF),
            _USER_REFS,
        ),
        LoadStep(
            "UserTerritory2Association_update",
            "UserTerritory2Association",
            "update",
            u_upd,
            (USER_REF, TERR_REF),
            _USER_REFS,
        ),
        LoadStep(
            "ObjectTerritory2Association_insert",
            "ObjectTerritory2Association",
            "insert",
            o_ins,
            (OBJECT_ID, TERR_REF),
            _OBJECT_REFS,
        ),
        LoadStep(
            "Territory2_ForecastUser", "Territory2", "update", forecast, (DEV,), _FORECAST_REFS
        ),
        LoadStep("Territory2_delete", "Territory2", "delete", tr_del, (DEV,)),
        LoadStep("Territory2Type_delete", "Territory2Type", "delete", t_del, (DEV,)),
    ]


def _check_same_model(old: SalesforceState, new: SalesforceState) -> None:
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


def _forecast_changes(
    old: SalesforceState, new: SalesforceState, user_deletes: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast users to clear first (gone, or leaving with a deleted association), and to set."""
    f_old = (
        old.forecast.set_index(DEV)[FORECAST_REF] if len(old.forecast) else pd.Series(dtype=object)
    )
    f_new = (
        new.forecast.set_index(DEV)[FORECAST_REF] if len(new.forecast) else pd.Series(dtype=object)
    )
    cleared = [d for d in f_old.index if d not in f_new.index]
    # a forecast user whose association is deleted must be cleared before the deletion
    leaving = (
        set(zip(user_deletes[USER_REF], user_deletes[TERR_REF], strict=True))
        if len(user_deletes)
        else set()
    )
    swapped = [
        d
        for d in f_old.index
        if d in f_new.index and f_new[d] != f_old[d] and (f_old[d], d) in leaving
    ]
    clear = pd.DataFrame({DEV: cleared + swapped, FORECAST_REF: NULL_VALUE})
    clear = clear.assign(_o=clear[DEV].map({d: i for i, d in enumerate(old.territories[DEV])}))
    clear = clear.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    changed_forecast = [d for d in f_new.index if d not in f_old.index or f_new[d] != f_old[d]]
    forecast = new.forecast[new.forecast[DEV].isin(changed_forecast)].reset_index(drop=True)
    return clear, forecast
