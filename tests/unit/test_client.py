"""VendorClient against an in-process fake API: pagination, parsing, headers, errors."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime

import httpx
import polars as pl
import pytest

from tests.unit.client_fakes import SECRET, FakeApi, FakeClock, inventory_records
from vendorkit.client import FetchStats, Page, ProgressEvent, VendorClient
from vendorkit.config import Settings
from vendorkit.endpoints import get_endpoint
from vendorkit.errors import ApiError, ConfigError, ContractError


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "base_url": "https://api.example.test/vendors/v1",
        "client_id": "my-app",
        "client_secret": SECRET,
        "partner_id": "US123456",
        "country_code": "us",
        "page_size": 100,
        "workers": 3,
        "max_retries": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_client(api: FakeApi, clock: FakeClock | None = None, **overrides: object) -> VendorClient:
    clock = clock or api.clock or FakeClock()
    return VendorClient(
        make_settings(**overrides), transport=api.transport(), clock=clock.time, sleep=clock.sleep
    )


def part_numbers(pages: list[Page]) -> list[str]:
    return [pn for p in pages for pn in p.records["partNumber"].to_list()]


# -- pagination ------------------------------------------------------------------------


def test_full_fetch_returns_every_record_once_in_order() -> None:
    api = FakeApi({"inventory": inventory_records(250)})
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory"))
    assert [p.number for p in pages] == [1, 2, 3]
    assert part_numbers(pages) == [r["partNumber"] for r in api.records["inventory"]]
    assert [p.records_found for p in pages] == [250, 250, 250]
    # recordsFound says 3 pages: nothing is requested past them
    assert sorted(int(r.url.params["pageNumber"]) for r in api.api_requests()) == [1, 2, 3]


def test_pages_are_yielded_in_order_even_when_later_pages_answer_first() -> None:
    api = FakeApi({"inventory": inventory_records(500)})
    slow = threading.Event()

    def slow_page_2(request: httpx.Request) -> httpx.Response:
        slow.wait(0.3)  # page 2 answers last
        api.faults.pop(("inventory", 2), None)
        return api.handler(request)

    api.fail("inventory", 2, slow_page_2)
    with make_client(api, workers=4) as client:
        pages = list(client.iter_pages("inventory"))
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    assert part_numbers(pages) == [r["partNumber"] for r in api.records["inventory"]]


def test_string_typed_envelope_numbers_are_accepted() -> None:
    body = json.dumps(
        {
            "recordsFound": "3",
            "pageSize": "2",
            "pageNumber": "1",
            "nextPage": "/vendors/v1/inventory?pageNumber=2&pageSize=2",
            "inventory": [{"partNumber": "A"}, {"partNumber": "B"}],
        }
    ).encode()
    body2 = json.dumps(
        {
            "recordsFound": "3",
            "pageSize": "2",
            "pageNumber": "2",
            "inventory": [{"partNumber": "C"}],
        }
    ).encode()
    api = FakeApi()
    api.fail("inventory", 1, lambda r: httpx.Response(200, content=body))
    api.fail("inventory", 2, lambda r: httpx.Response(200, content=body2))
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory", page_size=2))
    assert part_numbers(pages) == ["A", "B", "C"]
    assert pages[0].records_found == 3


def test_without_records_found_stops_on_204() -> None:
    api = FakeApi({"inventory": inventory_records(200)}, envelope="no_total")
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory"))
    assert [p.number for p in pages] == [1, 2]  # the 204 of page 3 ends it, not yielded
    assert len(part_numbers(pages)) == 200
    assert [int(r.url.params["pageNumber"]) for r in api.api_requests()] == [1, 2, 3]


def test_without_records_found_stops_on_a_short_page() -> None:
    api = FakeApi({"inventory": inventory_records(230)}, envelope="no_total")
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory"))
    assert [p.records.height for p in pages] == [100, 100, 30]
    # the short page 3 still says nextPage, but nothing after it is requested
    assert [int(r.url.params["pageNumber"]) for r in api.api_requests()] == [1, 2, 3]


def test_without_records_found_stops_when_next_page_is_missing() -> None:
    body = json.dumps(
        {
            "pageNumber": 1,
            "pageSize": 2,
            "nextPage": None,
            "inventory": [{"partNumber": "A"}, {"partNumber": "B"}],
        }
    ).encode()
    api = FakeApi()
    api.fail("inventory", 1, lambda r: httpx.Response(200, content=body))
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory", page_size=2))
    assert part_numbers(pages) == ["A", "B"]
    assert len(api.api_requests()) == 1


def test_seed_shaped_body_is_one_page() -> None:
    api = FakeApi({"inventory": inventory_records(340)}, envelope="seed")
    with make_client(api) as client:
        result = client.fetch("inventory")
    assert len(result.pages) == 1
    assert result.stats.records == 340
    assert part_numbers(result.pages) == [r["partNumber"] for r in api.records["inventory"]]
    assert len(api.api_requests()) == 1


def test_empty_result_204_on_page_1_gives_one_empty_page() -> None:
    api = FakeApi({"inventory": []})
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory"))
    assert len(pages) == 1
    assert pages[0].status_code == 204
    assert pages[0].body == b""
    assert pages[0].records.height == 0
    assert pages[0].records.schema == pl.Schema(get_endpoint("inventory").wire_schema())


def test_server_capped_page_size_is_followed() -> None:
    api = FakeApi({"inventory": inventory_records(120)}, max_page_size=50)
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory", page_size=100))
    assert [p.records.height for p in pages] == [50, 50, 20]
    assert part_numbers(pages) == [r["partNumber"] for r in api.records["inventory"]]
    assert [r.url.params["pageSize"] for r in api.api_requests()][1:] == ["50", "50"]


def test_records_have_the_wire_schema_and_numbers_as_text() -> None:
    orders = [
        {
            "orderId": 1001,
            "resellerId": "R1",
            "status": "Shipped",
            "extra": {"x": 1},
            "lines": [{"lineNumber": 1, "partNumber": "P1", "quantity": "4", "unitPrice": 12.5}],
        },
        {"orderId": "1002", "resellerId": 7, "status": "OPEN"},
    ]
    api = FakeApi({"orders": orders})
    with make_client(api) as client:
        (page,) = list(client.iter_pages("orders"))
    assert page.records.schema == pl.Schema(get_endpoint("orders").wire_schema())
    assert page.records["orderId"].to_list() == ["1001", "1002"]
    assert page.records["resellerId"].to_list() == ["R1", "7"]
    assert page.records["resellerName"].to_list() == [None, None]
    line = page.records["lines"][0][0]
    assert line["quantity"] == "4" and line["unitPrice"] == "12.5" and line["warehouse"] is None
    assert page.records["lines"][1] is None


def test_page_body_is_the_bytes_served() -> None:
    api = FakeApi({"inventory": inventory_records(150)})
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory"))
    assert [p.body for p in pages] == [api.bodies[("inventory", 1)], api.bodies[("inventory", 2)]]


def test_updated_since_is_sent_as_iso_8601() -> None:
    api = FakeApi({"inventory": inventory_records(3)})
    with make_client(api) as client:
        list(client.iter_pages("inventory", updated_since=datetime(2026, 10, 1, 8, 30, tzinfo=UTC)))
        list(client.iter_pages("inventory", updated_since="2026-10-02T00:00:00Z"))
    sent = [r.url.params["updatedSince"] for r in api.api_requests()]
    assert sent == ["2026-10-01T08:30:00+00:00", "2026-10-02T00:00:00Z"]


def test_fetch_many_fetches_each_endpoint() -> None:
    orders = [{"orderId": str(i), "resellerId": "R", "status": "OPEN"} for i in range(130)]
    shipments = [{"id": f"S{i}", "orderId": str(i)} for i in range(40)]
    api = FakeApi({"inventory": inventory_records(310), "orders": orders, "shipments": shipments})
    with make_client(api) as client:
        results = client.fetch_many(
            ["inventory", "orders", "shipments"], updated_since={"orders": "2026-01-01"}
        )
    assert {n: r.stats.records for n, r in results.items()} == {  # type: ignore[union-attr]
        "inventory": 310,
        "orders": 130,
        "shipments": 40,
    }
    assert results["orders"].records()["orderId"].to_list() == [o["orderId"] for o in orders]  # type: ignore[union-attr]
    since = {
        r.url.path.rsplit("/", 1)[-1]: r.url.params.get("updatedSince") for r in api.api_requests()
    }
    assert since == {"inventory": None, "orders": "2026-01-01", "shipments": None}


def test_fetch_many_can_return_one_endpoints_error_and_keep_the_others() -> None:
    api = FakeApi({"inventory": inventory_records(10), "orders": [{"orderId": "1"}]})
    api.fail("orders", 1, lambda r: httpx.Response(400, json={"errors": [{"message": "bad"}]}))
    with make_client(api) as client:
        results = client.fetch_many(["inventory", "orders"], return_exceptions=True)
        assert isinstance(results["orders"], ApiError)
        assert results["inventory"].stats.records == 10  # type: ignore[union-attr]
        with pytest.raises(ApiError):
            api.fail(
                "orders", 1, lambda r: httpx.Response(400, json={"errors": [{"message": "bad"}]})
            )
            client.fetch_many(["inventory", "orders"])


# -- headers ---------------------------------------------------------------------------


def test_every_call_carries_the_ingram_headers() -> None:
    api = FakeApi({"inventory": inventory_records(250)})
    with make_client(api) as client:
        list(client.iter_pages("inventory"))
    reqs = api.api_requests()
    ids = [r.headers["IM-CorrelationID"] for r in reqs]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    for r in reqs:
        assert r.headers["IM-PartnerID"] == "US123456"
        assert r.headers["IM-CountryCode"] == "US"
        assert r.headers["IM-SenderID"] == "vendorkit/0.1.0"
        assert r.headers["Authorization"].startswith("Bearer tok-")
    # the token call is a form POST with client credentials
    (tok,) = api.token_requests()
    assert tok.method == "POST"
    assert tok.headers["content-type"] == "application/x-www-form-urlencoded"


def test_sender_id_from_settings() -> None:
    api = FakeApi({"inventory": inventory_records(1)})
    with make_client(api, sender_id="acme-bi") as client:
        list(client.iter_pages("inventory"))
    assert api.api_requests()[0].headers["IM-SenderID"] == "acme-bi"


def test_data_requests_use_the_proxy_the_environment_configures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages are sent on the transport httpx mounts for the base URL: a proxy from
    HTTPS_PROXY carries them, as it would through ``httpx.Client.send``."""
    import httpcore

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with VendorClient(make_settings()) as client:
        transport = client._transport
        assert transport is not client._http._transport
        assert isinstance(transport._pool, httpcore.HTTPProxy)  # type: ignore[attr-defined]
    monkeypatch.delenv("HTTPS_PROXY")
    with VendorClient(make_settings()) as client:
        assert client._transport is client._http._transport


