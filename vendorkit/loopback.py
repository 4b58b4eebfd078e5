"""A lean httpx transport for the local sandbox: stdlib ``http.client``, keep-alive per thread.

Why: measured on this 2-core machine against the sandbox server, one request through
httpx's default transport (httpcore + h11, pure Python) costs ~700 µs of client CPU, the
same request through ``http.client`` ~140 µs, and httpx's own client layer ~130 µs. When
the sandbox runs on the same machine, that CPU is taken from the server, so it caps the
rows/s of a full fetch. The real Vendor API allows 60 calls per minute per endpoint, where
client CPU per request does not matter, so remote hosts keep httpx's standard transport
(proxies, TLS verification, its connection pool); :class:`LoopbackTransport` is only used for
plain ``http://`` to a loopback host (see :func:`vendorkit.client.VendorClient`).

Each thread keeps one connection per host; a reused keep-alive connection that the server
closed while idle is retried once on a fresh connection (safe: the client only sends GETs and
the idempotent token POST). Socket failures become the httpx exceptions the client already
retries: ``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``RemoteProtocolError``,
``ReadError``.
"""

from __future__ import annotations

import http.client
import threading

import httpx

__all__ = ["LoopbackTransport"]


class LoopbackTransport(httpx.BaseTransport):
    """Plain-HTTP/1.1 keep-alive transport on ``http.client`` (one connection per thread).

    Args:
        connect_timeout_s: default connect timeout (a request's own ``timeout`` wins).
        read_timeout_s: default read timeout (a request's own ``timeout`` wins).

    Example:
        >>> transport = LoopbackTransport()
        >>> with httpx.Client(transport=transport) as client:     # doctest: +SKIP
        ...     client.get("http://127.0.0.1:8765/vendors/v1/inventory").status_code
        401
    """

    def __init__(self, connect_timeout_s: float = 10.0, read_timeout_s: float = 30.0) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"LoopbackTransport(open_connections={len(self._open)})"

    def _connection(self, host: str, port: int) -> http.client.HTTPConnection:
        conns: dict[tuple[str, int], http.client.HTTPConnection] | None = getattr(
            self._local, "conns", None
        )
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get((host, port))
        if conn is None:
            conn = http.client.HTTPConnection(host, port)
            conns[(host, port)] = conn
            with self._lock:
                self._open.add(conn)
        return conn

    def _drop(self, host: str, port: int, conn: http.client.HTTPConnection) -> None:
        conn.close()
        conns = getattr(self._local, "conns", {})
        conns.pop((host, port), None)
        with self._lock:
            self._open.discard(conn)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over this thread's keep-alive connection."""
        url = request.url
        if url.scheme != "http" or not url.host:
            raise httpx.UnsupportedProtocol(
                f"LoopbackTransport speaks plain http only, not {url.scheme}://", request=request
            )
        if self._closed:
            raise httpx.ConnectError("transport is closed", request=request)
        host, port = url.host, url.port or 80
        timeouts = request.extensions.get("timeout") or {}
        connect_timeout = timeouts.get("connect", self._connect_timeout_s)
        read_timeout = timeouts.get("read", self._read_timeout_s)
        body = request.read()
        target = url.raw_path.decode("ascii")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.lower() != b"accept-encoding"  # bodies are not decoded here: ask for none
        ]
        for attempt in (1, 2):
            conn = self._connection(host, port)
            reused = conn.sock is not None
            try:
                if conn.sock is None:
                    conn.timeout = connect_timeout
                    conn.connect()
                conn.sock.settimeout(read_timeout)  # type: ignore[union-attr]
                conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.endheaders(body or None)
                response = conn.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(host, port, conn)
                if reused and attempt == 1:
                    continue  # the server closed an idle keep-alive connection: reconnect
                raise httpx.RemoteProtocolError(
                    f"server closed the connection: {exc}", request=request
                ) from exc
            except http.client.IncompleteRead as exc:
                self._drop(host, port, conn)
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    f"received {len(exc.partial)} bytes",
                    request=request,
                ) from exc
            except TimeoutError as exc:
                connected = conn.sock is not None
                self._drop(host, port, conn)
                if not connected:
                    raise httpx.ConnectTimeout(
                        str(exc) or "connect timed out", request=request
                    ) from exc
                raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
            except ConnectionRefusedError as exc:
                self._drop(host, port, conn)
                raise httpx.ConnectError(str(exc), request=request) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(host, port, conn)
                raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
            if response.will_close:
                self._drop(host, port, conn)
            return httpx.Response(
                response.status,
                headers=response.getheaders(),
                content=content,
                request=request,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close every connection this transport opened (from any thread)."""
        self._closed = True
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            conn.close()
