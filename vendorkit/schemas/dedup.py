"""The one "latest version wins" rule, shared by a batch's dedup and the merge of chunks.

Versions of one key are ordered by the endpoint's version column (its catalog ``cursor``:
``lastUpdated`` / ``updatedAt``), then by where they were served (page and position, or
chunk and position); the last one wins, and an undated version loses to a dated one.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["latest_versions"]


def latest_versions(frame: pl.DataFrame, key: Sequence[str], order: Sequence[str]) -> pl.DataFrame:
    """One row per ``key``: the row that sorts last by ``order`` (nulls first), in frame order.

    Args:
        frame: the rows (several may share a key).
        key: the key columns.
        order: the columns ranking versions of one key, most significant first (the version
            column, then the serving position as tie-breakers).

    Example:
        >>> frame = pl.DataFrame({"id": ["a", "b", "a", "a"], "v": [2, 1, None, 2],
        ...     "pos": [0, 1, 2, 3]})
        >>> latest_versions(frame, ["id"], ["v", "pos"]).rows()
        [('b', 1, 1), ('a', 2, 3)]
    """
    position = "__vk_position"
    return (
        frame.with_row_index(position)
        .sort(list(order), nulls_last=False)
        .unique(subset=list(key), keep="last")
        .sort(position)
        .drop(position)
    )
