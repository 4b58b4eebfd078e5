"""Odd and hostile servers (issue 13): every loop ends, every wait and every body is bounded.

Each test drives the real client through ``httpx.MockTransport`` and a fake clock (waits are
instant, and recorded), and asserts the bounded outcome: the error class, what the message
names, how many requests were sent, and that no secret or token leaks.
"""

from __future__ import annotations

import gzip
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from tests.unit.client_fakes import SECRET, FakeClock, inventory_records
from tests.unit.test_client import make_settings
from vendorkit.client import ProgressEvent, VendorClient
from vendorkit.config import Settings
from vendorkit.errors import ApiError, ConfigError, ContractError, RateLimitError
from vendorkit.http.body import INVALID_UTF8

TOKEN = "tok-hostile-7f3e9a"

Handler = Callable[[httpx.Request, int], httpx.Response]


class Server:
    """A data handler behind a token endpoint; counts what the client sent."""

    def __init__(self, handler: Handler, *, expires_in: Any = 3600) -> None:
        self.handler = handler
        self.expires_in = expires_in
        self.requests: list[httpx.Request] = []
        self.token_posts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/oauth30/token"):
            self.token_posts += 1
            return httpx.Response(
                200,
                json={"access_token": f"{TOKEN}{self.token_posts}", "expires_in": self.expires_in},
            )
        self.requests.append(request)
        number = int(parse_qs(request.url.query.decode()).get("pageNumber", ["1"])[0])
        return self.handler(request, number)

    def client(self, clock: FakeClock | None = None, **overrides: object) -> VendorClient:
        clock = clock or FakeClock()
        self.clock = clock
        return VendorClient(
            make_settings(**overrides),
            transport=httpx.MockTransport(self),
            clock=clock.time,
            sleep=clock.sleep,
        )


def page(records: list[dict[str, Any]], **envelope: Any) -> httpx.Response:
    return httpx.Response(200, json={**envelope, "inventory": records})


def fetch(server: Server, **overrides: object) -> list[Any]:
    with server.client(**overrides) as client:
        return list(client.iter_pages("inventory"))


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text


# -- 1. pagination that always ends ------------------------------------------------------


def test_a_server_ignoring_page_number_is_stopped_at_page_2() -> None:
    records = inventory_records(100)
    server = Server(lambda r, n: page(records, pageNumber=1, nextPage="/x?pageNumber=2"))
    with pytest.raises(ContractError) as info:
        fetch(server)
    assert len(server.requests) == 2
    assert info.value.endpoint == "inventory" and info.value.page == 2
    assert "pageNumber=1 when asked for page 2" in str(info.value)


def test_the_same_body_again_stops_paging() -> None:
    """``nextPage`` pointing to itself, no pageNumber in the envelope: the body repeats."""
    records = inventory_records(100)
    server = Server(lambda r, n: page(records, nextPage="/vendors/v1/inventory?pageNumber=1"))
    with pytest.raises(ContractError, match="same body as an earlier page"):
        fetch(server)
    assert len(server.requests) == 2


def test_the_same_records_in_a_new_wrapping_stop_paging() -> None:
    records = inventory_records(100)
    server = Server(lambda r, n: page(records, pageNumber=n, nextPage=f"/x?pageNumber={n + 1}"))
    with pytest.raises(ContractError, match="same 100 records as page 1"):
        fetch(server)
    assert len(server.requests) == 2


def unique_pages(size: int, **envelope: Any) -> Handler:
    def handler(request: httpx.Request, number: int) -> httpx.Response:
        records = [
            {"partNumber": f"P{number}-{i}", "warehouse": "10", "quantity": "1"}
            for i in range(size)
        ]
        return page(records, pageNumber=number, nextPage=f"/x?pageNumber={number + 1}", **envelope)

    return handler


def test_more_pages_than_records_found_allows_stop_with_a_margin() -> None:
    """recordsFound 100 at 10 per page: 10 pages, +10 for growth, then a ContractError."""
    server = Server(unique_pages(10, recordsFound=100, pageSize=10))
    with pytest.raises(ContractError) as info:
        fetch(server, page_size=10)
    assert len(server.requests) == 20
    assert "recordsFound=100 at pageSize 10" in str(info.value)
    assert info.value.page == 20


