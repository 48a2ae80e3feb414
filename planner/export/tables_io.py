"""Writing tables as files: safe CSV (in chunks) and XLSX workbooks, each written atomically.

Every CSV and XLSX text cell goes through :func:`planner.export.safety.neutralise`;
CSV files are UTF-8 with a header row, CRLF line ends (RFC 4180) and
``true``/``false`` booleans, written :data:`CSV_CHUNK_ROWS` rows at a time so a
large table is never held twice as text. A file is written to a temporary
name first and moved into place, so an interrupted write leaves no
half-written file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from planner import schema as s
from planner.export.safety import FORMULA_TRIGGERS, neutralise, neutralise_frame

__all__ = [
    "CSV_CHUNK_ROWS",
    "csv_bytes",
    "csv_rows",
    "write_atomically",
    "write_csv",
    "write_xlsx",
    "xlsx_bytes",
]

#: Rows formatted at a time when a CSV file is written.
CSV_CHUNK_ROWS = 100_000
#: Rows per sheet Excel can hold (one is the header).
_XLSX_MAX_ROWS = 1_048_575
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: First characters of the text that :func:`neutralise` changes: a formula trigger or a quote.
_FORMULA_FIRST = pa.array([*FORMULA_TRIGGERS, "'"], type=pa.large_string())
#: Characters that make Python's csv module (and pandas) quote a cell.
_QUOTE_WHEN = (",", '"', "\r", "\n")


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = neutralise_frame(frame.drop(columns=[s.GEOMETRY], errors="ignore"))
    for col in out.columns:
        if out[col].dtype == bool:  # plain booleans: no lookup per cell
            words = np.where(out[col].to_numpy(), "true", "false").astype(object)
            out[col] = pd.Series(words, index=out.index, dtype=object)
        elif pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
    return out


def _csv_chunks(frame: pd.DataFrame, handle: Any) -> None:
    """Write ``frame`` as safe CSV to a binary handle, :data:`CSV_CHUNK_ROWS` rows at a time.

    Each value is written as pandas' ``to_csv`` of the safe frame writes it
    (minimal quoting, CRLF, ``true``/``false``); only a chunk's text is held
    at once. Frames of text, numbers and booleans are formatted with Arrow's
    vectorised string kernels; others (dates, one column) go through pandas.
    """
    plain = frame.drop(columns=[s.GEOMETRY], errors="ignore")
    arrow = plain.shape[1] > 1 and all(_arrow_formats(plain[c]) for c in plain.columns)
    handle.write(_csv_header(plain))
    for start in range(0, len(plain), CSV_CHUNK_ROWS):
        part = plain.iloc[start : start + CSV_CHUNK_ROWS]
        if arrow:
            handle.write(csv_rows(part))
        else:
            text = _csv_ready(part).to_csv(index=False, header=False, lineterminator="\r\n")
            handle.write(text.encode("utf-8"))


def _csv_header(frame: pd.DataFrame) -> bytes:
    text = frame.iloc[:0].to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8")


def _arrow_formats(series: pd.Series) -> bool:
    """Tell whether :func:`csv_rows` formats this column (text, numbers, booleans)."""
    dtype = series.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))
    )


def csv_rows(frame: pd.DataFrame) -> bytes:
    """Return the rows of ``frame`` (text, numbers, booleans) as safe CSV lines, no header.

    The bytes equal pandas' ``to_csv`` of the neutralised frame with
    ``true``/``false`` booleans: text cells neutralised
    (:func:`planner.export.safety.neutralise`), a cell with a comma, quote or
    line break quoted (quotes doubled), floats as numpy prints them, missing
    values empty; lines end in CRLF.
    """
    if not len(frame):
        return b""
    cells = [pc.fill_null(_csv_cells(frame[c]), _text("")) for c in frame.columns]
    lines = pc.binary_join_element_wise(*cells, _text(","))
    lines = pc.binary_join_element_wise(lines, _text(""), _text("\r\n"))
    return _string_bytes(lines)


def _csv_cells(series: pd.Series) -> pa.Array:
    """One column's CSV cells as Arrow text (null where missing)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = pa.array(series.to_numpy(dtype=object), type=pa.bool_(), from_pandas=True)
        return pc.if_else(flags, _text("true"), _text("false"))
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        text = values.astype(str).astype(object)
        text[np.isnan(values)] = None
        return pa.array(text, type=pa.large_string())
    if pd.api.types.is_numeric_dtype(dtype):
        return pa.array(series, from_pandas=True).cast(pa.large_string())
    return _quoted(_safe_text(series))


