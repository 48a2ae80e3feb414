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

from planner import schema as s
from planner.export.safety import neutralise, neutralise_frame

__all__ = [
    "CSV_CHUNK_ROWS",
    "csv_bytes",
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
    """Write ``frame`` as safe CSV to a text handle, :data:`CSV_CHUNK_ROWS` rows at a time.

    Each value is written as a whole-frame write would write it; only a
    chunk's copy of safe text is held at once.
    """
    for start in range(0, max(len(frame), 1), CSV_CHUNK_ROWS):
        part = _csv_ready(frame.iloc[start : start + CSV_CHUNK_ROWS])
        part.to_csv(handle, index=False, header=start == 0, lineterminator="\r\n")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return ``frame`` as safe CSV bytes (for download buttons)."""
    buffer = io.StringIO()
    _csv_chunks(frame, buffer)
    return buffer.getvalue().encode("utf-8")


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
        with open(p, "w", encoding="utf-8", newline="") as handle:
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
