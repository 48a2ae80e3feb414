"""Import data: bring accounts, reps, units or territories from your own files into a workspace."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, cast

import streamlit as st

from planner import schema as s
from planner.errors import InputError, PlannerError
from planner.geo.columns import Kind
from planner.geo.io import ValidationReport
from ui import auth, importing, state

ws = state.current_workspace()  # planners, admins and local mode: the whole workspace
auth.require("import_data")  # reps and managers stop here (the menu does not list the page)

st.title("Import data")
st.caption(
    "Bring your own files: accounts (CSV, XLSX, GeoJSON, GeoPackage, Parquet, zipped "
    "Shapefile), reps and users (CSV, XLSX), units such as counties or ZIP areas and "
    "territories (GeoJSON, GeoPackage, zipped Shapefile; territories also as CSV/XLSX "
    "without shapes). Every problem is listed before anything changes."
)
importing.crm_import_section(ws)  # a Salesforce ETM export (zip), in an expander


def _show_problems(problems: list[Any], *, key: str) -> None:
    st.dataframe(
        importing.problems_frame(problems),
        hide_index=True,
        width="stretch",
        column_config={
            "severity": st.column_config.TextColumn("severity", width="small"),
            "rows": st.column_config.TextColumn("rows", width="small"),
            "column": st.column_config.TextColumn("column", width="small"),
            "message": st.column_config.TextColumn("message", width="large"),
            "fix": st.column_config.TextColumn("fix", width="large"),
        },
        key=key,
    )


def _show_assignments(summaries: dict[str, dict[str, Any]], scenario_id: str | None) -> None:
    if not summaries:
        return
    main = summaries.get(scenario_id or "") or next(iter(summaries.values()))
    a, u, t = st.columns(3)
    a.metric("Assigned accounts", f"{main['assigned']:,}")
    u.metric("Unassigned accounts", f"{main['unassigned']:,}")
    t.metric("Territories with accounts", sum(1 for n in main["territories"].values() if n))
    if len(summaries) > 1:
        st.dataframe(
            [
                {"scenario": sid, "assigned": x["assigned"], "unassigned": x["unassigned"]}
                for sid, x in summaries.items()
            ],
            hide_index=True,
        )


flash = importing.pop_flash()
if flash is not None:
    if flash["kind"] == "error":
        st.error(flash["title"])
        error = flash.get("error")
        if isinstance(error, InputError) and error.problems:
            st.write(error.summary)
            _show_problems(error.problems, key="tp.import.refused")
        elif error is not None:
            st.write(str(error))
    else:
        result = flash["result"]
        st.success(" ".join([flash["title"], *result.messages]))
        for note in result.notes:
            st.warning(note)
        _show_assignments(result.assignments, result.scenario_id)
        st.caption(
            "Changes to the open workspace stay in this session until you press **Save "
            "workspace** in the sidebar."
        )

if len(ws.accounts) and not len(ws.units):
    note, make = st.columns([4, 1], vertical_alignment="center")
    note.info(
        f"**{ws.name}** has {len(ws.accounts):,} accounts but no units (the building blocks "
        "of territories). Import counties or ZIP areas below, or make H3 hexagons sized to "
        "the accounts' density."
    )
    make.button(
        "Make H3 units from the accounts",
        on_click=importing.run_make_units,
        key="tp.import.make_h3",
    )

st.download_button(
    "Download an accounts template (CSV)",
    data=importing.accounts_template_csv(),
    file_name="accounts_template.csv",
    mime="text/csv",
    help="The columns the planner reads. Rows without coordinates may give a US ZIP code "
    "instead; extra columns are kept.",
    key="tp.import.template",
    on_click="ignore",
)

# --------------------------------------------------------------------------- 1. the file
st.header("1. Choose and check a file")
pick, drop = st.columns([1, 2])
kind_choice = pick.selectbox(
    "What does the file hold?",
    list(importing.KIND_LABELS),
    format_func=importing.KIND_LABELS.__getitem__,
    key="tp.import.kind",
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

sheets = importing.sheet_names(name, data)
layers = importing.layer_names(name, data)
sheet: str | None = None
layer: str | None = None
crs_text = ""
if len(sheets) > 1 or len(layers) > 1 or importing.is_gis_file(name):
    o1, o2 = st.columns(2)
    if len(sheets) > 1:
        sheet = o1.selectbox(
            "Sheet",
            [None, *sheets],
            format_func=lambda v: "Automatic (the one named like the data)" if v is None else v,
            key=f"tp.import.sheet.{sig}",
        )
    if len(layers) > 1:
        layer = o1.selectbox(
            "Layer",
            [None, *layers],
            format_func=lambda v: "Automatic (the one named like the data)" if v is None else v,
            key=f"tp.import.layer.{sig}",
        )
    if importing.is_gis_file(name):
        crs_text = o2.text_input(
            "CRS of the coordinates (EPSG code)",
            key=f"tp.import.crs.{sig}",
            placeholder="the file's own",
            help="Only for a file without a coordinate reference system, such as a Shapefile "
            "zipped without its .prj: e.g. 3067 (Finland, TM35FIN) or 26916 (UTM zone 16N). "
            "Leave blank to use the file's own.",
        )

first = importing.check_upload(name, data, kind=kind, crs=crs_text, layer=layer, sheet=sheet)
found: Kind = first.kind
columns = importing.file_columns(name, data, kind=found, sheet=sheet, layer=layer)
auto = importing.auto_mapping(columns, found)

summary = st.container()
chosen: dict[str, str | None] = {}
if columns:
    with st.expander("Change the column mapping"):
        st.caption(
            "Pick the planner column each file column feeds, or "
            f"'{importing.NOT_USED}'. The file is checked again at once."
        )
        targets = [importing.NOT_USED, *importing.target_columns(found)]
        grid = st.columns(3)
        for i, col in enumerate(columns):
            default = auto.get(col, importing.NOT_USED)
            value = grid[i % 3].selectbox(
                col,
                targets,
                index=targets.index(default),
                key=f"tp.import.map.{sig}.{found}.{i}",
            )
            chosen[col] = None if value == importing.NOT_USED else value
overrides = importing.mapping_overrides(chosen, auto)
report: ValidationReport = first
if overrides:
    report = importing.check_upload(
        name, data, kind=found, columns=overrides, crs=crs_text, layer=layer, sheet=sheet
    )

with summary:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows read", f"{report.rows_read:,}")
    m2.metric("Rows readable", f"{report.rows_valid:,}")
    m3.metric("Errors", len(report.errors))
    m4.metric("Warnings", len(report.warnings))
    how = " (guessed from its columns and shapes)" if kind is None else ""
    fmt = report.file_format or Path(name).suffix.lstrip(".")
    st.caption(f"`{name}` ({fmt}) holds **{report.kind}**{how}.")
    if columns:
        st.dataframe(
            importing.mapping_frame(columns, report.columns_recognised),
            hide_index=True,
            key="tp.import.mapping",
        )
    if report.problems:
        _show_problems(list(report.problems), key="tp.import.problems")
    if report.errors:
        st.error(
            f"{len(report.errors)} error(s): correct the file (or the column mapping) and the "
            "rows listed. Nothing can be imported until then."
        )
    elif report.warnings:
        st.warning(f"{len(report.warnings)} warning(s): the readable rows can be imported.")
    else:
        st.success("No problems found.")
    if report.rows_valid:
        with st.expander(f"Preview of the readable rows ({min(report.rows_valid, 100)} shown)"):
            preview = report.frame.drop(columns=[s.GEOMETRY], errors="ignore").head(100)
            st.dataframe(preview, hide_index=True, key="tp.import.preview")

# --------------------------------------------------------------------------- 2. the import
st.header("2. Import")
if not report.ok or not report.rows_valid:
    st.info("Nothing to import yet: the file needs readable rows and no errors.")
    st.stop()

# Each option is read from its widget when Import is pressed (see importing.run_import).
widgets: dict[str, str] = {"into": "tp.import.into"}
fixed: dict[str, Any] = {}
into = st.radio(
    "Import into",
    ["new", "open"],
    format_func=lambda v: "A new workspace" if v == "new" else f"The open workspace ({ws.name})",
    horizontal=True,
    key=widgets["into"],
)
if into == "new":
    widgets["workspace_name"] = f"tp.import.ws_name.{sig}"
    st.text_input(
        "Name of the new workspace",
        value=Path(name).stem.replace("_", " ").strip().title() or "Imported",
        key=widgets["workspace_name"],
    )
    st.caption(
        f"It gets one active scenario, is saved under `{importing.new_workspace_path('x').parent}` "
        "and opens in place of the current one."
    )
elif report.kind == "accounts":
    st.caption(
        f"Replaces the {len(ws.accounts):,} accounts of {ws.name}; every scenario's "
        "memberships are recomputed."
    )
elif report.kind == "reps":
    widgets["replace_reps"] = "tp.import.reps_mode"
    st.radio(
        "Users",
        [False, True],
        format_func=lambda v: (
            "Replace every user"
            if v
            else "Add them (same id: update; blank cells keep the current value)"
        ),
        key=widgets["replace_reps"],
    )
elif report.kind == "units":
    st.caption(
        f"Replaces the {len(ws.units):,} units of {ws.name}; unit assignments naming units "
        "that are gone are dropped."
    )
else:  # territories
    scenarios = {sc.scenario_id: f"{sc.name or sc.scenario_id} · {sc.state}"
                 for sc in ws.scenario_list()}  # fmt: skip
    widgets["scenario_id"] = "tp.import.scenario"
    target = st.selectbox(
        "Into scenario",
        [importing.NEW_SCENARIO, *scenarios],
        format_func=lambda v: scenarios.get(v, "A new planning scenario"),
        key=widgets["scenario_id"],
    )
    if target == importing.NEW_SCENARIO:
        widgets["scenario_name"] = f"tp.import.sc_name.{sig}"
        st.text_input(
            "Name of the new scenario",
            value=f"Imported {Path(name).stem}",
            key=widgets["scenario_name"],
        )
    else:
        widgets["replace_territories"] = "tp.import.terr_mode"
        st.radio(
            "Its territories",
            [False, True],
            format_func=lambda v: "Replace them all" if v else "Add these (same id: replace)",
            key=widgets["replace_territories"],
        )
if report.kind == "units":
    widgets["unit_type"] = "tp.import.unit_type"
    st.selectbox("Unit type", ["county", "zip", "custom"], key=widgets["unit_type"])
will_have_accounts = report.kind == "accounts" or (into == "open" and len(ws.accounts) > 0)
will_have_units = report.kind == "units" or (into == "open" and len(ws.units) > 0)
if will_have_accounts and not will_have_units:
    widgets["make_h3_units"] = "tp.import.h3"
    st.checkbox(
        "Make H3 hexagon units from the accounts",
        value=True,
        key=widgets["make_h3_units"],
        help="Units are the building blocks of territories. Without a county or ZIP layer, "
        "hexagons sized to the accounts' density do the job.",
    )

ready = True
try:
    importing.options_from_widgets(widgets, fixed)
except PlannerError as exc:
    ready = False
    st.error(str(exc))
if report.kind in ("accounts", "territories"):
    st.caption("The accounts are assigned to territories again after the import.")
if into == "open":
    st.caption(
        "The import is saved into the open workspace at once, as one change you can undo "
        "from the sidebar."
    )
st.button(
    "Import",
    type="primary",
    on_click=importing.run_import,
    args=(report, widgets, fixed),
    disabled=not ready,
    key="tp.import.go",
)
