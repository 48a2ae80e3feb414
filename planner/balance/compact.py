"""Compactness within a tight tolerance: pairs re-split for the roundest outlines.

Boundary moves cannot raise compactness much once the tolerance is tight
(0.5 % on counties): almost every single move breaks the balance of one side.
Here two touching territories are merged and cut again along spanning trees
of their union, as in ReCom; among the cuts that keep both sides within the
tolerance (pinned units on their own side, units within the drive limit),
the one with the largest sum of Polsby-Popper scores replaces the pair when
it beats the current pair. Perimeters come from the units' outlines and the
border lengths they share, never from geometric unions, so a cut is measured
in time proportional to the edges of the pair.

Trees are drawn as minimum spanning trees on random weights scaled by the
distance between unit centroids, so their subtrees are compact blobs more
often than those of uniform trees and their cuts follow short borders.
"""

from __future__ import annotations

import math

import numpy as np

from planner.balance.search import SearchState
from planner.balance.trees import spanning_tree_lists, subtree_list

__all__ = ["burst_pairs", "compact_pairs"]

_FOUR_PI = 4.0 * math.pi


def compact_pairs(
    state: SearchState,
    tolerance: float,
    *,
    rng: np.random.Generator,
    trees: int = 40,
    passes: int = 3,
    max_pair_units: int = 400,
    min_gain: float = 1e-4,
) -> int:
    """Re-split touching pairs for compactness while every territory stays within ``tolerance``.

    Parameters
    ----------
    state
        A contiguous plan (changed in place, stays contiguous).
    tolerance
        Relative deviation no re-split may leave a territory beyond (a pair
        already beyond it must come out no further off).
    rng
        Source of the random trees.
    trees
        Spanning trees drawn per pair and pass.
    passes
        Most passes over the touching pairs (a pass with no gain ends it).
    max_pair_units
        Pairs with more units are left to the boundary search.
    min_gain
        Smallest accepted gain in the pair's summed compactness.

    Returns
    -------
    int
        Re-splits applied.
    """
    if state.drive is not None and state.drive.by_drive:
        return 0  # drive compactness: the boundary search measures it directly
    done = 0
    for _ in range(passes):
        pairs = state.territory_graph()
        improved = 0
        for i in rng.permutation(len(pairs)).tolist():
            a, b = pairs[i]
            if len(state.members[a]) + len(state.members[b]) > max_pair_units:
                continue
            if _improve_pair(state, a, b, tolerance, rng, trees, min_gain):
                improved += 1
        done += improved
        if not improved:
            break
    return done


def _improve_pair(
    state: SearchState,
    a: int,
    b: int,
    tolerance: float,
    rng: np.random.Generator,
    trees: int,
    min_gain: float,
) -> bool:
    """Replace the pair by its most compact balanced re-split, if that beats it.

    Cuts up to four times the tolerance off are kept as candidates too: the
    best of them are applied and brought within the tolerance by one or two
    border moves between the two sides before they are judged.
    """
    pair = _Pair.of(state, a, b)
    if pair is None:
        return False
    cap = max(tolerance, abs(state.dev(a)), abs(state.dev(b)))
    now = state.pp(a) + state.pp(b)
    found: list[tuple[float, int, np.ndarray]] = []
    for _ in range(trees):
        for side in pair.balanced_cuts(rng, 4.0 * cap):
            score = pair.score(side)
            if score - now > min_gain:
                found.append((-score, len(found), side))
    found.sort(key=lambda x: (x[0], x[1]))
    before = state.snapshot()
    for _neg, _i, side in found[:_TRIED]:
        pair.apply(side)
        if _settle(state, a, b, cap) and state.pp(a) + state.pp(b) - now > min_gain:
            return True
        state.restore(before)
    return False


#: Candidate cuts of a pair applied and settled before the pair is given up.
_TRIED = 4


def _settle(state: SearchState, a: int, b: int, cap: float) -> bool:
    """Bring the pair within ``cap`` by border moves from the heavier side, roundest first."""
    for _ in range(3):
        if max(abs(state.dev(a)), abs(state.dev(b))) <= cap:
            return True
        s, d = (a, b) if state.dev(a) - state.dev(b) > 0 else (b, a)
        best: tuple[float, float, int] | None = None
        for u in state.border_units(s, d):
            if not state.movable[u] or not state.admits(u, d):
                continue
            w = state.w[u]
            worst = max(
                abs((state.load[s] - w - state.tgt[s]) / state.tgt[s]),
                abs((state.load[d] + w - state.tgt[d]) / state.tgt[d]),
            )
            key = (max(worst, cap), -state.pp_delta(u, s, d), u)
            better = worst < max(abs(state.dev(s)), abs(state.dev(d)))
            if better and (best is None or key < best) and state.can_leave(u):
                best = key
        if best is None:
            return False
        state.move(best[2], d)
    return max(abs(state.dev(a)), abs(state.dev(b))) <= cap


