"""VendorClient vs the floor: rows/s fetching 1,000,000 inventory rows from the local sandbox.

``python -m benchmarks.client_floor [--scale 100] [--page-sizes 100] [--workers 4]``

The sandbox (``bench`` world: scale 100, ``max_page_size`` 100) runs in its own process
(:class:`benchmarks.server.SandboxProcess`) so it never shares the measured process's GIL.
Per page size, in the same run and alternating:

* ``floor``: stdlib ``http.client`` keep-alive, one page after another, each page parsed by
  ``pl.read_json`` with the explicit wire schema (:func:`benchmarks.floor.fetch_pages`);
* ``httpx naive``: one ``httpx.Client``, pages one after another, the same parse;
* ``vendorkit``: :meth:`VendorClient.iter_pages` (token, Ingram headers, retries, pacing,
  concurrent pages over ``--workers`` threads, raw bytes kept).

Every contender must return exactly the sandbox's row count; the script prints one line per
run (wall-clock rows/s, and rows per CPU-second of this process, which stays meaningful on a
busy machine where the wall clock mostly measures other people's load) and a JSON summary
(``--json``) the benchmark suite can fold in.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import polars as pl

from benchmarks.floor import _Http, fetch_pages
from benchmarks.server import SandboxProcess
from benchmarks.target import Target, correlation_id
from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.endpoints import get_endpoint

__all__ = ["main", "run_floor", "run_httpx_naive", "run_vendorkit"]

INVENTORY = get_endpoint("inventory")


def run_floor(target: Target, page_size: int, workers: int) -> int:
    """Rows fetched by the floor (stdlib keep-alive + per-page ``pl.read_json``)."""
    http = _Http(target)
    try:
        http.token()
        return sum(frame.height for frame in fetch_pages(http, INVENTORY, page_size))
    finally:
        http.close()


def run_httpx_naive(target: Target, page_size: int, workers: int) -> int:
    """Rows fetched by plain sequential httpx with the same per-page parse."""
    schema = {INVENTORY.list_key: pl.List(pl.Struct(INVENTORY.wire_schema()))}
    rows = 0
    with httpx.Client() as client:
        token = client.post(
            target.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": target.client_id,
                "client_secret": target.client_secret,
            },
        ).json()["access_token"]
        headers = {**target.static_headers(), "Authorization": f"Bearer {token}"}
        number = 1
        while True:
            query = urlencode({"pageNumber": number, "pageSize": page_size})
            resp = client.get(
                f"{target.base_url}{INVENTORY.path}?{query}",
                headers={**headers, "IM-CorrelationID": correlation_id()},
            )
            if resp.status_code == 204:
                return rows
            resp.raise_for_status()
            frame = pl.read_json(io.BytesIO(resp.content), schema=schema)
            got = frame.get_column(INVENTORY.list_key).explode().struct.unnest().height
            rows += got
            if got < page_size:
                return rows
            number += 1


def run_vendorkit(target: Target, page_size: int, workers: int) -> int:
    """Rows fetched by :meth:`VendorClient.iter_pages`."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        base_url=target.base_url,
        token_url=target.token_url,
        client_id=target.client_id,
        client_secret=target.client_secret,
        partner_id=target.partner_id,
        page_size=page_size,
        workers=workers,
    )
    rows = 0
    with VendorClient(settings, source="sandbox") as client:
        for page in client.iter_pages("inventory"):
            rows += page.records.height
    return rows


CONTENDERS: dict[str, Callable[[Target, int, int], int]] = {
    "floor": run_floor,
    "httpx naive": run_httpx_naive,
    "vendorkit": run_vendorkit,
}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the comparison; print one line per run and return the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--page-sizes", type=int, nargs="+", default=[100])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS))
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    with SandboxProcess(scale=args.scale, max_page_size=max(args.page_sizes)) as server:
        assert server.target is not None
        expected = None
        for page_size in args.page_sizes:
            for _ in range(args.repeat):
                for name in args.contenders:
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                    rows = CONTENDERS[name](server.target, page_size, args.workers)
                    seconds = time.perf_counter() - started
                    cpu_s = time.process_time() - cpu_started
                    expected = expected or rows
                    if rows != expected:
                        raise SystemExit(f"{name} fetched {rows} rows, expected {expected}")
                    result = {
                        "contender": name,
                        "page_size": page_size,
                        "rows": rows,
                        "seconds": round(seconds, 3),
                        "rows_per_s": round(rows / seconds),
                        # this process's CPU (all threads): robust on a busy machine
                        "client_cpu_s": round(cpu_s, 3),
                        "rows_per_client_cpu_s": round(rows / cpu_s) if cpu_s else None,
                    }
                    results.append(result)
                    print(
                        f"{name:12s} pageSize={page_size:5d} rows={rows:>9,d} "
                        f"{seconds:7.2f}s {rows / seconds:>12,.0f} rows/s  "
                        f"client CPU {cpu_s:6.2f}s ({rows / max(cpu_s, 1e-9):>11,.0f} rows/CPU-s)",
                        file=sys.stderr,
                    )
    summary = {"workers": args.workers, "scale": args.scale, "runs": results}
    if args.json:
        print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