def _safe_text(series: pd.Series) -> pa.Array:
    """Text cells as neutralised Arrow text: text checked in Arrow, other objects as ``str``."""
    if isinstance(series.array, pd.arrays.ArrowStringArray):  # Arrow text already
        text = pa.array(series.array).cast(pa.large_string())
    else:
        values = series.to_numpy(dtype=object)
        try:
            text = pa.array(values, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: each cell its own way
            cells = [None if pd.isna(v) else str(neutralise(v)) for v in values]
            return pa.array(cells, type=pa.large_string())
    risky = pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=_FORMULA_FIRST)
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise(_text("'"), text, _text("")), text)


def _quoted(text: pa.Array) -> pa.Array:
    """Cells quoted as Python's csv module quotes them (QUOTE_MINIMAL, CRLF lines)."""
    needs = pc.match_substring(text, _QUOTE_WHEN[0])
    for char in _QUOTE_WHEN[1:]:
        needs = pc.or_(needs, pc.match_substring(text, char))
    if not pc.any(needs).as_py():
        return text
    doubled = pc.replace_substring(text, '"', '""')
    quote = _text('"')
    return pc.if_else(needs, pc.binary_join_element_wise(quote, doubled, quote, _text("")), text)


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, type=pa.large_string())


def _string_bytes(lines: pa.Array | pa.ChunkedArray) -> bytes:
    """The concatenated values of an Arrow text array (its data buffer between its offsets)."""
    if isinstance(lines, pa.ChunkedArray):  # a column read in pieces (an imported export)
        lines = lines.combine_chunks()
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[first:last].tobytes()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return ``frame`` as safe CSV bytes (for download buttons)."""
    buffer = io.BytesIO()
    _csv_chunks(frame, buffer)
    return buffer.getvalue()


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Run ``write`` on a temporary file beside ``path``, then move it into place."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as a safe UTF-8 CSV file, atomically, in chunks; return the path."""

    def write(p: Path) -> None:
        with open(p, "wb") as handle:
            _csv_chunks(frame, handle)

    return write_atomically(Path(path), write)


def _sheet_name(name: str, taken: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = clean[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, (int, float, bool)):
        return value
    text = _XLSX_ILLEGAL.sub("\ufffd", str(value))
    return neutralise(text)


def _xlsx_values(series: pd.Series) -> list[Any]:
    """Cell values of one column: numbers and booleans as such, text neutralised, gaps empty."""
    if pd.api.types.is_bool_dtype(series):
        return [bool(v) for v in series.tolist()]
    if pd.api.types.is_numeric_dtype(series):
        return [None if v != v else v for v in series.tolist()]
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    return [_cell(v) for v in series.tolist()]


def _write_workbook(sheets: Mapping[str, pd.DataFrame], target: Any) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    for name, frame in sheets.items():
        frame = frame.drop(columns=[s.GEOMETRY], errors="ignore")
        chunks = max(1, -(-len(frame) // _XLSX_MAX_ROWS))
        for part in range(chunks):
            piece = frame.iloc[part * _XLSX_MAX_ROWS : (part + 1) * _XLSX_MAX_ROWS]
            sheet = book.create_sheet(_sheet_name(name, taken))
            header = []
            for col in piece.columns:
                cell = WriteOnlyCell(sheet, value=_cell(str(col)))
                cell.font = bold
                header.append(cell)
            sheet.append(header)
            # neutralised text never starts with "=", so openpyxl stores it as text
            columns = [_xlsx_values(piece[col]) for col in piece.columns]
            for row in zip(*columns, strict=True):
                sheet.append(row)
    if not sheets:
        book.create_sheet("Empty")
    book.save(target)


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """Return an XLSX workbook of ``sheets`` (name -> frame) as bytes, every text cell safe."""
    buffer = io.BytesIO()
    _write_workbook(sheets, buffer)
    return buffer.getvalue()


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write an XLSX workbook of ``sheets`` atomically; a sheet too long for Excel is split."""
    target = Path(path)
    return write_atomically(target, lambda p: _write_workbook(sheets, str(p)))
