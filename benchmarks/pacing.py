"""Pacing at the real limits, in simulated time: ``python -m benchmarks.pacing [--rows N]``.

A full inventory sync (:func:`vendorkit.sync.run_sync`, the production client over real
localhost HTTP against the sandbox server) at Ingram Micro's limits -- 60 calls per minute
per endpoint, 60-second windows, pageSize 100 -- with the client's pacer and retries and the
sandbox's rate limiter, token expiry and ``Date`` header all on one
:class:`~vendorkit.sandbox.clock.SimulatedClock`. Ten thousand calls (1,000,000 rows,
2 h 47 min of API time) take about a minute of real time.

Figures (:class:`PacingRun`), all from the *server's* counters and clock: the data calls it
answered, the simulated seconds from its first to its last data call, the minimum those
calls need without a 429 (fixed windows: the calls of a window may all go at its start, so
``(ceil(calls / limit) - 1) x window``; at the plain rate ``calls x window / limit`` is
slightly more), the share of the allowed rate used (minimum / simulated), the 429s it
answered; and the real seconds.

The test suite runs the same function on a smaller sync
(``tests/reliability/test_pacing.py``); this script measures the 1M-row figure for
BENCHMARKS.md (``--out`` appends a section; ``--json`` prints the figures).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "PacingRun",
    "main",
    "markdown",
    "minimum_s",
    "scale_for_rows",
    "simulate_fetches",
    "simulate_sync",
]

#: the simulated clock starts at the top of a minute (a window boundary of aligned windows)
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
LIMIT = 60
WINDOW_S = 60.0
PAGE_SIZE = 100
#: real seconds of quiet before the simulated clock moves to the next wake-up (see
#: :class:`~vendorkit.sandbox.clock.SimulatedClock`): workers and endpoints keep their own
#: schedules, as in real time
SETTLE_S = 0.01

Windows = Literal["first_call", "aligned"]


@dataclass(frozen=True, slots=True)
class PacingRun:
    """What one simulated-time run measured (per endpoint, or summed over endpoints).

    Attributes:
        endpoint: the endpoint (or ``"+"``-joined names for a parallel run).
        rows: records loaded (a sync) or fetched (a fetch).
        calls: data calls the server answered (its counter, retries included).
        simulated_s: simulated seconds from the server's first to its last data call.
        minimum_s: the least time ``calls`` need without a 429 (``(ceil(calls / limit) -
            1) * window``; for parallel endpoints, the slowest endpoint's).
        share: ``minimum_s / simulated_s``: the share of the allowed rate used.
        server_429: 429 answers the server sent.
        real_s: wall-clock seconds of the run.
        windows: the sandbox's window rule (``aligned`` / ``first_call``).
        workers: fetch threads per endpoint.
    """

    endpoint: str
    rows: int
    calls: int
    simulated_s: float
    minimum_s: float
    share: float
    server_429: int
    real_s: float
    windows: str
    workers: int

    def line(self) -> str:
        """One line for logs and BENCHMARKS.md.

        Example:
            >>> PacingRun("inventory", 100, 1, 1.0, 1.0, 1.0, 0, 0.1, "aligned", 4).line()[:40]
            'inventory: 1 calls in 1 s simulated (min'
        """
        return (
            f"{self.endpoint}: {self.calls:,} calls in {self.simulated_s:,.0f} s simulated "
            f"(minimum {self.minimum_s:,.0f} s at {LIMIT}/min): {self.share:.2%} of the allowed "
            f"rate, {self.server_429} 429s, {self.real_s:.1f} s real ({self.windows} windows, "
            f"{self.workers} workers)"
        )


def scale_for_rows(rows: int) -> float:
    """The sandbox scale whose inventory has ``rows`` rows (5 warehouses below scale 50, 20
    from there on).

    Example:
        >>> scale_for_rows(60_000), scale_for_rows(1_000_000)
        (24.0, 100.0)
    """
    small = rows / 5 / 500
    return small if small < 50 else rows / 20 / 500


def _sandbox_config(scale: float, windows: Windows, now: Any) -> Any:
    from vendorkit.sandbox import SandboxConfig

    return SandboxConfig(
        scale=scale,
        invalid=0,
        now=now,
        rate_limit_per_minute=LIMIT,
        rate_limit_window_s=WINDOW_S,
        rate_limit_windows=windows,
    )


def _settings(server: Any, db: str, workers: int) -> Any:
    from vendorkit.config import Settings

    return Settings(
        base_url=server.base_url,
        token_url=server.token_url,
        client_id="pacing-bench",
        client_secret="pacing-bench-secret",
        db=db,
        page_size=PAGE_SIZE,
        workers=workers,
    )


def minimum_s(calls: int) -> float:
    """The least simulated time ``calls`` calls need without a 429 at the real limits: a
    window's calls may all go at its start, so the last window starts ``(ceil(calls /
    limit) - 1)`` windows after the first call.

    Example:
        >>> minimum_s(60), minimum_s(61), minimum_s(10_000)
        (0.0, 60.0, 9960.0)
    """
    return (math.ceil(calls / LIMIT) - 1) * WINDOW_S if calls else 0.0


def _server_run(
    app: Any, endpoint: str, rows: int, real: float, windows: str, workers: int
) -> PacingRun:
    """A :class:`PacingRun` from the server's counters for ``endpoint``."""
    stats = app.stats().get(endpoint, {})
    calls = int(stats.get("requests", 0))
    first, last = stats.get("first_request_at"), stats.get("last_request_at")
    span = float(last - first) if first is not None and last is not None else 0.0
    least = minimum_s(calls)
    share = least / span if span else 1.0
    limited = int(stats.get("rate_limited", 0))
    return PacingRun(endpoint, rows, calls, span, least, share, limited, real, windows, workers)


