"""What a fetch produces: :class:`Page`, :class:`FetchStats`, :class:`ProgressEvent`.

One :class:`Page` type serves the live client, the replay of archived pages and the test
fakes. :class:`PageSource` is what the sync consumes: anything with a ``source``, a request
counter and ``iter_pages``; :class:`vendorkit.http.client.VendorClient` is the real one.

This module imports polars only (no httpx), so the sync can use it cheaply.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

import polars as pl

__all__ = ["FetchResult", "FetchStats", "Page", "PageSource", "ProgressEvent"]


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched (or archived) page.

    Attributes:
        endpoint: ``inventory`` | ``orders`` | ``shipments``.
        number: the 1-based ``pageNumber``.
        body: the raw response bytes, for the archive (``b""`` for 204).
        records: parsed with ``Endpoint.wire_schema()``: every leaf a String.
        records_found: the envelope's ``recordsFound``, if sent.
        fetched_at: when the answer arrived (UTC).
        correlation_id: the ``IM-CorrelationID`` of the request that produced it.
        status_code: 200 or 204.
        server_date: the response's ``Date`` header (UTC), if sent.

    Example:
        >>> page = Page("inventory", 1, b"", pl.DataFrame(), None,
        ...             datetime(2026, 11, 1, tzinfo=UTC), "c1", 204, None)
        >>> page
        Page(endpoint='inventory', number=1, records=0, bytes=0, status_code=204, correlation_id='c1')
    """

    endpoint: str
    number: int
    body: bytes
    records: pl.DataFrame
    records_found: int | None
    fetched_at: datetime
    correlation_id: str
    status_code: int
    server_date: datetime | None

    def __repr__(self) -> str:
        return (
            f"Page(endpoint={self.endpoint!r}, number={self.number}, "
            f"records={self.records.height}, bytes={len(self.body)}, "
            f"status_code={self.status_code}, correlation_id={self.correlation_id!r})"
        )


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """What a progress callback receives (never any secret).

    Attributes:
        endpoint: the endpoint being fetched.
        kind: ``"page"`` (a page arrived), ``"wait"`` (pacing or retry wait), ``"done"``.
        pages_done: pages fetched so far.
        pages_total: pages expected, once known from ``recordsFound``.
        records: records fetched so far.
        bytes: body bytes fetched so far.
        waiting_s: for ``"wait"``: seconds waited (or about to be waited).
        reason: for ``"wait"``: why (``"rate limit pacing"``, ``"429"``, ``"HTTP 503"``, ...).
        source: ``"sandbox"`` or ``"api"``.
        rate_limit: the endpoint's ``X-RateLimit-Limit`` (calls per minute) once the server
            announced one, else ``None`` (progress bars compute their ETA from it).

    Example:
        >>> ProgressEvent("orders", "wait", 0, None, 0, 0, waiting_s=2.0, reason="HTTP 503").reason
        'HTTP 503'
    """

    endpoint: str
    kind: Literal["page", "wait", "done"]
    pages_done: int
    pages_total: int | None
    records: int
    bytes: int
    waiting_s: float = 0.0
    reason: str | None = None
    source: str = "api"
    rate_limit: int | None = None


@dataclass
class FetchStats:
    """Counters for one endpoint's fetch; updated live while pages arrive.

    Attributes:
        endpoint: the endpoint.
        source: ``"sandbox"`` or ``"api"``.
        pages: pages yielded.
        records: records yielded.
        bytes: body bytes yielded.
        records_found: the server's ``recordsFound`` (page 1), if sent.
        pages_total: pages expected from ``recordsFound``, if sent.
        requests: HTTP requests sent to the endpoint (retries included).
        retries: requests repeated after a transient failure.
        rate_limited: 429 answers received.
        token_refreshes: tokens fetched again after a 401.
        waited_s: seconds spent waiting for pacing, 429s and backoff (summed over threads).
        elapsed_s: wall-clock seconds from the first request to the last page.
        started_at: when the fetch started (UTC).

    Example:
        >>> stats = FetchStats(endpoint="orders", source="sandbox")
        >>> stats.add(pages=1, records=100)
        >>> stats.to_dict()["records"], stats.rows_per_s
        (100, 0.0)
    """

    endpoint: str
    source: str
    pages: int = 0
    records: int = 0
    bytes: int = 0
    records_found: int | None = None
    pages_total: int | None = None
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    token_refreshes: int = 0
    waited_s: float = 0.0
    elapsed_s: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # not a dataclass field, so dataclasses.asdict()/replace() work on stats
        self._lock = threading.Lock()

    def to_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (for sync reports and JSON)."""
        return {**asdict(self), "rows_per_s": self.rows_per_s}

    @property
    def rows_per_s(self) -> float:
        """Records per wall-clock second (0 before anything was timed)."""
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def add(self, **counts: float) -> None:
        """Add to counters atomically (worker threads share one ``FetchStats``)."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    # the name the client used before the split; kept for callers outside the package
    _add = add


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Every page of one endpoint, and how fetching went.

    Attributes:
        pages: the pages, in page order.
        stats: the counters of the fetch.

    Example:
        >>> FetchResult([], FetchStats("orders", "sandbox")).records().height
        0
    """

    pages: list[Page]
    stats: FetchStats

    def records(self) -> pl.DataFrame:
        """All records of all pages as one frame (wire schema)."""
        frames = [p.records for p in self.pages if p.records.width]
        if not frames:
            return pl.DataFrame()
        return pl.concat(frames, how="vertical", rechunk=False)


@runtime_checkable
class PageSource(Protocol):
    """What the sync consumes: pages of an endpoint, and how many requests they took.

    Attributes:
        source: ``"sandbox"``, ``"api"`` (or ``"archive"``), shown in every sync report.
        requests_made: HTTP requests sent so far (retries and 204s included).

    Example:
        >>> class NoPages:
        ...     source = "sandbox"
        ...     requests_made = 0
        ...     def iter_pages(self, endpoint, *, updated_since=None, stats=None):
        ...         return iter(())
        >>> isinstance(NoPages(), PageSource)
        True
    """

    @property
    def source(self) -> str:
        """Where the pages come from."""
        ...

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far."""
        ...

    def iter_pages(
        self,
        endpoint: str,
        *,
        updated_since: datetime | date | str | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[Page]:
        """Yield every page of ``endpoint`` in page order, counting into ``stats``."""
        ...
