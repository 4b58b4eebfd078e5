"""The sync engine: fetch -> stage -> apply, for any endpoint of the catalog.

For each endpoint, :func:`run_sync`

1. **plans**: the endpoint's cursor (none = first sync = full read) and its checkpoint: an
   unfinished earlier sync is *resumed* from the page after the last one staged, unless
   ``restart=True`` or the checkpoint is not to be trusted (:func:`_distrust`: older than
   :data:`CHECKPOINT_MAX_AGE`, a different kind of read than asked for, or the server's
   ``recordsFound`` changed since);
2. **fetches** the pages (``updatedSince`` = cursor on incremental syncs) and **stages**
   them as they arrive: every :data:`CHUNK_RECORDS` records or :data:`CHUNK_SECONDS` of
   fetching, whichever comes first, the chunk is normalised (validated, deduplicated within
   the chunk) and committed to the staging tables with a checkpoint
   (:mod:`vendorkit.store.staging`), then dropped from memory. A killed sync re-fetches at
   most the chunk in flight (the stated overlap: at the real API's 60 calls per minute about
   15 pages; on a fast server up to CHUNK_RECORDS / pageSize pages); a sync stopped by a failed
   fetch (a maintenance window, retries spent) commits the pages delivered before the
   failure first, so its resume fetches none of them again (only pages fetched ahead of the
   failed one, at most 2 x workers, can be fetched twice). A resume starts at the next
   page, whose ``recordsFound`` it checks;
3. a *catch-up* pass (``updatedSince`` = the server clock at the start) runs only when the
   main pass took longer than :data:`CATCH_UP_AFTER` on the server clock and the server
   honours ``updatedSince`` (a record changed during a shorter pass, and so perhaps skipped
   by a page shift, is at or after the next sync's cursor: that sync reads it);
4. **applies**, in ONE transaction: duplicates across chunks resolved in DuckDB (latest
   version wins), the typed tables written by the catalog's write mode, rejects, the pages
   moved to the archive, the new cursor and a ``sync_log`` row; then archive retention.

The typed tables change only in step 4: readers see the previous state until then, and a
failure anywhere leaves them exactly as they were (the staging stays for the next sync to
resume); a ``failed`` row then goes to ``sync_log``.

A server that ignores ``updatedSince`` (it sends records older than the cursor, or as many
as a full read) is detected on the first page of an incremental or catch-up pass; the
engine then never runs a second pass, says so in the report, ``sync_log.note`` and
``vendorkit status``, and remembers it (``vendorkit_meta``), so every later sync of that
endpoint costs exactly one read: ceil(N / pageSize) page calls plus token calls.

The cursor of the next incremental sync is the server's ``Date`` of this sync's first
response minus the cursor overlap (``VENDORKIT_CURSOR_OVERLAP_S``, default
:data:`CURSOR_OVERLAP`); records seen twice because of the overlap are deduplicated by key.
The overlap costs calls -- every record stamped inside it is read again -- so it is short:
the cursor and the record stamps come from the same server's clock, and the overlap only
has to cover ``Date``'s one-second precision and the server's commit lag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from vendorkit.endpoints import ENDPOINT_NAMES, get_endpoint
from vendorkit.errors import (
    ApiError,
    AuthError,
    ConfigError,
    StoreError,
    StoreLockedError,
    TransportError,
    VendorkitError,
)
from vendorkit.store import Checkpoint, Store
from vendorkit.store.connection import STAGE_MEMORY_LIMIT
from vendorkit.store.staging import COUNT_FIELDS as _COUNT_FIELDS
from vendorkit.sync.report import EndpointSync, SyncReport, new_sync_id

if TYPE_CHECKING:
    from vendorkit.config import Settings
    from vendorkit.http.pages import FetchStats, Page, PageSource
    from vendorkit.schemas.protocol import Normaliser

__all__ = [
    "CATCH_UP_AFTER",
    "CHECKPOINT_MAX_AGE",
    "CHUNK_RECORDS",
    "CHUNK_SECONDS",
    "CURSOR_OVERLAP",
    "MAX_CATCHUP_PASSES",
    "ResumablePageSource",
    "resolve_endpoints",
    "run_sync",
    "sync",
]

logger = logging.getLogger("vendorkit.sync")

#: Subtracted from the server clock when the next ``updatedSince`` is stored (the default of
#: ``VENDORKIT_CURSOR_OVERLAP_S``): covers ``Date``'s one-second precision and commit lag.
CURSOR_OVERLAP = timedelta(seconds=60)
#: A main pass longer than this on the server clock is followed by a catch-up pass.
CATCH_UP_AFTER = timedelta(minutes=5)
#: Catch-up passes after the main pass, at most.
MAX_CATCHUP_PASSES = 1
#: A checkpoint older than this is not resumed (the sync restarts, with a note): records
#: that changed meanwhile would shift the pages already staged. A maintenance window
#: (at most 5 h at Ingram Micro) stays well inside it.
CHECKPOINT_MAX_AGE = timedelta(hours=12)
#: Records normalised and committed per chunk, at most: what bounds memory, and with
#: :data:`CHUNK_SECONDS` what a killed sync fetches again.
CHUNK_RECORDS = 10_000
#: Pending pages are committed at least this often (seconds of fetching): at the real API's
#: 60 calls per minute a chunk of CHUNK_RECORDS takes 100 s to fetch, so a kill -9 would
#: lose up to 100 pages; with this bound it loses about 15.
CHUNK_SECONDS = 15.0
_monotonic = time.monotonic  # the chunk timer's clock (tests replace it)
_CODEC = "zstd"
_META_IGNORES = "ignores_updated_since:"


class ResumablePageSource(Protocol):
    """A :class:`~vendorkit.http.pages.PageSource` that can start a fetch at a later page.

    ``iter_pages(..., start_page=k)`` yields pages ``k, k+1, ...`` (page ``k``'s envelope
    carries ``recordsFound``, checked against the checkpoint).
    :class:`vendorkit.http.client.VendorClient` is one; a source without it is resumed by
    dropping the pages already staged.
    """

    def iter_pages(
        self,
        endpoint: str,
        *,
        updated_since: datetime | None = None,
        stats: FetchStats | None = None,
        start_page: int = 1,
    ) -> Iterator[Page]:
        """Yield the pages from ``start_page`` on, in order."""
        ...


class _Restart(Exception):
    """The checkpoint turned out stale while resuming (``recordsFound`` changed)."""


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


class _BackgroundNormaliser:
    """``vendorkit.schemas.normalise``, imported in a background thread.

    pandera (and what it pulls in) takes seconds to import; ``import vendorkit`` stays light
    by not importing it, and a sync starts fetching while the import runs. The same thread
    then does the first validation's one-off work (:func:`vendorkit.schemas.prepare`), so
    the first chunk does not do it while pages wait. The first call waits for the thread
    (and re-raises the import's error, if any).
    """

    def __init__(self, endpoints: Iterable[str] | None = None) -> None:
        self._endpoints = list(endpoints) if endpoints is not None else None
        self._fn: Normaliser | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._load, name="vendorkit-import-schemas", daemon=True
        )
        self._thread.start()

    def _load(self) -> None:
        try:
            from vendorkit.schemas import normalise, prepare
        except BaseException as exc:  # handed to the caller on first use, not swallowed
            self._error = exc
            return
        self._fn = normalise
        try:
            prepare(self._endpoints)  # the endpoints this sync will normalise (None: all)
        except Exception:  # only a head start: the first real call meets the same error
            logger.debug("preparing the schemas in the background failed", exc_info=True)

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


def _default_normaliser(endpoints: Iterable[str] | None = None) -> Normaliser:
    return _BackgroundNormaliser(endpoints)


def _count(counts: Any, name: str) -> int | None:
    if counts is None:
        return None
    value = counts.get(name) if isinstance(counts, Mapping) else getattr(counts, name, None)
    return int(value) if value is not None else None


# -- staging a fetch --------------------------------------------------------------------


@dataclass
class _Run:
    """One endpoint's sync in progress: pages pending for the next chunk and the checkpoint."""

    store: Store
    endpoint: str
    normalise: Normaliser
    point: Checkpoint
    chunk_records: int
    requests: Callable[[], int]
    pending: list[Page] = field(default_factory=list)
    archive: list[dict[str, Any]] = field(default_factory=list)
    pending_records: int = 0
    fetched_pages: int = 0
    #: stage the raw pages too (a replay's pages are in the archive already)
    keep_pages: bool = True
    chunk_seconds: float = CHUNK_SECONDS
    flushed_at: float = field(default_factory=lambda: _monotonic())

    def add(self, page: Page, pass_number: int) -> None:
        self.pending.append(page)
        if self.keep_pages:
            self.archive.append(_archive_rows(page, pass_number))
        self.pending_records += page.records.height
        self.fetched_pages += 1
        if pass_number == 1:
            self.point = replace(self.point, last_page=page.number)
        else:
            self.point = replace(self.point, pass_number=pass_number)
        if (
            self.pending_records >= self.chunk_records
            or _monotonic() - self.flushed_at >= self.chunk_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Normalise the pending pages and commit them with the checkpoint."""
        if not self.pending:
            return
        batch = self.normalise(self.endpoint, self.pending, sync_id=self.point.sync_id)
        counts = dict(self.point.counts)
        for name in ("loaded", "rejected", "deduplicated", "coerced", "unknown_status"):
            counts[name] = counts.get(name, 0) + (_count(batch.counts, name) or 0)
        counts["fetched"] = counts.get("fetched", 0) + self.pending_records
        counts["pages"] = counts.get("pages", 0) + len(self.pending)
        counts["requests"] = self.requests()
        point = replace(self.point, counts=counts, updated_at=datetime.now(UTC))
        archive = pl.DataFrame(self.archive, schema=_ARCHIVE_SCHEMA)
        rejects = batch.rejects if isinstance(batch.rejects, pl.DataFrame) else pl.DataFrame()
        tables = dict(batch.tables)
        self.pending, self.archive, self.pending_records = [], [], 0
        with self.store.write(memory_limit=STAGE_MEMORY_LIMIT) as con:
            self.store.stage_chunk(con, point, tables, archive, rejects)
        self.point = replace(point, chunks=point.chunks + 1)
        self.flushed_at = _monotonic()


def _older_than(page: Page, since: datetime, cursor_field: str) -> bool:
    """True when ``page`` holds a record last updated before ``since`` (the server ignored
    ``updatedSince``). Linear in the page; unparseable stamps are ignored."""
    records = page.records
    if not records.height or cursor_field not in records.columns:
        return False
    stamps = records.get_column(cursor_field).str.to_datetime(
        time_unit="us", time_zone="UTC", strict=False
    )
    oldest = stamps.min()
    return isinstance(oldest, datetime) and oldest < since


def _ignores_updated_since(store: Store, endpoint: str) -> bool:
    if not store.exists():
        return False
    try:
        found = store.query(
            "SELECT value FROM vendorkit_meta WHERE key = ?", [_META_IGNORES + endpoint]
        )
    except StoreError:
        return False
    return bool(found.height) and found.item() == "true"


def _last_full_records_found(store: Store, endpoint: str) -> int | None:
    if not store.exists():
        return None
    found = store.query(
        "SELECT p.records_found FROM raw_pages p JOIN sync_log l ON l.sync_id = p.sync_id "
        "AND l.endpoint = p.endpoint WHERE p.endpoint = ? AND p.page_number = 1 "
        "AND p.pass_number = 1 AND l.full_refresh ORDER BY p.sync_id DESC LIMIT 1",
        [endpoint],
    )
    return int(found.item()) if found.height and found.item() is not None else None


@dataclass
class _Outcome:
    server_start: datetime
    passes: int
    ignores: bool
    notes: list[str]


def _fetch_and_stage(
    client: PageSource,
    run: _Run,
    stats: FetchStats,
    full_found: int | None,
    catch_up_after: timedelta = CATCH_UP_AFTER,
) -> _Outcome:
    """The main pass from the checkpoint's next page, then a catch-up pass if it is needed."""
    ep = get_endpoint(run.endpoint)
    point = run.point
    since = point.updated_since
    notes: list[str] = []
    ignores = False
    resuming = point.last_page > 0
    if resuming and point.pass_number > 1:
        notes.append("the main pass was complete; applied what was staged")
        assert point.server_start is not None
        return _Outcome(point.server_start, point.pass_number, False, notes)
    start = point.last_page + 1
    kwargs: dict[str, Any] = {"start_page": start} if start > 1 else {}
    pass_start: datetime | None = None
    last_date: datetime | None = None
    if resuming and point.pages_total is not None and point.last_page >= point.pages_total:
        pages: Iterable[Page] = ()
    else:
        pages = client.iter_pages(run.endpoint, updated_since=since, stats=stats, **kwargs)
    for page in _kept_on_failure(pages, run):
        if pass_start is None:
            pass_start = page.server_date or datetime.now(UTC)
            if resuming:
                if page.records_found != point.records_found:
                    raise _Restart(
                        f"the server's recordsFound changed from {point.records_found} to "
                        f"{page.records_found} since the checkpoint, so its pages moved"
                    )
            else:
                run.point = replace(
                    run.point,
                    records_found=page.records_found,
                    pages_total=stats.pages_total,
                    server_start=pass_start,
                )
            if since is not None and (
                _older_than(page, since, ep.cursor_field)
                or (
                    full_found is not None
                    and page.records_found is not None
                    and page.records_found >= full_found > ep_page_floor(page)
                )
            ):
                ignores = True
        if page.server_date is not None:
            last_date = page.server_date
        if page.number <= run.point.last_page:
            continue  # staged before the interruption (a source that starts at page 1)
        run.add(page, 1)
    run.flush()
    server_start = run.point.server_start or pass_start or datetime.now(UTC)
    if run.point.server_start is None:
        run.point = replace(run.point, server_start=server_start)
    passes = 1
    first = server_start if resuming else (pass_start or server_start)
    took = (last_date - first) if last_date is not None else timedelta(0)
    if ignores:
        notes.append(
            "this server ignores updatedSince (it sent records older than the cursor, or as "
            "many as a full read): every sync of this endpoint is a full read; no catch-up pass"
        )
    elif took <= catch_up_after and not resuming:
        pass  # a short pass: what changed during it is at or after the next sync's cursor
    else:  # a long pass, or a resumed one (records may have changed since it started)
        passes += 1
        ignores = _catch_up(client, run, stats, first, ep.cursor_field, notes)
    return _Outcome(server_start, passes, ignores, notes)


def _kept_on_failure(pages: Iterable[Page], run: _Run) -> Iterator[Page]:
    """The main pass's pages; when *fetching* fails (the server stopped answering: a
    maintenance window, retries spent, a lost network), the pages already fetched are
    committed with the checkpoint first, so the next sync fetches none of them again."""
    try:
        yield from pages
    except (ApiError, AuthError, TransportError):
        run.flush()
        raise


def ep_page_floor(page: Page) -> int:
    """A full read must be more than one page to be told from a small honest answer."""
    return max(page.records.height, 1)


def _catch_up(
    client: PageSource,
    run: _Run,
    stats: FetchStats,
    since: datetime,
    cursor_field: str,
    notes: list[str],
) -> bool:
    """One catch-up pass with ``updatedSince`` = the main pass's start; True if the server
    turned out to ignore it (then the pass stops after its first page and stages nothing)."""
    main_found = run.point.records_found
    for page in client.iter_pages(run.endpoint, updated_since=since, stats=stats):
        if page.number == 1 and (
            _older_than(page, since, cursor_field)
            or (
                main_found is not None
                and page.records_found is not None
                and page.records_found >= main_found > ep_page_floor(page)
            )
        ):
            notes.append(
                "this server ignores updatedSince: the catch-up pass stopped after its first "
                "page (no second full read); later syncs of this endpoint are full reads"
            )
            return True
        run.add(page, 2)
    run.flush()
    return False


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
    restart: bool = False,
    catch_up_after: timedelta = CATCH_UP_AFTER,
    cursor_overlap: timedelta = CURSOR_OVERLAP,
) -> SyncReport:
    """Sync ``endpoints`` from ``client`` into ``store`` (the engine behind :func:`sync`).

    Args:
        store: the target store.
        client: a :class:`~vendorkit.http.pages.PageSource` (ideally a
            :class:`ResumablePageSource`, so a resume fetches no staged page again).
        endpoints: names (default: all).
        full: refetch everything; a full refresh replaces orders/shipments contents.
        retention: raw-archive retention in syncs per endpoint (0 = keep all).
        source: ``sandbox`` / ``api`` (default: ``client.source``).
        normaliser: a :class:`~vendorkit.schemas.protocol.Normaliser` (default:
            :func:`vendorkit.schemas.normalise`).
        lock: take the store's sync lock for the whole run.
        chunk_records: records normalised and committed per chunk (see CHUNK_RECORDS).
        restart: discard an unfinished sync's checkpoint and start from page 1.
        catch_up_after: run a catch-up pass only when the main pass took longer than this
            on the server clock (default :data:`CATCH_UP_AFTER`: what changed during a
            shorter pass is read by the next sync, whose cursor is before the pass began).
        cursor_overlap: subtracted from the server clock to make the next cursor
            (default :data:`CURSOR_OVERLAP`; ``Settings.cursor_overlap_s``).

    Example:
        >>> # report = run_sync(Store(":memory:"), client, ["inventory"])
    """
    names = resolve_endpoints(endpoints)
    normalise = normaliser or _default_normaliser(names)
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
                _sync_endpoint(
                    store,
                    client,
                    endpoint,
                    report,
                    full,
                    retention,
                    normalise,
                    chunk,
                    restart,
                    catch_up_after,
                    cursor_overlap,
                )
            )
    report.finished_at = datetime.now(UTC)
    return report


