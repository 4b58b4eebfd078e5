"""The Vendor API client's public names, re-exported from :mod:`vendorkit.http`.

The client lives in the :mod:`vendorkit.http` package, split by idea (pages, auth, pacing,
retry, body, paging, client); this module keeps ``from vendorkit.client import ...`` working.

Example:
    >>> from vendorkit.client import VendorClient, open_client, Page
    >>> VendorClient.__module__
    'vendorkit.http.client'
"""

from __future__ import annotations

from vendorkit.http.client import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    VendorClient,
    default_sender_id,
    new_correlation_id,
    open_client,
)
from vendorkit.http.pages import FetchResult, FetchStats, Page, PageSource, ProgressEvent

__all__ = [
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "FetchResult",
    "FetchStats",
    "Page",
    "PageSource",
    "ProgressEvent",
    "VendorClient",
    "default_sender_id",
    "new_correlation_id",
    "open_client",
]
