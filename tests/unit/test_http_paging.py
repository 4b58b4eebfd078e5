"""The pagination strategy, the retry policy and the request deadline, on their own."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
import polars as pl
import pytest

from vendorkit.endpoints import get_endpoint
from vendorkit.errors import ContractError
from vendorkit.http.body import parse_page_body
from vendorkit.http.bounds import Deadline, DeadlineBackend
from vendorkit.http.pages import Page
from vendorkit.http.paging import PageMark, PageNumberPaginator
from vendorkit.http.retry import RetryPolicy, header_number, parse_retry_after, reset_delay

INVENTORY = get_endpoint("inventory")


def arrive(paginator: PageNumberPaginator, number: int, envelope: dict[str, Any], n: int) -> None:
    records = [{"partNumber": f"P{number}-{i}", "warehouse": "10"} for i in range(n)]
    body = json.dumps({**envelope, "inventory": records}).encode()
    page = Page("inventory", number, body, pl.DataFrame(), None, datetime.now(UTC), "c", 200, None)
    paginator.update_state(page, parse_page_body(body, INVENTORY))


def test_records_found_plans_the_pages_and_stops_after_the_last() -> None:
    paginator = PageNumberPaginator(INVENTORY, 10)
    arrive(paginator, 1, {"recordsFound": 25, "pageSize": 10}, 10)
    assert paginator.plan() == range(2, 4) and paginator.plan() == range(0)
    arrive(paginator, 2, {"recordsFound": 25}, 10)
    arrive(paginator, 3, {"recordsFound": 25}, 5)
    assert not paginator.has_next
    assert (paginator.records_found, paginator.pages_total) == (25, 3)


def test_without_records_found_a_short_page_ends_it() -> None:
    paginator = PageNumberPaginator(INVENTORY, 10)
    request = paginator.init_request("2026-10-01T00:00:00Z")
    arrive(paginator, 1, {"nextPage": "/x?pageNumber=2"}, 10)
    assert paginator.has_next
    assert paginator.update_request(request).params() == {
        "pageNumber": 2,
        "pageSize": 10,
        "updatedSince": "2026-10-01T00:00:00Z",
    }
    arrive(paginator, 2, {"nextPage": "/x?pageNumber=3"}, 4)
    assert not paginator.has_next


def test_page_size_from_the_envelope_only_lowers() -> None:
    up = PageNumberPaginator(INVENTORY, 100)
    arrive(up, 1, {"recordsFound": 1000, "pageSize": 62_566_861}, 100)
    assert up.page_size == 100 and up.pages_total == 10
    down = PageNumberPaginator(INVENTORY, 100)
    arrive(down, 1, {"recordsFound": 1000, "pageSize": 50}, 50)
    assert down.page_size == 50 and down.pages_total == 20


def test_a_page_number_mismatch_names_endpoint_page_and_what_the_server_did() -> None:
    paginator = PageNumberPaginator(INVENTORY, 10)
    arrive(paginator, 1, {"pageNumber": 1, "nextPage": "/x"}, 10)
    with pytest.raises(ContractError) as info:
        arrive(paginator, 2, {"pageNumber": "1", "nextPage": "/x"}, 10)
    assert (info.value.endpoint, info.value.page) == ("inventory", 2)
    assert "pageNumber=1 when asked for page 2" in str(info.value)


def test_max_records_bounds_a_fetch_without_records_found() -> None:
    paginator = PageNumberPaginator(INVENTORY, 10, max_records=100)
    number = 0
    with pytest.raises(ContractError, match="VENDORKIT_MAX_RECORDS=100 at pageSize 10"):
        for number in range(1, 1000):
            arrive(paginator, number, {"nextPage": "/x"}, 10)
    assert number == 20  # ceil(100 / 10) + 10 pages


def _page_of(number: int, records: list[dict[str, str]]) -> tuple[Page, Any]:
    body = json.dumps({"recordsFound": 30, "pageSize": 10, "inventory": records}).encode()
    parsed = parse_page_body(body, INVENTORY)
    page = Page("inventory", number, body, parsed.records, None, datetime.now(UTC), "c", 200, None)
    return page, parsed


def test_the_repeat_guard_reads_the_mark_the_worker_computed() -> None:
    """A page whose records repeat an earlier page's stops the fetch, whether the mark is
    passed in (the client computes it in the fetching thread) or computed on the spot."""
    for precomputed in (True, False):
        paginator = PageNumberPaginator(INVENTORY, 10)
        same = [{"partNumber": f"P{i}", "warehouse": "10"} for i in range(10)]
        for number in (1, 2):
            page, parsed = _page_of(number, same)
            if number == 2:  # a different body (other envelope page), the same records
                body = page.body.replace(b'"pageSize": 10', b'"pageSize": 10 ')
                page = Page(
                    "inventory", 2, body, parsed.records, None, page.fetched_at, "c", 200, None
                )
            mark = PageMark.of(INVENTORY, page.body, parsed.records) if precomputed else None
            if number == 1:
                paginator.update_state(page, parsed, mark)
                continue
            with pytest.raises(ContractError, match="same 10 records as page 1"):
                paginator.update_state(page, parsed, mark)


def test_a_mark_is_the_body_hash_and_the_key_span() -> None:
    page, parsed = _page_of(1, [{"partNumber": f"P{i}", "warehouse": "10"} for i in range(3)])
    mark = PageMark.of(INVENTORY, page.body, parsed.records)
    assert mark == PageMark.of(INVENTORY, bytes(page.body), parsed.records)
    assert mark.keys == (3, ("P0", "10"), ("P2", "10"))
    assert mark.digest != PageMark.of(INVENTORY, page.body + b" ", parsed.records).digest
    single, one = _page_of(1, [{"partNumber": "P0", "warehouse": "10"}])
    assert PageMark.of(INVENTORY, single.body, one.records).keys is None


def test_retry_policy_classifies_each_outcome() -> None:
    policy = RetryPolicy(max_retries=2, max_wait_s=60, rng=random.Random(1))
    assert policy.classify(httpx.Response(200), attempt=0, now=0).action == "accept"
    assert policy.classify(httpx.Response(204), attempt=5, now=0).action == "accept"
    assert policy.classify(httpx.Response(401), attempt=0, now=0).action == "refresh"
    assert policy.classify(httpx.Response(401), attempt=0, now=0, refreshed=True).action == "fail"
    assert policy.classify(httpx.Response(400), attempt=0, now=0).action == "fail"
    assert policy.classify(httpx.Response(502), attempt=1, now=0).action == "retry"
    assert policy.classify(httpx.Response(502), attempt=2, now=0).action == "fail"
    assert policy.classify(httpx.ConnectError("x"), attempt=0, now=0).action == "retry"
    assert policy.classify(httpx.UnsupportedProtocol("x"), attempt=0, now=0).action == "fail"
    wait = policy.classify(httpx.Response(429, headers={"Retry-After": "30"}), attempt=0, now=0)
    assert (wait.action, wait.delay_s) == ("wait", 30.0)
    long = policy.classify(httpx.Response(429, headers={"Retry-After": "61"}), attempt=0, now=0)
    assert (long.action, long.delay_s) == ("fail", 61.0)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "-1", "9" * 400, "x"])
def test_absurd_header_numbers_read_as_absent(value: str) -> None:
    assert header_number({"x-ratelimit-remaining": value}, "X-RateLimit-Remaining") is None
    assert parse_retry_after(value, now=0.0) is None
    assert reset_delay({"x-ratelimit-reset": value}, now=0.0) is None


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert parse_retry_after("Tue, 01 Dec 2026 00:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now=now) is not None


class _SlowStream(httpcore.NetworkStream):
    """Answers every read with one byte; records the timeouts it was given."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(timeout)
        time.sleep(0.002)
        return b"x"

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)

    def close(self) -> None:
        pass


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.stream = _SlowStream()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, *rest: Any) -> Any:
        return self.stream


def test_the_deadline_shortens_every_read_and_then_refuses() -> None:
    deadline = Deadline()
    inner = _Backend()
    stream = DeadlineBackend(inner, deadline).connect_tcp("h", 1, timeout=30.0)
    stream.read(1, timeout=30.0)  # no deadline set: the timeout as given
    assert inner.stream.timeouts == [30.0]
    with deadline.within(0.05), pytest.raises(httpcore.ReadTimeout, match="deadline"):
        for _ in range(10_000):
            stream.read(1, timeout=30.0)
    given = inner.stream.timeouts[1:]
    assert all(t is not None and t <= 0.05 for t in given)
    assert given == sorted(given, reverse=True)  # the time left only shrinks