def test_records_found_zero_with_records_and_next_page_stops() -> None:
    server = Server(unique_pages(2, recordsFound=0))
    with pytest.raises(ContractError, match="recordsFound=0"):
        fetch(server, page_size=2)
    assert len(server.requests) == 11


@pytest.mark.parametrize("found", [10**12, 50_000_001])
def test_records_found_above_max_records_is_refused_on_page_1(found: int) -> None:
    server = Server(unique_pages(100, recordsFound=found))
    with pytest.raises(ContractError) as info:
        fetch(server)
    assert len(server.requests) == 1
    assert info.value.page == 1
    assert "recordsFound" in str(info.value)


def test_max_records_is_a_setting() -> None:
    server = Server(unique_pages(100, recordsFound=5000))
    with pytest.raises(ContractError, match="VENDORKIT_MAX_RECORDS=1,000"):
        fetch(server, max_records=1000)
    assert len(server.requests) == 1


@pytest.mark.parametrize("found", ["-5", "lots", "1e400"])
def test_records_found_negative_or_not_a_number_is_a_contract_error(found: str) -> None:
    server = Server(unique_pages(100, recordsFound=found))
    with pytest.raises(ContractError, match="recordsFound"):
        fetch(server)
    assert len(server.requests) == 1


def test_records_found_echoing_the_token_is_redacted() -> None:
    def echo(request: httpx.Request, number: int) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return page(inventory_records(3), recordsFound=f"n/a for {token}")

    with pytest.raises(ContractError) as info:
        fetch(Server(echo))
    assert_no_secret(str(info.value))
    assert "recordsFound" in str(info.value)
    # nor in the printed traceback or its chain (the ValueError quoting the raw value)
    assert_no_secret("".join(traceback.format_exception(info.value)))
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_envelope_page_size_may_lower_the_page_size_but_never_raise_it() -> None:
    def handler(request: httpx.Request, number: int) -> httpx.Response:
        size = int(request.url.params["pageSize"])
        records = inventory_records(250)[(number - 1) * size : number * size]
        return page(records, recordsFound=250, pageSize=62_566_861, pageNumber=number)

    server = Server(handler)
    pages = fetch(server)
    assert sum(p.records.height for p in pages) == 250
    assert {r.url.params["pageSize"] for r in server.requests} == {"100"}

    lowered = Server(
        lambda r, n: page(
            inventory_records(120)[(n - 1) * 40 : n * 40], recordsFound=120, pageSize=40
        )
    )
    assert sum(p.records.height for p in fetch(lowered)) == 120
    assert [r.url.params["pageSize"] for r in lowered.requests] == ["100", "40", "40"]


# -- 2. every wait bounded -----------------------------------------------------------------


def too_many(headers: dict[str, str]) -> Handler:
    def handler(request: httpx.Request, number: int) -> httpx.Response:
        return httpx.Response(
            429, json={"errors": [{"message": "too many requests"}]}, headers=headers
        )

    return handler


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "999999"},
        {"Retry-After": "Thu, 01 Jan 2099 00:00:00 GMT"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"},  # 2100
    ],
    ids=["seconds", "http-date", "reset"],
)
def test_a_429_asking_for_a_long_wait_fails_at_once_saying_when(headers: dict[str, str]) -> None:
    server = Server(too_many(headers))
    with pytest.raises(RateLimitError) as info:
        fetch(server)
    message = str(info.value)
    assert "VENDORKIT_MAX_WAIT_S=900" in message and "retry after 20" in message
    assert len(server.requests) == 1
    assert sum(server.clock.slept) == 0
    assert info.value.context["retry_after_s"] > 900


def test_a_200_with_no_budget_and_a_far_reset_fails_instead_of_sleeping() -> None:
    clock = FakeClock()
    far = str(int(clock.now) + 10 * 86400)
    spent = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": far}
    records = inventory_records(300)
    server = Server(
        lambda r, n: httpx.Response(
            200,
            json={"recordsFound": 300, "inventory": records[(n - 1) * 100 : n * 100]},
            headers=spent,
        )
    )
    with server.client(clock) as client, pytest.raises(RateLimitError) as info:
        list(client.iter_pages("inventory"))
    assert "VENDORKIT_MAX_WAIT_S" in str(info.value)
    assert max(clock.slept, default=0) <= 900
    assert len(server.requests) == 1


