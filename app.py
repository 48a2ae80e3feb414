"""Territory Planner: the Streamlit entry point (router and shared frame).

Run with ``streamlit run app.py`` (``./dev app``). ``$PLANNER_WORKSPACE``
picks the workspace opened at start (a sample name or a .gpkg path; Helsinki
by default) and ``$PLANNER_TILES`` the basemap (``none`` or ``osm``).
"""

from __future__ import annotations

import streamlit as st

from ui.auth import navigation
from ui.sidebar import draw_pending_banner, draw_sidebar

st.set_page_config(
    page_title="Territory Planner",
    page_icon="🗺️",  # an emoji, not a :material/ icon: those load from fonts.gstatic.com
    layout="wide",
    initial_sidebar_state="expanded",
)

# One line per page: add a page by adding its line here.
PAGES = {
    "Plan": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:",
                default=True),
        st.Page("app_pages/map.py", title="Map", icon=":material/map:", url_path="map"),
        st.Page("app_pages/routes.py", title="Routes", icon=":material/route:", url_path="routes"),
        st.Page("app_pages/territories.py", title="Edit territories",
                icon=":material/edit_location_alt:", url_path="edit"),
        st.Page("app_pages/hierarchy.py", title="Hierarchy", icon=":material/account_tree:",
                url_path="hierarchy"),
        st.Page("app_pages/team.py", title="Team", icon=":material/group:", url_path="team"),
        st.Page("app_pages/assignment.py", title="Assignment", icon=":material/rule:",
                url_path="assignment"),
        st.Page("app_pages/balance.py", title="Balance", icon=":material/balance:",
                url_path="balance"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:",
                url_path="compare"),
    ],
    "Data": [
        st.Page("app_pages/data.py", title="Accounts & data", icon=":material/table:",
                url_path="data"),
        st.Page("app_pages/import_data.py", title="Import data", icon=":material/upload_file:",
                url_path="import"),
    ],
    "Targets & reports": [
        st.Page("app_pages/targets.py", title="Targets", icon=":material/flag:",
                url_path="targets"),
        st.Page("app_pages/reports.py", title="Reports", icon=":material/monitoring:",
                url_path="reports"),
        st.Page("app_pages/export.py", title="Export", icon=":material/download:",
                url_path="export"),
    ],
}  # fmt: skip

draw_sidebar()  # opens the workspace and checks the sign-in before the menu is built
page = navigation(PAGES)  # st.navigation with the pages the user's role may open
draw_pending_banner()  # an edit that could not be saved (conflict, server gone) and the ways out
page.run()
