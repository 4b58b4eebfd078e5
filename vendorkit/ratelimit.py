"""Rate-limit pacing and retry delays for the Vendor API client.

Ingram Micro allows 60 calls per minute *per endpoint*, announced on every response as
``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` (epoch seconds).
A :class:`Pacer` keeps one endpoint's budget, shared by all worker threads fetching that
endpoint, so a long sync stays under the limit instead of provoking 429s:

* before the first answer (and again after each window reset) the budget is unknown, so
  only one request is in flight at a time (a *probe*) until the headers say how much is left;
* while the calls still needed fit in the remaining budget, requests go out immediately;
* when they do not, the remaining calls are spread evenly over the time left to the reset;
* with no budget left, every thread waits until the reset (plus a small margin);
* after a 429, every thread waits until the announced reset (or ``Retry-After``, or a
  backoff), then probes again.

A server that sends no rate-limit headers is not paced at all.

Clock and sleep are injectable so the pacing rules are unit-tested without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

__all__ = ["Pacer", "backoff_delay", "parse_retry_after", "reset_delay"]

#: Waiting past the announced reset by this much absorbs the 1-second resolution of the
#: ``X-RateLimit-Reset`` header and small clock differences.
RESET_MARGIN_S = 0.25
#: Header values below this are read as "seconds from now" rather than epoch seconds.
_EPOCH_THRESHOLD = 1_000_000_000
#: A reset further away than this is not believed (clock trouble); waits are capped to it.
_PLAUSIBLE_RESET_S = 3600.0


def backoff_delay(
    attempt: int,
    *,
    base_s: float = 0.25,
    cap_s: float = 20.0,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (0-based).

    The delay is ``min(cap, base * 2**attempt)`` scaled by a random factor in [0.5, 1.0]
    ("equal jitter"), so retrying threads do not stampede the server in lockstep.

    Example:
        >>> 0.125 <= backoff_delay(0) <= 0.25
        True
        >>> 10.0 <= backoff_delay(10) <= 20.0
        True
    """
    ceiling = min(cap_s, base_s * (2 ** max(attempt, 0)))
    factor = (rng or random).uniform(0.5, 1.0)
    return ceiling * factor


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Example:
        >>> parse_retry_after("3", now=0.0)
        3.0
        >>> parse_retry_after("soon", now=0.0) is None
        True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _server_epoch(date_header: str | None) -> float | None:
    if not date_header:
        return None
    try:
        server = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    return server.timestamp()


