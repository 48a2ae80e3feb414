"""The plan to export (one scenario's frames, as a user may see them) and the dispatcher."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from planner import __version__
from planner import schema as s
from planner.access import AccessScope, scope_for
from planner.errors import InputError, Problem
from planner.models import now_iso

__all__ = [
    "FORMATS",
    "MANIFEST",
    "ExportFormat",
    "ExportResult",
    "PlanData",
    "plan_from_workspace",
]

logger = logging.getLogger(__name__)

ExportFormat = Literal["csv", "geojson", "gpkg", "xlsx", "salesforce", "zoho", "pdf", "png", "svg"]
#: Every export format, in the order the CLI lists them.
FORMATS: tuple[ExportFormat, ...] = (
    "csv", "geojson", "gpkg", "xlsx", "salesforce", "zoho", "pdf", "png", "svg",
)  # fmt: skip
#: Name of the file describing an export folder.
MANIFEST = "manifest.json"


def _frame(frame: pd.DataFrame | None, table: str) -> pd.DataFrame:
    return s.empty_frame(table) if frame is None else frame.reset_index(drop=True)


@dataclass(frozen=True)
class PlanData:
    """One scenario's frames, ready to export.

    Build it with :func:`plan_from_workspace`, or directly from frames (each
    shaped like its table in :data:`planner.schema.TABLES`; missing ones are
    empty).

    Parameters
    ----------
    scenario_id
        The scenario exported.
    scenario_name
        Its display name (the Salesforce territory model's name).
    territories, memberships, accounts, reps, associations, targets, territory_types
        The scenario's frames.
    opportunities
        From :func:`planner.reports.read_opportunities`, for the XLSX report.
    period
        Target and opportunity period of the reports (the latest target period
        by default).
    as_user
        The user the plan was filtered for, if any.
    as_of
        The date associations are judged on (today by default).
    """

    scenario_id: str
    scenario_name: str = ""
    territories: pd.DataFrame = field(default_factory=lambda: s.empty_frame("territories"))
    memberships: pd.DataFrame = field(default_factory=lambda: s.empty_frame("memberships"))
    accounts: pd.DataFrame = field(default_factory=lambda: s.empty_frame("accounts"))
    reps: pd.DataFrame = field(default_factory=lambda: s.empty_frame("reps"))
    associations: pd.DataFrame = field(default_factory=lambda: s.empty_frame("associations"))
    targets: pd.DataFrame = field(default_factory=lambda: s.empty_frame("targets"))
    territory_types: pd.DataFrame = field(default_factory=lambda: s.empty_frame("territory_types"))
    opportunities: pd.DataFrame | None = None
    period: str | None = None
    as_user: str | None = None
    as_of: date | None = None

    def __post_init__(self) -> None:
        if not self.scenario_id:
            raise InputError(
                "a plan needs a scenario_id",
                [Problem("scenario_id is empty", fix="name the scenario exported")],
            )
        problems = []
        for name, cols in (
            ("territories", (s.TERRITORY_ID,)),
            ("memberships", (s.ACCOUNT_ID, s.TERRITORY_ID)),
            ("accounts", (s.ACCOUNT_ID,)),
            ("reps", (s.REP_ID,)),
            ("associations", (s.REP_ID, s.TERRITORY_ID, s.ROLE)),
            ("targets", (s.TERRITORY_ID, s.REP_ID, s.PERIOD, s.METRIC, s.VALUE)),
        ):
            frame = getattr(self, name)
            for col in cols:
                if col not in frame.columns:
                    problems.append(
                        Problem(f"'{name}' lacks column '{col}'", column=col, fix="add it")
                    )
        if problems:
            raise InputError("the plan's frames are incomplete", problems)

    @property
    def report_period(self) -> str | None:
        """The period reports use: the one given, else the latest period of the targets."""
        if self.period is not None:
            return self.period
        periods = sorted(set(self.targets[s.PERIOD].dropna().astype(str)))
        return periods[-1] if periods else None

    def restricted(self, scope: AccessScope) -> PlanData:
        """Return the plan as ``scope``'s user may see it."""
        opportunities = (
            None if self.opportunities is None else scope.filter_opportunities(self.opportunities)
        )
        return replace(
            self,
            territories=scope.filter_territories(self.territories).reset_index(drop=True),
            memberships=scope.filter_memberships(self.memberships).reset_index(drop=True),
            accounts=scope.filter_accounts(self.accounts).reset_index(drop=True),
            reps=scope.filter_reps(self.reps).reset_index(drop=True),
            associations=scope.filter_routes(
                scope.filter_associations(self.associations)
            ).reset_index(drop=True),
            targets=scope.filter_targets(self.targets).reset_index(drop=True),
            opportunities=opportunities,
            as_user=scope.user_id,
        )


def plan_from_workspace(
    workspace: Any,
    scenario_id: str | None = None,
    *,
    as_user: str | None = None,
    opportunities: pd.DataFrame | None = None,
    period: str | None = None,
    as_of: date | None = None,
) -> PlanData:
    """Collect one scenario of a workspace, filtered for ``as_user`` when given.

    Parameters
    ----------
    workspace
        A :class:`planner.workspace.Workspace`.
    scenario_id
        The scenario (the active one by default).
    as_user
        Keep only what this user (``rep_id`` or email) may see.
    opportunities
        Opportunities for the XLSX report.
    period
        Report period.
    as_of
        The date associations are judged on.

    Raises
    ------
    AccessDeniedError
        If ``as_user`` is not a user of the workspace.
    """
    sid = scenario_id or workspace.active_scenario_id()
    scenario = workspace.scenario(sid)
    plan = PlanData(
        scenario_id=sid,
        scenario_name=scenario.name or sid,
        territories=workspace.rows("territories", sid),
        memberships=workspace.rows("memberships", sid),
        accounts=workspace.accounts,
        reps=workspace.reps.drop(columns=[s.PASSWORD_HASH], errors="ignore"),
        associations=workspace.rows("associations", sid),
        targets=workspace.rows("targets", sid),
        territory_types=workspace.territory_types,
        opportunities=opportunities,
        period=period,
        as_of=as_of,
    )
    if as_user is None:
        return plan
    return plan.restricted(scope_for(workspace, as_user, scenario_id=sid, as_of=as_of))


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Parameters
    ----------
    format
        The export format.
    out_dir
        The folder written.
    files
        The files written, in load order for Salesforce.
    manifest
        The content of ``manifest.json``.
    """

    format: str
    out_dir: Path
    files: tuple[Path, ...]
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "format": self.format,
            "out_dir": str(self.out_dir),
            "files": [p.name for p in self.files],
            "manifest": self.manifest,
        }


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically and return its path."""
    path = out_dir / MANIFEST
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n", "utf-8")
    os.replace(tmp, path)
    return path


def base_manifest(plan: PlanData, fmt: str) -> dict[str, Any]:
    """The fields every manifest has."""
    return {
        "format": fmt,
        "planner_version": __version__,
        "created_at": now_iso(),
        "scenario_id": plan.scenario_id,
        "scenario_name": plan.scenario_name,
        "as_user": plan.as_user,
        "counts": {
            "territories": len(plan.territories),
            "memberships": len(plan.memberships),
            "accounts": len(plan.accounts),
            "associations": len(plan.associations),
        },
    }


def prepare_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create the export folder (its parent must exist) and return it.

    Raises
    ------
    InputError
        If the parent folder is missing or ``out_dir`` is a file.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"cannot export to {folder}: it is a file",
            [Problem("the output is a file", fix="give a folder path")],
        )
    if not folder.parent.is_dir():
        raise InputError(
            f"cannot export to {folder}: folder {folder.parent} does not exist",
            [Problem("the output's parent folder is missing", fix="create it first")],
        )
    folder.mkdir(exist_ok=True)
    return folder


def as_geodataframe(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` as a GeoDataFrame in the storage CRS (empty geometry when it has none)."""
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        out = frame
    else:
        geom = frame[s.GEOMETRY] if s.GEOMETRY in frame.columns else [None] * len(frame)
        out = gpd.GeoDataFrame(
            frame.drop(columns=[s.GEOMETRY], errors="ignore"), geometry=gpd.GeoSeries(geom)
        )
    if out.crs is None:
        return out.set_crs(s.STORAGE_CRS, allow_override=True)
    return out.to_crs(s.STORAGE_CRS)
