"""Endpoints as data: the wire view of :mod:`vendorkit.catalog` (kept for the HTTP client).

Every name here is the catalog's own object: an :class:`Endpoint` says where the records
live on the wire (``path``, ``list_key``), what the raw record looks like (``wire_fields``:
every field read as a string, so numbers sent as strings and ids sent as numbers parse
alike; ``child_fields`` for the nested ``lines`` array), how records are identified
(``primary_key`` on the wire) and which field drives incremental sync (``cursor_field``).
Adding an endpoint is one catalog entry (:func:`vendorkit.catalog.register`).

Example:
    >>> get_endpoint("inventory").wire_schema()["quantity"]
    String
    >>> ENDPOINT_NAMES == ("inventory", "orders", "shipments")
    True
"""

from __future__ import annotations

from vendorkit.catalog import ENDPOINT_NAMES, ENDPOINTS, Endpoint, get_endpoint

__all__ = ["ENDPOINTS", "ENDPOINT_NAMES", "Endpoint", "get_endpoint"]
