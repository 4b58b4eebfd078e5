"""Deterministic, transient fault decisions.

A decision is a pure function of (seed, endpoint, query, attempt number of that request), so a
run is reproducible whatever the thread interleaving of *different* requests. The same request
is never faulted more than ``max_consecutive`` times in a row, and a 429 burst is always
followed by a clean answer, so a client that retries always gets through.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from vendorkit.sandbox.config import FaultConfig

__all__ = ["Fault", "FaultPlan"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault to apply to a response.

    Attributes:
        kind: ``error`` | ``rate_limited`` | ``slow`` | ``drop`` | ``truncate``.
        status: HTTP status for ``error`` (500 or 503) and ``rate_limited`` (429).
        retry_after_s: ``Retry-After`` value for a 429, or ``None`` to omit the header.
    """

    kind: str
    status: int = 200
    retry_after_s: int | None = None


@dataclass
class _KeyState:
    attempts: int = 0
    streak: int = 0
    burst_left: int = 0
    burst_retry_after: int | None = None


@dataclass
class FaultPlan:
    """Decides, per request, which fault (if any) to inject. Not thread-safe: lock outside.

    Example:
        >>> plan = FaultPlan(FaultConfig(error_rate=1.0, max_consecutive=2), seed=1)
        >>> [plan.decide("inventory", "pageNumber=1") is not None for _ in range(3)]
        [True, True, False]
    """

    config: FaultConfig
    seed: int
    _state: dict[tuple[str, str], _KeyState] = field(default_factory=dict)

    def _u(self, endpoint: str, query: str, attempt: int, salt: str) -> float:
        digest = hashlib.blake2b(
            f"{self.seed}|{endpoint}|{query}|{attempt}|{salt}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big") / 2**64

    def decide(self, endpoint: str, query: str) -> Fault | None:
        """The fault for this attempt of (endpoint, query), or ``None`` for a clean answer."""
        cfg = self.config
        st = self._state.setdefault((endpoint, query), _KeyState())
        st.attempts += 1
        if st.burst_left > 0:
            st.burst_left -= 1
            if st.burst_left == 0:
                st.streak = cfg.max_consecutive  # the answer after a burst is clean
            return Fault("rate_limited", 429, st.burst_retry_after)
        if st.streak >= cfg.max_consecutive:
            st.streak = 0
            return None
        u = self._u(endpoint, query, st.attempts, "kind")
        fault: Fault | None = None
        edge = cfg.error_rate
        if u < edge:
            status = 503 if self._u(endpoint, query, st.attempts, "code") < 0.5 else 500
            fault = Fault("error", status)
        elif u < (edge := edge + cfg.burst_429_rate):
            # about half of the bursts carry Retry-After (the real API does not promise it)
            with_header = self._u(endpoint, query, st.attempts, "retry-after") < 0.5
            retry = cfg.retry_after_s if with_header else None
            st.burst_left = max(0, cfg.burst_429_length - 1)
            st.burst_retry_after = retry
            if st.burst_left == 0:
                st.streak = cfg.max_consecutive
                return Fault("rate_limited", 429, retry)
            return Fault("rate_limited", 429, retry)
        elif u < (edge := edge + cfg.slow_rate):
            fault = Fault("slow")
        elif u < (edge := edge + cfg.drop_rate):
            fault = Fault("drop")
        elif u < edge + cfg.truncate_rate:
            fault = Fault("truncate")
        if fault is None:
            st.streak = 0
        else:
            st.streak += 1
        return fault
