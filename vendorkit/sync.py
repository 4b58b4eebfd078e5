"""Sync orchestration: client -> schemas -> one write transaction per endpoint; replay.

For each endpoint, :func:`run_sync`

1. reads the endpoint's cursor (short read; no cursor = first sync = full refresh);
2. fetches every page (``updatedSince`` = cursor on incremental syncs) and, after that
   pass, *catch-up* passes with ``updatedSince`` = the previous pass's start on the server
   clock, until a pass brings nothing new (at most :data:`MAX_CATCHUP_PASSES`), so records
   that changed while pages were being read are not missed;
3. normalises the pages (:func:`vendorkit.schemas.normalise`: typed, validated, deduplicated
   frames + rejects) -- all without holding the database;
4. writes, in ONE transaction: the raw pages (zstd-compressed) to the archive, the typed
   tables, the rejects, the new cursor and a ``sync_log`` row; then applies archive retention.

A failure anywhere in 1-4 leaves every data table exactly as it was; a ``failed`` row is
then written to ``sync_log`` in a separate small transaction (so ``vendorkit status`` can
show the error) and the report's row for that endpoint says ``failed`` with the error. The
other endpoints still sync. A killed process leaves the last committed state.

The cursor of the next incremental sync is the server's ``Date`` of this sync's first
response minus :data:`CURSOR_OVERLAP`; records seen twice because of the overlap are
deduplicated by key, so the overlap is harmless.
"""

from __future__ import annotations

import dataclasses
import html
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from vendorkit.endpoints import ENDPOINT_NAMES, get_endpoint
from vendorkit.errors import (
    ConfigError,
    ContractError,
    StoreError,
    StoreLockedError,
    SyncError,
    VendorkitError,
)
from vendorkit.store import ENDPOINT_TABLES, TABLE_KEYS, Store

if TYPE_CHECKING:
    from vendorkit.config import Settings
    from vendorkit.http.pages import FetchStats, Page, PageSource

__all__ = [
    "CURSOR_OVERLAP",
    "MAX_CATCHUP_PASSES",
    "EndpointSync",
    "SyncReport",
    "new_sync_id",
    "replay",
    "run_replay",
    "run_sync",
    "sync",
]

#: Subtracted from the server clock when the next ``updatedSince`` is stored.
CURSOR_OVERLAP = timedelta(minutes=5)
#: Catch-up passes after the main pass, at most.
MAX_CATCHUP_PASSES = 3
_CODEC = "zstd"

Normaliser = Callable[..., Any]

_COUNT_FIELDS = (
    "pages",
    "requests",
    "fetched",
    "loaded",
    "rejected",
    "deduplicated",
    "coerced",
    "unknown_status",
)


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
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        out = [f"sync {self.sync_id} (source: {self.source})", line(head)]
        out += [line(row) for row in body]
        out += [f"  {r.endpoint}: {r.error}" for r in self.failed]
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


# -- fetching ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Combined:
    """The chunks' batches merged into one (what ``normalise`` would give for all pages)."""

    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    counts: dict[str, int]


@dataclass(slots=True)
class _Fetched:
    batch: _Combined
    archive: pl.DataFrame
    server_start: datetime
    passes: int
    requests: int
    fetched: int
    pages: int


#: Records normalised together. Pages are validated in chunks of about this many records
#: as they arrive (then their raw frames are dropped), which bounds memory and keeps
#: polars' working sets small; duplicates across chunks are resolved afterwards.
CHUNK_RECORDS = 100_000


class _Chunker:
    """Feed pages in order; normalise every ~``chunk_records`` records; merge at the end."""

    def __init__(
        self, endpoint: str, normalise: Normaliser, sync_id: str, chunk_records: int
    ) -> None:
        self.endpoint = endpoint
        self.normalise = normalise
        self.sync_id = sync_id
        self.chunk_records = max(1, chunk_records)
        self.pending: list[Any] = []
        self.pending_records = 0
        self.batches: list[Any] = []

    def add(self, page: Any) -> None:
        self.pending.append(page)
        self.pending_records += page.records.height
        if self.pending_records >= self.chunk_records and (
            getattr(self.normalise, "ready", True) or self.pending_records >= 3 * self.chunk_records
        ):
            self.flush()  # (while schemas are still importing, keep fetching a little)

    def flush(self) -> None:
        self.batches.append(self.normalise(self.endpoint, self.pending, sync_id=self.sync_id))
        self.pending, self.pending_records = [], 0

    def finish(self) -> _Combined:
        if self.pending or not self.batches:
            self.flush()
        return _combine(self.endpoint, self.batches)


