"""The front door: load_*(), max_age/refresh, status(), load_sync_log(), export_parquet().

``open_client`` is pointed at the sandbox's in-process transport, so nothing touches a socket.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

import vendorkit
from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.errors import ConfigError
from vendorkit.loaders import parse_max_age
from vendorkit.sandbox import GROUND_TRUTH_SCHEMAS, Sandbox, SandboxConfig

LOADERS = {
    "inventory": vendorkit.load_inventory,
    "orders": vendorkit.load_orders,
    "order_lines": vendorkit.load_order_lines,
    "shipments": vendorkit.load_shipments,
    "shipment_lines": vendorkit.load_shipment_lines,
}


class Opened:
    """Counts how often sync opened a client (= how often it really synced)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.count = 0
        self.fail = False

    @contextlib.contextmanager
    def __call__(
        self, settings: Settings, on_progress: Any = None, **_: Any
    ) -> Iterator[VendorClient]:
        self.count += 1
        transport = self.sandbox.transport()
        if self.fail:
            import httpx

            def refuse(request: httpx.Request) -> httpx.Response:
                return httpx.Response(503, json={"errors": [{"message": "down"}]})

            transport = httpx.MockTransport(refuse)
        with VendorClient(settings, transport=transport, on_progress=on_progress) as client:
            yield client


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(scale=0.2, invalid=1))


@pytest.fixture
def opened(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Opened:
    fake = Opened(sandbox)
    monkeypatch.setattr("vendorkit.client.open_client", fake)
    return fake


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=str(tmp_path / "vk.duckdb"), max_retries=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        (" 90 s ", timedelta(seconds=90)),
        (timedelta(minutes=5), timedelta(minutes=5)),
        (120, timedelta(seconds=120)),
        (None, None),
    ],
)
def test_parse_max_age(text: Any, expected: timedelta | None) -> None:
    assert parse_max_age(text) == expected


@pytest.mark.parametrize("bad", ["soon", "1x", "h1", "", "-1h", timedelta(seconds=-1), [1]])
def test_parse_max_age_refuses_nonsense(bad: Any) -> None:
    with pytest.raises(ConfigError, match="max_age"):
        parse_max_age(bad)


def test_first_load_syncs_and_returns_the_architecture_frames(
    settings: Settings, sandbox: Sandbox, opened: Opened
) -> None:
    for table, load in LOADERS.items():
        frame = load(settings=settings)
        assert frame.schema == pl.Schema(GROUND_TRUTH_SCHEMAS[table]), table
        want = sandbox.ground_truth(table).drop("status_raw", strict=False)
        assert frame.drop("status_raw", strict=False).equals(want), table
    # inventory once, orders once (order_lines reuses it), shipments once
    assert opened.count == 3


def test_max_age_and_refresh_decide_when_to_sync(
    settings: Settings, sandbox: Sandbox, opened: Opened
) -> None:
    vendorkit.load_inventory(settings=settings)
    assert opened.count == 1
    vendorkit.load_inventory(settings=settings, max_age="1h")
    vendorkit.load_inventory(settings=settings)
    assert opened.count == 1  # fresh enough: served from the cache
    sandbox.mutate(0.1, ["inventory"])
    stale = vendorkit.load_inventory(settings=settings)
    assert not stale.equals(sandbox.ground_truth("inventory"))
    fresh = vendorkit.load_inventory(settings=settings, max_age=timedelta(0))
    assert opened.count == 2
    assert fresh.equals(sandbox.ground_truth("inventory"))
    vendorkit.load_inventory(settings=settings, refresh=True)
    assert opened.count == 3
    history = vendorkit.load_inventory_history(settings=settings)
    assert history["sync_id"].n_unique() == 3
    assert list(history.columns[:2]) == ["sync_id", "snapshot_at"]


def test_a_failed_refresh_raises_instead_of_returning_stale_data(
    settings: Settings, opened: Opened
) -> None:
    vendorkit.load_orders(settings=settings)
    opened.fail = True
    with pytest.raises(vendorkit.SyncError, match="orders") as failed:
        vendorkit.load_orders(settings=settings, refresh=True)
    # the endpoint's original exception survives the sync boundary
    assert [type(e) for e in failed.value.exceptions] == [vendorkit.AuthError]  # token call 503
    assert failed.value.report.failed[0].endpoint == "orders"
    log = vendorkit.load_sync_log(settings=settings)
    assert log.filter(pl.col("endpoint") == "orders")["outcome"].to_list() == ["failed", "ok"]
    assert vendorkit.load_orders(settings=settings).height > 0  # previous data intact


