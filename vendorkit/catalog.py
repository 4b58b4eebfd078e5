"""The endpoint catalog: every Vendor API endpoint, its tables and columns, declared once.

Everything else derives from these declarations: the wire schema the client parses with
(:mod:`vendorkit.endpoints`), the normalisation plans and pandera models
(:mod:`vendorkit.schemas`), the DuckDB tables, keys and writers (:mod:`vendorkit.store`), the
Parquet partitioning (:mod:`vendorkit.export`), ``docs/data-dictionary.md`` and the
sandbox's table lists. This module imports neither pandera nor DuckDB.

The shape::

    Endpoint  name, path, list key, cursor, write mode, status column
    ├── table: Table        the record table (name, key, partition, columns)
    │   └── Column          typed name, dtype, wire field, required, seed, meaning, >= bound
    └── child: Child        a nested array (``lines``) and its own Table, linked by the key

An endpoint is written either as a **snapshot** (every sync appends a full copy to
``<name>_history``; the ``<name>`` view is the latest one) or as an **upsert** (by key; a
full refresh replaces the contents; a re-sent record replaces its child rows). When it has a
status column, the store keeps a ``<entity>_status_history`` of every status change.

A test (or a plugin) can add an endpoint for a while::

    with catalog.register(my_endpoint):
        ...  # the endpoint syncs, validates, stores, exports like the built-in three

Example:
    >>> import polars as pl
    >>> prices = Endpoint(
    ...     name="prices", path="/prices", list_key="prices", cursor="updated_at",
    ...     table=Table("prices", "One row per part: its list price.", key=("part_number",),
    ...         columns=(
    ...             Column("part_number", pl.String(), "Part.", wire="partNumber", required=True),
    ...             Column("list_price", pl.Float64(), "Price.", wire="listPrice", ge=0),
    ...             Column("updated_at", UTC_DATETIME, "Last change.", wire="updatedAt"),
    ...         )))
    >>> with register(prices):
    ...     (get_endpoint("prices").wire_fields, api_field("prices", "list_price"))
    (('partNumber', 'listPrice', 'updatedAt'), 'prices[].listPrice')
    >>> "prices" in ENDPOINTS
    False
    >>> get_endpoint("inventory").primary_key
    ('partNumber', 'warehouse')
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar, overload

import polars as pl

from vendorkit.errors import ConfigError
from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES

__all__ = [
    "ENDPOINTS",
    "ENDPOINT_NAMES",
    "REJECTS",
    "SYNC_LOG",
    "TABLES",
    "UTC_DATETIME",
    "Child",
    "Column",
    "Endpoint",
    "LiveView",
    "Partition",
    "Table",
    "api_field",
    "catalog_version",
    "endpoint_of",
    "get_endpoint",
    "get_table",
    "register",
    "seed_columns",
    "unregister",
    "validated_tables",
]

#: The dtype of every timestamp column.
UTC_DATETIME = pl.Datetime("us", "UTC")

#: How a wire value is read (see :mod:`vendorkit.schemas.pipeline`).
Parse = Literal["text", "int", "float", "ts", "status", "status_raw"]
WriteMode = Literal["snapshot", "upsert"]

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _parse_of(dtype: pl.DataType) -> Parse | None:
    if isinstance(dtype, pl.String):
        return "text"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if isinstance(dtype, pl.Datetime):
        return "ts"
    if isinstance(dtype, pl.Enum):
        return "status"
    return None


@dataclass(frozen=True, slots=True)
class Column:
    """One typed column.

    Attributes:
        name: the typed column (snake_case; what ``load_*()`` returns).
        dtype: its polars dtype (timestamps :data:`UTC_DATETIME`, statuses ``pl.Enum``).
        meaning: what the column holds (the data dictionary's text).
        wire: the wire field it is read from, on the record (or on each element of the
            child array); ``None`` for a column not read from a record.
        required: a record without a usable value is quarantined (and the column is never
            null); optional columns are null when the field is absent.
        seed: the wire field is promised by the seed spec (everything else is an extension).
        ge: lower bound checked by the pandera model (quantities ``0``, line numbers ``1``).
        parse: how the wire text is read; by default from ``dtype`` (String -> text,
            integers, floats, timestamps, Enum -> status). ``"status_raw"`` keeps the status
            exactly as sent, beside the canonical one.
        derived: for a column not on the wire: ``"parent"`` (copied from the parent record's
            column of the same name), ``"position"`` (1-based position in the child array),
            or a short note for the data dictionary (``"(sync)"``).
        default: ``"position"``: when the wire field is absent, the 1-based position in the
            child array (order lines without ``lineNumber``).
        nullable: override of the nullability that ``required``/``derived``/``default`` imply.
    """

    name: str
    dtype: pl.DataType
    meaning: str
    wire: str | None = None
    required: bool = False
    seed: bool = False
    ge: int | float | None = None
    parse: Parse | None = None
    derived: str | None = None
    default: Literal["position"] | None = None
    nullable: bool | None = None

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ConfigError(f"catalog column {self.name!r} must be snake_case")
        if self.parse is None and self.wire is not None:
            parse = _parse_of(self.dtype)
            if parse is None:
                raise ConfigError(
                    f"catalog column {self.name!r}: no parse rule for dtype {self.dtype}; "
                    "use String, an integer, a float, UTC_DATETIME or an Enum"
                )
            object.__setattr__(self, "parse", parse)
        if self.nullable is None:
            not_null = self.required or self.default is not None or self.derived is not None
            object.__setattr__(self, "nullable", not not_null)

    @property
    def is_nullable(self) -> bool:
        """Whether the column may hold nulls (``nullable`` resolved)."""
        return bool(self.nullable)


@dataclass(frozen=True, slots=True)
class Partition:
    """How a table is partitioned on export: ``name`` = ``unit`` of the ``column`` timestamp.

    ``via`` names the parent table when the column lives there (child tables are partitioned
    like their parent record).
    """

    name: str
    column: str
    unit: Literal["day", "month"] = "month"
    via: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """One typed table: its columns in order, key and export partition.

    Attributes:
        name: table name (snake_case).
        description: one line for the data dictionary.
        columns: the columns in order.
        key: the columns identifying a row (unique and non-null).
        partition: export partitioning, or ``None`` for a single file.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    partition: Partition | None = None

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ConfigError(f"catalog table {self.name!r} must be snake_case")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ConfigError(f"catalog table {self.name}: a column name repeats")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ConfigError(f"catalog table {self.name}: key column(s) {missing} not declared")
        if self.partition and self.partition.via is None and self.partition.column not in names:
            raise ConfigError(
                f"catalog table {self.name}: partition column {self.partition.column!r} not "
                "declared"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c.name for c in self.columns)

    def schema(self) -> dict[str, pl.DataType]:
        """Column name -> polars dtype, in order.

        Example:
            >>> get_table("order_lines").schema()["line_number"]
            Int32
        """
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        """The column called ``name`` (:class:`ConfigError` when there is none)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise ConfigError(f"table {self.name} has no column {name!r}")

    def wire_columns(self) -> tuple[Column, ...]:
        """The columns read from the wire (status_raw companions included)."""
        return tuple(c for c in self.columns if c.wire is not None)

    def wire_fields(self) -> tuple[str, ...]:
        """Distinct wire fields in column order."""
        return tuple(dict.fromkeys(c.wire for c in self.columns if c.wire is not None))


@dataclass(frozen=True, slots=True)
class Child:
    """A nested array of each record (``lines``), stored as its own table.

    Attributes:
        key: the array's wire name.
        table: its table; ``derived="parent"`` columns are copied from the record (they
            include the parent's key, the link), ``derived="position"`` is the element's
            1-based position.
        seed: the array itself is in the seed spec.
    """

    key: str
    table: Table
    seed: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Vendor API list endpoint and the tables it fills.

    Attributes:
        name: short name used everywhere (CLI, tables, reports).
        path: path below the base URL, e.g. ``/inventory``.
        list_key: the key of the records array in the response body.
        table: the record (header) table.
        cursor: typed timestamp column ordering versions of one key (latest wins); its wire
            field is what ``updatedSince`` compares.
        write: ``"snapshot"`` or ``"upsert"`` (see the module docstring).
        child: the nested array and its table, or ``None``.
        status: the header's canonical status column (an Enum; its wire field also fills
            ``<status>_raw``), or ``None``: then no status history is kept.
        tracked: header columns kept in the status history too: a sync that sees one of them
            change writes a history row as for a new status. Shipments track
            ``estimated_delivery_date``, so the *first* promise observed stays known when
            later estimates slip (what OTIF measures against).
    """

    name: str
    path: str
    list_key: str
    table: Table
    cursor: str
    write: WriteMode = "upsert"
    child: Child | None = None
    status: str | None = None
    tracked: tuple[str, ...] = ()
    _derived: dict[str, Table] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        where = f"catalog endpoint {self.name!r}"
        if not _IDENT.match(self.name):
            raise ConfigError(f"{where}: the name must be snake_case")
        if not self.table.key:
            raise ConfigError(f"{where}: table {self.table.name} needs a key")
        for k in self.table.key:
            col = self.table.column(k)
            if col.wire is None or not col.required:
                raise ConfigError(f"{where}: key column {k!r} must be a required wire field")
        cursor = self.table.column(self.cursor)
        if not isinstance(cursor.dtype, pl.Datetime) or cursor.wire is None:
            raise ConfigError(f"{where}: cursor {self.cursor!r} must be a wire timestamp")
        if self.status is not None:
            col = self.table.column(self.status)
            spelled = [c for c in self.table.columns if c.name == f"{self.status}_raw"]
            if (
                not isinstance(col.dtype, pl.Enum)
                or not spelled
                or spelled[0].parse != "status_raw"
            ):
                raise ConfigError(
                    f"{where}: status {self.status!r} must be an Enum with a "
                    f"{self.status}_raw companion (parse='status_raw')"
                )
        if self.child is not None:
            names = self.child.table.names
            missing = [k for k in self.table.key if k not in names]
            if missing:
                raise ConfigError(
                    f"{where}: child table {self.child.table.name} lacks the link {missing}"
                )
            for col in self.child.table.columns:
                if col.derived == "parent" and col.name not in self.table.names:
                    raise ConfigError(
                        f"{where}: child column {col.name!r} is copied from the record, which "
                        "has no such column"
                    )

    # -- the tables ---------------------------------------------------------------------

    @property
    def tables(self) -> tuple[str, ...]:
        """The typed tables one batch of this endpoint fills (record table first)."""
        return (self.table.name,) + ((self.child.table.name,) if self.child else ())

    @property
    def key(self) -> tuple[str, ...]:
        """The record table's key (typed columns)."""
        return self.table.key

    @property
    def statuses(self) -> tuple[str, ...]:
        """The canonical statuses (the status Enum's categories), or ``()``."""
        if self.status is None:
            return ()
        dtype = self.table.column(self.status).dtype
        assert isinstance(dtype, pl.Enum)
        return tuple(dtype.categories.to_list())

    @property
    def history_table(self) -> Table | None:
        """Snapshot endpoints: every snapshot (``sync_id``, ``snapshot_at`` + the columns)."""
        if self.write != "snapshot":
            return None
        return self._derive("history", self._history)

    @property
    def snapshots_table(self) -> str | None:
        """Snapshot endpoints: the table listing the snapshots (sync id, order, time)."""
        return f"{self.name}_snapshots" if self.write == "snapshot" else None

    @property
    def status_history_table(self) -> Table | None:
        """Endpoints with a status: a row each time a sync sees a record's status change."""
        if self.status is None:
            return None
        return self._derive("status_history", self._status_history)

    def all_tables(self) -> tuple[Table, ...]:
        """Every table of this endpoint: record, snapshot history, child, status history."""
        out = [self.table]
        if self.history_table is not None:
            out.append(self.history_table)
        if self.child is not None:
            out.append(self.child.table)
        if self.status_history_table is not None:
            out.append(self.status_history_table)
        return tuple(out)

    def _derive(self, what: str, build: Callable[[], Table]) -> Table:
        table = self._derived.get(what)
        if table is None:
            table = self._derived[what] = build()
        return table

    def _history(self) -> Table:
        name = f"{self.table.name}_history"
        partition = Partition("snapshot_date", "snapshot_at", "day")
        return Table(
            name,
            f"Every {self.name} snapshot the store kept, one per sync (table `{name}`). "
            "Written by the store, not by `vendorkit.schemas.normalise`.",
            (
                Column(
                    "sync_id",
                    pl.String(),
                    "Id of the sync that took the snapshot.",
                    derived="(sync)",
                ),
                Column(
                    "snapshot_at",
                    UTC_DATETIME,
                    "When the snapshot was taken (UTC).",
                    derived="(sync)",
                ),
                *self.table.columns,
            ),
            key=("sync_id", *self.table.key),
            partition=partition,
        )

    def _status_history(self) -> Table:
        assert self.status is not None
        entity = self.table.name.removesuffix("s")
        name = f"{entity}_status_history"
        keys = tuple(self.table.column(k) for k in self.table.key)
        status = self.table.column(self.status)
        raw = self.table.column(f"{self.status}_raw")
        tracked = tuple(self.table.column(c) for c in self.tracked)
        also = f" or a new {', '.join(self.tracked)}" if self.tracked else ""
        return Table(
            name,
            f"A row each time a sync saw a new status{also} of a {entity} (table `{name}`).",
            (
                *keys,
                status,
                raw,
                *tracked,
                Column(
                    "observed_at",
                    UTC_DATETIME,
                    "Server time of the sync that saw the status (UTC).",
                    derived="(sync)",
                ),
                Column(
                    "sync_id", pl.String(), "Id of the sync that saw the status.", derived="(sync)"
                ),
            ),
            key=(*self.table.key, "observed_at", "sync_id"),
            partition=Partition("observed_month", "observed_at"),
        )

    # -- the wire (what vendorkit.endpoints promised) ---------------------------------

    @property
    def wire_fields(self) -> tuple[str, ...]:
        """Top-level record fields (camelCase, as sent), all read as strings."""
        return self.table.wire_fields()

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Wire fields that identify a record."""
        return tuple(self.table.column(k).wire or k for k in self.table.key)

    @property
    def cursor_field(self) -> str:
        """Wire field compared with ``updatedSince`` for incremental sync."""
        return self.table.column(self.cursor).wire or self.cursor

    @property
    def seed_fields(self) -> tuple[str, ...]:
        """Fields promised by the seed spec (everything else is optional)."""
        fields = [c.wire for c in self.table.columns if c.seed and c.wire is not None]
        if self.child is not None and self.child.seed:
            fields.append(self.child.key)
        return tuple(dict.fromkeys(fields))

    @property
    def child_key(self) -> str | None:
        """Name of the nested array (``lines``) or ``None``."""
        return self.child.key if self.child else None

    @property
    def child_fields(self) -> tuple[str, ...]:
        """Fields of one nested element, all read as strings."""
        return self.child.table.wire_fields() if self.child else ()

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


# --------------------------------------------------------------------------- the built-ins


def _status_pair(statuses: tuple[str, ...], entity: str) -> tuple[Column, Column]:
    const = "ORDER_STATUSES" if entity == "order" else "SHIPMENT_STATUSES"
    return (
        Column(
            "status",
            pl.Enum(list(statuses)),
            f"Canonical {entity} status (one of {const}; UNKNOWN for an unrecognised spelling).",
            wire="status",
            required=True,
            seed=True,
        ),
        Column(
            "status_raw",
            pl.String(),
            "The status exactly as the API sent it.",
            wire="status",
            required=True,
            seed=True,
            parse="status_raw",
        ),
    )


_S, _I64, _I32, _F64 = pl.String(), pl.Int64(), pl.Int32(), pl.Float64()

INVENTORY = Endpoint(
    name="inventory",
    path="/inventory",
    list_key="inventory",
    cursor="last_updated",
    write="snapshot",
    table=Table(
        "inventory",
        "One row per part and warehouse: the latest stock level (table `inventory`).",
        key=("part_number", "warehouse_id"),
        columns=(
            Column(
                "part_number",
                _S,
                "Vendor part number as Ingram Micro lists it.",
                wire="partNumber",
                required=True,
                seed=True,
            ),
            Column(
                "warehouse_id",
                _S,
                "Ingram Micro warehouse id (e.g. 20 = Fort Worth, TX), always text.",
                wire="warehouse",
                required=True,
                seed=True,
            ),
            Column(
                "warehouse_name", _S, "Warehouse name and site, when sent.", wire="warehouseName"
            ),
            Column(
                "vendor_part_number",
                _S,
                "The vendor's own part number, when sent.",
                wire="vendorPartNumber",
            ),
            Column(
                "quantity_on_hand",
                _I64,
                "Units in stock at the warehouse (>= 0).",
                wire="quantity",
                required=True,
                seed=True,
                ge=0,
            ),
            Column(
                "quantity_backordered",
                _I64,
                "Units on backorder at the warehouse (>= 0).",
                wire="quantityBackordered",
                ge=0,
            ),
            Column(
                "quantity_on_order",
                _I64,
                "Units ordered from the vendor and not yet received (>= 0).",
                wire="quantityOnOrder",
                ge=0,
            ),
            Column(
                "last_updated",
                UTC_DATETIME,
                "When Ingram Micro last changed this stock level (UTC).",
                wire="lastUpdated",
                seed=True,
            ),
        ),
    ),
)

_ORDER_STATUS, _ORDER_STATUS_RAW = _status_pair(ORDER_STATUSES, "order")

ORDERS = Endpoint(
    name="orders",
    path="/orders",
    list_key="orders",
    cursor="updated_at",
    status="status",
    table=Table(
        "orders",
        "One row per reseller order placed for the vendor's products (table `orders`).",
        key=("order_id",),
        partition=Partition("order_month", "order_date"),
        columns=(
            Column(
                "order_id",
                _S,
                "Ingram Micro order id (key).",
                wire="orderId",
                required=True,
                seed=True,
            ),
            Column(
                "reseller_id",
                _S,
                "Id of the reseller who placed the order.",
                wire="resellerId",
                required=True,
                seed=True,
            ),
            Column("reseller_name", _S, "Reseller name, when sent.", wire="resellerName"),
            _ORDER_STATUS,
            _ORDER_STATUS_RAW,
            Column(
                "order_date", UTC_DATETIME, "When the order was placed (UTC).", wire="orderDate"
            ),
            Column(
                "updated_at",
                UTC_DATETIME,
                "When the order last changed (UTC); the incremental-sync cursor.",
                wire="updatedAt",
            ),
            Column(
                "currency_code",
                _S,
                "ISO 4217 currency of the line prices, when sent.",
                wire="currencyCode",
            ),
        ),
    ),
    child=Child(
        "lines",
        seed=True,
        table=Table(
            "order_lines",
            "One row per order line (table `order_lines`).",
            key=("order_id", "line_number"),
            partition=Partition("order_month", "order_date", via="orders"),
            columns=(
                Column("order_id", _S, "Order the line belongs to.", derived="parent"),
                Column(
                    "line_number",
                    _I32,
                    "Line number within the order (1-based position in lines[] when not sent).",
                    wire="lineNumber",
                    ge=1,
                    default="position",
                ),
                Column(
                    "part_number", _S, "Part ordered.", wire="partNumber", required=True, seed=True
                ),
                Column(
                    "quantity_ordered",
                    _I64,
                    "Units ordered (>= 0).",
                    wire="quantity",
                    required=True,
                    seed=True,
                    ge=0,
                ),
                Column(
                    "quantity_confirmed",
                    _I64,
                    "Units Ingram Micro confirmed (>= 0).",
                    wire="quantityConfirmed",
                    ge=0,
                ),
                Column(
                    "quantity_backordered",
                    _I64,
                    "Units on backorder for the line (>= 0).",
                    wire="quantityBackordered",
                    ge=0,
                ),
                Column(
                    "unit_price",
                    _F64,
                    "Price per unit in the order's currency (>= 0).",
                    wire="unitPrice",
                    ge=0,
                ),
                Column(
                    "warehouse_id",
                    _S,
                    "Warehouse the line ships from, when sent.",
                    wire="warehouse",
                ),
            ),
        ),
    ),
)

_SHIP_STATUS, _SHIP_STATUS_RAW = _status_pair(SHIPMENT_STATUSES, "shipment")

SHIPMENTS = Endpoint(
    name="shipments",
    path="/shipments",
    list_key="shipments",
    cursor="updated_at",
    status="status",
    tracked=("estimated_delivery_date",),
    table=Table(
        "shipments",
        "One row per shipment (table `shipments`).",
        key=("shipment_id",),
        partition=Partition("ship_month", "ship_date"),
        columns=(
            Column("shipment_id", _S, "Shipment id (key).", wire="id", required=True, seed=True),
            Column(
                "order_id",
                _S,
                "Order the shipment fulfils.",
                wire="orderId",
                required=True,
                seed=True,
            ),
            Column("carrier", _S, "Carrier name or code, when sent.", wire="carrier", seed=True),
            Column(
                "tracking_number",
                _S,
                "Carrier tracking number, when sent.",
                wire="trackingNumber",
                seed=True,
            ),
            _SHIP_STATUS,
            _SHIP_STATUS_RAW,
            Column("warehouse_id", _S, "Ship-from warehouse id, when sent.", wire="warehouse"),
            Column("ship_date", UTC_DATETIME, "When the shipment left (UTC).", wire="shipDate"),
            Column(
                "estimated_delivery_date",
                UTC_DATETIME,
                "Carrier's estimated delivery (UTC).",
                wire="estimatedDeliveryDate",
            ),
            Column(
                "delivered_date",
                UTC_DATETIME,
                "When the shipment was delivered (UTC).",
                wire="deliveredDate",
            ),
            Column(
                "updated_at",
                UTC_DATETIME,
                "When the shipment last changed (UTC); the incremental-sync cursor.",
                wire="updatedAt",
            ),
        ),
    ),
    child=Child(
        "lines",
        table=Table(
            "shipment_lines",
            "One row per shipped line (table `shipment_lines`).",
            key=("shipment_id", "position"),
            partition=Partition("ship_month", "ship_date", via="shipments"),
            columns=(
                Column("shipment_id", _S, "Shipment the line belongs to.", derived="parent"),
                Column(
                    "position",
                    _I32,
                    "1-based position of the line in the shipment's lines[].",
                    derived="position",
                    ge=1,
                ),
                Column("order_id", _S, "Order the shipment fulfils.", derived="parent"),
                Column(
                    "line_number",
                    _I32,
                    "The order line shipped (order_lines.line_number), when sent.",
                    wire="lineNumber",
                    ge=1,
                ),
                Column("part_number", _S, "Part shipped.", wire="partNumber", required=True),
                Column(
                    "quantity", _I64, "Units shipped (>= 0).", wire="quantity", required=True, ge=0
                ),
            ),
        ),
    ),
)

#: Quarantined records (``Batch.rejects``; the store adds ``rejected_at``).
REJECTS = Table(
    "rejects",
    "Quarantined records: one row per (record, failing field) (table `rejects`).",
    (
        Column("endpoint", _S, "Endpoint the record came from.", derived="(sync)"),
        Column("sync_id", _S, "Id of the sync that fetched the record.", derived="(sync)"),
        Column("page_number", _I32, "1-based page the record was served on.", derived="(page)"),
        Column(
            "record_index", _I32, "0-based position of the record in its page.", derived="(page)"
        ),
        Column(
            "record_key",
            _S,
            "The record's key as sent, parts joined by '|' (null when every key field is missing).",
            derived="primary key",
            nullable=True,
        ),
        Column(
            "field",
            _S,
            "Wire field that failed, e.g. quantity or lines[2].unitPrice.",
            derived="(validation)",
        ),
        Column("reason", _S, "What is wrong with the value.", derived="(validation)"),
        Column("raw_record", _S, "The record's JSON as served.", derived="(page)"),
    ),
)

_LOG = "(sync)"
#: One row per (sync, endpoint).
SYNC_LOG = Table(
    "sync_log",
    "One row per (sync, endpoint): times, source, counts, outcome (table `sync_log`).",
    (
        Column("sync_id", _S, "Id of the sync.", derived=_LOG),
        Column("endpoint", _S, "Endpoint synced.", derived=_LOG),
        Column("source", _S, "Where the records came from: sandbox, api or archive.", derived=_LOG),
        Column("started_at", UTC_DATETIME, "Local start time (UTC).", derived=_LOG),
        Column(
            "finished_at", UTC_DATETIME, "Local finish time (UTC).", derived=_LOG, nullable=True
        ),
        Column(
            "server_date",
            UTC_DATETIME,
            "The API server's clock at the first response.",
            derived=_LOG,
            nullable=True,
        ),
        Column("outcome", _S, "ok or failed.", derived=_LOG, nullable=True),
        Column(
            "full_refresh",
            pl.Boolean(),
            "A full refresh rather than incremental.",
            derived=_LOG,
            nullable=True,
        ),
        Column("passes", _I32, "Fetch passes (main + catch-up).", derived=_LOG, nullable=True),
        *(
            Column(name, _I64, text, derived=_LOG, nullable=True)
            for name, text in (
                ("pages", "Pages fetched."),
                ("requests", "HTTP requests sent (retries included)."),
                ("fetched", "Records received."),
                ("loaded", "Records written to the record table."),
                ("rejected", "Records quarantined."),
                ("deduplicated", "Older versions of a key dropped."),
                ("coerced", "Loaded records whose text needed repair."),
                ("unknown_status", "Loaded records with an unrecognised status."),
            )
        ),
        Column("error", _S, "The error of a failed endpoint.", derived=_LOG, nullable=True),
        Column(
            "note",
            _S,
            "What the engine decided: resumed from a checkpoint, restarted, skipped the "
            "catch-up pass, or that this server ignores updatedSince (forces full reads).",
            derived=_LOG,
            nullable=True,
        ),
    ),
    key=("sync_id", "endpoint"),
)


# --------------------------------------------------------------------------- the registry

#: Bookkeeping tables of the store that no endpoint may reuse as a table name.
_STORE_TABLES = ("raw_pages", "cursors", "vendorkit_meta")

_lock = threading.RLock()
_registry: dict[str, Endpoint] = {e.name: e for e in (INVENTORY, ORDERS, SHIPMENTS)}
_version = 0

V = TypeVar("V")


class LiveView(Mapping[str, V]):
    """A read-only mapping recomputed from the registry whenever it changes.

    Derived tables (store DDL, keys, pandera models) are ``LiveView`` s, so an endpoint
    added with :func:`register` appears in all of them.
    """

    def __init__(self, build: Callable[[], dict[str, V]], what: str) -> None:
        self._build = build
        self._what = what
        self._cache: tuple[int, dict[str, V]] | None = None

    def _data(self) -> dict[str, V]:
        cache = self._cache
        if cache is None or cache[0] != _version:
            with _lock:
                cache = self._cache = (_version, self._build())
        return cache[1]

    def __getitem__(self, key: str) -> V:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return f"<{self._what}: {', '.join(self._data())}>"


class _Names(Sequence[str]):
    """The registered endpoint names, in registration order (a live, tuple-like view)."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return tuple(_registry)[index]

    def __len__(self) -> int:
        return len(_registry)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


def _all_tables() -> dict[str, Table]:
    out: dict[str, Table] = {}
    for ep in _registry.values():
        for table in ep.all_tables():
            out.setdefault(table.name, table)
    out[REJECTS.name] = REJECTS
    out[SYNC_LOG.name] = SYNC_LOG
    return out


#: Endpoint name -> :class:`Endpoint` (live: includes endpoints added with :func:`register`).
ENDPOINTS: Mapping[str, Endpoint] = LiveView(lambda: dict(_registry), "endpoints")
#: The endpoint names in order (live, compares equal to a tuple).
ENDPOINT_NAMES: Sequence[str] = _Names()
#: Every table name -> :class:`Table`: each endpoint's tables, then rejects and sync_log.
TABLES: Mapping[str, Table] = LiveView(_all_tables, "tables")


def get_endpoint(name: str) -> Endpoint:
    """The endpoint called ``name``, or a :class:`ConfigError` listing the known ones.

    Example:
        >>> get_endpoint("orders").list_key
        'orders'
    """
    try:
        return _registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown endpoint {name!r}; choose one of {', '.join(_registry)}"
        ) from None


def get_table(name: str) -> Table:
    """The table called ``name``, or a :class:`ConfigError` listing the known ones.

    Example:
        >>> get_table("orders").key
        ('order_id',)
    """
    try:
        return TABLES[name]
    except KeyError:
        raise ConfigError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}") from None


