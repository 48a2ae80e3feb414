"""The manager chain: who reports to whom, and loops in it."""

from __future__ import annotations

import pandas as pd

from planner import schema as s

__all__ = ["manager_loops", "subordinates"]


def subordinates(reps: pd.DataFrame, user_id: str) -> set[str]:
    """Users below ``user_id`` in the manager chain.

    A loop in the chain (A manages B, B manages A) must not widen anyone's
    view: users who are also *above* ``user_id`` are never its subordinates,
    so everyone in a loop sees only what their own place outside it gives.
    The reps reader refuses such loops; this guards workspaces made otherwise.
    """
    if s.MANAGER_ID not in reps.columns:
        return set()
    reports: dict[str, list[str]] = {}
    manager_of: dict[str, str] = {}
    for rep, manager in zip(reps[s.REP_ID].astype(str), reps[s.MANAGER_ID], strict=True):
        m = s.text_or_none(manager)
        if m is not None:
            reports.setdefault(m, []).append(rep)
            manager_of[rep] = m
    above: set[str] = set()
    node = manager_of.get(user_id)
    while node is not None and node not in above:
        above.add(node)
        node = manager_of.get(node)
    seen: set[str] = set()
    stack = list(reports.get(user_id, []))
    while stack:
        rep = stack.pop()
        if rep in seen or rep == user_id or rep in above:
            continue
        seen.add(rep)
        stack.extend(reports.get(rep, []))
    return seen


def manager_loops(reps: pd.DataFrame) -> list[list[str]]:
    """Return each loop of the manager chain as the list of its users (empty when none).

    Parameters
    ----------
    reps
        Users with ``rep_id`` and ``manager_id``.
    """
    if s.MANAGER_ID not in reps.columns:
        return []
    managers = map(s.text_or_none, reps[s.MANAGER_ID])
    manager_of = {
        str(r): m
        for r, m in zip(reps[s.REP_ID].astype(str), managers, strict=True)
        if m is not None
    }
    loops: list[list[str]] = []
    done: set[str] = set()
    for start in manager_of:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path.append(node)
            node = manager_of.get(node)
        if node is not None and node in path:
            loops.append(path[path.index(node) :])
        done.update(path)
    return loops
