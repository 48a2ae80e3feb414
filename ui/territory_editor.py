"""The body of Edit territories as one fragment: a click or a mode switch reruns only it.

Selecting a territory, switching the map's mode, clicking a unit, drawing
and the forms below all rerun this fragment, not the sidebar and the rest
of the app; an edit commits at once (:func:`ui.state.mark_changed`) and
redraws the fragment with the new version.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from planner import edit, hierarchy, viz
from planner import schema as s
from planner.errors import PlannerError
from planner.geo.shapes import DrawnTerritory, drawn_territory
from planner.workspace import Workspace
from ui import cache, display, editing, keys, maps, state
from ui.history import history_panel

__all__ = ["MODES", "territory_editor"]

MODES: dict[editing.MapMode, str] = {
    "draw": "Draw a shape",
    "edit": "Reshape the selected",
    "units": "Add or remove units",
}


@dataclass(frozen=True)
class _Page:
    """What one run of the editor works on."""

    view: Workspace  # what the user may see
    ws: Workspace  # the session's workspace, edited
    sid: str
    terr: pd.DataFrame
    labels: dict[str, str]
    counts: pd.DataFrame
    ids: list[str]
    leaves: set[str]
    user: str | None
    flash: dict[str, Any]  # the last edit's messages, shown beside the map (it never moves)


@st.fragment
def territory_editor() -> None:
    """Draw the editor: pickers, the map of the mode, its side panel, the counts."""
    page = _load()
    selected, mode, zoom = _pickers(page)
    map_key = _map_key(mode, selected, zoom)
    map_col, side = st.columns([3, 2], gap="medium")
    with map_col:
        result = _map(page, mode, selected, zoom, map_key)
    pending = _pending_drawing(result, map_key)
    nonce = int(st.session_state.get(keys.EDIT_NONCE, 0))
    with side:
        editing.show_flash(page.flash)
        if mode == "units":
            _units_panel(page, selected)
        elif pending is None:
            _how_to(page, mode, selected)
        else:
            _drawn_panel(page, mode, selected, pending, nonce)
        _counts(page, selected)


def _map_key(mode: editing.MapMode, selected: str | None, zoom: bool) -> str:
    """The map's widget key: a new key draws a new map (see :func:`_map`).

    The unit map keeps its key across edits and selections (only its layers
    change); the drawing maps change it with every edit (a drawing used is
    gone) and with "Discard the drawing".
    """
    nonce = int(st.session_state.get(keys.EDIT_NONCE, 0))
    if mode == "units":
        return keys.edit_map(mode, "", zoom, 0, nonce)
    shown = selected if (mode != "draw" or zoom) else ""  # the draw map hides the selection
    return keys.edit_map(mode, shown or "", zoom, state.workspace_version(), nonce)


def _load(*, quiet: bool = False) -> _Page:
    """What the editor works on; ``quiet``: show nothing (in a callback, before the run)."""
    view = state.current_workspace()
    sid = state.current_scenario_id()
    ws = state.workspace_for_edit()  # "access denied" for reps
    terr = view.territories(sid)
    flash = {} if quiet else editing.take_flash()
    before = flash.get("before") or None
    counts = cache.territory_counts(state.content_key(view), view, sid, before)
    return _Page(
        flash=flash,
        view=view,
        ws=ws,
        sid=sid,
        terr=terr,
        labels=edit.territory_label(terr),
        counts=counts,
        ids=counts[s.TERRITORY_ID].tolist(),
        leaves=set(viz.leaf_territory_ids(terr)),
        user=editing.current_user(),
    )


def _pickers(page: _Page) -> tuple[str | None, editing.MapMode, bool]:
    ids = page.ids
    if not ids:
        st.info("This scenario has no territories yet: draw the first one on the map.")
    if st.session_state.get(keys.EDIT_NEXT_SELECTED) in ids:
        st.session_state[keys.EDIT_SELECTED] = st.session_state.pop(keys.EDIT_NEXT_SELECTED)
    if st.session_state.get(keys.EDIT_SELECTED) not in ids:
        first_leaf = next((t for t in ids if t in page.leaves), ids[0] if ids else None)
        st.session_state[keys.EDIT_SELECTED] = first_leaf
    pick, how, zoom_col = st.columns([3, 4, 1.4], vertical_alignment="bottom")
    selected: str | None = pick.selectbox(
        "Territory", ids, format_func=lambda t: page.labels.get(t, t), key=keys.EDIT_SELECTED
    )
    mode: editing.MapMode = (
        how.segmented_control(
            "On the map", list(MODES), format_func=MODES.__getitem__, default="draw",
            key=keys.EDIT_MODE,
        )
        or "draw"
    )  # fmt: skip
    zoom = zoom_col.toggle("Zoom to it", key=keys.EDIT_ZOOM, help="Fit the map to the selection")
    return selected, mode, bool(zoom)


def _map(
    page: _Page, mode: editing.MapMode, selected: str | None, zoom: bool, map_key: str
) -> dict[str, Any]:
    """The map of the mode, put together from parts cached apart (:func:`editing.edit_map_parts`).

    Its layers are apart from the map itself, so an edit on the unit map
    redraws the layers in the map already shown. A click on a unit is
    handled in the map's callback, before the rerun that draws its result.
    """
    options = state.map_options(show_reps=False)
    parts = editing.edit_map_parts(
        page.view, page.sid, mode=mode, selected=selected, options=options, zoom_to_selected=zoom
    )
    if mode == "units":
        returned = ["last_object_clicked", "last_object_clicked_count"]
        on_change = partial(_on_unit_click, selected)
    else:
        returned, on_change = ["all_drawings"], None
    result = maps.show_parts(
        parts, key=map_key, height=600, returned_objects=returned, on_change=on_change
    )
    maps.attribution_caption()
    return result or {}


def _pending_drawing(result: dict[str, Any], map_key: str) -> dict[str, Any] | None:
    """The drawing waiting for a decision (gone once the map is redrawn)."""
    pending = st.session_state.get(keys.EDIT_PENDING)
    if pending is not None and pending["map"] != map_key:
        pending = None
    if result.get("all_drawings") is not None:
        features = result["all_drawings"]
        pending = {"map": map_key, "features": features} if features else None
    st.session_state[keys.EDIT_PENDING] = pending
    return pending


def _apply(
    page: _Page,
    change: Any,
    touched: Sequence[str | None],
    *,
    everything: bool = False,
    rerun: bool = True,
    **kwargs: Any,
) -> None:
    """Run an edit the user may make; on success remember its message and redraw the editor.

    ``rerun`` false (in a callback, before the run): the message of a
    refusal is kept for the run too, and nothing reruns.
    """
    previous = dict(zip(page.counts[s.TERRITORY_ID], page.counts["accounts"], strict=True))
    try:
        editing.require_edit(*touched, everything=everything)
        outcome = change(page.ws, page.sid, user=page.user, **kwargs)
    except PlannerError as exc:
        if rerun:
            editing.show_error(exc)
        else:
            editing.remember_error(exc)
        return
    state.mark_changed(getattr(change, "__name__", "edit territories").replace("_", " "))
    editing.remember(outcome, previous)
    st.session_state[keys.EDIT_PENDING] = None
    if rerun:
        editing.rerun_fragment()


def _toggle(page: _Page, selected: str, unit: str, *, rerun: bool = True) -> None:
    holder = edit.unit_holder(page.ws, page.sid, unit)
    _apply(
        page, edit.toggle_unit, [selected, holder], territory_id=selected, unit_id=unit,
        rerun=rerun,
    )  # fmt: skip


def _on_unit_click(selected: str | None, report: dict[str, Any]) -> None:
    """A click on the unit map (its callback, before the rerun): add or remove the unit there."""
    click = report.get("last_object_clicked")
    if not click or selected is None:
        return
    page = _load(quiet=True)
    unit = edit.unit_at(page.view.units, float(click["lng"]), float(click["lat"]))
    if unit is None:
        editing.remember_warning("No unit there: click inside a unit's outline.")
    else:
        _toggle(page, selected, unit, rerun=False)


def _units_panel(page: _Page, selected: str | None) -> None:
    st.subheader("Units")
    if selected is None:
        st.info("Pick a territory first.")
        return
    mine = edit.units_of(page.view, page.sid, selected)
    st.markdown(
        f"Click a unit on the map to add it to **{page.labels.get(selected, selected)}**; "
        "click one of its (filled) units to remove it."
    )
    st.caption(f"{len(mine):,} units in this territory now.")
    in_it = set(mine)
    with st.form(keys.EDIT_UNIT_FORM, border=False):
        unit_pick = st.selectbox(
            "Or pick a unit",
            page.view.units[s.UNIT_ID].astype(str).tolist(),
            format_func=lambda u: f"{u} ({'in' if u in in_it else 'not in'} it)",
            key=keys.EDIT_UNIT_PICK,
        )
        if st.form_submit_button("Add or remove it"):
            _toggle(page, selected, unit_pick)


def _how_to(page: _Page, mode: editing.MapMode, selected: str | None) -> None:
    st.subheader("Draw" if mode == "draw" else "Reshape")
    if mode == "draw":
        st.markdown(
            "Use the polygon or rectangle tool at the top left of the map. The number "
            "of accounts inside shows here as soon as the shape is closed."
        )
    elif selected is None or selected not in set(page.terr[s.TERRITORY_ID].astype(str)):
        st.info("Pick a territory first.")
    else:
        st.markdown(
            "Click the edit tool (the pencil at the top left of the map), drag the "
            f"corners of **{page.labels.get(selected, selected)}**, then press *Save* in "
            "the map's toolbar."
        )


def _drawn_panel(
    page: _Page,
    mode: editing.MapMode,
    selected: str | None,
    pending: dict[str, Any],
    nonce: int,
) -> None:
    st.subheader("Drawn shape" if mode == "draw" else "Reshaped territory")
    drawn: DrawnTerritory | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the repairs come back in drawn.warnings
            drawn = drawn_territory(
                pending["features"], page.view.accounts, label="the drawn shape"
            )
    except PlannerError as exc:
        editing.show_error(exc)
    if drawn is not None:
        st.markdown(f"### {drawn.account_count:,} accounts inside")
        st.caption(f"Area {drawn.area_km2:,.2f} km²")
        for note in edit.repair_notes(drawn.warnings):
            st.warning(f"Repaired: {note}")
        if mode == "edit" and selected is not None:
            _reshape_form(page, selected, drawn)
        else:
            _drawn_form(page, selected, drawn)
    if st.button("Discard the drawing", key=keys.EDIT_DISCARD):
        st.session_state[keys.EDIT_PENDING] = None
        st.session_state[keys.EDIT_NONCE] = nonce + 1
        editing.rerun_fragment()


def _reshape_form(page: _Page, selected: str, drawn: DrawnTerritory) -> None:
    with st.form(keys.EDIT_RESHAPE_FORM):
        st.markdown(f"New shape for **{page.labels.get(selected, selected)}**.")
        clip = st.checkbox("Clip it to its parent's shape", value=True)
        if st.form_submit_button("Save the new shape", type="primary"):
            _apply(page, edit.replace_shape, [selected], territory_id=selected,
                   geometry=drawn.geometry, clip_to_parent=clip)  # fmt: skip


def _drawn_form(page: _Page, selected: str | None, drawn: DrawnTerritory) -> None:
    labels = page.labels
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
        key=keys.EDIT_USE,
    )
    with st.form(keys.EDIT_DRAWN_FORM):
        new = _new_territory_fields(page, selected) if choice == "new" else None
        clip = st.checkbox("Clip it to the parent's shape", value=True)
        label = "Create the territory" if choice == "new" else "Replace the shape"
        if not st.form_submit_button(label, type="primary"):
            return
        if new is not None:
            st.session_state[keys.EDIT_NEXT_SELECTED] = new["territory_id"].strip()
            _apply(page, edit.add_drawn_territory, [new["parent_id"]],
                   everything=new["parent_id"] is None, geometry=drawn.geometry,
                   clip_to_parent=clip, **new)  # fmt: skip
        elif selected is not None:
            _apply(page, edit.replace_shape, [selected], territory_id=selected,
                   geometry=drawn.geometry, clip_to_parent=clip)  # fmt: skip


def _new_territory_fields(page: _Page, selected: str | None) -> dict[str, Any]:
    """Id, name, parent and type of a new territory (inside the form)."""
    parents: list[str | None] = [None, *page.ids]
    default_parent = None
    if selected is not None:  # a sibling of a leaf, a child of a parent
        up = hierarchy.parent_map(page.terr).get(selected)
        default_parent = up if selected in page.leaves else selected
    c1, c2 = st.columns(2)
    new_id = c1.text_input("Id", value=edit.new_territory_id(page.terr))
    new_name = c2.text_input("Name", placeholder="e.g. Harbour district")
    parent = st.selectbox(
        "Parent",
        parents,
        index=parents.index(default_parent),
        format_func=lambda t: "(none: top level)" if t is None else page.labels.get(t, t),
    )
    type_id = st.selectbox("Type", page.view.territory_types[s.TYPE_ID].astype(str).tolist())
    return {"territory_id": new_id, "name": new_name, "parent_id": parent, "type_id": type_id}


def _counts(page: _Page, selected: str | None) -> None:
    st.subheader("Accounts per territory")
    table = page.counts.drop(columns=["is_leaf"])
    config: dict[str, Any] = {
        "territory": st.column_config.TextColumn("territory"),
        s.TERRITORY_ID: st.column_config.TextColumn("id"),
        "accounts": st.column_config.NumberColumn("accounts", format="%d"),
    }
    if "change" in table.columns:
        config["change"] = st.column_config.NumberColumn("change", format="%+d")
    display.show_table(
        table, hide_index=True, width="stretch", column_config=config, key=keys.EDIT_COUNTS
    )
    view = page.view
    unassigned = len(view.accounts) - view.memberships(page.sid)[s.ACCOUNT_ID].nunique()
    st.caption(f"{unassigned:,} of {len(view.accounts):,} accounts are in no territory.")
    if selected is not None and st.toggle(
        "Show its history",
        key=keys.EDIT_SHOW_HISTORY,
        help="The recorded changes of the selected territory (read from the store when on).",
    ):
        history_panel(territory=selected, key=keys.EDIT_HISTORY)
