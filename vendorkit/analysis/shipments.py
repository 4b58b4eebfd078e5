"""Shipment helpers: order-to-ship and transit lags, carriers, late shipments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from vendorkit.analysis.common import (
    _US_PER_DAY,
    _UTC,
    Frame,
    _columns,
    _days,
    _delivered,
    _group_columns,
    _lit_ts,
    _prep,
    _quantile_aggs,
    _share,
    _shipment_as_of,
    _shipments_with_orders,
    _status,
    _undelivered,
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
        "shipment_lag",
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
    *,
    by: str | Sequence[str] | None = None,
    promise_days: float | None = None,
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
        "carrier_performance",
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
    *,
    as_of: datetime | None = None,
    include_delivered: bool = False,
    include_cancelled: bool = False,
) -> pl.DataFrame:
    """Shipments past their estimated delivery day: the ones worth a call.

    Definition: shipments not cancelled and not delivered at ``as_of`` (a
    ``delivered_date`` after ``as_of``, or none and a status other than ``DELIVERED``) whose
    ``estimated_delivery_date`` falls on a UTC calendar day before ``as_of``'s;
    ``days_late`` = (``as_of`` - ``estimated_delivery_date``) in days, ``late_state``
    ``"open"``. With ``include_delivered`` also the shipments delivered (by ``as_of``) on a
    UTC calendar day after their estimated day, ``days_late`` = (``delivered_date`` -
    ``estimated_delivery_date``), ``late_state`` ``"delivered late"``: exactly the shipments
    :func:`carrier_performance` counts as ``late`` (when it runs without ``promise_days``).
    Worst (most days late) first, then by ``shipment_id``. Shipments of cancelled orders are
    excluded unless ``include_cancelled``. ``as_of`` defaults to the latest timestamp in
    the data.

    Args:
        orders: ``orders`` typed table (for reseller and order date).
        shipments: ``shipments`` typed table (needs ``estimated_delivery_date``).
        as_of: reference time (default: latest timestamp in the data).
        include_delivered: also list the shipments that were delivered late.
        include_cancelled: keep shipments of cancelled orders.

    Returns:
        ``shipment_id, order_id, reseller_id, reseller_name, carrier, tracking_number,
        warehouse_id, status, order_date, ship_date, estimated_delivery_date,
        delivered_date, late_state, days_late``.

    Raises:
        MissingFieldError: when shipments carry no ``estimated_delivery_date``.
        ConfigError: the frames look swapped (recognised by their columns).

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "reseller_id": ["r1", "r1"],
        ...                        "status": ["SHIPPED", "DELIVERED"]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o2"],
        ...     "carrier": ["UPS", "UPS"], "status": ["IN_TRANSIT", "DELIVERED"],
        ...     "ship_date": [d(2), d(2)], "estimated_delivery_date": [d(4), d(4)],
        ...     "delivered_date": [None, d(5)]})
        >>> late_shipments(orders, ships, as_of=d(7))["days_late"].to_list()
        [3.0]
        >>> late_shipments(orders, ships, as_of=d(7), include_delivered=True)[
        ...     ["shipment_id", "late_state", "days_late"]].rows()
        [('s1', 'open', 3.0), ('s2', 'delivered late', 1.0)]
    """
    ord_cols = [c for c in ("reseller_id", "reseller_name", "order_date") if c in _columns(orders)]
    joined, ships, ords = _shipments_with_orders(
        "late_shipments",
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
    est = pl.col("estimated_delivery_date")
    open_late = _undelivered(end) & (est.dt.date() < end_lit.dt.date())
    delivered_late = _delivered(end) & (pl.col("delivered_date").dt.date() > est.dt.date())
    keep = (open_late | delivered_late) if include_delivered else open_late
    out = (
        joined.filter(keep)
        .with_columns(
            pl.when(open_late)
            .then(pl.lit("open"))
            .otherwise(pl.lit("delivered late"))
            .alias("late_state"),
            pl.when(open_late)
            .then(_days(end_lit, est))
            .otherwise(_days(pl.col("delivered_date"), est))
            .alias("days_late"),
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
            "delivered_date",
            "late_state",
            "days_late",
        )
        .sort(["days_late", "shipment_id"], descending=[True, False])
    )
    return out.collect()
