"""Which cells repeat a value, in bounded memory (one integer per row for Arrow text).

pandas' ``duplicated`` on Arrow-backed text hashes the whole column and holds
several times its size while doing so (about 134 MB per million ids). Sorting
the values and comparing neighbours a block at a time finds the same cells
with about one integer per row; the schema check and the chunked readers both
use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["duplicated_cells"]

_BLOCK = 1 << 16  # sorted values compared at a time


def duplicated_cells(col: pd.Series) -> pd.Series:
    """Which cells hold a value that another cell holds too; missing cells never do.

    The same as ``col.duplicated(keep=False) & col.notna()``; for Arrow text
    the values are sorted and neighbours compared a block at a time, so the
    memory added is about one integer per row.
    """
    if not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"):
        return (col.duplicated(keep=False) & col.notna()).astype(bool)
    values = col.array.__arrow_array__()
    order = pc.sort_indices(values).to_numpy()  # missing values last
    same = np.zeros(len(order), dtype=bool)  # same[k]: the k-th sorted value equals the one before
    for k in range(1, len(order), _BLOCK):
        block = values.take(pa.array(order[k - 1 : k + _BLOCK]))
        equal = pc.equal(block.slice(1), block.slice(0, len(block) - 1))
        same[k : k + len(block) - 1] = pc.fill_null(equal, False).to_numpy()
    repeated = same.copy()
    repeated[:-1] |= same[1:]
    out = np.empty(len(order), dtype=bool)
    out[order] = repeated
    return pd.Series(out, index=col.index)
