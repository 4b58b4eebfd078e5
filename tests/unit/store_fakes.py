"""Small fakes for the store/sync/loaders unit tests: a tiny API world and a normaliser.

They stand in for the sandbox, the client and ``vendorkit.schemas`` so the store logic is
tested on its own, fast and without sockets. The real modules are exercised in the
``*_sandbox`` tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from vendorkit.endpoints import get_endpoint
from vendorkit.errors import TransportError
from vendorkit.http.pages import FetchStats, Page
from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES, canonical_status_expr
from vendorkit.store import TABLE_SCHEMAS

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeWorld:
    """Records per endpoint (wire dicts), a server clock, and optional faults."""

    now: datetime = T0
    page_size: int = 3
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail_on_page: dict[str, int] = field(default_factory=dict)
    #: callbacks run after serving a page: (endpoint, page_number) -> fn(world)
    during: dict[tuple[str, int], Any] = field(default_factory=dict)
    requests: int = 0

    @classmethod
    def small(cls, n_parts: int = 5, n_orders: int = 4) -> FakeWorld:
        world = cls()
        world.records["inventory"] = [
            {
                "partNumber": f"P{i:03d}",
                "warehouse": wh if i % 2 else str(wh),
                "warehouseName": f"WH{wh}",
                "quantity": str(10 * i + wh) if i % 3 else 10 * i + wh,
                "lastUpdated": _iso(T0 - timedelta(days=i)),
            }
            for i in range(n_parts)
            for wh in (10, 20)
        ]
        world.records["orders"] = [
            {
                "orderId": f"O{i}",
                "resellerId": "R1",
                "status": ["OPEN", "Shipped", "im::order_voided", "In Progress"][i % 4],
                "updatedAt": _iso(T0 - timedelta(days=i)),
                "lines": [
                    {"lineNumber": str(n), "partNumber": f"P{n:03d}", "quantity": str(n + 1)}
                    for n in range(1, 2 + i % 3)
                ],
            }
            for i in range(n_orders)
        ]
        world.records["shipments"] = [
            {
                "id": f"S{i}",
                "orderId": f"O{i}",
                "carrier": "UPS",
                "trackingNumber": f"1Z{i}",
                "status": "SHIPPED",
                "updatedAt": _iso(T0 - timedelta(days=i)),
                "lines": [{"lineNumber": "1", "partNumber": "P001", "quantity": "1"}],
            }
            for i in range(n_orders)
        ]
        return world

    def advance(self, delta: timedelta = timedelta(hours=1)) -> None:
        self.now += delta

    def touch(self, endpoint: str, index: int, **changes: Any) -> None:
        """Change a record (stamping its cursor field with the server clock)."""
        rec = self.records[endpoint][index]
        rec.update(changes)
        rec[get_endpoint(endpoint).cursor_field] = _iso(self.now)


class FakeClient:
    """``iter_pages(endpoint, updated_since=...)`` over a :class:`FakeWorld`."""

    source = "sandbox"

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.calls: list[tuple[str, datetime | None]] = []

    @property
    def requests_made(self) -> int:
        return self.world.requests

    def iter_pages(
        self,
        endpoint: str,
        *,
        updated_since: datetime | date | str | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[Page]:
        ep = get_endpoint(endpoint)
        self.calls.append((endpoint, updated_since))
        number = 0
        while True:
            number += 1
            self.world.requests += 1
            if self.world.fail_on_page.get(endpoint) == number:
                raise TransportError("connection reset (injected)", endpoint=endpoint, page=number)
            selected = [
                r
                for r in self.world.records.get(endpoint, [])
                if updated_since is None
                or datetime.fromisoformat(r[ep.cursor_field]) >= updated_since
            ]
            chunk = selected[(number - 1) * self.world.page_size : number * self.world.page_size]
            server_date = self.world.now
            if not chunk:
                yield Page(
                    endpoint,
                    number,
                    b"",
                    pl.DataFrame(schema=ep.wire_schema()),
                    None,
                    datetime.now(UTC),
                    f"c{number}",
                    204,
                    server_date,
                )
                return
            body = json.dumps({"recordsFound": str(len(selected)), ep.list_key: chunk}).encode()
            records = pl.DataFrame(
                json.loads(body, parse_int=str, parse_float=str)[ep.list_key],
                schema=ep.wire_schema(),
                strict=False,
            )
            yield Page(
                endpoint,
                number,
                body,
                records,
                len(selected),
                datetime.now(UTC),
                f"c{number}",
                200,
                server_date,
            )
            hook = self.world.during.get((endpoint, number))
            if hook:
                hook(self.world)
            if number * self.world.page_size >= len(selected):
                return


@dataclass
class FakeBatch:
    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    counts: dict[str, int]


_TS = pl.col  # shorthand


def _ts(col: str) -> pl.Expr:
    return pl.col(col).str.to_datetime(time_zone="UTC", time_unit="us", strict=False)


def _reject_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        "endpoint": pl.String,
        "sync_id": pl.String,
        "page_number": pl.Int32,
        "record_index": pl.Int32,
        "record_key": pl.String,
        "field": pl.String,
        "reason": pl.String,
        "raw_record": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def fake_normalise(endpoint: str, pages: list[Any], *, sync_id: str) -> FakeBatch:
    """A deliberately simple stand-in for ``vendorkit.schemas.normalise``.

    Rejects records whose quantity is not a non-negative integer; keeps the latest record
    per key; maps statuses with the project's rule.
    """
    ep = get_endpoint(endpoint)
    frames = [
        p.records.with_columns(
            pl.lit(p.number, pl.Int32).alias("_page"),
            pl.int_range(pl.len(), dtype=pl.Int32).alias("_idx"),
        )
        for p in pages
        if p.records.height
    ]
    raw = pl.concat(frames) if frames else pl.DataFrame(schema=ep.wire_schema())
    if "_page" not in raw.columns:
        raw = raw.with_columns(
            pl.lit(None, pl.Int32).alias("_page"), pl.lit(None, pl.Int32).alias("_idx")
        )
    fetched = raw.height
    rejects: list[dict[str, Any]] = []
    if endpoint == "inventory":
        qty = pl.col("quantity").cast(pl.Int64, strict=False)
        bad = raw.filter(qty.is_null() | (qty < 0))
        for rec in bad.iter_rows(named=True):
            rejects.append(
                {
                    "endpoint": endpoint,
                    "sync_id": sync_id,
                    "page_number": rec["_page"],
                    "record_index": rec["_idx"],
                    "record_key": f"{rec['partNumber']}|{rec['warehouse']}",
                    "field": "quantity",
                    "reason": "not a non-negative integer",
                    "raw_record": json.dumps(
                        {k: v for k, v in rec.items() if not k.startswith("_")}
                    ),
                }
            )
        good = raw.filter(qty.is_not_null() & (qty >= 0))
        typed = good.select(
            pl.col("partNumber").alias("part_number"),
            pl.col("warehouse").alias("warehouse_id"),
            pl.col("warehouseName").alias("warehouse_name"),
            pl.col("vendorPartNumber").alias("vendor_part_number"),
            qty.alias("quantity_on_hand"),
            pl.col("quantityBackordered").cast(pl.Int64).alias("quantity_backordered"),
            pl.col("quantityOnOrder").cast(pl.Int64).alias("quantity_on_order"),
            _ts("lastUpdated").alias("last_updated"),
        )
        deduped = typed.sort("last_updated").unique(
            ["part_number", "warehouse_id"], keep="last", maintain_order=True
        )
        tables = {"inventory": deduped.sort("part_number", "warehouse_id")}
    elif endpoint == "orders":
        good = raw.sort("updatedAt").unique("orderId", keep="last", maintain_order=True)
        deduped = good.height
        header = good.select(
            pl.col("orderId").alias("order_id"),
            pl.col("resellerId").alias("reseller_id"),
            pl.col("resellerName").alias("reseller_name"),
            canonical_status_expr("status", ORDER_STATUSES).cast(pl.Enum(ORDER_STATUSES)),
            pl.col("status").alias("status_raw"),
            _ts("orderDate").alias("order_date"),
            _ts("updatedAt").alias("updated_at"),
            pl.col("currencyCode").alias("currency_code"),
        )
        lines = good.select("orderId", "lines").explode("lines").drop_nulls("lines").unnest("lines")
        lines = lines.select(
            pl.col("orderId").alias("order_id"),
            pl.col("lineNumber").cast(pl.Int32).alias("line_number"),
            pl.col("partNumber").alias("part_number"),
            pl.col("quantity").cast(pl.Int64).alias("quantity_ordered"),
            pl.col("quantityConfirmed").cast(pl.Int64).alias("quantity_confirmed"),
            pl.col("quantityBackordered").cast(pl.Int64).alias("quantity_backordered"),
            pl.col("unitPrice").cast(pl.Float64).alias("unit_price"),
            pl.col("warehouse").alias("warehouse_id"),
        )
        tables = {"orders": header, "order_lines": lines}
        del deduped
    else:
        good = raw.sort("updatedAt").unique("id", keep="last", maintain_order=True)
        header = good.select(
            pl.col("id").alias("shipment_id"),
            pl.col("orderId").alias("order_id"),
            pl.col("carrier"),
            pl.col("trackingNumber").alias("tracking_number"),
            canonical_status_expr("status", SHIPMENT_STATUSES).cast(pl.Enum(SHIPMENT_STATUSES)),
            pl.col("status").alias("status_raw"),
            pl.col("warehouse").alias("warehouse_id"),
            _ts("shipDate").alias("ship_date"),
            _ts("estimatedDeliveryDate").alias("estimated_delivery_date"),
            _ts("deliveredDate").alias("delivered_date"),
            _ts("updatedAt").alias("updated_at"),
        )
        lines = (
            good.select("id", "orderId", "lines")
            .explode("lines")
            .drop_nulls("lines")
            .unnest("lines")
        )
        lines = lines.with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("id").alias("position")
        )
        lines = lines.select(
            pl.col("id").alias("shipment_id"),
            "position",
            pl.col("orderId").alias("order_id"),
            pl.col("lineNumber").cast(pl.Int32).alias("line_number"),
            pl.col("partNumber").alias("part_number"),
            pl.col("quantity").cast(pl.Int64),
        )
        tables = {"shipments": header, "shipment_lines": lines}
    for name, frame in tables.items():
        assert frame.columns == list(TABLE_SCHEMAS[name]), (name, frame.columns)
    header_name = next(iter(tables))
    rej = _reject_frame(rejects)
    loaded = tables[header_name].height
    counts = {
        "fetched": fetched,
        "loaded": loaded,
        "rejected": rej.height,
        "deduplicated": fetched - rej.height - loaded,
        "coerced": 0,
        "unknown_status": 0,
    }
    return FakeBatch(tables, rej, counts)
