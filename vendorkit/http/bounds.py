"""Bounds on every request: a total deadline, and a maximum body size while streaming.

httpx's timeouts are per operation (one connect, one read): a server that sends one byte
every few seconds never trips them. Two bounds close that gap:

* :class:`Deadline` + :class:`DeadlineBackend`: the client sets a per-thread deadline before
  each request (``VENDORKIT_REQUEST_DEADLINE_S``); the network backend under httpx's own
  transport (httpcore's, wrapped) gives every connect, TLS handshake, read and write only
  the time left, so connect + headers + the whole body end by the deadline
  (``httpx.ConnectTimeout`` / ``httpx.ReadTimeout`` / ``httpx.WriteTimeout`` otherwise).
* :func:`read_body`: reads a streamed response chunk by chunk and stops as soon as the body
  passes ``max_bytes`` (``VENDORKIT_MAX_PAGE_BYTES``), never after buffering it. The body is
  decoded only if it is gzip, which is all the client asks for (``Accept-Encoding: gzip``);
  the decoded size is bounded the same way (a 1 MB gzip bomb stops at the bound).
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "BodyTooLarge",
    "Deadline",
    "DeadlineBackend",
    "UnaskedEncoding",
    "install_deadline",
    "read_body",
]

#: What the client sends as ``Accept-Encoding``; any other ``Content-Encoding`` is refused.
ACCEPT_ENCODING = "gzip"


class BodyTooLarge(ValueError):
    """The body (decoded) passed the size bound while it was being read.

    Attributes:
        limit: the bound (``VENDORKIT_MAX_PAGE_BYTES``).
        declared: the ``Content-Length`` that was refused before reading, if that was it.
        gzip: the body was gzip and its *inflated* size passed the bound.
        compressed: for a gzip body read from the network, the compressed bytes it took.

    Example:
        >>> str(BodyTooLarge(1_048_576, gzip=True, compressed=1_063))
        'the gzip body inflated past the 1,048,576-byte bound from only 1,063 compressed bytes, over 986:1: a decompression bomb, not a page'
    """

    def __init__(
        self,
        limit: int,
        *,
        declared: int | None = None,
        gzip: bool = False,
        compressed: int | None = None,
    ) -> None:
        self.limit = limit
        self.declared = declared
        self.gzip = gzip
        self.compressed = compressed
        if declared is not None:
            text = f"the body declares {declared:,} bytes, more than the {limit:,}-byte bound"
        elif gzip and compressed:
            text = (
                f"the gzip body inflated past the {limit:,}-byte bound from only "
                f"{compressed:,} compressed bytes, over {limit // compressed:,}:1"
                f"{_BOMB if limit // compressed >= _BOMB_RATIO else ''}"
            )
        elif gzip:
            text = f"the gzip body inflated past the {limit:,}-byte bound"
        else:
            text = f"the body grew past the {limit:,}-byte bound while being read"
        super().__init__(text)


#: JSON pages compress about 5-20:1; far beyond that the body is padding, not records
_BOMB_RATIO = 100
_BOMB = ": a decompression bomb, not a page"


class UnaskedEncoding(ValueError):
    """The server compressed the body in a way the client did not ask for."""


class Deadline(threading.local):
    """The deadline (``time.monotonic()`` seconds) of the request this thread is sending.

    Example:
        >>> deadline = Deadline()
        >>> with deadline.within(120.0):
        ...     0 < deadline.left(30.0) <= 30.0
        True
        >>> deadline.left(30.0)
        30.0
    """

    at: float | None = None

    def within(self, seconds: float) -> _Scope:
        """Set the deadline ``seconds`` from now for the block."""
        return _Scope(self, seconds)

    def passed(self) -> bool:
        """Whether the current request's deadline has passed."""
        return self.at is not None and time.monotonic() >= self.at

    def left(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to the time left (``None``: no bound on either)."""
        if self.at is None:
            return timeout
        left = max(self.at - time.monotonic(), 0.0)
        return left if timeout is None else min(timeout, left)


class _Scope:
    def __init__(self, deadline: Deadline, seconds: float) -> None:
        self._deadline = deadline
        self._seconds = seconds

    def __enter__(self) -> None:
        self._deadline.at = time.monotonic() + self._seconds

    def __exit__(self, *exc: object) -> None:
        self._deadline.at = None


def _check(deadline: Deadline, timeout: float | None, error: type[Exception]) -> float | None:
    left = deadline.left(timeout)
    if left is not None and left <= 0.0:
        raise error("the request deadline passed")
    return left


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _check(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _check(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _check(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with every operation bounded by a :class:`Deadline`."""

    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _check(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _check(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, left, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install_deadline(client: httpx.Client, deadline: Deadline) -> int:
    """Bound the network transports of ``client`` (and its proxy mounts) by ``deadline``.

    httpx builds its transports (honouring proxy settings from the environment) but does
    not take a network backend, so the backend of each httpcore pool is wrapped in place.
    Transports without a network (``httpx.MockTransport``, the in-process sandbox) are left
    alone. Returns how many pools were wrapped.
    """
    transports = [client._transport, *client._mounts.values()]
    wrapped = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None or isinstance(backend, DeadlineBackend):
            continue
        pool._network_backend = DeadlineBackend(backend, deadline)  # type: ignore[union-attr]
        wrapped += 1
    return wrapped


def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a streamed ``response``, at most ``max_bytes`` (decoded) long.

    Raises:
        BodyTooLarge: ``Content-Length`` or the bytes read (decoded) pass ``max_bytes``.
        UnaskedEncoding: a ``Content-Encoding`` other than gzip (or identity).
        httpx.DecodingError: a gzip body that is corrupt or cut off (worth a retry).

    Example:
        >>> import gzip
        >>> r = httpx.Response(200, headers={"Content-Encoding": "gzip"},
        ...                    stream=httpx.ByteStream(gzip.compress(b"x" * 10_000)))
        >>> len(read_body(r, 20_000))
        10000
        >>> read_body(httpx.Response(200, stream=httpx.ByteStream(b"x" * 5000)), 4096)
        Traceback (most recent call last):
        ...
        vendorkit.http.bounds.BodyTooLarge: the body grew past the 4,096-byte bound while being read
    """
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes, declared=int(declared))
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise UnaskedEncoding(
            f"the body is compressed as {encoding[:40]!r}, which vendorkit did not ask for "
            f"(Accept-Encoding: {ACCEPT_ENCODING})"
        )
    if response.is_stream_consumed:
        # built in memory (httpx.MockTransport, the in-process sandbox): httpx has already
        # read and decoded it, so only its size is left to check
        if len(response.content) > max_bytes:
            raise BodyTooLarge(max_bytes, gzip="gzip" in encoding)
        return response.content
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if "gzip" in encoding else None
    chunks: list[bytes] = []
    size = 0
    compressed = 0  # raw bytes handed to the decoder
    received = False
    for raw in response.iter_raw():
        received = received or bool(raw)
        compressed += len(raw)
        if decoder is None:
            size += len(raw)
            if size > max_bytes:
                raise BodyTooLarge(max_bytes)
            chunks.append(raw)
            continue
        data = raw
        while data:
            try:
                out = decoder.decompress(data, max_bytes - size + 1)
            except zlib.error as exc:
                raise httpx.DecodingError(f"corrupt gzip body: {exc}") from exc
            size += len(out)
            if size > max_bytes:
                used = compressed - len(decoder.unconsumed_tail)
                raise BodyTooLarge(max_bytes, gzip=True, compressed=used)
            chunks.append(out)
            data = decoder.unconsumed_tail
    if decoder is not None and received and not decoder.eof:
        raise httpx.DecodingError("the gzip body is cut off")
    return b"".join(chunks)
