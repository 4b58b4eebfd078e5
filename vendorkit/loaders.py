"""Module-level loaders: ``load_*()`` -> ``pl.DataFrame``, each a thin wrapper over a handle.

Analysts usually hold a handle (:func:`vendorkit.connect`) and call its ``load_*()``
methods; these functions open one for the call, for scripts. Every data loader has the same
shape::

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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from vendorkit import catalog
from vendorkit.errors import ConfigError
from vendorkit.store import Store

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
    "store_status",
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


def _load(
    table: str,
    settings: Settings | None,
    max_age: timedelta | str | float | None,
    refresh: bool,
) -> pl.DataFrame:
    from vendorkit.handle import one_shot

    with one_shot(settings, f"vendorkit.load_{table}()") as handle:
        return handle.load(table, max_age=max_age, refresh=refresh)


def load_inventory(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Stock per part and warehouse: the latest inventory snapshot.

    Columns: part_number, warehouse_id, warehouse_name, vendor_part_number,
    quantity_on_hand, quantity_backordered, quantity_on_order, last_updated.

    The same as ``vendorkit.connect(settings=settings).load_inventory(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_inventory(settings=s).height > 0
        True
    """
    return _load("inventory", settings, max_age, refresh)


def load_inventory_history(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Every inventory snapshot: one full copy of the inventory per sync.

    Columns: sync_id, snapshot_at (the API server's clock at that sync), then the inventory
    columns. Stock over time = group by ``sync_id``.

    The same as ``vendorkit.connect(settings=settings).load_inventory_history(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_inventory_history(settings=s).height > 0
        True
    """
    return _load("inventory_history", settings, max_age, refresh)


def load_orders(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Order headers, one row per order (latest version), canonical ``status`` enum.

    The same as ``vendorkit.connect(settings=settings).load_orders(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_orders(settings=s).height > 0
        True
    """
    return _load("orders", settings, max_age, refresh)


def load_order_lines(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Order lines, one row per (order_id, line_number); replaced when the order is re-sent.

    The same as ``vendorkit.connect(settings=settings).load_order_lines(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_order_lines(settings=s).height > 0
        True
    """
    return _load("order_lines", settings, max_age, refresh)


def load_shipments(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Shipments, one row per shipment (latest version), canonical ``status`` enum.

    The same as ``vendorkit.connect(settings=settings).load_shipments(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_shipments(settings=s).height > 0
        True
    """
    return _load("shipments", settings, max_age, refresh)


def load_shipment_lines(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Shipment lines, one row per (shipment_id, position); ``line_number`` = order line shipped.

    The same as ``vendorkit.connect(settings=settings).load_shipment_lines(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_shipment_lines(settings=s).height > 0
        True
    """
    return _load("shipment_lines", settings, max_age, refresh)


def load_order_status_history(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """One row per observed order status change (order_id, status, status_raw, observed_at).

    ``observed_at`` is the API server's clock of the sync that saw the change.

    The same as ``vendorkit.connect(settings=settings).load_order_status_history(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_order_status_history(settings=s).height > 0
        True
    """
    return _load("order_status_history", settings, max_age, refresh)


def load_shipment_status_history(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """One row per observed shipment status change (see :func:`load_order_status_history`).

    The same as ``vendorkit.connect(settings=settings).load_shipment_status_history(...)`` for one call
    (:meth:`vendorkit.handle.Handle.load`).

    Args:
        settings: configuration (default: from the environment; not ``:memory:``).
        max_age: sync first when the last sync of the endpoint is older than this.
        refresh: sync first, whatever the age.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_shipment_status_history(settings=s).height > 0
        True
    """
    return _load("shipment_status_history", settings, max_age, refresh)


def load_rejects(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Quarantined records: endpoint, sync_id, page/record, key, field, reason, raw record.

    One row per (record, failing field), newest first. Never triggers a first sync by
    itself; see :meth:`vendorkit.handle.Handle.rejects`.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     vk.load_rejects(settings=s).height
        0
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.load_rejects()", allow_memory=True) as handle:
        return handle.rejects(max_age=max_age, refresh=refresh)


def load_sync_log(
    *,
    settings: Settings | None = None,
    max_age: timedelta | str | None = None,
    refresh: bool = False,
) -> pl.DataFrame:
    """Every sync attempt per endpoint, newest first (times, source, counts, outcome, error).

    Failed attempts are kept (``outcome == "failed"`` with the error); their data was not
    written. Never triggers a first sync by itself; see :meth:`vendorkit.handle.Handle.sync_log`.

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     _ = vk.sync(["orders"], settings=s)
        ...     vk.load_sync_log(settings=s)["outcome"].to_list()
        ['ok']
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.load_sync_log()", allow_memory=True) as handle:
        return handle.sync_log(max_age=max_age, refresh=refresh)


_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "endpoint": pl.String(),
    "source": pl.String(),
    "last_sync_at": pl.Datetime("us", "UTC"),
    "age_s": pl.Int64(),
    "last_outcome": pl.String(),
    "last_error": pl.String(),
    "rows": pl.Int64(),
    "lines": pl.Int64(),
    "snapshots": pl.Int64(),
    "rejects": pl.Int64(),
    "updated_since": pl.Datetime("us", "UTC"),
    "unfinished_sync": pl.String(),
    "unfinished_pages": pl.Int64(),
    "unfinished_pages_total": pl.Int64(),
    "unfinished_age_s": pl.Int64(),
    "full_reads_forced": pl.Boolean(),
    "note": pl.String(),
}


def status(settings: Settings | None = None) -> pl.DataFrame:
    """Freshness and size of the store, one row per endpoint (:func:`store_status`). Never syncs.

    Example:
        >>> import vendorkit as vk
        >>> vk.status(vk.Settings(db=":memory:"))["rows"].to_list()
        [0, 0, 0]
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.status()", allow_memory=True) as handle:
        return handle.status()


def store_status(store: Store) -> pl.DataFrame:
    """Freshness and size of ``store``, one row per endpoint. Never syncs.

    Columns: endpoint, source (of the last successful sync), last_sync_at (its local
    finish time), age_s (whole seconds since then), last_outcome / last_error (of the latest
    attempt), rows (header rows; inventory = latest snapshot), lines (order/shipment lines),
    snapshots (inventory), rejects (quarantined rows), updated_since (next incremental cursor),
    then an unfinished sync, if any (``unfinished_sync`` id, ``unfinished_pages`` staged of
    ``unfinished_pages_total``, ``unfinished_age_s`` since its last checkpoint; the next
    sync resumes it), ``full_reads_forced`` (the server ignores ``updatedSince``) and
    ``note`` (the latest sync's note).

    Example:
        >>> with Store(":memory:") as store:
        ...     store_status(store).select("endpoint", "rows").rows()
        [('inventory', 0), ('orders', 0), ('shipments', 0)]
    """
    rows = []
    if not store.exists():
        rows = [{"endpoint": e, "rows": 0, "rejects": 0} for e in catalog.ENDPOINTS]
        return pl.DataFrame(rows, schema=_STATUS_SCHEMA)
    now = datetime.now(UTC)
    with store.read() as con:
        q = store._query
        log = q(
            con,
            "SELECT endpoint, outcome, error, note, finished_at, source, "
            "row_number() OVER (PARTITION BY endpoint ORDER BY started_at DESC) AS n, "
            "row_number() OVER (PARTITION BY endpoint, outcome = 'ok' "
            "ORDER BY started_at DESC) AS n_ok FROM sync_log",
        )
        counts: dict[str, int] = {}
        snapshots: dict[str, int] = {}
        for ep in catalog.ENDPOINTS.values():
            for table in ep.tables:
                if ep.write == "snapshot" and table == ep.table.name:
                    latest = store.latest_snapshot_id(con, ep.name)
                    history = ep.history_table
                    assert history is not None
                    counts[table] = (
                        q(
                            con,
                            f'SELECT count(*) FROM "{history.name}" WHERE sync_id = ?',
                            [latest],
                        ).item()
                        if latest
                        else 0
                    )
                    snaps = ep.snapshots_table
                    snapshots[ep.name] = q(con, f'SELECT count(*) FROM "{snaps}"').item()
                else:
                    counts[table] = q(con, f'SELECT count(*) AS n FROM "{table}"').item()
        rejects = dict(
            q(con, "SELECT endpoint, count(*) AS n FROM rejects GROUP BY endpoint").iter_rows()
        )
        cursors = dict(q(con, "SELECT endpoint, updated_since FROM cursors").iter_rows())
        has_checkpoints = q(
            con,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'sync_checkpoints'",
        ).item()
        unfinished = (
            {
                r["endpoint"]: r
                for r in q(
                    con,
                    "SELECT endpoint, sync_id, last_page, pages_total, updated_at, "
                    "row_number() OVER (PARTITION BY endpoint ORDER BY updated_at DESC) AS n "
                    "FROM sync_checkpoints",
                )
                .filter(pl.col("n") == 1)
                .iter_rows(named=True)
            }
            if has_checkpoints
            else {}
        )
        forced = {
            k.split(":", 1)[1]
            for (k,) in q(
                con, "SELECT key FROM vendorkit_meta WHERE key LIKE 'ignores_updated_since:%'"
            ).iter_rows()
        }
    for endpoint, ep in catalog.ENDPOINTS.items():
        mine = log.filter(pl.col("endpoint") == endpoint)
        last = mine.filter(pl.col("n") == 1)
        ok = mine.filter((pl.col("outcome") == "ok") & (pl.col("n_ok") == 1))
        last_at = ok["finished_at"][0] if ok.height else None
        header, *child = ep.tables
        open_sync = unfinished.get(endpoint)
        rows.append(
            {
                "endpoint": endpoint,
                "source": ok["source"][0] if ok.height else None,
                "last_sync_at": last_at,
                "age_s": int((now - last_at).total_seconds()) if last_at is not None else None,
                "last_outcome": last["outcome"][0] if last.height else None,
                "last_error": last["error"][0] if last.height else None,
                "rows": counts[header],
                "lines": counts[child[0]] if child else None,
                "snapshots": snapshots.get(endpoint),
                "rejects": rejects.get(endpoint, 0),
                "updated_since": cursors.get(endpoint),
                "unfinished_sync": open_sync["sync_id"] if open_sync else None,
                "unfinished_pages": open_sync["last_page"] if open_sync else None,
                "unfinished_pages_total": open_sync["pages_total"] if open_sync else None,
                "unfinished_age_s": (
                    int((now - open_sync["updated_at"]).total_seconds()) if open_sync else None
                ),
                "full_reads_forced": endpoint in forced,
                "note": last["note"][0] if last.height and "note" in last.columns else None,
            }
        )
    return pl.DataFrame(rows, schema=_STATUS_SCHEMA)