def test_max_wait_is_a_setting() -> None:
    server = Server(too_many({"Retry-After": "120"}))
    with pytest.raises(RateLimitError, match="VENDORKIT_MAX_WAIT_S=60"):
        fetch(server, max_wait_s=60)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "inf"},
        {"Retry-After": "1e308"},
        {"Retry-After": "-5"},
        {"Retry-After": "nan"},
        {"X-RateLimit-Remaining": "inf", "X-RateLimit-Reset": "inf"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e308"},
    ],
)
def test_absurd_rate_limit_headers_count_as_absent(headers: dict[str, str]) -> None:
    """No OverflowError: the 429 is retried after an ordinary backoff, then the page loads."""
    calls = {"n": 0}

    def handler(request: httpx.Request, number: int) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers=headers)
        return httpx.Response(200, json={"inventory": inventory_records(3)}, headers=headers)

    server = Server(handler)
    pages = fetch(server)
    assert sum(p.records.height for p in pages) == 3
    assert 0 < sum(server.clock.slept) <= 20


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        (
            {"Retry-After": "inf"},
            "an unbounded wait (Retry-After: 'inf'), beyond VENDORKIT_MAX_WAIT_S=900s",
        ),
        (
            {"Retry-After": "1e308"},
            "an unbounded wait (Retry-After: '1e308'), beyond VENDORKIT_MAX_WAIT_S=900s",
        ),
        ({"Retry-After": "nan"}, "an unreadable wait (Retry-After: 'nan')"),
        ({"Retry-After": "soon"}, "an unreadable wait (Retry-After: 'soon')"),
        ({"Retry-After": "-5"}, "a negative wait (Retry-After: '-5')"),
        (
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "inf"},
            "an unbounded wait (X-RateLimit-Reset: 'inf'), beyond VENDORKIT_MAX_WAIT_S=900s",
        ),
    ],
)
def test_an_endless_429_with_an_unusable_wait_says_what_the_server_asked(
    headers: dict[str, str], says: str
) -> None:
    """The header counts as absent (own backoff); the final error states the real answer."""
    server = Server(too_many(headers))
    with pytest.raises(RateLimitError) as info:
        fetch(server, max_retries=1)
    message = str(info.value)
    assert (
        f"GET /inventory page 1 got 429 Too Many Requests after 2 attempts; the server asked for {says}"
        in message
    )
    assert "retry later, or raise VENDORKIT_MAX_RETRIES" in message
    assert "wait 0s" not in message and "wait 1s" not in message
    assert info.value.endpoint == "inventory" and info.value.page == 1
    assert len(server.requests) == 2
    assert max(server.clock.slept) <= 20  # backed off on its own, no overflow


def test_an_endless_429_without_any_wait_header_says_so() -> None:
    server = Server(too_many({}))
    with pytest.raises(RateLimitError) as info:
        fetch(server, max_retries=1)
    assert "the server named no wait (no Retry-After or X-RateLimit-Reset)" in str(info.value)
    assert "wait 0s" not in str(info.value)


def test_an_endless_429_with_a_usable_wait_says_how_long() -> None:
    server = Server(too_many({"Retry-After": "2"}))
    with pytest.raises(RateLimitError, match="after 2 attempts; wait 2s and retry"):
        fetch(server, max_retries=1)


def test_a_long_wait_is_logged_at_info_and_shown_in_progress_before_it_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[ProgressEvent] = []
    calls = {"n": 0}

    def handler(request: httpx.Request, number: int) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "60"})
        return httpx.Response(200, json={"inventory": inventory_records(3)})

    server = Server(handler)
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="vendorkit.client"):
        client = VendorClient(
            make_settings(),
            transport=httpx.MockTransport(server),
            on_progress=events.append,
            clock=clock.time,
            sleep=lambda s: (events.append("slept"), clock.sleep(s)),  # type: ignore[func-returns-value]
        )
        with client:
            list(client.iter_pages("inventory"))
    waits = [e for e in events if isinstance(e, ProgressEvent) and e.kind == "wait"]
    assert [round(e.waiting_s) for e in waits] == [60]
    assert events.index(waits[0]) < events.index("slept")
    assert any(
        r.levelno == logging.INFO and "waiting 60s (429 rate limited)" in r.getMessage()
        for r in caplog.records
    )


