"""The Data page's account editing: one column for the chosen accounts, or cells in a table.

Both save through :func:`planner.edit.edit_accounts` as one recorded change
(history, undo), after :func:`planner.edit.require_account_edit_rights`:
planners and admins edit any account, managers those of the territories they
may edit, reps none.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from planner import edit
from planner import schema as s
from planner.edit.accounts import editable_account_columns
from planner.errors import PlannerError
from planner.labels import column_label, count_of
from planner.workspace import Workspace
from ui import auth, display, editing, keys, state

__all__ = ["EDIT_ROW_LIMIT", "edit_section"]

#: Rows the cell editor shows at most (filter the table to edit others).
EDIT_ROW_LIMIT = 500


def _editor_key() -> str:
    return keys.data_editor(state.workspace_version())  # a saved edit starts a fresh editor


def _save(edits: pd.DataFrame, action: str) -> None:
    """Check the rights, save ``edits`` as one change, and rerun with the outcome."""
    sid = state.current_scenario_id()
    ids = edits[s.ACCOUNT_ID].astype(str).tolist()
    try:
        whole = state.workspace_for_edit()
        owners = _new_owners(whole, edits)
        edit.require_account_edit_rights(
            auth.current_scope(), whole.rows("memberships", sid), ids, owners=owners
        )
        outcome = edit.edit_accounts(whole, edits, user=editing.current_user())
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(action)
    editing.remember(outcome)
    st.rerun()


def _new_owners(ws: Workspace, edits: pd.DataFrame) -> list[object]:
    """The ``owner_id`` values the edits change (unchanged cells are not a hand-over)."""
    if s.OWNER_ID not in edits.columns:
        return []
    now = ws.accounts.set_index(ws.accounts[s.ACCOUNT_ID].astype(str))[s.OWNER_ID]
    old = edits[s.ACCOUNT_ID].astype(str).map(now)
    new = edits[s.OWNER_ID]
    return new[(new.astype(str) != old.astype(str)) & new.notna()].tolist()


def _value_input(ws: Workspace, column: str) -> object:
    if column == s.OWNER_ID:
        users = ws.reps[s.REP_ID].astype(str).tolist()
        return st.selectbox("New value", ["", *users], key=keys.DATA_SET_VALUE,
                            format_func=lambda u: u or "(none)")  # fmt: skip
    return st.text_input("New value", key=keys.DATA_SET_VALUE, placeholder="empty clears the value")


def _label(column: str) -> str:
    return column_label(column, display.currency())


def _set_column(ws: Workspace, chosen: Sequence[str], columns: Sequence[str]) -> None:
    """One column to one value for the chosen accounts."""
    left, right = st.columns(2)
    with left:
        first = columns.index(s.INDUSTRY) if s.INDUSTRY in columns else 0  # not the names
        column = st.selectbox(
            "Column", columns, index=first, key=keys.DATA_SET_COLUMN, format_func=_label
        )
    with right:
        value = _value_input(ws, column)
    n = len(chosen)
    label = f"Set {_label(column)} for {count_of(n, 'account')}"
    if st.button(label, key=keys.DATA_SET_BUTTON, disabled=not n, type="primary"):
        edits = pd.DataFrame({s.ACCOUNT_ID: list(chosen), column: [value] * n})
        _save(edits, f"set {column} of {n} accounts")


def _cell_editor(ws: Workspace, ids: Sequence[str], columns: Sequence[str]) -> None:
    """The chosen accounts' editable cells; the changed rows are saved together."""
    if len(ids) > EDIT_ROW_LIMIT:
        st.caption(f"Select or filter to {EDIT_ROW_LIMIT:,} accounts or fewer to edit cells.")
        return
    acc = ws.accounts.set_index(ws.accounts[s.ACCOUNT_ID].astype(str))
    before = acc.loc[ids, list(columns)].reset_index(names=s.ACCOUNT_ID)
    after = st.data_editor(before, hide_index=True, width="stretch", key=_editor_key(),
                           disabled=[s.ACCOUNT_ID], num_rows="fixed",
                           column_config=display.table_config(before))  # fmt: skip
    differs = ~((before == after) | (before.isna() & after.isna())).all(axis=1)
    n = int(differs.sum())
    if st.button(f"Save {n:,} edited account{'' if n == 1 else 's'}", key=keys.DATA_EDITOR_SAVE,
                 disabled=not n, type="primary"):  # fmt: skip
        _save(after[differs.to_numpy()], f"edit {n} accounts")


def edit_section(ws: Workspace, shown: pd.DataFrame, selected: Sequence[str]) -> None:
    """Editing for users who may edit: selected rows (or every shown one) to one value, or cells."""
    if not editing.can_edit():
        return
    columns = list(editable_account_columns(ws))
    chosen = list(selected) or shown[s.ACCOUNT_ID].astype(str).tolist()
    which = "selected" if selected else "shown"
    with st.expander(f"Edit accounts ({count_of(len(chosen), 'account')} {which})"):
        st.caption(
            "Click rows in the table above to edit only those (otherwise every shown account); "
            "the selection is kept when you search or turn pages. "
            "Ids and locations are not edited here. Each save is one change in the history."
        )
        how = st.radio("How", ["One value for all", "Edit cells"], horizontal=True,
                       key=keys.DATA_EDIT_HOW, label_visibility="collapsed")  # fmt: skip
        if how == "Edit cells":  # the cell editor is built only when asked for
            _cell_editor(ws, chosen, columns)
        else:
            _set_column(ws, chosen, columns)
