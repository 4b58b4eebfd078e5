"""What a user would pick instead of vendorkit, each written the way its docs suggest.

* :func:`load_requests_pandas`: a ``requests.Session`` (keep-alive), ``resp.json()`` per
  page, ``pd.json_normalize`` (``record_path="lines"`` for the nested order / shipment
  lines), string columns made uniform (the API mixes ints and strings in one column), and
  one insert per table into DuckDB.
* :func:`load_dlt`: dlt's ``rest_api`` source with its defaults into DuckDB, its paginator
  configured for ``pageNumber`` / ``pageSize`` and the OAuth2 client-credentials flow.
  ``loader_file_format="parquet"`` gives the variant dlt recommends for speed.

These need the benchmark-only extras (``pip install -e .[bench]``), never vendorkit's
runtime dependencies; they are imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.target import Target, correlation_id
from vendorkit.endpoints import ENDPOINTS

__all__ = ["load_dlt", "load_requests_pandas"]


def load_requests_pandas(
    target: Target,
    db_path: str,
    *,
    endpoints: Sequence[str] = ("inventory", "orders", "shipments"),
    page_size: int = 100,
    max_pages: int | None = None,
) -> dict[str, Any]:
    """requests + pandas ``json_normalize`` + one insert per table into DuckDB.

    Returns:
        ``{"rows": {endpoint: records}, "tables": {table: rows}, "requests": n}``.

    Example:
        >>> load_requests_pandas(target, "/tmp/pd.duckdb", endpoints=["inventory"])  # doctest: +SKIP
    """
    import duckdb
    import pandas as pd
    import requests

    session = requests.Session()
    requests_made = 0
    token = session.post(
        target.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": target.client_id,
            "client_secret": target.client_secret,
        },
        timeout=30,
    )
    requests_made += 1
    token.raise_for_status()
    session.headers.update(target.static_headers())
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    rows: dict[str, int] = {}
    tables: dict[str, int] = {}
    con = duckdb.connect(db_path)
    try:
        for name in endpoints:
            endpoint = ENDPOINTS[name]
            records: list[dict[str, Any]] = []
            number = 1
            while max_pages is None or number <= max_pages:
                resp = session.get(
                    f"{target.base_url}{endpoint.path}",
                    params={"pageNumber": number, "pageSize": page_size},
                    headers={"IM-CorrelationID": correlation_id()},
                    timeout=60,
                )
                requests_made += 1
                if resp.status_code == 204:
                    break
                resp.raise_for_status()
                page = resp.json()[endpoint.list_key]
                records.extend(page)
                if len(page) < page_size:
                    break
                number += 1
            rows[name] = len(records)
            frames = {name: pd.json_normalize(records)}
            if endpoint.child_key:
                parent = endpoint.primary_key[0]
                meta = [parent] if name == "orders" else [parent, "orderId"]
                frames[name].drop(columns=[endpoint.child_key], errors="ignore", inplace=True)
                frames[_child_table(name)] = pd.json_normalize(
                    records,
                    record_path=endpoint.child_key,
                    meta=meta,
                    meta_prefix="parent_",
                    errors="ignore",
                )
            del records
            for table, frame in frames.items():
                # ids arrive as 20 in one record and "20" in the next: object columns of
                # mixed types, which DuckDB refuses; a pandas user makes them strings.
                for col in frame.select_dtypes(include="object").columns:
                    frame[col] = frame[col].astype("string")
                con.register("frame", frame)
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")
                con.unregister("frame")
                ((count,),) = con.execute(f"SELECT count(*) FROM {table}").fetchall()
                tables[table] = int(count)
            del frames
    finally:
        con.close()
        session.close()
    return {"rows": rows, "tables": tables, "requests": requests_made}


def _child_table(endpoint: str) -> str:
    return {"orders": "order_lines", "shipments": "shipment_lines"}[endpoint]


def load_dlt(
    target: Target,
    db_path: str,
    *,
    endpoints: Sequence[str] = ("inventory", "orders", "shipments"),
    page_size: int = 100,
    max_pages: int | Mapping[str, int] | None = None,
    work_dir: str | None = None,
    loader_file_format: str | None = None,
) -> dict[str, Any]:
    """dlt ``rest_api`` source into DuckDB with dlt's defaults (or its Parquet loader).

    Only what the API needs is configured: the page-number paginator (``pageNumber``,
    1-based, ``pageSize`` as a parameter, 204 past the end is "no more data"), the OAuth2
    client-credentials flow and the Ingram headers. Telemetry is off (no internet here).

    Returns:
        ``{"rows": {endpoint: records}, "tables": {table: rows}, "requests": n}``.

    Example:
        >>> load_dlt(target, "/tmp/dlt.duckdb", endpoints=["inventory"])  # doctest: +SKIP
    """
    work = Path(work_dir or Path(db_path).with_suffix(".dlt"))
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ["DLT_DATA_DIR"] = str(work / "data")
    import dlt
    from dlt.sources.rest_api import rest_api_source

    counter = {"requests": 0}

    def count_response(response: Any, *args: Any, **kwargs: Any) -> Any:
        counter["requests"] += 1
        return response

    paginator: dict[str, Any] = {
        "type": "page_number",
        "page_param": "pageNumber",
        "base_page": 1,
        "total_path": None,
        "stop_after_empty_page": True,
    }

    def pages_for(name: str) -> int | None:
        if max_pages is None:
            return None
        return max_pages.get(name) if isinstance(max_pages, Mapping) else max_pages

    def resource_paginator(name: str) -> dict[str, Any]:
        limit = pages_for(name)
        if limit is None:
            return paginator
        # dlt stops *before* requesting maximum_page (counted from base_page)
        return {**paginator, "maximum_page": limit + 1}

    headers = target.static_headers()
    headers["IM-CorrelationID"] = correlation_id()
    config: dict[str, Any] = {
        "client": {
            "base_url": target.base_url + "/",
            "headers": headers,
            "auth": {
                "type": "oauth2_client_credentials",
                "access_token_url": target.token_url,
                "client_id": target.client_id,
                "client_secret": target.client_secret,
                "access_token_request_data": {"grant_type": "client_credentials"},
            },
        },
        "resource_defaults": {
            "endpoint": {
                "params": {"pageSize": page_size},
                "response_actions": [
                    {"status_code": 204, "action": "ignore"},
                    count_response,
                ],
            },
        },
        "resources": [
            {
                "name": name,
                "endpoint": {
                    "path": ENDPOINTS[name].path.lstrip("/"),
                    "data_selector": ENDPOINTS[name].list_key,
                    "paginator": resource_paginator(name),
                },
            }
            for name in endpoints
        ],
    }
    source = rest_api_source(config)  # type: ignore[arg-type]
    pipeline = dlt.pipeline(
        pipeline_name="vendorkit_bench",
        destination=dlt.destinations.duckdb(db_path),
        dataset_name="bench",
        pipelines_dir=str(work / "pipelines"),
        progress=None,  # type: ignore[arg-type]
    )
    run_kwargs: dict[str, Any] = {}
    if loader_file_format:
        run_kwargs["loader_file_format"] = loader_file_format
    pipeline.run(source, **run_kwargs)

    import duckdb

    tables: dict[str, int] = {}
    con = duckdb.connect(db_path, read_only=True)
    try:
        names = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bench' "
            "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'"
        ).fetchall()
        for (table,) in names:
            ((count,),) = con.execute(f'SELECT count(*) FROM bench."{table}"').fetchall()
            tables[str(table)] = int(count)
    finally:
        con.close()
    rows = {name: tables.get(name, 0) for name in endpoints}
    return {"rows": rows, "tables": tables, "requests": counter["requests"]}
