"""Scenario lifecycle of a workspace: add, copy, promote, delete; summary and admins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError, Problem
from planner.models import Scenario, ScenarioState
from planner.workspace.changed_rows import append_rows, scenario_positions
from planner.workspace.tables import SCENARIO_TABLES, WorkspaceTables

__all__ = ["WorkspaceScenarios"]


class WorkspaceScenarios(WorkspaceTables):
    """Scenario lifecycle (planning -> active -> archived) on top of the tables."""

    def add_scenario(self, scenario: Scenario, *, user: str | None = None) -> Scenario:
        """Add a new scenario.

        A new scenario may not be added as active while another is active:
        add it as planning and :meth:`promote` it.

        Raises
        ------
        InputError
            If the id is taken, or it is active while another is.
        """
        frame = self.scenarios
        if (frame[s.SCENARIO_ID] == scenario.scenario_id).any():
            raise InputError(
                f"scenario '{scenario.scenario_id}' already exists",
                [Problem("scenario id taken", fix="choose another scenario_id")],
            )
        if scenario.state == ScenarioState.ACTIVE and (frame[s.STATE] == "active").any():
            raise InputError(
                f"scenario '{scenario.scenario_id}' cannot be added as active",
                [Problem("another scenario is active", fix="add it as planning, then promote it")],
            )
        row = pd.DataFrame([scenario.to_row()])
        merged = pd.concat([frame, row], ignore_index=True) if len(frame) else row
        self.tables["scenarios"] = conform(merged, "scenarios")
        self.log(
            "scenario.add", {"name": scenario.name}, user=user, scenario_id=scenario.scenario_id
        )
        return scenario

    def update_scenario(self, scenario: Scenario) -> None:
        """Replace the stored row of an existing scenario (parameters, metrics, name)."""
        self._require_scenario(scenario.scenario_id)
        frame = self.scenarios.copy()
        mask = frame[s.SCENARIO_ID] == scenario.scenario_id
        row = scenario.to_row()
        for key, value in row.items():
            frame.loc[mask, key] = value
        self.tables["scenarios"] = conform(frame, "scenarios")

    def copy_scenario(
        self,
        source_id: str,
        new_id: str,
        *,
        name: str = "",
        user: str | None = None,
        parameters: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> Scenario:
        """Copy a scenario with all its rows into a new planning scenario."""
        source = self.scenario(source_id)
        new = Scenario(
            new_id,
            name=name or f"Copy of {source.name or source_id}",
            state=ScenarioState.PLANNING,
            created_from=source_id,
            parameters=parameters if parameters is not None else dict(source.parameters),
            metrics=metrics if metrics is not None else dict(source.metrics),
        )
        self.add_scenario(new, user=user)
        rows = {table: self.rows(table, source_id) for table in SCENARIO_TABLES}
        self.add_scenario_rows(new_id, rows, validate=False)
        return new

    def add_scenario_rows(
        self, scenario_id: str, rows: Mapping[str, pd.DataFrame], *, validate: bool = True
    ) -> None:
        """Give a new scenario its rows: each table gets them after its own rows, at once.

        The tables are extended in the order of
        :data:`~planner.workspace.tables.SCENARIO_TABLES` (that of a copy).
        Only the new rows are shaped and checked, and the next commit records
        them as inserts without comparing the tables
        (:func:`planner.workspace.changed_rows.diff_pending`). The tables end
        as :meth:`set_rows` would leave them; where the scenario has rows
        already, they are replaced by :meth:`set_rows`.

        Parameters
        ----------
        scenario_id
            The scenario; it must exist.
        rows
            Per scenario-scoped table, the scenario's rows (their
            ``scenario_id`` column is set for you).
        validate
            Check the rows against the table's schema.

        Raises
        ------
        InputError
            If the scenario is unknown, a table is not scenario-scoped, or
            the rows do not match the schema (nothing is changed then).
        """
        self._require_scenario(scenario_id)
        unknown = sorted(set(rows) - set(SCENARIO_TABLES))
        if unknown:
            raise InputError(
                f"tables {unknown} do not hold scenario rows",
                [Problem(f"unknown scenario tables {unknown}", fix=f"use {list(SCENARIO_TABLES)}")],
            )
        order = [t for t in SCENARIO_TABLES if t in rows]  # as a copy writes them
        fresh = {t: self._new_rows(t, scenario_id, rows[t], validate) for t in order}
        tracked = self._tracked()
        for table, frame in fresh.items():
            old = self.tables[table]
            if len(scenario_positions(old, scenario_id)):
                self.set_rows(table, scenario_id, rows[table], validate=validate)
                continue
            tracked.scope = scenario_id
            try:
                tracked[table] = append_rows(old, frame, table).frame
            finally:
                tracked.scope = None

    @staticmethod
    def _new_rows(
        table: str, scenario_id: str, frame: pd.DataFrame, validate: bool
    ) -> pd.DataFrame:
        """``frame`` as rows of ``scenario_id`` in ``table``: conformed (and checked)."""
        new = frame.copy(deep=False)  # copy-on-write: the caller's frame is never changed
        ids = np.repeat(np.array([scenario_id], dtype=object), len(new))
        new[s.SCENARIO_ID] = pd.Series(ids, index=new.index, dtype=object)
        new = conform(new, table)
        if validate:
            s.validate_frame(new, table)
        return new

    def promote(self, scenario_id: str, *, user: str | None = None) -> None:
        """Make ``scenario_id`` active; the previously active one becomes archived.

        This is the lifecycle of Salesforce territory models: planning ->
        active -> archived. An archived scenario cannot be promoted again:
        copy it first.

        Raises
        ------
        InputError
            If the scenario is unknown or archived.
        """
        target = self.scenario(scenario_id)
        if target.state == ScenarioState.ARCHIVED:
            raise InputError(
                f"scenario '{scenario_id}' is archived and cannot become active",
                [Problem("archived scenarios are read-only", fix="copy it, then promote the copy")],
            )
        frame = self.scenarios.copy()
        previous = frame.loc[frame[s.STATE] == "active", s.SCENARIO_ID].tolist()
        frame.loc[frame[s.STATE] == "active", s.STATE] = "archived"
        frame.loc[frame[s.SCENARIO_ID] == scenario_id, s.STATE] = "active"
        self.tables["scenarios"] = conform(frame, "scenarios")
        self.log(
            "scenario.promote",
            {"archived": [p for p in previous if p != scenario_id]},
            user=user,
            scenario_id=scenario_id,
        )

    def delete_scenario(self, scenario_id: str, *, user: str | None = None) -> None:
        """Delete a planning or archived scenario and all its rows.

        Raises
        ------
        InputError
            If it is the active scenario.
        """
        if self.scenario(scenario_id).state == ScenarioState.ACTIVE:
            raise InputError(
                f"scenario '{scenario_id}' is active and cannot be deleted",
                [Problem("the active scenario cannot be deleted", fix="promote another first")],
            )
        for table in SCENARIO_TABLES:
            frame = self.tables[table]
            self.tables[table] = conform(frame[frame[s.SCENARIO_ID] != scenario_id], table)
        frame = self.scenarios
        self.tables["scenarios"] = conform(frame[frame[s.SCENARIO_ID] != scenario_id], "scenarios")
        self.log("scenario.delete", {}, user=user, scenario_id=scenario_id)

    # -- summary --------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return counts, scenarios and hierarchy depth as a JSON-friendly dict."""
        scenarios = []
        for sc in self.scenario_list():
            terr = self.rows("territories", sc.scenario_id)
            levels = int(terr[s.LEVEL].nunique())  # levels present (a rep's view starts lower)
            scenarios.append(
                {
                    "scenario_id": sc.scenario_id,
                    "name": sc.name,
                    "state": str(sc.state),
                    "territories": len(terr),
                    "hierarchy_levels": levels,
                    "memberships": len(self.rows("memberships", sc.scenario_id)),
                }
            )
        try:
            active = self.active_scenario_id()
        except InputError:
            active = None
        depth = next((x["hierarchy_levels"] for x in scenarios if x["scenario_id"] == active), 0)
        return {
            "name": self.name,
            "description": self.description,
            "schema_version": s.SCHEMA_VERSION,
            "accounts": len(self.accounts),
            "reps": len(self.reps),
            "units": len(self.units),
            "territory_types": len(self.territory_types),
            "scenarios": scenarios,
            "active_scenario": active,
            "hierarchy_depth": depth,
            "audit_entries": len(self.audit),
        }

    def ensure_admin(
        self,
        user_id: str,
        *,
        name: str | None = None,
        password_hash: str | None = None,
        email: str | None = None,
    ) -> None:
        """Make ``user_id`` an admin of this workspace (adding the user if needed).

        Used when someone imports data into a new workspace: the importer
        owns it, keeping their password, instead of it opening to anybody.
        """
        reps = self.reps.copy()
        ids = reps[s.REP_ID].astype(str)
        if (ids == user_id).any():
            reps.loc[ids == user_id, s.ROLE] = "admin"
            if password_hash and s.is_missing(reps.loc[ids == user_id, s.PASSWORD_HASH].iloc[0]):
                reps.loc[ids == user_id, s.PASSWORD_HASH] = password_hash
        else:
            row = {
                s.REP_ID: user_id,
                s.NAME: name or user_id,
                s.ROLE: "admin",
                s.EMAIL: email,
                s.PASSWORD_HASH: password_hash,
            }
            new = gpd.GeoDataFrame([row], geometry=[None], crs=s.STORAGE_CRS)
            reps = pd.concat([reps, new], ignore_index=True) if len(reps) else new
        self.set_table("reps", reps)
