"""The handle an analyst holds: settings + the DuckDB store + (lazily) the API client.

:func:`connect` returns a :class:`Handle`, in the spirit of ``sqlite_utils.Database``: one
object per store, used for everything, closed when done (or used as a context manager)::

    import vendorkit as vk

    with vk.connect() as h:            # the store named by VENDORKIT_DB (or the default file)
        h.sync()                       # incremental after the first full sync
        orders = h.load_orders()       # polars, validated, from the DuckDB cache

A handle on ``":memory:"`` keeps its data exactly as long as the handle lives: two such
handles are independent, and a handle never re-syncs behind your back (an endpoint is synced
on first load only when it was never synced *in this store*). The client (and, without
credentials, the built-in sandbox it talks to) is opened on the first sync and kept until
:meth:`Handle.close`, so successive syncs reuse one connection pool and one rate-limit pacer.

The module-level functions (``vendorkit.sync()``, ``vendorkit.load_orders()``, ...) are thin
wrappers that open a handle for the one call; they refuse ``VENDORKIT_DB=:memory:``, whose data
would vanish when the call returns.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from vendorkit import catalog
from vendorkit.errors import ConfigError, StoreError
from vendorkit.store import TABLE_SCHEMAS, Store, to_typed

if TYPE_CHECKING:
    from vendorkit.client import VendorClient
    from vendorkit.config import Settings
    from vendorkit.sync import SyncReport

__all__ = ["BoundCharts", "Handle", "connect", "endpoint_of_table", "loadable_tables", "one_shot"]

MaxAge = timedelta | str | float | None


def loadable_tables() -> tuple[str, ...]:
    """The typed tables :meth:`Handle.load` reads, in data-flow order (from the catalog).

    Example:
        >>> loadable_tables()[:3]
        ('inventory', 'inventory_history', 'orders')
    """
    return tuple(t.name for ep in catalog.ENDPOINTS.values() for t in ep.all_tables())


def endpoint_of_table(table: str) -> str:
    """The endpoint whose sync fills ``table``.

    Raises:
        ConfigError: ``table`` is not a loadable table.

    Example:
        >>> endpoint_of_table("order_lines"), endpoint_of_table("inventory_history")
        ('orders', 'inventory')
    """
    ep = catalog.endpoint_of(table)
    if ep is None:
        raise ConfigError(f"unknown table {table!r}; choose one of {', '.join(loadable_tables())}")
    return ep.name


def _settings_for(db: str | Path | None, settings: Settings | None) -> Settings:
    from vendorkit.config import Settings

    if settings is None:
        settings = Settings() if db is None else Settings(db=str(db))
    elif db is not None:
        settings = settings.model_copy(update={"db": str(db)})
    return settings


@contextlib.contextmanager
def one_shot(
    settings: Settings | None, what: str, *, allow_memory: bool = False
) -> Iterator[Handle]:
    """A handle for one module-level call (``vendorkit.sync()``, ``vendorkit.load_orders()``).

    Refuses an in-memory store unless ``allow_memory``: its data would vanish with the call.

    Raises:
        ConfigError: ``VENDORKIT_DB=:memory:`` for a call that needs the data to persist.

    Example:
        >>> from vendorkit.config import Settings
        >>> with one_shot(Settings(db=":memory:"), "vendorkit.load_orders()"):
        ...     pass
        Traceback (most recent call last):
        ...
        vendorkit.errors.ConfigError: VENDORKIT_DB=:memory: keeps data only while a handle is open, so vendorkit.load_orders() would sync into a store that vanishes when it returns; use `with vendorkit.connect(":memory:") as h: h.load_orders()` (or point VENDORKIT_DB at a file)
    """
    resolved = _settings_for(None, settings)
    if resolved.db_path == ":memory:" and not allow_memory:
        raise ConfigError(
            f"VENDORKIT_DB=:memory: keeps data only while a handle is open, so {what} would "
            "sync into a store that vanishes when it returns; use `with "
            'vendorkit.connect(":memory:") as h: h.load_orders()` (or point VENDORKIT_DB at '
            "a file)"
        )
    with Handle(resolved) as handle:
        yield handle


def connect(db: str | Path | None = None, *, settings: Settings | None = None) -> Handle:
    """Open a :class:`Handle` on a store.

    Args:
        db: the DuckDB file, or ``":memory:"`` for a throwaway store (default:
            ``settings.db_path``, i.e. ``VENDORKIT_DB`` or the platform data dir).
        settings: configuration (default: from the environment). ``db`` overrides its
            ``db``.

    Raises:
        ConfigError: invalid settings (the message names the ``VENDORKIT_`` variable).
        StoreError: the store file cannot be used.

    Example:
        >>> import vendorkit as vk
        >>> with vk.connect(":memory:") as h:
        ...     h.source, h.load_orders().height > 0
        ('sandbox', True)
    """
    return Handle(_settings_for(db, settings))


class Handle:
    """One store, its settings and (lazily) its client. Build it with :func:`connect`.

    Attributes:
        settings: the validated :class:`~vendorkit.config.Settings`.
        store: the :class:`~vendorkit.store.Store` (DuckDB file or in-memory database).

    Example:
        >>> import vendorkit as vk
        >>> h = vk.connect(":memory:")
        >>> h
        Handle(db=':memory:', source='sandbox')
        >>> h.close()
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self._client_stack = contextlib.ExitStack()
        self._client: VendorClient | None = None
        self._client_syncs = 0
        self._on_progress: Callable[[Any], None] | None = None
        self._lock = threading.RLock()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Handle(db={self.settings.db_path!r}, source={self.source!r})"

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client (and the sandbox it started) and the store. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._client_stack.close()
            finally:
                self._client = None
                self.store.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(
                f"this handle on {self.settings.db_path} is closed; open another with "
                "vendorkit.connect()"
            )

    @property
    def source(self) -> str:
        """``"sandbox"`` (no credentials configured) or ``"api"`` (the real Vendor API)."""
        return self.settings.source

    @property
    def client(self) -> VendorClient:
        """The API client, opened on first use and kept until :meth:`close`.

        Without credentials this starts the built-in sandbox on a loopback port, as it stands
        after the syncs this store has seen (see :meth:`sync`).
        """
        with self._lock:
            self._check_open()
            if self._client is None:
                self._open_client(self._syncs_seen())
            assert self._client is not None
            return self._client

    def _open_client(self, syncs_before: int) -> None:
        from vendorkit.client import open_client

        self._client_stack.close()
        self._client_stack = contextlib.ExitStack()
        self._client = self._client_stack.enter_context(
            open_client(
                self.settings, on_progress=self._progress, sandbox_syncs_before=syncs_before
            )
        )
        self._client_syncs = syncs_before

    def _syncs_seen(self) -> int:
        """How many syncs (distinct sync ids, any outcome) this store has logged."""
        if not self.store.exists():
            return 0
        frame = self.store.query("SELECT count(DISTINCT sync_id) AS n FROM sync_log")
        return int(frame["n"][0] or 0)

    @property
    def charts(self) -> BoundCharts:
        """:mod:`vendorkit.charts` with this handle's source filled in.

        ``h.charts.fill_rate_chart(rates)`` says "sandbox data" in its subtitle when the
        handle reads the sandbox, without passing ``source=``.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     chart = h.charts.stock_by_warehouse_chart(vk.stock_by_warehouse(h.load_inventory()))
            ...     "sandbox data" in str(chart.to_dict()["title"])
            True
        """
        return BoundCharts(self.source)

    def _progress(self, event: Any) -> None:
        callback = self._on_progress
        if callback is not None:
            callback(event)

    # -- syncing -----------------------------------------------------------------------

    def sync(
        self,
        endpoints: str | Iterable[str] | None = None,
        *,
        full: bool = False,
        on_progress: Callable[[Any], None] | None = None,
        raise_on_failure: bool = True,
        restart: bool = False,
    ) -> SyncReport:
        """Fetch endpoints from the Vendor API (or the sandbox) into the store.

        Incremental by default (``updatedSince`` = the last sync's server time minus an
        overlap), full on the first sync of an endpoint. Each endpoint commits atomically;
        a failed endpoint keeps its previous data.

        On the sandbox, the n-th sync of a store sees the sandbox world as it stands after n
        syncs: its clock one day later per sync, with a day's changes (stockouts that start
        and recover, estimates that slip, backorders that ship). Deterministic: the same
        store history gives the same data, in one process or across CLI runs.

        Args:
            endpoints: ``"inventory"``, ``"orders"``, ``"shipments"`` or a list (default: all).
            full: refetch everything (orders/shipments contents are replaced).
            on_progress: called with each progress event (e.g. ``vendorkit.progress.ProgressBars``).
            raise_on_failure: raise :class:`~vendorkit.errors.SyncError` when an endpoint
                failed (default); ``False`` returns the report instead.
            restart: discard an unfinished sync (by default it is resumed from the page
                after the last one stored) and start again from page 1.

        Returns:
            A :class:`~vendorkit.sync.SyncReport` (prints as a table).

        Raises:
            SyncError: an endpoint failed; an exception group of the endpoints' original
                exceptions (``except* vk.AuthError:`` catches bad credentials) whose
                ``.report`` still shows the endpoints that succeeded.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     report = h.sync(["inventory"])
            ...     report.ok, report["inventory"].loaded > 0
            (True, True)
        """
        from vendorkit.sync import resolve_endpoints, run_sync

        names = resolve_endpoints(endpoints)
        with self._lock:
            self._check_open()
            with self.store.sync_lock():
                client = self.client
                if self.source == "sandbox" and self._client_syncs != self._syncs_seen():
                    self._open_client(self._syncs_seen())  # the sandbox one day later
                    client = self.client
                self._on_progress = on_progress
                try:
                    report = run_sync(
                        self.store,
                        client,
                        names,
                        full=full,
                        retention=self.settings.archive_retention_syncs,
                        source=self.settings.source,
                        lock=False,
                        restart=restart,
                        cursor_overlap=timedelta(seconds=self.settings.cursor_overlap_s),
                    )
                finally:
                    self._on_progress = None
        if raise_on_failure:
            report.raise_for_failures()
        return report

    def replay(self, endpoints: str | Iterable[str] | None = None) -> SyncReport:
        """Rebuild the typed tables from the raw pages archived by the latest sync.

        No request is made: useful after a schema fix. See :func:`vendorkit.sync.run_replay`.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     _ = h.sync(["orders"])
            ...     h.replay(["orders"])["orders"].outcome
            'replayed'
        """
        from vendorkit.sync import run_replay

        with self._lock:
            self._check_open()
            return run_replay(self.store, endpoints)

    # -- loading -----------------------------------------------------------------------

    def _last_ok(self, endpoints: Iterable[str]) -> dict[str, datetime | None]:
        found: dict[str, datetime | None] = dict.fromkeys(endpoints)
        if not self.store.exists():
            return found
        frame = self.store.query(
            "SELECT endpoint, max(finished_at) AS last FROM sync_log "
            "WHERE outcome = 'ok' GROUP BY endpoint"
        )
        for endpoint, last in frame.iter_rows():
            if endpoint in found:
                found[endpoint] = last
        return found

    def _ensure_fresh(
        self,
        endpoints: Iterable[str],
        *,
        max_age: MaxAge,
        refresh: bool,
        sync_if_never: bool = True,
    ) -> None:
        from vendorkit.loaders import parse_max_age

        names = list(endpoints)
        limit = parse_max_age(max_age)
        if refresh:
            stale = names
        else:
            now = datetime.now(UTC)
            stale = [
                name
                for name, last in self._last_ok(names).items()
                if (last is None and (sync_if_never or limit is not None))
                or (last is not None and limit is not None and now - last > limit)
            ]
        if stale:
            self.sync(stale)

    def load(self, table: str, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """One typed table as a polars DataFrame, from the store.

        An endpoint never synced into this store is synced first (the store is a cache);
        ``max_age`` (``"30m"``, ``"1h"``, ``"2d"``, a ``timedelta`` or seconds) syncs first
        when the last successful sync is older; ``refresh=True`` always syncs first.

        Args:
            table: one of :func:`loadable_tables` (``inventory``, ``orders``, ...).
            max_age: sync first when the data is older than this.
            refresh: sync first, whatever the age.

        Raises:
            ConfigError: unknown table or bad ``max_age``.
            SyncError: the sync this load triggered failed.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load("order_lines").columns[:2]
            ['order_id', 'line_number']
        """
        endpoint = endpoint_of_table(table)
        with self._lock:
            self._check_open()
            self._ensure_fresh([endpoint], max_age=max_age, refresh=refresh)
            return self.store.read_table(table)

    def load_inventory(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Stock per part and warehouse: the latest inventory snapshot.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     inv = h.load_inventory()
            ...     inv.columns[:3], inv["quantity_on_hand"].min() >= 0
            (['part_number', 'warehouse_id', 'warehouse_name'], True)
        """
        return self.load("inventory", max_age=max_age, refresh=refresh)

    def load_inventory_history(
        self, *, max_age: MaxAge = None, refresh: bool = False
    ) -> pl.DataFrame:
        """Every inventory snapshot: one full copy of the inventory per sync.

        Columns: ``sync_id``, ``snapshot_at`` (the API server's clock at that sync), then the
        inventory columns. Stock over time = group by ``sync_id``.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load_inventory_history()["sync_id"].n_unique()
            1
        """
        return self.load("inventory_history", max_age=max_age, refresh=refresh)

    def load_orders(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Order headers, one row per order (latest version), canonical ``status`` enum.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     orders = h.load_orders()
            ...     orders["order_id"].is_unique().all()
            True
        """
        return self.load("orders", max_age=max_age, refresh=refresh)

    def load_order_lines(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Order lines, one row per (order_id, line_number); replaced when the order is re-sent.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load_order_lines().join(h.load_orders(), on="order_id").height > 0
            True
        """
        return self.load("order_lines", max_age=max_age, refresh=refresh)

    def load_order_status_history(
        self, *, max_age: MaxAge = None, refresh: bool = False
    ) -> pl.DataFrame:
        """One row per observed order status change (order_id, status, status_raw, observed_at).

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load_order_status_history().columns[:2]
            ['order_id', 'status']
        """
        return self.load("order_status_history", max_age=max_age, refresh=refresh)

    def load_shipments(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Shipments, one row per shipment (latest version), canonical ``status`` enum.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load_shipments()["shipment_id"].is_unique().all()
            True
        """
        return self.load("shipments", max_age=max_age, refresh=refresh)

    def load_shipment_lines(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Shipment lines, one row per (shipment_id, position); ``line_number`` = order line shipped.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load_shipment_lines()["quantity"].min() > 0
            True
        """
        return self.load("shipment_lines", max_age=max_age, refresh=refresh)

    def load_shipment_status_history(
        self, *, max_age: MaxAge = None, refresh: bool = False
    ) -> pl.DataFrame:
        """One row per observed shipment status change (see :meth:`load_order_status_history`).

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.load_shipment_status_history().columns[:2]
            ['shipment_id', 'status']
        """
        return self.load("shipment_status_history", max_age=max_age, refresh=refresh)

    def rejects(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Quarantined records: endpoint, sync_id, page/record, key, field, reason, raw record.

        One row per (record, failing field), newest first. Never triggers a first sync by
        itself (an empty quarantine is a valid answer); ``refresh``/``max_age`` sync all
        endpoints first.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.rejects().columns[:3]
            ['endpoint', 'sync_id', 'rejected_at']
        """
        with self._lock:
            self._check_open()
            self._ensure_fresh(
                catalog.ENDPOINT_NAMES, max_age=max_age, refresh=refresh, sync_if_never=False
            )
            if not self.store.exists():
                with Store(":memory:") as empty:
                    return empty.read_rejects()
            return self.store.read_rejects()

    def sync_log(self, *, max_age: MaxAge = None, refresh: bool = False) -> pl.DataFrame:
        """Every sync attempt per endpoint, newest first (times, source, counts, outcome, error).

        Failed attempts are kept (``outcome == "failed"`` with the error); their data was not
        written. Never triggers a first sync by itself.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     _ = h.sync(["orders"])
            ...     h.sync_log().select("endpoint", "outcome").row(0)
            ('orders', 'ok')
        """
        with self._lock:
            self._check_open()
            self._ensure_fresh(
                catalog.ENDPOINT_NAMES, max_age=max_age, refresh=refresh, sync_if_never=False
            )
            if not self.store.exists():
                return pl.DataFrame(schema=TABLE_SCHEMAS["sync_log"])
            cols = ", ".join(f'"{c}"' for c in TABLE_SCHEMAS["sync_log"])
            frame = self.store.query(
                f"SELECT {cols} FROM sync_log ORDER BY started_at DESC, endpoint"
            )
            return to_typed("sync_log", frame)

    def status(self) -> pl.DataFrame:
        """Freshness and size of the store, one row per endpoint. Never syncs.

        Columns: endpoint, source, last_sync_at, age_s, last_outcome, last_error, rows,
        lines, snapshots, rejects, updated_since (see :func:`vendorkit.loaders.status`).

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     h.status()["rows"].to_list()
            [0, 0, 0]
        """
        from vendorkit.loaders import store_status

        with self._lock:
            self._check_open()
            return store_status(self.store)

    def check(
        self,
        endpoints: str | Iterable[str] | None = None,
        *,
        max_age: MaxAge = "2d",
        max_reject_share: float = 0.05,
        min_rows: int = 1,
    ) -> pl.DataFrame:
        """Check the store is fit to analyse; raise :class:`~vendorkit.errors.DataCheckError` if not.

        Per endpoint: synced at least once, the last successful sync younger than
        ``max_age``, at least ``min_rows`` rows, and rejects of the last sync at most
        ``max_reject_share`` of the records it fetched. The curated notebooks run this as
        their validation on a real store. Never syncs.

        Returns:
            One row per (endpoint, check): value, limit, ok.

        Raises:
            DataCheckError: a check failed; the message lists every failure.

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     _ = h.sync(["orders"])
            ...     h.check("orders")["ok"].all()
            True
        """
        from vendorkit.errors import DataCheckError
        from vendorkit.loaders import parse_max_age
        from vendorkit.sync import resolve_endpoints

        names = resolve_endpoints(endpoints)
        limit = parse_max_age(max_age)
        status = {r["endpoint"]: r for r in self.status().iter_rows(named=True)}
        log = self.sync_log().filter(pl.col("outcome") == "ok")
        rows: list[dict[str, Any]] = []
        for name in names:
            st = status.get(name, {})
            last = log.filter(pl.col("endpoint") == name).head(1)
            fetched = int(last["fetched"][0] or 0) if last.height else 0
            rejected = int(last["rejected"][0] or 0) if last.height else 0
            share = rejected / fetched if fetched else 0.0
            age = st.get("age_s")
            rows += [
                {
                    "endpoint": name,
                    "check": "synced",
                    "value": float(last.height > 0),
                    "limit": 1.0,
                    "ok": last.height > 0,
                },
                {
                    "endpoint": name,
                    "check": "age_s",
                    "value": None if age is None else float(age),
                    "limit": None if limit is None else limit.total_seconds(),
                    "ok": age is not None and (limit is None or age <= limit.total_seconds()),
                },
                {
                    "endpoint": name,
                    "check": "rows",
                    "value": float(st.get("rows") or 0),
                    "limit": float(min_rows),
                    "ok": (st.get("rows") or 0) >= min_rows,
                },
                {
                    "endpoint": name,
                    "check": "reject_share",
                    "value": share,
                    "limit": max_reject_share,
                    "ok": share <= max_reject_share,
                },
            ]
        frame = pl.DataFrame(
            rows,
            schema={
                "endpoint": pl.String,
                "check": pl.String,
                "value": pl.Float64,
                "limit": pl.Float64,
                "ok": pl.Boolean,
            },
        )
        failed = frame.filter(~pl.col("ok"))
        if failed.height:
            detail = "; ".join(
                f"{r['endpoint']} {r['check']}={r['value']} (limit {r['limit']})"
                for r in failed.iter_rows(named=True)
            )
            raise DataCheckError(
                f"the store {self.settings.db_path} failed {failed.height} check(s): {detail}; "
                "run `vendorkit sync` (and `vendorkit rejects` to see what was quarantined)"
            )
        return frame

    def changes(
        self, *, since: str | None = None, until: str | None = None, **options: Any
    ) -> pl.DataFrame:
        """What changed between two syncs of this store (default: the last two).

        :func:`vendorkit.changes_since` over this store's tables: new and recovered
        stockouts, quantity moves, orders turned backordered / on hold / cancelled,
        shipments turned late, every status transition. Never syncs.

        Args:
            since: the earlier sync id (default: the sync before ``until``).
            until: the later sync id (default: the latest).
            **options: passed to :func:`vendorkit.changes_since` (``window_days``, ...).

        Example:
            >>> import vendorkit as vk
            >>> with vk.connect(":memory:") as h:
            ...     _ = h.sync(), h.sync()
            ...     h.changes()["kind"].cast(str).is_in(vk.analysis.CHANGE_KINDS).all()
            True
        """
        from vendorkit.analysis import changes_since

        with self._lock:
            self._check_open()
            read = self.store.read_table
            return changes_since(
                read("inventory_history"),
                read("orders"),
                read("order_lines"),
                read("shipments"),
                read("order_status_history"),
                read("shipment_status_history"),
                since=since,
                until=until,
                **options,
            )

    def export_parquet(
        self, out_dir: str | os.PathLike[str], *, tables: Iterable[str] | None = None
    ) -> dict[str, Path]:
        """Write the typed tables as hive-partitioned zstd Parquet under ``out_dir``.

        ``inventory_history`` is partitioned by snapshot date, orders and their lines by
        order month, shipments and their lines by ship month (see
        :func:`vendorkit.export.export_store`); each table's folder is replaced.

        Args:
            out_dir: output folder (created).
            tables: a subset of the tables (default: all).

        Returns:
            table name -> the folder holding its Parquet files.

        Example:
            >>> import tempfile, vendorkit as vk
            >>> with vk.connect(":memory:") as h, tempfile.TemporaryDirectory() as out:
            ...     _ = h.sync(["orders"])
            ...     "orders" in h.export_parquet(out)
            True
        """
        from vendorkit.export import export_store

        with self._lock:
            self._check_open()
            return export_store(self.store, out_dir, tables=tables)


class BoundCharts:
    """Every chart function of :mod:`vendorkit.charts` with ``source=`` bound.

    Attribute access returns the chart function with the handle's source as the default
    ``source``; an explicit ``source=`` still wins. Names that take no ``source`` (such as
    ``save_chart``) are returned unchanged.

    Example:
        >>> BoundCharts("sandbox").save_chart.__name__
        'save_chart'
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"BoundCharts(source={self.source!r})"

    def __getattr__(self, name: str) -> Any:
        import functools
        import inspect

        from vendorkit import charts

        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(charts, name)
        if callable(value) and "source" in inspect.signature(value).parameters:

            @functools.wraps(value)
            def bound(*args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("source", self.source)
                return value(*args, **kwargs)

            return bound
        return value

    def __dir__(self) -> list[str]:
        from vendorkit import charts

        return [n for n in dir(charts) if not n.startswith("_")]
