"""Service level: on time in full (OTIF) and the perfect order, as stated variants.

OTIF has no single industry standard (requested vs promised date, order vs line, tolerance
windows); SCOR's perfect order (RL.1.1) adds documentation and condition, which the Vendor
API does not carry. These helpers state exactly what they count and let the caller pick.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from vendorkit.analysis.common import (
    _SHIPMENT_AS_OF_SOURCES,
    Frame,
    _check_frames,
    _lit_ts,
    _prep,
    _resolve_as_of,
    _share,
    _status,
)
from vendorkit.analysis.orders import _shipped_per_line
from vendorkit.errors import ConfigError

__all__ = ["otif", "perfect_order_rate", "promised_dates"]

#: Order statuses after which nothing more ships (an order short of units is decided).
_FINAL = ("SHIPPED", "DELIVERED", "CLOSED")


def promised_dates(shipments: Frame, shipment_status_history: Frame | None = None) -> pl.DataFrame:
    """Per shipment, the promised delivery date: the **first** estimate the store observed.

    When ``shipment_status_history`` carries ``estimated_delivery_date``, the promise is the
    estimate of its earliest row (by ``observed_at``) with one: later estimates never move
    the goalpost. Otherwise, or for a shipment the history has no estimate for, the
    shipment's current ``estimated_delivery_date`` is used and ``promise_source`` says so
    (``"first observed"`` / ``"current estimate"``).

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> ships = pl.DataFrame({"shipment_id": ["s1"], "order_id": ["o1"], "status": ["SHIPPED"],
        ...                       "estimated_delivery_date": [d(9)]})
        >>> h = pl.DataFrame({"shipment_id": ["s1", "s1"], "status": ["SHIPPED"] * 2,
        ...     "observed_at": [d(1), d(3)], "estimated_delivery_date": [d(5), d(9)]})
        >>> promised_dates(ships, h).select("promised_date", "promise_source").row(0)
        (datetime.datetime(2026, 1, 5, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'first observed')
    """
    ships = _prep(
        shipments, "shipments", ("shipment_id",), populated=("estimated_delivery_date",),
        why="on time is measured against the promised delivery date",
    )  # fmt: skip
    current = ships.select("shipment_id", pl.col("estimated_delivery_date").alias("__current"))
    if shipment_status_history is not None:
        hist = _prep(
            shipment_status_history, "shipment_status_history", ("shipment_id", "observed_at")
        )
        if "estimated_delivery_date" in hist.collect_schema():
            first = (
                hist.filter(pl.col("estimated_delivery_date").is_not_null())
                .sort("observed_at")
                .group_by("shipment_id")
                .agg(pl.col("estimated_delivery_date").first().alias("__first"))
            )
            current = current.join(first, on="shipment_id", how="left")
    if "__first" not in current.collect_schema():
        current = current.with_columns(pl.lit(None).cast(pl.Datetime("us", "UTC")).alias("__first"))
    return (
        current.select(
            "shipment_id",
            pl.coalesce("__first", "__current").alias("promised_date"),
            pl.when(pl.col("__first").is_not_null())
            .then(pl.lit("first observed"))
            .when(pl.col("__current").is_not_null())
            .then(pl.lit("current estimate"))
            .otherwise(None)
            .alias("promise_source"),
        )
        .sort("shipment_id")
        .collect()
    )


#: What :func:`otif` can group by: name -> (column, where it comes from).
_OTIF_GROUPS = {
    "reseller": "reseller_id",
    "reseller_id": "reseller_id",
    "warehouse": "warehouse_id",
    "warehouse_id": "warehouse_id",
    "carrier": "carrier",
}


def _outcomes(
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
    shipment_lines: Frame,
    shipment_status_history: Frame | None,
    *,
    tolerance_days: int,
    as_of: datetime | None,
    level: str = "order",
) -> tuple[pl.LazyFrame, pl.LazyFrame, datetime]:
    """Per order or order line (of orders not cancelled): in_full, on_time, decided.

    Returns the units (``order_id`` [, ``line_number``], ``status``, ``reseller_id``,
    ``order_date``, ``in_full``, ``on_time``, ``decided``), the units' (not cancelled)
    shipments (unit keys, ``shipment_id``, ``carrier``, ``warehouse_id``) and ``as_of``.
    """
    if level not in ("order", "line"):
        raise ConfigError(f"otif level must be 'order' or 'line', not {level!r}")
    ords = _prep(orders, "orders", ("order_id", "status"))
    ships = _prep(shipments, "shipments", ("shipment_id", "order_id", "status"))
    end = _resolve_as_of(
        as_of, [(ships, _SHIPMENT_AS_OF_SOURCES), (ords, ("order_date", "updated_at"))]
    )
    cols = [c for c in ("reseller_id", "order_date") if c in ords.collect_schema()]
    per_line = _shipped_per_line(
        orders, order_lines, shipments, shipment_lines, include_cancelled=False,
        order_columns=cols, as_of=end,
    ).filter(pl.col("quantity_ordered") > 0)  # fmt: skip
    keys = ["order_id"] if level == "order" else ["order_id", "line_number"]
    in_full = per_line.group_by(keys).agg(
        (pl.col("quantity_shipped") >= pl.col("quantity_ordered")).all().alias("in_full")
    )
    promise = promised_dates(shipments, shipment_status_history).lazy()
    schema = ships.collect_schema()
    ships = ships.with_columns(
        [
            pl.lit(None, dtype=dtype).alias(c)
            for c, dtype in (
                ("delivered_date", pl.Datetime("us", "UTC")),
                ("carrier", pl.String()),
                ("warehouse_id", pl.String()),
            )
            if c not in schema
        ]
    )
    live = ships.filter(_status() != "CANCELLED").join(promise, on="shipment_id", how="left")
    if level == "order":
        unit_ships = live.select("order_id", "shipment_id")
    else:
        # which shipments ship a line: by line number, else by part (the order's lines of it)
        slines = _prep(shipment_lines, "shipment_lines", ("shipment_id", "order_id", "part_number"))
        if "line_number" not in slines.collect_schema():
            slines = slines.with_columns(pl.lit(None, dtype=pl.Int32).alias("line_number"))
        numbered = slines.filter(pl.col("line_number").is_not_null()).select(
            "order_id", pl.col("line_number").cast(pl.Int32), "shipment_id"
        )
        by_part = (
            slines.filter(pl.col("line_number").is_null())
            .select("order_id", "part_number", "shipment_id")
            .join(
                per_line.select("order_id", "part_number", pl.col("line_number").cast(pl.Int32)),
                on=["order_id", "part_number"],
                how="inner",
            )
            .select("order_id", "line_number", "shipment_id")
        )
        unit_ships = (
            pl.concat([numbered, by_part])
            .unique()
            .join(live.select("shipment_id"), on="shipment_id", how="semi")
        )
        per_line = per_line.with_columns(pl.col("line_number").cast(pl.Int32))
        in_full = in_full.with_columns(pl.col("line_number").cast(pl.Int32))
    unit_ships = unit_ships.join(
        live.select("shipment_id", "carrier", "warehouse_id", "delivered_date", "promised_date"),
        on="shipment_id",
        how="inner",
    )
    delivered = pl.col("delivered_date").is_not_null() & (pl.col("delivered_date") <= _lit_ts(end))
    due = pl.col("promised_date").dt.date() + pl.duration(days=tolerance_days)
    per_unit_ship = unit_ships.group_by(keys).agg(
        delivered.all().alias("__all_delivered"),
        (delivered & (pl.col("delivered_date").dt.date() <= due)).all().alias("__on_time"),
        pl.col("promised_date").is_null().any().alias("__no_promise"),
    )
    units = (
        per_line.select(*keys, *[c for c in cols if c not in keys]).unique(keys)
        if level == "line"
        else ords.filter(_status() != "CANCELLED").select("order_id", *cols)
    )
    status = ords.select("order_id", _status().alias("status"))
    out = (
        units.join(status, on="order_id", how="inner")
        .join(in_full, on=keys, how="inner")
        .join(per_unit_ship, on=keys, how="left")
        .with_columns(
            (
                pl.col("__all_delivered").fill_null(False)
                & (pl.col("in_full") | pl.col("status").is_in(list(_FINAL)))
                & ~pl.col("__no_promise").fill_null(True)
            ).alias("decided"),
            pl.col("__on_time").fill_null(False).alias("on_time"),
        )
        .drop("__all_delivered", "__on_time", "__no_promise")
    )
    return out, unit_ships.select(*keys, "shipment_id", "carrier", "warehouse_id"), end


def otif(
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
    shipment_lines: Frame,
    shipment_status_history: Frame | None = None,
    *,
    level: str = "order",
    tolerance_days: int = 0,
    by: str | None = None,
    period: str | None = None,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """On time in full, per order or per order line: the variant counted, stated.

    Definition (cancelled orders are excluded, lines ordering 0 ignored). A **unit** is an
    order (``level="order"``) or an order line (``level="line"``); a unit's shipments are
    the (not cancelled) shipments of the order, or those with a shipment line shipping the
    line (by ``line_number``; a shipment line without one ships the order's lines of its
    part):

    * **in full** = every line of the unit shipped at least its ordered quantity (shipped as
      in :func:`order_fill_rates`: shipments that left the warehouse by ``as_of``, capped);
    * **on time** = every shipment of the unit delivered by ``as_of`` on a UTC calendar day
      on or before its **promised date** + ``tolerance_days``; the promise is the first
      ``estimated_delivery_date`` the store observed (:func:`promised_dates`; the current
      estimate when the store kept no earlier one);
    * a unit is **decided** when it has shipments, all delivered and each with a promise,
      and it is in full or its order's status says nothing more will ship (``SHIPPED``,
      ``DELIVERED``, ``CLOSED``). Other units are **open**: counted in ``open_orders`` /
      ``open_lines``, never as a success or a failure;
    * ``otif_rate`` = decided units on time and in full / decided units;
      ``in_full_rate``, ``on_time_rate`` likewise over decided units.

    Grouping ``by``: ``"reseller"`` (the order's ``reseller_id``), ``"warehouse"`` (the
    shipments' ship-from ``warehouse_id``) or ``"carrier"``. A unit shipped from two
    warehouses (or by two carriers) counts in each of their groups, so group counts can add
    up to more than the total; a unit without shipments is in the null group (it is open).

    Args:
        orders, order_lines, shipments, shipment_lines: the typed tables.
        shipment_status_history: where the first observed estimates come from (optional).
        level: ``"order"`` or ``"line"``.
        tolerance_days: days late still counted on time.
        by: ``"reseller"``, ``"warehouse"``, ``"carrier"`` or None.
        period: calendar bucket of ``order_date`` (``"1mo"``, ...), output as ``period``.
        as_of: reference time (default: the latest timestamp in the data).

    Returns:
        ``[period], [group], orders | lines, open_orders | open_lines, decided, in_full,
        on_time, otif, in_full_rate, on_time_rate, otif_rate``.

    Raises:
        ConfigError: unknown ``level`` or ``by``; swapped frames.

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "reseller_id": ["r1"] * 3,
        ...     "status": ["DELIVERED", "DELIVERED", "OPEN"], "order_date": [d(1)] * 3})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "line_number": [1, 1, 1],
        ...     "part_number": ["A"] * 3, "quantity_ordered": [2, 2, 2]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o2"],
        ...     "status": ["DELIVERED"] * 2, "estimated_delivery_date": [d(5), d(5)],
        ...     "delivered_date": [d(5), d(7)]})
        >>> slines = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o2"],
        ...     "line_number": [1, 1], "part_number": ["A", "A"], "quantity": [2, 2]})
        >>> otif(orders, lines, ships, slines, as_of=d(9)).select(
        ...     "decided", "open_orders", "otif_rate").row(0)
        (2, 1, 0.5)
        >>> otif(orders, lines, ships, slines, level="line", as_of=d(9)).select(
        ...     "lines", "open_lines", "otif_rate").row(0)
        (3, 1, 0.5)
    """
    _check_frames(
        "otif",
        {"orders": orders, "order_lines": order_lines, "shipments": shipments,
         "shipment_lines": shipment_lines, "shipment_status_history": shipment_status_history},
    )  # fmt: skip
    if by is not None and by not in _OTIF_GROUPS:
        raise ConfigError(
            f"otif cannot group by {by!r}; choose reseller, warehouse, carrier or None"
        )
    outcomes, unit_ships, _ = _outcomes(
        orders, order_lines, shipments, shipment_lines, shipment_status_history,
        tolerance_days=tolerance_days, as_of=as_of, level=level,
    )  # fmt: skip
    unit_keys = ["order_id"] if level == "order" else ["order_id", "line_number"]
    keys: list[str] = []
    if by is not None:
        column = _OTIF_GROUPS[by]
        if column == "reseller_id":
            outcomes = _prep(outcomes, "orders", (), populated=("reseller_id",))
        else:
            groups = unit_ships.select(*unit_keys, column).unique()
            outcomes = outcomes.join(groups, on=unit_keys, how="left")
        keys.append(column)
    if period is not None:
        outcomes = outcomes.with_columns(pl.col("order_date").dt.truncate(period).alias("period"))
        keys.insert(0, "period")
    noun = "orders" if level == "order" else "lines"
    d = pl.col("decided")
    aggs = [
        pl.len().cast(pl.Int64).alias(noun),
        (~d).sum().cast(pl.Int64).alias(f"open_{noun}"),
        d.sum().cast(pl.Int64).alias("decided"),
        (d & pl.col("in_full")).sum().cast(pl.Int64).alias("in_full"),
        (d & pl.col("on_time")).sum().cast(pl.Int64).alias("on_time"),
        (d & pl.col("in_full") & pl.col("on_time")).sum().cast(pl.Int64).alias("otif"),
    ]
    grouped = outcomes.group_by(keys).agg(aggs) if keys else outcomes.select(aggs)
    out = grouped.with_columns(
        _share(pl.col("in_full"), pl.col("decided")).alias("in_full_rate"),
        _share(pl.col("on_time"), pl.col("decided")).alias("on_time_rate"),
        _share(pl.col("otif"), pl.col("decided")).alias("otif_rate"),
    )
    if keys:
        out = out.sort(keys, nulls_last=True)
    return out.collect()


def perfect_order_rate(
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
    shipment_lines: Frame,
    order_status_history: Frame,
    shipment_status_history: Frame | None = None,
    *,
    tolerance_days: int = 0,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """Perfect orders: in full, on time, not cancelled, never backordered along the way.

    Over the decided orders of :func:`otif` plus the cancelled orders (a cancelled order is
    decided and not perfect): perfect = in full **and** on time **and** not cancelled **and**
    no ``BACKORDERED`` status in its ``order_status_history``. The share failing each
    condition is reported (an order can fail several). SCOR's documentation and condition
    parts are not in the API data and are not counted.

    Returns:
        One row: ``orders, open_orders, decided, perfect, perfect_order_rate,
        failed_in_full, failed_on_time, cancelled, backordered`` (the last four as shares of
        decided orders).

    Example:
        >>> from datetime import datetime, UTC
        >>> d = lambda day: datetime(2026, 1, day, tzinfo=UTC)
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "reseller_id": ["r1"] * 3,
        ...     "status": ["DELIVERED", "DELIVERED", "CANCELLED"], "order_date": [d(1)] * 3})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "line_number": [1, 1, 1],
        ...     "part_number": ["A"] * 3, "quantity_ordered": [2, 2, 2]})
        >>> ships = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o2"],
        ...     "status": ["DELIVERED"] * 2, "estimated_delivery_date": [d(5), d(5)],
        ...     "delivered_date": [d(5), d(5)]})
        >>> slines = pl.DataFrame({"shipment_id": ["s1", "s2"], "order_id": ["o1", "o2"],
        ...     "line_number": [1, 1], "part_number": ["A", "A"], "quantity": [2, 2]})
        >>> osh = pl.DataFrame({"order_id": ["o2", "o2"], "status": ["BACKORDERED", "DELIVERED"],
        ...     "observed_at": [d(2), d(6)]})
        >>> perfect_order_rate(orders, lines, ships, slines, osh, as_of=d(9)).select(
        ...     "decided", "perfect", "backordered").row(0)
        (3, 1, 0.3333333333333333)
    """
    outcomes, _, _ = _outcomes(
        orders, order_lines, shipments, shipment_lines, shipment_status_history,
        tolerance_days=tolerance_days, as_of=as_of,
    )  # fmt: skip
    osh = _prep(order_status_history, "order_status_history", ("order_id", "status"))
    backordered = osh.filter(_status() == "BACKORDERED").select("order_id").unique()
    ords = _prep(orders, "orders", ("order_id", "status"))
    cancelled = ords.filter(_status() == "CANCELLED").select(
        "order_id",
        pl.lit(True).alias("decided"),
        pl.lit(False).alias("in_full"),
        pl.lit(False).alias("on_time"),
        pl.lit(True).alias("cancelled"),
    )
    rows = pl.concat(
        [
            outcomes.select("order_id", "decided", "in_full", "on_time").with_columns(
                pl.lit(False).alias("cancelled")
            ),
            cancelled,
        ]
    ).join(backordered.with_columns(pl.lit(True).alias("backordered")), on="order_id", how="left")
    rows = rows.with_columns(pl.col("backordered").fill_null(False))
    d = pl.col("decided")
    perfect = (
        d & pl.col("in_full") & pl.col("on_time") & ~pl.col("cancelled") & ~pl.col("backordered")
    )
    live = d & ~pl.col("cancelled")
    out = (
        rows.select(
            pl.len().cast(pl.Int64).alias("orders"),
            (~d).sum().cast(pl.Int64).alias("open_orders"),
            d.sum().cast(pl.Int64).alias("decided"),
            perfect.sum().cast(pl.Int64).alias("perfect"),
            (live & ~pl.col("in_full")).sum().alias("__fif"),
            (live & ~pl.col("on_time")).sum().alias("__fot"),
            (d & pl.col("cancelled")).sum().alias("__can"),
            (d & pl.col("backordered")).sum().alias("__bo"),
        )
        .with_columns(
            _share(pl.col("perfect"), pl.col("decided")).alias("perfect_order_rate"),
            _share(pl.col("__fif"), pl.col("decided")).alias("failed_in_full"),
            _share(pl.col("__fot"), pl.col("decided")).alias("failed_on_time"),
            _share(pl.col("__can"), pl.col("decided")).alias("cancelled"),
            _share(pl.col("__bo"), pl.col("decided")).alias("backordered"),
        )
        .drop("__fif", "__fot", "__can", "__bo")
    )
    return out.collect()
