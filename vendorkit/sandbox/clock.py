"""The sandbox's clocks: the virtual data clock, its between-sync step, and a simulated clock.

Two notions of time meet in the sandbox:

* **The virtual clock** (``Sandbox.now``): the time the data and the ``Date`` header carry.
  It starts at ``as_of`` 12:00:00 UTC and, by default, moves only by stated, deterministic
  steps, so the same requests give the same bytes:

  - **one sync step per new session**: a token issued while the same client id already holds
    a token in the first half of its *advertised* lifetime (``expires_in``, whole seconds)
    starts a new session (a new sync); the clock
    then advances by ``SandboxConfig.sync_step`` (default 1 day) and the world takes one
    day's changes (see :func:`vendorkit.sandbox.mutate.between_syncs`). The first token of a
    sandbox, and a refresh of a token near (or past) its expiry, do not step. So successive
    syncs against one sandbox get distinct ``Date`` headers (``snapshot_at``) 1 day apart,
    whatever their real timing, and a token refresh mid-sync never moves the clock.
  - ``SandboxConfig.syncs_before = N`` builds the sandbox as a long-lived one stands after N
    such steps (for a process that starts a fresh sandbox per sync).
  - :meth:`Sandbox.mutate` and the ``change_calls`` fault move it by their own ``advance``.

* **The limiter clock**: rate-limit windows, ``X-RateLimit-Reset``, token expiry and
  maintenance windows. By default real time (monotonic for windows and expiry, ``time.time``
  for ``X-RateLimit-Reset``).

Inject ``SandboxConfig(now=callable)`` (epoch seconds, like :func:`time.time`) and one clock
drives everything: the rate limiter, token expiry, ``X-RateLimit-Reset``, the ``Date`` header,
maintenance windows and the data timestamps (the virtual clock follows ``now()``, never
earlier than ``as_of`` 12:00 UTC; the sync step is then off, since the caller moves time).
With :class:`SimulatedClock` a test runs a sync at the real limits (60 calls per minute per
endpoint, 60-second windows) in seconds of real time: the client sleeps on the same clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Now", "SimulatedClock", "from_epoch"]

#: A clock: epoch seconds now (like :func:`time.time`).
Now = Callable[[], float]


def from_epoch(seconds: float) -> datetime:
    """Epoch seconds -> an aware UTC datetime (microsecond precision).

    Example:
        >>> from_epoch(0).isoformat()
        '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(seconds, tz=UTC)


class SimulatedClock:
    """A thread-safe clock that only moves when someone sleeps on it (or calls :meth:`advance`).

    ``now`` and ``sleep`` are the pair a pacer and a retry policy take; pass ``clock.now`` to
    ``SandboxConfig(now=...)`` so the sandbox's rate limiter and ``Date`` header agree with the
    client's waits. ``sleep(s)`` returns at once, having moved the clock by ``s`` seconds.

    Args:
        start: the initial time (an aware datetime, or epoch seconds).

    Example:
        >>> from datetime import datetime, UTC
        >>> clock = SimulatedClock(datetime(2026, 11, 1, 12, tzinfo=UTC))
        >>> clock.sleep(90.5)
        >>> from_epoch(clock.now()).isoformat()
        '2026-11-01T12:01:30.500000+00:00'
        >>> clock.slept
        90.5
    """

    def __init__(self, start: datetime | float) -> None:
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        """Simulated epoch seconds."""
        with self._lock:
            return self._t

    def monotonic(self) -> float:
        """The same as :meth:`now` (a simulated clock never goes backwards)."""
        return self.now()

    def sleep(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (negative values are ignored); never blocks."""
        if seconds > 0:
            with self._lock:
                self._t += seconds
                self.slept += seconds

    def advance(self, seconds: float) -> None:
        """Move the clock forward without counting it as sleep."""
        if seconds > 0:
            with self._lock:
                self._t += seconds

    def __repr__(self) -> str:
        return f"SimulatedClock({from_epoch(self.now()).isoformat()})"
