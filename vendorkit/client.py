"""VendorClient: the Vendor API as it really behaves, as a stream of :class:`Page` objects.

What it does on every call: an OAuth2 bearer token (cached until shortly before expiry,
refreshed once on a 401), the Ingram headers (``IM-PartnerID``, ``IM-CountryCode``, a fresh
32-character ``IM-CorrelationID``, ``IM-SenderID``), bounded retries with backoff and jitter
on 429 / 5xx / timeouts / resets / truncated bodies, and pacing from the rate-limit headers
(:mod:`vendorkit.ratelimit`). Pages are parsed into polars frames with the endpoint's wire
schema (:mod:`vendorkit.pagination`) inside worker threads, so parsing overlaps fetching.
One ``httpx.Client`` (one connection pool) serves every thread; for the local sandbox
(``http://`` to a loopback host) its transport is :class:`vendorkit.loopback.LoopbackTransport`,
stdlib keep-alive connections that cost far less client CPU per request than httpcore.

Example:
    >>> from vendorkit.config import Settings
    >>> from vendorkit.client import open_client
    >>> with open_client(Settings()) as client:            # doctest: +SKIP
    ...     result = client.fetch("inventory")
    ...     print(client.source, result.stats.records)
    sandbox 2500

Retries are a small explicit loop rather than tenacity/stamina: the policy depends on the
answer in ways a generic decorator hides (429 waits for ``X-RateLimit-Reset`` and blocks the
endpoint's other threads, a 401 refreshes the token once without spending a retry, a
truncated 200 is retried but an HTML 200 is not, every attempt gets a new correlation id),
and no dependency is added for ~40 lines.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import httpx
import polars as pl

from vendorkit.auth import TokenProvider, describe_fault
from vendorkit.config import Settings, is_loopback
from vendorkit.endpoints import Endpoint, get_endpoint
from vendorkit.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ContractError,
    RateLimitError,
    TransportError,
    VendorkitError,
)
from vendorkit.loopback import LoopbackTransport
from vendorkit.pagination import (
    BodyNotJSON,
    BodyTruncated,
    MissingListKey,
    PageBody,
    page_count,
    parse_page_body,
)
from vendorkit.ratelimit import (
    RESET_MARGIN_S,
    Pacer,
    backoff_delay,
    parse_retry_after,
    reset_delay,
)

__all__ = [
    "FetchResult",
    "FetchStats",
    "Page",
    "ProgressEvent",
    "VendorClient",
    "open_client",
]

logger = logging.getLogger("vendorkit.client")

Source = Literal["sandbox", "api"]

#: Placeholder credentials for the built-in sandbox (it accepts any non-empty pair).
SANDBOX_CLIENT_ID = "vendorkit-sandbox"
SANDBOX_CLIENT_SECRET = "vendorkit-sandbox-secret"

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Pacing waits shorter than this are not reported as progress events.
_REPORT_WAIT_S = 0.05


def _version() -> str:
    try:
        return importlib.metadata.version("vendorkit")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def default_sender_id() -> str:
    """``vendorkit/<version>``, the ``IM-SenderID`` sent unless settings say otherwise.

    Example:
        >>> default_sender_id().startswith("vendorkit/")
        True
    """
    return f"vendorkit/{_version()}"[:32]


def new_correlation_id() -> str:
    """A fresh ``IM-CorrelationID``: uuid4 as 32 hex characters (Ingram allows <= 32).

    Example:
        >>> len(new_correlation_id())
        32
    """
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page (the contract in docs/ARCHITECTURE.md).

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
        """The counters as a plain dict (for sync reports and JSON).

        Example:
            >>> FetchStats(endpoint="orders", source="sandbox").to_dict()["pages"]
            0
        """
        return {**asdict(self), "rows_per_s": self.rows_per_s}

    @property
    def rows_per_s(self) -> float:
        """Records per wall-clock second (0 before anything was timed)."""
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def _add(self, **counts: float) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Every page of one endpoint, and how fetching went.

    Attributes:
        pages: the pages, in page order.
        stats: the counters of the fetch.
    """

    pages: list[Page]
    stats: FetchStats

    def records(self) -> pl.DataFrame:
        """All records of all pages as one frame (wire schema).

        Example:
            >>> # result.records().height == result.stats.records
        """
        frames = [p.records for p in self.pages if p.records.width]
        if not frames:
            return pl.DataFrame()
        return pl.concat(frames, how="vertical", rechunk=False)


