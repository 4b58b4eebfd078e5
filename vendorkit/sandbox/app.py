"""The sandbox application: one request handler behind both the server and the transport.

:meth:`SandboxApp.handle` takes a method, path, query string, headers and body and returns a
:class:`Response` (status, headers, body, plus an optional fault *action* that the transport or
the real server carries out: sleep past the client's timeout, or drop the connection
mid-body). All shared state (tokens, rate-limit windows, fault plan, counters, the world) sits
behind one lock; pages are cut from pre-rendered JSON outside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np

from vendorkit.endpoints import ENDPOINT_NAMES
from vendorkit.sandbox import hostile
from vendorkit.sandbox.clock import from_epoch
from vendorkit.sandbox.config import SandboxConfig
from vendorkit.sandbox.faults import Fault, FaultPlan
from vendorkit.sandbox.mutate import between_syncs, mutate_world
from vendorkit.sandbox.render import (
    Served,
    build_served,
    make_invalid,
    served_endpoints,
    update_served,
)
from vendorkit.sandbox.world import World, build_world

__all__ = ["BASE_PATH", "TOKEN_PATH", "Response", "SandboxApp"]

BASE_PATH = "/vendors/v1"
TOKEN_PATH = "/oauth/oauth30/token"
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_JSON = ("Content-Type", "application/json")


@dataclass(slots=True)
class Response:
    """An answer of the sandbox app.

    Attributes:
        status: HTTP status code.
        headers: response headers (``Content-Length`` is added by the server/transport).
        body: the body bytes.
        action: ``None``, ``"slow"`` (wait ``delay_s`` first) or ``"drop"`` (send the headers
            with the full Content-Length, ``drop_at`` bytes of body, then close).
        delay_s: seconds to wait before answering (latency and slow faults).
        drop_at: bytes of the body sent before a drop.
        endpoint: the endpoint name (for counters), or ``"token"`` / ``"other"``.
        records: how many records the page carries.
        stream: the body as chunks instead of ``body`` (huge and endless bodies).
        content_length: the length of ``stream``; ``None`` = chunked transfer encoding.
        trickle_body_s: send the body one byte every this many seconds.
        trickle_headers_s: send the status line and each header line this far apart.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    action: str | None = None
    delay_s: float = 0.0
    drop_at: int = 0
    endpoint: str = "other"
    records: int = 0
    stream: Iterable[bytes] | None = None
    content_length: int | None = None
    trickle_body_s: float | None = None
    trickle_headers_s: float | None = None


def _errors(
    message: str,
    fields: list[dict[str, Any]] | None = None,
    *,
    kind: str = "/errors/validation-failed",
    error_id: str = "",
) -> bytes:
    body = {"errors": [{"id": error_id, "type": kind, "message": message, "fields": fields or []}]}
    return json.dumps(body, separators=(",", ":")).encode()


def _fault_body(faultstring: str, errorcode: str) -> bytes:
    return json.dumps(
        {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}},
        separators=(",", ":"),
    ).encode()


