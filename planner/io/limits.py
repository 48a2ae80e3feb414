"""Size limits for untrusted input files, and bounded zip/gzip decompression.

A file from a CRM or a spreadsheet must never fill the memory of the app or
hang it: every reader checks the upload's size before reading it, decompresses
zip members and gzip streams chunk by chunk while counting (so a 2 MB archive
that would expand to gigabytes stops at the limit, not at a MemoryError), and
refuses tables with too many rows or columns and cells that are too long. Each
limit has a clear message naming the limit, the size found and how to change it.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

from planner.errors import InputError, Problem

__all__ = [
    "DEFAULT_LIMITS",
    "ReadLimits",
    "check_file_size",
    "copy_zip_member",
    "describe_binary",
    "gunzip",
    "gunzip_chunks",
    "read_zip_member",
    "zip_member_chunks",
]

_CHUNK = 1 << 20  # 1 MiB per decompression step
_MIB = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """How large an input file and its table may be.

    Parameters
    ----------
    max_file_bytes
        Largest file accepted as given (the upload or the file on disk).
    max_unpacked_bytes
        Largest total size of what is unpacked from a zip or gzip file.
    max_rows
        Most data rows in a table.
    max_columns
        Most columns in a table's header.
    max_cell_chars
        Longest single cell (characters).
    stream_above_bytes
        Delimited text files larger than this are read in chunks (bounded
        memory), not whole; a gzip file is unpacked to a temporary file.
    chunk_rows
        Records per chunk of a chunked read.
    """

    max_file_bytes: int = 512 * _MIB
    max_unpacked_bytes: int = 1024 * _MIB
    max_rows: int = 5_000_000
    max_columns: int = 2_000
    max_cell_chars: int = 65_536
    stream_above_bytes: int = 32 * _MIB
    chunk_rows: int = 200_000

    def __post_init__(self) -> None:
        bad = [
            Problem(
                f"{f.name} is {getattr(self, f.name)!r}",
                column=f.name,
                fix="use a whole number above zero",
            )
            for f in fields(self)
            if not isinstance(getattr(self, f.name), int) or getattr(self, f.name) <= 0
        ]
        if bad:
            raise InputError("invalid read limits", bad)


#: The limits used when a reader is given none.
DEFAULT_LIMITS = ReadLimits()


def _size(n: int) -> str:
    if n >= _MIB:
        return f"{n / _MIB:,.1f} MB"
    return f"{n:,} bytes"


def check_file_size(n_bytes: int, limits: ReadLimits, *, name: str) -> None:
    """Refuse a file larger than ``limits.max_file_bytes``.

    Raises
    ------
    InputError
        Naming the file's size, the limit and the fix.
    """
    if n_bytes > limits.max_file_bytes:
        raise InputError(
            "the file is too large",
            [
                Problem(
                    f"the file is {_size(n_bytes)}, above the limit of "
                    f"{_size(limits.max_file_bytes)}",
                    fix="split the file into parts, or raise the limit "
                    "(ReadLimits(max_file_bytes=...), or --max-file-mb on the command line)",
                )
            ],
            source=name,
        )


def _unpacked_too_large(what: str, limits: ReadLimits, name: str) -> InputError:
    return InputError(
        "the file expands to too much data",
        [
            Problem(
                f"{what} expands to more than {_size(limits.max_unpacked_bytes)} "
                "(a compressed file this large, or a decompression bomb)",
                fix="unpack it and check its content, split it, or raise the limit "
                "(ReadLimits(max_unpacked_bytes=...))",
            )
        ],
        source=name,
    )


def read_zip_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    limits: ReadLimits,
    *,
    name: str,
    budget: int | None = None,
) -> bytes:
    """Read one zip member, stopping as soon as it passes the unpacked-size limit.

    Parameters
    ----------
    archive, member
        The open archive and the member to read.
    limits
        The limits; ``max_unpacked_bytes`` bounds the member.
    name
        The archive's name, for messages.
    budget
        Bytes still allowed for this archive (all members together); the
        limit itself when ``None``.

    Raises
    ------
    InputError
        When the member (as declared or as actually read) is too large, or is
        damaged.
    """
    return b"".join(zip_member_chunks(archive, member, limits, name=name, budget=budget))


def copy_zip_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    target: Path,
    limits: ReadLimits,
    *,
    name: str,
) -> None:
    """Unpack one zip member to ``target`` piece by piece (never whole in memory).

    Raises
    ------
    InputError
        As :func:`read_zip_member`.
    """
    with target.open("wb") as out:
        for chunk in zip_member_chunks(archive, member, limits, name=name):
            out.write(chunk)


def zip_member_chunks(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    limits: ReadLimits,
    *,
    name: str,
    budget: int | None = None,
) -> Iterator[bytes]:
    """Yield one zip member's bytes in pieces, refusing it once it passes the limit."""
    allowed = limits.max_unpacked_bytes if budget is None else budget
    what = f"'{member.filename}' in the zip"
    if member.file_size > allowed:
        raise _unpacked_too_large(what, limits, name)
    total = 0
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > allowed:
                    raise _unpacked_too_large(what, limits, name)
                yield chunk
    except InputError:
        raise
    except Exception as exc:  # zipfile raises many types (ValueError, EOFError...) for damage
        raise InputError(
            "the zip archive is damaged",
            [
                Problem(
                    f"'{member.filename}' in the zip cannot be unpacked ({exc})",
                    fix="zip the files again (plain zip, no password)",
                )
            ],
            source=name,
        ) from exc


