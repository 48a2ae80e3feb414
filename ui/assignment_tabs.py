"""The parts of the Assignment page: stale memberships, figures, and its four tabs.

Each function draws one part; ``app_pages/assignment.py`` calls them in order.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner import edit
from planner import schema as s
from planner.assign import Assignment
from planner.errors import PlannerError
from planner.reassign import reassign
from planner.workspace import Workspace
from ui import display, editing, gap_fill, keys, maps, state
from ui.history import history_panel

__all__ = ["bulk_tab", "figures", "memberships_tab", "problems_tab", "stale_banner", "why_tab"]


def stale_banner(ws: Workspace, sid: str, result: Assignment, user: str | None) -> None:
    """Warn when the stored memberships are out of date, with a button to re-assign."""
    stale = edit.stale_accounts(ws.memberships(sid), result)
    if stale:
        head, button = st.columns([4, 1], vertical_alignment="center")
        head.warning(
            f"The stored memberships are out of date for {len(stale):,} accounts "
            f"(e.g. {', '.join(stale[:3])}): the territories changed since they were assigned."
        )
        if button.button("Re-assign now", type="primary", key=keys.ASSIGN_RERUN):
            try:
                editing.require_edit(everything=True)
                edit.run_assignment(state.workspace_for_edit(), sid, user=user)
            except PlannerError as exc:
                editing.show_error(exc)
            else:
                state.mark_changed("re-assign accounts")
                editing.remember(edit.EditOutcome(f"Re-assigned {len(ws.accounts):,} accounts."))
                st.rerun()


def figures(result: Assignment) -> None:
    """The assignment's counts, and its warnings."""
    summary = result.summary()
    cols = st.columns(5)
    cols[0].metric("Accounts", f"{summary['accounts']:,}")
    cols[1].metric("Assigned", f"{summary['assigned']:,}")
    cols[2].metric("Unassigned", f"{summary['unassigned']:,}")
    cols[3].metric("Memberships", f"{summary['memberships']:,}")
    cols[4].metric("Overlaps resolved", f"{len(result.overlaps):,}")
    for note in result.warnings:
        st.warning(note)


def memberships_tab(stored: pd.DataFrame, labels: dict[str, str]) -> None:
    """The stored memberships, filtered by territory, cause and text."""
    f1, f2, f3, f4 = st.columns([3, 2, 3, 1.3], vertical_alignment="bottom")
    territory_filter = f1.multiselect(
        "Territory",
        sorted(labels),
        format_func=lambda t: labels.get(t, t),
        key=keys.ASSIGN_TERRITORY,
    )
    cause_filter = f2.multiselect("Cause", ["spatial", "rule", "manual"], key=keys.ASSIGN_CAUSE)
    text = f3.text_input("Search", placeholder="account id, name or detail", key=keys.ASSIGN_SEARCH)
    primary_only = f4.toggle("Primary only", key=keys.ASSIGN_PRIMARY)
    shown = edit.filter_memberships(
        stored,
        territories=territory_filter,
        causes=cause_filter,
        text=text,
        primary_only=primary_only,
    )
    st.caption(f"{len(shown):,} of {len(stored):,} memberships")
    display.show_table(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            s.ACCOUNT_ID: st.column_config.TextColumn("Account ID"),
            s.TERRITORY_ID: st.column_config.TextColumn("Territory ID"),
            s.DETAIL: st.column_config.TextColumn("Detail", width="medium"),
            s.IS_PRIMARY: st.column_config.CheckboxColumn("primary"),
        },
        key=keys.ASSIGN_TABLE,
    )


def why_tab(ws: Workspace, result: Assignment, labels: dict[str, str]) -> None:
    """Why an account is (or is not) in a territory, and its history."""
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
        key=keys.ASSIGN_ACCOUNT,
    )
    other = t_col.selectbox(
        "And why not in… (optional)",
        [None, *sorted(labels)],
        format_func=lambda t: "(none)" if t is None else labels.get(t, t),
        key=keys.ASSIGN_WHY_NOT,
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
            display.show_table(
                verdicts,
                hide_index=True,
                width="stretch",
                column_config={"why": st.column_config.TextColumn("why", width="large")},
                key=keys.ASSIGN_VERDICTS,
            )
            with st.expander("As text"):
                st.code(explanation.text, language=None)
            history_panel(account=account, key=keys.ASSIGN_HISTORY)


def problems_tab(ws: Workspace, sid: str, result: Assignment) -> None:
    """Unassigned accounts, overlaps and gaps, with a map zoomed to the one picked."""
    troubles = edit.trouble_list(ws, sid, result)
    if not troubles:
        st.success(
            "Every account is in a territory, no two territories of one type overlap, "
            "every territory is in one piece and every unit is covered."
        )
    by_key = {t.key: t for t in troubles}
    focus_key = st.session_state.get(keys.ASSIGN_FOCUS)
    focus = by_key.get(focus_key) if isinstance(focus_key, str) else None
    list_col, map_col = st.columns([2, 3], gap="medium")
    with list_col:
        titles = {
            "unassigned": "Unassigned accounts",
            "overlap": "Overlapping territories",
            "gap": "Units no territory covers",
            "split": "Territories in separate parts",
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
                if zoom_col.button("Zoom", key=keys.assign_zoom(item.key), help="Zoom the map"):
                    st.session_state[keys.ASSIGN_FOCUS] = item.key
                    focus = item
            if len(items) > limit:
                st.caption(f"and {len(items) - limit:,} more")
    with map_col:
        if focus is not None:
            st.caption(f"Zoomed to: {focus.label}")
        options = state.map_options(show_reps=False)
        m = editing.problem_map(ws, sid, troubles, focus=focus, options=options)
        maps.show_map(m, key=keys.ASSIGN_MAP, height=560)
    gap_fill.gap_fill_section(ws, sid, troubles)


def bulk_tab(ws: Workspace, sid: str, labels: dict[str, str], user: str | None) -> None:
    """Move every account of a rep or of a territory, as manual overrides."""
    if not editing.can_edit():
        st.info("Your role may not move accounts.")
        return
    st.caption(
        "Moves every account of a rep's territories, or of a territory and everything "
        "below it, as manual overrides (kept by later assignments, each with who and why)."
    )
    source = st.radio(
        "Move the accounts of",
        ["territory", "rep"],
        format_func=lambda v: "a territory" if v == "territory" else "a rep",
        horizontal=True,
        key=keys.ASSIGN_BULK_SOURCE,
    )
    reps = ws.reps
    rep_ids = reps[s.REP_ID].astype(str).tolist()
    rep_names = dict(zip(rep_ids, reps[s.NAME].tolist(), strict=True))
    with st.form(keys.ASSIGN_BULK_FORM):
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
