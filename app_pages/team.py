"""Team: who works on which territory, in which role and when; each user's load; the vacancies."""

from __future__ import annotations

from typing import Any

import streamlit as st

from planner import edit, handover, staffing
from planner import schema as s
from planner.errors import PlannerError
from ui import auth, display, editing, keys, state

view = state.current_workspace()  # what the user may see (all of it for planners)
sid = state.current_scenario_id()
terr = view.territories(sid)
user = editing.current_user()
scope = auth.current_scope()
labels = edit.territory_label(terr)
reps = view.reps
names = dict(zip(reps[s.REP_ID].astype(str), reps[s.NAME], strict=True)) if len(reps) else {}

st.title("Team")
editing.show_flash()
st.caption(
    "Who works on each territory: the owner (one at a time), overlays and managers, "
    "each from a start to an end date (empty: open). A user sees the accounts of the "
    "territories they are on, from the start date to the end date."
)


def _apply(change: Any, touched: str, /, **kwargs: Any) -> None:
    """Make a staffing change the user may make; show the library's error, or save and rerun."""
    try:
        editing.require_edit(touched)
        outcome = change(state.workspace_for_edit(), sid, user=user, **kwargs)
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(getattr(change, "__name__", "staffing").replace("_", " "))
    editing.remember(outcome)
    st.rerun()


def _user_label(rep_id: str) -> str:
    name = names.get(rep_id)
    return f"{name} ({rep_id})" if isinstance(name, str) and name else rep_id


editable = [t for t in labels if scope is not None and scope.can_edit_territory(t)]
if not editable:
    st.info("There is no territory you may staff in this scenario.")
else:
    st.subheader("People of a territory")
    target = st.selectbox(
        "Territory", editable, format_func=lambda t: labels.get(t, t), key=keys.TEAM_TERRITORY
    )
    staff = staffing.territory_staff(view, sid, target)
    if len(staff):
        display.show_table(
            staff,
            hide_index=True,
            width="stretch",
            column_config={
                s.REP_ID: st.column_config.TextColumn("user"),
                s.START_DATE: st.column_config.TextColumn("from"),
                s.END_DATE: st.column_config.TextColumn("until"),
                "current": st.column_config.CheckboxColumn("current"),
            },
            key=keys.TEAM_STAFF,
        )
    else:
        st.warning(f"Nobody works on {labels.get(target, target)} yet.")

    add_col, end_col = st.columns(2, gap="large")
    with add_col, st.form(keys.TEAM_ADD_FORM):
        st.markdown("**Add a user**")
        rep_id = st.selectbox("User", list(names), format_func=_user_label, key=keys.TEAM_USER)
        role = st.selectbox("Role", s.ASSOCIATION_ROLES, key=keys.TEAM_ROLE)
        start = st.date_input("From", value=None, key=keys.TEAM_START)
        until = st.date_input("Until", value=None, key=keys.TEAM_END)
        if st.form_submit_button("Add", type="primary") and rep_id is not None:
            _apply(
                staffing.assign_user,
                target,
                territory_id=target,
                rep_id=rep_id,
                role=role,
                start_date=start,
                end_date=until,
            )
    with end_col:
        st.markdown("**End or remove an assignment**")
        pairs = [f"{r} · {role}" for r, role in zip(staff[s.REP_ID], staff[s.ROLE], strict=True)]
        picked = st.selectbox("Assignment", pairs, key=keys.team_pick(state.workspace_version()))
        last_day = st.date_input("Last day", value="today", key=keys.TEAM_LAST_DAY)
        end_button, remove_button = st.columns(2)
        if picked is not None:
            who, picked_role = picked.split(" · ")
            row = {"territory_id": target, "rep_id": who, "role": picked_role}
            if end_button.button("End", key=keys.TEAM_END_BUTTON):
                _apply(staffing.end_assignment, target, end_date=last_day, **row)
            if remove_button.button("Remove", key=keys.TEAM_REMOVE_BUTTON):
                _apply(staffing.remove_assignment, target, **row)


