"""Hand-over: a departing user's assignments and accounts move to a successor on one day."""

from __future__ import annotations

import functools
import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.access import active_mask, scope_for
from planner.cli import main
from planner.errors import AccessDeniedError, InputError
from planner.handover import hand_over, plan_hand_over, require_hand_over_rights
from planner.workspace import Workspace, open_workspace
from tests.app.conftest import build_small_workspace, with_team


def _staffed() -> Workspace:
    """The small workspace with R3: R1 owns T1 (open), overlays T2 in 2027, owned T3 until
    mid-2025 and owns accounts A0000 and A0001 (``owner_id``); R2 owns A0002."""
    ws = build_small_workspace(n_accounts=10)
    reps = pd.concat(
        [ws.reps, pd.DataFrame({s.REP_ID: ["R3"], s.NAME: ["Sanna"], s.ROLE: ["rep"]})],
        ignore_index=True,
    )
    ws.set_table("reps", reps)
    assoc = pd.DataFrame(
        {
            s.REP_ID: ["R1", "R1", "R1", "R2"],
            s.TERRITORY_ID: ["T1", "T2", "T3", "R"],
            s.ROLE: ["owner", "overlay", "owner", "manager"],
            s.START_DATE: ["2024-01-01", "2027-01-01", "2023-01-01", None],
            s.END_DATE: [None, "2027-12-31", "2025-06-30", None],
        }
    )
    ws.set_rows("associations", "base", assoc)
    acc = ws.accounts.copy()
    acc[s.OWNER_ID] = ["R1", "R1", "R2", *[None] * (len(acc) - 3)]
    ws.set_table("accounts", acc)
    return ws


@functools.cache
def _staffed_once() -> Workspace:
    """One staffed workspace for the property (plans never change it)."""
    return _staffed()


def _rows(ws: Workspace) -> list[tuple[str, str, str, object, object]]:
    assoc = ws.rows("associations", "base")

    def day(v: object) -> object:
        return None if s.is_missing(v) else v

    return sorted(
        (r[s.REP_ID], r[s.TERRITORY_ID], r[s.ROLE], day(r[s.START_DATE]), day(r[s.END_DATE]))
        for _, r in assoc.iterrows()
    )


def test_hand_over_ends_in_force_rows_gives_future_ones_and_accounts() -> None:
    """T1 ends the day before and continues with R3; T2 (future) is given whole; T3 is history."""
    ws = _staffed()
    plan = plan_hand_over(ws, "base", from_rep="R1", to_rep="R3", on="2026-04-01")
    assert plan.territory_ids == ("T1", "T2")
    assert plan.account_ids == ("A0000", "A0001")
    outcome = hand_over(ws, "base", plan, user="P1")
    assert outcome.message == (
        "Handed R1 over to R3 from 2026-04-01: 2 territories and 2 accounts as owner."
    )
    assert _rows(ws) == [
        ("R1", "T1", "owner", "2024-01-01", "2026-03-31"),
        ("R1", "T3", "owner", "2023-01-01", "2025-06-30"),
        ("R2", "R", "manager", None, None),
        ("R3", "T1", "owner", "2026-04-01", None),
        ("R3", "T2", "overlay", "2027-01-01", "2027-12-31"),
    ]
    owners = ws.accounts.set_index(s.ACCOUNT_ID)[s.OWNER_ID]
    assert owners[["A0000", "A0001", "A0002"]].tolist() == ["R3", "R3", "R2"]
    assert ws.audit[s.ACTION].iloc[-1] == "staff hand over"