class _Pair:
    """Two merged territories: their units, inner edges and what a cut must keep."""

    def __init__(self, state: SearchState, a: int, b: int, region: np.ndarray) -> None:
        self.state, self.a, self.b, self.region = state, a, b, region
        #: trees on distance-scaled random weights (compact blobs) rather than uniform ones
        self.biased = True
        arr = state.arrays()
        inside = np.zeros(len(state.lab), dtype=bool)
        inside[region] = True
        local = np.cumsum(inside) - 1  # region is sorted: local order follows unit order
        keep = inside[arr.edge_u] & inside[arr.edge_v]
        self.rows = local[arr.edge_u[keep]]
        self.cols = local[arr.edge_v[keep]]
        self.row_list, self.col_list = self.rows.tolist(), self.cols.tolist()
        self.lens = arr.edge_len[keep]
        ux, uy = arr.x[region], arr.y[region]
        self.dist = np.hypot(ux[self.rows] - ux[self.cols], uy[self.rows] - uy[self.cols]) + 1e-9
        self.w, self.area, self.perim = arr.w[region], arr.area[region], arr.perim[region]
        self.w_list = self.w.tolist()
        self.total = float(self.w.sum())
        lab = np.asarray(state.lab, dtype=np.int64)[region]
        pinned = ~np.asarray(state.movable, dtype=bool)[region]
        self.pin_a, self.pin_b = pinned & (lab == a), pinned & (lab == b)
        ok = state.reach_mask()
        everywhere = np.ones(len(region), dtype=bool)
        self.ok_a = everywhere if ok is None else ok[a, region].astype(bool)
        self.ok_b = everywhere if ok is None else ok[b, region].astype(bool)
        #: no locked unit and no drive limit: every cut keeps the rules
        self.free = ok is None and not self.pin_a.any() and not self.pin_b.any()

    @classmethod
    def of(cls, state: SearchState, a: int, b: int) -> _Pair | None:
        region = np.array(sorted(state.members[a] | state.members[b]), dtype=np.int64)
        if len(region) < 3:
            return None
        return cls(state, a, b, region)

    def balanced_cuts(self, rng: np.random.Generator, cap: float) -> list[np.ndarray]:
        """Sides (masks of the units going to ``a``) of one random tree's balanced cuts."""
        scale = self.dist if self.biased else 1.0
        weights = scale * rng.random(len(self.dist))
        edges = np.argsort(weights, kind="stable")
        tree = spanning_tree_lists(len(self.region), self.row_list, self.col_list, edges.tolist())
        if tree is None:
            return []
        order, par = tree
        acc = list(self.w_list)
        for v in order[:0:-1]:
            acc[par[v]] += acc[v]
        total = self.total
        ta, tb = self.state.tgt[self.a], self.state.tgt[self.b]
        ca, cb = cap * ta, cap * tb
        out = []
        for v in order[1:]:
            s = acc[v]
            fit1 = abs(s - ta) <= ca and abs(total - s - tb) <= cb
            fit2 = abs(s - tb) <= cb and abs(total - s - ta) <= ca
            if not (fit1 or fit2):
                continue
            inside = np.asarray(subtree_list(order, par, v), dtype=bool)
            for to_a, fits in ((inside, fit1), (~inside, fit2)):
                if fits and self._keeps(to_a):
                    out.append(to_a)
        return out

    def _keeps(self, to_a: np.ndarray) -> bool:
        """Pinned units stay on their side; every unit may enter its side (drive limit)."""
        if self.free:
            return True
        if (self.pin_a & ~to_a).any() or (self.pin_b & to_a).any():
            return False
        return bool(self.ok_a[to_a].all() and self.ok_b[~to_a].all())

    def score(self, to_a: np.ndarray) -> float:
        """Summed Polsby-Popper of the two sides."""
        same = to_a[self.rows] == to_a[self.cols]
        inner_a = float(self.lens[same & to_a[self.rows]].sum())
        inner_b = float(self.lens[same & ~to_a[self.rows]].sum())
        pa = float(self.perim[to_a].sum()) - 2.0 * inner_a
        pb = float(self.perim[~to_a].sum()) - 2.0 * inner_b
        aa, ab = float(self.area[to_a].sum()), float(self.area[~to_a].sum())
        return (_FOUR_PI * aa / (pa * pa) if pa > 0 else 0.0) + (
            _FOUR_PI * ab / (pb * pb) if pb > 0 else 0.0
        )

    def apply(self, to_a: np.ndarray) -> None:
        state = self.state
        for u, first in zip(self.region.tolist(), to_a.tolist(), strict=True):
            dest = self.a if first else self.b
            if state.lab[u] != dest:
                state.move(u, dest)


