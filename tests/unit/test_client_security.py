"""The client secret and the access tokens never leak: logs (DEBUG), reprs, errors, progress."""

from __future__ import annotations

import json
import logging
import threading

import httpx
import pytest

from tests.unit.client_fakes import SECRET as FAKE_API_SECRET
from tests.unit.client_fakes import FakeApi, FakeClock, inventory_records
from tests.unit.test_client import make_settings
from vendorkit.client import ProgressEvent, VendorClient
from vendorkit.config import Settings
from vendorkit.errors import ApiError, AuthError, VendorkitError
from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig

SECRET = "Leak-Canary-Secret-7a1c"


class Recording(httpx.BaseTransport):
    """Wraps a transport and keeps every bearer token it sees go out or come back.

    Every ``expire_every``-th data request is refused as if its token had expired, so a run
    uses several tokens however fast it is (the client reuses a token for 30 s otherwise).
    """

    def __init__(self, inner: httpx.BaseTransport, expire_every: int = 15) -> None:
        self.inner = inner
        self.tokens: set[str] = set()
        self.expire_every = expire_every
        self.data_requests = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization")
        if auth:
            self.tokens.add(auth.removeprefix("Bearer "))
            with self._lock:
                self.data_requests += 1
                expire = self.data_requests % self.expire_every == 0
            if expire:
                fault = {"faultstring": "Access Token expired", "detail": {"errorcode": "x"}}
                return httpx.Response(401, json={"fault": fault}, request=request)
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/token") and response.status_code == 200:
            response.read()
            self.tokens.add(json.loads(response.content)["access_token"])
        return response


def test_secret_and_tokens_never_appear_in_logs_reprs_errors_or_progress(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox = Sandbox(
        SandboxConfig(
            scale=0.02,
            client_id="acme",
            client_secret=SECRET,
            # several tokens during the run: Recording refuses every 15th data request
            faults=FaultConfig(
                error_rate=0.2, truncate_rate=0.1, burst_429_rate=0.1, retry_after_s=0
            ),
        )
    )
    transport = Recording(sandbox.transport())
    events: list[ProgressEvent] = []
    errors: list[VendorkitError] = []
    clock = FakeClock()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        base_url="https://sandbox.test/vendors/v1",
        client_id="acme",
        client_secret=SECRET,
        page_size=5,
        workers=2,
    )
    with caplog.at_level(logging.DEBUG):
        client = VendorClient(settings, transport, events.append, sleep=clock.sleep)
        with client:
            results = client.fetch_many(["inventory", "orders", "shipments"])
            texts = [repr(client), repr(client._tokens), *map(repr, results.values())]
            try:  # a 401 after refresh, with a token and the secret echoed in the fault text
                api = FakeApi({"inventory": inventory_records(1)})

                def echo(request: httpx.Request) -> httpx.Response:
                    token = request.headers["Authorization"].removeprefix("Bearer ")
                    text = f"token {token} / {FAKE_API_SECRET} refused"
                    return httpx.Response(401, json={"fault": {"faultstring": text}})

                api.fail("inventory", 1, echo, echo)
                with VendorClient(make_settings(), api.transport(), sleep=clock.sleep) as other:
                    other.fetch("inventory")
            except AuthError as exc:
                errors.append(exc)
        wrong = Settings(**{**settings.model_dump(), "client_secret": SECRET + "-wrong"})
        with VendorClient(wrong, transport, sleep=clock.sleep) as bad:
            try:
                bad.fetch("inventory")
            except AuthError as exc:
                errors.append(exc)
    assert len(transport.tokens) >= 2 and len(api.tokens) == 2
    assert len(errors) == 2
    assert any(
        r.levelno == logging.DEBUG and "correlation_id=" in r.getMessage() for r in caplog.records
    )
    haystack = "\n".join(
        [
            caplog.text,
            *(r.getMessage() for r in caplog.records),
            *texts,
            *map(str, errors),
            *map(repr, errors),
            *map(repr, events),
        ]
    )
    for needle in [SECRET, FAKE_API_SECRET, *transport.tokens, *api.tokens]:
        assert needle not in haystack


def test_api_error_text_masks_a_token_the_server_echoes() -> None:
    api = FakeApi({"inventory": inventory_records(1)})
    api.fail(
        "inventory",
        1,
        lambda r: httpx.Response(
            400, json={"errors": [{"message": f"bad header {r.headers['Authorization']}"}]}
        ),
    )
    with VendorClient(make_settings(), api.transport()) as client, pytest.raises(ApiError) as err:
        client.fetch("inventory")
    assert "tok-" not in str(err.value)
    assert "Bearer ***" in str(err.value)


def test_settings_and_client_reprs_hide_the_secret() -> None:
    settings = make_settings(client_secret=SECRET)
    with VendorClient(settings, FakeApi().transport()) as client:
        assert SECRET not in repr(client)
        assert SECRET not in repr(settings)
        assert SECRET not in str(vars(client).get("settings"))
