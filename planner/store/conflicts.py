"""The version check of a commit: refuse a change whose rows others changed since its base."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.errors import ConflictError, format_ids
from planner.store.changes import Change
from planner.store.diff import RowChange
from planner.store.layout import Layout
from planner.store.messages import row_label

__all__ = ["check_conflicts"]


def check_conflicts(
    conn: Connection,
    layout: Layout,
    name: str,
    versions: tuple[int, int, int],
    rows: Sequence[RowChange],
) -> None:
    """Raise :class:`ConflictError` if a change after ``since`` wrote any of ``rows``' rows.

    ``versions`` is ``(since, head, base)``: the version conflicts are
    looked for after, the newest version, and the version the change was
    made on (for the message). Runs inside the commit's write transaction.
    """
    since, head, base = versions
    mine: dict[str, set[str]] = {}
    for r in rows:
        if s.TABLES[r.table].key:  # append-only tables never collide
            mine.setdefault(r.table, set()).add(r.key)
    if not mine:
        return
    h = layout.history
    stmt = sa.select(h.c.version, h.c.tbl, h.c.key).where(
        h.c.version > since, h.c.tbl.in_(list(mine))
    )
    clashes = [(int(v), t, k) for v, t, k in conn.execute(stmt) if k in mine.get(t, ())]
    if not clashes:
        return
    found_versions = sorted({v for v, _, _ in clashes})
    c = layout.changes
    found = conn.execute(sa.select(c).where(c.c.version.in_(found_versions)).order_by(c.c.version))
    changes = [Change.from_row(dict(r._mapping)).to_dict() for r in found]
    who = "; ".join(
        f"{ch['user'] or 'somebody'} ({ch['action']}, "
        f"{str(ch['timestamp'])[:16].replace('T', ' ')} UTC, version {ch['version']})"
        for ch in changes
    )
    keys = sorted({(t, k) for _, t, k in clashes})
    named = format_ids(row_label(t, k) for t, k in keys)
    raise ConflictError(
        f"{who} changed the same things after you opened version {base} of "
        f"'{name}': {named}. Nothing of your change was saved: reload and "
        "reapply it, or save it as a new scenario.",
        base_version=base,
        head_version=head,
        changes=changes,
        rows=keys,
    )
