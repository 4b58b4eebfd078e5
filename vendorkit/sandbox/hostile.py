"""Bodies and streams of the hostile-server modes (see :class:`FaultConfig`, "Hostile servers").

Pure helpers: the app decides *when* (every data request while a mode is set), these build
*what* goes on the wire. Big bodies are generators, so the sandbox never holds them whole.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterator

__all__ = [
    "BAD_UTF8",
    "NAME_FIELDS",
    "endless_stream",
    "gzip_bomb",
    "html_login_page",
    "padded_stream",
    "poison_utf8",
    "set_line_number",
]

#: bytes that are not UTF-8 (a lone continuation byte and an invalid start byte)
BAD_UTF8 = b"\xff\xfe"
#: the string field whose value gets :data:`BAD_UTF8`, then the key field as a fallback
NAME_FIELDS: dict[str, tuple[str, str]] = {
    "inventory": ("warehouseName", "partNumber"),
    "orders": ("resellerName", "orderId"),
    "shipments": ("carrier", "id"),
}
_CHUNK = 1 << 20
_LINE = re.compile(r'"lineNumber":"?-?[0-9]+"?')


def poison_utf8(text: str, endpoint: str) -> bytes:
    """The record's JSON as bytes with :data:`BAD_UTF8` at the start of a string value.

    Example:
        >>> poison_utf8('{"partNumber":"P1","warehouseName":"Mira Loma, CA"}', "inventory")
        b'{"partNumber":"P1","warehouseName":"\\xff\\xfeMira Loma, CA"}'
    """
    raw = text.encode()
    for name in NAME_FIELDS[endpoint]:
        marker = f'"{name}":"'.encode()
        at = raw.find(marker)
        if at >= 0:
            cut = at + len(marker)
            return raw[:cut] + BAD_UTF8 + raw[cut:]
    return raw[:-1] + b',"note":"' + BAD_UTF8 + b'"}'


def set_line_number(text: str, value: int) -> str:
    """The record's JSON with its first line's ``lineNumber`` set to ``value``.

    Example:
        >>> set_line_number('{"orderId":"1","lines":[{"lineNumber":"1","quantity":2}]}', 2**31)
        '{"orderId":"1","lines":[{"lineNumber":2147483648,"quantity":2}]}'
    """
    if _LINE.search(text):
        return _LINE.sub(f'"lineNumber":{value}', text, count=1)
    return text.replace('"lines":[{', f'"lines":[{{"lineNumber":{value},', 1)


def html_login_page(token: str) -> bytes:
    """A 200 text/html "session expired" page that echoes the caller's bearer token."""
    return (
        "<!DOCTYPE html><html><head><title>Ingram Micro - Sign in</title></head><body>"
        f"<h1>Session expired</h1><p>The session for token {token} has ended. "
        "Please sign in again.</p></body></html>"
    ).encode()


@functools.lru_cache(maxsize=4)
def gzip_bomb(head: bytes, decoded_bytes: int) -> bytes:
    """A gzip body that inflates to ``decoded_bytes``: ``head``, spaces, then ``]}``.

    Compressed once per (head, size) and cached; about 1 MB per GB decoded.

    Example:
        >>> import gzip
        >>> body = gzip_bomb(b'{"inventory":[', 1000)
        >>> len(gzip.decompress(body)), len(body) < 100
        (1000, True)
    """
    tail = b"]}"
    pad = max(0, decoded_bytes - len(head) - len(tail))
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(head)]
    block = b" " * _CHUNK
    while pad > 0:
        n = min(pad, _CHUNK)
        out.append(comp.compress(block[:n]))
        pad -= n
    out.append(comp.compress(tail))
    out.append(comp.flush())
    return b"".join(out)


def padded_stream(head: bytes, tail: bytes, total_bytes: int) -> Iterator[bytes]:
    """``head``, spaces, ``tail``: exactly ``max(total_bytes, len(head) + len(tail))`` bytes.

    Example:
        >>> b"".join(padded_stream(b"[", b"]", 6))
        b'[    ]'
    """
    yield head
    pad = max(0, total_bytes - len(head) - len(tail))
    block = b" " * _CHUNK
    while pad > 0:
        n = min(pad, _CHUNK)
        yield block[:n]
        pad -= n
    yield tail


def endless_stream(head: bytes, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``head``, then chunks of spaces forever (the JSON never closes).

    Example:
        >>> import itertools
        >>> [len(c) for c in itertools.islice(endless_stream(b"{", 8), 3)]
        [1, 8, 8]
    """
    yield head
    block = b" " * chunk
    while True:
        yield block
