"""Streamlit glue of the app: session state, caching, progress bars, maps and the shared frame.

Besides ``app.py`` and ``app_pages/``, this package is the only code that
imports Streamlit; everything it shows comes from the ``planner`` library.

- :mod:`ui.state`: the current workspace, scenario and settings of a session.
- :mod:`ui.cache`: cached reading of workspace files.
- :mod:`ui.progress`: :func:`~ui.progress.st_progress`, a progress callback for the library.
- :mod:`ui.maps`: showing folium maps with the vendored, offline assets.
- :mod:`ui.sidebar`: the workspace, scenario and basemap pickers of every page.
- :mod:`ui.auth`: sign-in, session timeout, the user's access scope, role-dependent navigation.
- :mod:`ui.editing`: the edit pages' session glue and folium maps (edits: :mod:`planner.edit`).
- :mod:`ui.scenarios`: the balance and compare pages' inputs, charts and maps.
- :mod:`ui.routes`: the routes page: scoped rep choice, cached road network, route maps.
- :mod:`ui.importing`: the import page: check an uploaded file, then import it.
"""
