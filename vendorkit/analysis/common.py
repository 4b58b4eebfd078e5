"""What every analysis helper shares: column checks, hints, time and share arithmetic.

Internal to :mod:`vendorkit.analysis` (the helpers' modules import from here). Three jobs:

* :func:`_prep` checks a frame's columns (absent, or null in every row for seed-only data)
  and raises :class:`~vendorkit.errors.MissingFieldError` naming the column and the API
  field that fills it; it also normalises timestamps to ``Datetime(us, UTC)``;
* :func:`check_frames` recognises each frame argument by its columns, so a swapped pair
  (``order_lines`` passed where ``orders`` belongs) gets an error that says so instead of a
  misleading "load it with ...";
* small expression builders (days between timestamps, null-safe shares, delivery state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType

import polars as pl

from vendorkit.errors import ConfigError, MissingFieldError

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
    """Inventory history -> its latest snapshot; plain inventory passes through.

    The latest snapshot is one sync: the one with the latest ``snapshot_at``, ties broken
    by the (sortable) ``sync_id``, so two syncs sharing a timestamp never add up.
    """
    schema = lf.collect_schema()
    if "snapshot_at" not in schema:
        return lf
    if "sync_id" not in schema:
        return lf.filter(pl.col("snapshot_at") == pl.col("snapshot_at").max())
    latest = (
        lf.select("snapshot_at", "sync_id")
        .unique()
        .sort("snapshot_at", "sync_id", nulls_last=False)
        .tail(1)
        .select("sync_id")
    )
    return lf.join(latest, on="sync_id", how="semi")


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


# --------------------------------------------------------------------------- shipments

_SHIPMENT_AS_OF_SOURCES = ("ship_date", "delivered_date", "updated_at")


def _shipments_with_orders(
    helper: str,
    orders: Frame,
    shipments: Frame,
    *,
    include_cancelled: bool,
    order_columns: Sequence[str],
    populated: Sequence[str],
    why: str = "",
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Shipments (not cancelled) joined to their order's columns; also the two inputs."""
    _check_frames(helper, {"orders": orders, "shipments": shipments})
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


def _columns(frame: Frame) -> list[str]:
    return list(frame.collect_schema().names())


# --------------------------------------------------------------------------- frame order

#: How each typed table is recognised by its columns (first match wins, see _looks_like).
_LOAD_HINT: Mapping[str, str] = MappingProxyType(
    {
        "inventory": "vendorkit.load_inventory()",
        "inventory_history": "vendorkit.load_inventory_history()",
        "orders": "vendorkit.load_orders()",
        "order_lines": "vendorkit.load_order_lines()",
        "shipments": "vendorkit.load_shipments()",
        "shipment_lines": "vendorkit.load_shipment_lines()",
        "order_status_history": "vendorkit.load_order_status_history()",
        "shipment_status_history": "vendorkit.load_shipment_status_history()",
    }
)


def _looks_like(columns: Iterable[str]) -> str | None:
    """Which typed table a frame with these columns is, or None when it is not clear.

    The tell-tale columns: ``observed_at`` (a status history), ``quantity_on_hand``
    (inventory; with ``snapshot_at`` its history), ``quantity_ordered`` (order lines),
    ``shipment_id`` (shipments; with ``part_number`` their lines), ``order_id`` with
    ``reseller_id`` or ``order_date`` (orders).
    """
    cols = set(columns)
    if "observed_at" in cols:
        if "shipment_id" in cols:
            return "shipment_status_history"
        return "order_status_history" if "order_id" in cols else None
    if "quantity_on_hand" in cols:
        return "inventory_history" if "snapshot_at" in cols else "inventory"
    if "quantity_ordered" in cols:
        return "order_lines"
    if "shipment_id" in cols:
        return "shipment_lines" if "part_number" in cols or "quantity" in cols else "shipments"
    if "order_id" in cols and ({"reseller_id", "order_date", "reseller_name"} & cols):
        return "orders"
    return None


#: Tables accepted where another is expected (a history reduces to its latest snapshot).
_ACCEPTED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"inventory": ("inventory", "inventory_history")}
)


def _check_frames(helper: str, frames: Mapping[str, Frame | None]) -> None:
    """Raise ConfigError when a frame argument looks like another typed table.

    ``frames`` maps each argument name (= the table expected) to the frame passed, in the
    helper's argument order. Frames whose table cannot be told from the columns pass (the
    column checks of :func:`_prep` then speak).
    """
    seen: dict[str, str] = {}
    for argument, frame in frames.items():
        if frame is None:
            continue
        got = _looks_like(_columns(frame))
        if got is None or got in _ACCEPTED.get(argument, (argument,)):
            continue
        if argument == "inventory_history" and got == "inventory":
            continue  # the column check says "load the inventory history" more helpfully
        seen[argument] = got
    if not seen:
        return
    order = ", ".join(frames)
    # swapped: the frame for a looks like g, and the frame for g is not a g either
    swapped = [(a, g) for a, g in seen.items() if g in seen]
    if swapped:
        what = "; ".join(f"the frame passed as {a} looks like {g}" for a, g in swapped)
        raise ConfigError(
            f"{helper}({order}): {what}: the frames look swapped; pass them in this order "
            "(the data flow: inventory, orders, order_lines, shipments, shipment_lines, "
            "histories)"
        )
    argument, got = next(iter(seen.items()))
    raise ConfigError(
        f"{helper}({order}): the frame passed as {argument} looks like {got}, not "
        f"{argument}; pass {_LOAD_HINT.get(argument, argument)} there"
    )