def _first_record_end(body: bytes, start: int) -> int:
    """Where the first record of a page body (starting at ``start``) ends."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(body)):
        c = body[i]
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in (0x7B, 0x5B):
            depth += 1
        elif c in (0x7D, 0x5D):
            depth -= 1
            if depth == 0:
                return i + 1
    return len(body)


def _parse_since(text: str) -> datetime:
    value = text.strip()
    if " " in value and "T" in value:  # an unencoded "+hh:mm" offset arrives as " hh:mm"
        head, _, tail = value.rpartition(" ")
        value = f"{head}+{tail}"
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _EndpointStats:
    requests: int = 0
    status_codes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    rate_limited: int = 0
    pages_served: int = 0
    records_served: int = 0
    faults: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: epoch seconds (limiter clock) of the first and the last request answered
    first_at: float | None = None
    last_at: float | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "first_request_at": self.first_at,
            "last_request_at": self.last_at,
            "requests": self.requests,
            "status_codes": dict(sorted(self.status_codes.items())),
            "rate_limited": self.rate_limited,
            "pages_served": self.pages_served,
            "records_served": self.records_served,
            "faults": dict(sorted(self.faults.items())),
        }


class SandboxApp:
    """The sandbox Vendor API as a plain request -> :class:`Response` function (thread-safe).

    Example:
        >>> app = SandboxApp(SandboxConfig(scale=0.02))
        >>> app.handle("POST", "/oauth/oauth30/token", "", {},
        ...            b"grant_type=client_credentials&client_id=a&client_secret=b").status
        200
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self.world: World = build_world(config)
        # the routes: the built-in endpoints and any catalog endpoint with a renderer
        self._invalid = {ep: make_invalid(self.world, ep) for ep in served_endpoints()}
        self._served: dict[str, Served] = {
            ep: build_served(self.world, ep, self._invalid[ep]) for ep in self._invalid
        }
        self._tokens: dict[str, tuple[str, float]] = {}
        self._tokens_issued = 0
        # client id -> (issued at, advertised lifetime) of its newest token
        self._newest_token: dict[str, tuple[float, float]] = {}
        self._sync_steps = 0
        self.last_sync_changes: dict[str, int] = {}
        self._clock = config.now
        self._windows: dict[tuple[str, str], _Window] = {}
        self._faults = FaultPlan(config.faults, config.seed)
        self._data_calls = 0
        self._since_cache: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._mutations = 0
        self._stats: dict[str, _EndpointStats] = defaultdict(_EndpointStats)
        for _ in range(config.syncs_before):
            self._sync_step()

    # ------------------------------------------------------------------ clocks
    @property
    def now(self) -> datetime:
        """The virtual clock (data timestamps and the ``Date`` header)."""
        with self._lock:
            self._follow_clock()
            return self.world.now

    @property
    def sync_steps(self) -> int:
        """How many sync steps the virtual clock has taken (``syncs_before`` included)."""
        return self._sync_steps

    def _mono(self) -> float:
        """Seconds on the limiter clock (rate-limit windows, token expiry, maintenance)."""
        return self._clock() if self._clock is not None else time.monotonic()

    def _epoch(self) -> float:
        """Epoch seconds on the limiter clock (``X-RateLimit-Reset``)."""
        return self._clock() if self._clock is not None else time.time()

    def _follow_clock(self) -> None:
        """With an injected clock, the virtual clock is that clock (never going backwards)."""
        if self._clock is not None:
            t = from_epoch(self._clock())
            if t > self.world.now:
                self.world.now = t

    def _sync_step(self) -> None:
        """One step between syncs: the clock moves by ``sync_step``, then a day's changes."""
        step = self.config.sync_step
        assert step is not None
        self._sync_steps += 1
        self.world.now = self.world.now + step
        changes = between_syncs(self.world, self._sync_steps)
        self.last_sync_changes = changes.counts
        for ep, rows in changes.rows.items():
            if ep != "shipments" or not changes.new_shipments:
                self._served[ep] = update_served(self.world, ep, self._served[ep], rows)
        if changes.new_shipments:  # new shipments take their place in key order
            self.world.shipments = self.world.shipments.sort("shipment_id")
            self._served["shipments"] = build_served(
                self.world, "shipments", self._invalid["shipments"]
            )

    # ------------------------------------------------------------------ state helpers

    def served(self, endpoint: str) -> Served:
        """The current full listing of an endpoint."""
        return self._served[endpoint]

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The endpoints this app serves (its routes below ``BASE_PATH``)."""
        return tuple(self._served)

    def stats(self) -> dict[str, dict[str, Any]]:
        """A snapshot of the per-endpoint counters."""
        with self._lock:
            return {k: v.snapshot() for k, v in sorted(self._stats.items())}

    def reset_stats(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._stats.clear()

    def mutate(
        self,
        fraction: float,
        endpoints: tuple[str, ...] | None,
        advance: timedelta = timedelta(minutes=1),
    ) -> dict[str, int]:
        """Advance the virtual clock and change records (see :meth:`Sandbox.mutate`)."""
        eps = tuple(endpoints or ENDPOINT_NAMES)
        with self._lock:
            self._follow_clock()
            self.world.now = self.world.now + advance
            self._mutations += 1
            changed = mutate_world(self.world, fraction, eps, self._mutations)
            for ep, rows in changed.items():
                self._served[ep] = update_served(self.world, ep, self._served[ep], rows)
            return {ep: len(rows) for ep, rows in changed.items()}

    def _headers(self, corr: str | None) -> list[tuple[str, str]]:
        headers = [("Date", format_datetime(self.world.now, usegmt=True))]
        if corr:
            headers.append(("IM-CorrelationID", corr))
        return headers

    def _finish(self, resp: Response) -> Response:
        fc = self.config.faults
        if fc.hostile and resp.endpoint in ENDPOINT_NAMES:
            resp.headers = self._hostile_headers(resp, fc)
        st = self._stats[resp.endpoint]
        st.requests += 1
        st.last_at = self._epoch()
        if st.first_at is None:
            st.first_at = st.last_at
        st.status_codes[resp.status] += 1
        if resp.status == 429:
            st.rate_limited += 1
        return resp

    # ------------------------------------------------------------------ entry point
    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """Answer one request. ``headers`` keys may be any case.

        Example:
            >>> app = SandboxApp(SandboxConfig(scale=0.02))
            >>> app.handle("GET", "/vendors/v1/inventory", "", {}, b"").status
            401
        """
        hdrs = {k.lower(): v for k, v in headers.items()}
        corr = hdrs.get("im-correlationid")
        with self._lock:
            self._follow_clock()
            if self.config.faults.maintenance and (
                path == TOKEN_PATH or path.startswith(BASE_PATH + "/")
            ):
                closed = self._maintenance(path, corr)
                if closed is not None:
                    return self._finish(closed)
            if path == TOKEN_PATH:
                return self._finish(self._token(method, hdrs, body, corr))
            prefix = BASE_PATH + "/"
            name = path[len(prefix) :].rstrip("/") if path.startswith(prefix) else ""
            if name not in self._served:
                routes = ", /".join(self._served)
                return self._finish(
                    Response(
                        404,
                        [*self._headers(corr), _JSON],
                        _errors(
                            f"no such resource {path}; use {BASE_PATH}/{routes}",
                            kind="/errors/not-found",
                        ),
                        endpoint="other",
                    )
                )
            if method != "GET":
                return self._finish(
                    Response(
                        405,
                        [*self._headers(corr), _JSON, ("Allow", "GET")],
                        _errors(
                            f"method {method} not allowed on {path}; use GET",
                            kind="/errors/method-not-allowed",
                        ),
                        endpoint=name,
                    )
                )
            pre = self._gate(name, hdrs, query, corr)
            if isinstance(pre, Response):
                return self._finish(pre)
            params, rl_headers, fault = pre
            if self.config.faults.always_429:
                return self._finish(
                    Response(
                        429,
                        [*self._headers(corr), *rl_headers, _JSON],
                        b'{"errors":[{"field":null,"message":"too many requests"}]}',
                        endpoint=name,
                    )
                )
            self._data_calls += 1
            if self._data_calls <= self.config.faults.change_calls:
                self.mutate(self.config.faults.change_fraction, (name,))
            served = self._served[name]
            base_headers = self._headers(corr) + rl_headers
            stats = self._stats[name]
        # build the page outside the lock (served is immutable)
        resp = self._page(name, served, params, base_headers, query)
        if self.config.faults.hostile and resp.status == 200:
            resp = self._hostile_body(resp, name, params)
        with self._lock:
            if resp.status == 200:
                stats.pages_served += 1
                stats.records_served += resp.records
            resp = self._apply_fault(resp, fault, name, corr)
            return self._finish(resp)

    # ------------------------------------------------------------------ token
    def _token(self, method: str, hdrs: dict[str, str], body: bytes, corr: str | None) -> Response:
        headers = [*self._headers(corr), _JSON, ("Cache-Control", "no-store")]
        if method != "POST":
            return Response(
                405,
                [*headers, ("Allow", "POST")],
                _errors(
                    "use POST with a form body to get a token", kind="/errors/method-not-allowed"
                ),
                endpoint="token",
            )
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return Response(
                400,
                headers,
                _errors(
                    "grant_type must be client_credentials",
                    [
                        {
                            "field": "grant_type",
                            "value": form.get("grant_type", ""),
                            "message": "unsupported grant type",
                        }
                    ],
                ),
                endpoint="token",
            )
        cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = hdrs.get("authorization", "")
        if not cid and basic[:6].lower() == "basic ":  # RFC 6749 client authentication
            try:
                cid, _, secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                cid, secret = "", ""
        cfg = self.config
        ok = bool(cid) and bool(secret)
        if cfg.client_id is not None:
            ok = ok and cid == cfg.client_id
        if cfg.client_secret is not None:
            ok = ok and secret == cfg.client_secret
        if not ok:
            return Response(
                401,
                headers,
                _fault_body(
                    "Invalid client identifier or secret", "oauth.v2.InvalidClientIdentifier"
                ),
                endpoint="token",
            )
        mono = self._mono()
        newest = self._newest_token.get(cid)
        if (
            newest is not None
            and cfg.sync_step is not None
            and self._clock is None
            and cfg.faults.expires_in is None
            and mono - newest[0] < newest[1] / 2
        ):  # a new session, not a refresh: the next sync
            self._sync_step()
            headers[0] = ("Date", format_datetime(self.world.now, usegmt=True))
        self._tokens_issued += 1
        token = hashlib.sha256(
            f"vendorkit-sandbox|{cfg.seed}|{cid}|{self._tokens_issued}".encode()
        ).hexdigest()[:40]
        self._tokens[token] = (cid, mono + cfg.token_ttl_s)
        self._newest_token[cid] = (mono, float(int(cfg.token_ttl_s)))  # as advertised
        ttl = int(cfg.token_ttl_s)
        expires: int | str = str(ttl) if self._tokens_issued % 2 == 1 else ttl
        if cfg.faults.expires_in is not None:
            expires = cfg.faults.expires_in
        payload = {"access_token": token, "token_type": "Bearer", "expires_in": expires}
        return Response(
            200, headers, json.dumps(payload, separators=(",", ":")).encode(), endpoint="token"
        )

    # ------------------------------------------------------------------ checks
    def _gate(
        self, name: str, hdrs: dict[str, str], query: str, corr: str | None
    ) -> Response | tuple[dict[str, Any], list[tuple[str, str]], Fault | None]:
        """Auth -> rate limit -> headers -> query; returns an error Response or the params."""
        base = self._headers(corr)
        auth = hdrs.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        entry = self._tokens.get(token) if token else None
        if entry is None:
            return Response(
                401,
                [*base, _JSON],
                _fault_body(
                    "Invalid access token" if token else "Missing Authorization: Bearer token",
                    "keymanagement.service.invalid_access_token",
                ),
                endpoint=name,
            )
        client, expiry = entry
        if self._mono() >= expiry:
            return Response(
                401,
                [*base, _JSON],
                _fault_body("Access Token expired", "keymanagement.service.access_token_expired"),
                endpoint=name,
            )
        rl_headers: list[tuple[str, str]] = []
        limit = self.config.rate_limit_per_minute
        if limit is not None:
            window_s = self.config.rate_limit_window_s
            if self.config.rate_limit_windows == "aligned":
                # windows on the clock (the top of the minute): the reset is exact
                mono = self._epoch()
                start = math.floor(mono / window_s) * window_s
            else:  # from the first call of the window on (reset rounded up to the second)
                mono = self._mono()
                start = mono
            win = self._windows.get((name, client))
            if win is None or mono >= win.start + window_s:
                win = self._windows[(name, client)] = _Window(start)
            win.count += 1
            if self.config.rate_limit_windows == "aligned":
                reset = math.ceil(win.start + window_s)  # on the epoch clock already
            else:
                reset = math.ceil(self._epoch() + (win.start + window_s - mono))
            rl_headers = [
                ("X-RateLimit-Limit", str(limit)),
                ("X-RateLimit-Remaining", str(max(0, limit - win.count))),
                ("X-RateLimit-Reset", str(reset)),
            ]
            if win.count > limit:
                return Response(
                    429,
                    [*base, *rl_headers, _JSON],
                    b'{"errors":[{"field":null,"message":"too many requests"}]}',
                    endpoint=name,
                )
        bad: list[dict[str, Any]] = []
        partner = hdrs.get("im-partnerid", "")
        if not partner.strip() or len(partner) > 32:
            bad.append(
                {
                    "field": "IM-PartnerID",
                    "value": partner,
                    "message": "required header, 1 to 32 characters (your vendor id)",
                }
            )
        country = hdrs.get("im-countrycode", "")
        if not _COUNTRY.match(country):
            bad.append(
                {
                    "field": "IM-CountryCode",
                    "value": country,
                    "message": "required header, exactly 2 letters (e.g. US)",
                }
            )
        if corr is None or not 1 <= len(corr) <= 32:
            bad.append(
                {
                    "field": "IM-CorrelationID",
                    "value": corr or "",
                    "message": "required header, 1 to 32 characters, unique per request",
                }
            )
        sender = hdrs.get("im-senderid")
        if sender is not None and not 1 <= len(sender) <= 32:
            bad.append(
                {
                    "field": "IM-SenderID",
                    "value": sender,
                    "message": "optional header; when sent, 1 to 32 characters",
                }
            )
        params: dict[str, Any] = {"pageNumber": 1, "pageSize": 25, "since": None, "token": token}
        q = dict(parse_qsl(query, keep_blank_values=True))
        for key, low, high in (("pageNumber", 1, None), ("pageSize", 1, self.config.max_page_size)):
            if key in q:
                try:
                    value = int(q[key])
                except ValueError:
                    value = None
                if value is None or value < low or (high is not None and value > high):
                    rng = f"{low}..{high}" if high else f">= {low}"
                    bad.append(
                        {"field": key, "value": q[key], "message": f"must be an integer {rng}"}
                    )
                else:
                    params[key] = value
        if "updatedSince" in q:
            try:
                params["since"] = _parse_since(q["updatedSince"])
            except ValueError:
                bad.append(
                    {
                        "field": "updatedSince",
                        "value": q["updatedSince"],
                        "message": "must be an ISO 8601 timestamp, e.g. 2026-10-01T00:00:00Z",
                    }
                )
        if bad:
            return Response(
                400,
                [*base, *rl_headers, _JSON],
                _errors(
                    "validation failed: " + ", ".join(b["field"] for b in bad),
                    bad,
                    error_id=corr or "",
                ),
                endpoint=name,
            )
        fault = None
        if self.config.faults.enabled:
            fkey = urlencode(sorted((k, v) for k, v in q.items()))
            fault = self._faults.decide(name, fkey)
        return params, rl_headers, fault

    # ------------------------------------------------------------------ pages
    def _page(
        self,
        name: str,
        served: Served,
        params: dict[str, Any],
        headers: list[tuple[str, str]],
        query: str,
    ) -> Response:
        number, size, since = params["pageNumber"], params["pageSize"], params["since"]
        fc = self.config.faults
        asked = number
        if fc.ignore_updated_since:
            since = None
        if fc.ignore_page_number:
            number = 1
        if fc.short_pages is not None:  # endless short pages, wrapping around the listing
            listing = (
                np.arange(len(served))
                if since is None
                else self._since_index(name, served, int(since.timestamp() * 1_000_000))
            )
            total = len(listing)
            start = (asked - 1) * fc.short_pages
            sel = listing[(start + np.arange(min(fc.short_pages, size))) % total] if total else []
            texts = served.json.gather(sel).to_list() if len(sel) else []
        elif since is None:
            total = len(served)
            start = (number - 1) * size
            stop = min(start + size, total)
            texts = (
                served.json.slice(start, max(0, stop - start)).to_list() if start < total else []
            )
        else:
            idx = self._since_index(name, served, int(since.timestamp() * 1_000_000))
            total = len(idx)
            start = (number - 1) * size
            sel = idx[start : start + size]
            texts = served.json.gather(sel).to_list() if len(sel) else []
        if not texts:
            return Response(204, headers, b"", endpoint=name)
        q = [
            (k, v)
            for k, v in parse_qsl(query, keep_blank_values=True)
            if k not in ("pageNumber", "pageSize")
        ]

        said_size = fc.envelope_page_size or size

        def link(page: int) -> str:
            return f"{BASE_PATH}/{name}?" + urlencode(
                [*q, ("pageNumber", str(page)), ("pageSize", str(said_size))]
            )

        more = start + len(texts) < total
        if fc.next_page_self:
            next_page = json.dumps(link(asked))
        elif fc.ignore_page_number or fc.short_pages is not None:
            next_page = json.dumps(link(asked + 1))
        else:
            next_page = json.dumps(link(number + 1)) if more else "null"
        prev_page = json.dumps(link(number - 1)) if number > 1 else "null"
        found = f'"recordsFound":"{total}",'
        if fc.records_found is not None:
            found = f'"recordsFound":"{fc.records_found}",'
        if fc.records_found_token:
            found = f'"recordsFound":{json.dumps("Bearer " + params["token"])},'
        if fc.ignore_page_number:
            found = ""
        head = (
            f'{{{found}"pageSize":{said_size},"pageNumber":{number},'
            f'"nextPage":{next_page},"previousPage":{prev_page},"{name}":['
        )
        if fc.line_number is not None and name != "inventory":
            texts[0] = hostile.set_line_number(texts[0], fc.line_number)
        if fc.invalid_utf8_records:
            n_bad = min(fc.invalid_utf8_records, len(texts))
            records = [hostile.poison_utf8(t, name) for t in texts[:n_bad]]
            records += [t.encode() for t in texts[n_bad:]]
            body = b"".join((head.encode(), b",".join(records), b"]}"))
        else:
            body = b"".join((head.encode(), ",".join(texts).encode(), b"]}"))
        return Response(200, [*headers, _JSON], body, endpoint=name, records=len(texts))

    # ------------------------------------------------------------------ hostile servers
    def _maintenance(self, path: str, corr: str | None) -> Response | None:
        """503 with a maintenance body while the clock is inside a maintenance window."""
        now = self.world.now
        for start, end in self.config.faults.maintenance:
            if start <= now < end:
                endpoint = "token" if path == TOKEN_PATH else path.rsplit("/", 1)[-1]
                wait = max(1, math.ceil((end - now).total_seconds()))
                until = end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                return Response(
                    503,
                    [*self._headers(corr), _JSON, ("Retry-After", str(wait))],
                    _errors(
                        f"the service is down for scheduled maintenance until {until}",
                        kind="/errors/maintenance",
                        error_id=corr or "",
                    ),
                    endpoint=endpoint if endpoint in ENDPOINT_NAMES else "token",
                )
        return None

    def _hostile_headers(self, resp: Response, fc: Any) -> list[tuple[str, str]]:
        """The rate-limit headers of the hostile modes, replacing the limiter's."""
        drop = set()
        extra: list[tuple[str, str]] = []
        if fc.rate_limit_remaining is not None:
            drop.add("x-ratelimit-remaining")
            extra.append(("X-RateLimit-Remaining", fc.rate_limit_remaining))
        if fc.rate_limit_reset is not None:
            drop.add("x-ratelimit-reset")
            extra.append(("X-RateLimit-Reset", fc.rate_limit_reset))
        if extra and not any(k.lower() == "x-ratelimit-limit" for k, _ in resp.headers):
            extra.append(("X-RateLimit-Limit", str(self.config.rate_limit_per_minute or 60)))
        if fc.retry_after is not None and resp.status == 429:
            drop.add("retry-after")
            extra.append(("Retry-After", fc.retry_after))
        if fc.trickle_headers_s is not None:
            resp.trickle_headers_s = fc.trickle_headers_s
        if fc.trickle_body_s is not None:
            resp.trickle_body_s = fc.trickle_body_s
        return [h for h in resp.headers if h[0].lower() not in drop] + extra

    def _hostile_body(self, resp: Response, name: str, params: dict[str, Any]) -> Response:
        """Replace a 200 page by the hostile body of the configured mode."""
        fc = self.config.faults
        headers = [h for h in resp.headers if h[0] != "Content-Type"]
        if fc.html_body:
            resp.headers = [*headers, ("Content-Type", "text/html; charset=utf-8")]
            resp.body = hostile.html_login_page(params["token"])
            return resp
        first = resp.body.find(b"[") + 1
        record_end = _first_record_end(resp.body, first)
        size = params["pageSize"]
        head = (
            f'{{"recordsFound":"1","pageSize":{size},"pageNumber":1,'
            f'"nextPage":null,"previousPage":null,"{name}":['
        ).encode() + resp.body[first:record_end]
        if fc.gzip_bomb_bytes is not None:
            resp.headers = [*headers, _JSON, ("Content-Encoding", "gzip")]
            resp.body = hostile.gzip_bomb(head, fc.gzip_bomb_bytes)
            resp.records = 1
        elif fc.huge_body_bytes is not None:
            resp.stream = hostile.padded_stream(head, b"]}", fc.huge_body_bytes)
            resp.content_length = max(fc.huge_body_bytes, len(head) + 2)
            resp.body, resp.records = b"", 1
        elif fc.endless_body:
            resp.stream, resp.content_length = hostile.endless_stream(head), None
            resp.body, resp.records = b"", 1
        return resp

    def _since_index(self, name: str, served: Served, since_us: int) -> np.ndarray:
        """Served positions with cursor >= since (cached: a sync asks for every page)."""
        key = (name, since_us, id(served.cursor_us))
        with self._lock:
            hit = self._since_cache.get(key)
        if hit is not None and hit[0] is served.cursor_us:
            return hit[1]
        idx = np.flatnonzero(served.cursor_us >= since_us)
        with self._lock:
            if len(self._since_cache) >= 8:
                self._since_cache.pop(next(iter(self._since_cache)))
            self._since_cache[key] = (served.cursor_us, idx)
        return idx

    def _apply_fault(
        self, resp: Response, fault: Fault | None, name: str, corr: str | None
    ) -> Response:
        fcfg = self.config.faults
        resp.delay_s = fcfg.latency_ms / 1000.0
        if fault is None:
            return resp
        self._stats[name].faults[fault.kind] += 1
        keep = [h for h in resp.headers if h[0] != "Content-Type"]
        if fault.kind == "error":
            message = "service unavailable" if fault.status == 503 else "internal server error"
            return Response(
                fault.status,
                [*keep, _JSON],
                _errors(message, kind="/errors/server-error", error_id=corr or ""),
                delay_s=resp.delay_s,
                endpoint=name,
            )
        if fault.kind == "rate_limited":
            extra = (
                [("Retry-After", str(fault.retry_after_s))]
                if fault.retry_after_s is not None
                else []
            )
            return Response(
                429,
                [*keep, *extra, _JSON],
                b'{"errors":[{"field":null,"message":"too many requests"}]}',
                delay_s=resp.delay_s,
                endpoint=name,
            )
        if fault.kind == "slow":
            resp.action = "slow"
            resp.delay_s += fcfg.slow_ms / 1000.0
        elif fault.kind == "drop" and resp.body:
            resp.action = "drop"
            resp.drop_at = max(1, len(resp.body) // 2)
        elif fault.kind == "truncate" and resp.body:
            resp.body = resp.body[: max(1, len(resp.body) * 2 // 3)]
        return resp
