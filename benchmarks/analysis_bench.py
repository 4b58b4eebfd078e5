"""Analysis helpers vs the same questions in hand-written DuckDB SQL.

Synthetic data, generated with numpy + polars (seeded, no network):

* inventory history: ``snapshots`` x ``parts`` x ``warehouses`` rows (default 10 x 50,000 x 20
  = 10,000,000 rows);
* orders: 200,000 orders, ~600,000 lines, ~190,000 shipments and ~600,000 shipment lines
  (5 % of shipment lines without a line number, so the by-part matching path runs too).

Each benchmark is a pair: the vendorkit helper on in-memory polars frames, and a DuckDB SQL
statement written by hand for the same definition (docs/metrics.md) over the same data
loaded into DuckDB tables, returning a polars frame too (``con.sql(...).pl()``). Both run on all cores.
The pair's outputs are checked to agree before timing. The two sides run in alternating
rounds (same load for both on a shared machine) after one warm-up each; reported: best and
median time of ``--repeat`` rounds, the ratio of the bests, and the median per-round ratio.

Usage::

    .venv/bin/python -m benchmarks.analysis_bench            # full size
    .venv/bin/python -m benchmarks.analysis_bench --quick    # 1/10 size, for a smoke run
    .venv/bin/python -m benchmarks.analysis_bench --only order_fill_rates --repeat 5
    .venv/bin/python -m benchmarks.analysis_bench --source sandbox   # the sandbox's bench world

``run_all(...)`` returns the results as a list of dicts for the benchmark suite.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import polars as pl

from vendorkit import analysis
from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES

T0 = datetime(2026, 11, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000
TS = pl.Datetime("us", "UTC")


# --------------------------------------------------------------------------- data


def make_history(
    snapshots: int = 10, parts: int = 50_000, warehouses: int = 20, seed: int = 7
) -> pl.DataFrame:
    """Inventory history: every part at every warehouse, once per daily snapshot."""
    rng = np.random.default_rng(seed)
    n = parts * warehouses
    part = pl.Series("part_number", [f"P{i:07d}" for i in range(parts)])
    wh_ids = [str(10 * (i + 1)) for i in range(warehouses)]
    base = pl.DataFrame(
        {
            "part_number": np.repeat(part.to_numpy(), warehouses),
            "warehouse_id": np.tile(np.array(wh_ids, dtype=object), parts),
        }
    ).with_columns(
        pl.col("warehouse_id").cast(pl.String),
        pl.concat_str(pl.lit("Site "), pl.col("warehouse_id")).alias("warehouse_name"),
        pl.lit(None, dtype=pl.String).alias("vendor_part_number"),
    )
    frames = []
    for s in range(snapshots):
        qty = rng.poisson(6, n)
        qty[rng.random(n) < 0.1] = 0
        frames.append(
            base.with_columns(
                pl.lit(f"sync-{s:02d}").alias("sync_id"),
                pl.lit(T0 + timedelta(days=s), dtype=TS).alias("snapshot_at"),
                pl.Series("quantity_on_hand", qty, dtype=pl.Int64),
                pl.Series("quantity_backordered", rng.poisson(0.3, n), dtype=pl.Int64),
                pl.Series("quantity_on_order", rng.poisson(1.0, n), dtype=pl.Int64),
                pl.lit(T0 + timedelta(days=s), dtype=TS).alias("last_updated"),
            )
        )
    columns = [
        "sync_id",
        "snapshot_at",
        "part_number",
        "warehouse_id",
        "warehouse_name",
        "vendor_part_number",
        "quantity_on_hand",
        "quantity_backordered",
        "quantity_on_order",
        "last_updated",
    ]
    return pl.concat([f.select(columns) for f in frames], rechunk=True)


_ORDER_STATUS_P = {
    "CLOSED": 0.58,
    "DELIVERED": 0.15,
    "SHIPPED": 0.06,
    "PARTIALLY_SHIPPED": 0.05,
    "OPEN": 0.05,
    "PROCESSING": 0.03,
    "BACKORDERED": 0.03,
    "ON_HOLD": 0.02,
    "CANCELLED": 0.03,
}
_SHIP_STATUS_P = {
    "DELIVERED": 0.85,
    "IN_TRANSIT": 0.08,
    "SHIPPED": 0.04,
    "CANCELLED": 0.02,
    "PROCESSING": 0.01,
}


def make_orders(n_orders: int = 200_000, parts: int = 50_000, seed: int = 11) -> dict[str, Any]:
    """orders, order_lines, shipments, shipment_lines with the typed-table columns."""
    rng = np.random.default_rng(seed)
    resellers = 2_000
    reseller = np.minimum(rng.zipf(1.6, n_orders), resellers) - 1
    status = rng.choice(list(_ORDER_STATUS_P), n_orders, p=list(_ORDER_STATUS_P.values()))
    order_us = int(T0.timestamp() * 1e6) - rng.integers(
        0, 365 * US_PER_DAY, n_orders, dtype=np.int64
    )
    order_ids = np.array([f"O{i:08d}" for i in range(n_orders)], dtype=object)
    orders = pl.DataFrame(
        {
            "order_id": order_ids,
            "reseller_id": np.array([f"R{r:05d}" for r in reseller], dtype=object),
            "status": status,
            "order_us": order_us,
        }
    ).select(
        pl.col("order_id").cast(pl.String),
        pl.col("reseller_id").cast(pl.String),
        pl.concat_str(pl.lit("Reseller "), pl.col("reseller_id")).alias("reseller_name"),
        pl.col("status").cast(pl.Enum(ORDER_STATUSES)),
        pl.col("status").cast(pl.String).alias("status_raw"),
        pl.col("order_us").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("order_date"),
        (pl.col("order_us") + 10 * US_PER_DAY)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("updated_at"),
        pl.lit("USD").alias("currency_code"),
    )
    n_lines = np.minimum(1 + rng.poisson(2.0, n_orders), 8)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    total = len(line_order)
    starts = np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    line_number = np.arange(total) - starts + 1
    lines = pl.DataFrame(
        {
            "order_id": order_ids[line_order],
            "line_number": line_number.astype(np.int32),
            "part_number": np.array([f"P{p:07d}" for p in rng.integers(0, parts, total)]),
            "quantity_ordered": 1 + rng.poisson(4, total),
            "warehouse_id": np.array([str(10 * (w + 1)) for w in rng.integers(0, 20, total)]),
        }
    ).select(
        pl.col("order_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int32),
        pl.col("part_number").cast(pl.String),
        pl.col("quantity_ordered").cast(pl.Int64),
        pl.col("quantity_ordered").cast(pl.Int64).alias("quantity_confirmed"),
        pl.lit(0, dtype=pl.Int64).alias("quantity_backordered"),
        pl.lit(10.0).alias("unit_price"),
        pl.col("warehouse_id").cast(pl.String),
    )
    # shipments: none for orders not yet shipping, else 1 or 2
    shipping = ~np.isin(status, ["OPEN", "PROCESSING", "ON_HOLD", "BACKORDERED", "CANCELLED"])
    n_ship = np.where(shipping, 1 + (rng.random(n_orders) < 0.25), 0)
    ship_order = np.repeat(np.arange(n_orders), n_ship)
    k = np.arange(len(ship_order)) - np.repeat(np.cumsum(n_ship) - n_ship, n_ship) + 1
    m = len(ship_order)
    ship_us = (
        order_us[ship_order]
        + (rng.exponential(1.5, m) * US_PER_DAY).astype(np.int64)
        + (k - 1) * US_PER_DAY
    )
    transit_us = (rng.gamma(2.0, 1.2, m) * US_PER_DAY).astype(np.int64)
    s_status = rng.choice(list(_SHIP_STATUS_P), m, p=list(_SHIP_STATUS_P.values()))
    est_us = ship_us + 3 * US_PER_DAY
    est_null = rng.random(m) < 0.1
    ship_ids = np.array(
        [f"{order_ids[o]}-{j}" for o, j in zip(ship_order, k, strict=True)], dtype=object
    )

    def _ts(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")

    shipments = pl.DataFrame(
        {
            "shipment_id": ship_ids,
            "order_id": order_ids[ship_order],
            "carrier": rng.choice(["UPS", "FEDEX", "USPS", "DHL", "ONTRAC"], m),
            "status": s_status,
            "ship_us": ship_us,
            "est_us": est_us,
            "del_us": ship_us + transit_us,
            "est_null": est_null,
        }
    ).select(
        pl.col("shipment_id").cast(pl.String),
        pl.col("order_id").cast(pl.String),
        pl.col("carrier").cast(pl.String),
        pl.concat_str(pl.lit("1Z"), pl.col("shipment_id").cast(pl.String)).alias("tracking_number"),
        pl.col("status").cast(pl.Enum(SHIPMENT_STATUSES)),
        pl.col("status").cast(pl.String).alias("status_raw"),
        pl.lit("10").alias("warehouse_id"),
        pl.when(pl.col("status") != "PROCESSING").then(_ts("ship_us")).alias("ship_date"),
        pl.when(~pl.col("est_null")).then(_ts("est_us")).alias("estimated_delivery_date"),
        pl.when(pl.col("status") == "DELIVERED").then(_ts("del_us")).alias("delivered_date"),
        pl.when(pl.col("status") == "DELIVERED")
        .then(_ts("del_us"))
        .otherwise(_ts("ship_us"))
        .alias("updated_at"),
    )
    # shipment lines: each line of a shipping order ships in its order's shipment 1 (full or
    # one short); 10 % of lines of two-shipment orders ship 1-2 more units in shipment 2
    first = shipments.filter(pl.col("shipment_id").str.ends_with("-1")).select(
        "order_id", "shipment_id"
    )
    second = shipments.filter(pl.col("shipment_id").str.ends_with("-2")).select(
        "order_id", pl.col("shipment_id").alias("second_id")
    )
    sl = lines.select("order_id", "line_number", "part_number", "quantity_ordered").join(
        first, on="order_id", how="inner"
    )
    r = len(sl)
    short = rng.random(r) < 0.1
    sl1 = sl.with_columns(
        (pl.col("quantity_ordered") - pl.Series(short.astype(np.int64))).alias("quantity")
    ).filter(pl.col("quantity") > 0)
    sl2 = sl.join(second, on="order_id", how="inner")
    sl2 = sl2.filter(pl.Series(rng.random(sl2.height) < 0.1))
    sl2 = sl2.with_columns(
        pl.col("second_id").alias("shipment_id"),
        pl.Series(rng.integers(1, 3, sl2.height), dtype=pl.Int64).alias("quantity"),
    )
    both = pl.concat(
        [
            sl1.select("shipment_id", "order_id", "line_number", "part_number", "quantity"),
            sl2.select("shipment_id", "order_id", "line_number", "part_number", "quantity"),
        ]
    )
    drop_number = pl.Series(rng.random(both.height) < 0.05)
    shipment_lines = (
        both.with_columns(
            pl.when(drop_number).then(None).otherwise(pl.col("line_number")).alias("line_number")
        )
        .sort("shipment_id", "part_number")
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("shipment_id").cast(pl.Int32).alias("position")
        )
        .select(
            "shipment_id",
            "position",
            "order_id",
            pl.col("line_number").cast(pl.Int32),
            "part_number",
            pl.col("quantity").cast(pl.Int64),
        )
    )
    return {
        "orders": orders,
        "order_lines": lines,
        "shipments": shipments,
        "shipment_lines": shipment_lines,
    }


def make_sandbox_data(snapshots: int = 10, seed: int = 7) -> dict[str, pl.DataFrame]:
    """The sandbox's benchmark-scale world (preset ``bench``: 200,000 orders, 1,000,000
    inventory rows) as typed tables, plus a ``snapshots``-deep inventory history made from
    its inventory (quantities re-drawn around the real ones for each earlier snapshot)."""
    from vendorkit.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig.preset("bench"))
    names = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")
    data = {name: sandbox.ground_truth(name) for name in names}
    inventory = data.pop("inventory")
    rng = np.random.default_rng(seed)
    now = sandbox.now
    frames = []
    for s in range(snapshots):
        age = snapshots - 1 - s  # the last snapshot is the sandbox's inventory as served
        qty = inventory["quantity_on_hand"].to_numpy()
        if age:
            qty = np.maximum(qty + rng.integers(-3, 4, len(qty)), 0)
        frames.append(
            inventory.with_columns(pl.Series("quantity_on_hand", qty, dtype=pl.Int64)).select(
                pl.lit(f"sync-{s:02d}").alias("sync_id"),
                pl.lit(now - timedelta(days=age), dtype=TS).alias("snapshot_at"),
                pl.all(),
            )
        )
    data["history"] = pl.concat(frames, rechunk=True)
    return data


# --------------------------------------------------------------------------- SQL twins

_LATEST = "(SELECT max(snapshot_at) FROM history)"

SQL: dict[str, str] = {
    "stock_by_warehouse": f"""
        SELECT warehouse_id, any_value(warehouse_name) AS warehouse_name, count(*) AS part_rows,
               sum(quantity_on_hand) AS units_on_hand,
               count(*) FILTER (WHERE quantity_on_hand > 0) AS parts_in_stock,
               count(*) FILTER (WHERE quantity_on_hand <= 0) AS stockouts,
               sum(quantity_backordered) AS units_backordered,
               sum(quantity_on_order) AS units_on_order,
               sum(quantity_on_hand) / sum(sum(quantity_on_hand)) OVER () AS share_of_units
        FROM history WHERE snapshot_at = {_LATEST}
        GROUP BY warehouse_id ORDER BY warehouse_id""",
    "inventory_trend": """
        WITH per AS (
            SELECT snapshot_at, warehouse_id, sum(quantity_on_hand) AS units_on_hand,
                   count(*) FILTER (WHERE quantity_on_hand > 0) AS parts_in_stock,
                   count(*) FILTER (WHERE quantity_on_hand <= 0) AS stockouts
            FROM history GROUP BY snapshot_at, warehouse_id)
        SELECT date_trunc('day', snapshot_at) AS period, warehouse_id, snapshot_at,
               units_on_hand, parts_in_stock, stockouts
        FROM per
        QUALIFY snapshot_at = max(snapshot_at) OVER (PARTITION BY date_trunc('day', snapshot_at))
        ORDER BY period, warehouse_id""",
    "days_of_supply": f"""
        WITH inv AS (
            SELECT part_number, warehouse_id, sum(quantity_on_hand) AS quantity_on_hand
            FROM history WHERE snapshot_at = {_LATEST} GROUP BY ALL),
        dated AS (
            SELECT l.part_number, l.warehouse_id, l.quantity_ordered, o.order_date, o.status
            FROM order_lines l JOIN orders o USING (order_id)),
        t AS (SELECT max(order_date) AS as_of FROM dated),
        dem AS (
            SELECT part_number, warehouse_id, sum(quantity_ordered) AS units_ordered
            FROM dated, t
            WHERE status <> 'CANCELLED' AND warehouse_id IS NOT NULL
              AND order_date > as_of - INTERVAL 28 DAY AND order_date <= as_of
            GROUP BY ALL),
        j AS (
            SELECT part_number, warehouse_id, coalesce(quantity_on_hand, 0) AS quantity_on_hand,
                   coalesce(units_ordered, 0) AS units_ordered,
                   coalesce(units_ordered, 0) / 28.0::DOUBLE AS avg_daily_demand,
                   CASE WHEN units_ordered > 0
                        THEN coalesce(quantity_on_hand, 0) * 28.0::DOUBLE / units_ordered
                   END AS days_of_supply
            FROM inv FULL JOIN dem USING (part_number, warehouse_id))
        SELECT *, coalesce(days_of_supply < 14, false) AS below_threshold
        FROM j ORDER BY days_of_supply NULLS LAST, part_number, warehouse_id""",
}

_SHIPPED_LINES = """
    base AS (
        SELECT l.order_id, l.line_number, l.part_number, l.quantity_ordered, o.reseller_id,
               o.order_date, o.status
        FROM order_lines l JOIN orders o USING (order_id) {order_filter}),
    sl AS (SELECT x.* FROM shipment_lines x JOIN shipments s USING (shipment_id)
           WHERE s.status NOT IN ('CANCELLED', 'PROCESSING') {ship_filter}),
    bn AS (SELECT order_id, line_number, sum(quantity) AS q FROM sl
           WHERE line_number IS NOT NULL GROUP BY ALL),
    bp AS (SELECT order_id, part_number, sum(quantity) AS q FROM sl
           WHERE line_number IS NULL GROUP BY ALL),
    r AS (
        SELECT b.*, coalesce(bn.q, 0) AS n, bp.q AS p,
               greatest(b.quantity_ordered - coalesce(bn.q, 0), 0) AS room
        FROM base b LEFT JOIN bn USING (order_id, line_number)
                    LEFT JOIN bp USING (order_id, part_number)),
    alloc AS (
        SELECT order_id, line_number,
               least(greatest(p - (sum(room) OVER w - room), 0), room) AS extra
        FROM r WHERE p IS NOT NULL
        WINDOW w AS (PARTITION BY order_id, part_number ORDER BY line_number
                     ROWS UNBOUNDED PRECEDING)),
    shipped AS (
        SELECT r.*, least(n, quantity_ordered) + coalesce(alloc.extra, 0) AS quantity_shipped
        FROM r LEFT JOIN alloc USING (order_id, line_number))
