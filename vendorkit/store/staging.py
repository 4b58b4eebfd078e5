"""Staging and checkpoints: a sync's pages and validated rows, committed as they arrive.

A sync writes, chunk by chunk and each chunk in its own short transaction:

* ``stage_<table>`` for every typed table an endpoint feeds (its DDL is the catalog's
  table plus ``_sync_id``, ``_chunk`` and ``_pos``): the validated rows of the chunk;
* ``stage_pages`` (the ``raw_pages`` columns): the raw page bodies, compressed;
* ``stage_rejects``: the chunk's rejects (an Arrow IPC blob; their columns vary);
* ``sync_checkpoints``: one row per (sync, endpoint) -- pass, last page staged, pages
  expected, ``recordsFound``, the ``updatedSince`` sent, the server clock at the start,
  running counts and ``updated_at``.

The typed tables are only touched by :func:`apply_staged`, inside the sync's one final
transaction: duplicates across chunks are resolved in SQL (the latest version of a key wins:
the endpoint's version column, nulls first, then chunk and position -- the rule of
:func:`vendorkit.schemas.dedup.latest_versions`), the winners are written by the catalog's
write mode, the pages move to ``raw_pages`` and the staging rows of the sync are deleted.
A killed or failed sync leaves its staging rows and checkpoint, which the next sync
resumes (or discards, :func:`discard`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from vendorkit import catalog
from vendorkit.store import writers
from vendorkit.store.ddl import TABLE_SCHEMAS, _duck_type, _first, _q

__all__ = [
    "Checkpoint",
    "apply_staged",
    "checkpoint",
    "create_staging",
    "discard",
    "stage_chunk",
]

_CHECKPOINT_COLUMNS: dict[str, str] = {
    "sync_id": "VARCHAR",
    "endpoint": "VARCHAR",
    "full_refresh": "BOOLEAN",
    "updated_since": "TIMESTAMPTZ",
    "pass_number": "SMALLINT",
    "last_page": "INTEGER",
    "pages_total": "INTEGER",
    "records_found": "BIGINT",
    "server_start": "TIMESTAMPTZ",
    "chunks": "INTEGER",
    "pages": "BIGINT",
    "requests": "BIGINT",
    "fetched": "BIGINT",
    "loaded": "BIGINT",
    "rejected": "BIGINT",
    "deduplicated": "BIGINT",
    "coerced": "BIGINT",
    "unknown_status": "BIGINT",
    "started_at": "TIMESTAMPTZ",
    "updated_at": "TIMESTAMPTZ",
}

_STAGE_EXTRA = {"_sync_id": "VARCHAR", "_chunk": "INTEGER", "_pos": "BIGINT"}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far an unfinished sync of one endpoint got (a ``sync_checkpoints`` row).

    Attributes:
        sync_id: the unfinished sync.
        endpoint: its endpoint.
        full_refresh: whether it was a full read.
        updated_since: the ``updatedSince`` its first pass sent (``None``: full).
        pass_number: the pass being fetched (1 = main pass).
        last_page: the last page whose rows are staged (committed).
        pages_total: pages expected from ``recordsFound``, if sent.
        records_found: the server's ``recordsFound`` on page 1 of the pass, if sent.
        server_start: the server clock at the sync's first response.
        chunks: chunks staged so far.
        counts: running counts (pages, requests, fetched, loaded, rejected, ...).
        started_at: when the sync started (local UTC).
        updated_at: when the last chunk was committed (local UTC).
    """

    sync_id: str
    endpoint: str
    full_refresh: bool
    updated_since: datetime | None
    pass_number: int
    last_page: int
    pages_total: int | None
    records_found: int | None
    server_start: datetime | None
    chunks: int
    counts: dict[str, int]
    started_at: datetime
    updated_at: datetime


#: the per-endpoint counts a checkpoint, a sync report and the sync log carry (one list)
COUNT_FIELDS = (
    "pages",
    "requests",
    "fetched",
    "loaded",
    "rejected",
    "deduplicated",
    "coerced",
    "unknown_status",
)


def _stage_name(table: str) -> str:
    return f"stage_{table}"


