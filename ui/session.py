"""The session's open workspace as stored: what is open, from where, which scenario, which version.

The plain reads that both :mod:`ui.state` (opening, saving) and
:mod:`ui.auth` (who sees what) need, kept below both so neither imports the
other to get them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import streamlit as st

from planner.store import DATABASE_URL_ENV
from planner.workspace import Workspace
from ui import keys

__all__ = [
    "WorkspaceSource",
    "scenario_choice",
    "workspace_or_none",
    "workspace_source",
    "workspace_version",
]


@dataclass(frozen=True)
class WorkspaceSource:
    """Where a workspace lives.

    Parameters
    ----------
    key
        Identifies the source (``sample:helsinki``, ``file:/x.gpkg``, ``server:north``).
    label
        What the user sees.
    path
        The workspace file, or ``None`` for a workspace on the team server.
    server_name
        The workspace's name on the server (``$PLANNER_DATABASE_URL``).
    """

    key: str
    label: str
    path: Path | None
    server_name: str | None = None

    @property
    def where(self) -> str:
        """The file path or the server URL."""
        if self.path is not None:
            return str(self.path)
        return os.environ.get(DATABASE_URL_ENV, "")


def workspace_source() -> WorkspaceSource | None:
    """Return where the open workspace came from, or ``None``."""
    return cast("WorkspaceSource | None", st.session_state.get(keys.SOURCE))


def workspace_or_none() -> Workspace | None:
    """Return the session's whole workspace, or ``None`` if none is open.

    For the shared frame (sidebar, saving) only: pages show
    :func:`ui.state.current_workspace`, which holds what the user may see.
    """
    return cast("Workspace | None", st.session_state.get(keys.WORKSPACE))


def scenario_choice() -> str | None:
    """Return the chosen scenario id as stored, unchecked (``None`` if none chosen yet)."""
    value = st.session_state.get(keys.SCENARIO)
    return None if value is None else str(value)


def workspace_version() -> int:
    """Return a number that changes whenever the session's workspace changes."""
    return int(st.session_state.get(keys.VERSION, 0))