"""

SQL["order_fill_rates"] = (
    "WITH "
    + _SHIPPED_LINES.format(order_filter="WHERE o.status <> 'CANCELLED'", ship_filter="")
    + """,
    per_order AS (
        SELECT order_id, count(*) AS lines, sum(quantity_ordered) AS uo,
               sum(quantity_shipped) AS us,
               count(*) FILTER (WHERE quantity_shipped >= quantity_ordered) AS lf
        FROM shipped WHERE quantity_ordered > 0 GROUP BY order_id)
    SELECT count(*) AS orders, sum(lines) AS lines, sum(uo) AS units_ordered,
           sum(us) AS units_shipped, sum(us) / sum(uo) AS unit_fill_rate,
           sum(lf) / sum(lines) AS line_fill_rate,
           count(*) FILTER (WHERE lf = lines) / count(*) AS order_fill_rate
    FROM per_order"""
)

SQL["order_fill_rates_monthly"] = (
    "WITH "
    + _SHIPPED_LINES.format(order_filter="WHERE o.status <> 'CANCELLED'", ship_filter="")
    + """,
    per_order AS (
        SELECT date_trunc('month', order_date) AS period, order_id, count(*) AS lines,
               sum(quantity_ordered) AS uo, sum(quantity_shipped) AS us,
               count(*) FILTER (WHERE quantity_shipped >= quantity_ordered) AS lf
        FROM shipped WHERE quantity_ordered > 0 GROUP BY ALL)
    SELECT period, count(*) AS orders, sum(lines) AS lines, sum(uo) AS units_ordered,
           sum(us) AS units_shipped, sum(us) / sum(uo) AS unit_fill_rate,
           sum(lf) / sum(lines) AS line_fill_rate,
           count(*) FILTER (WHERE lf = lines) / count(*) AS order_fill_rate
    FROM per_order GROUP BY period ORDER BY period"""
)

SQL["backorder_aging"] = (
    "WITH t AS (SELECT greatest(max(order_date), max(updated_at)) AS as_of FROM orders), "
    + _SHIPPED_LINES.format(
        order_filter="WHERE o.status NOT IN ('CANCELLED', 'CLOSED')",
        ship_filter="AND (s.ship_date IS NULL OR s.ship_date <= (SELECT as_of FROM t))",
    )
    + """,
    open_lines AS (
        SELECT order_id, quantity_ordered - quantity_shipped AS quantity_open,
               floor((epoch_us(as_of) - epoch_us(order_date)) / 86400000000.0) AS age
        FROM shipped, t
        WHERE order_date IS NOT NULL AND order_date <= as_of
          AND quantity_ordered - quantity_shipped > 0),
    b AS (
        SELECT CASE WHEN age <= 7 THEN '0-7' WHEN age <= 14 THEN '8-14'
                    WHEN age <= 30 THEN '15-30' ELSE '31+' END AS age_bucket,
               count(*) AS lines, count(DISTINCT order_id) AS orders,
               sum(quantity_open) AS units_open
        FROM open_lines GROUP BY ALL),
    buckets AS (SELECT * FROM (VALUES ('0-7', 1), ('8-14', 2), ('15-30', 3), ('31+', 4))
                AS v(age_bucket, k))
    SELECT buckets.age_bucket, coalesce(lines, 0) AS lines, coalesce(orders, 0) AS orders,
           coalesce(units_open, 0) AS units_open,
           coalesce(units_open, 0) / sum(coalesce(units_open, 0)) OVER () AS share_of_units
    FROM buckets LEFT JOIN b USING (age_bucket) ORDER BY k"""
)

SQL["reseller_concentration"] = """
    WITH o AS (SELECT order_id, reseller_id, reseller_name FROM orders
               WHERE status <> 'CANCELLED'),
    u AS (SELECT order_id, sum(quantity_ordered) AS units FROM order_lines GROUP BY order_id),
    per AS (
        SELECT reseller_id, any_value(reseller_name) AS reseller_name,
               count(DISTINCT o.order_id) AS orders, coalesce(sum(units), 0) AS units
        FROM o LEFT JOIN u USING (order_id) GROUP BY reseller_id),
    ranked AS (
        SELECT *, row_number() OVER (ORDER BY units DESC, reseller_id) AS rank,
               units / sum(units) OVER () AS units_share
        FROM per)
    SELECT *, sum(units_share) OVER (ORDER BY rank) AS cumulative_units_share,
           rank / count(*) OVER () AS reseller_share_cumulative
    FROM ranked ORDER BY rank"""

_AS_OF_SHIP = """
    t AS (SELECT greatest(
        (SELECT max(ship_date) FROM shipments), (SELECT max(delivered_date) FROM shipments),
        (SELECT max(updated_at) FROM shipments), (SELECT max(order_date) FROM orders),
        (SELECT max(updated_at) FROM orders)) AS as_of),
    j AS (
        SELECT s.*, o.order_date, o.reseller_id, o.reseller_name
        FROM shipments s JOIN orders o USING (order_id)
        WHERE s.status <> 'CANCELLED' AND o.status <> 'CANCELLED')
