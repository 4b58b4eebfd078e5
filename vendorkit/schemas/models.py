"""The typed tables as pandera models (polars backend), and the data dictionary built from them.

Each class is the single definition of one table: column order, dtype, nullability, value
checks, key uniqueness, and (in ``description`` / ``metadata["source"]``) what the column
means and which wire field feeds it. :func:`data_dictionary` and ``docs/data-dictionary.md``
are generated from these classes, never written by hand.

Validate collected DataFrames (``Model.validate(df, lazy=True)``): on a LazyFrame pandera
checks only column names and dtypes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandera.engines.polars_engine as pe
import pandera.polars as pa
import polars as pl

from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES

__all__ = [
    "ENDPOINT_TABLES",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "Inventory",
    "InventoryHistory",
    "OrderLines",
    "Orders",
    "Rejects",
    "ShipmentLines",
    "Shipments",
    "data_dictionary",
    "data_dictionary_markdown",
    "write_data_dictionary",
]

UtcDatetime = Annotated[pe.DateTime, False, "UTC", "us"]
OrderStatus = Annotated[pe.Enum, list(ORDER_STATUSES)]
ShipmentStatus = Annotated[pe.Enum, list(SHIPMENT_STATUSES)]


def _col(
    source: str,
    meaning: str,
    *,
    nullable: bool = False,
    ge: int | float | None = None,
) -> Any:
    """A pandera Field carrying the data-dictionary text (meaning, wire source field)."""
    return pa.Field(
        nullable=nullable,
        ge=ge,
        description=meaning,
        metadata={"source": source},
    )


class _Base(pa.DataFrameModel):
    class Config:
        strict = True  # exactly these columns ...
        ordered = True  # ... in this order
        coerce = False  # dtypes are produced by vendorkit.schemas.normalise(), not guessed here


class Inventory(_Base):
    """One row per part and warehouse: the latest stock level (table ``inventory``)."""

    part_number: pl.String = _col("partNumber", "Vendor part number as Ingram Micro lists it.")
    warehouse_id: pl.String = _col(
        "warehouse", "Ingram Micro warehouse id (e.g. 20 = Fort Worth, TX), always text."
    )
    warehouse_name: pl.String = _col(
        "warehouseName", "Warehouse name and site, when sent.", nullable=True
    )
    vendor_part_number: pl.String = _col(
        "vendorPartNumber", "The vendor's own part number, when sent.", nullable=True
    )
    quantity_on_hand: pl.Int64 = _col("quantity", "Units in stock at the warehouse (>= 0).", ge=0)
    quantity_backordered: pl.Int64 = _col(
        "quantityBackordered", "Units on backorder at the warehouse (>= 0).", nullable=True, ge=0
    )
    quantity_on_order: pl.Int64 = _col(
        "quantityOnOrder",
        "Units ordered from the vendor and not yet received (>= 0).",
        nullable=True,
        ge=0,
    )
    last_updated: UtcDatetime = _col(
        "lastUpdated", "When Ingram Micro last changed this stock level (UTC).", nullable=True
    )

    class Config:
        unique = (
            "part_number",
            "warehouse_id",
        )


class InventoryHistory(_Base):
    """Every inventory snapshot the store kept, one per sync (table ``inventory_history``).

    Written by the store (``vendorkit.store``), not by :func:`vendorkit.schemas.normalise`.
    """

    sync_id: pl.String = _col("(sync)", "Id of the sync that took the snapshot.")
    snapshot_at: UtcDatetime = _col("(sync)", "When the snapshot was taken (UTC).")
    part_number: pl.String = _col("partNumber", "Vendor part number as Ingram Micro lists it.")
    warehouse_id: pl.String = _col("warehouse", "Ingram Micro warehouse id, always text.")
    warehouse_name: pl.String = _col("warehouseName", "Warehouse name, when sent.", nullable=True)
    vendor_part_number: pl.String = _col(
        "vendorPartNumber", "The vendor's own part number, when sent.", nullable=True
    )
    quantity_on_hand: pl.Int64 = _col("quantity", "Units in stock at the warehouse (>= 0).", ge=0)
    quantity_backordered: pl.Int64 = _col(
        "quantityBackordered", "Units on backorder (>= 0).", nullable=True, ge=0
    )
    quantity_on_order: pl.Int64 = _col(
        "quantityOnOrder", "Units on order from the vendor (>= 0).", nullable=True, ge=0
    )
    last_updated: UtcDatetime = _col(
        "lastUpdated", "When Ingram Micro last changed this stock level (UTC).", nullable=True
    )

    class Config:
        unique = (
            "sync_id",
            "part_number",
            "warehouse_id",
        )


class Orders(_Base):
    """One row per reseller order placed for the vendor's products (table ``orders``)."""

    order_id: pl.String = _col("orderId", "Ingram Micro order id (key).")
    reseller_id: pl.String = _col("resellerId", "Id of the reseller who placed the order.")
    reseller_name: pl.String = _col("resellerName", "Reseller name, when sent.", nullable=True)
    status: OrderStatus = _col(
        "status",
        "Canonical order status (one of ORDER_STATUSES; UNKNOWN for an unrecognised spelling).",
    )
    status_raw: pl.String = _col("status", "The status exactly as the API sent it.")
    order_date: UtcDatetime = _col("orderDate", "When the order was placed (UTC).", nullable=True)
    updated_at: UtcDatetime = _col(
        "updatedAt",
        "When the order last changed (UTC); the incremental-sync cursor.",
        nullable=True,
    )
    currency_code: pl.String = _col(
        "currencyCode", "ISO 4217 currency of the line prices, when sent.", nullable=True
    )

    class Config:
        unique = ("order_id",)


