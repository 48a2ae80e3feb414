"""The data page's tables and filters (planner.services.tables, no Streamlit needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from planner import schema as s
from planner.services import tables
from planner.workspace import Workspace


@pytest.fixture
def accounts(small_workspace: Workspace) -> pd.DataFrame:
    """The accounts table of the small workspace's base scenario."""
    return tables.accounts_table(small_workspace, "base")


def test_accounts_table_names_each_territory(accounts: pd.DataFrame) -> None:
    """Every account has a territory label; the one without a membership says so."""
    assert len(accounts) == 40
    assert set(accounts["territory"]) == {"West", "Centre & <b>Port</b>", "East", "(no territory)"}
    assert (accounts["territory"] == tables.NO_TERRITORY).sum() == 1
    assert accounts[s.LATITUDE].between(60.15, 60.19).all()


def test_filters_combine(accounts: pd.DataFrame) -> None:
    """Territory, industry and text filters all apply at once; empty filters keep everything."""
    assert len(tables.filter_accounts(accounts)) == 40
    west = tables.filter_accounts(accounts, territories=["West"])
    assert set(west["territory"]) == {"West"}
    west_cafes = tables.filter_accounts(accounts, territories=["West"], industries=["cafe"])
    assert set(west_cafes[s.INDUSTRY]) <= {"cafe"}
    assert len(west_cafes) < len(west)


def test_text_search_is_case_insensitive_and_literal(accounts: pd.DataFrame) -> None:
    """Search matches id, name or address regardless of case, and regex characters are literal."""
    assert len(tables.filter_accounts(accounts, text="shop 1")) == 11  # Shop 1, Shop 10..19
    assert len(tables.filter_accounts(accounts, text="a0003")) == 1
    assert len(tables.filter_accounts(accounts, text="TESTIKATU 7,")) == 1
    assert len(tables.filter_accounts(accounts, text="<img")) == 1
    assert len(tables.filter_accounts(accounts, text=".*")) == 0


def test_reps_table_lists_their_territories(small_workspace: Workspace) -> None:
    """Each rep row names the territories they hold, with the role."""
    reps = tables.reps_table(small_workspace, "base").set_index(s.REP_ID)
    assert reps.loc["R1", "territories"] == "West (owner)"
    assert reps.loc["R2", "territories"] == "Helsinki region (manager)"


def test_territories_table_has_area_and_parent(small_workspace: Workspace) -> None:
    """Territories carry their parent's name, account counts and area in km²."""
    terr = tables.territories_table(small_workspace, "draft").set_index(s.TERRITORY_ID)
    assert list(terr.index) == ["R", "T1", "T2"]
    assert terr.loc["T1", "parent"] == "Helsinki region"
    assert terr.loc["R", "accounts"] == 39
    assert terr.loc["R", "area_km2"] == pytest.approx(
        terr.loc["T1", "area_km2"] + terr.loc["T2", "area_km2"], rel=1e-6
    )
