"""The frames and files behind the targets, reports and export pages (no Streamlit).

Everything here takes what the user may see (a restricted workspace, or a
plan filtered through an :class:`planner.access.AccessScope`) and returns
plain frames or bytes, so the pages stay thin and these are tested directly.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.export import ExportFormat, PlanData, export_plan, plan_from_workspace
from planner.hierarchy import descendants
from planner.routing.workload import travel_workload
from planner.services.tables import accounts_table
from planner.workspace import Workspace

__all__ = [
    "DRIVE_COLUMN",
    "drive_time_by_territory",
    "export_zip",
    "periods",
    "rep_targets",
    "visible_plan",
]

#: Column of the report holding the weekly drive time (straight-line estimate).
DRIVE_COLUMN = "drive_h_per_week"


def periods(targets: pd.DataFrame) -> list[str]:
    """Return the target periods, sorted (the latest last)."""
    return sorted({str(p) for p in targets[s.PERIOD].dropna()})


def rep_targets(ws: Workspace, scenario_id: str, *, period: str | None) -> pd.DataFrame:
    """Return the targets of users (with or without a territory) of one period, with names."""
    targets = ws.rows("targets", scenario_id)
    rows = targets[targets[s.REP_ID].notna()]
    if period is not None:
        rows = rows[rows[s.PERIOD].astype(str) == period]
    names = dict(zip(ws.reps[s.REP_ID].astype(str), ws.reps[s.NAME], strict=True))
    terr = ws.territories(scenario_id)
    tnames = dict(zip(terr[s.TERRITORY_ID].astype(str), terr[s.NAME], strict=True))
    return pd.DataFrame(
        {
            s.REP_ID: rows[s.REP_ID].astype(str).to_numpy(),
            "user": rows[s.REP_ID].astype(str).map(names).to_numpy(),
            s.TERRITORY_ID: rows[s.TERRITORY_ID].to_numpy(),
            "territory": rows[s.TERRITORY_ID].map(tnames).to_numpy(),
            s.PERIOD: rows[s.PERIOD].to_numpy(),
            s.METRIC: rows[s.METRIC].to_numpy(),
            s.VALUE: rows[s.VALUE].to_numpy(),
        }
    )


def _homes(ws: Workspace, scenario_id: str) -> dict[str, tuple[float, float]]:
    """Territory id -> the home base (lat, lon) of its owner, where known."""
    assoc = ws.associations(scenario_id)
    owners = assoc[assoc[s.ROLE].astype(str) == "owner"]
    reps = ws.reps
    located = reps[reps.geometry.notna() & ~reps.geometry.is_empty]
    where = {
        str(r): (float(g.y), float(g.x))
        for r, g in zip(located[s.REP_ID], located.geometry, strict=True)
    }
    return {
        str(t): where[str(r)]
        for r, t in zip(owners[s.REP_ID], owners[s.TERRITORY_ID], strict=True)
        if str(r) in where
    }


def drive_time_by_territory(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return each territory's weekly drive time (hours), estimated on straight lines.

    Leaf territories get :func:`planner.routing.workload.travel_workload`'s
    closed-form estimate from their owner's home; a parent gets the sum of
    the territories below it.

    Returns
    -------
    pandas.DataFrame
        ``territory_id`` and :data:`DRIVE_COLUMN`.
    """

    terr = ws.territories(scenario_id)
    out = pd.DataFrame({s.TERRITORY_ID: terr[s.TERRITORY_ID].astype(str).to_numpy()})
    table = accounts_table(ws, scenario_id)
    table = table[
        table[s.TERRITORY_ID].notna() & table[s.LATITUDE].notna() & table[s.LONGITUDE].notna()
    ]
    if table.empty or terr.empty:
        out[DRIVE_COLUMN] = np.nan
        return out
    leaf = travel_workload(table, homes=_homes(ws, scenario_id))
    hours = dict(zip(leaf[s.TERRITORY_ID].astype(str), leaf["drive_h_per_week"], strict=True))
    totals = []
    for tid in out[s.TERRITORY_ID]:
        below = [tid, *descendants(terr, tid)]
        found = [hours[t] for t in below if t in hours]
        totals.append(float(sum(found)) if found else np.nan)
    out[DRIVE_COLUMN] = totals
    return out


def visible_plan(
    ws: Workspace,
    scenario_id: str,
    scope: AccessScope,
    *,
    opportunities: pd.DataFrame | None = None,
    period: str | None = None,
) -> PlanData:
    """Return the plan of one scenario as the scope's user may export it.

    Parameters
    ----------
    ws
        The session's whole workspace (not a restricted copy: the plan is
        filtered here, by the library's rule, associations included).
    scenario_id
        The scenario.
    scope
        The user's scope; an unrestricted one keeps everything.
    opportunities
        For the XLSX report (filtered too).
    period
        Report period.
    """
    plan = plan_from_workspace(ws, scenario_id, opportunities=opportunities, period=period)
    return plan if scope.unrestricted else plan.restricted(scope)


def export_zip(plan: PlanData, fmt: ExportFormat, *, options: Any = None) -> bytes:
    """Write ``plan`` in format ``fmt`` to a temporary folder and return the folder as a ZIP.

    Every CSV and XLSX cell is neutralised by :mod:`planner.export`; the
    folder's ``manifest.json`` is included.
    """
    with tempfile.TemporaryDirectory(prefix="tp-export-") as tmp:
        out = Path(tmp) / "export"
        export_plan(plan, out, fmt, options=options)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(out).as_posix())
        return buffer.getvalue()