"""

_Q = ", ".join(f"quantile_cont({{m}}, {q / 100}) AS {{m}}_p{q}" for q in analysis.LAG_PERCENTILES)

SQL["shipment_lag"] = (
    "WITH "
    + _AS_OF_SHIP
    + """,
    d AS (
        SELECT carrier,
            (epoch_us(ship_date) - epoch_us(order_date)) / 86400000000.0 AS order_to_ship_days,
            CASE WHEN delivered_date <= as_of
                 THEN (epoch_us(delivered_date) - epoch_us(ship_date)) / 86400000000.0
            END AS transit_days,
            CASE WHEN delivered_date <= as_of THEN delivered_date <= order_date + INTERVAL 5 DAY
                 WHEN (delivered_date > as_of OR (delivered_date IS NULL AND status <> 'DELIVERED'))
                      AND as_of > order_date + INTERVAL 5 DAY THEN false
            END AS on_time
        FROM j, t)
    SELECT carrier, count(*) AS shipments,
        count(order_to_ship_days) AS order_to_ship_days_count,
        avg(order_to_ship_days) AS order_to_ship_days_mean, """
    + _Q.format(m="order_to_ship_days")
    + """,
        count(transit_days) AS transit_days_count, avg(transit_days) AS transit_days_mean, """
    + _Q.format(m="transit_days")
    + """,
        count(*) FILTER (WHERE on_time) AS on_time,
        count(*) FILTER (WHERE NOT on_time) AS late,
        count(*) FILTER (WHERE on_time) / nullif(count(on_time), 0) AS on_time_share
    FROM d GROUP BY carrier ORDER BY carrier"""
)

SQL["carrier_performance"] = (
    "WITH "
    + _AS_OF_SHIP
    + """,
    d AS (
        SELECT carrier, status, delivered_date IS NOT NULL AND delivered_date <= as_of AS delivered,
            CASE WHEN delivered_date <= as_of
                 THEN (epoch_us(delivered_date) - epoch_us(ship_date)) / 86400000000.0
            END AS transit,
            CASE WHEN estimated_delivery_date IS NULL THEN NULL
                 WHEN delivered_date <= as_of
                      THEN CAST(delivered_date AS DATE) <= CAST(estimated_delivery_date AS DATE)
                 WHEN (delivered_date > as_of OR (delivered_date IS NULL AND status <> 'DELIVERED'))
                      AND CAST(as_of AS DATE) > CAST(estimated_delivery_date AS DATE) THEN false
            END AS on_time,
            status IN ('SHIPPED', 'IN_TRANSIT') AND delivered_date IS NULL AS in_transit
        FROM j, t)
    SELECT carrier, count(*) AS shipments, count(*) FILTER (WHERE delivered) AS delivered,
        count(*) FILTER (WHERE in_transit) AS in_transit,
        quantile_cont(transit, 0.5) AS transit_days_p50,
        quantile_cont(transit, 0.9) AS transit_days_p90,
        count(*) FILTER (WHERE on_time) AS on_time,
        count(*) FILTER (WHERE NOT on_time) AS late,
        count(*) FILTER (WHERE in_transit) / count(*) AS share_in_transit,
        count(*) FILTER (WHERE on_time) / nullif(count(on_time), 0) AS on_time_share
    FROM d GROUP BY carrier ORDER BY carrier"""
)

SQL["late_shipments"] = (
    "WITH "
    + _AS_OF_SHIP
    + """
    SELECT shipment_id, order_id, reseller_id, reseller_name, carrier, tracking_number,
           warehouse_id, status, order_date, ship_date, estimated_delivery_date,
           delivered_date, 'open' AS late_state,
           (epoch_us(as_of) - epoch_us(estimated_delivery_date)) / 86400000000.0 AS days_late
    FROM j, t
    WHERE (delivered_date > as_of OR (delivered_date IS NULL AND status <> 'DELIVERED'))
      AND CAST(estimated_delivery_date AS DATE) < CAST(as_of AS DATE)
    ORDER BY days_late DESC, shipment_id"""
)


# --------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Pair:
    name: str
    helper: Callable[[dict[str, pl.DataFrame]], pl.DataFrame]
    sql: str
    sort_by: tuple[str, ...] = ()


PAIRS: list[Pair] = [
    Pair("stock_by_warehouse", lambda d: analysis.stock_by_warehouse(d["history"]),
         SQL["stock_by_warehouse"]),
    Pair("inventory_trend", lambda d: analysis.inventory_trend(d["history"], by="warehouse"),
         SQL["inventory_trend"]),
    Pair("days_of_supply",
         lambda d: analysis.days_of_supply(d["history"], d["orders"], d["order_lines"]),
         SQL["days_of_supply"], ("part_number", "warehouse_id")),
    Pair("order_fill_rates",
         lambda d: analysis.order_fill_rates(d["orders"], d["order_lines"], d["shipments"],
                                           d["shipment_lines"]),
         SQL["order_fill_rates"]),
    Pair("order_fill_rates_monthly",
         lambda d: analysis.order_fill_rates(
             d["orders"], d["order_lines"], d["shipments"], d["shipment_lines"], period="1mo"),
         SQL["order_fill_rates_monthly"]),
    Pair("shipment_lag",
         lambda d: analysis.shipment_lag(d["orders"], d["shipments"], by="carrier",
                                         promise_days=5),
         SQL["shipment_lag"]),
    Pair("carrier_performance",
         lambda d: analysis.carrier_performance(d["orders"], d["shipments"]),
         SQL["carrier_performance"]),
    Pair("backorder_aging",
         lambda d: analysis.backorder_aging(d["orders"], d["order_lines"], d["shipments"],
                                          d["shipment_lines"]),
         SQL["backorder_aging"]),
    Pair("reseller_concentration",
         lambda d: analysis.reseller_concentration(d["orders"], d["order_lines"]),
         SQL["reseller_concentration"]),
    Pair("late_shipments",
         lambda d: analysis.late_shipments(d["orders"], d["shipments"]),
         SQL["late_shipments"]),
]  # fmt: skip


def _comparable(df: pl.DataFrame, sort_by: tuple[str, ...]) -> pl.DataFrame:
    out = df.with_columns(
        [
            pl.col(c).cast(pl.String)
            for c, t in df.schema.items()
            if isinstance(t, (pl.Enum, pl.Categorical))
        ]
    )
    out = out.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in out.schema.items() if t.is_numeric()]
    )
    out = out.with_columns(
        [
            pl.col(c).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
            for c, t in out.schema.items()
            if isinstance(t, pl.Datetime)
        ]
    )
    return out.sort(sort_by) if sort_by else out


def check_agreement(
    name: str, ours: pl.DataFrame, theirs: pl.DataFrame, sort_by: tuple[str, ...]
) -> None:
    """Same columns (the SQL may return them in any order), same values (floats to 1e-9)."""
    from polars.testing import assert_frame_equal

    missing = set(ours.columns) ^ set(theirs.columns)
    if missing:
        raise AssertionError(f"{name}: columns differ: {sorted(missing)}")
    assert_frame_equal(
        _comparable(ours, sort_by),
        _comparable(theirs.select(ours.columns), sort_by),
        check_dtypes=False,
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


def _time_pair(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Time both sides in alternating rounds (helper, SQL, helper, SQL, ...).

    On a shared machine the load changes from second to second; running the two sides
    back to back in each round exposes them to the same load, and the per-round ratio
    (``ratio_median``) is the robust figure.
    """
    ours()  # warm-up
    theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs()
        t_theirs.append(time.perf_counter() - start)
    return t_ours, t_theirs


