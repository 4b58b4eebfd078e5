"""Sync against the real sandbox, client and schemas, in process (no sockets).

Expected values come from the sandbox's own ground truth, never from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import polars as pl
import pytest

from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig
from vendorkit.store import Store
from vendorkit.sync import run_replay, run_sync

TYPED = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")
SCALE = 0.2


def compare(store: Store, sandbox: Sandbox, table: str) -> None:
    got = store.read_table(table).drop("status_raw", strict=False)
    want = sandbox.ground_truth(table).drop("status_raw", strict=False)
    assert got.schema == want.schema, table
    assert got.equals(want), f"{table}: {got.height} rows vs ground truth {want.height}"


def everything(store: Store) -> dict[str, pl.DataFrame]:
    names = (*TYPED, "inventory_history", "order_status_history", "shipment_status_history")
    frames = {t: store.read_table(t) for t in names}
    frames["rejects"] = store.read_rejects()
    frames["cursors"] = store.query("SELECT * FROM cursors ORDER BY endpoint")
    return frames


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(scale=SCALE, invalid=1, sync_step=None))


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[VendorClient]:
    with VendorClient(Settings(db=":memory:"), transport=sandbox.transport()) as c:
        yield c


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


def test_full_sync_loads_the_ground_truth_and_quarantines_every_invalid_record(
    sandbox: Sandbox, client: VendorClient, store: Store
) -> None:
    report = run_sync(store, client)
    assert report.ok and report.source == "sandbox"
    for table in TYPED:
        compare(store, sandbox, table)
    rejects = store.read_rejects()
    for row in report.rows:
        served = sandbox.served_record_count(row.endpoint)
        assert row.fetched == served
        assert row.loaded + row.rejected + row.deduplicated == served
        assert row.loaded == sandbox.ground_truth(row.endpoint).height
        invalid = sandbox.invalid_records(row.endpoint)
        duplicates = invalid.filter(pl.col("reason").str.contains("duplicate"))
        assert row.deduplicated == duplicates.height
        wrong = invalid.filter(~pl.col("reason").str.contains("duplicate"))
        assert row.rejected == wrong.height
        mine = rejects.filter(pl.col("endpoint") == row.endpoint)
        for key, field, reason in wrong.select("key", "field", "reason").iter_rows():
            hit = mine.filter((pl.col("record_key") == key) & (pl.col("field") == field))
            assert hit.height == 1, (row.endpoint, key, field)
            expected = {"negative": ">= 0", "missing": "missing", "ISO 8601": "ISO 8601"}
            words = [v for k, v in expected.items() if k in reason]
            assert words and words[0] in hit["reason"].item(), (reason, hit["reason"].item())


def test_incremental_sync_picks_up_exactly_the_changed_records(
    sandbox: Sandbox, client: VendorClient, store: Store
) -> None:
    run_sync(store, client)
    truth_before = sandbox.ground_truth("inventory")
    orders_before = sandbox.ground_truth("orders")
    changed = sandbox.mutate(0.05)
    report = run_sync(store, client)
    assert all(not r.full_refresh for r in report.rows)
    for table in TYPED:
        compare(store, sandbox, table)
    # the inventory rows that differ between the two snapshots are exactly the mutated ones
    history = store.read_table("inventory_history")
    first, second = sorted(history["sync_id"].unique().to_list())
    cols = ["part_number", "warehouse_id", "quantity_on_hand", "last_updated"]
    old = history.filter(pl.col("sync_id") == first).select(cols)
    new = history.filter(pl.col("sync_id") == second).select(cols)
    moved = new.join(old, on=cols, how="anti", nulls_equal=True)
    truth_moved = (
        sandbox.ground_truth("inventory")
        .select(cols)
        .join(truth_before.select(cols), on=cols, how="anti", nulls_equal=True)
    )
    assert moved.height == changed["inventory"] == truth_moved.height
    assert moved.sort(cols).equals(truth_moved.sort(cols))
    # every order whose status moved has a new status-history row from this sync
    moved_orders = sandbox.ground_truth("orders").join(
        orders_before, on=["order_id", "status"], how="anti"
    )
    status_rows = store.read_table("order_status_history").filter(
        pl.col("sync_id") == report.sync_id
    )
    assert sorted(status_rows["order_id"].to_list()) == sorted(moved_orders["order_id"].to_list())
    # an incremental sync fetched far fewer records than a full one
    assert report["inventory"].fetched < sandbox.served_record_count("inventory") / 4


def test_replay_rebuilds_identical_tables(
    sandbox: Sandbox, client: VendorClient, store: Store
) -> None:
    run_sync(store, client)
    sandbox.mutate(0.05)
    run_sync(store, client)
    before = everything(store)
    with store.write() as con:
        for table in ("orders", "order_lines", "shipments", "shipment_lines", "rejects"):
            con.execute(f"DELETE FROM {table}")
        con.execute("DELETE FROM inventory_history")
    report = run_replay(store)
    assert [r.outcome for r in report.rows] == ["replayed"] * 3
    after = everything(store)
    for name, frame in before.items():
        assert after[name].equals(frame), name


def test_replay_reads_the_archive_in_a_few_queries_not_one_per_page(
    sandbox: Sandbox, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(db=":memory:", page_size=20)
    with VendorClient(settings, transport=sandbox.transport()) as client:
        run_sync(store, client)
        sandbox.mutate(0.05)
        run_sync(store, client)
    pages = store.query("SELECT count(*) FROM raw_pages").item()
    syncs = store.query("SELECT count(DISTINCT (endpoint, sync_id)) FROM raw_pages").item()
    assert pages >= 4 * syncs  # enough pages per sync to tell the two apart
    before = everything(store)
    reads: list[str] = []
    query = store.query

    def counted(sql: str, params: Any = None) -> pl.DataFrame:
        if "FROM raw_pages" in sql:
            reads.append(sql)
        return query(sql, params)

    monkeypatch.setattr(store, "query", counted)
    report = run_replay(store)
    assert [r.outcome for r in report.rows] == ["replayed"] * 3
    assert sum(r.pages for r in report.rows) == pages
    # per endpoint: its list of syncs; per archived sync: its page list and one batch of bodies
    assert len(reads) == 3 + 2 * syncs, f"{len(reads)} archive queries for {pages} pages"
    after = everything(store)
    for name in before:
        assert after[name].equals(before[name]), name


def test_archived_pages_are_the_same_whatever_the_batch_size(
    sandbox: Sandbox, store: Store
) -> None:
    from vendorkit.sync import archived_pages

    settings = Settings(db=":memory:", page_size=20)
    with VendorClient(settings, transport=sandbox.transport()) as client:
        run_sync(store, client, ["orders"])
    sync_id = store.query("SELECT sync_id FROM sync_log").item()
    stored = store.query(
        "SELECT pass_number, page_number, correlation_id FROM raw_pages "
        "WHERE sync_id = ? ORDER BY pass_number, page_number",
        [sync_id],
    )
    assert stored.height >= 4

    def read(**batch: int) -> list[tuple[Any, ...]]:
        return [
            (p.number, p.correlation_id, p.body, p.records_found, p.fetched_at, p.records.height)
            for p in archived_pages(store, "orders", sync_id, **batch)
        ]

    whole = read()
    assert [w[:2] for w in whole] == [r[1:] for r in stored.rows()]
    assert all(w[2] and w[5] for w in whole)
    assert read(batch_pages=1) == whole
    assert read(batch_pages=3) == whole
    assert read(batch_bytes=1) == whole  # every page its own batch


class FailingTransport(httpx.BaseTransport):
    """Answer like the sandbox until the n-th request to ``path``, then drop the connection."""

    def __init__(self, inner: httpx.BaseTransport, path: str, fail_at: int) -> None:
        self.inner, self.path, self.fail_at, self.seen = inner, path, fail_at, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self.path):
            self.seen += 1
            if self.seen >= self.fail_at:
                raise httpx.ReadError("connection dropped (injected)", request=request)
        return self.inner.handle_request(request)


def test_failure_mid_sync_leaves_the_store_exactly_as_before(
    sandbox: Sandbox, store: Store
) -> None:
    settings = Settings(db=":memory:", max_retries=0, page_size=50, workers=1)
    with VendorClient(settings, transport=sandbox.transport()) as good:
        run_sync(store, good)
    before = everything(store)
    inventory_pages_sql = "SELECT count(*) FROM raw_pages WHERE endpoint = 'inventory'"
    inventory_pages = store.query(inventory_pages_sql).item()
    sandbox.mutate(0.2)
    failing = FailingTransport(sandbox.transport(), "/inventory", fail_at=3)
    with VendorClient(settings, transport=failing) as bad:
        report = run_sync(store, bad, full=True)
    assert report["inventory"].outcome == "failed"
    assert "TransportError" in (report["inventory"].error or "")
    after = everything(store)
    for name in ("inventory", "inventory_history"):
        assert after[name].equals(before[name]), name
    assert (
        after["cursors"]
        .filter(pl.col("endpoint") == "inventory")
        .equals(before["cursors"].filter(pl.col("endpoint") == "inventory"))
    )
    assert store.query(inventory_pages_sql).item() == inventory_pages  # nothing archived
    # the other endpoints committed their own (full) syncs
    compare(store, sandbox, "orders")
    log = store.query(
        "SELECT outcome FROM sync_log WHERE endpoint = 'inventory' ORDER BY started_at"
    )
    assert log["outcome"].to_list() == ["ok", "failed"]


def test_records_changing_during_the_sync_are_caught_up(store: Store) -> None:
    config = SandboxConfig(scale=SCALE, faults=FaultConfig(change_calls=3, change_fraction=0.02))
    sandbox = Sandbox(config)
    settings = Settings(db=":memory:", page_size=100, workers=1)
    with VendorClient(settings, transport=sandbox.transport()) as client:
        # a catch-up pass whatever the pass took (by default only after CURSOR_OVERLAP)
        report = run_sync(store, client, ["inventory", "orders"], catch_up_after=timedelta(0))
    assert report.ok
    # the catch-up passes brought records changed behind the main pass
    kept = store.query("SELECT DISTINCT pass_number FROM raw_pages ORDER BY 1")
    assert kept["pass_number"].to_list()[:2] == [1, 2]
    for table in ("inventory", "orders", "order_lines"):
        compare(store, sandbox, table)


def _counts(report: Any) -> dict[str, tuple[int, int, int]]:
    return {r.endpoint: (r.loaded, r.rejected, r.deduplicated) for r in report.rows}


def test_small_chunks_give_the_same_tables_and_counts(sandbox: Sandbox) -> None:
    results = []
    for chunk in (1_000_000, 150):
        with (
            Store(":memory:") as store,
            VendorClient(Settings(db=":memory:"), transport=sandbox.transport()) as client,
        ):
            report = run_sync(store, client, chunk_records=chunk)
            results.append((_counts(report), {t: store.read_table(t) for t in TYPED}))
    (counts_one, tables_one), (counts_chunked, tables_chunked) = results
    assert counts_one == counts_chunked
    for table in TYPED:
        assert tables_one[table].equals(tables_chunked[table]), table
