"""Reports by territory: accounts, revenue, workload, drive time, target against actual."""

from __future__ import annotations

import altair as alt
import streamlit as st

from planner import schema as s
from planner.errors import PlannerError
from planner.export.files import csv_bytes, xlsx_bytes
from planner.reports import sales_cycle, star_performers, territory_report
from planner.services import reporting
from ui import auth, display, keys, state
from ui import targets as targets_ui

ws = state.current_workspace()
sid = state.current_scenario_id()
scope = auth.require("view")
terr = ws.territories(sid)
targets = ws.rows("targets", sid)

st.title("Reports by territory")
if terr.empty:
    st.info("This scenario has no territories you can see.")
    st.stop()

with st.expander("Opportunities (CSV) for revenue won, star performers and sales cycles"):
    opportunities = targets_ui.opportunities_for_reports(scope)

known_periods = reporting.periods(targets)
c1, c2 = st.columns(2)
period = c1.selectbox(
    "Period", known_periods, index=len(known_periods) - 1 if known_periods else None,
    placeholder="All time", help="Target period; opportunities count when closed in it.",
)  # fmt: skip
metric = c2.selectbox(
    "Target metric", sorted({str(m) for m in targets[s.METRIC].dropna()}) or ["revenue"]
)

try:
    drive = reporting.drive_time_by_territory(ws, sid)
except PlannerError as exc:
    st.warning(f"Drive time not estimated: {exc}")
    drive = None
try:
    report = territory_report(
        terr,
        ws.memberships(sid),
        ws.accounts,
        targets=targets if len(targets) else None,
        opportunities=opportunities,
        associations=ws.associations(sid),
        reps=ws.reps,
        period=period,
        metric=metric,
        extra=drive,
    )
    stars = (
        star_performers(ws.reps, targets, opportunities, associations=ws.associations(sid),
                        territories=terr, period=period, metric=metric)
        if opportunities is not None else None
    )  # fmt: skip
    cycle = (
        sales_cycle(terr, ws.memberships(sid), opportunities, period=period)
        if opportunities is not None
        else None
    )
except PlannerError as exc:
    st.error(str(exc))
    st.stop()

money = st.column_config.NumberColumn(format="%,.0f")
hours = st.column_config.NumberColumn(format="%.1f")
tab_names = ["By territory", "Star performers", "Sales cycle"]
by_territory, star_tab, cycle_tab = st.tabs(tab_names)

with by_territory:
    cols = st.columns(4)
    top = report[report[s.PARENT_ID].isna()]
    cols[0].metric("Accounts", f"{int(top['accounts'].sum()):,}")
    cols[1].metric(f"Annual revenue ({display.currency()})", f"{top[s.ANNUAL_REVENUE].sum():,.0f}")
    cols[2].metric("Visit workload (h/month)", f"{top['workload_h'].sum():,.1f}")
    if "target_effective" in report.columns:
        cols[3].metric(f"Target {period or ''}".strip(), f"{top['target_effective'].sum():,.0f}")
    shown = report.drop(columns=[s.PARENT_ID], errors="ignore")
    display.show_table(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            s.ANNUAL_REVENUE: money,
            "workload_h": st.column_config.NumberColumn("visit h/month", format="%.1f"),
            reporting.DRIVE_COLUMN: st.column_config.NumberColumn(
                "drive h/week (est.)", format="%.1f",
                help="Straight-line estimate from the owner's home base",
            ),
            "target": money, "target_below": money, "target_effective": money,
            "target_gap": money, "won_amount": money, "pipeline_amount": money,
            "attainment": st.column_config.NumberColumn(format="percent"),
            "win_rate": st.column_config.NumberColumn(format="percent"),
        },
    )  # fmt: skip
    leaves = report[~report[s.TERRITORY_ID].isin(report[s.PARENT_ID].dropna())]
    if opportunities is not None and "target_effective" in report.columns:
        long = leaves.melt(
            id_vars=[s.NAME], value_vars=["target_effective", "won_amount"],
            var_name="figure", value_name="amount",
        ).replace({"figure": {"target_effective": "target", "won_amount": "won"}})  # fmt: skip
        title = "Target against won revenue"
        chart = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("amount:Q", title=None),
                y=alt.Y(f"{s.NAME}:N", title=None),
                yOffset="figure:N",
                color=alt.Color("figure:N", title=None),
                tooltip=[s.NAME, "figure", alt.Tooltip("amount:Q", format=",.0f")],
            )
        )
    else:
        title = "Annual revenue of the accounts"
        chart = (
            alt.Chart(leaves)
            .mark_bar()
            .encode(
                x=alt.X(f"{s.ANNUAL_REVENUE}:Q", title=None),
                y=alt.Y(f"{s.NAME}:N", sort="-x", title=None),
                tooltip=[s.NAME, "accounts", alt.Tooltip(f"{s.ANNUAL_REVENUE}:Q", format=",.0f")],
            )
        )
    st.markdown(f"**{title}** (leaf territories)")
    st.altair_chart(chart, width="stretch")

with star_tab:
    if stars is None:
        st.info("Import opportunities (above) to rank users by target attainment.")
    elif stars.empty:
        st.info("No user you may see has a target or a won opportunity in this period.")
    else:
        display.show_table(stars, hide_index=True, width="stretch",
                     column_config={"target": money, "won_amount": money,
                                    "attainment": st.column_config.NumberColumn(
                                        format="percent")})  # fmt: skip

with cycle_tab:
    if cycle is None:
        st.info("Import opportunities (above) to see sales-cycle lengths across territories.")
    else:
        display.show_table(cycle, hide_index=True, width="stretch",
                     column_config={"win_rate": st.column_config.NumberColumn(format="percent"),
                                    "cycle_days_median": hours, "cycle_days_mean": hours,
                                    "cycle_days_p90": hours})  # fmt: skip

sheets = {"By territory": report}
if stars is not None:
    sheets["Star performers"] = stars
if cycle is not None:
    sheets["Sales cycle"] = cycle
stem = f"report-{sid}" + (f"-{period}" if period else "")
d1, d2, _ = st.columns([1, 1, 3])
d1.download_button("Download CSV", csv_bytes(report), file_name=f"{stem}.csv", mime="text/csv",
                   key=keys.REPORT_CSV, on_click="ignore")  # fmt: skip
d2.download_button(
    "Download XLSX", lambda: xlsx_bytes(sheets), file_name=f"{stem}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key=keys.REPORT_XLSX, on_click="ignore",
)  # fmt: skip
st.caption(
    f"Downloads hold only what you may see (user **{scope.user_id}**); cells starting with "
    "= + - @ are neutralised so spreadsheets do not run them as formulas."
)
