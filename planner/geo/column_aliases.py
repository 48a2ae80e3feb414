"""The names a column goes by in CRM exports, GIS layers and hand-made sheets, per table kind.

Every alias is stored *normalised* (:func:`normalise_name`: lower case,
letters and digits only); :mod:`planner.geo.columns` uses these tables to
recognise a file's columns and to guess what the file holds.
"""

from __future__ import annotations

from typing import Literal

from planner import schema as s

__all__ = [
    "ALIASES",
    "CITY",
    "FIRST_NAME",
    "KINDS",
    "LAST_NAME",
    "SIGNATURES",
    "STATE",
    "Kind",
    "normalise_name",
]

Kind = Literal["accounts", "reps", "units", "territories"]

#: The table kinds an input file can hold.
KINDS: tuple[Kind, ...] = ("accounts", "reps", "units", "territories")

# Targets that are not schema columns but that readers consume.
CITY = "city"
STATE = "state"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"


def normalise_name(name: object) -> str:
    """Return ``name`` in lower case with everything but letters and digits removed.

    Parameters
    ----------
    name
        A column name as written in a file.

    Examples
    --------
    >>> normalise_name("Billing Code")
    'billingcode'
    >>> normalise_name(" Account_ID ")
    'accountid'
    """
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def _aliases(*names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalise_name(n) for n in names))


_LATITUDE = ("latitude", "lat", "y", "BillingLatitude", "ShippingLatitude", "Billing Latitude")
_LONGITUDE = (
    "longitude",
    "lon",
    "lng",
    "long",
    "x",
    "BillingLongitude",
    "ShippingLongitude",
    "Billing Longitude",
)
_POSTAL = (
    "postal_code",
    "postalcode",
    "postcode",
    "zip",
    "zip_code",
    "zip5",
    "BillingPostalCode",
    "Billing Code",
    "Billing Zip",
    "Billing Zip Code",
    "ShippingPostalCode",
    "Shipping Code",
)

