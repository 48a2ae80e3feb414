"""Targets: quotas per territory, user and period, rolled up the territory hierarchy."""

from __future__ import annotations

import altair as alt
import streamlit as st

from planner import schema as s
from planner.errors import PlannerError
from planner.models import Target
from planner.reports import set_targets, target_rollup
from planner.services import reporting
from ui import auth, display, keys, state
from ui import targets as targets_ui

ws = state.current_workspace()
sid = state.current_scenario_id()
scope = auth.require("view")

st.title("Targets")
targets = ws.rows("targets", sid)
terr = ws.territories(sid)
known_periods = reporting.periods(targets)
metrics = sorted({str(m) for m in targets[s.METRIC].dropna()}) or ["revenue"]

left, right = st.columns(2)
period = left.selectbox(
    "Period", known_periods, index=len(known_periods) - 1 if known_periods else None,
    placeholder="No targets yet",
)  # fmt: skip
metric = right.selectbox("Metric", metrics)

if terr.empty:
    st.info("This scenario has no territories you can see.")
    st.stop()

try:
    rollup = target_rollup(terr, targets, period=period, metric=metric)
except PlannerError as exc:
    st.error(str(exc))
    st.stop()

st.subheader("By territory, rolled up the hierarchy")
st.caption(
    "**target** is the territory's own target (else the sum of its users' targets), "
    "**below** the sum of the targets of the territories under it, **gap** the part of a "
    "target not handed down (negative: more handed down than the target)."
)
shown = rollup[["path", s.TERRITORY_ID, "target", "target_below", "target_effective",
                "target_gap"]]  # fmt: skip
money = st.column_config.NumberColumn(format="%,.0f")
display.show_table(
    shown,
    hide_index=True,
    width="stretch",
    column_config={
        "target": money,
        "target_below": st.column_config.NumberColumn("below", format="%,.0f"),
        "target_effective": st.column_config.NumberColumn("effective", format="%,.0f"),
        "target_gap": st.column_config.NumberColumn("gap", format="%,.0f"),
    },
)
chart_data = rollup[rollup["target_effective"].notna()]
if not chart_data.empty:
    chart = (
        alt.Chart(chart_data)
        .mark_bar()
        .encode(
            x=alt.X("target_effective:Q", title=f"{metric} target ({period or 'all periods'})"),
            y=alt.Y("path:N", sort=None, title=None),
            color=alt.Color("level:O", title="level"),
            tooltip=["path", alt.Tooltip("target_effective:Q", format=",.0f")],
        )
    )
    st.altair_chart(chart, width="stretch")

st.subheader("Users")
users = reporting.rep_targets(ws, sid, period=period)
if users.empty:
    st.caption("No user targets in this period.")
else:
    display.show_table(users, hide_index=True, width="stretch",
                 column_config={s.VALUE: money})  # fmt: skip

targets_ui.propose_quotas_section(ws, sid, scope, known_periods[-1] if known_periods else None)

if not scope.can("set_target"):
    st.caption("Your role can read targets; managers, planners and admins set them.")
    st.stop()

st.subheader("Set a target")
editable = [str(t) for t in terr[s.TERRITORY_ID] if scope.can_edit_territory(str(t))]
names = dict(zip(terr[s.TERRITORY_ID].astype(str), terr[s.NAME], strict=True))
people = [str(r) for r in ws.reps[s.REP_ID] if scope.unrestricted or str(r) != scope.user_id]
person_names = dict(zip(ws.reps[s.REP_ID].astype(str), ws.reps[s.NAME], strict=True))
NOBODY = ""
with st.form(keys.TARGET_FORM):
    c1, c2 = st.columns(2)
    territory = c1.selectbox(
        "Territory", [NOBODY, *editable],
        format_func=lambda t: "(none: a user's own target)" if t == NOBODY
        else f"{names.get(t) or t} ({t})",
    )  # fmt: skip
    rep = c2.selectbox(
        "User", [NOBODY, *people],
        format_func=lambda r: "(none: the territory's target)" if r == NOBODY
        else f"{person_names.get(r) or r} ({r})",
    )  # fmt: skip
    c3, c4, c5 = st.columns(3)
    new_period = c3.text_input("Period", value=period or "", placeholder="2026-Q1",
                               help="2026, 2026-H1, 2026-Q1 or 2026-01")  # fmt: skip
    new_metric = c4.text_input("Metric", value=metric)
    value = c5.number_input("Value", min_value=0.0, step=1000.0, format="%.0f")
    submitted = st.form_submit_button("Set target", type="primary")

if submitted:
    try:
        target = Target(
            period=new_period.strip(),
            value=float(value),
            metric=new_metric.strip() or "revenue",
            territory_id=territory or None,
            rep_id=rep or None,
        )
        full = state.workspace_for_edit()
        updated = set_targets(full.rows("targets", sid), [target], scenario_id=sid, scope=scope)
        full.set_rows("targets", sid, updated)
        full.log(
            "set_target",
            {"territory_id": target.territory_id, "rep_id": target.rep_id,
             "period": target.period, "metric": target.metric, "value": target.value},
            user=scope.user_id, scenario_id=sid,
        )  # fmt: skip
    except PlannerError as exc:
        st.error(str(exc))
    else:
        state.mark_changed("set target")
        st.toast(
            f"Target set: {target.territory_id or '-'} / {target.rep_id or '-'} / "
            f"{target.period}: {target.value:,.0f}. Saved."
        )
        st.rerun()
