"""Spanning trees of a few territories' units, for cutting them in two (ReCom steps).

Merge-and-split repairs, the compactness bursts and the audit's ensemble all
draw a spanning tree over the units of two touching territories and cut one
of its edges: the subtree below the edge goes to one territory, the rest to
the other. The tree comes back as breadth-first order from node 0 with each
node's parent (the root's parent is ``-9999``, as SciPy's predecessors say).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

__all__ = [
    "NO_PARENT",
    "random_spanning_tree",
    "random_tree_lists",
    "spanning_tree",
    "spanning_tree_lists",
    "subtree_list",
    "subtree_mask",
]

#: The root's parent, as SciPy's ``breadth_first_order`` marks it.
NO_PARENT = -9999

#: From this many edges SciPy's minimum spanning tree beats Kruskal in plain Python.
_SCIPY_FROM_EDGES = 400

Tree = tuple[np.ndarray, np.ndarray]


def spanning_tree(
    m: int, rows: np.ndarray, cols: np.ndarray, edge_order: np.ndarray
) -> Tree | None:
    """The spanning tree Kruskal's algorithm builds taking the edges in ``edge_order``.

    ``rows[e], cols[e]`` are edge ``e``'s nodes (``0 .. m-1``). Returns the
    breadth-first order from node 0 and the parents, or ``None`` when the
    graph is not connected.
    """
    tree = spanning_tree_lists(m, rows.tolist(), cols.tolist(), edge_order.tolist())
    if tree is None:
        return None
    return np.asarray(tree[0], dtype=np.int64), np.asarray(tree[1], dtype=np.int64)


def spanning_tree_lists(
    m: int, r_list: list[int], c_list: list[int], edge_order: list[int]
) -> tuple[list[int], list[int]] | None:
    """:func:`spanning_tree` on plain lists, returning lists (for the hottest loops)."""
    root = list(range(m))
    adj: list[list[int]] = [[] for _ in range(m)]
    joined = 0
    for e in edge_order:
        i, j = r_list[e], c_list[e]
        ri = i  # find with path halving, inlined: this loop is the hot spot of the bursts
        while root[ri] != ri:
            root[ri] = root[root[ri]]
            ri = root[ri]
        rj = j
        while root[rj] != rj:
            root[rj] = root[root[rj]]
            rj = root[rj]
        if ri != rj:
            root[ri] = rj
            adj[i].append(j)
            adj[j].append(i)
            joined += 1
            if joined == m - 1:
                break
    if joined != m - 1:
        return None
    return _breadth_first(adj)


def _breadth_first(adj: list[list[int]]) -> tuple[list[int], list[int]]:
    parent = [NO_PARENT] * len(adj)
    order = [0]
    seen = [False] * len(adj)
    seen[0] = True
    for x in order:
        for y in adj[x]:
            if not seen[y]:
                seen[y] = True
                parent[y] = x
                order.append(y)
    return order, parent


def random_spanning_tree(
    m: int, rows: np.ndarray, cols: np.ndarray, rng: np.random.Generator
) -> Tree | None:
    """A random spanning tree (the minimum one on random weights), or ``None`` if disconnected.

    Kruskal's algorithm on a random edge order for small regions (plain
    Python is faster than building sparse matrices), SciPy's minimum
    spanning tree on random weights for large ones.
    """
    if len(rows) > _SCIPY_FROM_EDGES:
        graph = sparse.csr_matrix((rng.random(len(rows)) + 1e-9, (rows, cols)), shape=(m, m))
        order, parent = breadth_first_order(
            minimum_spanning_tree(graph), 0, directed=False, return_predecessors=True
        )
        return (order, parent) if len(order) == m else None
    return spanning_tree(m, rows, cols, rng.permutation(len(rows)))


def random_tree_lists(
    m: int, rows: list[int], cols: list[int], rng: np.random.Generator
) -> tuple[list[int], list[int]] | None:
    """:func:`random_spanning_tree` on plain lists, returning lists (same draws, same tree)."""
    if len(rows) > _SCIPY_FROM_EDGES:
        tree = random_spanning_tree(m, np.asarray(rows), np.asarray(cols), rng)
        return None if tree is None else (tree[0].tolist(), tree[1].tolist())
    return spanning_tree_lists(m, rows, cols, rng.permutation(len(rows)).tolist())


def subtree_mask(order: np.ndarray, parent: np.ndarray, top: int) -> np.ndarray:
    """Mask of the tree's nodes below ``top`` (``top`` included)."""
    return np.asarray(subtree_list(order.tolist(), parent.tolist(), top), dtype=bool)


def subtree_list(order: list[int], par: list[int], top: int) -> list[bool]:
    """:func:`subtree_mask` on plain lists."""
    inside = [False] * len(order)
    inside[top] = True
    for v in order:
        p = par[v]
        if v != top and p >= 0 and inside[p]:
            inside[v] = True
    return inside
