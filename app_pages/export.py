"""Export: the plan for CRMs (CSV, Zoho, Salesforce ETM and its delta), GIS tools or a report."""

from __future__ import annotations

import streamlit as st

from planner import schema as s
from planner.errors import PlannerError
from planner.export import ExportFormat, SalesforceOptions
from planner.export.etm_state import EtmSnapshot
from planner.export.pdf import map_image_bytes, pdf_bytes
from planner.export.zoho import ZohoOptions
from planner.labels import count_of
from planner.services import crm_export, crm_import, reporting
from ui import auth, keys, state

ws = state.current_workspace()
sid = state.current_scenario_id()
scope = auth.require("export")

FORMATS: dict[ExportFormat, tuple[str, str]] = {
    "csv": (
        "CSV for other CRMs",
        "hierarchy.csv, membership.csv (account → territory, with paths), associations.csv, "
        "targets.csv and users.csv, UTF-8 with a header row.",
    ),
    "geojson": (
        "GeoJSON for GIS tools",
        "territories.geojson (with accounts, revenue and workload) and accounts.geojson, WGS 84.",
    ),
    "gpkg": ("GeoPackage for GIS tools", "territories.gpkg with territory and account layers."),
    "xlsx": (
        "XLSX report",
        "report.xlsx: territories, targets rolled up, hierarchy, membership, users "
        "(and star performers and sales cycle when opportunities are loaded on the reports page).",
    ),
    "salesforce": (
        "Salesforce Enterprise Territory Management",
        "Numbered load files (Territory2Type, Territory2Model, Territory2, "
        "UserTerritory2Association, ObjectTerritory2Association) for Data Loader, in load order; "
        "or only the changes since a previous export (deleting by record Id when that export "
        "came from Salesforce).",
    ),
    "zoho": (
        "Zoho CRM accounts",
        "Accounts_territories.csv (Record Id, Account Name, Account Owner, Territories) for "
        "Zoho's import of the Accounts module, matching on Record Id.",
    ),
    "pdf": (
        "PDF for printing",
        "A map page (territories with legend and scale bar, accounts as points) with the key "
        "figures, and the account list: for the whole plan or one territory.",
    ),
    "png": ("Map image (PNG)", "The plan's map with legend and scale bar, for slides."),
    "svg": ("Map image (SVG)", "The plan's map with legend and scale bar, to edit or scale."),
}
DIRECT = {"pdf": "application/pdf", "png": "image/png", "svg": "image/svg+xml"}

st.title("Export")
allowed = [f for f in FORMATS if f != "salesforce" or scope.can("export_salesforce")]
fmt = st.radio(
    "Format", allowed, format_func=lambda f: FORMATS[f][0], key=keys.EXPORT_FORMAT,
    horizontal=True,
)  # fmt: skip
st.caption(FORMATS[fmt][1])
if not scope.can("export_salesforce"):
    st.caption("Salesforce load files are written by admins.")

