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
    at.number_input(key="page").set_value(3).run()
    shown = at.dataframe[0].value
    assert at.caption[0].value.endswith("rows 10,001-12,000 shown")
    assert len(shown) == 2_000 and shown["account_id"].iloc[-1] == "A11999"
