"""One Page type, one body parser, and the PageSource protocol the sync consumes."""

from __future__ import annotations

import dataclasses

import httpx
import polars as pl

from tests.unit.client_fakes import FakeApi
from tests.unit.store_fakes import FakeClient, FakeWorld
from tests.unit.test_client import make_client
from vendorkit.endpoints import get_endpoint
from vendorkit.http.body import parse_page_body
from vendorkit.http.pages import Page, PageSource
from vendorkit.sync import parse_body


def test_the_client_and_the_sync_fakes_are_page_sources() -> None:
    with make_client(FakeApi()) as client:
        assert isinstance(client, PageSource)
    assert isinstance(FakeClient(FakeWorld.small()), PageSource)


def test_client_fakes_and_replay_share_one_page_type() -> None:
    with make_client(FakeApi()) as client:
        live = next(iter(client.iter_pages("inventory")))
    faked = next(FakeClient(FakeWorld.small()).iter_pages("inventory"))
    assert type(live) is Page
    assert type(faked) is Page
    assert [f.name for f in dataclasses.fields(Page)] == [
        "endpoint",
        "number",
        "body",
        "records",
        "records_found",
        "fetched_at",
        "correlation_id",
        "status_code",
        "server_date",
    ]


def test_replay_reads_a_body_exactly_as_the_live_parser() -> None:
    """An object where a scalar belongs: the live parser keeps it as text for the schemas."""
    body = (
        b'{"recordsFound": 2, "pageNumber": 1, "inventory": ['
        b'{"partNumber": {"nested": 1}, "quantity": 3, "warehouse": 10},'
        b'{"partNumber": "B", "quantity": "4", "warehouse": "20"}]}'
    )
    live = parse_page_body(body, get_endpoint("inventory")).records
    replayed = parse_body("inventory", body)
    assert replayed.equals(live)
    assert replayed["partNumber"].to_list() == ['{"nested": "1"}', "B"]


def test_replay_of_a_204_is_an_empty_wire_frame() -> None:
    frame = parse_body("orders", b"")
    assert frame.height == 0
    assert frame.schema == pl.Schema(get_endpoint("orders").wire_schema())


def test_mock_transport_page_has_the_response_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, content=b'{"inventory": [{"partNumber": "A"}]}')

    from tests.unit.test_client import make_settings
    from vendorkit.client import VendorClient

    with VendorClient(make_settings(), transport=httpx.MockTransport(handler)) as client:
        (page,) = client.iter_pages("inventory")
    assert page.body == b'{"inventory": [{"partNumber": "A"}]}'
    assert page.status_code == 200


def test_each_endpoint_object_parses_with_its_own_wire_schema() -> None:
    """The parser keeps one wire schema per endpoint object: an endpoint rebuilt with
    other fields (a re-registered catalog entry) parses with its own, not a stale one."""
    from tests.unit.test_catalog import _endpoint

    body = b'{"recordsFound": 1, "widgets": [{"widgetId": "W1", "site": "S", "count": 3}]}'
    first = _endpoint()
    assert parse_page_body(body, first).records.columns == [
        "widgetId",
        "site",
        "count",
        "updatedAt",
    ]
    table = dataclasses.replace(
        first.table, columns=tuple(c for c in first.table.columns if c.name != "count")
    )
    second = dataclasses.replace(first, table=table)
    parsed = parse_page_body(body, second)
    assert parsed.records.columns == ["widgetId", "site", "updatedAt"]
    assert parse_page_body(body, first).records["count"].to_list() == ["3"]
