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

import heapq
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Now", "SimulatedClock", "from_epoch"]

#: A clock: epoch seconds now (like :func:`time.time`).
Now = Callable[[], float]
_real = time.monotonic


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
    client's waits. ``sleep(s)`` returns at once, having moved the clock.

    Threads sleeping at the same time share the time they sleep, as they would in real
    time: ``sleep(s)`` wakes at *the time this thread last read* (:meth:`now`) plus ``s``,
    so the clock moves to the wake-up asked for, never to the sum of the sleeps. Four
    workers each waiting one second move the clock by one second, not four; a thread whose
    wake-up time has already passed returns at once. A thread that never read the clock
    sleeps from the current time. :meth:`advance` moves the clock by ``s`` from wherever it
    is (a test letting time pass).

    Two ways to move the clock on a sleep:

    * ``settle_s=0`` (default): at once. Simple and fast, but a thread waiting long (a
      window reset) moves the clock while other threads are still about to send, so their
      calls land late: fine for one thread at a time.
    * ``settle_s > 0``: a discrete-event clock for many threads. A sleeper blocks (really)
      until the clock reaches its wake-up; the clock moves to the *earliest* wake-up asked
      for once nobody has read or slept on it for ``settle_s`` real seconds (everyone still
      working had a chance to act at the current time), or after ``50 * settle_s`` at the
      latest. Several endpoints' threads then keep their own schedules, as in real time.

    Either way the clock can only run *late* for a thread, never early: simulated
    durations are upper bounds of what threads with an infinitely fast CPU would take.

    Args:
        start: the initial time (an aware datetime, or epoch seconds).
        settle_s: see above.

    Example:
        >>> from datetime import datetime, UTC
        >>> clock = SimulatedClock(datetime(2026, 11, 1, 12, tzinfo=UTC))
        >>> clock.sleep(90.5)
        >>> from_epoch(clock.now()).isoformat()
        '2026-11-01T12:01:30.500000+00:00'
        >>> clock.slept
        90.5
        >>> import threading
        >>> t = clock.now()
        >>> read = threading.Barrier(4)
        >>> def worker():  # reads the clock, then waits a second (as a pacer does)
        ...     clock.now(); read.wait(); clock.sleep(1.0)
        >>> workers = [threading.Thread(target=worker) for _ in range(4)]
        >>> for w in workers: w.start()
        >>> for w in workers: w.join()
        >>> clock.now() - t  # four threads slept one second each, side by side
        1.0
    """

    def __init__(self, start: datetime | float, *, settle_s: float = 0.0) -> None:
        if settle_s < 0:
            raise ValueError("settle_s must be >= 0")
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)
        self._seen = threading.local()  # per thread: the time it last read
        self._settle_s = settle_s
        self._sleepers: list[float] = []  # wake-up times (a heap)
        self._activity = _real()
        self.slept = 0.0

    def now(self) -> float:
        """Simulated epoch seconds."""
        with self._lock:
            self._seen.t = self._t
            self._activity = _real()
            return self._t

    def monotonic(self) -> float:
        """The same as :meth:`now` (a simulated clock never goes backwards)."""
        return self.now()

    def sleep(self, seconds: float) -> None:
        """Wake ``seconds`` after this thread last read the clock; negative values are
        ignored. Never blocks with ``settle_s=0``; else see the class docstring."""
        if seconds <= 0:
            return
        with self._moved:
            wake = getattr(self._seen, "t", self._t) + seconds
            if self._settle_s > 0 and wake > self._t:
                self._sleep_until(wake)
            elif wake > self._t:
                self._move_to(wake)
            self._seen.t = self._t

    def _sleep_until(self, wake: float) -> None:
        """Block until the clock reaches ``wake`` (the lock is held)."""
        heapq.heappush(self._sleepers, wake)
        self._activity = began = _real()
        try:
            while self._t < wake:
                now = _real()
                settled = now - self._activity >= self._settle_s
                if wake <= self._sleepers[0] and (settled or now - began >= 50 * self._settle_s):
                    self._move_to(wake)
                    break
                self._moved.wait(timeout=self._settle_s)
        finally:
            self._sleepers.remove(wake)
            heapq.heapify(self._sleepers)

    def _move_to(self, wake: float) -> None:
        self.slept += wake - self._t
        self._t = wake
        self._activity = _real()
        self._moved.notify_all()

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` from where it is, not counted as sleep."""
        if seconds > 0:
            with self._moved:
                self._t += seconds
                self._moved.notify_all()

    def __repr__(self) -> str:
        return f"SimulatedClock({from_epoch(self.now()).isoformat()})"