class OrderLines(_Base):
    """One row per order line (table ``order_lines``)."""

    order_id: pl.String = _col("orderId (parent)", "Order the line belongs to.")
    line_number: pl.Int32 = pa.Field(
        ge=1,
        description="Line number within the order (1-based position in lines[] when not sent).",
        metadata={"source": "lines[].lineNumber"},
    )
    part_number: pl.String = _col("lines[].partNumber", "Part ordered.")
    quantity_ordered: pl.Int64 = _col("lines[].quantity", "Units ordered (>= 0).", ge=0)
    quantity_confirmed: pl.Int64 = _col(
        "lines[].quantityConfirmed", "Units Ingram Micro confirmed (>= 0).", nullable=True, ge=0
    )
    quantity_backordered: pl.Int64 = _col(
        "lines[].quantityBackordered",
        "Units on backorder for the line (>= 0).",
        nullable=True,
        ge=0,
    )
    unit_price: pl.Float64 = _col(
        "lines[].unitPrice", "Price per unit in the order's currency (>= 0).", nullable=True, ge=0
    )
    warehouse_id: pl.String = _col(
        "lines[].warehouse", "Warehouse the line ships from, when sent.", nullable=True
    )

    class Config:
        unique = (
            "order_id",
            "line_number",
        )


class Shipments(_Base):
    """One row per shipment (table ``shipments``)."""

    shipment_id: pl.String = _col("id", "Shipment id (key).")
    order_id: pl.String = _col("orderId", "Order the shipment fulfils.")
    carrier: pl.String = _col("carrier", "Carrier name or code, when sent.", nullable=True)
    tracking_number: pl.String = _col(
        "trackingNumber", "Carrier tracking number, when sent.", nullable=True
    )
    status: ShipmentStatus = _col(
        "status",
        "Canonical shipment status (one of SHIPMENT_STATUSES; UNKNOWN for an unrecognised "
        "spelling).",
    )
    status_raw: pl.String = _col("status", "The status exactly as the API sent it.")
    warehouse_id: pl.String = _col("warehouse", "Ship-from warehouse id, when sent.", nullable=True)
    ship_date: UtcDatetime = _col("shipDate", "When the shipment left (UTC).", nullable=True)
    estimated_delivery_date: UtcDatetime = _col(
        "estimatedDeliveryDate", "Carrier's estimated delivery (UTC).", nullable=True
    )
    delivered_date: UtcDatetime = _col(
        "deliveredDate", "When the shipment was delivered (UTC).", nullable=True
    )
    updated_at: UtcDatetime = _col(
        "updatedAt",
        "When the shipment last changed (UTC); the incremental-sync cursor.",
        nullable=True,
    )

    class Config:
        unique = ("shipment_id",)


