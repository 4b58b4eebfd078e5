"""The DuckDB store on its own: tables, dtypes, upserts, snapshots, retention, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest

from vendorkit.errors import StoreError, StoreLockedError
from vendorkit.statuses import ORDER_STATUSES
from vendorkit.store import TABLE_SCHEMAS, Store, _q, typed_empty

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def inventory(rows: list[tuple[str, str, int]], ts: datetime = T0) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "part_number": [r[0] for r in rows],
            "warehouse_id": [r[1] for r in rows],
            "quantity_on_hand": [r[2] for r in rows],
        }
    )
    return typed_empty("inventory").vstack(
        frame.with_columns(pl.lit(ts).alias("last_updated"))
        .select(
            [
                pl.col(c) if c in frame.columns or c == "last_updated" else pl.lit(None).alias(c)
                for c in TABLE_SCHEMAS["inventory"]
            ]
        )
        .cast(TABLE_SCHEMAS["inventory"])
    )


def orders(rows: list[tuple[str, str]]) -> dict[str, pl.DataFrame]:
    head = pl.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "reseller_id": ["R1"] * len(rows),
            "reseller_name": [None] * len(rows),
            "status": [r[1] for r in rows],
            "status_raw": [r[1].title() for r in rows],
            "order_date": [T0] * len(rows),
            "updated_at": [T0] * len(rows),
            "currency_code": ["USD"] * len(rows),
        }
    ).cast(TABLE_SCHEMAS["orders"])
    lines = pl.DataFrame(
        {
            "order_id": [r[0] for r in rows for _ in range(2)],
            "line_number": [n for _ in rows for n in (1, 2)],
            "part_number": ["P1", "P2"] * len(rows),
            "quantity_ordered": [3, 4] * len(rows),
            "quantity_confirmed": [None] * (2 * len(rows)),
            "quantity_backordered": [None] * (2 * len(rows)),
            "unit_price": [9.5, 1.25] * len(rows),
            "warehouse_id": ["20"] * (2 * len(rows)),
        }
    ).cast(TABLE_SCHEMAS["order_lines"])
    return {"orders": head, "order_lines": lines}


def test_schema_has_every_table_and_typed_reads_match_architecture() -> None:
    with Store(":memory:") as store:
        names = set(store.table_names())
        assert {
            "raw_pages",
            "sync_log",
            "cursors",
            "inventory_history",
            "inventory",
            "orders",
            "order_lines",
            "shipments",
            "shipment_lines",
            "order_status_history",
            "shipment_status_history",
            "rejects",
        } <= names
        orders_frame = store.read_table("orders")
        assert orders_frame.schema["status"] == pl.Enum(ORDER_STATUSES)
        assert orders_frame.schema["order_date"] == pl.Datetime("us", "UTC")
        assert store.read_table("order_lines").schema["line_number"] == pl.Int32
        assert store.read_table("inventory").columns == [
            "part_number",
            "warehouse_id",
            "warehouse_name",
            "vendor_part_number",
            "quantity_on_hand",
            "quantity_backordered",
            "quantity_on_order",
            "last_updated",
        ]


def test_unknown_table_and_bad_identifier_are_refused() -> None:
    with Store(":memory:") as store, pytest.raises(StoreError, match="unknown table"):
        store.read_table("orders; DROP TABLE orders")
    with pytest.raises(StoreError, match="identifier"):
        _q('x" OR 1=1 --')


def test_inventory_snapshots_full_then_incremental_merge() -> None:
    with Store(":memory:") as store:
        with store.write() as con:
            store.apply_tables(
                con,
                "inventory",
                {"inventory": inventory([("A", "10", 5), ("B", "10", 7), ("C", "20", 1)])},
                sync_id="s1",
                snapshot_at=T0,
                full=True,
            )
        later = T0 + timedelta(hours=1)
        with store.write() as con:
            store.apply_tables(
                con,
                "inventory",
                {"inventory": inventory([("B", "10", 0), ("D", "20", 9)], later)},
                sync_id="s2",
                snapshot_at=later,
                full=False,
            )
        latest = store.read_table("inventory")
        assert latest.select("part_number", "quantity_on_hand").rows() == [
            ("A", 5),
            ("B", 0),
            ("C", 1),
            ("D", 9),
        ]
        history = store.read_table("inventory_history")
        assert history.group_by("sync_id").len().sort("sync_id").rows() == [("s1", 3), ("s2", 4)]
        assert history.filter(pl.col("sync_id") == "s2")["snapshot_at"].unique().to_list() == [
            later
        ]
        # the view agrees with the typed read
        view = store.query("SELECT count(*) AS n FROM inventory")
        assert view.item() == 4


def test_full_refresh_replaces_and_incremental_upserts_orders_with_lines() -> None:
    with Store(":memory:") as store:
        with store.write() as con:
            store.apply_tables(
                con,
                "orders",
                orders([("O1", "OPEN"), ("O2", "OPEN")]),
                sync_id="s1",
                snapshot_at=T0,
                full=True,
            )
        changed = orders([("O2", "SHIPPED")])
        changed["order_lines"] = changed["order_lines"].filter(pl.col("line_number") == 1)
        with store.write() as con:
            store.apply_tables(
                con,
                "orders",
                changed,
                sync_id="s2",
                snapshot_at=T0 + timedelta(hours=1),
                full=False,
            )
        assert store.read_table("orders").select("order_id", "status").rows() == [
            ("O1", "OPEN"),
            ("O2", "SHIPPED"),
        ]
        # O2's lines were replaced by the one line re-sent; O1 keeps both
        assert store.read_table("order_lines").select("order_id", "line_number").rows() == [
            ("O1", 1),
            ("O1", 2),
            ("O2", 1),
        ]
        history = store.read_table("order_status_history")
        assert history.select("order_id", "status", "sync_id").rows() == [
            ("O1", "OPEN", "s1"),
            ("O2", "OPEN", "s1"),
            ("O2", "SHIPPED", "s2"),
        ]
        # re-sending an unchanged status adds no history row
        with store.write() as con:
            store.apply_tables(
                con,
                "orders",
                orders([("O1", "OPEN")]),
                sync_id="s3",
                snapshot_at=T0 + timedelta(hours=2),
                full=False,
            )
        assert store.read_table("order_status_history").height == 3
        # a full refresh keeps only what was served
        with store.write() as con:
            store.apply_tables(
                con,
                "orders",
                orders([("O3", "OPEN")]),
                sync_id="s4",
                snapshot_at=T0 + timedelta(hours=3),
                full=True,
            )
        assert store.read_table("orders")["order_id"].to_list() == ["O3"]
        assert store.read_table("order_lines")["order_id"].unique().to_list() == ["O3"]


def test_failed_write_rolls_back_everything() -> None:
    with Store(":memory:") as store:
        with store.write() as con:
            store.apply_tables(
                con, "orders", orders([("O1", "OPEN")]), sync_id="s1", snapshot_at=T0, full=True
            )
        before = {t: store.read_table(t) for t in ("orders", "order_lines", "order_status_history")}
        with pytest.raises(RuntimeError, match="boom"), store.write() as con:
            store.apply_tables(
                con, "orders", orders([("O9", "SHIPPED")]), sync_id="s2", snapshot_at=T0, full=True
            )
            raise RuntimeError("boom")
        for table, frame in before.items():
            assert store.read_table(table).equals(frame), table


def test_rejects_keep_extra_columns_and_stamp_sync() -> None:
    rejects = pl.DataFrame(
        {
            "endpoint": ["inventory"],
            "sync_id": ["ignored"],
            "page_number": [2],
            "record_index": [7],
            "record_key": ["A|10"],
            "field": ["quantity"],
            "reason": ["must be >= 0, got -1"],
            "raw_record": ['{"quantity": "-1"}'],
            "extra_note": ["kept"],
        },
        schema_overrides={"page_number": pl.Int32, "record_index": pl.Int32},
    )
    with Store(":memory:") as store:
        with store.write() as con:
            assert (
                store.insert_rejects(
                    con, rejects, endpoint="inventory", sync_id="s1", rejected_at=T0
                )
                == 1
            )
        got = store.read_rejects()
        assert got.select("sync_id", "record_key", "reason", "extra_note").row(0) == (
            "s1",
            "A|10",
            "must be >= 0, got -1",
            "kept",
        )


def _archive(store: Store, sync_id: str, full: bool) -> None:
    pages = pl.DataFrame(
        {
            "endpoint": ["orders"],
            "pass_number": [1],
            "page_number": [1],
            "body": [b"x"],
            "encoding": ["identity"],
            "body_size": [1],
        },
        schema_overrides={"pass_number": pl.Int16, "page_number": pl.Int32},
    )
    with store.write() as con:
        store.archive_pages(con, pages, sync_id=sync_id)
        store.log_sync(
            con, {"sync_id": sync_id, "endpoint": "orders", "outcome": "ok", "full_refresh": full}
        )


def test_retention_keeps_last_n_syncs_back_to_a_full_one() -> None:
    with Store(":memory:") as store:
        for n, full in enumerate([True, False, True, False, False, False], start=1):
            _archive(store, f"s{n}", full)
        with store.write() as con:
            deleted = store.purge_archive(con, "orders", keep_syncs=2)
        kept = store.query("SELECT DISTINCT sync_id FROM raw_pages ORDER BY 1")["sync_id"]
        # last 2 are s5, s6 (incremental): extended back to the full sync s3
        assert kept.to_list() == ["s3", "s4", "s5", "s6"]
        assert deleted == 2
        with store.write() as con:
            assert store.purge_archive(con, "orders", keep_syncs=0) == 0


def test_missing_file_is_a_clear_store_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "nope.duckdb")
    with pytest.raises(StoreError, match="does not exist yet"), store.read():
        pass


def test_raw_duckdb_errors_are_wrapped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "not-a-db.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 100)
    with (
        pytest.raises(StoreError, match="cannot open the vendorkit store") as info,
        Store(path).read(),
    ):
        pass
    assert isinstance(info.value.__cause__, duckdb.Error)


def test_sync_lock_refuses_a_second_holder_naming_the_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "vk.duckdb")
    other = Store(tmp_path / "vk.duckdb")
    with (
        store.sync_lock(),
        pytest.raises(StoreLockedError, match=f"PID {os.getpid()}"),
        other.sync_lock(0.2),
    ):
        pass
    with other.sync_lock(0.2):  # released: free again
        pass


def test_reader_waits_then_names_the_writer_pid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "vk.duckdb"
    store = Store(path, read_retry_s=0.3)
    with store.write():
        pass  # create the file and schema
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print("ready", flush=True)
            sys.stdin.readline()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match=f"process {holder.pid}"), store.read():
            pass
    finally:
        holder.communicate("done\n", timeout=30)
    assert store.read_table("orders").height == 0  # readable again once released


def test_duckdb_errors_inside_read_and_write_become_store_errors() -> None:
    with Store(":memory:") as store:
        with (
            pytest.raises(StoreError, match="writing the vendorkit store :memory: failed"),
            store.write() as con,
        ):
            con.execute("INSERT INTO cursors (endpoint) VALUES ('orders')")
            con.execute("INSERT INTO no_such_table VALUES (1)")
        assert store.query("SELECT count(*) FROM cursors").item() == 0  # rolled back
        with (
            pytest.raises(StoreError, match="reading the vendorkit store") as info,
            store.read() as con,
        ):
            con.execute("SELECT no_such_column FROM orders")
        assert isinstance(info.value.__cause__, duckdb.Error)


def test_a_catalog_endpoint_with_a_composite_key_and_child_rows_is_upserted() -> None:
    """The writers follow the catalog: composite key, child rows replaced with their record,
    no status history when the endpoint has no status column."""
    from vendorkit import catalog
    from vendorkit.catalog import UTC_DATETIME, Child, Column, Endpoint, Table

    def col(name: str, dtype: pl.DataType, **kw: object) -> Column:
        return Column(name, dtype, name, **kw)  # type: ignore[arg-type]

    ep = Endpoint(
        name="kits",
        path="/kits",
        list_key="kits",
        cursor="updated_at",
        table=Table(
            "kits",
            "Kits.",
            key=("kit_id", "site"),
            columns=(
                col("kit_id", pl.String(), wire="kitId", required=True),
                col("site", pl.String(), wire="site", required=True),
                col("updated_at", UTC_DATETIME, wire="updatedAt"),
            ),
        ),
        child=Child(
            "parts",
            Table(
                "kit_parts",
                "Kit parts.",
                key=("kit_id", "site", "position"),
                columns=(
                    col("kit_id", pl.String(), derived="parent"),
                    col("site", pl.String(), derived="parent"),
                    col("position", pl.Int32(), derived="position"),
                    col("part_number", pl.String(), wire="partNumber", required=True),
                ),
            ),
        ),
    )

    def batch(rows: list[tuple[str, str, list[str]]]) -> dict[str, pl.DataFrame]:
        head = pl.DataFrame(
            {"kit_id": [r[0] for r in rows], "site": [r[1] for r in rows], "updated_at": T0}
        ).cast(ep.table.schema())
        parts = pl.DataFrame(
            {
                "kit_id": [r[0] for r in rows for _ in r[2]],
                "site": [r[1] for r in rows for _ in r[2]],
                "position": [i + 1 for r in rows for i in range(len(r[2]))],
                "part_number": [p for r in rows for p in r[2]],
            },
            schema=ep.child.table.schema(),  # type: ignore[union-attr]
        )
        return {"kits": head, "kit_parts": parts}

    with catalog.register(ep), Store(":memory:") as store:
        first = batch([("K1", "A", ["P1", "P2"]), ("K1", "B", ["P3"]), ("K2", "A", ["P4"])])
        with store.write() as con:
            store.apply_tables(con, "kits", first, sync_id="s1", snapshot_at=T0, full=True)
        # incremental: (K1, A) re-sent with one part; (K1, B) untouched although K1 matches
        again = batch([("K1", "A", ["P9"])])
        with store.write() as con:
            store.apply_tables(con, "kits", again, sync_id="s2", snapshot_at=T0, full=False)
        parts = store.read_table("kit_parts")
        assert parts.select("kit_id", "site", "part_number").rows() == [
            ("K1", "A", "P9"),
            ("K1", "B", "P3"),
            ("K2", "A", "P4"),
        ]
        assert store.read_table("kits").height == 3
        assert not [t for t in store.table_names() if "status_history" in t and "kit" in t]


class _Recorder:
    """A DuckDB connection stand-in that records what reaches Python: the rows of every
    fetch and the frames registered (``execute`` returns the recorder, like DuckDB)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.fetched: list[int] = []
        self.registered: list[int] = []

    def execute(self, sql: str, params: object = None) -> _Recorder:
        self.con.execute(sql, params)
        return self

    def fetchall(self) -> list[tuple[object, ...]]:
        rows = self.con.fetchall()
        self.fetched.append(len(rows))
        return rows

    def register(self, name: str, data: object) -> object:
        self.registered.append(int(data.num_rows))  # type: ignore[attr-defined]
        return self.con.register(name, data)

    def unregister(self, name: str) -> object:
        return self.con.unregister(name)


