"""Child-process entry point: run one contender once and print its result as JSON.

``python -m benchmarks.contenders NAME --target JSON --db PATH [--page-size N] ...``

The parent (:mod:`benchmarks.run`) starts a fresh interpreter per run, so the timed
section below excludes interpreter start-up and imports but the peak RSS the parent reads
includes everything the contender needed.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.harness import peak_rss_mb
from benchmarks.target import Target

__all__ = ["CONTENDERS", "main", "run_vendorkit"]


def run_floor(
    target: Target, db: str, endpoints: Sequence[str], page_size: int, **kw: Any
) -> dict[str, Any]:
    """The floor: stdlib HTTP + ``pl.read_json`` + one CTAS per table."""
    from benchmarks.floor import load_floor

    return load_floor(
        target, db, endpoints=endpoints, page_size=page_size, max_pages=kw.get("max_pages")
    )


def run_pandas(
    target: Target, db: str, endpoints: Sequence[str], page_size: int, **kw: Any
) -> dict[str, Any]:
    """requests + pandas ``json_normalize`` + one insert per table."""
    from benchmarks.peers import load_requests_pandas

    return load_requests_pandas(
        target, db, endpoints=endpoints, page_size=page_size, max_pages=kw.get("max_pages")
    )


def run_dlt(
    target: Target, db: str, endpoints: Sequence[str], page_size: int, **kw: Any
) -> dict[str, Any]:
    """dlt ``rest_api`` with defaults."""
    from benchmarks.peers import load_dlt

    return load_dlt(
        target, db, endpoints=endpoints, page_size=page_size, max_pages=kw.get("max_pages")
    )


def run_dlt_parquet(
    target: Target, db: str, endpoints: Sequence[str], page_size: int, **kw: Any
) -> dict[str, Any]:
    """dlt ``rest_api`` with ``loader_file_format="parquet"``."""
    from benchmarks.peers import load_dlt

    return load_dlt(
        target,
        db,
        endpoints=endpoints,
        page_size=page_size,
        max_pages=kw.get("max_pages"),
        loader_file_format="parquet",
    )


def run_vendorkit(
    target: Target, db: str, endpoints: Sequence[str], page_size: int, **kw: Any
) -> dict[str, Any]:
    """``vendorkit.sync()`` against the target; full unless ``incremental`` is set."""
    import vendorkit as vk

    settings = vk.Settings(
        base_url=target.base_url,
        token_url=target.token_url,
        client_id=target.client_id,
        client_secret=target.client_secret,
        partner_id=target.partner_id,
        country_code=target.country_code,
        db=db,
        page_size=page_size,
    )
    full = not kw.get("incremental", False)
    timeline = _Timeline()
    report = vk.sync(list(endpoints), settings=settings, full=full, on_progress=timeline)
    result = _report_to_dict(report)
    result["timeline"] = timeline.summary()
    return result


class _Timeline:
    """Progress callback: when each endpoint's pages arrived, and why the client waited."""

    def __init__(self) -> None:
        self.pages: dict[str, list[float]] = {}
        self.waits: dict[str, dict[str, int]] = {}

    def __call__(self, event: Any) -> None:
        now = time.monotonic()
        if event.kind == "page":
            self.pages.setdefault(event.endpoint, []).append(now)
        elif event.kind == "wait":
            reasons = self.waits.setdefault(event.endpoint, {})
            reason = str(event.reason or "wait")
            reasons[reason] = reasons.get(reason, 0) + 1

    def summary(self) -> dict[str, Any]:
        """Per endpoint: pages seen, first-to-last page span (s), wait reasons."""
        out: dict[str, Any] = {}
        for endpoint, times in self.pages.items():
            out[endpoint] = {
                "pages": len(times),
                "span_s": max(times) - min(times),
                "waits": self.waits.get(endpoint, {}),
            }
        return out


def _report_to_dict(report: Any) -> dict[str, Any]:
    """Flatten vendorkit's :class:`~vendorkit.sync.SyncReport` into the benchmark's shape."""
    rows: dict[str, int] = {}
    endpoints: dict[str, Any] = {}
    requests = 0
    for ep in report.rows:
        rows[ep.endpoint] = int(ep.fetched)
        requests += int(ep.requests)
        endpoints[ep.endpoint] = {
            "outcome": ep.outcome,
            "pages": ep.pages,
            "requests": ep.requests,
            "fetched": ep.fetched,
            "loaded": ep.loaded,
            "rejected": ep.rejected,
            "passes": ep.passes,
            "duration_s": ep.duration_s,
            "error": ep.error,
        }
    failed = [name for name, ep in endpoints.items() if ep["outcome"] == "failed"]
    if failed:
        raise RuntimeError(f"vendorkit sync failed for {failed}: {endpoints}")
    return {"rows": rows, "requests": requests, "endpoints": endpoints}


CONTENDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "floor": run_floor,
    "pandas": run_pandas,
    "dlt": run_dlt,
    "dlt-parquet": run_dlt_parquet,
    "vendorkit": run_vendorkit,
}


def _max_pages(text: str) -> int | dict[str, int]:
    """``"20"`` -> 20; ``"inventory=20,orders=4"`` -> ``{"inventory": 20, "orders": 4}``."""
    if "=" not in text:
        return int(text)
    return {k: int(v) for k, v in (item.split("=", 1) for item in text.split(",") if item)}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run one contender, print ``{"seconds": ..., ...}`` as the last line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.contenders")
    parser.add_argument("name", choices=sorted(CONTENDERS))
    parser.add_argument("--target", required=True, help="Target as JSON")
    parser.add_argument("--db", required=True)
    parser.add_argument("--endpoints", default="inventory,orders,shipments")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument(
        "--max-pages",
        type=_max_pages,
        default=None,
        help="N, or per endpoint: inventory=20,orders=4 (dlt only)",
    )
    parser.add_argument("--incremental", action="store_true")
    args = parser.parse_args(argv)
    target = Target.from_json(args.target)
    endpoints = [e for e in args.endpoints.split(",") if e]
    fn = CONTENDERS[args.name]
    t0 = time.perf_counter()
    result = fn(
        target,
        args.db,
        endpoints,
        args.page_size,
        max_pages=args.max_pages,
        incremental=args.incremental,
    )
    result["seconds"] = time.perf_counter() - t0
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
