"""Streamlit glue of the app: session state, caching, progress bars, maps and the shared frame.

Besides ``app.py`` and ``app_pages/``, this package is the only code that
imports Streamlit; everything it shows comes from the ``planner`` library.

- :mod:`ui.state`: the current workspace, scenario and settings of a session.
- :mod:`ui.cache`: cached reading of workspace files.
- :mod:`ui.progress`: :func:`~ui.progress.st_progress`, a progress callback for the library.
- :mod:`ui.maps`: showing folium maps with the vendored, offline assets.
- :mod:`ui.sidebar`: the workspace, scenario and basemap pickers of every page.
- :mod:`ui.tables`: the frames behind the data page's tables (no Streamlit).
"""
