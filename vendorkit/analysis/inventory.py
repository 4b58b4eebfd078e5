"""Inventory helpers: where the stock is, how it moves, how long it lasts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import polars as pl

from vendorkit.analysis.common import (
    Frame,
    _check_frames,
    _group_columns,
    _latest_snapshot,
    _lit_ts,
    _prep,
    _resolve_as_of,
    _share,
    _status,
)


def stock_by_warehouse(inventory: Frame, *, matrix: bool = False) -> pl.DataFrame:
    """Stock position per warehouse (or the part × warehouse matrix).

    Definition (one row per ``warehouse_id``, sorted by it):

    * ``part_rows``: inventory rows (part × warehouse records) at the warehouse;
    * ``units_on_hand``: sum of ``quantity_on_hand``;
    * ``parts_in_stock``: rows with ``quantity_on_hand > 0`` (distinct parts, as the
      inventory is keyed by part × warehouse);
    * ``stockouts``: rows with ``quantity_on_hand <= 0`` (a listed part with nothing on hand);
    * ``units_backordered`` / ``units_on_order``: sums of ``quantity_backordered`` /
      ``quantity_on_order``; ``null`` when the warehouse's rows carry none (seed-only data);
    * ``share_of_units``: the warehouse's ``units_on_hand`` / all units (null if none).

    ``warehouse_name`` is kept (first non-null name) when the frame has the column. An
    inventory history is reduced to its latest snapshot first.

    Args:
        inventory: the ``inventory`` (or ``inventory_history``) typed table.
        matrix: return the part × warehouse matrix instead: one row per ``part_number``
            (sorted), one ``quantity_on_hand`` column per warehouse id (sorted); ``null``
            where the part has no record at that warehouse (``0`` means a stockout).

    Returns:
        The per-warehouse summary, or the matrix.

    Example:
        >>> inv = pl.DataFrame({"part_number": ["A", "B", "A"], "warehouse_id": ["10", "10", "20"],
        ...                     "quantity_on_hand": [5, 0, 2]})
        >>> stock_by_warehouse(inv).select("warehouse_id", "units_on_hand", "stockouts").rows()
        [('10', 5, 1), ('20', 2, 0)]
    """
    lf = _latest_snapshot(
        _prep(inventory, "inventory", ("part_number", "warehouse_id", "quantity_on_hand"))
    )
    schema = lf.collect_schema()
    if matrix:
        long = lf.group_by("part_number", "warehouse_id").agg(pl.col("quantity_on_hand").sum())
        df = long.collect()
        warehouses = sorted(df["warehouse_id"].drop_nulls().unique().to_list())
        wide = df.pivot(
            on="warehouse_id", index="part_number", values="quantity_on_hand", on_columns=warehouses
        )
        return wide.select("part_number", *warehouses).sort("part_number")
    qty = pl.col("quantity_on_hand")
    aggs: list[pl.Expr] = [
        pl.len().alias("part_rows"),
        qty.sum().alias("units_on_hand"),
        (qty > 0).sum().cast(pl.Int64).alias("parts_in_stock"),
        (qty <= 0).sum().cast(pl.Int64).alias("stockouts"),
    ]
    for column, alias in (
        ("quantity_backordered", "units_backordered"),
        ("quantity_on_order", "units_on_order"),
    ):
        if column in schema:
            aggs.append(
                pl.when(pl.col(column).is_not_null().any())
                .then(pl.col(column).sum())
                .otherwise(None)
                .cast(pl.Int64)
                .alias(alias)
            )
        else:
            aggs.append(pl.lit(None, dtype=pl.Int64).alias(alias))
    keys = ["warehouse_id"]
    if "warehouse_name" in schema:
        aggs.insert(0, pl.col("warehouse_name").drop_nulls().first().alias("warehouse_name"))
    out = (
        lf.group_by(keys)
        .agg(aggs)
        .with_columns(
            _share(pl.col("units_on_hand"), pl.col("units_on_hand").sum()).alias("share_of_units")
        )
        .sort("warehouse_id")
    )
    return out.collect()


def inventory_trend(
    history: Frame,
    *,
    by: Literal["warehouse", "part"] | str | Sequence[str] | None = "warehouse",
    every: str = "1d",
) -> pl.DataFrame:
    """Units on hand over time, from the inventory history (one snapshot per sync).

    Definition: one snapshot per sync (``sync_id``); snapshots are bucketed by
    ``snapshot_at`` truncated to ``every`` (a polars duration string: ``"1h"``, ``"1d"``,
    ``"1w"``, ``"1mo"``). Stock is a level, not a flow, so a bucket holding several
    snapshots reports its **latest** one (latest ``snapshot_at``, ties broken by the sortable
    ``sync_id``): never a sum or an average over snapshots, even when two syncs share a
    timestamp. Per bucket and group:

    * ``snapshot_at``: the snapshot reported;
    * ``units_on_hand``: sum of ``quantity_on_hand``;
    * ``parts_in_stock``: rows with ``quantity_on_hand > 0``;
    * ``stockouts``: rows with ``quantity_on_hand <= 0``.

    A group with no rows in the reported snapshot has no row for that bucket.

    Args:
        history: the ``inventory_history`` typed table (``sync_id, snapshot_at`` + inventory).
        by: ``"warehouse"`` (``warehouse_id``), ``"part"`` (``part_number``), ``None`` (all
            stock), or inventory column name(s).
        every: bucket width.

    Returns:
        Columns ``period``, the group columns, ``snapshot_at``, ``units_on_hand``,
        ``parts_in_stock``, ``stockouts``; sorted by period then group.

    Example:
        >>> from datetime import datetime, UTC
        >>> h = pl.DataFrame({"sync_id": [1, 1, 2], "snapshot_at": [datetime(2026, 1, 1, tzinfo=UTC)] * 2
        ...                   + [datetime(2026, 1, 2, tzinfo=UTC)], "part_number": ["A", "B", "A"],
        ...                   "warehouse_id": ["10"] * 3, "quantity_on_hand": [3, 4, 1]})
        >>> inventory_trend(h)["units_on_hand"].to_list()
        [7, 1]
    """
    lf = _prep(
        history,
        "inventory_history",
        ("snapshot_at", "sync_id", "part_number", "warehouse_id", "quantity_on_hand"),
        why="load the inventory history (vendorkit.load_inventory_history()), not the "
        "current inventory",
    )
    schema = lf.collect_schema()
    keys = _group_columns(by, {"warehouse": "warehouse_id", "part": "part_number"}, schema)
    qty = pl.col("quantity_on_hand")
    # one snapshot per sync: the latest sync of each period (by snapshot_at, then sync_id),
    # so two syncs that share a timestamp are two snapshots, never one summed snapshot
    latest = (
        lf.select("sync_id", "snapshot_at")
        .unique()
        .with_columns(pl.col("snapshot_at").dt.truncate(every).alias("period"))
        .sort("snapshot_at", "sync_id")
        .group_by("period")
        .agg(pl.col("sync_id").last(), pl.col("snapshot_at").last())
    )
    out = (
        lf.join(latest.select("sync_id", "period"), on="sync_id", how="inner")
        .group_by("period", "sync_id", *keys)
        .agg(
            pl.col("snapshot_at").first(),
            qty.sum().alias("units_on_hand"),
            (qty > 0).sum().cast(pl.Int64).alias("parts_in_stock"),
            (qty <= 0).sum().cast(pl.Int64).alias("stockouts"),
        )
        .select("period", *keys, "snapshot_at", "units_on_hand", "parts_in_stock", "stockouts")
        .sort("period", *keys)
    )
    return out.collect()


def days_of_supply(
    inventory: Frame,
    orders: Frame,
    order_lines: Frame,
    *,
    window_days: int = 28,
    threshold_days: float = 14.0,
    by_warehouse: bool | None = None,
    as_of: datetime | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Days of supply per part (and warehouse): on-hand units / average daily demand.

    Definition:

    * demand window: order lines whose order's ``order_date`` is in
      ``(as_of - window_days, as_of]``; ``as_of`` defaults to the latest ``order_date``;
      cancelled orders are excluded unless ``include_cancelled``;
    * ``units_ordered``: sum of ``quantity_ordered`` in the window;
    * ``avg_daily_demand`` = ``units_ordered / window_days`` (calendar days, zero-demand
      days included);
    * ``days_of_supply`` = ``quantity_on_hand / avg_daily_demand``; **null** when the part
      had no demand in the window (not infinity);
    * ``below_threshold``: ``days_of_supply < threshold_days`` (false when null).

    Per ``(part_number, warehouse_id)`` when the order lines carry a warehouse
    (``by_warehouse=None`` decides from the data; lines without one are then left out of
    the per-warehouse demand), else per ``part_number`` with stock summed over warehouses.
    Parts with demand but no inventory record count as 0 on hand. An inventory history is
    reduced to its latest snapshot. Sorted by ``days_of_supply`` (nulls last), then keys.

    Args:
        inventory: ``inventory`` typed table.
        orders: ``orders`` typed table, for each line's ``order_date`` and ``status``.
        order_lines: ``order_lines`` typed table.
        window_days: demand window length in days.
        threshold_days: flag parts with fewer days of supply than this.
        by_warehouse: force per-warehouse (True) or per-part (False) results.
        as_of: end of the demand window.
        include_cancelled: count cancelled orders as demand.

    Returns:
        ``part_number``, [``warehouse_id``], ``quantity_on_hand``, ``units_ordered``,
        ``avg_daily_demand``, ``days_of_supply``, ``below_threshold``.

    Raises:
        ConfigError: the frames look swapped (recognised by their columns).

    Example:
        >>> from datetime import datetime, UTC
        >>> inv = pl.DataFrame({"part_number": ["A"], "warehouse_id": ["10"], "quantity_on_hand": [56]})
        >>> orders = pl.DataFrame({"order_id": ["o1"], "status": ["OPEN"],
        ...                        "order_date": [datetime(2026, 1, 28, tzinfo=UTC)]})
        >>> lines = pl.DataFrame({"order_id": ["o1"], "part_number": ["A"], "quantity_ordered": [28]})
        >>> days_of_supply(inv, orders, lines)["days_of_supply"].to_list()  # 56 / (28 / 28)
        [56.0]
    """
    _check_frames(
        "days_of_supply", {"inventory": inventory, "orders": orders, "order_lines": order_lines}
    )
    inv = _latest_snapshot(
        _prep(inventory, "inventory", ("part_number", "warehouse_id", "quantity_on_hand"))
    )
    lines = _prep(order_lines, "order_lines", ("order_id", "part_number", "quantity_ordered"))
    line_schema = lines.collect_schema()
    ords = _prep(orders, "orders", ("order_id", "status"), populated=("order_date",))
    dated = lines.drop([c for c in ("order_date", "status") if c in line_schema]).join(
        ords.select("order_id", "order_date", "status"), on="order_id", how="inner"
    )
    end = _resolve_as_of(as_of, [(dated, ["order_date"])])
    start = end.timestamp() - window_days * 86_400
    start_dt = datetime.fromtimestamp(start, tz=UTC)
    if not include_cancelled:
        dated = dated.filter(_status() != "CANCELLED")
    dated = dated.filter(
        (pl.col("order_date") > _lit_ts(start_dt)) & (pl.col("order_date") <= _lit_ts(end))
    )
    if by_warehouse is None:
        by_warehouse = bool(
            "warehouse_id" in line_schema
            and lines.select(pl.col("warehouse_id").is_not_null().any()).collect().item()
        )
    if by_warehouse:
        _prep(order_lines, "order_lines", ("warehouse_id",), why="or pass by_warehouse=False")
        dated = dated.filter(pl.col("warehouse_id").is_not_null())
    keys = ["part_number", "warehouse_id"] if by_warehouse else ["part_number"]
    demand = dated.group_by(keys).agg(
        pl.col("quantity_ordered").sum().cast(pl.Int64).alias("units_ordered")
    )
    stock = inv.group_by(keys).agg(pl.col("quantity_on_hand").sum().cast(pl.Int64))
    avg = pl.col("units_ordered").cast(pl.Float64) / float(window_days)
    out = (
        stock.join(demand, on=keys, how="full", coalesce=True, nulls_equal=False)
        .with_columns(
            pl.col("quantity_on_hand").fill_null(0),
            pl.col("units_ordered").fill_null(0),
        )
        .with_columns(avg.alias("avg_daily_demand"))
        .with_columns(
            # on_hand * window / units: the same number as on_hand / (units / window), without
            # the rounding of the average (9 units over 18 ordered in 28 days is exactly 14)
            pl.when(pl.col("units_ordered") > 0)
            .then(
                pl.col("quantity_on_hand").cast(pl.Float64)
                * float(window_days)
                / pl.col("units_ordered").cast(pl.Float64)
            )
            .otherwise(None)
            .alias("days_of_supply")
        )
        .with_columns(
            (pl.col("days_of_supply") < threshold_days).fill_null(False).alias("below_threshold")
        )
        .select(
            *keys,
            "quantity_on_hand",
            "units_ordered",
            "avg_daily_demand",
            "days_of_supply",
            "below_threshold",
        )
        .sort(["days_of_supply", *keys], nulls_last=True)
    )
    return out.collect()
