"""Scenario lifecycle of a workspace: add, copy, promote, delete; summary and admins."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError, Problem
from planner.models import Scenario, ScenarioState
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
        for table in SCENARIO_TABLES:
            self.set_rows(table, new_id, self.rows(table, source_id), validate=False)
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
