"""The benchmark harness against a real sandbox server process over localhost.

Small scale and one run each: this checks the plumbing (server process, control channel,
contenders in fresh children, record counts), not speed.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.harness import run_child
from benchmarks.server import SandboxProcess
from vendorkit.sandbox.config import SandboxConfig

pytestmark = pytest.mark.integration

SCALE = 0.2  # 500 inventory rows, 400 orders


@pytest.fixture(scope="module")
def server():
    with SandboxProcess(scale=SCALE, max_page_size=100, startup_timeout_s=120) as srv:
        yield srv


def _contender(server: SandboxProcess, name: str, db: str, *extra: str):
    assert server.target is not None
    args = ["-m", "benchmarks.contenders", name, "--target", server.target.to_json()]
    return run_child([*args, "--db", db, *extra], timeout_s=120)


def test_floor_reads_every_served_record_once(server: SandboxProcess, tmp_path) -> None:
    before = server.stats()["stats"]
    run = _contender(server, "floor", str(tmp_path / "floor.duckdb"), "--page-size", "100")
    after = server.stats()["stats"]
    served = {
        ep: after[ep]["records_served"] - before.get(ep, {}).get("records_served", 0)
        for ep in ("inventory", "orders", "shipments")
    }
    assert run.result["rows"] == served
    assert served["inventory"] == SandboxConfig(scale=SCALE).inventory_rows
    assert run.result["tables"]["order_lines"] >= served["orders"]
    assert run.max_rss_mb > 20


def test_vendorkit_contender_reports_what_the_server_served(
    server: SandboxProcess, tmp_path
) -> None:
    before = server.stats()["stats"]
    vk = _contender(server, "vendorkit", str(tmp_path / "vk.duckdb"), "--page-size", "100")
    after = server.stats()["stats"]
    requests = {
        ep: after[ep]["requests"] - before.get(ep, {}).get("requests", 0)
        for ep in ("inventory", "orders", "shipments")
    }
    assert vk.result["rows"]["inventory"] == SandboxConfig(scale=SCALE).inventory_rows
    # the client's progress timeline saw at least the main pass's pages, and no more page
    # events than requests reached the server (204s of catch-up passes count as pages)
    for ep, rows in vk.result["rows"].items():
        seen = vk.result["timeline"][ep]["pages"]
        assert math.ceil(rows / 100) <= seen <= requests[ep]


def test_mutate_changes_records_and_stats_count_requests(server: SandboxProcess) -> None:
    answer = server.mutate(0.01)
    changed = answer["result"]
    assert set(changed) >= {"inventory", "orders"}
    assert all(v >= 1 for v in changed.values())
    with pytest.raises(RuntimeError, match="unknown command"):
        server.command("bogus")
