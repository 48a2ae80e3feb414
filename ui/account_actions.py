"""Picking accounts in a table, and including or excluding one account from the Map page.

:func:`pick_accounts` shows accounts as a table whose rows are selected by
clicking them (the Data page's bulk edit, the Assignment page's include and
exclude). The pick is kept by account id, so it survives paging, searching
and filtering: rows picked on one page stay picked when another is shown, and
come back selected when their page is shown again; a caption says how many
are picked and how many of those the table does not show now.

The Map page shows the account's popup on the map; under the map,
:func:`account_panel` offers users who may edit to put that account in a
territory, or keep it out of one, with a reason (a manual override, saved at
once as one recorded change, see :mod:`planner.edit.overrides`), and lists
the account's overrides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from planner import edit
from planner import schema as s
from planner.edit.overrides import OverrideAction
from planner.errors import PlannerError
from planner.labels import count_of
from planner.services.search import Hit
from ui import auth, display, editing, keys, state

__all__ = ["account_panel", "clear_pick", "pick_accounts", "picked_after"]

#: Ids named in the caption of a pick (the rest are counted).
_NAMED = 5


def picked_after(kept: Sequence[str], shown: Sequence[str], rows: Sequence[int]) -> list[str]:
    """The pick after a click: ``kept`` with the shown ids replaced by the selected rows' ids.

    Ids the table does not show stay as they were (picked on another page or
    before a search); of the shown ids, exactly those at ``rows`` are picked.
    Order: the earlier picks first, then the table's order. Rows past the
    table (a stale selection) are ignored.
    """
    showing = set(shown)
    selected = {shown[r] for r in rows if 0 <= r < len(shown)}
    earlier = [a for a in kept if a not in showing]
    return earlier + [a for a in shown if a in selected]


def clear_pick(name: str) -> None:
    """Forget the pick of picker ``name`` (its table shows no selection on the next run)."""
    st.session_state[keys.pick_chosen(name)] = []
    st.session_state[keys.pick_nonce(name)] = (
        int(st.session_state.get(keys.pick_nonce(name), 0)) + 1
    )


def _view(name: str, shown: Sequence[str]) -> str:
    """A short name of what the table shows now (a new table, seeded with the pick, per view)."""
    nonce = int(st.session_state.get(keys.pick_nonce(name), 0))
    digest = hashlib.blake2b("\n".join(shown).encode(), digest_size=6).hexdigest()
    return f"{nonce}.{len(shown)}.{digest}"


def _pick_caption(name: str, chosen: Sequence[str], shown: Sequence[str], noun: str) -> None:
    if not chosen:
        st.caption(f"Click rows to select {noun}s (none selected).")
        return
    hidden = len(set(chosen) - set(shown))
    named = ", ".join(chosen[:_NAMED]) + (", ..." if len(chosen) > _NAMED else "")
    where = f"; {hidden:,} of them not in the table now" if hidden else ""
    text, button = st.columns([5, 1], vertical_alignment="center")
    text.markdown(f"**{count_of(len(chosen), noun)} selected** ({named}{where})")
    button.button(
        "Clear the selection", key=keys.pick_clear(name), on_click=clear_pick, args=(name,)
    )


def pick_accounts(
    frame: pd.DataFrame,
    *,
    name: str,
    total: int | None = None,
    valid: Sequence[str] | None = None,
    column_config: Mapping[str, Any] | None = None,
    noun: str = "account",
) -> list[str]:
    """Show ``frame`` (filtered by the page) as a table whose clicked rows are picked.

    Parameters
    ----------
    frame
        The accounts to show, with an ``account_id`` column; longer than a
        page, it gets a page picker (:func:`ui.display.page_of`).
    name
        The picker's name (its memory and keys); one per purpose.
    total
        How many accounts there are before the page's filters (for the caption).
    valid
        The ids that may still be picked (others are dropped from the pick,
        e.g. after an edit); ``None`` keeps every one.
    column_config
        The page's own column settings.

    Returns
    -------
    list of str
        The picked account ids, across pages and searches.
    """
    kept = [str(a) for a in st.session_state.get(keys.pick_chosen(name), [])]
    if valid is not None:
        allowed = set(valid)
        kept = [a for a in kept if a in allowed]
    if frame.empty:  # no empty grid: say why there is nothing to click
        st.caption(f"No {noun} to pick." if not total else f"No {noun} matches the search.")
        st.session_state[keys.pick_chosen(name)] = kept
        if kept:
            _pick_caption(name, kept, [], noun)
        return kept
    page = display.page_of(frame, key=keys.pick_page(name), noun=noun, total=total)
    shown = page[s.ACCOUNT_ID].astype(str).tolist()
    picked = set(kept)
    event = display.show_table(
        page,
        column_config=column_config,
        on_select="rerun",
        selection_mode="multi-row",
        key=keys.pick_table(name, _view(name, shown)),
        selection_default={"selection": {"rows": [i for i, a in enumerate(shown) if a in picked]}},
    )
    chosen = picked_after(kept, shown, event.selection.rows)
    st.session_state[keys.pick_chosen(name)] = chosen
    _pick_caption(name, chosen, shown, noun)
    return chosen


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
    with st.expander(
        f"Include or exclude {title}", expanded=bool(st.session_state.get(keys.ACCOUNT_FLASH))
    ):
        flash = st.session_state.pop(keys.ACCOUNT_FLASH, None)
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
    with st.form(keys.account_form(account)):
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
    st.session_state[keys.ACCOUNT_FLASH] = outcome.message + "".join(
        f" {w}." for w in outcome.warnings
    )
    st.rerun()
