"""Neutralise spreadsheet formulas (CSV/XLSX injection) and escape HTML in names.

A cell whose text begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, or their full-width forms) is run as a formula by Excel,
LibreOffice and Google Sheets when the file is opened. Account and territory
names come from users and CRMs, so every text cell we write to a CSV or XLSX
file passes through :func:`neutralise`, which puts a single quote in front
(OWASP's advice). A text that already starts with a quote gets one too, so
:func:`restore` undoes it exactly and our own importer reads back the
original text.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_TRIGGERS",
    "escape_html",
    "neutralise",
    "neutralise_frame",
    "restore",
    "restore_frame",
]

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_QUOTE = "'"
_NEEDS_QUOTE = re.compile("^[" + re.escape("".join(FORMULA_TRIGGERS) + _QUOTE) + "]")
_FIRST = frozenset((*FORMULA_TRIGGERS, _QUOTE))


def neutralise(value: Any) -> Any:
    """Return ``value`` made safe for a spreadsheet cell (non-text values pass unchanged).

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("North")
    'North'
    """
    if isinstance(value, str) and _NEEDS_QUOTE.match(value):
        return _QUOTE + value
    return value


def restore(value: Any) -> Any:
    """Undo :func:`neutralise` (only a text starting with a quote changes)."""
    if isinstance(value, str) and value.startswith(_QUOTE):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c != "geometry"
        and (pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c]))
    ]


def _starts_badly(values: Any) -> np.ndarray:
    first = (isinstance(v, str) and v[:1] in _FIRST for v in values)
    return np.fromiter(first, dtype=bool, count=len(values))


def _needs_quote(values: np.ndarray) -> np.ndarray:
    """Per cell, whether :func:`neutralise` changes it (each distinct value checked once
    when a first sample shows the column repeats its values)."""
    sample = values[:2000].tolist()
    try:
        repeats = len(set(sample)) < 0.2 * len(sample)
    except TypeError:  # unhashable cells: check each
        repeats = False
    if not repeats:
        return _starts_badly(values.tolist())
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    looked = np.append(_starts_badly(list(distinct)), False)  # code -1 (missing): no
    return np.asarray(looked[codes], dtype=bool)


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with every text cell neutralised (numbers untouched)."""
    out = frame.copy(deep=False)  # columns are replaced, never changed in place
    for col in _text_columns(out):
        series = out[col]
        if series.empty:
            continue
        mask = pd.Series(_needs_quote(series.to_numpy(dtype=object)), index=series.index)
        if mask.any():
            series = series.astype(object)
            series[mask] = _QUOTE + series[mask].astype(str)
            out[col] = series
    return out


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with :func:`restore` applied to every text cell."""
    out = frame.copy()
    for col in _text_columns(out):
        out[col] = out[col].map(restore)
    return out


_SCRIPT_SAFE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def escape_html(value: Any) -> str:
    """Return ``value`` as text safe to put inside HTML (map popups, tooltips, tables).

    Besides ``& < > " '``, the backtick, ``$`` and the backslash become
    character references too: folium writes tooltips into JavaScript template
    strings, where `` ` `` would end the string and ``${...}`` would run code.
    Browsers render the references as the original characters.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True).translate(_SCRIPT_SAFE)
