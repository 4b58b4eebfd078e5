"""The floor: the least work that still lands the same typed tables in DuckDB.

A minimal loader written for the benchmark, with none of vendorkit's guarantees (no
retries beyond a bare 429 wait, no validation, no rejects, no archive, no sync log):

* page 1 first (for ``recordsFound``), then pages 2..ceil(recordsFound / pageSize) on
  ``workers`` threads (default ``Settings().workers``, vendorkit's own fetch concurrency),
  each thread with one stdlib :class:`http.client.HTTPConnection` kept alive for its pages;
* each page parsed by ``pl.read_json`` with an explicit all-``String`` schema (the
  endpoint's wire schema), so quirky numbers-as-strings parse alike;
* one ``CREATE TABLE ... AS SELECT`` per table in DuckDB, casting to the typed columns of
  ``docs/ARCHITECTURE.md`` on the way in (``TRY_CAST``; nested ``lines`` via ``UNNEST``).

vendorkit's cost over this is the price of its guarantees; the benchmark reports it as a
ratio.
"""

from __future__ import annotations

import http.client
import io
import json
import math
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode, urlsplit

import duckdb
import polars as pl

from benchmarks.target import Target, correlation_id
from vendorkit.endpoints import ENDPOINTS, Endpoint

__all__ = ["TABLE_SQL", "fetch_pages", "fetch_pages_concurrent", "load_floor"]

#: One CTAS per typed table, reading the concatenated raw frame registered as ``raw``.
TABLE_SQL: dict[str, dict[str, str]] = {
    "inventory": {
        "inventory": """
            SELECT "partNumber" AS part_number,
                   "warehouse" AS warehouse_id,
                   "warehouseName" AS warehouse_name,
                   "vendorPartNumber" AS vendor_part_number,
                   TRY_CAST("quantity" AS BIGINT) AS quantity_on_hand,
                   TRY_CAST("quantityBackordered" AS BIGINT) AS quantity_backordered,
                   TRY_CAST("quantityOnOrder" AS BIGINT) AS quantity_on_order,
                   TRY_CAST("lastUpdated" AS TIMESTAMPTZ) AS last_updated
            FROM raw""",
    },
    "orders": {
        "orders": """
            SELECT "orderId" AS order_id,
                   "resellerId" AS reseller_id,
                   "resellerName" AS reseller_name,
                   "status" AS status_raw,
                   TRY_CAST("orderDate" AS TIMESTAMPTZ) AS order_date,
                   TRY_CAST("updatedAt" AS TIMESTAMPTZ) AS updated_at,
                   "currencyCode" AS currency_code
            FROM raw""",
        "order_lines": """
            SELECT order_id,
                   TRY_CAST("lineNumber" AS INTEGER) AS line_number,
                   "partNumber" AS part_number,
                   TRY_CAST("quantity" AS BIGINT) AS quantity_ordered,
                   TRY_CAST("quantityConfirmed" AS BIGINT) AS quantity_confirmed,
                   TRY_CAST("quantityBackordered" AS BIGINT) AS quantity_backordered,
                   TRY_CAST("unitPrice" AS DOUBLE) AS unit_price,
                   "warehouse" AS warehouse_id
            FROM (SELECT "orderId" AS order_id, UNNEST(lines, recursive := true) FROM raw)""",
    },
    "shipments": {
        "shipments": """
            SELECT "id" AS shipment_id,
                   "orderId" AS order_id,
                   "carrier" AS carrier,
                   "trackingNumber" AS tracking_number,
                   "status" AS status_raw,
                   "warehouse" AS warehouse_id,
                   TRY_CAST("shipDate" AS TIMESTAMPTZ) AS ship_date,
                   TRY_CAST("estimatedDeliveryDate" AS TIMESTAMPTZ) AS estimated_delivery_date,
                   TRY_CAST("deliveredDate" AS TIMESTAMPTZ) AS delivered_date,
                   TRY_CAST("updatedAt" AS TIMESTAMPTZ) AS updated_at
            FROM raw""",
        "shipment_lines": """
            SELECT shipment_id, order_id,
                   TRY_CAST("lineNumber" AS INTEGER) AS line_number,
                   "partNumber" AS part_number,
                   TRY_CAST("quantity" AS BIGINT) AS quantity
            FROM (SELECT "id" AS shipment_id, "orderId" AS order_id,
                         UNNEST(lines, recursive := true) FROM raw)""",
    },
}