@dataclass(frozen=True, slots=True)
class _Fetched:
    page: Page
    parsed: PageBody | None  # None for 204


class _Clock:
    """Time functions in one place so tests can make pacing and backoff instant."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.wall = wall
        self.sleep = sleep
        self.rng = rng or random.Random()


def _format_since(value: datetime | date | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return value.isoformat()


def _plain_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback(parts.hostname)


def _check_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} {url!r} is not an http(s) URL; fix VENDORKIT_{what.upper()}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// for the {what} on {parts.hostname}: credentials would "
            f"travel unencrypted; use https:// (http is allowed only for loopback hosts)"
        )


class VendorClient:
    """A client for the three Vendor API list endpoints.

    Args:
        settings: the validated settings (base URL, credentials, headers, retries, workers).
        transport: an ``httpx.BaseTransport`` to use instead of the network (tests,
            ``Sandbox(...).transport()``).
        on_progress: called with a :class:`ProgressEvent` per page and per wait; calls are
            serialised (never concurrent) but may come from worker threads.
        source: ``"sandbox"`` or ``"api"``; defaults to ``settings.source``. Without
            credentials the client only talks to the sandbox (an in-process transport or
            a loopback base URL) with placeholder credentials.
        clock: wall clock (epoch seconds), for tests.
        sleep: sleep function, for tests.
        rng: random source for backoff jitter, for tests.

    Example:
        >>> from vendorkit.config import Settings
        >>> def handler(request):
        ...     if request.url.path.endswith("/token"):
        ...         return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        ...     return httpx.Response(200, json={"inventory": [{"partNumber": "A"}]})
        >>> s = Settings(client_id="id", client_secret="secret", partner_id="US123456")
        >>> with VendorClient(s, transport=httpx.MockTransport(handler)) as client:
        ...     [p.records.height for p in client.iter_pages("inventory")]
        [1]
    """

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        *,
        source: Source | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.source: Source = source or settings.source
        base_url = settings.base_url.rstrip("/")
        token_url = settings.resolved_token_url
        _check_url(base_url, "base_url")
        _check_url(token_url, "token_url")
        client_id = settings.client_id
        secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        if not (client_id and secret):
            if client_id or secret:
                missing = "VENDORKIT_CLIENT_SECRET" if client_id else "VENDORKIT_CLIENT_ID"
                raise ConfigError(
                    f"{missing} is not set: set both VENDORKIT_CLIENT_ID and "
                    "VENDORKIT_CLIENT_SECRET for the real API, or neither for the sandbox"
                )
            if transport is None and not is_loopback(urlsplit(base_url).hostname):
                raise ConfigError(
                    f"no credentials configured for {base_url}: set VENDORKIT_CLIENT_ID and "
                    "VENDORKIT_CLIENT_SECRET, or use open_client() to work with the "
                    "built-in sandbox"
                )
            self.source = "sandbox"
            client_id, secret = SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
        self.base_url = base_url
        # set by close() (and by an interrupted fetch): every wait of every thread ends at once
        self._stop = threading.Event()
        self._clock = _Clock(clock or time.time, sleep or self._interruptible_sleep, rng)
        self._on_progress = on_progress
        self._progress_lock = threading.Lock()
        timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        # one pool for every thread: endpoints x workers, plus the token call
        pool = max(8, 3 * settings.workers + 2)
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        if transport is None and _plain_loopback(base_url) and _plain_loopback(token_url):
            # the local sandbox: a stdlib keep-alive transport (4-5x less client CPU per
            # request than httpcore, see vendorkit/loopback.py); remote hosts keep httpx's
            transport = LoopbackTransport(settings.connect_timeout_s, settings.timeout_s)
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            limits=limits,
            verify=True,
            follow_redirects=False,
            # proxies / CA bundles from the environment for the real API; never for loopback
            trust_env=not is_loopback(urlsplit(base_url).hostname),
        )
        self._tokens = TokenProvider(
            self._http,
            token_url,
            client_id,
            secret,
            clock=self._clock.wall,
            sleep=self._clock.sleep,
        )
        self._headers = {
            "Accept": "application/json",
            "IM-PartnerID": settings.partner_id,
            "IM-CountryCode": settings.country_code,
            "IM-SenderID": (settings.sender_id or default_sender_id())[:32],
            "User-Agent": default_sender_id(),
        }
        self._pacers: dict[str, Pacer] = {}
        self._pacers_lock = threading.Lock()
        self._closed = False
        self._requests_made = 0
        self._count_lock = threading.Lock()
        #: the in-process Sandbox object when open_client() started one (ground truth)
        self.sandbox: Any = None
        if self.source == "sandbox":
            logger.warning(
                "vendorkit is using SANDBOX data (synthetic, not your Ingram Micro account) "
                "at %s; set VENDORKIT_CLIENT_ID / VENDORKIT_CLIENT_SECRET for the real API",
                base_url,
            )

    def __repr__(self) -> str:
        return (
            f"VendorClient(source={self.source!r}, base_url={self.base_url!r}, "
            f"partner_id={self.settings.partner_id!r}, workers={self.settings.workers})"
        )

    @property
    def requests_made(self) -> int:
        """HTTP requests sent to the data endpoints so far (retries and 204s included)."""
        return self._requests_made

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every wait (pacing, backoff) in every thread and close the connection pool."""
        self._stop.set()
        if not self._closed:
            self._closed = True
            self._http.close()

    def _interruptible_sleep(self, seconds: float) -> None:
        """The default sleep: ends early, with an error, once the client is closed."""
        if self._stop.wait(max(seconds, 0.0)):
            raise TransportError(
                "the client was closed (or the fetch interrupted) while waiting; "
                "nothing more is fetched"
            )

    # -- public API --------------------------------------------------------------------

    def pacer(self, endpoint: str) -> Pacer:
        """The rate-limit pacer of ``endpoint`` (one per endpoint, kept across fetches)."""
        with self._pacers_lock:
            pacer = self._pacers.get(endpoint)
            if pacer is None:
                pacer = Pacer(endpoint, clock=self._clock.wall, sleep=self._clock.sleep)
                self._pacers[endpoint] = pacer
            return pacer

    def iter_pages(
        self,
        endpoint: str,
        updated_since: datetime | date | str | None = None,
        page_size: int | None = None,
        *,
        stats: FetchStats | None = None,
    ) -> Iterator[Page]:
        """Yield every page of ``endpoint`` in page order.

        Page 1 is fetched first; when it carries ``recordsFound`` the remaining pages are
        fetched concurrently over ``settings.workers`` threads (each parsing its page) and
        yielded in order. Without ``recordsFound`` pages are fetched one after another until
        a 204, a page without ``nextPage``, or a short page. A seed-shaped body (no envelope)
        is the only page. A 204 on page 1 yields one empty page (``body == b""``); a 204
        later only ends the fetch.

        Args:
            endpoint: ``inventory``, ``orders`` or ``shipments``.
            updated_since: only records updated at or after this instant (``updatedSince``).
            page_size: records per page (default ``settings.page_size``; the API caps it).
            stats: a :class:`FetchStats` to update while fetching (optional).

        Raises:
            AuthError, RateLimitError, ApiError, TransportError, ContractError: each names the
                endpoint, the page and the correlation id.

        Example:
            >>> # for page in client.iter_pages("orders", updated_since="2026-10-01T00:00:00Z"):
            >>> #     archive(page.body); frames.append(page.records)
        """
        ep = get_endpoint(endpoint)
        if stats is None:
            stats = FetchStats(endpoint=ep.name, source=self.source)
        size = page_size or self.settings.page_size
        since = _format_since(updated_since)
        pacer = self.pacer(ep.name)
        started = time.perf_counter()

        def deliver(fetched: _Fetched) -> Page:
            page = fetched.page
            stats._add(pages=1, records=page.records.height, bytes=len(page.body))
            stats.elapsed_s = time.perf_counter() - started
            self._emit(
                ProgressEvent(
                    endpoint=ep.name,
                    kind="page",
                    pages_done=stats.pages,
                    pages_total=stats.pages_total,
                    records=stats.records,
                    bytes=stats.bytes,
                    source=self.source,
                )
            )
            return page

        pacer.set_demand(None)
        first = self._get_page(ep, 1, size, since, stats)
        parsed = first.parsed
        if parsed is None:  # 204: nothing at all (one empty page, for the archive/log)
            stats.pages_total = 1
            stats.records_found = 0
            yield deliver(first)
            self._emit_done(ep, stats)
            return
        stats.records_found = parsed.records_found
        if not parsed.has_envelope:  # seed-shaped: the whole list in one body
            stats.pages_total = 1
            yield deliver(first)
            self._emit_done(ep, stats)
            return
        got = parsed.records.height
        effective = parsed.page_size or size
        if parsed.page_size is None and 0 < got < size and (parsed.records_found or 0) > got:
            effective = got  # the server capped the page size without saying so
        if parsed.records_found is not None:
            total = page_count(parsed.records_found, effective) if effective else 1
            stats.pages_total = max(total, 1)
            yield deliver(first)
            last = first
            if total > 1:
                pacer.set_demand(total - 1)
                for fetched in self._pages_concurrently(
                    ep, range(2, total + 1), effective, since, stats
                ):
                    last = fetched
                    yield deliver(fetched)
            # recordsFound reached; keep going only if the data grew while we fetched
            next_number = max(total, 1) + 1
            pacer.set_demand(None)
            yield from map(
                deliver, self._pages_sequentially(ep, last, next_number, effective, since, stats)
            )
        else:
            yield deliver(first)
            pacer.set_demand(None)
            yield from map(deliver, self._pages_sequentially(ep, first, 2, effective, since, stats))
        self._emit_done(ep, stats)

    def fetch(
        self,
        endpoint: str,
        updated_since: datetime | date | str | None = None,
        page_size: int | None = None,
    ) -> FetchResult:
        """Fetch every page of ``endpoint`` into memory.

        Example:
            >>> # result = client.fetch("orders"); result.stats.records == result.records().height
        """
        stats = FetchStats(endpoint=endpoint, source=self.source)
        pages = list(self.iter_pages(endpoint, updated_since, page_size, stats=stats))
        return FetchResult(pages=pages, stats=stats)

    def fetch_many(
        self,
        endpoints: Iterable[str],
        updated_since: Mapping[str, datetime | date | str | None] | None = None,
        page_size: int | None = None,
        *,
        return_exceptions: bool = False,
    ) -> dict[str, FetchResult | VendorkitError]:
        """Fetch several endpoints concurrently, each at its own pace (separate rate limits).

        Args:
            endpoints: endpoint names.
            updated_since: per-endpoint ``updatedSince`` (missing names: full fetch).
            page_size: records per page for all endpoints.
            return_exceptions: put a failed endpoint's :class:`VendorkitError` in the result
                instead of raising it (the other endpoints' results are kept).

        Returns:
            ``{endpoint: FetchResult}`` in the order given.

        Example:
            >>> # results = client.fetch_many(["inventory", "orders", "shipments"])
            >>> # results["orders"].stats.records
        """
        names = [get_endpoint(e).name for e in endpoints]
        since = dict(updated_since or {})
        results: dict[str, FetchResult | VendorkitError] = {}
        if not names:
            return results
        with ThreadPoolExecutor(
            max_workers=len(names), thread_name_prefix="vendorkit-endpoint"
        ) as pool:
            futures = {n: pool.submit(self.fetch, n, since.get(n), page_size) for n in names}
            first_error: VendorkitError | None = None
            try:
                for name, future in futures.items():
                    try:
                        results[name] = future.result()
                    except VendorkitError as exc:
                        results[name] = exc
                        first_error = first_error or exc
            except BaseException:  # Ctrl-C: end the other endpoints' waits, then re-raise
                self._stop.set()
                raise
        if first_error is not None and not return_exceptions:
            raise first_error
        return results

    # -- pagination --------------------------------------------------------------------

    def _pages_concurrently(
        self,
        ep: Endpoint,
        numbers: range,
        size: int,
        since: str | None,
        stats: FetchStats,
    ) -> Iterator[_Fetched]:
        """Fetch ``numbers`` over worker threads; yield in page order (bounded look-ahead)."""
        workers = max(1, min(self.settings.workers, len(numbers)))
        window = workers * 2
        todo = iter(numbers)
        pending: deque[Future[_Fetched]] = deque()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"vendorkit-{ep.name}")
        try:
            for number in todo:
                pending.append(pool.submit(self._get_page, ep, number, size, since, stats))
                if len(pending) >= window:
                    break
            while pending:
                fetched = pending.popleft().result()
                following = next(todo, None)
                if following is not None:
                    pending.append(pool.submit(self._get_page, ep, following, size, since, stats))
                if fetched.parsed is None:
                    # 204 before recordsFound was reached: the data shrank while fetching
                    logger.warning(
                        "%s page %d answered 204 before recordsFound=%s was reached; "
                        "records may have been removed during the fetch",
                        ep.name,
                        fetched.page.number,
                        stats.records_found,
                    )
                    return
                yield fetched
        except KeyboardInterrupt:
            self._stop.set()  # the workers' waits end now, so the shutdown below is quick
            raise
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _pages_sequentially(
        self,
        ep: Endpoint,
        previous: _Fetched,
        number: int,
        size: int,
        since: str | None,
        stats: FetchStats,
    ) -> Iterator[_Fetched]:
        """Follow pages one by one until 204, no ``nextPage``, or a short page."""
        parsed = previous.parsed
        while parsed is not None and parsed.next_page and parsed.records.height >= size:
            fetched = self._get_page(ep, number, size, since, stats)
            if fetched.parsed is None:
                return  # 204: past the end
            yield fetched
            parsed = fetched.parsed
            number += 1

    # -- one page, with retries -------------------------------------------------------

    def _get_page(
        self,
        ep: Endpoint,
        number: int,
        size: int,
        since: str | None,
        stats: FetchStats,
    ) -> _Fetched:
        url = f"{self.base_url}{ep.path}"
        params: dict[str, str | int] = {"pageNumber": number, "pageSize": size}
        if since:
            params["updatedSince"] = since
        target = f"{url}?{urlencode(params)}"  # built once; cheaper than httpx's params merge
        pacer = self.pacer(ep.name)
        max_retries = self.settings.max_retries
        attempt = 0  # retries spent
        refreshed = False
        while True:
            if self._stop.is_set():
                raise TransportError(
                    f"GET {ep.path} page {number} not sent: the client was closed or the "
                    "fetch interrupted",
                    endpoint=ep.name,
                    page=number,
                )
            waited, why = pacer.acquire_for()
            if waited:
                stats._add(waited_s=waited)
                if waited >= _REPORT_WAIT_S:
                    self._emit_wait(ep, stats, waited, why or "rate limit pacing")
            correlation_id = new_correlation_id()
            where: dict[str, Any] = {
                "endpoint": ep.name,
                "page": number,
                "correlation_id": correlation_id,
            }
            try:
                token = self._tokens.token()
            except AuthError as exc:
                pacer.release(None)
                raise AuthError(str(exc.args[0]) if exc.args else "token error", **where) from exc
            headers = dict(self._headers)
            headers["Authorization"] = f"Bearer {token}"
            headers["IM-CorrelationID"] = correlation_id
            started = time.perf_counter()
            stats._add(requests=1)
            with self._count_lock:
                self._requests_made += 1
            try:
                response = self._http.get(target, headers=headers)
            except (
                httpx.TimeoutException,
                httpx.NetworkError,
                httpx.RemoteProtocolError,
                httpx.DecodingError,  # a cut-off compressed body
            ) as exc:
                pacer.release(None)
                reason = type(exc).__name__
                self._log(target, None, correlation_id, started, reason)
                if attempt >= max_retries:
                    raise TransportError(
                        f"GET {ep.path} page {number} failed with {reason} after "
                        f"{attempt + 1} attempts; check the network / VENDORKIT_BASE_URL and "
                        "retry later (raise VENDORKIT_TIMEOUT_S for slow links)",
                        **where,
                    ) from exc
                attempt = self._backoff(ep, stats, attempt, reason)
                continue
            except httpx.HTTPError as exc:
                pacer.release(None)
                raise TransportError(
                    f"GET {ep.path} page {number} could not be sent ({type(exc).__name__}); "
                    "check VENDORKIT_BASE_URL",
                    **where,
                ) from exc
            pacer.release(response.headers)
            status = response.status_code
            self._log(target, status, correlation_id, started, None)

            if status == 200:
                body = response.content
                try:
                    parsed = parse_page_body(body, ep)
                except BodyTruncated as exc:
                    if attempt >= max_retries:
                        raise TransportError(
                            f"GET {ep.path} page {number} kept returning a cut-off JSON body "
                            f"({len(body)} bytes) after {attempt + 1} attempts; retry later",
                            **where,
                        ) from exc
                    attempt = self._backoff(ep, stats, attempt, "truncated body")
                    continue
                except BodyNotJSON as exc:
                    kind = response.headers.get("content-type", "unknown content type")
                    raise ContractError(
                        f"GET {ep.path} page {number} answered 200 with a body that is not "
                        f"JSON ({kind}, starts {body[:40]!r}); check VENDORKIT_BASE_URL points "
                        "at the Vendor API (…/vendors/v1), not a web page or proxy",
                        **where,
                    ) from exc
                except MissingListKey as exc:
                    raise ContractError(
                        f"GET {ep.path} page {number} answered JSON without the "
                        f"{ep.list_key!r} records array; the API contract changed or the "
                        "base URL is wrong: report this with the correlation id",
                        **where,
                    ) from exc
                except ValueError as exc:
                    raise ContractError(
                        f"GET {ep.path} page {number}: {exc}; report this with the correlation id",
                        **where,
                    ) from exc
                return _Fetched(
                    self._page(ep, number, body, parsed, response, correlation_id), parsed
                )
            if status == 204:
                return _Fetched(self._page(ep, number, b"", None, response, correlation_id), None)
            if status == 401:
                fault = describe_fault(response.content)
                if not refreshed:
                    refreshed = True
                    self._tokens.invalidate(token)
                    stats._add(token_refreshes=1)
                    continue  # a refresh does not spend a retry
                raise AuthError(
                    self._tokens.redact(
                        f"GET {ep.path} page {number} still got 401 after a fresh token"
                        f"{' (' + fault + ')' if fault else ''}; check that the application "
                        "is entitled to this endpoint and VENDORKIT_PARTNER_ID is right"
                    ),
                    **where,
                )
            if status == 429:
                stats._add(rate_limited=1)
                now = self._clock.wall()
                wait = _wait_after_429(response.headers, now)
                if wait is None:
                    wait = backoff_delay(attempt, rng=self._clock.rng)
                if attempt >= max_retries:
                    raise RateLimitError(
                        f"GET {ep.path} page {number} got 429 Too Many Requests after "
                        f"{attempt + 1} attempts; wait {wait:.0f}s and retry, or lower "
                        "VENDORKIT_WORKERS (another application may share this limit)",
                        status_code=429,
                        errors=_errors_of(response),
                        **where,
                    )
                # every thread of this endpoint waits (reported by pacer.acquire_for)
                pacer.block_for(wait)
                stats._add(retries=1)
                attempt += 1
                continue
            if status in _RETRY_STATUSES and attempt < max_retries:
                attempt = self._backoff(ep, stats, attempt, f"HTTP {status}")
                continue
            detail = describe_fault(response.content)
            advice = (
                f"the server kept failing after {attempt + 1} attempts; retry later"
                if status >= 500
                else "the request was rejected; check VENDORKIT_PARTNER_ID / "
                "VENDORKIT_COUNTRY_CODE and the parameters"
            )
            raise ApiError(
                self._tokens.redact(
                    f"GET {ep.path} page {number} answered HTTP {status}"
                    f"{': ' + detail if detail else ''}; {advice}"
                ),
                status_code=status,
                errors=_errors_of(response),
                **where,
            )

    def _page(
        self,
        ep: Endpoint,
        number: int,
        body: bytes,
        parsed: PageBody | None,
        response: httpx.Response,
        correlation_id: str,
    ) -> Page:
        records = parsed.records if parsed is not None else _empty(ep)
        return Page(
            endpoint=ep.name,
            number=number,
            body=body,
            records=records,
            records_found=parsed.records_found if parsed is not None else None,
            fetched_at=datetime.now(UTC),
            correlation_id=correlation_id,
            status_code=response.status_code,
            server_date=_server_date(response.headers.get("date")),
        )

    def _backoff(self, ep: Endpoint, stats: FetchStats, attempt: int, reason: str) -> int:
        delay = backoff_delay(attempt, rng=self._clock.rng)
        stats._add(retries=1, waited_s=delay)
        self._emit_wait(ep, stats, delay, reason)
        self._clock.sleep(delay)
        return attempt + 1

    # -- progress and logs ------------------------------------------------------------

    def _emit(self, event: ProgressEvent) -> None:
        if self._on_progress is not None:
            with self._progress_lock:
                self._on_progress(event)

    def _emit_wait(self, ep: Endpoint, stats: FetchStats, seconds: float, reason: str) -> None:
        self._emit(
            ProgressEvent(
                endpoint=ep.name,
                kind="wait",
                pages_done=stats.pages,
                pages_total=stats.pages_total,
                records=stats.records,
                bytes=stats.bytes,
                waiting_s=seconds,
                reason=reason,
                source=self.source,
            )
        )

    def _emit_done(self, ep: Endpoint, stats: FetchStats) -> None:
        self._emit(
            ProgressEvent(
                endpoint=ep.name,
                kind="done",
                pages_done=stats.pages,
                pages_total=stats.pages_total,
                records=stats.records,
                bytes=stats.bytes,
                source=self.source,
            )
        )

    @staticmethod
    def _log(
        target: str,
        status: int | None,
        correlation_id: str,
        started: float,
        failure: str | None,
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "GET %s -> %s correlation_id=%s %.3fs",
                target,
                status if status is not None else failure,
                correlation_id,
                time.perf_counter() - started,
            )


