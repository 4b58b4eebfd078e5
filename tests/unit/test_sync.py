"""Sync orchestration against small fakes (no sockets, no sandbox, no pandera)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from tests.unit.store_fakes import T0, FakeClient, FakeWorld, _iso, fake_normalise
from vendorkit.errors import ConfigError, StoreError, SyncError, TransportError
from vendorkit.store import Store
from vendorkit.sync import CATCH_UP_AFTER, CURSOR_OVERLAP, SyncReport, run_replay, run_sync

TABLES = (
    "inventory",
    "inventory_history",
    "orders",
    "order_lines",
    "shipments",
    "shipment_lines",
    "order_status_history",
    "shipment_status_history",
)


def snapshot(store: Store) -> dict[str, pl.DataFrame]:
    frames = {t: store.read_table(t) for t in TABLES}
    frames["rejects"] = store.read_rejects()
    frames["cursors"] = store.query("SELECT * FROM cursors ORDER BY endpoint")
    return frames


def assert_same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name


def sync(store: Store, world: FakeWorld, **kw: Any) -> SyncReport:
    return run_sync(store, FakeClient(world), normaliser=fake_normalise, **kw)


def test_first_sync_is_full_and_loads_every_endpoint() -> None:
    world = FakeWorld.small()
    with Store(":memory:") as store:
        report = sync(store, world)
        assert report.ok and report.source == "sandbox"
        assert [r.endpoint for r in report.rows] == ["inventory", "orders", "shipments"]
        assert all(r.full_refresh for r in report.rows)
        assert report["inventory"].loaded == 10 and report["inventory"].fetched == 10
        assert store.read_table("inventory").height == 10
        assert store.read_table("order_lines").height == sum(
            len(o["lines"]) for o in world.records["orders"]
        )
        log = store.query("SELECT endpoint, outcome, full_refresh FROM sync_log ORDER BY 1")
        assert log.rows() == [
            ("inventory", "ok", True),
            ("orders", "ok", True),
            ("shipments", "ok", True),
        ]


def test_incremental_uses_server_clock_minus_overlap_and_loads_exactly_the_change() -> None:
    world = FakeWorld.small()
    client = FakeClient(world)
    with Store(":memory:") as store:
        run_sync(store, client, ["inventory"], normaliser=fake_normalise)
        cursor = store.cursor("inventory")
        assert cursor is not None and cursor.updated_since == T0 - CURSOR_OVERLAP
        before = store.read_table("inventory")
        world.advance(timedelta(hours=2))
        world.touch("inventory", 4, quantity="77")
        report = run_sync(store, client, ["inventory"], normaliser=fake_normalise)
        # one pass: it was shorter than the overlap, so no catch-up pass
        assert client.calls[-1][1] == T0 - CURSOR_OVERLAP and len(client.calls) == 2
        row = report["inventory"]
        # the change, plus P000 in both warehouses (updated at T0, inside the overlap)
        assert not row.full_refresh and row.fetched == 3
        after = store.read_table("inventory")
        diff = after.join(before, on=after.columns, how="anti", nulls_equal=True)
        assert diff.select("part_number", "warehouse_id", "quantity_on_hand").rows() == [
            ("P002", "10", 77)
        ]
        assert store.cursor("inventory").updated_since == world.now - CURSOR_OVERLAP  # type: ignore[union-attr]


def test_cursor_overlap_decides_what_the_next_incremental_sync_reads_again() -> None:
    # P001|10 was stamped 2 minutes before the sync's server clock (T0): outside the default
    # 60 s overlap (not read again), inside a 5-minute one (read again, deduplicated)
    for overlap, expected in ((None, 2), (timedelta(minutes=5), 3)):
        world = FakeWorld.small()
        world.records["inventory"][2]["lastUpdated"] = _iso(T0 - timedelta(minutes=2))
        client = FakeClient(world)
        kw: dict[str, Any] = {} if overlap is None else {"cursor_overlap": overlap}
        with Store(":memory:") as store:
            run_sync(store, client, ["inventory"], normaliser=fake_normalise, **kw)
            cursor = store.cursor("inventory")
            assert cursor is not None
            assert cursor.updated_since == T0 - (overlap or timedelta(seconds=60))
            report = run_sync(store, client, ["inventory"], normaliser=fake_normalise, **kw)
            assert report["inventory"].fetched == expected, overlap


def test_full_true_refetches_everything() -> None:
    world = FakeWorld.small()
    client = FakeClient(world)
    with Store(":memory:") as store:
        run_sync(store, client, "orders", normaliser=fake_normalise)
        world.records["orders"].pop()  # an order disappears upstream
        report = run_sync(store, client, "orders", full=True, normaliser=fake_normalise)
        assert report["orders"].full_refresh
        assert client.calls[-2] == ("orders", None)
        assert store.read_table("orders")["order_id"].to_list() == ["O0", "O1", "O2"]


def test_catch_up_pass_picks_up_a_change_made_during_the_fetch() -> None:
    world = FakeWorld.small()
    world.page_size = 2

    def change(w: FakeWorld) -> None:  # once, after page 1 was served, record 0 changes
        del w.during[("inventory", 1)]
        w.advance(CATCH_UP_AFTER + timedelta(minutes=1))  # a pass longer than CATCH_UP_AFTER
        w.touch("inventory", 0, quantity="555")

    world.during[("inventory", 1)] = change
    with Store(":memory:") as store:
        report = sync(store, world, endpoints=["inventory"])
        row = report["inventory"]
        assert row.passes == 2  # main pass, one catch-up pass with the change
        inv = store.read_table("inventory").filter(pl.col("part_number") == "P000")
        assert inv.filter(pl.col("warehouse_id") == "10")["quantity_on_hand"].item() == 555
        # the catch-up (updatedSince = the main pass's start, inclusive) brought P000|10's new
        # version and P000|20 again (updated exactly at that instant): both deduplicated
        assert (row.fetched, row.loaded, row.deduplicated) == (12, 10, 2)


def test_fetch_failure_mid_sync_leaves_tables_exactly_as_before_and_logs_it() -> None:
    world = FakeWorld.small()
    with Store(":memory:") as store:
        sync(store, world)
        before = snapshot(store)
        world.advance()
        world.touch("inventory", 0, quantity="1")
        world.touch("orders", 0, status="CANCELLED")
        world.page_size = 1
        world.fail_on_page["inventory"] = 2
        report = sync(store, world, full=True)
        assert not report.ok
        failed = report["inventory"]
        assert failed.outcome == "failed" and "connection reset" in (failed.error or "")
        assert report["orders"].outcome == "ok"  # the other endpoints still sync
        after = snapshot(store)
        for name in ("inventory", "inventory_history"):
            assert after[name].equals(before[name]), name
        log = store.query("SELECT endpoint, outcome, error FROM sync_log WHERE outcome = 'failed'")
        assert log["endpoint"].to_list() == ["inventory"]
        assert "TransportError" in log["error"][0]
        with pytest.raises(SyncError, match="inventory") as raised:
            report.raise_for_failures()
        assert [type(e) for e in raised.value.exceptions] == [TransportError]
        assert raised.value.report is report


def test_write_failure_rolls_back_the_whole_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    world = FakeWorld.small()
    with Store(":memory:") as store:
        sync(store, world)
        before = snapshot(store)
        raw_before = store.query("SELECT count(*) AS n FROM raw_pages").item()
        world.advance()
        world.touch("orders", 1, status="DELIVERED")

        def explode(*args: Any, **kwargs: Any) -> None:
            raise StoreError("disk full (injected)")

        # set_cursor runs after the staged rows were applied, inside the same transaction
        monkeypatch.setattr(Store, "set_cursor", explode)
        report = sync(store, world, endpoints=["orders"])
        assert report["orders"].outcome == "failed"
        assert_same(snapshot(store), before)
        assert store.query("SELECT count(*) AS n FROM raw_pages").item() == raw_before


def test_unexpected_errors_are_logged_then_raised() -> None:
    world = FakeWorld.small()

    def broken(endpoint: str, pages: list[Any], *, sync_id: str) -> Any:
        raise ZeroDivisionError("bug in a normaliser")

    with Store(":memory:") as store:
        with pytest.raises(ZeroDivisionError):
            run_sync(store, FakeClient(world), ["orders"], normaliser=broken)
        assert store.query("SELECT outcome FROM sync_log").item() == "failed"


def test_unknown_endpoint_is_a_config_error() -> None:
    with Store(":memory:") as store, pytest.raises(ConfigError, match="unknown endpoint"):
        sync(store, FakeWorld.small(), endpoints=["invoices"])


def test_chunked_normalisation_equals_one_batch_even_with_duplicates_across_chunks() -> None:
    world = FakeWorld.small(n_parts=6, n_orders=7)
    # a second, newer version of O1 served at the end, and an older duplicate of P000|10
    newer = dict(world.records["orders"][1], status="DELIVERED", updatedAt="2026-11-01T06:00:00Z")
    newer["lines"] = [{"lineNumber": "1", "partNumber": "PX", "quantity": "9"}]
    world.records["orders"].append(newer)
    older = dict(world.records["inventory"][0], quantity="1", lastUpdated="2020-01-01T00:00:00Z")
    world.records["inventory"].append(older)
    world.page_size = 2
    results = []
    for chunk in (1_000_000, 3):
        with Store(":memory:") as store:
            report = sync(store, world, chunk_records=chunk)
            frames = {t: store.read_table(t) for t in ("inventory", "orders", "order_lines")}
            counts = {r.endpoint: (r.loaded, r.deduplicated) for r in report.rows}
            results.append((frames, counts))
    (one, one_counts), (chunked, chunked_counts) = results
    for table in one:
        assert one[table].equals(chunked[table]), table
    assert one_counts == chunked_counts
    assert one_counts["orders"] == (7, 1)
    o1 = one["order_lines"].filter(pl.col("order_id") == "O1")
    assert o1["part_number"].to_list() == ["PX"]


def test_replay_rebuilds_identical_tables_without_fetching() -> None:
    world = FakeWorld.small()
    with Store(":memory:") as store:
        sync(store, world)
        for step in range(2):
            world.advance()
            world.touch("inventory", step, quantity=str(100 + step))
            world.touch("orders", step, status="SHIPPED")
            world.records["inventory"][5]["quantity"] = "-4"  # rejected on purpose
            world.touch("inventory", 5)
            sync(store, world)
        before = snapshot(store)
        # damage the typed tables; replay must restore them from the archive alone
        with store.write() as con:
            con.execute("DELETE FROM orders")
            con.execute("DELETE FROM inventory_history")
            con.execute("DELETE FROM rejects")
        report = run_replay(store, normaliser=fake_normalise)
        assert [r.outcome for r in report.rows] == ["replayed"] * 3
        assert_same(snapshot(store), before)


def test_retention_setting_bounds_the_archive() -> None:
    world = FakeWorld.small()
    with Store(":memory:") as store:
        for _ in range(4):
            sync(store, world, endpoints=["orders"], retention=2, full=True)
            world.advance()
        syncs = store.query("SELECT count(DISTINCT sync_id) AS n FROM raw_pages").item()
        assert syncs == 2


def test_archive_holds_the_exact_bytes_served() -> None:
    world = FakeWorld.small()
    with Store(":memory:") as store:
        sync(store, world, endpoints=["inventory"])
        from vendorkit.sync import _archived_pages

        with store.read() as con:
            sync_id = store.query("SELECT sync_id FROM sync_log").item()
            pages = list(_archived_pages(store, con, "inventory", sync_id))
        served = [r for p in pages if p.body for r in json.loads(p.body)["inventory"]]
        assert served == world.records["inventory"]


def test_report_renders_as_text_html_frame_and_dict() -> None:
    with Store(":memory:") as store:
        report = sync(store, FakeWorld.small())
    text = str(report)
    assert "source: sandbox" in text and "inventory" in text and "loaded" in text
    assert "<table>" in report._repr_html_()
    frame = report.to_frame()
    assert frame.columns[:3] == ["endpoint", "source", "outcome"]
    assert frame["loaded"].to_list() == [10, 4, 4]
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict))["endpoints"][0]["endpoint"] == "inventory"


def test_memory_holds_one_chunk_of_records_however_many_were_fetched() -> None:
    """The engine normalises and stages every ``chunk_records`` records (plus at most one
    page), never the endpoint at once: what bounds a sync's memory in Python."""
    world = FakeWorld.small(n_parts=30)  # 60 inventory rows
    world.page_size = 4
    sizes: list[int] = []

    def spy(endpoint: str, pages: list[Any], *, sync_id: str) -> Any:
        sizes.append(sum(p.records.height for p in pages))
        return fake_normalise(endpoint, pages, sync_id=sync_id)

    with Store(":memory:") as store:
        report = run_sync(store, FakeClient(world), ["inventory"], normaliser=spy, chunk_records=10)
        assert report["inventory"].loaded == 60
        assert store.read_table("inventory").height == 60
    assert sum(sizes) == 60 and len(sizes) >= 5
    assert max(sizes) < 10 + world.page_size


