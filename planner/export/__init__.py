"""Exports of a plan: CSV, GeoJSON, GeoPackage, XLSX, Salesforce ETM load files, PDF and maps."""

from __future__ import annotations

import sys

from planner.callable import make_callable
from planner.export.importer import ImportedPlan, import_export
from planner.export.plan import (
    FORMATS,
    ExportFormat,
    ExportResult,
    PlanData,
    plan_from_workspace,
)
from planner.export.salesforce import SalesforceOptions, check_load_order, developer_name
from planner.export.writing import export_plan

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ExportResult",
    "ImportedPlan",
    "PlanData",
    "SalesforceOptions",
    "check_load_order",
    "developer_name",
    "export_plan",
    "import_export",
    "plan_from_workspace",
]

make_callable(sys.modules[__name__], "planner.jobs:export")  # tp.export(...) runs the job
