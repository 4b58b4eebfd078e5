"""Analysis helpers: the questions analysts ask of inventory, orders and shipments.

Every helper is a pure function: typed-table frames in (polars ``DataFrame`` or
``LazyFrame`` with the columns of ``docs/ARCHITECTURE.md``), a ``DataFrame`` out. No HTTP,
no cache, no printing, no Python loop over rows: the work is polars expressions, so a
10,000,000-row inventory history is answered in about the time DuckDB SQL needs.

Conventions shared by all helpers (``docs/metrics.md`` is the long form):

* **Days** are floats: ``(later - earlier)`` in microseconds / 86,400,000,000.
* **Quantiles** (``p50``, ``p90``, ``p95``) interpolate linearly between the two nearest
  values (numpy's default, DuckDB's ``quantile_cont``).
* **as_of** defaults to the latest timestamp found in the data (never the wall clock), so
  the same frames always give the same answer. Naive datetimes are taken as UTC.
* **Cancelled orders** (canonical status ``CANCELLED``) are excluded by default wherever an
  order's quantity or timing counts; ``include_cancelled=True`` keeps them. Cancelled
  shipments never count as shipped.
* **Shares** are ``null`` (not NaN, not infinity) when their denominator is zero.
* **Inventory history** given where current inventory is expected (a frame with
  ``snapshot_at``) is reduced to its latest snapshot first.
* A needed column that is absent, or null in every row (seed-only data), raises
  :class:`vendorkit.errors.MissingFieldError` naming the column and the API field that
  provides it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal

import polars as pl

from vendorkit.errors import ConfigError, MissingFieldError

__all__ = [
    "AGE_BUCKETS",
    "LAG_PERCENTILES",
    "backorder_aging",
    "carrier_performance",
    "days_of_supply",
    "inventory_trend",
    "late_shipments",
    "order_fill_rates",
    "order_lead_times",
    "reseller_concentration",
    "shipment_lag",
    "shipment_lag_detail",
    "stock_by_warehouse",
]

Frame = pl.DataFrame | pl.LazyFrame

_US_PER_DAY = 86_400_000_000
_UTC = pl.Datetime("us", "UTC")

#: Age buckets of :func:`backorder_aging`, in order (inclusive day ranges).
AGE_BUCKETS: tuple[str, ...] = ("0-7", "8-14", "15-30", "31+")
_AGE_ENUM = pl.Enum(list(AGE_BUCKETS))

#: Shipment statuses whose lines have not left the warehouse (never "shipped").
_NOT_SHIPPED = ("CANCELLED", "PROCESSING")

# Typed column -> the API field that fills it (see vendorkit/endpoints.py).
_API_FIELDS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "inventory": {
            "part_number": "inventory[].partNumber",
            "warehouse_id": "inventory[].warehouse",
            "warehouse_name": "inventory[].warehouseName",
            "quantity_on_hand": "inventory[].quantity",
            "quantity_backordered": "inventory[].quantityBackordered",
            "quantity_on_order": "inventory[].quantityOnOrder",
            "last_updated": "inventory[].lastUpdated",
        },
        "inventory_history": {
            "sync_id": "none: added by the store at each sync",
            "snapshot_at": "none: added by the store at each sync",
            "part_number": "inventory[].partNumber",
            "warehouse_id": "inventory[].warehouse",
            "quantity_on_hand": "inventory[].quantity",
        },
        "orders": {
            "order_id": "orders[].orderId",
            "reseller_id": "orders[].resellerId",
            "reseller_name": "orders[].resellerName",
            "status": "orders[].status",
            "order_date": "orders[].orderDate",
            "updated_at": "orders[].updatedAt",
        },
        "order_lines": {
            "order_id": "orders[].orderId",
            "line_number": "orders[].lines[].lineNumber",
            "part_number": "orders[].lines[].partNumber",
            "quantity_ordered": "orders[].lines[].quantity",
            "warehouse_id": "orders[].lines[].warehouse",
            "order_date": "orders[].orderDate, joined from orders",
            "status": "orders[].status, joined from orders",
        },
        "shipments": {
            "shipment_id": "shipments[].id",
            "order_id": "shipments[].orderId",
            "carrier": "shipments[].carrier",
            "tracking_number": "shipments[].trackingNumber",
            "status": "shipments[].status",
            "warehouse_id": "shipments[].warehouse",
            "ship_date": "shipments[].shipDate",
            "estimated_delivery_date": "shipments[].estimatedDeliveryDate",
            "delivered_date": "shipments[].deliveredDate",
            "updated_at": "shipments[].updatedAt",
        },
        "shipment_lines": {
            "shipment_id": "shipments[].id",
            "order_id": "shipments[].orderId",
            "line_number": "shipments[].lines[].lineNumber",
            "part_number": "shipments[].lines[].partNumber",
            "quantity": "shipments[].lines[].quantity",
        },
    }
)

# Typed columns filled from fields the seed spec promises (everything else may be missing).
_SEED_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "inventory": ("part_number", "warehouse_id", "quantity_on_hand", "last_updated"),
        "orders": ("order_id", "reseller_id", "status", "status_raw"),
        "order_lines": ("order_id", "part_number", "quantity_ordered"),
        "shipments": ("shipment_id", "order_id", "carrier", "tracking_number", "status"),
    }
)

_ENDPOINT_OF: Mapping[str, str] = MappingProxyType(
    {
        "inventory": "inventory",
        "inventory_history": "inventory",
        "orders": "orders",
        "order_lines": "orders",
        "shipments": "shipments",
        "shipment_lines": "shipments",
    }
)

_TIMESTAMP_COLUMNS = (
    "snapshot_at",
    "last_updated",
    "order_date",
    "updated_at",
    "ship_date",
    "estimated_delivery_date",
    "delivered_date",
)


# --------------------------------------------------------------------------- internals


def _api_field(table: str, column: str) -> str:
    return _API_FIELDS.get(table, {}).get(column, "not an API field")


def _prep(
    frame: Frame,
    table: str,
    required: Iterable[str],
    *,
    populated: Iterable[str] = (),
    why: str = "",
) -> pl.LazyFrame:
    """Check columns, normalise timestamps to Datetime(us, UTC), return a LazyFrame.

    ``required`` columns must exist; ``populated`` columns must exist and hold at least one
    non-null value when the frame has rows (seed-only data leaves optional columns null).
    """
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    schema = lf.collect_schema()
    populated = tuple(populated)
    endpoint = _ENDPOINT_OF.get(table)
    for column in (*required, *populated):
        if column not in schema:
            if column in _SEED_COLUMNS.get(table, ()) or table == "inventory_history":
                hint = why or f"load it with vendorkit.load_{table}(), which returns every column"
            else:
                hint = f"seed-only {endpoint} do not carry it{'; ' + why if why else ''}"
            raise MissingFieldError(
                f"{table} has no column {column!r} (API field {_api_field(table, column)}); {hint}",
                endpoint=endpoint,
                column=column,
            )
    if populated:
        if isinstance(frame, pl.DataFrame):
            height = frame.height
            empty = [c for c in populated if height and frame[c].null_count() == height]
        else:
            row = lf.select(
                pl.len().alias("__n"), *[pl.col(c).is_not_null().any().alias(c) for c in populated]
            ).collect()
            empty = [c for c in populated if row["__n"][0] and not row[c][0]]
        if empty:
            column = empty[0]
            raise MissingFieldError(
                f"{table} has no values in column {column!r} (API field "
                f"{_api_field(table, column)}); seed-only {endpoint} do not carry it: sync "
                f"from an API that sends it{'; ' + why if why else ''}",
                endpoint=endpoint,
                column=column,
            )
    fixes = []
    for column in _TIMESTAMP_COLUMNS:
        dtype = schema.get(column)
        if dtype is None:
            continue
        if isinstance(dtype, pl.Datetime):
            expr = pl.col(column)
            if dtype.time_zone is None:
                expr = expr.dt.replace_time_zone("UTC")
            elif dtype.time_zone != "UTC":
                expr = expr.dt.convert_time_zone("UTC")
            if dtype.time_unit != "us" or dtype.time_zone != "UTC":
                fixes.append(expr.cast(_UTC))
        elif dtype == pl.Date:
            fixes.append(pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return lf.with_columns(fixes) if fixes else lf


def _height(frame: Frame) -> int:
    if isinstance(frame, pl.DataFrame):
        return frame.height
    return int(frame.select(pl.len()).collect().item())


def _check_shipment_lines(
    shipment_lines: Frame, shipments: Frame | None, orders: pl.LazyFrame
) -> None:
    """Empty shipment lines beside shipments (or shipped orders) mean seed-only data.

    Seed-only shipments carry no ``lines``, so nothing can be matched to order lines: a
    fill rate of 0 would be a wrong answer, not a measurement.
    """
    if _height(shipment_lines) > 0:
        return
    shipped_orders = _height(
        orders.filter(_status().is_in(["SHIPPED", "PARTIALLY_SHIPPED", "DELIVERED"]))
    )
    n_shipments = 0 if shipments is None else _height(shipments)
    if shipped_orders or n_shipments:
        raise MissingFieldError(
            f"shipment_lines is empty but there are {n_shipments} shipments and "
            f"{shipped_orders} shipped or delivered orders (API field shipments[].lines); "
            "seed-only shipments do not carry lines, so shipped quantities are unknown: sync "
            "from an API that sends shipment lines",
            endpoint="shipments",
            column="shipment_lines",
        )


def _latest_snapshot(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Inventory history -> its latest snapshot; plain inventory passes through."""
    if "snapshot_at" in lf.collect_schema():
        return lf.filter(pl.col("snapshot_at") == pl.col("snapshot_at").max())
    return lf


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _resolve_as_of(
    as_of: datetime | None, sources: Sequence[tuple[pl.LazyFrame, Sequence[str]]]
) -> datetime:
    """``as_of`` as an aware UTC datetime; default: the latest timestamp in ``sources``.

    ``sources`` pairs a frame with its timestamp columns (one pass over each frame).
    """
    if as_of is not None:
        return _utc(as_of)
    latest: datetime | None = None
    for lf, columns in sources:
        present = [c for c in columns if c in lf.collect_schema()]
        if not present:
            continue
        row = lf.select(pl.max_horizontal(*[pl.col(c).max() for c in present])).collect()
        value = row.item()
        if value is not None and (latest is None or value > latest):
            latest = value
    if latest is None:
        names = sorted({c for _, columns in sources for c in columns})
        raise MissingFieldError(
            f"cannot default as_of: the data holds no timestamps (columns {', '.join(names)} "
            "are empty); pass as_of= explicitly",
            column="as_of",
        )
    return _utc(latest)