def test_two_in_memory_handles_are_independent_and_never_resync(
    sandbox: Sandbox, opened: Opened
) -> None:
    first, second = vendorkit.connect(":memory:"), vendorkit.connect(":memory:")
    with first, second:
        assert first.sync(["orders"]).ok
        assert opened.count == 1
        assert first.load_orders().height == sandbox.ground_truth("orders").height
        assert first.load_order_lines().height == sandbox.ground_truth("order_lines").height
        assert opened.count == 1  # the handle keeps its data: no sync behind the user's back
        assert second.status()["rows"].to_list() == [0, 0, 0]  # nothing shared
        assert opened.count == 1


def test_module_level_functions_refuse_a_memory_store(opened: Opened) -> None:
    settings = Settings(db=":memory:")
    with pytest.raises(ConfigError, match=r"VENDORKIT_DB=:memory:.*vendorkit\.connect"):
        vendorkit.load_orders(settings=settings)
    with pytest.raises(ConfigError, match=r"vendorkit\.sync\(\)"):
        vendorkit.sync(settings=settings)
    assert opened.count == 0


def test_rejects_and_sync_log_never_trigger_a_first_sync(
    settings: Settings, opened: Opened
) -> None:
    rejects = vendorkit.load_rejects(settings=settings)
    assert rejects.height == 0 and {"endpoint", "reason", "raw_record"} <= set(rejects.columns)
    assert vendorkit.load_sync_log(settings=settings).height == 0
    assert opened.count == 0
    before = vendorkit.status(settings=settings)
    assert before["endpoint"].to_list() == ["inventory", "orders", "shipments"]
    assert before["last_sync_at"].null_count() == 3


def test_status_reports_freshness_rows_and_rejects(
    settings: Settings, sandbox: Sandbox, opened: Opened
) -> None:
    report = vendorkit.sync(settings=settings)
    status = vendorkit.status(settings=settings)
    by = {r["endpoint"]: r for r in status.iter_rows(named=True)}
    assert by["inventory"]["rows"] == sandbox.ground_truth("inventory").height
    assert by["orders"]["lines"] == sandbox.ground_truth("order_lines").height
    assert by["shipments"]["rows"] == sandbox.ground_truth("shipments").height
    assert by["inventory"]["snapshots"] == 1
    for row in report.rows:
        assert by[row.endpoint]["last_outcome"] == "ok"
        assert by[row.endpoint]["source"] == "sandbox"
        assert 0 <= by[row.endpoint]["age_s"] < 300
        invalid = sandbox.invalid_records(row.endpoint)
        wrong = invalid.filter(~pl.col("reason").str.contains("duplicate")).height
        assert by[row.endpoint]["rejects"] == wrong
    rejects = vendorkit.load_rejects(settings=settings)
    assert sorted(rejects["endpoint"].unique()) == ["inventory", "orders", "shipments"]


def test_export_parquet_is_hive_partitioned_and_reads_back_identically(
    settings: Settings, sandbox: Sandbox, opened: Opened, tmp_path: Path
) -> None:
    vendorkit.sync(settings=settings)
    sandbox.mutate(0.05)
    vendorkit.sync(settings=settings)
    out = tmp_path / "parquet"
    paths = vendorkit.export_parquet(out, settings=settings)
    assert set(paths) >= {"inventory_history", "orders", "order_lines", "shipments", "rejects"}
    snapshot_dirs = sorted(p.name for p in (out / "inventory_history").iterdir())
    assert snapshot_dirs and all(d.startswith("snapshot_date=") for d in snapshot_dirs)
    assert all(p.name.startswith("order_month=") for p in (out / "orders").iterdir())
    con = duckdb.connect()
    history = con.sql(
        f"SELECT * EXCLUDE (snapshot_date) FROM read_parquet('{out}/inventory_history/*/*.parquet',"
        " hive_partitioning = true) ORDER BY sync_id, part_number, warehouse_id"
    ).pl()
    want = vendorkit.load_inventory_history(settings=settings)
    assert history.height == want.height
    assert history.select("sync_id", "part_number", "quantity_on_hand").equals(
        want.select("sync_id", "part_number", "quantity_on_hand")
    )
    orders = con.sql(
        f"SELECT order_id, status FROM read_parquet('{out}/orders/*/*.parquet', "
        "hive_partitioning = true) ORDER BY order_id"
    ).pl()
    assert (
        orders["order_id"].to_list()
        == vendorkit.load_orders(settings=settings)["order_id"].to_list()
    )
    # exporting again replaces, never duplicates
    vendorkit.export_parquet(out, settings=settings)
    again = con.sql(f"SELECT count(*) FROM read_parquet('{out}/orders/*/*.parquet')").fetchall()[0][
        0
    ]
    assert again == orders.height


def test_replay_front_door(settings: Settings, opened: Opened) -> None:
    vendorkit.sync(settings=settings)
    before = vendorkit.load_orders(settings=settings)
    report = vendorkit.replay(["orders"], settings=settings)
    assert [r.outcome for r in report.rows] == ["replayed"]
    assert vendorkit.load_orders(settings=settings).equals(before)
    assert opened.count == 1