def burst_pairs(
    state: SearchState,
    tolerance: float,
    *,
    rng: np.random.Generator,
    steps: int = 1500,
    burst: int = 10,
    trees: int = 6,
    patience: int | None = 15,
    chains: int = 2,
    seen: set[frozenset[int]] | None = None,
) -> float:
    """Raise mean Polsby-Popper by short bursts of pair re-splits within the tolerance.

    Each step merges a random touching pair and re-splits it by the roundest
    cut within the tolerance among ``trees`` random spanning trees, even when
    that is less round than the pair was: the burst may go down to climb
    elsewhere. Each burst of ``burst`` steps starts from the most compact
    plan seen so far (optimisation by short bursts, as in redistricting
    practice). A chain ends after ``steps`` steps or ``patience`` bursts in a
    row without a gain (``None``: never early); such chains reach a plateau
    soon and its height is largely luck, so ``chains`` independent chains
    run from the same plan, alternately on uniform and on distance-scaled
    trees, and the most compact plan of all is kept. Pinned units stay,
    closed territories are never paired, and a hard drive limit is kept.
    ``seen``, when given, receives every territory a re-split made (as its
    set of units). Returns the gain in mean compactness.
    """
    if state.drive is not None and state.drive.by_drive:
        return 0.0
    start = state.snapshot()
    start_pp = state.mean_pp()
    best, best_pp = start, start_pp
    for chain, stream in enumerate(rng.spawn(max(1, chains))):
        state.restore(start)
        found, found_pp = _burst_chain(state, tolerance, stream, steps=steps, burst=burst,
                                       trees=trees, patience=patience, biased=chain % 2 == 1,
                                       seen=seen)
        if found_pp > best_pp + 1e-12:
            best, best_pp = found, found_pp
    state.restore(best)
    return best_pp - start_pp


def _burst_chain(
    state: SearchState,
    tolerance: float,
    rng: np.random.Generator,
    *,
    steps: int,
    burst: int,
    trees: int,
    patience: int | None,
    biased: bool,
    seen: set[frozenset[int]] | None = None,
) -> tuple[list[int], float]:
    """One chain of short bursts from the current plan: its most compact plan and score.

    ``seen``, when given, receives both territories of every re-split pair.
    """
    best = state.snapshot()
    best_pp = state.mean_pp()
    idle = 0
    for _ in range(max(1, steps // burst)):
        state.restore(best)
        gained = False
        for _ in range(burst):
            pair = _burst_step(state, tolerance, rng, trees, biased)
            if pair is None:
                continue
            if seen is not None:
                seen.update(frozenset(state.members[t]) for t in pair)
            value = state.mean_pp()
            if value > best_pp + 1e-12:
                best, best_pp, gained = state.snapshot(), value, True
        idle = 0 if gained else idle + 1
        if patience is not None and idle >= patience:
            break
    return best, best_pp


def _burst_step(
    state: SearchState, tolerance: float, rng: np.random.Generator, trees: int, biased: bool
) -> tuple[int, int] | None:
    """Re-split a random touching pair by its roundest balanced cut: the pair, or ``None``."""
    pairs = state.territory_graph()
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    pair = _Pair.of(state, a, b)
    if pair is None:
        return None
    pair.biased = biased
    cap = max(tolerance, abs(state.dev(a)), abs(state.dev(b)))
    found = None
    top = -1.0
    for _ in range(trees):
        for side in pair.balanced_cuts(rng, cap):
            score = pair.score(side)
            if score > top:
                top, found = score, side
    if found is None:
        return None
    pair.apply(found)
    return a, b
