"""The front door for analysts: ``load_*()`` -> ``pl.DataFrame`` from the DuckDB cache.

Every data loader has the same shape::

    load_x(*, settings=None, max_age=None, refresh=False) -> pl.DataFrame

- ``refresh=True`` syncs the endpoint first;
- ``max_age`` (``timedelta`` or text like ``"30m"``, ``"1h"``, ``"2d"``, ``"1h30m"``) syncs
  first when the last successful sync of the endpoint is older than that;
- an endpoint that was never synced is synced on first load (the cache is a cache), so
  ``vendorkit.load_orders()`` works in a fresh notebook.

Frames come out of DuckDB through Arrow (never row by row) with exactly the columns and
dtypes of ``docs/ARCHITECTURE.md``: statuses are ``pl.Enum``, timestamps
``Datetime("us", "UTC")``. A failed sync raises (the message names the endpoint and cause)
rather than silently returning stale data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from vendorkit.endpoints import ENDPOINT_NAMES
from vendorkit.errors import ConfigError
from vendorkit.store import ENDPOINT_TABLES, TABLE_SCHEMAS, Store, to_typed

if TYPE_CHECKING:
    from vendorkit.config import Settings

__all__ = [
    "load_inventory",
    "load_inventory_history",
    "load_order_lines",
    "load_order_status_history",
    "load_orders",
    "load_rejects",
    "load_shipment_lines",
    "load_shipment_status_history",
    "load_shipments",
    "load_sync_log",
    "parse_max_age",
    "status",
]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_max_age(max_age: timedelta | str | float | None) -> timedelta | None:
    """Turn ``"1h"``, ``"30m"``, ``"1h30m"``, ``"2d"``, seconds or a timedelta into a timedelta.

    Raises:
        ConfigError: text that is not a duration, or a negative one.

    Example:
        >>> parse_max_age("1h30m")
        datetime.timedelta(seconds=5400)
        >>> parse_max_age(None) is None
        True
    """
    if max_age is None:
        return None
    if isinstance(max_age, timedelta):
        value = max_age
    elif isinstance(max_age, int | float) and not isinstance(max_age, bool):
        value = timedelta(seconds=max_age)
    elif isinstance(max_age, str):
        text = max_age.strip().lower().replace(" ", "")
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ConfigError(
                f"max_age={max_age!r} is not a duration; use e.g. '30m', '1h', '2d', '1h30m' "
                "or a datetime.timedelta"
            )
        value = timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    else:
        raise ConfigError(f"max_age must be a timedelta, a text like '1h' or None, not {max_age!r}")
    if value < timedelta(0):
        raise ConfigError(f"max_age must not be negative (got {max_age!r})")
    return value


def _settings(settings: Settings | None) -> Settings:
    from vendorkit.config import Settings

    return settings or Settings()


def _last_ok(store: Store, endpoints: Iterable[str]) -> dict[str, datetime | None]:
    names = list(endpoints)
    found: dict[str, datetime | None] = dict.fromkeys(names)
    if not store.exists():
        return found
    frame = store.query(
        "SELECT endpoint, max(finished_at) AS last FROM sync_log "
        "WHERE outcome = 'ok' GROUP BY endpoint"
    )
    for endpoint, last in frame.iter_rows():
        if endpoint in found:
            found[endpoint] = last
    return found


def _ensure_fresh(
    settings: Settings,
    store: Store,
    endpoints: Iterable[str],
    *,
    max_age: timedelta | str | float | None,
    refresh: bool,
    sync_if_never: bool = True,
) -> None:
    from vendorkit.sync import sync

    names = list(endpoints)
    limit = parse_max_age(max_age)
    if refresh:
        stale = names
    else:
        now = datetime.now(UTC)
        stale = [
            name
            for name, last in _last_ok(store, names).items()
            if (last is None and (sync_if_never or limit is not None))
            or (last is not None and limit is not None and now - last > limit)
        ]
    if stale:
        sync(stale, settings=settings).raise_for_failures()


def _load(
    table: str,
    endpoint: str,
    settings: Settings | None,
    max_age: timedelta | str | float | None,
    refresh: bool,
) -> pl.DataFrame:
    from vendorkit.sync import open_store

    settings = _settings(settings)
    store = open_store(settings)
    _ensure_fresh(settings, store, [endpoint], max_age=max_age, refresh=refresh)
    return store.read_table(table)


def load_inventory(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Stock per part and warehouse: the latest inventory snapshot.

    Columns: part_number, warehouse_id, warehouse_name, vendor_part_number,
    quantity_on_hand, quantity_backordered, quantity_on_order, last_updated.

    Args:
        settings: configuration (default: from the environment).
        max_age: sync first when the last inventory sync is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import vendorkit
        >>> inv = vendorkit.load_inventory(max_age="1h")  # doctest: +SKIP
        >>> inv.group_by("warehouse_id").agg(pl.col("quantity_on_hand").sum())  # doctest: +SKIP
    """
    return _load("inventory", "inventory", settings, max_age, refresh)


