"""Include or exclude one account from the Map page: the account opened by ``?account=`` or found.

The Map page shows the account's popup on the map; under the map,
:func:`account_panel` offers users who may edit to put that account in a
territory, or keep it out of one, with a reason (a manual override, saved at
once as one recorded change, see :mod:`planner.edit.overrides`), and lists
the account's overrides.
"""

from __future__ import annotations

import streamlit as st

from planner import edit
from planner import schema as s
from planner.edit.overrides import OverrideAction
from planner.errors import PlannerError
from planner.services.search import Hit
from ui import auth, display, editing, state

__all__ = ["account_panel"]

FLASH = "tp.map.account.flash"


def _account(found: Hit | None) -> str | None:
    """The account found by the search, else the one the page address names."""
    if found is not None and found.kind == "account":
        return found.key
    value = st.query_params.get("account")
    return str(value) if value else None


def account_panel(sid: str, found: Hit | None) -> None:
    """The include / exclude form of the opened account, for users who may edit.

    Parameters
    ----------
    sid
        The scenario shown.
    found
        What the page's search found (an account is used; a place is not).
    """
    account = _account(found)
    scope = auth.current_scope()
    if account is None or scope is None or not scope.can("edit"):
        return
    view = state.current_workspace()
    accounts = view.accounts
    row = accounts[accounts[s.ACCOUNT_ID].astype(str) == account]
    if row.empty:  # not visible to this user: the page already said so
        return
    name = row.iloc[0][s.NAME]
    title = f"{name} ({account})" if isinstance(name, str) and name else account
    labels = edit.territory_label(view.territories(sid))
    editable = [t for t in sorted(labels) if scope.can_edit_territory(t)]
    with st.expander(f"Include or exclude {title}", expanded=bool(st.session_state.get(FLASH))):
        flash = st.session_state.pop(FLASH, None)
        if flash:
            st.success(flash)
        members = view.memberships(sid)
        now = members[members[s.ACCOUNT_ID].astype(str) == account]
        held = [labels.get(str(t), str(t)) for t in now[s.TERRITORY_ID]]
        st.caption(f"Now in: {', '.join(held) if held else 'no territory'}.")
        _form(sid, account, editable, labels)
        table = edit.override_table(view, sid)
        mine = table[table[s.ACCOUNT_ID] == account]
        if len(mine):
            display.show_table(
                mine[["territory", s.ACTION, s.REASON, s.SET_BY, s.SET_AT]],
                hide_index=True,
                width="stretch",
            )


def _form(sid: str, account: str, editable: list[str], labels: dict[str, str]) -> None:
    if not editable:
        st.info("You may not edit any territory here.")
        return
    with st.form(f"tp.map.account.form.{account}"):
        territory = st.selectbox("Territory", editable, format_func=lambda t: labels.get(t, t))
        action: OverrideAction = st.radio(
            "Action", ["include", "exclude"], horizontal=True,
            format_func=lambda a: "Include in it" if a == "include" else "Exclude from it",
        )  # fmt: skip
        reason = st.text_input("Reason", placeholder="e.g. key account of Ann")
        if not st.form_submit_button("Save", type="primary"):
            return
    try:
        editing.require_edit(territory)
        outcome = edit.add_overrides(
            state.workspace_for_edit(), sid, [account], str(territory), action,
            reason=reason, user=editing.current_user(), scope=auth.current_scope(),
        )  # fmt: skip
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(f"override {action} {account} {territory}")
    st.session_state[FLASH] = outcome.message + "".join(f" {w}." for w in outcome.warnings)
    st.rerun()
