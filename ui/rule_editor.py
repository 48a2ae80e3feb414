"""The Assignment page's "Rules and overrides" tab: a territory's rule and its manual overrides.

Pick a territory; type its rule and see at once how many accounts it would
hold (the count follows the typing, in a fragment, after a short pause); a
rule that does not parse is shown with a caret under the position the
library names. Apply saves it (one recorded change) and re-assigns the
accounts. Beside it, the rules above the territory and the territories below
that inherit its rule. Under them: include or exclude accounts with a reason,
and the territory's overrides, which can be removed.

The edits are :mod:`planner.edit.rules` and :mod:`planner.edit.overrides`,
called with the session's access scope.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from planner import edit
from planner import schema as s
from planner.edit.overrides import OverrideAction
from planner.errors import PlannerError, RuleError
from planner.labels import count_of
from planner.workspace import Workspace
from ui import account_actions, auth, display, editing, keys, state

__all__ = ["rule_editor", "rules_tab"]


def text_key(territory_id: str) -> str:
    """The rule field's key: a new one per territory and saved version (it shows the saved rule)."""
    return keys.rules_text(territory_id, state.workspace_version())


def _pick_name(territory_id: str, action: str) -> str:
    return f"rules.{territory_id}.{action}"


def rules_tab(ws: Workspace, sid: str, labels: Mapping[str, str], user: str | None) -> None:
    """The whole tab: territory picker, rule editor, rules down the tree, overrides."""
    if not labels:
        st.info("This scenario has no territories yet.")
        return
    territory = st.selectbox(
        "Territory",
        sorted(labels),
        format_func=lambda t: labels.get(t, t),
        key=keys.RULES_TERRITORY,
    )
    if territory is None:
        return
    editor_col, tree_col = st.columns([3, 2], gap="medium")
    with editor_col:
        rule_editor(ws, sid, territory, user)
    with tree_col:
        _chain(ws, sid, territory, labels)
    st.divider()
    form_col, list_col = st.columns(2, gap="medium")
    with form_col:
        _override_form(ws, sid, territory, user)
    with list_col:
        _override_list(ws, sid, territory, user)


# --------------------------------------------------------------------------- the rule


def _candidates(ws: Workspace, sid: str, territory: str) -> pd.DataFrame:
    """The accounts the territory could hold, kept while the user types (per saved version)."""
    tag = (state.workspace_version(), id(ws), ws.version, sid, territory)
    kept = st.session_state.get(keys.RULES_CANDIDATES)
    if isinstance(kept, tuple) and kept[0] == tag:
        frame: pd.DataFrame = kept[1]
        return frame
    frame = edit.rule_candidates(ws, sid, territory)
    st.session_state[keys.RULES_CANDIDATES] = (tag, frame)
    return frame


def _point_at(text: str, exc: RuleError) -> None:
    """The library's message, and the rule with a caret under the position it names."""
    first = str(exc).splitlines()[0]
    fix = exc.problems[0].fix if exc.problems else ""
    st.error(f"{first}." + (f" Fix: {fix}" if fix else ""), icon=":material/error:")
    caret = " " * max(exc.position - 1, 0) + "^"
    st.code(f"{text}\n{caret}", language=None)


def _count(
    ws: Workspace, sid: str, territory: str, text: str, *, quiet: bool = False
) -> edit.RuleCount | None:
    """The count of ``text``; ``None`` after showing why not (nothing shown when ``quiet``).

    A saved rule that no longer fits the data (its own, or a parent's) is
    shown like a typo, so it can be fixed here.
    """
    try:
        return edit.count_matches(
            ws, sid, territory, text, candidates=_candidates(ws, sid, territory)
        )
    except RuleError as exc:
        if not quiet:
            _point_at(exc.rule, exc)
    except PlannerError as exc:
        if not quiet:
            editing.show_error(exc)
    return None


@st.fragment
def rule_editor(ws: Workspace, sid: str, territory: str, user: str | None) -> None:
    """The rule field with the live count, Apply and Clear, and the fields and examples."""
    saved = edit.rule_of(ws.territories(sid), territory) or ""
    key = text_key(territory)
    text = st.text_input(
        "Rule",
        value=saved,
        key=key,
        live=True,
        placeholder='e.g. industry == "Retail" AND annual_revenue >= 1000000',
        help="Fields from the accounts table; == != < <= > >=, in [...], is null, "
        "AND, OR, NOT and parentheses. Text in quotes; case matters in values, not in keywords.",
    )
    text = text or ""
    count = _count(ws, sid, territory, text)
    if count is not None:
        held = _count(ws, sid, territory, saved, quiet=True)
        changed = text.strip() != saved and held is not None
        st.metric(
            "Matching accounts",
            f"{count.matched:,} of {count.candidates:,}",
            delta=f"{count.matched - held.matched:+,} against the saved rule"
            if changed and held is not None
            else None,
            delta_color="off",
        )
        st.caption(
            f"Of the {count.candidates:,} accounts {territory} could hold: inside its shape "
            "and its parents' shapes, matching its parents' rules."
        )
    _rule_buttons(ws, sid, territory, user, text, saved, ok=count is not None)
    _fields_help(ws, key)


