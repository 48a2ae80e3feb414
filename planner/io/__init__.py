"""Guards for reading untrusted files: size limits, decompression and content sniffing.

The readers themselves live in :mod:`planner.geo.io` (checks) and
:mod:`planner.geo.sources` (formats); this package holds what they share to
refuse a bad file early and clearly: :class:`~planner.io.limits.ReadLimits`
(upload, decompressed, row, column and cell sizes), bounded zip and gzip
reading, and recognising files that are not what their name says.
"""

from __future__ import annotations

from planner.io.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["DEFAULT_LIMITS", "ReadLimits"]
