"""Contract conformance of the sandbox, checked by schemathesis against ``vendorkit/openapi.yaml``.

The sandbox runs as a real HTTP server on a loopback port. schemathesis generates requests
from the contract (valid ones, and for the headers and query invalid ones too) and checks
every answer: status code documented, content type, response headers, body schema, auth not
ignored, invalid input rejected. A few deterministic cases pin the statuses generation does
not reach on its own (401 with a bad token, 400 without a header, 204 past the end, 429,
5xx), and a faults-on server shows the error bodies conform too.

Kept bounded: a handful of examples per operation, no shrinking, no example database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from vendorkit import sandbox  # an import failure is a failure, never a skip

pytestmark = pytest.mark.integration

CONTRACT = Path(__file__).resolve().parents[2] / "vendorkit" / "openapi.yaml"
MAX_EXAMPLES = 12
CLIENT_ID = "conformance-client"
CLIENT_SECRET = "conformance-secret"
HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "c0ffee"}
LIST_KEYS = {"/inventory": "inventory", "/orders": "orders", "/shipments": "shipments"}

POSITIVE = schemathesis.openapi.from_path(CONTRACT)
POSITIVE.config.generation.update(
    modes=[GenerationMode.POSITIVE], max_examples=MAX_EXAMPLES, database="none"
)
NEGATIVE = schemathesis.openapi.from_path(CONTRACT)
NEGATIVE.config.generation.update(
    modes=[GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, database="none"
)
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class Server:
    """A served sandbox plus a valid token for it."""

    def __init__(self, served: Any) -> None:
        self.served = served
        self.base_url: str = served.base_url
        self.token_url: str = served.token_url
        parts = urlsplit(self.base_url)
        self.root = f"{parts.scheme}://{parts.netloc}"
        assert parts.hostname == "127.0.0.1"
        reply = httpx.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        self.token: str = reply.json()["access_token"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _serve(config: Any) -> Iterator[Server]:
    with sandbox.Sandbox(config).serve(host="127.0.0.1", port=0) as served:
        yield Server(served)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """Default world (quirks on), small scale, rate limiter on with a high limit so the
    ``X-RateLimit-*`` headers are sent and checked but never trip."""
    yield from _serve(sandbox.SandboxConfig(scale=0.05, invalid=0, rate_limit_per_minute=100_000))


@pytest.fixture(scope="module")
def limited() -> Iterator[Server]:
    """A sandbox allowing 2 calls per window, for 429."""
    yield from _serve(sandbox.SandboxConfig(scale=0.05, invalid=0, rate_limit_per_minute=2))


@pytest.fixture(scope="module")
def faulty() -> Iterator[Server]:
    """Half of the data requests fail with 500/503 or a 429 burst (with and without
    ``Retry-After``): the error answers must conform too."""
    faults = sandbox.FaultConfig(error_rate=0.3, burst_429_rate=0.3, max_consecutive=100)
    yield from _serve(sandbox.SandboxConfig(scale=0.05, invalid=0, faults=faults))


# --------------------------------------------------------------------------- custom checks


def _envelope_as_ingram_sends_it(case: Any, response: Any) -> None:
    """A 200 list page always has the envelope (stricter than the contract, which keeps the
    envelope optional for seed-shaped bodies) and ``recordsFound`` as a string."""
    if case.method != "GET" or response.status_code != 200:
        return
    body = response.json()
    key = LIST_KEYS[case.path]
    for name in ("recordsFound", "pageSize", "pageNumber", "nextPage", "previousPage", key):
        assert name in body, f"{case.path}: 200 body lacks {name!r}"
    assert isinstance(body["recordsFound"], str), "recordsFound must be a string (quirks on)"
    assert len(body[key]) <= body["pageSize"]
    assert body[key], f"{case.path}: a 200 page is never empty (empty is 204)"


def _header(headers: Any, name: str) -> str | None:
    """One header value from httpx headers or schemathesis' ``{lowercase: [values]}``."""
    if isinstance(headers, dict):
        values = headers.get(name.lower())
        return values[0] if values else None
    return headers.get(name)  # type: ignore[no-any-return]


