"""Recombination repair: merge two neighbouring territories and re-split them along a tree.

Single boundary moves get stuck when a territory is starved or bloated in a
corner of the map: every unit that could join it is a cut vertex of its own
territory, so no move keeps both sides whole. Recombination (the step of
GerryChain's ReCom chain, used here as a descent) avoids that dead end: the
union of two touching territories is connected, every edge cut of a spanning
tree of the union splits it into two connected parts, and among the cuts of
several random spanning trees the one with the most even pair of deviations
is applied when it beats the current pair. A deficit then spreads from
territory to territory like heat, until every territory is near its target
or no split of any pair improves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from planner.balance.search import SearchState
from planner.balance.trees import (
    random_spanning_tree,
    random_tree_lists,
    subtree_list,
    subtree_mask,
)
from planner.progress import Stop, never_stop

__all__ = ["Split", "best_split", "recombine", "redraw"]

logger = logging.getLogger(__name__)

#: Regions with more edges than this draw their trees with SciPy.


@dataclass(frozen=True)
class Split:
    """A split of two merged territories: which units go to the first one, and the result.

    Parameters
    ----------
    first
        Units (state indices) that go to the first territory; the rest of
        the union goes to the second.
    key
        The larger, then the smaller absolute deviation of the pair after the
        split (smaller is better).
    """

    first: frozenset[int]
    key: tuple[float, float]


def recombine(
    state: SearchState,
    goal: float,
    *,
    rng: np.random.Generator,
    trees: int = 16,
    max_rounds: int | None = None,
    stop: Stop | None = None,
) -> int:
    """Re-split pairs of touching territories until every one is within ``goal`` or none improves.

    Each round takes the open territories from the worst deviation down and,
    for the first one that can be improved, re-splits it with one of its
    neighbours (the one deviating most the other way first). A re-split is
    kept only if the pair's larger deviation falls (or stays and the smaller
    falls), so the sorted list of deviations falls at every step and the
    repair ends.

    Parameters
    ----------
    state
        Contiguous plan to repair in place (stays contiguous).
    goal
        Relative deviation that counts as balanced.
    rng
        Source of the random spanning trees.
    trees
        Spanning trees drawn per pair tried.
    max_rounds
        Most re-splits applied (default: 20 per territory).
    stop
        Asked between rounds whether to stop early.

    Returns
    -------
    int
        Re-splits applied.
    """
    should_stop = stop or never_stop
    limit = max_rounds if max_rounds is not None else 20 * state.k
    memo = _Memo(version=[0] * state.k, failed={})
    done = shakes = 0
    while done < limit and state.max_abs_dev() > goal and not should_stop():
        if _one_round(state, goal, rng, trees, memo):
            done += 1
        elif shakes < limit and _shake(state, goal, rng, trees, memo):
            shakes += 1
        else:
            break
    logger.debug("recombination: %d re-splits, %d shakes, max deviation %.4f",
                 done, shakes, state.max_abs_dev())
    return done


@dataclass
class _Memo:
    """Per territory a version (bumped when it changes); pairs that failed, with versions."""

    version: list[int]
    failed: dict[tuple[int, int], tuple[int, int]]

    def tried(self, a: int, b: int) -> bool:
        return self.failed.get((a, b)) == (self.version[a], self.version[b])

    def fail(self, a: int, b: int) -> None:
        self.failed[(a, b)] = (self.version[a], self.version[b])

    def changed(self, a: int, b: int) -> None:
        self.version[a] += 1
        self.version[b] += 1


def _one_round(
    state: SearchState, goal: float, rng: np.random.Generator, trees: int, memo: _Memo
) -> bool:
    """Apply the first improving re-split, worst territory first; ``False`` if there is none."""
    order = sorted((t for t in range(state.k) if state.open[t]),
                   key=lambda t: (-abs(state.dev(t)), t))
    for t in order:
        if abs(state.dev(t)) <= goal:
            return False
        for n in _partners(state, t):
            if memo.tried(t, n):
                continue
            split = best_split(state, t, n, rng=rng, trees=trees)
            if split is not None and split.key < _pair_key(state, t, n):
                _apply(state, t, n, split)
                memo.changed(t, n)
                return True
            memo.fail(t, n)
    return False


def _shake(
    state: SearchState, goal: float, rng: np.random.Generator, trees: int, memo: _Memo
) -> bool:
    """Re-draw the border of two territories next to the worst one, keeping both within bounds.

    When no pair improves, the worst territory's neighbourhood is stuck in
    its shapes; a random re-split of a neighbour with one of its own
    neighbours (neither left further off than ``goal`` or than the pair was)
    changes the shapes around it, so the next round may find a better pair.
    """
    open_t = [t for t in range(state.k) if state.open[t]]
    t = max(open_t, key=lambda x: (abs(state.dev(x)), -x))
    near = _partners(state, t)
    if not near:
        return False
    n = near[int(rng.integers(len(near)))]
    others = [m for m in _partners(state, n) if m != t]
    if not others:
        return False
    m = others[int(rng.integers(len(others)))]
    cap = max(goal, _pair_key(state, n, m)[0])
    for _ in range(trees):
        split = best_split(state, n, m, rng=rng, trees=1)
        if split is not None and split.key[0] <= cap and split.first != frozenset(state.members[n]):
            _apply(state, n, m, split)
            memo.changed(n, m)
            return True
    return False


def _partners(state: SearchState, t: int) -> list[int]:
    """Open territories touching ``t``, those deviating most the other way first."""
    lab = state.lab
    touching = {lab[v] for u in state.members[t] for v in state.nb[u]} - {t}
    sign = 1.0 if state.dev(t) < 0 else -1.0
    return sorted((n for n in touching if state.open[n]), key=lambda n: (-sign * state.dev(n), n))


def _pair_key(state: SearchState, a: int, b: int) -> tuple[float, float]:
    da, db = abs(state.dev(a)), abs(state.dev(b))
    return (max(da, db) - 1e-12, min(da, db) - 1e-12)


def best_split(
    state: SearchState, a: int, b: int, *, rng: np.random.Generator, trees: int = 16
) -> Split | None:
    """Return the most even split of territories ``a`` and ``b`` over random spanning trees.

    Pinned units stay on their territory's side; ``None`` when no tree has
    such a cut.
    """
    region = np.array(sorted(state.members[a] | state.members[b]), dtype=np.int64)
    if len(region) < 2:
        return None
    rows, cols = _region_edges_of(state, region)
    if len(rows) == 0:
        return None
    arr = state.arrays()
    w = arr.w[region]
    lab = np.asarray(state.lab, dtype=np.int64)[region]
    pinned = ~np.asarray(state.movable, dtype=bool)[region]
    pin_a = (pinned & (lab == a)).astype(float)
    pin_b = (pinned & (lab == b)).astype(float)
    best: Split | None = None
    edges = (rows.tolist(), cols.tolist())
    for _ in range(trees):
        found = _best_cut_of_tree(state, a, b, region, edges, w, pin_a, pin_b, rng)
        if found is not None and not _keeps_reach(state, region.tolist(), found.first, a, b):
            continue
        if found is not None and (best is None or found.key < best.key):
            best = found
    return best


def _region_edges_of(state: SearchState, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges inside ``region`` (sorted units) in local indices, by first then second unit."""
    arr = state.arrays()
    inside = np.zeros(len(state.lab), dtype=bool)
    inside[region] = True
    local = np.cumsum(inside) - 1
    keep = inside[arr.nb_u] & inside[arr.nb_v]
    return local[arr.nb_u[keep]], local[arr.nb_v[keep]]


