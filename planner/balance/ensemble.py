"""Plans valid under a plan's own rules, sampled by recombination (ReCom).

Each step of the chain picks a border between two open territories at random
(a cut edge, as GerryChain's ReCom does), merges the two territories, draws a
random spanning tree of their union and cuts one of its edges chosen at
random among those that give a valid pair. Both parts of a tree cut are
connected, so every plan is contiguous on the adjacency of the units. What
is valid is the plan's own rules, which GerryChain's ``recom`` (one equal
population target) cannot express:

- each territory's workload between its own bounds: its target (equal, or
  following its rep's capacity) within the tolerance, and the plan's
  minimum and maximum workload;
- locked units stay in their territory, locked territories never change;
- under a hard drive limit, no unit enters a territory whose rep cannot
  reach it.

The plan itself is always a member: bounds are widened to its own loads,
and a unit it already has beyond the drive limit may stay there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from planner.balance.trees import random_spanning_tree, subtree_mask
from planner.balance.units import BalanceUnits

__all__ = ["ChainRules", "recom_plans"]

#: Regions with more edges than this draw their trees with SciPy.


@dataclass(frozen=True, eq=False)
class ChainRules:
    """What every plan of the chain keeps.

    Parameters
    ----------
    lower, upper
        Per territory, the smallest and largest workload allowed.
    open_
        Per territory, whether it may change (False: locked as it is).
    movable
        Per unit, whether it may change territory (False: locked unit).
    reach
        ``(k, n)``: whether each territory may hold each unit (hard drive
        limit), or ``None`` for no limit.
    """

    lower: np.ndarray
    upper: np.ndarray
    open_: np.ndarray
    movable: np.ndarray
    reach: np.ndarray | None = None

    @classmethod
    def around(
        cls,
        labels: np.ndarray,
        values: np.ndarray,
        targets: np.ndarray,
        tolerance: float,
        *,
        bounds: tuple[float | None, float | None] = (None, None),
        open_: np.ndarray | None = None,
        movable: np.ndarray | None = None,
        reach: np.ndarray | None = None,
    ) -> ChainRules:
        """The rules of a plan: targets within ``tolerance``, workload bounds, locks, reach.

        Bounds are widened to the plan's own loads and ``reach`` to the units
        where the plan has them, so the plan keeps its own rules.
        """
        k, n = len(targets), len(labels)
        lower = targets * (1.0 - tolerance)
        upper = targets * (1.0 + tolerance)
        if bounds[0] is not None:
            lower = np.maximum(lower, bounds[0])
        if bounds[1] is not None:
            upper = np.minimum(upper, bounds[1])
        load = np.bincount(labels, weights=values, minlength=k)
        ok = None
        if reach is not None:
            ok = reach.copy()
            ok[labels, np.arange(n)] = True
        return cls(
            lower=np.minimum(lower, load) - 1e-9 * np.abs(targets),
            upper=np.maximum(upper, load) + 1e-9 * np.abs(targets),
            open_=np.ones(k, bool) if open_ is None else open_.astype(bool),
            movable=np.ones(n, bool) if movable is None else movable.astype(bool),
            reach=ok,
        )


def recom_plans(
    bu: BalanceUnits,
    values: np.ndarray,
    labels: np.ndarray,
    rules: ChainRules,
    *,
    n_plans: int,
    rng: np.random.Generator,
    trees: int = 8,
    pairs: int = 20,
) -> Iterator[np.ndarray]:
    """Yield ``n_plans`` plans (labels), each one ReCom step from the one before.

    A step that finds no valid cut among ``trees`` trees of ``pairs`` random
    pairs repeats the plan (the chain stays where it is, as a Markov chain
    that rejects a proposal does).
    """
    chain = _Chain(bu, values, labels, rules)
    for _ in range(n_plans):
        chain.step(rng, trees, pairs)
        yield chain.lab.copy()


class _Chain:
    """The current plan with the unit graph as edge arrays."""

    def __init__(self, bu: BalanceUnits, values: np.ndarray, labels: np.ndarray,
                 rules: ChainRules) -> None:
        pairs = bu.adjacency.pairs
        self.e0 = pairs[:, 0].astype(np.int64) if len(pairs) else np.zeros(0, np.int64)
        self.e1 = pairs[:, 1].astype(np.int64) if len(pairs) else np.zeros(0, np.int64)
        self.w = np.asarray(values, dtype=float)
        self.lab = np.asarray(labels, dtype=np.int64).copy()
        self.rules = rules
        self.pos = np.full(len(self.lab), -1, dtype=np.int64)

    def step(self, rng: np.random.Generator, trees: int, pairs: int) -> bool:
        lab, open_ = self.lab, self.rules.open_
        a_of, b_of = lab[self.e0], lab[self.e1]
        cut = np.flatnonzero((a_of != b_of) & open_[a_of] & open_[b_of])
        if not cut.size:
            return False
        for _ in range(pairs):
            e = int(cut[rng.integers(len(cut))])
            if self._recombine(int(a_of[e]), int(b_of[e]), rng, trees):
                return True
        return False

    def _recombine(self, a: int, b: int, rng: np.random.Generator, trees: int) -> bool:
        lab = self.lab
        region = np.flatnonzero((lab == a) | (lab == b))
        pos = self.pos
        pos[region] = np.arange(len(region))
        inside = (pos[self.e0] >= 0) & (pos[self.e1] >= 0)
        rows, cols = pos[self.e0[inside]], pos[self.e1[inside]]
        pos[region] = -1
        counts = self._counts(region, a, b)
        for _ in range(trees):
            tree = random_spanning_tree(len(region), rows, cols, rng)
            if tree is None:
                return False
            choice = _valid_cut(tree, counts, self.rules, a, b, rng)
            if choice is not None:
                top, subtree_to_a = choice
                below = subtree_mask(*tree, top)
                lab[region] = np.where(below == subtree_to_a, a, b)
                return True
        return False

    def _counts(self, region: np.ndarray, a: int, b: int) -> np.ndarray:
        """Per region unit: workload, pinned to a, pinned to b, barred from a, barred from b."""
        r = self.rules
        lab = self.lab[region]
        pinned = ~r.movable[region]
        cols = [self.w[region], pinned & (lab == a), pinned & (lab == b)]
        if r.reach is not None:
            cols += [~r.reach[a, region], ~r.reach[b, region]]
        else:
            cols += [np.zeros(len(region), bool)] * 2
        return np.column_stack([np.asarray(c, dtype=float) for c in cols])


def _valid_cut(
    tree: tuple[np.ndarray, np.ndarray],
    counts: np.ndarray,
    rules: ChainRules,
    a: int,
    b: int,
    rng: np.random.Generator,
) -> tuple[int, bool] | None:
    """A random valid cut of the tree: (top node of the subtree, whether it goes to ``a``).

    Workloads are summed first (most trees of a tight tolerance have no
    balanced cut); locks and reach are counted only for trees that have one.
    """
    order, parent = tree
    rev = order[:0:-1].tolist()
    par = parent.tolist()
    sub_w = counts[:, 0].tolist()
    for v in rev:
        sub_w[par[v]] += sub_w[v]
    total = sub_w[int(order[0])]
    w_s = np.asarray(sub_w)[order[1:]]
    w_r = total - w_s
    lo, hi = rules.lower, rules.upper
    to_a = (lo[a] <= w_s) & (w_s <= hi[a]) & (lo[b] <= w_r) & (w_r <= hi[b])
    to_b = (lo[b] <= w_s) & (w_s <= hi[b]) & (lo[a] <= w_r) & (w_r <= hi[a])
    if not (to_a.any() or to_b.any()):
        return None
    flags = counts[:, 1:]
    if flags.any():
        sub = flags.copy()
        for v in rev:
            sub[par[v]] += sub[v]
        s = sub[order[1:]]
        rest = sub[order[0]] - s
        # subtree -> a, rest -> b: no unit pinned to b or barred from a in the subtree, and
        # the other way round in the rest (columns: pin a, pin b, barred a, barred b)
        to_a &= (s[:, 1] == 0) & (rest[:, 0] == 0) & (s[:, 2] == 0) & (rest[:, 3] == 0)
        to_b &= (s[:, 0] == 0) & (rest[:, 1] == 0) & (s[:, 3] == 0) & (rest[:, 2] == 0)
    options = [(int(i), True) for i in np.flatnonzero(to_a)]
    options += [(int(i), False) for i in np.flatnonzero(to_b)]
    if not options:
        return None
    i, subtree_to_a = options[int(rng.integers(len(options)))]
    return int(order[1 + i]), subtree_to_a

