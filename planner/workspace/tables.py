"""The tables of a workspace in memory, with change tracking and scenario-scoped rows.

:class:`WorkspaceTables` is the base of :class:`planner.workspace.Workspace`:
table access, the rows of one scenario, territory types, scenario lookups
and the audit log. Scenario lifecycle lives in
:mod:`planner.workspace.scenarios`, persistence in :mod:`planner.workspace.core`.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError, Problem
from planner.models import DEFAULT_TYPE, AuditEntry, Scenario, ScenarioState, TerritoryType
from planner.store import Store
from planner.workspace.changed_rows import (
    replace_rows,
    same_scenario_column,
    scenario_positions,
    take_rows,
)

__all__ = ["SCENARIO_TABLES", "TABLE_NAMES", "TrackedTables", "WorkspaceTables"]

#: The tables of a workspace, in the order they are written.
TABLE_NAMES = tuple(s.TABLES)
#: Tables whose rows belong to one scenario.
SCENARIO_TABLES = (
    "territories",
    "unit_assignment",
    "memberships",
    "overrides",
    "associations",
    "targets",
)


class TrackedTables(dict[str, pd.DataFrame]):
    """The workspace's tables; remembers which were replaced since the last commit.

    ``scoped`` is set by :meth:`Workspace.set_rows` so a replacement of one
    scenario's rows is compared only on that scenario. ``rows`` holds, per
    replaced table, the positions of the only rows that changed since the
    last commit when every replacement knew them (``None``: not known).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.touched: dict[str, set[str] | None] = {}
        self.rows: dict[str, np.ndarray | None] = {}
        self.scope: str | None = None

    def clean(self) -> None:
        """Forget what was replaced (the tables are as committed)."""
        self.touched.clear()
        self.rows.clear()

    def replace(self, key: str, value: pd.DataFrame, rows: np.ndarray) -> None:
        """Replace table ``key`` by ``value``, which differs from it only at positions ``rows``."""
        known = self.rows.get(key) if key in self.touched else np.array([], dtype=np.intp)
        self[key] = value
        if known is not None:
            self.rows[key] = np.union1d(known, rows)

    def __setitem__(self, key: str, value: pd.DataFrame) -> None:
        super().__setitem__(key, value)
        self.rows[key] = None
        if self.scope is None:
            self.touched[key] = None
        elif key not in self.touched:
            self.touched[key] = {self.scope}
        else:
            scopes = self.touched[key]
            if scopes is not None:
                scopes.add(self.scope)