def load_inventory_history(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Every inventory snapshot: one full copy of the inventory per sync.

    Columns: sync_id, snapshot_at (the API server's clock at that sync), then the inventory
    columns. Stock over time = group by ``snapshot_at``.

    Example:
        >>> import vendorkit
        >>> hist = vendorkit.load_inventory_history()  # doctest: +SKIP
        >>> hist.group_by("snapshot_at").agg(pl.col("quantity_on_hand").sum())  # doctest: +SKIP
    """
    return _load("inventory_history", "inventory", settings, max_age, refresh)


def load_orders(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Order headers, one row per order (latest version), canonical ``status`` enum.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_orders()["status"].value_counts()  # doctest: +SKIP
    """
    return _load("orders", "orders", settings, max_age, refresh)


def load_order_lines(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Order lines, one row per (order_id, line_number); replaced when the order is re-sent.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_order_lines().join(vendorkit.load_orders(), on="order_id")  # doctest: +SKIP
    """
    return _load("order_lines", "orders", settings, max_age, refresh)


def load_shipments(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Shipments, one row per shipment (latest version), canonical ``status`` enum.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_shipments(max_age="15m").height  # doctest: +SKIP
    """
    return _load("shipments", "shipments", settings, max_age, refresh)


def load_shipment_lines(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Shipment lines, one row per (shipment_id, position); ``line_number`` = order line shipped.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_shipment_lines()["quantity"].sum()  # doctest: +SKIP
    """
    return _load("shipment_lines", "shipments", settings, max_age, refresh)


def load_order_status_history(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """One row per observed order status change (order_id, status, status_raw, observed_at).

    ``observed_at`` is the API server's clock of the sync that saw the change.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_order_status_history().filter(pl.col("order_id") == "1001")  # doctest: +SKIP
    """
    return _load("order_status_history", "orders", settings, max_age, refresh)


def load_shipment_status_history(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """One row per observed shipment status change (see :func:`load_order_status_history`).

    Example:
        >>> import vendorkit
        >>> vendorkit.load_shipment_status_history().height  # doctest: +SKIP
    """
    return _load("shipment_status_history", "shipments", settings, max_age, refresh)


def load_rejects(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Quarantined records: endpoint, sync_id, page/record, key, field, reason, raw record.

    One row per (record, failing field), newest first. Never triggers a first sync by
    itself (an empty quarantine is a valid answer); ``refresh``/``max_age`` sync all
    endpoints first.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_rejects().group_by("endpoint", "reason").len()  # doctest: +SKIP
    """
    from vendorkit.sync import open_store

    settings = _settings(settings)
    store = open_store(settings)
    _ensure_fresh(
        settings, store, ENDPOINT_NAMES, max_age=max_age, refresh=refresh, sync_if_never=False
    )
    if not store.exists():
        return store_empty_rejects()
    return store.read_rejects()


def store_empty_rejects() -> pl.DataFrame:
    """The (empty) rejects frame of a store that was never synced."""
    with Store(":memory:") as empty:
        return empty.read_rejects()


def load_sync_log(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Every sync attempt per endpoint, newest first (times, source, counts, outcome, error).

    Failed attempts are kept (``outcome == "failed"`` with the error); their data was not
    written. Like :func:`load_rejects`, never triggers a first sync by itself.

    Example:
        >>> import vendorkit
        >>> vendorkit.load_sync_log().select("endpoint", "outcome", "loaded")  # doctest: +SKIP
    """
    from vendorkit.sync import open_store

    settings = _settings(settings)
    store = open_store(settings)
    _ensure_fresh(
        settings, store, ENDPOINT_NAMES, max_age=max_age, refresh=refresh, sync_if_never=False
    )
    if not store.exists():
        return pl.DataFrame(schema=TABLE_SCHEMAS["sync_log"])
    cols = ", ".join(f'"{c}"' for c in TABLE_SCHEMAS["sync_log"])
    frame = store.query(f"SELECT {cols} FROM sync_log ORDER BY started_at DESC, endpoint")
    return to_typed("sync_log", frame)


_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "endpoint": pl.String(),
    "source": pl.String(),
    "last_sync_at": pl.Datetime("us", "UTC"),
    "age": pl.Duration("us"),
    "last_outcome": pl.String(),
    "last_error": pl.String(),
    "rows": pl.Int64(),
    "lines": pl.Int64(),
    "snapshots": pl.Int64(),
    "rejects": pl.Int64(),
    "updated_since": pl.Datetime("us", "UTC"),
}


def status(settings: Settings | None = None) -> pl.DataFrame:
    """Freshness and size of the cache, one row per endpoint.

    Columns: endpoint, source (of the last successful sync), last_sync_at (its local
    finish time), age, last_outcome / last_error (of the latest attempt), rows (header rows;
    inventory = latest snapshot), lines (order/shipment lines), snapshots (inventory),
    rejects (quarantined rows), updated_since (next incremental cursor). Never syncs.

    Example:
        >>> import vendorkit
        >>> vendorkit.status().select("endpoint", "age", "rows", "rejects")  # doctest: +SKIP
    """
    from vendorkit.sync import open_store

    store = open_store(_settings(settings))
    rows = []
    if not store.exists():
        rows = [{"endpoint": e, "rows": 0, "rejects": 0} for e in ENDPOINT_NAMES]
        return pl.DataFrame(rows, schema=_STATUS_SCHEMA)
    now = datetime.now(UTC)
    with store.read() as con:
        q = store._query
        log = q(
            con,
            "SELECT endpoint, outcome, error, finished_at, source, "
            "row_number() OVER (PARTITION BY endpoint ORDER BY started_at DESC) AS n, "
            "row_number() OVER (PARTITION BY endpoint, outcome = 'ok' "
            "ORDER BY started_at DESC) AS n_ok FROM sync_log",
        )
        counts = {
            table: q(con, f'SELECT count(*) AS n FROM "{table}"').item()
            for table in ("orders", "order_lines", "shipments", "shipment_lines")
        }
        latest = store.latest_snapshot_id(con)
        counts["inventory"] = (
            q(con, "SELECT count(*) FROM inventory_history WHERE sync_id = ?", [latest]).item()
            if latest
            else 0
        )
        snapshots = q(con, "SELECT count(*) FROM inventory_snapshots").item()
        rejects = dict(
            q(con, "SELECT endpoint, count(*) AS n FROM rejects GROUP BY endpoint").iter_rows()
        )
        cursors = dict(q(con, "SELECT endpoint, updated_since FROM cursors").iter_rows())
    for endpoint in ENDPOINT_NAMES:
        mine = log.filter(pl.col("endpoint") == endpoint)
        last = mine.filter(pl.col("n") == 1)
        ok = mine.filter((pl.col("outcome") == "ok") & (pl.col("n_ok") == 1))
        last_at = ok["finished_at"][0] if ok.height else None
        header, *child = ENDPOINT_TABLES[endpoint]
        rows.append(
            {
                "endpoint": endpoint,
                "source": ok["source"][0] if ok.height else None,
                "last_sync_at": last_at,
                "age": (now - last_at) if last_at is not None else None,
                "last_outcome": last["outcome"][0] if last.height else None,
                "last_error": last["error"][0] if last.height else None,
                "rows": counts[header],
                "lines": counts[child[0]] if child else None,
                "snapshots": snapshots if endpoint == "inventory" else None,
                "rejects": rejects.get(endpoint, 0),
                "updated_since": cursors.get(endpoint),
            }
        )
    return pl.DataFrame(rows, schema=_STATUS_SCHEMA)
