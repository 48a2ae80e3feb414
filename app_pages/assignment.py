"""Assignment: which territory each account is in and why, the problems to fix, bulk moves."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner import edit
from planner import schema as s
from planner.errors import PlannerError
from planner.reassign import reassign
from ui import editing, maps, state
from ui.history import history_panel

ws = state.current_workspace()  # what the user may see (all of it for planners)
sid = state.current_scenario_id()
terr = ws.territories(sid)
user = editing.current_user()
labels = edit.territory_label(terr)
_FOCUS = "tp.assign.focus"

st.title("Assignment")
editing.show_flash()

try:
    result = editing.current_assignment(ws, sid)
except PlannerError as exc:
    editing.show_error(exc)
    st.stop()

stored = edit.membership_table(ws, sid)
stale = edit.stale_accounts(ws.memberships(sid), result)
if stale:
    head, button = st.columns([4, 1], vertical_alignment="center")
    head.warning(
        f"The stored memberships are out of date for {len(stale):,} accounts "
        f"(e.g. {', '.join(stale[:3])}): the territories changed since they were assigned."
    )
    if button.button("Re-assign now", type="primary", key="tp.assign.rerun"):
        try:
            editing.require_edit(everything=True)
            edit.run_assignment(state.workspace_for_edit(), sid, user=user)
        except PlannerError as exc:
            editing.show_error(exc)
        else:
            state.mark_changed("re-assign accounts")
            editing.remember(edit.EditOutcome(f"Re-assigned {len(ws.accounts):,} accounts."))
            st.rerun()

summary = result.summary()
cols = st.columns(5)
cols[0].metric("Accounts", f"{summary['accounts']:,}")
cols[1].metric("Assigned", f"{summary['assigned']:,}")
cols[2].metric("Unassigned", f"{summary['unassigned']:,}")
cols[3].metric("Memberships", f"{summary['memberships']:,}")
cols[4].metric("Overlaps resolved", f"{len(result.overlaps):,}")
for note in result.warnings:
    st.warning(note)

table_tab, why_tab, problems_tab, bulk_tab = st.tabs(
    ["Memberships", "Why is this account here?", "Unassigned and overlaps", "Bulk reassignment"]
)

with table_tab:
    f1, f2, f3, f4 = st.columns([3, 2, 3, 1.3], vertical_alignment="bottom")
    territory_filter = f1.multiselect(
        "Territory", sorted(labels), format_func=lambda t: labels.get(t, t), key="tp.assign.t"
    )
    cause_filter = f2.multiselect("Cause", ["spatial", "rule", "manual"], key="tp.assign.cause")
    text = f3.text_input("Search", placeholder="account id, name or detail", key="tp.assign.q")
    primary_only = f4.toggle("Primary only", key="tp.assign.primary")
    shown = edit.filter_memberships(
        stored,
        territories=territory_filter,
        causes=cause_filter,
        text=text,
        primary_only=primary_only,
    )
    st.caption(f"{len(shown):,} of {len(stored):,} memberships")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            s.ACCOUNT_ID: st.column_config.TextColumn("account id"),
            s.TERRITORY_ID: st.column_config.TextColumn("territory id"),
            s.DETAIL: st.column_config.TextColumn("detail", width="large"),
            s.IS_PRIMARY: st.column_config.CheckboxColumn("primary"),
        },
        key="tp.assign.table",
    )

with why_tab:
    accounts = ws.accounts
    account_ids = accounts[s.ACCOUNT_ID].astype(str).tolist()
    names = dict(zip(account_ids, accounts[s.NAME].tolist(), strict=True))
    a_col, t_col = st.columns(2)
    account = a_col.selectbox(
        "Account",
        account_ids,
        index=None,
        placeholder="Type an id or pick one",
        format_func=lambda a: f"{names[a]} ({a})" if isinstance(names.get(a), str) else a,
        key="tp.assign.account",
    )
    other = t_col.selectbox(
        "And why not in… (optional)",
        [None, *sorted(labels)],
        format_func=lambda t: "(none)" if t is None else labels.get(t, t),
        key="tp.assign.why_not",
    )
    if account is not None:
        try:
            explanation = result.explain(account, other)
        except PlannerError as exc:
            editing.show_error(exc)
        else:
            if explanation.unassigned_reason:
                st.warning(f"In no territory: {explanation.unassigned_reason}.")
            if explanation.lead:
                st.markdown(f"Lead territory: **{labels.get(explanation.lead, explanation.lead)}**")
            verdicts = pd.DataFrame(
                [
                    {
                        "territory": labels.get(v.territory_id, v.territory_id),
                        "member": v.member,
                        "primary": v.is_primary,
                        "type": v.type_id,
                        "cause": v.cause or "",
                        "why": "; ".join(v.reasons),
                    }
                    for v in explanation.verdicts
                ]
            )
            st.dataframe(
                verdicts,
                hide_index=True,
                width="stretch",
                column_config={"why": st.column_config.TextColumn("why", width="large")},
                key="tp.assign.verdicts",
            )
            with st.expander("As text"):
                st.code(explanation.text, language=None)
            history_panel(account=account, key="tp.assign.history")

with problems_tab:
    troubles = edit.trouble_list(ws, sid, result)
    if not troubles:
        st.success(
            "Every account is in a territory, no two territories of one type overlap, "
            "and every unit is covered."
        )
    by_key = {t.key: t for t in troubles}
    focus_key = st.session_state.get(_FOCUS)
    focus = by_key.get(focus_key) if isinstance(focus_key, str) else None
    list_col, map_col = st.columns([2, 3], gap="medium")
    with list_col:
        titles = {
            "unassigned": "Unassigned accounts",
            "overlap": "Overlapping territories",
            "gap": "Units no territory covers",
        }
        limit = 25
        for kind, title in titles.items():
            items = [t for t in troubles if t.kind == kind]
            if not items:
                continue
            st.markdown(f"**{title}** ({len(items):,})")
            for item in items[:limit]:
                text_col, zoom_col = st.columns([3, 1], vertical_alignment="center")
                text_col.write(item.label)
                if zoom_col.button("Zoom", key=f"tp.assign.zoom.{item.key}", help="Zoom the map"):
                    st.session_state[_FOCUS] = item.key
                    focus = item
            if len(items) > limit:
                st.caption(f"and {len(items) - limit:,} more")
    with map_col:
        if focus is not None:
            st.caption(f"Zoomed to: {focus.label}")
        options = state.map_options(show_reps=False)
        m = editing.problem_map(ws, sid, troubles, focus=focus, options=options)
        maps.show_map(m, key="tp.assign.map", height=560)

with bulk_tab:
    if not editing.can_edit():
        st.info("Your role may not move accounts.")
        st.stop()
    st.caption(
        "Moves every account of a rep's territories, or of a territory and everything "
        "below it, as manual overrides (kept by later assignments, each with who and why)."
    )
    source = st.radio(
        "Move the accounts of",
        ["territory", "rep"],
        format_func=lambda v: "a territory" if v == "territory" else "a rep",
        horizontal=True,
        key="tp.assign.bulk_source",
    )
    reps = ws.reps
    rep_ids = reps[s.REP_ID].astype(str).tolist()
    rep_names = dict(zip(rep_ids, reps[s.NAME].tolist(), strict=True))
    with st.form("tp.assign.bulk_form"):
        from_rep: str | None = None
        from_territory: str | None = None
        if source == "rep":
            from_rep = st.selectbox(
                "Rep",
                rep_ids,
                format_func=lambda r: (
                    f"{rep_names[r]} ({r})" if isinstance(rep_names.get(r), str) else r
                ),
            )
        else:
            from_territory = st.selectbox(
                "From territory", sorted(labels), format_func=lambda t: labels.get(t, t)
            )
        to_territory = st.selectbox(
            "To territory", sorted(labels), format_func=lambda t: labels.get(t, t)
        )
        reason = st.text_input("Reason", placeholder="e.g. Ann moved to the north team")
        if st.form_submit_button("Move the accounts", type="primary"):
            kwargs: dict[str, Any] = {"from_rep": from_rep} if source == "rep" else {}
            if source != "rep":
                kwargs["from_territory"] = from_territory
            try:
                editing.require_edit(from_territory, to_territory, everything=source == "rep")
                done = reassign(
                    state.workspace_for_edit(),
                    sid,
                    to_territory=str(to_territory),
                    user=user,
                    reason=reason.strip(),
                    **kwargs,
                )
            except PlannerError as exc:
                editing.show_error(exc)
            else:
                state.mark_changed("reassign accounts")
                moved_from = ", ".join(f"{t}: {n}" for t, n in done.from_territories.items())
                editing.remember(
                    edit.EditOutcome(
                        f"Moved {len(done.account_ids):,} accounts to {done.to_territory}"
                        + (f" (from {moved_from})" if moved_from else "")
                        + f"; {done.overrides_written:,} manual overrides written."
                    )
                )
                st.rerun()