def _combine(endpoint: str, batches: list[Any]) -> _Combined:
    """Merge chunk batches: concatenate, then keep the latest version of keys seen twice.

    The rule of a batch's own dedup (:func:`vendorkit.schemas.latest_versions`): the
    endpoint's version column (its catalog ``cursor``) wins, then the later chunk/position.
    """
    from vendorkit.schemas import latest_versions  # lazy: keeps `import vendorkit` light

    names = ENDPOINT_TABLES[endpoint]
    counts = {
        name: sum(_count(getattr(b, "counts", None), name) or 0 for b in batches)
        for name in ("fetched", "loaded", "rejected", "deduplicated", "coerced", "unknown_status")
    }
    rejects = [r for r in (_rejects_of(b) for b in batches) if r.width]
    all_rejects = pl.concat(rejects, how="vertical") if rejects else pl.DataFrame()
    if len(batches) == 1:
        return _Combined(_tables_of(batches[0]), all_rejects, counts)
    header = names[0]
    key = list(TABLE_KEYS[header])
    parts = [_tables_of(b) for b in batches]
    batches.clear()  # the parts are all that is needed from here on
    heads = pl.concat([t[header] for t in parts], how="vertical", rechunk=False)
    tables: dict[str, pl.DataFrame] = {}
    # cheap test first: one UInt64 per key, sorted, neighbours compared (no hash table);
    # a hash collision only costs the exact path below
    hashed = heads.select(pl.struct(key).hash().sort().alias("h"))["h"]
    maybe_dup = bool((hashed.slice(1) == hashed.slice(0, hashed.len() - 1)).any())
    del hashed
    if not maybe_dup:
        tables[header] = heads
        if len(names) > 1:
            tables[names[1]] = pl.concat([t[names[1]] for t in parts], rechunk=False)
        return _Combined(tables, all_rejects, counts)
    tagged = pl.concat(
        [
            t[header].with_columns(
                pl.lit(i, pl.Int32).alias("_chunk"), pl.int_range(pl.len()).alias("_pos")
            )
            for i, t in enumerate(parts)
        ],
        how="vertical",
        rechunk=False,
    )
    winners = latest_versions(tagged, key, [get_endpoint(endpoint).cursor, "_chunk", "_pos"])
    removed = tagged.height - winners.height
    counts["deduplicated"] += removed
    counts["loaded"] -= removed
    if removed and "status" in winners.columns:
        counts["unknown_status"] = int((winners["status"] == "UNKNOWN").sum())
    tables[header] = winners.drop("_chunk", "_pos")
    if len(names) > 1:
        child = names[1]
        lines = pl.concat(
            [
                t[child].with_columns(pl.lit(i, pl.Int32).alias("_chunk"))
                for i, t in enumerate(parts)
            ],
            how="vertical",
            rechunk=False,
        )
        if removed:
            link = key[0]
            lines = lines.join(winners.select(link, "_chunk"), on=[link, "_chunk"], how="semi")
        tables[child] = lines.drop("_chunk")
    return _Combined(tables, all_rejects, counts)


def _archive_rows(page: Any, pass_number: int) -> dict[str, Any]:
    body = bytes(page.body or b"")
    return {
        "pass_number": pass_number,
        "page_number": int(page.number),
        "fetched_at": page.fetched_at,
        "status_code": int(page.status_code),
        "correlation_id": page.correlation_id,
        "records_found": page.records_found,
        "server_date": page.server_date,
        "encoding": _CODEC if body else "identity",
        "body_size": len(body),
        "body": _compress(body) if body else b"",
    }


def _compress(body: bytes) -> bytes:
    import pyarrow as pa  # imported on first use: keeps `import vendorkit` light

    return pa.compress(body, codec=_CODEC, asbytes=True)  # type: ignore[no-any-return]


