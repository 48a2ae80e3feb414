"""Tables as people read them: human headers with units and currency, blanks, scrolling.

:func:`show_table` is ``st.dataframe`` for every page: the frame keeps its
column names (downloads and tests see ``annual_revenue``), while the header
shows ``Annual revenue (EUR)``; missing values show blank instead of "None";
numbers are grouped in the reader's locale; wide tables scroll sideways
instead of squeezing columns. The currency is the workspace's
(:func:`planner.labels.workspace_currency`) unless the user picks another in
the sidebar (:func:`currency_setting`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from planner.labels import MONEY_COLUMNS, column_label, count_of, workspace_currency
from planner.workspace import Workspace
from ui import keys, session

__all__ = ["PAGE_ROWS", "currency", "currency_setting", "page_of", "show_table", "table_config"]

#: Rows a table shows at once; longer tables get a page picker (a million rows never go
#: to the browser in one piece).
PAGE_ROWS = 5_000

#: Currencies offered in the sidebar (the workspace's own is added when missing).
_OFFERED = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "JPY", "INR")


def _key() -> str:
    source = session.workspace_source()
    return keys.currency(source.key if source is not None else "")


def currency() -> str:
    """The currency amounts are shown in (the sidebar's choice for this workspace)."""
    chosen = st.session_state.get(_key())
    if chosen:
        return str(chosen)
    ws = session.workspace_or_none()
    return workspace_currency(None if ws is None else ws.accounts)


def currency_setting(ws: Workspace) -> None:
    """A sidebar picker of the display currency, defaulting to the workspace's."""
    own = workspace_currency(ws.accounts)
    options = list(_OFFERED) if own in _OFFERED else [own, *_OFFERED]
    key = _key()
    if st.session_state.get(key) not in options:
        st.session_state[key] = own
    st.selectbox(
        "Currency",
        options,
        key=key,
        help="The currency revenue, targets and amounts are labelled with. The default "
        "comes from the accounts' country (or $PLANNER_CURRENCY); amounts are not converted.",
    )


def table_config(
    frame: pd.DataFrame, given: Mapping[str, Any] | None = None, *, money: str | None = None
) -> dict[str, Any]:
    """Column settings: a human header for every column, grouped numbers.

    ``given`` settings win (a page's own formats); their missing labels are filled in.
    A plain string given is a header only: the column is formatted like the others.
    """
    code = money or currency()
    config: dict[str, Any] = {}
    for column in frame.columns:
        label = column_label(column, code)
        if given is not None and column in given:
            if not isinstance(given[column], str):
                config[column] = _labelled(given[column], label)
                continue
            label = _capital(given[column])  # a header only: the column keeps its format
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            config[column] = st.column_config.CheckboxColumn(label)
        elif pd.api.types.is_numeric_dtype(dtype):
            fmt = "localized" if column in MONEY_COLUMNS or _whole(frame[column]) else None
            config[column] = st.column_config.NumberColumn(label, format=fmt)
        else:
            config[column] = st.column_config.Column(label)
    return config


def show_table(
    frame: pd.DataFrame | Styler,
    *,
    column_config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Show ``frame`` with human headers, blank missing text and grouped numbers.

    A styled frame (a pandas ``Styler``) keeps its own cell formats and colours.
    """
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    kwargs.setdefault("placeholder", "")  # a missing number is blank too, not "None"
    if isinstance(frame, Styler):
        data: pd.DataFrame = frame.data  # type: ignore[attr-defined]
        return st.dataframe(frame, column_config=table_config(data, column_config), **kwargs)
    return st.dataframe(
        blank_missing_text(frame), column_config=table_config(frame, column_config), **kwargs
    )


def page_of(frame: pd.DataFrame, *, key: str, noun: str, total: int | None = None) -> pd.DataFrame:
    """The page of ``frame`` to show, with a caption and (when long) a page picker."""
    n = len(frame)
    counted = count_of(n, noun) if total is None else f"{n:,} of {count_of(total, noun)}"
    if n <= PAGE_ROWS:
        st.caption(counted)
        return frame
    pages = -(-n // PAGE_ROWS)
    left, right = st.columns([1, 4])
    page = int(left.number_input(f"Page (of {pages:,})", 1, pages, 1, key=key))
    start = (page - 1) * PAGE_ROWS
    stop = min(start + PAGE_ROWS, n)
    right.caption(f"{counted}: rows {start + 1:,}-{stop:,} shown")
    return frame.iloc[start:stop]


def blank_missing_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text columns show "" where a value is missing (numbers keep NaN)."""
    text = [
        c
        for c in frame.columns
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)
    ]
    if not text:
        return frame
    out = frame.copy()
    for column in text:
        out[column] = out[column].astype(object).where(out[column].notna(), "")
    return out


def _labelled(setting: Any, label: str) -> Any:
    """A page's own column setting, with the human header when it names none.

    Headers a page names itself start with a capital like the others ("account id" ->
    "Account id"); a plain string is a header too, ``None`` hides the column.
    """
    if isinstance(setting, str):
        return _capital(setting)
    if isinstance(setting, dict):
        given = setting.get("label")
        return {**setting, "label": _capital(given) if isinstance(given, str) and given else label}
    return setting


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _whole(values: pd.Series) -> bool:
    """Whether a number column holds large whole numbers (grouped: 1,256 not 1256)."""
    finite = values.dropna()
    return (
        bool(len(finite))
        and bool((finite.abs() >= 1000).any())
        and bool((finite == finite.round()).all())
    )