class _Http:
    """A single keep-alive connection to the sandbox, counting requests."""

    def __init__(self, target: Target) -> None:
        parts = urlsplit(target.base_url)
        self.target = target
        self.base_path = parts.path.rstrip("/")
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests = 0
        self.throttled = 0
        self.headers = target.static_headers()

    def clone(self) -> _Http:
        """A second connection to the same server carrying this one's token."""
        other = _Http(self.target)
        other.headers = dict(self.headers)
        return other

    def token(self) -> str:
        parts = urlsplit(self.target.token_url)
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.target.client_id,
                "client_secret": self.target.client_secret,
            }
        )
        self.conn.request(
            "POST",
            parts.path,
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        resp = self.conn.getresponse()
        body = resp.read()
        self.requests += 1
        if resp.status != 200:
            raise RuntimeError(f"floor: token request answered {resp.status}")
        token = json.loads(body)["access_token"]
        self.headers["Authorization"] = f"Bearer {token}"
        return str(token)

    def get(self, path: str) -> tuple[int, bytes]:
        while True:
            headers = {**self.headers, "IM-CorrelationID": correlation_id()}
            self.conn.request("GET", path, headers=headers)
            resp = self.conn.getresponse()
            body = resp.read()
            self.requests += 1
            if resp.status == 429:  # the floor's only courtesy: wait for the window to reset
                self.throttled += 1
                reset = resp.getheader("X-RateLimit-Reset")
                wait = max(0.05, float(reset) - time.time()) if reset else 1.0
                time.sleep(min(wait, 60.0))
                continue
            return resp.status, body

    def close(self) -> None:
        self.conn.close()


def fetch_pages(
    http: _Http, endpoint: Endpoint, page_size: int, max_pages: int | None = None
) -> Iterator[pl.DataFrame]:
    """Yield each page's records as a raw all-String frame until 204 / no next page."""
    schema = {endpoint.list_key: pl.List(pl.Struct(endpoint.wire_schema()))}
    number = 1
    while max_pages is None or number <= max_pages:
        query = urlencode({"pageNumber": number, "pageSize": page_size})
        status, body = http.get(f"{http.base_path}{endpoint.path}?{query}")
        if status == 204 or not body:
            return
        if status != 200:
            raise RuntimeError(f"floor: {endpoint.name} page {number} answered {status}")
        frame = pl.read_json(io.BytesIO(body), schema=schema)
        records = frame.get_column(endpoint.list_key).explode().struct.unnest()
        if records.height:
            yield records
        if records.height < page_size:  # a short page is the last one
            return
        number += 1


def _parse(endpoint: Endpoint, body: bytes) -> pl.DataFrame:
    schema = {endpoint.list_key: pl.List(pl.Struct(endpoint.wire_schema()))}
    frame = pl.read_json(io.BytesIO(body), schema=schema)
    return frame.get_column(endpoint.list_key).explode().struct.unnest()


def fetch_pages_concurrent(
    http: _Http, endpoint: Endpoint, page_size: int, workers: int, max_pages: int | None = None
) -> tuple[list[pl.DataFrame], int, int]:
    """All pages of ``endpoint``: page 1, then the rest on ``workers`` threads.

    Page 1's ``recordsFound`` says how many pages there are (as vendorkit's client plans
    them); pages 2..n are shared out to ``workers`` threads, each with its own keep-alive
    connection. Returns ``(frames in page order, requests, throttled)``; against the
    sandbox's 1,000,000 inventory rows at pageSize 100 that is 10,000 frames and 10,000
    requests (``tests/unit/test_benchmarks.py`` runs it against a fake server).
    """

    def path(number: int) -> str:
        query = urlencode({"pageNumber": number, "pageSize": page_size})
        return f"{http.base_path}{endpoint.path}?{query}"

    def check(number: int, status: int, body: bytes) -> pl.DataFrame | None:
        if status == 204 or not body:
            return None
        if status != 200:
            raise RuntimeError(f"floor: {endpoint.name} page {number} answered {status}")
        return _parse(endpoint, body)

    throttled_before = http.throttled
    status, body = http.get(path(1))
    first = check(1, status, body)
    if first is None:
        return [], 1, http.throttled - throttled_before
    found = int(json.loads(body).get("recordsFound") or first.height)
    pages = math.ceil(found / page_size)
    if max_pages is not None:
        pages = min(pages, max_pages)
    local = threading.local()
    conns: list[_Http] = []
    lock = threading.Lock()

    def fetch(number: int) -> pl.DataFrame | None:
        conn = getattr(local, "http", None)
        if conn is None:
            conn = local.http = http.clone()
            with lock:
                conns.append(conn)
        status, body = conn.get(path(number))
        return check(number, status, body)

    frames = [first]
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            frames += [f for f in pool.map(fetch, range(2, pages + 1)) if f is not None]
    finally:
        for conn in conns:
            conn.close()
    requests = 1 + sum(c.requests for c in conns)
    throttled = http.throttled - throttled_before + sum(c.throttled for c in conns)
    return [f for f in frames if f.height], requests, throttled


def load_floor(
    target: Target,
    db_path: str,
    *,
    endpoints: Sequence[str] = ("inventory", "orders", "shipments"),
    page_size: int = 100,
    max_pages: int | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Load ``endpoints`` from ``target`` into typed DuckDB tables the floor's way.

    Pages are fetched on ``workers`` threads (default: ``vendorkit.Settings().workers``,
    the concurrency vendorkit itself fetches with), so the comparison is like for like.

    Returns:
        ``{"rows": {endpoint: records}, "tables": {table: rows}, "requests": n,
        "throttled": n}``.

    Example:
        >>> load_floor(target, "/tmp/floor.duckdb", endpoints=["inventory"])  # doctest: +SKIP
        {'rows': {'inventory': 1000000}, 'tables': {'inventory': 1000000}, ...}
    """
    if workers is None:
        from vendorkit.config import Settings

        workers = Settings.model_fields["workers"].default
    http = _Http(target)
    rows: dict[str, int] = {}
    requests = 0
    throttled = 0
    tables: dict[str, int] = {}
    try:
        http.token()
        con = duckdb.connect(db_path)
        try:
            for name in endpoints:
                endpoint = ENDPOINTS[name]
                pages, n, t = fetch_pages_concurrent(http, endpoint, page_size, workers, max_pages)
                requests += n
                throttled += t
                raw = (
                    pl.concat(pages, how="vertical", rechunk=False)
                    if pages
                    else pl.DataFrame(schema=endpoint.wire_schema())
                )
                rows[name] = raw.height
                con.register("raw", raw)
                for table, select in TABLE_SQL[name].items():
                    con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
                    # duckdb 2.0: fetch to the end, or the connection stays busy
                    ((count,),) = con.execute(f"SELECT count(*) FROM {table}").fetchall()
                    tables[table] = int(count)
                con.unregister("raw")
                del raw, pages
        finally:
            con.close()
    finally:
        http.close()
    return {
        "rows": rows,
        "tables": tables,
        "requests": requests + 1,  # + the token
        "throttled": throttled,
        "workers": workers,
    }
