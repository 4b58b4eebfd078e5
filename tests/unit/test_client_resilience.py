"""VendorClient retries, token refresh and rate-limit pacing, with a fake clock (instant)."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from tests.unit.client_fakes import SECRET, FakeApi, FakeClock, inventory_records
from tests.unit.test_client import make_client, make_settings, part_numbers
from vendorkit.client import FetchResult, ProgressEvent, VendorClient
from vendorkit.errors import ApiError, AuthError, RateLimitError, TransportError
from vendorkit.http.pacing import Pacer
from vendorkit.http.retry import backoff_delay, parse_retry_after, reset_delay

T = 1_800_000_000.0  # epoch seconds, as X-RateLimit-Reset is sent


def status(code: int, **headers: str):  # type: ignore[no-untyped-def]
    return lambda request: httpx.Response(
        code,
        json={"errors": [{"type": "/errors/server-error", "message": f"HTTP {code}"}]},
        headers=headers,
    )


def truncated(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        content=b'{"recordsFound": "250", "pageSize": 100, "inventory": [{"partNumber": "P0',
        headers={"Content-Type": "application/json"},
    )


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)


def dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body", request=request
    )


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def bad_gzip(request: httpx.Request) -> httpx.Response:
    # a streamed gzip body cut short: httpx's decoder fails while reading it
    return httpx.Response(
        200,
        stream=httpx.ByteStream(b"\x1f\x8b\x08\x00\x00\x00\x00\x00cut"),
        headers={"Content-Encoding": "gzip"},
    )


TRANSIENT = {
    "bad gzip": bad_gzip,
    "429": status(429),
    "500": status(500),
    "502": status(502),
    "503": status(503),
    "504": status(504),
    "timeout": timeout,
    "reset": reset,
    "dropped": dropped,
    "refused": refused,
    "truncated": truncated,
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
@pytest.mark.parametrize("page", [1, 2])
def test_each_transient_fault_is_retried_and_nothing_is_lost(fault: str, page: int) -> None:
    api = FakeApi({"inventory": inventory_records(250)})
    api.fail("inventory", page, TRANSIENT[fault], TRANSIENT[fault])
    with make_client(api) as client:
        result = client.fetch("inventory")
    assert part_numbers(result.pages) == [r["partNumber"] for r in api.records["inventory"]]
    assert result.stats.retries == 2
    assert result.stats.requests == 3 + 2
    assert result.stats.rate_limited == (2 if fault == "429" else 0)


def test_all_faults_together() -> None:
    api = FakeApi({"inventory": inventory_records(950)})
    rng = random.Random(7)
    names = sorted(TRANSIENT)
    for page in range(1, 11):
        api.fail(
            "inventory", page, *(TRANSIENT[rng.choice(names)] for _ in range(rng.randint(0, 3)))
        )
    with make_client(api, workers=4) as client:
        result = client.fetch("inventory")
    assert part_numbers(result.pages) == [r["partNumber"] for r in api.records["inventory"]]


@pytest.mark.parametrize(
    ("fault", "error", "status_code"),
    [
        ("503", ApiError, 503),
        ("429", RateLimitError, 429),
        ("timeout", TransportError, None),
        ("dropped", TransportError, None),
        ("truncated", TransportError, None),
    ],
)
def test_retries_are_bounded(fault: str, error: type[Exception], status_code: int | None) -> None:
    api = FakeApi({"inventory": inventory_records(250)})
    api.fail("inventory", 2, *[TRANSIENT[fault]] * 10)
    with make_client(api, max_retries=3) as client, pytest.raises(error) as err:
        client.fetch("inventory")
    page_2 = [r for r in api.api_requests() if r.url.params["pageNumber"] == "2"]
    assert len(page_2) == 4  # 1 + max_retries
    assert err.value.page == 2 and err.value.endpoint == "inventory"  # type: ignore[attr-defined]
    # the message names the correlation id of the last attempt
    assert page_2[-1].headers["IM-CorrelationID"] in str(err.value)
    if status_code is not None:
        assert err.value.status_code == status_code  # type: ignore[attr-defined]


def test_backoff_grows_exponentially_with_jitter() -> None:
    api = FakeApi({"inventory": inventory_records(10)})
    clock = FakeClock()
    api.fail("inventory", 1, *[status(503)] * 4)
    client = VendorClient(
        make_settings(max_retries=6),
        transport=api.transport(),
        clock=clock.time,
        sleep=clock.sleep,
        rng=random.Random(1),
    )
    with client:
        client.fetch("inventory")
    waits = [s for s in clock.slept if s > 0]
    assert len(waits) == 4
    for attempt, wait in enumerate(waits):
        assert 0.125 * 2**attempt <= wait <= 0.25 * 2**attempt
    assert len({round(w / 2**i, 6) for i, w in enumerate(waits)}) > 1  # jittered, not lockstep


def test_429_waits_until_rate_limit_reset() -> None:
    clock = FakeClock(start=1_800_000_000.0)
    api = FakeApi({"inventory": inventory_records(10)}, clock=clock)
    api.fail(
        "inventory",
        1,
        status(429, **{"X-RateLimit-Reset": "1800000007", "X-RateLimit-Remaining": "0"}),
    )
    with make_client(api, clock) as client:
        client.fetch("inventory")
    assert 7.0 <= sum(clock.slept) <= 7.5


def test_429_without_reset_uses_retry_after() -> None:
    clock = FakeClock()
    api = FakeApi({"inventory": inventory_records(10)}, clock=clock)
    api.fail("inventory", 1, status(429, **{"Retry-After": "3"}))
    with make_client(api, clock) as client:
        client.fetch("inventory")
    assert sum(clock.slept) == pytest.approx(3.0)


def test_429_without_headers_backs_off() -> None:
    clock = FakeClock()
    api = FakeApi({"inventory": inventory_records(10)}, clock=clock)
    api.fail("inventory", 1, status(429))
    with make_client(api, clock) as client:
        client.fetch("inventory")
    assert 0.125 <= sum(clock.slept) <= 0.25


# -- auth ------------------------------------------------------------------------------


def test_token_is_cached_across_pages() -> None:
    api = FakeApi({"inventory": inventory_records(950)})
    with make_client(api) as client:
        client.fetch("inventory")
        client.fetch("inventory")
    assert len(api.token_requests()) == 1


def test_token_is_refreshed_shortly_before_expiry() -> None:
    clock = FakeClock()
    api = FakeApi({"inventory": inventory_records(10)}, clock=clock, token_ttl=100)
    with make_client(api, clock) as client:
        client.fetch("inventory")
        clock.sleep(92)  # inside the token's life (100 s), but past the 10% refresh margin
        client.fetch("inventory")
    assert len(api.token_requests()) == 2
    assert api.status_429 == 0
    # no request was refused for an expired token
    assert all(
        r.headers["Authorization"].removeprefix("Bearer ") in api.tokens for r in api.api_requests()
    )


def test_number_typed_expires_in_is_accepted() -> None:
    api = FakeApi({"inventory": inventory_records(10)})
    api.token_faults.append(
        lambda r: httpx.Response(200, json={"access_token": "tok-Zq9xNUM", "expires_in": 3600})
    )
    api.tokens["tok-Zq9xNUM"] = float("inf")
    with make_client(api) as client:
        assert client.fetch("inventory").stats.records == 10


def test_401_refreshes_the_token_once_and_retries() -> None:
    clock = FakeClock()
    api = FakeApi({"inventory": inventory_records(250)}, clock=clock)
    with make_client(api, clock) as client:
        client.fetch("inventory")
        api.tokens.clear()  # the server revoked every token
        result = client.fetch("inventory")
    assert result.stats.records == 250
    assert result.stats.token_refreshes == 1
    assert len(api.token_requests()) == 2


def test_401_after_a_refresh_is_an_auth_error_with_the_fault() -> None:
    api = FakeApi({"inventory": inventory_records(10)})
    fault = {
        "fault": {
            "faultstring": "Access denied for endpoint",
            "detail": {"errorcode": "access.Denied"},
        }
    }
    api.fail("inventory", 1, *[lambda r: httpx.Response(401, json=fault)] * 3)
    with make_client(api) as client, pytest.raises(AuthError) as err:
        client.fetch("inventory")
    text = str(err.value)
    assert "access.Denied" in text and "Access denied for endpoint" in text
    assert err.value.correlation_id and err.value.correlation_id in text
    assert len(api.api_requests()) == 2 and len(api.token_requests()) == 2
    assert SECRET not in text and "tok-" not in text


def test_refused_credentials_are_an_auth_error() -> None:
    api = FakeApi({"inventory": inventory_records(10)})
    with (
        make_client(api, client_secret="wrong-secret-123") as client,
        pytest.raises(AuthError) as err,
    ):
        client.fetch("inventory")
    text = str(err.value)
    assert "oauth.v2.InvalidClientIdentifier" in text and "VENDORKIT_CLIENT_SECRET" in text
    assert "wrong-secret-123" not in text
    assert api.api_requests() == []


def test_unreachable_token_endpoint_is_an_auth_error() -> None:
    api = FakeApi({"inventory": inventory_records(10)})
    api.token_faults.extend([refused, refused, refused])
    with (
        make_client(api) as client,
        pytest.raises(AuthError, match="could not reach the token endpoint"),
    ):
        client.fetch("inventory")


def test_token_endpoint_answering_garbage_is_an_auth_error() -> None:
    api = FakeApi({"inventory": inventory_records(10)})
    api.token_faults.append(lambda r: httpx.Response(200, json={"token": "x"}))
    with (
        make_client(api) as client,
        pytest.raises(AuthError, match="without a usable access_token"),
    ):
        client.fetch("inventory")


# -- pacing ----------------------------------------------------------------------------


def limited_headers(remaining: int, reset: float, limit: int = 60) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_pacer_sends_at_once_while_the_demand_fits_the_budget() -> None:
    clock = FakeClock(start=T)
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    assert pacer.acquire() == 0.0
    pacer.release(limited_headers(59, T + 60))
    pacer.set_demand(10)
    for _ in range(10):
        assert pacer.acquire() == 0.0
    assert clock.slept == []


def test_pacer_spreads_calls_over_the_window_when_demand_exceeds_the_budget() -> None:
    clock = FakeClock(start=T)
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    pacer.acquire()
    pacer.release(limited_headers(10, T + 20))  # 10 calls left for 20 s
    pacer.set_demand(100)
    waits = []
    for _ in range(10):
        waits.append(pacer.acquire())
        pacer.release(None)
    assert waits[0] == 0.0
    assert waits[1:] == pytest.approx([2.0] * 9)  # 20 s / 10 calls
    # budget spent: the next call waits for the reset (plus the margin), then probes
    assert pacer.acquire() == pytest.approx(20 - 18 + 0.25)


def test_pacer_waits_for_the_reset_when_nothing_is_left() -> None:
    clock = FakeClock(start=T)
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    pacer.acquire()
    pacer.release(limited_headers(0, T + 5))
    assert pacer.acquire() == pytest.approx(5.25)


def test_pacer_counts_calls_in_flight_against_the_budget() -> None:
    clock = FakeClock(start=T)
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    pacer.acquire()
    pacer.release(limited_headers(3, T + 60))
    pacer.set_demand(3)
    for _ in range(3):  # three calls go out, no answer yet
        assert pacer.acquire() == 0.0
    # the budget is spent locally even though no answer said so: the 4th waits for the reset
    assert pacer.acquire() == pytest.approx(60.25)


def test_pacer_does_nothing_without_rate_limit_headers() -> None:
    clock = FakeClock()
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    pacer.acquire()
    pacer.release({})
    for _ in range(100):
        assert pacer.acquire() == 0.0


def test_pacer_blocks_every_thread_after_a_429() -> None:
    clock = FakeClock(start=T)
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    pacer.acquire()
    pacer.release({})
    pacer.block_for(4.0)
    assert pacer.acquire() == pytest.approx(4.0)


def test_reset_header_uses_the_server_clock_only_when_ours_gives_nonsense() -> None:
    server_now = 1_800_000_100.0  # = Fri, 15 Jan 2027 08:01:40 GMT
    date = "Fri, 15 Jan 2027 08:01:40 GMT"
    headers = {"X-RateLimit-Reset": str(int(server_now + 10)), "Date": date}
    # our clock is 100 s ahead: the reset looks past; the server's Date says 10 s
    assert reset_delay(headers, now=server_now + 100) == pytest.approx(10.0)
    # our clock agrees: 10 s
    assert reset_delay(headers, now=server_now) == pytest.approx(10.0)
    # a Date far off (the sandbox dates answers with its virtual clock) is ignored
    virtual = {
        "X-RateLimit-Reset": str(int(server_now + 10)),
        "Date": "Sun, 01 Nov 2026 12:00:00 GMT",
    }
    assert reset_delay(virtual, now=server_now) == pytest.approx(10.0)
    assert reset_delay({"X-RateLimit-Reset": "12"}, now=5.0) == 12.0  # delta-seconds form


def test_429_with_budget_left_follows_retry_after_not_the_window_reset() -> None:
    clock = FakeClock(start=T)
    api = FakeApi({"inventory": inventory_records(10)}, clock=clock)
    headers = {
        "Retry-After": "1",
        "X-RateLimit-Remaining": "40",
        "X-RateLimit-Reset": str(int(T + 50)),
    }
    api.fail("inventory", 1, status(429, **headers))
    with make_client(api, clock) as client:
        client.fetch("inventory")
    assert sum(clock.slept) == pytest.approx(1.0)


def test_retry_after_forms() -> None:
    assert parse_retry_after("7", now=0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", now=10.0) == 20.0
    assert parse_retry_after(None, now=0) is None


def test_backoff_delay_is_capped() -> None:
    rng = random.Random(3)
    assert all(10.0 <= backoff_delay(a, rng=rng) <= 20.0 for a in range(7, 30))


def test_a_long_fetch_under_a_rate_limit_provokes_no_429() -> None:
    clock = FakeClock()
    api = FakeApi({"inventory": inventory_records(3000)}, rate_limit=(10, 60.0), clock=clock)
    with make_client(api, clock, workers=1) as client:
        result = client.fetch("inventory")
    assert result.stats.records == 3000
    assert api.status_429 == 0
    # 30 pages at 10 per minute: the fetch needs at least two full windows of waiting
    assert 120.0 <= clock.now - 1_800_000_000.0 <= 200.0


def test_a_429_blocks_the_endpoint_then_the_fetch_completes_with_one_429() -> None:
    clock = FakeClock()
    api = FakeApi({"inventory": inventory_records(2000)}, rate_limit=(10, 60.0), clock=clock)
    api.window["inventory"] = (clock.time(), 10)  # another application used the whole window
    with make_client(api, clock, workers=1) as client:
        result = client.fetch("inventory")
    assert result.stats.records == 2000
    assert api.status_429 == 1
    assert result.stats.rate_limited == 1


def test_endpoints_are_paced_independently() -> None:
    # real time: orders is told to wait 0.6 s; inventory must not wait with it
    orders = [{"orderId": str(i)} for i in range(30)]
    api = FakeApi({"inventory": inventory_records(300), "orders": orders})
    api.fail("orders", 1, status(429, **{"Retry-After": "0.6"}))
    events: list[ProgressEvent] = []
    with VendorClient(make_settings(), api.transport(), events.append) as client:
        results = client.fetch_many(["inventory", "orders"])
    inventory, orders_result = results["inventory"], results["orders"]
    assert isinstance(inventory, FetchResult) and isinstance(orders_result, FetchResult)
    assert orders_result.stats.elapsed_s >= 0.6
    assert inventory.stats.elapsed_s < 0.5
    assert inventory.stats.records == 300 and orders_result.stats.records == 30
    waits = [e for e in events if e.kind == "wait"]
    assert [(e.endpoint, e.reason) for e in waits] == [("orders", "429 rate limited")]
    assert waits[0].waiting_s == pytest.approx(0.6, abs=0.01)


def test_pacer_ignores_a_late_answer_from_the_previous_window() -> None:
    clock = FakeClock(start=T)
    pacer = Pacer("inventory", now=clock.time, sleep=clock.sleep)
    pacer.acquire()
    pacer.release(limited_headers(50, T + 60))  # the new window: 50 left
    pacer.acquire()
    pacer.release(limited_headers(0, T))  # straggler from the window that just ended
    pacer.set_demand(5)
    assert [pacer.acquire() for _ in range(5)] == [0.0] * 5


def test_closing_the_client_ends_a_long_rate_limit_wait_at_once() -> None:
    # real time and the default sleep: a 429 says "come back in 30 s"
    api = FakeApi({"inventory": inventory_records(10)})
    api.fail("inventory", 1, status(429, **{"Retry-After": "30"}))
    client = VendorClient(make_settings(), api.transport())
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            client.fetch("inventory")
        except TransportError as exc:
            errors.append(exc)

    worker = threading.Thread(target=fetch)
    worker.start()
    time.sleep(0.3)  # the fetch is now waiting for the 429 to pass
    started = time.monotonic()
    client.close()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 2.0
    assert len(errors) == 1 and "closed" in str(errors[0])
    assert len(api.api_requests()) == 1  # nothing was sent after the close
