"""Finding accounts and places: accents and case ignored, best matches first, scope kept."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.access import scope_for
from planner.cli import main
from planner.errors import InputError
from planner.samples import sample_path
from planner.services.search import find
from planner.workspace import Workspace, open_workspace


@pytest.fixture(scope="module")
def helsinki() -> Workspace:
    return open_workspace(sample_path("helsinki"))


@pytest.fixture(scope="module")
def georgia() -> Workspace:
    return open_workspace(sample_path("georgia"))


def test_an_exact_id_comes_first(georgia: Workspace) -> None:
    aid = str(georgia.accounts["account_id"].iloc[42])
    hits = find(georgia, aid.lower())
    assert hits[0].kind == "account" and hits[0].key == aid


def test_accents_and_case_do_not_matter(helsinki: Workspace) -> None:
    plain = [h.label for h in find(helsinki, "THEHUONE")]
    assert any("Théhuone" in label for label in plain)
    assert [h.key for h in find(helsinki, "théhuone")] == [
        h.key for h in find(helsinki, "Thehuone")
    ]


def test_names_starting_with_the_text_come_before_other_matches(helsinki: Workspace) -> None:
    hits = find(helsinki, "cafe", limit=30)
    names = [h.label for h in hits]
    first_other = next(
        i for i, n in enumerate(names) if not n.lower().startswith(("cafe", "café", "cafè"))
    )
    assert all(not n.lower().startswith("cafe") for n in names[first_other:])


def test_places_follow_accounts(georgia: Workspace) -> None:
    hits = find(georgia, "savannah", limit=100)
    kinds = [h.kind for h in hits]
    assert "place" in kinds and kinds == sorted(kinds)  # accounts first, then places
    place = next(h for h in hits if h.kind == "place")
    assert place.key == "Savannah" and 31.9 < place.lat < 32.2


def test_a_rep_finds_only_their_own_accounts(georgia: Workspace) -> None:
    scope = scope_for(georgia, "ga-rep-sav")
    visible = set(scope.filter_accounts(georgia.accounts)["account_id"].astype(str))
    hits = find(georgia, "macon", scope=scope, limit=100)
    assert all(h.key in visible for h in hits if h.kind == "account")
    assert any(h.kind == "account" for h in find(georgia, "macon", limit=100))


def test_nothing_to_search_for_is_refused(helsinki: Workspace) -> None:
    with pytest.raises(InputError, match="nothing to search for"):
        find(helsinki, " .,; ")
    with pytest.raises(InputError):
        find(helsinki, "cafe", limit=0)


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_any_text_gives_hits_or_a_clear_error(text: str) -> None:
    ws = open_workspace(sample_path("helsinki"))
    try:
        hits = find(ws, text, limit=5)
    except InputError:
        return
    assert len(hits) <= 5 and all(-90 <= h.lat <= 90 for h in hits)


def test_cli_find(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["find", "macon", "-w", str(sample_path("georgia")), "--limit", "3", "--json"])
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert code == 0 and len(hits) == 3 and all("Macon" in h["label"] for h in hits)
