"""The benchmark run: ``python -m benchmarks [--quick] [--runs N] [--out BENCHMARKS.md]``.

One run, one machine, one sandbox server process over real localhost HTTP:

1. **Sync**: ``vendorkit.sync()`` of inventory, orders, shipments at pageSize 100;
   wall time, rows/s, peak RSS (plus inventory alone, for the 1M-row RSS target).
2. **Floor**: :mod:`benchmarks.floor` on the same data, fetching on as many threads as
   vendorkit (``Settings.workers``); vendorkit / floor.
3. **Peers**: requests + pandas; dlt ``rest_api`` with defaults (and its Parquet loader) on
   a reduced page count, extrapolated linearly from two sizes and labelled as such.
4. **Incremental**: a full sync, 1% of records changed on the server, an incremental sync.
5. **Rate-limited**: a second server with a rate limit; achieved requests/min/endpoint / R
   and the 429s the server answered.
5b. **Held lines** (issue 12.5): peak RSS of a full inventory sync at the plan's scale and
   at ``memory_factor`` times it; the requests of a full sync against a server that ignores
   ``updatedSince`` vs ceil(N / pageSize); pages re-fetched by the sync after a kill -9 at
   ~50 % of the pages.
6. **Analysis**: ``benchmarks/analysis_bench.py`` (the analysis engineer's) if present.
7. **Start-up**: ``python -c "import vendorkit"`` vs ``import polars, duckdb, httpx``.

Each contender runs in a fresh child process (:func:`benchmarks.harness.run_child`); the
figures are medians of ``--runs`` runs. A failing item is recorded as such in the report and
the run goes on. Results also land as JSON in ``benchmarks/results/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.harness import (
    ChildRun,
    Series,
    child_env,
    machine_info,
    median,
    package_versions,
    run_child,
)
from benchmarks.server import SandboxProcess
from benchmarks.target import Target

__all__ = ["Plan", "main", "run_benchmarks"]

ALL = ("inventory", "orders", "shipments")
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and repetitions of one benchmark run.

    Example:
        >>> Plan.quick().scale < Plan.full().scale
        True
    """

    mode: str
    scale: float
    runs: int
    peer_runs: int
    dlt_fractions: tuple[float, ...]
    rate_limit: int
    rate_window_s: float
    rate_scale: float
    analysis_history_rows: int
    startup_runs: int
    profile: bool = True
    memory_scales: tuple[float, float] = (10.0, 40.0)
    ignored_since_scale: float = 10.0
    resume_scale: float = 20.0

    @classmethod
    def full(cls, runs: int = 3) -> Plan:
        """Sized to finish in < 15 min on the shared 2-core machine under load.

        50,000 inventory rows and 40,000 orders for the comparisons (scale 20); memory at
        1,000,000 vs 4,000,000 inventory rows (issue 12); dlt on 2 % and 5 % of the pages.
        """
        return cls(
            mode="full",
            scale=20.0,
            runs=runs,
            peer_runs=max(1, runs - 1),
            dlt_fractions=(0.02, 0.05),
            rate_limit=120,
            rate_window_s=10.0,
            rate_scale=2.0,
            analysis_history_rows=2_000_000,
            startup_runs=7,
            memory_scales=(100.0, 400.0),
            ignored_since_scale=10.0,
            resume_scale=20.0,
        )

    @classmethod
    def quick(cls, runs: int = 1) -> Plan:
        """Reduced sizes for a 1-2 minute smoke run (figures are indicative only)."""
        return cls(
            mode="quick",
            scale=10.0,
            runs=runs,
            peer_runs=1,
            dlt_fractions=(0.1,),
            rate_limit=120,
            rate_window_s=5.0,
            rate_scale=0.8,
            analysis_history_rows=500_000,
            startup_runs=3,
            ignored_since_scale=2.0,
            resume_scale=5.0,
        )


