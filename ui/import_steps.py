"""The steps of the Import data page: flash, the file's options, its check, the import's options.

``app_pages/import_data.py`` calls them in order; the work itself is in
:mod:`ui.importing` and :mod:`planner.services.importing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from planner import schema as s
from planner.errors import InputError, PlannerError
from planner.geo.columns import Kind
from planner.geo.io import ValidationReport
from planner.workspace import Workspace
from ui import display, importing, keys

__all__ = [
    "FileOptions",
    "column_mapping",
    "file_options",
    "import_options",
    "options_ready",
    "report_summary",
    "show_flash",
    "show_problems",
    "start_hints",
]


@dataclass(frozen=True)
class FileOptions:
    """How to read the uploaded file: its sheet or layer and the CRS typed for it."""

    sheet: str | None
    layer: str | None
    crs_text: str


def show_problems(problems: list[Any], *, key: str) -> None:
    display.show_table(
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
        display.show_table(
            [
                {"scenario": sid, "assigned": x["assigned"], "unassigned": x["unassigned"]}
                for sid, x in summaries.items()
            ],
            hide_index=True,
        )


def show_flash() -> None:
    """The outcome of the last import (it reran the page), once."""
    flash = importing.pop_flash()
    if flash is not None:
        if flash["kind"] == "error":
            st.error(flash["title"])
            error = flash.get("error")
            if isinstance(error, InputError) and error.problems:
                st.write(error.summary)
                show_problems(error.problems, key=keys.IMPORT_REFUSED)
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


def start_hints(ws: Workspace) -> None:
    """Offer H3 units when the workspace has accounts but no units; the accounts template."""
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
            key=keys.IMPORT_MAKE_H3,
        )
    st.download_button(
        "Download an accounts template (CSV)",
        data=importing.accounts_template_csv(),
        file_name="accounts_template.csv",
        mime="text/csv",
        help="The columns the planner reads. Rows without coordinates may give a US ZIP code "
        "instead; extra columns are kept.",
        key=keys.IMPORT_TEMPLATE,
        on_click="ignore",
    )


def file_options(name: str, data: bytes, sig: str) -> FileOptions:
    """Sheet, layer and CRS fields, when the file has a choice of them."""
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
                key=keys.import_field("sheet", sig),
            )
        if len(layers) > 1:
            layer = o1.selectbox(
                "Layer",
                [None, *layers],
                format_func=lambda v: "Automatic (the one named like the data)" if v is None else v,
                key=keys.import_field("layer", sig),
            )
        if importing.is_gis_file(name):
            crs_text = o2.text_input(
                "CRS of the coordinates (EPSG code)",
                key=keys.import_field("crs", sig),
                placeholder="the file's own",
                help="Only for a file without a coordinate reference system, such as a Shapefile "
                "zipped without its .prj: e.g. 3067 (Finland, TM35FIN) or 26916 (UTM zone 16N). "
                "Leave blank to use the file's own.",
            )
    return FileOptions(sheet, layer, crs_text)


def column_mapping(
    columns: list[str], found: Kind, sig: str, auto: dict[str, str]
) -> dict[str, str | None]:
    """The column-mapping expander: planner column by file column, as picked."""
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
                    key=keys.import_column(sig, found, i),
                )
                chosen[col] = None if value == importing.NOT_USED else value
    return chosen


def report_summary(
    report: ValidationReport, name: str, kind: Kind | None, columns: list[str]
) -> None:
    """Counts, format, mapping, problems and a preview of the checked file."""
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows read", f"{report.rows_read:,}")
    m2.metric("Rows readable", f"{report.rows_valid:,}")
    m3.metric("Errors", len(report.errors))
    m4.metric("Warnings", len(report.warnings))
    how = " (guessed from its columns and shapes)" if kind is None else ""
    fmt = report.file_format or Path(name).suffix.lstrip(".")
    st.caption(f"`{name}` ({fmt}) holds **{report.kind}**{how}.")
    if columns:
        display.show_table(
            importing.mapping_frame(columns, report.columns_recognised),
            hide_index=True,
            key=keys.IMPORT_MAPPING,
        )
    if report.problems:
        show_problems(list(report.problems), key=keys.IMPORT_PROBLEMS)
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
            display.show_table(preview, hide_index=True, key=keys.IMPORT_PREVIEW)


def import_options(
    ws: Workspace, report: ValidationReport, name: str, sig: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """The import's fields; returns widget key by option (read when Import is pressed), fixed."""
    widgets: dict[str, str] = {"into": keys.IMPORT_INTO}
    fixed: dict[str, Any] = {}
    into = st.radio(
        "Import into",
        ["new", "open"],
        format_func=lambda v: (
            "A new workspace" if v == "new" else f"The open workspace ({ws.name})"
        ),
        horizontal=True,
        key=widgets["into"],
    )
    if into == "new":
        widgets["workspace_name"] = keys.import_field("ws_name", sig)
        st.text_input(
            "Name of the new workspace",
            value=Path(name).stem.replace("_", " ").strip().title() or "Imported",
            key=widgets["workspace_name"],
        )
        st.caption(
            "It gets one active scenario, is saved under "
            f"`{importing.new_workspace_path('x').parent}` and opens in place of the current one."
        )
    elif report.kind == "accounts":
        st.caption(
            f"Replaces the {len(ws.accounts):,} accounts of {ws.name}; every scenario's "
            "memberships are recomputed."
        )
    elif report.kind == "reps":
        widgets["replace_reps"] = keys.IMPORT_REPS_MODE
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
        _territory_options(ws, name, sig, widgets)
    if report.kind == "units":
        widgets["unit_type"] = keys.IMPORT_UNIT_TYPE
        st.selectbox("Unit type", ["county", "zip", "custom"], key=widgets["unit_type"])
    will_have_accounts = report.kind == "accounts" or (into == "open" and len(ws.accounts) > 0)
    will_have_units = report.kind == "units" or (into == "open" and len(ws.units) > 0)
    if will_have_accounts and not will_have_units:
        widgets["make_h3_units"] = keys.IMPORT_H3
        st.checkbox(
            "Make H3 hexagon units from the accounts",
            value=True,
            key=widgets["make_h3_units"],
            help="Units are the building blocks of territories. Without a county or ZIP layer, "
            "hexagons sized to the accounts' density do the job.",
        )
    return widgets, fixed