def gunzip(source: bytes | BinaryIO, limits: ReadLimits, *, name: str) -> bytes:
    """Decompress gzip data chunk by chunk, refusing more than ``max_unpacked_bytes``.

    Raises
    ------
    InputError
        When the data is not gzip, is cut off, or expands past the limit.
    """
    return b"".join(gunzip_chunks(source, limits, name=name))


def gunzip_chunks(source: bytes | BinaryIO, limits: ReadLimits, *, name: str) -> Iterator[bytes]:
    """Yield the decompressed gzip data in pieces of at most about 1 MiB.

    Nothing is kept between pieces, so a caller that writes or parses each
    piece reads a file of any size in bounded memory. The unpacked-size limit
    is checked before each piece is given out.

    Raises
    ------
    InputError
        When the data is not gzip, is cut off, or expands past the limit
        (raised when the reader gets there).
    """
    stream_in = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    total = 0
    try:
        while not inflater.eof and (block := stream_in.read(_CHUNK)):
            while block:
                piece = inflater.decompress(block, _CHUNK)
                total += len(piece)
                if total > limits.max_unpacked_bytes:
                    raise _unpacked_too_large("the gzip data", limits, name)
                if piece:
                    yield piece
                block = inflater.unconsumed_tail
    except zlib.error as exc:
        raise InputError(
            "the file is not valid gzip data",
            [
                Problem(
                    f"the file is not gzip data ({exc})",
                    fix="compress the file again, or give it without the .gz ending",
                )
            ],
            source=name,
        ) from exc
    if not inflater.eof:
        raise InputError(
            "the gzip file is cut off",
            [
                Problem(
                    "the gzip data ends early: the file is cut off",
                    fix="copy or download the file again",
                )
            ],
            source=name,
        )


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or an XLSX workbook)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls or .doc)"),
    (b"SQLite format 3\x00", "an SQLite database (or a GeoPackage)"),
    (b"PAR1", "a Parquet file"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"BM", ""),  # too short to be sure: left to the control-character test
)


def describe_binary(head: bytes) -> str | None:
    """Return what a file that is not text looks like (``"a PNG image"``), or None if text.

    Checks well-known signatures, then the share of control characters in
    ``head`` (a UTF-16 text is recognised by the caller before this).
    """
    for magic, what in _MAGIC:
        if what and head.startswith(magic):
            return what
    sample = head[:4096]
    if not sample:
        return None
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if control > max(8, len(sample) // 20):
        return "binary data, not text"
    return None