def simulate_sync(
    rows: int,
    *,
    windows: Windows = "aligned",
    workers: int = 4,
    inspect: Callable[[Any, Any], None] | None = None,
) -> PacingRun:
    """A full inventory sync of ``rows`` rows at the real limits, in simulated time.

    ``inspect(store, sandbox)`` is called after the sync, while both are open (tests compare
    the store with the sandbox's ground truth there).

    Example:
        >>> # simulate_sync(1_000_000).share  # 0.99+
    """
    from vendorkit.http.client import VendorClient
    from vendorkit.sandbox import Sandbox
    from vendorkit.sandbox.clock import SimulatedClock
    from vendorkit.store import Store
    from vendorkit.sync import run_sync

    clock = SimulatedClock(START, settle_s=SETTLE_S)
    sandbox = Sandbox(_sandbox_config(scale_for_rows(rows), windows, clock.now))
    with tempfile.TemporaryDirectory() as tmp, sandbox.serve(host="127.0.0.1", port=0) as srv:
        path = str(Path(tmp) / "pacing.duckdb")
        settings = _settings(srv, path, workers)
        started = time.perf_counter()
        with (
            Store(path) as store,
            VendorClient(settings, clock=clock.now, sleep=clock.sleep) as client,
        ):
            report = run_sync(store, client, ["inventory"], full=True)
            real = time.perf_counter() - started
            if inspect is not None:
                inspect(store, sandbox)
        if not report.ok:
            raise RuntimeError(f"the simulated sync failed: {report['inventory'].error}")
        return _server_run(
            sandbox.app, "inventory", report["inventory"].loaded, real, windows, workers
        )


