"""Reading one page body: records as a polars frame, envelope fields, and the stop rules.

The records array is cut out of the body bytes and parsed by polars with the endpoint's
explicit wire schema (every leaf a string, so numbers sent as strings and ids sent as
numbers parse alike); the small remainder (the envelope) goes through ``json``. Measured on
this machine (1,000-record inventory pages): cutting 0.65 ms/page (~1.5M rows/s) vs
parsing the whole body with a ``{list_key: List(Struct)}`` schema and exploding it
1.6 ms/page, and at 100 records 0.07 ms vs 0.19 ms. If the cut cannot be verified (odd
layouts), the whole body is parsed with polars instead: slower, same result.

Stop rules (see :class:`PageBody`): 204, ``recordsFound`` reached, no ``nextPage``, a short
page; a body with no envelope at all (seed-shaped ``{"inventory": [...]}``) is one page.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from vendorkit.endpoints import Endpoint

__all__ = [
    "BodyNotJSON",
    "BodyTruncated",
    "MissingListKey",
    "PageBody",
    "page_count",
    "parse_page_body",
]

_ENVELOPE_KEYS = ("recordsFound", "pageSize", "pageNumber", "nextPage", "previousPage")
_KEY_GAP = re.compile(rb"\s*:\s*")


class BodyTruncated(ValueError):
    """The body starts like JSON but does not parse: a cut-off transfer, worth a retry."""


class BodyNotJSON(ValueError):
    """The body is not JSON at all (an HTML error page, plain text): a contract breach."""


class MissingListKey(ValueError):
    """The JSON body has no records array under the endpoint's list key."""


@dataclass(frozen=True, slots=True)
class PageBody:
    """What one page body says.

    Attributes:
        records: the records, exactly the columns of ``Endpoint.wire_schema()``.
        records_found: ``recordsFound`` as an int (strings accepted), if sent.
        page_size: the envelope's ``pageSize``, if sent.
        page_number: the envelope's ``pageNumber``, if sent.
        next_page: the envelope's ``nextPage``, if sent and not null/empty.
        has_envelope: False for a seed-shaped body (only the list key).
    """

    records: pl.DataFrame
    records_found: int | None
    page_size: int | None
    page_number: int | None
    next_page: str | None
    has_envelope: bool


def _as_int(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"envelope field {field!r} is not a number: {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"envelope field {field!r} is not a whole number: {value!r}") from None
        return int(number)


def _looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip()
    return head[:1] in (b"{", b"[")


def _cut(body: bytes, list_key: str) -> tuple[int, int] | None:
    """Start/end offsets of the records array, or None if the layout is not the usual one."""
    key = b'"' + list_key.encode() + b'"'
    at = body.find(key)
    if at < 0:
        return None
    gap = _KEY_GAP.match(body, at + len(key))
    if gap is None:
        return None
    start = gap.end()
    if body[start : start + 1] != b"[":
        return None
    end = body.rfind(b"]")
    if end < start:
        return None
    return start, end + 1


def _parse_fast(body: bytes, endpoint: Endpoint) -> PageBody | None:
    span = _cut(body, endpoint.list_key)
    if span is None:
        return None
    start, end = span
    try:
        envelope = json.loads(body[:start] + b"[]" + body[end:])
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get(endpoint.list_key) != []:
        return None
    try:
        records = pl.read_json(body[start:end], schema=endpoint.wire_schema())
    except pl.exceptions.PolarsError:
        return None  # the cut was not exactly the array, or the array is broken: slow path
    return _page_body(records, envelope)


def _parse_slow(body: bytes, endpoint: Endpoint) -> PageBody:
    key = endpoint.list_key
    schema: dict[str, pl.DataType] = {k: pl.String() for k in _ENVELOPE_KEYS}
    schema[key] = pl.List(pl.Struct(endpoint.wire_schema()))
    try:
        frame = pl.read_json(body, schema=schema)
    except pl.exceptions.PolarsError as exc:
        _complete_json(body)
        raise MissingListKey(key) from exc  # valid JSON, but not an object with the list
    if frame.height != 1 or frame[key][0] is None:
        _complete_json(body)
        raise MissingListKey(key)
    records = frame.select(pl.col(key).explode()).unnest(key)
    if records.height == 1 and frame[key][0].len() == 0:
        records = records.clear()
    envelope = {k: frame[k][0] for k in _ENVELOPE_KEYS}
    envelope = {k: v for k, v in envelope.items() if v is not None}
    # keys sent as null cannot be told from absent here; only the presence of some matters
    return _page_body(records, envelope)


def _complete_json(body: bytes) -> None:
    """Raise BodyTruncated unless ``body`` is complete JSON (only used on error paths)."""
    try:
        json.loads(body)
    except ValueError as exc:
        raise BodyTruncated(str(exc)) from exc


def _page_body(records: pl.DataFrame, envelope: dict[str, Any]) -> PageBody:
    next_page = envelope.get("nextPage")
    return PageBody(
        records=records,
        records_found=_as_int(envelope.get("recordsFound"), "recordsFound"),
        page_size=_as_int(envelope.get("pageSize"), "pageSize"),
        page_number=_as_int(envelope.get("pageNumber"), "pageNumber"),
        next_page=str(next_page) if next_page else None,
        has_envelope=any(k in envelope for k in _ENVELOPE_KEYS),
    )


def parse_page_body(body: bytes, endpoint: Endpoint) -> PageBody:
    """Parse one 200 body of ``endpoint``.

    Raises:
        BodyTruncated: the body starts like JSON but is cut off (retry the request).
        BodyNotJSON: the body is not JSON (HTML error page, ...).
        MissingListKey: valid JSON without the records array.
        ValueError: an envelope number that is not a number.

    Example:
        >>> from vendorkit.endpoints import get_endpoint
        >>> body = b'{"recordsFound": "2", "pageSize": 100, "inventory": [{"partNumber": "A", "quantity": 5}]}'
        >>> page = parse_page_body(body, get_endpoint("inventory"))
        >>> page.records_found, page.records["quantity"].to_list()
        (2, ['5'])
    """
    if not _looks_like_json(body):
        raise BodyNotJSON("body does not start with '{' or '['")
    fast = _parse_fast(body, endpoint)
    if fast is not None:
        return fast
    return _parse_slow(body, endpoint)


def page_count(records_found: int, page_size: int) -> int:
    """How many pages hold ``records_found`` records at ``page_size`` per page.

    Example:
        >>> page_count(2500, 100), page_count(0, 100), page_count(101, 100)
        (25, 0, 2)
    """
    if page_size <= 0:
        raise ValueError("page_size must be positive")
    return math.ceil(records_found / page_size)