class ShipmentLines(_Base):
    """One row per shipped line (table ``shipment_lines``)."""

    shipment_id: pl.String = _col("id (parent)", "Shipment the line belongs to.")
    position: pl.Int32 = pa.Field(
        ge=1,
        description="1-based position of the line in the shipment's lines[].",
        metadata={"source": "(position in lines[])"},
    )
    order_id: pl.String = _col("orderId (parent)", "Order the shipment fulfils.")
    line_number: pl.Int32 = pa.Field(
        ge=1,
        nullable=True,
        description="The order line shipped (order_lines.line_number), when sent.",
        metadata={"source": "lines[].lineNumber"},
    )
    part_number: pl.String = _col("lines[].partNumber", "Part shipped.")
    quantity: pl.Int64 = _col("lines[].quantity", "Units shipped (>= 0).", ge=0)

    class Config:
        unique = (
            "shipment_id",
            "position",
        )


class Rejects(_Base):
    """Quarantined records: one row per (record, failing field) (table ``rejects``)."""

    endpoint: pl.String = _col("(sync)", "Endpoint the record came from.")
    sync_id: pl.String = _col("(sync)", "Id of the sync that fetched the record.")
    page_number: pl.Int32 = _col("(page)", "1-based page the record was served on.")
    record_index: pl.Int32 = _col("(page)", "0-based position of the record in its page.")
    record_key: pl.String = _col(
        "primary key",
        "The record's key as sent, parts joined by '|' (null when every key field is missing).",
        nullable=True,
    )
    field: pl.String = _col(
        "(validation)", "Wire field that failed, e.g. quantity or lines[2].unitPrice."
    )
    reason: pl.String = _col("(validation)", "What is wrong with the value.")
    raw_record: pl.String = _col("(page)", "The record's JSON as served.")


TABLE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "inventory": Inventory,
    "inventory_history": InventoryHistory,
    "orders": Orders,
    "order_lines": OrderLines,
    "shipments": Shipments,
    "shipment_lines": ShipmentLines,
    "rejects": Rejects,
}
"""Table name -> pandera model. ``normalise`` produces the tables in :data:`ENDPOINT_TABLES`
plus ``rejects``; the store writes ``inventory_history``."""

ENDPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "inventory": ("inventory",),
    "orders": ("orders", "order_lines"),
    "shipments": ("shipments", "shipment_lines"),
}
"""Endpoint -> the typed tables one batch of it fills (parent first)."""

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    name: tuple(model.to_schema().unique or ())
    for name, model in TABLE_SCHEMAS.items()
    if name != "rejects"
}
"""Table name -> its key columns (unique and non-null)."""


def data_dictionary() -> pl.DataFrame:
    """Every column of every typed table: its dtype, nullability, wire source and meaning.

    Generated from :data:`TABLE_SCHEMAS`, so it cannot drift from the validation.

    Returns:
        A frame with columns ``table, column, dtype, nullable, source_field, meaning``.

    Example:
        >>> dd = data_dictionary()
        >>> dd.filter(pl.col("column") == "quantity_on_hand").row(0)[:5]
        ('inventory', 'quantity_on_hand', 'Int64', False, 'quantity')
    """
    rows = []
    for table, model in TABLE_SCHEMAS.items():
        for name, column in model.to_schema().columns.items():
            rows.append(
                {
                    "table": table,
                    "column": name,
                    "dtype": _dtype_text(column.dtype.type),
                    "nullable": bool(column.nullable),
                    "source_field": (column.metadata or {}).get("source", ""),
                    "meaning": column.description or "",
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "table": pl.String,
            "column": pl.String,
            "dtype": pl.String,
            "nullable": pl.Boolean,
            "source_field": pl.String,
            "meaning": pl.String,
        },
    )


def _dtype_text(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Enum):
        return "Enum(" + ", ".join(dtype.categories.to_list()) + ")"
    if isinstance(dtype, pl.Datetime):
        return f"Datetime({dtype.time_unit}, {dtype.time_zone})"
    return str(dtype)


