"""Sandbox settings: the world (seed, as_of, scale), behaviour switches and faults.

Both are frozen value objects with named defaults, so a test states exactly what it needs::

    SandboxConfig(seed=7, scale=0.2, rate_limit_per_minute=5, faults=FaultConfig(error_rate=0.1))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from vendorkit.errors import ConfigError

__all__ = ["PRESETS", "FaultConfig", "SandboxConfig"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Opt-in, deterministic, transient faults (all off by default).

    Every decision is a pure function of (seed, endpoint, query, attempt number), and the same
    request is never faulted more than ``max_consecutive`` times in a row, so a client that
    retries always gets through.

    Attributes:
        error_rate: fraction of data requests answered 500 or 503 (``/errors/server-error``).
        burst_429_rate: fraction of data requests that start a burst of 429 answers.
        burst_429_length: how many consecutive 429s a burst lasts (for that request).
        retry_after_s: ``Retry-After`` seconds sent on burst 429s; about half of the bursts
            (chosen by hash) omit the header, as the real API does not promise it. ``None``
            never sends it.
        latency_ms: added to every response.
        slow_rate: fraction of data requests delayed by ``slow_ms`` (meant to exceed the
            client's read timeout).
        slow_ms: delay of a slow response.
        drop_rate: fraction of data requests whose connection drops mid-body (headers with
            the full Content-Length, part of the body, then close).
        truncate_rate: fraction of data requests answered 200 with the JSON cut short
            (a complete HTTP response whose body is not valid JSON).
        change_calls: during the first N data requests, ``change_fraction`` of the records
            of the endpoint being read change before the page is served (virtual clock +1
            minute each time): records change between calls, as during a real sync.
        change_fraction: fraction of records changed per such call.
        max_consecutive: never fault the same request more than this many times in a row.

    Hostile servers (issue 13: schema-valid or plausible behaviour that a client must bound).
    Unlike the transient faults above they apply to *every* data request while set:

    Attributes:
        ignore_page_number: every page is page 1 (same records, ``pageNumber`` 1), with
            ``nextPage`` set to the next page number and no ``recordsFound``.
        next_page_self: ``nextPage`` is the page's own link (pages otherwise as asked).
        records_found: the envelope's ``recordsFound`` says this (as text) on every page,
            e.g. ``10**12`` or ``0``; pages are served as they are.
        short_pages: every page carries this many records (fewer than asked) and pages never
            run out: page n serves the listing from ``(n - 1) * short_pages`` on, wrapping
            around, always with a ``nextPage``.
        envelope_page_size: the envelope's ``pageSize`` (and the ``pageSize`` in
            ``nextPage``/``previousPage``) says this, e.g. 62,566,861; the records are still
            cut at the asked page size.
        expires_in: the token answer's ``expires_in`` (e.g. ``0``); the token really stays
            valid for ``token_ttl_s`` and tokens never step the virtual clock.
        always_429: every data request is answered 429 ``too many requests``.
        retry_after: the ``Retry-After`` value sent on every 429 (the limiter's, ``always_429``
            and bursts), verbatim: ``"999999"``, ``"Fri, 01 Jan 2099 00:00:00 GMT"``,
            ``"inf"``, ``"1e308"``.
        rate_limit_remaining: ``X-RateLimit-Remaining`` sent on every data answer, verbatim
            (``"0"`` on 200s, ``"inf"``); adds ``X-RateLimit-Limit: 60`` when the limiter is off.
        rate_limit_reset: ``X-RateLimit-Reset`` sent on every data answer, verbatim (e.g.
            ``"4102444800"``, 2100-01-01, or ``"inf"``).
        trickle_body_s: the body is sent one byte every this many seconds (real server: the
            socket; transport: a stream that sleeps).
        trickle_headers_s: the status line and each header line are sent one every this many
            seconds (real server only; the transport sleeps once per header line).
        gzip_bomb_bytes: every data answer is 200 with ``Content-Encoding: gzip`` (asked for
            or not) whose body inflates to this many bytes (a page padded with spaces; about
            1 MB on the wire per GB).
        huge_body_bytes: every data answer is a 200 page with ``recordsFound: 1`` and one
            record, padded with spaces to this many bytes (``Content-Length`` exact, streamed
            in 1 MiB chunks, never held in memory).
        endless_body: every data answer is a 200 ``Transfer-Encoding: chunked`` page that
            never ends (a page head, then 64 KiB chunks of spaces until the client leaves).
        invalid_utf8_records: this many records of every page carry invalid UTF-8 bytes
            (``\xff\xfe``) inside a name field (``warehouseName`` / ``resellerName`` /
            ``carrier``; the key field when the name is omitted).
        html_body: every data answer is 200 ``text/html`` (a login page) that echoes the
            caller's bearer token.
        records_found_token: ``recordsFound`` is non-numeric text echoing the bearer token.
        line_number: the first line of the first record of every orders/shipments page gets
            this ``lineNumber`` (e.g. ``2**31``, outside Int32).
        maintenance: ``(start, end)`` windows (aware datetimes) of the sandbox's clock in
            which every data and token request gets 503 with a maintenance body
            (``/errors/maintenance``) and ``Retry-After`` = seconds to the window's end.
        ignore_updated_since: ``updatedSince`` is accepted and ignored (a full listing).

    Example:
        >>> FaultConfig(error_rate=0.1).enabled
        True
        >>> FaultConfig().enabled
        False
    """

    error_rate: float = 0.0
    burst_429_rate: float = 0.0
    burst_429_length: int = 2
    retry_after_s: int | None = 1
    latency_ms: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 5000.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    change_calls: int = 0
    change_fraction: float = 0.01
    max_consecutive: int = 2
    ignore_page_number: bool = False
    next_page_self: bool = False
    records_found: int | None = None
    short_pages: int | None = None
    envelope_page_size: int | None = None
    expires_in: int | str | None = None
    always_429: bool = False
    retry_after: str | None = None
    rate_limit_remaining: str | None = None
    rate_limit_reset: str | None = None
    trickle_body_s: float | None = None
    trickle_headers_s: float | None = None
    gzip_bomb_bytes: int | None = None
    huge_body_bytes: int | None = None
    endless_body: bool = False
    invalid_utf8_records: int = 0
    html_body: bool = False
    records_found_token: bool = False
    line_number: int | None = None
    maintenance: tuple[tuple[datetime, datetime], ...] = ()
    ignore_updated_since: bool = False

    def __post_init__(self) -> None:
        for name in (
            "error_rate",
            "burst_429_rate",
            "slow_rate",
            "drop_rate",
            "truncate_rate",
            "change_fraction",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"FaultConfig.{name}={value!r} must be between 0 and 1")
        for name in ("burst_429_length", "change_calls", "max_consecutive"):
            if getattr(self, name) < 0:
                raise ConfigError(f"FaultConfig.{name} must be >= 0")
        if self.latency_ms < 0 or self.slow_ms < 0:
            raise ConfigError("FaultConfig latency_ms and slow_ms must be >= 0")
        for name in ("short_pages", "envelope_page_size", "gzip_bomb_bytes", "huge_body_bytes"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"FaultConfig.{name} must be >= 1 or None")
        for name in ("trickle_body_s", "trickle_headers_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"FaultConfig.{name} must be > 0 seconds or None")
        if self.invalid_utf8_records < 0:
            raise ConfigError("FaultConfig.invalid_utf8_records must be >= 0")
        for window in self.maintenance:
            start, end = window
            if start.tzinfo is None or end.tzinfo is None or not start < end:
                raise ConfigError(
                    "FaultConfig.maintenance windows must be (start, end) aware datetimes, "
                    "start before end"
                )

    @property
    def hostile(self) -> bool:
        """True when any hostile-server mode is switched on.

        Example:
            >>> FaultConfig(next_page_self=True).hostile, FaultConfig(error_rate=0.5).hostile
            (True, False)
        """
        return any(
            (
                self.ignore_page_number,
                self.next_page_self,
                self.records_found is not None,
                self.short_pages is not None,
                self.envelope_page_size is not None,
                self.expires_in is not None,
                self.always_429,
                self.retry_after is not None,
                self.rate_limit_remaining is not None,
                self.rate_limit_reset is not None,
                self.trickle_body_s is not None,
                self.trickle_headers_s is not None,
                self.gzip_bomb_bytes is not None,
                self.huge_body_bytes is not None,
                self.endless_body,
                self.invalid_utf8_records,
                self.html_body,
                self.records_found_token,
                self.line_number is not None,
                self.maintenance,
                self.ignore_updated_since,
            )
        )

    @property
    def enabled(self) -> bool:
        """True when any transient fault is switched on (hostile modes: :attr:`hostile`)."""
        return any(
            (
                self.error_rate,
                self.burst_429_rate,
                self.latency_ms,
                self.slow_rate,
                self.drop_rate,
                self.truncate_rate,
                self.change_calls,
            )
        )


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """What world the sandbox serves and how it behaves.

    Attributes:
        seed: the world's random seed; same config -> byte-identical responses.
        as_of: the world's "today"; the virtual clock starts at as_of 12:00:00 UTC.
        scale: 1.0 = 2,500 inventory rows (500 parts x 5 warehouses) and 2,000 orders;
            100 = 1,000,000 inventory rows (20 warehouses) and 200,000 orders.
        quirks: numbers as strings, warehouse ids as int or string, optional keys omitted,
            timestamps with offsets or ``Z``, status spelling variants.
        invalid: a count per kind of known-invalid records injected per endpoint
            (``True`` = 5, ``False``/0 = a clean world). The default, 1, is what real
            payloads have: per endpoint one negative quantity, one missing part number and
            one unparseable date (each quarantined by the loader) and one stale duplicate
            (deduplicated): 3 rejects and 1 duplicate per endpoint.
        faults: see :class:`FaultConfig`.
        rate_limit_per_minute: calls per window per endpoint per client id; ``None`` = off
            (then no ``X-RateLimit-*`` headers are sent).
        rate_limit_window_s: the rate-limit window length in seconds.
        rate_limit_windows: when a window starts. ``"first_call"`` (default): at the first
            call after the previous window ended (Apigee's *flexi* quota); its
            ``X-RateLimit-Reset`` is rounded up to the whole second, so a client waiting
            for it loses up to a second per window. ``"aligned"``: at every multiple of the
            window length on the clock (the top of the minute for 60 s windows: Apigee's
            *default* quota type, the gateway Ingram Micro's API runs on), so the reset is
            exact.
        token_ttl_s: access-token lifetime in seconds (real time).
        max_page_size: the largest accepted ``pageSize`` (the contract says 100).
        client_id: accepted client id, ``None`` = any non-empty.
        client_secret: accepted client secret, ``None`` = any non-empty.
        sync_step: how far the virtual clock moves at each new session (a token issued while
            the client id's newest token is in the first half of its advertised lifetime, the
            ``expires_in`` in whole seconds: a new sync),
            with one step of world changes; ``None`` = never (see
            :mod:`vendorkit.sandbox.clock`).
        syncs_before: build the sandbox as a long-lived one stands after this many sync
            steps (the clock ``syncs_before * sync_step`` later, the world changed as often).
        now: an injected clock (epoch seconds, like ``time.time``) for the rate limiter,
            token expiry, ``X-RateLimit-Reset``, the ``Date`` header, maintenance windows and
            the data timestamps; ``None`` = real time for the limiter and the deterministic
            virtual clock for the data.

    Example:
        >>> SandboxConfig.preset("bench").scale
        100.0
        >>> SandboxConfig(scale=2).inventory_rows
        5000
    """

    seed: int = 42
    as_of: date = date(2026, 11, 1)
    scale: float = 1.0
    quirks: bool = True
    invalid: bool | int = 1
    faults: FaultConfig = field(default_factory=FaultConfig)
    rate_limit_per_minute: int | None = None
    rate_limit_window_s: float = 60.0
    rate_limit_windows: Literal["first_call", "aligned"] = "first_call"
    token_ttl_s: float = 86399
    max_page_size: int = 100
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    sync_step: timedelta | None = timedelta(days=1)
    syncs_before: int = 0
    now: Callable[[], float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sync_step is not None and self.sync_step <= timedelta(0):
            raise ConfigError("SandboxConfig.sync_step must be a positive timedelta or None")
        if self.syncs_before < 0:
            raise ConfigError("SandboxConfig.syncs_before must be >= 0")
        if self.syncs_before and self.sync_step is None:
            raise ConfigError("SandboxConfig.syncs_before needs a sync_step")
        if not self.scale > 0:
            raise ConfigError(f"SandboxConfig.scale={self.scale!r} must be > 0")
        if int(500 * self.scale) < 1:
            raise ConfigError(f"SandboxConfig.scale={self.scale!r} is too small (no parts)")
        if self.max_page_size < 1:
            raise ConfigError("SandboxConfig.max_page_size must be >= 1")
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise ConfigError("SandboxConfig.rate_limit_per_minute must be >= 1 or None")
        if self.rate_limit_windows not in ("first_call", "aligned"):
            raise ConfigError(
                f"SandboxConfig.rate_limit_windows={self.rate_limit_windows!r} must be "
                "'first_call' or 'aligned'"
            )
        if self.rate_limit_window_s <= 0 or self.token_ttl_s <= 0:
            raise ConfigError("SandboxConfig.rate_limit_window_s and token_ttl_s must be > 0")
        if (
            isinstance(self.invalid, int)
            and not isinstance(self.invalid, bool)
            and self.invalid < 0
        ):
            raise ConfigError("SandboxConfig.invalid must be a bool or a count >= 0")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SandboxConfig:
        """A named configuration: ``demo`` (scale 1), ``small`` (0.2), ``bench`` (scale 100,
        a clean and static world: no invalid records, no sync step).

        Example:
            >>> SandboxConfig.preset("bench", seed=1).inventory_rows
            1000000
        """
        try:
            base = PRESETS[name]
        except KeyError:
            raise ConfigError(
                f"unknown sandbox preset {name!r}; choose one of {', '.join(PRESETS)}"
            ) from None
        return replace(base, **overrides)

    @property
    def invalid_per_kind(self) -> int:
        """How many invalid records of each kind each endpoint serves."""
        if isinstance(self.invalid, bool):
            return 5 if self.invalid else 0
        return int(self.invalid)

    @property
    def part_count(self) -> int:
        """Number of parts in the catalogue (500 x scale)."""
        return int(500 * self.scale)

    @property
    def warehouse_count(self) -> int:
        """5 real Ingram Micro US sites below scale 50, else 20."""
        return 5 if self.scale < 50 else 20

    @property
    def inventory_rows(self) -> int:
        """Clean inventory rows: parts x warehouses."""
        return self.part_count * self.warehouse_count

    @property
    def order_count(self) -> int:
        """Clean orders: 2,000 x scale."""
        return max(1, round(2000 * self.scale))


PRESETS: dict[str, SandboxConfig] = {
    "demo": SandboxConfig(),
    "small": SandboxConfig(scale=0.2),
    "bench": SandboxConfig(scale=100.0, max_page_size=1000, invalid=0, sync_step=None),
}
