"""What changed between two syncs: stockouts, big stock moves, order and shipment turns.

:func:`changes_since` compares the store's state at two syncs (default: the last two) using
only what the store keeps: the inventory history (one full snapshot per sync) and the
status histories (a row each time a sync sees an order's or a shipment's status change).
It returns one tidy frame, one row per change, so a scheduled job can filter by ``kind``
and alert on what matters (``vendorkit changes --fail-on new_stockout,shipment_late``).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from vendorkit.analysis.common import (
    _UTC,
    Frame,
    _check_frames,
    _lit_ts,
    _prep,
    _status,
)
from vendorkit.errors import ConfigError

__all__ = ["CHANGE_KINDS", "changes_since", "sync_points"]

#: Every ``kind`` :func:`changes_since` reports, in its output order.
CHANGE_KINDS: tuple[str, ...] = (
    "new_stockout",
    "recovered_stockout",
    "quantity_move",
    "order_backordered",
    "order_on_hold",
    "order_cancelled",
    "shipment_late",
    "order_status",
    "shipment_status",
)
_KIND_ENUM = pl.Enum(list(CHANGE_KINDS))
_ORDER_TURNS = {
    "BACKORDERED": "order_backordered",
    "ON_HOLD": "order_on_hold",
    "CANCELLED": "order_cancelled",
}

_OUT_SCHEMA: dict[str, pl.DataType] = {
    "kind": _KIND_ENUM,
    "observed_at": _UTC,
    "sync_id": pl.String(),
    "part_number": pl.String(),
    "warehouse_id": pl.String(),
    "order_id": pl.String(),
    "shipment_id": pl.String(),
    "before": pl.String(),
    "after": pl.String(),
    "quantity_before": pl.Int64(),
    "quantity_after": pl.Int64(),
    "detail": pl.String(),
}


def _empty_history(key: str) -> pl.DataFrame:
    return pl.DataFrame(
        schema={key: pl.String, "status": pl.String, "observed_at": _UTC, "sync_id": pl.String}
    )


def sync_points(*histories: Frame | None) -> pl.DataFrame:
    """The syncs the histories know, oldest first: ``sync_id, at``.

    ``at`` is the sync's time as the store recorded it (``snapshot_at`` of the inventory
    history, ``observed_at`` of a status history; the earliest when they differ). Syncs are
    ordered by ``at``, then by ``sync_id`` (sortable: it starts with the sync's UTC time).

    Example:
        >>> from datetime import datetime, UTC
        >>> h = pl.DataFrame({"sync_id": ["b", "a"], "snapshot_at": [datetime(2026, 1, 2,
        ...     tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)], "part_number": ["A", "A"],
        ...     "warehouse_id": ["10", "10"], "quantity_on_hand": [1, 2]})
        >>> sync_points(h)["sync_id"].to_list()
        ['a', 'b']
    """
    parts = []
    for frame in histories:
        if frame is None:
            continue
        lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
        schema = lf.collect_schema()
        time = "snapshot_at" if "snapshot_at" in schema else "observed_at"
        if "sync_id" not in schema or time not in schema:
            continue
        lf = _prep(lf, "inventory_history", ())  # normalises timestamps to UTC
        parts.append(lf.select(pl.col("sync_id").cast(pl.String), pl.col(time).alias("at")))
    if not parts:
        return pl.DataFrame(schema={"sync_id": pl.String, "at": _UTC})
    return (
        pl.concat(parts).group_by("sync_id").agg(pl.col("at").min()).sort("at", "sync_id").collect()
    )


def _resolve_syncs(points: pl.DataFrame, since: str | None, until: str | None) -> tuple[
    tuple[str | None, datetime | None], tuple[str, datetime]
]:  # fmt: skip
    ids = points["sync_id"].to_list()
    times = dict(zip(ids, points["at"].to_list(), strict=True))
    if not ids:
        raise ConfigError(
            "changes_since needs at least one sync in the histories: run `vendorkit sync` "
            "(twice, to have something to compare)"
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None and value not in times:
            raise ConfigError(
                f"{name}={value!r} is not a sync the histories know; choose one of "
                f"{', '.join(ids[-5:])} (the latest five; see vendorkit.load_sync_log())"
            )
    end = until if until is not None else ids[-1]
    if since is None:
        position = ids.index(end)
        start = ids[position - 1] if position > 0 else None
    else:
        start = since
    if start is not None and (times[start], start) >= (times[end], end):
        raise ConfigError(f"since={start!r} is not before until={end!r}: swap them")
    return (start, times[start] if start else None), (end, times[end])


def _snapshot(history: pl.LazyFrame, sync_id: str | None, at: datetime | None) -> pl.LazyFrame:
    """The inventory snapshot of a sync (or the latest at or before ``at``); keyed rows."""
    keys = ["part_number", "warehouse_id"]
    if sync_id is None or at is None:
        return pl.LazyFrame(
            schema={
                "part_number": pl.String,
                "warehouse_id": pl.String,
                "quantity_on_hand": pl.Int64,
            }
        )
    exact = history.filter(pl.col("sync_id") == sync_id)
    before = (
        history.filter(pl.col("snapshot_at") <= _lit_ts(at))
        .select("sync_id", "snapshot_at")
        .unique()
        .sort("snapshot_at", "sync_id")
        .tail(1)
        .select("sync_id")
    )
    chosen = pl.concat([exact.select("sync_id").unique(), before]).head(1)
    return (
        history.join(chosen, on="sync_id", how="semi")
        .group_by(keys)
        .agg(pl.col("quantity_on_hand").sum().cast(pl.Int64))
    )


def _status_at(history: pl.LazyFrame, key: str, at: datetime | None) -> pl.LazyFrame:
    """Per entity: its status as last observed at or before ``at`` (``key, status``)."""
    if at is None:
        return history.filter(pl.lit(False)).select(key, _status().alias("status"))
    return (
        history.filter(pl.col("observed_at") <= _lit_ts(at))
        .sort("observed_at", "sync_id")
        .group_by(key)
        .agg(_status().last().alias("status"))
    )


def changes_since(
    inventory_history: Frame,
    orders: Frame,
    order_lines: Frame,
    shipments: Frame,
    order_status_history: Frame,
    shipment_status_history: Frame,
    *,
    since: str | None = None,
    until: str | None = None,
    window_days: int = 28,
    move_min_units: int = 10,
    move_min_share: float = 0.5,
) -> pl.DataFrame:
    """Every change between two syncs, one row per change, most alarming kinds first.

    The two syncs: ``until`` (default: the latest sync the histories know) and ``since``
    (default: the sync before it); sync ids as in ``vendorkit.load_sync_log()``. "At a sync"
    means at its time (``snapshot_at`` / ``observed_at``). Kinds (``CHANGE_KINDS``):

    * ``new_stockout``: a part × warehouse with ``quantity_on_hand > 0`` in the ``since``
      snapshot and ``<= 0`` in the ``until`` snapshot, **with demand**: units ordered on
      non-cancelled orders dated in the ``window_days`` days up to the ``until`` sync
      (per part × warehouse when the order lines carry a warehouse, else per part);
    * ``recovered_stockout``: ``<= 0`` before, ``> 0`` after (any demand);
    * ``quantity_move``: on hand moved by at least ``move_min_units`` units **and** at least
      ``move_min_share`` of the earlier quantity (of 1 when it was 0), either way; records
      that appear or vanish between the snapshots are not moves;
    * ``order_backordered`` / ``order_on_hold`` / ``order_cancelled``: an order whose status
      history shows it turning ``BACKORDERED`` / ``ON_HOLD`` / ``CANCELLED`` in a sync after
      ``since`` up to ``until`` (a new order first seen in that status counts);
    * ``shipment_late``: a shipment late at the ``until`` sync and not at the ``since`` sync.
      Late at a time T = not cancelled, its status at T (from the status history) is not
      ``DELIVERED``, no ``delivered_date`` at or before T, and its
      ``estimated_delivery_date`` falls on a UTC calendar day before T's;
    * ``order_status`` / ``shipment_status``: every status transition in those syncs, with
      ``before`` (null for an entity first seen), ``after`` and ``observed_at``.

    Args:
        inventory_history: ``inventory_history`` typed table (one snapshot per sync).
        orders: ``orders`` typed table (for the demand window).
        order_lines: ``order_lines`` typed table (for the demand window).
        shipments: ``shipments`` typed table (estimates and delivery dates).
        order_status_history: ``order_status_history`` typed table.
        shipment_status_history: ``shipment_status_history`` typed table.
        since: the earlier sync id (default: the one before ``until``).
        until: the later sync id (default: the latest).
        window_days: demand window for ``new_stockout``.
        move_min_units: smallest absolute move reported as ``quantity_move``.
        move_min_share: smallest relative move reported as ``quantity_move``.

    Returns:
        ``kind, observed_at, sync_id, part_number, warehouse_id, order_id, shipment_id,
        before, after, quantity_before, quantity_after, detail``, sorted by kind (in
        ``CHANGE_KINDS`` order), then time, then keys. ``observed_at`` / ``sync_id`` say when
        the change was seen (the ``until`` sync for inventory and lateness).

    Raises:
        ConfigError: unknown sync ids, ``since`` not before ``until``, swapped frames.

    Example:
        >>> from datetime import datetime, UTC
        >>> t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
        >>> hist = pl.DataFrame({"sync_id": ["s1", "s2"], "snapshot_at": [t1, t2],
        ...     "part_number": ["A", "A"], "warehouse_id": ["10", "10"],
        ...     "quantity_on_hand": [5, 0]})
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"],
        ...     "status": ["BACKORDERED"], "order_date": [t2]})
        >>> lines = pl.DataFrame({"order_id": ["o1"], "part_number": ["A"],
        ...     "quantity_ordered": [3], "warehouse_id": ["10"]})
        >>> ships = pl.DataFrame(schema={"shipment_id": pl.String, "order_id": pl.String,
        ...     "status": pl.String, "carrier": pl.String})
        >>> osh = pl.DataFrame({"order_id": ["o1", "o1"], "status": ["OPEN", "BACKORDERED"],
        ...     "observed_at": [t1, t2], "sync_id": ["s1", "s2"]})
        >>> ssh = pl.DataFrame(schema={"shipment_id": pl.String, "status": pl.String,
        ...     "observed_at": pl.Datetime("us", "UTC"), "sync_id": pl.String})
        >>> changes_since(hist, orders, lines, ships, osh, ssh)["kind"].cast(str).to_list()
        ['new_stockout', 'order_backordered', 'order_status']
    """
    _check_frames(
        "changes_since",
        {
            "inventory_history": inventory_history,
            "orders": orders,
            "order_lines": order_lines,
            "shipments": shipments,
            "order_status_history": order_status_history,
            "shipment_status_history": shipment_status_history,
        },
    )
    hist = _prep(
        inventory_history,
        "inventory_history",
        ("sync_id", "snapshot_at", "part_number", "warehouse_id", "quantity_on_hand"),
    )
    osh = _prep(
        order_status_history,
        "order_status_history",
        ("order_id", "status", "observed_at", "sync_id"),
    )
    ssh = _prep(
        shipment_status_history,
        "shipment_status_history",
        ("shipment_id", "status", "observed_at", "sync_id"),
    )
    points = sync_points(hist, osh, ssh)
    (start_id, start_at), (end_id, end_at) = _resolve_syncs(points, since, until)
    parts: list[pl.LazyFrame] = []

    # ---- inventory: stockouts and moves between the two snapshots
    keys = ["part_number", "warehouse_id"]
    before = _snapshot(hist, start_id, start_at).rename({"quantity_on_hand": "quantity_before"})
    after = _snapshot(hist, end_id, end_at).rename({"quantity_on_hand": "quantity_after"})
    both = before.join(after, on=keys, how="inner")
    from vendorkit.analysis.inventory import days_of_supply  # no import cycle at module load

    demand = days_of_supply(
        after.rename({"quantity_after": "quantity_on_hand"}),
        orders,
        order_lines,
        window_days=window_days,
        as_of=end_at,
    )
    demand_keys = [k for k in keys if k in demand.columns]
    with_demand = (
        demand.lazy().filter(pl.col("units_ordered") > 0).select(*demand_keys, "units_ordered")
    )
    qb, qa = pl.col("quantity_before"), pl.col("quantity_after")
    delta = (qa - qb).abs()
    inv_rows = [
        both.filter((qb > 0) & (qa <= 0))
        .join(with_demand, on=demand_keys, how="inner")
        .with_columns(
            pl.lit("new_stockout").alias("kind"),
            pl.format(
                "{} units ordered in the last {} days", pl.col("units_ordered"), pl.lit(window_days)
            ).alias("detail"),
        ),
        both.filter((qb <= 0) & (qa > 0)).with_columns(
            pl.lit("recovered_stockout").alias("kind"),
            pl.lit(None, dtype=pl.String).alias("detail"),
        ),
        both.filter(
            (delta >= move_min_units)
            & (delta.cast(pl.Float64) >= move_min_share * pl.max_horizontal(qb, pl.lit(1)))
        ).with_columns(
            pl.lit("quantity_move").alias("kind"),
            pl.format("{} units", (qa - qb)).alias("detail"),
        ),
    ]
    for frame in inv_rows:
        parts.append(
            frame.select(
                pl.col("kind"),
                _lit_ts(end_at).alias("observed_at"),
                pl.lit(end_id).alias("sync_id"),
                *keys,
                pl.col("quantity_before").cast(pl.String).alias("before"),
                pl.col("quantity_after").cast(pl.String).alias("after"),
                pl.col("quantity_before").cast(pl.Int64),
                pl.col("quantity_after").cast(pl.Int64),
                "detail",
            )
        )

    # ---- status transitions seen in the syncs after `since` up to `until`
    def transitions(history: pl.LazyFrame, key: str) -> pl.LazyFrame:
        ordered = history.with_columns(_status().alias("status")).sort("observed_at", "sync_id")
        with_prev = ordered.with_columns(
            pl.col("status").shift(1).over(key, order_by=["observed_at", "sync_id"]).alias("__prev")
        )
        window = pl.col("observed_at") <= _lit_ts(end_at)
        if start_at is not None:
            window &= pl.col("observed_at") > _lit_ts(start_at)
        return with_prev.filter(window & (pl.col("status") != pl.col("__prev")).fill_null(True))

    order_turns = transitions(osh, "order_id")
    parts.append(
        order_turns.filter(pl.col("status").is_in(list(_ORDER_TURNS))).select(
            pl.col("status").replace_strict(_ORDER_TURNS).alias("kind"),
            "observed_at",
            pl.col("sync_id").cast(pl.String),
            "order_id",
            pl.col("__prev").alias("before"),
            pl.col("status").alias("after"),
        )
    )
    parts.append(
        order_turns.select(
            pl.lit("order_status").alias("kind"),
            "observed_at",
            pl.col("sync_id").cast(pl.String),
            "order_id",
            pl.col("__prev").alias("before"),
            pl.col("status").alias("after"),
        )
    )
    parts.append(
        transitions(ssh, "shipment_id").select(
            pl.lit("shipment_status").alias("kind"),
            "observed_at",
            pl.col("sync_id").cast(pl.String),
            "shipment_id",
            pl.col("__prev").alias("before"),
            pl.col("status").alias("after"),
        )
    )

    # ---- shipments that became late
    ships = _prep(shipments, "shipments", ("shipment_id", "order_id", "status"))
    schema = ships.collect_schema()
    if "estimated_delivery_date" in schema:
        if "delivered_date" not in schema:
            ships = ships.with_columns(pl.lit(None, dtype=_UTC).alias("delivered_date"))

        def late_at(at: datetime | None) -> pl.LazyFrame:
            if at is None:
                return ships.filter(pl.lit(False)).select("shipment_id")
            status = _status_at(ssh, "shipment_id", at)
            return (
                ships.filter(_status() != "CANCELLED")
                .join(status.rename({"status": "__at"}), on="shipment_id", how="left")
                .filter(
                    (pl.col("__at").fill_null("") != "DELIVERED")
                    & (pl.col("__at").fill_null("") != "CANCELLED")
                    & ~(pl.col("delivered_date") <= _lit_ts(at)).fill_null(False)
                    & (pl.col("estimated_delivery_date").dt.date() < _lit_ts(at).dt.date())
                )
                .select("shipment_id")
            )

        newly = late_at(end_at).join(late_at(start_at), on="shipment_id", how="anti")
        parts.append(
            ships.join(newly, on="shipment_id", how="semi").select(
                pl.lit("shipment_late").alias("kind"),
                _lit_ts(end_at).alias("observed_at"),
                pl.lit(end_id).alias("sync_id"),
                "shipment_id",
                "order_id",
                pl.format(
                    "estimated {}",
                    pl.col("estimated_delivery_date").dt.strftime("%Y-%m-%d"),
                ).alias("detail"),
            )
        )

    template = pl.LazyFrame(schema=_OUT_SCHEMA)
    rows = [
        p.with_columns(
            [
                pl.lit(None, dtype=dtype).alias(c)
                for c, dtype in _OUT_SCHEMA.items()
                if c not in p.collect_schema()
            ]
        ).select([pl.col(c).cast(dtype) for c, dtype in _OUT_SCHEMA.items()])
        for p in parts
    ]
    out = pl.concat([template, *rows]).sort(
        "kind", "observed_at", "part_number", "warehouse_id", "order_id", "shipment_id",
        nulls_last=True,
    )  # fmt: skip
    return out.collect()
