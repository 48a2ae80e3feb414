"""What a Salesforce org holds, with each record's Id: the base of a delta that deletes by Id.

An :class:`EtmSnapshot` is the :class:`~planner.export.salesforce_state.SalesforceState`
read from a Salesforce ETM export (:mod:`planner.export.etm_read`), each frame
with an ``Id`` column. The delta against it (:func:`with_ids`) gives every
delete and update row the record's Id, as Data Loader's delete and update need;
the snapshot is kept in the imported scenario's parameters (:meth:`to_json`), so
a later export can write the delta against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from planner.errors import InputError, Problem
from planner.export.salesforce_names import DEV, OBJECT_ID, TERR_REF, USER_REF
from planner.export.salesforce_state import SalesforceState
from planner.export.salesforce_steps import LoadStep

__all__ = ["ID", "PARAMETER", "EtmSnapshot", "snapshot_of_scenario"]

#: Column of the Salesforce record Id.
ID = "Id"
#: Key of the snapshot in a scenario's ``parameters``.
PARAMETER = "salesforce_etm"

#: Object -> attribute of the state holding its rows, and the key columns naming a record.
_RECORDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Territory2Type": ("types", (DEV,)),
    "Territory2Model": ("model", (DEV,)),
    "Territory2": ("territories", (DEV,)),
    "UserTerritory2Association": ("users", (USER_REF, TERR_REF)),
    "ObjectTerritory2Association": ("objects", (OBJECT_ID, TERR_REF)),
}

_ACCESS = ("AccountAccessLevel", "OpportunityAccessLevel", "CaseAccessLevel")


@dataclass(frozen=True)
class EtmSnapshot:
    """The records of one territory model in Salesforce, each with its Id.

    Parameters
    ----------
    state
        The records as our export names them; every frame but ``forecast``
        and ``keys`` has an ``Id`` column.
    model_id
        The Territory2Model's Id.
    source
        The export the snapshot was read from.
    """

    state: SalesforceState
    model_id: str
    source: str = ""

    @property
    def model(self) -> str:
        """The model's DeveloperName."""
        return str(self.state.model[DEV].iloc[0])

    def plain_state(self) -> SalesforceState:
        """The state without the Id columns (what a delta compares)."""
        return replace(
            self.state,
            **{
                f.name: getattr(self.state, f.name).drop(columns=[ID], errors="ignore")
                for f in fields(self.state)
            },
        )

    def record_id(self, obj: str, key: tuple[str, ...]) -> str | None:
        """The Id of the record of ``obj`` named by ``key`` (its key columns' values)."""
        return self._ids().get(obj, {}).get(key)

    def _ids(self) -> dict[str, dict[tuple[str, ...], str]]:
        out: dict[str, dict[tuple[str, ...], str]] = {}
        for obj, (attr, key) in _RECORDS.items():
            frame = getattr(self.state, attr)
            if ID not in frame.columns or not len(frame):
                out[obj] = {}
                continue
            rows = frame[[*key, ID]].astype(str).itertuples(index=False, name=None)
            out[obj] = {tuple(r[:-1]): r[-1] for r in rows}
        return out

    def with_ids(self, step: LoadStep) -> LoadStep:
        """``step`` with the Id of each row's record first, for deletes and updates.

        A delete then needs only the ``Id`` column (Data Loader's delete reads
        nothing else); an update carries the Id and the new field values (an
        empty Id for a record the same delta inserts: match it by its key).

        Raises
        ------
        InputError
            If a row to delete or update names a record the snapshot lacks.
        """
        if step.operation == "insert" or step.obj not in _RECORDS or not len(step.frame):
            return step
        ids = self._ids()[step.obj]
        key = _RECORDS[step.obj][1]
        values = [
            ids.get(tuple(str(v) for v in row))
            for row in step.frame[list(key)].itertuples(index=False, name=None)
        ]
        unknown = [i for i, v in enumerate(values) if v is None]
        if unknown and step.operation == "delete":
            raise InputError(
                f"{step.name}: {len(unknown)} rows name {step.obj} records without a Salesforce Id",
                [
                    Problem(
                        f"no Id for {step.obj} rows to delete",
                        rows=tuple(i + 2 for i in unknown[:50]),
                        fix="write the delta against the Salesforce export the plan came from",
                    )
                ],
            )
        frame = step.frame.copy()
        frame.insert(0, ID, [v or "" for v in values])
        new_key = (ID,) if step.operation == "delete" else (ID, *step.key)
        return replace(step, frame=frame, key=new_key)

    def keep_access(self, state: SalesforceState) -> SalesforceState:
        """``state`` with the access levels Salesforce has for territories it already holds.

        The planner keeps no access level per territory, so a delta leaves
        those set in Salesforce alone (new territories get the export's options).
        """
        old = self.state.territories
        columns = [c for c in _ACCESS if c in old.columns and c in state.territories.columns]
        if not columns or not len(old):
            return state
        territories = state.territories.copy()
        by_name = old.drop_duplicates(DEV).set_index(DEV)
        known = territories[DEV].isin(by_name.index)
        for column in columns:
            territories.loc[known, column] = territories.loc[known, DEV].map(by_name[column])
        return replace(state, territories=territories)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly form (for a scenario's ``parameters``)."""
        return {
            "model_id": self.model_id,
            "source": self.source,
            "state": {
                f.name: getattr(self.state, f.name).astype(str).to_dict("split")
                for f in fields(self.state)
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EtmSnapshot:
        """Rebuild a snapshot written by :meth:`to_json`.

        Raises
        ------
        InputError
            If ``data`` is not such a snapshot.
        """
        try:
            frames = {
                f.name: pd.DataFrame(
                    data["state"][f.name]["data"], columns=data["state"][f.name]["columns"]
                )
                for f in fields(SalesforceState)
            }
            return cls(SalesforceState(**frames), str(data["model_id"]), str(data["source"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                "the scenario's Salesforce snapshot is unreadable",
                [Problem(f"bad snapshot: {exc}", fix="import the Salesforce export again")],
            ) from exc


def snapshot_of_scenario(parameters: Mapping[str, Any], scenario_id: str) -> EtmSnapshot:
    """The Salesforce snapshot kept in a scenario's ``parameters``.

    Raises
    ------
    InputError
        If the scenario was not imported from a Salesforce ETM export.
    """
    data = parameters.get(PARAMETER)
    if not isinstance(data, Mapping):
        raise InputError(
            f"scenario '{scenario_id}' was not imported from a Salesforce export",
            [
                Problem(
                    "no Salesforce Ids are recorded for it",
                    fix="import the export with `planner import salesforce DIR`, "
                    "or give the previous export folder",
                )
            ],
        )
    return EtmSnapshot.from_json(data)
