"""VendorClient: the Vendor API as it really behaves, as a stream of :class:`Page` objects.

What it does on every call: an OAuth2 bearer token (:mod:`vendorkit.http.auth`, cached until
shortly before expiry, refreshed once on a 401), the Ingram headers (``IM-PartnerID``,
``IM-CountryCode``, a fresh 32-character ``IM-CorrelationID``, ``IM-SenderID``), the retry
policy (:mod:`vendorkit.http.retry`: bounded retries with backoff and jitter on 429 / 5xx /
timeouts / resets / truncated bodies), pacing from the rate-limit headers
(:mod:`vendorkit.http.pacing`) and the pagination strategy (:mod:`vendorkit.http.paging`).
Pages are parsed into polars frames with the endpoint's wire schema
(:mod:`vendorkit.http.body`) inside worker threads, so parsing overlaps fetching.

One ``httpx.Client`` (one connection pool, httpx's own transport) serves every thread,
whether the host is the real API or the local sandbox; tests pass any
``httpx.BaseTransport`` (``httpx.MockTransport``, ``Sandbox(...).transport()``).

Every request is bounded (:mod:`vendorkit.http.bounds`): a total deadline from connect to
the last body byte (``VENDORKIT_REQUEST_DEADLINE_S``), a maximum body size enforced while
streaming (``VENDORKIT_MAX_PAGE_BYTES``, decoded size too: only gzip is asked for and
decoded), and no single wait longer than ``VENDORKIT_MAX_WAIT_S``. Waits of
:data:`LONG_WAIT_S` or more are logged at INFO (and every wait is a progress event).

Example:
    >>> from vendorkit.config import Settings
    >>> with open_client(Settings()) as client:
    ...     result = client.fetch("inventory")
    ...     print(client.source, result.stats.records == result.records().height)
    sandbox True
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import httpx
import polars as pl

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
from vendorkit.http.auth import TokenProvider, describe_fault
from vendorkit.http.body import (
    BodyNotJSON,
    BodyTruncated,
    MissingListKey,
    PageBody,
    parse_page_body,
)
from vendorkit.http.bounds import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    Deadline,
    UnaskedEncoding,
    install_deadline,
    read_body,
)
from vendorkit.http.pacing import Pacer, WaitTooLong
from vendorkit.http.pages import FetchResult, FetchStats, Page, PageSource, ProgressEvent
from vendorkit.http.paging import PageMark, PageNumberPaginator, PageRequest
from vendorkit.http.retry import TRANSIENT_ERRORS, Decision, RetryPolicy

__all__ = [
    "FetchResult",
    "FetchStats",
    "Page",
    "PageSource",
    "ProgressEvent",
    "VendorClient",
    "open_client",
]

logger = logging.getLogger("vendorkit.client")

Source = Literal["sandbox", "api"]

#: Placeholder credentials for the built-in sandbox (it accepts any non-empty pair).
SANDBOX_CLIENT_ID = "vendorkit-sandbox"
SANDBOX_CLIENT_SECRET = "vendorkit-sandbox-secret"

#: Pacing waits shorter than this are not reported as progress events.
_REPORT_WAIT_S = 0.05
#: Waits at least this long are logged at INFO.
LONG_WAIT_S = 10.0


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


#: Correlation ids need to be unique, not secret: drawn from a PRNG seeded from the OS
#: (re-seeded in a forked child), not from ``os.urandom`` per request (a system call per
#: page, and in a busy process a GIL hand-over each time).
_IDS = random.Random()
if hasattr(os, "register_at_fork"):  # pragma: no branch
    os.register_at_fork(after_in_child=_IDS.seed)


def new_correlation_id() -> str:
    """A fresh ``IM-CorrelationID``: a random (version 4) UUID as 32 hex characters
    (Ingram allows <= 32).

    Example:
        >>> cid = new_correlation_id()
        >>> len(cid), cid[12], cid != new_correlation_id()
        (32, '4', True)
    """
    return uuid.UUID(int=_IDS.getrandbits(128), version=4).hex


@dataclass(frozen=True, slots=True)
class _Fetched:
    page: Page
    parsed: PageBody | None  # None for 204
    mark: PageMark | None = None  # for the paginator's repeat guard, computed by the worker


@dataclass(frozen=True, slots=True)
class _Answer:
    """A response whose body was read within the bounds (what the retry policy reads)."""

    status_code: int
    headers: httpx.Headers
    content: bytes


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


#: the setting behind each configurable header, for the error about a non-ASCII value
_HEADER_SETTINGS = {
    "IM-PartnerID": "VENDORKIT_PARTNER_ID",
    "IM-CountryCode": "VENDORKIT_COUNTRY_CODE",
    "IM-SenderID": "VENDORKIT_SENDER_ID",
}


def _raw_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """The fixed headers as ASCII bytes pairs (what httpx sends without re-normalising).

    Example:
        >>> _raw_headers({"IM-CountryCode": "US"})
        [(b'IM-CountryCode', b'US')]
        >>> _raw_headers({"IM-SenderID": "café"})
        Traceback (most recent call last):
        ...
        vendorkit.errors.ConfigError: the IM-SenderID header must be ASCII, got 'café'; fix VENDORKIT_SENDER_ID
    """
    raw = []
    for name, value in headers.items():
        try:
            raw.append((name.encode("ascii"), value.encode("ascii")))
        except UnicodeEncodeError:
            setting = _HEADER_SETTINGS.get(name, "the settings")
            raise ConfigError(
                f"the {name} header must be ASCII, got {value!r}; fix {setting}"
            ) from None
    return raw


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
        clock: wall clock (epoch seconds), for tests (token expiry, pacing, headers).
        sleep: sleep function, for tests (pacing and backoff waits).
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
        self._now = clock or time.time
        self._sleep = sleep or self._interruptible_sleep
        self._retry = RetryPolicy(
            max_retries=settings.max_retries,
            max_wait_s=settings.max_wait_s,
            rng=rng or random.Random(),
        )
        self._deadline = Deadline()
        self._on_progress = on_progress
        self._progress_lock = threading.Lock()
        timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        # one pool for every thread: endpoints x workers, plus the token call
        pool = max(8, 3 * settings.workers + 2)
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            limits=limits,
            verify=True,
            follow_redirects=False,
            # proxies / CA bundles from the environment for the real API; never for loopback
            trust_env=not is_loopback(urlsplit(base_url).hostname),
        )
        install_deadline(self._http, self._deadline)
        # data requests go straight to the transport httpx chose for the base URL (its
        # proxy mount, if the environment configures one): httpx.Client.send's layers
        # around it (auth flow, redirect loop, cookie jar, event hooks) do nothing for
        # these GETs but cost ~0.3 ms of CPU per page
        self._transport = self._http._transport_for_url(httpx.URL(base_url))
        self._extensions = {"timeout": self._http.timeout.as_dict()}
        self._tokens = TokenProvider(
            self._http,
            token_url,
            client_id,
            secret,
            clock=self._now,
            sleep=self._sleep,
        )
        self._headers = {
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Connection": "keep-alive",
            "IM-PartnerID": settings.partner_id,
            "IM-CountryCode": settings.country_code,
            "IM-SenderID": (settings.sender_id or default_sender_id())[:32],
            "User-Agent": default_sender_id(),
        }
        self._raw_headers = _raw_headers(self._headers)
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
                pacer = Pacer(
                    endpoint, now=self._now, sleep=self._sleep, max_wait_s=self.settings.max_wait_s
                )
                self._pacers[endpoint] = pacer
            return pacer

    def iter_pages(
        self,
        endpoint: str,
        updated_since: datetime | date | str | None = None,
        page_size: int | None = None,
        *,
        stats: FetchStats | None = None,
        start_page: int = 1,
    ) -> Iterator[Page]:
        """Yield every page of ``endpoint`` in page order.

        Page 1 is fetched first; when it carries ``recordsFound`` the remaining pages are
        fetched concurrently over ``settings.workers`` threads (each parsing its page) and
        yielded in order. Without ``recordsFound`` pages are fetched one after another until
        a 204, a page without ``nextPage``, or a short page. A seed-shaped body (no envelope)
        is the only page. A 204 on page 1 yields one empty page (``body == b""``); a 204
        later only ends the fetch. The rules are :class:`~vendorkit.http.paging.PageNumberPaginator`'s.

        Args:
            endpoint: ``inventory``, ``orders`` or ``shipments``.
            updated_since: only records updated at or after this instant (``updatedSince``).
            page_size: records per page (default ``settings.page_size``; the API caps it).
            stats: a :class:`FetchStats` to update while fetching (optional).
            start_page: resume a fetch: it starts at this page, whose envelope carries
                ``recordsFound`` like page 1's (no page before it is fetched again).

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
        paginator = PageNumberPaginator(
            ep, page_size or self.settings.page_size, max_records=self.settings.max_records
        )
        request = paginator.init_request(_format_since(updated_since), max(start_page, 1))
        pacer = self.pacer(ep.name)
        started = time.perf_counter()

        def deliver(fetched: _Fetched) -> Page:
            page = fetched.page
            stats.add(pages=1, records=page.records.height, bytes=len(page.body))
            stats.elapsed_s = time.perf_counter() - started
            self._emit(self._event(ep, stats, "page"))
            return page

        pacer.set_demand(None)
        first = self._get_page(ep, request, stats)
        paginator.update_state(first.page, first.parsed, first.mark)
        stats.records_found = paginator.records_found
        stats.pages_total = paginator.pages_total
        yield deliver(first)
        planned = paginator.plan()
        if planned and start_page > planned.start:
            planned = range(min(start_page, planned.stop), planned.stop)
        if planned:
            pacer.set_demand(len(planned))
            request = paginator.update_request(request)  # the page size page 1 settled
            for fetched in self._pages_concurrently(ep, planned, request, stats):
                paginator.update_state(fetched.page, fetched.parsed, fetched.mark)
                if fetched.parsed is None:
                    break  # 204 before recordsFound was reached (the paginator logs it)
                yield deliver(fetched)
            pacer.set_demand(None)
        while paginator.has_next:
            request = paginator.update_request(request)
            fetched = self._get_page(ep, request, stats)
            paginator.update_state(fetched.page, fetched.parsed, fetched.mark)
            if fetched.parsed is None:
                break  # 204: past the end
            yield deliver(fetched)
        self._emit(self._event(ep, stats, "done"))

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

    # -- pages over worker threads ----------------------------------------------------

    def _pages_concurrently(
        self,
        ep: Endpoint,
        numbers: range,
        template: PageRequest,
        stats: FetchStats,
    ) -> Iterator[_Fetched]:
        """Fetch ``numbers`` over worker threads; yield in page order (bounded look-ahead)."""
        workers = max(1, min(self.settings.workers, len(numbers)))
        window = workers * 2
        todo = iter(numbers)
        pending: deque[Future[_Fetched]] = deque()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"vendorkit-{ep.name}")

        def submit(number: int) -> None:
            request = PageRequest(number, template.size, template.updated_since)
            pending.append(pool.submit(self._get_page, ep, request, stats))

        try:
            for number in todo:
                submit(number)
                if len(pending) >= window:
                    break
            while pending:
                fetched = pending.popleft().result()
                following = next(todo, None)
                if following is not None:
                    submit(following)
                yield fetched
        except KeyboardInterrupt:
            self._stop.set()  # the workers' waits end now, so the shutdown below is quick
            raise
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    # -- one page, with retries -------------------------------------------------------

    def _get_page(self, ep: Endpoint, request: PageRequest, stats: FetchStats) -> _Fetched:
        number = request.number
        # built once; cheaper than httpx's params merge
        target = f"{self.base_url}{ep.path}?{urlencode(request.params())}"
        pacer = self.pacer(ep.name)
        attempt = 0  # retries spent
        refreshed = False
        refused_at: float | None = None  # when the request that got a 401 was sent
        while True:
            if self._stop.is_set():
                raise TransportError(
                    f"GET {ep.path} page {number} not sent: the client was closed or the "
                    "fetch interrupted",
                    endpoint=ep.name,
                    page=number,
                )
            try:
                waited, _ = pacer.acquire_for(
                    on_wait=lambda seconds, reason: self._announce_wait(
                        ep, number, stats, seconds, reason
                    )
                )
            except WaitTooLong as exc:
                raise self._too_long(ep, number, exc.seconds, exc.reason) from None
            if waited:
                stats.add(waited_s=waited)
            correlation_id = new_correlation_id()
            where: dict[str, Any] = {
                "endpoint": ep.name,
                "page": number,
                "correlation_id": correlation_id,
            }
            try:
                with self._deadline.within(self.settings.request_deadline_s):
                    token = self._tokens.token(issued_after=refused_at)
            except AuthError as exc:
                pacer.release(None)
                raise AuthError(str(exc.args[0]) if exc.args else "token error", **where) from exc
            # as bytes pairs: httpx keeps them as they are instead of normalising a dict
            headers = [
                *self._raw_headers,
                (b"Authorization", f"Bearer {token}".encode()),
                (b"IM-CorrelationID", correlation_id.encode()),
            ]
            started = time.perf_counter()
            sent_at = self._now()
            stats.add(requests=1)
            with self._count_lock:
                self._requests_made += 1
            outcome: _Answer | Exception
            parsed: PageBody | None = None
            try:
                answer = self._send(target, headers)
            except (BodyTooLarge, UnaskedEncoding) as exc:
                pacer.release(None)
                self._log(target, None, correlation_id, started, type(exc).__name__)
                raise self._bound_error(ep, number, exc, where) from None
            except httpx.HTTPError as exc:
                pacer.release(None)
                self._log(target, None, correlation_id, started, type(exc).__name__)
                outcome = exc
            else:
                pacer.release(answer.headers)
                self._log(target, answer.status_code, correlation_id, started, None)
                outcome = answer
                if answer.status_code == 200:
                    broken: ContractError | None = None
                    try:
                        parsed = parse_page_body(answer.content, ep)
                    except BodyTruncated as exc:
                        outcome = exc
                    except ValueError as exc:
                        broken = self._contract_error(ep, number, answer, exc, where)
                    if broken is not None:
                        # raised outside the handler: the ValueError (which may quote an
                        # envelope value echoing the token, unredacted) is not chained
                        raise broken
                elif answer.status_code == 429:
                    stats.add(rate_limited=1)
            decision = self._retry.classify(
                outcome, attempt=attempt, now=self._now(), refreshed=refreshed
            )
            if decision.action == "accept":
                assert isinstance(outcome, _Answer)
                page = self._page(ep, number, parsed, outcome, correlation_id)
                mark = PageMark.of(ep, page.body, parsed.records) if parsed is not None else None
                return _Fetched(page, parsed, mark)
            if decision.action == "refresh":
                refreshed = True  # a refresh does not spend a retry
                refused_at = sent_at
                self._tokens.invalidate(token)
                stats.add(token_refreshes=1)
                continue
            if decision.action == "wait":
                # every thread of this endpoint waits (announced by pacer.acquire_for)
                pacer.block_for(decision.delay_s)
                stats.add(retries=1)
                attempt += 1
                continue
            if decision.action == "retry":
                stats.add(retries=1, waited_s=decision.delay_s)
                self._announce_wait(ep, number, stats, decision.delay_s, decision.reason)
                self._sleep(decision.delay_s)
                attempt += 1
                continue
            failure = self._failure(ep, number, outcome, decision, attempt, where)
            if isinstance(outcome, BaseException):
                raise failure from outcome
            raise failure

    def _send(self, target: str, headers: list[tuple[bytes, bytes]]) -> _Answer:
        """GET ``target``, streamed: connect to last body byte within the deadline, the
        body within the size bound (decoded)."""
        limit = self.settings.request_deadline_s
        started = time.monotonic()
        request = httpx.Request("GET", target, headers=headers, extensions=self._extensions)
        try:
            with self._deadline.within(limit):
                response = self._transport.handle_request(request)
                try:
                    content = read_body(response, self.settings.max_page_bytes)
                finally:
                    response.close()  # the connection goes back to the pool
                return _Answer(response.status_code, response.headers, content)
        except httpx.TimeoutException as exc:
            if time.monotonic() - started >= limit:
                raise _DeadlinePassed(f"the request deadline passed ({exc})") from exc
            raise

    def _announce_wait(
        self, ep: Endpoint, number: int, stats: FetchStats, seconds: float, reason: str
    ) -> None:
        """Tell progress (and, for a long wait, the INFO log) that a wait starts now."""
        if seconds >= LONG_WAIT_S:
            until = datetime.fromtimestamp(self._now() + seconds, UTC)
            logger.info(
                "%s page %d: waiting %.0fs (%s), until %s",
                ep.name,
                number,
                seconds,
                reason,
                until.isoformat(timespec="seconds"),
            )
        if seconds >= _REPORT_WAIT_S:
            self._emit_wait(ep, stats, seconds, reason)

    def _too_long(self, ep: Endpoint, number: int, seconds: float, reason: str) -> RateLimitError:
        until = datetime.fromtimestamp(self._now() + seconds, UTC).isoformat(timespec="seconds")
        return RateLimitError(
            f"GET {ep.path} page {number}: the server asks to wait {seconds:,.0f}s ({reason}), "
            f"longer than VENDORKIT_MAX_WAIT_S={self.settings.max_wait_s:g}; retry after "
            f"{until} (or raise VENDORKIT_MAX_WAIT_S)",
            status_code=429 if reason.startswith("429") else None,
            endpoint=ep.name,
            page=number,
            retry_after_s=seconds,
            retry_at=until,
        )

    def _bound_error(
        self, ep: Endpoint, number: int, exc: ValueError, where: dict[str, Any]
    ) -> ContractError:
        if isinstance(exc, BodyTooLarge) and exc.gzip:
            text = (
                f"GET {ep.path} page {number}: {exc} (VENDORKIT_MAX_PAGE_BYTES="
                f"{self.settings.max_page_bytes:,}); reading stopped there. Check "
                "VENDORKIT_BASE_URL and report the server with the correlation id; raise "
                f"VENDORKIT_MAX_PAGE_BYTES only if a page of {self.settings.page_size} records "
                "really inflates that far"
            )
        elif isinstance(exc, BodyTooLarge):
            text = (
                f"GET {ep.path} page {number}: {exc} (VENDORKIT_MAX_PAGE_BYTES="
                f"{self.settings.max_page_bytes:,}); reading stopped there. A page of "
                f"{self.settings.page_size} records is far smaller: check VENDORKIT_BASE_URL, "
                "or raise VENDORKIT_MAX_PAGE_BYTES if the pages really are that big"
            )
        else:
            text = f"GET {ep.path} page {number}: {exc}; report this with the correlation id"
        return ContractError(self._tokens.redact(text), **where)

    def _contract_error(
        self,
        ep: Endpoint,
        number: int,
        response: _Answer,
        exc: ValueError,
        where: dict[str, Any],
    ) -> ContractError:
        """A 200 whose body breaks the contract (not retried)."""
        if isinstance(exc, BodyNotJSON):
            kind = response.headers.get("content-type", "unknown content type")
            text = (
                f"GET {ep.path} page {number} answered 200 with a body that is not JSON "
                f"({kind}, starts {response.content[:40]!r}); check VENDORKIT_BASE_URL points "
                "at the Vendor API (…/vendors/v1), not a web page or proxy"
            )
        elif isinstance(exc, MissingListKey):
            text = (
                f"GET {ep.path} page {number} answered JSON without the {ep.list_key!r} "
                "records array; the API contract changed or the base URL is wrong: report "
                "this with the correlation id"
            )
        else:
            text = f"GET {ep.path} page {number}: {exc}; report this with the correlation id"
        return ContractError(self._tokens.redact(text), **where)

    def _failure(
        self,
        ep: Endpoint,
        number: int,
        outcome: _Answer | Exception,
        decision: Decision,
        attempt: int,
        where: dict[str, Any],
    ) -> VendorkitError:
        """The error for a ``fail`` decision: what happened, and what to do."""
        attempts = attempt + 1
        if isinstance(outcome, BodyTruncated):
            return TransportError(
                f"GET {ep.path} page {number} kept returning a cut-off JSON body after "
                f"{attempts} attempts; retry later",
                **where,
            )
        if isinstance(outcome, _DeadlinePassed):
            return TransportError(
                f"GET {ep.path} page {number} did not finish within VENDORKIT_REQUEST_DEADLINE_S"
                f"={self.settings.request_deadline_s:g}s (connect to last body byte) in "
                f"{attempts} attempts: the server answers too slowly; retry later, or raise "
                "VENDORKIT_REQUEST_DEADLINE_S for a slow link",
                **where,
            )
        if isinstance(outcome, BaseException):
            if isinstance(outcome, TRANSIENT_ERRORS):
                return TransportError(
                    f"GET {ep.path} page {number} failed with {decision.reason} after "
                    f"{attempts} attempts; check the network / VENDORKIT_BASE_URL and retry "
                    "later (raise VENDORKIT_TIMEOUT_S for slow links)",
                    **where,
                )
            return TransportError(
                f"GET {ep.path} page {number} could not be sent ({decision.reason}); "
                "check VENDORKIT_BASE_URL",
                **where,
            )
        status = outcome.status_code
        detail = describe_fault(outcome.content)
        if status == 401:
            return AuthError(
                self._tokens.redact(
                    f"GET {ep.path} page {number} still got 401 after a fresh token"
                    f"{' (' + detail + ')' if detail else ''}; check that the application "
                    "is entitled to this endpoint and VENDORKIT_PARTNER_ID is right"
                ),
                **where,
            )
        if status == 429 and decision.delay_s > self.settings.max_wait_s:
            return self._too_long(ep, number, decision.delay_s, "429 rate limited")
        if status == 429:
            advice = self._retry.advice_after_429(
                outcome.headers, delay_s=decision.delay_s, now=self._now()
            )
            return RateLimitError(
                self._tokens.redact(
                    f"GET {ep.path} page {number} got 429 Too Many Requests after {attempts} "
                    f"attempts; {advice}"
                ),
                status_code=429,
                errors=_errors_of(outcome),
                **where,
            )
        if status >= 500 and decision.delay_s > self.settings.max_wait_s:
            until = datetime.fromtimestamp(self._now() + decision.delay_s, UTC)
            advice = (
                f"it asks to wait {decision.delay_s:,.0f}s (Retry-After), longer than "
                f"VENDORKIT_MAX_WAIT_S={self.settings.max_wait_s:g}: stopped; retry after "
                f"{until.isoformat(timespec='seconds')} (or raise VENDORKIT_MAX_WAIT_S)"
            )
        elif status >= 500:
            advice = f"the server kept failing after {attempts} attempts; retry later"
        else:
            advice = _hint(status, detail, outcome.headers)
        return ApiError(
            self._tokens.redact(
                f"GET {ep.path} page {number} answered HTTP {status}"
                f"{': ' + detail if detail else ''}; {advice}"
            ),
            status_code=status,
            errors=_errors_of(outcome),
            **where,
        )

    def _page(
        self,
        ep: Endpoint,
        number: int,
        parsed: PageBody | None,
        response: _Answer,
        correlation_id: str,
    ) -> Page:
        return Page(
            endpoint=ep.name,
            number=number,
            body=response.content if parsed is not None else b"",
            records=parsed.records if parsed is not None else _empty(ep),
            records_found=parsed.records_found if parsed is not None else None,
            fetched_at=datetime.now(UTC),
            correlation_id=correlation_id,
            status_code=response.status_code,
            server_date=_server_date(response.headers.get("date")),
        )

    # -- progress and logs ------------------------------------------------------------

    def _emit(self, event: ProgressEvent) -> None:
        if self._on_progress is not None:
            with self._progress_lock:
                self._on_progress(event)

    def _event(
        self,
        ep: Endpoint,
        stats: FetchStats,
        kind: Literal["page", "wait", "done"],
        seconds: float = 0.0,
        reason: str | None = None,
    ) -> ProgressEvent:
        return ProgressEvent(
            endpoint=ep.name,
            kind=kind,
            pages_done=stats.pages,
            pages_total=stats.pages_total,
            records=stats.records,
            bytes=stats.bytes,
            waiting_s=seconds,
            reason=reason,
            source=self.source,
            rate_limit=self.pacer(ep.name).limit,
        )

    def _emit_wait(self, ep: Endpoint, stats: FetchStats, seconds: float, reason: str) -> None:
        self._emit(self._event(ep, stats, "wait", seconds, reason))

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