def _staged_inventory(rows: list[tuple[str, str, int, datetime | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "part_number": [r[0] for r in rows],
            "warehouse_id": [r[1] for r in rows],
            "quantity_on_hand": [r[2] for r in rows],
            "last_updated": [r[3] for r in rows],
        },
        schema_overrides={"last_updated": pl.Datetime("us", "UTC")},
    )
    return frame.select(
        pl.col(c) if c in frame.columns else pl.lit(None).alias(c)
        for c in TABLE_SCHEMAS["inventory"]
    ).cast(TABLE_SCHEMAS["inventory"])


def test_apply_resolves_duplicates_across_chunks_in_duckdb_not_in_python() -> None:
    """The final apply of a staged sync is SQL over the staging tables: it registers no
    frame and fetches no result with more rows than chunks, however many records were
    staged (a regression that builds the endpoint in Python fails here), and it keeps the
    version :func:`~vendorkit.schemas.dedup.latest_versions` keeps."""
    from vendorkit.schemas.dedup import latest_versions
    from vendorkit.store import staging

    hour = timedelta(hours=1)
    filler = [(f"F{i:03d}", "10", i, T0) for i in range(40)]
    chunks = [
        [
            ("A", "1", 1, T0),
            ("B", "1", 1, None),
            ("C", "1", 1, T0 + hour),
            ("D", "1", 1, T0),
            *filler[:20],
        ],
        # A: same version, later chunk wins; B: both undated, later wins; C: older loses;
        # D: an undated version loses to a dated one
        [
            ("A", "1", 2, T0),
            ("B", "1", 2, None),
            ("C", "1", 2, T0),
            ("D", "1", 2, None),
            *filler[20:],
        ],
        [("E", "1", 3, T0), ("A", "1", 3, T0 - hour)],  # an older A again: loses
    ]
    sync_id = "20261101T120000.000Z-abcdef"
    point = staging.Checkpoint(
        sync_id, "inventory", True, None, 1, 0, None, None, T0, 0, {}, T0, T0
    )
    with Store(":memory:") as store:
        with store.write() as con:
            for n, rows in enumerate(chunks):
                chunk = replace(point, chunks=n)
                staging.stage_chunk(
                    con,
                    chunk,
                    {"inventory": _staged_inventory(rows)},
                    pl.DataFrame(),
                    pl.DataFrame(),
                )
        with store.write() as con:
            spy = _Recorder(con)
            applied = staging.apply_staged(
                spy,  # type: ignore[arg-type]
                "inventory",
                sync_id,
                snapshot_at=T0,
                full=True,
                rejected_at=T0,
            )
        assert spy.registered == []
        assert max(spy.fetched) <= len(chunks) < sum(len(c) for c in chunks)
        got = store.read_table("inventory").sort("part_number", "warehouse_id")
        assert store.query("SELECT count(*) FROM stage_inventory").item() == 0

    everything = pl.concat(
        _staged_inventory(rows).with_columns(
            pl.lit(n).alias("_chunk"), pl.int_range(pl.len()).alias("_pos")
        )
        for n, rows in enumerate(chunks)
    )
    expected = latest_versions(
        everything, ["part_number", "warehouse_id"], ["last_updated", "_chunk", "_pos"]
    ).drop("_chunk", "_pos")
    assert got.equals(expected.sort("part_number", "warehouse_id"))
    kept = dict(zip(got["part_number"], got["quantity_on_hand"], strict=True))
    assert {k: kept[k] for k in "ABCDE"} == {"A": 2, "B": 2, "C": 1, "D": 1, "E": 3}
    assert applied.loaded == got.height == 45
    assert applied.deduplicated == 5


def test_write_connections_bound_duckdb_memory_and_threads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A sync's writes run with a fixed memory limit and thread cap: what bounds its peak
    memory, whatever the number of records."""
    from vendorkit.store.connection import WRITE_MEMORY_LIMIT, WRITE_THREADS

    probe = duckdb.connect()
    probe.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
    spelled = probe.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    store = Store(tmp_path / "vk.duckdb")
    with store.write() as con:
        limit, threads = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchall()[0]
    assert limit == spelled
    assert threads == min(WRITE_THREADS, os.cpu_count() or 1)
    with pytest.raises(StoreError, match="memory limit"), store.write(memory_limit="1GB'; --"):
        pass
