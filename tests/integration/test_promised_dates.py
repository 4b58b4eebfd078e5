"""The first promise stays known: the store writes a shipment-history row when the estimated
delivery date changes (catalog ``tracked``), and OTIF measures against the first estimate."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

import vendorkit as vk
from vendorkit.analysis.service import promised_dates
from vendorkit.store import Store


def test_slipped_estimates_keep_the_first_promise() -> None:
    with vk.connect(":memory:", settings=vk.Settings(sandbox_scale=0.2)) as h:
        h.sync(["orders", "shipments"])
        first = h.load_shipments().select("shipment_id", "estimated_delivery_date")
        for _ in range(3):  # each sandbox sync step slips some estimates
            h.sync(["shipments"])
        shipments, history = h.load_shipments(), h.load_shipment_status_history()
    current = shipments.select("shipment_id", pl.col("estimated_delivery_date").alias("now"))
    slipped = (
        first.join(current, on="shipment_id")
        .filter(pl.col("estimated_delivery_date") != pl.col("now"))
        .rename({"estimated_delivery_date": "first"})
    )
    assert slipped.height > 0, "the sandbox slipped no estimate: nothing is tested"
    # the history kept a row per estimate seen, the first one first
    for row in slipped.iter_rows(named=True):
        seen = history.filter(pl.col("shipment_id") == row["shipment_id"]).sort("observed_at")
        assert seen["estimated_delivery_date"][0] == row["first"]
        assert seen["estimated_delivery_date"][-1] == row["now"]
    promised = promised_dates(shipments, history).join(slipped, on="shipment_id")
    assert promised.height == slipped.height
    assert (promised["promised_date"] == promised["first"]).all()
    assert (promised["promised_date"] != promised["now"]).all()


def test_a_store_from_before_the_tracked_column_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE shipment_status_history (shipment_id VARCHAR, status VARCHAR, "
        "status_raw VARCHAR, observed_at TIMESTAMPTZ, sync_id VARCHAR)"
    )
    con.execute(
        "INSERT INTO shipment_status_history VALUES "
        "('S1', 'SHIPPED', 'Shipped', '2026-10-01 12:00:00+00', 's-old')"
    )
    con.close()
    with Store(db) as store:
        old = store.read_table("shipment_status_history")
    assert old.columns == list(
        vk.catalog.get_endpoint("shipments").status_history_table.names  # type: ignore[union-attr]
    )
    assert old["shipment_id"].to_list() == ["S1"]
    assert old["estimated_delivery_date"].to_list() == [None]
    with Store(db) as store, store.write():
        pass  # the first write adds the column for good
    con = duckdb.connect(str(db), read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE shipment_status_history").fetchall()]
    con.close()
    assert "estimated_delivery_date" in columns