class _DeadlinePassed(httpx.TimeoutException):
    """The request's total deadline passed (a timeout: the retry policy retries it)."""


#: 4xx hints: words in the server's error text -> the setting to look at.
_HINTS_400 = (
    ("pagesize", "lower VENDORKIT_PAGE_SIZE (the API allows at most 100 per page)"),
    ("partner", "check VENDORKIT_PARTNER_ID (your Ingram Micro vendor id, e.g. US123456)"),
    ("country", "check VENDORKIT_COUNTRY_CODE (2 letters, e.g. US)"),
    ("sender", "check VENDORKIT_SENDER_ID (at most 32 characters)"),
    ("updatedsince", "the server refused updatedSince: run a full sync (full=True)"),
)


def _hint(status: int, detail: str, headers: Mapping[str, str]) -> str:
    """What to do about a 3xx / 4xx, pointing at the setting the error is about.

    Example:
        >>> _hint(400, "pageSize must be <= 100 (fields: pageSize)", {})
        'the request was rejected; lower VENDORKIT_PAGE_SIZE (the API allows at most 100 per page)'
        >>> _hint(301, "", {"location": "https://api.example.com/v2/inventory"})[:48]
        'the URL moved (Location: https://api.example.com'
    """
    if 300 <= status < 400:
        location = str(headers.get("location") or "not given")[:120]
        return (
            f"the URL moved (Location: {location}); vendorkit does not follow redirects "
            "(the token would go along): check VENDORKIT_BASE_URL"
        )
    if status == 403:
        return (
            "the application is not entitled to this endpoint: check the API subscription "
            "and VENDORKIT_PARTNER_ID"
        )
    if status == 404:
        return "no such endpoint there: check VENDORKIT_BASE_URL ends in /vendors/v1"
    text = detail.lower().replace("_", "").replace("-", "").replace(" ", "")
    hints = [hint for word, hint in _HINTS_400 if word in text]
    if hints:
        return "the request was rejected; " + "; ".join(hints)
    return (
        "the request was rejected; check VENDORKIT_PARTNER_ID / VENDORKIT_COUNTRY_CODE and "
        "the parameters"
    )


