"""Concurrent use: a process loading frames in a loop while two syncs start at once.

No raw DuckDB lock error reaches anyone (a reader may only see data or a clear
``StoreLockedError``); every frame a reader gets is the old state or the new state of its
table, never a mix; of the two syncs one runs and the other waits for it (or refuses with the
"store locked" exit code); afterwards the store equals the sandbox's ground truth.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import vendorkit
from vendorkit.sandbox import FaultConfig, SandboxConfig
from vendorkit.store import Store

from .helpers import compare_with_truth, served
from .reader_loop import digest
from .test_crash import ROOT, Zygote, _env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

READER = Path(__file__).with_name("reader_loop.py")
EXIT_STORE_LOCKED = 12  # vendorkit.cli.EXIT_CODES[StoreLockedError]
TABLES = ("inventory", "orders", "order_lines")


def _digests(frames: dict[str, Any]) -> dict[str, str]:
    return {t: digest(f) for t, f in frames.items()}


def test_reader_and_two_syncs_at_once(tmp_path: Path, tally: Any) -> None:
    from vendorkit.cli import EXIT_CODES
    from vendorkit.errors import StoreLockedError

    assert EXIT_CODES[StoreLockedError] == EXIT_STORE_LOCKED
    db = tmp_path / "conc.duckdb"
    # latency stretches the syncs so they overlap the reader's loads for a while
    with served(SandboxConfig(scale=0.1, sync_step=None, faults=FaultConfig(latency_ms=10))) as api:
        settings = api.settings(db, page_size=50)
        assert vendorkit.sync(settings=settings).ok
        store = Store(db)
        old = _digests({t: store.read_table(t) for t in TABLES})
        api.sandbox.mutate(0.2)
        new = _digests({t: api.sandbox.ground_truth(t) for t in TABLES})
        # mutate() moves stock and order statuses (order lines stay as they are)
        assert old["inventory"] != new["inventory"] and old["orders"] != new["orders"]

        env = _env(db) | {
            "VENDORKIT_BASE_URL": api.server.base_url,
            "VENDORKIT_TOKEN_URL": api.server.token_url,
        }
        reader = subprocess.Popen(
            [sys.executable, str(READER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(ROOT),
        )
        zygote = Zygote(env)
        try:
            assert reader.stdout is not None
            assert reader.stdout.readline().strip() == "ready"
            first = zygote.run(db, api.server.base_url, api.server.token_url)
            second = zygote.run(db, api.server.base_url, api.server.token_url)
            statuses = sorted([zygote.wait(first), zygote.wait(second)])
            time.sleep(0.5)  # a few more loads after both finished
        finally:
            zygote.close()
            out, err = reader.communicate(timeout=120)  # closes its stdin: the reader stops

    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line]
    loads = [line for line in lines if "digest" in line]
    tally.add("concurrent_reads", len(lines))
    tally.note(
        f"concurrency: {len(loads)} loads during two simultaneous syncs, "
        f"{len(errors)} refused clearly; sync exit codes {statuses}"
    )
    assert not [e for e in errors if e["error"] != "StoreLockedError"], errors
    assert "Traceback" not in err, err[-2000:]
    assert len(loads) >= 3, f"the reader hardly ran: {lines}"
    for load in loads:
        table = load["table"]
        assert load["digest"] in (old[table], new[table]), (
            f"a reader saw {table} in a state that is neither the old nor the new one"
        )
    saw_new = any(load["digest"] == new[load["table"]] for load in loads)
    assert saw_new, "the reader never saw the new state, even after both syncs finished"
    # one sync ran; the other waited and found nothing more to do, or refused clearly
    assert statuses[0] == 0
    assert statuses[1] in (0, EXIT_STORE_LOCKED)
    diff = compare_with_truth(store, api.sandbox)
    tally.add("records_lost", diff.lost)
    tally.add("records_doubled", diff.doubled)
    assert diff.exact, diff.detail


def test_second_sync_in_process_refuses_clearly_when_the_lock_is_held(tmp_path: Path) -> None:
    """While one sync holds the store's sync lock, another process with a short timeout
    gets StoreLockedError naming the holder's PID."""
    db = tmp_path / "lock.duckdb"
    with served(SandboxConfig(scale=0.05)) as api:
        settings = api.settings(db)
        assert vendorkit.sync(settings=settings).ok
        holder = Store(db, lock_timeout_s=0.2)
        with holder.sync_lock():
            waiting = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys, vendorkit\n"
                    "from vendorkit.errors import StoreLockedError\n"
                    "from vendorkit.store import Store\n"
                    f"s = Store({str(db)!r}, lock_timeout_s=0.3)\n"
                    "try:\n"
                    "    with s.sync_lock():\n"
                    "        sys.exit(1)\n"
                    "except StoreLockedError as exc:\n"
                    "    print(exc)\n",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=str(ROOT),
            )
        assert waiting.returncode == 0, waiting.stderr
        assert "PID" in waiting.stdout and "sync" in waiting.stdout, waiting.stdout
