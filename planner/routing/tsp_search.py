"""Iterated local search for symmetric closed tours: 2-opt, Or-opt, Or-3opt, double bridges.

The search behind :func:`planner.routing.tours.solve_tour` on symmetric
matrices. A local search moves by 2-opt (reverse a stretch), Or-opt (move a
run of one to three stops, either way round, next to one of its
neighbours) and Or-3opt (swap two neighbouring stretches of any length),
looking only at each stop's candidate neighbours (:func:`candidate_neighbours`)
and only at stops whose surroundings changed (don't-look bits: a queue of
"active" stops). Then, until the deadline, a double bridge inside a short
random window of the tour kicks the tour out of its local optimum; the
local search repairs the few stops around the cuts, and the change is
undone (from a journal of the rewritten stretches) when the tour got longer.

The tour is a Python list with each stop's position beside it; moves are
list slices (done in C) and only the rewritten stretch's positions change.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

__all__ = ["candidate_neighbours", "improve_tour"]

_EPS = 1e-9
#: Longest window of the tour a double bridge cuts in (stops).
_WINDOW = 50


class _Tour:
    """A closed tour with positions, its length, and the moves that change it."""

    def __init__(self, D: list[list[float]], tour: list[int]) -> None:
        self.D = D
        self.t = list(tour)
        self.n = len(tour)
        self.pos = [0] * self.n
        self.journal: list[tuple[int, list[int]]] = []
        self._index()
        self.length = sum(D[a][b] for a, b in zip(self.t, self.t[1:] + self.t[:1], strict=True))

    def _index(self) -> None:
        pos = self.pos
        for i, c in enumerate(self.t):
            pos[c] = i

    def succ(self, c: int) -> int:
        i = self.pos[c] + 1
        return self.t[i if i < self.n else 0]

    def pred(self, c: int) -> int:
        return self.t[self.pos[c] - 1]

    def assign(self, lo: int, new: list[int]) -> None:
        """Put ``new`` at positions ``lo..``, keeping the old stops in the undo journal."""
        hi = lo + len(new)
        t = self.t
        self.journal.append((lo, t[lo:hi]))
        t[lo:hi] = new
        pos = self.pos
        for k in range(lo, hi):
            pos[t[k]] = k

    def reverse(self, i: int, j: int) -> None:
        """Reverse the stretch from position ``i`` forward to ``j`` (it may wrap round).

        On a symmetric matrix reversing a stretch or the rest of the tour
        gives the same cycle: the shorter one is reversed.
        """
        n, t = self.n, self.t
        if (j - i) % n + 1 > n // 2:
            i, j = (j + 1) % n, (i - 1) % n
        if i <= j:
            self.assign(i, t[i : j + 1][::-1])
        else:
            rev = (t[i:] + t[: j + 1])[::-1]
            self.assign(i, rev[: n - i])
            self.assign(0, rev[n - i :])

    def undo(self) -> None:
        """Take back every change since the journal was last cleared."""
        t, pos = self.t, self.pos
        while self.journal:
            lo, old = self.journal.pop()
            t[lo : lo + len(old)] = old
            for k in range(lo, lo + len(old)):
                pos[t[k]] = k


def _try_two_opt(T: _Tour, a: int, near: list[int]) -> list[int] | None:
    """The first improving 2-opt move at ``a``: returns the stops whose edges changed."""
    D = T.D
    for forward in (True, False):
        b = T.succ(a) if forward else T.pred(a)
        d_ab = D[a][b]
        for c in near:
            d_ac = D[a][c]
            if d_ac >= d_ab:
                break
            d = T.succ(c) if forward else T.pred(c)
            if c == b or d == a:
                continue
            delta = d_ac + D[b][d] - d_ab - D[c][d]
            if delta < -_EPS:
                i, j = T.pos[a], T.pos[c]
                if forward:  # a b ... c d  becomes  a c ... b d
                    T.reverse((i + 1) % T.n, j)
                else:  # d c ... b a  becomes  d b ... c a
                    T.reverse(j, (i - 1) % T.n)
                T.length += delta
                return [a, b, c, d]
    return None


def _try_or_opt(T: _Tour, a: int, near: list[int]) -> list[int] | None:
    """The first improving Or-opt move of a run of 1-3 stops ending at ``a``.

    The run goes from ``a`` forward or backward; ``a`` is placed next to one
    of its neighbours ``c`` (either side of it, the run turned to fit).
    Neighbours at least as far as the run's removal gain are not tried.
    """
    D, n, i = T.D, T.n, T.pos[a]
    for size in (1, 2, 3):
        if size >= n - 2:
            break
        for forward in (True, False):
            lo = i if forward else i - size + 1
            if lo < 0 or lo + size > n:
                continue  # a run across the tour's end: its moves are tried from other stops
            run = T.t[lo : lo + size]
            first, last = run[0], run[-1]
            p, q = T.pred(first), T.succ(last)
            removed = D[p][first] + D[last][q] - D[p][q]
            other = last if forward else first
            for c in near:
                d_ac = D[a][c]
                if d_ac >= removed:
                    break
                if c in run:
                    continue
                for nxt in (T.succ(c), T.pred(c)):
                    if nxt in run:
                        continue
                    added = d_ac + D[other][nxt] - D[c][nxt]
                    if added < removed - _EPS:
                        _move_run(T, run, c, nxt, a)
                        T.length += added - removed
                        return [p, q, c, nxt, first, last]
    return None


def _try_or3opt(T: _Tour, a: int, near: list[list[int]]) -> list[int] | None:
    """The first improving swap of two neighbouring stretches after ``a`` (any lengths).

    ``a b..c d..e f`` becomes ``a d..e b..c f``: no stretch is reversed, so
    long runs (a cluster's whole visit) move in one step. Stretches across
    the tour's end are left to other stops.
    """
    D, pos, n = T.D, T.pos, T.n
    i = pos[a]
    if i + 1 >= n:
        return None
    b = T.t[i + 1]
    d_ab = D[a][b]
    for d in near[a]:
        g1 = d_ab - D[a][d]
        if g1 <= 0:
            break
        j = pos[d] - 1  # c, the stop before d
        if j <= i:
            continue
        c = T.t[j]
        g1 += D[c][d]
        for e in near[b]:
            g2 = g1 - D[e][b]
            if g2 <= 0:
                break
            k = pos[e]
            if k <= j or k + 1 >= n:
                continue
            f = T.t[k + 1]
            delta = D[c][f] - D[e][f] - g2
            if delta < -_EPS:
                t = T.t
                T.assign(i + 1, t[j + 1 : k + 1] + t[i + 1 : j + 1])
                T.length += delta
                return [a, b, c, d, e, f]
    return None


def _move_run(T: _Tour, run: list[int], c: int, nxt: int, end: int) -> None:
    """Put ``run`` between neighbours ``c`` and ``nxt``, with ``end`` next to ``c``.

    Only the stretch between the run and its new place is rewritten.
    """
    s, e = T.pos[run[0]], T.pos[run[-1]]
    after = T.succ(c) == nxt
    seg = run if (end == run[0]) == after else run[::-1]
    gap = T.pos[c] if after else T.pos[nxt]  # the run goes right after this position
    t = T.t
    if gap > e:
        T.assign(s, t[e + 1 : gap + 1] + seg)
    else:
        T.assign(gap + 1, seg + t[gap + 1 : s])


def _local_search(T: _Tour, near: list[list[int]], active: list[int], deadline: float) -> None:
    """Apply improving moves around ``active`` stops until none is left (or time is up)."""
    queued = set(active)
    stack = list(active)
    checks = 0
    while stack:
        checks += 1
        if checks % 64 == 0 and time.monotonic() >= deadline:
            return
        a = stack.pop()
        queued.discard(a)
        touched = (
            _try_two_opt(T, a, near[a]) or _try_or_opt(T, a, near[a]) or _try_or3opt(T, a, near)
        )
        if touched:
            for c in (a, *touched):
                if c not in queued:
                    queued.add(c)
                    stack.append(c)


def _double_bridge(T: _Tour, rng: random.Random) -> list[int]:
    """Cut a short random window in three places and swap its two middle pieces."""
    span = min(_WINDOW, T.n - 2)
    p = rng.randrange(T.n - span)
    x, y, z = (p + c for c in sorted(rng.sample(range(1, span + 1), 3)))
    t, D = T.t, T.D
    ends = [t[x - 1], t[x], t[y - 1], t[y], t[z - 1], t[z]]
    before = D[t[x - 1]][t[x]] + D[t[y - 1]][t[y]] + D[t[z - 1]][t[z]]
    after = D[t[x - 1]][t[y]] + D[t[z - 1]][t[x]] + D[t[y - 1]][t[z]]
    T.assign(x, t[y:z] + t[x:y])
    T.length += after - before
    return ends


def candidate_neighbours(
    M: np.ndarray, nearest: int = 10, spread: int = 3, pool: int = 40
) -> list[list[int]]:
    """Each point's ``nearest`` nearest points, then up to ``spread`` in other directions.

    A point of a tight cluster has only its cluster among its nearest
    points, so no move could ever change the links between clusters. From
    the ``pool`` nearest, a farther point ``q`` is added when it is closer
    to ``p`` than to every neighbour chosen so far (it lies "the other
    way"): a stand-in for quadrant neighbours when there are no coordinates.
    """
    n = len(M)
    sym = (M + M.T).astype(float)
    np.fill_diagonal(sym, np.inf)
    size = min(pool, n - 1)
    part = np.argpartition(sym, size - 1, axis=1)[:, :size]
    rows = np.arange(n)[:, None]
    ordered = part[rows, np.argsort(sym[rows, part], axis=1)]
    out = []
    for p in range(n):
        cand = ordered[p]
        chosen = list(cand[:nearest])
        extra = 0
        for q in cand[nearest:]:
            if extra >= spread:
                break
            if sym[p, q] < sym[chosen, q].min():
                chosen.append(q)
                extra += 1
        out.append([int(c) for c in chosen])
    return out


def improve_tour(
    D: list[list[float]],
    near: list[list[int]],
    tour: list[int],
    *,
    deadline: float,
    seed: int = 0,
    stop: Callable[[], bool] | None = None,
) -> list[int]:
    """Return a shorter closed tour found by iterated 2-opt/Or-opt search before ``deadline``.

    Parameters
    ----------
    D
        Symmetric distances as lists (``D[a][b] == D[b][a]``).
    near
        Each stop's nearest other stops, nearest first.
    tour
        A starting tour (every stop once); ``tour[0]`` stays first.
    deadline
        ``time.monotonic()`` value to return by.
    seed
        Seed of the random kicks.
    stop
        Asked now and then; ``True`` returns the best tour so far.
    """
    n = len(tour)
    if n < 8:
        return list(tour)
    rng = random.Random(seed)
    T = _Tour(D, tour)
    _local_search(T, near, list(T.t), deadline)
    T.journal.clear()
    best_len = T.length
    rounds = 0
    while time.monotonic() < deadline and not (stop is not None and rounds % 32 == 0 and stop()):
        rounds += 1
        ends = _double_bridge(T, rng)
        _local_search(T, near, ends, deadline)
        if T.length > best_len + _EPS:
            T.undo()
            T.length = best_len
        best_len = T.length
        T.journal.clear()
    r = T.pos[tour[0]]
    return T.t[r:] + T.t[:r]