def _decompress(body: bytes, size: int) -> bytes:
    import pyarrow as pa

    return pa.decompress(body, decompressed_size=size, codec=_CODEC, asbytes=True)  # type: ignore[no-any-return]


_ARCHIVE_SCHEMA: dict[str, pl.DataType] = {
    "pass_number": pl.Int16(),
    "page_number": pl.Int32(),
    "fetched_at": pl.Datetime("us", "UTC"),
    "status_code": pl.Int16(),
    "correlation_id": pl.String(),
    "records_found": pl.Int64(),
    "server_date": pl.Datetime("us", "UTC"),
    "encoding": pl.String(),
    "body_size": pl.Int64(),
    "body": pl.Binary(),
}


def _identity_hash(page: Any, identity: list[str]) -> pl.Series:
    """One UInt64 per record for (primary key, cursor field) as sent."""
    if not page.records.height:
        return pl.Series("h", [], dtype=pl.UInt64)
    return page.records.select(pl.struct(identity).hash().alias("h"))["h"]


def _fetch(
    client: PageSource,
    endpoint: str,
    updated_since: datetime | None,
    chunker: _Chunker,
) -> _Fetched:
    """Fetch (main pass + catch-up passes) and normalise in chunks as pages arrive."""
    ep = get_endpoint(endpoint)
    identity = [*ep.primary_key, ep.cursor_field]
    rows: list[dict[str, Any]] = []
    seen: list[pl.Series] = []
    server_start: datetime | None = None
    since = updated_since
    passes = fetched = pages = requests_pages = http_requests = 0
    requests_before = _client_requests(client)
    while True:
        passes += 1
        pass_start: datetime | None = None
        held: list[tuple[Any, dict[str, Any]]] = []
        stats = _new_stats(client, endpoint)
        kwargs = {"stats": stats} if stats is not None else {}
        for page in client.iter_pages(endpoint, updated_since=since, **kwargs):
            if pass_start is None:
                pass_start = page.server_date or datetime.now(UTC)
            requests_pages += 1
            if passes == 1:  # the main pass streams into the chunker
                rows.append(_archive_rows(page, passes))
                seen.append(_identity_hash(page, identity))
                fetched += page.records.height
                pages += 1
                chunker.add(page)
            else:  # a catch-up pass is kept only if it brings something new
                held.append((page, _archive_rows(page, passes)))
        if stats is not None:
            http_requests += stats.requests
        if pass_start is None:  # a client that yields nothing for an empty result
            pass_start = datetime.now(UTC)
        if server_start is None:
            server_start = pass_start
        if passes > 1:
            hashes = [_identity_hash(page, identity) for page, _ in held]
            known = pl.concat(seen) if seen else pl.Series("h", [], dtype=pl.UInt64)
            new_records = sum(int((~h.is_in(known.implode())).sum()) for h in hashes)
            if new_records == 0:
                break  # nothing new: this pass repeats records already held; leave it out
            for (page, row), h in zip(held, hashes, strict=True):
                rows.append(row)
                seen.append(h)
                fetched += page.records.height
                pages += 1
                chunker.add(page)
        if passes > MAX_CATCHUP_PASSES:
            break
        since = pass_start
    batch = chunker.finish()
    requests_after = _client_requests(client)
    if http_requests:
        requests = http_requests  # the client's own count (retries and token refreshes in)
    elif requests_before is not None and requests_after is not None:
        requests = requests_after - requests_before
    else:
        requests = requests_pages
    archive = (
        pl.DataFrame(rows, schema=_ARCHIVE_SCHEMA) if rows else pl.DataFrame(schema=_ARCHIVE_SCHEMA)
    )
    return _Fetched(batch, archive, server_start, passes, requests, fetched, pages)


def _new_stats(client: PageSource, endpoint: str) -> FetchStats:
    """A fresh ``FetchStats`` the client counts one pass's requests into."""
    from vendorkit.http.pages import FetchStats

    return FetchStats(endpoint=endpoint, source=client.source)


def _client_requests(client: PageSource) -> int:
    """The client's HTTP request counter (retries and 204s included)."""
    return client.requests_made