def _rule_buttons(
    ws: Workspace, sid: str, territory: str, user: str | None, text: str, saved: str, *, ok: bool
) -> None:
    can = editing.can_edit()
    apply_col, clear_col = st.columns(2)
    apply = apply_col.button(
        "Apply", type="primary", disabled=not (can and ok and text.strip() != saved),
        key=keys.rules_apply(territory), help=None if can else "Your role may not edit",
    )  # fmt: skip
    clear = clear_col.button(
        "Clear the rule", disabled=not (can and saved), key=keys.rules_clear(territory)
    )
    if not (apply or clear):
        return
    try:
        editing.require_edit(territory)
        outcome = edit.set_rule(
            state.workspace_for_edit(), sid, territory, text if apply else None,
            user=user, scope=auth.current_scope(),
        )  # fmt: skip
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(f"rule {'set' if apply else 'clear'} {territory}")
    editing.remember(outcome)
    st.rerun()


def _use(key: str, rule: str) -> None:
    st.session_state[key] = rule


def _fields_help(ws: Workspace, key: str) -> None:
    """The accounts' fields with example values, and example rules to start from."""
    fields = edit.rule_fields(ws.accounts)
    with st.expander("Fields and examples"):
        display.show_table(
            pd.DataFrame(
                {
                    "field": [f.name for f in fields],
                    "holds": [f.kind for f in fields],
                    "for example": [", ".join(f.examples) for f in fields],
                    "missing": [f.missing for f in fields],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        for i, (rule, meaning) in enumerate(edit.rule_examples(fields)):
            code, use = st.columns([5, 1], vertical_alignment="center")
            code.markdown(f"`{rule}` — {meaning}")
            use.button(
                "Use", key=keys.rules_use(i), on_click=_use, args=(key, rule),
                help="Put this rule in the field (nothing is saved until Apply)",
            )  # fmt: skip


def _chain(ws: Workspace, sid: str, territory: str, labels: Mapping[str, str]) -> None:
    chain = edit.rule_chain(ws.territories(sid), territory)
    st.markdown("**Rules down the tree**")
    display.show_table(
        pd.DataFrame(
            {
                "territory": [
                    "\u2003" * int(d) + labels.get(t, t)
                    for t, d in zip(chain[s.TERRITORY_ID], chain["depth"], strict=True)
                ],
                "its rule": [r or "" for r in chain[s.RULE]],
                "an account must match": [a or "(any)" for a in chain["applies"]],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={  # three columns in a narrow column of the page: none is cut off
            "territory": st.column_config.Column(width="medium"),
            "its rule": st.column_config.Column(width="small"),
            "an account must match": st.column_config.Column(width="medium"),
        },
    )
    st.caption(
        "A territory only takes accounts matching its own rule and every rule above it; "
        "the territories below inherit its rule. An include beats shapes and rules; an "
        "exclude keeps an account out of a territory and those below (an include below wins)."
    )


# --------------------------------------------------------------------------- overrides


def _override_form(ws: Workspace, sid: str, territory: str, user: str | None) -> None:
    """Pick accounts, say why, include or exclude them."""
    st.markdown("**Include or exclude accounts**")
    if not editing.can_edit():
        st.info("Your role may not change accounts' territories.")
        return
    words = {"include": f"Include in {territory}", "exclude": f"Exclude from {territory}"}
    action: OverrideAction = st.radio(
        "Action",
        ["include", "exclude"],
        horizontal=True,
        key=keys.RULES_ACTION,
        format_func=words.__getitem__,
    )
    search = st.text_input(
        "Find accounts", key=keys.RULES_SEARCH, placeholder="id, name or address"
    )
    everyone = edit.override_choices(ws, sid, territory, action)
    choices = edit.override_choices(ws, sid, territory, action, text=search) if search else everyone
    name = _pick_name(territory, action)
    picked = account_actions.pick_accounts(
        choices.fillna({"now": "no territory"}), name=name, total=len(everyone),
        valid=everyone[s.ACCOUNT_ID].astype(str).tolist(),
        column_config={"account": "Name", "now": "Now in"},
    )  # fmt: skip
    reason = st.text_input(
        "Reason for the override",
        key=keys.RULES_REASON,
        placeholder="e.g. key account served from HQ",
    )
    verb = "Include" if action == "include" else "Exclude"
    label = f"{verb} {count_of(len(picked), 'account')}" if picked else f"{verb} accounts"
    if not st.button(label, type="primary", disabled=not picked, key=keys.RULES_OVERRIDE):
        return
    try:
        editing.require_edit(territory)
        outcome = edit.add_overrides(
            state.workspace_for_edit(), sid, picked, territory, action,
            reason=reason, user=user, scope=auth.current_scope(),
        )  # fmt: skip
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(f"override {action} {len(picked)} accounts {territory}")
    account_actions.clear_pick(name)  # answered: the next pick starts empty
    editing.remember(outcome)
    st.rerun()


def _override_list(ws: Workspace, sid: str, territory: str, user: str | None) -> None:
    """The territory's overrides, and removing some."""
    table = edit.override_table(ws, sid, territory_id=territory)
    st.markdown(f"**Overrides of {territory}** ({len(table):,})")
    if table.empty:
        st.caption("None: its shape and rules decide.")
        return
    shown = table.drop(columns=[s.TERRITORY_ID, "territory"])
    if not editing.can_edit():
        display.show_table(shown)
        return
    name = f"remove.{territory}"
    gone = account_actions.pick_accounts(
        shown, name=name, valid=table[s.ACCOUNT_ID].astype(str).tolist(), noun="override"
    )
    label = f"Remove {count_of(len(gone), 'override')}" if gone else "Remove"
    if not st.button(label, disabled=not gone, key=keys.RULES_REMOVE):
        return
    try:
        editing.require_edit(territory)
        outcome = edit.remove_overrides(
            state.workspace_for_edit(), sid, gone, territory, user=user, scope=auth.current_scope()
        )
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(f"override remove {len(gone)} accounts {territory}")
    account_actions.clear_pick(name)
    editing.remember(outcome)
    st.rerun()
