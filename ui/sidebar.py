"""The shared frame of every page: workspace picker, signed-in user, scenario and basemap."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import streamlit as st

from planner.errors import PlannerError
from planner.samples import SAMPLES
from ui import auth, state
from ui.cache import store_upload

__all__ = ["draw_sidebar"]

_UPLOAD = "upload"
_CHOICE_WIDGET = "tp.widget.workspace"
_UPLOAD_WIDGET = "tp.widget.upload"
_SCENARIO_WIDGET = "tp.widget.scenario"
_TILES_WIDGET = "tp.widget.tiles"
_TILE_LABELS = {"none": "None (works offline)", "osm": "OpenStreetMap tiles (online)"}


def _env_file() -> str | None:
    value = os.environ.get(state.WORKSPACE_ENV, "").strip()
    if value and value not in SAMPLES:
        return f"file:{Path(value).resolve()}"
    return None


def _choices() -> list[str]:
    options = [f"sample:{name}" for name in SAMPLES]
    env_file = _env_file()
    if env_file:
        options.insert(0, env_file)
    current = state.workspace_source()
    if current is not None and current.key.startswith("file:") and current.key not in options:
        options.insert(0, current.key)  # a workspace made or saved in this session
    options.append(_UPLOAD)
    return options


def _label(choice: str) -> str:
    if choice == _UPLOAD:
        return "Upload a workspace (.gpkg)…"
    kind, _, rest = choice.partition(":")
    if kind == "sample":
        return f"{rest.title()} (sample)"
    return Path(rest).name


def _default_choice() -> str:
    value = os.environ.get(state.WORKSPACE_ENV, "").strip() or state.DEFAULT_SAMPLE
    return f"sample:{value}" if value in SAMPLES else (_env_file() or _UPLOAD)


def _source_for(choice: str) -> state.WorkspaceSource:
    kind, _, rest = choice.partition(":")
    if kind == "sample":
        return state.sample_source(rest)
    return state.file_source(rest)


def _workspace_picker() -> None:
    options = _choices()
    default = _default_choice()
    choice = st.selectbox(
        "Workspace",
        options,
        index=options.index(default) if default in options else 0,
        format_func=_label,
        key=_CHOICE_WIDGET,
    )
    current = state.workspace_source()
    if choice == _UPLOAD:
        upload = st.file_uploader(
            "GeoPackage saved by Territory Planner",
            type=["gpkg"],
            key=_UPLOAD_WIDGET,
            help="A workspace file (.gpkg). To import CSV or GIS layers, use the data page.",
        )
        if upload is not None:
            data = upload.getvalue()
            key = f"upload:{hashlib.sha256(data).hexdigest()[:16]}"
            if current is None or current.key != key:
                path = store_upload(upload.name, data)
                state.open_source(state.WorkspaceSource(key, upload.name, path))
    elif current is None or current.key != _source_for_key(choice):
        try:
            chosen = _source_for(choice)
        except PlannerError as exc:
            state.set_load_error(f"Could not open {_label(choice)}: {exc}")
        else:
            state.open_source(chosen)
    error = state.load_error()
    if error:
        st.error(error)


def _workspace_caption() -> None:
    """Name and size of the open workspace, counting only what the user may see."""
    source = state.workspace_source()
    view = auth.visible_view()
    if view is None or source is None:
        return
    ws = view[1]
    sample = source.key.removeprefix("sample:") if source.key.startswith("sample:") else None
    blurb = SAMPLES[sample][1] if sample in SAMPLES else (ws.description or "")
    st.caption(
        f"**{ws.name}** · {len(ws.accounts):,} accounts · {len(ws.reps):,} reps · "
        f"{len(ws.units):,} units" + (f"  \n{blurb}" if blurb else "")
    )


def _user_box() -> None:
    """Who is signed in, with a sign-out button; or a note on local mode."""
    if auth.is_local_mode():
        st.caption(
            "**Local mode**: this workspace has no passwords, so you work as a planner "
            "without signing in."
        )
        return
    user = auth.current_user()
    if user is None:
        return
    who, out = st.columns([3, 2], vertical_alignment="center")
    who.text(f"{user.name or user.user_id}\n{user.user_id} · {user.role}")  # plain: no markup
    if out.button("Sign out", key="tp.widget.signout"):
        auth.sign_out("You signed out.")
        st.rerun()


def _source_for_key(choice: str) -> str:
    """Return the source key a choice opens (without reading anything)."""
    kind, _, rest = choice.partition(":")
    if kind == "sample":
        return f"sample:{rest}"
    return f"file:{Path(rest).resolve()}"


def _on_scenario_change() -> None:
    state.set_scenario_id(st.session_state[_SCENARIO_WIDGET])


def _scenario_picker() -> None:
    ws = state.workspace_or_none()
    if ws is None:
        return
    scenarios = ws.scenario_list()
    if not scenarios:
        st.caption("No scenario yet.")
        return
    ids = [sc.scenario_id for sc in scenarios]
    labels = {sc.scenario_id: f"{sc.name or sc.scenario_id} · {sc.state}" for sc in scenarios}
    wanted = state.scenario_choice()
    if wanted not in ids:
        try:
            wanted = ws.active_scenario_id()
        except PlannerError:
            wanted = ids[0]
        state.set_scenario_id(str(wanted))
    st.session_state[_SCENARIO_WIDGET] = wanted
    st.selectbox(
        "Scenario",
        ids,
        format_func=lambda sid: labels.get(sid, sid),
        key=_SCENARIO_WIDGET,
        on_change=_on_scenario_change,
    )


def _on_tiles_change() -> None:
    state.set_tiles(st.session_state[_TILES_WIDGET])


def _basemap_picker() -> None:
    st.session_state[_TILES_WIDGET] = state.tile_source()
    st.radio(
        "Basemap",
        list(_TILE_LABELS),
        format_func=_TILE_LABELS.__getitem__,
        key=_TILES_WIDGET,
        on_change=_on_tiles_change,
        help="Without a basemap, units, territories and roads give the context. "
        "OpenStreetMap tiles need an internet connection.",
    )


def _save_controls() -> None:
    ws = state.workspace_or_none()
    scope = auth.current_scope()
    if ws is None or scope is None or not scope.can("edit"):
        return
    target = state.save_target()
    if st.button("Save workspace", key="tp.widget.save", help=f"Saves to {target}"):
        try:
            path = state.save_workspace()
        except PlannerError as exc:
            st.error(str(exc))
        else:
            st.success(f"Saved to {path}")


def draw_sidebar() -> None:
    """Draw the sidebar shared by every page and open the start-up workspace if needed.

    Also ends a sign-in that has been idle too long (and restarts the idle
    clock of a live one); until someone signs in, only the workspace picker shows.
    """
    with st.sidebar:
        _workspace_picker()
        auth.session()
        if auth.needs_sign_in():
            return
        _user_box()
        _workspace_caption()
        _scenario_picker()
        _save_controls()
        _basemap_picker()