def _best_cut_of_tree(
    state: SearchState,
    a: int,
    b: int,
    region: np.ndarray,
    edges: tuple[list[int], list[int]],
    w: np.ndarray,
    pin_a: np.ndarray,
    pin_b: np.ndarray,
    rng: np.random.Generator,
) -> Split | None:
    """Draw one random spanning tree of the region and return its most even edge cut."""
    tree = random_tree_lists(len(region), edges[0], edges[1], rng)
    if tree is None:  # the union is not connected: nothing safe to do
        return None
    order, par = tree
    lw, la, lb = w.tolist(), pin_a.tolist(), pin_b.tolist()
    for v in order[:0:-1]:
        p = par[v]
        lw[p] += lw[v]
        la[p] += la[v]
        lb[p] += lb[v]
    sub_w, sub_a, sub_b = np.asarray(lw), np.asarray(la), np.asarray(lb)
    total = float(w.sum())
    ta, tb = state.tgt[a], state.tgt[b]
    v_ids = order[1:]
    s = sub_w[v_ids]
    # subtree -> a (rest -> b), or subtree -> b (rest -> a)
    da1, db1 = (s - ta) / ta, (total - s - tb) / tb
    da2, db2 = (total - s - ta) / ta, (s - tb) / tb
    ok1 = (sub_b[v_ids] == 0) & (sub_a[v_ids] == pin_a.sum())
    ok2 = (sub_a[v_ids] == 0) & (sub_b[v_ids] == pin_b.sum())
    hi1 = np.where(ok1, np.maximum(np.abs(da1), np.abs(db1)), np.inf)
    hi2 = np.where(ok2, np.maximum(np.abs(da2), np.abs(db2)), np.inf)
    lo1 = np.minimum(np.abs(da1), np.abs(db1))
    lo2 = np.minimum(np.abs(da2), np.abs(db2))
    i1 = int(np.lexsort((lo1, hi1))[0])
    i2 = int(np.lexsort((lo2, hi2))[0])
    key1 = (float(hi1[i1]), float(lo1[i1]))
    key2 = (float(hi2[i2]), float(lo2[i2]))
    if not np.isfinite(min(key1[0], key2[0])):
        return None
    subtree_to_a = key1 <= key2
    v = v_ids[i1 if subtree_to_a else i2]
    inside = subtree_list(order, par, v)
    members = frozenset(int(region[i]) for i, yes in enumerate(inside) if yes)
    rest = frozenset(int(u) for u in region.tolist()) - members
    return Split(members if subtree_to_a else rest, key1 if subtree_to_a else key2)