def _hand_over_section() -> None:
    """Preview a departing user's hand-over to a successor; apply it once confirmed."""
    st.subheader("Hand over a departing user")
    st.caption(
        "Their territories in force end the day before; the successor takes each one, in the "
        "same role, from the chosen day; assignments not started yet and the accounts they own "
        "go to the successor too. Saved as one change."
    )
    left, mid, right = st.columns(3)
    gone = left.selectbox("Departing user", list(names), format_func=_user_label,
                          index=None, key=keys.TEAM_HANDOVER_FROM)  # fmt: skip
    heir = mid.selectbox("Successor", list(names), format_func=_user_label,
                         index=None, key=keys.TEAM_HANDOVER_TO)  # fmt: skip
    day = right.date_input("Successor's first day", value="today", key=keys.TEAM_HANDOVER_ON)
    if gone is None or heir is None:
        return
    whole = state.workspace_for_edit()
    try:
        plan = handover.plan_hand_over(whole, sid, from_rep=gone, to_rep=heir, on=day)
        handover.require_hand_over_rights(scope, plan)
    except PlannerError as exc:
        editing.show_error(exc)
        return
    moving = plan.changes[plan.changes["kind"] == "territory"].drop(columns="kind")
    owned = plan.changes[plan.changes["kind"] == "account"][["id", "name"]]
    st.markdown(f"**Moves {len(moving)} territor{'y' if len(moving) == 1 else 'ies'} and "
                f"{len(owned)} account{'' if len(owned) == 1 else 's'} {_user_label(gone)} "
                f"owns to {_user_label(heir)}.**")  # fmt: skip
    if len(moving):
        display.show_table(moving, hide_index=True, width="stretch", column_config={
            "id": "territory", "departing": str(names.get(gone) or gone),
            "successor": str(names.get(heir) or heir),
            "accounts": st.column_config.NumberColumn("accounts", help="accounts in it"),
        })  # fmt: skip
    if len(owned):
        with st.expander(f"Accounts owned by {_user_label(gone)} ({len(owned):,})"):
            display.show_table(
                owned, hide_index=True, width="stretch", column_config={"id": "account"}
            )
    asked = (gone, heir, str(plan.on))
    if st.button("Hand over…", key=keys.TEAM_HANDOVER_ASK):
        st.session_state[keys.TEAM_HANDOVER_ASKED] = asked
    if st.session_state.get(keys.TEAM_HANDOVER_ASKED) != asked:
        return
    st.warning(f"Hand {_user_label(gone)} over to {_user_label(heir)} from {plan.on}?")
    yes, no = st.columns(2)
    if no.button("Cancel", key=keys.TEAM_HANDOVER_NO):
        st.session_state.pop(keys.TEAM_HANDOVER_ASKED, None)
        st.rerun()
    if yes.button("Confirm hand-over", type="primary", key=keys.TEAM_HANDOVER_YES):
        st.session_state.pop(keys.TEAM_HANDOVER_ASKED, None)  # the prompt goes, whatever the answer
        outcome = handover.hand_over(whole, sid, plan, user=user)
        action = f"hand over {gone} to {heir}"
        try:  # dated the hand-over day; on any fault the usual save path explains it
            whole.commit(action, user=user, effective_date=plan.on, cause="hand-over",
                         scenario_id=sid)  # fmt: skip
        except PlannerError:
            state.mark_changed(action)
        else:
            state.mark_changed(action, commit=False)
        editing.remember(outcome)
        st.rerun()


if editable:
    _hand_over_section()

st.subheader("Each user's territories and load")
display.show_table(
    staffing.user_load(view, sid),
    hide_index=True,
    width="stretch",
    column_config={
        s.REP_ID: st.column_config.TextColumn("user"),
        "territory_ids": st.column_config.TextColumn("territory ids", width="medium"),
        "workload_h_per_month": st.column_config.NumberColumn("workload (h/month)", format="%.1f"),
        s.CAPACITY_H_PER_WEEK: st.column_config.NumberColumn("capacity (h/week)", format="%.0f"),
    },
    key=keys.TEAM_LOAD,
)

st.subheader("Vacancies")
vacant = staffing.vacancies(view, sid)
if len(vacant):
    st.caption("Territories without a current owner: pick one above and add an owner.")
    display.show_table(vacant, hide_index=True, width="stretch", key=keys.TEAM_VACANCIES)
else:
    st.success("Every territory has an owner.")
