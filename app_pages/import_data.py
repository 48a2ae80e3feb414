"""Import data: bring accounts, reps, units or territories from your own files into a workspace."""

from __future__ import annotations

import hashlib
from typing import cast

import streamlit as st

from planner.geo.columns import Kind
from planner.geo.io import ValidationReport
from ui import auth, importing, keys, state
from ui import import_steps as steps

ws = state.current_workspace()  # planners, admins and local mode: the whole workspace
auth.require("import_data")  # reps and managers stop here (the menu does not list the page)

st.title("Import data")
st.caption(
    "Bring your own files: accounts (CSV, XLSX, GeoJSON, GeoPackage, Parquet, zipped "
    "Shapefile), reps and users (CSV, XLSX), units such as counties or ZIP areas and "
    "territories (GeoJSON, GeoPackage, zipped Shapefile; territories also as CSV/XLSX "
    "without shapes). Every problem is listed before anything changes."
)
steps.show_flash()
steps.start_hints(ws)
importing.crm_import_section(ws)  # a Salesforce ETM export (zip), in an expander

# --------------------------------------------------------------------------- 1. the file
st.header("1. Choose and check a file")
pick, drop = st.columns([1, 2])
kind_choice = pick.selectbox(
    "What does the file hold?",
    list(importing.KIND_LABELS),
    format_func=importing.KIND_LABELS.__getitem__,
    key=keys.IMPORT_KIND,
)
upload = drop.file_uploader(
    "File",
    type=list(importing.FILE_TYPES[kind_choice]),
    key=importing.uploader_key(),
    help="A Shapefile must be zipped with its .shp, .shx, .dbf and (if it has one) .prj.",
)
if upload is None:
    st.info("Upload a file to see what the planner reads from it. Nothing changes yet.")
    st.stop()

name, data = upload.name, upload.getvalue()
sig = hashlib.sha256(data).hexdigest()[:12]
kind: Kind | None = None if kind_choice == "auto" else cast(Kind, kind_choice)
how = steps.file_options(name, data, sig)
first = importing.check_upload(
    name, data, kind=kind, crs=how.crs_text, layer=how.layer, sheet=how.sheet
)
found: Kind = first.kind
columns = importing.file_columns(name, data, kind=found, sheet=how.sheet, layer=how.layer)
auto = importing.auto_mapping(columns, found)
summary = st.container()  # above the mapping, filled once the mapping is known
overrides = importing.mapping_overrides(steps.column_mapping(columns, found, sig, auto), auto)
report: ValidationReport = first
if overrides:
    report = importing.check_upload(
        name, data, kind=found, columns=overrides, crs=how.crs_text, layer=how.layer,
        sheet=how.sheet,
    )  # fmt: skip
with summary:
    steps.report_summary(report, name, kind, columns)

# --------------------------------------------------------------------------- 2. the import
st.header("2. Import")
if not report.ok or not report.rows_valid:
    st.info("Nothing to import yet: the file needs readable rows and no errors.")
    st.stop()
widgets, fixed = steps.import_options(ws, report, name, sig)  # read when Import is pressed
st.button(
    "Import",
    type="primary",
    on_click=importing.run_import,
    args=(report, widgets, fixed),
    disabled=not steps.options_ready(report, widgets, fixed),
    key=keys.IMPORT_GO,
)
