"""Reading untrusted input files: formats, limits, and the checks of every row.

:mod:`planner.geo.io` is the way in (``validate_file`` and the ``read_*``
functions) and :mod:`planner.geo.sources` opens a file and dispatches on its
format; this package holds the pieces, one concern per module:

- ``limits``: :class:`ReadLimits` (upload, unpacked, row, column and cell
  sizes), zip and gzip read chunk by chunk within them, non-text files named;
- ``table``: the raw table, numbered as the user sees it; ``delimited``,
  ``excel`` and ``gis``: the readers of each format;
- ``text`` and ``geometry``: encodings without a mark, invisible characters,
  cut-off rows, NaN or off-the-globe coordinates, projected metres;
- ``values``, ``collect``, ``location``, ``records``, ``areas``, ``report``:
  the checks of accounts, reps, units and territories, and their report.
"""

from __future__ import annotations

from planner.io.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["DEFAULT_LIMITS", "ReadLimits"]
