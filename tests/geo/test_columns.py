"""Tests of planner.geo.columns: recognising the columns of CRM exports and GIS layers."""

from __future__ import annotations

import pytest

from planner import schema as s
from planner.geo.columns import (
    ALIASES,
    KINDS,
    guess_kind,
    header_score,
    match_columns,
    normalise_name,
)

SALESFORCE = [
    "Id", "Name", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
    "BillingCountry", "BillingLatitude", "BillingLongitude", "Industry", "AnnualRevenue",
    "OwnerId",
]  # fmt: skip
ZOHO = [
    "Record Id", "Account Name", "Account Owner", "Industry", "Annual Revenue",
    "Billing Street", "Billing City", "Billing State", "Billing Code", "Billing Country",
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("Billing Code", "billingcode"), (" Account_ID ", "accountid"), ("Lat.", "lat"),
     ("Visit Duration (min)", "visitdurationmin"), ("BillingLatitude", "billinglatitude")],
)  # fmt: skip
def test_normalise_name_ignores_case_spaces_and_punctuation(raw: str, normal: str) -> None:
    """Names compare without case, spaces, underscores or punctuation."""
    assert normalise_name(raw) == normal


@pytest.mark.parametrize("kind", KINDS)
def test_every_alias_belongs_to_one_target(kind: str) -> None:
    """Within a kind no alias is claimed by two schema columns."""
    seen: dict[str, str] = {}
    for target, aliases in ALIASES[kind].items():  # type: ignore[index]
        for alias in aliases:
            assert alias not in seen, f"{alias} is both {seen[alias]} and {target}"
            seen[alias] = target


def test_salesforce_account_export() -> None:
    """Salesforce's Account fields map to the accounts schema."""
    match = match_columns(SALESFORCE, "accounts")
    assert match.mapping == {
        "Id": s.ACCOUNT_ID,
        "Name": s.NAME,
        "BillingStreet": s.ADDRESS,
        "BillingCity": "city",
        "BillingState": "state",
        "BillingPostalCode": s.POSTAL_CODE,
        "BillingCountry": s.COUNTRY,
        "BillingLatitude": s.LATITUDE,
        "BillingLongitude": s.LONGITUDE,
        "Industry": s.INDUSTRY,
        "AnnualRevenue": s.ANNUAL_REVENUE,
        "OwnerId": s.OWNER_ID,
    }


def test_zoho_account_export() -> None:
    """Zoho's 'Billing Code' is the postal code and 'Record Id' the id."""
    match = match_columns(ZOHO, "accounts")
    assert match.source_of(s.POSTAL_CODE) == "Billing Code"
    assert match.source_of(s.ACCOUNT_ID) == "Record Id"
    assert match.source_of(s.NAME) == "Account Name"
    assert match.source_of(s.ANNUAL_REVENUE) == "Annual Revenue"


@pytest.mark.parametrize(
    ("lat", "lon"), [("lat", "lng"), ("Latitude", "Longitude"), ("y", "x"), ("LAT", "long")]
)
def test_short_coordinate_names(lat: str, lon: str) -> None:
    """lat/lng/long/x/y in any case are coordinates."""
    match = match_columns(["id", lat, lon], "accounts")
    assert match.source_of(s.LATITUDE) == lat
    assert match.source_of(s.LONGITUDE) == lon


def test_most_specific_id_wins() -> None:
    """'AccountId' is preferred to a bare 'Id'; the other stays unrecognised."""
    match = match_columns(["Id", "AccountId"], "accounts")
    assert match.source_of(s.ACCOUNT_ID) == "AccountId"
    assert "Id" not in match.mapping


def test_explicit_mapping_wins_and_none_ignores() -> None:
    """columns= overrides guessing; None stops a column from being guessed."""
    match = match_columns(
        ["id", "code", "x", "y"], "accounts", columns={"code": "account_id", "x": None}
    )
    assert match.source_of(s.ACCOUNT_ID) == "code"
    assert match.source_of(s.LONGITUDE) is None
    assert match.ignored == ("x",)
    assert "id" not in match.mapping


def test_explicit_mapping_matches_names_loosely() -> None:
    """An explicit source name matches the file's column after normalisation."""
    match = match_columns(["Customer No"], "accounts", columns={"customer_no": "account_id"})
    assert match.source_of(s.ACCOUNT_ID) == "Customer No"


def test_explicit_mapping_problems_name_the_column_and_fix() -> None:
    """Unknown sources, unknown targets and two sources for one target are problems."""
    match = match_columns(
        ["a", "b", "c"],
        "accounts",
        columns={"zz": "latitude", "a": "colour", "b": "latitude", "c": "latitude"},
    )
    messages = [p.message for p in match.problems]
    assert any("'zz', which is not a column" in m for m in messages)
    assert any("'colour', which is not a column of accounts" in m for m in messages)
    assert any("more than one column to 'latitude'" in m for m in messages)
    assert match.source_of(s.LATITUDE) == "b"


def test_header_score_counts_known_names() -> None:
    """A header row scores higher than a title row or a data row."""
    assert header_score(["Account ID", "Account Name", "Latitude", None]) == 3
    assert header_score(["Account export", None]) == 0
    assert header_score([1001, "Peachtree Supply", 33.7]) == 0


@pytest.mark.parametrize(
    ("names", "geometry", "kind"),
    [
        (SALESFORCE, None, "accounts"),
        (ZOHO, None, "accounts"),
        (["id", "name", "lat", "lon"], None, "accounts"),
        (["rep_id", "name", "email", "capacity"], None, "reps"),
        (["Id", "FirstName", "LastName", "Email"], None, "reps"),
        (["GEOID", "NAME", "ALAND"], "Polygon", "units"),
        (["id", "name"], "Polygon", "units"),
        (["id", "name", "parent", "level"], "Polygon", "territories"),
        (["territory_id", "parent_id"], None, "territories"),
    ],
)
def test_guess_kind(names: list[str], geometry: str | None, kind: str) -> None:
    """The kind follows from signature columns and the geometry type."""
    assert guess_kind(names, geometry=geometry) == kind