class Bench:
    """Runs the items of one :class:`Plan` and collects the results dict."""

    def __init__(self, plan: Plan, work: Path, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.work = work
        self.log = log
        self.results: dict[str, Any] = {"sync": [], "errors": {}}
        self._db_counter = 0

    # -- helpers -------------------------------------------------------------------------
    def _db(self, stem: str) -> str:
        self._db_counter += 1
        return str(self.work / f"{stem}-{self._db_counter}.duckdb")

    def _cleanup_db(self, path: str) -> None:
        for suffix in ("", ".wal"):
            Path(path + suffix).unlink(missing_ok=True)
        shutil.rmtree(Path(path).with_suffix(".dlt"), ignore_errors=True)

    def contender(
        self,
        name: str,
        target: Target,
        *,
        endpoints: Sequence[str] = ALL,
        page_size: int = 100,
        max_pages: int | None = None,
        max_pages_spec: str | None = None,
        db: str | None = None,
        incremental: bool = False,
        keep_db: bool = False,
        wrap: Sequence[str] = (),
        launcher: Sequence[str] = (),
    ) -> ChildRun:
        """One fresh child process running contender ``name``."""
        path = db or self._db(name)
        args = [*wrap, "-m", "benchmarks.contenders", name, "--target", target.to_json()]
        args += ["--db", path, "--endpoints", ",".join(endpoints), "--page-size", str(page_size)]
        if max_pages is not None or max_pages_spec:
            args += ["--max-pages", max_pages_spec or str(max_pages)]
        if incremental:
            args.append("--incremental")
        try:
            return run_child(args, cwd=REPO, launcher=launcher)
        finally:
            if not keep_db:
                self._cleanup_db(path)

    def interleaved(
        self, specs: Sequence[tuple[str, str, int, dict[str, Any]]], target: Target
    ) -> None:
        """Run several contenders round-robin (A, B, C, A, B, C, ...), then summarise each.

        Interleaving keeps the contenders of one comparison under the same machine load
        (this machine is shared), so their ratios are fair even when the load drifts.
        ``specs`` are ``(label, contender, runs, contender kwargs)``.
        """
        series = {label: Series(label) for label, *_ in specs}
        failed: set[str] = set()
        rounds = max(runs for _, _, runs, _ in specs)
        for i in range(rounds):
            for label, name, runs, kwargs in specs:
                if i >= runs or label in failed:
                    continue
                try:
                    run = self.contender(name, target, **kwargs)
                except (RuntimeError, TimeoutError) as exc:
                    failed.add(label)
                    self.results["errors"][label] = f"{type(exc).__name__}: {exc}"[:2000]
                    self.log(f"  {label} FAILED: {exc}")
                    continue
                self.log(
                    f"  {label} run {i + 1}/{runs}: {run.seconds:.2f}s, "
                    f"peak RSS {run.max_rss_mb:.0f} MiB, rows {run.result.get('rows')}"
                )
                series[label].runs.append(run)
        for label, name, _, kwargs in specs:
            s = series[label]
            if not s.runs:
                continue
            rows = s.result.get("rows", {})
            self.results["sync"].append(
                {
                    "label": label,
                    "contender": name,
                    "endpoints": list(kwargs.get("endpoints", ALL)),
                    "page_size": kwargs.get("page_size", 100),
                    "runs": [
                        {"seconds": r.seconds, "wall_s": r.wall_s, "max_rss_mb": r.max_rss_mb}
                        for r in s.runs
                    ],
                    "seconds": s.seconds,
                    "max_rss_mb": s.max_rss_mb,
                    "rows": rows,
                    "total_rows": sum(int(v) for v in rows.values()),
                    "tables": s.result.get("tables"),
                    "requests": s.result.get("requests"),
                    "detail": s.result.get("endpoints"),
                }
            )

    def guarded(self, item: str, fn: Callable[[], None]) -> None:
        """Run one item; record (not raise) its failure so the other items still run."""
        t0 = time.perf_counter()
        self.log(f"[{item}] ...")
        try:
            fn()
        except Exception as exc:  # recorded in the report with its traceback; run goes on
            self.results["errors"][item] = f"{type(exc).__name__}: {exc}"
            self.log(f"[{item}] FAILED: {type(exc).__name__}: {exc}")
            self.log(traceback.format_exc(limit=4))
        self.log(f"[{item}] done in {time.perf_counter() - t0:.1f}s")

    # -- items 1-3: sync, floor, peers -----------------------------------------------------
    def sync_and_floor(self, target: Target) -> None:
        """Items 1-3 on the full data: vendorkit, the floor and requests + pandas.

        Two interleaved groups at pageSize 100 (the contract's maximum): all endpoints (with
        requests + pandas), and the inventory alone (the CPU and RSS targets).
        """
        runs, peer_runs = self.plan.runs, self.plan.peer_runs
        at100 = {"page_size": 100}
        inv = {"page_size": 100, "endpoints": ("inventory",)}
        groups = {
            "all endpoints @100": [
                ("floor all @100", "floor", runs, at100),
                ("vendorkit all @100", "vendorkit", runs, at100),
                ("pandas all @100", "pandas", peer_runs, at100),
            ],
            "inventory @100": [
                ("floor inventory @100", "floor", runs, inv),
                ("vendorkit inventory @100", "vendorkit", runs, inv),
            ],
        }
        for name, specs in groups.items():
            self.guarded(name, lambda sp=specs: self.interleaved(sp, target))

    def peers(self, target: Target) -> None:
        """Item 3, dlt: reduced page counts, extrapolated (requests + pandas ran in full)."""
        full_pages = self._full_pages(100)
        for name in ("dlt", "dlt-parquet"):
            self.guarded(f"{name} all @100", lambda n=name: self._dlt(n, target, full_pages))

    def _full_pages(self, page_size: int) -> dict[str, int]:
        """Pages per endpoint of a full read, from the floor's row counts."""
        for entry in self.results["sync"]:
            if entry["contender"] == "floor" and entry["rows"]:
                return {k: math.ceil(int(v) / page_size) for k, v in entry["rows"].items()}
        return {}

    def _dlt(self, name: str, target: Target, full_pages: dict[str, int]) -> None:
        """dlt on fractions of the data (every endpoint cut alike), then a linear fit.

        Each endpoint is read to the same fraction f of its pages (so the mix of inventory,
        orders and shipments stays that of the full data); with two fractions the time is
        fitted as ``a + b * records`` (``a`` = fixed cost: pipeline set-up, normalise, load)
        and evaluated at the full record count. With one fraction it is scaled by records
        (an upper bound: the fixed cost scales too).
        """
        points = []
        for fraction in self.plan.dlt_fractions:
            # every endpoint cut to the same fraction of its pages keeps the full data's mix
            pages = {ep: max(1, math.ceil(n * fraction)) for ep, n in full_pages.items()}
            spec = ",".join(f"{ep}={n}" for ep, n in pages.items())
            run = self.contender(name, target, page_size=100, max_pages_spec=spec)
            rows = run.result.get("rows", {})
            total = sum(int(v) for v in rows.values())
            self.log(
                f"  {name} pages {spec}: {run.seconds:.2f}s for {total} records, "
                f"peak RSS {run.max_rss_mb:.0f} MiB"
            )
            points.append(
                {
                    "fraction": fraction,
                    "max_pages": spec,
                    "records": total,
                    "rows": rows,
                    "seconds": run.seconds,
                    "max_rss_mb": run.max_rss_mb,
                    "requests": run.result.get("requests"),
                }
            )
        full_records = self._full_records()
        estimate = _extrapolate(points, full_records)
        self.results["sync"].append(
            {
                "label": f"{name} all @100",
                "contender": name,
                "endpoints": list(ALL),
                "page_size": 100,
                "runs": [{"seconds": p["seconds"], "max_rss_mb": p["max_rss_mb"]} for p in points],
                "seconds": estimate,
                "max_rss_mb": max(p["max_rss_mb"] for p in points),
                "rows": {k: v for k, v in points[-1]["rows"].items()},
                "total_rows": full_records,
                "requests": points[-1]["requests"],
                "scaled": {"points": points, "full_records": full_records},
            }
        )

    def _full_records(self) -> int:
        for entry in self.results["sync"]:
            if entry["contender"] == "floor" and entry["endpoints"] == list(ALL):
                return int(entry["total_rows"])
        return 0

    # -- item 4: incremental ---------------------------------------------------------------
    def incremental(self, server: SandboxProcess, target: Target) -> None:
        """Full sync at pageSize 100, 1% changed on the server, incremental sync."""
        db = self._db("incremental")
        try:
            before = server.stats()
            full = self.contender("vendorkit", target, page_size=100, db=db, keep_db=True)
            mid = server.stats()
            mutated = server.mutate(0.01)
            self.log(f"  mutate 1%: {mutated}")
            inc = self.contender(
                "vendorkit", target, page_size=100, db=db, keep_db=True, incremental=True
            )
            after = server.stats()
        finally:
            self._cleanup_db(db)
        self.results["incremental"] = {
            "page_size": 100,
            "full": {
                "seconds": full.seconds,
                "requests": full.result.get("requests"),
                "rows": full.result.get("rows"),
                "server_requests": _request_delta(before, mid),
            },
            "incremental": {
                "seconds": inc.seconds,
                "requests": inc.result.get("requests"),
                "rows": inc.result.get("rows"),
                "detail": inc.result.get("endpoints"),
                "server_requests": _request_delta(mid, after),
            },
            "mutated": mutated,
        }

    # -- item 5b: lines the engine must hold (issue 12.5) ----------------------------------
    def memory(self, target: Target) -> None:
        """Peak RSS of one full inventory sync at pageSize 100 at each of ``memory_scales``."""
        from vendorkit.sandbox.config import SandboxConfig

        points = []
        for scale in self.plan.memory_scales:
            if scale == self.plan.scale:
                run = self.contender("vendorkit", target, endpoints=("inventory",))
            else:
                with SandboxProcess(scale=scale, max_page_size=100) as other:
                    assert other.target is not None
                    run = self.contender("vendorkit", other.target, endpoints=("inventory",))
            rows = int(run.result.get("rows", {}).get("inventory", 0))
            expected = SandboxConfig(scale=scale).inventory_rows
            self.log(
                f"  memory: {rows:,} inventory rows in {run.seconds:.1f}s, "
                f"peak RSS {run.max_rss_mb:.0f} MiB"
            )
            points.append(
                {
                    "scale": scale,
                    "rows": rows,
                    "expected_rows": expected,
                    "seconds": run.seconds,
                    "max_rss_mb": run.max_rss_mb,
                    "requests": run.result.get("requests"),
                }
            )
        self.results["memory"] = {"page_size": 100, "points": points}

    def ignored_since(self) -> None:
        """A full sync against a server that ignores ``updatedSince``: requests vs pages."""
        with SandboxProcess(
            scale=self.plan.ignored_since_scale, max_page_size=100, ignore_updated_since=True
        ) as server:
            assert server.target is not None
            before = server.stats()
            run = self.contender("vendorkit", server.target)
            after = server.stats()
        served = _request_delta(before, after)
        per_endpoint = {}
        for ep, records in (run.result.get("rows") or {}).items():
            stats = served.get(ep, {}) if isinstance(served, dict) else {}
            per_endpoint[ep] = {
                "records": int(records),
                "pages": math.ceil(int(records) / 100),
                "server_requests": stats.get("requests"),
                "client_requests": (run.result.get("endpoints") or {}).get(ep, {}).get("requests"),
                "passes": (run.result.get("endpoints") or {}).get(ep, {}).get("passes"),
            }
        self.log(f"  ignored updatedSince: {per_endpoint}")
        self.results["ignored_since"] = {
            "scale": self.plan.ignored_since_scale,
            "page_size": 100,
            "seconds": run.seconds,
            "per_endpoint": per_endpoint,
        }

    def resume(self) -> None:
        """kill -9 a full inventory sync at ~50 % of its pages; count what the next re-fetches."""
        from vendorkit.sandbox.config import SandboxConfig

        scale = self.plan.resume_scale
        total = math.ceil(SandboxConfig(scale=scale).inventory_rows / 100)
        db = self._db("resume")
        try:
            with SandboxProcess(scale=scale, max_page_size=100) as server:
                assert server.target is not None
                start = _inventory_requests(server)
                args = ["-m", "benchmarks.contenders", "vendorkit"]
                args += ["--target", server.target.to_json(), "--db", db]
                args += ["--endpoints", "inventory", "--page-size", "100"]
                proc = subprocess.Popen(
                    [sys.executable, *args],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL,
                    env=child_env(),
                    cwd=REPO,
                )
                deadline = time.monotonic() + 600
                killed_at = 0
                while proc.poll() is None and time.monotonic() < deadline:
                    killed_at = _inventory_requests(server) - start
                    if killed_at >= total // 2:
                        break
                    time.sleep(0.02)
                finished_first = proc.poll() is not None
                proc.kill()  # SIGKILL: no cleanup, no final transaction
                proc.wait()
                time.sleep(0.3)  # let in-flight requests land in the counters
                first = _inventory_requests(server) - start
                run = self.contender(
                    "vendorkit",
                    server.target,
                    endpoints=("inventory",),
                    db=db,
                    keep_db=True,
                    incremental=True,
                )
                second = _inventory_requests(server) - start - first
        finally:
            self._cleanup_db(db)
        # pages the first run had fetched that the second fetched again (the second needs
        # at least the total - first pages the first never reached)
        refetched = min(first, max(0, second - (total - first)))
        self.log(
            f"  resume: killed after {first} of {total} pages; the next sync made "
            f"{second} requests ({refetched} pages re-fetched)"
        )
        self.results["resume"] = {
            "scale": scale,
            "pages_total": total,
            "pages_before_kill": first,
            "killed_share": first / total if total else None,
            "first_finished": finished_first,
            "next_sync_requests": second,
            "next_sync_rows": (run.result.get("rows") or {}).get("inventory"),
            "pages_refetched": refetched,
        }

    # -- item 5: rate-limited --------------------------------------------------------------
    def rate_limited(self) -> None:
        """A rate-limited server; one vendorkit full sync at pageSize 100."""
        plan = self.plan
        per_window = max(1, round(plan.rate_limit * plan.rate_window_s / 60.0))
        with SandboxProcess(
            scale=plan.rate_scale,
            max_page_size=100,
            rate_limit=per_window,
            rate_limit_window_s=plan.rate_window_s,
        ) as server:
            assert server.target is not None
            before = server.stats()
            run = self.contender("vendorkit", server.target, page_size=100)
            after = server.stats()
        detail = run.result.get("endpoints") or {}
        timeline = run.result.get("timeline") or {}
        per_endpoint = {}
        for endpoint, ep in detail.items():
            tl = timeline.get(endpoint) or {}
            pages = int(tl.get("pages") or 0)
            span = float(tl.get("span_s") or 0.0)
            per_endpoint[endpoint] = {
                "requests": int(ep.get("requests") or 0),
                "duration_s": float(ep.get("duration_s") or 0.0),
                "waits": tl.get("waits"),
                **_pacing(pages, span, per_window, plan.rate_window_s, plan.rate_limit),
            }
        self.results["rate_limited"] = {
            "limit_per_min": plan.rate_limit,
            "window_s": plan.rate_window_s,
            "per_window": per_window,
            "scale": plan.rate_scale,
            "seconds": run.seconds,
            "per_endpoint": per_endpoint,
            "server": _request_delta(before, after),
        }

    # -- item 5c: pacing at the real limits in simulated time (benchmarks/pacing.py) --------
    def pacing(self) -> None:
        """A full inventory sync at 60 calls/min in simulated time (1M rows; quick: 60k)."""
        rows = 1_000_000 if self.plan.mode == "full" else 60_000
        cmd = [sys.executable, "-m", "benchmarks.pacing", "--rows", str(rows), "--json"]
        done = subprocess.run(
            cmd, capture_output=True, text=True, check=True, env=child_env(), cwd=REPO
        )
        self.results["pacing"] = {"rows": rows, "runs": json.loads(done.stdout)}

    # -- item 6: analysis ------------------------------------------------------------------
    def analysis(self) -> None:
        """Item 6 via ``benchmarks/analysis_bench.py`` (the analysis engineer's), in a child.

        ``run_all()`` there generates a 10,000,000-row inventory history and 200,000 orders,
        checks that every helper agrees with its hand-written DuckDB SQL twin (it raises
        otherwise) and times both sides.
        """
        if not (REPO / "benchmarks" / "analysis_bench.py").exists():
            self.results["analysis"] = {"missing": "benchmarks/analysis_bench.py has not landed"}
            return
        quick = self.plan.mode != "full"
        code = (
            "import json, sys\n"
            "from benchmarks.analysis_bench import run_all\n"
            f"rows = run_all(quick={quick}, repeat={1 if quick else 3}, verbose=False)\n"
            "print(json.dumps({'rows': rows}))\n"
        )
        run = run_child(["-c", code], cwd=REPO, timeout_s=1200)
        rows = []
        for r in run.result.get("rows", []):
            median_ratio = r["vendorkit_median_s"] / r["duckdb_median_s"]
            rows.append(
                {
                    "helper": r["helper"],
                    "input": r.get("source", ""),
                    "rows_out": r.get("rows_out"),
                    "seconds": r["vendorkit_median_s"],
                    "sql_seconds": r["duckdb_median_s"],
                    "ratio": median_ratio,
                    "ratio_best": r.get("ratio_best"),
                    "agree": True,  # run_all raises before timing a pair that disagrees
                }
            )
        self.results["analysis"] = {
            "rows": rows,
            "seconds": run.wall_s,
            "peak_rss_mb": run.max_rss_mb,
            "history_rows": 1_000_000 if quick else 10_000_000,
        }

    # -- warm-up ---------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Import everything once in a child so the bytecode cache exists before timing."""
        modules = [
            "vendorkit",
            "vendorkit.sync",
            "vendorkit.client",
            "vendorkit.schemas",
            "vendorkit.store",
            "vendorkit.analysis",
            "vendorkit.sandbox",
            "polars",
            "duckdb",
            "httpx",
            "pandera.polars",
            "benchmarks.floor",
            "benchmarks.peers",
            "benchmarks.analysis_bench",
            "pandas",
            "requests",
            "dlt",
            "dlt.sources.rest_api",
            "dlt.destinations",
        ]
        code = (
            "import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ImportError as exc:\n"
            "        print(f'warm-up: {name}: {exc}', file=sys.stderr)\n"
        )
        run = run_child(["-c", code], cwd=REPO)
        self.results["meta"]["warm_up_s"] = run.wall_s

    # -- item 7: start-up ------------------------------------------------------------------
    def startup(self) -> None:
        """``import vendorkit`` vs ``import polars, duckdb, httpx``, alternated, medians."""
        report_rss = "; from benchmarks.harness import peak_rss_mb as _p; print(_p())"
        snippets = {
            "vendorkit": "import vendorkit",
            "bare": "import polars, duckdb, httpx",
        }
        times: dict[str, list[float]] = {k: [] for k in snippets}
        rss: dict[str, list[float]] = {k: [] for k in snippets}
        for _ in range(self.plan.startup_runs):
            for key, code in snippets.items():
                run = run_child(["-c", code], cwd=REPO)
                times[key].append(run.wall_s)
        for key, code in snippets.items():  # RSS separately: the timed runs stay bare
            out = subprocess.run(
                [sys.executable, "-c", code + report_rss],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO,
            )
            rss[key].append(float(out.stdout.split()[-1]))
        self.results["import_breakdown"] = _import_breakdown()
        self.results["startup"] = {
            key: {"seconds": median(times[key]), "all": times[key], "max_rss_mb": median(rss[key])}
            for key in snippets
        }

    # -- profile ---------------------------------------------------------------------------
    def profile(self, target: Target) -> None:
        """Profile one vendorkit sync (all endpoints, pageSize 100) and keep the top costs.

        With ``py-spy`` (bench extra) every thread is sampled, the client's fetch workers
        included; without it, cProfile sees the main thread only.
        """
        py_spy = shutil.which("py-spy") or shutil.which(
            "py-spy", path=str(Path(sys.executable).parent)
        )
        if py_spy:
            raw = self.work / "vendorkit-sync.pyspy.txt"
            self.contender(
                "vendorkit",
                target,
                page_size=100,
                launcher=(
                    py_spy,
                    "record",
                    "--format",
                    "raw",
                    "--rate",
                    "100",
                    "--nonblocking",
                    "--output",
                    str(raw),
                    "--",
                    sys.executable,
                ),
            )
            self.results["profile"] = summarise_pyspy(raw.read_text())
        else:
            prof = self.work / "vendorkit-sync.prof"
            self.contender(
                "vendorkit", target, page_size=100, wrap=("-m", "cProfile", "-o", str(prof))
            )
            self.results["profile"] = _summarise_profile(prof)


def summarise_pyspy(raw: str, top: int = 12) -> dict[str, Any]:
    r"""Top costs from py-spy's raw (collapsed stacks) output.

    Returns the share of samples spent importing, the top leaf frames (own time) and the
    top vendorkit frames (inclusive time), each as a percentage of all samples.

    Example:
        >>> r = summarise_pyspy("main (a.py:1);f (vendorkit/x.py:2) 3\nmain (a.py:1) 1\n")
        >>> r["samples"], r["by_self"][0]["function"], r["by_self"][0]["share"]
        (4, 'f (vendorkit/x.py:2)', 0.75)
    """
    import re
    from collections import Counter

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    importing = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        if any("_find_and_load" in f for f in frames):
            importing += count
        own[_strip_path(frames[-1])] += count
        for frame in {_strip_path(f) for f in frames if "vendorkit/" in f}:
            inclusive[re.sub(r":\d+\)$", ")", frame)] += count
    if total == 0:
        return {"tool": "py-spy", "samples": 0}

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": f, "share": c / total} for f, c in counter.most_common(top)]

    return {
        "tool": "py-spy",
        "samples": total,
        "importing_share": importing / total,
        "by_self": rows(own),
        "by_vendorkit_inclusive": rows(inclusive),
    }


def _strip_path(frame: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in frame:
            head, _, tail = frame.partition("(")
            return f"{head}({tail.split(marker, 1)[1]}"
    return frame


def _import_breakdown(top: int = 10) -> list[dict[str, Any]]:
    """``python -X importtime -c "import vendorkit"``: top-level packages by cumulative time."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import vendorkit"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=child_env(),
    )
    return parse_importtime(out.stderr, top)


def parse_importtime(stderr: str, top: int = 10) -> list[dict[str, Any]]:
    r"""Import time per top-level package (summed *self* times) from ``-X importtime``.

    Self times do not overlap, so the shares add up to the whole import.

    Example:
        >>> text = (
        ...     "import time: self [us] | cumulative | imported package\n"
        ...     "import time:      2500 |       2500 |     polars\n"
        ...     "import time:       500 |       3000 |   polars.api\n"
        ...     "import time:       200 |        200 |   vendorkit.errors\n"
        ...     "import time:       100 |       3300 | vendorkit\n"
        ... )
        >>> [(r["package"], r["ms"]) for r in parse_importtime(text)]
        [('polars', 3.0), ('vendorkit', 0.3)]
    """
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + float(parts[0]) / 1000
    rows = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [{"package": name, "ms": round(ms, 1)} for name, ms in rows]


def _pacing(
    pages: int, span_s: float, per_window: int, window_s: float, per_min: int
) -> dict[str, Any]:
    """Achieved rate over the first-to-last page span, against R and the ideal schedule.

    A fixed-window limiter of ``per_window`` calls per ``window_s`` lets ``pages`` calls
    finish, at best, ``(ceil(pages / per_window) - 1) * window_s`` after the first one;
    ``efficiency`` is that ideal span over the measured one.

    Example:
        >>> r = _pacing(41, 20.0, 20, 10.0, 120)
        >>> r["ideal_span_s"], r["efficiency"], r["per_min"]
        (20.0, 1.0, 120.0)
    """
    ideal = (math.ceil(pages / per_window) - 1) * window_s if pages else 0.0
    achieved = (pages - 1) / span_s * 60.0 if span_s > 0 and pages > 1 else None
    return {
        "pages": pages,
        "span_s": span_s,
        "per_min": achieved,
        "ratio": achieved / per_min if achieved else None,
        "ideal_span_s": ideal,
        "efficiency": ideal / span_s if span_s > 0 and ideal > 0 else None,
    }


def _inventory_requests(server: SandboxProcess) -> int:
    """Inventory requests the server has answered so far."""
    stats = server.stats().get("stats") or {}
    return int((stats.get("inventory") or {}).get("requests") or 0)


def _request_delta(before: dict[str, Any], after: dict[str, Any]) -> Any:
    """Difference of two ``stats`` answers (numbers only), or the raw answers."""
    b, a = before.get("stats"), after.get("stats")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return {"before": before, "after": after}
    return _diff(b, a)


def _diff(b: Any, a: Any) -> Any:
    if isinstance(a, dict):
        return {k: _diff(b.get(k) if isinstance(b, dict) else None, v) for k, v in a.items()}
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return a - (b if isinstance(b, (int, float)) else 0)
    return a


def _extrapolate(points: list[dict[str, Any]], full_records: int) -> float:
    """Time at ``full_records`` from (records, seconds) points: linear fit, or scaling.

    Example:
        >>> _extrapolate([{"records": 10, "seconds": 2.0}, {"records": 20, "seconds": 3.0}], 100)
        11.0
        >>> _extrapolate([{"records": 10, "seconds": 2.0}], 100)
        20.0
    """
    pts = [p for p in points if p["records"] > 0]
    if not pts or full_records <= 0:
        return float("nan")
    if len(pts) == 1 or pts[-1]["records"] == pts[0]["records"]:
        return pts[-1]["seconds"] * full_records / pts[-1]["records"]
    (x1, y1), (x2, y2) = (
        (pts[0]["records"], pts[0]["seconds"]),
        (
            pts[-1]["records"],
            pts[-1]["seconds"],
        ),
    )
    slope = (y2 - y1) / (x2 - x1)
    intercept = y1 - slope * x1
    if slope <= 0:  # noise swamped the signal: fall back to scaling the larger point
        return y2 * full_records / x2
    return intercept + slope * full_records


def _summarise_profile(path: Path, top: int = 15) -> dict[str, Any]:
    import io
    import pstats

    stats = pstats.Stats(str(path), stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for func, (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        filename, line, name = func
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "tottime": tt,
                "cumtime": ct,
            }
        )
    by_tot = sorted(rows, key=lambda r: r["tottime"], reverse=True)[:top]
    by_cum = sorted(rows, key=lambda r: r["cumtime"], reverse=True)[:top]
    return {"total_s": total, "by_tottime": by_tot, "by_cumtime": by_cum}


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def run_benchmarks(plan: Plan, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every item of ``plan``; return the results dict :mod:`benchmarks.report` renders."""
    started = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="vendorkit-bench-"))
    bench = Bench(plan, work, log)
    results = bench.results
    results["meta"] = {
        "mode": plan.mode,
        "plan": {k: getattr(plan, k) for k in plan.__dataclass_fields__},
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": package_versions(),
    }
    try:
        bench.guarded("warm-up", bench.warm_up)
        log(f"starting the sandbox server (scale {plan.scale:g}) ...")
        with SandboxProcess(scale=plan.scale, max_page_size=100) as server:
            assert server.target is not None
            target = server.target
            results["meta"]["server_start_s"] = server.started_in_s
            log(f"server up in {server.started_in_s:.1f}s at {target.base_url}")
            bench.sync_and_floor(target)
            bench.peers(target)
            if plan.profile:
                bench.guarded("profile", lambda: bench.profile(target))
            bench.guarded("memory", lambda: bench.memory(target))
            # last on this server: it changes the data
            bench.guarded("incremental", lambda: bench.incremental(server, target))
        bench.guarded("ignored updatedSince", bench.ignored_since)
        bench.guarded("resume after kill -9", bench.resume)
        bench.guarded("rate-limited", bench.rate_limited)
        bench.guarded("simulated-time pacing", bench.pacing)
        bench.guarded("analysis", bench.analysis)
        bench.guarded("startup", bench.startup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["meta"]["elapsed_s"] = (datetime.now(UTC) - started).total_seconds()
    results["meta"]["loadavg_end"] = machine_info()["loadavg"]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the plan, write BENCHMARKS.md and the JSON results."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="vendorkit benchmarks -> BENCHMARKS.md"
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes, ~1-2 minutes")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement")
    parser.add_argument("--out", default=None, help="Markdown output (default BENCHMARKS.md)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--from-json", default=None, help="re-render a previous results JSON, run nothing"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        plan = Plan.quick(args.runs or 1) if args.quick else Plan.full(args.runs or 3)
        if args.no_profile:
            plan = Plan(
                **{**{k: getattr(plan, k) for k in plan.__dataclass_fields__}, "profile": False}
            )
        results = run_benchmarks(plan)
        out_dir = REPO / "benchmarks" / "results"
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        json_path = out_dir / f"{plan.mode}-{stamp}.json"
        json_path.write_text(json.dumps(results, indent=2, default=str))
        print(f"results: {json_path}")
    # A quick run never overwrites the committed full-scale figures.
    if args.out:
        out = Path(args.out)
    elif results["meta"]["mode"] == "full":
        out = REPO / "BENCHMARKS.md"
    else:
        out = REPO / "benchmarks" / "results" / "BENCHMARKS-quick.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    notes = REPO / "benchmarks" / "notes.md"
    commentary = notes.read_text() if notes.exists() and results["meta"]["mode"] == "full" else ""
    out.write_text(report.render(results, commentary=commentary))
    print(f"wrote {out}")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    raise SystemExit(main())
