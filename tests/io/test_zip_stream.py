"""A table inside a zip is unpacked to a temporary file piece by piece, never joined in memory."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import planner.io.gis as gis
from planner.errors import InputError
from planner.geo.io import read_accounts
from planner.io import ReadLimits


def _zip(path: Path, rows: int) -> Path:
    lines = ["account_id,name,latitude,longitude"]
    lines += [f"A{i},Shop {i},{33 + i / 1e5:.5f},{-84 + i / 1e5:.5f}" for i in range(rows)]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/accounts.csv", "\n".join(lines) + "\n")
    return path


def test_zipped_csv_is_read_from_an_unpacked_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The member goes to disk (the in-memory join is never used) and reads like the CSV."""

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the zip member was read whole into memory")

    monkeypatch.setattr(gis, "read_zip_member", refuse)
    accounts = read_accounts(_zip(tmp_path / "accounts.zip", 5000))
    assert len(accounts) == 5000
    assert accounts["account_id"].iloc[-1] == "A4999"


def test_unpacking_stops_at_the_limit(tmp_path: Path) -> None:
    """A member past max_unpacked_bytes is refused while it is being written."""
    path = _zip(tmp_path / "big.zip", 20_000)
    with pytest.raises(InputError, match="unpack"):
        read_accounts(path, limits=ReadLimits(max_unpacked_bytes=100_000))
