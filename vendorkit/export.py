"""Export the store's tables to hive-partitioned Parquet (Spark, Trino, DuckDB elsewhere).

Layout under ``directory`` (zstd-compressed Parquet, one folder per table)::

    inventory_history/snapshot_date=2026-11-01/data_0.parquet
    orders/order_month=2026-10/data_0.parquet
    order_lines/order_month=2026-10/...          (month of the order, joined from orders)
    shipments/ship_month=2026-10/...
    shipment_lines/ship_month=2026-10/...
    order_status_history/observed_month=.../     shipment_status_history/observed_month=.../
    inventory/data_0.parquet   rejects/...   sync_log/...   (small: one file each)

Rows without the partition date go to ``..._month=__unknown__``. DuckDB writes straight
from the store to the files (streaming, nothing through Python). Re-exporting to the same
directory replaces each table's folder.

Reading it back elsewhere, e.g. with DuckDB::

    SELECT * FROM read_parquet('out/inventory_history/*/*.parquet', hive_partitioning = true)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from vendorkit.errors import StoreError
from vendorkit.store import TABLE_SCHEMAS, Store, _q

if TYPE_CHECKING:
    from vendorkit.config import Settings

__all__ = ["EXPORT_TABLES", "export_parquet"]

_UNKNOWN = "'__unknown__'"


def _month(expr: str) -> str:
    return f"coalesce(strftime({expr}, '%Y-%m'), {_UNKNOWN})"


def _cols(table: str, alias: str = "t") -> str:
    return ", ".join(f"{alias}.{_q(c)}" for c in TABLE_SCHEMAS[table])


#: table -> (SELECT producing the rows incl. the partition column, partition column or None)
EXPORT_TABLES: dict[str, tuple[str, str | None]] = {
    "inventory_history": (
        f"SELECT {_cols('inventory_history')}, "
        "coalesce(CAST(CAST(t.snapshot_at AS DATE) AS VARCHAR), "
        f"{_UNKNOWN}) AS snapshot_date FROM inventory_history t",
        "snapshot_date",
    ),
    "inventory": (f"SELECT {_cols('inventory')} FROM inventory t", None),
    "orders": (
        f"SELECT {_cols('orders')}, {_month('t.order_date')} AS order_month FROM orders t",
        "order_month",
    ),
    "order_lines": (
        f"SELECT {_cols('order_lines')}, {_month('o.order_date')} AS order_month "
        "FROM order_lines t LEFT JOIN orders o ON o.order_id = t.order_id",
        "order_month",
    ),
    "shipments": (
        f"SELECT {_cols('shipments')}, {_month('t.ship_date')} AS ship_month FROM shipments t",
        "ship_month",
    ),
    "shipment_lines": (
        f"SELECT {_cols('shipment_lines')}, {_month('s.ship_date')} AS ship_month "
        "FROM shipment_lines t LEFT JOIN shipments s ON s.shipment_id = t.shipment_id",
        "ship_month",
    ),
    "order_status_history": (
        f"SELECT {_cols('order_status_history')}, {_month('t.observed_at')} AS observed_month "
        "FROM order_status_history t",
        "observed_month",
    ),
    "shipment_status_history": (
        f"SELECT {_cols('shipment_status_history')}, "
        f"{_month('t.observed_at')} AS observed_month FROM shipment_status_history t",
        "observed_month",
    ),
    "rejects": ("SELECT * FROM rejects", None),
    "sync_log": (f"SELECT {_cols('sync_log')} FROM sync_log t", None),
}


def export_parquet(
    directory: str | os.PathLike[str],
    *,
    settings: Settings | None = None,
) -> dict[str, Path]:
    """Write the store's tables as hive-partitioned Parquet under ``directory``.

    ``inventory_history`` is partitioned by ``snapshot_date``, orders and order lines by
    ``order_month``, shipments and their lines by ``ship_month``, status histories by
    ``observed_month``; small tables are single files.

    Args:
        directory: output folder (created; each table's subfolder is replaced).
        settings: configuration (default: from the environment).

    Returns:
        table name -> the folder holding its Parquet files.

    Raises:
        StoreError: the store does not exist yet, or writing failed.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     _ = vk.sync(["orders"], settings=s)
        ...     sorted(vk.export_parquet(pathlib.Path(tmp) / "parquet", settings=s))[:2]
        ['inventory', 'inventory_history']
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.export_parquet()") as handle:
        return handle.export_parquet(directory)


def export_store(
    store: Store, directory: str | os.PathLike[str], *, tables: Iterable[str] | None = None
) -> dict[str, Path]:
    """:func:`export_parquet` for an open :class:`~vendorkit.store.Store` (``tables``: a subset).

    Example:
        >>> # export_store(Store("vk.duckdb"), "out", tables=["orders"])
    """
    names = list(tables) if tables is not None else list(EXPORT_TABLES)
    unknown = [n for n in names if n not in EXPORT_TABLES]
    if unknown:
        raise StoreError(f"cannot export {unknown}; choose from {', '.join(EXPORT_TABLES)}")
    root = Path(directory).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with store.read() as con:
        for name in names:
            select, partition = EXPORT_TABLES[name]
            target = root / name
            if target.exists():
                shutil.rmtree(target)
            options = "FORMAT parquet, COMPRESSION zstd"
            if partition:
                destination = target
                options += f", PARTITION_BY ({_q(partition)})"
            else:
                target.mkdir(parents=True)
                destination = target / "data_0.parquet"
            try:
                con.execute(f"COPY ({select}) TO ? ({options})", [str(destination)])
            except duckdb.Error as exc:
                raise StoreError(
                    f"exporting {name} to {target} failed: {exc}. Check the folder is "
                    "writable and has free space"
                ) from exc
            written[name] = target
    return written
