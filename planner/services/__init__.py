"""Workflows the app and the CLI share: display tables, report frames and export bundles.

Everything here is plain library code (no Streamlit): the app's pages call it
and show the results; the CLI calls it and prints or writes them.
"""
