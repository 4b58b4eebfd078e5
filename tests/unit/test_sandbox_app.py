"""The sandbox's API behaviour over the in-process transport: auth, headers, pagination,
204, updatedSince, rate limits, faults, determinism, stats."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import polars as pl
import pytest

from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig

HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "corr-1"}
FORM = {"grant_type": "client_credentials", "client_id": "vendor-app", "client_secret": "s3cret!"}


class Api:
    """A tiny test client over the sandbox transport."""

    def __init__(self, sb: Sandbox, client_id: str = "vendor-app", **kw: object) -> None:
        self.sb = sb
        self.http = httpx.Client(transport=sb.transport(), base_url="http://sandbox", **kw)
        self.token = self.http.post(
            "/oauth/oauth30/token", data={**FORM, "client_id": client_id}
        ).json()["access_token"]

    def get(
        self, endpoint: str, headers: dict[str, str] | None = None, **params: object
    ) -> httpx.Response:
        h = {**HEADERS, "Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.http.get(f"/vendors/v1/{endpoint}", headers=h, params=params)


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(SandboxConfig(seed=42, as_of=date(2026, 11, 1), scale=0.2, invalid=0))


@pytest.fixture
def api(sb: Sandbox) -> Iterator[Api]:
    a = Api(sb)
    yield a
    a.http.close()


# ------------------------------------------------------------------------------- auth


def test_token_endpoint(sb: Sandbox) -> None:
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as c:
        first = c.post("/oauth/oauth30/token", data=FORM)
        second = c.post("/oauth/oauth30/token", data=FORM)
        assert first.status_code == second.status_code == 200
        a, b = first.json(), second.json()
        assert a["token_type"] == "Bearer" and a["access_token"] != b["access_token"]
        # expires_in alternates between a string and a number, as Ingram sends it
        assert {type(a["expires_in"]), type(b["expires_in"])} == {str, int}
        assert int(a["expires_in"]) == 86399
        bad = c.post("/oauth/oauth30/token", data={**FORM, "client_secret": ""})
        assert bad.status_code == 401
        assert set(bad.json()["fault"]) == {"faultstring", "detail"}
        assert "errorcode" in bad.json()["fault"]["detail"]
        grant = c.post("/oauth/oauth30/token", data={**FORM, "grant_type": "password"})
        assert grant.status_code == 400
        assert c.get("/oauth/oauth30/token").status_code == 405
        basic = c.post(
            "/oauth/oauth30/token",
            data={"grant_type": "client_credentials"},
            auth=("vendor-app", "s3cret!"),
        )
        assert basic.status_code == 200 and basic.json()["access_token"]


def test_configured_credentials_are_enforced_and_never_echoed() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, client_id="me", client_secret="topsecret-123"))
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as c:
        wrong = c.post("/oauth/oauth30/token", data={**FORM, "client_id": "me"})
        assert wrong.status_code == 401 and "topsecret" not in wrong.text
        ok = c.post(
            "/oauth/oauth30/token",
            data={**FORM, "client_id": "me", "client_secret": "topsecret-123"},
        )
        assert ok.status_code == 200
    assert "topsecret" not in repr(sb.config)


def test_missing_bad_and_expired_tokens_get_401_with_fault_body() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, token_ttl_s=0.2))
    api = Api(sb)
    assert api.get("inventory").status_code == 200
    none = api.http.get("/vendors/v1/inventory", headers=HEADERS)
    assert none.status_code == 401
    bad = api.get("inventory", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert (
        bad.json()["fault"]["detail"]["errorcode"] == "keymanagement.service.invalid_access_token"
    )
    time.sleep(0.25)
    expired = api.get("inventory")
    assert expired.status_code == 401
    assert (
        expired.json()["fault"]["detail"]["errorcode"]
        == "keymanagement.service.access_token_expired"
    )
    assert expired.headers["IM-CorrelationID"] == "corr-1"


# ------------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"IM-PartnerID": ""}, "IM-PartnerID"),
        ({"IM-CountryCode": "USA"}, "IM-CountryCode"),
        ({"IM-CountryCode": "1A"}, "IM-CountryCode"),
        ({"IM-CorrelationID": "x" * 33}, "IM-CorrelationID"),
        ({"IM-SenderID": "s" * 33}, "IM-SenderID"),
    ],
)
def test_bad_headers_get_400_naming_the_field(
    api: Api, override: dict[str, str], field: str
) -> None:
    r = api.get("orders", headers=override)
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["type"] == "/errors/validation-failed"
    assert [f["field"] for f in err["fields"]] == [field]


def test_missing_headers_all_reported_and_correlation_echoed(api: Api) -> None:
    r = api.http.get("/vendors/v1/orders", headers={"Authorization": f"Bearer {api.token}"})
    assert r.status_code == 400
    fields = {f["field"] for f in r.json()["errors"][0]["fields"]}
    assert fields == {"IM-PartnerID", "IM-CountryCode", "IM-CorrelationID"}
    ok = api.get("orders", headers={"IM-CorrelationID": "a" * 32})
    assert ok.status_code == 200 and ok.headers["IM-CorrelationID"] == "a" * 32


def test_unknown_path_and_method(api: Api) -> None:
    assert api.http.get("/vendors/v1/invoices", headers=HEADERS).status_code == 404
    r = api.http.post(
        "/vendors/v1/orders", headers={**HEADERS, "Authorization": f"Bearer {api.token}"}
    )
    assert r.status_code == 405


# ------------------------------------------------------------------------------- pagination


def test_envelope_pagination_and_204(api: Api, sb: Sandbox) -> None:
    total = sb.ground_truth("inventory").height  # 500
    first = api.get("inventory", pageSize=100)
    body = first.json()
    assert body["recordsFound"] == str(total) and isinstance(body["recordsFound"], str)
    assert (body["pageSize"], body["pageNumber"]) == (100, 1)
    assert body["previousPage"] is None
    assert body["nextPage"] == "/vendors/v1/inventory?pageNumber=2&pageSize=100"
    assert len(body["inventory"]) == 100
    last = api.get("inventory", pageSize=100, pageNumber=5).json()
    assert last["nextPage"] is None
    assert last["previousPage"] == "/vendors/v1/inventory?pageNumber=4&pageSize=100"
    past = api.get("inventory", pageSize=100, pageNumber=6)
    assert past.status_code == 204 and past.content == b""
    default = api.get("inventory").json()
    assert default["pageSize"] == 25 and len(default["inventory"]) == 25
    keys = [(r["partNumber"], str(r["warehouse"])) for r in body["inventory"]]
    assert keys == sorted(keys)  # stable order by primary key


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": 101},
        {"pageSize": 0},
        {"pageNumber": 0},
        {"pageNumber": "x"},
        {"updatedSince": "yesterday"},
    ],
)
def test_bad_query_gets_400(api: Api, params: dict[str, object]) -> None:
    r = api.get("shipments", **params)
    assert r.status_code == 400
    assert r.json()["errors"][0]["fields"][0]["field"] == next(iter(params))


def test_max_page_size_can_be_lifted() -> None:
    sb = Sandbox(SandboxConfig(scale=0.2, invalid=0, max_page_size=1000))
    api = Api(sb)
    assert len(api.get("inventory", pageSize=1000).json()["inventory"]) == 500


def test_updated_since_is_inclusive_and_keeps_the_query(api: Api, sb: Sandbox) -> None:
    truth = sb.ground_truth("orders")
    since = truth["updated_at"].sort()[-30]
    expected = truth.filter(pl.col("updated_at") >= since).height
    iso = since.isoformat()
    r = api.get("orders", updatedSince=iso, pageSize=10)
    body = r.json()
    assert body["recordsFound"] == str(expected)
    assert "updatedSince=" in body["nextPage"] and "pageNumber=2" in body["nextPage"]
    # same instant written with an offset
    local = since.astimezone(datetime.fromisoformat("2026-01-01T00:00:00-07:00").tzinfo)
    assert api.get("orders", updatedSince=local.isoformat()).json()["recordsFound"] == str(expected)
    future = api.get("orders", updatedSince="2030-01-01T00:00:00Z")
    assert future.status_code == 204


# ------------------------------------------------------------------------------- rate limit


def test_rate_limit_per_endpoint_and_client() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, rate_limit_per_minute=3, rate_limit_window_s=0.5))
    api, other = Api(sb), Api(sb, client_id="other-app")
    before = time.time()
    got = [api.get("inventory") for _ in range(4)]
    assert [r.status_code for r in got] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in got] == ["2", "1", "0", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in got)
    reset = int(got[0].headers["X-RateLimit-Reset"])
    assert before <= reset <= before + 2
    assert got[3].json() == {"errors": [{"field": None, "message": "too many requests"}]}
    assert api.get("orders").status_code == 200  # per endpoint
    assert other.get("inventory").status_code == 200  # per client id
    assert sb.stats["inventory"]["rate_limited"] == 1
    time.sleep(0.55)
    assert api.get("inventory").status_code == 200


def test_no_rate_limit_headers_when_off(api: Api) -> None:
    assert "X-RateLimit-Limit" not in api.get("orders").headers


# ------------------------------------------------------------------------------- clock, determinism


def test_date_header_is_the_virtual_clock() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, as_of=date(2026, 11, 8)))
    api = Api(sb)
    assert parsedate_to_datetime(api.get("orders").headers["Date"]) == sb.now
    assert sb.now.isoformat() == "2026-11-08T12:00:00+00:00"
    sb.mutate(0.1)
    assert parsedate_to_datetime(api.get("orders").headers["Date"]) == sb.now
    assert sb.now.isoformat() == "2026-11-08T12:01:00+00:00"


def _transcript(sb: Sandbox) -> list[bytes]:
    api = Api(sb)
    out = [api.token.encode()]
    for ep in ("inventory", "orders", "shipments"):
        for page in (1, 2, 3):
            r = api.get(ep, pageNumber=page, pageSize=50)
            out.append(r.content + json.dumps(sorted(r.headers.items())).encode())
    return out


def test_same_config_gives_byte_identical_responses() -> None:
    cfg = SandboxConfig(seed=9, scale=0.1, invalid=1)
    a, b = _transcript(Sandbox(cfg)), _transcript(Sandbox(cfg))
    assert a == b
    c = _transcript(Sandbox(SandboxConfig(seed=10, scale=0.1, invalid=1)))
    assert a[1:] != c[1:]


# ------------------------------------------------------------------------------- faults


def test_server_errors_are_transient() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, faults=FaultConfig(error_rate=1.0, max_consecutive=2)))
    api = Api(sb)
    codes = [api.get("orders").status_code for _ in range(3)]
    assert codes[2] == 200 and set(codes[:2]) <= {500, 503}
    err = api.get("orders")
    assert err.json()["errors"][0]["type"] == "/errors/server-error"
    assert sb.stats["orders"]["faults"]["error"] == 3


def test_429_bursts_with_and_without_retry_after() -> None:
    faults = FaultConfig(burst_429_rate=1.0, burst_429_length=2, retry_after_s=2)
    sb = Sandbox(SandboxConfig(scale=0.2, faults=faults))
    api = Api(sb)
    retry_after: list[str | None] = []
    for page in range(1, 9):
        got = [api.get("inventory", pageNumber=page) for _ in range(3)]
        assert [r.status_code for r in got] == [429, 429, 200]  # a burst, then through
        assert got[0].headers.get("Retry-After") == got[1].headers.get("Retry-After")
        assert got[0].json() == {"errors": [{"field": None, "message": "too many requests"}]}
        retry_after.append(got[0].headers.get("Retry-After"))
    assert set(retry_after) == {"2", None}
    assert sb.stats["inventory"]["rate_limited"] == 16


def test_dropped_connection_and_truncated_json() -> None:
    api = Api(Sandbox(SandboxConfig(scale=0.02, faults=FaultConfig(drop_rate=1.0))))
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("orders")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("orders")
    assert api.get("orders").status_code == 200  # never more than max_consecutive in a row
    api = Api(Sandbox(SandboxConfig(scale=0.02, faults=FaultConfig(truncate_rate=1.0))))
    cut = api.get("orders")
    assert cut.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)


def test_slow_response_times_out_and_latency_delays() -> None:
    faults = FaultConfig(slow_rate=1.0, slow_ms=2000, max_consecutive=1)
    api = Api(Sandbox(SandboxConfig(scale=0.02, faults=faults)), timeout=0.05)
    with pytest.raises(httpx.ReadTimeout):
        api.get("orders")
    assert api.get("orders").status_code == 200
    api = Api(Sandbox(SandboxConfig(scale=0.02, faults=FaultConfig(latency_ms=60))))
    t0 = time.perf_counter()
    api.get("orders")
    assert time.perf_counter() - t0 >= 0.06


def test_records_change_between_calls() -> None:
    faults = FaultConfig(change_calls=3, change_fraction=0.05)
    sb = Sandbox(SandboxConfig(scale=0.2, faults=faults))
    start = sb.now
    api = Api(sb)
    pages = [api.get("inventory", pageSize=100, pageNumber=1).content for _ in range(5)]
    assert sb.now == start + timedelta(minutes=3)
    assert pages[0] != pages[1] != pages[2]
    assert pages[3] == pages[4]  # calm after the first 3 calls
    inv = sb.ground_truth("inventory")
    assert inv.filter(pl.col("last_updated") == sb.now).height == 25  # 5% of 500 per call
    assert 25 < inv.filter(pl.col("last_updated") > start).height <= 3 * 25


def test_fault_sequence_is_deterministic() -> None:
    faults = FaultConfig(error_rate=0.3, drop_rate=0.2, burst_429_rate=0.1)

    def run() -> list[str]:
        api = Api(Sandbox(SandboxConfig(scale=0.02, seed=4, faults=faults)))
        out = []
        for page in range(1, 30):
            try:
                out.append(
                    str(api.get("inventory", pageNumber=page % 3 + 1, pageSize=5).status_code)
                )
            except httpx.RemoteProtocolError:
                out.append("drop")
        return out

    first = run()
    assert first == run()
    assert {"drop", "200"} <= set(first) and ({"500", "503"} & set(first))


def test_stats_count_requests_pages_and_codes(sb: Sandbox) -> None:
    sb.reset_stats()
    api = Api(sb)
    api.get("shipments", pageSize=100)
    api.get("shipments", pageSize=100, pageNumber=999)
    api.get("shipments", pageSize=1000)
    st = sb.stats["shipments"]
    assert st["requests"] == 3
    assert st["status_codes"] == {200: 1, 204: 1, 400: 1}
    assert st["pages_served"] == 1 and st["records_served"] == 100
    assert sb.stats["token"]["requests"] == 1


def test_unencoded_plus_offset_in_updated_since_is_understood(api: Api) -> None:
    encoded = api.get("orders", updatedSince="2026-10-20T00:00:00+00:00").json()["recordsFound"]
    raw = api.http.get(
        "/vendors/v1/orders?updatedSince=2026-10-20T00:00:00+00:00",
        headers={**HEADERS, "Authorization": f"Bearer {api.token}"},
    )
    assert raw.status_code == 200 and raw.json()["recordsFound"] == encoded
