"""The sandbox over real localhost sockets: the threaded HTTP/1.1 server and the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from vendorkit.sandbox import FaultConfig, Sandbox, SandboxConfig

pytestmark = pytest.mark.integration

HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "it-1"}
FORM = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "secret"}


def _token(client: httpx.Client, token_url: str) -> str:
    r = client.post(token_url, data=FORM)
    assert r.status_code == 200
    return r.json()["access_token"]


def test_real_server_answers_with_keep_alive() -> None:
    sb = Sandbox(SandboxConfig(scale=0.2, invalid=0))
    with sb.serve(host="127.0.0.1", port=0) as srv:
        parts = urlsplit(srv.base_url)
        assert parts.hostname == "127.0.0.1" and parts.port == srv.port
        assert parts.path == "/vendors/v1"
        assert srv.token_url == f"http://127.0.0.1:{srv.port}/oauth/oauth30/token"
        with httpx.Client(timeout=5) as c:
            h = {**HEADERS, "Authorization": f"Bearer {_token(c, srv.token_url)}"}
            seen = 0
            page = 1
            while True:
                r = c.get(
                    f"{srv.base_url}/orders",
                    headers=h,
                    params={"pageNumber": page, "pageSize": 100},
                )
                if r.status_code == 204:
                    break
                assert r.status_code == 200 and r.http_version == "HTTP/1.1"
                assert r.headers["IM-CorrelationID"] == "it-1"
                assert r.headers["Date"] == "Sun, 01 Nov 2026 12:00:00 GMT"
                seen += len(r.json()["orders"])
                page += 1
            assert seen == sb.ground_truth("orders").height
            # the token call and every page went over one kept-alive connection
            assert srv.connections_accepted == 1
        assert sb.stats["orders"]["pages_served"] == page - 1
        head = httpx.head(f"{srv.base_url}/orders", headers=h, timeout=5)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["Content-Length"]) > 0
        trace = httpx.request("TRACE", f"{srv.base_url}/orders", headers=h, timeout=5)
        assert trace.status_code == 405 and trace.json()["errors"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.base_url + "/orders", timeout=2)


def test_real_server_and_transport_serve_the_same_bytes() -> None:
    sb = Sandbox(SandboxConfig(scale=0.1, invalid=1))
    with (
        sb.serve() as srv,
        httpx.Client(timeout=5) as c,
        httpx.Client(transport=sb.transport(), base_url="http://sandbox") as t,
    ):
        h_real = {**HEADERS, "Authorization": f"Bearer {_token(c, srv.token_url)}"}
        h_mem = {**HEADERS, "Authorization": f"Bearer {_token(t, '/oauth/oauth30/token')}"}
        for ep in ("inventory", "orders", "shipments"):
            real = c.get(f"{srv.base_url}/{ep}", headers=h_real, params={"pageSize": 100})
            mem = t.get(f"/vendors/v1/{ep}", headers=h_mem, params={"pageSize": 100})
            assert real.content == mem.content


def test_real_server_drops_connections_mid_body() -> None:
    sb = Sandbox(SandboxConfig(scale=0.1, faults=FaultConfig(drop_rate=1.0, max_consecutive=1)))
    with sb.serve() as srv, httpx.Client(timeout=5) as c:
        h = {**HEADERS, "Authorization": f"Bearer {_token(c, srv.token_url)}"}
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(f"{srv.base_url}/inventory", headers=h)
        ok = c.get(f"{srv.base_url}/inventory", headers=h)  # the retry succeeds
        assert ok.status_code == 200 and json.loads(ok.content)["inventory"]


def test_real_server_slow_response_exceeds_client_timeout() -> None:
    faults = FaultConfig(slow_rate=1.0, slow_ms=600, max_consecutive=1)
    with (
        Sandbox(SandboxConfig(scale=0.05, faults=faults)).serve() as srv,
        httpx.Client(timeout=0.2) as c,
    ):
        h = {**HEADERS, "Authorization": f"Bearer {_token(c, srv.token_url)}"}
        with pytest.raises(httpx.ReadTimeout):
            c.get(f"{srv.base_url}/orders", headers=h)


def test_port_in_use_is_a_clear_error() -> None:
    from vendorkit.errors import ConfigError

    sb = Sandbox(SandboxConfig(scale=0.02))
    with sb.serve() as srv, pytest.raises(ConfigError, match="cannot listen"):
        sb.serve(port=srv.port)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_serves_until_interrupted() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vendorkit.sandbox",
            "serve",
            "--port",
            str(port),
            "--scale",
            "0.05",
            "--seed",
            "3",
            "--rate-limit",
            "50",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().split()[-1]
        token_url = proc.stdout.readline().split()[-1]
        assert base == f"http://127.0.0.1:{port}/vendors/v1"
        assert token_url == f"http://127.0.0.1:{port}/oauth/oauth30/token"
        with httpx.Client(timeout=5) as c:
            h = {**HEADERS, "Authorization": f"Bearer {_token(c, token_url)}"}
            r = c.get(f"{base}/inventory", headers=h)
            assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "50"
            assert r.json()["recordsFound"] == str(25 * 5 + 4)  # 3 invalid + 1 duplicate
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # the port is free again
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
            break
        except OSError:
            time.sleep(0.05)
    else:
        pytest.fail(f"port {port} still bound after the CLI exited")


def test_concurrent_clients_get_consistent_pages() -> None:
    from concurrent.futures import ThreadPoolExecutor

    sb = Sandbox(SandboxConfig(scale=0.5, invalid=1))
    with sb.serve() as srv, httpx.Client(timeout=10) as c:
        h = {**HEADERS, "Authorization": f"Bearer {_token(c, srv.token_url)}"}
        pages = range(1, 14)  # 1,254 records in pages of 100

        def fetch(page: int) -> bytes:  # one pooled client shared by the threads
            r = c.get(
                f"{srv.base_url}/inventory", headers=h, params={"pageNumber": page, "pageSize": 100}
            )
            assert r.status_code == 200
            return r.content

        with ThreadPoolExecutor(max_workers=6) as pool:
            parallel = list(pool.map(fetch, pages))
        sequential = [fetch(p) for p in pages]
    assert parallel == sequential
    total = sum(len(json.loads(b)["inventory"]) for b in parallel)
    assert total == sb.served_record_count("inventory") == 250 * 5 + 4


def _raw(host: str, port: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, body=b"", headers={"Content-Length": "0"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("QUERY", "/oauth/oauth30/token", 405, "POST"),
        ("PROPFIND", "/oauth/oauth30/token", 405, "POST"),
        ("QUERY", "/vendors/v1/inventory", 405, "GET"),
        ("BREW", "/vendors/v1/orders", 405, "GET"),
        ("QUERY", "/vendors/v1/nowhere", 404, None),
    ],
)
def test_unknown_methods_get_the_json_error_body_not_html_501(
    method: str, path: str, status: int, allow: str | None
) -> None:
    with Sandbox(SandboxConfig(scale=0.02)).serve() as srv:
        code, headers, body = _raw(srv.host, srv.port, method, path)
    assert code == status and headers["content-type"] == "application/json"
    assert headers.get("allow") == allow
    assert json.loads(body)["errors"][0]["type"] in (
        "/errors/method-not-allowed",
        "/errors/not-found",
    )
    assert b"<html" not in body.lower()


# ----------------------------------------------------------------------- hostile modes on sockets


def _hostile(**faults: object) -> Sandbox:
    return Sandbox(SandboxConfig(scale=0.02, faults=FaultConfig(**faults)))  # type: ignore[arg-type]


def _auth(client: httpx.Client, srv: object) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {_token(client, srv.token_url)}"}  # type: ignore[attr-defined]


def test_header_lines_trickle_one_by_one_under_the_read_timeout() -> None:
    with _hostile(trickle_headers_s=0.05).serve() as srv, httpx.Client(timeout=2.0) as client:
        auth = _auth(client, srv)
        started = time.monotonic()
        r = client.get(srv.base_url + "/inventory", headers=auth, params={"pageSize": 1})
        elapsed = time.monotonic() - started
    assert r.status_code == 200 and len(r.json()["inventory"]) == 1
    lines = 1 + len(r.headers)  # the status line and every header line, 0.05 s apart
    assert elapsed >= 0.05 * lines  # each read was short; the whole head was not


def test_body_trickles_one_byte_at_a_time_on_the_socket() -> None:
    with _hostile(trickle_body_s=0.002).serve() as srv, httpx.Client(timeout=2.0) as client:
        auth = _auth(client, srv)
        started = time.monotonic()
        r = client.get(srv.base_url + "/inventory", headers=auth, params={"pageSize": 1})
        elapsed = time.monotonic() - started
    assert r.status_code == 200 and len(r.content) == int(r.headers["Content-Length"])
    assert elapsed >= 0.002 * len(r.content)


def test_endless_chunked_body_on_the_socket() -> None:
    with _hostile(endless_body=True).serve() as srv, httpx.Client(timeout=5.0) as client:
        auth = _auth(client, srv)
        with client.stream("GET", srv.base_url + "/inventory", headers=auth) as r:
            assert r.headers["Transfer-Encoding"] == "chunked"
            got = 0
            for chunk in r.iter_raw():
                got += len(chunk)
                if got > 20_000_000:
                    break
    assert got > 20_000_000  # still going; the client had to leave


def test_huge_body_and_gzip_bomb_on_the_socket() -> None:
    with _hostile(huge_body_bytes=5_000_000).serve() as srv, httpx.Client(timeout=5.0) as client:
        r = client.get(srv.base_url + "/orders", headers=_auth(client, srv))
        assert r.headers["Content-Length"] == "5000000" and len(r.content) == 5_000_000
        assert r.json()["recordsFound"] == "1" and len(r.json()["orders"]) == 1
    with _hostile(gzip_bomb_bytes=8_000_000).serve() as srv, httpx.Client(timeout=5.0) as client:
        auth = {**_auth(client, srv), "Accept-Encoding": "identity"}  # not asked for
        with client.stream("GET", srv.base_url + "/shipments", headers=auth) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            wire = b"".join(r.iter_raw())
        assert int(r.headers["Content-Length"]) == len(wire) < 50_000