def test_pending_pages_are_committed_every_chunk_seconds_of_fetching(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # at the real API's pace a 10,000-record chunk takes 100 s to fetch: the chunk timer
    # commits earlier, so a kill -9 loses seconds of pages, not the whole chunk
    from vendorkit.sync import CHUNK_SECONDS, engine

    step = [0.0]
    now = [0.0]

    def clock() -> float:  # each read of the clock: `step` seconds later
        now[0] += step[0]
        return now[0]

    monkeypatch.setattr(engine, "_monotonic", clock)
    calls: list[int] = []

    def counting(endpoint: str, pages: list[Any], *, sync_id: str) -> Any:
        calls.append(len(pages))
        return fake_normalise(endpoint, pages, sync_id=sync_id)

    for seconds, chunks in ((0.0, [4]), (CHUNK_SECONDS, [1, 1, 1, 1])):
        step[0], calls[:] = seconds, []
        world = FakeWorld.small()  # 10 inventory records, 3 a page: 4 pages
        with Store(":memory:") as store:
            report = run_sync(
                store, FakeClient(world), ["inventory"], normaliser=counting, chunk_records=10_000
            )
            assert report.ok and store.read_table("inventory").height == 10
        # a clock standing still: one chunk by records; CHUNK_SECONDS a page: a chunk a page
        assert calls == chunks, seconds
