"""The progress ETA: pages left at the rate limit (or the measured rate when faster), on a
fake clock; and the client's events carrying the announced ``X-RateLimit-Limit``."""

from __future__ import annotations

import io
from types import SimpleNamespace as Event

import httpx

from vendorkit.config import Settings
from vendorkit.http.client import VendorClient
from vendorkit.progress import ProgressBars, eta, format_duration


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_a_1m_row_sync_at_the_real_limit_shows_its_eta_from_the_limit() -> None:
    clock = FakeClock()
    bars = ProgressBars(enabled=False, clock=clock)
    bars(Event(endpoint="inventory", pages_done=1, pages_total=10_000, rate_limit=60))
    # the first hour: the pacer keeps to 59 calls a minute (a little under the limit)
    for minute in range(1, 61):
        clock.t += 60
        bars(Event(endpoint="inventory", pages_done=1 + 59 * minute, pages_total=10_000))
    left = bars.eta("inventory")
    assert left is not None and left.basis == "rate limit" and left.calls_per_min == 60
    assert left.seconds == 10_000 - (1 + 59 * 60)  # 6,459 pages at 1 per second
    assert str(left) == "ETA 1 h 48 min at 60 calls/min"


def test_the_issue_example_and_formatting() -> None:
    assert str(eta(7_680, rate_limit=60, measured_per_s=None)) == "ETA 2 h 08 min at 60 calls/min"
    assert format_duration(10_000) == "2 h 47 min"  # 10,000 calls at 60/min: the issue's figure
    assert format_duration(59.4) == "59 s" and format_duration(0) == "0 s"


def test_a_measured_rate_faster_than_the_limit_wins() -> None:
    """A fetch whose pages fit in the window's budget goes at full speed."""
    clock = FakeClock()
    bars = ProgressBars(enabled=False, clock=clock)
    bars(Event(endpoint="orders", pages_done=1, pages_total=40, rate_limit=60))
    clock.t += 2.0
    bars(Event(endpoint="orders", pages_done=21, pages_total=40))
    left = bars.eta("orders")
    assert left is not None and left.basis == "measured"
    assert left.seconds == 1.9 and left.calls_per_min == 600  # 19 pages left at 10/s


def test_the_configured_limit_until_the_server_announces_one() -> None:
    clock = FakeClock()
    bars = ProgressBars(enabled=False, clock=clock, rate_limit_per_minute=30)
    bars(Event(endpoint="shipments", pages_done=1, pages_total=301))
    assert str(bars.eta("shipments")) == "ETA 10 min at 30 calls/min"  # nothing measured yet
    bars(Event(endpoint="shipments", pages_done=1, pages_total=301, rate_limit=60))
    assert str(bars.eta("shipments")) == "ETA 5 min at 60 calls/min"


def test_no_eta_without_a_total_or_any_rate() -> None:
    bars = ProgressBars(enabled=False, clock=FakeClock())
    bars(Event(endpoint="orders", pages_done=3, pages_total=None, rate_limit=60))
    assert bars.eta("orders") is None
    bars(Event(endpoint="shipments", pages_done=1, pages_total=10))
    assert bars.eta("shipments") is None  # no limit, one page: nothing to measure yet
    assert bars.eta("unknown") is None


def test_the_bar_shows_pages_done_of_total_and_the_eta() -> None:
    clock = FakeClock()
    out = _Tty()
    with ProgressBars(file=out, clock=clock) as bars:
        bars(Event(endpoint="inventory", pages_done=1, pages_total=7_681, rate_limit=60))
    text = out.getvalue()
    assert "1/7681" in text and "ETA 2 h 08 min at 60 calls/min" in text


def test_client_events_carry_the_announced_limit() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        page = int(request.url.params.get("pageNumber", "1"))
        body = {
            "recordsFound": 3,
            "pageSize": 1,
            "pageNumber": page,
            "inventory": [{"partNumber": f"P{page}", "warehouse": "10", "quantity": 1}],
        }
        headers = {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": str(60 - page),
            "X-RateLimit-Reset": "30",
        }
        return httpx.Response(200, json=body, headers=headers)

    events: list[object] = []
    settings = Settings(client_id="id", client_secret="secret", partner_id="US123456")
    with VendorClient(
        settings, transport=httpx.MockTransport(handler), on_progress=events.append
    ) as client:
        pages = list(client.iter_pages("inventory", page_size=1))
    assert len(pages) == 3
    assert [getattr(e, "rate_limit", None) for e in events if e.kind == "page"] == [60] * 3  # type: ignore[attr-defined]


def test_a_server_slower_than_its_limit_gets_the_measured_eta_not_the_limit() -> None:
    # 60 calls/min announced, 30 pages/min served: 600 pages take 20 min, not 10
    slow = eta(600, rate_limit=60, measured_per_s=0.5)
    assert slow is not None and round(slow.seconds) == 1200 and "(measured)" in str(slow)
    # a little under the limit (window edges) still reads as the limit
    at = eta(600, rate_limit=60, measured_per_s=0.95)
    assert at is not None and round(at.seconds) == 600 and str(at).endswith("60 calls/min")
