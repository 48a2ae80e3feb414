"""Recognise the columns of an input file: CRM exports, GIS layers and hand-made sheets.

A column is recognised by its *normalised* name (lower case, letters and digits
only), so ``"Billing Code"``, ``"billing_code"`` and ``"BillingCode"`` are the
same. Each table kind has an ordered list of aliases per schema column; the
first alias found in the file wins. An explicit mapping always wins over
guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from planner.errors import Problem
from planner.geo.column_aliases import (
    ALIASES,
    CITY,
    FIRST_NAME,
    KINDS,
    LAST_NAME,
    SIGNATURES,
    STATE,
    Kind,
    normalise_name,
)

__all__ = [
    "ALIASES",
    "CITY",
    "FIRST_NAME",
    "KINDS",
    "LAST_NAME",
    "STATE",
    "ColumnMatch",
    "Kind",
    "guess_kind",
    "header_score",
    "match_columns",
    "normalise_name",
]


@dataclass(frozen=True)
class ColumnMatch:
    """The outcome of recognising a file's columns.

    Parameters
    ----------
    mapping
        Source column name to target column name, for every recognised column.
    ignored
        Source columns the caller asked to ignore (mapped to ``None``).
    problems
        Problems with an explicit mapping (unknown source or target columns).
    """

    mapping: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    def source_of(self, target: str) -> str | None:
        """Return the source column that was recognised as ``target``, if any."""
        for src, tgt in self.mapping.items():
            if tgt == target:
                return src
        return None


def _known_targets(kind: Kind) -> list[str]:
    return list(ALIASES[kind])


def match_columns(
    names: Sequence[str],
    kind: Kind,
    *,
    columns: Mapping[str, str | None] | None = None,
) -> ColumnMatch:
    """Recognise the columns of a file of ``kind``.

    Parameters
    ----------
    names
        The file's column names, in file order.
    kind
        What the file holds.
    columns
        Explicit mapping from a file column to a target column (or ``None`` to
        ignore a column that would otherwise be recognised). It wins over
        guessing. Source names are matched exactly first, then normalised.

    Returns
    -------
    ColumnMatch
        The mapping, and a problem for every explicit entry that names a
        column the file does not have or a target this kind does not know.
    """
    by_norm: dict[str, list[str]] = {}
    for n in names:
        by_norm.setdefault(normalise_name(n), []).append(n)
    mapping, ignored, problems, taken = _explicit(names, by_norm, kind, columns or {})
    _recognise(mapping, set(mapping) | set(ignored), taken, by_norm, kind)
    ordered = {n: mapping[n] for n in names if n in mapping}
    return ColumnMatch(ordered, tuple(ignored), tuple(problems))


def _explicit(
    names: Sequence[str],
    by_norm: Mapping[str, list[str]],
    kind: Kind,
    columns: Mapping[str, str | None],
) -> tuple[dict[str, str], list[str], list[Problem], set[str]]:
    """Apply the caller's mapping: columns mapped and ignored, its problems, targets taken."""
    targets = _known_targets(kind)
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    taken: set[str] = set()
    for src, tgt in columns.items():
        actual = src if src in names else next(iter(by_norm.get(normalise_name(src), [])), None)
        if actual is None:
            problems.append(
                Problem(
                    f"the column mapping names '{src}', which is not a column of the file "
                    f"(its columns: {', '.join(map(str, names))})",
                    column=src,
                    fix="correct the name in the column mapping",
                )
            )
        elif tgt is None:
            ignored.append(actual)
        elif tgt not in targets:
            problems.append(
                Problem(
                    f"the column mapping maps '{src}' to '{tgt}', which is not a column of {kind}",
                    column=src,
                    fix=f"map it to one of {', '.join(targets)}",
                )
            )
        elif tgt in taken:
            problems.append(
                Problem(
                    f"the column mapping maps more than one column to '{tgt}'",
                    column=src,
                    fix=f"map a single column to '{tgt}'",
                )
            )
        else:
            mapping[actual] = tgt
            taken.add(tgt)
    return mapping, ignored, problems, taken


def _recognise(
    mapping: dict[str, str],
    used: set[str],
    taken_targets: set[str],
    by_norm: Mapping[str, list[str]],
    kind: Kind,
) -> None:
    """Add to ``mapping`` each target not yet taken whose first alias names a free column."""
    for tgt, aliases in ALIASES[kind].items():
        if tgt in taken_targets:
            continue
        for alias in aliases:
            candidates = [n for n in by_norm.get(alias, []) if n not in used]
            if candidates:
                mapping[candidates[0]] = tgt
                used.add(candidates[0])
                taken_targets.add(tgt)
                break


def header_score(cells: Iterable[object], kinds: Iterable[Kind] = KINDS) -> int:
    """Count the cells of a row that look like known column names.

    Used to find the header row of a sheet with a title above the table.

    Parameters
    ----------
    cells
        The values of one row.
    kinds
        The table kinds whose aliases count.
    """
    known: set[str] = set()
    for k in kinds:
        for aliases in ALIASES[k].values():
            known.update(aliases)
    return sum(1 for c in cells if isinstance(c, str) and c.strip() and normalise_name(c) in known)


def guess_kind(names: Iterable[str], *, geometry: str | None = None) -> Kind:
    """Guess what a file holds from its column names and geometry type.

    Parameters
    ----------
    names
        The file's column names.
    geometry
        ``"Point"``, ``"Polygon"`` (polygons and multipolygons) or ``None``
        when the file has no geometry.

    Returns
    -------
    Kind
        Polygon files are territories when they carry hierarchy columns, else
        units; other files are reps when rep columns outnumber account
        columns, else accounts.
    """
    norm = {normalise_name(n) for n in names}
    score = {k: len(norm & sig) for k, sig in SIGNATURES.items()}
    if geometry == "Polygon":
        return "territories" if score["territories"] > score["units"] else "units"
    if score["territories"] > max(score["accounts"], score["reps"]):
        return "territories"
    return "reps" if score["reps"] > score["accounts"] else "accounts"
