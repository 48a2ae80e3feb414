"""Edit territories: draw or reshape a territory, click units in or out, and watch the counts."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import streamlit as st

from planner import edit, hierarchy, viz
from planner import schema as s
from planner.errors import PlannerError
from planner.geo.shapes import DrawnTerritory, drawn_territory
from ui import editing, maps, state
from ui.history import history_panel

view = state.current_workspace()  # what the user may see (all of it for planners)
sid = state.current_scenario_id()
ws = state.workspace_for_edit()  # the session's workspace; "access denied" for reps
terr = view.territories(sid)
user = editing.current_user()

_SELECTED = "tp.edit.selected"
_NEXT = "tp.edit.next_selected"
_PENDING = "tp.edit.pending"
_NONCE = "tp.edit.nonce"
MODES: dict[editing.MapMode, str] = {
    "draw": "Draw a shape",
    "edit": "Reshape the selected",
    "units": "Add or remove units",
}

st.title("Edit territories")
before = editing.show_flash()

labels = edit.territory_label(terr)
counts = edit.counts_table(view, sid, before)
ids = counts[s.TERRITORY_ID].tolist()
leaves = set(viz.leaf_territory_ids(terr))
if not ids:
    st.info("This scenario has no territories yet: draw the first one on the map.")
if st.session_state.get(_NEXT) in ids:
    st.session_state[_SELECTED] = st.session_state.pop(_NEXT)
if st.session_state.get(_SELECTED) not in ids:
    st.session_state[_SELECTED] = next((t for t in ids if t in leaves), ids[0] if ids else None)

pick, how, zoom_col = st.columns([3, 4, 1.4], vertical_alignment="bottom")
selected: str | None = pick.selectbox(
    "Territory", ids, format_func=lambda t: labels.get(t, t), key=_SELECTED
)
mode: editing.MapMode = (
    how.segmented_control(
        "On the map",
        list(MODES),
        format_func=lambda k: MODES[k],
        default="draw",
        key="tp.edit.mode",
    )
    or "draw"
)
zoom = zoom_col.toggle("Zoom to it", key="tp.edit.zoom", help="Fit the map to the selection")

nonce = int(st.session_state.get(_NONCE, 0))
shown = selected if (mode != "draw" or zoom) else ""  # the draw map does not show the selection
map_key = f"tp.edit.map.{mode}.{shown}.{int(zoom)}.{state.workspace_version()}.{nonce}"

map_col, side = st.columns([3, 2], gap="medium")
with map_col:
    options = state.map_options(show_units=mode != "units", show_reps=False)
    m = editing.edit_map(
        view, sid, mode=mode, selected=selected, options=options, zoom_to_selected=zoom
    )
    returned = ["last_object_clicked"] if mode == "units" else ["all_drawings"]
    result: dict[str, Any] = (
        maps.show_map(m, key=map_key, height=600, returned_objects=returned) or {}
    )
    maps.attribution_caption()

# What the map sent back: a drawing waiting for a decision, or a click on a unit.
pending = st.session_state.get(_PENDING)
if pending is not None and pending["map"] != map_key:
    pending = None  # the map was redrawn: the drawing is gone from it
if result.get("all_drawings") is not None:
    features = result["all_drawings"]
    pending = {"map": map_key, "features": features} if features else None
st.session_state[_PENDING] = pending


def _apply(
    change: Any, touched: Sequence[str | None], *, everything: bool = False, **kwargs: Any
) -> None:
    """Run an edit the user may make; on success remember its message and rerun."""
    previous = dict(zip(counts[s.TERRITORY_ID], counts["accounts"], strict=True))
    try:
        editing.require_edit(*touched, everything=everything)
        outcome = change(ws, sid, user=user, **kwargs)
    except PlannerError as exc:
        editing.show_error(exc)
        return
    state.mark_changed(getattr(change, "__name__", "edit territories").replace("_", " "))
    editing.remember(outcome, previous)
    st.session_state[_PENDING] = None
    st.rerun()


with side:
    if mode == "units":
        st.subheader("Units")
        if selected is None:
            st.info("Pick a territory first.")
        else:
            mine = edit.units_of(view, sid, selected)
            st.markdown(
                f"Click a unit on the map to add it to **{labels.get(selected, selected)}**; "
                "click one of its (filled) units to remove it."
            )
            st.caption(f"{len(mine):,} units in this territory now.")
            click = result.get("last_object_clicked")
            if click and editing.first_time("click", f"{map_key}:{click['lat']}:{click['lng']}"):
                unit = edit.unit_at(view.units, float(click["lng"]), float(click["lat"]))
                if unit is None:
                    st.warning("No unit there: click inside a unit's outline.")
                else:
                    holder = edit.unit_holder(ws, sid, unit)
                    _apply(
                        edit.toggle_unit, [selected, holder], territory_id=selected, unit_id=unit
                    )
            unit_ids = view.units[s.UNIT_ID].astype(str).tolist()
            in_it = set(mine)
            with st.form("tp.edit.unit_form", border=False):
                unit_pick = st.selectbox(
                    "Or pick a unit",
                    unit_ids,
                    format_func=lambda u: f"{u} ({'in' if u in in_it else 'not in'} it)",
                    key="tp.edit.unit_pick",
                )
                if st.form_submit_button("Add or remove it"):
                    holder = edit.unit_holder(ws, sid, unit_pick)
                    _apply(
                        edit.toggle_unit,
                        [selected, holder],
                        territory_id=selected,
                        unit_id=unit_pick,
                    )
    elif pending is None:
        st.subheader("Draw" if mode == "draw" else "Reshape")
        if mode == "draw":
            st.markdown(
                "Use the polygon or rectangle tool at the top left of the map. The number "
                "of accounts inside shows here as soon as the shape is closed."
            )
        elif selected is None or selected not in set(terr[s.TERRITORY_ID].astype(str)):
            st.info("Pick a territory first.")
        else:
            st.markdown(
                "Click the edit tool (the pencil at the top left of the map), drag the "
                f"corners of **{labels.get(selected, selected)}**, then press *Save* in "
                "the map's toolbar."
            )
    else:
        st.subheader("Drawn shape" if mode == "draw" else "Reshaped territory")
        drawn: DrawnTerritory | None = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the repairs come back in drawn.warnings
                drawn = drawn_territory(pending["features"], view.accounts, label="the drawn shape")
        except PlannerError as exc:
            editing.show_error(exc)
        if drawn is not None:
            st.markdown(f"### {drawn.account_count:,} accounts inside")
            st.caption(f"Area {drawn.area_km2:,.2f} km²")
            for note in edit.repair_notes(drawn.warnings):
                st.warning(f"Repaired: {note}")
            types = view.territory_types[s.TYPE_ID].astype(str).tolist()
            if mode == "edit" and selected is not None:
                with st.form("tp.edit.reshape_form"):
                    st.markdown(f"New shape for **{labels.get(selected, selected)}**.")
                    clip = st.checkbox("Clip it to its parent's shape", value=True)
                    if st.form_submit_button("Save the new shape", type="primary"):
                        _apply(
                            edit.replace_shape,
                            [selected],
                            territory_id=selected,
                            geometry=drawn.geometry,
                            clip_to_parent=clip,
                        )
            else:
                parents = [None, *ids]
                default_parent = None
                if selected is not None:  # a sibling of a leaf, a child of a parent
                    up = hierarchy.parent_map(terr).get(selected)
                    default_parent = up if selected in leaves else selected
                choice = st.radio(
                    "Use it to",
                    ["new", "replace"],
                    format_func=lambda v: (
                        "create a new territory"
                        if v == "new"
                        else f"replace the shape of {labels.get(selected or '', selected)}"
                    ),
                    horizontal=True,
                    disabled=selected is None,
                    key="tp.edit.use",
                )
                with st.form("tp.edit.drawn_form"):
                    if choice == "new":
                        c1, c2 = st.columns(2)
                        new_id = c1.text_input("Id", value=edit.new_territory_id(terr))
                        new_name = c2.text_input("Name", placeholder="e.g. Harbour district")
                        parent = st.selectbox(
                            "Parent",
                            parents,
                            index=parents.index(default_parent),
                            format_func=lambda t: (
                                "(none: top level)" if t is None else labels.get(t, t)
                            ),
                        )
                        type_id = st.selectbox("Type", types)
                    clip = st.checkbox("Clip it to the parent's shape", value=True)
                    label = "Create the territory" if choice == "new" else "Replace the shape"
                    if st.form_submit_button(label, type="primary"):
                        if choice == "new":
                            st.session_state[_NEXT] = new_id.strip()
                            _apply(
                                edit.add_drawn_territory,
                                [parent],
                                everything=parent is None,
                                geometry=drawn.geometry,
                                territory_id=new_id,
                                name=new_name,
                                parent_id=parent,
                                type_id=type_id,
                                clip_to_parent=clip,
                            )
                        elif selected is not None:
                            _apply(
                                edit.replace_shape,
                                [selected],
                                territory_id=selected,
                                geometry=drawn.geometry,
                                clip_to_parent=clip,
                            )
        if st.button("Discard the drawing", key="tp.edit.discard"):
            st.session_state[_PENDING] = None
            st.session_state[_NONCE] = nonce + 1
            st.rerun()

    st.subheader("Accounts per territory")
    table = counts.drop(columns=["is_leaf"])
    config: dict[str, Any] = {
        "territory": st.column_config.TextColumn("territory"),
        s.TERRITORY_ID: st.column_config.TextColumn("id"),
        "accounts": st.column_config.NumberColumn("accounts", format="%d"),
    }
    if "change" in table.columns:
        config["change"] = st.column_config.NumberColumn("change", format="%+d")
    st.dataframe(
        table, hide_index=True, width="stretch", column_config=config, key="tp.edit.counts"
    )
    unassigned = len(view.accounts) - view.memberships(sid)[s.ACCOUNT_ID].nunique()
    st.caption(f"{unassigned:,} of {len(view.accounts):,} accounts are in no territory.")
    if selected is not None:
        history_panel(territory=selected, key="tp.edit.history")
