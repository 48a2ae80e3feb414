"""Streamlit glue of the app: session state, caching, progress bars, maps and the shared frame.

Besides ``app.py`` and ``app_pages/``, this package is the only code that
imports Streamlit; everything it shows comes from the ``planner`` library.

Shared frame and session:

- :mod:`ui.state`, :mod:`ui.session`, :mod:`ui.keys`: the current workspace, scenario and
  settings of a session, and every session key.
- :mod:`ui.cache`: cached reading of workspace files and rendered map parts.
- :mod:`ui.progress`: a progress bar that is the library's progress callback.
- :mod:`ui.sidebar`: the workspace, scenario, basemap and currency pickers of every page.
- :mod:`ui.auth`: sign-in, session timeout, the user's access scope, role-dependent navigation.
- :mod:`ui.display`: tables with human headers, units, currency and blank missing values.
- :mod:`ui.maps`: showing folium maps with the vendored, offline assets.
- :mod:`ui.history`: a record's recorded changes and its state on a date.

Pages' parts:

- :mod:`ui.editing`, :mod:`ui.territory_editor`: editing territories on the map.
- :mod:`ui.assignment_tabs`, :mod:`ui.rule_editor`, :mod:`ui.account_actions`,
  :mod:`ui.gap_fill`: memberships and why, rules and overrides, gaps filled with a preview.
- :mod:`ui.account_edit`: bulk edit of account attributes on the data page.
- :mod:`ui.map_tools`: search and fly-to, density, drive-time areas, lasso selection.
- :mod:`ui.balance_controls`, :mod:`ui.balance_result`, :mod:`ui.audit_view`,
  :mod:`ui.scenarios`: the balance form, its result and trade-off curve, the fairness
  audit, and the compare page's promotion.
- :mod:`ui.routes`, :mod:`ui.team_routes`, :mod:`ui.network_upload`: a rep's day and
  week, a team's joint plan, and bringing a road network.
- :mod:`ui.targets`: targets and quota proposals.
- :mod:`ui.importing`, :mod:`ui.import_steps`: the import page: check a file, then import.
"""
