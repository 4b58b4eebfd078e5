"""Replay: rebuild the typed tables from the raw page archive, without a request.

Archived bodies are read by the live client's page parser
(:func:`vendorkit.http.body.parse_page_body`) into the one :class:`~vendorkit.http.pages.Page`
type, then go through the engine's own staging and apply (the same chunking, the same SQL
dedup, the same catalog write modes). Snapshot endpoints (catalog ``write == "snapshot"``)
get their archived snapshots recomputed (:meth:`Store.forget_snapshots` first); upsert
endpoints are rebuilt from the oldest archived sync, always a full one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from vendorkit.catalog import get_endpoint
from vendorkit.errors import ContractError, StoreError
from vendorkit.store import Store
from vendorkit.sync.engine import (
    _CODEC,
    CHUNK_RECORDS,
    _decompress,
    _default_normaliser,
    _fresh_point,
    _Run,
    resolve_endpoints,
)
from vendorkit.sync.report import EndpointSync, SyncReport, new_sync_id

if TYPE_CHECKING:
    from vendorkit.config import Settings
    from vendorkit.http.pages import Page
    from vendorkit.schemas.protocol import Normaliser

__all__ = ["parse_body", "replay", "run_replay"]


def parse_body(endpoint: str, body: bytes) -> pl.DataFrame:
    """Parse an archived page body into the raw frame (``Endpoint.wire_schema()``).

    The live client's parser (:func:`vendorkit.http.body.parse_page_body`), so a replay
    reads a body exactly as the sync that archived it did; an empty body (a 204) is an
    empty frame.

    Example:
        >>> parse_body("inventory", b'{"inventory": [{"partNumber": "A", "quantity": 3}]}')["quantity"].to_list()
        ['3']
    """
    from vendorkit.http.body import parse_page_body

    ep = get_endpoint(endpoint)
    if not body:
        return pl.DataFrame(schema=ep.wire_schema())
    try:
        return parse_page_body(body, ep).records
    except ValueError as exc:
        raise ContractError(
            f"archived {endpoint} page cannot be read ({exc}); run sync(full=True) instead",
            endpoint=endpoint,
        ) from exc


def run_replay(
    store: Store,
    endpoints: str | Iterable[str] | None = None,
    *,
    normaliser: Normaliser | None = None,
    chunk_records: int | None = None,
) -> SyncReport:
    """Rebuild typed tables from the raw page archive (the engine behind :func:`replay`).

    For each endpoint the archived syncs are re-normalised into staging, then re-applied in
    order in one transaction. Status history and cursors are observations and stay.
    """
    names = resolve_endpoints(endpoints)
    normalise = normaliser or _default_normaliser()
    started = datetime.now(UTC)
    report = SyncReport(sync_id=new_sync_id(started), source="archive", started_at=started)
    with store.sync_lock():
        for endpoint in names:
            report.rows.append(
                _replay_endpoint(store, endpoint, normalise, chunk_records or CHUNK_RECORDS)
            )
    report.finished_at = datetime.now(UTC)
    return report


def _replay_endpoint(
    store: Store, endpoint: str, normalise: Normaliser, chunk_records: int
) -> EndpointSync:
    t0 = time.perf_counter()
    row = EndpointSync(endpoint, outcome="replayed")
    if not store.exists():
        row.outcome = "skipped"
        return row
    ep = get_endpoint(endpoint)
    syncs = store.query(
        "SELECT p.sync_id, coalesce(any_value(l.full_refresh), false) AS full_refresh, "
        "coalesce(any_value(l.server_date), min(p.server_date)) AS server_date, "
        "any_value(l.started_at) AS started_at FROM raw_pages p LEFT JOIN sync_log l "
        "ON l.sync_id = p.sync_id AND l.endpoint = p.endpoint WHERE p.endpoint = ? "
        "GROUP BY p.sync_id ORDER BY p.sync_id",
        [endpoint],
    )
    if syncs.height == 0:
        row.outcome = "skipped"
        row.error = "no archived pages for this endpoint"
        return row
    if ep.write != "snapshot" and not syncs["full_refresh"][0]:
        raise StoreError(
            f"the {endpoint} archive does not start with a full sync, so it cannot rebuild "
            "the tables; run vendorkit.sync(full=True) instead",
            endpoint=endpoint,
        )
    infos = list(syncs.iter_rows(named=True))
    sync_ids = [i["sync_id"] for i in infos]
    staged: list[str] = []
    try:
        for info in infos:  # stage every archived sync, chunk by chunk
            now = datetime.now(UTC)
            point = _fresh_point(info["sync_id"], endpoint, bool(info["full_refresh"]), None, now)
            run = _Run(store, endpoint, normalise, point, chunk_records, lambda: 0)
            run.keep_pages = False
            staged.append(info["sync_id"])
            for page in archived_pages(store, endpoint, info["sync_id"]):
                run.add(page, 1)
                row.pages += 1
            run.flush()
            for name in (
                "fetched",
                "loaded",
                "rejected",
                "deduplicated",
                "coerced",
                "unknown_status",
            ):
                setattr(row, name, getattr(row, name) + run.point.counts.get(name, 0))
        with store.write() as con:
            store.forget_snapshots(con, endpoint, sync_ids)
            con.execute(
                "DELETE FROM rejects WHERE endpoint = ? AND sync_id IN (SELECT unnest(?))",
                [endpoint, sync_ids],
            )
            for info in infos:
                applied = store.apply_staged(
                    con,
                    endpoint,
                    info["sync_id"],
                    snapshot_at=info["server_date"],
                    full=bool(info["full_refresh"]),
                    rejected_at=info["started_at"] or info["server_date"],
                    status_history=False,
                    archive=False,
                )
                row.deduplicated += applied.deduplicated
                row.loaded -= applied.deduplicated
    except BaseException:
        with store.write() as con:
            for sync_id in staged:
                store.discard_staged(con, sync_id, endpoint)
        raise
    row.passes = syncs.height
    row.duration_s = time.perf_counter() - t0
    return row


#: a replay reads archived pages in batches of at most this many pages ...
BATCH_PAGES = 500
#: ... and at most this many (decompressed) body bytes, so memory stays bounded
BATCH_BYTES = 32 * 2**20

_ARCHIVE_KEYS_SQL = (
    "SELECT pass_number, page_number, sum(coalesce(body_size, 0)) AS body_size FROM raw_pages "
    "WHERE endpoint = ? AND sync_id = ? GROUP BY pass_number, page_number "
    "ORDER BY pass_number, page_number"
)
_ARCHIVE_BATCH_SQL = (
    "SELECT * FROM raw_pages WHERE endpoint = ? AND sync_id = ? "
    "AND (pass_number > ? OR (pass_number = ? AND page_number >= ?)) "
    "AND (pass_number < ? OR (pass_number = ? AND page_number <= ?)) "
    "ORDER BY pass_number, page_number"
)


def _batches(
    keys: pl.DataFrame, max_pages: int, max_bytes: int
) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """First and last ``(pass_number, page_number)`` of each batch of consecutive keys."""
    first: tuple[int, int] | None = None
    last: tuple[int, int] = (0, 0)
    pages = size = 0
    for pass_number, page_number, body_size in keys.iter_rows():
        if first is not None and (pages >= max_pages or size + body_size > max_bytes):
            yield first, last
            first, pages, size = None, 0, 0
        if first is None:
            first = (pass_number, page_number)
        last = (pass_number, page_number)
        pages += 1
        size += body_size
    if first is not None:
        yield first, last


def archived_pages(
    store: Store,
    endpoint: str,
    sync_id: str,
    *,
    batch_pages: int = BATCH_PAGES,
    batch_bytes: int = BATCH_BYTES,
) -> Iterator[Page]:
    """The archived pages of one sync, in fetch order, as :class:`Page` objects parsed by
    the live parser.

    One query lists the pages (numbers and sizes, no bodies); the bodies then come in a
    few queries of up to ``batch_pages`` pages / ``batch_bytes`` decompressed bytes each,
    decompressed and parsed one page at a time. No connection stays open between batches,
    so the caller may write to the store while it iterates.
    """
    from vendorkit.http.pages import Page

    keys = store.query(_ARCHIVE_KEYS_SQL, [endpoint, sync_id])
    for (p0, n0), (p1, n1) in _batches(keys, batch_pages, batch_bytes):
        frame = store.query(_ARCHIVE_BATCH_SQL, [endpoint, sync_id, p0, p0, n0, p1, p1, n1])
        for rec in frame.iter_rows(named=True):
            body = rec["body"] or b""
            if rec["encoding"] == _CODEC:
                body = _decompress(body, rec["body_size"])
            yield Page(
                endpoint=endpoint,
                number=rec["page_number"],
                body=body,
                records=parse_body(endpoint, body),
                records_found=rec["records_found"],
                fetched_at=rec["fetched_at"],
                correlation_id=rec["correlation_id"],
                status_code=rec["status_code"],
                server_date=rec["server_date"],
            )


def _archived_pages(store: Store, con: Any, endpoint: str, sync_id: str) -> Iterator[Page]:
    """:func:`archived_pages` (the older signature, with a connection it does not need)."""
    del con
    return archived_pages(store, endpoint, sync_id)


def replay(
    endpoints: str | Iterable[str] | None = None, *, settings: Settings | None = None
) -> SyncReport:
    """Rebuild the typed tables from the raw page archive, without refetching.

    Useful after a schema fix (new coercion rule, new status spelling): the archived pages
    go through today's validation again. A thin wrapper over :meth:`Handle.replay`.

    Args:
        endpoints: names (default: all).
        settings: configuration (default: from the environment).

    Example:
        >>> import tempfile, pathlib, vendorkit as vk
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = vk.Settings(db=str(pathlib.Path(tmp) / "vk.duckdb"))
        ...     _ = vk.sync(["orders"], settings=s)
        ...     vk.replay(["orders"], settings=s)["orders"].outcome
        'replayed'
    """
    from vendorkit.handle import one_shot

    with one_shot(settings, "vendorkit.replay()") as handle:
        return handle.replay(endpoints)
