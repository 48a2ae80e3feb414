"""Tables as people read them: human headers, blanks, pages of long tables."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _long_table() -> None:
    import pandas as pd

    from ui import display

    frame = pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(12_000)],
            "annual_revenue": [float(i * 1000) for i in range(12_000)],
            "address": [None if i % 2 else f"Street {i}" for i in range(12_000)],
        }
    )
    page = display.page_of(frame, key="page", noun="account", total=len(frame))
    display.show_table(page)


def test_long_tables_come_in_pages_with_blank_missing_text() -> None:
    at = AppTest.from_function(_long_table, default_timeout=60).run()
    assert not at.exception
    assert at.caption[0].value == "12,000 of 12,000 accounts: rows 1-5,000 shown"
    shown = at.dataframe[0].value
    assert len(shown) == 5_000 and shown["account_id"].iloc[0] == "A00000"
    assert shown["address"].iloc[1] == ""  # missing text is blank, not "None"
    assert at.dataframe[0].proto.HasField("placeholder")  # a missing number shows blank too
    assert at.dataframe[0].proto.placeholder == ""
    at.number_input(key="page").set_value(3).run()
    shown = at.dataframe[0].value
    assert at.caption[0].value.endswith("rows 10,001-12,000 shown")
    assert len(shown) == 2_000 and shown["account_id"].iloc[-1] == "A11999"


def test_headers_are_human_and_start_with_a_capital() -> None:
    import pandas as pd
    import streamlit as st

    from ui.display import table_config

    frame = pd.DataFrame(
        {"annual_revenue": [1.0], "a": ["x"], "b": ["y"], "c": [1], "d": [2], "n": [1256]}
    )
    given = {
        "a": st.column_config.TextColumn("account id"),
        "b": "thing",
        "n": "assigned accounts",
        "c": None,
        "d": st.column_config.NumberColumn(format="%d"),
    }
    config = table_config(frame, given, money="EUR")
    assert config["annual_revenue"]["label"] == "Annual revenue (EUR)"
    assert config["a"]["label"] == "Account id"
    assert config["b"]["label"] == "Thing" and config["c"] is None
    assert config["n"]["label"] == "Assigned accounts"  # a header given as text keeps the
    assert config["n"]["type_config"]["format"] == "localized"  # grouping: 1,256
    assert config["d"]["label"] == "D" and config["d"]["type_config"]["format"] == "%d"
