"""The shared frame of every page: workspace picker, signed-in user, scenario and basemap."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import timedelta
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from planner.errors import PlannerError
from planner.labels import count_of
from planner.samples import SAMPLES
from ui import auth, display, keys, state
from ui.cache import store_upload

__all__ = ["draw_sidebar"]

_UPLOAD = "upload"
_TILE_LABELS = {"none": "None (works offline)", "osm": "OpenStreetMap tiles (online)"}


def _env_file() -> str | None:
    value = os.environ.get(state.WORKSPACE_ENV, "").strip()
    if value and value not in SAMPLES:
        return f"file:{Path(value).resolve()}"
    return None


def _choices() -> dict[str, str]:
    """Picker entries: key -> label (samples, the save folder, the team server, upload)."""
    options: dict[str, str] = {}
    env_file = _env_file()
    if env_file:
        options[env_file] = Path(env_file.removeprefix("file:")).stem
    try:
        found = state.workspace_choices()
    except PlannerError as exc:  # the team server is unreachable
        st.warning(f"The team server's workspaces are not listed: {exc}")
        found = [
            state.WorkspaceSource(f"sample:{n}", f"{n.title()} (sample)", None) for n in SAMPLES
        ]
    for source in found:
        options.setdefault(source.key, source.label)
    current = state.workspace_source()
    if current is not None and current.key not in options:
        options[current.key] = current.label  # made in this session
    options[_UPLOAD] = "Upload a workspace (.gpkg)…"
    return options


def _default_choice() -> str:
    value = os.environ.get(state.WORKSPACE_ENV, "").strip() or state.DEFAULT_SAMPLE
    return f"sample:{value}" if value in SAMPLES else (_env_file() or _UPLOAD)


def _source_for(choice: str) -> state.WorkspaceSource:
    kind, _, rest = choice.partition(":")
    if kind == "sample":
        return state.sample_source(rest)
    if kind == "server":
        return state.server_source(rest)
    return state.file_source(rest)


def _open_upload(name: str, data: bytes) -> bool:
    """Keep an uploaded workspace in the save folder (a new name if taken) and open it.

    Returns whether it opened; a file that is not a workspace is not kept
    (the reason shows as the load error). The same upload is handled once.
    """
    digest = hashlib.sha256(data).hexdigest()[:16]
    if st.session_state.get(keys.LAST_UPLOAD) == digest:
        return False
    st.session_state[keys.LAST_UPLOAD] = digest
    staged = store_upload(name, data)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(name).stem) or "upload"
    folder = state.save_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / f"{stem}.gpkg", 2
    while target.exists():
        target, n = folder / f"{stem}-{n}.gpkg", n + 1
    shutil.copyfile(staged, target)
    source = state.WorkspaceSource(f"file:{target.resolve()}", name, target)
    if state.open_source(source) is None:
        for leftover in (target, *target.parent.glob(f"{target.stem}.v1-backup.gpkg")):
            leftover.unlink(missing_ok=True)
        return False
    st.session_state[keys.NEXT_WORKSPACE_CHOICE] = source.key  # selected before the picker is drawn
    return True


def _workspace_picker() -> None:
    options = _choices()
    choices = list(options)
    default = _default_choice()
    current = state.workspace_source()
    if keys.NEXT_WORKSPACE_CHOICE in st.session_state:
        st.session_state[keys.WORKSPACE_CHOICE] = st.session_state.pop(keys.NEXT_WORKSPACE_CHOICE)
    elif (
        keys.WORKSPACE_CHOICE not in st.session_state
        and current is not None
        and current.key in choices
    ):
        st.session_state[keys.WORKSPACE_CHOICE] = current.key
    choice = st.selectbox(
        "Workspace",
        choices,
        index=choices.index(default) if default in choices else 0,
        format_func=lambda k: options.get(k, k),
        key=keys.WORKSPACE_CHOICE,
        help="Every workspace in the save folder and on the team server. Edits are saved as "
        "you make them.",
    )
    if choice == _UPLOAD:
        upload = st.file_uploader(
            "GeoPackage saved by Territory Planner",
            type=["gpkg"],
            key=keys.UPLOAD,
            help="A workspace file (.gpkg). To import CSV or GIS layers, use the data page.",
        )
        if upload is not None and _open_upload(upload.name, upload.getvalue()):
            st.rerun()
    elif current is None or current.key != _source_for_key(choice):
        try:
            chosen = _source_for(choice)
        except PlannerError as exc:
            state.set_load_error(f"Could not open {options.get(choice, choice)}: {exc}")
        else:
            state.open_source(chosen)
    else:
        state.sync()
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
        f"**{ws.name}** · {count_of(len(ws.accounts), 'account')} · "
        f"{count_of(len(ws.reps), 'user')} · {count_of(len(ws.units), 'unit')}"
        + (f"  \n{blurb}" if blurb else "")
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
    if out.button("Sign out", key=keys.SIGN_OUT):
        auth.sign_out("You signed out.")
        st.rerun()


def _source_for_key(choice: str) -> str:
    """Return the source key a choice opens (without reading anything)."""
    kind, _, rest = choice.partition(":")
    if kind in ("sample", "server"):
        return choice
    return f"file:{Path(rest).resolve()}"


def _on_scenario_change() -> None:
    state.set_scenario_id(st.session_state[keys.SCENARIO_CHOICE])


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
    st.session_state[keys.SCENARIO_CHOICE] = wanted
    st.selectbox(
        "Scenario",
        ids,
        format_func=lambda sid: labels.get(sid, sid),
        key=keys.SCENARIO_CHOICE,
        on_change=_on_scenario_change,
    )


def _on_tiles_change() -> None:
    state.set_tiles(st.session_state[keys.TILES_CHOICE])


def _basemap_picker() -> None:
    st.session_state[keys.TILES_CHOICE] = state.tile_source()
    st.radio(
        "Basemap",
        list(_TILE_LABELS),
        format_func=_TILE_LABELS.__getitem__,
        key=keys.TILES_CHOICE,
        on_change=_on_tiles_change,
        help="Without a basemap, units, territories and roads give the context. "
        "OpenStreetMap tiles need an internet connection.",
    )


#: Ctrl+Z / Ctrl+Y (Cmd on a Mac; Ctrl+Shift+Z too) press the Undo and Redo buttons, except
#: while the user types in a field, where the keys keep undoing their typing.
_UNDO_KEYS = """<script>
const doc = window.parent.document;
if (!doc.__tpUndoKeys) {
  doc.__tpUndoKeys = true;
  doc.addEventListener("keydown", (e) => {
    const t = e.target;
    const tag = ((t && t.tagName) || "").toLowerCase();
    if (["input", "textarea", "select"].includes(tag) || (t && t.isContentEditable)) return;
    if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
    const k = (e.key || "").toLowerCase();
    const label = k === "z" && !e.shiftKey ? "Undo" : (k === "y" || k === "z") ? "Redo" : null;
    if (!label) return;
    const button = [...doc.querySelectorAll("button")]
      .find((b) => b.innerText.trim().endsWith(label) && !b.disabled);
    if (button) { e.preventDefault(); button.click(); }
  });
}
</script>"""


def _on_undo() -> None:
    st.session_state[keys.UNDO_NOTE] = state.undo_redo("undo")
    st.session_state[keys.UNDONE] = True


def _on_redo() -> None:
    st.session_state[keys.UNDO_NOTE] = state.undo_redo("redo")
    st.session_state[keys.UNDONE] = True


def _change_controls(every: float) -> bool:
    """Undo, redo (Ctrl+Z, Ctrl+Y) and "Save a copy as…" for users who may edit.

    Return whether they were drawn: their fragment also watches for others'
    changes, so a page runs one timer, not two taking turns with the user's clicks.
    """
    ws = state.workspace_or_none()
    scope = auth.current_scope()
    if ws is None or scope is None or not scope.can("edit") or ws.store is None:
        return False
    live = st.fragment(_undo_redo, run_every=timedelta(seconds=every) if every > 0 else None)
    live()
    components.html(_UNDO_KEYS, height=0)
    with st.popover("Save a copy as…", width="stretch"):
        name = st.text_input("Name of the copy", key=keys.COPY_NAME)
        if st.button("Save the copy", key=keys.SAVE_COPY, disabled=not name.strip()):
            try:
                path = state.save_copy(name)
            except PlannerError as exc:
                st.error(str(exc))
            else:
                st.session_state[keys.NEXT_WORKSPACE_CHOICE] = state.file_source(path).key
                st.rerun()
    return True


def _undo_redo() -> None:
    """Undo and redo with the version shown: a fragment of its own, so an edit made in a page's
    fragment shows here within a few seconds; an undo or a redo reruns the whole page.
    On its timer it also takes in others' changes (:func:`_watch_for_changes`)."""
    if st.session_state.pop(keys.UNDONE, False):
        st.rerun(scope="app")
    _watch_for_changes()
    ws = state.workspace_or_none()
    if ws is None or ws.store is None:
        return
    can_undo, can_redo = state.can_undo_redo()
    undo, redo = st.columns(2)
    undo.button(
        "Undo", key=keys.UNDO, icon=":material/undo:", disabled=not can_undo,
        on_click=_on_undo, width="stretch",
        help="Undo your newest change (Ctrl+Z outside a text field). Others' changes are "
        "not touched.",
    )  # fmt: skip
    redo.button(
        "Redo", key=keys.REDO, icon=":material/redo:", disabled=not can_redo,
        on_click=_on_redo, width="stretch",
        help="Redo what you undid (Ctrl+Y).",
    )  # fmt: skip
    note = st.session_state.pop(keys.UNDO_NOTE, None)
    if note:
        st.caption(note)
    st.caption(f"Saved as you go · version {ws.version}")