def _distrust(point: Checkpoint, full: bool, now: datetime) -> str | None:
    """Why a checkpoint must not be resumed (``None``: resume it)."""
    age = now - point.updated_at
    if age > CHECKPOINT_MAX_AGE:
        return (
            f"its checkpoint is {_age(age)} old, more than the {_age(CHECKPOINT_MAX_AGE)} "
            "a resume trusts"
        )
    if full and not point.full_refresh:
        return "a full read was asked for and the unfinished sync was incremental"
    return None


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _fresh_point(
    sync_id: str, endpoint: str, full: bool, since: datetime | None, now: datetime
) -> Checkpoint:
    return Checkpoint(
        sync_id=sync_id,
        endpoint=endpoint,
        full_refresh=full,
        updated_since=since,
        pass_number=1,
        last_page=0,
        pages_total=None,
        records_found=None,
        server_start=None,
        chunks=0,
        counts={},
        started_at=now,
        updated_at=now,
    )


def _plan(
    store: Store,
    endpoint: str,
    sync_id: str,
    full: bool,
    since: datetime | None,
    restart: bool,
    notes: list[str],
    now: datetime,
) -> Checkpoint:
    """The checkpoint to continue: an unfinished sync's (adopted by this sync) or a new one."""
    point = None
    if store.exists():
        with store.read() as con:
            point = store.checkpoint(con, endpoint)
    if point is None:
        return _fresh_point(sync_id, endpoint, full, since, now)
    why = "restart was asked for" if restart else _distrust(point, full, now)
    with store.write() as con:
        if why is not None:
            store.discard_staged(con, point.sync_id, endpoint)
            notes.append(
                f"restarted from page 1: an unfinished sync ({point.sync_id}, "
                f"{point.last_page} of {point.pages_total or '?'} pages) was discarded because "
                f"{why}"
            )
            return _fresh_point(sync_id, endpoint, full, since, now)
        store.adopt_staged(con, point.sync_id, sync_id, endpoint)
    notes.append(
        f"resumed the unfinished sync {point.sync_id} after page {point.last_page} of "
        f"{point.pages_total or '?'} (recordsFound checked on the first page fetched)"
    )
    return replace(point, sync_id=sync_id)


