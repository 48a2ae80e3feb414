"""Load and save a workspace (one GeoPackage file), its scenarios and its audit log.

A workspace holds every table of :data:`planner.schema.TABLES` plus a small
``meta`` table with the schema version. Saving is atomic: the tables are
written to a temporary file beside the target, which is flushed, fsynced and
then moved over the target with :func:`os.replace`, so a failure at any point
leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
import pyogrio

from planner import schema as s
from planner.errors import InputError, PlannerError, Problem, SchemaVersionError, WorkspaceError
from planner.models import (
    DEFAULT_TYPE,
    AuditEntry,
    Scenario,
    ScenarioState,
    TerritoryType,
    now_iso,
)

__all__ = ["Workspace", "open_workspace"]

logger = logging.getLogger(__name__)

META_LAYER = "meta"
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


def _conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with every declared column of ``table``, typed for storage."""
    spec = s.TABLES[table]
    out = frame.copy()
    for c in spec.columns:
        if c.name not in out.columns:
            out[c.name] = None
        col = out[c.name]
        if c.kind == "str":
            values = [None if s.is_missing(v) else str(v) for v in col.tolist()]
            out[c.name] = pd.Series(values, index=out.index, dtype=object)
        elif c.kind == "float":
            out[c.name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif c.kind == "int":
            out[c.name] = pd.to_numeric(col, errors="coerce").fillna(0).astype("int64")
        elif c.kind == "bool":
            out[c.name] = col.fillna(False).astype(bool)
    declared = spec.column_names
    extra = [c for c in out.columns if c not in declared and c != s.GEOMETRY]
    if not spec.extra_columns:
        extra = []
    ordered = declared + extra
    if spec.geometry is None:
        return pd.DataFrame(out[ordered]).reset_index(drop=True)
    active = (
        getattr(out, "_geometry_column_name", None) if isinstance(out, gpd.GeoDataFrame) else None
    )
    if active != s.GEOMETRY or active not in out.columns:
        if s.GEOMETRY in out.columns:
            geom = gpd.GeoSeries(out[s.GEOMETRY], index=out.index)
        else:
            geom = gpd.GeoSeries([None] * len(out), index=out.index, crs=s.STORAGE_CRS)
        plain = pd.DataFrame(out.drop(columns=[s.GEOMETRY], errors="ignore"))
        out = gpd.GeoDataFrame(plain, geometry=geom)
    gdf = cast(gpd.GeoDataFrame, out)
    if gdf.crs is None:
        gdf = gdf.set_crs(s.STORAGE_CRS, allow_override=True)
    elif not gdf.crs.equals(s.STORAGE_CRS):
        gdf = gdf.to_crs(s.STORAGE_CRS)
    result = gpd.GeoDataFrame(gdf[[*ordered, s.GEOMETRY]], geometry=s.GEOMETRY)
    return result.reset_index(drop=True)


def _from_storage(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Undo storage typing: strings back to objects with ``None`` for missing."""
    out = frame
    return _conform(out, table)


@dataclass
class Workspace:
    """Every table of one territory-planning workspace, in memory.

    Tables are (Geo)DataFrames shaped by :data:`planner.schema.TABLES`;
    scenario-scoped tables hold the rows of every scenario, keyed by
    ``scenario_id``. Use :func:`open_workspace` to read one from disk and
    :meth:`save` to write it back atomically.

    Parameters
    ----------
    name
        Display name of the workspace.
    tables
        The frames by table name; missing tables start empty.
    path
        The file it was read from, if any.
    """

    name: str = "workspace"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    path: Path | None = None
    description: str = ""

    def __post_init__(self) -> None:
        for table in TABLE_NAMES:
            frame = self.tables.get(table)
            self.tables[table] = s.empty_frame(table) if frame is None else _conform(frame, table)
        if self.territory_types.empty:
            self.add_territory_type(DEFAULT_TYPE)

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
    def audit(self) -> pd.DataFrame:
        """The audit log, oldest first."""
        return self.tables["audit"]

    def set_table(self, table: str, frame: pd.DataFrame, *, validate: bool = True) -> None:
        """Replace a whole table.

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
        conformed = _conform(frame, table)
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
        return frame[frame[s.SCENARIO_ID] == scenario_id].reset_index(drop=True)

    def set_rows(
        self, table: str, scenario_id: str, frame: pd.DataFrame, *, validate: bool = True
    ) -> None:
        """Replace the rows of ``table`` that belong to ``scenario_id``.

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
        new = frame.copy()
        new[s.SCENARIO_ID] = scenario_id
        new = _conform(new, table)
        if validate:
            s.validate_frame(new, table)
        old = self.tables[table]
        keep = old[old[s.SCENARIO_ID] != scenario_id]
        combined = pd.concat([keep, new], ignore_index=True) if len(keep) else new
        if isinstance(new, gpd.GeoDataFrame):
            combined = gpd.GeoDataFrame(combined, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
        self.tables[table] = _conform(combined, table)

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
        self.tables["territory_types"] = _conform(merged, "territory_types")

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
        self.tables["scenarios"] = _conform(merged, "scenarios")
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
        self.tables["scenarios"] = _conform(frame, "scenarios")

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
        self.tables["scenarios"] = _conform(frame, "scenarios")
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
            self.tables[table] = _conform(frame[frame[s.SCENARIO_ID] != scenario_id], table)
        frame = self.scenarios
        self.tables["scenarios"] = _conform(frame[frame[s.SCENARIO_ID] != scenario_id], "scenarios")
        self.log("scenario.delete", {}, user=user, scenario_id=scenario_id)

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
        self.tables["audit"] = _conform(merged, "audit")
        return entry

    # -- summary --------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return counts, scenarios and hierarchy depth as a JSON-friendly dict."""
        scenarios = []
        for sc in self.scenario_list():
            terr = self.rows("territories", sc.scenario_id)
            levels = int(terr[s.LEVEL].max()) + 1 if len(terr) else 0
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

    # -- persistence ----------------------------------------------------------
    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the workspace to a GeoPackage file atomically.

        Parameters
        ----------
        path
            Target file; defaults to the file the workspace was read from.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        WorkspaceError
            If writing fails; the previous file at ``path`` is then unchanged.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise WorkspaceError("save() needs a path: this workspace was never saved")
        target = target.resolve()
        if not target.parent.is_dir():
            raise WorkspaceError(f"cannot save to {target}: folder {target.parent} does not exist")
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp.gpkg", dir=target.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # GDAL must create the file itself
        try:
            self._write(tmp)
            with open(tmp, "rb+") as handle:
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException as exc:
            for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            if isinstance(exc, PlannerError) or not isinstance(exc, Exception):
                raise
            raise WorkspaceError(
                f"could not save the workspace to {target}: {exc}. The previous file is unchanged."
            ) from exc
        self.path = target
        logger.info("saved workspace %s", target)
        return target

    def _write(self, path: Path) -> None:
        meta = pd.DataFrame(
            {
                s.KEY: ["schema_version", "name", "description", "saved_at"],
                s.VALUE: [str(s.SCHEMA_VERSION), self.name, self.description, now_iso()],
            }
        )
        _write_layer(meta, path, META_LAYER)
        for table in TABLE_NAMES:
            _write_layer(_conform(self.tables[table], table), path, table)


def _write_layer(frame: pd.DataFrame, path: Path, layer: str) -> None:
    """Write one table as a GeoPackage layer (attribute-only tables have no geometry)."""
    kwargs: dict[str, Any] = {"driver": "GPKG", "layer": layer}
    if isinstance(frame, gpd.GeoDataFrame):
        kwargs["geometry_type"] = "Unknown"
        kwargs["promote_to_multi"] = False
    pyogrio.write_dataframe(frame, path, **kwargs)


def _fsync_dir(folder: Path) -> None:
    """Flush a directory entry so a rename survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def open_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Read a workspace from a GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file.

    Returns
    -------
    Workspace

    Raises
    ------
    WorkspaceError
        If the file does not exist or is not a workspace.
    SchemaVersionError
        If it was written by a newer version of the planner.
    """
    file = Path(path)
    if not file.is_file():
        raise WorkspaceError(f"workspace file {file} does not exist")
    try:
        with open(file, "rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise WorkspaceError(f"cannot read workspace file {file}: {exc}") from exc
    if not magic.startswith(b"SQLite format 3"):
        raise WorkspaceError(
            f"{file} is not a workspace: it is not a GeoPackage (SQLite) file. "
            "Open a .gpkg saved by Territory Planner, or import data files on the data page."
        )
    try:
        layers = {str(name) for name, _ in pyogrio.list_layers(file)}
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise WorkspaceError(f"cannot open {file} as a GeoPackage: {exc}") from exc
    if META_LAYER not in layers:
        raise WorkspaceError(
            f"{file} is a GeoPackage but not a Territory Planner workspace (no '{META_LAYER}' "
            "table). Import its layers as units or territories instead."
        )
    meta_frame = pyogrio.read_dataframe(file, layer=META_LAYER)
    meta = dict(zip(meta_frame[s.KEY].astype(str), meta_frame[s.VALUE], strict=True))
    try:
        version = int(meta.get("schema_version", 0))
    except (TypeError, ValueError) as exc:
        raise WorkspaceError(
            f"{file}: unreadable schema_version {meta.get('schema_version')!r}"
        ) from exc
    if version > s.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{file} was written with workspace schema version {version}, but this version "
            f"of Territory Planner reads up to version {s.SCHEMA_VERSION}. "
            "Upgrade Territory Planner (pip install -U territory-planner) to open it."
        )
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLE_NAMES:
        if table not in layers:
            continue
        frame = pyogrio.read_dataframe(file, layer=table)
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None and len(frame):
            frame = frame.set_crs(s.STORAGE_CRS)
        tables[table] = _from_storage(frame, table)
    ws = Workspace(
        name=str(meta.get("name") or file.stem),
        tables=tables,
        path=file.resolve(),
        description=str(meta.get("description") or ""),
    )
    return ws
