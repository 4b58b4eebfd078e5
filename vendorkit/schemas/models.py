"""The typed tables as pandera models (polars backend), generated from the endpoint catalog.

Each model is built from one :class:`vendorkit.catalog.Table`: column order, dtype,
nullability, value checks (``ge``), key uniqueness, and (in ``description`` /
``metadata["source"]``) what the column means and which wire field feeds it. A table added
to the catalog gets its model here with no other edit.

Validate collected DataFrames (``Model.validate(df, lazy=True)``): on a LazyFrame pandera
checks only column names and dtypes.

Example:
    >>> Inventory.to_schema().unique
    ('part_number', 'warehouse_id')
    >>> TABLE_SCHEMAS["orders"] is Orders
    True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any

import pandera.engines.polars_engine as pe
import pandera.polars as pa
import polars as pl

from vendorkit import catalog
from vendorkit.catalog import Table
from vendorkit.schemas.dictionary import (
    data_dictionary,
    data_dictionary_markdown,
    source_field,
    write_data_dictionary,
)

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
    "model_for",
    "write_data_dictionary",
]


class _Base(pa.DataFrameModel):
    class Config:
        strict = True  # exactly these columns ...
        ordered = True  # ... in this order
        coerce = False  # dtypes are produced by vendorkit.schemas.normalise(), not guessed here


def _annotation(dtype: pl.DataType) -> Any:
    """The pandera annotation of a polars dtype (UTC timestamps and enums keep parameters)."""
    if isinstance(dtype, pl.Datetime):
        return Annotated[pe.DateTime, False, dtype.time_zone, dtype.time_unit]
    if isinstance(dtype, pl.Enum):
        return Annotated[pe.Enum, dtype.categories.to_list()]
    return type(dtype)


def _class_name(table: str) -> str:
    return "".join(part.capitalize() for part in table.split("_"))


@functools.cache
def model_for(table: Table) -> type[pa.DataFrameModel]:
    """The pandera model of a catalog table (built once per table).

    Example:
        >>> model_for(catalog.get_table("order_lines")).__name__
        'OrderLines'
    """
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": _class_name(table.name),
        "__doc__": table.description,
        "__annotations__": {c.name: _annotation(c.dtype) for c in table.columns},
    }
    for col in table.columns:
        namespace[col.name] = pa.Field(
            nullable=col.is_nullable,
            ge=col.ge,
            description=col.meaning,
            metadata={"source": source_field(table.name, col)},
        )
    if table.key:
        namespace["Config"] = type("Config", (), {"unique": tuple(table.key)})
    return type(_class_name(table.name), (_Base,), namespace)


TABLE_SCHEMAS: Mapping[str, type[pa.DataFrameModel]] = catalog.LiveView(
    lambda: {t.name: model_for(t) for t in catalog.validated_tables()}, "pandera models"
)
"""Table name -> pandera model: every endpoint's record / history / child tables, then
``rejects``. ``normalise`` produces the tables in :data:`ENDPOINT_TABLES` plus ``rejects``;
the store writes the snapshot histories (``inventory_history``). Live: endpoints added with
:func:`vendorkit.catalog.register` appear here."""

ENDPOINT_TABLES: Mapping[str, tuple[str, ...]] = catalog.LiveView(
    lambda: {name: ep.tables for name, ep in catalog.ENDPOINTS.items()}, "endpoint tables"
)
"""Endpoint -> the typed tables one batch of it fills (parent first)."""

TABLE_KEYS: Mapping[str, tuple[str, ...]] = catalog.LiveView(
    lambda: {t.name: t.key for t in catalog.validated_tables() if t.key}, "table keys"
)
"""Table name -> its key columns (unique and non-null)."""

Inventory = TABLE_SCHEMAS["inventory"]
InventoryHistory = TABLE_SCHEMAS["inventory_history"]
Orders = TABLE_SCHEMAS["orders"]
OrderLines = TABLE_SCHEMAS["order_lines"]
Shipments = TABLE_SCHEMAS["shipments"]
ShipmentLines = TABLE_SCHEMAS["shipment_lines"]
Rejects = TABLE_SCHEMAS["rejects"]
