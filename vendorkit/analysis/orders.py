"""Order helpers: fill rates, open backorders, lead times, reseller concentration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import polars as pl
import polars.selectors as cs

from vendorkit.analysis.common import (
    _AGE_ENUM,
    _NOT_SHIPPED,
    _US_PER_DAY,
    AGE_BUCKETS,
    Frame,
    _check_frames,
    _check_shipment_lines,
    _days,
    _group_columns,
    _lit_ts,
    _prep,
    _resolve_as_of,
    _share,
    _status,
    _utc,
)


def _shipped_per_line(
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
    shipment_lines: Frame,
    *,
    include_cancelled: bool,
    order_columns: Sequence[str] = (),
    as_of: datetime | None = None,
    order_filter: pl.Expr | None = None,
    within_days: float | None = None,
) -> pl.LazyFrame:
    """One row per order line with ``quantity_shipped`` (capped at ``quantity_ordered``).

    Only lines of shipments in ``shipments`` whose status is not ``CANCELLED`` or
    ``PROCESSING`` count (with ``as_of``: shipped by then; with ``within_days``: shipped
    within that many days of the order date). Matching: a shipment line carrying
    ``line_number`` ships that order line; one without it ships the order's lines of its
    ``part_number``, filled in ``line_number`` order (each up to what the line still needs).
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
    ships = _prep(shipments, "shipments", ("shipment_id", "status"))
    counted = ships.filter(~_status().is_in(list(_NOT_SHIPPED)))
    if as_of is not None and "ship_date" in ships.collect_schema():
        counted = counted.filter(
            pl.col("ship_date").is_null() | (pl.col("ship_date") <= _lit_ts(_utc(as_of)))
        )
    if within_days is not None:
        dated = _prep(
            shipments,
            "shipments",
            ("order_id",),
            populated=("ship_date",),
            why="first-time fill rates need ship dates",
        )
        order_dates = _prep(
            orders,
            "orders",
            ("order_id",),
            populated=("order_date",),
            why="first-time fill rates are measured from it",
        ).select("order_id", "order_date")
        limit = pl.col("order_date") + pl.duration(microseconds=int(within_days * _US_PER_DAY))
        counted = counted.join(
            dated.select("shipment_id", "order_id")
            .join(order_dates, on="order_id", how="inner")
            .select("shipment_id", "order_date"),
            on="shipment_id",
            how="inner",
        ).filter(pl.col("ship_date").is_not_null() & (pl.col("ship_date") <= limit))
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
    shipments: Frame,
    shipment_lines: Frame,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    first_time_days: float | None = None,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Unit, line and order fill rates, overall or per group and period.

    Definition:

    * shipped quantity of an order line = sum of the quantities of the shipment lines that
      ship it (matched on ``(order_id, line_number)`` when the shipment line carries a line
      number, else on ``(order_id, part_number)``, filling that part's lines in line order),
      **capped at the ordered quantity** (over-shipment never lifts a rate above 1);
    * only lines of shipments that have left the warehouse count: a shipment line counts
      when its shipment is in ``shipments`` with a status other than ``CANCELLED`` or
      ``PROCESSING`` (the shipments frame is required, so the rate is right by default;
      lines of a shipment absent from ``shipments`` do not count);
    * **unit fill rate** = sum(shipped, capped) / sum(ordered);
    * **line fill rate** = share of lines with shipped >= ordered;
    * **order fill rate** = share of orders whose every line is shipped in full (within a
      group: every line of the order that falls in the group);
    * these are **eventual** fill rates (shipped at any time up to the data). With
      ``first_time_days=N`` the output adds **first-time** fill rates
      (``first_time_unit_fill_rate``, ``first_time_line_fill_rate``,
      ``first_time_order_fill_rate``): the same, counting only shipments whose
      ``ship_date`` is within N days of the order's ``order_date`` ("filled on the first
      try" vs "filled in the end": they answer different questions).

    Excluded: cancelled orders (unless ``include_cancelled``); lines with
    ``quantity_ordered <= 0`` (nothing to fill); lines whose order is not in ``orders``.

    Args:
        orders: ``orders`` typed table.
        order_lines: ``order_lines`` typed table.
        shipments: ``shipments`` typed table (statuses decide which shipment lines count).
        shipment_lines: ``shipment_lines`` typed table.
        by: ``"reseller"`` (``reseller_id``), ``"part"`` (``part_number``), ``"warehouse"``
            (the order line's ``warehouse_id``), or a list of them.
        period: calendar bucket of ``order_date`` (``"1w"``, ``"1mo"``, ...), output as
            ``period`` (the bucket start).
        first_time_days: add first-time fill rates: shipped within this many days.
        include_cancelled: keep cancelled orders.

    Returns:
        ``[period], [group columns], orders, lines, units_ordered, units_shipped,
        unit_fill_rate, line_fill_rate, order_fill_rate`` [, ``units_shipped_first_time``,
        the three ``first_time_*_fill_rate``], sorted by period and group.

    Raises:
        ConfigError: the frames look swapped (recognised by their columns).
        MissingFieldError: seed-only data without shipment lines, dates for ``period`` or
            ``first_time_days``.

    Example:
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["OPEN"]})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o1"], "line_number": [1, 2],
        ...                       "part_number": ["A", "B"], "quantity_ordered": [4, 6]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "status": ["SHIPPED"]})
        >>> shipped = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "line_number": [1],
        ...                         "part_number": ["A"], "quantity": [4]})
        >>> order_fill_rates(orders, lines, ships, shipped).select(
        ...     "unit_fill_rate", "line_fill_rate", "order_fill_rate").row(0)
        (0.4, 0.5, 0.0)
    """
    _check_frames(
        "order_fill_rates",
        {
            "orders": orders,
            "order_lines": order_lines,
            "shipments": shipments,
            "shipment_lines": shipment_lines,
        },
    )
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
        shipments,
        shipment_lines,
        include_cancelled=include_cancelled,
        order_columns=order_columns,
    ).filter(pl.col("quantity_ordered") > 0)
    first = first_time_days is not None
    if first:
        first_lines = _shipped_per_line(
            orders,
            order_lines,
            shipments,
            shipment_lines,
            include_cancelled=include_cancelled,
            within_days=first_time_days,
        ).select("order_id", "line_number", pl.col("quantity_shipped").alias("__first"))
        per_line = per_line.join(first_lines, on=["order_id", "line_number"], how="left")
    if period is not None:
        per_line = per_line.with_columns(pl.col("order_date").dt.truncate(period).alias("period"))
        keys = ["period", *keys]
    filled = pl.col("quantity_shipped") >= pl.col("quantity_ordered")
    order_aggs = [
        pl.len().alias("lines"),
        pl.col("quantity_ordered").sum().alias("units_ordered"),
        pl.col("quantity_shipped").sum().alias("units_shipped"),
        filled.sum().alias("lines_filled"),
    ]
    if first:
        order_aggs += [
            pl.col("__first").sum().alias("units_first"),
            (pl.col("__first") >= pl.col("quantity_ordered")).sum().alias("lines_first"),
        ]
    per_order = per_line.group_by(*keys, "order_id").agg(order_aggs)
    aggs = [
        pl.len().cast(pl.Int64).alias("orders"),
        pl.col("lines").sum().cast(pl.Int64),
        pl.col("units_ordered").sum().cast(pl.Int64),
        pl.col("units_shipped").sum().cast(pl.Int64),
        pl.col("lines_filled").sum().alias("__lines_filled"),
        (pl.col("lines_filled") == pl.col("lines")).sum().alias("__orders_filled"),
    ]
    if first:
        aggs += [
            pl.col("units_first").sum().cast(pl.Int64).alias("units_shipped_first_time"),
            pl.col("lines_first").sum().alias("__lines_first"),
            (pl.col("lines_first") == pl.col("lines")).sum().alias("__orders_first"),
        ]
    grouped = per_order.group_by(keys).agg(aggs) if keys else per_order.select(aggs)
    rates = [
        _share(pl.col("units_shipped"), pl.col("units_ordered")).alias("unit_fill_rate"),
        _share(pl.col("__lines_filled"), pl.col("lines")).alias("line_fill_rate"),
        _share(pl.col("__orders_filled"), pl.col("orders")).alias("order_fill_rate"),
    ]
    if first:
        rates += [
            _share(pl.col("units_shipped_first_time"), pl.col("units_ordered")).alias(
                "first_time_unit_fill_rate"
            ),
            _share(pl.col("__lines_first"), pl.col("lines")).alias("first_time_line_fill_rate"),
            _share(pl.col("__orders_first"), pl.col("orders")).alias("first_time_order_fill_rate"),
        ]
    out = grouped.with_columns(rates).drop(cs.starts_with("__"))
    if keys:
        out = out.sort(keys, nulls_last=True)
    return out.collect()


def backorder_aging(
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
    shipment_lines: Frame,
    *,
    as_of: datetime | None = None,
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
    ``order_date``. Lines of cancelled / processing shipments, of shipments absent from
    ``shipments`` and of shipments shipped after ``as_of`` are not counted as shipped.

    Args:
        orders: ``orders`` typed table (needs ``order_date``).
        order_lines: ``order_lines`` typed table.
        shipments: ``shipments`` typed table (statuses and ship dates).
        shipment_lines: ``shipment_lines`` typed table.
        as_of: the reference time.
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
        >>> no_ships = pl.DataFrame(schema={"shipment_id": pl.String, "order_id": pl.String,
        ...     "status": pl.String})
        >>> no_lines = pl.DataFrame(schema={"shipment_id": pl.String, "order_id": pl.String,
        ...     "line_number": pl.Int32, "part_number": pl.String, "quantity": pl.Int64})
        >>> backorder_aging(orders, lines, no_ships, no_lines,
        ...                 as_of=datetime(2026, 1, 11, tzinfo=UTC))["units_open"].to_list()
        [0, 5, 0, 0]
    """
    _check_frames(
        "backorder_aging",
        {
            "orders": orders,
            "order_lines": order_lines,
            "shipments": shipments,
            "shipment_lines": shipment_lines,
        },
    )
    ords = _prep(orders, "orders", ("order_id", "status"), populated=("order_date",))
    end = _resolve_as_of(as_of, [(ords, ["order_date", "updated_at"])])
    per_line = _shipped_per_line(
        orders,
        order_lines,
        shipments,
        shipment_lines,
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
    _check_frames("reseller_concentration", {"orders": orders, "order_lines": order_lines})
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


def order_lead_times(
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
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
        order_lines: ``order_lines`` typed table.
        shipments: ``shipments`` typed table (needs ``ship_date``).
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
        >>> order_lead_times(orders, lines, ships, slines).select(
        ...     "days_to_first_shipment", "days_to_complete").row(0)
        (1.0, 4.0)
    """
    _check_frames(
        "order_lead_times",
        {
            "orders": orders,
            "order_lines": order_lines,
            "shipments": shipments,
            "shipment_lines": shipment_lines,
        },
    )
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
