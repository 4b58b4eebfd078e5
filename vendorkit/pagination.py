"""Page-body parsing, re-exported: it lives in :mod:`vendorkit.http.body` (and the stop
rules in :mod:`vendorkit.http.paging`); this module keeps old imports working.

Example:
    >>> from vendorkit.pagination import parse_page_body
    >>> parse_page_body.__module__
    'vendorkit.http.body'
"""

from __future__ import annotations

from vendorkit.http.body import (
    BodyNotJSON,
    BodyTruncated,
    MissingListKey,
    PageBody,
    parse_page_body,
)
from vendorkit.http.paging import page_count

__all__ = [
    "BodyNotJSON",
    "BodyTruncated",
    "MissingListKey",
    "PageBody",
    "page_count",
    "parse_page_body",
]