# -- 3. every request bounded ------------------------------------------------------------


class Endless(httpx.SyncByteStream):
    """A body that never ends; counts the bytes handed out."""

    def __init__(self, chunk: bytes = b" " * 65536) -> None:
        self.chunk = chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.sent += len(self.chunk)
            yield self.chunk


def test_an_endless_body_is_cut_at_max_page_bytes_while_streaming() -> None:
    stream = Endless()
    server = Server(lambda r, n: httpx.Response(200, stream=stream))
    with pytest.raises(ContractError) as info:
        fetch(server, max_page_bytes=1024 * 1024)
    assert "VENDORKIT_MAX_PAGE_BYTES=1,048,576" in str(info.value)
    assert stream.sent <= 1024 * 1024 + 65536  # stopped at the bound, not after
    assert len(server.requests) == 1  # not retried


def test_a_declared_content_length_above_the_bound_is_refused_before_reading() -> None:
    stream = Endless()
    server = Server(
        lambda r, n: httpx.Response(
            200, stream=stream, headers={"Content-Length": str(200 * 2**20)}
        )
    )
    with pytest.raises(ContractError, match="declares 209,715,200 bytes"):
        fetch(server, max_page_bytes=2**20)
    assert stream.sent == 0


def test_a_gzip_bomb_is_cut_at_the_decoded_bound() -> None:
    bomb = gzip.compress(b'{"inventory": [' + b" " * (50 * 2**20) + b"]}")
    assert len(bomb) < 2**20 // 10
    server = Server(
        lambda r, n: httpx.Response(
            200, stream=httpx.ByteStream(bomb), headers={"Content-Encoding": "gzip"}
        )
    )
    with pytest.raises(ContractError) as info:
        fetch(server, max_page_bytes=2**20)
    message = str(info.value)
    # it says it was gzip, the inflated bound and the compressed size it came from
    assert "GET /inventory page 1: the gzip body inflated past the 1,048,576-byte bound" in message
    compressed = int(message.split("from only ")[1].split(" compressed bytes")[0].replace(",", ""))
    assert 0 < compressed <= len(bomb)
    assert "a decompression bomb" in message
    assert "VENDORKIT_MAX_PAGE_BYTES=1,048,576" in message
    assert "report the server with the correlation id" in message
    assert info.value.endpoint == "inventory" and info.value.page == 1
    assert len(server.requests) == 1  # not retried


def test_a_plain_body_past_the_bound_does_not_blame_gzip() -> None:
    server = Server(lambda r, n: httpx.Response(200, stream=httpx.ByteStream(b" " * 5000)))
    with pytest.raises(ContractError) as info:
        fetch(server, max_page_bytes=4096)
    assert "gzip" not in str(info.value)
    assert "the body grew past the 4,096-byte bound" in str(info.value)


def test_a_gzip_page_within_the_bound_loads_and_gzip_is_all_we_ask_for() -> None:
    body = json.dumps({"inventory": inventory_records(50)}).encode()
    server = Server(
        lambda r, n: httpx.Response(
            200, stream=httpx.ByteStream(gzip.compress(body)), headers={"Content-Encoding": "gzip"}
        )
    )
    (only,) = fetch(server)
    assert only.body == body and only.records.height == 50
    assert server.requests[0].headers["accept-encoding"] == "gzip"


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd"])
def test_an_encoding_we_did_not_ask_for_is_refused_not_decoded(encoding: str) -> None:
    server = Server(
        lambda r, n: httpx.Response(
            200, stream=httpx.ByteStream(b"\x00" * 100), headers={"Content-Encoding": encoding}
        )
    )
    with pytest.raises(ContractError, match="did not ask for"):
        fetch(server)
    assert len(server.requests) == 1


# -- 4. tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("expires_in", [0, "0", -10, "nan"])
def test_a_token_that_expires_at_once_is_still_used_for_a_while(expires_in: Any) -> None:
    records = inventory_records(100)
    server = Server(
        lambda r, n: page(records[(n - 1) * 10 : n * 10], recordsFound=100, pageSize=10),
        expires_in=expires_in,
    )
    pages = fetch(server, page_size=10)
    assert len(pages) == 10
    assert server.token_posts == 1