def test_data_requests_carry_the_client_timeouts_and_keep_alive() -> None:
    api = FakeApi({"inventory": inventory_records(1)})
    with make_client(api, timeout_s=7.5, connect_timeout_s=2.5) as client:
        list(client.iter_pages("inventory"))
    (request,) = api.api_requests()
    assert request.extensions["timeout"] == {
        "connect": 2.5,
        "read": 7.5,
        "write": 7.5,
        "pool": 7.5,
    }
    assert request.headers["Connection"] == "keep-alive"
    assert request.headers["Accept-Encoding"] == "gzip"


def test_a_non_ascii_header_setting_is_a_config_error_naming_it() -> None:
    api = FakeApi({"inventory": inventory_records(1)})
    with pytest.raises(ConfigError, match=r"IM-SenderID header must be ASCII.*VENDORKIT_SENDER_ID"):
        make_client(api, sender_id="café-bi")
    assert api.requests == []


# -- contract errors -------------------------------------------------------------------


def test_html_200_is_a_contract_error_naming_endpoint_page_and_correlation_id() -> None:
    api = FakeApi()
    api.fail(
        "inventory",
        1,
        lambda r: httpx.Response(
            200,
            content=b"<html><body>Gateway login</body></html>",
            headers={"Content-Type": "text/html"},
        ),
    )
    with make_client(api) as client, pytest.raises(ContractError) as err:
        list(client.iter_pages("inventory"))
    cid = api.api_requests()[0].headers["IM-CorrelationID"]
    assert err.value.endpoint == "inventory" and err.value.page == 1
    assert cid in str(err.value) and "inventory" in str(err.value) and "page=1" in str(err.value)
    assert len(api.api_requests()) == 1  # not retried