@dataclass
class WorkspaceTables:
    """A workspace's tables and the operations on them that need no store.

    See :class:`planner.workspace.Workspace`, the class to use.
    """

    name: str = "workspace"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    path: Path | None = None
    description: str = ""
    store: Store | None = field(default=None, repr=False, compare=False)
    version: int = 0
    #: The given tables are conformed already (read from a store): take them as they are.
    conformed: InitVar[bool] = False

    def __post_init__(self, conformed: bool) -> None:
        given = self.tables
        self.tables = TrackedTables()
        for table in TABLE_NAMES:
            frame = given.get(table)
            if frame is None:
                frame = s.empty_frame(table)
            elif not conformed:
                frame = conform(frame, table)
            self.tables[table] = frame
        if self.territory_types.empty:
            self.add_territory_type(DEFAULT_TYPE)
        self._baseline: dict[str, pd.DataFrame] = dict(self.tables)
        self._tracked().clean()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the tables, not the connection: a copy (a cache, another process) is detached.

        An unpickled workspace has no store; :meth:`save` writes it to a file.
        """
        state = dict(self.__dict__)
        state["store"] = None
        return state

    def _tracked(self) -> TrackedTables:
        if not isinstance(self.tables, TrackedTables):  # someone assigned a plain dict
            tracked = TrackedTables(self.tables)
            tracked.touched = {t: None for t in TABLE_NAMES}
            self.tables = tracked
        return self.tables

    # -- table access ---------------------------------------------------------
    @property
    def accounts(self) -> gpd.GeoDataFrame:
        """Accounts: points with attributes."""
        return self.tables["accounts"]

    @property
    def reps(self) -> gpd.GeoDataFrame:
        """Reps and other users; geometry is the home base."""
        return self.tables["reps"]

    @property
    def units(self) -> gpd.GeoDataFrame:
        """Building-block polygons (counties, ZIP areas, H3 cells)."""
        return self.tables["units"]

    @property
    def territory_types(self) -> pd.DataFrame:
        """Territory types with their priorities."""
        return self.tables["territory_types"]

    @property
    def scenarios(self) -> pd.DataFrame:
        """Every scenario's row."""
        return self.tables["scenarios"]

    @property
    def opportunities(self) -> pd.DataFrame:
        """CRM opportunities (won, lost, open) kept for reports and quota proposals."""
        return self.tables["opportunities"]

    @property
    def audit(self) -> pd.DataFrame:
        """The audit log, oldest first."""
        return self.tables["audit"]

    def set_table(self, table: str, frame: pd.DataFrame, *, validate: bool = True) -> None:
        """Replace a whole table.

        When ``frame`` has the table's rows in their places with a few values
        changed (the usual edit), only the changed rows are shaped and
        checked, and the next commit compares only them
        (:mod:`planner.workspace.changed_rows`).

        Parameters
        ----------
        table
            A key of :data:`planner.schema.TABLES`.
        frame
            The new rows.
        validate
            Check the frame against the table's schema first.

        Raises
        ------
        InputError
            If ``frame`` does not match the schema.
        """
        if table not in s.TABLES:
            raise InputError(
                f"unknown table '{table}'",
                [Problem(f"unknown table '{table}'", fix=f"use one of {', '.join(s.TABLES)}")],
            )
        old = self.tables[table]
        edit = replace_rows(old, frame, table, validate=validate)
        if edit is not None:  # a few rows changed: only those are checked (and compared at commit)
            if len(edit.rows):
                self._tracked().replace(table, edit.frame, edit.rows)
            return
        conformed = conform(frame, table)
        if validate:
            s.validate_frame(conformed, table)
        self.tables[table] = conformed

    # -- scenario-scoped rows -------------------------------------------------
    def rows(self, table: str, scenario_id: str) -> pd.DataFrame:
        """Return the rows of scenario-scoped ``table`` that belong to ``scenario_id``.

        Raises
        ------
        InputError
            If there is no such scenario.
        """
        self._require_scenario(scenario_id)
        frame = self.tables[table]
        return take_rows(frame, scenario_positions(frame, scenario_id))

    def set_rows(
        self, table: str, scenario_id: str, frame: pd.DataFrame, *, validate: bool = True
    ) -> None:
        """Replace the rows of ``table`` that belong to ``scenario_id``.

        Rows given in the order :meth:`rows` returned them, with a few values
        changed, cost what they change (see :meth:`set_table`).

        Parameters
        ----------
        table
            One of the scenario-scoped tables.
        scenario_id
            The scenario; it must exist.
        frame
            The new rows; their ``scenario_id`` column is set for you.
        validate
            Check the result against the table's schema.
        """
        self._require_scenario(scenario_id)
        old = self.tables[table]
        at = scenario_positions(old, scenario_id)
        new = frame.copy(deep=False)  # copy-on-write: the caller's frame is never changed
        if not same_scenario_column(old, new, at):
            ids = np.repeat(np.array([scenario_id], dtype=object), len(new))
            new[s.SCENARIO_ID] = pd.Series(ids, index=new.index, dtype=object)
        if self._replaced_few(table, old, new, at, validate):
            return
        new = conform(new, table)
        if validate:
            s.validate_frame(new, table)
        keep = old[old[s.SCENARIO_ID] != scenario_id]
        combined = pd.concat([keep, new], ignore_index=True) if len(keep) else new
        if isinstance(new, gpd.GeoDataFrame):
            combined = gpd.GeoDataFrame(combined, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
        same_shape = list(keep.columns) == list(new.columns) and keep.dtypes.equals(new.dtypes)
        if len(keep) and not same_shape:  # two conformed parts of one shape need no more
            combined = conform(combined, table)
        tracked = self._tracked()
        tracked.scope = scenario_id
        try:
            tracked[table] = combined
        finally:
            tracked.scope = None

    def _replaced_few(
        self, table: str, old: pd.DataFrame, new: pd.DataFrame, at: np.ndarray, validate: bool
    ) -> bool:
        """Put ``new`` in place of the rows at ``at`` when only a few changed; tell if done."""
        if not len(at) or len(at) != len(new):
            return False
        whole = len(at) == len(old)
        edit = replace_rows(old, new, table, positions=None if whole else at, validate=validate)
        if edit is None:
            return False
        if len(edit.rows):
            self._tracked().replace(table, edit.frame, edit.rows)
        return True

    def territories(self, scenario_id: str | None = None) -> gpd.GeoDataFrame:
        """Territories of a scenario (the active one by default)."""
        sid = scenario_id or self.active_scenario_id()
        return self.rows("territories", sid)

    def memberships(self, scenario_id: str | None = None) -> pd.DataFrame:
        """Account memberships of a scenario (the active one by default)."""
        return self.rows("memberships", scenario_id or self.active_scenario_id())

    def associations(self, scenario_id: str | None = None) -> pd.DataFrame:
        """User-territory associations of a scenario (the active one by default)."""
        return self.rows("associations", scenario_id or self.active_scenario_id())

    # -- territory types ------------------------------------------------------
    def add_territory_type(self, ttype: TerritoryType) -> None:
        """Add or replace a territory type."""
        frame = self.tables["territory_types"]
        frame = frame[frame[s.TYPE_ID] != ttype.type_id]
        row = pd.DataFrame(
            [
                {
                    s.TYPE_ID: ttype.type_id,
                    s.NAME: ttype.name or ttype.type_id,
                    s.PRIORITY: ttype.priority,
                    s.DESCRIPTION: ttype.description,
                }
            ]
        )
        merged = pd.concat([frame, row], ignore_index=True) if len(frame) else row
        self.tables["territory_types"] = conform(merged, "territory_types")

    # -- scenarios ------------------------------------------------------------
    def scenario(self, scenario_id: str) -> Scenario:
        """Return scenario ``scenario_id``.

        Raises
        ------
        InputError
            If there is no such scenario.
        """
        self._require_scenario(scenario_id)
        frame = self.scenarios
        row = frame[frame[s.SCENARIO_ID] == scenario_id].iloc[0]
        return Scenario.from_row(row.to_dict())

    def scenario_list(self) -> list[Scenario]:
        """Return every scenario, in the order they were added."""
        return [Scenario.from_row(r) for r in self.scenarios.to_dict("records")]

    def active_scenario_id(self) -> str:
        """Return the id of the active scenario.

        Falls back to the most recent planning scenario when none is active.

        Raises
        ------
        InputError
            If the workspace has no scenario at all.
        """
        frame = self.scenarios
        if frame.empty:
            raise InputError(
                "the workspace has no scenario",
                [Problem("the workspace has no scenario", fix="add one with add_scenario()")],
            )
        active = frame[frame[s.STATE] == ScenarioState.ACTIVE]
        if len(active):
            return str(active.iloc[0][s.SCENARIO_ID])
        planning = frame[frame[s.STATE] == ScenarioState.PLANNING]
        pick = planning if len(planning) else frame
        return str(pick.iloc[-1][s.SCENARIO_ID])

    def _require_scenario(self, scenario_id: str) -> None:
        known = self.scenarios[s.SCENARIO_ID].tolist()
        if scenario_id not in known:
            raise InputError(
                f"unknown scenario '{scenario_id}'",
                [Problem(f"unknown scenario '{scenario_id}'", fix=f"use one of {known}")],
            )

    # -- audit ----------------------------------------------------------------
    def log(
        self,
        action: str,
        detail: dict[str, Any] | None = None,
        *,
        user: str | None = None,
        scenario_id: str | None = None,
    ) -> AuditEntry:
        """Append an entry to the audit log and return it."""
        entry = AuditEntry(action, detail or {}, user=user, scenario_id=scenario_id)
        row = pd.DataFrame([entry.to_row()])
        frame = self.tables["audit"]
        merged = pd.concat([frame, row], ignore_index=True) if len(frame) else row
        self.tables["audit"] = conform(merged, "audit")
        return entry
