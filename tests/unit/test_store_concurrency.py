"""Readers in other processes while syncs write; two syncs at once.

A reader process loads frames in a loop while this process syncs several times: it must
never see a raw DuckDB error nor a half-written snapshot; syncs must not fail either.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.errors import StoreLockedError
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.store import Store
from vendorkit.sync import run_sync

READER = textwrap.dedent(
    """
    import json, os, sys
    from vendorkit.store import Store
    from vendorkit.errors import VendorkitError
    store = Store(sys.argv[1], read_retry_s=30)
    heights, errors, reads = set(), [], 0
    print("ready", flush=True)
    while not os.path.exists(sys.argv[2]) or reads == 0:  # until told to stop
        try:
            inv = store.read_table("inventory")
            hist = store.read_table("inventory_history")
            heights.add(inv.height)
            # every snapshot in the history is complete
            per = hist.group_by("sync_id").len()["len"].unique().to_list()
            heights.update(per)
            reads += 1
        except VendorkitError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # the point of the test: report anything raw
            errors.append(f"RAW {type(exc).__module__}.{type(exc).__name__}: {exc}")
    print(json.dumps({"heights": sorted(heights), "errors": errors, "reads": reads}))
    """
)


def test_reader_process_during_syncs_sees_only_complete_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "vk.duckdb"
    stop = tmp_path / "stop"
    sandbox = Sandbox(SandboxConfig(scale=0.2))
    rows = sandbox.ground_truth("inventory").height
    store = Store(path)
    with VendorClient(Settings(db=str(path)), transport=sandbox.transport()) as client:
        run_sync(store, client, ["inventory"])
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(path), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
            reports = []
            for _ in range(4):
                sandbox.mutate(0.05, ["inventory"])
                reports.append(run_sync(store, client, ["inventory"]))
            stop.touch()
            out, err = reader.communicate(timeout=120)
            assert reader.returncode == 0, err
        finally:
            if reader.poll() is None:
                reader.kill()
    assert all(r.ok for r in reports), [r.failed for r in reports]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["errors"] == [], result["errors"]
    assert result["reads"] > 0
    assert result["heights"] == [rows]
    assert store.read_table("inventory_history")["sync_id"].n_unique() == 5


def test_a_second_sync_waits_then_refuses_clearly(tmp_path: Path) -> None:
    path = tmp_path / "vk.duckdb"
    first = Store(path)
    second = Store(path, lock_timeout_s=0.3)
    sandbox = Sandbox(SandboxConfig(scale=0.05))
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with first.sync_lock():
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(10)
        with (
            VendorClient(Settings(db=str(path)), transport=sandbox.transport()) as client,
            pytest.raises(StoreLockedError, match="another vendorkit sync") as info,
        ):
            run_sync(second, client, ["orders"])
        assert "PID" in str(info.value)
    finally:
        release.set()
        holder.join()
    with VendorClient(Settings(db=str(path)), transport=sandbox.transport()) as client:
        assert run_sync(second, client, ["orders"]).ok  # free again


def test_sync_against_a_file_held_by_another_process_fails_fast_naming_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vk.duckdb"
    with Store(path).write():
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " sys.stdin.readline()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sandbox = Sandbox(SandboxConfig(scale=0.05))
    store = Store(path, lock_timeout_s=0.5, read_retry_s=0.5)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with VendorClient(Settings(db=str(path)), transport=sandbox.transport()) as client:
            report = run_sync(store, client)
    finally:
        holder.communicate("done\n", timeout=30)
    assert [r.outcome for r in report.rows] == ["failed"] * 3
    for row in report.rows:
        assert f"process {holder.pid}" in (row.error or "")
    assert sum(r.duration_s for r in report.rows) < 10
    assert store.read_table("orders").height == 0  # nothing half-written