def _correlation_id_echoed(case: Any, response: Any) -> None:
    if case.method != "GET":
        return
    sent = _header(response.request.headers, "IM-CorrelationID")
    if sent and (response.status_code in (200, 204, 429) or response.status_code >= 500):
        assert _header(response.headers, "IM-CorrelationID") == sent


def _rate_limit_headers_sent(case: Any, response: Any) -> None:
    if case.method == "GET" and response.status_code in (200, 204):
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            value = _header(response.headers, name) or ""
            assert value.isdigit(), f"{name} missing or not an integer: {value!r}"


def _no_content_is_empty(case: Any, response: Any) -> None:
    if response.status_code == 204:
        assert response.content == b""


def _extra_checks(case: Any, response: Any) -> None:
    _envelope_as_ingram_sends_it(case, response)
    _correlation_id_echoed(case, response)
    _rate_limit_headers_sent(case, response)
    _no_content_is_empty(case, response)


# --------------------------------------------------------------------------- generated cases


@POSITIVE.include(method="GET").parametrize()
@BOUNDED
def test_list_endpoints_conform(case: Any, server: Server) -> None:
    response = case.call_and_validate(
        base_url=server.base_url,
        headers=server.auth,
        checks=[*CHECKS, ignored_auth],
    )
    _extra_checks(case, response)


@NEGATIVE.include(method="GET").parametrize()
@BOUNDED
def test_list_endpoints_reject_invalid_input(case: Any, server: Server) -> None:
    if case.method.upper() != case.operation.method.upper():
        # a method the operation does not have (TRACE, QUERY, ...): refused, not served
        response = case.call(base_url=server.base_url, headers=server.auth)
        assert response.status_code in (405, 501), f"{case.method} answered {response.status_code}"
        return
    case.call_and_validate(
        base_url=server.base_url,
        headers=server.auth,
        checks=[*CHECKS, negative_data_rejection],
    )


@POSITIVE.include(method="POST").parametrize()
@BOUNDED
def test_token_endpoint_conforms(case: Any, server: Server) -> None:
    response = case.call_and_validate(base_url=server.root, checks=CHECKS)
    # any non-empty client id and secret are accepted by the default sandbox
    assert response.status_code == 200, response.text
    assert response.json()["token_type"].lower() == "bearer"


# --------------------------------------------------------------------------- pinned statuses


def _case(path: str, method: str = "GET", **kwargs: Any) -> Any:
    return POSITIVE[path][method].Case(**kwargs)


def _validate(case: Any, response: httpx.Response) -> None:
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("path", sorted(LIST_KEYS))
def test_bad_token_is_401_with_the_fault_body(server: Server, path: str) -> None:
    case = _case(path, headers=dict(HEADERS))
    response = httpx.get(
        server.base_url + path,
        headers={**HEADERS, "Authorization": "Bearer not-a-token"},
        timeout=10,
    )
    assert response.status_code == 401
    _validate(case, response)
    assert response.json()["fault"]["faultstring"]


def test_bad_credentials_are_401_with_the_fault_body(server: Server) -> None:
    limited_cfg = sandbox.SandboxConfig(scale=0.05, client_id="only-me", client_secret="s3cret")
    with sandbox.Sandbox(limited_cfg).serve(host="127.0.0.1", port=0) as served:
        response = httpx.post(
            served.token_url,
            data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
            timeout=10,
        )
    assert response.status_code == 401
    _validate(_case("/oauth/oauth30/token", "POST"), response)


