"""Fault matrix: for each sandbox fault, and for all of them at once, a full sync and then an
incremental sync (after the world changed) must leave the store holding exactly the sandbox's
ground truth: nothing lost, nothing twice, no value different. When faults persist beyond the
client's retries, the sync must fail with a clear error and leave every data table exactly as
it was before.

Everything runs on loopback against a small world (scale 0.05: 125 inventory rows, 100
orders, ~115 shipments) in 10-record pages, so each fault hits many pages and a scenario takes
a few seconds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import vendorkit
from vendorkit.sandbox import FaultConfig, SandboxConfig
from vendorkit.store import Store

from .helpers import (
    CLIENT_SECRET,
    assert_same,
    compare_with_truth,
    cursors,
    served,
    snapshot,
)

pytestmark = pytest.mark.integration

SCALE = 0.05

#: name -> (FaultConfig kwargs, SandboxConfig extras, Settings extras)
SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "5xx": ({"error_rate": 0.25}, {}, {}),
    "429-retry-after": ({"burst_429_rate": 0.1, "retry_after_s": 1}, {}, {}),
    "429-no-retry-after": ({"burst_429_rate": 0.1, "retry_after_s": None}, {}, {}),
    "reset-mid-body": ({"drop_rate": 0.2}, {}, {}),
    "truncated-json": ({"truncate_rate": 0.2}, {}, {}),
    "slower-than-timeout": ({"slow_rate": 0.15, "slow_ms": 1200}, {}, {"timeout_s": 0.4}),
    "token-expiry": ({"latency_ms": 10}, {"token_ttl_s": 0.4}, {}),
    "records-change-between-pages": ({"change_calls": 12, "change_fraction": 0.05}, {}, {}),
    "duplicates-and-invalid": ({}, {"invalid": 2}, {}),
    "everything-at-once": (
        {
            "error_rate": 0.1,
            "burst_429_rate": 0.08,
            "retry_after_s": 1,
            "drop_rate": 0.08,
            "truncate_rate": 0.08,
            "slow_rate": 0.05,
            "slow_ms": 1200,
            "latency_ms": 5,
            "change_calls": 8,
            "change_fraction": 0.03,
        },
        {"token_ttl_s": 0.5, "invalid": 1},
        {"timeout_s": 0.4},
    ),
}


def _faults_injected(stats: dict[str, dict[str, Any]], syncs: int) -> int:
    """Faults the sandbox injected, plus token expiries (401s on data calls and the extra
    token requests they caused)."""
    injected = sum(sum(s.get("faults", {}).values()) for s in stats.values())
    expired = sum(
        s.get("status_codes", {}).get(401, 0) for name, s in stats.items() if name != "token"
    )
    # each of a scenario's syncs opens a client that fetches one token; more are refreshes
    refreshes = max(stats.get("token", {}).get("requests", 0) - syncs, 0)
    return injected + max(expired, refreshes)


def _expected_rejects(sandbox: Any) -> set[tuple[str, str]]:
    """(endpoint, key) of every record served invalid on purpose, except duplicates (those
    are resolved by key, not quarantined)."""
    keys = set()
    for endpoint in ("inventory", "orders", "shipments"):
        invalid = sandbox.invalid_records(endpoint)
        for row in invalid.iter_rows(named=True):
            if "duplicate" not in row["reason"]:
                keys.add((endpoint, row["key"]))
    return keys


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_sync_under_faults_matches_ground_truth(name: str, tmp_path: Path, tally: Any) -> None:
    fault_kwargs, sandbox_kwargs, settings_kwargs = SCENARIOS[name]
    config = SandboxConfig(scale=SCALE, faults=FaultConfig(**fault_kwargs), **sandbox_kwargs)
    with served(config) as api:
        settings = api.settings(tmp_path / "vk.duckdb", **settings_kwargs)
        store = Store(settings.db_path)

        clock_start = api.sandbox.now
        first = vendorkit.sync(settings=settings)
        # records changed while the sync read pages: each change moves the clock a minute
        changes = (api.sandbox.now - clock_start) // timedelta(minutes=1)
        assert first.ok, f"{name}: first sync failed: {[r.error for r in first.failed]}"
        diff = compare_with_truth(store, api.sandbox)
        assert diff.exact, f"{name} (full sync): {diff.detail}"

        if sandbox_kwargs.get("invalid"):
            rejected = {
                (r["endpoint"], r["record_key"])
                for r in store.read_rejects().select("endpoint", "record_key").iter_rows(named=True)
            }
            assert rejected == _expected_rejects(api.sandbox), name

        api.sandbox.mutate(0.05)
        second = vendorkit.sync(settings=settings)
        assert second.ok, f"{name}: incremental sync failed: {[r.error for r in second.failed]}"
        assert not any(r.full_refresh for r in second.rows), "the second sync is incremental"
        diff2 = compare_with_truth(store, api.sandbox)
        assert diff2.exact, f"{name} (incremental sync): {diff2.detail}"

        injected = _faults_injected(api.sandbox.stats, syncs=2) + changes
        tally.add("faults_tried", injected)
        tally.add("fault_syncs", 2)
        tally.add("records_lost", diff.lost + diff2.lost)
        tally.add("records_doubled", diff.doubled + diff2.doubled)
        tally.note(
            f"fault scenario `{name}`: {injected} faults (incl. token expiries, record changes) "
            "injected over "
            "2 syncs; "
            f"store == ground truth after each"
        )
    if name != "duplicates-and-invalid":
        assert injected > 0, f"{name}: the sandbox injected no fault; the scenario tested nothing"


@pytest.mark.parametrize(
    ("name", "fault_kwargs"),
    [
        ("persistent-5xx", {"error_rate": 1.0, "max_consecutive": 1000}),
        ("mostly-5xx", {"error_rate": 0.8, "max_consecutive": 1000}),
        ("persistent-truncation", {"truncate_rate": 1.0, "max_consecutive": 1000}),
        ("persistent-reset", {"drop_rate": 1.0, "max_consecutive": 1000}),
    ],
)
def test_sync_that_cannot_finish_fails_clearly_and_changes_nothing(
    name: str, fault_kwargs: dict[str, Any], tmp_path: Path, tally: Any
) -> None:
    db = tmp_path / "vk.duckdb"
    # a good first sync from a clean world
    with served(SandboxConfig(scale=SCALE)) as good:
        first = vendorkit.sync(settings=good.settings(db))
        assert first.ok
    store = Store(db)
    before, before_cursors = snapshot(store), cursors(store)

    # the same world, changed, behind faults the client cannot get through
    config = SandboxConfig(scale=SCALE, faults=FaultConfig(**fault_kwargs))
    with served(config) as bad:
        bad.sandbox.mutate(0.2)
        settings = bad.settings(db, max_retries=1)
        report = vendorkit.sync(settings=settings, raise_on_failure=False)
        injected = _faults_injected(bad.sandbox.stats, syncs=1)
        truth_now = compare_with_truth(store, bad.sandbox)

    tally.add("faults_tried", injected)
    tally.add("fault_syncs", 1)
    assert report.failed, f"{name}: the sync should have failed"
    for row in report.failed:
        assert row.error, "a failed endpoint carries its error"
        assert row.endpoint in row.error or "GET /" in row.error, row.error
        assert CLIENT_SECRET not in row.error
    failed = {r.endpoint for r in report.failed}
    after = snapshot(store)
    tables_of = {
        "inventory": ("inventory", "inventory_history"),
        "orders": ("orders", "order_lines", "order_status_history"),
        "shipments": ("shipments", "shipment_lines", "shipment_status_history"),
    }
    for endpoint in failed:
        assert_same(
            {t: before[t] for t in tables_of[endpoint]}, {t: after[t] for t in tables_of[endpoint]}
        )
        assert cursors(store)[endpoint] == before_cursors[endpoint], f"{endpoint} cursor moved"
    if len(failed) == 3:
        assert_same(before, after)
    # the endpoints that did get through hold the new truth (changed by mutate)
    if not failed >= {"inventory", "orders", "shipments"}:
        assert truth_now.doubled == 0
    status = vendorkit.status(settings=settings) if hasattr(vendorkit, "status") else None
    if status is not None:
        assert "failed" in str(status).lower() or failed
