"""Canonical statuses, and the one rule that maps every spelling the API sends onto them.

Ingram Micro spells one status many ways across endpoints and versions (``SHIPPED``,
``Shipped``, ``IM::SHIPPED``, ``im::order_shipped``). The rule, applied in this order:

1. trim, upper-case;
2. strip an ``IM::`` prefix, then an ``ORDER_`` prefix (event names like ``im::order_voided``);
3. treat spaces, hyphens and underscores alike (canonical names use ``_``);
4. map synonyms: ``CANCELED``/``VOIDED`` → ``CANCELLED``, ``HOLD`` → ``ON_HOLD``,
   ``IN_PROGRESS`` → ``PROCESSING``, ``BACK_ORDERED`` → ``BACKORDERED``;
5. anything not in the entity's enum becomes ``UNKNOWN`` (counted in the sync report, never
   rejected). The raw spelling is always kept beside the canonical one (``status_raw``).
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "ORDER_STATUSES",
    "SHIPMENT_STATUSES",
    "canonical_status",
    "canonical_status_expr",
]

ORDER_STATUSES: tuple[str, ...] = (
    "OPEN",
    "PROCESSING",
    "ON_HOLD",
    "BACKORDERED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "DELIVERED",
    "CLOSED",
    "CANCELLED",
    "UNKNOWN",
)

SHIPMENT_STATUSES: tuple[str, ...] = (
    "PROCESSING",
    "SHIPPED",
    "IN_TRANSIT",
    "DELIVERED",
    "CANCELLED",
    "UNKNOWN",
)

_SYNONYMS = {
    "CANCELED": "CANCELLED",
    "VOIDED": "CANCELLED",
    "HOLD": "ON_HOLD",
    "IN_PROGRESS": "PROCESSING",
    "BACK_ORDERED": "BACKORDERED",
}


def canonical_status_expr(column: str, allowed: tuple[str, ...]) -> pl.Expr:
    """Vectorised status mapping: a polars expression giving the canonical status.

    Nulls stay null (a missing status is a validation matter, not ``UNKNOWN``).

    Example:
        >>> df = pl.DataFrame({"s": ["im::order_voided", "On Hold", "weird", None]})
        >>> df.select(canonical_status_expr("s", ORDER_STATUSES))["s"].to_list()
        ['CANCELLED', 'ON_HOLD', 'UNKNOWN', None]
    """
    cleaned = (
        pl.col(column)
        .str.strip_chars()
        .str.to_uppercase()
        .str.replace(r"^IM::", "")
        .str.replace(r"^ORDER_", "")
        .str.replace_all(r"[\s\-_]+", "_")
    )
    mapped = cleaned.replace(_SYNONYMS)
    return (
        pl.when(pl.col(column).is_null())
        .then(None)
        .when(mapped.is_in(list(allowed)))
        .then(mapped)
        .otherwise(pl.lit("UNKNOWN"))
        .alias(column)
    )


def canonical_status(raw: str | None, allowed: tuple[str, ...] = ORDER_STATUSES) -> str | None:
    """Map one raw status spelling onto the canonical enum (scalar form of the rule).

    Example:
        >>> canonical_status("IM::HOLD"), canonical_status("In Progress")
        ('ON_HOLD', 'PROCESSING')
        >>> canonical_status("Shipped", SHIPMENT_STATUSES)
        'SHIPPED'
    """
    if raw is None:
        return None
    df = pl.DataFrame({"s": [raw]}, schema={"s": pl.String})
    return df.select(canonical_status_expr("s", allowed)).item()
