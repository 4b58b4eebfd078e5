"""The DuckDB store: typed tables, raw page archive, sync log, cursors, locking.

One DuckDB file (``Settings.db_path``; ``VENDORKIT_DB`` overrides; ``:memory:`` for tests)
holds everything. Tables:

=========================  ===============================================================
``raw_pages``              every page body as served (zstd-compressed), per sync/endpoint
``sync_log``               one row per (sync, endpoint): times, source, counts, outcome
``cursors``                per endpoint: ``updated_since`` for the next incremental sync
``inventory_snapshots``    one row per inventory snapshot (sync id, order, server time)
``inventory_history``      every inventory snapshot (``sync_id``, ``snapshot_at`` + columns)
``inventory`` (view)       the latest snapshot
``orders``, ``order_lines``, ``shipments``, ``shipment_lines``  upserted by key
``order_status_history``, ``shipment_status_history``  a row each time a status changes
``rejects``                quarantined records (``Batch.rejects`` + ``rejected_at``)
=========================  ===============================================================

Concurrency: connections are short-lived. DuckDB allows one read-write process *or* many
read-only processes per file, so readers (:meth:`Store.read`) open ``read_only`` and retry
briefly while a writer holds the file, then raise :class:`StoreLockedError` naming the
holder's PID. Syncs additionally take an exclusive advisory lock on ``<db>.lock``
(:meth:`Store.sync_lock`) so two syncs never interleave. Every DuckDB exception is wrapped
in :class:`StoreError` naming the file and what to do.

SQL is built only from the whitelisted identifiers below; values are bound parameters.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from vendorkit.errors import StoreError, StoreLockedError
from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES

__all__ = [
    "ENDPOINT_TABLES",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "CursorState",
    "Store",
    "typed_empty",
]

_TS = pl.Datetime("us", "UTC")

#: The typed tables (ARCHITECTURE.md), column order and polars dtypes as ``load_*()`` returns.
TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "inventory": {
        "part_number": pl.String(),
        "warehouse_id": pl.String(),
        "warehouse_name": pl.String(),
        "vendor_part_number": pl.String(),
        "quantity_on_hand": pl.Int64(),
        "quantity_backordered": pl.Int64(),
        "quantity_on_order": pl.Int64(),
        "last_updated": _TS,
    },
    "orders": {
        "order_id": pl.String(),
        "reseller_id": pl.String(),
        "reseller_name": pl.String(),
        "status": pl.Enum(ORDER_STATUSES),
        "status_raw": pl.String(),
        "order_date": _TS,
        "updated_at": _TS,
        "currency_code": pl.String(),
    },
    "order_lines": {
        "order_id": pl.String(),
        "line_number": pl.Int32(),
        "part_number": pl.String(),
        "quantity_ordered": pl.Int64(),
        "quantity_confirmed": pl.Int64(),
        "quantity_backordered": pl.Int64(),
        "unit_price": pl.Float64(),
        "warehouse_id": pl.String(),
    },
    "shipments": {
        "shipment_id": pl.String(),
        "order_id": pl.String(),
        "carrier": pl.String(),
        "tracking_number": pl.String(),
        "status": pl.Enum(SHIPMENT_STATUSES),
        "status_raw": pl.String(),
        "warehouse_id": pl.String(),
        "ship_date": _TS,
        "estimated_delivery_date": _TS,
        "delivered_date": _TS,
        "updated_at": _TS,
    },
    "shipment_lines": {
        "shipment_id": pl.String(),
        "position": pl.Int32(),
        "order_id": pl.String(),
        "line_number": pl.Int32(),
        "part_number": pl.String(),
        "quantity": pl.Int64(),
    },
}
TABLE_SCHEMAS["inventory_history"] = {
    "sync_id": pl.String(),
    "snapshot_at": _TS,
    **TABLE_SCHEMAS["inventory"],
}
for _entity, _key in (("order", "order_id"), ("shipment", "shipment_id")):
    TABLE_SCHEMAS[f"{_entity}_status_history"] = {
        _key: pl.String(),
        "status": TABLE_SCHEMAS[f"{_entity}s"]["status"],
        "status_raw": pl.String(),
        "observed_at": _TS,
        "sync_id": pl.String(),
    }
TABLE_SCHEMAS["sync_log"] = {
    "sync_id": pl.String(),
    "endpoint": pl.String(),
    "source": pl.String(),
    "started_at": _TS,
    "finished_at": _TS,
    "server_date": _TS,
    "outcome": pl.String(),
    "full_refresh": pl.Boolean(),
    "passes": pl.Int32(),
    "pages": pl.Int64(),
    "requests": pl.Int64(),
    "fetched": pl.Int64(),
    "loaded": pl.Int64(),
    "rejected": pl.Int64(),
    "deduplicated": pl.Int64(),
    "coerced": pl.Int64(),
    "unknown_status": pl.Int64(),
    "error": pl.String(),
}

#: Keys of the typed tables (unique per table; history tables are logs, not keyed).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "inventory": ("part_number", "warehouse_id"),
    "inventory_history": ("sync_id", "part_number", "warehouse_id"),
    "orders": ("order_id",),
    "order_lines": ("order_id", "line_number"),
    "shipments": ("shipment_id",),
    "shipment_lines": ("shipment_id", "position"),
    "order_status_history": ("order_id", "observed_at", "sync_id"),
    "shipment_status_history": ("shipment_id", "observed_at", "sync_id"),
    "sync_log": ("sync_id", "endpoint"),
}

#: Which typed tables each endpoint feeds (first = the header table).
ENDPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "inventory": ("inventory",),
    "orders": ("orders", "order_lines"),
    "shipments": ("shipments", "shipment_lines"),
}
#: child table -> (header table, the column linking them)
_CHILDREN: dict[str, tuple[str, str]] = {
    "order_lines": ("orders", "order_id"),
    "shipment_lines": ("shipments", "shipment_id"),
}
_STATUS_HISTORY: dict[str, tuple[str, str]] = {
    "orders": ("order_status_history", "order_id"),
    "shipments": ("shipment_status_history", "shipment_id"),
}
#: Rejects are stored as ``Batch.rejects`` sends them; these columns are guaranteed.
_REJECT_BASE_COLUMNS = {"endpoint": "VARCHAR", "sync_id": "VARCHAR", "rejected_at": "TIMESTAMPTZ"}
#: The columns ``vendorkit.schemas`` quarantines records with (Rejects model).
_REJECT_COLUMNS = {
    "page_number": "INTEGER",
    "record_index": "INTEGER",
    "record_key": "VARCHAR",
    "field": "VARCHAR",
    "reason": "VARCHAR",
    "raw_record": "VARCHAR",
}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_PID = re.compile(r"PID (\d+)")


def _q(name: str) -> str:
    """Quote a whitelisted identifier (refuses anything that is not snake_case)."""
    if not _IDENT.match(name):
        raise StoreError(f"refusing to use {name!r} as an SQL identifier")
    return f'"{name}"'


def _duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.String | pl.Enum | pl.Categorical):
        return "VARCHAR"
    mapping = {
        pl.Int64: "BIGINT",
        pl.Int32: "INTEGER",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
    }
    for cls, name in mapping.items():
        if isinstance(dtype, cls):
            return name
    raise StoreError(f"no DuckDB type for polars dtype {dtype}")  # pragma: no cover


def _ddl(table: str) -> str:
    cols = ", ".join(f"{_q(c)} {_duck_type(t)}" for c, t in TABLE_SCHEMAS[table].items())
    return f"CREATE TABLE IF NOT EXISTS {_q(table)} ({cols})"


_STATIC_DDL = (
    """CREATE TABLE IF NOT EXISTS raw_pages (
        sync_id VARCHAR, endpoint VARCHAR, pass_number SMALLINT, page_number INTEGER,
        fetched_at TIMESTAMPTZ, status_code SMALLINT, correlation_id VARCHAR,
        records_found BIGINT, server_date TIMESTAMPTZ, encoding VARCHAR, body_size BIGINT,
        body BLOB)""",
    """CREATE TABLE IF NOT EXISTS cursors (
        endpoint VARCHAR, updated_since TIMESTAMPTZ, last_sync_id VARCHAR,
        last_full_sync_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS inventory_snapshots (
        sync_id VARCHAR, seq BIGINT, snapshot_at TIMESTAMPTZ, full_refresh BOOLEAN,
        row_count BIGINT)""",
    "CREATE TABLE IF NOT EXISTS vendorkit_meta (key VARCHAR, value VARCHAR)",
)


def _inventory_view_ddl() -> str:
    cols = ", ".join(_q(c) for c in TABLE_SCHEMAS["inventory"])
    return (
        f"CREATE OR REPLACE VIEW inventory AS SELECT {cols} FROM inventory_history "
        "WHERE sync_id = (SELECT sync_id FROM inventory_snapshots ORDER BY seq DESC LIMIT 1)"
    )


SCHEMA_VERSION = "1"
#: DuckDB memory limit of a write connection (keeps a 1M-row sync's peak RSS bounded).
WRITE_MEMORY_LIMIT = "128MB"  # 256MB peaked at ~588 MiB on a 1M-row sync, 128MB at ~540-565 MiB


def typed_empty(table: str) -> pl.DataFrame:
    """An empty frame with exactly the columns and dtypes of ``table``.

    Example:
        >>> typed_empty("orders").columns[:3]
        ['order_id', 'reseller_id', 'reseller_name']
    """
    return pl.DataFrame(schema=TABLE_SCHEMAS[table])


def to_typed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast a frame read from DuckDB back to the table's polars dtypes (enums, UTC, Int32).

    Example:
        >>> to_typed("orders", typed_empty("orders")).schema["status"]
        Enum(categories=['OPEN', 'PROCESSING', 'ON_HOLD', 'BACKORDERED', 'PARTIALLY_SHIPPED', 'SHIPPED', 'DELIVERED', 'CLOSED', 'CANCELLED', 'UNKNOWN'])
    """
    schema = TABLE_SCHEMAS[table]
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            current = frame.schema[name]
            if isinstance(current, pl.Datetime) and current.time_zone is not None:
                col = col.dt.convert_time_zone("UTC")
            col = col.cast(dtype)
        else:
            col = col.cast(dtype)
        exprs.append(col)
    return frame.select(exprs)


def _for_duckdb(frame: pl.DataFrame) -> pl.DataFrame:
    """Enums and categoricals travel as plain strings (the tables store VARCHAR)."""
    casts = [
        pl.col(n).cast(pl.String)
        for n, t in frame.schema.items()
        if isinstance(t, pl.Enum | pl.Categorical)
    ]
    return frame.with_columns(casts) if casts else frame


@dataclass(frozen=True, slots=True)
class CursorState:
    """Where the next incremental sync of one endpoint starts.

    Attributes:
        endpoint: endpoint name.
        updated_since: send this as ``updatedSince`` (server clock, overlap already applied).
        last_sync_id: the sync that set it.
        last_full_sync_at: server time of the last full refresh.
    """

    endpoint: str
    updated_since: datetime | None
    last_sync_id: str | None
    last_full_sync_at: datetime | None


def _first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed query, fetched completely.

    DuckDB 2 keeps a result "unfinished" after ``fetchone()``, which blocks ``register``
    and ``sql`` on the same connection, so rows are always fetched with ``fetchall()``.
    """
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None


def _holder(text: str) -> str:
    match = _PID.search(text)
    return f"process {match.group(1)}" if match else "another process"


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc)
    return (
        "Could not set lock" in text
        or "Conflicting lock" in text
        or "different configuration" in text
    )


class Store:
    """A handle on one DuckDB store file (or an in-memory database).

    Connections are opened per operation (:meth:`read`, :meth:`write`) and closed right
    after, so other processes can use the file in between. An in-memory store keeps one
    connection for the object's life (close it with :meth:`close` or ``with Store(...)``).

    Args:
        path: a file path or ``":memory:"``.
        lock_timeout_s: how long a sync waits for another sync's lock, and a writer for
            readers to let go of the file, before raising :class:`StoreLockedError`.
        read_retry_s: how long a reader waits while a writer holds the file.

    Example:
        >>> with Store(":memory:") as store:
        ...     store.table_names()[:2]
        ['cursors', 'inventory']
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        lock_timeout_s: float = 30.0,
        read_retry_s: float = 10.0,
    ) -> None:
        self.path = str(path)
        self.in_memory = self.path == ":memory:"
        self.lock_timeout_s = lock_timeout_s
        self.read_retry_s = read_retry_s
        self._memory_con: duckdb.DuckDBPyConnection | None = None
        self._memory_lock = threading.RLock()
        self._schema_ready = False
        if self.in_memory:
            self._memory_con = duckdb.connect(":memory:")
            self._memory_con.execute("SET TimeZone = 'UTC'")
            self._create_schema(self._memory_con)
        else:
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Any) -> Store:
        """Open the store named by ``settings.db_path``.

        Example:
            >>> from vendorkit.config import Settings
            >>> Store.from_settings(Settings(db=":memory:")).in_memory
            True
        """
        return cls(settings.db_path)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the in-memory connection (file stores hold no connection between calls)."""
        if self._memory_con is not None:
            self._memory_con.close()
            self._memory_con = None

    def exists(self) -> bool:
        """True when the store holds data (a file on disk, or an open in-memory store)."""
        return self._memory_con is not None if self.in_memory else Path(self.path).exists()

    # -- connections -------------------------------------------------------------------

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        budget = self.read_retry_s if read_only else self.lock_timeout_s
        deadline = time.monotonic() + budget
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(self.path, read_only=read_only)
                con.execute("SET TimeZone = 'UTC'")
                return con
            except duckdb.Error as exc:
                if not _is_lock_conflict(exc):
                    raise StoreError(
                        f"cannot open the vendorkit store {self.path}: {exc}. Check the "
                        "path and permissions, or point VENDORKIT_DB at another file"
                    ) from exc
                if time.monotonic() >= deadline:
                    mode = "read" if read_only else "write"
                    raise StoreLockedError(
                        f"the vendorkit store {self.path} is locked by {_holder(str(exc))} "
                        f"(waited {budget:g}s to {mode}); wait for it to finish (a running "
                        "`vendorkit sync` or a notebook holding a connection) and retry",
                        holder=_holder(str(exc)),
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection (retries while a writer holds the file).

        Raises:
            StoreError: the store file does not exist yet or cannot be opened.
            StoreLockedError: a writer kept the file longer than ``read_retry_s``.

        Example:
            >>> with Store(":memory:") as store, store.read() as con:
            ...     con.execute("SELECT count(*) FROM orders").fetchall()
            [(0,)]
        """
        if self._memory_con is not None:
            with self._memory_lock:
                try:
                    yield self._memory_con
                except duckdb.Error as exc:
                    raise self._failed("reading", exc) from exc
            return
        if self.in_memory:
            raise StoreError("this in-memory store was closed; create a new Store")
        if not Path(self.path).exists():
            raise StoreError(
                f"the vendorkit store {self.path} does not exist yet: run `vendorkit sync` "
                "(or vendorkit.sync()) first"
            )
        con = self._connect(read_only=True)
        try:
            yield con
        except duckdb.Error as exc:
            raise self._failed("reading", exc) from exc
        finally:
            con.close()

    def _failed(self, action: str, exc: duckdb.Error) -> StoreError:
        """A :class:`StoreError` for a DuckDB error, naming the file and what to do."""
        hint = (
            "nothing was changed; check free disk space and permissions, then retry"
            if action == "writing"
            else "if the file comes from another vendorkit version, move it away and sync again"
        )
        return StoreError(f"{action} the vendorkit store {self.path} failed: {exc}; {hint}")

    @contextlib.contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short write transaction: everything inside commits together or not at all.

        Raises:
            StoreError: the write failed (the transaction was rolled back).
            StoreLockedError: readers or another writer kept the file too long.

        Example:
            >>> with Store(":memory:") as store:
            ...     with store.write() as con:
            ...         _ = con.execute("INSERT INTO cursors (endpoint) VALUES ('orders')")
            ...     store.query("SELECT endpoint FROM cursors")["endpoint"].to_list()
            ['orders']
        """
        if self._memory_con is not None:
            with self._memory_lock:
                yield from self._transaction(self._memory_con)
            return
        if self.in_memory:
            raise StoreError("this in-memory store was closed; create a new Store")
        con = self._connect(read_only=False)
        try:
            try:
                # bounded buffers for the write phase (DuckDB spills to <db>.tmp beyond it);
                # row order inside tables is irrelevant: readers always ORDER BY the key
                con.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
                con.execute("SET preserve_insertion_order = false")
                if not self._schema_ready:
                    self._create_schema(con)
                    self._schema_ready = True
            except duckdb.Error as exc:
                raise self._failed("preparing", exc) from exc
            yield from self._transaction(con)
        finally:
            con.close()

    def _transaction(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise self._failed("writing", exc) from exc
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise StoreError(
                f"could not commit to the vendorkit store {self.path}: {exc}; nothing was "
                "changed. Check free disk space and retry"
            ) from exc

    @staticmethod
    def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
        for statement in _STATIC_DDL:
            con.execute(statement)
        for table in TABLE_SCHEMAS:
            if table != "inventory":  # a view over inventory_history
                con.execute(_ddl(table))
        cols = ", ".join(
            f"{_q(n)} {t}" for n, t in {**_REJECT_BASE_COLUMNS, **_REJECT_COLUMNS}.items()
        )
        con.execute(f"CREATE TABLE IF NOT EXISTS rejects ({cols})")
        con.execute(_inventory_view_ddl())
        if not con.execute("SELECT count(*) FROM vendorkit_meta").fetchall()[0][0]:
            con.execute("INSERT INTO vendorkit_meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])

    @contextlib.contextmanager
    def sync_lock(self, timeout_s: float | None = None) -> Iterator[None]:
        """Exclusive advisory lock (``flock`` on ``<db>.lock``) held for a whole sync.

        A second sync waits up to ``timeout_s`` (default ``lock_timeout_s``), then raises
        :class:`StoreLockedError` naming the holder (PID, host, since when).

        Example:
            >>> with Store(":memory:") as store, store.sync_lock():
            ...     pass
        """
        if self.in_memory:
            with self._memory_lock:
                yield
            return
        timeout = self.lock_timeout_s if timeout_s is None else timeout_s
        lock_path = self.path + ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                        raise StoreLockedError(
                            f"another vendorkit sync ({holder or 'unknown process'}) is "
                            f"writing to {self.path}; waited {timeout:g}s. Let it finish "
                            "and retry, or stop that process",
                            holder=holder,
                        ) from None
                    time.sleep(0.05)
            info = (
                f"PID {os.getpid()} on {socket.gethostname()} since "
                f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
            ).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, info, 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # -- reading -----------------------------------------------------------------------

    def table_names(self) -> list[str]:
        """Names of the store's tables and views, sorted."""
        with self.read() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a read-only query (built from whitelisted identifiers) into polars via Arrow.

        Example:
            >>> with Store(":memory:") as store:
            ...     store.query("SELECT ? AS n", [3])["n"].to_list()
            [3]
        """
        with self.read() as con:
            return self._query(con, sql, params)

    def _query(
        self, con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
    ) -> pl.DataFrame:
        try:
            return con.sql(sql, params=list(params) if params else None).pl()
        except duckdb.Error as exc:
            raise StoreError(
                f"reading the vendorkit store {self.path} failed: {exc}. If the file comes "
                "from another vendorkit version, move it away and sync again"
            ) from exc

    def latest_snapshot_id(self, con: duckdb.DuckDBPyConnection) -> str | None:
        """The sync id of the newest inventory snapshot, or ``None``."""
        row = _first(
            con.execute("SELECT sync_id FROM inventory_snapshots ORDER BY seq DESC LIMIT 1")
        )
        return row[0] if row else None

    def read_table(self, table: str) -> pl.DataFrame:
        """One typed table as polars, exactly the ARCHITECTURE.md columns and dtypes.

        Rows are ordered by the table's key. ``inventory`` is the latest snapshot.

        Raises:
            StoreError: unknown table, or the store cannot be read.

        Example:
            >>> with Store(":memory:") as store:
            ...     store.read_table("orders").height
            0
        """
        if table not in TABLE_SCHEMAS:
            raise StoreError(
                f"unknown table {table!r}; choose one of {', '.join(sorted(TABLE_SCHEMAS))}"
            )
        cols = ", ".join(_q(c) for c in TABLE_SCHEMAS[table])
        order = ", ".join(_q(c) for c in TABLE_KEYS.get(table, ()))
        order_by = f" ORDER BY {order}" if order else ""
        with self.read() as con:
            if table == "inventory":
                latest = self.latest_snapshot_id(con)
                if latest is None:
                    return typed_empty("inventory")
                frame = self._query(
                    con,
                    f"SELECT {cols} FROM inventory_history WHERE sync_id = ?{order_by}",
                    [latest],
                )
            else:
                frame = self._query(con, f"SELECT {cols} FROM {_q(table)}{order_by}")
        return to_typed(table, frame)

    def read_rejects(self) -> pl.DataFrame:
        """The quarantine, newest first (columns as ``Batch.rejects`` plus ``rejected_at``).

        Example:
            >>> with Store(":memory:") as store:
            ...     store.read_rejects().columns[:3]
            ['endpoint', 'sync_id', 'rejected_at']
        """
        with self.read() as con:
            return self._query(
                con,
                "SELECT * FROM rejects "
                "ORDER BY rejected_at DESC, endpoint, page_number, record_index, field",
            )

    def cursor(self, endpoint: str) -> CursorState | None:
        """The incremental cursor of ``endpoint`` (``None`` before its first sync).

        Example:
            >>> with Store(":memory:") as store:
            ...     store.cursor("orders") is None
            True
        """
        if not self.exists():
            return None
        with self.read() as con:
            row = _first(
                con.execute(
                    "SELECT updated_since, last_sync_id, last_full_sync_at FROM cursors "
                    "WHERE endpoint = ?",
                    [endpoint],
                )
            )
        if row is None:
            return None
        return CursorState(endpoint, row[0], row[1], row[2])

    def data_sources(self) -> set[str]:
        """The sources (``sandbox`` / ``api``) of every successful sync in this store.

        Example:
            >>> with Store(":memory:") as store:
            ...     store.data_sources()
            set()
        """
        if not self.exists():
            return set()
        with self.read() as con:
            rows = con.execute(
                "SELECT DISTINCT source FROM sync_log WHERE outcome = 'ok' AND source IN (?, ?)",
                ["sandbox", "api"],
            ).fetchall()
        return {r[0] for r in rows}

    # -- writing (inside Store.write()) ------------------------------------------------

    def insert_frame(
        self, con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, **constants: Any
    ) -> int:
        """Append ``frame`` to ``table`` via Arrow (columns matched by name).

        ``constants`` become extra columns (bound parameters), e.g. ``sync_id=...``.
        """
        if frame.height == 0:
            return 0
        view = f"_vk_in_{table}"
        con.register(view, _for_duckdb(frame).to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            extra = "".join(f", ? AS {_q(k)}" for k in constants)
            con.execute(
                f"INSERT INTO {_q(table)} BY NAME SELECT *{extra} FROM {_q(view)}",
                list(constants.values()),
            )
        finally:
            con.unregister(view)
        return frame.height

    def apply_tables(
        self,
        con: duckdb.DuckDBPyConnection,
        endpoint: str,
        tables: dict[str, pl.DataFrame],
        *,
        sync_id: str,
        snapshot_at: datetime,
        full: bool,
        status_history: bool = True,
    ) -> None:
        """Write one endpoint's typed frames (inside :meth:`write`).

        inventory: appends a full snapshot to ``inventory_history`` (on an incremental sync
        the previous snapshot merged with the changed rows). orders / shipments: a full
        refresh replaces the tables' contents; an incremental sync upserts by key and
        replaces a header's child lines whenever the header is re-sent. Status changes are
        appended to the status-history tables (``observed_at`` = ``snapshot_at``).
        """
        if endpoint == "inventory":
            self._write_inventory(
                con,
                tables.get("inventory", typed_empty("inventory")),
                sync_id=sync_id,
                snapshot_at=snapshot_at,
                full=full,
            )
            return
        header, child = ENDPOINT_TABLES[endpoint]
        head = tables.get(header, typed_empty(header))
        lines = tables.get(child, typed_empty(child))
        key = TABLE_KEYS[header][0]
        view = "_vk_new_header"
        con.register(
            view,
            _for_duckdb(head.select(key, "status", "status_raw")).to_arrow(
                compat_level=pl.CompatLevel.newest()
            ),
        )
        try:
            if status_history:
                hist, hkey = _STATUS_HISTORY[endpoint]
                con.execute(
                    f"INSERT INTO {_q(hist)} ({_q(hkey)}, status, status_raw, observed_at, "
                    f"sync_id) SELECT n.{_q(key)}, n.status, n.status_raw, ?, ? "
                    f"FROM {_q(view)} n LEFT JOIN {_q(header)} o ON o.{_q(key)} = n.{_q(key)} "
                    "WHERE o.status IS DISTINCT FROM n.status",
                    [snapshot_at, sync_id],
                )
            for table in (header, child):
                if full:
                    con.execute(f"DELETE FROM {_q(table)}")
                else:
                    con.execute(
                        f"DELETE FROM {_q(table)} WHERE {_q(key)} IN "
                        f"(SELECT {_q(key)} FROM {_q(view)})"
                    )
        finally:
            con.unregister(view)
        self.insert_frame(con, header, head.select(list(TABLE_SCHEMAS[header])))
        self.insert_frame(con, child, lines.select(list(TABLE_SCHEMAS[child])))

    def _write_inventory(
        self,
        con: duckdb.DuckDBPyConnection,
        frame: pl.DataFrame,
        *,
        sync_id: str,
        snapshot_at: datetime,
        full: bool,
    ) -> None:
        cols = list(TABLE_SCHEMAS["inventory"])
        collist = ", ".join(_q(c) for c in cols)
        previous = self.latest_snapshot_id(con)
        row = _first(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM inventory_snapshots"))
        seq = row[0] if row else 1
        view = "_vk_new_inventory"
        con.register(view, frame.select(cols).to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            con.execute(
                f"INSERT INTO inventory_history (sync_id, snapshot_at, {collist}) "
                f"SELECT ?, ?, {collist} FROM {_q(view)}",
                [sync_id, snapshot_at],
            )
            if not full and previous is not None:
                con.execute(
                    f"INSERT INTO inventory_history (sync_id, snapshot_at, {collist}) "
                    f"SELECT ?, ?, {collist} FROM inventory_history p WHERE p.sync_id = ? "
                    f"AND NOT EXISTS (SELECT 1 FROM {_q(view)} n WHERE "
                    "n.part_number = p.part_number AND n.warehouse_id = p.warehouse_id)",
                    [sync_id, snapshot_at, previous],
                )
        finally:
            con.unregister(view)
        count = _first(
            con.execute("SELECT count(*) FROM inventory_history WHERE sync_id = ?", [sync_id])
        )
        con.execute(
            "INSERT INTO inventory_snapshots VALUES (?, ?, ?, ?, ?)",
            [sync_id, seq, snapshot_at, full or previous is None, count[0] if count else 0],
        )

    def archive_pages(
        self, con: duckdb.DuckDBPyConnection, pages: pl.DataFrame, *, sync_id: str
    ) -> None:
        """Append archived pages (a frame with the ``raw_pages`` columns but ``sync_id``)."""
        self.insert_frame(con, "raw_pages", pages, sync_id=sync_id)

    def insert_rejects(
        self,
        con: duckdb.DuckDBPyConnection,
        rejects: pl.DataFrame,
        *,
        endpoint: str,
        sync_id: str,
        rejected_at: datetime,
    ) -> int:
        """Quarantine rejected records; columns the table lacks are added (as VARCHAR/...)."""
        if rejects.height == 0:
            return 0
        frame = rejects.drop([c for c in _REJECT_BASE_COLUMNS if c in rejects.columns])
        existing = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = 'rejects'"
            ).fetchall()
        }
        for name, dtype in frame.schema.items():
            if name not in existing:
                duck = _reject_type(dtype)
                con.execute(f"ALTER TABLE rejects ADD COLUMN {_q(name)} {duck}")
        return self.insert_frame(
            con, "rejects", frame, endpoint=endpoint, sync_id=sync_id, rejected_at=rejected_at
        )

    def set_cursor(
        self,
        con: duckdb.DuckDBPyConnection,
        endpoint: str,
        *,
        updated_since: datetime,
        sync_id: str,
        full_at: datetime | None,
    ) -> None:
        """Record where the next incremental sync of ``endpoint`` starts."""
        previous = _first(
            con.execute("SELECT last_full_sync_at FROM cursors WHERE endpoint = ?", [endpoint])
        )
        last_full = full_at if full_at is not None else (previous[0] if previous else None)
        con.execute("DELETE FROM cursors WHERE endpoint = ?", [endpoint])
        con.execute(
            "INSERT INTO cursors VALUES (?, ?, ?, ?)",
            [endpoint, updated_since, sync_id, last_full],
        )

    def log_sync(self, con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
        """Insert (or replace) one ``sync_log`` row (keys = the sync_log columns)."""
        cols = list(TABLE_SCHEMAS["sync_log"])
        unknown = set(row) - set(cols)
        if unknown:
            raise StoreError(f"unknown sync_log columns {sorted(unknown)}")
        con.execute(
            "DELETE FROM sync_log WHERE sync_id = ? AND endpoint = ?",
            [row["sync_id"], row["endpoint"]],
        )
        names = [c for c in cols if c in row]
        con.execute(
            f"INSERT INTO sync_log ({', '.join(_q(c) for c in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})",
            [row[c] for c in names],
        )

    def purge_archive(self, con: duckdb.DuckDBPyConnection, endpoint: str, keep_syncs: int) -> int:
        """Apply archive retention: keep the last ``keep_syncs`` syncs of ``endpoint``.

        The kept range is extended back to the newest *full* sync at or before it, so
        :func:`vendorkit.replay` can always rebuild from the archive. ``0`` keeps all.
        Returns the number of pages deleted.
        """
        if keep_syncs <= 0:
            return 0
        rows = con.execute(
            "SELECT DISTINCT p.sync_id, coalesce(l.full_refresh, false) FROM raw_pages p "
            "LEFT JOIN sync_log l ON l.sync_id = p.sync_id AND l.endpoint = p.endpoint "
            "WHERE p.endpoint = ? ORDER BY p.sync_id",
            [endpoint],
        ).fetchall()
        if len(rows) <= keep_syncs:
            return 0
        first_kept = len(rows) - keep_syncs
        while first_kept > 0 and not rows[first_kept][1]:
            first_kept -= 1
        cutoff = rows[first_kept][0]
        before = _first(
            con.execute(
                "SELECT count(*) FROM raw_pages WHERE endpoint = ? AND sync_id < ?",
                [endpoint, cutoff],
            )
        )
        con.execute("DELETE FROM raw_pages WHERE endpoint = ? AND sync_id < ?", [endpoint, cutoff])
        return int(before[0]) if before else 0


def _reject_type(dtype: pl.DataType) -> str:
    try:
        return _duck_type(dtype)
    except StoreError:
        return "VARCHAR"