options: SalesforceOptions | ZohoOptions | None = None
previous: bytes | EtmSnapshot | None = None
account_columns = [c for c in ws.accounts.columns if c != s.GEOMETRY]
user_columns = [c for c in ws.reps.columns if c not in (s.GEOMETRY, s.PASSWORD_HASH)]
if fmt in ("salesforce", "zoho"):
    c1, c2, c3 = st.columns(3)
    user_column = c2.selectbox(
        "Salesforce username column" if fmt == "salesforce" else "Account Owner column",
        user_columns, index=user_columns.index(s.EMAIL) if s.EMAIL in user_columns else 0,
        key=keys.EXPORT_USER_COLUMN,
    )  # fmt: skip
    account_column = c3.selectbox(
        "Salesforce account Id column" if fmt == "salesforce" else "Zoho Record Id column",
        account_columns, index=account_columns.index(s.ACCOUNT_ID),
        key=keys.EXPORT_ACCOUNT_COLUMN,
    )  # fmt: skip
    if fmt == "zoho":
        options = ZohoOptions(account_id_column=account_column, user_column=user_column)
    else:
        model = c1.text_input("Territory model (DeveloperName)", placeholder="from the scenario")
        try:
            options = SalesforceOptions(
                model_developer_name=model.strip(),
                user_column=user_column,
                account_id_column=account_column,
            )
        except PlannerError as exc:
            st.error(str(exc))
            st.stop()
        modes = ["Full load"]
        imported = crm_import.imported_scenarios(ws) if scope.unrestricted else []
        if scope.unrestricted:
            modes.append("Changes since a previous export (zip)")
        if imported:
            modes.append("Changes since an imported Salesforce scenario")
        mode = st.radio("Load", modes, key=keys.EXPORT_SALESFORCE_MODE, horizontal=True)
        if mode == "Changes since a previous export (zip)":
            since = st.file_uploader(
                "Previous export (zip of ours, or Data Loader's export of Territory2, "
                "UserTerritory2Association, ObjectTerritory2Association... with Ids)",
                type=["zip"], key=keys.EXPORT_SINCE_ZIP,
            )  # fmt: skip
            if since is None:
                st.info("Upload the previous export to write only the changes since.")
                st.stop()
            previous = since.getvalue()
        elif mode != "Full load":
            base = st.selectbox("Imported scenario", imported, key=keys.EXPORT_SINCE_SCENARIO)
            try:
                previous = crm_import.salesforce_snapshot(ws, base)
            except PlannerError as exc:
                st.error(str(exc))
                st.stop()
        if not scope.unrestricted:
            st.caption(
                "Deltas are written by planners and admins (they delete what you cannot see)."
            )

territory = None
if fmt == "pdf":
    shown = ws.territories(sid)
    ids = shown[s.TERRITORY_ID].astype(str)
    names = dict(zip(ids, shown[s.NAME].fillna(ids).astype(str), strict=True))
    territory = st.selectbox(
        "Territory", [None, *sorted(names, key=lambda t: (names[t], t))],
        format_func=lambda t: "The whole plan" if t is None else f"{names[t]} ({t})",
        key=keys.EXPORT_TERRITORY,
    )  # fmt: skip

loaded = state.opportunities() if fmt == "xlsx" else None
if scope.unrestricted:
    st.caption(f"The export holds the whole scenario **{sid}**.")
else:
    st.caption(
        f"The export holds only what you may see: {count_of(len(ws.territories(sid)), 'territory')}"
        f" and {count_of(len(ws.accounts), 'account')} of scenario **{sid}**."
    )

if st.button("Prepare the export", type="primary", key=keys.EXPORT_PREPARE):
    full = state.workspace_or_none()  # the plan is filtered through the scope right below
    assert full is not None
    try:
        plan = reporting.visible_plan(full, sid, scope, opportunities=loaded[0] if loaded else None)
        if fmt == "pdf":
            with st.spinner("Drawing the PDF..."):
                data = pdf_bytes(plan, territory_id=territory)
        elif fmt in DIRECT:
            data = map_image_bytes(plan, "svg" if fmt == "svg" else "png")
        elif previous is not None:
            assert isinstance(options, SalesforceOptions)
            data = crm_export.salesforce_delta_zip(plan, previous, options=options)
        else:
            data = reporting.export_zip(plan, fmt, options=options)
    except PlannerError as exc:
        st.error(str(exc))
    else:
        st.success(
            f"Ready: {count_of(len(plan.territories), 'territory')}, "
            f"{count_of(len(plan.memberships), 'membership')}, "
            f"{count_of(len(plan.accounts), 'account')}."
        )
        stem = f"{sid}-{territory}" if territory else sid
        name, mime = (f"{stem}.{fmt}", DIRECT[fmt]) if fmt in DIRECT else (
            f"{sid}-{fmt}.zip", "application/zip")  # fmt: skip
        st.download_button(
            f"Download {FORMATS[fmt][0]} (.{name.rsplit('.', 1)[1]})", data,
            file_name=name, mime=mime,
            key=keys.EXPORT_DOWNLOAD, on_click="ignore", type="primary",
        )  # fmt: skip
st.caption(
    "Text cells starting with = + - @ are neutralised in CSV and XLSX files, so spreadsheets "
    "never run them as formulas."
)
