"""Accounts & data: filterable tables of the accounts, reps and territories; account editing."""

from __future__ import annotations

import streamlit as st

from planner import schema as s
from planner.labels import count_of
from planner.services import tables
from ui import account_actions, account_edit, auth, display, editing, state

ws = state.current_workspace()
sid = state.current_scenario_id()
ws = auth.apply_query_focus(ws, sid)  # ?territory= / ?account=, refused outside the scope

st.title("Accounts & data")
editing.show_flash()  # what the last account edit saved
accounts_tab, reps_tab, territories_tab = st.tabs(["Accounts", "Reps", "Territories"])

with accounts_tab:
    accounts = tables.accounts_table(ws, sid)
    f1, f2, f3 = st.columns([2, 2, 3])
    territory_filter = f1.multiselect("Territory", sorted(accounts["territory"].unique()))
    industries = sorted(str(v) for v in accounts[s.INDUSTRY].dropna().unique())
    industry_filter = f2.multiselect("Industry", industries)
    text = f3.text_input("Search", placeholder="id, name or address")
    shown = tables.filter_accounts(
        accounts, territories=territory_filter, industries=industry_filter, text=text
    )
    picked = account_actions.pick_accounts(
        shown,
        name="data",
        total=len(accounts),
        valid=accounts[s.ACCOUNT_ID].astype(str).tolist(),
        column_config={
            s.LATITUDE: st.column_config.NumberColumn(format="%.5f"),
            s.LONGITUDE: st.column_config.NumberColumn(format="%.5f"),
        },
    )
    account_edit.edit_section(ws, shown, picked)

with reps_tab:
    reps = tables.reps_table(ws, sid)
    st.caption(count_of(len(reps), "user"))
    display.show_table(reps)

with territories_tab:
    terr = tables.territories_table(ws, sid)
    st.caption(f"{count_of(len(terr), 'territory')} in this scenario")
    display.show_table(
        terr, column_config={"area_km2": st.column_config.NumberColumn("Area (km²)", format="%.1f")}
    )
