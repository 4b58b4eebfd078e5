"""Hostile-server modes of the sandbox (issue 13's table): each produces exactly the stated
wire behaviour, checked through the in-process transport or on the app directly.

Socket-level behaviour (trickled heads, endless chunked bodies) is checked over real sockets
in tests/integration/test_sandbox_server.py.
"""

from __future__ import annotations

import gzip
import itertools
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from vendorkit.errors import ConfigError
from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from vendorkit.sandbox.clock import SimulatedClock

HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "corr-1"}
FORM = {"grant_type": "client_credentials", "client_id": "vendor-app", "client_secret": "s3cret!"}
START = datetime(2026, 11, 1, 12, tzinfo=UTC)


class Api:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.http = httpx.Client(transport=sb.transport(), base_url="http://sandbox")
        self.token_response = self.http.post("/oauth/oauth30/token", data=FORM)
        self.token = self.token_response.json()["access_token"]

    def get(self, endpoint: str = "inventory", **params: Any) -> httpx.Response:
        return self.http.get(
            f"/vendors/v1/{endpoint}",
            headers={**HEADERS, "Authorization": f"Bearer {self.token}"},
            params=params,
        )

    def stream(self, endpoint: str = "inventory", **params: Any) -> Any:
        return self.http.stream(
            "GET",
            f"/vendors/v1/{endpoint}",
            headers={**HEADERS, "Authorization": f"Bearer {self.token}"},
            params=params,
        )


def api_with(**faults: Any) -> Api:
    return Api(Sandbox(SandboxConfig(scale=0.02, invalid=0, faults=FaultConfig(**faults))))


@pytest.fixture
def clean() -> Iterator[Api]:
    api = Api(Sandbox(SandboxConfig(scale=0.02, invalid=0)))
    yield api
    api.http.close()


def _keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["partNumber"], str(r["warehouse"])) for r in body["inventory"]]


# ------------------------------------------------------------------------------ pagination


def test_ignore_page_number_serves_page_one_forever(clean: Api) -> None:
    api = api_with(ignore_page_number=True)
    first = clean.get(pageSize=10).json()
    pages = [api.get(pageNumber=n, pageSize=10).json() for n in (1, 2, 50)]
    for n, page in zip((1, 2, 50), pages, strict=True):
        assert _keys(page) == _keys(first) and len(page["inventory"]) == 10
        assert "recordsFound" not in page and page["pageNumber"] == 1
        assert page["nextPage"] == f"/vendors/v1/inventory?pageNumber={n + 1}&pageSize=10"


def test_next_page_points_to_itself() -> None:
    api = api_with(next_page_self=True, records_found=100)
    for n in (1, 2, 3):
        page = api.get(pageNumber=n, pageSize=10).json()
        assert page["nextPage"] == f"/vendors/v1/inventory?pageNumber={n}&pageSize=10"
        assert page["recordsFound"] == "100" and len(page["inventory"]) == 10


def test_huge_records_found_with_endless_short_pages() -> None:
    api = api_with(records_found=10**12, short_pages=3)
    seen = []
    for n in (1, 2, 17, 1000):
        page = api.get(pageNumber=n, pageSize=100).json()
        assert page["recordsFound"] == "1000000000000" and len(page["inventory"]) == 3
        assert page["nextPage"] == f"/vendors/v1/inventory?pageNumber={n + 1}&pageSize=100"
        seen.append(_keys(page))
    assert seen[0] != seen[1]  # the listing goes on, wrapping around


def test_records_found_zero_with_a_record_and_a_next_page() -> None:
    page = api_with(records_found=0).get(pageSize=5).json()
    assert page["recordsFound"] == "0" and len(page["inventory"]) == 5
    assert page["nextPage"] == "/vendors/v1/inventory?pageNumber=2&pageSize=5"


def test_envelope_page_size_is_absurd_and_copied_into_the_links() -> None:
    api = api_with(envelope_page_size=62_566_861)
    page = api.get(pageSize=20).json()
    assert page["pageSize"] == 62_566_861 and len(page["inventory"]) == 20
    assert page["nextPage"] == "/vendors/v1/inventory?pageNumber=2&pageSize=62566861"
    follow = api.http.get(
        page["nextPage"], headers={**HEADERS, "Authorization": f"Bearer {api.token}"}
    )
    assert follow.status_code == 400  # as the real API: pageSize must be <= 100
    assert follow.json()["errors"][0]["fields"][0]["field"] == "pageSize"


def test_ignore_updated_since_serves_the_full_listing(clean: Api) -> None:
    api = api_with(ignore_updated_since=True)
    total = clean.get(pageSize=100).json()["recordsFound"]
    future = (START + timedelta(days=365)).isoformat()
    assert clean.get(updatedSince=future).status_code == 204
    page = api.get(updatedSince=future, pageSize=10).json()
    assert page["recordsFound"] == total and len(page["inventory"]) == 10
    assert "updatedSince=" in page["nextPage"]  # the query is kept, as ever


# ------------------------------------------------------------------------------ tokens, waits


def test_expires_in_zero_and_no_clock_step() -> None:
    api = api_with(expires_in=0)
    assert api.token_response.json()["expires_in"] == 0
    for _ in range(5):
        again = api.http.post("/oauth/oauth30/token", data=FORM)
        assert again.json()["expires_in"] == 0
    assert api.get().status_code == 200  # the token really stays valid
    assert api.sb.app.sync_steps == 0  # tokens every call would otherwise step the clock


@pytest.mark.parametrize(
    "value", ["999999", "Fri, 01 Jan 2099 00:00:00 GMT", "inf", "1e308", "-5", "soon"]
)
def test_always_429_with_any_retry_after(value: str) -> None:
    api = api_with(always_429=True, retry_after=value)
    for _ in range(3):
        r = api.get()
        assert r.status_code == 429 and r.headers["Retry-After"] == value
        assert r.json() == {"errors": [{"field": None, "message": "too many requests"}]}