#: Ordered aliases (normalised) of each recognised column, per table kind.
ALIASES: dict[Kind, dict[str, tuple[str, ...]]] = {
    "accounts": {
        s.ACCOUNT_ID: _aliases(
            "account_id",
            "AccountId",
            "Account ID",
            "Id",
            "Record Id",
            "Account Number",
            "AccountNumber",
            "customer_id",
            "customer id",
            "Customer Number",
        ),
        s.NAME: _aliases(
            "name",
            "Account Name",
            "account",
            "customer",
            "customer name",
            "company",
            "company name",
        ),
        s.ADDRESS: _aliases(
            "address",
            "street",
            "street address",
            "BillingStreet",
            "Billing Street",
            "ShippingStreet",
            "Shipping Street",
        ),
        CITY: _aliases(
            "city", "town", "BillingCity", "Billing City", "ShippingCity", "Shipping City"
        ),
        STATE: _aliases(
            "state",
            "province",
            "BillingState",
            "Billing State",
            "ShippingState",
            "Shipping State",
        ),
        s.POSTAL_CODE: _aliases(*_POSTAL),
        s.COUNTRY: _aliases(
            "country",
            "country_code",
            "BillingCountry",
            "Billing Country",
            "BillingCountryCode",
            "ShippingCountry",
            "Shipping Country",
        ),
        s.INDUSTRY: _aliases("industry", "sector", "vertical"),
        s.PRODUCT_LINE: _aliases("product_line", "product", "products"),
        s.SIZE: _aliases("size", "account_size", "company_size", "tier"),
        s.ANNUAL_REVENUE: _aliases("annual_revenue", "AnnualRevenue", "revenue"),
        s.VISITS_PER_MONTH: _aliases(
            "visits_per_month", "visits", "visit_frequency", "visits per month"
        ),
        s.VISIT_MINUTES: _aliases(
            "visit_minutes",
            "visit_duration",
            "visit duration min",
            "visit_duration_minutes",
            "visit_min",
            "service_minutes",
            "service_time",
        ),
        s.OPENING_HOURS: _aliases("opening_hours", "hours", "business_hours", "open_hours"),
        s.OWNER_ID: _aliases(
            "owner_id",
            "OwnerId",
            "owner",
            "Account Owner",
            "Account Owner Id",
            "rep_id",
            "current_owner",
        ),
        s.LATITUDE: _aliases(*_LATITUDE),
        s.LONGITUDE: _aliases(*_LONGITUDE),
    },
    "reps": {
        s.REP_ID: _aliases(
            "rep_id",
            "user_id",
            "UserId",
            "Id",
            "rep",
            "employee_id",
            "Employee Number",
            "EmployeeNumber",
            "Record Id",
            "Username",
        ),
        s.NAME: _aliases("name", "rep_name", "full_name"),
        FIRST_NAME: _aliases("first_name", "FirstName", "given_name"),
        LAST_NAME: _aliases("last_name", "LastName", "surname", "family_name"),
        s.ROLE: _aliases("role", "user_role", "UserRole", "job_role"),
        s.EMAIL: _aliases("email", "e-mail", "email_address", "mail"),
        s.MANAGER_ID: _aliases("manager_id", "ManagerId", "manager", "reports_to", "Reports To Id"),
        s.CAPACITY_H_PER_WEEK: _aliases(
            "capacity_h_per_week",
            "capacity",
            "capacity_h",
            "capacity_hours",
            "hours_per_week",
            "weekly_hours",
            "capacity_hours_per_week",
        ),
        s.ADDRESS: _aliases("address", "home_address", "street", "Street"),
        CITY: _aliases("city", "home_city"),
        STATE: _aliases("state", "home_state"),
        s.POSTAL_CODE: _aliases("home_postal_code", "home_zip", *_POSTAL),
        s.COUNTRY: _aliases("country", "home_country"),
        s.PASSWORD_HASH: _aliases(
            "password_hash",
        ),
        s.HOME_LATITUDE: _aliases("home_latitude", "home_lat", *_LATITUDE),
        s.HOME_LONGITUDE: _aliases("home_longitude", "home_lon", "home_lng", *_LONGITUDE),
    },
    "units": {
        s.UNIT_ID: _aliases(
            "unit_id",
            "id",
            "GEOID",
            "GEOID20",
            "GEOID10",
            "GEOIDFQ",
            "FIPS",
            "STCOFIPS",
            "COUNTYFP",
            "ZCTA5CE20",
            "ZCTA5CE10",
            "ZCTA5",
            "ZCTA",
            "zip",
            "zip_code",
            "postal_code",
            "code",
            "h3",
            "h3_index",
            "cell",
        ),
        s.NAME: _aliases(
            "name",
            "NAMELSAD",
            "NAME20",
            "NAMELSAD20",
            "label",
            "unit_name",
            "county",
            "county_name",
        ),
        s.UNIT_TYPE: _aliases(
            "unit_type",
        ),
    },
    "territories": {
        s.TERRITORY_ID: _aliases(
            "territory_id",
            "id",
            "territory",
            "territory_code",
            "code",
            "DeveloperName",
            "Territory2Id",
        ),
        s.NAME: _aliases("name", "territory_name", "label", "MasterLabel"),
        s.PARENT_ID: _aliases(
            "parent_id",
            "parent",
            "parent_territory",
            "parent_territory_id",
            "ParentTerritory2Id",
            "ParentTerritory2.DeveloperName",
        ),
        s.LEVEL: _aliases("level", "depth", "tier", "hierarchy_level"),
        s.LEVEL_NAME: _aliases("level_name", "level_label"),
        s.TYPE_ID: _aliases(
            "type_id", "type", "territory_type", "Territory2TypeId", "Territory2Type.DeveloperName"
        ),
        s.RULE: _aliases("rule", "assignment_rule"),
    },
}

#: Columns whose presence says which kind a file is (generic ones like id excluded).
SIGNATURES: dict[Kind, frozenset[str]] = {
    "accounts": frozenset(
        _aliases(
            "account_id",
            "AccountId",
            "Account ID",
            "Account Name",
            "Account Owner",
            "industry",
            "AnnualRevenue",
            "annual_revenue",
            "revenue",
            "visits_per_month",
            "visit_minutes",
            "BillingLatitude",
            "BillingPostalCode",
            "Billing Code",
            "BillingStreet",
            "Billing Street",
            "opening_hours",
            "owner_id",
            "OwnerId",
        )
    ),
    "reps": frozenset(
        _aliases(
            "rep_id",
            "user_id",
            "role",
            "email",
            "manager_id",
            "manager",
            "capacity",
            "capacity_h_per_week",
            "hours_per_week",
            "home_latitude",
            "home_lat",
            "home_longitude",
            "FirstName",
            "LastName",
            "first_name",
            "last_name",
        )
    ),
    "units": frozenset(
        _aliases(
            "unit_id",
            "unit_type",
            "GEOID",
            "GEOID20",
            "GEOID10",
            "FIPS",
            "ZCTA5CE20",
            "ZCTA5CE10",
            "NAMELSAD",
            "ALAND",
            "AWATER",
            "h3",
            "STATEFP",
            "COUNTYFP",
        )
    ),
    "territories": frozenset(
        _aliases(
            "territory_id",
            "territory",
            "territory_name",
            "parent_id",
            "parent",
            "level",
            "level_name",
            "territory_type",
            "type_id",
            "DeveloperName",
            "ParentTerritory2Id",
        )
    ),
}
