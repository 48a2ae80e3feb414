"""Human column names and the display currency."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner import schema as s
from planner.labels import CURRENCY_ENV, column_label, count_of, workspace_currency


def test_known_columns_get_units_and_currency() -> None:
    assert column_label(s.ANNUAL_REVENUE, "EUR") == "Annual revenue (EUR)"
    assert column_label(s.VISITS_PER_MONTH) == "Visits per month"
    assert column_label(s.VISIT_MINUTES) == "Visit length (min)"
    assert column_label(s.TERRITORY_ID) == "Territory ID"


def test_unknown_names_are_tidied_and_human_ones_kept() -> None:
    assert column_label("drive_hours_week") == "Drive hours week"
    assert column_label("visit h/month") == "Visit h/month"
    assert column_label("Accounts") == "Accounts"


@given(st.from_regex(r"[a-h]{1,8}(_[a-h]{1,8}){0,3}", fullmatch=True))
def test_labels_never_show_underscores_of_snake_case_names(name: str) -> None:
    """Lower-case snake_case names always come out without underscores."""
    assert "_" not in column_label(name)


def test_currency_from_the_accounts_country_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CURRENCY_ENV, raising=False)
    finnish = pd.DataFrame({s.COUNTRY: ["FI", "FI", "SE"]})
    assert workspace_currency(finnish) == "EUR"
    assert workspace_currency(pd.DataFrame({s.COUNTRY: ["US"]})) == "USD"
    assert workspace_currency(pd.DataFrame({s.COUNTRY: [None]})) == "USD"
    assert workspace_currency(None) == "USD"
    monkeypatch.setenv(CURRENCY_ENV, "gbp")
    assert workspace_currency(finnish) == "GBP"
    monkeypatch.setenv(CURRENCY_ENV, "pounds")  # not an ISO code: ignored
    assert workspace_currency(finnish) == "EUR"


def test_counts_take_the_right_number() -> None:
    assert count_of(1, "territory") == "1 territory"
    assert count_of(2, "territory") == "2 territories"
    assert count_of(0, "rep") == "0 reps"
    assert count_of(1256, "account") == "1,256 accounts"
    assert count_of(3, "day") == "3 days"  # a vowel before the y
    assert count_of(2, "person", "people") == "2 people"


def test_an_id_word_reads_id_in_headers_a_page_names_itself() -> None:
    """A page's own "account id" header matches the known "Account ID"; ids inside words stay."""
    assert column_label("account id") == "Account ID"
    assert column_label("stop_id") == "Stop ID"
    assert column_label("idle minutes") == "Idle minutes"