def options_ready(report: ValidationReport, widgets: dict[str, str], fixed: dict[str, Any]) -> bool:
    """Whether the options are valid (else the reason shows); notes on what the import does."""
    into = st.session_state.get(widgets["into"])
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
    return ready


def _territory_options(ws: Workspace, name: str, sig: str, widgets: dict[str, str]) -> None:
    """Into which scenario territories go, and whether they replace its own."""
    scenarios = {sc.scenario_id: f"{sc.name or sc.scenario_id} · {sc.state}"
                 for sc in ws.scenario_list()}  # fmt: skip
    widgets["scenario_id"] = keys.IMPORT_SCENARIO
    target = st.selectbox(
        "Into scenario",
        [importing.NEW_SCENARIO, *scenarios],
        format_func=lambda v: scenarios.get(v, "A new planning scenario"),
        key=widgets["scenario_id"],
    )
    if target == importing.NEW_SCENARIO:
        widgets["scenario_name"] = keys.import_field("sc_name", sig)
        st.text_input(
            "Name of the new scenario",
            value=f"Imported {Path(name).stem}",
            key=widgets["scenario_name"],
        )
    else:
        widgets["replace_territories"] = keys.IMPORT_TERRITORIES_MODE
        st.radio(
            "Its territories",
            [False, True],
            format_func=lambda v: "Replace them all" if v else "Add these (same id: replace)",
            key=widgets["replace_territories"],
        )