def _lit_ts(value: datetime) -> pl.Expr:
    return pl.lit(value, dtype=_UTC)


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Elapsed days between two Datetime(us) expressions, as Float64."""
    return (later - earlier).dt.total_microseconds().cast(pl.Float64) / _US_PER_DAY


def _share(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return (
        pl.when(denominator > 0)
        .then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))
        .otherwise(None)
    )


def _status(column: str = "status") -> pl.Expr:
    return pl.col(column).cast(pl.String)


def _delivered(end: datetime) -> pl.Expr:
    """Delivered by ``end``: a ``delivered_date`` at or before it."""
    return pl.col("delivered_date").is_not_null() & (pl.col("delivered_date") <= _lit_ts(end))


def _undelivered(end: datetime) -> pl.Expr:
    """Known not delivered at ``end``: delivered after it, or no date and not DELIVERED.

    A shipment with status ``DELIVERED`` but no ``delivered_date`` is neither delivered
    (no date to measure) nor undelivered: it is left out of on-time and lateness counts.
    """
    return (pl.col("delivered_date") > _lit_ts(end)) | (
        pl.col("delivered_date").is_null() & (_status() != "DELIVERED")
    )


#: Percentiles reported by :func:`shipment_lag` (p25/p75/p5 feed the box plots).
LAG_PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 90, 95)


def _quantile_aggs(column: str) -> list[pl.Expr]:
    c = pl.col(column)
    return [
        c.count().alias(f"{column}_count"),
        c.mean().alias(f"{column}_mean"),
        *[
            c.quantile(q / 100, interpolation="linear").alias(f"{column}_p{q}")
            for q in LAG_PERCENTILES
        ],
    ]


def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _group_columns(
    by: str | Sequence[str] | None, aliases: dict[str, str], allowed: Iterable[str]
) -> list[str]:
    allowed = set(allowed)
    columns = []
    for name in _as_list(by):
        column = aliases.get(name, name)
        if column not in allowed:
            raise ConfigError(
                f"cannot group by {name!r}; choose from {', '.join(sorted(set(aliases) | allowed))}"
            )
        columns.append(column)
    return columns


# --------------------------------------------------------------------------- inventory


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
    by: Literal["warehouse", "part"] | str | Sequence[str] | None = "warehouse",
    every: str = "1d",
) -> pl.DataFrame:
    """Units on hand over time, from the inventory history (one snapshot per sync).

    Definition: snapshots are bucketed by ``snapshot_at`` truncated to ``every`` (a polars
    duration string: ``"1h"``, ``"1d"``, ``"1w"``, ``"1mo"``). Stock is a level, not a flow,
    so a bucket holding several snapshots reports its **latest** snapshot (never a sum or an
    average over snapshots). Per bucket and group:

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
        ("snapshot_at", "part_number", "warehouse_id", "quantity_on_hand"),
        why="load the inventory history (vendorkit.load_inventory_history()), not the "
        "current inventory",
    )
    schema = lf.collect_schema()
    keys = _group_columns(by, {"warehouse": "warehouse_id", "part": "part_number"}, schema)
    qty = pl.col("quantity_on_hand")
    per_snapshot = lf.group_by("snapshot_at", *keys).agg(
        qty.sum().alias("units_on_hand"),
        (qty > 0).sum().cast(pl.Int64).alias("parts_in_stock"),
        (qty <= 0).sum().cast(pl.Int64).alias("stockouts"),
    )
    out = (
        per_snapshot.with_columns(pl.col("snapshot_at").dt.truncate(every).alias("period"))
        .filter(pl.col("snapshot_at") == pl.col("snapshot_at").max().over("period"))
        .select("period", *keys, "snapshot_at", "units_on_hand", "parts_in_stock", "stockouts")
        .sort("period", *keys)
    )
    return out.collect()


