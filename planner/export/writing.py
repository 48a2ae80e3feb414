"""Write a plan in any export format (the one entry point over the format writers)."""

from __future__ import annotations

import os
from typing import Any

from planner.errors import InputError, Problem
from planner.export import files, pdf
from planner.export.plan import FORMATS, ExportFormat, ExportResult, PlanData
from planner.export.salesforce import Since, write_salesforce
from planner.export.zoho import export_zoho

__all__ = ["export_plan"]


def export_plan(
    plan: PlanData,
    out_dir: str | os.PathLike[str],
    fmt: ExportFormat,
    *,
    since: Since | None = None,
    options: Any = None,
    territory_id: str | None = None,
) -> ExportResult:
    """Write ``plan`` to ``out_dir`` in format ``fmt``.

    Parameters
    ----------
    plan
        The plan (already filtered for a user, if any).
    out_dir
        The folder to write; created if missing.
    fmt
        ``csv``, ``geojson``, ``gpkg``, ``xlsx``, ``salesforce``, ``zoho`` (Zoho CRM
        accounts with their territories), ``pdf`` (printable
        plan) or ``png``/``svg`` (the plan's map).
    since
        What Salesforce holds (a previous export of ours, an export from
        Salesforce with Ids, or the snapshot of a scenario imported from one):
        write the delta from it.
    options
        :class:`planner.export.salesforce.SalesforceOptions` for the Salesforce format,
        :class:`planner.export.zoho.ZohoOptions` for Zoho.
    territory_id
        PDF only: print this territory (and its subtree) instead of the whole plan.

    Raises
    ------
    InputError
        If the format is unknown, ``since`` is given for another format than
        Salesforce, or the plan cannot be written.
    """
    if fmt not in FORMATS:
        raise InputError(
            f"unknown export format '{fmt}'",
            [Problem(f"unknown format '{fmt}'", fix=f"use one of {', '.join(FORMATS)}")],
        )
    if since is not None and fmt != "salesforce":
        raise InputError(
            "--since applies to the Salesforce format only",
            [Problem("a delta is for Salesforce only", fix="drop --since or use salesforce")],
        )
    if territory_id is not None and fmt != "pdf":
        raise InputError(
            "--territory applies to the PDF format only",
            [Problem("a territory is printed as PDF only", fix="drop --territory or use pdf")],
        )
    if fmt in ("pdf", "png", "svg"):
        if fmt == "pdf":
            return pdf.export_pdf(plan, out_dir, territory_id=territory_id)
        return pdf.export_map_image(plan, out_dir, fmt)
    if fmt == "salesforce":
        return write_salesforce(plan, out_dir, since=since, options=options)
    if fmt == "zoho":
        return export_zoho(plan, out_dir, options)
    writer = {
        "csv": files.export_csv,
        "geojson": files.export_geojson,
        "gpkg": files.export_gpkg,
        "xlsx": files.export_xlsx,
    }[fmt]
    return writer(plan, out_dir)
