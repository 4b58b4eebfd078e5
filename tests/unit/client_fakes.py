"""A small in-process fake of the Vendor API for the client's unit tests (httpx.MockTransport).

It serves a known list of records, so tests compare what the client returns with the fake's
own data (never with the client's output). Faults are queued per page: each request for that
page first consumes one queued fault (a response factory or an exception to raise).
"""

from __future__ import annotations

import json
import math
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx

SECRET = "Sup3r-S3cret-Value-42"
TOKEN_PREFIX = "tok-Zq9x"

Fault = Callable[[httpx.Request], httpx.Response] | Exception


class FakeClock:
    """Wall clock that only moves when someone sleeps (thread-safe)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(seconds, 0.0)


def inventory_records(n: int) -> list[dict[str, Any]]:
    """``n`` inventory records with the wire quirks (numbers as strings, ids as int or str)."""
    records = []
    for i in range(n):
        rec: dict[str, Any] = {
            "partNumber": f"P{i:05d}",
            "warehouse": 20 if i % 2 else "10",
            "quantity": str(i % 97) if i % 3 else i % 97,
            "lastUpdated": "2026-10-01T12:00:00-07:00",
        }
        if i % 5 == 0:
            rec["warehouseName"] = "Fort Worth, TX"
        records.append(rec)
    return records


class FakeApi:
    """The Vendor API, as far as the client's unit tests need it.

    Args:
        records: per endpoint name, the records served (in order).
        envelope: ``"full"`` (recordsFound as a string, pageSize, nextPage), ``"no_size"``
            (the same without pageSize),
            ``"no_total"`` (no recordsFound; nextPage on every page), ``"seed"`` (no
            envelope: the whole list in one body, query ignored).
        max_page_size: the server caps pageSize at this (and says so in the envelope).
        token_ttl: ``expires_in`` of issued tokens (sent as a string).
        rate_limit: ``(limit, window_s)`` to enforce per endpoint, with headers; needs a clock.
        clock: time source for token expiry and rate-limit windows.
    """

    def __init__(
        self,
        records: dict[str, list[dict[str, Any]]] | None = None,
        *,
        envelope: str = "full",
        max_page_size: int = 100,
        token_ttl: float = 3600,
        rate_limit: tuple[int, float] | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        self.records = records if records is not None else {"inventory": inventory_records(250)}
        self.envelope = envelope
        self.max_page_size = max_page_size
        self.token_ttl = token_ttl
        self.rate_limit = rate_limit
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.bodies: dict[tuple[str, int], bytes] = {}
        self.faults: dict[tuple[str, int], deque[Fault]] = defaultdict(deque)
        self.token_faults: deque[Fault] = deque()
        self.tokens: dict[str, float] = {}  # token -> expiry
        self.window: dict[str, tuple[float, int]] = {}  # endpoint -> (window start, used)
        self.status_429 = 0
        self._lock = threading.Lock()
        self._token_seq = 0

    # -- helpers for tests -------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def fail(self, endpoint: str, page: int, *faults: Fault) -> None:
        self.faults[(endpoint, page)].extend(faults)

    def api_requests(self, endpoint: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if "/oauth/" not in r.url.path and (endpoint is None or r.url.path.endswith(endpoint))
        ]

    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "/oauth/" in r.url.path]

    def _now(self) -> float:
        return self.clock.time() if self.clock else 0.0

    # -- the server --------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if request.url.path.endswith("/oauth/oauth30/token"):
            return self._token(request)
        endpoint = request.url.path.rsplit("/", 1)[-1]
        query = parse_qs(request.url.query.decode())
        number = int(query.get("pageNumber", ["1"])[0])
        with self._lock:
            queue = self.faults.get((endpoint, number))
            fault = queue.popleft() if queue else None
        if isinstance(fault, Exception):
            raise fault
        if fault is not None:
            return fault(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if token not in self.tokens or self.tokens[token] <= self._now():
            return httpx.Response(
                401,
                json={
                    "fault": {
                        "faultstring": "Invalid access token",
                        "detail": {"errorcode": "oauth.v2.InvalidAccessToken"},
                    }
                },
            )
        headers = self._rate_headers(endpoint)
        if headers is None:
            self.status_429 += 1
            start, _ = self.window[endpoint]
            assert self.rate_limit is not None
            return httpx.Response(
                429,
                json={"errors": [{"field": None, "message": "too many requests"}]},
                headers={
                    "X-RateLimit-Limit": str(self.rate_limit[0]),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(math.ceil(start + self.rate_limit[1])),
                },
            )
        return self._page(endpoint, query, number, headers)

    def _token(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            fault = self.token_faults.popleft() if self.token_faults else None
        if isinstance(fault, Exception):
            raise fault
        if fault is not None:
            return fault(request)
        form = parse_qs(request.content.decode())
        if form.get("client_secret") != [SECRET] or form.get("grant_type") != [
            "client_credentials"
        ]:
            return httpx.Response(
                401,
                json={
                    "fault": {
                        "faultstring": "Invalid client identifier",
                        "detail": {"errorcode": "oauth.v2.InvalidClientIdentifier"},
                    }
                },
            )
        with self._lock:
            self._token_seq += 1
            token = f"{TOKEN_PREFIX}{self._token_seq:04d}"
            self.tokens[token] = self._now() + self.token_ttl
        return httpx.Response(
            200,
            json={"access_token": token, "token_type": "Bearer", "expires_in": str(self.token_ttl)},
        )

    def _rate_headers(self, endpoint: str) -> dict[str, str] | None:
        if self.rate_limit is None:
            return {}
        limit, window_s = self.rate_limit
        now = self._now()
        with self._lock:
            start, used = self.window.get(endpoint, (now, 0))
            if now >= start + window_s:
                start, used = now, 0
            if used >= limit:
                self.window[endpoint] = (start, used)
                return None
            used += 1
            self.window[endpoint] = (start, used)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - used),
            "X-RateLimit-Reset": str(math.ceil(start + window_s)),
        }

    def _page(
        self, endpoint: str, query: dict[str, list[str]], number: int, headers: dict[str, str]
    ) -> httpx.Response:
        records = self.records[endpoint]
        if self.envelope == "seed":
            body = json.dumps({endpoint: records}).encode()
            self.bodies[(endpoint, number)] = body
            return httpx.Response(200, content=body, headers=headers)
        size = min(int(query.get("pageSize", ["25"])[0]), self.max_page_size)
        chunk = records[(number - 1) * size : number * size]
        if not chunk:
            return httpx.Response(204, headers=headers)
        envelope: dict[str, Any] = {"pageSize": size, "pageNumber": number}
        if self.envelope == "no_size":  # recordsFound, but the (capped) pageSize is not said
            del envelope["pageSize"]
        if self.envelope in ("full", "no_size"):
            envelope["recordsFound"] = str(len(records))
            has_next = number * size < len(records)
        else:  # no_total: nextPage always, the client must stop on a short page or 204
            has_next = True
        envelope["nextPage"] = (
            f"/vendors/v1/{endpoint}?pageNumber={number + 1}&pageSize={size}" if has_next else None
        )
        envelope["previousPage"] = None
        envelope[endpoint] = chunk
        body = json.dumps(envelope).encode()
        self.bodies[(endpoint, number)] = body
        return httpx.Response(
            200, content=body, headers={**headers, "Content-Type": "application/json"}
        )
