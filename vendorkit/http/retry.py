"""The retry policy: what to do with each answer (or failure) of a data request.

:class:`RetryPolicy` classifies one outcome of one attempt into a :class:`Decision`:

* ``accept``: a 200 or 204 to use;
* ``retry``: a transient failure (timeout, reset, cut-off body, 500/502/503/504): this
  thread backs off (exponential, with jitter) and tries again; a 5xx with ``Retry-After``
  (a maintenance window: "back at ...") waits that long instead, if it is within
  ``max_wait_s``, and is a ``fail`` carrying the wait otherwise;
* ``wait``: a 429: every thread of the endpoint waits (``X-RateLimit-Reset`` when the budget
  is spent, else ``Retry-After``, else a backoff), then tries again;
* ``refresh``: a first 401: fetch a new token and repeat (not counted as a retry);
* ``fail``: anything else, or retries spent: the client raises the matching error.

Every wait is bounded: a 429 whose wait (``Retry-After`` seconds or HTTP-date,
``X-RateLimit-Reset``) is longer than ``max_wait_s`` (``VENDORKIT_MAX_WAIT_S``) is a
``fail`` carrying the wait, so the error can say when to retry; non-finite, negative or
absurd header values count as absent.

Retries are a small explicit policy rather than tenacity/stamina: the decision depends on
the answer in ways a generic decorator hides (a 429 blocks the endpoint's other threads, a
401 refreshes the token once without spending a retry, a truncated 200 is retried but an
HTML 200 is not), and no dependency is added for a few dozen lines.

The header readers live here too (:func:`parse_retry_after`, :func:`reset_delay`,
:func:`header_number`); the pacer (:mod:`vendorkit.http.pacing`) reads the same headers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

import httpx

from vendorkit.http.body import BodyTruncated

__all__ = [
    "RESET_MARGIN_S",
    "Answer",
    "Decision",
    "RetryPolicy",
    "backoff_delay",
    "header_number",
    "parse_retry_after",
    "reset_delay",
    "unusable_wait",
    "wait_after_429",
]

#: Waiting past the announced reset by this much absorbs the 1-second resolution of the
#: ``X-RateLimit-Reset`` header and small clock differences.
RESET_MARGIN_S = 0.25
#: Header values below this are read as "seconds from now" rather than epoch seconds.
_EPOCH_THRESHOLD = 1_000_000_000
#: A reset further away than this is not believed (clock trouble); waits are capped to it.
_PLAUSIBLE_RESET_S = 3600.0
#: Header numbers above this are not a count or a time any server means (1e308, 10**30).
_HEADER_MAX = 1e11

#: Failures without an answer (or with a broken one) that are worth another try.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,  # a cut-off compressed body
    BodyTruncated,  # a 200 whose JSON is cut off
)

Action = Literal["accept", "retry", "wait", "refresh", "fail"]


class Answer(Protocol):
    """What the policy reads from an answer: ``httpx.Response`` or the client's read one."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header as a float; absent, non-numeric, non-finite, negative or absurd
    values (``inf``, ``1e308``) all read as ``None``.

    Example:
        >>> header_number({"x-ratelimit-remaining": "59"}, "X-RateLimit-Remaining")
        59.0
        >>> header_number({"x-ratelimit-remaining": "inf"}, "X-RateLimit-Remaining") is None
        True
    """
    raw = headers.get(name.lower()) or headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= _HEADER_MAX:
        return None
    return value


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
    ceiling = min(cap_s, base_s * (2 ** min(max(attempt, 0), 64)))
    factor = (rng or random).uniform(0.5, 1.0)
    return ceiling * factor


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Non-finite, negative or absurd values (``inf``, ``1e308``) are treated as absent.

    Example:
        >>> parse_retry_after("3", now=0.0)
        3.0
        >>> parse_retry_after("soon", now=0.0) is None
        True
        >>> parse_retry_after("inf", now=0.0) is None
        True
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or not 0.0 <= seconds <= _HEADER_MAX:
            return None
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _server_epoch(date_header: str | None) -> float | None:
    if not date_header:
        return None
    try:
        server = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError, OverflowError):
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
    value = header_number(headers, "X-RateLimit-Reset")
    if value is None:
        return None
    if value < _EPOCH_THRESHOLD:
        return value
    local = value - now
    if 0.0 <= local <= _PLAUSIBLE_RESET_S:
        return local
    server_now = _server_epoch(headers.get("date") or headers.get("Date"))
    if server_now is not None and 0.0 <= value - server_now <= _PLAUSIBLE_RESET_S:
        return value - server_now
    return min(max(0.0, local), _PLAUSIBLE_RESET_S)


def wait_after_429(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds to wait after a 429: the window's reset when the budget is spent, else
    ``Retry-After``, else the reset if that is all we have; ``None``: back off.

    Example:
        >>> wait_after_429({"Retry-After": "7"}, now=0.0)
        7.0
        >>> wait_after_429({}, now=0.0) is None
        True
    """
    until_reset = reset_delay(headers, now=now)
    remaining = headers.get("x-ratelimit-remaining") or headers.get("X-RateLimit-Remaining")
    if until_reset is not None and remaining is not None and remaining.strip() in ("0", "-1"):
        return until_reset + RESET_MARGIN_S
    retry_after = parse_retry_after(
        headers.get("retry-after") or headers.get("Retry-After"), now=now
    )
    if retry_after is not None:
        return retry_after
    if until_reset is not None:
        return until_reset + RESET_MARGIN_S
    return None


