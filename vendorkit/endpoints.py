"""Endpoints as data: one registry entry per Vendor API endpoint.

Adding a fourth endpoint is one more :class:`Endpoint` in :data:`ENDPOINTS` (plus its
schema in :mod:`vendorkit.schemas`), not a copied loop.

Each entry says where the records live on the wire (``path``, ``list_key``), what the raw
record looks like (``wire_fields``: every field read as a string, so numbers sent as strings
and ids sent as numbers parse alike; ``child_fields`` for the nested ``lines`` array), how
records are identified (``primary_key`` on the wire) and which field drives incremental sync
(``cursor_field``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["ENDPOINTS", "ENDPOINT_NAMES", "Endpoint", "get_endpoint"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Vendor API list endpoint.

    Attributes:
        name: short name used everywhere (CLI, tables, reports).
        path: path below the base URL, e.g. ``/inventory``.
        list_key: the key of the records array in the response body.
        wire_fields: top-level record fields (camelCase, as sent), all read as strings.
        child_key: name of the nested array (``lines``) or ``None``.
        child_fields: fields of one nested element, all read as strings.
        primary_key: wire fields that identify a record.
        cursor_field: wire field compared with ``updatedSince`` for incremental sync.
        seed_fields: fields promised by the seed spec (everything else is optional).
    """

    name: str
    path: str
    list_key: str
    wire_fields: tuple[str, ...]
    primary_key: tuple[str, ...]
    cursor_field: str
    seed_fields: tuple[str, ...]
    child_key: str | None = None
    child_fields: tuple[str, ...] = ()

    def wire_schema(self) -> dict[str, pl.DataType]:
        """Polars schema used to parse a page's records array (every leaf a string).

        Example:
            >>> get_endpoint("inventory").wire_schema()["quantity"]
            String
        """
        schema: dict[str, pl.DataType] = {f: pl.String() for f in self.wire_fields}
        if self.child_key:
            schema[self.child_key] = pl.List(pl.Struct({f: pl.String() for f in self.child_fields}))
        return schema


ENDPOINTS: dict[str, Endpoint] = {
    "inventory": Endpoint(
        name="inventory",
        path="/inventory",
        list_key="inventory",
        wire_fields=(
            "partNumber",
            "warehouse",
            "warehouseName",
            "vendorPartNumber",
            "quantity",
            "quantityBackordered",
            "quantityOnOrder",
            "lastUpdated",
        ),
        primary_key=("partNumber", "warehouse"),
        cursor_field="lastUpdated",
        seed_fields=("partNumber", "warehouse", "quantity", "lastUpdated"),
    ),
    "orders": Endpoint(
        name="orders",
        path="/orders",
        list_key="orders",
        wire_fields=(
            "orderId",
            "resellerId",
            "resellerName",
            "status",
            "orderDate",
            "updatedAt",
            "currencyCode",
        ),
        primary_key=("orderId",),
        cursor_field="updatedAt",
        seed_fields=("orderId", "resellerId", "status", "lines"),
        child_key="lines",
        child_fields=(
            "lineNumber",
            "partNumber",
            "quantity",
            "quantityConfirmed",
            "quantityBackordered",
            "unitPrice",
            "warehouse",
        ),
    ),
    "shipments": Endpoint(
        name="shipments",
        path="/shipments",
        list_key="shipments",
        wire_fields=(
            "id",
            "orderId",
            "carrier",
            "trackingNumber",
            "status",
            "warehouse",
            "shipDate",
            "estimatedDeliveryDate",
            "deliveredDate",
            "updatedAt",
        ),
        primary_key=("id",),
        cursor_field="updatedAt",
        seed_fields=("id", "orderId", "carrier", "trackingNumber", "status"),
        child_key="lines",
        child_fields=("lineNumber", "partNumber", "quantity"),
    ),
}

ENDPOINT_NAMES: tuple[str, ...] = tuple(ENDPOINTS)


def get_endpoint(name: str) -> Endpoint:
    """Return the registry entry for ``name`` or raise a :class:`ConfigError`.

    Example:
        >>> get_endpoint("orders").list_key
        'orders'
    """
    from vendorkit.errors import ConfigError

    try:
        return ENDPOINTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown endpoint {name!r}; choose one of {', '.join(ENDPOINT_NAMES)}"
        ) from None