def test_the_token_floor_drops_to_what_the_server_shows_with_a_401() -> None:
    """expires_in 0 but tokens really die after ~10 s: renew before that age from then on."""
    from vendorkit.http.auth import TokenProvider

    now = {"t": 0.0}
    issued = []

    def handler(request: httpx.Request) -> httpx.Response:
        issued.append(now["t"])
        return httpx.Response(200, json={"access_token": f"{TOKEN}{len(issued)}", "expires_in": 0})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        tokens = TokenProvider(
            http,
            "https://api.example.test/oauth/oauth30/token",
            "id",
            SECRET,
            clock=lambda: now["t"],
        )
        first = tokens.token()
        now["t"] = 10.0
        assert tokens.token() == first  # the 30 s floor, whatever expires_in says
        tokens.invalidate(first)  # the server refused it at age 10 s
        second = tokens.token()
        now["t"] = 15.0
        assert tokens.token() == second
        now["t"] = 18.5  # 8.5 s old: past 80 % of the age the server refused
        assert tokens.token() not in (first, second)
    assert issued == [0.0, 10.0, 18.5]


def test_an_html_200_echoing_the_token_is_redacted() -> None:
    def echo(request: httpx.Request, number: int) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(
            200, text=f"<html>{token} {SECRET}</html>", headers={"Content-Type": "text/html"}
        )

    with pytest.raises(ContractError) as info:
        fetch(Server(echo))
    assert_no_secret(str(info.value))
    assert "not JSON" in str(info.value)


def test_an_error_body_echoing_an_earlier_token_is_redacted() -> None:
    """After a refresh, the server quotes the first token: it is masked too."""
    calls = {"n": 0}

    def handler(request: httpx.Request, number: int) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(401, json={"fault": {"faultstring": "expired"}})
        return httpx.Response(
            400, json={"errors": [{"message": f"token {TOKEN}1 is not for this partner"}]}
        )

    with pytest.raises(ApiError) as info:
        fetch(Server(handler))
    assert_no_secret(str(info.value))


# -- 5. bodies and hints -----------------------------------------------------------------


def test_invalid_utf8_in_a_record_keeps_the_page_with_a_marker() -> None:
    body = (
        b'{"recordsFound": 3, "inventory": ['
        b'{"partNumber": "A", "warehouse": "10", "quantity": "1"},'
        b'{"partNumber": "B\xff\xfe", "warehouse": "10", "quantity": "2"},'
        b'{"partNumber": "C", "warehouse": "10", "quantity": "3"}]}'
    )
    server = Server(lambda r, n: httpx.Response(200, content=body))
    (only,) = fetch(server)
    assert only.records["partNumber"].to_list() == ["A", f"B{INVALID_UTF8}{INVALID_UTF8}", "C"]
    assert only.body == body  # the archive keeps what was received
    assert len(server.requests) == 1  # not retried as a "cut-off" body


def test_settings_refuse_a_page_size_the_api_would_refuse() -> None:
    with pytest.raises(ConfigError, match="VENDORKIT_PAGE_SIZE=500"):
        Settings(page_size=500)


def test_a_400_about_page_size_points_at_vendorkit_page_size() -> None:
    server = Server(
        lambda r, n: httpx.Response(
            400,
            json={
                "errors": [
                    {
                        "message": "pagesize must be <= 50",  # a server stricter than the contract
                        "fields": [{"field": "pageSize", "value": "100"}],
                    }
                ]
            },
        )
    )
    with pytest.raises(ApiError) as info:
        fetch(server, page_size=100)
    assert "VENDORKIT_PAGE_SIZE" in str(info.value)
    assert "PARTNER_ID" not in str(info.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_says_the_url_moved(status: int) -> None:
    server = Server(
        lambda r, n: httpx.Response(status, headers={"Location": "https://elsewhere.test/v2"})
    )
    with pytest.raises(ApiError) as info:
        fetch(server)
    assert "URL moved" in str(info.value) and "https://elsewhere.test/v2" in str(info.value)
    assert "VENDORKIT_BASE_URL" in str(info.value)
    assert len(server.requests) == 1