def days_of_supply(
    inventory: Frame,
    order_lines: Frame,
    orders: Frame | None = None,
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
        order_lines: ``order_lines`` typed table (may already carry ``order_date`` and
            ``status`` columns, then ``orders`` may be omitted).
        orders: ``orders`` typed table, for each line's ``order_date`` and ``status``.
        window_days: demand window length in days.
        threshold_days: flag parts with fewer days of supply than this.
        by_warehouse: force per-warehouse (True) or per-part (False) results.
        as_of: end of the demand window.
        include_cancelled: count cancelled orders as demand.

    Returns:
        ``part_number``, [``warehouse_id``], ``quantity_on_hand``, ``units_ordered``,
        ``avg_daily_demand``, ``days_of_supply``, ``below_threshold``.

    Example:
        >>> from datetime import datetime, UTC
        >>> inv = pl.DataFrame({"part_number": ["A"], "warehouse_id": ["10"], "quantity_on_hand": [56]})
        >>> lines = pl.DataFrame({"order_id": ["o1"], "part_number": ["A"], "quantity_ordered": [28]})
        >>> orders = pl.DataFrame({"order_id": ["o1"], "status": ["OPEN"],
        ...                        "order_date": [datetime(2026, 1, 28, tzinfo=UTC)]})
        >>> days_of_supply(inv, lines, orders)["days_of_supply"].to_list()  # 56 / (28 / 28)
        [56.0]
    """
    inv = _latest_snapshot(
        _prep(inventory, "inventory", ("part_number", "warehouse_id", "quantity_on_hand"))
    )
    lines = _prep(order_lines, "order_lines", ("order_id", "part_number", "quantity_ordered"))
    line_schema = lines.collect_schema()
    if orders is None:
        lines = _prep(
            order_lines,
            "order_lines",
            ("order_id", "part_number", "quantity_ordered"),
            populated=("order_date",),
            why="pass orders= so each line gets its order's order_date",
        )
        if not include_cancelled and "status" not in line_schema:
            lines = _prep(
                order_lines,
                "order_lines",
                ("status",),
                why="pass orders= so each line gets its order's status",
            )
        dated = lines
    else:
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


# --------------------------------------------------------------------------- fill rates


def _shipped_per_line(
    orders: Frame,
    order_lines: Frame,
    shipment_lines: Frame,
    shipments: Frame | None,
    *,
    include_cancelled: bool,
    order_columns: Sequence[str] = (),
    as_of: datetime | None = None,
    order_filter: pl.Expr | None = None,
) -> pl.LazyFrame:
    """One row per order line with ``quantity_shipped`` (capped at ``quantity_ordered``).

    Matching: a shipment line carrying ``line_number`` ships that order line; one without
    it ships the order's lines of its ``part_number``, filled in ``line_number`` order
    (each up to what the line still needs).
    """
    ords = _prep(orders, "orders", ("order_id", "status", *order_columns))
    lines = _prep(order_lines, "order_lines", ("order_id", "part_number", "quantity_ordered"))
    slines = _prep(
        shipment_lines, "shipment_lines", ("shipment_id", "order_id", "part_number", "quantity")
    )
    _check_shipment_lines(shipment_lines, shipments, ords)
    line_schema = lines.collect_schema()
    if "line_number" not in line_schema:
        lines = lines.with_columns(
            pl.int_range(pl.len()).over("order_id").cast(pl.Int32).add(1).alias("line_number")
        )
    if "line_number" not in slines.collect_schema():
        slines = slines.with_columns(pl.lit(None, dtype=pl.Int32).alias("line_number"))
    if shipments is not None:
        ships = _prep(shipments, "shipments", ("shipment_id", "status"))
        counted = ships.filter(~_status().is_in(list(_NOT_SHIPPED)))
        if as_of is not None and "ship_date" in ships.collect_schema():
            counted = counted.filter(
                pl.col("ship_date").is_null() | (pl.col("ship_date") <= _lit_ts(_utc(as_of)))
            )
        slines = slines.join(counted.select("shipment_id"), on="shipment_id", how="semi")
    if not include_cancelled:
        ords = ords.filter(_status() != "CANCELLED")
    if order_filter is not None:
        ords = ords.filter(order_filter)
    keep = ["order_id", "status", *[c for c in order_columns if c not in ("order_id", "status")]]
    base = lines.join(ords.select(keep), on="order_id", how="inner")
    by_number = (
        slines.filter(pl.col("line_number").is_not_null())
        .group_by("order_id", "line_number")
        .agg(pl.col("quantity").sum().cast(pl.Int64).alias("__by_number"))
    )
    by_part = (
        slines.filter(pl.col("line_number").is_null())
        .group_by("order_id", "part_number")
        .agg(pl.col("quantity").sum().cast(pl.Int64).alias("__by_part"))
    )
    ordered = pl.col("quantity_ordered")
    room = pl.col("__room")
    before = room.cum_sum().over("order_id", "part_number", order_by="line_number") - room
    alloc = pl.min_horizontal(pl.max_horizontal(pl.col("__by_part") - before, pl.lit(0)), room)
    joined = (
        base.join(by_number, on=["order_id", "line_number"], how="left")
        .join(by_part, on=["order_id", "part_number"], how="left")
        .with_columns(pl.col("__by_number").fill_null(0))
        .with_columns(pl.max_horizontal(ordered - pl.col("__by_number"), pl.lit(0)).alias("__room"))
    )
    # The by-part allocation needs a running sum over the order's lines of that part; only
    # lines whose part was shipped without line numbers need it, so only they pay for it.
    allocated = joined.filter(pl.col("__by_part").is_not_null()).with_columns(
        alloc.alias("__alloc")
    )
    direct = joined.filter(pl.col("__by_part").is_null()).with_columns(
        pl.lit(0, dtype=pl.Int64).alias("__alloc")
    )
    return (
        pl.concat([direct, allocated], how="vertical_relaxed")
        .with_columns(
            (pl.col("__by_number").clip(upper_bound=ordered) + pl.col("__alloc"))
            .clip(0)
            .alias("quantity_shipped"),
        )
        .drop("__by_number", "__by_part", "__alloc", "__room")
    )


def order_fill_rates(
    orders: Frame,
    order_lines: Frame,
    shipment_lines: Frame,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    *,
    shipments: Frame | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Unit, line and order fill rates, overall or per group and period.

    Definition:

    * shipped quantity of an order line = sum of the quantities of the shipment lines that
      ship it (matched on ``(order_id, line_number)`` when the shipment line carries a line
      number, else on ``(order_id, part_number)``, filling that part's lines in line order),
      **capped at the ordered quantity** (over-shipment never lifts a rate above 1);
    * **unit fill rate** = sum(shipped, capped) / sum(ordered);
    * **line fill rate** = share of lines with shipped >= ordered;
    * **order fill rate** = share of orders whose every line is shipped in full (within a
      group: every line of the order that falls in the group).

    Excluded: cancelled orders (unless ``include_cancelled``); lines with
    ``quantity_ordered <= 0`` (nothing to fill); lines whose order is not in ``orders``.
    With ``shipments`` given, lines of ``CANCELLED`` or ``PROCESSING`` shipments do not
    count as shipped; without it, every shipment line counts.

    Args:
        orders: ``orders`` typed table.
        order_lines: ``order_lines`` typed table.
        shipment_lines: ``shipment_lines`` typed table.
        by: ``"reseller"`` (``reseller_id``), ``"part"`` (``part_number``), ``"warehouse"``
            (the order line's ``warehouse_id``), or a list of them.
        period: calendar bucket of ``order_date`` (``"1w"``, ``"1mo"``, ...), output as
            ``period`` (the bucket start).
        shipments: ``shipments`` typed table, to ignore cancelled / unshipped shipments.
        include_cancelled: keep cancelled orders.

    Returns:
        ``[period], [group columns], orders, lines, units_ordered, units_shipped,
        unit_fill_rate, line_fill_rate, order_fill_rate``, sorted by period and group.

    Example:
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["OPEN"]})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o1"], "line_number": [1, 2],
        ...                       "part_number": ["A", "B"], "quantity_ordered": [4, 6]})
        >>> shipped = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "line_number": [1],
        ...                         "part_number": ["A"], "quantity": [4]})
        >>> order_fill_rates(orders, lines, shipped).select(
        ...     "unit_fill_rate", "line_fill_rate", "order_fill_rate").row(0)
        (0.4, 0.5, 0.0)
    """
    keys = _group_columns(
        by,
        {"reseller": "reseller_id", "part": "part_number", "warehouse": "warehouse_id"},
        ("reseller_id", "part_number", "warehouse_id"),
    )
    order_columns = ["reseller_id"] if "reseller_id" in keys else []
    if period is not None:
        _prep(orders, "orders", (), populated=("order_date",), why="or call without period=")
        order_columns.append("order_date")
    if "warehouse_id" in keys:
        _prep(
            order_lines,
            "order_lines",
            (),
            populated=("warehouse_id",),
            why="or group by something else",
        )
    per_line = _shipped_per_line(
        orders,
        order_lines,
        shipment_lines,
        shipments,
        include_cancelled=include_cancelled,
        order_columns=order_columns,
    ).filter(pl.col("quantity_ordered") > 0)
    if period is not None:
        per_line = per_line.with_columns(pl.col("order_date").dt.truncate(period).alias("period"))
        keys = ["period", *keys]
    per_order = per_line.group_by(*keys, "order_id").agg(
        pl.len().alias("lines"),
        pl.col("quantity_ordered").sum().alias("units_ordered"),
        pl.col("quantity_shipped").sum().alias("units_shipped"),
        (pl.col("quantity_shipped") >= pl.col("quantity_ordered")).sum().alias("lines_filled"),
    )
    aggs = [
        pl.len().cast(pl.Int64).alias("orders"),
        pl.col("lines").sum().cast(pl.Int64),
        pl.col("units_ordered").sum().cast(pl.Int64),
        pl.col("units_shipped").sum().cast(pl.Int64),
        pl.col("lines_filled").sum().alias("__lines_filled"),
        (pl.col("lines_filled") == pl.col("lines")).sum().alias("__orders_filled"),
    ]
    grouped = per_order.group_by(keys).agg(aggs) if keys else per_order.select(aggs)
    out = grouped.with_columns(
        _share(pl.col("units_shipped"), pl.col("units_ordered")).alias("unit_fill_rate"),
        _share(pl.col("__lines_filled"), pl.col("lines")).alias("line_fill_rate"),
        _share(pl.col("__orders_filled"), pl.col("orders")).alias("order_fill_rate"),
    ).drop("__lines_filled", "__orders_filled")
    if keys:
        out = out.sort(keys, nulls_last=True)
    return out.collect()


def backorder_aging(
    orders: Frame,
    order_lines: Frame,
    shipment_lines: Frame,
    as_of: datetime | None = None,
    *,
    shipments: Frame | None = None,
    include_cancelled: bool = False,
    detail: bool = False,
) -> pl.DataFrame:
    """Open (ordered but unshipped) quantity, bucketed by the age of its order.

    Definition: per order line, ``quantity_open = quantity_ordered - shipped`` (shipped as in
    :func:`order_fill_rates`, capped at the ordered quantity); lines with
    ``quantity_open > 0`` are open. ``age_days`` = whole days from ``order_date`` to
    ``as_of`` (floor); buckets ``0-7``, ``8-14``, ``15-30``, ``31+`` (inclusive).
    ``as_of`` defaults to the latest ``order_date`` / ``updated_at`` of the orders.

    Excluded: orders with status ``CANCELLED`` (unless ``include_cancelled``) or ``CLOSED``
    (closed short: nothing more will ship), orders placed after ``as_of``, orders without
    ``order_date``. With ``shipments`` given, lines of cancelled / processing shipments and
    of shipments shipped after ``as_of`` are not counted as shipped.

    Args:
        orders: ``orders`` typed table (needs ``order_date``).
        order_lines: ``order_lines`` typed table.
        shipment_lines: ``shipment_lines`` typed table.
        as_of: the reference time.
        shipments: ``shipments`` typed table (optional, see above).
        include_cancelled: keep cancelled orders.
        detail: return the open lines themselves (``order_id, line_number, part_number,
            reseller_id, order_date, quantity_ordered, quantity_shipped, quantity_open,
            age_days, age_bucket``, oldest first) instead of the bucket summary.

    Returns:
        One row per bucket (all four, in order, zeros when empty): ``age_bucket``,
        ``lines``, ``orders``, ``units_open``, ``share_of_units``.

    Example:
        >>> from datetime import datetime, UTC
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["OPEN"],
        ...                        "order_date": [datetime(2026, 1, 1, tzinfo=UTC)]})
        >>> lines = pl.DataFrame({"order_id": ["o1"], "line_number": [1], "part_number": ["A"],
        ...                       "quantity_ordered": [5]})
        >>> none = pl.DataFrame(schema={"shipment_id": pl.String, "order_id": pl.String,
        ...     "line_number": pl.Int32, "part_number": pl.String, "quantity": pl.Int64})
        >>> backorder_aging(orders, lines, none, as_of=datetime(2026, 1, 11, tzinfo=UTC))["units_open"].to_list()
        [0, 5, 0, 0]
    """
    ords = _prep(orders, "orders", ("order_id", "status"), populated=("order_date",))
    end = _resolve_as_of(as_of, [(ords, ["order_date", "updated_at"])])
    per_line = _shipped_per_line(
        orders,
        order_lines,
        shipment_lines,
        shipments,
        include_cancelled=include_cancelled,
        order_columns=["reseller_id", "order_date"],
        as_of=end,
        order_filter=(_status() != "CLOSED")
        & pl.col("order_date").is_not_null()
        & (pl.col("order_date") <= _lit_ts(end)),
    )
    age = pl.col("age_days")
    bucket = (
        pl.when(age <= 7)
        .then(pl.lit("0-7"))
        .when(age <= 14)
        .then(pl.lit("8-14"))
        .when(age <= 30)
        .then(pl.lit("15-30"))
        .otherwise(pl.lit("31+"))
        .cast(_AGE_ENUM)
    )
    open_lines = (
        per_line.with_columns(
            (pl.col("quantity_ordered") - pl.col("quantity_shipped")).alias("quantity_open"),
            _days(_lit_ts(end), pl.col("order_date")).floor().cast(pl.Int64).alias("age_days"),
        )
        .filter(pl.col("quantity_open") > 0)
        .with_columns(bucket.alias("age_bucket"))
    )
    if detail:
        return (
            open_lines.select(
                "order_id",
                "line_number",
                "part_number",
                "reseller_id",
                "order_date",
                "quantity_ordered",
                "quantity_shipped",
                "quantity_open",
                "age_days",
                "age_bucket",
            )
            .sort(["age_days", "order_id", "line_number"], descending=[True, False, False])
            .collect()
        )
    summary = open_lines.group_by("age_bucket").agg(
        pl.len().cast(pl.Int64).alias("lines"),
        pl.col("order_id").n_unique().cast(pl.Int64).alias("orders"),
        pl.col("quantity_open").sum().cast(pl.Int64).alias("units_open"),
    )
    buckets = pl.LazyFrame({"age_bucket": pl.Series(AGE_BUCKETS, dtype=_AGE_ENUM)})
    out = (
        buckets.join(summary, on="age_bucket", how="left")
        .with_columns(pl.col("lines", "orders", "units_open").fill_null(0))
        .with_columns(
            _share(pl.col("units_open"), pl.col("units_open").sum()).alias("share_of_units")
        )
        .sort("age_bucket")
    )
    return out.collect()


def reseller_concentration(
    orders: Frame,
    order_lines: Frame,
    *,
    include_cancelled: bool = False,
    top_n: int = 10,
    top_fraction: float = 0.2,
    summary: bool = False,
) -> pl.DataFrame:
    """How concentrated ordered units are among resellers (a Pareto table).

    Definition, per ``reseller_id`` (``reseller_name``: first non-null):

    * ``orders``: distinct orders; ``units``: sum of ``quantity_ordered`` of their lines
      (an order without lines counts as an order with 0 units);
    * ``rank``: 1 = most units (ties broken by ``reseller_id``); rows sorted by rank;
    * ``units_share`` = units / all units; ``cumulative_units_share``: running sum of it;
    * ``reseller_share_cumulative`` = rank / number of resellers (the Pareto x axis).

    Cancelled orders are excluded unless ``include_cancelled``.

    With ``summary=True`` one row instead: ``resellers, orders, units``, ``top_n_share``
    (units share of the ``top_n`` largest), ``top_fraction_share`` (units share of the
    largest ``ceil(top_fraction × resellers)``), ``top_n``, ``top_fraction_resellers``, and
    ``hhi`` (Herfindahl-Hirschman index: sum of squared unit shares, 0..1).

    Args:
        orders: ``orders`` typed table.
        order_lines: ``order_lines`` typed table.
        include_cancelled: count cancelled orders.
        top_n: size of the "top N" group in the summary.
        top_fraction: size of the "top share of resellers" group in the summary.
        summary: return the one-row summary instead of the per-reseller table.

    Returns:
        Per reseller (by rank): ``reseller_id``, [``reseller_name``], ``orders``, ``units``,
        ``rank``, ``units_share``, ``cumulative_units_share``, ``reseller_share_cumulative``.

    Example:
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "reseller_id": ["r1", "r2"],
        ...                        "status": ["OPEN", "OPEN"]})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o2"], "part_number": ["A", "A"],
        ...                       "quantity_ordered": [3, 1]})
        >>> reseller_concentration(orders, lines)["cumulative_units_share"].to_list()
        [0.75, 1.0]
    """
    ords = _prep(orders, "orders", ("order_id", "reseller_id", "status"))
    lines = _prep(order_lines, "order_lines", ("order_id", "quantity_ordered"))
    if not include_cancelled:
        ords = ords.filter(_status() != "CANCELLED")
    has_name = "reseller_name" in ords.collect_schema()
    units_per_order = lines.group_by("order_id").agg(
        pl.col("quantity_ordered").sum().cast(pl.Int64).alias("__units")
    )
    name_agg = [pl.col("reseller_name").drop_nulls().first()] if has_name else []
    per_reseller = (
        ords.join(units_per_order, on="order_id", how="left")
        .group_by("reseller_id")
        .agg(
            *name_agg,
            pl.len().cast(pl.Int64).alias("orders"),  # orders are keyed by order_id
            pl.col("__units").fill_null(0).sum().cast(pl.Int64).alias("units"),
        )
        .sort(["units", "reseller_id"], descending=[True, False], nulls_last=True)
        .with_columns(
            pl.int_range(1, pl.len() + 1).cast(pl.Int64).alias("rank"),
            _share(pl.col("units"), pl.col("units").sum()).alias("units_share"),
        )
        .with_columns(
            pl.col("units_share").cum_sum().alias("cumulative_units_share"),
            (pl.col("rank") / pl.len()).alias("reseller_share_cumulative"),
        )
    )
    if not summary:
        return per_reseller.collect()
    df = per_reseller.collect()
    n = df.height
    k = min(n, math.ceil(top_fraction * n))
    total = int(df["units"].sum())
    top_n_units = int(df["units"].head(top_n).sum())
    top_k_units = int(df["units"].head(k).sum())
    return pl.DataFrame(
        {
            "resellers": [n],
            "orders": [int(df["orders"].sum())],
            "units": [int(total)],
            "top_n": [top_n],
            "top_n_share": [top_n_units / total if total else None],
            "top_fraction": [top_fraction],
            "top_fraction_resellers": [k],
            "top_fraction_share": [top_k_units / total if total else None],
            "hhi": [float((df["units_share"] ** 2).sum()) if total else None],
        },
        schema={
            "resellers": pl.Int64,
            "orders": pl.Int64,
            "units": pl.Int64,
            "top_n": pl.Int64,
            "top_n_share": pl.Float64,
            "top_fraction": pl.Float64,
            "top_fraction_resellers": pl.Int64,
            "top_fraction_share": pl.Float64,
            "hhi": pl.Float64,
        },
    )


# --------------------------------------------------------------------------- shipments

_SHIPMENT_AS_OF_SOURCES = ("ship_date", "delivered_date", "updated_at")


def _shipments_with_orders(
    orders: Frame,
    shipments: Frame,
    *,
    include_cancelled: bool,
    order_columns: Sequence[str],
    populated: Sequence[str],
    why: str = "",
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Shipments (not cancelled) joined to their order's columns; also the two inputs."""
    ships = _prep(
        shipments, "shipments", ("shipment_id", "order_id", "status"), populated=populated, why=why
    )
    ords = _prep(orders, "orders", ("order_id", "status", *order_columns))
    ships_f = ships.filter(_status() != "CANCELLED")
    ords_f = ords if include_cancelled else ords.filter(_status() != "CANCELLED")
    cols = [c for c in order_columns if c != "order_id"]
    joined = ships_f.join(ords_f.select("order_id", *cols), on="order_id", how="inner")
    return joined, ships, ords


def _shipment_as_of(as_of: datetime | None, ships: pl.LazyFrame, ords: pl.LazyFrame) -> datetime:
    return _resolve_as_of(
        as_of, [(ships, _SHIPMENT_AS_OF_SOURCES), (ords, ("order_date", "updated_at"))]
    )


def shipment_lag_detail(
    orders: Frame,
    shipments: Frame,
    *,
    promise_days: float | None = None,
    as_of: datetime | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Per shipment: days from order to ship and from ship to delivery.

    Definition:

    * ``order_to_ship_days`` = (``ship_date`` - the order's ``order_date``) in days (float);
      null when either is missing;
    * ``transit_days`` = (``delivered_date`` - ``ship_date``) in days; null until delivered;
    * with ``promise_days``: ``due_at`` = ``order_date + promise_days``; ``on_time`` is
      true when delivered by ``due_at``, false when delivered later **or** still undelivered
      at ``as_of`` past ``due_at`` (late), null when undelivered and not yet due (excluded).
      A delivery after ``as_of`` counts as undelivered at ``as_of``.

    Excluded: cancelled shipments; shipments of cancelled orders (unless
    ``include_cancelled``); shipments whose order is not in ``orders``. Negative lags (ship
    date before order date) are kept: they show a data problem, not a fast shipment.

    Args:
        orders: ``orders`` typed table (needs ``order_date``).
        shipments: ``shipments`` typed table (needs ``ship_date``).
        promise_days: promised days from order to delivery (adds ``due_at``, ``on_time``).
        as_of: reference time for undelivered shipments (default: latest timestamp in data).
        include_cancelled: keep shipments of cancelled orders.

    Returns:
        One row per shipment (by ``shipment_id``): ids, ``reseller_id``, ``carrier``,
        ``warehouse_id``, ``status``, the four dates, ``order_to_ship_days``,
        ``transit_days`` [, ``due_at``, ``on_time``].

    Raises:
        MissingFieldError: when shipments carry no ``ship_date`` (seed-only) or orders no
            ``order_date``.

    Example:
        >>> from datetime import datetime, UTC
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["SHIPPED"],
        ...                        "order_date": [datetime(2026, 1, 1, tzinfo=UTC)]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "carrier": ["UPS"],
        ...     "status": ["DELIVERED"], "ship_date": [datetime(2026, 1, 2, 12, tzinfo=UTC)],
        ...     "delivered_date": [datetime(2026, 1, 4, tzinfo=UTC)]})
        >>> shipment_lag_detail(orders, ships).select("order_to_ship_days", "transit_days").row(0)
        (1.5, 1.5)
    """
    return (
        _lag_detail(
            orders,
            shipments,
            promise_days=promise_days,
            as_of=as_of,
            include_cancelled=include_cancelled,
        )
        .sort("shipment_id")
        .collect()
    )


def _lag_detail(
    orders: Frame,
    shipments: Frame,
    *,
    promise_days: float | None,
    as_of: datetime | None,
    include_cancelled: bool,
) -> pl.LazyFrame:
    """The plan behind :func:`shipment_lag_detail` (lazy, unsorted)."""
    joined, ships, ords = _shipments_with_orders(
        orders,
        shipments,
        include_cancelled=include_cancelled,
        order_columns=("reseller_id", "order_date"),
        populated=("ship_date",),
        why="order-to-ship and transit times need shipment dates",
    )
    _prep(orders, "orders", (), populated=("order_date",), why="lags are measured from it")
    schema = ships.collect_schema()
    for column in ("carrier", "warehouse_id", "estimated_delivery_date", "delivered_date"):
        if column not in schema:
            joined = joined.with_columns(
                pl.lit(None, dtype=_UTC if column.endswith("date") else pl.String).alias(column)
            )
    end = _shipment_as_of(as_of, ships, ords)
    delivered = _delivered(end)
    columns = [
        "shipment_id",
        "order_id",
        "reseller_id",
        "carrier",
        "warehouse_id",
        "status",
        "order_date",
        "ship_date",
        "estimated_delivery_date",
        "delivered_date",
    ]
    out = joined.with_columns(
        _days(pl.col("ship_date"), pl.col("order_date")).alias("order_to_ship_days"),
        pl.when(delivered)
        .then(_days(pl.col("delivered_date"), pl.col("ship_date")))
        .otherwise(None)
        .alias("transit_days"),
    )
    extra = ["order_to_ship_days", "transit_days"]
    if promise_days is not None:
        due = pl.col("order_date") + pl.duration(microseconds=int(promise_days * _US_PER_DAY))
        out = out.with_columns(due.alias("due_at")).with_columns(
            pl.when(delivered)
            .then(pl.col("delivered_date") <= pl.col("due_at"))
            .when(_undelivered(end) & (_lit_ts(end) > pl.col("due_at")))
            .then(pl.lit(False))
            .otherwise(None)
            .alias("on_time")
        )
        extra += ["due_at", "on_time"]
    return out.select(*columns, *extra)


def shipment_lag(
    orders: Frame,
    shipments: Frame,
    by: str | Sequence[str] | None = None,
    promise_days: float | None = None,
    *,
    as_of: datetime | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Order-to-ship and transit time distribution, overall or per group.

    Per shipment the measures of :func:`shipment_lag_detail`; per group:

    * ``shipments``: shipments counted (not cancelled, order known and not cancelled);
    * for ``order_to_ship_days`` and ``transit_days`` each: ``_count`` (non-null values),
      ``_mean``, ``_p5``, ``_p25``, ``_p50``, ``_p75``, ``_p90``, ``_p95`` (linear
      interpolation; p5/p25/p75 are there for box plots);
    * with ``promise_days``: ``on_time`` (delivered within ``promise_days`` of the order
      date), ``late`` (delivered later, or undelivered past the promise at ``as_of``), and
      ``on_time_share = on_time / (on_time + late)``; undelivered shipments still within the
      promise are excluded.

    Args:
        orders: ``orders`` typed table (needs ``order_date``).
        shipments: ``shipments`` typed table (needs ``ship_date``).
        by: ``"carrier"``, ``"warehouse"`` (ship-from ``warehouse_id``), ``"reseller"``, or
            a list of them.
        promise_days: promised days from order to delivery, for the on-time share.
        as_of: reference time for undelivered shipments (default: latest timestamp in data).
        include_cancelled: keep shipments of cancelled orders.

    Returns:
        One row per group (one row overall without ``by``), sorted by the group columns.

    Example:
        >>> from datetime import datetime, UTC
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["SHIPPED"],
        ...                        "order_date": [datetime(2026, 1, 1, tzinfo=UTC)]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "carrier": ["UPS"],
        ...     "status": ["DELIVERED"], "ship_date": [datetime(2026, 1, 3, tzinfo=UTC)],
        ...     "delivered_date": [datetime(2026, 1, 4, tzinfo=UTC)]})
        >>> shipment_lag(orders, ships, by="carrier", promise_days=5)[
        ...     ["carrier", "order_to_ship_days_p50", "on_time_share"]].row(0)
        ('UPS', 2.0, 1.0)
    """
    keys = _group_columns(
        by,
        {"carrier": "carrier", "warehouse": "warehouse_id", "reseller": "reseller_id"},
        ("carrier", "warehouse_id", "reseller_id", "status"),
    )
    detail = _lag_detail(
        orders,
        shipments,
        promise_days=promise_days,
        as_of=as_of,
        include_cancelled=include_cancelled,
    )
    aggs = [
        pl.len().cast(pl.Int64).alias("shipments"),
        *_quantile_aggs("order_to_ship_days"),
        *_quantile_aggs("transit_days"),
    ]
    if promise_days is not None:
        aggs += [
            (pl.col("on_time") == True).sum().cast(pl.Int64).alias("on_time"),  # noqa: E712
            (pl.col("on_time") == False).sum().cast(pl.Int64).alias("late"),  # noqa: E712
        ]
    grouped = detail.group_by(keys).agg(aggs) if keys else detail.select(aggs)
    grouped = grouped.with_columns(
        pl.col("order_to_ship_days_count", "transit_days_count").cast(pl.Int64)
    )
    if promise_days is not None:
        grouped = grouped.with_columns(
            _share(pl.col("on_time"), pl.col("on_time") + pl.col("late")).alias("on_time_share")
        )
    if keys:
        grouped = grouped.sort(keys, nulls_last=True)
    return grouped.collect()


def order_lead_times(
    orders: Frame,
    shipments: Frame,
    order_lines: Frame,
    shipment_lines: Frame,
    *,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Order level: time to the first shipment and to the shipment that completed the order.

    Definition, per order with at least one line ordering > 0 units:

    * ``first_ship_date``: earliest ``ship_date`` of its (not cancelled) shipments;
    * ``complete_ship_date``: the ``ship_date`` of the shipment after which every line had
      shipped at least its ordered quantity (shipments taken by ship date; a shipment line
      ships the order line of its ``line_number``; when some of an order's shipment lines
      for a part carry no line number, that part's lines are filled as one pool: the sum
      shipped against the sum ordered); null while any line is short;
    * ``days_to_first_shipment`` / ``days_to_complete``: those minus ``order_date``, in days;
    * ``shipments``: number of (not cancelled, dated) shipments of the order.

    Excluded: cancelled orders (unless ``include_cancelled``); cancelled and undated
    shipments (shipment lines without a dated shipment do not count).

    Args:
        orders: ``orders`` typed table (needs ``order_date``).
        shipments: ``shipments`` typed table (needs ``ship_date``).
        order_lines: ``order_lines`` typed table.
        shipment_lines: ``shipment_lines`` typed table.
        include_cancelled: keep cancelled orders.

    Returns:
        ``order_id, reseller_id, order_date, shipments, first_ship_date,
        complete_ship_date, days_to_first_shipment, days_to_complete``, by ``order_id``.

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["SHIPPED"],
        ...                        "order_date": [d(1)]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o1"],
        ...     "status": ["DELIVERED", "SHIPPED"], "ship_date": [d(2), d(5)]})
        >>> lines = pl.DataFrame({"order_id": ["o1"], "line_number": [1], "part_number": ["A"],
        ...                       "quantity_ordered": [4]})
        >>> slines = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o1"],
        ...     "line_number": [1, 1], "part_number": ["A", "A"], "quantity": [1, 3]})
        >>> order_lead_times(orders, ships, lines, slines).select(
        ...     "days_to_first_shipment", "days_to_complete").row(0)
        (1.0, 4.0)
    """
    ships = _prep(
        shipments,
        "shipments",
        ("shipment_id", "order_id", "status"),
        populated=("ship_date",),
        why="lead times need shipment dates",
    )
    ords = _prep(orders, "orders", ("order_id", "reseller_id", "status"), populated=("order_date",))
    lines = _prep(order_lines, "order_lines", ("order_id", "part_number", "quantity_ordered"))
    slines = _prep(
        shipment_lines, "shipment_lines", ("shipment_id", "order_id", "part_number", "quantity")
    )
    _check_shipment_lines(shipment_lines, shipments, ords)
    if not include_cancelled:
        ords = ords.filter(_status() != "CANCELLED")
    dated = ships.filter((_status() != "CANCELLED") & pl.col("ship_date").is_not_null()).select(
        "shipment_id", "ship_date"
    )
    if "line_number" not in lines.collect_schema():
        lines = lines.with_columns(
            pl.int_range(pl.len()).over("order_id").cast(pl.Int32).add(1).alias("line_number")
        )
    if "line_number" not in slines.collect_schema():
        slines = slines.with_columns(pl.lit(None, dtype=pl.Int32).alias("line_number"))
    lines = lines.join(ords.select("order_id"), on="order_id", how="semi").filter(
        pl.col("quantity_ordered") > 0
    )
    # A matching key per requirement: (order, line) when shipment lines carry line numbers,
    # else (order, part) with the part's ordered quantity summed over the order's lines.
    sl = slines.join(dated, on="shipment_id", how="inner")
    # A part of an order shipped (even partly) without line numbers is matched as one pool:
    # all its shipment lines against the sum ordered on its lines. Everything else is
    # matched line by line.
    pooled_parts = (
        sl.filter(pl.col("line_number").is_null()).select("order_id", "part_number").unique()
    )
    keys = ["order_id", "part_number"]
    numbered = sl.join(pooled_parts, on=keys, how="anti").select(
        "order_id",
        pl.col("line_number").cast(pl.String).alias("__key"),
        "ship_date",
        "quantity",
    )
    by_part = sl.join(pooled_parts, on=keys, how="semi").select(
        "order_id", pl.col("part_number").alias("__key"), "ship_date", "quantity"
    )
    req_line = lines.select(
        "order_id",
        pl.col("line_number").cast(pl.String).alias("__key"),
        "part_number",
        "quantity_ordered",
    )
    req_part = (
        req_line.join(pooled_parts, on=keys, how="semi")
        .group_by(keys)
        .agg(pl.col("quantity_ordered").sum())
        .rename({"part_number": "__key"})
    )
    req_num = req_line.join(pooled_parts, on=keys, how="anti").select(
        "order_id", "__key", "quantity_ordered"
    )
    reqs = pl.concat(
        [
            req_num.with_columns(pl.lit("n").alias("__kind")),
            req_part.with_columns(pl.lit("p").alias("__kind")),
        ]
    )
    supply = pl.concat(
        [
            numbered.with_columns(pl.lit("n").alias("__kind")),
            by_part.with_columns(pl.lit("p").alias("__kind")),
        ]
    )
    per_ship = supply.group_by("order_id", "__kind", "__key", "ship_date").agg(
        pl.col("quantity").sum()
    )
    done = (
        reqs.join(per_ship, on=["order_id", "__kind", "__key"], how="left")
        .with_columns(
            pl.col("quantity")
            .fill_null(0)
            .cum_sum()
            .over("order_id", "__kind", "__key", order_by="ship_date")
            .alias("__cum")
        )
        .group_by("order_id", "__kind", "__key")
        .agg(
            pl.col("ship_date")
            .filter(pl.col("__cum") >= pl.col("quantity_ordered"))
            .min()
            .alias("__done")
        )
        .group_by("order_id")
        .agg(
            pl.when(pl.col("__done").is_null().any())
            .then(None)
            .otherwise(pl.col("__done").max())
            .alias("complete_ship_date")
        )
    )
    first = (
        ships.filter((_status() != "CANCELLED") & pl.col("ship_date").is_not_null())
        .group_by("order_id")
        .agg(
            pl.col("ship_date").min().alias("first_ship_date"),
            pl.len().cast(pl.Int64).alias("shipments"),
        )
    )
    out = (
        ords.select("order_id", "reseller_id", "order_date")
        .join(lines.select("order_id").unique(), on="order_id", how="semi")
        .join(first, on="order_id", how="left")
        .join(done, on="order_id", how="left")
        .with_columns(
            pl.col("shipments").fill_null(0),
            _days(pl.col("first_ship_date"), pl.col("order_date")).alias("days_to_first_shipment"),
            _days(pl.col("complete_ship_date"), pl.col("order_date")).alias("days_to_complete"),
        )
        .select(
            "order_id",
            "reseller_id",
            "order_date",
            "shipments",
            "first_ship_date",
            "complete_ship_date",
            "days_to_first_shipment",
            "days_to_complete",
        )
        .sort("order_id")
    )
    return out.collect()


def carrier_performance(
    orders: Frame,
    shipments: Frame,
    *,
    as_of: datetime | None = None,
    promise_days: float | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Per carrier: volume, transit time, on-time share, share still in transit.

    Definition, per ``carrier`` (shipments not cancelled, of orders in ``orders`` that are
    not cancelled unless ``include_cancelled``):

    * ``shipments``; ``delivered``: with ``delivered_date`` at or before ``as_of``;
    * ``in_transit``: status ``SHIPPED`` or ``IN_TRANSIT`` and no ``delivered_date``;
      ``share_in_transit`` = in_transit / shipments;
    * ``transit_days_p50`` / ``transit_days_p90``: (``delivered_date - ship_date``) in days
      over delivered shipments (linear interpolation);
    * **on time** = delivered on or before the ``estimated_delivery_date`` (compared as UTC
      calendar days). A shipment without an estimate falls back to ``promise_days`` after
      its order date (compared as timestamps) when given, else is excluded. Undelivered
      shipments past their due day at ``as_of`` count as late; not yet due are excluded.
      ``on_time_share`` = on_time / (on_time + late).

    Seed-only shipments (no dates) give counts and ``share_in_transit`` with null transit and
    on-time columns rather than an error. ``as_of`` defaults to the latest timestamp in data.

    Args:
        orders: ``orders`` typed table.
        shipments: ``shipments`` typed table.
        as_of: reference time (default: latest timestamp in the data).
        promise_days: fallback promise when a shipment has no estimated delivery date.
        include_cancelled: keep shipments of cancelled orders.

    Returns:
        ``carrier, shipments, delivered, in_transit, transit_days_p50, transit_days_p90,
        on_time, late, share_in_transit, on_time_share``, by carrier (null carrier last).

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "status": ["SHIPPED"] * 2,
        ...                        "order_date": [d(1), d(1)]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o2"],
        ...     "carrier": ["UPS", "UPS"], "status": ["DELIVERED", "IN_TRANSIT"],
        ...     "ship_date": [d(2), d(2)], "estimated_delivery_date": [d(4), d(4)],
        ...     "delivered_date": [d(4), None]})
        >>> carrier_performance(orders, ships, as_of=d(6)).select(
        ...     "carrier", "on_time_share", "share_in_transit").row(0)
        ('UPS', 0.5, 0.5)
    """
    joined, ships, ords = _shipments_with_orders(
        orders,
        shipments,
        include_cancelled=include_cancelled,
        order_columns=("order_date",) if "order_date" in _columns(orders) else (),
        populated=(),
    )
    _prep(shipments, "shipments", ("carrier",))
    schema = joined.collect_schema()
    for column in ("ship_date", "estimated_delivery_date", "delivered_date", "order_date"):
        if column not in schema:
            joined = joined.with_columns(pl.lit(None, dtype=_UTC).alias(column))
    end = _shipment_as_of(as_of, ships, ords)
    end_lit = _lit_ts(end)
    delivered = _delivered(end)
    undelivered = _undelivered(end)
    est_day = pl.col("estimated_delivery_date").dt.date()
    if promise_days is not None:
        fallback_due = pl.col("order_date") + pl.duration(
            microseconds=int(promise_days * _US_PER_DAY)
        )
    else:
        fallback_due = pl.lit(None, dtype=_UTC)
    on_time = (
        pl.when(est_day.is_not_null() & delivered)
        .then(pl.col("delivered_date").dt.date() <= est_day)
        .when(est_day.is_not_null() & undelivered & (end_lit.dt.date() > est_day))
        .then(pl.lit(False))
        .when(est_day.is_not_null())
        .then(None)
        .when(fallback_due.is_not_null() & delivered)
        .then(pl.col("delivered_date") <= fallback_due)
        .when(fallback_due.is_not_null() & undelivered & (end_lit > fallback_due))
        .then(pl.lit(False))
        .otherwise(None)
    )
    transit = pl.when(delivered).then(_days(pl.col("delivered_date"), pl.col("ship_date")))
    in_transit = _status().is_in(["SHIPPED", "IN_TRANSIT"]) & pl.col("delivered_date").is_null()
    out = (
        joined.with_columns(
            transit.alias("__transit"), on_time.alias("__on_time"), in_transit.alias("__it")
        )
        .group_by("carrier")
        .agg(
            pl.len().cast(pl.Int64).alias("shipments"),
            delivered.sum().cast(pl.Int64).alias("delivered"),
            pl.col("__it").sum().cast(pl.Int64).alias("in_transit"),
            pl.col("__transit").quantile(0.5, interpolation="linear").alias("transit_days_p50"),
            pl.col("__transit").quantile(0.9, interpolation="linear").alias("transit_days_p90"),
            (pl.col("__on_time") == True).sum().cast(pl.Int64).alias("on_time"),  # noqa: E712
            (pl.col("__on_time") == False).sum().cast(pl.Int64).alias("late"),  # noqa: E712
        )
        .with_columns(
            _share(pl.col("in_transit"), pl.col("shipments")).alias("share_in_transit"),
            _share(pl.col("on_time"), pl.col("on_time") + pl.col("late")).alias("on_time_share"),
        )
        .sort("carrier", nulls_last=True)
    )
    return out.collect()


