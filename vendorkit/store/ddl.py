"""The store's tables, derived from the endpoint catalog: identifiers, DuckDB types, DDL.

Every typed table of :mod:`vendorkit.catalog` becomes a DuckDB table with the same columns
(statuses as VARCHAR), except the record table of a *snapshot* endpoint, which is a view
over its ``<name>_history`` (the latest snapshot). Beside them: the per-snapshot-endpoint
``<name>_snapshots`` list, ``rejects``, and the bookkeeping tables (``raw_pages``,
``cursors``, ``vendorkit_meta``).

SQL is built only from identifiers that pass :func:`_q`; values are bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl

from vendorkit import catalog
from vendorkit.errors import StoreError

__all__ = [
    "ENDPOINT_TABLES",
    "SCHEMA_VERSION",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "create_schema",
    "to_typed",
    "typed_empty",
]

SCHEMA_VERSION = "1"

#: The typed tables (ARCHITECTURE.md), column order and polars dtypes as ``load_*()`` returns.
TABLE_SCHEMAS: Mapping[str, dict[str, pl.DataType]] = catalog.LiveView(
    lambda: {n: t.schema() for n, t in catalog.TABLES.items() if t is not catalog.REJECTS},
    "store tables",
)
#: Keys of the typed tables (unique per table; the status histories are keyed by time).
TABLE_KEYS: Mapping[str, tuple[str, ...]] = catalog.LiveView(
    lambda: {n: t.key for n, t in catalog.TABLES.items() if t.key}, "store keys"
)
#: Which typed tables each endpoint feeds (first = the record table).
ENDPOINT_TABLES: Mapping[str, tuple[str, ...]] = catalog.LiveView(
    lambda: {n: ep.tables for n, ep in catalog.ENDPOINTS.items()}, "endpoint tables"
)

#: ``rejects`` starts with these (the store stamps them), then the catalog's reject columns.
REJECT_BASE_COLUMNS = {"endpoint": "VARCHAR", "sync_id": "VARCHAR", "rejected_at": "TIMESTAMPTZ"}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed query, fetched completely.

    DuckDB 2 keeps a result "unfinished" after ``fetchone()``, which blocks ``register``
    and ``sql`` on the same connection, so rows are always fetched with ``fetchall()``.
    """
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None


def _q(name: str) -> str:
    """Quote a whitelisted identifier (refuses anything that is not snake_case)."""
    if not _IDENT.match(name):
        raise StoreError(f"refusing to use {name!r} as an SQL identifier")
    return f'"{name}"'


def _duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.String | pl.Enum | pl.Categorical):
        return "VARCHAR"
    mapping = {
        pl.Int64: "BIGINT",
        pl.Int32: "INTEGER",
        pl.Int16: "SMALLINT",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
    }
    for cls, name in mapping.items():
        if isinstance(dtype, cls):
            return name
    raise StoreError(f"no DuckDB type for polars dtype {dtype}")  # pragma: no cover


def _ddl(table: str) -> str:
    cols = ", ".join(f"{_q(c)} {_duck_type(t)}" for c, t in TABLE_SCHEMAS[table].items())
    return f"CREATE TABLE IF NOT EXISTS {_q(table)} ({cols})"


def _snapshots_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(table)} (sync_id VARCHAR, seq BIGINT, "
        "snapshot_at TIMESTAMPTZ, full_refresh BOOLEAN, row_count BIGINT)"
    )


def _snapshot_view_ddl(endpoint: catalog.Endpoint) -> str:
    """``<name>`` = the latest snapshot in ``<name>_history``."""
    hist = endpoint.history_table
    snaps = endpoint.snapshots_table
    assert hist is not None and snaps is not None
    cols = ", ".join(_q(c) for c in endpoint.table.names)
    return (
        f"CREATE OR REPLACE VIEW {_q(endpoint.table.name)} AS SELECT {cols} FROM {_q(hist.name)} "
        f"WHERE sync_id = (SELECT sync_id FROM {_q(snaps)} ORDER BY seq DESC LIMIT 1)"
    )


