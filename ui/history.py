"""The history panel: what happened to an account or a territory, and who covered it when."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from planner.errors import PlannerError
from planner.store import coverage_as_of
from planner.workspace import Workspace
from ui import cache, display, keys, state

__all__ = ["history_panel"]

_SHOWN = ("name", "territory_id", "parent_id", "cause", "action", "rep_id", "role",
          "start_date", "end_date", "owner_id", "value", "period")  # fmt: skip


def _what_changed(row: pd.Series) -> str:
    before: dict[str, Any] = row["before"] or {}
    after: dict[str, Any] = row["after"] or {}
    if row["op"] == "insert":
        parts = [f"{k} {after[k]}" for k in _SHOWN if after.get(k) not in (None, "")]
        return "added: " + ", ".join(parts[:4])
    if row["op"] == "delete":
        parts = [f"{k} {before[k]}" for k in _SHOWN if before.get(k) not in (None, "")]
        return "removed: " + ", ".join(parts[:4])
    changed = [
        f"{k}: {before.get(k)} → {after.get(k)}"
        for k in sorted(set(before) | set(after))
        if k != "geometry" and before.get(k) != after.get(k)
    ]
    if before.get("geometry") != after.get("geometry"):
        changed.append("shape redrawn")
    return "; ".join(changed[:4]) or "unchanged"


def _changes_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "when": frame["timestamp"],
            "who": frame["user"].fillna("-"),
            "change": frame["action"],
            "applies from": frame["effective_date"],
            "table": frame["table"],
            "what": [_what_changed(r) for _, r in frame.iterrows()],
        }
    ).iloc[::-1]


def history_panel(*, account: str | None = None, territory: str | None = None, key: str) -> None:
    """Show the recorded changes of one account or territory, and its state on a chosen day."""
    ws = state.workspace_or_none()
    if ws is None or ws.store is None or (account is None and territory is None):
        return
    label = f"account {account}" if account is not None else f"territory {territory}"
    with st.expander(f"History of {label}", icon=":material/history:"):
        try:
            version = (str(ws.store.location), int(ws.version))
            frame = cache.history(version, account, territory, ws.store)
        except PlannerError as exc:
            st.error(str(exc))
            return
        if frame.empty:
            st.caption("No change recorded since the workspace was created.")
        else:
            display.show_table(
                _changes_table(frame), hide_index=True, width="stretch", key=keys.history_table(key)
            )
        day = st.date_input("As of", value=date.today(), key=keys.history_day(key))
        try:
            if account is not None:
                _account_on(ws.store, account, day)
            else:
                assert territory is not None
                _territory_on(ws, territory, day)
        except PlannerError as exc:
            st.error(str(exc))


def _account_on(store: Any, account: str, day: date) -> None:
    found = coverage_as_of(store, account, day)
    places = ", ".join(
        f"{t['name'] or t['territory_id']} ({t['cause']})" for t in found["territories"]
    )
    people = ", ".join(f"{u['rep_id']} ({u['role']})" for u in found["users"])
    st.markdown(
        f"On **{found['as_of']}** (scenario {found['scenario_id']}): in "
        f"**{places or 'no territory'}**, covered by **{people or 'nobody'}**."
    )


def _territory_on(ws: Workspace, territory: str, day: date) -> None:
    sid = state.scenario_choice()
    where = (("territory_id", territory), *((("scenario_id", sid),) if sid else ()))
    version = (str(ws.store.location), int(ws.version)) if ws.store is not None else ("", 0)
    rows = cache.rows_as_of(version, "territories", day, where, ws.store)
    users = cache.rows_as_of(version, "associations", day, where, ws.store)
    if rows.empty:
        st.markdown(f"On **{day.isoformat()}** the territory did not exist.")
        return
    row = rows.iloc[0]
    active = users[
        [
            (not r["start_date"] or str(r["start_date"])[:10] <= day.isoformat())
            and (not r["end_date"] or str(r["end_date"])[:10] >= day.isoformat())
            for r in users.to_dict("records")
        ]
    ] if len(users) else users  # fmt: skip
    people = ", ".join(f"{r['rep_id']} ({r['role']})" for r in active.to_dict("records"))
    st.markdown(
        f"On **{day.isoformat()}**: named **{row['name']}**, under "
        f"**{row['parent_id'] or 'nothing (top level)'}**, with **{people or 'nobody'}**."
    )
