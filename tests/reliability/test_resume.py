"""Resumable syncs and the request budget, against the sandbox over real localhost sockets.

Pages re-fetched are counted by the sandbox (``Sandbox.app.stats()``: pages served per
endpoint), never by vendorkit itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from vendorkit.errors import TransportError
from vendorkit.http.client import VendorClient
from vendorkit.http.pages import FetchStats, Page
from vendorkit.loaders import store_status
from vendorkit.sandbox import FaultConfig, SandboxConfig
from vendorkit.store import Store
from vendorkit.sync import run_sync

from .helpers import compare_with_truth, served, snapshot

pytestmark = [pytest.mark.integration]

#: a static, clean world: what a resumed sync loads must equal the ground truth exactly
CONFIG = SandboxConfig(scale=0.2, invalid=0, sync_step=None)
PAGE = 10
CHUNK = 50  # records per committed chunk: 5 pages


class FailsAfter:
    """A page source that dies after ``pages`` pages (a network loss, a closed laptop lid)."""

    def __init__(self, client: VendorClient, pages: int) -> None:
        self.client = client
        self.pages = pages
        self.source = client.source

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    def iter_pages(
        self, endpoint: str, *, updated_since: Any = None, stats: FetchStats | None = None
    ) -> Iterator[Page]:
        for n, page in enumerate(
            self.client.iter_pages(endpoint, updated_since=updated_since, stats=stats), 1
        ):
            if n > self.pages:
                raise TransportError(f"{endpoint} page {page.number}: connection lost (test)")
            yield page


def _pages_served(app: Any, endpoint: str) -> int:
    return int(app.stats().get(endpoint, {}).get("pages_served", 0))


def _requests(app: Any, endpoint: str) -> int:
    return int(app.stats().get(endpoint, {}).get("requests", 0))


def _interrupted_sync(srv: Any, db: Path, fail_after: int) -> None:
    with Store(db) as store, VendorClient(srv.settings(db, page_size=PAGE)) as client:
        report = run_sync(store, FailsAfter(client, fail_after), ["inventory"], chunk_records=CHUNK)
        assert not report.ok
        # the typed tables did not change (the staged chunks wait for the next sync)
        assert all(frame.height == 0 for frame in snapshot(store).values())


def test_a_failed_sync_resumes_from_the_next_unfetched_page(tmp_path: Path) -> None:
    db = tmp_path / "vk.duckdb"
    with served(CONFIG) as srv:
        _interrupted_sync(srv, db, fail_after=23)  # pages 1-23 committed when it fails
        with Store(db) as store:
            status = store_status(store).filter(endpoint="inventory").row(0, named=True)
        total = status["unfinished_pages_total"]
        assert status["unfinished_sync"] and status["unfinished_pages"] == 23 and total > 23
        assert status["unfinished_age_s"] is not None
        srv.sandbox.app.reset_stats()
        with Store(db) as store, VendorClient(srv.settings(db, page_size=PAGE)) as client:
            report = run_sync(store, client, ["inventory"], chunk_records=CHUNK)
            assert report.ok, str(report)
            row = report["inventory"]
            # the failed fetch committed its 23 pages first; the resume starts at page 24
            # (its recordsFound is checked), no page fetched twice
            assert _pages_served(srv.sandbox.app, "inventory") == total - 23
            assert row.resumed_pages == 23 and "resumed" in (row.note or "")
            assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact
            assert store_status(store).filter(endpoint="inventory")["unfinished_sync"][0] is None
            pages = store.query(
                "SELECT count(*) AS n, count(DISTINCT page_number) AS d FROM raw_pages "
                "WHERE pass_number = 1"
            ).row(0)
            assert pages == (total, total)  # the archive holds each page of the read once
            # a resumed sync always catches up on what changed since it started (nothing
            # here: the world is static): one more request, no record
            assert row.passes == 2
            assert _requests(srv.sandbox.app, "inventory") == total - 23 + 1


def test_restart_discards_the_checkpoint_and_fetches_every_page(tmp_path: Path) -> None:
    db = tmp_path / "vk.duckdb"
    with served(CONFIG) as srv:
        _interrupted_sync(srv, db, fail_after=12)
        srv.sandbox.app.reset_stats()
        with Store(db) as store, VendorClient(srv.settings(db, page_size=PAGE)) as client:
            report = run_sync(store, client, ["inventory"], chunk_records=CHUNK, restart=True)
            assert report.ok
            total = math.ceil(report["inventory"].fetched / PAGE)
            assert _pages_served(srv.sandbox.app, "inventory") == total
            assert "restarted" in (report["inventory"].note or "")
            assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact


def test_restart_flag_of_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from vendorkit.cli import main

    db = tmp_path / "vk.duckdb"
    with served(CONFIG) as srv:
        _interrupted_sync(srv, db, fail_after=12)
        settings = srv.settings(db, page_size=PAGE)
        for name in ("base_url", "token_url", "client_id", "page_size"):
            monkeypatch.setenv(f"VENDORKIT_{name.upper()}", str(getattr(settings, name)))
        monkeypatch.setenv("VENDORKIT_CLIENT_SECRET", settings.client_secret.get_secret_value())
        srv.sandbox.app.reset_stats()
        result = CliRunner().invoke(
            main, ["sync", "--restart", "-e", "inventory", "--db", str(db), "--json"]
        )
        assert result.exit_code == 0, result.output
        with Store(db) as store:
            total = math.ceil(store.read_table("inventory").height / PAGE)
            assert _pages_served(srv.sandbox.app, "inventory") == total
            assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact


def test_a_full_sync_costs_exactly_one_request_per_page(tmp_path: Path) -> None:
    db = tmp_path / "vk.duckdb"
    with served(CONFIG) as srv, Store(db) as store:
        with VendorClient(srv.settings(db, page_size=PAGE, workers=2)) as client:
            report = run_sync(store, client, full=True)
        assert report.ok
        for row in report.rows:
            assert row.passes == 1
            assert _requests(srv.sandbox.app, row.endpoint) == math.ceil(row.fetched / PAGE)


# None: the default rule (no catch-up after a short pass); -1 s: a catch-up pass always
@pytest.mark.parametrize("catch_up_after", [None, timedelta(seconds=-1)])
def test_a_server_that_ignores_updated_since_costs_one_full_read(
    tmp_path: Path, catch_up_after: timedelta | None
) -> None:
    config = SandboxConfig(
        scale=0.2, invalid=0, sync_step=None, faults=FaultConfig(ignore_updated_since=True)
    )
    db = tmp_path / "vk.duckdb"
    extra = {} if catch_up_after is None else {"catch_up_after": catch_up_after}
    with served(config) as srv, Store(db) as store:
        settings = srv.settings(db, page_size=PAGE)
        with VendorClient(settings) as client:
            first = run_sync(store, client, ["inventory"], **extra)
        n = first["inventory"].fetched
        pages = math.ceil(n / PAGE)
        # a full read: one request per page; a forced catch-up stops after its first page
        assert _requests(srv.sandbox.app, "inventory") == pages + (
            0 if catch_up_after is None else 1
        )
        srv.sandbox.app.reset_stats()
        with VendorClient(settings) as client:
            second = run_sync(store, client, ["inventory"], **extra)
        row = second["inventory"]
        assert second.ok and not row.full_refresh
        assert _requests(srv.sandbox.app, "inventory") == pages  # never two full reads
        assert row.passes == 1 and row.full_reads_forced
        assert "ignores updatedSince" in (row.note or "")
        note = store.query(
            "SELECT note FROM sync_log WHERE sync_id = ? AND endpoint = 'inventory'",
            [second.sync_id],
        ).item()
        assert "ignores updatedSince" in note
        assert store_status(store).filter(endpoint="inventory")["full_reads_forced"][0]
        assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact


def _maintenance_sync(
    tmp_path: Path, window_s: tuple[float, float], workers: int = 4
) -> tuple[Any, Any, Any, Path, Any]:
    """A sandbox at the real limits (60 calls/min, 60-s windows aligned to the clock,
    pageSize 100: 250 pages, ~4 min of API time) with a maintenance window, all on one
    simulated clock; the first sync runs. Returns the served sandbox, the clock, the first
    report, the db path and the settings."""
    from datetime import UTC, datetime

    from vendorkit.sandbox.clock import SimulatedClock

    start = datetime(2026, 11, 2, 7, tzinfo=UTC)
    clock = SimulatedClock(start, settle_s=0.005)
    window = (start + timedelta(seconds=window_s[0]), start + timedelta(seconds=window_s[1]))
    config = SandboxConfig(
        scale=10,
        invalid=0,
        now=clock.now,
        rate_limit_per_minute=60,
        rate_limit_windows="aligned",
        faults=FaultConfig(maintenance=(window,)),
    )
    db = tmp_path / "vk.duckdb"
    srv_cm = served(config)
    srv = srv_cm.__enter__()
    settings = srv.settings(db, page_size=100, workers=workers)  # VENDORKIT_MAX_WAIT_S: 900 s
    with Store(db) as store, VendorClient(settings, clock=clock.now, sleep=clock.sleep) as client:
        first = run_sync(store, client, ["inventory"])
    return (srv, srv_cm), clock, first, db, settings


def test_a_maintenance_window_longer_than_the_cap_stops_the_sync_and_the_next_resumes(
    tmp_path: Path,
) -> None:
    """503 maintenance (2 h, ``Retry-After``) opening mid-sync, in simulated time at the real
    limits: longer than VENDORKIT_MAX_WAIT_S (900 s), so the sync stops at once saying when
    to retry; what it fetched is committed with the checkpoint; after the window the next
    sync fetches no page again and equals the ground truth."""
    (srv, srv_cm), clock, first, db, settings = _maintenance_sync(tmp_path, (150, 7200))
    try:
        row = first["inventory"]
        assert row.outcome == "failed"
        error = row.error or ""
        assert "maintenance until 2026-11-02T09:00:00Z" in error  # the server's own words
        assert "longer than VENDORKIT_MAX_WAIT_S=900" in error
        assert "retry after 2026-11-02T09:00:00+00:00" in error
        stats = srv.sandbox.app.stats()["inventory"]
        # at most one 503 per page in flight or queued (the look-ahead: 2 x 4 workers): no
        # retries into the window
        assert stats["status_codes"].get(503, 0) <= 8 and stats["rate_limited"] == 0
        with Store(db) as store:
            status = store_status(store).filter(endpoint="inventory").row(0, named=True)
        staged, total = status["unfinished_pages"], status["unfinished_pages_total"]
        assert 0 < staged < total == 250
        fetched_before = _pages_served(srv.sandbox.app, "inventory")
        srv.sandbox.app.reset_stats()
        clock.advance(7200)  # the window is over
        with Store(db) as store:
            with VendorClient(settings, clock=clock.now, sleep=clock.sleep) as client:
                second = run_sync(store, client, ["inventory"])
            assert second.ok, str(second)
            served_now = _pages_served(srv.sandbox.app, "inventory")
            assert served_now == total - staged  # the resume starts at the next page
            assert fetched_before + served_now == total  # no page fetched twice
            assert second["inventory"].resumed_pages == staged
            assert srv.sandbox.app.stats()["inventory"]["rate_limited"] == 0
            assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact
    finally:
        srv_cm.__exit__(None, None, None)


def test_a_maintenance_window_within_the_cap_is_waited_through(tmp_path: Path) -> None:
    """A 10-minute window (``Retry-After`` 600 s <= VENDORKIT_MAX_WAIT_S): the sync waits
    for it and completes, every page fetched once, equal to the ground truth."""
    (srv, srv_cm), _clock, first, db, _ = _maintenance_sync(tmp_path, (150, 750))
    try:
        assert first.ok, str(first)
        stats = srv.sandbox.app.stats()["inventory"]
        assert stats["pages_served"] == 250 and stats["rate_limited"] == 0
        assert 0 < stats["status_codes"].get(503, 0) <= 8  # once per page in flight / queued
        assert stats["last_request_at"] - stats["first_request_at"] >= 750  # it waited
        with Store(db) as store:
            assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact
    finally:
        srv_cm.__exit__(None, None, None)