def endpoint_of(table: str) -> Endpoint | None:
    """The endpoint whose syncs fill ``table`` (``None`` for rejects, sync_log, unknown).

    Example:
        >>> endpoint_of("shipment_lines").name
        'shipments'
    """
    for ep in _registry.values():
        if any(t.name == table for t in ep.all_tables()):
            return ep
    return None


def validated_tables() -> tuple[Table, ...]:
    """The tables with a pandera model: each endpoint's record, snapshot history and child
    tables, then rejects (in the data dictionary's order)."""
    out: list[Table] = []
    for ep in _registry.values():
        out += [t for t in ep.all_tables() if t is not ep.status_history_table]
    return (*out, REJECTS)


def api_field(table: str, column: str) -> str | None:
    """The API field that fills ``table.column``, as a path (``None``: not read from a record).

    Example:
        >>> api_field("order_lines", "quantity_ordered")
        'orders[].lines[].quantity'
        >>> api_field("order_lines", "order_id")
        'orders[].orderId'
        >>> api_field("inventory_history", "snapshot_at") is None
        True
    """
    ep = endpoint_of(table)
    if ep is None:
        return None
    tab = TABLES[table]
    try:
        col = tab.column(column)
    except ConfigError:
        return None
    root = f"{ep.list_key}[]"
    if ep.child is not None and tab.name == ep.child.table.name:
        if col.wire is not None:
            return f"{root}.{ep.child.key}[].{col.wire}"
        if col.derived == "parent":
            parent = ep.table.column(col.name).wire
            return f"{root}.{parent}" if parent else None
        return None
    return f"{root}.{col.wire}" if col.wire is not None else None


