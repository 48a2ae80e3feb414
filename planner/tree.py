"""The territory tree: parents, children, ancestors, depth, leaves, paths and cycles.

One type answers every question about a territory hierarchy, so the rules
(what a missing parent means, how a loop is cut, how a path is written)
live in one place::

    tree = TerritoryTree.of(territories)      # a territories frame
    tree.children("R"), tree.ancestors("T1"), tree.depth("T1"), tree.leaves()
    tree.path_text("T1")                      # "Region › District › T1"

A parent id that is not a territory counts as no parent (the territory is a
root); every walk stops at a loop instead of running forever, and
:meth:`TerritoryTree.cycles` names the territories caught in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids

__all__ = ["PATH_SEPARATOR", "TerritoryTree"]

#: How a territory's path is written for people.
PATH_SEPARATOR = " › "


def _text(value: object) -> str | None:
    """An id as written (not stripped: " " is an odd but valid id); missing or "" is None."""
    if s.is_missing(value):
        return None
    text = str(value)
    return text or None


@dataclass(frozen=True)
class TerritoryTree:
    """The parent links of a set of territories, with every walk safe against loops.

    Build it with :meth:`of` from a territories frame, or directly from a
    mapping of territory id to parent id.
    """

    parent: Mapping[str, str | None]
    names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, territories: pd.DataFrame) -> TerritoryTree:
        """Return the tree of a territories frame (``territory_id``, ``parent_id``, ``name``)."""
        ids = [str(v) for v in territories[s.TERRITORY_ID]]
        if s.PARENT_ID in territories.columns:
            parents = [_text(v) for v in territories[s.PARENT_ID]]
        else:
            parents = [None] * len(ids)
        names: dict[str, str] = {}
        if s.NAME in territories.columns:
            for tid, name in zip(ids, territories[s.NAME], strict=True):
                text = _text(name)
                if text is not None:
                    names[tid] = text
        return cls(dict(zip(ids, parents, strict=True)), names)

    # -- the links ------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        """Every territory id, in input order."""
        return list(self.parent)

    def parent_of(self, tid: str) -> str | None:
        """The territory's parent, or ``None`` for a root (or an unknown parent).

        A territory that names itself as parent is caught in a loop, not a root.
        """
        up = self.parent.get(tid)
        return up if up is not None and up in self.parent else None

    def _children_map(self) -> dict[str, list[str]]:
        cached = self.__dict__.get("_children")
        if cached is None:
            cached = {t: [] for t in self.parent}
            for tid in self.parent:
                up = self.parent_of(tid)
                if up is not None and up != tid:
                    cached[up].append(tid)
            object.__setattr__(self, "_children", cached)
        return cached

    def children(self, tid: str) -> list[str]:
        """The territories directly below ``tid``, in input order."""
        return list(self._children_map().get(tid, []))

    def roots(self) -> list[str]:
        """The territories with no parent."""
        return [t for t in self.parent if self.parent_of(t) is None]

    def leaves(self) -> list[str]:
        """The territories with no children (the ones accounts belong to)."""
        kids = self._children_map()
        return [t for t in self.parent if not kids[t]]

    def is_leaf(self, tid: str) -> bool:
        """Whether ``tid`` has no children."""
        return not self._children_map().get(tid)

    # -- walks ----------------------------------------------------------------
    def ancestors(self, tid: str) -> list[str]:
        """The territories above ``tid``, nearest first (stops at a loop)."""
        out: list[str] = []
        seen = {tid}
        current = self.parent_of(tid)
        while current is not None and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.parent_of(current)
        return out

    def descendants(self, roots: str | Iterable[str], *, include_self: bool = False) -> list[str]:
        """Every territory below ``roots`` (depth first, each once)."""
        start = [roots] if isinstance(roots, str) else list(roots)
        kids = self._children_map()
        seen: set[str] = set()
        out: list[str] = []
        stack = [r for r in reversed(start) if r in kids]
        if include_self:
            for r in start:
                if r in kids and r not in seen:
                    seen.add(r)
                    out.append(r)
        stack = [c for r in stack for c in reversed(kids[r])]
        while stack:
            tid = stack.pop()
            if tid in seen:
                continue
            seen.add(tid)
            out.append(tid)
            stack.extend(reversed(kids[tid]))
        return out

    def depth(self, tid: str) -> int:
        """How many territories are above ``tid`` (0 for a root)."""
        return len(self.ancestors(tid))

    def depths(self) -> dict[str, int]:
        """The depth of every territory."""
        return {t: self.depth(t) for t in self.parent}

    def levels(self) -> int:
        """How many levels the tree has (0 when empty)."""
        return max(self.depths().values(), default=-1) + 1

    def path(self, tid: str) -> list[str]:
        """The ids from the root down to ``tid``."""
        return [*reversed(self.ancestors(tid)), tid]

    def path_text(
        self,
        tid: str,
        *,
        with_ids: bool = False,
        labels: Mapping[str, str] | None = None,
        sep: str = PATH_SEPARATOR,
    ) -> str:
        """The path written for people: names (or ``labels``) joined by ``sep``."""
        names = self.names if labels is None else labels

        def label(t: str) -> str:
            name = names.get(t, t)
            return f"{name} ({t})" if with_ids and name != t else name

        return sep.join(label(t) for t in self.path(tid))

    def ancestor_pairs(self) -> pd.DataFrame:
        """A frame of ``(territory_id, ancestor_id)`` pairs, each territory with itself too."""
        rows_t: list[str] = []
        rows_a: list[str] = []
        for tid in self.parent:
            for anc in [tid, *self.ancestors(tid)]:
                rows_t.append(tid)
                rows_a.append(anc)
        return pd.DataFrame({s.TERRITORY_ID: rows_t, "ancestor_id": rows_a})

    def ordered(self) -> list[str]:
        """Every id with parents before children, refusing a hierarchy with a loop.

        Raises
        ------
        InputError
            Naming the territories caught in a loop.
        """
        loops = self.cycles()
        if loops:
            caught = sorted({t for loop in loops for t in loop})
            raise InputError(
                "the territory hierarchy has a cycle",
                [
                    Problem(
                        f"territories {format_ids(caught)} are their own ancestors",
                        column=s.PARENT_ID,
                        fix="give each territory a parent higher up the tree",
                    )
                ],
            )
        return self.topological()

    def cycles(self) -> list[list[str]]:
        """Every loop of parent links, each listed once from its first territory."""
        loops: list[list[str]] = []
        done: set[str] = set()
        for start in self.parent:
            trail: list[str] = []
            where: dict[str, int] = {}
            current: str | None = start
            while current is not None and current not in done and current not in where:
                where[current] = len(trail)
                trail.append(current)
                up = self.parent.get(current)
                current = up if up in self.parent else None
            if current is not None and current in where:
                loops.append(trail[where[current] :])
            done.update(trail)
        return loops

    def topological(self) -> list[str]:
        """Every id with parents before children (roots first, input order kept)."""
        out: list[str] = []
        seen: set[str] = set()
        for root in self.roots():
            for tid in [root, *self.descendants(root)]:
                if tid not in seen:
                    seen.add(tid)
                    out.append(tid)
        out.extend(t for t in self.parent if t not in seen)  # territories caught in a loop
        return out