def _wait_after_429(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait after a 429: the window's reset when the budget is spent, else
    ``Retry-After``, else the reset if that is all we have; ``None``: back off."""
    until_reset = reset_delay(headers, now=now)
    remaining = headers.get("x-ratelimit-remaining")
    if until_reset is not None and remaining is not None and remaining.strip() in ("0", "-1"):
        return until_reset + RESET_MARGIN_S
    retry_after = parse_retry_after(headers.get("retry-after"), now=now)
    if retry_after is not None:
        return retry_after
    if until_reset is not None:
        return until_reset + RESET_MARGIN_S
    return None


def _errors_of(response: httpx.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict):
        return data.get("errors") or data.get("fault")
    return None


def _server_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _empty(ep: Endpoint) -> pl.DataFrame:
    return pl.DataFrame(schema=ep.wire_schema())


@contextlib.contextmanager
def open_client(
    settings: Settings | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
) -> Iterator[VendorClient]:
    """Open a client on the configured source: the real API, or the built-in sandbox.

    With credentials (``VENDORKIT_CLIENT_ID`` and ``VENDORKIT_CLIENT_SECRET``) the client
    talks to ``settings.base_url`` and never falls back to the sandbox. Without them, the
    sandbox (``settings.sandbox_seed/as_of/scale``) is served on a free loopback port in a
    background thread for the life of the block, and the client talks to it over real HTTP
    with placeholder credentials; ``client.source == "sandbox"`` and a warning is logged.

    Example:
        >>> from vendorkit.config import Settings
        >>> with open_client(Settings()) as client:          # doctest: +SKIP
        ...     client.source
        'sandbox'
    """
    settings = settings or Settings()
    if bool(settings.client_id) != bool(settings.client_secret):
        missing = "VENDORKIT_CLIENT_SECRET" if settings.client_id else "VENDORKIT_CLIENT_ID"
        raise ConfigError(
            f"{missing} is not set: set both VENDORKIT_CLIENT_ID and VENDORKIT_CLIENT_SECRET "
            "for the real API, or neither to use the built-in sandbox"
        )
    if settings.source == "api":
        with VendorClient(settings, on_progress=on_progress, source="api") as client:
            yield client
        return
    from vendorkit.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(
        SandboxConfig(
            seed=settings.sandbox_seed,
            as_of=settings.sandbox_as_of,
            scale=settings.sandbox_scale,
            invalid=settings.sandbox_invalid,
        )
    )
    with sandbox.serve(host="127.0.0.1", port=0) as server:
        local = settings.model_copy(
            update={"base_url": server.base_url, "token_url": server.token_url}
        )
        with VendorClient(local, on_progress=on_progress, source="sandbox") as client:
            client.sandbox = sandbox
            yield client
