"""The sandbox's clocks: the between-sync step of the virtual clock, and an injected clock
driving the rate limiter, token expiry and the ``Date`` header (simulated time)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import polars as pl
import pytest

from vendorkit.errors import ConfigError
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.sandbox.clock import SimulatedClock, from_epoch

HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "corr-1"}
FORM = {"grant_type": "client_credentials", "client_id": "vendor-app", "client_secret": "s3cret!"}
START = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _token(http: httpx.Client, client_id: str = "vendor-app") -> httpx.Response:
    return http.post("/oauth/oauth30/token", data={**FORM, "client_id": client_id})


def _get(http: httpx.Client, token: str, endpoint: str = "inventory") -> httpx.Response:
    return http.get(
        f"/vendors/v1/{endpoint}", headers={**HEADERS, "Authorization": f"Bearer {token}"}
    )


def _date(r: httpx.Response) -> datetime:
    return parsedate_to_datetime(r.headers["Date"])


def test_each_new_session_steps_the_clock_one_day() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02))
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        first = _token(http).json()["access_token"]
        assert _date(_get(http, first)) == START  # the first session does not step
        dates = []
        for _ in range(3):  # three more syncs, each with a new client (a new token)
            token = _token(http).json()["access_token"]
            dates.append(_date(_get(http, token)))
        assert dates == [START + timedelta(days=d) for d in (1, 2, 3)]
        assert sb.now == START + timedelta(days=3) and sb.app.sync_steps == 3
        # the token response already carries the new time; another client id is its own session
        other = _token(http, "other-app")
        assert _date(other) == START + timedelta(days=3)


def test_a_token_refresh_near_expiry_does_not_step() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, token_ttl_s=2.0))  # advertises expires_in 2
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        assert _token(http).json()["expires_in"] in (2, "2")
        time.sleep(1.05)  # past half the advertised lifetime: a refresh, as a client does
        token = _token(http).json()["access_token"]
        assert _date(_get(http, token)) == START
        assert sb.app.sync_steps == 0
        _token(http)  # while that one is fresh: a new session
        assert sb.app.sync_steps == 1
    # a sub-second lifetime is advertised as expires_in 0: every token is a refresh
    short = Sandbox(SandboxConfig(scale=0.02, token_ttl_s=0.4))
    with httpx.Client(transport=short.transport(), base_url="http://sandbox") as http:
        for _ in range(3):
            _token(http)
    assert short.app.sync_steps == 0


def test_steps_are_deterministic_and_can_be_prebuilt() -> None:
    def dates(sb: Sandbox) -> list[str]:
        with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
            return [_token(http).headers["Date"] for _ in range(3)]

    assert dates(Sandbox(SandboxConfig(scale=0.02))) == dates(Sandbox(SandboxConfig(scale=0.02)))
    later = Sandbox(SandboxConfig(scale=0.02, syncs_before=2))
    assert later.now == START + timedelta(days=2)
    # a fresh sandbox for sync N+1 serves what a long-lived one serves at its sync N+1
    long_lived = Sandbox(SandboxConfig(scale=0.02))
    with httpx.Client(transport=long_lived.transport(), base_url="http://sandbox") as http:
        for _ in range(3):
            token = _token(http).json()["access_token"]
        a = _get(http, token, "orders")
    with httpx.Client(transport=later.transport(), base_url="http://sandbox") as http:
        b = _get(http, _token(http).json()["access_token"], "orders")
    assert a.headers["Date"] == b.headers["Date"] and a.content == b.content


def test_sync_step_can_be_switched_off_and_is_validated() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02, sync_step=None))
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        assert {_token(http).headers["Date"] for _ in range(3)} == {"Sun, 01 Nov 2026 12:00:00 GMT"}
    with pytest.raises(ConfigError, match="sync_step"):
        SandboxConfig(sync_step=timedelta(0))
    with pytest.raises(ConfigError, match="syncs_before"):
        SandboxConfig(syncs_before=-1)


def test_real_limits_in_simulated_time() -> None:
    clock = SimulatedClock(START)
    sb = Sandbox(
        SandboxConfig(scale=0.02, rate_limit_per_minute=60, rate_limit_window_s=60, now=clock.now)
    )
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        token = _token(http).json()["access_token"]
        got = [_get(http, token) for _ in range(61)]
        assert [r.status_code for r in got[:60]] == [200] * 60 and got[60].status_code == 429
        assert got[0].headers["X-RateLimit-Reset"] == str(int(START.timestamp()) + 60)
        assert _get(http, token, "orders").status_code == 200  # per endpoint
        clock.sleep(59.9)
        assert _get(http, token).status_code == 429
        clock.sleep(0.1)  # the window is over in simulated time
        fresh = _get(http, token)
        assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "59"
        assert _date(fresh) == START + timedelta(seconds=60)  # Date follows the clock
        # a full hour of pacing at 1 call/second: never a 429
        for _ in range(3600):
            clock.sleep(1.0)
            assert _get(http, token, "shipments").status_code == 200
        assert sb.now == from_epoch(clock.now())
        clock.sleep(86_400)  # the token expires in simulated time too
        assert _get(http, token).status_code == 401


def test_mutations_under_an_injected_clock_are_stamped_with_it() -> None:
    clock = SimulatedClock(START)
    sb = Sandbox(SandboxConfig(scale=0.02, now=clock.now, as_of=date(2026, 11, 1)))
    clock.sleep(3600)
    sb.mutate(0.5, ["inventory"], advance=timedelta(0))
    truth = sb.ground_truth("inventory")
    assert truth["last_updated"].max() == START + timedelta(hours=1)


def test_each_sync_step_makes_every_analysis_case_happen() -> None:
    sb = Sandbox(SandboxConfig(scale=0.5))
    before = {t: sb.ground_truth(t) for t in ("inventory", "orders", "order_lines", "shipments")}
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        _token(http)
        _token(http)  # the next sync
    counts = sb.app.last_sync_changes
    assert all(counts[k] >= 1 for k in counts), counts
    after = {t: sb.ground_truth(t) for t in before}
    inv = before["inventory"].join(after["inventory"], on=["part_number", "warehouse_id"])
    assert (
        inv.filter(
            (pl.col("quantity_on_hand") > 0) & (pl.col("quantity_on_hand_right") == 0)
        ).height
        >= 1
    )
    assert (
        inv.filter(
            (pl.col("quantity_on_hand") == 0) & (pl.col("quantity_on_hand_right") > 0)
        ).height
        >= 1
    )
    ships = before["shipments"].join(after["shipments"], on="shipment_id")
    slipped = ships.filter(
        pl.col("estimated_delivery_date_right") > pl.col("estimated_delivery_date")
    )
    assert slipped.height >= 1
    new = after["shipments"].join(before["shipments"], on="shipment_id", how="anti")
    assert new.height == counts["backorders_shipped"] >= 1
    assert (new["status"].cast(pl.String) == "SHIPPED").all()
    orders = before["orders"].join(after["orders"], on="order_id")
    moved = orders.filter(pl.col("status") != pl.col("status_right"))
    for status in ("CANCELLED", "ON_HOLD", "BACKORDERED"):
        assert (moved["status_right"].cast(pl.String) == status).any(), status
    # the backorders that shipped: their lines are now fully confirmed
    lines = after["order_lines"].join(new.select("order_id").unique(), on="order_id", how="semi")
    assert (lines["quantity_backordered"] == 0).all()
    assert all(t["updated_at"].max() == sb.now for t in (after["orders"], after["shipments"]))