def _errors_of(response: _Answer) -> Any:
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    if isinstance(data, dict):
        return data.get("errors") or data.get("fault")
    return None


def _server_date(value: str | None) -> datetime | None:
    """The ``Date`` header as a UTC datetime (``None``: absent or unreadable).

    Example:
        >>> _server_date("Tue, 01 Dec 2026 10:00:00 GMT").isoformat()
        '2026-12-01T10:00:00+00:00'
        >>> _server_date("yesterday") is None
        True
    """
    if not value:
        return None
    return _parse_server_date(value)


@functools.lru_cache(maxsize=64)
def _parse_server_date(value: str) -> datetime | None:
    # the header changes once a second: every page of that second shares one parse
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
    *,
    sandbox_syncs_before: int = 0,
) -> Iterator[VendorClient]:
    """Open a client on the configured source: the real API, or the built-in sandbox.

    With credentials (``VENDORKIT_CLIENT_ID`` and ``VENDORKIT_CLIENT_SECRET``) the client
    talks to ``settings.base_url`` and never falls back to the sandbox. Without them, the
    sandbox (``settings.sandbox_seed/as_of/scale``) is served on a free loopback port in a
    background thread for the life of the block, and the client talks to it over real HTTP
    with placeholder credentials; ``client.source == "sandbox"`` and a warning is logged.
    ``sandbox_syncs_before`` builds that sandbox as it stands after so many syncs (its clock
    one ``sync_step`` later per sync, the world changed as often): a handle passes the number
    of syncs its store has seen, so the n-th sync of a store sees the n-th day.

    Example:
        >>> from vendorkit.config import Settings
        >>> with open_client(Settings()) as client:
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
            syncs_before=sandbox_syncs_before,
        )
    )
    with sandbox.serve(host="127.0.0.1", port=0) as server:
        local = settings.model_copy(
            update={"base_url": server.base_url, "token_url": server.token_url}
        )
        with VendorClient(local, on_progress=on_progress, source="sandbox") as client:
            client.sandbox = sandbox
            yield client
