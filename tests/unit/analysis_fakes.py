"""Small hand-made typed-table frames for the analysis and chart tests.

Each builder returns exactly the columns (and dtypes) of the typed tables in
docs/ARCHITECTURE.md, filling the optional columns the test does not care about with
nulls, so the helpers see what ``load_*()`` would give them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES

TS = pl.Datetime("us", "UTC")


def day(d: int, hour: int = 0, month: int = 1) -> datetime:
    """2026-<month>-<d> <hour>:00 UTC."""
    return datetime(2026, month, d, hour, tzinfo=UTC)


INVENTORY_SCHEMA: dict[str, Any] = {
    "part_number": pl.String,
    "warehouse_id": pl.String,
    "warehouse_name": pl.String,
    "vendor_part_number": pl.String,
    "quantity_on_hand": pl.Int64,
    "quantity_backordered": pl.Int64,
    "quantity_on_order": pl.Int64,
    "last_updated": TS,
}
ORDERS_SCHEMA: dict[str, Any] = {
    "order_id": pl.String,
    "reseller_id": pl.String,
    "reseller_name": pl.String,
    "status": pl.Enum(ORDER_STATUSES),
    "status_raw": pl.String,
    "order_date": TS,
    "updated_at": TS,
    "currency_code": pl.String,
}
ORDER_LINES_SCHEMA: dict[str, Any] = {
    "order_id": pl.String,
    "line_number": pl.Int32,
    "part_number": pl.String,
    "quantity_ordered": pl.Int64,
    "quantity_confirmed": pl.Int64,
    "quantity_backordered": pl.Int64,
    "unit_price": pl.Float64,
    "warehouse_id": pl.String,
}
SHIPMENTS_SCHEMA: dict[str, Any] = {
    "shipment_id": pl.String,
    "order_id": pl.String,
    "carrier": pl.String,
    "tracking_number": pl.String,
    "status": pl.Enum(SHIPMENT_STATUSES),
    "status_raw": pl.String,
    "warehouse_id": pl.String,
    "ship_date": TS,
    "estimated_delivery_date": TS,
    "delivered_date": TS,
    "updated_at": TS,
}
SHIPMENT_LINES_SCHEMA: dict[str, Any] = {
    "shipment_id": pl.String,
    "position": pl.Int32,
    "order_id": pl.String,
    "line_number": pl.Int32,
    "part_number": pl.String,
    "quantity": pl.Int64,
}


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    full = [{c: row.get(c) for c in schema} for row in rows]
    return pl.DataFrame(full, schema=schema)


def inventory(*rows: tuple[Any, ...], **extra: Any) -> pl.DataFrame:
    """rows: (part_number, warehouse_id, quantity_on_hand[, backordered[, on_order]])."""
    records = []
    for row in rows:
        record = {"part_number": row[0], "warehouse_id": row[1], "quantity_on_hand": row[2]}
        if len(row) > 3:
            record["quantity_backordered"] = row[3]
        if len(row) > 4:
            record["quantity_on_order"] = row[4]
        records.append(record | extra)
    return _frame(records, INVENTORY_SCHEMA)


def history(*snapshots: tuple[int, datetime, pl.DataFrame]) -> pl.DataFrame:
    """Stack inventory frames as snapshots: (sync_id, snapshot_at, inventory frame)."""
    parts = [
        inv.select(
            pl.lit(str(sync_id), dtype=pl.String).alias("sync_id"),
            pl.lit(at, dtype=TS).alias("snapshot_at"),
            pl.all(),
        )
        for sync_id, at, inv in snapshots
    ]
    return pl.concat(parts)


def orders(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """rows: (order_id, reseller_id, status, order_date[, updated_at])."""
    records = [
        {
            "order_id": r[0],
            "reseller_id": r[1],
            "reseller_name": None if r[1] is None else f"Reseller {r[1]}",
            "status": r[2],
            "status_raw": r[2],
            "order_date": r[3],
            "updated_at": r[4] if len(r) > 4 else None,
            "currency_code": "USD",
        }
        for r in rows
    ]
    return _frame(records, ORDERS_SCHEMA)


def order_lines(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """rows: (order_id, line_number, part_number, quantity_ordered[, warehouse_id])."""
    records = [
        {
            "order_id": r[0],
            "line_number": r[1],
            "part_number": r[2],
            "quantity_ordered": r[3],
            "warehouse_id": r[4] if len(r) > 4 else None,
        }
        for r in rows
    ]
    return _frame(records, ORDER_LINES_SCHEMA)


def shipments(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """rows: (shipment_id, order_id, carrier, status, ship_date, estimated, delivered)."""
    records = [
        {
            "shipment_id": r[0],
            "order_id": r[1],
            "carrier": r[2],
            "tracking_number": f"1Z{r[0]}",
            "status": r[3],
            "status_raw": r[3],
            "warehouse_id": "10",
            "ship_date": r[4],
            "estimated_delivery_date": r[5],
            "delivered_date": r[6],
        }
        for r in rows
    ]
    return _frame(records, SHIPMENTS_SCHEMA)


def shipment_lines(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """rows: (shipment_id, order_id, line_number or None, part_number, quantity)."""
    records = []
    position: dict[str, int] = {}
    for r in rows:
        position[r[0]] = position.get(r[0], 0) + 1
        records.append(
            {
                "shipment_id": r[0],
                "position": position[r[0]],
                "order_id": r[1],
                "line_number": r[2],
                "part_number": r[3],
                "quantity": r[4],
            }
        )
    return _frame(records, SHIPMENT_LINES_SCHEMA)


def empty(schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