def test_plan_changes_nothing_and_lists_each_move() -> None:
    """The preview names each territory and account with both sides' dates; the workspace stays."""
    ws = _staffed()
    before = _rows(ws)
    plan = plan_hand_over(ws, "base", from_rep="R1", to_rep="R3", on=date(2026, 4, 1))
    assert _rows(ws) == before
    first = plan.changes.iloc[0]
    assert (first["kind"], first["id"], first["role"]) == ("territory", "T1", "owner")
    assert first["departing"] == "until 2026-03-31"
    assert first["successor"] == "2026-04-01 to open end"
    assert plan.changes["kind"].tolist().count("account") == 2


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"from_rep": "R1", "to_rep": "R1"}, "cannot hand over to themselves"),
        ({"from_rep": "R1", "to_rep": "NOPE"}, "there is no user 'NOPE'"),
        ({"from_rep": "R1", "to_rep": "R3", "on": "1st April"}, "is not a date"),
        ({"from_rep": "R3", "to_rep": "R1"}, "nothing to hand over"),
    ],
)
def test_bad_hand_over_is_refused_with_the_fix(args: dict, match: str) -> None:
    """Unknown or identical users, a bad day, nothing to move: a clear error, nothing changed."""
    ws = _staffed()
    with pytest.raises(InputError, match=match):
        plan_hand_over(ws, "base", **args)


def test_successor_holding_the_same_role_is_refused() -> None:
    """R3 already overlays T2: the key (user, territory, role) would clash; the error says how."""
    ws = _staffed()
    extra = pd.DataFrame({s.REP_ID: ["R3"], s.TERRITORY_ID: ["T2"], s.ROLE: ["overlay"]})
    assoc = pd.concat([ws.rows("associations", "base"), extra], ignore_index=True)
    ws.set_rows("associations", "base", assoc)
    with pytest.raises(
        InputError,
        match="'R3' already has an overlay assignment on territory 'T2'",
    ):
        plan_hand_over(ws, "base", from_rep="R1", to_rep="R3", on="2026-04-01")


def test_a_rep_may_not_hand_over() -> None:
    """A rep has no edit right; the error says so."""
    ws = with_team(build_small_workspace(n_accounts=10))
    ws.set_rows("associations", "base", pd.DataFrame(
        {s.REP_ID: ["R1"], s.TERRITORY_ID: ["T1"], s.ROLE: ["owner"]}))  # fmt: skip
    plan = plan_hand_over(ws, "base", from_rep="R1", to_rep="P1", on="2026-04-01")
    with pytest.raises(AccessDeniedError, match="may not edit"):
        require_hand_over_rights(scope_for(ws, "R1", scenario_id="base"), plan)
    require_hand_over_rights(scope_for(ws, "P1", scenario_id="base"), plan)


@settings(max_examples=20, deadline=None)
@given(day=st.dates(min_value=date(2023, 6, 1), max_value=date(2028, 6, 1)))
def test_no_day_loses_or_doubles_an_owner(day: date) -> None:
    """Property: on every day the owner of each territory is the same count before and after."""
    ws = _staffed_once()
    try:
        plan = plan_hand_over(ws, "base", from_rep="R1", to_rep="R3", on=day)
    except InputError:
        assert day > date(2027, 12, 31)  # only then has R1 nothing left
        return
    before, after = ws.rows("associations", "base"), plan.associations

    def live(frame: pd.DataFrame, probe: date) -> pd.DataFrame:
        return frame[active_mask(frame, probe).to_numpy()]

    for probe in (day - timedelta(days=1), day, date(2027, 6, 1), date(2024, 6, 1)):
        roles = [sorted(live(f, probe)[s.TERRITORY_ID] + "/" + live(f, probe)[s.ROLE])
                 for f in (before, after)]  # fmt: skip
        assert roles[0] == roles[1]
        holder = live(after, probe)
        expected = "R3" if probe >= day else "R1"
        assert set(holder.loc[holder[s.TERRITORY_ID] == "T1", s.REP_ID]) <= {expected}


@pytest.mark.slow
def test_cli_hand_over_saves_one_dated_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``planner handover`` applies and records the change dated the hand-over day."""
    path = tmp_path / "ws.gpkg"
    ws = _staffed()
    ws.save(path)
    if ws.store is not None:
        ws.store.dispose()
    argv = ["handover", "-w", str(path), "--from", "R1", "--to", "R3", "--on", "2026-04-01"]
    assert main([*argv, "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["applied"] is False and len(dry["changes"]) == 4
    assert main([*argv, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["applied"] and done["version"] == 2
    again = open_workspace(path)
    assert ("R3", "T1", "owner", "2026-04-01", None) in _rows(again)
    assert main([*argv, "--json"]) == 2  # R1 now owns no account: only T1's past row is left
