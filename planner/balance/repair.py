"""Contiguity repair of a seeded design: keep main pieces, join locked pieces, flood the rest."""

from __future__ import annotations

from functools import partial

import numpy as np

from planner.balance.problem import DesignProblem
from planner.balance.search import SearchState
from planner.balance.units import BalanceUnits
from planner.errors import InfeasibleError, format_ids

__all__ = ["fill_empty", "repair_contiguity"]


def repair_contiguity(
    bu: BalanceUnits, values: np.ndarray, labels: np.ndarray, setup: DesignProblem
) -> np.ndarray:
    """Keep each territory's main piece; join locked pieces; give stray pieces to neighbours."""
    labels = labels.copy()
    nb = bu.neighbours
    k = len(setup.territories)
    pinned = setup.pinned
    frozen = np.isin(pinned, np.flatnonzero(~setup.open_))
    for _ in range(20):
        broken = False
        for t in range(k):
            pieces = _pieces(nb, labels, t)
            if len(pieces) <= 1:
                continue
            broken = True
            # the main piece: most locked units, then most workload, then most units
            pieces.sort(key=partial(_piece_rank, pinned=pinned, values=values, t=t), reverse=True)
            anchor = set(pieces[0])
            for piece in pieces[1:]:
                if (pinned[piece] == t).any():
                    path = _path(nb, piece, anchor, (pinned < 0) & ~frozen)
                    for u in path:
                        labels[u] = t
                    anchor.update(piece)
                    anchor.update(path)
                else:
                    for u in piece:
                        labels[u] = -1
        _flood(nb, labels, values, setup)
        if not broken:
            break
    else:
        bad = [setup.territories[t] for t in range(k) if len(_pieces(nb, labels, t)) > 1]
        if bad:
            raise InfeasibleError(
                f"territories {format_ids(bad)} could not be made contiguous around their locked "
                "units; unlock some units")
    return labels


def _piece_rank(
    piece: list[int], *, pinned: np.ndarray, values: np.ndarray, t: int
) -> tuple[int, float, int, int]:
    return (int((pinned[piece] == t).sum()), float(values[piece].sum()), len(piece), -min(piece))


def _pieces(nb: list[list[int]], labels: np.ndarray, t: int) -> list[list[int]]:
    members = np.flatnonzero(labels == t).tolist()
    seen: set[int] = set()
    pieces = []
    for s in members:
        if s in seen:
            continue
        piece = [s]
        seen.add(s)
        stack = [s]
        while stack:
            x = stack.pop()
            for y in nb[x]:
                if y not in seen and labels[y] == t:
                    seen.add(y)
                    piece.append(y)
                    stack.append(y)
        pieces.append(sorted(piece))
    return pieces


def _path(
    nb: list[list[int]], piece: list[int], anchor: set[int], passable: np.ndarray
) -> list[int]:
    """Shortest path (in units) from ``piece`` to ``anchor`` through passable units."""
    start = set(piece)
    parent: dict[int, int] = {u: -1 for u in piece}
    frontier = sorted(start)
    while frontier:
        nxt = []
        for x in frontier:
            for y in nb[x]:
                if y in parent:
                    continue
                if y in anchor:
                    path = []
                    while x not in start:
                        path.append(x)
                        x = parent[x]
                    return path
                if passable[y]:
                    parent[y] = x
                    nxt.append(y)
        frontier = nxt
    raise InfeasibleError("locked units cannot be joined into one piece")  # pragma: no cover


def _flood(
    nb: list[list[int]], labels: np.ndarray, values: np.ndarray, setup: DesignProblem
) -> None:
    """Give unassigned units to the lightest open neighbouring territory, growing outwards."""
    load = np.bincount(labels[labels >= 0], weights=values[labels >= 0],
                       minlength=len(setup.territories))
    todo = set(np.flatnonzero(labels < 0).tolist())
    while todo:
        progress = False
        for u in sorted(todo):
            options = {int(labels[v]) for v in nb[u] if labels[v] >= 0 and setup.open_[labels[v]]}
            if not options:
                continue
            t = min(options, key=lambda s: (load[s] / setup.targets[s], s))
            labels[u] = t
            load[t] += values[u]
            todo.discard(u)
            progress = True
        if not progress:  # pragma: no cover - every free part holds a territory
            raise InfeasibleError("some units cannot reach any free territory")


def fill_empty(state: SearchState, bu: BalanceUnits, setup: DesignProblem) -> None:
    """Give every empty territory one unit, taken from the heaviest territory."""
    for t in range(state.k):
        if state.members[t] or not setup.open_[t]:
            continue
        heaviest = max((s for s in range(state.k) if setup.open_[s]),
                       key=lambda s: (state.dev(s), -s))
        for u in sorted(state.members[heaviest]):
            if state.can_leave(u) and len(state.members[heaviest]) > 1:
                state.move(u, t)
                break
        else:  # pragma: no cover
            raise InfeasibleError(f"territory {setup.territories[t]} could not get a unit")


