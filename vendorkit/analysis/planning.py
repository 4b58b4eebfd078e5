"""Planning helpers: when each part runs out, and where stock could come from instead.

Both helpers read the same trailing demand as :func:`~vendorkit.analysis.days_of_supply`:
units ordered on non-cancelled orders dated in ``(as_of - window_days, as_of]``, per part ×
warehouse (the order line's ``warehouse_id``), over **calendar** days (a day without orders
is a day of zero demand).

* :func:`stockout_forecast`: days until stockout with a median (P50) and a pessimistic
  (P90 demand) estimate, and the projected dates;
* :func:`rebalance_suggestions`: transfers of one part between warehouses, from stock above a
  target to warehouses below a threshold, never creating a shortage.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from vendorkit.analysis.common import (
    _US_PER_DAY,
    Frame,
    _check_frames,
    _latest_snapshot,
    _lit_ts,
    _prep,
    _resolve_as_of,
    _status,
)
from vendorkit.errors import ConfigError

__all__ = ["P90_Z", "rebalance_suggestions", "stockout_forecast"]

#: The standard normal's 90th percentile (``scipy.stats.norm.ppf(0.9)``).
P90_Z = 1.2815515655446004

_KEYS = ["part_number", "warehouse_id"]


def _window_demand(
    helper: str,
    inventory: Frame,
    orders: Frame,
    order_lines: Frame,
    *,
    window_days: int,
    as_of: datetime | None,
    include_cancelled: bool,
) -> tuple[pl.LazyFrame, datetime]:
    """Per part × warehouse: stock columns and the window's daily demand statistics.

    Returns ``part_number, warehouse_id, quantity_on_hand, quantity_on_order (null when the
    data has none), units_ordered, days_with_demand, avg_daily_demand, std_daily_demand``
    (full join of stock and demand: a part with demand and no record has 0 on hand) and
    the window end.
    """
    if window_days < 2:
        raise ConfigError(
            f"{helper}: window_days must be at least 2 (the day-to-day variability needs two "
            f"days), not {window_days}"
        )
    _check_frames(helper, {"inventory": inventory, "orders": orders, "order_lines": order_lines})
    inv = _latest_snapshot(
        _prep(inventory, "inventory", ("part_number", "warehouse_id", "quantity_on_hand"))
    )
    lines = _prep(
        order_lines,
        "order_lines",
        ("order_id", "part_number", "quantity_ordered"),
        populated=("warehouse_id",),
        why="demand is per part × warehouse (the order line's warehouse)",
    )
    ords = _prep(orders, "orders", ("order_id", "status"), populated=("order_date",))
    line_schema = lines.collect_schema()
    dated = lines.drop([c for c in ("order_date", "status") if c in line_schema]).join(
        ords.select("order_id", "order_date", "status"), on="order_id", how="inner"
    )
    end = _resolve_as_of(as_of, [(dated, ["order_date"])])
    start = end - timedelta(days=window_days)
    if not include_cancelled:
        dated = dated.filter(_status() != "CANCELLED")
    dated = dated.filter(
        (pl.col("order_date") > _lit_ts(start))
        & (pl.col("order_date") <= _lit_ts(end))
        & pl.col("warehouse_id").is_not_null()
    )
    # day 0 = the 24 hours ending at as_of, day window_days - 1 the earliest
    day_index = (
        (_lit_ts(end) - pl.col("order_date")).dt.total_microseconds() // _US_PER_DAY
    ).alias("__day")
    daily = (
        dated.with_columns(day_index)
        .group_by(*_KEYS, "__day")
        .agg(pl.col("quantity_ordered").sum().cast(pl.Float64).alias("__units"))
    )
    n = float(window_days)
    demand = daily.group_by(_KEYS).agg(
        pl.col("__units").sum().alias("__sum"),
        (pl.col("__units") ** 2).sum().alias("__sumsq"),
        (pl.col("__units") > 0).sum().cast(pl.Int64).alias("days_with_demand"),
    )
    schema = inv.collect_schema()
    on_order = (
        pl.col("quantity_on_order").sum().cast(pl.Int64)
        if "quantity_on_order" in schema
        else pl.lit(None, dtype=pl.Int64)
    )
    has_on_order = (
        pl.col("quantity_on_order").is_not_null().any()
        if "quantity_on_order" in schema
        else pl.lit(False)
    )
    stock = inv.group_by(_KEYS).agg(
        pl.col("quantity_on_hand").sum().cast(pl.Int64),
        pl.when(has_on_order).then(on_order).otherwise(None).alias("quantity_on_order"),
    )
    mean = pl.col("__sum") / n
    # sample variance over all window days, zero-demand days included (they hold 0)
    var = ((pl.col("__sumsq") - n * mean**2) / (n - 1)).clip(lower_bound=0.0)
    out = (
        stock.join(demand, on=_KEYS, how="full", coalesce=True)
        .with_columns(
            pl.col("quantity_on_hand").fill_null(0),
            pl.col("__sum").fill_null(0.0),
            pl.col("__sumsq").fill_null(0.0),
            pl.col("days_with_demand").fill_null(0),
        )
        .with_columns(
            pl.col("__sum").cast(pl.Int64).alias("units_ordered"),
            mean.alias("avg_daily_demand"),
            var.sqrt().alias("std_daily_demand"),
        )
        .drop("__sum", "__sumsq")
    )
    return out, end


def stockout_forecast(
    inventory: Frame,
    orders: Frame,
    order_lines: Frame,
    *,
    window_days: int = 28,
    as_of: datetime | None = None,
    include_on_order: bool = True,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """When will each part × warehouse run out? A median and a pessimistic estimate.

    Definition (per part × warehouse; demand as in :func:`days_of_supply`):

    * daily demand ``x_1 … x_n``: units ordered on each of the ``n = window_days`` calendar
      days of ``(as_of - window_days, as_of]`` (day ``i`` = the ``i``-th 24 hours back from
      ``as_of``; days without orders are 0); ``as_of`` defaults to the latest
      ``order_date``; cancelled orders excluded unless ``include_cancelled``;
    * ``avg_daily_demand`` μ = mean of the ``x_i``; ``std_daily_demand`` σ = their sample
      standard deviation (``n - 1`` in the denominator);
    * ``supply_units`` S = ``max(quantity_on_hand, 0)`` + ``quantity_on_order`` when
      ``include_on_order`` and the data carries it (null counts as 0). The API gives no
      arrival date for stock on order, so it is taken as available now: an optimistic
      assumption when inbound stock is late (pass ``include_on_order=False`` to leave it
      out);
    * **method**: demand over the next ``d`` days is taken as normal with mean ``d·μ`` and
      standard deviation ``σ·√d`` (days independent, like the window's). The stock lasts
      until cumulative demand reaches S:

      - ``days_to_stockout_p50`` = S / μ (median demand: the stock runs out then or later
        half the time);
      - ``days_to_stockout_p90`` = the ``d`` where the **90th percentile** of demand over
        ``d`` days equals S: ``d·μ + z·σ·√d = S`` with ``z`` = 1.2816 (:data:`P90_Z`), i.e.
        ``√d = (−zσ + √(z²σ² + 4μS)) / (2μ)``. The stock runs out this early only one time
        in ten; ``<= days_to_stockout_p50``, equal when demand is steady (σ = 0);

    * ``stockout_date_p50`` / ``stockout_date_p90`` = ``as_of`` + those days;
    * parts without demand in the window (μ = 0) have null days and dates (nothing to run
      out against); S = 0 with demand gives 0 days (out of stock now).

    Args:
        inventory: ``inventory`` typed table (a history is reduced to its latest snapshot).
        orders: ``orders`` typed table (``order_date``, ``status``).
        order_lines: ``order_lines`` typed table (needs ``warehouse_id``).
        window_days: trailing demand window, in days (at least 2).
        as_of: end of the window and start of the projection.
        include_on_order: count ``quantity_on_order`` as supply.
        include_cancelled: count cancelled orders as demand.

    Returns:
        ``part_number, warehouse_id, quantity_on_hand, quantity_on_order, supply_units,
        units_ordered, days_with_demand, avg_daily_demand, std_daily_demand,
        days_to_stockout_p50, days_to_stockout_p90, stockout_date_p50, stockout_date_p90``,
        most urgent first (``days_to_stockout_p90``, nulls last), then by keys.

    Raises:
        ConfigError: ``window_days < 2``; the frames look swapped.
        MissingFieldError: order lines without ``warehouse_id``, orders without
            ``order_date``.

    Example:
        >>> from datetime import datetime, UTC
        >>> inv = pl.DataFrame({"part_number": ["A"], "warehouse_id": ["10"],
        ...                     "quantity_on_hand": [20], "quantity_on_order": [0]})
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "status": ["OPEN", "OPEN"],
        ...     "order_date": [datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)]})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o2"], "part_number": ["A", "A"],
        ...                       "quantity_ordered": [4, 4], "warehouse_id": ["10", "10"]})
        >>> f = stockout_forecast(inv, orders, lines, window_days=2)  # 4 units a day, steady
        >>> f.select("days_to_stockout_p50", "days_to_stockout_p90").row(0)
        (5.0, 5.0)
        >>> f["stockout_date_p50"].dt.date().to_list()
        [datetime.date(2026, 1, 9)]
    """
    frame, end = _window_demand(
        "stockout_forecast",
        inventory,
        orders,
        order_lines,
        window_days=window_days,
        as_of=as_of,
        include_cancelled=include_cancelled,
    )
    supply = pl.col("quantity_on_hand").clip(lower_bound=0)
    if include_on_order:
        supply = supply + pl.col("quantity_on_order").fill_null(0).clip(lower_bound=0)
    mu, sigma, s = (
        pl.col("avg_daily_demand"),
        pl.col("std_daily_demand"),
        pl.col("supply_units").cast(pl.Float64),
    )
    zs = P90_Z * sigma
    # √d = (−zσ + √(z²σ² + 4μS)) / (2μ), written without the cancellation of the minus
    root = 2.0 * s / (zs + (zs**2 + 4.0 * mu * s).sqrt())
    demand = mu > 0
    p90 = pl.when(sigma == 0).then(s / mu).otherwise(root**2)

    def date(days: str) -> pl.Expr:
        return _lit_ts(end) + pl.duration(
            microseconds=(pl.col(days) * _US_PER_DAY).round().cast(pl.Int64)
        )

    out = (
        frame.with_columns(supply.cast(pl.Int64).alias("supply_units"))
        .with_columns(
            pl.when(demand).then(s / mu).otherwise(None).alias("days_to_stockout_p50"),
            pl.when(demand).then(p90).otherwise(None).alias("days_to_stockout_p90"),
        )
        .with_columns(
            date("days_to_stockout_p50").alias("stockout_date_p50"),
            date("days_to_stockout_p90").alias("stockout_date_p90"),
        )
        .select(
            *_KEYS,
            "quantity_on_hand",
            "quantity_on_order",
            "supply_units",
            "units_ordered",
            "days_with_demand",
            "avg_daily_demand",
            "std_daily_demand",
            "days_to_stockout_p50",
            "days_to_stockout_p90",
            "stockout_date_p50",
            "stockout_date_p90",
        )
        .sort(["days_to_stockout_p90", "days_to_stockout_p50", *_KEYS], nulls_last=True)
    )
    return out.collect()


def rebalance_suggestions(
    inventory: Frame,
    orders: Frame,
    order_lines: Frame,
    *,
    target_days: float = 28.0,
    below_days: float = 14.0,
    window_days: int = 28,
    as_of: datetime | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Transfers of a part between warehouses: from stock to spare to where it runs short.

    Definition (per part; demand μ = average daily units ordered at the warehouse over the
    window, as in :func:`days_of_supply`; days of supply = on hand / μ; on hand only, stock
    on order is neither movable nor counted):

    * **receivers**: warehouses with demand (μ > 0) and fewer than ``below_days`` days of
      supply (stockouts included). Each needs ``ceil(target_days·μ − on_hand)`` units to
      reach ``target_days``;
    * **donors**: warehouses that can give stock and keep **at least** ``target_days`` of
      supply and at least one unit: they can give
      ``min(floor(on_hand − target_days·μ), on_hand − 1)`` units (a donor without demand
      keeps one unit: no move empties a warehouse). So a move never creates a shortage:
      a donor stays at or above the target, above ``below_days``, and in stock;
    * **matching** (deterministic): receivers in order of urgency (fewest days of supply,
      then most demand, then ``warehouse_id``) take from donors in order of spare stock
      (most days of supply, a donor without demand first, then most units it can give,
      then ``warehouse_id``), each receiver filled before the next — the greedy
      "north-west corner" allocation of the two queues' running sums;
    * per move: ``quantity``, days of supply of both warehouses before and after it (after
      all moves so far for the part, in row order), and the demand it covers:
      ``units_covered`` = ``quantity`` (units of the receiver's demand served), and
      ``demand_days_covered`` = ``quantity`` / the receiver's μ.

    Args:
        inventory: ``inventory`` typed table (a history is reduced to its latest snapshot).
        orders: ``orders`` typed table.
        order_lines: ``order_lines`` typed table (needs ``warehouse_id``).
        target_days: days of supply a donor keeps and a receiver is topped up to.
        below_days: days of supply under which a warehouse receives (``<= target_days``).
        window_days: trailing demand window, in days (at least 2).
        as_of: end of the demand window (default: the latest ``order_date``).
        include_cancelled: count cancelled orders as demand.

    Returns:
        ``part_number, from_warehouse_id, to_warehouse_id, quantity, units_covered,
        demand_days_covered, from_on_hand, from_days_before, from_days_after, to_on_hand,
        to_days_before, to_days_after, to_avg_daily_demand`` (``from_days_*`` null for a
        donor without demand), sorted by part, receiver order, donor order.

    Raises:
        ConfigError: ``below_days > target_days``; ``window_days < 2``; swapped frames.

    Example:
        >>> from datetime import datetime, UTC
        >>> inv = pl.DataFrame({"part_number": ["A", "A"], "warehouse_id": ["10", "20"],
        ...                     "quantity_on_hand": [100, 1]})
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "status": ["OPEN", "OPEN"],
        ...                        "order_date": [datetime(2026, 1, 28, tzinfo=UTC)] * 2})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o2"], "part_number": ["A", "A"],
        ...     "quantity_ordered": [28, 56], "warehouse_id": ["10", "20"]})
        >>> r = rebalance_suggestions(inv, orders, lines)  # 1 and 2 units a day
        >>> r.select("from_warehouse_id", "to_warehouse_id", "quantity", "from_days_after",
        ...          "to_days_after").row(0)
        ('10', '20', 55, 45.0, 28.0)
    """
    if below_days > target_days:
        raise ConfigError(
            f"rebalance_suggestions: below_days ({below_days:g}) must not exceed target_days "
            f"({target_days:g}): a receiver would be a donor's target"
        )
    frame, _ = _window_demand(
        "rebalance_suggestions",
        inventory,
        orders,
        order_lines,
        window_days=window_days,
        as_of=as_of,
        include_cancelled=include_cancelled,
    )
    mu = pl.col("avg_daily_demand")
    on_hand = pl.col("quantity_on_hand").clip(lower_bound=0)
    dos = pl.when(mu > 0).then(on_hand.cast(pl.Float64) / mu).otherwise(None)
    base = frame.with_columns(on_hand.alias("__on_hand"), dos.alias("__dos"))
    # receivers: how much each needs to reach the target
    need = (target_days * mu - pl.col("__on_hand")).ceil().cast(pl.Int64)
    receivers = (
        base.filter((mu > 0) & (pl.col("__dos") < below_days))
        .with_columns(need.alias("__need"))
        .filter(pl.col("__need") > 0)
        .sort(
            ["part_number", "__dos", "avg_daily_demand", "warehouse_id"],
            descending=[False, False, True, False],
        )
        .with_columns(pl.col("__need").cum_sum().over("part_number").alias("__r_end"))
        .with_columns((pl.col("__r_end") - pl.col("__need")).alias("__r_start"))
        .with_columns(pl.int_range(pl.len()).over("part_number").alias("__r_rank"))
    )
    give = pl.min_horizontal(
        (pl.col("__on_hand").cast(pl.Float64) - target_days * mu).floor().cast(pl.Int64),
        pl.col("__on_hand") - 1,
    )
    donors = (
        base.with_columns(give.alias("__give"))
        .filter(pl.col("__give") > 0)
        .with_columns(pl.col("__dos").fill_null(float("inf")).alias("__dos_sort"))
        .sort(
            ["part_number", "__dos_sort", "__give", "warehouse_id"],
            descending=[False, True, True, False],
        )
        .with_columns(pl.col("__give").cum_sum().over("part_number").alias("__d_end"))
        .with_columns((pl.col("__d_end") - pl.col("__give")).alias("__d_start"))
        .with_columns(pl.int_range(pl.len()).over("part_number").alias("__d_rank"))
    )
    r = receivers.select(
        "part_number",
        pl.col("warehouse_id").alias("to_warehouse_id"),
        pl.col("__on_hand").alias("to_on_hand"),
        pl.col("avg_daily_demand").alias("to_avg_daily_demand"),
        pl.col("__dos").alias("to_days_before"),
        "__r_start",
        "__r_end",
        "__r_rank",
    )
    d = donors.select(
        "part_number",
        pl.col("warehouse_id").alias("from_warehouse_id"),
        pl.col("__on_hand").alias("from_on_hand"),
        pl.col("avg_daily_demand").alias("__from_mu"),
        pl.col("__dos").alias("from_days_before"),
        "__d_start",
        "__d_end",
        "__d_rank",
    )
    overlap = pl.min_horizontal("__r_end", "__d_end") - pl.max_horizontal("__r_start", "__d_start")
    moves = (
        r.join(d, on="part_number", how="inner")
        .with_columns(overlap.alias("quantity"))
        .filter(pl.col("quantity") > 0)
        .sort("part_number", "__r_rank", "__d_rank")
    )
    given = pl.col("quantity").cum_sum().over("part_number", "from_warehouse_id")
    received = pl.col("quantity").cum_sum().over("part_number", "to_warehouse_id")
    out = moves.with_columns(
        pl.col("quantity").alias("units_covered"),
        (pl.col("quantity") / pl.col("to_avg_daily_demand")).alias("demand_days_covered"),
        pl.when(pl.col("__from_mu") > 0)
        .then((pl.col("from_on_hand") - given).cast(pl.Float64) / pl.col("__from_mu"))
        .otherwise(None)
        .alias("from_days_after"),
        ((pl.col("to_on_hand") + received).cast(pl.Float64) / pl.col("to_avg_daily_demand")).alias(
            "to_days_after"
        ),
    ).select(
        "part_number",
        "from_warehouse_id",
        "to_warehouse_id",
        pl.col("quantity").cast(pl.Int64),
        pl.col("units_covered").cast(pl.Int64),
        "demand_days_covered",
        pl.col("from_on_hand").cast(pl.Int64),
        "from_days_before",
        "from_days_after",
        pl.col("to_on_hand").cast(pl.Int64),
        "to_days_before",
        "to_days_after",
        "to_avg_daily_demand",
    )
    return out.collect()