def unusable_wait(headers: Mapping[str, str], *, now: float) -> tuple[str, str, str] | None:
    """The first wait header the server sent that cannot be honoured, if any:
    ``(header, value, kind)``, kind ``"an unbounded"`` (``inf``, ``1e308``), ``"a negative"``
    or ``"an unreadable"`` (``nan``, text that is neither seconds nor an HTTP-date).

    Such values count as absent when deciding the wait (:func:`wait_after_429`); this says
    what they were, so the final error can state the server's real answer.

    Example:
        >>> unusable_wait({"Retry-After": "inf"}, now=0.0)
        ('Retry-After', 'inf', 'an unbounded')
        >>> unusable_wait({"Retry-After": "soon"}, now=0.0)
        ('Retry-After', 'soon', 'an unreadable')
        >>> unusable_wait({"Retry-After": "30"}, now=0.0) is None
        True
    """
    for name in ("Retry-After", "X-RateLimit-Reset"):
        raw = headers.get(name.lower()) or headers.get(name)
        if raw is None or not raw.strip():
            continue
        usable = (
            parse_retry_after(raw, now=now)
            if name == "Retry-After"
            else header_number(headers, name)
        )
        if usable is not None:
            continue
        try:
            number = float(raw)
        except ValueError:
            return name, raw.strip(), "an unreadable"
        if math.isnan(number):
            return name, raw.strip(), "an unreadable"
        return name, raw.strip(), "a negative" if number < 0 else "an unbounded"
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after one attempt.

    Attributes:
        action: ``accept`` | ``retry`` | ``wait`` | ``refresh`` | ``fail``.
        delay_s: for ``retry`` / ``wait``: seconds to wait first; for a ``fail`` after a
            429, the wait the server asked for (so the error can say when to retry).
        reason: short text for progress events and errors (``"HTTP 503"``, ``"ReadTimeout"``).
    """

    action: Action
    delay_s: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """Classifies each attempt's outcome; backoff with jitter for transient failures.

    Args:
        max_retries: retries per request (``VENDORKIT_MAX_RETRIES``); a 401 refresh does not
            count.
        base_s: first backoff (doubled per retry, scaled by U[0.5, 1]).
        cap_s: the longest single backoff.
        retry_statuses: server errors worth another try.
        max_wait_s: the longest single wait a 429 may ask for (``VENDORKIT_MAX_WAIT_S``).
        rng: random source for the jitter (tests pass a seeded one).

    Example:
        >>> policy = RetryPolicy(max_retries=1, rng=random.Random(0))
        >>> policy.classify(httpx.Response(503), attempt=0, now=0.0).action
        'retry'
        >>> policy.classify(httpx.Response(503), attempt=1, now=0.0).action
        'fail'
        >>> policy.classify(httpx.Response(429, headers={"Retry-After": "2"}), attempt=0, now=0.0)
        Decision(action='wait', delay_s=2.0, reason='429 rate limited')
        >>> policy.classify(httpx.ReadTimeout("slow"), attempt=0, now=0.0).reason
        'ReadTimeout'
        >>> policy.classify(httpx.Response(429, headers={"Retry-After": "999999"}),
        ...                 attempt=0, now=0.0).action
        'fail'
        >>> policy.classify(httpx.Response(503, headers={"Retry-After": "600"}), attempt=0, now=0.0)
        Decision(action='retry', delay_s=600.0, reason='HTTP 503')
        >>> policy.classify(httpx.Response(503, headers={"Retry-After": "7200"}), attempt=0, now=0.0)
        Decision(action='fail', delay_s=7200.0, reason='HTTP 503 wait too long')
    """

    max_retries: int = 6
    base_s: float = 0.25
    cap_s: float = 20.0
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    max_wait_s: float = 900.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """The backoff before retry number ``attempt`` (0-based)."""
        return backoff_delay(attempt, base_s=self.base_s, cap_s=self.cap_s, rng=self.rng)

    def advice_after_429(self, headers: Mapping[str, str], *, delay_s: float, now: float) -> str:
        """What the error after the last 429 says the server asked for, and what to do.

        Example:
            >>> policy = RetryPolicy(max_wait_s=900.0)
            >>> policy.advice_after_429({"Retry-After": "20"}, delay_s=20.0, now=0.0)
            'wait 20s and retry, or lower VENDORKIT_WORKERS (another application may share this limit)'
            >>> print(policy.advice_after_429({"Retry-After": "inf"}, delay_s=0.3, now=0.0))
            the server asked for an unbounded wait (Retry-After: 'inf'), beyond VENDORKIT_MAX_WAIT_S=900s, so vendorkit backed off on its own between attempts; retry later, or raise VENDORKIT_MAX_RETRIES to keep backing off longer
        """
        shared = "lower VENDORKIT_WORKERS (another application may share this limit)"
        if wait_after_429(headers, now=now) is not None:  # the wait the server named
            return f"wait {math.ceil(delay_s):.0f}s and retry, or {shared}"
        bad = unusable_wait(headers, now=now)
        if bad is None:
            return (
                "the server named no wait (no Retry-After or X-RateLimit-Reset), so vendorkit "
                f"backed off on its own between attempts; retry in a minute, or {shared}"
            )
        name, raw, kind = bad
        beyond = (
            f", beyond VENDORKIT_MAX_WAIT_S={self.max_wait_s:g}s" if kind == "an unbounded" else ""
        )
        return (
            f"the server asked for {kind} wait ({name}: {raw[:40]!r}){beyond}, so vendorkit "
            "backed off on its own between attempts; retry later, or raise "
            "VENDORKIT_MAX_RETRIES to keep backing off longer"
        )

    def classify(
        self,
        outcome: Answer | BaseException,
        *,
        attempt: int,
        now: float,
        refreshed: bool = False,
    ) -> Decision:
        """Decide what follows ``outcome`` (an answer, or the exception instead of one).

        Args:
            outcome: the response, or the exception raised while getting or reading it.
            attempt: retries already spent on this request.
            now: the wall clock (epoch seconds), to read HTTP-date and epoch headers.
            refreshed: the token was already refreshed once for this request.
        """
        spent = attempt >= self.max_retries
        if isinstance(outcome, BaseException):
            reason = (
                "truncated body" if isinstance(outcome, BodyTruncated) else type(outcome).__name__
            )
            if not isinstance(outcome, TRANSIENT_ERRORS):
                return Decision("fail", reason=reason)
            if spent:
                return Decision("fail", reason=reason)
            return Decision("retry", self.backoff(attempt), reason)
        status = outcome.status_code
        if status in (200, 204):
            return Decision("accept")
        if status == 401:
            return Decision("fail" if refreshed else "refresh", reason="HTTP 401")
        if status == 429:
            wait = wait_after_429(outcome.headers, now=now)
            if wait is None:
                wait = self.backoff(attempt)
            if wait > self.max_wait_s:
                return Decision("fail", wait, "429 wait too long")
            return Decision("fail" if spent else "wait", wait, "429 rate limited")
        if status in self.retry_statuses:
            back_at = parse_retry_after(
                outcome.headers.get("retry-after") or outcome.headers.get("Retry-After"), now=now
            )
            if back_at is not None:
                # the server says when it is back (a maintenance window): wait that long if
                # it is within max_wait_s, else stop now so the error can say when to retry
                if back_at > self.max_wait_s:
                    return Decision("fail", back_at, f"HTTP {status} wait too long")
                if not spent:
                    return Decision("retry", max(back_at, self.backoff(attempt)), f"HTTP {status}")
        if status in self.retry_statuses and not spent:
            return Decision("retry", self.backoff(attempt), f"HTTP {status}")
        return Decision("fail", reason=f"HTTP {status}")