def test_json_without_the_list_key_is_a_contract_error() -> None:
    api = FakeApi()
    api.fail("inventory", 1, lambda r: httpx.Response(200, json={"recordsFound": "1", "items": []}))
    with make_client(api) as client, pytest.raises(ContractError, match="'inventory' records"):
        list(client.iter_pages("inventory"))


def test_client_error_is_an_api_error_with_the_parsed_body_and_no_retry() -> None:
    errors = [
        {
            "id": "e1",
            "type": "/errors/validation-failed",
            "message": "bad header",
            "fields": [{"field": "IM-CountryCode", "value": "U", "message": "2 letters"}],
        }
    ]
    api = FakeApi()
    api.fail("inventory", 1, lambda r: httpx.Response(400, json={"errors": errors}))
    with make_client(api) as client, pytest.raises(ApiError) as err:
        list(client.iter_pages("inventory"))
    assert err.value.status_code == 400
    assert err.value.errors == errors
    assert "IM-CountryCode" in str(err.value)
    assert len(api.api_requests()) == 1


def test_unknown_endpoint_is_a_config_error() -> None:
    with make_client(FakeApi()) as client, pytest.raises(ConfigError, match="unknown endpoint"):
        list(client.iter_pages("invoices"))


# -- configuration and source ------------------------------------------------------------


