"""Two ways into the sandbox app: a real HTTP/1.1 server and an in-process httpx transport.

The server is a :class:`http.server.ThreadingHTTPServer` with keep-alive, run in a background
thread; faults that a socket would show are real (a dropped connection sends the headers with
the full ``Content-Length``, part of the body, then closes). The transport raises the httpx
exceptions a client would see for the same faults (``RemoteProtocolError`` for a drop,
``ReadTimeout`` for a response slower than the request's read timeout).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from vendorkit.errors import ConfigError
from vendorkit.sandbox.app import BASE_PATH, TOKEN_PATH, Response, SandboxApp

__all__ = ["SandboxServer", "SandboxTransport"]

_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SandboxTransport(httpx.BaseTransport):
    """httpx transport that answers from the sandbox app in-process (no sockets).

    Example:
        >>> from vendorkit.sandbox import Sandbox, SandboxConfig
        >>> sb = Sandbox(SandboxConfig(scale=0.02))
        >>> with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as c:
        ...     c.get("/vendors/v1/orders").status_code
        401
    """

    def __init__(self, app: SandboxApp) -> None:
        self._app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request``; faults become the httpx exceptions a socket would cause."""
        body = request.read()
        query = request.url.query.decode("ascii", "replace")
        resp = self._app.handle(
            request.method, request.url.path, query, dict(request.headers), body
        )
        if resp.delay_s > 0:
            timeouts = request.extensions.get("timeout") or {}
            read_timeout = timeouts.get("read")
            if resp.action == "slow" and read_timeout is not None and resp.delay_s > read_timeout:
                time.sleep(read_timeout)
                raise httpx.ReadTimeout(
                    f"sandbox: response slower than the read timeout ({read_timeout}s)",
                    request=request,
                )
            time.sleep(resp.delay_s)
        if resp.action == "drop":
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body: received "
                f"{resp.drop_at} bytes, expected {len(resp.body)}",
                request=request,
            )
        headers = list(resp.headers)
        if resp.trickle_headers_s:  # no socket to trickle on: the head arrives that late
            time.sleep(resp.trickle_headers_s * (len(headers) + 1))
        encoded = any(k.lower() == "content-encoding" for k, _ in headers)
        if resp.stream is not None or resp.trickle_body_s or encoded:
            if resp.stream is None:
                headers.append(("Content-Length", str(len(resp.body))))
            elif resp.content_length is not None:
                headers.append(("Content-Length", str(resp.content_length)))
            stream = _Stream(resp.stream or [resp.body], resp.trickle_body_s)
            return httpx.Response(resp.status, headers=headers, stream=stream, request=request)
        if resp.status != 204:
            headers.append(("Content-Length", str(len(resp.body))))
        return httpx.Response(resp.status, headers=headers, content=resp.body, request=request)


class _Stream(httpx.SyncByteStream):
    """A response body as chunks (huge or endless), optionally one byte per ``trickle_s``."""

    def __init__(self, chunks: Iterable[bytes], trickle_s: float | None) -> None:
        self._chunks = chunks
        self._trickle_s = trickle_s

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if self._trickle_s:
                for i in range(len(chunk)):
                    time.sleep(self._trickle_s)
                    yield chunk[i : i + 1]
            elif chunk:
                yield chunk


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vendorkit-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        headers = {k: v for k, v in self.headers.items()}
        resp = self.server.app.handle(self.command, parts.path, parts.query, headers, body)
        self._send(resp)

    def _send(self, resp: Response, *, head_only: bool = False) -> None:
        if resp.delay_s > 0:
            time.sleep(resp.delay_s)
        if not head_only and (
            resp.stream is not None or resp.trickle_body_s or resp.trickle_headers_s
        ):
            with contextlib.suppress(OSError):  # the client gave up: that is the point
                self._send_hostile(resp)
            return
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        if resp.status != 204:
            lines.append(f"Content-Length: {len(resp.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head_only:  # HEAD: the head a GET would get (same Content-Length), no body
            self.wfile.write(head)
            return
        if resp.action == "drop":
            self.wfile.write(head + resp.body[: resp.drop_at])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(head + resp.body)

    def _send_hostile(self, resp: Response) -> None:
        """Hostile modes: streamed (sized or endless chunked) bodies, trickled heads and bodies."""
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        chunked = resp.stream is not None and resp.content_length is None
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif resp.status != 204:
            size = resp.content_length if resp.stream is not None else len(resp.body)
            lines.append(f"Content-Length: {size}")
        if self.close_connection:
            lines.append("Connection: close")
        if resp.trickle_headers_s:
            for line in lines:
                self.wfile.write(f"{line}\r\n".encode("latin-1"))
                self.wfile.flush()
                time.sleep(resp.trickle_headers_s)
            self.wfile.write(b"\r\n")
        else:
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.wfile.flush()
        chunks = resp.stream if resp.stream is not None else [resp.body]
        for chunk in chunks:
            if resp.trickle_body_s:
                for i in range(len(chunk)):
                    self._write(chunk[i : i + 1], chunked)
                    time.sleep(resp.trickle_body_s)
            else:
                self._write(chunk, chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _write(self, data: bytes, chunked: bool) -> None:
        if not data:
            return
        if chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()

    # every method reaches the app, which answers 405 with the JSON error body for the
    # ones an endpoint does not support (instead of http.server's 501 HTML page)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = _dispatch

    def __getattr__(self, name: str) -> Any:
        # any other method (QUERY, PROPFIND, ...) too: http.server would answer 501 HTML
        if name.startswith("do_") and name[3:].isalpha():
            return self._dispatch
        raise AttributeError(name)

    def do_HEAD(self) -> None:
        """Like GET without the body (same status and headers); faults are not applied."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        resp = self.server.app.handle(
            "GET", parts.path, parts.query, dict(self.headers.items()), b""
        )
        resp.action = None
        resp.delay_s = 0.0
        self._send(resp, head_only=True)

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.accepted = 0
        super().__init__(addr, _Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
                self.accepted += 1
            else:
                self._conns.discard(conn)

    def close_all(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """The sandbox over real HTTP/1.1 (keep-alive) on a background thread.

    Started on construction; use as a context manager or call :meth:`stop`.

    Attributes:
        host, port: where it listens (``port=0`` picks a free port).
        base_url: ``http://HOST:PORT/vendors/v1``.
        token_url: ``http://HOST:PORT/oauth/oauth30/token``.
    """

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            self._server = _Server((host, port), app)
        except OSError as exc:
            raise ConfigError(
                f"sandbox cannot listen on {host}:{port} ({exc.strerror}); pick another "
                "--port or use port 0 for a free one"
            ) from exc
        self.host = host
        self.port = int(self._server.server_address[1])
        url_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{url_host}:{self.port}{BASE_PATH}"
        self.token_url = f"http://{url_host}:{self.port}{TOKEN_PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"vendorkit-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive clients reuse one)."""
        return self._server.accepted

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and the listening socket."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"SandboxServer({self.base_url!r}, {state})"
