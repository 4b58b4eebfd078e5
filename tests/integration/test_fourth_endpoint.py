"""Proof that endpoints are data: a fourth endpoint that exists only in this test.

One catalog entry plus its sandbox renderer, and nothing else: it syncs through the real
client over localhost HTTP, validates (bad records are quarantined), stores, loads, exports
and appears in the data dictionary. It has no child lines and no status, and is tested both
as an upserted and as a snapshot endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

import vendorkit
from vendorkit import catalog
from vendorkit.catalog import UTC_DATETIME, Column, Endpoint, Table
from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.export import export_store
from vendorkit.sandbox import EndpointRenderer, Sandbox, SandboxConfig, register_renderer
from vendorkit.sandbox.world import World
from vendorkit.schemas import TABLE_SCHEMAS, data_dictionary, data_dictionary_markdown
from vendorkit.store import Store
from vendorkit.sync import run_sync

pytestmark = pytest.mark.integration


def prices_endpoint(write: str) -> Endpoint:
    """The list price of each part: the catalog entry, all a new endpoint needs."""
    return Endpoint(
        name="prices",
        path="/prices",
        list_key="prices",
        cursor="updated_at",
        write=write,  # type: ignore[arg-type]
        table=Table(
            "prices",
            "One row per part: the vendor's list price (table `prices`).",
            key=("part_number",),
            columns=(
                Column("part_number", pl.String(), "Part the price is for.", wire="partNumber",
                       required=True),
                Column("currency_code", pl.String(), "ISO 4217 currency, when sent.",
                       wire="currencyCode"),
                Column("list_price", pl.Float64(), "List price per unit (>= 0).",
                       wire="listPrice", required=True, ge=0),
                Column("minimum_quantity", pl.Int64(), "Smallest order quantity (>= 1).",
                       wire="minimumQuantity", ge=1),
                Column("updated_at", UTC_DATETIME, "When the price last changed (UTC).",
                       wire="updatedAt"),
            ),
        ),
    )  # fmt: skip


def _prices(world: World) -> dict[str, pl.DataFrame]:
    parts = world.parts.head(40)
    return {
        "prices": parts.select(
            "part_number",
            pl.lit("USD").alias("currency_code"),
            "list_price",
            (pl.int_range(pl.len()) % 3 + 1).cast(pl.Int64).alias("minimum_quantity"),
            (pl.lit(world.now) - pl.duration(hours=pl.int_range(pl.len()))).alias("updated_at"),
        )
    }


def _bad_prices(world: World) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "part_number": ["ZZ-NEGATIVE", None],
            "currency_code": ["USD", "USD"],
            "list_price": [-5.0, 10.0],
            "minimum_quantity": [1, 1],
            "updated_at": [world.now, world.now],
            "_field": ["listPrice", "partNumber"],
            "_reason": ["negative price", "partNumber missing"],
        }
    )


RENDERER = EndpointRenderer("prices", generate=_prices, invalid=_bad_prices)


@pytest.fixture(params=["upsert", "snapshot"])
def prices(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    with catalog.register(prices_endpoint(request.param)) as ep, register_renderer(RENDERER):
        yield ep
    assert "prices" not in catalog.ENDPOINTS
    assert "prices" not in catalog.TABLES and "prices" not in TABLE_SCHEMAS


def test_a_fourth_endpoint_syncs_validates_stores_loads_and_exports(
    prices: Endpoint, tmp_path: Path
) -> None:
    sandbox = Sandbox(SandboxConfig(scale=0.02, invalid=1))
    truth = sandbox.ground_truth("prices")
    n = truth.height
    assert n == min(40, sandbox.app.world.parts.height) > 5
    store = Store(tmp_path / "vk.duckdb")
    with sandbox.serve() as server:
        settings = Settings(
            base_url=server.base_url,
            token_url=server.token_url,
            db=str(tmp_path / "vk.duckdb"),
            page_size=5,
        )
        with VendorClient(settings) as client:
            report = run_sync(store, client, ["prices"])
            assert report.ok, report.failed
            row = report["prices"]
            assert row.full_refresh
            assert (row.fetched, row.loaded, row.rejected) == (n + 2, n, 2)
            assert row.pages == -(-(n + 2) // 5)
            # incremental: only what changed since the cursor comes back, nothing is lost
            again = run_sync(store, client, ["prices"])
            assert again.ok and not again["prices"].full_refresh

    loaded = store.read_table("prices")
    assert loaded.schema == pl.Schema(prices.table.schema())
    assert loaded.equals(truth)
    with vendorkit.connect(tmp_path / "vk.duckdb") as handle:  # the analyst's front door
        assert handle.load("prices").equals(truth)
        assert "prices" in handle.status()["endpoint"].to_list()

    rejects = store.read_rejects().filter(pl.col("endpoint") == "prices")
    assert sorted(set(rejects["field"].to_list())) == ["listPrice", "partNumber"]
    assert sandbox.invalid_records("prices").height == 2

    if prices.write == "snapshot":
        history = store.read_table("prices_history")
        assert history["sync_id"].n_unique() == 2
        assert history.filter(pl.col("sync_id") == history["sync_id"].max()).height == n
    else:
        assert "prices_history" not in store.table_names()
    assert not any(name.startswith("price_status") for name in store.table_names())

    paths = export_store(store, tmp_path / "out")
    exported = pl.read_parquet(paths["prices"] / "*.parquet")
    assert exported.sort("part_number").equals(truth)
    if prices.write == "snapshot":
        assert any(p.name.startswith("snapshot_date=") for p in paths["prices_history"].iterdir())

    text = data_dictionary_markdown()
    assert "\n## prices\n" in text
    assert "| list_price | Float64 | no | listPrice | List price per unit (>= 0). |" in text
    assert "`partNumber`, `listPrice` (prices)" in text  # the quarantine rules name it too
    dd = data_dictionary().filter(pl.col("table") == "prices")
    assert dd["column"].to_list() == list(prices.table.names)
    assert catalog.api_field("prices", "minimum_quantity") == "prices[].minimumQuantity"


def test_the_fourth_endpoint_is_served_only_while_registered(prices: Endpoint) -> None:
    app = Sandbox(SandboxConfig(scale=0.02)).app
    assert app.endpoints == ("inventory", "orders", "shipments", "prices")
    assert app.served("prices").cursor_us.min() >= int(
        (app.now - timedelta(hours=40)).timestamp() * 1_000_000
    )


def test_without_the_registration_the_sandbox_has_three_routes() -> None:
    app = Sandbox(SandboxConfig(scale=0.02)).app
    assert app.endpoints == ("inventory", "orders", "shipments")
    response = app.handle("GET", "/vendors/v1/prices", "", {}, b"")
    assert response.status == 404