# -- normalising ------------------------------------------------------------------------


class _BackgroundNormaliser:
    """``vendorkit.schemas.normalise``, imported in a background thread.

    pandera (and what it pulls in) takes seconds to import; ``import vendorkit`` stays light
    by not importing it, and a sync starts fetching while the import runs. The first call
    waits for the import (and re-raises its error, if any).
    """

    def __init__(self) -> None:
        self._fn: Normaliser | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._load, name="vendorkit-import-schemas", daemon=True
        )
        self._thread.start()

    def _load(self) -> None:
        try:
            from vendorkit.schemas import normalise

            self._fn = normalise
        except BaseException as exc:  # handed to the caller on first use, not swallowed
            self._error = exc

    @property
    def ready(self) -> bool:
        """True once the import finished (calls will not wait)."""
        return not self._thread.is_alive()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._fn is not None
        return self._fn(*args, **kwargs)


def _default_normaliser() -> Normaliser:
    return _BackgroundNormaliser()


def _count(counts: Any, name: str) -> int | None:
    if counts is None:
        return None
    value = counts.get(name) if isinstance(counts, Mapping) else getattr(counts, name, None)
    return int(value) if value is not None else None


def _set_counts(row: EndpointSync, combined: _Combined) -> None:
    for name in ("fetched", "loaded", "rejected", "deduplicated", "coerced", "unknown_status"):
        setattr(row, name, getattr(row, name) + int(combined.counts.get(name, 0)))


def _tables_of(batch: Any) -> dict[str, pl.DataFrame]:
    tables = getattr(batch, "tables", None)
    if not isinstance(tables, Mapping):
        raise ContractError("normalise() returned a batch without a `tables` mapping")
    return dict(tables)


def _rejects_of(batch: Any) -> pl.DataFrame:
    rejects = getattr(batch, "rejects", None)
    return rejects if isinstance(rejects, pl.DataFrame) else pl.DataFrame()


# -- the sync ---------------------------------------------------------------------------


def resolve_endpoints(endpoints: str | Iterable[str] | None) -> list[str]:
    """Endpoint names from a name, a list or ``None`` (all), checked against the catalog.

    Raises:
        ConfigError: an unknown endpoint name.

    Example:
        >>> resolve_endpoints("orders"), len(resolve_endpoints(None))
        (['orders'], 3)
    """
    if endpoints is None:
        return list(ENDPOINT_NAMES)
    names = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    return [get_endpoint(n).name for n in names]  # ConfigError for unknown names


def run_sync(
    store: Store,
    client: PageSource,
    endpoints: str | Iterable[str] | None = None,
    *,
    full: bool = False,
    retention: int = 3,
    source: str | None = None,
    normaliser: Normaliser | None = None,
    lock: bool = True,
    chunk_records: int | None = None,
) -> SyncReport:
    """Sync ``endpoints`` from ``client`` into ``store`` (the engine behind :func:`sync`).

    Args:
        store: the target store.
        client: anything with ``iter_pages(endpoint, updated_since=...)`` yielding pages.
        endpoints: names (default: all).
        full: refetch everything; a full refresh replaces orders/shipments contents.
        retention: raw-archive retention in syncs per endpoint (0 = keep all).
        source: ``sandbox`` / ``api`` (default: ``client.source``).
        normaliser: ``normalise(endpoint, pages, sync_id=...)`` (default: vendorkit.schemas).
        lock: take the store's sync lock for the whole run.
        chunk_records: records normalised per chunk (memory bound; see CHUNK_RECORDS).

    Example:
        >>> # report = run_sync(Store(":memory:"), client, ["inventory"])
    """
    names = resolve_endpoints(endpoints)
    normalise = normaliser or _default_normaliser()
    chunk = chunk_records or CHUNK_RECORDS
    started = datetime.now(UTC)
    report = SyncReport(
        sync_id=new_sync_id(started),
        source=source or str(getattr(client, "source", "unknown")),
        full=full,
        started_at=started,
    )
    _refuse_mixed_sources(store, report.source)
    guard = store.sync_lock() if lock else _null_context()
    with guard:
        for endpoint in names:
            locked = [r for r in report.rows if isinstance(r.exception, StoreLockedError)]
            if locked:  # the file is held by another process: do not wait again per endpoint
                report.rows.append(
                    EndpointSync(
                        endpoint,
                        outcome="failed",
                        error=locked[0].error,
                        exception=locked[0].exception,
                    )
                )
                continue
            report.rows.append(
                _sync_endpoint(store, client, endpoint, report, full, retention, normalise, chunk)
            )
    report.finished_at = datetime.now(UTC)
    return report