_STATIC_DDL = (
    """CREATE TABLE IF NOT EXISTS raw_pages (
        sync_id VARCHAR, endpoint VARCHAR, pass_number SMALLINT, page_number INTEGER,
        fetched_at TIMESTAMPTZ, status_code SMALLINT, correlation_id VARCHAR,
        records_found BIGINT, server_date TIMESTAMPTZ, encoding VARCHAR, body_size BIGINT,
        body BLOB)""",
    """CREATE TABLE IF NOT EXISTS cursors (
        endpoint VARCHAR, updated_since TIMESTAMPTZ, last_sync_id VARCHAR,
        last_full_sync_at TIMESTAMPTZ)""",
    "CREATE TABLE IF NOT EXISTS vendorkit_meta (key VARCHAR, value VARCHAR)",
)


def snapshot_views() -> dict[str, catalog.Endpoint]:
    """Record-table name -> endpoint, for the snapshot endpoints (their record table is a view)."""
    return {ep.table.name: ep for ep in catalog.ENDPOINTS.values() if ep.write == "snapshot"}


def _add_missing_columns(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Columns the catalog gained since a store file was created (nullable, so old rows read
    as null): a store written by an older vendorkit opens and keeps its data."""
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ).fetchall():
        have.setdefault(table, set()).add(column)
    for table in tables:
        for column, dtype in TABLE_SCHEMAS[table].items():
            if table in have and column not in have[table]:
                con.execute(
                    f"ALTER TABLE {_q(table)} ADD COLUMN IF NOT EXISTS {_q(column)} "
                    f"{_duck_type(dtype)}"
                )


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and view the catalog implies (idempotent: ``IF NOT EXISTS``)."""
    for statement in _STATIC_DDL:
        con.execute(statement)
    views = snapshot_views()
    for table in TABLE_SCHEMAS:
        if table not in views:
            con.execute(_ddl(table))
    _add_missing_columns(con, [t for t in TABLE_SCHEMAS if t not in views])
    for ep in views.values():
        con.execute(_snapshots_ddl(ep.snapshots_table or ""))
    rejects = {
        **REJECT_BASE_COLUMNS,
        **{
            c.name: _duck_type(c.dtype)
            for c in catalog.REJECTS.columns
            if c.name not in REJECT_BASE_COLUMNS
        },
    }
    cols = ", ".join(f"{_q(n)} {t}" for n, t in rejects.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS rejects ({cols})")
    for ep in views.values():
        con.execute(_snapshot_view_ddl(ep))
    from vendorkit.store.staging import create_staging  # staging derives from the same DDL

    create_staging(con)
    if not con.execute("SELECT count(*) FROM vendorkit_meta").fetchall()[0][0]:
        con.execute("INSERT INTO vendorkit_meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])


def typed_empty(table: str) -> pl.DataFrame:
    """An empty frame with exactly the columns and dtypes of ``table``.

    Example:
        >>> typed_empty("orders").columns[:3]
        ['order_id', 'reseller_id', 'reseller_name']
    """
    return pl.DataFrame(schema=TABLE_SCHEMAS[table])


def to_typed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast a frame read from DuckDB back to the table's polars dtypes (enums, UTC, Int32).

    Example:
        >>> to_typed("orders", typed_empty("orders")).schema["status"]
        Enum(categories=['OPEN', 'PROCESSING', 'ON_HOLD', 'BACKORDERED', 'PARTIALLY_SHIPPED', 'SHIPPED', 'DELIVERED', 'CLOSED', 'CANCELLED', 'UNKNOWN'])
    """
    schema = TABLE_SCHEMAS[table]
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            current = frame.schema[name]
            if isinstance(current, pl.Datetime) and current.time_zone is not None:
                col = col.dt.convert_time_zone("UTC")
            col = col.cast(dtype)
        else:
            col = col.cast(dtype)
        exprs.append(col)
    return frame.select(exprs)


def _for_duckdb(frame: pl.DataFrame) -> pl.DataFrame:
    """Enums and categoricals travel as plain strings (the tables store VARCHAR)."""
    casts = [
        pl.col(n).cast(pl.String)
        for n, t in frame.schema.items()
        if isinstance(t, pl.Enum | pl.Categorical)
    ]
    return frame.with_columns(casts) if casts else frame


def _reject_type(dtype: pl.DataType) -> str:
    try:
        return _duck_type(dtype)
    except StoreError:
        return "VARCHAR"