@pytest.mark.parametrize(
    ("drop", "replace"),
    [
        ("IM-PartnerID", {}),
        ("IM-CountryCode", {}),
        ("IM-CorrelationID", {}),
        (None, {"IM-CountryCode": "USA"}),
        (None, {"IM-CorrelationID": "x" * 33}),
        (None, {"IM-CorrelationID": "3f2a9c4e-5b6d-47a8-b9c0-d1e2f3a4b5c6"}),
    ],
)
def test_missing_or_malformed_header_is_400_with_the_error_body(
    server: Server, drop: str | None, replace: dict[str, str]
) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != drop} | replace
    response = httpx.get(
        server.base_url + "/inventory", headers={**headers, **server.auth}, timeout=10
    )
    assert response.status_code == 400, response.text
    _validate(_case("/inventory", headers=headers), response)
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("path", sorted(LIST_KEYS))
def test_past_the_end_is_204(server: Server, path: str) -> None:
    first = httpx.get(
        server.base_url + path,
        params={"pageSize": 100},
        headers={**HEADERS, **server.auth},
        timeout=10,
    )
    assert first.status_code == 200
    total = int(first.json()["recordsFound"])
    past = total // 100 + 2
    response = httpx.get(
        server.base_url + path,
        params={"pageNumber": past, "pageSize": 100},
        headers={**HEADERS, **server.auth},
        timeout=10,
    )
    assert response.status_code == 204
    assert response.content == b""
    _validate(_case(path, headers=dict(HEADERS), query={"pageNumber": past}), response)


def test_over_the_limit_is_429_with_the_documented_body(limited: Server) -> None:
    statuses = []
    for _ in range(4):
        response = httpx.get(
            limited.base_url + "/orders", headers={**HEADERS, **limited.auth}, timeout=10
        )
        statuses.append(response.status_code)
        _validate(_case("/orders", headers=dict(HEADERS)), response)
    assert statuses[:2] == [200, 200]
    assert 429 in statuses[2:]
    assert response.status_code == 429
    assert response.json()["errors"][0]["message"] == "too many requests"
    assert response.headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize("path", sorted(LIST_KEYS))
def test_fault_answers_conform(faulty: Server, path: str) -> None:
    seen: set[int] = set()
    for page in range(1, 13):
        response = httpx.get(
            faulty.base_url + path,
            params={"pageNumber": page, "pageSize": 5},
            headers={**HEADERS, **faulty.auth},
            timeout=10,
        )
        seen.add(response.status_code)
        checks = [c for c in CHECKS if c is not not_a_server_error]
        _case(path, headers=dict(HEADERS), query={"pageNumber": page}).validate_response(
            response, checks=checks
        )
    assert seen - {200}, f"{path}: no fault in 12 requests at a 30% + 30% fault rate"


def test_the_checks_catch_a_nonconforming_answer() -> None:
    """The same checks fail on answers that break the contract (so the runs above can fail)."""
    request = httpx.Request("GET", "http://127.0.0.1:1/vendors/v1/inventory")
    case = _case("/inventory", headers=dict(HEADERS))
    bad_answers = [
        httpx.Response(200, json={"inventory": [{"quantity": "twelve"}]}, request=request),
        httpx.Response(200, json={"recordsFound": "many", "inventory": []}, request=request),
        httpx.Response(401, json={"error": "no fault key"}, request=request),
        httpx.Response(418, json={"errors": [{"message": "teapot"}]}, request=request),
        httpx.Response(200, text="<html>ok</html>", request=request),
    ]
    for answer in bad_answers:
        answer.elapsed = timedelta(milliseconds=1)  # as if read from the network
        with pytest.raises((AssertionError, FailureGroup)):
            _validate(case, answer)
    good = httpx.Response(
        200,
        json={
            "recordsFound": "1",
            "inventory": [{"partNumber": "A", "warehouse": 20, "quantity": "12"}],
        },
        headers={"IM-CorrelationID": "c0ffee"},
        request=request,
    )
    good.elapsed = timedelta(milliseconds=1)
    _validate(case, good)
