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

Which typed tables exist, their columns, keys and how an endpoint is written all come from
the endpoint catalog (:mod:`vendorkit.catalog`). The package: :mod:`~vendorkit.store.ddl`
(identifiers, types, DDL), :mod:`~vendorkit.store.connection` (connections, transactions,
locking), :mod:`~vendorkit.store.writers` (snapshot, upsert, status history, rejects,
archive, cursors, sync log) and this module (:class:`Store`: reading, and the writers as
methods). SQL is built only from whitelisted identifiers; values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from vendorkit.errors import StoreError
from vendorkit.store import staging, writers
from vendorkit.store.connection import StoreConnection
from vendorkit.store.ddl import (
    TABLE_KEYS,
    TABLE_SCHEMAS,
    _first,
    _q,
    snapshot_views,
    to_typed,
    typed_empty,
)

__all__ = ["CursorState", "Store"]


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


class Store(StoreConnection):
    """A handle on one DuckDB store file (or an in-memory database).

    Connections are opened per operation (:meth:`read`, :meth:`write`) and closed right
    after, so other processes can use the file in between. An in-memory store keeps one
    connection for the object's life (close it with :meth:`close` or ``with Store(...)``).
    The writers (:mod:`vendorkit.store.writers`) are methods here too, taking the open
    connection of a :meth:`write` block.

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

    def latest_snapshot_id(
        self, con: duckdb.DuckDBPyConnection, endpoint: str = "inventory"
    ) -> str | None:
        """The sync id of the newest snapshot of a snapshot endpoint, or ``None``."""
        return writers.latest_snapshot_id(con, endpoint)

    def read_table(self, table: str) -> pl.DataFrame:
        """One typed table as polars, exactly the ARCHITECTURE.md columns and dtypes.

        Rows are ordered by the table's key. A snapshot endpoint's record table
        (``inventory``) is its latest snapshot.

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
        order = ", ".join(_q(c) for c in TABLE_KEYS.get(table, ()))
        order_by = f" ORDER BY {order}" if order else ""
        snapshot = snapshot_views().get(table)
        with self.read() as con:
            source = snapshot.history_table.name if snapshot and snapshot.history_table else table
            present = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [source],
                ).fetchall()
            }
            # a column the catalog gained after this file was written reads as null until the
            # next sync adds it (see ddl._add_missing_columns)
            cols = ", ".join(
                _q(c) if c in present or not present else f"NULL AS {_q(c)}"
                for c in TABLE_SCHEMAS[table]
            )
            if snapshot is not None and snapshot.history_table is not None:
                latest = self.latest_snapshot_id(con, snapshot.name)
                if latest is None:
                    return typed_empty(table)
                history = _q(snapshot.history_table.name)
                frame = self._query(
                    con,
                    f"SELECT {cols} FROM {history} WHERE sync_id = ?{order_by}",
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
        return writers.insert_frame(con, table, frame, **constants)

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
        """Write one endpoint's typed frames (inside :meth:`write`), by its catalog write mode.

        Snapshot endpoints (inventory) append a full snapshot to ``<name>_history`` (on an
        incremental sync the previous snapshot merged with the changed rows). Upsert
        endpoints (orders, shipments): a full refresh replaces the tables' contents; an
        incremental sync upserts by key and replaces a record's child rows whenever the
        record is re-sent. Status changes are appended to the status history
        (``observed_at`` = ``snapshot_at``) when the endpoint has a status column.
        """
        writers.apply_tables(
            con,
            endpoint,
            tables,
            sync_id=sync_id,
            snapshot_at=snapshot_at,
            full=full,
            status_history=status_history,
        )

    def forget_snapshots(
        self, con: duckdb.DuckDBPyConnection, endpoint: str, sync_ids: Sequence[str]
    ) -> None:
        """Delete the snapshots of ``sync_ids`` of a snapshot endpoint (no-op otherwise)."""
        writers.forget_snapshots(con, endpoint, sync_ids)

    def archive_pages(
        self, con: duckdb.DuckDBPyConnection, pages: pl.DataFrame, *, sync_id: str
    ) -> None:
        """Append archived pages (a frame with the ``raw_pages`` columns but ``sync_id``)."""
        writers.archive_pages(con, pages, sync_id=sync_id)

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
        return writers.insert_rejects(
            con, rejects, endpoint=endpoint, sync_id=sync_id, rejected_at=rejected_at
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
        writers.set_cursor(
            con, endpoint, updated_since=updated_since, sync_id=sync_id, full_at=full_at
        )

    def log_sync(self, con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
        """Insert (or replace) one ``sync_log`` row (keys = the sync_log columns)."""
        writers.log_sync(con, row)

    def purge_archive(self, con: duckdb.DuckDBPyConnection, endpoint: str, keep_syncs: int) -> int:
        """Apply archive retention: keep the last ``keep_syncs`` syncs of ``endpoint``.

        The kept range is extended back to the newest *full* sync at or before it, so
        :func:`vendorkit.replay` can always rebuild from the archive. ``0`` keeps all.
        Returns the number of pages deleted.
        """
        return writers.purge_archive(con, endpoint, keep_syncs)

    # -- staging and checkpoints (resumable syncs; see vendorkit.store.staging) --------

    def checkpoint(
        self, con: duckdb.DuckDBPyConnection, endpoint: str
    ) -> staging.Checkpoint | None:
        """The newest unfinished sync of ``endpoint`` (its checkpoint), or ``None``."""
        return staging.checkpoint(con, endpoint)

    def stage_chunk(
        self,
        con: duckdb.DuckDBPyConnection,
        point: staging.Checkpoint,
        tables: dict[str, pl.DataFrame],
        pages: pl.DataFrame,
        rejects: pl.DataFrame,
    ) -> None:
        """Stage one chunk of a sync with its checkpoint (inside :meth:`write`)."""
        staging.stage_chunk(con, point, tables, pages, rejects)

    def discard_staged(self, con: duckdb.DuckDBPyConnection, sync_id: str, endpoint: str) -> None:
        """Drop an unfinished sync's staging rows and checkpoint (inside :meth:`write`)."""
        staging.discard(con, sync_id, endpoint)

    def apply_staged(
        self,
        con: duckdb.DuckDBPyConnection,
        endpoint: str,
        sync_id: str,
        *,
        snapshot_at: datetime,
        full: bool,
        rejected_at: datetime,
        status_history: bool = True,
        archive: bool = True,
    ) -> staging.Applied:
        """Move a staged sync into the typed tables, rejects and archive (inside :meth:`write`)."""
        return staging.apply_staged(
            con,
            endpoint,
            sync_id,
            snapshot_at=snapshot_at,
            full=full,
            rejected_at=rejected_at,
            status_history=status_history,
            archive=archive,
        )

    def adopt_staged(
        self, con: duckdb.DuckDBPyConnection, old: str, new: str, endpoint: str
    ) -> None:
        """Hand an unfinished sync's staging to the sync resuming it (inside :meth:`write`)."""
        staging.adopt(con, old, new, endpoint)