def test_retry_after_override_also_on_the_limiters_429() -> None:
    sb = Sandbox(
        SandboxConfig(scale=0.02, rate_limit_per_minute=1, faults=FaultConfig(retry_after="1e308"))
    )
    api = Api(sb)
    ok, limited = api.get(), api.get(pageNumber=2)
    assert ok.status_code == 200 and "Retry-After" not in ok.headers
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1e308"


@pytest.mark.parametrize(
    ("remaining", "reset"),
    [("0", "4102444800"), ("inf", None), ("0", "inf"), (None, "99999999999999999999")],
)
def test_rate_limit_headers_on_a_200(remaining: str | None, reset: str | None) -> None:
    api = api_with(rate_limit_remaining=remaining, rate_limit_reset=reset)
    r = api.get()
    assert r.status_code == 200
    assert r.headers.get("X-RateLimit-Remaining") == remaining
    assert r.headers.get("X-RateLimit-Reset") == reset
    assert r.headers["X-RateLimit-Limit"] == "60"
    assert len(r.headers.get_list("X-RateLimit-Remaining")) == (remaining is not None)


def test_maintenance_window_on_the_clock() -> None:
    clock = SimulatedClock(START)
    window = (START + timedelta(minutes=30), START + timedelta(hours=2))
    sb = Sandbox(
        SandboxConfig(scale=0.02, now=clock.now, faults=FaultConfig(maintenance=(window,)))
    )
    api = Api(sb)
    assert api.get().status_code == 200
    clock.sleep(1800)
    down = api.get()
    assert down.status_code == 503 and down.headers["Retry-After"] == str(90 * 60)
    err = down.json()["errors"][0]
    assert err["type"] == "/errors/maintenance"
    assert "maintenance until 2026-11-01T14:00:00Z" in err["message"]
    token = api.http.post("/oauth/oauth30/token", data=FORM)
    assert token.status_code == 503  # the token endpoint is down too
    clock.sleep(90 * 60)
    assert api.get().status_code == 200
    with pytest.raises(ConfigError, match="maintenance"):
        FaultConfig(maintenance=((window[1], window[0]),))


# ------------------------------------------------------------------------------ bodies


def test_trickled_body_arrives_one_byte_at_a_time() -> None:
    api = api_with(trickle_body_s=0.0005)
    with api.stream(pageSize=1) as r:
        assert r.status_code == 200
        chunks = list(r.iter_raw())
    assert all(len(c) == 1 for c in chunks)
    body = json.loads(b"".join(chunks))
    assert len(body["inventory"]) == 1 and int(r.headers["Content-Length"]) == len(chunks)


def test_gzip_bomb_without_being_asked() -> None:
    api = api_with(gzip_bomb_bytes=5_000_000)
    with api.stream(pageSize=10) as r:
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
        wire = b"".join(r.iter_raw())
    assert len(wire) < 20_000  # small on the wire ...
    decoded = gzip.decompress(wire)
    assert len(decoded) == 5_000_000  # ... huge once inflated
    body = json.loads(decoded)
    assert body["recordsFound"] == "1" and len(body["inventory"]) == 1
    assert zlib.decompressobj(31).decompress(wire, 100)[:15] == b'{"recordsFound"'


def test_huge_body_with_records_found_one_is_streamed() -> None:
    api = api_with(huge_body_bytes=3_000_000)
    with api.stream(pageSize=10) as r:
        assert r.status_code == 200 and r.headers["Content-Length"] == "3000000"
        sizes = [len(c) for c in r.iter_raw()]
    assert sum(sizes) == 3_000_000 and max(sizes) <= 1 << 20


def test_endless_body_never_ends() -> None:
    api = api_with(endless_body=True)
    with api.stream() as r:
        assert r.status_code == 200 and "Content-Length" not in r.headers
        first = list(itertools.islice(r.iter_raw(), 200))
    assert sum(len(c) for c in first) > 10_000_000 and first[0].startswith(b'{"recordsFound":"1"')


def test_invalid_utf8_inside_records() -> None:
    api = api_with(invalid_utf8_records=2)
    raw = api.get(pageSize=10).content
    assert raw.count(b"\xff\xfe") == 2
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    fixed = json.loads(raw.decode("utf-8", "replace"))
    assert len(fixed["inventory"]) == 10
    orders = api.get("orders", pageSize=5).content
    assert orders.count(b"\xff\xfe") == 2


def test_html_200_echoes_the_bearer_token() -> None:
    api = api_with(html_body=True)
    r = api.get()
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert api.token in r.text and r.text.startswith("<!DOCTYPE html>")


def test_non_numeric_records_found_echoes_the_bearer_token() -> None:
    api = api_with(records_found_token=True)
    page = api.get(pageSize=5).json()
    assert page["recordsFound"] == f"Bearer {api.token}"


@pytest.mark.parametrize("endpoint", ["orders", "shipments"])
def test_line_number_outside_int32(endpoint: str) -> None:
    api = api_with(line_number=2**31)
    records = api.get(endpoint, pageSize=5).json()[endpoint]
    assert records[0]["lines"][0]["lineNumber"] == 2_147_483_648
    assert all(line.get("lineNumber") != 2**31 for r in records[1:] for line in r["lines"])


def test_hostile_flags_are_validated_and_counted() -> None:
    assert FaultConfig(endless_body=True).hostile and not FaultConfig().hostile
    for bad in ({"short_pages": 0}, {"trickle_body_s": 0.0}, {"invalid_utf8_records": -1}):
        with pytest.raises(ConfigError):
            FaultConfig(**bad)