def _refresh_seconds() -> float:
    """How often a page looks for others' changes (``$PLANNER_REFRESH_S``; 0 turns it off)."""
    try:
        return float(os.environ.get("PLANNER_REFRESH_S", "4"))
    except ValueError:
        return 4.0


def _watch_for_changes() -> None:
    """Every few seconds: when somebody else committed a change, refresh the whole page.

    Only on its own timer: during a run caused by the user's click it does
    nothing, so the click is handled on the version the user saw.
    """
    if st.session_state.get(keys.FULL_RUN):
        return
    if state.newer_version():
        state.request_refresh()
        st.rerun(scope="app")


def draw_pending_banner() -> None:
    """Above every page: an edit that could not be saved, and the ways out."""
    held = state.pending()
    if held is None:
        return
    if held.conflict:
        st.error(
            f"**Your change “{held.action}” was not saved**: somebody changed the same "
            f"things first.  \n{held.message}",
            icon=":material/sync_problem:",
        )
        reload, keep = st.columns(2)
        if reload.button(
            "Reload and reapply",
            key=keys.CONFLICT_RELOAD,
            help="Drop your change, show the newest version; then redo your edit.",
        ):
            state.drop_pending()
            st.rerun()
        if keep.button(
            "Save mine as a new scenario",
            key=keys.CONFLICT_KEEP,
            disabled=not held.scenario_id,
            help="Keep your version of the scenario as a new planning scenario.",
        ):
            new_id = state.keep_pending_as_scenario()
            if new_id:
                st.session_state[keys.UNDO_NOTE] = f"Saved your version as scenario {new_id}."
            st.rerun()
        return
    st.error(f"**Not saved**: {held.message}", icon=":material/cloud_off:")
    retry, drop = st.columns(2)
    if retry.button("Try again", key=keys.RETRY):
        state.retry_pending()
        st.rerun()
    if drop.button("Discard my change", key=keys.DISCARD):
        state.drop_pending()
        st.rerun()


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
        every = _refresh_seconds()
        st.session_state[keys.FULL_RUN] = True
        try:
            editing = _change_controls(every)
            if every > 0 and not editing:  # readers: the watch alone
                st.fragment(_watch_for_changes, run_every=timedelta(seconds=every))()
        finally:
            st.session_state[keys.FULL_RUN] = False
        _basemap_picker()
        ws = state.workspace_or_none()
        if ws is not None:
            display.currency_setting(ws)
