"""Streamlit pieces of the Targets and Reports pages: quota proposals and stored opportunities."""

from __future__ import annotations

from datetime import date
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from planner import schema as s
from planner.access import AccessScope
from planner.errors import PlannerError
from planner.reports import (
    next_period,
    propose_quotas,
    read_opportunities,
    save_quotas,
    store_opportunities,
    stored_opportunities,
)
from planner.workspace import Workspace
from ui import display, keys, state

__all__ = ["opportunities_for_reports", "propose_quotas_section", "visible_opportunities"]


_BASES = {
    "revenue": "Annual revenue of the accounts",
    "accounts": "Number of accounts",
    "history": "Won in the period(s) before",
    "blend": "Blend of the three",
}
_PER = {"territory": "Territory", "rep": "User"}


def propose_quotas_section(
    ws: Workspace, sid: str, scope: AccessScope, latest_period: str | None
) -> None:
    """The "Propose quotas" section: request, editable proposal, chart, "Save as targets"."""
    st.subheader("Propose quotas")
    st.caption(
        "Split a total over the territories (or the users owning them) by potential or "
        "history. Every target is a multiple of the step and they add up to the total; edit "
        "the proposed column before saving."
    )
    request = _request_form(latest_period)
    if request is None:
        return
    try:
        proposal = propose_quotas(ws, sid, opportunities=visible_opportunities(scope),
                                  **request)  # fmt: skip
    except PlannerError as exc:
        st.error(str(exc))
        return
    edited = _editor(proposal)
    _chart(edited, str(request["period"]))
    if scope.can("set_target"):
        _save_button(sid, scope, edited, str(request["period"]))
    else:
        st.caption("Your role can read proposals; managers, planners and admins save them.")


def _request_form(latest_period: str | None) -> dict[str, Any] | None:
    """The request the user last submitted (kept across reruns), or ``None`` before any."""
    default_period = next_period(latest_period) if latest_period else str(date.today().year + 1)
    with st.form(keys.TARGETS_PROPOSE_FORM):
        c1, c2, c3 = st.columns(3)
        basis = c1.selectbox("Basis", list(_BASES), format_func=_BASES.__getitem__,
                             key=keys.TARGETS_PROPOSE_BASIS)  # fmt: skip
        total = c2.number_input("Total", min_value=0.0, value=1_000_000.0, step=10_000.0,
                                format="%.0f", key=keys.TARGETS_PROPOSE_TOTAL)  # fmt: skip
        period = c3.text_input("Period", value=default_period, placeholder="2027-Q1",
                               help="2027, 2027-H1, 2027-Q1 or 2027-01",
                               key=keys.TARGETS_PROPOSE_PERIOD)  # fmt: skip
        c4, c5, c6 = st.columns(3)
        per = c4.radio("Per", ["territory", "rep"], horizontal=True,
                       format_func=_PER.__getitem__, key=keys.TARGETS_PROPOSE_PER)  # fmt: skip
        step = c5.selectbox("Round to", [1, 100, 1_000, 10_000], index=2,
                            format_func="{:,}".format, key=keys.TARGETS_PROPOSE_STEP)  # fmt: skip
        lookback = c6.number_input("History: periods back", min_value=1, max_value=12, value=1,
                                   key=keys.TARGETS_PROPOSE_LOOKBACK)  # fmt: skip
        if st.form_submit_button("Propose", type="primary"):
            st.session_state[keys.TARGETS_PROPOSE_REQUEST] = {
                "basis": basis, "total": float(total), "period": period.strip(), "per": per,
                "step": float(step), "lookback": int(lookback),
            }  # fmt: skip
    request = st.session_state.get(keys.TARGETS_PROPOSE_REQUEST)
    return dict(request) if request else None


def _editor(proposal: pd.DataFrame) -> pd.DataFrame:
    """The proposal in an editor where only the proposed targets can change; the edited frame."""
    locked = [c for c in proposal.columns if c != "proposed"]
    edited = st.data_editor(
        proposal,
        key=keys.TARGETS_PROPOSE_EDITOR,
        hide_index=True,
        width="stretch",
        disabled=locked,
        column_config=display.table_config(proposal, {
            s.TERRITORY_ID: "territory", s.REP_ID: "user", s.NAME: "name",
            "basis_value": st.column_config.NumberColumn(
                "basis", format="%.3f" if proposal.attrs.get("basis") == "blend" else "%,.0f"),
            "share": st.column_config.NumberColumn("share", format="percent"),
            "proposed": st.column_config.NumberColumn("proposed target", min_value=0.0,
                                                      format="%,.0f"),
            "last_actual": st.column_config.NumberColumn("won last period", format="%,.0f"),
        }),
    )  # fmt: skip
    edited.attrs.update(proposal.attrs)
    total = float(proposal.attrs.get("total", 0.0))
    now = float(pd.to_numeric(edited["proposed"], errors="coerce").fillna(0).sum())
    if abs(now - total) > 1e-6:
        st.warning(f"The edited targets add up to {now:,.0f}, not the total {total:,.0f}.")
    else:
        st.caption(f"The targets add up to {total:,.0f}.")
    return edited


