"""Human names for the planner's columns, with their units and currency.

Tables in the app, reports and printed plans show ``Annual revenue (EUR)``
rather than ``annual_revenue``. :func:`column_label` gives the header for a
column name (names it does not know are tidied: underscores become spaces,
the first letter a capital), :data:`MONEY_COLUMNS` says which columns hold
amounts of money, and :func:`workspace_currency` picks the currency a
workspace's amounts are in: the ``PLANNER_CURRENCY`` environment variable
when set, else the currency of the country most of its accounts are in,
else US dollars.
"""

from __future__ import annotations

import os
import re

import pandas as pd

from planner import schema as s

__all__ = [
    "COLUMN_LABELS",
    "CURRENCIES",
    "CURRENCY_ENV",
    "MONEY_COLUMNS",
    "column_label",
    "count_of",
    "workspace_currency",
]

#: Environment variable naming the currency (ISO 4217 code) amounts are shown in.
CURRENCY_ENV = "PLANNER_CURRENCY"

#: Headers of the columns the planner's tables hold. ``{currency}`` is filled in.
COLUMN_LABELS: dict[str, str] = {
    s.ACCOUNT_ID: "Account ID",
    s.REP_ID: "User ID",
    s.UNIT_ID: "Unit ID",
    s.TERRITORY_ID: "Territory ID",
    s.SCENARIO_ID: "Scenario",
    s.TYPE_ID: "Territory type",
    s.NAME: "Name",
    s.ADDRESS: "Address",
    s.POSTAL_CODE: "Postal code",
    s.COUNTRY: "Country",
    s.INDUSTRY: "Industry",
    s.ANNUAL_REVENUE: "Annual revenue ({currency})",
    s.PRODUCT_LINE: "Product line",
    s.SIZE: "Size",
    s.VISITS_PER_MONTH: "Visits per month",
    s.VISIT_MINUTES: "Visit length (min)",
    s.OPENING_HOURS: "Opening hours",
    s.OWNER_ID: "Owner",
    s.GEOCODE_PRECISION: "Located by",
    s.LATITUDE: "Latitude",
    s.LONGITUDE: "Longitude",
    s.ROLE: "Role",
    s.EMAIL: "Email",
    s.MANAGER_ID: "Manager",
    s.CAPACITY_H_PER_WEEK: "Capacity (h/week)",
    s.UNIT_TYPE: "Unit type",
    s.STATE: "State",
    s.CREATED_AT: "Created",
    s.DESCRIPTION: "Description",
    s.PARENT_ID: "Parent",
    s.LEVEL: "Level",
    s.LEVEL_NAME: "Level name",
    s.SOURCE: "Made from",
    s.RULE: "Rule",
    s.LOCKED: "Locked",
    s.CAUSE: "Why",
    s.DETAIL: "Detail",
    s.IS_PRIMARY: "Primary",
    s.ACTION: "Action",
    s.SET_BY: "Set by",
    s.SET_AT: "Set at",
    s.REASON: "Reason",
    s.START_DATE: "From",
    s.END_DATE: "Until",
    s.PERIOD: "Period",
    s.METRIC: "Metric",
    s.VALUE: "Value",
    s.TIMESTAMP: "When",
    s.USER: "User",
    s.OPPORTUNITY_ID: "Opportunity ID",
    s.AMOUNT: "Amount ({currency})",
    s.CREATED_DATE: "Created on",
    s.CLOSED_DATE: "Closed on",
    s.STAGE: "Stage",
    "territory": "Territory",
    "territory_name": "Territory",
    "accounts": "Accounts",
    "owners": "Owners",
    "path": "Path",
    "target": "Target ({currency})",
    "won_amount": "Won ({currency})",
    "revenue": "Revenue ({currency})",
    "attainment": "Attainment",
    "win_rate": "Win rate",
}

#: Columns that hold amounts of money.
MONEY_COLUMNS = frozenset(
    {s.ANNUAL_REVENUE, s.AMOUNT, "target", "won_amount", "revenue", "revenue_potential"}
)

#: Currency of each country (ISO 3166 alpha-2 codes and common names), for the default.
CURRENCIES: dict[str, str] = {
    "US": "USD", "USA": "USD", "UNITED STATES": "USD", "CA": "CAD", "CANADA": "CAD",
    "GB": "GBP", "UK": "GBP", "UNITED KINGDOM": "GBP", "CH": "CHF", "SE": "SEK", "NO": "NOK",
    "DK": "DKK", "PL": "PLN", "JP": "JPY", "AU": "AUD", "NZ": "NZD", "IN": "INR", "BR": "BRL",
    "MX": "MXN", "FI": "EUR", "FINLAND": "EUR", "DE": "EUR", "FR": "EUR", "ES": "EUR",
    "IT": "EUR", "NL": "EUR", "BE": "EUR", "AT": "EUR", "IE": "EUR", "PT": "EUR",
    "EE": "EUR", "LV": "EUR", "LT": "EUR", "GR": "EUR", "LU": "EUR", "SK": "EUR", "SI": "EUR",
}  # fmt: skip

_CODE = re.compile(r"^[A-Z]{3}$")


_ID_WORD = re.compile(r"\bid\b")


def column_label(column: object, currency: str = "USD") -> str:
    """Return the header shown for ``column``: its human name, with units and currency."""
    name = str(column)
    known = COLUMN_LABELS.get(name)
    if known is not None:
        return known.format(currency=currency)
    if "_" not in name or not name.islower():  # already written for people: "visit h/month"
        text = name
    else:
        text = name.replace("_", " ")
    text = _ID_WORD.sub("ID", text)  # "account id" reads "Account ID" like the known labels
    return text[:1].upper() + text[1:]


def count_of(n: int, singular: str, plural: str | None = None) -> str:
    """``"1 territory"``, ``"1,256 accounts"``: a count with its noun in the right number."""
    if n == 1:
        return f"1 {singular}"
    if plural is None:
        consonant_y = singular.endswith("y") and singular[-2:-1] not in set("aeiou")
        plural = singular[:-1] + "ies" if consonant_y else singular + "s"
    return f"{n:,} {plural}"


def workspace_currency(accounts: pd.DataFrame | None = None) -> str:
    """Return the ISO 4217 code amounts are shown in.

    ``$PLANNER_CURRENCY`` wins; otherwise the currency of the country most
    ``accounts`` are in (when the country is known), else ``"USD"``.
    """
    chosen = os.environ.get(CURRENCY_ENV, "").strip().upper()
    if _CODE.match(chosen):
        return chosen
    if accounts is None or s.COUNTRY not in accounts.columns:
        return "USD"
    countries = accounts[s.COUNTRY].dropna().astype(str).str.strip().str.upper()
    if countries.empty:
        return "USD"
    return CURRENCIES.get(str(countries.mode().iloc[0]), "USD")
