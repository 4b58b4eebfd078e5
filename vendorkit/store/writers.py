"""Writers: everything a sync puts in the store, inside one :meth:`Store.write` transaction.

* :func:`apply_tables` dispatches on the endpoint's catalog write mode:
  :func:`write_snapshot` (append a full snapshot to ``<name>_history``; on an incremental sync
  the previous snapshot merged with the changed rows) or :func:`write_upsert` (a full refresh
  replaces the contents; an incremental sync upserts by key and replaces a record's child rows
  whenever the record is re-sent), plus :func:`write_status_history` when the endpoint has a
  status column;
* :func:`insert_rejects` (the quarantine), :func:`archive_pages` (raw page bodies) and
  :func:`purge_archive` (retention), :func:`set_cursor`, :func:`log_sync`.

Every function takes the open connection; SQL is built from :func:`~vendorkit.store.ddl._q`
quoted identifiers only, values are bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from vendorkit import catalog
from vendorkit.errors import StoreError
from vendorkit.store.ddl import (
    REJECT_BASE_COLUMNS,
    TABLE_SCHEMAS,
    _first,
    _for_duckdb,
    _q,
    _reject_type,
    typed_empty,
)

__all__ = [
    "apply_tables",
    "archive_pages",
    "forget_snapshots",
    "insert_frame",
    "insert_rejects",
    "latest_snapshot_id",
    "log_sync",
    "purge_archive",
    "set_cursor",
    "write_snapshot",
    "write_status_history",
    "write_upsert",
]

_ARROW = pl.CompatLevel.newest()


def _matches(key: Sequence[str], left: str, right: str) -> str:
    """``l.k1 = r.k1 AND ...`` over quoted key columns (``left``/``right`` are aliases)."""
    return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in key)


def insert_frame(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, **constants: Any
) -> int:
    """Append ``frame`` to ``table`` via Arrow (columns matched by name).

    ``constants`` become extra columns (bound parameters), e.g. ``sync_id=...``.
    """
    if frame.height == 0:
        return 0
    view = f"_vk_in_{table}"
    con.register(view, _for_duckdb(frame).to_arrow(compat_level=_ARROW))
    try:
        extra = "".join(f", ? AS {_q(k)}" for k in constants)
        con.execute(
            f"INSERT INTO {_q(table)} BY NAME SELECT *{extra} FROM {_q(view)}",
            list(constants.values()),
        )
    finally:
        con.unregister(view)
    return frame.height


def latest_snapshot_id(con: duckdb.DuckDBPyConnection, endpoint: str = "inventory") -> str | None:
    """The sync id of the newest snapshot of a snapshot endpoint, or ``None``."""
    snaps = catalog.get_endpoint(endpoint).snapshots_table
    if snaps is None:
        raise StoreError(f"endpoint {endpoint!r} is not written as snapshots")
    row = _first(con.execute(f"SELECT sync_id FROM {_q(snaps)} ORDER BY seq DESC LIMIT 1"))
    return row[0] if row else None


def apply_tables(
    con: duckdb.DuckDBPyConnection,
    endpoint: str,
    tables: dict[str, pl.DataFrame],
    *,
    sync_id: str,
    snapshot_at: datetime,
    full: bool,
    status_history: bool = True,
) -> None:
    """Write one endpoint's typed frames, as its catalog entry says (snapshot or upsert).

    Status changes are appended to the status history (``observed_at`` = ``snapshot_at``)
    when the endpoint has a status column and ``status_history`` is true.
    """
    ep = catalog.get_endpoint(endpoint)
    sources: dict[str, str] = {}
    try:
        for name in ep.tables:
            frame = tables.get(name, typed_empty(name)).select(list(TABLE_SCHEMAS[name]))
            sources[name] = f"_vk_new_{name}"
            con.register(sources[name], _for_duckdb(frame).to_arrow(compat_level=_ARROW))
        apply_relations(
            con,
            endpoint,
            sources,
            sync_id=sync_id,
            snapshot_at=snapshot_at,
            full=full,
            status_history=status_history,
        )
    finally:
        for view in sources.values():
            con.unregister(view)


def apply_relations(
    con: duckdb.DuckDBPyConnection,
    endpoint: str,
    sources: dict[str, str],
    *,
    sync_id: str,
    snapshot_at: datetime,
    full: bool,
    status_history: bool = True,
) -> None:
    """:func:`apply_tables` over relations already in DuckDB (table -> view/table name,
    keys unique), e.g. the deduplicated staging of a sync: nothing passes through Python."""
    ep = catalog.get_endpoint(endpoint)
    if ep.write == "snapshot":
        write_snapshot(
            con, ep, sources[ep.table.name], sync_id=sync_id, snapshot_at=snapshot_at, full=full
        )
        return
    if ep.status is not None and status_history:
        write_status_history(
            con, ep, sources[ep.table.name], sync_id=sync_id, observed_at=snapshot_at
        )
    write_upsert(con, ep, sources, full=full)


def write_upsert(
    con: duckdb.DuckDBPyConnection,
    ep: catalog.Endpoint,
    sources: dict[str, str],
    *,
    full: bool,
) -> None:
    """Full: replace the record and child tables. Incremental: delete the re-sent keys (and
    their child rows), then insert. ``sources``: table -> relation holding the new rows."""
    header = ep.table
    view = _q(sources[header.name])
    key = header.key
    for table in ep.tables:
        if full:
            con.execute(f"DELETE FROM {_q(table)}")
        elif len(key) == 1:
            con.execute(
                f"DELETE FROM {_q(table)} WHERE {_q(key[0])} IN (SELECT {_q(key[0])} FROM {view})"
            )
        else:
            match = _matches(key, "n", _q(table))
            con.execute(
                f"DELETE FROM {_q(table)} WHERE EXISTS (SELECT 1 FROM {view} n WHERE {match})"
            )
    for table in ep.tables:
        cols = ", ".join(_q(c) for c in TABLE_SCHEMAS[table])
        con.execute(f"INSERT INTO {_q(table)} ({cols}) SELECT {cols} FROM {_q(sources[table])}")


def write_status_history(
    con: duckdb.DuckDBPyConnection,
    ep: catalog.Endpoint,
    source: str,
    *,
    sync_id: str,
    observed_at: datetime,
) -> None:
    """Append a status-history row for every record whose status (or a tracked column, see
    :attr:`vendorkit.catalog.Endpoint.tracked`) differs from the stored one (call before the
    records are replaced). ``source``: the relation of new records."""
    hist = ep.status_history_table
    if hist is None or ep.status is None:
        return
    key = ep.table.key
    status, spelled = ep.status, f"{ep.status}_raw"
    watched = (status, *ep.tracked)  # a change in any of these writes a history row
    names = (*key, status, spelled, *ep.tracked)
    cols = ", ".join(_q(c) for c in names)
    picked = ", ".join(f"n.{_q(c)}" for c in names)
    match = _matches(key, "o", "n")
    changed = " OR ".join(f"o.{_q(c)} IS DISTINCT FROM n.{_q(c)}" for c in watched)
    con.execute(
        f"INSERT INTO {_q(hist.name)} ({cols}, observed_at, sync_id) SELECT {picked}, ?, ? "
        f"FROM {_q(source)} n LEFT JOIN {_q(ep.table.name)} o ON {match} WHERE {changed}",
        [observed_at, sync_id],
    )


def write_snapshot(
    con: duckdb.DuckDBPyConnection,
    ep: catalog.Endpoint,
    source: str,
    *,
    sync_id: str,
    snapshot_at: datetime,
    full: bool,
) -> None:
    """Append a full snapshot to ``<name>_history`` and list it in ``<name>_snapshots``.

    ``source``: the relation of new rows. An incremental sync's snapshot is the changed
    rows plus the previous snapshot's rows whose key was not re-sent.
    """
    hist, snaps = ep.history_table, ep.snapshots_table
    assert hist is not None and snaps is not None
    cols = list(ep.table.names)
    collist = ", ".join(_q(c) for c in cols)
    previous = latest_snapshot_id(con, ep.name)
    row = _first(con.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {_q(snaps)}"))
    seq = row[0] if row else 1
    view = _q(source)
    con.execute(
        f"INSERT INTO {_q(hist.name)} (sync_id, snapshot_at, {collist}) "
        f"SELECT ?, ?, {collist} FROM {view}",
        [sync_id, snapshot_at],
    )
    if not full and previous is not None:
        match = _matches(ep.table.key, "n", "p")
        con.execute(
            f"INSERT INTO {_q(hist.name)} (sync_id, snapshot_at, {collist}) "
            f"SELECT ?, ?, {collist} FROM {_q(hist.name)} p WHERE p.sync_id = ? "
            f"AND NOT EXISTS (SELECT 1 FROM {view} n WHERE {match})",
            [sync_id, snapshot_at, previous],
        )
    count = _first(
        con.execute(f"SELECT count(*) FROM {_q(hist.name)} WHERE sync_id = ?", [sync_id])
    )
    con.execute(
        f"INSERT INTO {_q(snaps)} VALUES (?, ?, ?, ?, ?)",
        [sync_id, seq, snapshot_at, full or previous is None, count[0] if count else 0],
    )


def forget_snapshots(
    con: duckdb.DuckDBPyConnection, endpoint: str, sync_ids: Sequence[str]
) -> None:
    """Delete the snapshots of ``sync_ids`` (a replay rebuilds them); no-op for upserts."""
    ep = catalog.get_endpoint(endpoint)
    hist, snaps = ep.history_table, ep.snapshots_table
    if hist is None or snaps is None:
        return
    ids = list(sync_ids)
    con.execute(f"DELETE FROM {_q(hist.name)} WHERE sync_id IN (SELECT unnest(?))", [ids])
    con.execute(f"DELETE FROM {_q(snaps)} WHERE sync_id IN (SELECT unnest(?))", [ids])


def archive_pages(con: duckdb.DuckDBPyConnection, pages: pl.DataFrame, *, sync_id: str) -> None:
    """Append archived pages (a frame with the ``raw_pages`` columns but ``sync_id``)."""
    insert_frame(con, "raw_pages", pages, sync_id=sync_id)


def insert_rejects(
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
    frame = rejects.drop([c for c in REJECT_BASE_COLUMNS if c in rejects.columns])
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
    return insert_frame(
        con, "rejects", frame, endpoint=endpoint, sync_id=sync_id, rejected_at=rejected_at
    )


def set_cursor(
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


def log_sync(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
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


def purge_archive(con: duckdb.DuckDBPyConnection, endpoint: str, keep_syncs: int) -> int:
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
