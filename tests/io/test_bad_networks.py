"""The bad road-network corpus: malformed OSM PBF, OSM XML and GraphML files are refused clearly.

``tests/data/bad/network_cases.json`` lists each file (made by
``tests/data/bad/make_network_corpus.py``) with a phrase its error must
contain. Each runs through the library's network builder, ``planner network
build`` and ``planner validate``: each ends in an ``InputError`` naming what
is wrong and the fix, and no traceback is printed. The decompression bomb is
generated here, not committed.
"""

from __future__ import annotations

import json
import re
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main as cli_main
from planner.errors import InputError, NetworkDataError, NetworkFileError
from planner.io.limits import ReadLimits
from planner.routing import build_network
from planner.routing.network import load_network

BAD = Path(__file__).parents[1] / "data" / "bad"
CASES: list[dict[str, Any]] = json.loads((BAD / "network_cases.json").read_text())
IDS = [c["file"] for c in CASES]


def test_corpus_covers_pbf_osm_and_graphml() -> None:
    """At least 20 cases, across OSM PBF, OSM XML, GraphML and gzip'd GraphML."""
    assert len(CASES) >= 20
    names = [c["file"] for c in CASES]
    for ending in (".osm.pbf", ".osm", ".graphml", ".graphml.gz"):
        assert sum(n.endswith(ending) for n in names) >= 2, ending
    assert all((BAD / n).is_file() for n in names)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_library_raises_input_error_with_the_fix(case: dict[str, Any]) -> None:
    """build_network raises one NetworkFileError (an InputError) naming the problem and a fix."""
    with pytest.raises(InputError) as caught:
        build_network(BAD / case["file"])
    error = caught.value
    assert isinstance(error, NetworkFileError) and isinstance(error, NetworkDataError)
    assert error.problems and all(p.fix for p in error.problems)
    assert re.search(case["match"], str(error)), str(error)
    assert case["file"] in str(error)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_network_build_exits_2_with_the_problem(
    case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``planner network build`` exits 2 with the problem and its fix, writes nothing."""
    out = tmp_path / "roads.graphml.gz"
    code = cli_main(["network", "build", str(BAD / case["file"]), "--out", str(out), "--json"])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    payload = json.loads(printed.out)
    assert code == 2 and payload["ok"] is False and payload["error"] == "NetworkFileError"
    assert re.search(case["match"], payload["message"]), payload["message"]
    assert all(p["fix"] for p in payload["problems"])
    assert not out.exists()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_validate_names_a_road_network(
    case: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """``planner validate`` takes tables only: it says the file is a road network, exits 1."""
    code = cli_main(["validate", str(BAD / case["file"]), "--kind", "accounts"])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert code == 1 and "NOT OK" in printed.out
    assert "is a road network file" in printed.out and "planner network build" in printed.out


def _graphml_bomb(path: Path, unpacked: int) -> None:
    """A small .graphml.gz whose text expands to ``unpacked`` bytes.

    Each 1 MiB block of spaces is compressed after a full flush, so every
    block's compressed form is the same and is written once per block: a
    gigabyte takes a megabyte and no time to make.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    head = packer.compress(b"<?xml version='1.0'?>\n<graphml>\n") + packer.flush(zlib.Z_FULL_FLUSH)
    unit = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    with path.open("wb") as out:
        out.write(head)
        for _ in range(unpacked >> 20):
            out.write(unit)
        out.write(packer.flush())


def test_graphml_bomb_is_refused_while_streaming_in_bounded_memory(tmp_path: Path) -> None:
    """A 1 MB .graphml.gz expanding to 300 MB stops at a 32 MB limit, using little memory."""
    bomb = tmp_path / "bomb.graphml.gz"
    _graphml_bomb(bomb, 300 << 20)
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"expands to more than 32\.0 MB") as caught:
            load_network(bomb, limits=ReadLimits(max_unpacked_bytes=32 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "decompression bomb" in str(caught.value) and caught.value.problems[0].fix
    assert peak < 8 << 20  # pieces of 1 MiB go to a temporary file, never held together


@pytest.mark.slow
def test_graphml_bomb_past_the_default_limit_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At the default 1 GB limit, ``planner network build`` refuses a 1.1 GB expansion."""
    bomb = tmp_path / "huge.graphml.gz"
    _graphml_bomb(bomb, 1100 << 20)
    tracemalloc.start()
    try:
        code = cli_main(["network", "build", str(bomb), "--out", str(tmp_path / "o.gz"), "--json"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    payload = json.loads(capsys.readouterr().out)
    assert code == 2 and "expands to more than 1,024.0 MB" in payload["message"]
    assert peak < 16 << 20