def _refuse_mixed_sources(store: Store, source: str) -> None:
    """Never put sandbox records and real API records in the same store."""
    if source not in ("sandbox", "api"):
        return
    try:
        others = store.data_sources() - {source}
    except StoreLockedError:
        return  # another process holds the file: each endpoint then fails naming the holder
    if others:
        held = others.pop()
        raise ConfigError(
            f"the store {store.path} already holds {held} data and this sync is from the "
            f"{source}; mixing them would put synthetic and real records in the same tables. "
            "Point VENDORKIT_DB (or --db) at another file, or delete this one, and sync again"
        )


class _null_context:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _sync_endpoint(
    store: Store,
    client: PageSource,
    endpoint: str,
    report: SyncReport,
    full: bool,
    retention: int,
    normalise: Normaliser,
    chunk_records: int,
) -> EndpointSync:
    t0 = time.perf_counter()
    started_at = datetime.now(UTC)
    row = EndpointSync(endpoint, full_refresh=full)
    log: dict[str, Any] = {
        "sync_id": report.sync_id,
        "endpoint": endpoint,
        "source": report.source,
        "started_at": started_at,
        "full_refresh": full,
    }
    try:
        cursor = store.cursor(endpoint)
        is_full = full or cursor is None or cursor.updated_since is None
        row.full_refresh = log["full_refresh"] = is_full
        chunker = _Chunker(endpoint, normalise, report.sync_id, chunk_records)
        since = None if is_full else cursor.updated_since  # type: ignore[union-attr]
        fetched = _fetch(client, endpoint, since, chunker)
        row.passes, row.pages, row.requests = fetched.passes, fetched.pages, fetched.requests
        batch = fetched.batch
        tables = batch.tables
        _set_counts(row, batch)
        row.fetched = fetched.fetched
        snapshot_at = fetched.server_start
        log["server_date"] = snapshot_at
        with store.write() as con:
            store.archive_pages(
                con,
                fetched.archive.with_columns(pl.lit(endpoint).alias("endpoint")),
                sync_id=report.sync_id,
            )
            store.apply_tables(
                con,
                endpoint,
                tables,
                sync_id=report.sync_id,
                snapshot_at=snapshot_at,
                full=is_full,
            )
            store.insert_rejects(
                con,
                batch.rejects,
                endpoint=endpoint,
                sync_id=report.sync_id,
                rejected_at=started_at,
            )
            del fetched, batch, tables  # the frames are in DuckDB now: free them before commit
            store.set_cursor(
                con,
                endpoint,
                updated_since=snapshot_at - CURSOR_OVERLAP,
                sync_id=report.sync_id,
                full_at=snapshot_at if is_full else None,
            )
            row.duration_s = time.perf_counter() - t0
            store.log_sync(
                con, {**log, **_log_counts(row), "outcome": "ok", "finished_at": datetime.now(UTC)}
            )
            store.purge_archive(con, endpoint, retention)
    except VendorkitError as exc:
        _record_failure(store, row, log, exc, t0)
    except BaseException as exc:  # log the failure, then let the unexpected error surface
        _record_failure(store, row, log, exc, t0)
        raise
    row.duration_s = time.perf_counter() - t0
    return row


def _log_counts(row: EndpointSync) -> dict[str, Any]:
    return {"passes": row.passes, **{k: getattr(row, k) for k in _COUNT_FIELDS}}


