"""What the sync engine needs from a normaliser: :class:`Normaliser` and its :class:`NormalisedBatch`.

:func:`vendorkit.schemas.normalise` is the real one; tests pass light fakes. This module
imports nothing heavy (no pandera), so the engine can name the types cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import polars as pl

__all__ = ["NormalisedBatch", "Normaliser"]


class NormalisedBatch(Protocol):
    """Typed tables, rejects and counts of some pages (:class:`vendorkit.schemas.Batch`)."""

    @property
    def tables(self) -> Mapping[str, pl.DataFrame]:
        """Typed frames by table name (keys unique within the batch)."""
        ...

    @property
    def rejects(self) -> pl.DataFrame:
        """One row per rejected record and failing field."""
        ...

    @property
    def counts(self) -> Any:
        """``loaded``, ``rejected``, ``deduplicated``, ``coerced``, ``unknown_status`` (a
        mapping or an object with those attributes)."""
        ...


class Normaliser(Protocol):
    """``normalise(endpoint, pages, sync_id=...)``: pages -> :class:`NormalisedBatch`.

    Example:
        >>> from vendorkit.schemas import normalise
        >>> f: Normaliser = normalise
    """

    def __call__(self, endpoint: str, data: Sequence[Any], /, *, sync_id: str) -> NormalisedBatch:
        """Normalise the pages ``data`` of ``endpoint``."""
        ...
