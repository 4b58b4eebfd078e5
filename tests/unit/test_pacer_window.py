"""The pacer's window end: ``X-RateLimit-Reset``, or earlier for a window whose first call
we made (a window that starts at its first call ends mid-second, its Reset rounded up)."""

from __future__ import annotations

from vendorkit.http.pacing import Pacer
from vendorkit.http.retry import RESET_MARGIN_S

T = 1_793_600_000  # an epoch second (X-RateLimit-Reset values below 1e9 mean "seconds from now")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


def _spend_the_window(pacer: Pacer, remaining: int, reset: str) -> None:
    """One answer with ``remaining`` left, then every call of the budget sent at once."""
    pacer.acquire()
    pacer.release(
        {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset,
        }
    )
    pacer.set_demand(remaining)  # they fit: no spreading
    for _ in range(remaining):
        assert pacer.acquire() == 0.0
        pacer.release(None)


def test_a_window_opened_by_our_call_ends_a_minute_after_its_answer() -> None:
    clock = Clock(T + 0.3)  # a window starting mid-second: its Reset says T + 61
    pacer = Pacer("inventory", now=clock.now, sleep=clock.sleep)
    _spend_the_window(pacer, 59, str(T + 61))
    pacer.set_demand(1)
    waited = pacer.acquire()
    # the window opened by T + 0.3 (when its first answer came) and ended by T + 60.3
    assert abs(clock.t - (T + 60.3 + RESET_MARGIN_S)) < 1e-6, clock.t
    assert abs(waited - (60.0 + RESET_MARGIN_S)) < 1e-6


def test_a_window_someone_else_opened_waits_for_the_header() -> None:
    clock = Clock(T + 0.3)
    pacer = Pacer("inventory", now=clock.now, sleep=clock.sleep)
    _spend_the_window(pacer, 40, str(T + 61))  # 19 calls counted before ours
    pacer.set_demand(1)
    pacer.acquire()
    assert abs(clock.t - (T + 61 + RESET_MARGIN_S)) < 1e-6, clock.t


def test_a_reset_sooner_than_a_minute_is_kept_and_the_bound_can_be_switched_off() -> None:
    clock = Clock(T + 0.3)
    pacer = Pacer("inventory", now=clock.now, sleep=clock.sleep)
    _spend_the_window(pacer, 59, str(T + 30))  # a 30-s window: the header is sooner
    pacer.set_demand(1)
    pacer.acquire()
    assert abs(clock.t - (T + 30 + RESET_MARGIN_S)) < 1e-6
    clock = Clock(T + 0.3)
    pacer = Pacer("inventory", now=clock.now, sleep=clock.sleep, window_s=None)
    _spend_the_window(pacer, 59, str(T + 61))
    pacer.set_demand(1)
    pacer.acquire()
    assert abs(clock.t - (T + 61 + RESET_MARGIN_S)) < 1e-6