def _record_failure(
    store: Store, row: EndpointSync, log: dict[str, Any], exc: BaseException, t0: float
) -> None:
    row.outcome = "failed"
    row.error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, Exception):
        row.exception = exc
    row.duration_s = time.perf_counter() - t0
    if isinstance(exc, StoreLockedError):
        return  # logging would wait for the same lock again
    try:
        with store.write() as con:
            store.log_sync(
                con,
                {
                    **log,
                    **_log_counts(row),
                    "outcome": "failed",
                    "finished_at": datetime.now(UTC),
                    "error": row.error,
                },
            )
    except StoreError as log_exc:  # the store itself is the problem: the report says so
        row.error += f" (and the failure could not be logged: {log_exc})"


def sync(
    endpoints: str | Iterable[str] | None = None,
    *,
    full: bool = False,
    settings: Settings | None = None,
    on_progress: Callable[[Any], None] | None = None,
    raise_on_failure: bool = True,
) -> SyncReport:
    """Fetch endpoints into the store named by ``settings``: :meth:`Handle.sync` for one call.

    A thin wrapper for scripts: ``vendorkit.connect(...).sync(...)`` does the same and keeps
    the client for the next call. Refuses ``VENDORKIT_DB=:memory:`` (the data would be gone
    when the call returns); use ``vendorkit.connect(":memory:")`` for a throwaway store.

    Args:
        endpoints: ``"inventory"``, ``"orders"``, ``"shipments"`` or a list (default: all).
        full: full refresh (refetch everything; orders/shipments contents are replaced).
        settings: configuration (default: from the environment).
        on_progress: progress callback handed to the client (e.g. ``ProgressBars``).
        raise_on_failure: raise :class:`~vendorkit.errors.SyncError` when an endpoint failed
            (default); ``False`` returns the report with ``ok == False`` instead.

    Returns:
        A :class:`SyncReport` (prints as a table; ``.to_frame()``, ``.to_dict()``).

    Raises:
        SyncError: an endpoint failed (``except* vendorkit.AuthError`` catches bad
            credentials; ``.report`` shows what succeeded).
        ConfigError: bad settings, or ``VENDORKIT_DB=:memory:``.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.sync(["inventory"], settings=s).ok
        True
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.sync()") as handle:
        return handle.sync(
            endpoints, full=full, on_progress=on_progress, raise_on_failure=raise_on_failure
        )


# -- replay -----------------------------------------------------------------------------


def parse_body(endpoint: str, body: bytes) -> pl.DataFrame:
    """Parse an archived page body into the raw frame (``Endpoint.wire_schema()``).

    The live client's parser (:func:`vendorkit.http.body.parse_page_body`), so a replay
    reads a body exactly as the sync that archived it did; an empty body (a 204) is an
    empty frame.

    Example:
        >>> parse_body("inventory", b'{"inventory": [{"partNumber": "A", "quantity": 3}]}')["quantity"].to_list()
        ['3']
    """
    from vendorkit.http.body import parse_page_body

    ep = get_endpoint(endpoint)
    if not body:
        return pl.DataFrame(schema=ep.wire_schema())
    try:
        return parse_page_body(body, ep).records
    except ValueError as exc:
        raise ContractError(
            f"archived {endpoint} page cannot be read ({exc}); run sync(full=True) instead",
            endpoint=endpoint,
        ) from exc


def run_replay(
    store: Store,
    endpoints: str | Iterable[str] | None = None,
    *,
    normaliser: Normaliser | None = None,
    chunk_records: int | None = None,
) -> SyncReport:
    """Rebuild typed tables from the raw page archive (the engine behind :func:`replay`).

    For each endpoint, the archived syncs are re-normalised and re-applied in order, in one
    transaction: orders/shipments (and lines) are rebuilt from the oldest archived sync
    (always a full one, retention keeps it), the inventory snapshots of the archived syncs
    are recomputed (older snapshots stay), and their rejects are recomputed. Status history
    and cursors are observations and are left as they are.
    """
    names = resolve_endpoints(endpoints)
    normalise = normaliser or _default_normaliser()
    started = datetime.now(UTC)
    report = SyncReport(sync_id=new_sync_id(started), source="archive", started_at=started)
    with store.sync_lock():
        for endpoint in names:
            report.rows.append(
                _replay_endpoint(store, endpoint, normalise, chunk_records or CHUNK_RECORDS)
            )
    report.finished_at = datetime.now(UTC)
    return report


def _replay_endpoint(
    store: Store, endpoint: str, normalise: Normaliser, chunk_records: int
) -> EndpointSync:
    t0 = time.perf_counter()
    row = EndpointSync(endpoint, outcome="replayed")
    if not store.exists():
        row.outcome = "skipped"
        return row
    syncs = store.query(
        "SELECT p.sync_id, coalesce(any_value(l.full_refresh), false) AS full_refresh, "
        "coalesce(any_value(l.server_date), min(p.server_date)) AS server_date, "
        "any_value(l.started_at) AS started_at FROM raw_pages p LEFT JOIN sync_log l "
        "ON l.sync_id = p.sync_id AND l.endpoint = p.endpoint WHERE p.endpoint = ? "
        "GROUP BY p.sync_id ORDER BY p.sync_id",
        [endpoint],
    )
    if syncs.height == 0:
        row.outcome = "skipped"
        row.error = "no archived pages for this endpoint"
        return row
    if endpoint != "inventory" and not syncs["full_refresh"][0]:
        raise StoreError(
            f"the {endpoint} archive does not start with a full sync, so it cannot rebuild "
            "the tables; run vendorkit.sync(full=True) instead",
            endpoint=endpoint,
        )
    sync_ids = syncs["sync_id"].to_list()
    with store.write() as con:
        if endpoint == "inventory":
            con.execute(
                "DELETE FROM inventory_history WHERE sync_id IN (SELECT unnest(?))", [sync_ids]
            )
            con.execute(
                "DELETE FROM inventory_snapshots WHERE sync_id IN (SELECT unnest(?))", [sync_ids]
            )
        con.execute(
            "DELETE FROM rejects WHERE endpoint = ? AND sync_id IN (SELECT unnest(?))",
            [endpoint, sync_ids],
        )
        for info in syncs.iter_rows(named=True):
            chunker = _Chunker(endpoint, normalise, info["sync_id"], chunk_records)
            for page in _archived_pages(store, con, endpoint, info["sync_id"]):
                chunker.add(page)
                row.pages += 1
            batch = chunker.finish()
            tables = batch.tables
            _set_counts(row, batch)
            store.apply_tables(
                con,
                endpoint,
                tables,
                sync_id=info["sync_id"],
                snapshot_at=info["server_date"],
                full=bool(info["full_refresh"]),
                status_history=False,
            )
            store.insert_rejects(
                con,
                batch.rejects,
                endpoint=endpoint,
                sync_id=info["sync_id"],
                rejected_at=info["started_at"] or info["server_date"],
            )
    row.passes = syncs.height
    row.duration_s = time.perf_counter() - t0
    return row


def _archived_pages(store: Store, con: Any, endpoint: str, sync_id: str) -> Iterator[Page]:
    """The archived pages of one sync, in fetch order, decompressed one at a time."""
    frame = store._query(
        con,
        "SELECT * FROM raw_pages WHERE endpoint = ? AND sync_id = ? "
        "ORDER BY pass_number, page_number",
        [endpoint, sync_id],
    )
    from vendorkit.http.pages import Page

    for rec in frame.iter_rows(named=True):
        body = rec["body"] or b""
        if rec["encoding"] == _CODEC:
            body = _decompress(body, rec["body_size"])
        yield Page(
            endpoint=endpoint,
            number=rec["page_number"],
            body=body,
            records=parse_body(endpoint, body),
            records_found=rec["records_found"],
            fetched_at=rec["fetched_at"],
            correlation_id=rec["correlation_id"],
            status_code=rec["status_code"],
            server_date=rec["server_date"],
        )


def replay(
    endpoints: str | Iterable[str] | None = None, *, settings: Settings | None = None
) -> SyncReport:
    """Rebuild the typed tables from the raw page archive, without refetching.

    Useful after a schema fix (new coercion rule, new status spelling): the archived pages
    go through today's validation again. A thin wrapper over :meth:`Handle.replay`.

    Args:
        endpoints: names (default: all).
        settings: configuration (default: from the environment).

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     _ = vk.sync(["orders"], settings=s)
        ...     vk.replay(["orders"], settings=s)["orders"].outcome
        'replayed'
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.replay()") as handle:
        return handle.replay(endpoints)
