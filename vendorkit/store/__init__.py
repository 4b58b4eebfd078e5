"""The DuckDB store: typed tables (from the endpoint catalog), raw page archive, sync log,
cursors, locking. See :mod:`vendorkit.store.core` for the tables and the rules.

Example:
    >>> with Store(":memory:") as store:
    ...     store.read_table("inventory").columns[:2]
    ['part_number', 'warehouse_id']
"""

from vendorkit.store.connection import WRITE_MEMORY_LIMIT, StoreConnection
from vendorkit.store.core import CursorState, Store
from vendorkit.store.ddl import (
    ENDPOINT_TABLES,
    SCHEMA_VERSION,
    TABLE_KEYS,
    TABLE_SCHEMAS,
    _q,
    to_typed,
    typed_empty,
)
from vendorkit.store.staging import Checkpoint

__all__ = [
    "ENDPOINT_TABLES",
    "SCHEMA_VERSION",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "WRITE_MEMORY_LIMIT",
    "Checkpoint",
    "CursorState",
    "Store",
    "StoreConnection",
    "_q",
    "to_typed",
    "typed_empty",
]
