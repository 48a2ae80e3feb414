"""Edit territories: draw or reshape a territory, click units in or out, and watch the counts.

The whole editor is one fragment (:func:`ui.territory_editor.territory_editor`):
a click on the map, a mode switch or a form reruns only it.
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.territory_editor import territory_editor

state.current_workspace()  # stops the page if no workspace is open or nobody signed in
state.workspace_for_edit()  # "access denied" for reps, before anything is drawn
st.title("Edit territories")
territory_editor()