def _sync_endpoint(
    store: Store,
    client: PageSource,
    endpoint: str,
    report: SyncReport,
    full: bool,
    retention: int,
    normalise: Normaliser,
    chunk_records: int,
    restart: bool,
    catch_up_after: timedelta = CATCH_UP_AFTER,
    cursor_overlap: timedelta = CURSOR_OVERLAP,
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
    notes: list[str] = []
    try:
        cursor = store.cursor(endpoint)
        is_full = full or cursor is None or cursor.updated_since is None
        since = None if is_full else cursor.updated_since  # type: ignore[union-attr]
        known_ignorer = _ignores_updated_since(store, endpoint)
        full_found = None if is_full else _last_full_records_found(store, endpoint)
        point = _plan(store, endpoint, report.sync_id, is_full, since, restart, notes, started_at)
        is_full = point.full_refresh
        row.full_refresh = log["full_refresh"] = is_full
        row.resumed_pages = point.counts.get("pages", 0)
        stats = _new_stats(client, endpoint)
        before = client.requests_made
        prior_requests = point.counts.get("requests", 0)

        def requests() -> int:
            made = stats.requests or (client.requests_made - before)
            return prior_requests + made

        run = _Run(store, endpoint, normalise, point, chunk_records, requests)
        try:
            outcome = _fetch_and_stage(client, run, stats, full_found, catch_up_after)
        except _Restart as why:
            with store.write() as con:
                store.discard_staged(con, report.sync_id, endpoint)
            notes.append(f"restarted from page 1: {why}")
            run = _Run(
                store,
                endpoint,
                normalise,
                _fresh_point(report.sync_id, endpoint, is_full, point.updated_since, started_at),
                chunk_records,
                requests,
            )
            row.resumed_pages = 0
            outcome = _fetch_and_stage(client, run, stats, full_found, catch_up_after)
        notes.extend(outcome.notes)
        ignores = outcome.ignores or known_ignorer
        if known_ignorer and not outcome.ignores:
            notes.append(
                "this server ignores updatedSince (seen before): every sync is a full read"
            )
        row.full_reads_forced = ignores
        counts = run.point.counts
        row.passes = outcome.passes
        row.pages = counts.get("pages", 0)
        row.requests = requests() - prior_requests
        for name in ("fetched", "loaded", "rejected", "deduplicated", "coerced", "unknown_status"):
            setattr(row, name, counts.get(name, 0))
        snapshot_at = outcome.server_start
        log["server_date"] = snapshot_at
        row.note = "; ".join(notes) or None
        with store.write() as con:
            applied = store.apply_staged(
                con,
                endpoint,
                report.sync_id,
                snapshot_at=snapshot_at,
                full=is_full,
                rejected_at=started_at,
            )
            row.deduplicated += applied.deduplicated
            row.loaded = applied.loaded
            if applied.unknown_status is not None:
                row.unknown_status = applied.unknown_status
            store.set_cursor(
                con,
                endpoint,
                updated_since=snapshot_at - cursor_overlap,
                sync_id=report.sync_id,
                full_at=snapshot_at if is_full else None,
            )
            if outcome.ignores:
                con.execute("DELETE FROM vendorkit_meta WHERE key = ?", [_META_IGNORES + endpoint])
                con.execute(
                    "INSERT INTO vendorkit_meta VALUES (?, 'true')", [_META_IGNORES + endpoint]
                )
            row.duration_s = time.perf_counter() - t0
            store.log_sync(
                con,
                {
                    **log,
                    **_log_counts(row),
                    "outcome": "ok",
                    "finished_at": datetime.now(UTC),
                    "note": row.note,
                },
            )
            store.purge_archive(con, endpoint, retention)
    except VendorkitError as exc:
        row.note = "; ".join(notes) or None
        _record_failure(store, row, log, exc, t0)
    except BaseException as exc:  # log the failure, then let the unexpected error surface
        row.note = "; ".join(notes) or None
        _record_failure(store, row, log, exc, t0)
        raise
    row.duration_s = time.perf_counter() - t0
    return row


def _new_stats(client: PageSource, endpoint: str) -> FetchStats:
    """A fresh ``FetchStats`` the client counts one endpoint's requests into."""
    from vendorkit.http.pages import FetchStats

    return FetchStats(endpoint=endpoint, source=client.source)


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
                    "note": row.note,
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
