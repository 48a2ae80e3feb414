"""Assignment: each account's territory and why, problems, rules and overrides, bulk moves."""

from __future__ import annotations

import streamlit as st

from planner import edit
from planner.errors import PlannerError
from ui import assignment_tabs as tabs
from ui import editing, keys, rule_editor, state

ws = state.current_workspace()  # what the user may see (all of it for planners)
sid = state.current_scenario_id()
labels = edit.territory_label(ws.territories(sid))
user = editing.current_user()

st.title("Assignment")
editing.show_flash()
try:
    result = editing.current_assignment(ws, sid)
except PlannerError as exc:
    editing.show_error(exc)
    st.subheader("Rules and overrides")  # a rule that no longer parses can be fixed here
    rule_editor.rules_tab(ws, sid, labels, user)
    st.stop()

tabs.stale_banner(ws, sid, result, user)
tabs.figures(result)
table_tab, why_tab, problems_tab, rules_tab, bulk_tab = st.tabs(
    [
        "Memberships",
        "Why is this account here?",
        "Unassigned and overlaps",
        "Rules and overrides",
        "Bulk reassignment",
    ],
    # the tab shown stays shown when an edit's message appears above: with a key and a rerun on
    # change the server keeps which tab is open, so a redrawn tab bar opens it again
    key=keys.ASSIGN_TABS,
    on_change="rerun",
)
with table_tab:
    tabs.memberships_tab(edit.membership_table(ws, sid), labels)
with why_tab:
    tabs.why_tab(ws, result, labels)
with problems_tab:
    tabs.problems_tab(ws, sid, result)
with rules_tab:
    rule_editor.rules_tab(ws, sid, labels, user)
with bulk_tab:
    tabs.bulk_tab(ws, sid, labels, user)