def test_plain_http_token_url_to_a_remote_host_is_refused() -> None:
    settings = make_settings().model_copy(update={"token_url": "http://auth.example.test/token"})
    with pytest.raises(ConfigError, match="refusing plain http"):
        VendorClient(settings, transport=FakeApi().transport())


def test_no_credentials_against_a_remote_api_is_a_config_error() -> None:
    settings = Settings(_env_file=None, base_url="https://api.example.test/vendors/v1")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="VENDORKIT_CLIENT_ID"):
        VendorClient(settings)


def test_half_configured_credentials_are_a_config_error() -> None:
    settings = Settings(_env_file=None, client_id="abc")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="VENDORKIT_CLIENT_SECRET is not set"):
        VendorClient(settings, transport=FakeApi().transport())


def test_source_label() -> None:
    api = FakeApi({"inventory": inventory_records(1)})
    with make_client(api) as client:
        result = client.fetch("inventory")
    assert client.source == "api" and result.stats.source == "api"


# -- progress --------------------------------------------------------------------------


def test_progress_events_count_pages_records_and_bytes() -> None:
    api = FakeApi({"inventory": inventory_records(250)})
    events: list[ProgressEvent] = []
    clock = FakeClock()
    client = VendorClient(
        make_settings(),
        transport=api.transport(),
        on_progress=events.append,
        clock=clock.time,
        sleep=clock.sleep,
    )
    with client:
        result = client.fetch("inventory")
    pages = [e for e in events if e.kind == "page"]
    assert [e.pages_done for e in pages] == [1, 2, 3]
    assert {e.pages_total for e in pages} == {3}
    assert [e.records for e in pages] == [100, 200, 250]
    total_bytes = sum(len(b) for b in api.bodies.values())
    assert pages[-1].bytes == total_bytes == result.stats.bytes
    assert events[-1].kind == "done"


