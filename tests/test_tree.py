"""The one territory tree: links, walks, paths and loops, with property tests."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.tree import PATH_SEPARATOR, TerritoryTree


def frame(rows: list[tuple[str, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[s.TERRITORY_ID, s.PARENT_ID, s.NAME])


def test_links_walks_and_paths() -> None:
    """Region > two districts > territories: every question has one answer."""
    tree = TerritoryTree.of(
        frame(
            [
                ("R", None, "South"),
                ("D1", "R", "Coast"),
                ("D2", "R", "Hills"),
                ("T1", "D1", "Beach"),
                ("T2", "D1", "Port"),
                ("T3", "D2", "Peak"),
            ]
        )
    )
    assert tree.roots() == ["R"]
    assert tree.children("R") == ["D1", "D2"]
    assert tree.leaves() == ["T1", "T2", "T3"]
    assert tree.ancestors("T2") == ["D1", "R"]
    assert tree.descendants("R") == ["D1", "T1", "T2", "D2", "T3"]
    assert tree.descendants(["D1"], include_self=True) == ["D1", "T1", "T2"]
    assert tree.depth("T3") == 2 and tree.levels() == 3
    assert tree.path_text("T2") == PATH_SEPARATOR.join(["South", "Coast", "Port"])
    assert tree.path_text("T2", with_ids=True).endswith("Port (T2)")
    assert tree.cycles() == []
    assert tree.topological()[0] == "R"


def test_unknown_parents_are_roots_and_loops_are_named() -> None:
    """A parent that is not a territory makes a root; a loop is reported, never walked forever."""
    tree = TerritoryTree.of(
        frame([("A", "B", "a"), ("B", "A", "b"), ("C", "ghost", "c"), ("D", "D", "d")])
    )
    assert tree.roots() == ["C"]
    assert sorted(map(sorted, tree.cycles())) == [["A", "B"], ["D"]]
    assert tree.ancestors("A") == ["B"]
    assert set(tree.topological()) == {"A", "B", "C", "D"}


parent_maps = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.lists(
        st.one_of(st.none(), st.integers(min_value=0, max_value=n + 2)), min_size=n, max_size=n
    )
)


@settings(max_examples=200, deadline=None)
@given(parent_maps)
def test_every_walk_ends_and_agrees(parents: list[int | None]) -> None:
    """For any parent links (loops and unknown ids included): walks end, each id once, and the
    tree's answers agree with each other."""
    ids = [f"t{i}" for i in range(len(parents))]
    tree = TerritoryTree(
        {t: (None if p is None else f"t{p}") for t, p in zip(ids, parents, strict=True)}
    )
    in_loops = {t for loop in tree.cycles() for t in loop}
    reachable = set(tree.roots()) | set(tree.descendants(tree.roots()))
    for tid in ids:
        up = tree.ancestors(tid)
        assert len(up) == len(set(up)) and tid not in up
    assert sorted(tree.topological()) == sorted(ids)
    leaves = set(tree.leaves())
    for tid in ids:
        if tree.parent_of(tid) not in (None, tid):
            assert tree.parent_of(tid) not in leaves
        if tid in reachable:
            assert tree.path(tid)[0] in tree.roots()
            parent = tree.parent_of(tid)
            if parent is not None:
                assert tree.depth(tid) == tree.depth(parent) + 1
    assert reachable.isdisjoint(in_loops)