def late_shipments(
    orders: Frame,
    shipments: Frame,
    as_of: datetime | None = None,
    *,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Undelivered shipments past their estimated delivery day: the ones worth a call.

    Definition: shipments not cancelled and not delivered at ``as_of`` (a
    ``delivered_date`` after ``as_of``, or none and a status other than ``DELIVERED``) whose
    ``estimated_delivery_date`` falls on a UTC calendar day before ``as_of``'s.
    ``days_late`` = (``as_of`` - ``estimated_delivery_date``) in days. Worst (most days
    late) first, then by ``shipment_id``. Shipments of cancelled orders are excluded unless
    ``include_cancelled``. ``as_of`` defaults to the latest timestamp in the data.

    Args:
        orders: ``orders`` typed table (for reseller and order date).
        shipments: ``shipments`` typed table (needs ``estimated_delivery_date``).
        as_of: reference time (default: latest timestamp in the data).
        include_cancelled: keep shipments of cancelled orders.

    Returns:
        ``shipment_id, order_id, reseller_id, reseller_name, carrier, tracking_number,
        warehouse_id, status, order_date, ship_date, estimated_delivery_date, days_late``.

    Raises:
        MissingFieldError: when shipments carry no ``estimated_delivery_date``.

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["SHIPPED"]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "carrier": ["UPS"],
        ...     "status": ["IN_TRANSIT"], "ship_date": [d(2)], "estimated_delivery_date": [d(4)],
        ...     "delivered_date": [None]})
        >>> late_shipments(orders, ships, as_of=d(7))["days_late"].to_list()
        [3.0]
    """
    ord_cols = [c for c in ("reseller_id", "reseller_name", "order_date") if c in _columns(orders)]
    joined, ships, ords = _shipments_with_orders(
        orders,
        shipments,
        include_cancelled=include_cancelled,
        order_columns=ord_cols,
        populated=("estimated_delivery_date",),
        why="lateness is measured against the estimate",
    )
    schema = joined.collect_schema()
    for column, dtype in (
        ("carrier", pl.String),
        ("tracking_number", pl.String),
        ("warehouse_id", pl.String),
        ("ship_date", _UTC),
        ("delivered_date", _UTC),
        ("reseller_id", pl.String),
        ("reseller_name", pl.String),
        ("order_date", _UTC),
    ):
        if column not in schema:
            joined = joined.with_columns(pl.lit(None, dtype=dtype).alias(column))
    end = _shipment_as_of(as_of, ships, ords)
    end_lit = _lit_ts(end)
    undelivered = _undelivered(end)
    out = (
        joined.filter(
            undelivered & (pl.col("estimated_delivery_date").dt.date() < end_lit.dt.date())
        )
        .with_columns(
            _days(end_lit, pl.col("estimated_delivery_date")).alias("days_late"),
        )
        .select(
            "shipment_id",
            "order_id",
            "reseller_id",
            "reseller_name",
            "carrier",
            "tracking_number",
            "warehouse_id",
            "status",
            "order_date",
            "ship_date",
            "estimated_delivery_date",
            "days_late",
        )
        .sort(["days_late", "shipment_id"], descending=[True, False])
    )
    return out.collect()


def _columns(frame: Frame) -> list[str]:
    return list(frame.collect_schema().names())
