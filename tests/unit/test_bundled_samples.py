"""The bundled payloads in data/samples load end to end: client -> schemas -> store -> load.

Expected values are worked out by hand from the JSON files, not computed by vendorkit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest

from vendorkit import ConfigError, Settings
from vendorkit.client import VendorClient
from vendorkit.store import Store
from vendorkit.sync import run_sync

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _client(files: dict[str, Path]) -> VendorClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/oauth30/token":
            return httpx.Response(200, json={"access_token": "t0k3n-sample", "expires_in": "86399"})
        name = request.url.path.rsplit("/", 1)[-1]
        if request.url.params.get("pageNumber", "1") != "1":
            return httpx.Response(204)
        return httpx.Response(200, content=files[name].read_bytes())

    settings = Settings(
        base_url="https://vendor-api.example.test/vendors/v1",
        client_id="sample",
        client_secret="sample-secret",
        partner_id="US123456",
    )
    return VendorClient(settings, transport=httpx.MockTransport(handler))


@pytest.fixture
def store() -> Store:
    with Store(":memory:") as s:
        yield s


def test_seed_only_payloads_load_with_optional_columns_null(store: Store) -> None:
    files = {n: SAMPLES / "seed-only" / f"{n}.json" for n in ("inventory", "orders", "shipments")}
    with _client(files) as client:
        report = run_sync(store, client, full=True)
    assert report.ok, str(report)
    assert [(r.endpoint, r.loaded, r.rejected) for r in report.rows] == [
        ("inventory", 4, 0),
        ("orders", 2, 0),
        ("shipments", 1, 0),
    ]
    inventory = store.read_table("inventory").sort("part_number", "warehouse_id")
    assert inventory["quantity_on_hand"].to_list() == [12, 0, 40, 7]
    assert inventory["warehouse_name"].null_count() == 4
    assert inventory["last_updated"][2] == datetime(2026, 10, 31, 17, 45, 10, tzinfo=UTC)

    lines = store.read_table("order_lines").sort("order_id", "line_number")
    # line numbers are not sent by the seed spec: derived from the position, 1-based
    assert lines.select("order_id", "line_number", "quantity_ordered").rows() == [
        ("SO-1", 1, 5),
        ("SO-1", 2, 2),
        ("SO-2", 1, 10),
    ]
    shipments = store.read_table("shipments")
    assert shipments["status"].to_list() == ["DELIVERED"]
    assert shipments["ship_date"].null_count() == 1


def test_real_shaped_page_coerces_quirks_and_quarantines_the_bad_record(store: Store) -> None:
    files = {"orders": SAMPLES / "real-shaped" / "orders-page-1.json"}
    with _client(files) as client:
        report = run_sync(store, client, ["orders"], full=True)
    row = report.rows[0]
    # 3 records served: 2 valid (both needing repairs), 1 with a negative line quantity
    assert (row.fetched, row.loaded, row.rejected) == (3, 2, 1)
    orders = store.read_table("orders").sort("order_id")
    assert orders["status"].cast(pl.String).to_list() == ["SHIPPED", "ON_HOLD"]
    assert orders["status_raw"].to_list() == ["im::order_shipped", "On Hold"]
    assert orders["reseller_id"].to_list() == ["40012", "40077"]
    # 09:15 at -07:00 is 16:15 UTC
    assert orders["order_date"][0] == datetime(2026, 10, 20, 16, 15, tzinfo=UTC)
    line = (
        store.read_table("order_lines").filter(pl.col("order_id") == "20-RK1001").row(0, named=True)
    )
    assert (line["quantity_ordered"], line["unit_price"], line["warehouse_id"]) == (5, 129.90, "20")

    rejects = store.read_rejects()
    assert rejects["record_key"].unique().to_list() == ["20-RK1003"]
    assert any("quantity" in f for f in rejects["field"].to_list())
    assert '"quantity": -4' in rejects["raw_record"][0]


def test_sandbox_and_api_data_never_mix_in_one_store(store: Store) -> None:
    files = {n: SAMPLES / "seed-only" / f"{n}.json" for n in ("inventory", "orders", "shipments")}
    with _client(files) as client:
        assert run_sync(store, client, ["inventory"], full=True, source="sandbox").ok
        before = store.read_table("inventory")
        with pytest.raises(ConfigError, match="already holds sandbox data"):
            run_sync(store, client, ["inventory"], full=True, source="api")
    assert store.read_table("inventory").equals(before)
