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
        _interrupted_sync(srv, db, fail_after=23)  # pages 1-20 committed (4 chunks)
        with Store(db) as store:
            status = store_status(store).filter(endpoint="inventory").row(0, named=True)
        total = status["unfinished_pages_total"]
        assert status["unfinished_sync"] and status["unfinished_pages"] == 20 and total > 23
        assert status["unfinished_age_s"] is not None
        srv.sandbox.app.reset_stats()
        with Store(db) as store, VendorClient(srv.settings(db, page_size=PAGE)) as client:
            report = run_sync(store, client, ["inventory"], chunk_records=CHUNK)
            assert report.ok, str(report)
            row = report["inventory"]
            # page 1 again (it carries recordsFound, checked), then page 21 on
            assert _pages_served(srv.sandbox.app, "inventory") == total - 20 + 1
            assert row.resumed_pages == 20 and "resumed" in (row.note or "")
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
            assert _requests(srv.sandbox.app, "inventory") == total - 20 + 1 + 1


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


def test_a_maintenance_window_keeps_the_checkpoint_and_the_next_sync_resumes(
    tmp_path: Path,
) -> None:
    """503 maintenance mid-sync (simulated time, real limits): the wait is beyond the cap, the
    sync stops saying when to retry, its chunks stay; after the window the next sync fetches
    page 1 again and the pages after the last committed chunk, and equals the ground truth."""
    from datetime import UTC, datetime

    from vendorkit.sandbox.clock import SimulatedClock

    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    clock = SimulatedClock(start)
    window = (start + timedelta(seconds=25), start + timedelta(hours=2))
    config = SandboxConfig(
        scale=0.2,
        invalid=0,
        now=clock.now,
        rate_limit_per_minute=12,  # the pacer waits a window after 12 calls: time passes
        faults=FaultConfig(maintenance=(window,)),
    )
    db = tmp_path / "vk.duckdb"
    with served(config) as srv, Store(db) as store:
        settings = srv.settings(db, page_size=PAGE, workers=1, max_wait_s=60)
        with VendorClient(settings, clock=clock.now, sleep=clock.sleep) as client:
            first = run_sync(store, client, ["inventory"], chunk_records=CHUNK)
        row = first["inventory"]
        assert row.outcome == "failed" and "maintenance" in (row.error or "").lower()
        status = store_status(store).filter(endpoint="inventory").row(0, named=True)
        staged = status["unfinished_pages"]
        assert staged and staged % (CHUNK // PAGE) == 0
        fetched_before = _pages_served(srv.sandbox.app, "inventory")
        srv.sandbox.app.reset_stats()
        clock.sleep((window[1] - start).total_seconds())
        with VendorClient(settings, clock=clock.now, sleep=clock.sleep) as client:
            second = run_sync(store, client, ["inventory"], chunk_records=CHUNK)
        assert second.ok, str(second)
        total = status["unfinished_pages_total"]
        served_now = _pages_served(srv.sandbox.app, "inventory")
        assert served_now == total - staged + 1  # page 1, then the pages not committed
        assert fetched_before + served_now - total <= 1 + CHUNK // PAGE
        assert compare_with_truth(store, srv.sandbox, ("inventory",)).exact