def _chart(edited: pd.DataFrame, period: str) -> None:
    """Bars: the proposed target beside what was won in the period before."""
    label = s.NAME
    long = edited.melt(id_vars=[label], value_vars=["proposed", "last_actual"],
                       var_name="figure", value_name="amount")  # fmt: skip
    long = long.dropna(subset=["amount"]).replace(
        {"figure": {"proposed": f"proposed {period}", "last_actual": "won last period"}}
    )
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("amount:Q", title=None),
            y=alt.Y(f"{label}:N", title=None),
            yOffset="figure:N",
            color=alt.Color("figure:N", title=None),
            tooltip=[label, "figure", alt.Tooltip("amount:Q", format=",.0f")],
        )
    )
    st.altair_chart(chart, width="stretch")


def _save_button(sid: str, scope: AccessScope, edited: pd.DataFrame, period: str) -> None:
    if not st.button("Save as targets", key=keys.TARGETS_PROPOSE_SAVE, type="primary"):
        return
    try:
        full = state.workspace_for_edit()
        items = save_quotas(full, sid, edited, period=period, scope=scope, user=scope.user_id)
    except PlannerError as exc:
        st.error(str(exc))
        return
    if state.mark_changed(f"propose {len(items)} targets"):
        st.session_state.pop(keys.TARGETS_PROPOSE_REQUEST, None)
        st.toast(f"{len(items)} targets for {period} saved.")
        st.rerun()


def opportunities_for_reports(scope: AccessScope) -> pd.DataFrame | None:
    """The Reports page's opportunities: an upload, stored in the workspace when the user may.

    Users with the ``import_data`` right store the file in the workspace (one
    saved change; everyone then reports on it); others keep it for their
    session. Without an upload, the stored opportunities the user may see.
    """
    may_store = scope.can("import_data")
    st.caption(
        "Columns: account_id, owner_id, amount, created_date, closed_date, stage "
        "(Salesforce names such as AccountId, CloseDate, StageName are recognised). "
        + ("Stored in the workspace, replacing the ones there." if may_store else
           "Kept for this session only (your role does not import data).")
    )  # fmt: skip
    upload = st.file_uploader("Opportunities file", type=["csv"], key=keys.OPPORTUNITIES_UPLOAD)
    if upload is not None:
        _take_upload(upload, may_store, scope)
    loaded = state.opportunities()
    if loaded:
        st.caption(f"Opportunities: **{loaded[1]}** ({len(loaded[0]):,} you may see).")
        return loaded[0]
    stored = _stored(scope)
    if stored is not None:
        st.caption(f"Opportunities stored in the workspace: {len(stored):,} you may see.")
    return stored


def _take_upload(upload: UploadedFile, may_store: bool, scope: AccessScope) -> None:
    name = str(upload.name)
    marker = (name, str(upload.file_id))
    if st.session_state.get(keys.OPPORTUNITIES_STORED) == marker:
        return  # stored on an earlier run; the uploader keeps the file
    try:
        raw = pd.read_csv(upload, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if not may_store:
            state.set_opportunities(read_opportunities(raw), label=name)
            return
        result = store_opportunities(state.workspace_for_edit(), raw, scope=scope,
                                     user=scope.user_id)  # fmt: skip
    except PlannerError as exc:
        st.error(str(exc))
        return
    except (ValueError, UnicodeDecodeError) as exc:
        st.error(f"{name} could not be read as CSV: {exc}")
        return
    st.session_state[keys.OPPORTUNITIES_STORED] = marker
    state.set_opportunities(None)
    if state.mark_changed(f"import {result.read} opportunities"):
        st.success(
            f"Stored {result.read:,} opportunities from {name} in the workspace "
            f"(it held {result.removed + result.replaced:,} before)."
        )


def _stored(scope: AccessScope) -> pd.DataFrame | None:
    try:
        return visible_opportunities(scope)
    except PlannerError as exc:
        st.error(f"The stored opportunities cannot be used: {exc}")
        return None


def visible_opportunities(scope: AccessScope) -> pd.DataFrame | None:
    """The workspace's stored opportunities the user may see (``None``: none stored).

    Read once per saved version of the workspace and shared between runs.
    """
    ws = state.workspace_or_none()
    if ws is None:
        return None
    content = state.content_key(ws)
    every = stored_opportunities(ws) if content is None else _read_stored(content, ws)
    if every is None:
        return None
    mine = scope.filter_opportunities(every).reset_index(drop=True)
    return mine if len(mine) else None


@st.cache_data(show_spinner=False, max_entries=4)
def _read_stored(content: tuple[str, int], _ws: Workspace) -> pd.DataFrame | None:
    return stored_opportunities(_ws)
