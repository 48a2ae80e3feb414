"""Saving a plan as a scenario appends its rows and records them as inserts at once.

The reference is the way a save was written before: copy the base scenario,
set the plan's rows over the copy, assign the accounts, and let the store
compare the tables at commit. Both must leave the same tables, write the
same history rows and meet the same version checks.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner import schema as s
from planner.assign import assign_workspace
from planner.balance.params import BalanceParams
from planner.balance.scenario import SAVE_ACTION
from planner.errors import ConflictError
from planner.samples import sample_path
from planner.services.balance_inputs import balance_inputs
from planner.services.balance_runs import (
    BalanceRequest,
    BalanceResult,
    field_reps,
    run_balance,
    save_balance,
)
from planner.store import Change
from planner.workspace import SCENARIO_TABLES, Workspace, open_workspace
from planner.workspace import core as workspace_core

SID = "2026-plan"
USER = "hel-planner"
#: Values a save stamps with the clock (compared apart from them).
CLOCK = {"scenarios": {s.CREATED_AT}, "audit": {"timestamp"}}


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Helsinki sample, copied once for this module (each test copies it again)."""
    folder = tmp_path_factory.mktemp("helsinki")
    target = folder / "helsinki.gpkg"
    shutil.copyfile(sample_path("helsinki"), target)
    return target


def copy_of(path: Path, folder: Path, name: str) -> Path:
    target = folder / f"{name}.gpkg"
    shutil.copyfile(path, target)
    return target


def designed(ws: Workspace, *, around_reps: bool) -> BalanceResult:
    """The Balance page's design run: k = 4 on visit hours, or one territory per field rep."""
    inputs = balance_inputs(ws, SID)
    reps = field_reps(ws) if around_reps else None
    params = BalanceParams(weight="workload_h", k=None if around_reps else 4, tolerance=0.05)
    return run_balance(ws, SID, inputs, BalanceRequest(mode="design", params=params, reps=reps))


def save_by_diff(ws: Workspace, saved: Workspace, new_id: str) -> None:
    """The way a save was written before: a copy of the base, the plan's rows set over it,
    the accounts assigned and stored, one audit entry; the store compares the tables."""
    scenario = saved.scenario(new_id)
    ws.copy_scenario(SID, new_id, name=scenario.name, user=USER,
                     parameters=scenario.parameters, metrics=scenario.metrics)  # fmt: skip
    ws.update_scenario(dataclasses.replace(ws.scenario(new_id), description=scenario.description))
    for table in ("territories", "unit_assignment", "associations", "overrides", "targets"):
        ws.set_rows(table, new_id, saved.rows(table, new_id).drop(columns=[s.SCENARIO_ID]))
    assign_workspace(ws, new_id, store=True, user=USER)
    entry = saved.audit.iloc[-1]
    assert entry["action"] == SAVE_ACTION
    ws.log(SAVE_ACTION, _json(entry["detail"]), user=USER, scenario_id=new_id)


def _json(text: Any) -> dict[str, Any]:
    return dict(json.loads(text))


def without_clock(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=sorted(CLOCK.get(table, set())))


def history(ws: Workspace, change: Change) -> list[tuple[Any, ...]]:
    """The history rows a change wrote, in order, without clock values and audit row ids."""
    assert ws.store is not None
    out = []
    for r in ws.store.row_changes(change.version):
        out.append((r.table, "" if r.table == "audit" else r.key, r.op,
                    _plain(r.table, r.before), _plain(r.table, r.after)))  # fmt: skip
    return out


def _plain(table: str, image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {k: v for k, v in image.items() if k not in CLOCK.get(table, set())}


@pytest.mark.slow
@pytest.mark.parametrize("around_reps", [False, True], ids=["k4", "reps"])
def test_save_leaves_the_tables_and_history_of_the_diff_based_save(
    helsinki: Path, tmp_path: Path, around_reps: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same rows in every table, the same history rows in the same order, the same file."""
    fast = open_workspace(copy_of(helsinki, tmp_path, "fast"))
    slow = open_workspace(copy_of(helsinki, tmp_path, "slow"))
    result = designed(fast, around_reps=around_reps)
    new_id = save_balance(fast, result, base_scenario_id=SID, name="Even", user=USER).scenario_id
    mine = fast.commit("save", user=USER)
    save_by_diff(slow, fast, new_id)
    with monkeypatch.context() as m:  # the store compares every table, as before
        m.setattr(workspace_core, "diff_pending", lambda store, *args: store.diff(*args))
        theirs = slow.commit("save", user=USER)
    assert mine is not None and theirs is not None
    assert mine.rows == theirs.rows > len(fast.accounts)
    assert history(fast, mine) == history(slow, theirs)
    for table in (*SCENARIO_TABLES, "scenarios", "audit"):
        pd.testing.assert_frame_equal(without_clock(table, fast.tables[table]),
                                      without_clock(table, slow.tables[table]))  # fmt: skip
    again = open_workspace(fast.path)  # what was written reads back as what is in memory
    for table in SCENARIO_TABLES:
        pd.testing.assert_frame_equal(again.rows(table, new_id), fast.rows(table, new_id))


@pytest.mark.slow
def test_a_second_save_of_the_same_scenario_id_is_a_conflict(
    helsinki: Path, tmp_path: Path
) -> None:
    """Two planners save a plan under the same new id from one version: the later is refused,
    names the rows and writes nothing; under another id both are kept."""
    path = copy_of(helsinki, tmp_path, "shared")
    first, second = open_workspace(path), open_workspace(path)
    result = designed(first, around_reps=False)
    save_balance(first, result, base_scenario_id=SID, name="Even", user="ann")
    save_balance(second, result, base_scenario_id=SID, name="Even", user="bob")
    assert first.commit("save", user="ann") is not None
    head = open_workspace(path).version
    with pytest.raises(ConflictError, match=r"ann \(save, .*\(scenario even\).* Nothing") as exc:
        second.commit("save", user="bob")
    clashes = {table for table, _key in exc.value.rows}
    assert clashes == {"scenarios", *SCENARIO_TABLES} - {"overrides"}  # the sample has none
    assert open_workspace(path).version == head, "nothing of the refused save is written"
    assert second.has_changes(), "the refused save stays in memory"
    second.reload()
    save_balance(second, result, base_scenario_id=SID, name="Even", user="bob")  # even-2
    assert second.commit("save", user="bob") is not None
    stored = open_workspace(path)
    assert {"even", "even-2"} <= set(stored.scenarios[s.SCENARIO_ID])
    assert len(stored.memberships("even-2")) == len(stored.memberships("even"))


@pytest.mark.slow
def test_saves_by_two_planners_under_other_ids_both_stay(helsinki: Path, tmp_path: Path) -> None:
    """A save committed after another planner's save of another scenario goes through; the
    workspace then holds both (it reads the other's rows)."""
    path = copy_of(helsinki, tmp_path, "shared")
    first, second = open_workspace(path), open_workspace(path)
    result = designed(first, around_reps=False)
    save_balance(first, result, base_scenario_id=SID, name="Mine", user="ann")
    save_balance(second, result, base_scenario_id=SID, name="Yours", user="bob")
    assert first.commit("save", user="ann") is not None
    assert second.commit("save", user="bob") is not None
    assert {"mine", "yours"} <= set(second.scenarios[s.SCENARIO_ID])
    assert not second.has_changes()
    stored = open_workspace(path)
    for table in SCENARIO_TABLES:
        pd.testing.assert_frame_equal(stored.rows(table, "mine"), second.rows(table, "mine"))
        pd.testing.assert_frame_equal(stored.rows(table, "yours"), second.rows(table, "yours"))
