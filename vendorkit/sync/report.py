"""What a sync (or replay) did, per endpoint: :class:`EndpointSync` rows in a :class:`SyncReport`."""

from __future__ import annotations

import dataclasses
import html
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from vendorkit.errors import StoreError, SyncError
from vendorkit.store.staging import COUNT_FIELDS as _COUNT_FIELDS

__all__ = ["EndpointSync", "SyncReport", "new_sync_id"]


def new_sync_id(now: datetime | None = None) -> str:
    """A sortable, unique sync id: UTC wall-clock time plus 6 random hex digits.

    Example:
        >>> new_sync_id(datetime(2026, 11, 1, tzinfo=UTC))[:20]
        '20261101T000000.000Z'
    """
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


@dataclass(slots=True)
class EndpointSync:
    """The outcome of one endpoint in one sync (one row of :class:`SyncReport`).

    ``outcome`` is ``ok``, ``failed`` or ``replayed``. ``fetched`` counts records served
    (all passes); ``loaded`` rows written to the header table; ``rejected`` quarantined
    records; ``deduplicated`` duplicates dropped by key; ``coerced`` values repaired
    (numbers as strings, offsets, ...); ``unknown_status`` statuses mapped to ``UNKNOWN``.
    """

    endpoint: str
    outcome: str = "ok"
    full_refresh: bool = False
    passes: int = 0
    pages: int = 0
    requests: int = 0
    fetched: int = 0
    loaded: int = 0
    rejected: int = 0
    deduplicated: int = 0
    coerced: int = 0
    unknown_status: int = 0
    duration_s: float = 0.0
    error: str | None = None
    #: pages taken from an unfinished earlier sync's checkpoint instead of being fetched again
    resumed_pages: int = 0
    #: the server answered ``updatedSince`` with records older than the cursor (or with as
    #: many records as a full read): every sync of this endpoint is a full read
    full_reads_forced: bool = False
    #: what the engine decided and why (resume, restart, skipped catch-up, forced full reads)
    note: str | None = None
    #: the original exception of a failed endpoint (its class survives the sync boundary)
    exception: Exception | None = field(default=None, repr=False, compare=False)


_REPORT_COLUMNS = (
    "endpoint",
    "outcome",
    "full_refresh",
    "pages",
    "requests",
    "fetched",
    "loaded",
    "rejected",
    "deduplicated",
    "coerced",
    "unknown_status",
    "duration_s",
    "error",
    "resumed_pages",
    "full_reads_forced",
    "note",
)


@dataclass(slots=True)
class SyncReport:
    """What a :func:`sync` (or :func:`replay`) did, per endpoint.

    Prints as a table (``str(report)``) and renders as HTML in notebooks.

    Example:
        >>> report = SyncReport(sync_id="s1", source="sandbox", rows=[EndpointSync("orders")])
        >>> report.ok, report.to_frame()["endpoint"].to_list()
        (True, ['orders'])
    """

    sync_id: str
    source: str
    rows: list[EndpointSync] = field(default_factory=list)
    full: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when no endpoint failed."""
        return all(r.outcome != "failed" for r in self.rows)

    @property
    def failed(self) -> list[EndpointSync]:
        """The rows of the endpoints that failed."""
        return [r for r in self.rows if r.outcome == "failed"]

    def __getitem__(self, endpoint: str) -> EndpointSync:
        for row in self.rows:
            if row.endpoint == endpoint:
                return row
        raise KeyError(endpoint)

    def raise_for_failures(self) -> SyncReport:
        """Raise :class:`~vendorkit.errors.SyncError` if an endpoint failed; else return self.

        The error is an exception group of the failed endpoints' *original* exceptions
        (``except* vendorkit.AuthError:`` catches bad credentials) and carries this report
        as ``.report``.

        Example:
            >>> from vendorkit.errors import AuthError
            >>> failed = EndpointSync("orders", outcome="failed", error="AuthError: refused",
            ...                       exception=AuthError("refused"))
            >>> try:
            ...     SyncReport(sync_id="s1", source="api", rows=[failed]).raise_for_failures()
            ... except* AuthError as group:
            ...     print(group.report.failed[0].endpoint)
            orders
        """
        if not self.failed:
            return self
        detail = "; ".join(f"{r.endpoint}: {r.error}" for r in self.failed)
        exceptions: list[Exception] = [
            r.exception
            if r.exception is not None
            else StoreError(r.error or "failed", endpoint=r.endpoint)
            for r in self.failed
        ]
        raise SyncError(
            f"sync {self.sync_id} failed for {detail}. The store keeps the previous data for "
            "those endpoints; fix the cause and sync again",
            exceptions,
            report=self,
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per endpoint with the :data:`_REPORT_COLUMNS` plus ``source``."""
        schema: dict[str, pl.DataType] = {
            "endpoint": pl.String(),
            "source": pl.String(),
            "outcome": pl.String(),
            "full_refresh": pl.Boolean(),
            **{c: pl.Int64() for c in _COUNT_FIELDS},
            "duration_s": pl.Float64(),
            "error": pl.String(),
            "resumed_pages": pl.Int64(),
            "full_reads_forced": pl.Boolean(),
            "note": pl.String(),
        }
        data = [
            {**{k: getattr(r, k) for k in _REPORT_COLUMNS}, "source": self.source}
            for r in self.rows
        ]
        return pl.DataFrame(data, schema=schema)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``vendorkit sync --json``)."""
        return {
            "sync_id": self.sync_id,
            "source": self.source,
            "full": self.full,
            "ok": self.ok,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "endpoints": [
                {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name != "exception"}
                for r in self.rows
            ],
        }

    def _table(self) -> tuple[list[str], list[list[str]]]:
        head = [
            "endpoint",
            "outcome",
            "pages",
            "fetched",
            "loaded",
            "rejected",
            "dedup",
            "coerced",
            "unknown",
            "seconds",
        ]
        body = [
            [
                r.endpoint,
                r.outcome + (" (full)" if r.full_refresh else ""),
                str(r.pages),
                f"{r.fetched:,}",
                f"{r.loaded:,}",
                f"{r.rejected:,}",
                f"{r.deduplicated:,}",
                f"{r.coerced:,}",
                f"{r.unknown_status:,}",
                f"{r.duration_s:.2f}",
            ]
            for r in self.rows
        ]
        return head, body

    def __str__(self) -> str:
        head, body = self._table()
        widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        out = [f"sync {self.sync_id} (source: {self.source})", line(head)]
        out += [line(row) for row in body]
        out += [f"  {r.endpoint}: {r.error}" for r in self.failed]
        out += [f"  {r.endpoint}: {r.note}" for r in self.rows if r.note]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        head, body = self._table()
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        trs = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body
        )
        errors = "".join(
            f"<p><b>{html.escape(r.endpoint)}</b>: {html.escape(r.error or '')}</p>"
            for r in self.failed
        )
        return (
            f"<p>sync <code>{html.escape(self.sync_id)}</code> "
            f"(source: <b>{html.escape(self.source)}</b>)</p>"
            f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>{errors}"
        )
