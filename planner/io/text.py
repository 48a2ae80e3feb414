"""Text-level checks of input files: encodings without a mark, invisible characters, cut-off rows.

Each function looks at raw text or a column and returns what it found; the
readers turn the findings into :class:`~planner.errors.Problem` rows.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = [
    "INVISIBLE",
    "describe_invisible",
    "guess_utf16",
    "invisible_mask",
    "quote_swallowed_mask",
    "strip_invisible",
]

#: Characters that cannot be seen but make two ids differ: control characters
#: (null byte included), zero-width spaces and joiners, the word joiner, the
#: byte-order mark and the soft hyphen.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")

_NAMES = {
    "\x00": "null byte",
    "\u200b": "zero-width space",
    "\u200c": "zero-width non-joiner",
    "\u200d": "zero-width joiner",
    "\u2060": "word joiner",
    "\ufeff": "byte-order mark",
    "\u00ad": "soft hyphen",
}


def guess_utf16(data: bytes) -> str | None:
    """Return ``"utf-16-le"`` or ``"utf-16-be"`` for UTF-16 text without a byte-order mark.

    Text in a Latin script saved as UTF-16 has a zero byte in every other
    position; nothing else a user exports looks like that.
    """
    sample = data[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    zero_even = even.count(0) / len(even)
    zero_odd = odd.count(0) / len(odd)
    if zero_odd > 0.6 and zero_even < 0.1:
        return "utf-16-le"
    if zero_even > 0.6 and zero_odd < 0.1:
        return "utf-16-be"
    return None


def invisible_mask(text: pd.Series) -> pd.Series:
    """Return which cells of a text column hold invisible or control characters."""
    found = text.str.contains(INVISIBLE, regex=True)
    return found.fillna(False).astype(bool)


def strip_invisible(text: pd.Series) -> pd.Series:
    """Return the column with invisible and control characters removed (blank becomes missing)."""
    out = text.str.replace(INVISIBLE, "", regex=True).str.strip()
    return out.mask(out == "")


def describe_invisible(values: pd.Series, limit: int = 3) -> str:
    """Name the invisible characters found in ``values``, e.g. ``"null byte (U+0000)"``."""
    seen: dict[str, None] = {}
    for v in values.dropna():
        for ch in INVISIBLE.findall(str(v)):
            seen.setdefault(ch)
    names = [f"{_NAMES.get(ch, 'control character')} (U+{ord(ch):04X})" for ch in seen]
    return ", ".join(names[:limit])


def quote_swallowed_mask(frame: pd.DataFrame, delimiter: str) -> pd.Series:
    """Return rows with a cell holding a line break and the delimiter.

    A quote opened and never closed makes the parser read the following lines
    into one cell, delimiters and all; a real multi-line cell (an address)
    rarely holds the delimiter on several of its lines.
    """
    hit = pd.Series(False, index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")
        lines = text.str.contains("\n", regex=False).fillna(False).astype(bool)
        if lines.any():  # the delimiter is looked for only in cells with a line break
            hit |= lines & text.str.contains(delimiter, regex=False).fillna(False).astype(bool)
    return hit
