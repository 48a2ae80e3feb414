"""The balance inputs are measured once per the tables they read (``ui.scenarios.balance_inputs``
cached with ``ui.cache.by_frames``): saving or promoting another scenario keeps them, an edit
of the scenario's own rows measures them again."""

from __future__ import annotations

from planner import schema as s
from tests.app.conftest import build_small_workspace
from ui import scenarios


def test_inputs_kept_across_other_scenarios_and_redone_after_an_edit() -> None:
    ws = build_small_workspace()
    plain = scenarios.balance_inputs(ws, None)
    assert scenarios.balance_inputs(ws, None) is plain
    mine = scenarios.balance_inputs(ws, "base")
    ws.copy_scenario("base", "other", name="Other")  # rows of another scenario
    assert scenarios.balance_inputs(ws, "base") is mine
    assert scenarios.balance_inputs(ws, None) is plain
    terr = ws.territories("base")
    terr.loc[terr[s.TERRITORY_ID] == "T1", s.NAME] = "Renamed"
    ws.set_rows("territories", "base", terr)  # the scenario's own rows
    assert scenarios.balance_inputs(ws, "base") is not mine
    assert scenarios.balance_inputs(ws, None) is plain  # no scenario: accounts and units only