def simulate_fetches(
    scale: float,
    endpoints: Sequence[str] = ("inventory", "orders", "shipments"),
    *,
    windows: Windows = "aligned",
    workers: int = 4,
) -> dict[str, PacingRun]:
    """Fetch ``endpoints`` at the same time (one thread each, one client, one clock) at the
    real limits: each endpoint has its own budget of 60 calls per minute.

    Returns one :class:`PacingRun` per endpoint (its ``simulated_s`` ends when its own
    fetch ends) and ``"all"``: the whole run against the slowest endpoint's minimum.

    Example:
        >>> # simulate_fetches(2.0)["all"].share  # 0.99+
    """
    from vendorkit.http.client import VendorClient
    from vendorkit.sandbox import Sandbox
    from vendorkit.sandbox.clock import SimulatedClock

    clock = SimulatedClock(START, settle_s=SETTLE_S)
    sandbox = Sandbox(_sandbox_config(scale, windows, clock.now))
    rows: dict[str, int] = {}
    with sandbox.serve(host="127.0.0.1", port=0) as srv:
        settings = _settings(srv, ":memory:", workers)
        started = time.perf_counter()
        with VendorClient(settings, clock=clock.now, sleep=clock.sleep) as client:

            def fetch(endpoint: str) -> None:
                rows[endpoint] = sum(p.records.height for p in client.iter_pages(endpoint))

            threads = [threading.Thread(target=fetch, args=(e,)) for e in endpoints]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        real = time.perf_counter() - started
    runs: dict[str, PacingRun] = {}
    for endpoint in endpoints:
        if endpoint not in rows:
            raise RuntimeError(f"the simulated fetch of {endpoint} failed")
        runs[endpoint] = _server_run(sandbox.app, endpoint, rows[endpoint], real, windows, workers)
    stats = sandbox.app.stats()
    first = min(stats[e]["first_request_at"] for e in endpoints)
    last = max(stats[e]["last_request_at"] for e in endpoints)
    slowest = max(r.minimum_s for r in runs.values())
    span = float(last - first)
    runs["all"] = PacingRun(
        "+".join(endpoints),
        sum(r.rows for r in runs.values()),
        sum(r.calls for r in runs.values()),
        span,
        slowest,
        slowest / span if span else 1.0,
        sum(r.server_429 for r in runs.values()),
        real,
        windows,
        workers,
    )
    return runs


def markdown(runs: Sequence[PacingRun]) -> str:
    """The BENCHMARKS.md section for ``runs``.

    Example:
        >>> markdown([PacingRun("inventory", 100, 1, 1.0, 1.0, 1.0, 0, 0.1, "aligned", 4)])[:25]
        '## Pacing at the real lim'
    """
    lines = [
        "## Pacing at the real limits, in simulated time (issue 12.4)",
        "",
        f"`python -m benchmarks.pacing`: a full inventory sync at {LIMIT} calls/min per "
        f"endpoint, {WINDOW_S:.0f}-s windows, pageSize {PAGE_SIZE}; client pacer, retries and the "
        "sandbox's rate limiter and `Date` on one simulated clock, over real localhost HTTP. "
        "Simulated = the server's first to last data call; minimum = (ceil(calls / 60) - 1) x "
        "60 s, the least time without a 429 (calls x 1 s, the plain rate, is a little more); "
        "share = minimum / simulated; 429s counted by the server.",
        "",
        "| windows | rows | calls | simulated | minimum | share of allowed rate | 429s | real |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.windows} | {r.rows:,} | {r.calls:,} | {r.simulated_s:,.0f} s | "
            f"{r.minimum_s:,.0f} s | {r.share:.2%} | {r.server_429} | {r.real_s:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the 1M-row simulated sync (both window rules) and print / append the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pacing", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--windows", choices=("aligned", "first_call", "both"), default="both")
    parser.add_argument("--out", type=Path, help="append the section to this Markdown file")
    parser.add_argument("--json", action="store_true", help="print only the figures, as JSON")
    args = parser.parse_args(argv)
    rules: list[Windows] = ["aligned", "first_call"] if args.windows == "both" else [args.windows]
    runs = [simulate_sync(args.rows, windows=w, workers=args.workers) for w in rules]
    if args.json:
        print(json.dumps([asdict(r) for r in runs], indent=2))
    else:
        for run in runs:
            print(run.line())
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write("\n" + markdown(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