def reset_delay(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds until ``X-RateLimit-Reset``, if sent.

    Accepts epoch seconds (the documented form) or small values meaning "seconds from now".
    An epoch reset is read against the local clock; only when that gives an implausible
    wait (in the past, or more than an hour away) and the ``Date`` header gives a plausible
    one is the server's clock used instead (a server whose clock is off). A ``Date`` that
    is itself off (the sandbox dates responses with its virtual clock) is thus ignored.

    Example:
        >>> reset_delay({"X-RateLimit-Reset": "105"}, now=100.0)
        105.0
        >>> reset_delay({"X-RateLimit-Reset": "1000000010"}, now=1000000000.0)
        10.0
    """
    raw = headers.get("x-ratelimit-reset") or headers.get("X-RateLimit-Reset")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if value < _EPOCH_THRESHOLD:
        return max(0.0, value)
    local = value - now
    if 0.0 <= local <= _PLAUSIBLE_RESET_S:
        return local
    server_now = _server_epoch(headers.get("date") or headers.get("Date"))
    if server_now is not None and 0.0 <= value - server_now <= _PLAUSIBLE_RESET_S:
        return value - server_now
    return min(max(0.0, local), _PLAUSIBLE_RESET_S)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name.lower()) or headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


class Pacer:
    """One endpoint's rate-limit budget, shared by the threads fetching that endpoint.

    Call :meth:`acquire` before each request and :meth:`release` with the response headers
    (or ``None`` when the request failed without an answer) after it; on a 429 call
    :meth:`block_for`. :meth:`set_demand` tells the pacer how many calls the current fetch
    still needs, so it only spreads calls out when they would not fit in the budget.

    Example:
        >>> p = Pacer("inventory", clock=lambda: 0.0, sleep=lambda s: None)
        >>> p.acquire()  # first call: nothing known yet, no wait
        0.0
        >>> p.release({"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59",
        ...            "X-RateLimit-Reset": "60"})
        >>> p.set_demand(3)
        >>> p.acquire()  # 3 calls fit into 59: go now
        0.0
    """

    def __init__(
        self,
        endpoint: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin_s: float = RESET_MARGIN_S,
    ) -> None:
        self.endpoint = endpoint
        self._clock = clock
        self._sleep = sleep
        self._margin_s = margin_s
        self._cond = threading.Condition()
        self._limited = False  # the server has sent rate-limit headers at least once
        self._seen_answer = False
        self._limit: int | None = None
        self._remaining: int | None = None  # None = unknown -> probe
        self._reset_at: float | None = None  # local epoch seconds
        self._blocked_until = 0.0
        self._next_slot = 0.0
        self._in_flight = 0
        self._probing = False
        self._demand: int | None = None

    def __repr__(self) -> str:
        return (
            f"Pacer(endpoint={self.endpoint!r}, limit={self._limit}, "
            f"remaining={self._remaining}, in_flight={self._in_flight})"
        )

    @property
    def limit(self) -> int | None:
        """The last ``X-RateLimit-Limit`` seen, if any."""
        return self._limit

    def set_demand(self, calls: int | None) -> None:
        """Tell the pacer how many more calls the current fetch needs (``None``: unknown)."""
        with self._cond:
            self._demand = calls

    def acquire(self) -> float:
        """Block until one call may be sent; return the seconds spent waiting."""
        return self.acquire_for()[0]

    def acquire_for(self) -> tuple[float, str | None]:
        """Like :meth:`acquire`, also saying why it waited (``None`` if it did not).

        Reasons: ``"429 rate limited"`` (after a 429, see :meth:`block_for`) or
        ``"rate limit pacing"`` (spreading calls, or waiting for the window to reset).
        """
        waited = 0.0
        reason: str | None = None
        while True:
            reserved, delay = self._reserve()
            if delay > 0:
                if reason is None:
                    reason = self._wait_reason()
                self._sleep(delay)
                waited += delay
            if reserved:
                return waited, reason

    def _wait_reason(self) -> str:
        with self._cond:
            blocked = self._clock() < self._blocked_until
        return "429 rate limited" if blocked else "rate limit pacing"

    def _reserve(self) -> tuple[bool, float]:
        """Try to reserve a call: ``(True, d)`` = reserved, send after ``d`` seconds;
        ``(False, d)`` = not reserved, wait ``d`` seconds and try again."""
        with self._cond:
            now = self._clock()
            if now < self._blocked_until:
                return False, self._blocked_until - now
            if self._reset_at is not None and now >= self._reset_at:
                # the window is over: the budget is unknown until the next answer
                self._remaining = None
                self._reset_at = None
                self._next_slot = 0.0
            if not self._limited and self._seen_answer:
                self._in_flight += 1
                return True, 0.0  # no rate-limit headers from this server: no pacing
            if self._remaining is None:
                if self._probing:
                    # another thread is probing; wait for an answer (release notifies)
                    self._cond.wait(timeout=0.05)
                    return False, 0.0
                self._probing = True
                self._in_flight += 1
                return True, 0.0
            if self._remaining <= 0:
                target = (self._reset_at if self._reset_at is not None else now) + self._margin_s
                return False, max(target - now, 0.001)
            demand = self._demand
            slot = now
            if (demand is None or demand > self._remaining) and self._reset_at is not None:
                slot = max(now, self._next_slot)
                # this call and the remaining ones share the time left after its slot
                self._next_slot = slot + max(self._reset_at - slot, 0.0) / self._remaining
            self._remaining -= 1
            self._in_flight += 1
            if demand is not None:
                self._demand = max(demand - 1, 0)
            return True, slot - now

    def release(self, headers: Mapping[str, str] | None) -> None:
        """Record an answer's rate-limit headers (``None``: the request got no answer)."""
        with self._cond:
            self._in_flight = max(self._in_flight - 1, 0)
            self._probing = False  # any answer (or failure) ends a probe
            if headers is not None:
                self._seen_answer = True
                self._update(headers)
            self._cond.notify_all()

    def _update(self, headers: Mapping[str, str]) -> None:
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        now = self._clock()
        until_reset = reset_delay(headers, now=now)
        if remaining is None or until_reset is None:
            return
        self._limited = True
        limit = _int_header(headers, "X-RateLimit-Limit")
        if limit is not None:
            self._limit = limit
        reset_at = now + until_reset
        if self._reset_at is not None and reset_at < self._reset_at - 0.5:
            return  # a late answer from the previous window says nothing about this one
        if self._reset_at is None or reset_at > self._reset_at + 0.5 or self._remaining is None:
            # a new window: calls still in flight may count against it
            self._reset_at = reset_at
            self._remaining = max(remaining - self._in_flight, 0)
            self._next_slot = 0.0
        else:
            self._remaining = min(self._remaining, remaining)

    def block_for(self, seconds: float) -> None:
        """After a 429: every thread waits ``seconds``, then the budget is probed again."""
        with self._cond:
            until = self._clock() + max(seconds, 0.0)
            self._blocked_until = max(self._blocked_until, until)
            self._remaining = None
            self._reset_at = None
            self._next_slot = 0.0
            self._cond.notify_all()