def test_fetch_stats_are_filled() -> None:
    api = FakeApi({"inventory": inventory_records(250)})
    with make_client(api) as client:
        stats = FetchStats(endpoint="inventory", source=client.source)
        pages = list(client.iter_pages("inventory", stats=stats))
    assert (stats.pages, stats.records, stats.records_found, stats.pages_total) == (3, 250, 250, 3)
    assert stats.requests == 3 and stats.retries == 0
    assert client.requests_made == len(api.api_requests()) == 3
    assert stats.bytes == sum(len(p.body) for p in pages)
    assert stats.elapsed_s > 0


def test_stopping_early_cancels_the_remaining_pages() -> None:
    api = FakeApi({"inventory": inventory_records(5000)})
    with make_client(api, workers=2) as client:
        for page in client.iter_pages("inventory"):
            if page.number == 2:
                break
    time.sleep(0.05)
    # a bounded look-ahead: far fewer than the 50 pages were requested
    assert len(api.api_requests()) <= 8


def test_a_204_before_records_found_is_reached_ends_the_fetch() -> None:
    api = FakeApi({"inventory": inventory_records(500)})
    api.fail("inventory", 3, lambda r: httpx.Response(204))
    with make_client(api, workers=1) as client:
        pages = list(client.iter_pages("inventory"))
    # the data shrank under us: what came before the 204 is kept, nothing is invented
    assert [p.number for p in pages] == [1, 2]
    assert part_numbers(pages) == [r["partNumber"] for r in api.records["inventory"][:200]]


def test_records_added_during_the_fetch_are_followed_past_records_found() -> None:
    records = inventory_records(300)
    api = FakeApi({"inventory": records})
    grown = inventory_records(350)

    def grow_then_serve(request: httpx.Request) -> httpx.Response:
        api.records["inventory"] = grown  # 50 more records arrive while page 3 is fetched
        return api.handler(request)

    api.fail("inventory", 3, grow_then_serve)
    with make_client(api, workers=1) as client:
        pages = list(client.iter_pages("inventory"))
    assert part_numbers(pages) == [r["partNumber"] for r in grown]


def test_unparseable_envelope_number_is_a_contract_error() -> None:
    api = FakeApi()
    api.fail(
        "inventory",
        1,
        lambda r: httpx.Response(200, json={"recordsFound": "lots", "inventory": []}),
    )
    with make_client(api) as client, pytest.raises(ContractError, match="recordsFound"):
        list(client.iter_pages("inventory"))


def test_bare_json_array_is_a_contract_error_not_a_retry() -> None:
    api = FakeApi()
    api.fail("inventory", 1, lambda r: httpx.Response(200, json=[{"partNumber": "A"}]))
    with make_client(api) as client, pytest.raises(ContractError):
        list(client.iter_pages("inventory"))
    assert len(api.api_requests()) == 1


def test_list_key_after_the_records_and_odd_spacing_still_parse() -> None:
    body = (
        b'{ "inventory" :\n [ {"partNumber": "A", "quantity": 1}, {"partNumber": "B]"} ] ,'
        b' "recordsFound" : "2", "nextPage": null, "meta": {"tags": ["x"]} }'
    )
    api = FakeApi()
    api.fail("inventory", 1, lambda r: httpx.Response(200, content=body))
    with make_client(api) as client:
        (page,) = list(client.iter_pages("inventory"))
    assert page.records["partNumber"].to_list() == ["A", "B]"]
    assert page.records["quantity"].to_list() == ["1", None]
    assert page.records_found == 2


def test_a_silently_capped_page_size_is_inferred_from_page_1() -> None:
    api = FakeApi({"inventory": inventory_records(230)}, envelope="no_size", max_page_size=40)
    with make_client(api) as client:
        pages = list(client.iter_pages("inventory", page_size=100))
    assert part_numbers(pages) == [r["partNumber"] for r in api.records["inventory"]]
    assert len(pages) == 6  # 230 records at the server's 40 per page
