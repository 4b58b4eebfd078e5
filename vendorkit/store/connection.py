"""Connections and locking: short-lived DuckDB connections, transactions, the sync lock.

DuckDB allows one read-write process *or* many read-only processes per file, so readers
(:meth:`StoreConnection.read`) open ``read_only`` and retry briefly while a writer holds the
file, then raise :class:`StoreLockedError` naming the holder's PID. Syncs additionally take
an exclusive advisory lock on ``<db>.lock`` (:meth:`StoreConnection.sync_lock`) so two syncs
never interleave. Every DuckDB exception is wrapped in :class:`StoreError` naming the file
and what to do. The schema (:func:`vendorkit.store.ddl.create_schema`) is created on the
first write, and again after an endpoint is added to the catalog.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import duckdb

from vendorkit import catalog
from vendorkit.errors import StoreError, StoreLockedError
from vendorkit.store.ddl import create_schema

__all__ = ["STAGE_MEMORY_LIMIT", "WRITE_MEMORY_LIMIT", "WRITE_THREADS", "StoreConnection"]

#: DuckDB memory limit of a write connection. What a sync writes is bounded by it, not by
#: the records: each chunk's commit (DuckDB rewrites a filled row group of a staging table
#: at the checkpoint) and the final apply (aggregates and hash joins over the staging,
#: spilled to ``<db>.tmp`` beyond it). 128MB peaked a 1M-row inventory sync at ~400 MB RSS;
#: below it DuckDB's spilling aggregate is erratic (on a 4M-row staging one thread ran out
#: of memory at 24MB and at 48MB, not at 32, 40 or 64MB).
WRITE_MEMORY_LIMIT = "64MB"
#: The limit of a sync's chunk commits (``write(memory_limit=...)``): a chunk's appends need
#: little, and the checkpoint that closes the connection (DuckDB rewrites a filled row group
#: of a staging table) spills beyond it; 64MB made that a +60 MB spike every ~12 chunks.
STAGE_MEMORY_LIMIT = "24MB"
#: DuckDB threads of a write connection. One: a sync opens a write connection per chunk,
#: and the worker threads DuckDB starts for each left glibc's per-thread malloc arenas
#: fragmented (RSS grew ~15 MB per 1M rows staged; flat with one thread); every thread of
#: a spilling aggregate or join also reserves its own buffers (at 16 threads a 64MB limit
#: ran out of memory). A sync's writes are short appends and one final apply.
WRITE_THREADS = 1

_PID = re.compile(r"PID (\d+)")


def _limit(value: str) -> str:
    """A DuckDB memory limit such as ``"48MB"`` (refuses anything else: it is spliced in SQL)."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value):
        raise StoreError(f"refusing the DuckDB memory limit {value!r}; write e.g. '48MB'")
    return value


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


class StoreConnection:
    """Opening, transactions and locking of one DuckDB store (the base of ``Store``).

    Connections are opened per operation (:meth:`read`, :meth:`write`) and closed right
    after, so other processes can use the file in between. An in-memory store keeps one
    connection for the object's life (close it with :meth:`close` or ``with Store(...)``).

    Args:
        path: a file path or ``":memory:"``.
        lock_timeout_s: how long a sync waits for another sync's lock, and a writer for
            readers to let go of the file, before raising :class:`StoreLockedError`.
        read_retry_s: how long a reader waits while a writer holds the file.

    Example:
        >>> with StoreConnection(":memory:") as store, store.read() as con:
        ...     con.execute("SELECT count(*) FROM cursors").fetchall()
        [(0,)]
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
        self._schema_version: int | None = None
        if self.in_memory:
            self._memory_con = duckdb.connect(":memory:")
            self._memory_con.execute("SET TimeZone = 'UTC'")
            self._ensure_schema(self._memory_con)
        else:
            folder = Path(self.path).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder {folder} for the vendorkit store {self.path} "
                    f"({exc.strerror or exc}); point VENDORKIT_DB (or --db) at a writable "
                    "location"
                ) from None

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        """Open the store named by ``settings.db_path``.

        Example:
            >>> from vendorkit.config import Settings
            >>> StoreConnection.from_settings(Settings(db=":memory:")).in_memory
            True
        """
        return cls(settings.db_path)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def __enter__(self) -> Self:
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
            >>> with StoreConnection(":memory:") as store, store.read() as con:
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
    def write(
        self, *, memory_limit: str = WRITE_MEMORY_LIMIT
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short write transaction: everything inside commits together or not at all.

        ``memory_limit`` is DuckDB's for this connection (file stores; default
        :data:`WRITE_MEMORY_LIMIT`; a sync's chunk commits use :data:`STAGE_MEMORY_LIMIT`).

        Raises:
            StoreError: the write failed (the transaction was rolled back).
            StoreLockedError: readers or another writer kept the file too long.

        Example:
            >>> with StoreConnection(":memory:") as store:
            ...     with store.write() as con:
            ...         _ = con.execute("INSERT INTO cursors (endpoint) VALUES ('orders')")
            ...     with store.read() as con:
            ...         con.execute("SELECT endpoint FROM cursors").fetchall()
            [('orders',)]
        """
        if self._memory_con is not None:
            with self._memory_lock:
                self._ensure_schema(self._memory_con)
                yield from self._transaction(self._memory_con)
            return
        if self.in_memory:
            raise StoreError("this in-memory store was closed; create a new Store")
        con = self._connect(read_only=False)
        try:
            try:
                # bounded buffers for the write phase (DuckDB spills to <db>.tmp beyond it);
                # row order inside tables is irrelevant: readers always ORDER BY the key
                con.execute(f"SET memory_limit = '{_limit(memory_limit)}'")
                threads = int(min(WRITE_THREADS, os.cpu_count() or 1))
                con.execute(f"SET threads = {threads}")
                con.execute("SET preserve_insertion_order = false")
                self._ensure_schema(con)
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

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the catalog's tables once, and again after the catalog changed."""
        version = catalog.catalog_version()
        if self._schema_version != version:
            create_schema(con)
            self._schema_version = version

    def _refuse_foreign_file(self) -> None:
        """Raise :class:`StoreError` when ``path`` exists and is not a DuckDB database."""
        path = Path(self.path).expanduser()
        if not path.is_file() or path.stat().st_size == 0:
            return
        with path.open("rb") as f:
            header = f.read(12)
        if header[8:12] != b"DUCK":  # DuckDB's magic bytes sit at offset 8
            raise StoreError(
                f"{self.path} exists but is not a DuckDB database file, so it is not a "
                "vendorkit store; point VENDORKIT_DB (or --db) at another path"
            )

    @contextlib.contextmanager
    def sync_lock(self, timeout_s: float | None = None) -> Iterator[None]:
        """Exclusive advisory lock (``flock`` on ``<db>.lock``) held for a whole sync.

        A second sync waits up to ``timeout_s`` (default ``lock_timeout_s``), then raises
        :class:`StoreLockedError` naming the holder (PID, host, since when).

        Example:
            >>> with StoreConnection(":memory:") as store, store.sync_lock():
            ...     pass
        """
        if self.in_memory:
            with self._memory_lock:
                yield
            return
        timeout = self.lock_timeout_s if timeout_s is None else timeout_s
        self._refuse_foreign_file()  # before the lock file exists: no stray .lock beside it
        lock_path = self.path + ".lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot write the vendorkit store's lock file {lock_path} "
                f"({exc.strerror or exc}); point VENDORKIT_DB (or --db) at a writable location"
            ) from None
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
