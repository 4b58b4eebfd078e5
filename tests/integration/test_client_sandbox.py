"""VendorClient against the built-in sandbox over real localhost sockets."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import pytest

from vendorkit.client import FetchResult, VendorClient, open_client
from vendorkit.config import Settings
from vendorkit.errors import AuthError
from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig

pytestmark = pytest.mark.integration

ENDPOINTS = ("inventory", "orders", "shipments")
GROUND_TRUTH_KEYS = {
    "inventory": (("partNumber", "warehouse"), ("part_number", "warehouse_id")),
    "orders": (("orderId",), ("order_id",)),
    "shipments": (("id",), ("shipment_id",)),
}
SECRET = "integration-S3cret-9f2"


def settings_for(url: str, token_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "base_url": url,
        "token_url": token_url,
        "client_id": "acme-integration",
        "client_secret": SECRET,
        "partner_id": "US123456",
        "workers": 4,
        "page_size": 50,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def served(config: SandboxConfig, **overrides: object) -> Iterator[tuple[Sandbox, VendorClient]]:
    sandbox = Sandbox(config)
    with sandbox.serve(host="127.0.0.1", port=0) as server:
        settings = settings_for(server.base_url, server.token_url, **overrides)
        with VendorClient(settings, source="sandbox") as client:
            yield sandbox, client


def assert_matches_ground_truth(sandbox: Sandbox, results: dict[str, FetchResult]) -> None:
    for endpoint, result in results.items():
        records = result.records()
        wire_key, truth_key = GROUND_TRUTH_KEYS[endpoint]
        truth = sandbox.ground_truth(endpoint).select(truth_key)
        # every record served came back exactly once ...
        assert records.height == sandbox.served_record_count(endpoint), endpoint
        got = records.select(wire_key).rename(dict(zip(wire_key, truth_key, strict=True)))
        assert got.is_duplicated().sum() == 0, endpoint
        # ... and they are exactly the sandbox's world
        assert got.sort(truth_key).equals(truth.sort(truth_key)), endpoint
        assert result.stats.records == records.height


def test_open_client_without_credentials_serves_the_sandbox_over_http(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(_env_file=None, sandbox_scale=0.2, page_size=100, sandbox_invalid=0)  # type: ignore[call-arg]
    with (
        caplog.at_level(logging.WARNING, logger="vendorkit.client"),
        open_client(settings) as client,
    ):
        assert client.source == "sandbox"
        assert client.base_url.startswith("http://127.0.0.1:")
        results = client.fetch_many(ENDPOINTS)
        assert {r.stats.source for r in results.values()} == {"sandbox"}  # type: ignore[union-attr]
        assert_matches_ground_truth(client.sandbox, results)  # type: ignore[arg-type]
    assert "SANDBOX" in caplog.text


def test_open_client_with_credentials_uses_the_configured_api_and_never_the_sandbox() -> None:
    sandbox = Sandbox(SandboxConfig(scale=0.2, client_id="acme-integration", client_secret=SECRET))
    with sandbox.serve() as server:
        settings = settings_for(server.base_url, server.token_url)
        with open_client(settings) as client:
            assert client.source == "api" and client.sandbox is None
            assert client.base_url == server.base_url
            assert client.fetch("orders").stats.records == sandbox.served_record_count("orders")
        port = server.port
    # the API is gone now: the error says so, nothing falls back to a sandbox
    dead = settings_for(
        f"http://127.0.0.1:{port}/vendors/v1", f"http://127.0.0.1:{port}/oauth/oauth30/token"
    )
    with open_client(dead) as client, pytest.raises(AuthError, match="could not reach"):
        client.fetch("orders")


@pytest.mark.parametrize("page_size", [25, 100])
def test_every_endpoint_fully_fetched_matches_ground_truth(page_size: int) -> None:
    with served(SandboxConfig(scale=0.2, invalid=2), page_size=page_size) as (sandbox, client):
        results = client.fetch_many(ENDPOINTS)
        assert_matches_ground_truth_with_invalid(sandbox, results)


def assert_matches_ground_truth_with_invalid(sandbox: Sandbox, results: dict) -> None:  # type: ignore[type-arg]
    for endpoint, result in results.items():
        records = result.records()
        assert records.height == sandbox.served_record_count(endpoint), endpoint
        wire_key, truth_key = GROUND_TRUTH_KEYS[endpoint]
        truth = sandbox.ground_truth(endpoint).select(truth_key)
        got = records.select(wire_key).rename(dict(zip(wire_key, truth_key, strict=True)))
        # the clean world is entirely there (invalid and duplicate records come on top)
        assert truth.join(got.unique(), on=truth_key, how="anti").height == 0, endpoint


FAULTS = {
    "errors": FaultConfig(error_rate=0.3),
    "429 bursts": FaultConfig(burst_429_rate=0.1, retry_after_s=1),
    "slow": FaultConfig(slow_rate=0.15, slow_ms=1500),
    "drops": FaultConfig(drop_rate=0.3),
    "truncated": FaultConfig(truncate_rate=0.3),
    "changes": FaultConfig(change_calls=6, change_fraction=0.05),
    "all together": FaultConfig(
        error_rate=0.1,
        burst_429_rate=0.05,
        retry_after_s=1,
        slow_rate=0.05,
        slow_ms=1500,
        drop_rate=0.1,
        truncate_rate=0.1,
        latency_ms=2,
        change_calls=3,
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_modes_lose_nothing(name: str) -> None:
    config = SandboxConfig(scale=0.2, invalid=0, faults=FAULTS[name])
    with served(config, page_size=50, timeout_s=0.5) as (sandbox, client):
        results = client.fetch_many(ENDPOINTS)
        assert_matches_ground_truth(sandbox, results)  # type: ignore[arg-type]
        faults = {ep: sum(sandbox.stats[ep]["faults"].values()) for ep in ENDPOINTS}
    if name != "changes":
        assert sum(faults.values()) > 0  # the faults really happened
        assert sum(r.stats.retries for r in results.values()) > 0  # type: ignore[union-attr]


def test_rate_limit_on_provokes_at_most_one_429_per_endpoint() -> None:
    config = SandboxConfig(scale=0.2, invalid=0, rate_limit_per_minute=6, rate_limit_window_s=1.5)
    with served(config, page_size=50) as (sandbox, client):
        started = time.monotonic()
        results = client.fetch_many(ENDPOINTS)
        elapsed = time.monotonic() - started
        assert_matches_ground_truth(sandbox, results)  # type: ignore[arg-type]
        for endpoint in ENDPOINTS:
            assert sandbox.stats[endpoint]["rate_limited"] <= 1, endpoint
    # inventory needs 10 pages at 6 per 1.5 s window: at least one window boundary
    assert elapsed >= 1.0


def test_token_expiry_in_the_middle_of_a_fetch() -> None:
    # tokens live 1 s; fetching inventory takes ~1.2 s (20 pages x 60 ms, one at a time)
    config = SandboxConfig(scale=0.2, invalid=0, token_ttl_s=1.0, faults=FaultConfig(latency_ms=60))
    with served(config, page_size=25, workers=1) as (sandbox, client):
        result = client.fetch("inventory")
        assert_matches_ground_truth(sandbox, {"inventory": result})
        assert sandbox.stats["token"]["requests"] >= 2  # a new token in the middle


def test_server_side_expiry_before_our_refresh_is_a_401_refreshed_once() -> None:
    # our clock runs 20x slow, so the cached token outlives the server's 1 s lifetime
    started = time.time()
    slow_clock = lambda: started + (time.time() - started) / 20  # noqa: E731
    sandbox = Sandbox(
        SandboxConfig(scale=0.2, invalid=0, token_ttl_s=1.0, faults=FaultConfig(latency_ms=60))
    )
    with sandbox.serve() as server:
        settings = settings_for(server.base_url, server.token_url, page_size=25, workers=1)
        with VendorClient(settings, source="sandbox", clock=slow_clock) as client:
            result = client.fetch("inventory")
    assert result.stats.records == sandbox.served_record_count("inventory")
    assert result.stats.token_refreshes >= 1
    assert sandbox.stats["inventory"]["status_codes"].get(401, 0) >= 1


def test_wrong_credentials_are_a_clear_auth_error() -> None:
    config = SandboxConfig(scale=0.2, client_id="acme-integration", client_secret="the-right-one")
    with served(config) as (_, client), pytest.raises(AuthError) as err:
        client.fetch("inventory")
    text = str(err.value)
    assert "oauth.v2.InvalidClientIdentifier" in text
    assert "VENDORKIT_CLIENT_SECRET" in text and "endpoint=inventory" in text
    assert SECRET not in text


def test_records_keep_the_wire_schema() -> None:
    with served(SandboxConfig(scale=0.2, invalid=0)) as (_, client):
        result = client.fetch("orders")
    lines = result.records()["lines"]
    assert lines.dtype == pl.List(
        pl.Struct(
            {
                f: pl.String()
                for f in (
                    "lineNumber",
                    "partNumber",
                    "quantity",
                    "quantityConfirmed",
                    "quantityBackordered",
                    "unitPrice",
                    "warehouse",
                )
            }
        )
    )
    assert lines.list.len().sum() > 0


# -- one transport: httpx's own, for the sandbox as for the real API ------------------


def test_sockets_and_the_in_process_transport_fetch_the_same_pages() -> None:
    sandbox = Sandbox(SandboxConfig(scale=0.2, invalid=0, sync_step=None))
    with sandbox.serve() as server:
        settings = settings_for(server.base_url, server.token_url, page_size=100)
        with VendorClient(settings, source="sandbox") as over_sockets:
            socket_pages = over_sockets.fetch("orders").pages
        accepted = server.connections_accepted
    with VendorClient(settings, transport=sandbox.transport(), source="sandbox") as in_process:
        in_process_pages = in_process.fetch("orders").pages
    assert [p.body for p in socket_pages] == [p.body for p in in_process_pages]
    assert len(socket_pages) == 4
    # httpx's pool keeps connections alive: at most one per worker thread, plus the token
    assert 1 <= accepted <= settings.workers + 1
