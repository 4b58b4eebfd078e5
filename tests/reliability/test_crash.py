"""Crash safety: ``kill -9`` a running ``vendorkit sync`` at seeded random moments.

After every kill: the store opens; each endpoint's tables hold either the last committed
state (as before the killed sync) or the complete new state, never a mix, never a duplicate;
and the next sync completes and leaves the store exactly equal to the sandbox's ground truth.
The sandbox world changes before every trial, so every sync has something to write.

Most trials fork the sync from a pre-imported parent (``crash_zygote.py``) so 20+ trials fit
in about a minute; one more trial runs the installed ``vendorkit`` command itself. Set
``VENDORKIT_CRASH_TRIALS`` for a longer soak.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import vendorkit
from vendorkit.http.client import VendorClient
from vendorkit.sandbox import FaultConfig, SandboxConfig
from vendorkit.store import Store
from vendorkit.sync import run_sync

from .helpers import CLIENT_ID, CLIENT_SECRET, compare_with_truth, served, snapshot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRIALS = int(os.environ.get("VENDORKIT_CRASH_TRIALS", "20"))
SEED = 20261127
ZYGOTE = Path(__file__).with_name("crash_zygote.py")
ROOT = Path(__file__).resolve().parents[2]
TABLES_OF = {
    "inventory": ("inventory",),
    "orders": ("orders", "order_lines"),
    "shipments": ("shipments", "shipment_lines"),
}
#: a world big enough that a sync spends real time writing (500 inventory rows, 400 orders)
CONFIG = SandboxConfig(scale=0.2, faults=FaultConfig(latency_ms=2))


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORKIT_")}
    env.update(
        {
            "VENDORKIT_CLIENT_ID": CLIENT_ID,
            "VENDORKIT_CLIENT_SECRET": CLIENT_SECRET,
            "VENDORKIT_DB": str(db),
            "VENDORKIT_PAGE_SIZE": "50",
            "VENDORKIT_WORKERS": "2",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


class Zygote:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ZYGOTE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(ROOT),
        )

    def _ask(self, line: str) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def run(self, db: Path, base_url: str, token_url: str) -> int:
        return int(self._ask(f"run {db} {base_url} {token_url}").split()[1])

    def wait(self, pid: int) -> int:
        return int(self._ask(f"wait {pid}").split()[1])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _state_per_endpoint(store: Store) -> dict[str, Any]:
    snap = snapshot(store, tuple(t for ts in TABLES_OF.values() for t in ts))
    return {ep: tuple(snap[t] for t in tables) for ep, tables in TABLES_OF.items()}


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(x.equals(y, null_equal=True) for x, y in zip(a, b, strict=True))


def _truth_per_endpoint(sandbox: Any) -> dict[str, Any]:
    out = {}
    for ep, tables in TABLES_OF.items():
        frames = []
        for t in tables:
            truth = sandbox.ground_truth(t)
            frames.append(truth.sort(truth.columns, nulls_last=True))
        out[ep] = tuple(frames)
    return out


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """Drop status_raw (the sandbox's truth spells statuses canonically)."""
    return {
        ep: tuple(
            f.drop("status_raw").sort([c for c in f.columns if c != "status_raw"], nulls_last=True)
            if "status_raw" in f.columns
            else f
            for f in frames
        )
        for ep, frames in state.items()
    }


def test_kill_9_mid_sync_never_corrupts_the_store(tmp_path: Path, tally: Any) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "crash.duckdb"
    with served(CONFIG) as api:
        settings = api.settings(db, page_size=50)
        env = _env(db)
        zygote = Zygote(env)
        try:
            # the first committed state (in this process: it also warms it for recoveries)
            assert vendorkit.sync(settings=settings).ok
            store = Store(db)
            assert compare_with_truth(store, api.sandbox).exact
            # calibrate: how long one whole forked incremental sync takes
            api.sandbox.mutate(0.05)
            t0 = time.monotonic()
            pid = zygote.run(db, api.server.base_url, api.server.token_url)
            assert zygote.wait(pid) == 0, "an uninterrupted forked sync must succeed"
            incr_s = time.monotonic() - t0
            tally.note(f"crash calibration: a forked incremental sync takes {incr_s:.2f}s")

            killed = mid_sync = 0
            budget = incr_s  # kill moments are drawn from [0, budget)
            for trial in range(TRIALS):
                api.sandbox.mutate(0.05)
                before = _comparable(_state_per_endpoint(store))
                delay = rng.uniform(0.0, budget)
                pid = zygote.run(db, api.server.base_url, api.server.token_url)
                time.sleep(delay)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                status = zygote.wait(pid)
                lock_holder = (
                    Path(str(db) + ".lock").read_text(errors="replace").strip()
                    if Path(str(db) + ".lock").exists()
                    else ""
                )
                if status == -signal.SIGKILL:
                    killed += 1
                    mid_sync += bool(lock_holder)
                else:
                    assert status == 0, f"trial {trial}: sync exited {status} without a kill"
                    # it finished within `delay`: syncs run faster than calibrated (the
                    # machine got less busy), so draw later kill moments from a shorter range
                    budget = max(min(budget, delay), 0.05)

                # 1. the store opens and reads
                after = _comparable(_state_per_endpoint(store))
                truth = _comparable(_truth_per_endpoint(api.sandbox))
                # 2. per endpoint: the old committed state or the complete new one
                for ep in TABLES_OF:
                    old, new = _same(after[ep], before[ep]), _same(after[ep], truth[ep])
                    assert old or new, (
                        f"trial {trial} (kill after {delay:.2f}s, status {status}): {ep} is "
                        "neither the previous committed state nor the new one"
                    )
                diff = compare_with_truth(store, api.sandbox)
                assert diff.doubled == 0, f"trial {trial}: {diff.detail}"
                # 3. the next sync completes and the store equals the ground truth
                report = vendorkit.sync(settings=settings)
                assert report.ok, f"trial {trial}: recovery sync failed: {report.failed}"
                final = compare_with_truth(store, api.sandbox)
                assert final.exact, f"trial {trial}: after recovery: {final.detail}"
                tally.add("records_lost", final.lost)
                tally.add("records_doubled", final.doubled + diff.doubled)
                tally.add("crash_trials")
        finally:
            zygote.close()
    tally.add("crash_kills_mid_sync", mid_sync)
    tally.note(f"crash trials: {TRIALS} (seed {SEED}); {killed} killed, {mid_sync} while syncing")
    assert killed >= TRIALS // 2, f"only {killed} of {TRIALS} trials were killed before finishing"
    assert mid_sync >= TRIALS // 3, f"only {mid_sync} kills landed while the sync lock was held"


def test_kill_9_of_the_installed_vendorkit_command(tmp_path: Path, tally: Any) -> None:
    """The same, once, with the real ``vendorkit sync --full`` executable (a fresh
    interpreter; a full refresh replaces the orders and shipments contents)."""
    exe = shutil.which("vendorkit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the vendorkit console script is not installed in this environment")
    db = tmp_path / "cli.duckdb"
    with served(CONFIG) as api:
        settings = api.settings(db, page_size=50)
        assert vendorkit.sync(settings=settings).ok
        api.sandbox.mutate(0.1)
        store = Store(db)
        before = _comparable(_state_per_endpoint(store))
        env = _env(db) | {
            "VENDORKIT_BASE_URL": api.server.base_url,
            "VENDORKIT_TOKEN_URL": api.server.token_url,
        }
        proc = subprocess.Popen(
            [exe, "sync", "--full", "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # wait until it holds the sync lock (it is syncing), then kill it
        lock = Path(str(db) + ".lock")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if lock.exists() and lock.read_text(errors="replace").strip():
                break
            time.sleep(0.01)
        time.sleep(random.Random(SEED).uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        after = _comparable(_state_per_endpoint(store))
        truth = _comparable(_truth_per_endpoint(api.sandbox))
        for ep in TABLES_OF:
            assert _same(after[ep], before[ep]) or _same(after[ep], truth[ep]), ep
        assert vendorkit.sync(settings=settings).ok
        assert compare_with_truth(store, api.sandbox).exact
    tally.add("crash_trials")
    tally.add("crash_kills_mid_sync", int(proc.returncode == -signal.SIGKILL))


_RESUME_CHILD = """
import sys
from vendorkit.config import Settings
from vendorkit.http.client import VendorClient
from vendorkit.http.client import VendorClient
from vendorkit.store import Store
from vendorkit.sync import run_sync
from vendorkit.sync import run_sync
db, base_url, token_url = sys.argv[1:4]
settings = Settings(db=db, base_url=base_url, token_url=token_url, client_id={cid!r},
                    client_secret={secret!r}, page_size=10, workers=2)
with Store(db) as store, VendorClient(settings) as client:
    run_sync(store, client, ["inventory"], chunk_records=100)
"""


def test_kill_9_at_half_the_pages_then_resume_refetches_at_most_a_chunk(
    tmp_path: Path, tally: Any
) -> None:
    """kill -9 once ~50 % of the pages were served; the next sync starts at the page after
    the last committed chunk (its recordsFound checked), and fetches nothing else."""
    db = tmp_path / "resume.duckdb"
    config = SandboxConfig(scale=0.4, invalid=0, sync_step=None, faults=FaultConfig(latency_ms=5))
    with served(config) as api:
        app = api.sandbox.app
        code = _RESUME_CHILD.format(cid=CLIENT_ID, secret=CLIENT_SECRET)
        env = _env(db)
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(db), api.server.base_url, api.server.token_url],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        total = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            served_pages = app.stats().get("inventory", {}).get("pages_served", 0)
            if total is None and served_pages:
                total = -(-api.sandbox.ground_truth("inventory").height // 10)
            if total and served_pages >= total // 2:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the sync ended before it was killed"
        assert total is not None
        before_kill = app.stats()["inventory"]["pages_served"]
        app.reset_stats()
        store = Store(db)
        staged = store.query(
            "SELECT last_page FROM sync_checkpoints WHERE endpoint = 'inventory'"
        ).item()
        with VendorClient(api.settings(db, page_size=10)) as client:
            report = run_sync(store, client, ["inventory"], chunk_records=100)
        assert report.ok, str(report)
        after = app.stats()["inventory"]["pages_served"]
        catch_up = store.query(
            "SELECT count(*) FROM raw_pages WHERE sync_id = ? AND pass_number = 2 "
            "AND body_size > 0",
            [report.sync_id],
        ).item()
        after -= catch_up  # the catch-up pass's pages (records changed since the start)
        refetched = before_kill + after - total
        # what the killed sync fetched after its last committed chunk, nothing before it
        assert after == total - staged
        assert refetched <= 10 + 4  # one chunk (10 pages) + the fetch window (2 x 2)
        assert compare_with_truth(store, api.sandbox, ("inventory",)).exact
        print(f"kill -9 at {before_kill}/{total} pages, {staged} committed, {refetched} again")
        tally.note(
            f"kill -9 at {before_kill}/{total} pages: {staged} pages committed, "
            f"{refetched} pages fetched again by the resumed sync"
        )