def load_duckdb(data: dict[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, df in data.items():
        con.register("_src", df.to_arrow())
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
        con.unregister("_src")
    return con


def check_all(data: dict[str, pl.DataFrame]) -> list[str]:
    """Run every pair once on ``data`` and check helper and SQL agree; return the names.

    Example:
        >>> data = {"history": make_history(2, 50, 3)} | make_orders(300, 50)
        >>> len(check_all(data)) == len(PAIRS)
        True
    """
    con = load_duckdb(data)
    try:
        for pair in PAIRS:
            check_agreement(pair.name, pair.helper(data), con.sql(pair.sql).pl(), pair.sort_by)
    finally:
        con.close()
    return [pair.name for pair in PAIRS]


def run_all(
    *,
    quick: bool = False,
    repeat: int = 3,
    only: list[str] | None = None,
    verbose: bool = True,
    source: str = "synthetic",
) -> list[dict[str, Any]]:
    """Generate data, check every pair agrees, time both sides; return one dict per pair.

    ``source="sandbox"`` uses the sandbox's ``bench`` world instead of synthetic data
    (``quick`` does not apply to it).
    """
    scale = 10 if quick else 1
    t = time.perf_counter()
    if source == "sandbox":
        data = make_sandbox_data()
    else:
        data = {"history": make_history(parts=50_000 // scale)}
        data |= make_orders(n_orders=200_000 // scale)
    if verbose:
        sizes = ", ".join(f"{k} {v.height:,}" for k, v in data.items())
        print(f"data generated in {time.perf_counter() - t:.1f}s: {sizes}")
    con = load_duckdb(data)
    results = []
    for pair in PAIRS:
        if only and pair.name not in only:
            continue
        ours = pair.helper(data)
        theirs = con.sql(pair.sql).pl()
        check_agreement(pair.name, ours, theirs, pair.sort_by)
        t_ours, t_sql = _time_pair(
            lambda p=pair: p.helper(data), lambda p=pair: con.sql(p.sql).pl(), repeat
        )
        row = {
            "helper": pair.name,
            "source": source,
            "rows_out": ours.height,
            "vendorkit_best_s": min(t_ours),
            "vendorkit_median_s": statistics.median(t_ours),
            "duckdb_best_s": min(t_sql),
            "duckdb_median_s": statistics.median(t_sql),
            "ratio_best": min(t_ours) / min(t_sql),
            "ratio_median": statistics.median(a / b for a, b in zip(t_ours, t_sql, strict=True)),
        }
        results.append(row)
        if verbose:
            print(
                f"{pair.name:26s} vendorkit {row['vendorkit_best_s']:7.3f}s "
                f"(median {row['vendorkit_median_s']:.3f})  duckdb {row['duckdb_best_s']:7.3f}s "
                f"(median {row['duckdb_median_s']:.3f})  ratio best {row['ratio_best']:.2f} "
                f"per-round median {row['ratio_median']:.2f}"
            )
    con.close()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1/10 of the data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="helper name (repeatable)")
    parser.add_argument(
        "--source",
        choices=["synthetic", "sandbox"],
        default="synthetic",
        help="synthetic numpy data, or the sandbox's bench world (200k orders)",
    )
    args = parser.parse_args(argv)
    run_all(quick=args.quick, repeat=args.repeat, only=args.only, source=args.source)


if __name__ == "__main__":
    main()
