"""Request bounds over real localhost sockets: the total deadline ends a dripping server.

httpx's timeouts are per read; these servers send a little before every read timeout, so
only the per-request deadline (``VENDORKIT_REQUEST_DEADLINE_S``) ends the request.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.errors import TransportError

pytestmark = pytest.mark.integration

TOKEN_ANSWER = json.dumps({"access_token": "tok-drip-1", "expires_in": 3600}).encode()


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            missing = int(line.split(b":", 1)[1]) - len(rest)
            while missing > 0:
                missing -= len(conn.recv(missing))
    return head


@contextmanager
def dripping(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A server: token requests answered at once, data requests by ``answer``."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                while not stop.is_set():
                    head = _read_head(conn)
                    if not head:
                        return
                    if b"/oauth/" in head.split(b"\r\n", 1)[0]:
                        conn.sendall(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            b"Content-Length: "
                            + str(len(TOKEN_ANSWER)).encode()
                            + b"\r\n\r\n"
                            + TOKEN_ANSWER
                        )
                        continue
                    answer(conn, stop)
                    return
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        listener.close()


def drip_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stop.wait(0.2):
        conn.sendall(b"X-Drip: 1\r\n")


def drip_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    conn.sendall(b'{"inventory": [')
    while not stop.wait(0.2):
        conn.sendall(b" ")


def settings_for(port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "base_url": f"http://127.0.0.1:{port}/vendors/v1",
        "token_url": f"http://127.0.0.1:{port}/oauth/oauth30/token",
        "client_id": "drip",
        "client_secret": "drip-secret",
        "timeout_s": 5.0,  # every read gets an answer well within this
        "request_deadline_s": 1.0,
        "max_retries": 1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", [drip_headers, drip_body], ids=["headers", "body"])
def test_a_dripping_server_is_cut_off_by_the_request_deadline(
    answer: Callable[[socket.socket, threading.Event], None],
) -> None:
    with (
        dripping(answer) as port,
        VendorClient(settings_for(port)) as client,
        pytest.raises(TransportError) as info,
    ):
        list(client.iter_pages("inventory"))
    message = str(info.value)
    assert "VENDORKIT_REQUEST_DEADLINE_S=1s" in message
    assert "in 2 attempts" in message  # each attempt ended at its deadline, then one retry