def _keeps_reach(state: SearchState, region: list[int], first: frozenset[int], a: int,
                 b: int) -> bool:
    """Whether every unit that changes side may enter its new territory (drive limit)."""
    if state.drive is None:
        return True
    for u in region:
        dest = a if u in first else b
        if state.lab[u] != dest and not state.reachable(u, dest):
            return False
    return True


def _apply(state: SearchState, a: int, b: int, split: Split) -> None:
    region = state.members[a] | state.members[b]
    for u in sorted(region):
        dest = a if u in split.first else b
        if state.lab[u] != dest:
            state.move(u, dest)


def redraw(
    state: SearchState,
    goal: float,
    *,
    rng: np.random.Generator,
    tries: int = 60,
    max_rounds: int | None = None,
    stop: Stop | None = None,
) -> int:
    """Redraw the worst territory together with all its neighbours by recursive tree cuts.

    Where pairs cannot help (the pair's total workload is off), the whole
    neighbourhood is merged and cut again into as many territories along
    random spanning trees: each cut splits off the share of the targets of
    one half of the territories, until each part is one territory (the
    recursive tree partition used to seed redistricting ensembles). A
    redraw is kept only if the neighbourhood's sorted deviations fall.

    Returns
    -------
    int
        Redraws applied.
    """
    should_stop = stop or never_stop
    limit = max_rounds if max_rounds is not None else 4 * state.k
    done = 0
    blocked: set[tuple[int, ...]] = set()
    while done < limit and state.max_abs_dev() > goal and not should_stop():
        order = sorted((t for t in range(state.k) if state.open[t]),
                       key=lambda t: (-abs(state.dev(t)), t))
        applied = False
        for t in order[: max(3, state.k // 5)]:
            if abs(state.dev(t)) <= goal:
                break
            group = tuple(sorted({t, *_partners(state, t)}))
            if group in blocked or len(group) < 2:
                continue
            if _redraw_group(state, list(group), goal, rng, tries):
                applied = True
                blocked.clear()
                break
            blocked.add(group)
        if not applied:
            break
        done += 1
    return done


def _redraw_group(
    state: SearchState, group: list[int], goal: float, rng: np.random.Generator, tries: int
) -> bool:
    region = np.array(sorted(set().union(*(state.members[t] for t in group))), dtype=np.int64)
    if not all(state.movable[u] for u in region.tolist()):
        return False
    rows, cols = _region_edges_of(state, region)
    w = state.arrays().w[region]
    targets = np.array([state.tgt[t] for t in group])
    slack = goal * 0.5 * float(targets.min())
    parts = _tree_partition(np.arange(len(region)), rows, cols, w, targets, slack, rng, tries)
    if parts is None:
        return False
    new = sorted((abs((w[p].sum() - tg) / tg) for p, tg in zip(parts, targets, strict=True)),
                 reverse=True)
    old = sorted((abs(state.dev(t)) for t in group), reverse=True)
    if [round(x, 12) for x in new] >= [round(x, 12) for x in old]:
        return False
    if not all(state.reachable(int(region[i]), t) for part, t in zip(parts, group, strict=True)
               for i in part.tolist() if state.lab[int(region[i])] != t):
        return False
    for part, t in zip(parts, group, strict=True):
        for i in part.tolist():
            u = int(region[i])
            if state.lab[u] != t:
                state.move(u, t)
    return True


def _tree_partition(
    nodes: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    w: np.ndarray,
    targets: np.ndarray,
    slack: float,
    rng: np.random.Generator,
    tries: int,
) -> list[np.ndarray] | None:
    """Cut ``nodes`` (a connected set) into ``len(targets)`` connected parts near the targets."""
    if len(targets) == 1:
        return [nodes]
    if len(nodes) < len(targets):
        return None
    half = len(targets) // 2
    want = float(targets[:half].sum())
    inside = np.zeros(len(w), dtype=bool)
    inside[nodes] = True  # nodes are sorted: local order follows node order
    local = np.cumsum(inside) - 1
    keep = inside[rows] & inside[cols]
    r, c = local[rows[keep]], local[cols[keep]]
    ww = w[nodes]
    best: tuple[float, np.ndarray] | None = None
    for _ in range(tries):
        tree = random_spanning_tree(len(nodes), r, c, rng)
        if tree is None:
            return None
        order, parent = tree
        acc, par = ww.tolist(), parent.tolist()
        for v in order[:0:-1].tolist():
            acc[par[v]] += acc[v]
        sub = np.asarray(acc)
        gap = np.abs(sub[order[1:]] - want)
        i = int(np.argmin(gap))
        if best is None or gap[i] < best[0]:
            inside = np.flatnonzero(subtree_mask(order, parent, int(order[1:][i])))
            best = (float(gap[i]), inside)
        if best[0] <= slack:
            break
    assert best is not None
    inside = best[1]
    mask = np.zeros(len(nodes), dtype=bool)
    mask[inside] = True
    first = _tree_partition(nodes[mask], rows, cols, w, targets[:half], slack, rng, tries)
    second = _tree_partition(nodes[~mask], rows, cols, w, targets[half:], slack, rng, tries)
    if first is None or second is None:
        return None
    return first + second
