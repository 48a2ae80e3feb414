"""Cell values of input files: numbers as people write them, US ZIP codes, message words."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from planner.errors import (
    format_ids,
)
from planner.io.table import MAX_ROWS, column_text
from planner.samples import data_dir

_NUM_SPACE = r"[\s\u00a0$€£¥%]"


_THOUSANDS_COMMA = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"


_THOUSANDS_DOT = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"


_DECIMAL_COMMA = r"[+-]?\d*,\d+"


def parse_numbers(
    col: pd.Series, *, decimal_comma: bool, grouping: bool
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse a column as numbers.

    Returns the values (NaN when blank or bad), a mask of bad (non-blank,
    non-numeric) cells, and the cells as text for messages.
    """
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = col.astype(float)
        bad = pd.Series(np.isinf(values.to_numpy()), index=col.index)
        return values.where(~bad), bad, col
    text = column_text(col)
    values = pd.to_numeric(text.astype(object), errors="coerce").astype(float)
    retry = text.notna() & values.isna()
    if decimal_comma and grouping:  # "1.200" means 1200 where the decimal mark is a comma
        retry |= text.str.fullmatch(_THOUSANDS_DOT).fillna(False).astype(bool)
    if retry.any():  # only the cells that are not plain numbers go through the cleaning
        values[retry] = _clean_numbers(text[retry], decimal_comma=decimal_comma, grouping=grouping)
    bad_cells = (text.notna() & values.isna()) | pd.Series(np.isinf(values), index=values.index)
    return values.where(~bad_cells), bad_cells.astype(bool), text


def _clean_numbers(text: pd.Series, *, decimal_comma: bool, grouping: bool) -> pd.Series:
    """Parse numbers written with currency signs, thousands separators or decimal commas."""
    cleaned = text.str.replace(_NUM_SPACE, "", regex=True)
    if grouping:
        comma = cleaned.str.fullmatch(_THOUSANDS_COMMA).fillna(False).astype(bool)
        dot = cleaned.str.fullmatch(_THOUSANDS_DOT).fillna(False).astype(bool)
        if decimal_comma:
            fixed = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            cleaned = cleaned.where(~dot, fixed)
        else:
            cleaned = cleaned.where(~comma, cleaned.str.replace(",", "", regex=False))
    dec = cleaned.str.fullmatch(_DECIMAL_COMMA).fillna(False).astype(bool)
    cleaned = cleaned.where(~dec, cleaned.str.replace(",", ".", regex=False))
    return pd.to_numeric(cleaned.astype(object), errors="coerce").astype(float)


def row_numbers(mask: pd.Series) -> tuple[int, ...]:
    return tuple(int(i) for i in mask.index[mask.to_numpy(dtype=bool)][:MAX_ROWS])


def examples(values: pd.Series, limit: int = 5) -> str:
    uniq = list(dict.fromkeys(str(v) for v in values if v is not None and v == v))
    return format_ids([f"'{u}'" for u in uniq], limit=limit)


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def has_word(mask: pd.Series) -> str:
    return "has" if int(mask.sum()) == 1 else "have"


def is_word(mask: pd.Series) -> str:
    return "is" if int(mask.sum()) == 1 else "are"


#: ZIP code centres condensed from the ``zipcodes`` package (``scripts/build_places.py``).
US_ZIPS_FILE = "us_zips.csv.gz"


@cache
def _zip_table() -> tuple[dict[str, float], dict[str, float]]:
    """Latitude and longitude of every US ZIP code, offline.

    Read from the bundled ``data/us_zips.csv.gz`` (milliseconds); the
    ``zipcodes`` package itself (seconds to load) only when the file is missing.
    """
    path = data_dir() / US_ZIPS_FILE
    if path.is_file():
        table = pd.read_csv(path, dtype={"zip": str, "lat": float, "lon": float})
        zips = table["zip"].tolist()
        by_lat = dict(zip(zips, table["lat"].tolist(), strict=True))
        return by_lat, dict(zip(zips, table["lon"].tolist(), strict=True))
    import zipcodes

    lats: dict[str, float] = {}
    lons: dict[str, float] = {}
    for z in zipcodes.list_all():
        try:
            lat, lon = float(z["lat"]), float(z["long"])
        except (KeyError, TypeError, ValueError):
            continue
        lats[str(z["zip_code"])] = lat
        lons[str(z["zip_code"])] = lon
    return lats, lons


_ZIP = re.compile(r"(\d{3,5}?)(?:[-\s]?(\d{4}))?")


def _zip_forms(code: str) -> tuple[str, str] | None:
    """Return the 5-digit ZIP and its display form (ZIP or ZIP+4), or None if not US-shaped."""
    m = _ZIP.fullmatch(re.sub(r"\.0+$", "", code))
    if m is None:
        return None
    zip5 = m.group(1).zfill(5)
    return zip5, zip5 if m.group(2) is None else f"{zip5}-{m.group(2)}"


def normalise_zip(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return the 5-digit ZIP and the display form (ZIP or ZIP+4) of US-shaped codes."""
    codes, uniques = pd.factorize(text)
    forms = [_zip_forms(str(u)) for u in uniques]
    zip5 = np.array([None if f is None else f[0] for f in forms] + [None], dtype=object)
    display = np.array([None if f is None else f[1] for f in forms] + [None], dtype=object)
    # code -1 (missing) picks the trailing None
    return (
        pd.Series(zip5[codes], index=text.index, dtype="str"),
        pd.Series(display[codes], index=text.index, dtype="str"),
    )


def locate_zip5(zip5: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return latitude and longitude of 5-digit ZIP codes (NaN when unknown)."""
    lats, lons = _zip_table()
    codes, uniques = pd.factorize(zip5)
    lat = np.array([lats.get(str(u), np.nan) for u in uniques] + [np.nan], dtype=float)
    lon = np.array([lons.get(str(u), np.nan) for u in uniques] + [np.nan], dtype=float)
    return pd.Series(lat[codes], index=zip5.index), pd.Series(lon[codes], index=zip5.index)