def data_dictionary_markdown() -> str:
    """The data dictionary as Markdown (the text of ``docs/data-dictionary.md``).

    Example:
        >>> data_dictionary_markdown().splitlines()[0]
        '# Data dictionary'
    """
    dd = data_dictionary()
    out = [
        "# Data dictionary",
        "",
        "<!-- Generated from the pandera models in vendorkit/schemas/models.py by "
        "`python -m vendorkit.schemas`; do not edit by hand. -->",
        "",
        "Every typed table vendorkit produces, column by column. Timestamps are UTC;",
        "quantities are whole units; ids are text. *Nullable* columns come from fields the",
        "seed spec does not promise, so seed-only data leaves them null. *Source* is the",
        "wire field (camelCase, as the Vendor API sends it); `lines[]` means each element of",
        "the record's `lines` array; names in parentheses are not read from a record.",
        "",
        "Statuses: `status` is the canonical enum, `status_raw` the spelling as sent",
        "(see `vendorkit/statuses.py` for the mapping rule). Rejected records are in",
        "`rejects`, one row per failing field.",
        "",
    ]
    for table, model in TABLE_SCHEMAS.items():
        doc = (model.__doc__ or "").strip().splitlines()[0].replace("``", "`")
        keys = ", ".join(TABLE_KEYS[table]) if table in TABLE_KEYS else "(none)"
        out += [f"## {table}", "", doc, "", f"Key: {keys}", ""]
        out += [
            "| column | dtype | nullable | source | meaning |",
            "|---|---|---|---|---|",
        ]
        for row in dd.filter(pl.col("table") == table).iter_rows(named=True):
            cells = [
                row["column"],
                row["dtype"],
                "yes" if row["nullable"] else "no",
                row["source_field"],
                row["meaning"],
            ]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    out += _RULES.strip().splitlines()
    out.append("")
    return "\n".join(out)


_RULES = """
## How values are coerced or quarantined

`vendorkit.schemas.normalise()` reads every field as text and applies these rules.

Coerced (loaded):

- numbers sent as strings or numbers (`"12"`, `12`) and whole numbers in another form
  (`"12.0"`, `"1e2"`) -> Int64; prices -> Float64;
- ids sent as a number or a string (`20`, `"20"`) -> text; surrounding spaces are trimmed;
- timestamps with `Z`, an offset (`-07:00`, `+0530`), fractional seconds, a space instead of
  `T`, no zone (read as UTC) or a date only (midnight UTC) -> UTC;
- status spellings (`Shipped`, `IM::SHIPPED`, `im::order_shipped`, `On Hold`, `Canceled`,
  ...) -> the canonical status; an unrecognised spelling becomes `UNKNOWN` and is counted
  in `unknown_status`, never rejected;
- an optional field that is absent, null or empty -> null; an order line without
  `lineNumber` gets its 1-based position.

The sync report's `coerced` counts loaded records where the text itself needed repair
(a timestamp not in UTC, without a zone or date only; a non-canonical status spelling; a
whole number written `12.0`; padding). A number sent as a string and an id sent as a number
read alike once the page is parsed as text, so those two quirks are fixed but not counted.

Quarantined (the whole record goes to `rejects`, one row per failing field, with the
record's JSON as served; an order or shipment with one bad line is rejected whole):

- a missing key or required field: `partNumber`, `warehouse`, `quantity` (inventory);
  `orderId`, `resellerId`, `status`, `lines[i].partNumber`, `lines[i].quantity` (orders);
  `id`, `orderId`, `status`, `lines[i].partNumber`, `lines[i].quantity` (shipments);
- a value that is present but unreadable: a quantity that is not a whole number, a price
  that is not a finite number, a timestamp that is not ISO 8601, an array or object sent
  where a single value belongs;
- a value the pandera model refuses: negative quantities or prices, a line number below 1,
  the same line number twice in one order.

Duplicates of a key within one sync are not rejected: the latest `lastUpdated` /
`updatedAt` wins (ties: the later page, then the later position) and the others are
counted in `deduplicated`. Every fetched record is loaded, rejected or deduplicated.
"""


def write_data_dictionary(path: str | Path = "docs/data-dictionary.md") -> Path:
    """Write :func:`data_dictionary_markdown` to ``path`` and return the path.

    Example:
        >>> import tempfile, pathlib
        >>> p = write_data_dictionary(pathlib.Path(tempfile.mkdtemp()) / "dd.md")
        >>> p.read_text().startswith("# Data dictionary")
        True
    """
    target = Path(path)
    target.write_text(data_dictionary_markdown(), encoding="utf-8")
    return target
