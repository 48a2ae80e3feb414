"""Hierarchy: the territory tree, renaming, re-parenting and the territory types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from planner import edit, hierarchy
from planner import schema as s
from planner.errors import PlannerError
from planner.labels import count_of
from ui import auth, display, editing, keys, state

view = state.current_workspace()  # what the user may see (all of it for planners)
sid = state.current_scenario_id()
terr = view.territories(sid)
user = editing.current_user()

st.title("Hierarchy")
editing.show_flash()

tree = edit.hierarchy_table(view, sid)
labels = edit.territory_label(terr)
ids = tree[s.TERRITORY_ID].tolist() if len(tree) else []
scope = auth.current_scope()
problems = []
if scope is not None and scope.unrestricted:  # a partial view would miss parents: not checked
    problems = hierarchy.validate_hierarchy(terr, territory_types=view.territory_types)
for problem in problems:
    (st.error if problem.severity == "error" else st.warning)(str(problem))

st.caption(
    f"{count_of(len(ids), 'territory')} on "
    f"{count_of(tree[s.LEVEL_NAME].nunique() if len(tree) else 0, 'level')}. "
    "Accounts roll up: a region counts every account below it."
)
display.show_table(
    tree,
    hide_index=True,
    width="stretch",
    column_config={
        "territory": st.column_config.TextColumn("territory", width="medium"),
        s.TERRITORY_ID: st.column_config.TextColumn("id"),
        s.LEVEL_NAME: st.column_config.TextColumn("level"),
        s.TYPE_ID: st.column_config.TextColumn("type"),
        s.PARENT_ID: st.column_config.TextColumn("parent"),
        "accounts": st.column_config.NumberColumn("accounts", format="%d"),
        "path": st.column_config.TextColumn("path", width="large"),
    },
    key=keys.HIERARCHY_TREE,
)


def _apply(
    change: Any, touched: Sequence[str | None], *, everything: bool = False, **kwargs: Any
) -> None:
    """Run an edit the user may make; show the library's error, or remember it and rerun."""
    try:
        editing.require_edit(*touched, everything=everything)
        outcome = change(state.workspace_for_edit(), sid, user=user, **kwargs)
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(getattr(change, "__name__", "edit hierarchy").replace("_", " "))
    editing.remember(outcome)
    st.rerun()


def _label(tid: str | None) -> str:
    return "(none: top level)" if tid is None else labels.get(tid, tid)


if not editing.can_edit():
    st.info("Your role may look at the hierarchy but not change it.")
    st.stop()

rename_col, move_col = st.columns(2, gap="large")
with rename_col:
    st.subheader("Rename")
    target = st.selectbox("Territory", ids, format_func=_label, key=keys.HIERARCHY_RENAME_ID)
    if target is not None:
        row = terr[terr[s.TERRITORY_ID].astype(str) == target].iloc[0]
        types = view.territory_types[s.TYPE_ID].astype(str).tolist()
        current_type = str(row[s.TYPE_ID])
        with st.form(keys.HIERARCHY_RENAME_FORM):
            old_name = row[s.NAME] if isinstance(row[s.NAME], str) else ""
            name = st.text_input("Name", value=old_name, key=keys.hierarchy_name(target))
            type_id = st.selectbox(
                "Type",
                types,
                index=types.index(current_type) if current_type in types else 0,
                key=keys.hierarchy_type(target),
            )
            if st.form_submit_button("Save", type="primary"):
                _apply(
                    edit.rename_territory,
                    [target],
                    territory_id=target,
                    name=name,
                    type_id=type_id,
                )

with move_col:
    st.subheader("Move")
    st.caption(
        "Moves a territory with everything below it. Parents built from units grow "
        "around their new children; a drawn parent must contain them."
    )
    with st.form(keys.HIERARCHY_MOVE_FORM):
        moving = st.selectbox("Territory", ids, format_func=_label, key=keys.HIERARCHY_MOVE_ID)
        new_parent = st.selectbox(
            "New parent",
            [None, *ids],
            format_func=_label,
            accept_new_options=True,
            key=keys.HIERARCHY_MOVE_TO,
            help="Pick a territory, or type an id",
        )
        if st.form_submit_button("Move", type="primary") and moving is not None:
            old_parent = hierarchy.parent_map(terr).get(moving)
            _apply(
                edit.move_territory,
                [moving, old_parent, new_parent],
                everything=new_parent is None or old_parent is None,
                territory_id=moving,
                new_parent_id=new_parent,
            )

st.subheader("Territory types")
st.caption(
    "An account has one primary territory per type; where types overlap, the type "
    "with the lower priority number leads (its owner gets new business)."
)
columns = [s.TYPE_ID, s.NAME, s.PRIORITY, s.DESCRIPTION]
types = view.territory_types[columns].reset_index(drop=True)
edited = st.data_editor(
    types,
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config=display.table_config(
        types,
        {
            s.TYPE_ID: st.column_config.TextColumn("Type ID", required=True),
            s.PRIORITY: st.column_config.NumberColumn("Priority", min_value=0, step=1, format="%d"),
        },
    ),
    key=keys.hierarchy_types(state.workspace_version()),
)
if st.button("Save the types", key=keys.HIERARCHY_SAVE_TYPES):
    try:
        editing.require_edit(everything=True)
        outcome = edit.save_territory_types(state.workspace_for_edit(), edited, user=user)
    except PlannerError as exc:
        editing.show_error(exc)
    else:
        state.mark_changed("save territory types")
        editing.remember(outcome)
        st.rerun()
