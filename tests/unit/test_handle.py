"""The handle: one object per store owning settings, store and (lazily) the client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

import vendorkit as vk
from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.handle import BoundCharts, endpoint_of_table, loadable_tables
from vendorkit.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """open_client on the sandbox's in-process transport; records each opening."""
    sandbox = Sandbox(SandboxConfig(scale=0.05))
    calls: list[str] = []

    @contextlib.contextmanager
    def fake(
        settings: Settings, on_progress: Any = None, *, sandbox_syncs_before: int = 0
    ) -> Iterator[VendorClient]:
        calls.append(f"{settings.db_path}@{sandbox_syncs_before}")
        with VendorClient(
            settings, transport=sandbox.transport(), on_progress=on_progress
        ) as client:
            yield client

    monkeypatch.setattr("vendorkit.client.open_client", fake)
    return calls


def test_each_sandbox_sync_sees_the_next_day_and_the_client_closes_with_the_handle(
    opened: list[str],
) -> None:
    with vk.connect(":memory:") as h:
        h.sync(["orders"])
        h.sync(["inventory"])
        h.load_shipments()  # never synced in this store: synced on first load
        h.load_orders()  # synced already: no sync, no new client
        # the n-th sync of a store sees the sandbox as it stands after n syncs
        assert opened == [":memory:@0", ":memory:@1", ":memory:@2"]
        client = h.client
        assert h.client is client  # kept between syncs
    assert client._closed
    with pytest.raises(vk.StoreError, match="closed"):
        h.load_orders()
    h.close()  # idempotent


def test_progress_reaches_only_the_sync_that_asked(opened: list[str]) -> None:
    events: list[Any] = []
    with vk.connect(":memory:") as h:
        h.sync(["orders"], on_progress=events.append)
        seen = len(events)
        assert seen > 0
        h.sync(["orders"])
        assert len(events) == seen


def test_db_argument_overrides_settings(tmp_path: Any) -> None:
    settings = Settings(db=str(tmp_path / "a.duckdb"), page_size=50)
    with vk.connect(tmp_path / "b.duckdb", settings=settings) as h:
        assert h.settings.db_path == str(tmp_path / "b.duckdb")
        assert h.settings.page_size == 50
        assert "secret" not in repr(h).lower()


def test_tables_map_to_their_endpoint() -> None:
    assert endpoint_of_table("shipment_lines") == "shipments"
    assert endpoint_of_table("order_status_history") == "orders"
    assert set(loadable_tables()) >= {"inventory", "orders", "shipments", "shipment_lines"}
    with pytest.raises(vk.ConfigError, match="unknown table 'invoices'"):
        endpoint_of_table("invoices")


def test_bound_charts_fill_in_the_handle_source() -> None:
    from tests.unit.analysis_fakes import inventory

    stock = vk.stock_by_warehouse(inventory(("A", "10", 5), ("B", "20", 0)))
    bound = BoundCharts("sandbox")
    assert "sandbox data" in str(bound.stock_by_warehouse_chart(stock).to_dict()["title"])
    explicit = bound.stock_by_warehouse_chart(stock, source="api")
    assert "sandbox data" not in str(explicit.to_dict()["title"])
    assert bound.save_chart.__name__ == "save_chart"


def test_check_passes_on_a_fresh_store_and_names_every_failure(
    opened: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with vk.connect(":memory:") as h:
        with pytest.raises(vk.DataCheckError, match=r"orders synced=0\.0") as never:
            h.check("orders")
        assert "vendorkit sync" in str(never.value)
        h.sync(["orders"])
        assert h.check("orders")["ok"].all()
        # a day later the same store is stale for a 1-hour limit
        import vendorkit.handle as handle_mod

        real_status = handle_mod.Handle.status

        def aged(self: Any) -> Any:
            import polars as pl

            return real_status(self).with_columns(pl.lit(86_400, pl.Int64).alias("age_s"))

        monkeypatch.setattr(handle_mod.Handle, "status", aged)
        with pytest.raises(vk.DataCheckError, match=r"orders age_s=86400\.0 \(limit 3600\.0\)"):
            h.check("orders", max_age="1h")
        with pytest.raises(vk.DataCheckError, match="reject_share"):
            h.check("orders", max_age=None, max_reject_share=-1.0)


@pytest.mark.parametrize("overlap_s", [0.0, 90.0])
def test_the_cursor_overlap_setting_reaches_the_stored_cursor(
    opened: list[str], overlap_s: float
) -> None:
    from datetime import timedelta

    with vk.connect(":memory:", settings=Settings(cursor_overlap_s=overlap_s)) as h:
        h.sync(["orders"])
        server_date = h.sync_log()["server_date"][0]
        cursor = h.store.cursor("orders")
        assert cursor is not None and cursor.updated_since is not None
        assert server_date - cursor.updated_since == timedelta(seconds=overlap_s)


def test_a_negative_cursor_overlap_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(vk.ConfigError, match="VENDORKIT_CURSOR_OVERLAP_S=-1"):
        Settings(cursor_overlap_s=-1)
