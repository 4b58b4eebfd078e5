"""Rate-limit pacing for the Vendor API client: one :class:`Pacer` per endpoint.

Ingram Micro allows 60 calls per minute *per endpoint*, announced on every response as
``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` (epoch seconds).
A :class:`Pacer` keeps one endpoint's budget, shared by all worker threads fetching that
endpoint, so a long sync stays under the limit instead of provoking 429s:

* before the first answer (and again after each window reset) the budget is unknown, so
  only one request is in flight at a time (a *probe*) until the headers say how much is left;
* while the calls still needed fit in the remaining budget, requests go out immediately;
* when they do not, the remaining calls are spread evenly over the time left to the reset;
* with no budget left, every thread waits until the reset (plus a small margin). The reset
  is ``X-RateLimit-Reset``, or earlier when the answer is the *first* call of its window
  (``Remaining = Limit - 1``): that window ends at most ``window_s`` (60 s, the documented
  "per minute") after the answer arrived. A window that starts at its first call (rather
  than on the minute) ends mid-second while its ``Reset`` is rounded up to the next second,
  so waiting for the header alone loses up to a second per minute (1.7 % of the rate); the
  bound is local time (no clock skew) and never later than the true end;
* after a 429, every thread waits until the announced reset (or ``Retry-After``, or a
  backoff), then probes again.

A server that sends no rate-limit headers is not paced at all.

No single wait is longer than ``max_wait_s`` (``VENDORKIT_MAX_WAIT_S``): a window reset
further away raises :class:`WaitTooLong` (the client turns it into a ``RateLimitError``
saying when to retry). Each wait is announced first (``on_wait``), so it can be logged and
shown while it lasts.

The clock (``now``: epoch seconds) and ``sleep`` are injectable, so the pacing rules are
unit-tested without waiting. Reading the headers is :mod:`vendorkit.http.retry`'s job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from vendorkit.http.retry import RESET_MARGIN_S, header_number, reset_delay

__all__ = ["Pacer", "WaitTooLong"]


class WaitTooLong(Exception):
    """The rate limit asks for a wait longer than ``max_wait_s``.

    Attributes:
        seconds: the wait asked for.
        reason: why (``"rate limit pacing"``, ``"429 rate limited"``).
    """

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"{reason}: a wait of {seconds:.0f}s")
        self.seconds = seconds
        self.reason = reason


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = header_number(headers, name)
    return None if value is None else int(value)


class Pacer:
    """One endpoint's rate-limit budget, shared by the threads fetching that endpoint.

    Call :meth:`acquire` before each request and :meth:`release` with the response headers
    (or ``None`` when the request failed without an answer) after it; on a 429 call
    :meth:`block_for`. :meth:`set_demand` tells the pacer how many calls the current fetch
    still needs, so it only spreads calls out when they would not fit in the budget.

    Args:
        endpoint: the endpoint whose budget this is.
        now: the clock (epoch seconds); sleep: how to wait (tests pass simulated ones).
        margin_s: waited past a window's end.
        max_wait_s: the longest single wait (``VENDORKIT_MAX_WAIT_S``).
        window_s: the longest a window lasts (Ingram Micro: per minute); ``None`` trusts
            ``X-RateLimit-Reset`` alone.

    Example:
        >>> p = Pacer("inventory", now=lambda: 0.0, sleep=lambda s: None)
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
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin_s: float = RESET_MARGIN_S,
        max_wait_s: float = 900.0,
        window_s: float | None = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self._window_s = window_s
        self.max_wait_s = max_wait_s
        self._clock = now
        self._sleep = sleep
        self._margin_s = margin_s
        self._cond = threading.Condition()
        self._limited = False  # the server has sent rate-limit headers at least once
        self._seen_answer = False
        self._limit: int | None = None
        self._remaining: int | None = None  # None = unknown -> probe
        self._reset_at: float | None = None  # local epoch seconds: when the window ends
        self._header_reset: float | None = None  # the window's X-RateLimit-Reset (local)
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

    def acquire_for(
        self, on_wait: Callable[[float, str], None] | None = None
    ) -> tuple[float, str | None]:
        """Like :meth:`acquire`, also saying why it waited (``None`` if it did not).

        Reasons: ``"429 rate limited"`` (after a 429, see :meth:`block_for`) or
        ``"rate limit pacing"`` (spreading calls, or waiting for the window to reset).
        ``on_wait(seconds, reason)`` is called before each sleep.

        Raises:
            WaitTooLong: one wait would be longer than ``max_wait_s``.
        """
        waited = 0.0
        reason: str | None = None
        while True:
            reserved, delay = self._reserve()
            if delay > 0:
                why = self._wait_reason()
                reason = reason or why
                if delay > self.max_wait_s:
                    if reserved:
                        self.release(None)
                    raise WaitTooLong(delay, why)
                if on_wait is not None:
                    on_wait(delay, why)
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
                self._header_reset = None
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
        known = self._header_reset
        if known is not None and reset_at < known - 0.5:
            return  # a late answer from the previous window says nothing about this one
        if known is None or reset_at > known + 0.5 or self._remaining is None:
            # a new window: calls still in flight may count against it
            self._header_reset = self._reset_at = reset_at
            self._remaining = max(remaining - self._in_flight, 0)
            self._next_slot = 0.0
        else:
            self._remaining = min(self._remaining, remaining)
        if self._window_s is not None and limit is not None and remaining == limit - 1:
            # the first call of its window, answered now: the window ends window_s later
            # at the latest (the Reset header may be rounded up to the next second)
            assert self._reset_at is not None
            self._reset_at = min(self._reset_at, now + self._window_s)

    def block_for(self, seconds: float) -> None:
        """After a 429: every thread waits ``seconds``, then the budget is probed again."""
        with self._cond:
            until = self._clock() + max(seconds, 0.0)
            self._blocked_until = max(self._blocked_until, until)
            self._remaining = None
            self._reset_at = None
            self._header_reset = None
            self._next_slot = 0.0
            self._cond.notify_all()