def staged_tables(endpoint: str) -> tuple[str, ...]:
    """The typed tables ``endpoint`` stages (record table first)."""
    return catalog.get_endpoint(endpoint).tables


def create_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Create the staging tables and ``sync_checkpoints`` (idempotent)."""
    cols = ", ".join(f"{_q(n)} {t}" for n, t in _CHECKPOINT_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS sync_checkpoints ({cols})")
    con.execute("CREATE TABLE IF NOT EXISTS stage_pages AS SELECT * FROM raw_pages LIMIT 0")
    con.execute(
        "CREATE TABLE IF NOT EXISTS stage_rejects (sync_id VARCHAR, endpoint VARCHAR, "
        "chunk INTEGER, data BLOB)"
    )
    for ep in catalog.ENDPOINTS.values():
        for table in ep.tables:
            typed = {c: _duck_type(t) for c, t in TABLE_SCHEMAS[table].items()}
            spec = ", ".join(f"{_q(n)} {t}" for n, t in {**typed, **_STAGE_EXTRA}.items())
            con.execute(f"CREATE TABLE IF NOT EXISTS {_q(_stage_name(table))} ({spec})")


def checkpoint(con: duckdb.DuckDBPyConnection, endpoint: str) -> Checkpoint | None:
    """The newest unfinished sync of ``endpoint``, or ``None``."""
    cur = con.execute(
        "SELECT * FROM sync_checkpoints WHERE endpoint = ? ORDER BY updated_at DESC LIMIT 1",
        [endpoint],
    )
    rows = cur.fetchall()
    if not rows:
        return None
    rec = dict(zip([d[0] for d in cur.description], rows[0], strict=True))
    return Checkpoint(
        sync_id=rec["sync_id"],
        endpoint=rec["endpoint"],
        full_refresh=bool(rec["full_refresh"]),
        updated_since=rec["updated_since"],
        pass_number=int(rec["pass_number"]),
        last_page=int(rec["last_page"]),
        pages_total=rec["pages_total"],
        records_found=rec["records_found"],
        server_start=rec["server_start"],
        chunks=int(rec["chunks"]),
        counts={k: int(rec[k] or 0) for k in COUNT_FIELDS},
        started_at=rec["started_at"],
        updated_at=rec["updated_at"],
    )


def stage_chunk(
    con: duckdb.DuckDBPyConnection,
    point: Checkpoint,
    tables: dict[str, pl.DataFrame],
    pages: pl.DataFrame,
    rejects: pl.DataFrame,
) -> None:
    """Stage one chunk (its rows, pages and rejects) and write ``point`` as the checkpoint.

    Call inside one write transaction: a chunk and its checkpoint commit together.
    """
    chunk = point.chunks
    for table in staged_tables(point.endpoint):
        frame = tables.get(table)
        if frame is None or frame.height == 0:
            continue
        frame = frame.select(list(TABLE_SCHEMAS[table])).with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos")
        )
        writers.insert_frame(con, _stage_name(table), frame, _sync_id=point.sync_id, _chunk=chunk)
    writers.insert_frame(con, "stage_pages", pages, sync_id=point.sync_id, endpoint=point.endpoint)
    if rejects.height and rejects.width:
        buf = io.BytesIO()
        rejects.write_ipc(buf)
        con.execute(
            "INSERT INTO stage_rejects VALUES (?, ?, ?, ?)",
            [point.sync_id, point.endpoint, chunk, buf.getvalue()],
        )
    _write_checkpoint(con, point)


def _write_checkpoint(con: duckdb.DuckDBPyConnection, point: Checkpoint) -> None:
    con.execute(
        "DELETE FROM sync_checkpoints WHERE sync_id = ? AND endpoint = ?",
        [point.sync_id, point.endpoint],
    )
    values: dict[str, Any] = {
        "sync_id": point.sync_id,
        "endpoint": point.endpoint,
        "full_refresh": point.full_refresh,
        "updated_since": point.updated_since,
        "pass_number": point.pass_number,
        "last_page": point.last_page,
        "pages_total": point.pages_total,
        "records_found": point.records_found,
        "server_start": point.server_start,
        "chunks": point.chunks + 1,
        **{k: point.counts.get(k, 0) for k in COUNT_FIELDS},
        "started_at": point.started_at,
        "updated_at": point.updated_at,
    }
    names = list(_CHECKPOINT_COLUMNS)
    con.execute(
        f"INSERT INTO sync_checkpoints ({', '.join(_q(n) for n in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})",
        [values[n] for n in names],
    )


def discard(con: duckdb.DuckDBPyConnection, sync_id: str, endpoint: str) -> None:
    """Delete the staging rows and the checkpoint of one (sync, endpoint)."""
    for table in staged_tables(endpoint):
        con.execute(f"DELETE FROM {_q(_stage_name(table))} WHERE _sync_id = ?", [sync_id])
    for table in ("stage_pages", "stage_rejects", "sync_checkpoints"):
        con.execute(
            f"DELETE FROM {_q(table)} WHERE sync_id = ? AND endpoint = ?", [sync_id, endpoint]
        )


@dataclass(frozen=True, slots=True)
class Applied:
    """What :func:`apply_staged` wrote: rows kept and duplicates dropped across chunks."""

    loaded: int
    deduplicated: int
    unknown_status: int | None


def _count(result: duckdb.DuckDBPyConnection) -> int:
    """The single integer an executed ``count(*)`` / ``DELETE`` answered."""
    row = _first(result)
    return int(row[0] or 0) if row else 0


def _resolve_duplicates(con: duckdb.DuckDBPyConnection, endpoint: str, sync_id: str) -> int:
    """Delete from the sync's staging the older versions of every key staged twice.

    Each chunk was deduplicated when it was normalised, so only keys that several chunks
    staged have rivals: one ``GROUP BY`` over the key columns finds them, and of each the
    latest version is kept by the rule of :func:`vendorkit.schemas.dedup.latest_versions`
    (the endpoint's version column, undated versions first, then chunk and position: the
    last one wins). Runs inside the final transaction, so a failed apply rolls the deletion
    back with everything else. Only aggregates and hash joins, which DuckDB spills beyond
    the connection's memory limit (no window over the endpoint, no frame in Python): the
    memory this takes does not grow with the records staged.

    Returns the number of record rows deleted.
    """
    ep = catalog.get_endpoint(endpoint)
    header = ep.table
    key = ", ".join(_q(k) for k in header.key)
    stage = _q(_stage_name(header.name))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _vk_dup_keys AS SELECT {key} FROM {stage} "
        f"WHERE _sync_id = ? GROUP BY {key} HAVING count(*) > 1",
        [sync_id],
    )
    removed = 0
    if _count(con.execute("SELECT count(*) FROM _vk_dup_keys")):
        rank = "c := s._chunk, p := s._pos"
        if ep.cursor in header.names:
            v = f"s.{_q(ep.cursor)}"
            rank = f"d := {v} IS NOT NULL, v := coalesce({v}, '-infinity'::TIMESTAMPTZ), {rank}"
        on = " AND ".join(f"s.{_q(k)} = d.{_q(k)}" for k in header.key)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _vk_dup_win AS SELECT {key}, "
            f"max(struct_pack({rank})) AS _win FROM (SELECT s.* FROM {stage} s SEMI JOIN "
            f"_vk_dup_keys d ON {on} WHERE s._sync_id = ?) s GROUP BY {key}",
            [sync_id],
        )
        match = " AND ".join(f"w.{_q(k)} = s.{_q(k)}" for k in header.key)
        removed = _count(
            con.execute(
                f"DELETE FROM {stage} s WHERE s._sync_id = ? AND EXISTS (SELECT 1 FROM "
                f"_vk_dup_win w WHERE {match} AND NOT (w._win.c = s._chunk "
                "AND w._win.p = s._pos))",
                [sync_id],
            )
        )
        con.execute("DROP TABLE _vk_dup_win")
    con.execute("DROP TABLE _vk_dup_keys")
    return removed


def _winners_views(con: duckdb.DuckDBPyConnection, endpoint: str, sync_id: str) -> dict[str, str]:
    """Temp views ``_vk_win_<table>`` over the sync's staging (after
    :func:`_resolve_duplicates`): the record rows, and the child rows of the versions kept
    (same key, same chunk). Returns table -> view name."""
    ep = catalog.get_endpoint(endpoint)
    header = ep.table
    literal = _literal(sync_id)
    views = {table: "_vk_win_" + table for table in ep.tables}
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {_q(views[header.name])} AS SELECT "
        + ", ".join(_q(c) for c in header.names)
        + f" FROM {_q(_stage_name(header.name))} WHERE _sync_id = '{literal}'"
    )
    match = " AND ".join(f"h.{_q(k)} = c.{_q(k)}" for k in header.key)
    for child in ep.tables[1:]:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {_q(views[child])} AS SELECT "
            + ", ".join(f"c.{_q(n)}" for n in TABLE_SCHEMAS[child])
            + f" FROM {_q(_stage_name(child))} c WHERE c._sync_id = '{literal}' "
            f"AND EXISTS (SELECT 1 FROM {_q(_stage_name(header.name))} h WHERE "
            f"h._sync_id = '{literal}' AND {match} AND h._chunk = c._chunk)"
        )
    return views


def _literal(value: str) -> str:
    """A sync id as an SQL literal (views cannot take parameters); ids are [0-9A-Za-z.:-]."""
    if not all(ch.isalnum() or ch in ".:-_TZ" for ch in value):
        raise ValueError(f"unexpected sync id {value!r}")
    return value


def apply_staged(
    con: duckdb.DuckDBPyConnection,
    endpoint: str,
    sync_id: str,
    *,
    snapshot_at: datetime,
    full: bool,
    rejected_at: datetime,
    status_history: bool = True,
    archive: bool = True,
) -> Applied:
    """Write a staged sync into the typed tables, rejects and ``raw_pages``; drop its staging.

    Call inside the sync's final write transaction. Dedup and writes run in DuckDB: no
    endpoint-sized frame is built in Python.
    """
    ep = catalog.get_endpoint(endpoint)
    removed = _resolve_duplicates(con, endpoint, sync_id)
    sources = _winners_views(con, endpoint, sync_id)
    writers.apply_relations(
        con,
        endpoint,
        sources,
        sync_id=sync_id,
        snapshot_at=snapshot_at,
        full=full,
        status_history=status_history,
    )
    loaded = _count(con.execute(f"SELECT count(*) FROM {_q(sources[ep.table.name])}"))
    unknown: int | None = None
    if removed and ep.status is not None:
        unknown = _count(
            con.execute(
                f"SELECT count(*) FROM {_q(sources[ep.table.name])} WHERE {_q(ep.status)} = "
                "'UNKNOWN'"
            )
        )
    chunks = con.execute(
        "SELECT chunk FROM stage_rejects WHERE sync_id = ? AND endpoint = ? ORDER BY chunk",
        [sync_id, endpoint],
    ).fetchall()
    for (chunk,) in chunks:  # one chunk's rejects in Python at a time
        blob = con.execute(
            "SELECT data FROM stage_rejects WHERE sync_id = ? AND endpoint = ? AND chunk = ?",
            [sync_id, endpoint, chunk],
        ).fetchall()
        for (data,) in blob:
            writers.insert_rejects(
                con,
                pl.read_ipc(io.BytesIO(data)),
                endpoint=endpoint,
                sync_id=sync_id,
                rejected_at=rejected_at,
            )
    if archive:
        con.execute(
            "INSERT INTO raw_pages BY NAME SELECT * FROM stage_pages WHERE sync_id = ? "
            "AND endpoint = ?",
            [sync_id, endpoint],
        )
    for view in sources.values():
        con.execute(f"DROP VIEW IF EXISTS {_q(view)}")
    discard(con, sync_id, endpoint)
    return Applied(loaded, removed, unknown)


def adopt(con: duckdb.DuckDBPyConnection, old: str, new: str, endpoint: str) -> None:
    """Re-tag an unfinished sync's staging and checkpoint with the sync that resumes it."""
    for table in staged_tables(endpoint):
        con.execute(
            f"UPDATE {_q(_stage_name(table))} SET _sync_id = ? WHERE _sync_id = ?", [new, old]
        )
    for table in ("stage_pages", "stage_rejects", "sync_checkpoints"):
        con.execute(
            f"UPDATE {_q(table)} SET sync_id = ? WHERE sync_id = ? AND endpoint = ?",
            [new, old, endpoint],
        )
