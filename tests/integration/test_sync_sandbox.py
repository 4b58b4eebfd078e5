"""vendorkit.sync() end to end over real localhost HTTP against the sandbox server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import vendorkit
from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from vendorkit.store import Store
from vendorkit.sync import run_sync

pytestmark = pytest.mark.integration

TYPED = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")


def same(frame: pl.DataFrame, truth: pl.DataFrame) -> bool:
    return frame.drop("status_raw", strict=False).equals(truth.drop("status_raw", strict=False))


def test_public_sync_over_http_loads_the_sandbox_world(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "vk.duckdb"), sandbox_scale=0.2)
    report = vendorkit.sync(settings=settings)
    assert report.ok and report.source == "sandbox"
    # the same deterministic world, built independently, is the ground truth
    truth = Sandbox(
        SandboxConfig(
            seed=settings.sandbox_seed,
            as_of=settings.sandbox_as_of,
            scale=settings.sandbox_scale,
            invalid=settings.sandbox_invalid,
        )
    )
    for row in report.rows:
        served = truth.served_record_count(row.endpoint)
        assert row.fetched == served
        assert row.loaded + row.rejected + row.deduplicated == served
    loaders = {
        "inventory": vendorkit.load_inventory,
        "orders": vendorkit.load_orders,
        "order_lines": vendorkit.load_order_lines,
        "shipments": vendorkit.load_shipments,
        "shipment_lines": vendorkit.load_shipment_lines,
    }
    for table, load in loaders.items():
        assert same(load(settings=settings), truth.ground_truth(table)), table
    status = vendorkit.status(settings=settings)
    assert status["last_outcome"].to_list() == ["ok", "ok", "ok"]


def test_sync_survives_server_faults_with_exact_results(tmp_path: Path) -> None:
    sandbox = Sandbox(
        SandboxConfig(
            scale=0.2,
            invalid=1,
            faults=FaultConfig(error_rate=0.1, drop_rate=0.05, truncate_rate=0.05),
        )
    )
    store = Store(tmp_path / "vk.duckdb")
    with sandbox.serve() as server:
        settings = Settings(
            base_url=server.base_url,
            token_url=server.token_url,
            db=str(tmp_path / "vk.duckdb"),
            page_size=50,
        )
        with VendorClient(settings) as client:
            report = run_sync(store, client)
            assert report.ok, report.failed
            # retried requests are counted (the client's own tally), beyond one per page
            assert sum(r.requests for r in report.rows) > sum(r.pages for r in report.rows)
            sandbox.mutate(0.05)
            report = run_sync(store, client)
            assert report.ok, report.failed
    for table in TYPED:
        assert same(store.read_table(table), sandbox.ground_truth(table)), table


def test_each_sync_of_a_store_sees_the_next_sandbox_day_across_processes(tmp_path: Any) -> None:
    """The rule behind rerun-safe history: the n-th sync of a store sees sandbox day n, whether
    the syncs share a handle or each is its own `vendorkit sync` (a new handle, a new sandbox)."""
    db = tmp_path / "vk.duckdb"
    settings = vendorkit.Settings(db=str(db), sandbox_scale=0.05)
    for _ in range(2):  # two separate "processes"
        with vendorkit.connect(settings=settings) as handle:
            handle.sync(["inventory"])
    with vendorkit.connect(settings=settings) as handle:
        handle.sync(["inventory"])
        handle.sync(["inventory"])
        history = handle.load_inventory_history()
    days = history.group_by("sync_id").agg(pl.col("snapshot_at").first()).sort("snapshot_at")
    gaps = days["snapshot_at"].diff().drop_nulls().dt.total_hours().to_list()
    assert days.height == 4 and gaps == [24, 24, 24]