def seed_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table`` filled from fields the seed spec promises (the rest may be
    missing from real data; a helper needing one should say which API field it lacks).

    Example:
        >>> seed_columns("order_lines")
        ('order_id', 'part_number', 'quantity_ordered')
    """
    ep = endpoint_of(table)
    if ep is None:
        return ()
    if ep.child is not None and ep.child.table.name == table and not ep.child.seed:
        return ()  # the whole array is an extension (shipment lines)
    tab = TABLES[table]
    out = []
    for col in tab.columns:
        if col.derived == "parent":
            parent = ep.table.column(col.name)
            if parent.seed:
                out.append(col.name)
        elif col.wire is not None and col.seed:
            out.append(col.name)
    return tuple(out)


class _Registration:
    """What :func:`register` returns: the endpoint is registered; ``with`` unregisters it."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def __enter__(self) -> Endpoint:
        return self.endpoint

    def __exit__(self, *exc: object) -> None:
        unregister(self.endpoint.name)

    def __repr__(self) -> str:
        return f"<registered endpoint {self.endpoint.name!r}>"


def register(endpoint: Endpoint) -> _Registration:
    """Add ``endpoint`` to the catalog (usable as a context manager that removes it again).

    Raises:
        ConfigError: the name, path, list key or one of its table names is taken.

    Example:
        >>> register(get_endpoint("orders"))
        Traceback (most recent call last):
        ...
        vendorkit.errors.ConfigError: endpoint 'orders' is already in the catalog
    """
    global _version
    with _lock:
        if endpoint.name in _registry:
            raise ConfigError(f"endpoint {endpoint.name!r} is already in the catalog")
        taken = set(_all_tables()) | set(_STORE_TABLES)
        taken |= {e.snapshots_table for e in _registry.values() if e.snapshots_table}
        for other in _registry.values():
            if other.path == endpoint.path or other.list_key == endpoint.list_key:
                raise ConfigError(
                    f"endpoint {endpoint.name!r}: path {endpoint.path} / list key "
                    f"{endpoint.list_key!r} already used by {other.name!r}"
                )
        clash = [t.name for t in endpoint.all_tables() if t.name in taken]
        if endpoint.snapshots_table and endpoint.snapshots_table in taken:
            clash.append(endpoint.snapshots_table)
        if clash:
            raise ConfigError(f"endpoint {endpoint.name!r}: table(s) {clash} already exist")
        _registry[endpoint.name] = endpoint
        _version += 1
    return _Registration(endpoint)


def unregister(name: str) -> None:
    """Remove an endpoint added with :func:`register` (the built-in three stay)."""
    global _version
    with _lock:
        if name in ("inventory", "orders", "shipments"):
            raise ConfigError(f"the built-in endpoint {name!r} cannot be removed")
        if _registry.pop(name, None) is not None:
            _version += 1


def catalog_version() -> int:
    """A number that changes whenever an endpoint is registered or removed (for caches)."""
    return _version
