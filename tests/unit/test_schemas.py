"""vendorkit.schemas: raw pages -> typed, validated, deduplicated tables plus quarantine.

Every expected value here is written by hand from the wire payload (ARCHITECTURE.md, the
API notes), never computed with the code under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandera.errors as pa_errors
import polars as pl
import pytest

from vendorkit.endpoints import get_endpoint
from vendorkit.errors import ConfigError, ContractError
from vendorkit.schemas import TABLE_SCHEMAS, Batch, normalise

ORDER_ENUM = pl.Enum(
    [
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
    ]
)
SHIPMENT_ENUM = pl.Enum(
    ["PROCESSING", "SHIPPED", "IN_TRANSIT", "DELIVERED", "CANCELLED", "UNKNOWN"]
)
TS = pl.Datetime("us", "UTC")

# The typed tables of docs/ARCHITECTURE.md, written out by hand.
EXPECTED_SCHEMAS: dict[str, dict[str, Any]] = {
    "inventory": {
        "part_number": pl.String,
        "warehouse_id": pl.String,
        "warehouse_name": pl.String,
        "vendor_part_number": pl.String,
        "quantity_on_hand": pl.Int64,
        "quantity_backordered": pl.Int64,
        "quantity_on_order": pl.Int64,
        "last_updated": TS,
    },
    "orders": {
        "order_id": pl.String,
        "reseller_id": pl.String,
        "reseller_name": pl.String,
        "status": ORDER_ENUM,
        "status_raw": pl.String,
        "order_date": TS,
        "updated_at": TS,
        "currency_code": pl.String,
    },
    "order_lines": {
        "order_id": pl.String,
        "line_number": pl.Int32,
        "part_number": pl.String,
        "quantity_ordered": pl.Int64,
        "quantity_confirmed": pl.Int64,
        "quantity_backordered": pl.Int64,
        "unit_price": pl.Float64,
        "warehouse_id": pl.String,
    },
    "shipments": {
        "shipment_id": pl.String,
        "order_id": pl.String,
        "carrier": pl.String,
        "tracking_number": pl.String,
        "status": SHIPMENT_ENUM,
        "status_raw": pl.String,
        "warehouse_id": pl.String,
        "ship_date": TS,
        "estimated_delivery_date": TS,
        "delivered_date": TS,
        "updated_at": TS,
    },
    "shipment_lines": {
        "shipment_id": pl.String,
        "position": pl.Int32,
        "order_id": pl.String,
        "line_number": pl.Int32,
        "part_number": pl.String,
        "quantity": pl.Int64,
    },
}
REJECT_COLUMNS = {
    "endpoint": pl.String,
    "sync_id": pl.String,
    "page_number": pl.Int32,
    "record_index": pl.Int32,
    "record_key": pl.String,
    "field": pl.String,
    "reason": pl.String,
    "raw_record": pl.String,
}


@dataclass(frozen=True)
class FakePage:
    """The part of vendorkit.client.Page that normalise() reads."""

    endpoint: str
    number: int
    body: bytes
    records: pl.DataFrame


def page(
    endpoint: str, number: int, records: list[dict[str, Any]], envelope: bool = True
) -> FakePage:
    """A page as the client builds it: the JSON body, and records with every leaf as text."""
    ep = get_endpoint(endpoint)
    doc: dict[str, Any] = {ep.list_key: records}
    if envelope:
        doc = {"recordsFound": str(len(records)), "pageSize": 100, "pageNumber": number, **doc}
    body = json.dumps(doc).encode()
    parsed = json.loads(body, parse_int=str, parse_float=str)[ep.list_key]
    frame = pl.DataFrame(parsed, schema=ep.wire_schema(), strict=False)
    return FakePage(endpoint, number, body, frame)


def batch_body(number: int, records: list[dict[str, Any]]) -> str:
    return page("inventory", number, records).body.decode()


def run(endpoint: str, *pages_records: list[dict[str, Any]]) -> Batch:
    pages = [page(endpoint, i + 1, recs) for i, recs in enumerate(pages_records)]
    return normalise(endpoint, pages, sync_id="sync-1")


def inv(
    part: str, wh: Any = "20", qty: Any = 5, ts: Any = "2026-11-01T00:00:00Z", **extra: Any
) -> dict[str, Any]:
    rec = {"partNumber": part, "warehouse": wh, "quantity": qty, "lastUpdated": ts, **extra}
    return {k: v for k, v in rec.items() if v is not ...}


def order(oid: str, lines: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"orderId": oid, "resellerId": "R1", "status": "OPEN", **fields}
    rec["lines"] = [{"partNumber": "P1", "quantity": 1}] if lines is None else lines
    return {k: v for k, v in rec.items() if v is not ...}


def shipment(sid: str, lines: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": sid,
        "orderId": "O1",
        "carrier": "UPS",
        "trackingNumber": "1Z",
        "status": "SHIPPED",
        **fields,
    }
    if lines is not None:
        rec["lines"] = lines
    return {k: v for k, v in rec.items() if v is not ...}


def rejects_of(batch: Batch) -> list[tuple[str | None, str, str]]:
    return [(r["record_key"], r["field"], r["reason"]) for r in batch.rejects.iter_rows(named=True)]


def assert_counts_add_up(batch: Batch) -> None:
    c = batch.counts
    assert c.fetched == c.loaded + c.rejected + c.deduplicated
    assert batch.rejects.select("page_number", "record_index").unique().height == c.rejected


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("endpoint", "records"),
    [
        ("inventory", [inv("P1")]),
        ("orders", [order("O1")]),
        ("shipments", [shipment("S1", [{"partNumber": "P1", "quantity": 1}])]),
    ],
)
def test_tables_have_exactly_the_architecture_columns_and_dtypes(endpoint, records):
    batch = run(endpoint, records)
    for name, frame in batch.tables.items():
        assert dict(frame.schema) == {
            k: v() if isinstance(v, type) else v for k, v in EXPECTED_SCHEMAS[name].items()
        }
    assert dict(batch.rejects.schema) == {k: v() for k, v in REJECT_COLUMNS.items()}


@pytest.mark.parametrize(
    ("endpoint", "tables"),
    [
        ("inventory", {"inventory"}),
        ("orders", {"orders", "order_lines"}),
        ("shipments", {"shipments", "shipment_lines"}),
    ],
)
def test_empty_input_gives_empty_typed_tables(endpoint, tables):
    empty_204 = FakePage(endpoint, 1, b"", pl.DataFrame())
    batch = normalise(endpoint, [empty_204], sync_id="s")
    assert set(batch.tables) == tables
    assert all(t.height == 0 for t in batch.tables.values())
    for name, frame in batch.tables.items():
        assert list(frame.columns) == list(EXPECTED_SCHEMAS[name])
    assert batch.rejects.height == 0
    assert (batch.counts.fetched, batch.counts.loaded) == (0, 0)
    assert normalise(endpoint, [], sync_id="s").counts.fetched == 0


def test_unknown_endpoint_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown endpoint"):
        normalise("invoices", [], sync_id="s")


# --------------------------------------------------------------------------- coercion


def test_inventory_numbers_as_strings_and_int_or_string_warehouse_ids():
    batch = run(
        "inventory",
        [
            inv("P1", wh=20, qty="12", quantityBackordered="3", quantityOnOrder=4),
            inv("P2", wh="20", qty=7),
            inv("P3", wh=" 30 ", qty="12.0"),
        ],
    )
    t = batch.tables["inventory"]
    assert t["warehouse_id"].to_list() == ["20", "20", "30"]
    assert t["quantity_on_hand"].to_list() == [12, 7, 12]
    assert t["quantity_backordered"].to_list() == [3, None, None]
    assert t["quantity_on_order"].to_list() == [4, None, None]
    assert batch.rejects.height == 0
    # P3: padded id and "12.0" needed repair; counted once
    assert batch.counts.coerced == 1


@pytest.mark.parametrize(
    ("sent", "expected", "coerced"),
    [
        ("2020-05-13T00:38:52Z", utc(2020, 5, 13, 0, 38, 52), 0),
        ("2020-05-13T00:38:52+00:00", utc(2020, 5, 13, 0, 38, 52), 0),
        ("2020-05-13T00:38:52-07:00", utc(2020, 5, 13, 7, 38, 52), 1),
        ("2020-05-13T00:38:52.250+05:30", utc(2020, 5, 12, 19, 8, 52, 250000), 1),
        ("2020-05-13T00:38:52.123456Z", utc(2020, 5, 13, 0, 38, 52, 123456), 0),
        ("2020-05-13T00:38:52+0200", utc(2020, 5, 12, 22, 38, 52), 1),
        ("2020-05-13 00:38:52Z", utc(2020, 5, 13, 0, 38, 52), 0),
        ("2020-05-13T00:38:52", utc(2020, 5, 13, 0, 38, 52), 1),  # no zone: read as UTC
        ("2020-05-13", utc(2020, 5, 13), 1),  # date only: midnight UTC
    ],
)
def test_timestamp_variants_become_utc(sent, expected, coerced):
    batch = run("inventory", [inv("P1", ts=sent)])
    assert batch.rejects.height == 0, batch.rejects
    assert batch.tables["inventory"]["last_updated"].to_list() == [expected]
    assert batch.counts.coerced == coerced


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("SHIPPED", "SHIPPED"),
        ("Shipped", "SHIPPED"),
        ("IM::SHIPPED", "SHIPPED"),
        ("im::order_shipped", "SHIPPED"),
        ("CANCELLED", "CANCELLED"),
        ("Canceled", "CANCELLED"),
        ("im::order_voided", "CANCELLED"),
        ("ON HOLD", "ON_HOLD"),
        ("On Hold", "ON_HOLD"),
        ("IM::HOLD", "ON_HOLD"),
        ("BACKORDERED", "BACKORDERED"),
        ("Backordered", "BACKORDERED"),
        ("im::backordered", "BACKORDERED"),
        ("PROCESSING", "PROCESSING"),
        ("In Progress", "PROCESSING"),
        ("OPEN", "OPEN"),
        ("CLOSED", "CLOSED"),
        ("DELIVERED", "DELIVERED"),
        ("PARTIALLY_SHIPPED", "PARTIALLY_SHIPPED"),
        ("IM::PARTIALLY_SHIPPED", "PARTIALLY_SHIPPED"),
    ],
)
def test_order_status_spellings_map_to_one_canonical_status(sent, canonical):
    batch = run("orders", [order("O1", status=sent)])
    orders = batch.tables["orders"]
    assert orders["status"].cast(pl.String).to_list() == [canonical]
    assert orders["status_raw"].to_list() == [sent]
    assert batch.counts.coerced == (0 if sent == canonical else 1)
    assert batch.counts.unknown_status == 0


def test_unknown_status_is_counted_not_rejected():
    batch = run(
        "orders",
        [order("O1", status="Teleported"), order("O2", status="OPEN"), order("O3", status="??")],
    )
    orders = batch.tables["orders"]
    assert orders["status"].cast(pl.String).to_list() == ["UNKNOWN", "OPEN", "UNKNOWN"]
    assert orders["status_raw"].to_list() == ["Teleported", "OPEN", "??"]
    assert (batch.counts.unknown_status, batch.counts.rejected, batch.counts.coerced) == (2, 0, 0)


def test_shipment_statuses_use_the_shipment_enum():
    batch = run(
        "shipments",
        [
            shipment("S1", status="In Transit"),
            shipment("S2", status="im::order_shipped"),
            shipment("S3", status="ON HOLD"),  # an order status, not a shipment one
        ],
    )
    assert batch.tables["shipments"]["status"].cast(pl.String).to_list() == [
        "IN_TRANSIT",
        "SHIPPED",
        "UNKNOWN",
    ]
    assert batch.counts.unknown_status == 1


def test_coerced_counts_a_record_once_however_many_quirks():
    batch = run(
        "orders",
        [
            order(
                "O1",
                status="Shipped",
                orderDate="2026-01-01T10:00:00-05:00",
                lines=[{"partNumber": "P1", "quantity": "2.0"}],
            ),
            order("O2", lines=[{"partNumber": " P9", "quantity": 1}]),  # only a line quirk
            order("O3"),  # clean
        ],
    )
    assert batch.counts.coerced == 2
    assert batch.tables["orders"]["order_date"].to_list()[0] == utc(2026, 1, 1, 15)
    assert batch.tables["order_lines"]["part_number"].to_list() == ["P1", "P9", "P1"]


# --------------------------------------------------------------------------- seed-only payloads


def test_seed_only_inventory_loads_with_optional_columns_null():
    seed = [
        {
            "partNumber": "P1",
            "warehouse": "10",
            "quantity": 3,
            "lastUpdated": "2026-01-01T00:00:00Z",
        }
    ]
    batch = normalise("inventory", [page("inventory", 1, seed, envelope=False)], sync_id="s")
    t = batch.tables["inventory"]
    assert t.row(0, named=True) == {
        "part_number": "P1",
        "warehouse_id": "10",
        "warehouse_name": None,
        "vendor_part_number": None,
        "quantity_on_hand": 3,
        "quantity_backordered": None,
        "quantity_on_order": None,
        "last_updated": utc(2026, 1, 1),
    }


def test_seed_only_orders_derive_line_numbers_from_position():
    seed = [
        {
            "orderId": "O1",
            "resellerId": "R1",
            "status": "OPEN",
            "lines": [{"partNumber": "A", "quantity": 1}, {"partNumber": "B", "quantity": "2"}],
        }
    ]
    batch = normalise("orders", [page("orders", 1, seed, envelope=False)], sync_id="s")
    o = batch.tables["orders"].row(0, named=True)
    assert (o["reseller_name"], o["order_date"], o["updated_at"], o["currency_code"]) == (None,) * 4
    lines = batch.tables["order_lines"]
    assert lines.select("order_id", "line_number", "part_number", "quantity_ordered").rows() == [
        ("O1", 1, "A", 1),
        ("O1", 2, "B", 2),
    ]
    assert lines["unit_price"].null_count() == 2


def test_seed_only_shipments_load_without_lines():
    seed = [
        {
            "id": "S1",
            "orderId": "O1",
            "carrier": "UPS",
            "trackingNumber": "1Z9",
            "status": "Shipped",
        }
    ]
    batch = normalise("shipments", [page("shipments", 1, seed, envelope=False)], sync_id="s")
    s = batch.tables["shipments"].row(0, named=True)
    assert (s["shipment_id"], s["order_id"], s["carrier"], s["tracking_number"]) == (
        "S1",
        "O1",
        "UPS",
        "1Z9",
    )
    assert s["status"] == "SHIPPED"
    assert (s["warehouse_id"], s["ship_date"], s["delivered_date"], s["updated_at"]) == (None,) * 4
    assert batch.tables["shipment_lines"].height == 0
    assert batch.counts.loaded == 1


def test_shipment_lines_get_positions_parent_order_and_optional_line_number():
    batch = run(
        "shipments",
        [
            shipment(
                "S1",
                orderId="O7",
                lines=[
                    {"partNumber": "A", "quantity": "2", "lineNumber": "3"},
                    {"partNumber": "B", "quantity": 1},
                ],
            )
        ],
    )
    assert batch.tables["shipment_lines"].rows() == [
        ("S1", 1, "O7", 3, "A", 2),
        ("S1", 2, "O7", None, "B", 1),
    ]


def test_full_order_fields_are_typed():
    batch = run(
        "orders",
        [
            order(
                "O1",
                resellerName="Acme",
                orderDate="2026-03-01T12:00:00Z",
                updatedAt="2026-03-02T12:00:00+01:00",
                currencyCode="USD",
                lines=[
                    {
                        "lineNumber": 10,
                        "partNumber": "A",
                        "quantity": 4,
                        "quantityConfirmed": "3",
                        "quantityBackordered": 1,
                        "unitPrice": "19.99",
                        "warehouse": 40,
                    }
                ],
            )
        ],
    )
    assert batch.tables["orders"].row(0) == (
        "O1",
        "R1",
        "Acme",
        "OPEN",
        "OPEN",
        utc(2026, 3, 1, 12),
        utc(2026, 3, 2, 11),
        "USD",
    )
    assert batch.tables["order_lines"].row(0) == ("O1", 10, "A", 4, 3, 1, 19.99, "40")


# --------------------------------------------------------------------------- rejects


@pytest.mark.parametrize(
    ("record", "field", "reason_start"),
    [
        (inv(None), "partNumber", "missing"),
        (inv("P1", wh=None), "warehouse", "missing"),
        (inv("P1", wh=""), "warehouse", "missing"),
        (inv("P1", qty=None), "quantity", "missing"),
        (inv("P1", qty="abc"), "quantity", "not a whole number: 'abc'"),
        (inv("P1", qty="1.5"), "quantity", "not a whole number: '1.5'"),
        (inv("P1", qty=-3), "quantity", "must be >= 0, got -3"),
        (inv("P1", ts="yesterday"), "lastUpdated", "not an ISO 8601 timestamp: 'yesterday'"),
        (inv("P1", ts="2026-13-45T00:00:00Z"), "lastUpdated", "not an ISO 8601 timestamp"),
        (inv("P1", quantityOnOrder="lots"), "quantityOnOrder", "not a whole number"),
        (inv("P1", quantityBackordered=-1), "quantityBackordered", "must be >= 0"),
        (inv("P1", qty=12345678901234567890), "quantity", "out of range for Int64"),
        (inv("P1", qty="9" * 30), "quantity", "out of range for Int64"),
        (inv("P1", wh="2\ufffd0"), "warehouse", "invalid UTF-8 in warehouse"),
        (inv("P1", qty="5\ufffd"), "quantity", "invalid UTF-8 in quantity"),
        (inv("P1", ts="2026-11-01\ufffd"), "lastUpdated", "invalid UTF-8 in lastUpdated"),
    ],
)
def test_inventory_rejects_name_the_field(record, field, reason_start):
    good = inv("OK")
    batch = run("inventory", [good, record])
    assert batch.tables["inventory"]["part_number"].to_list() == ["OK"]
    rows = batch.rejects.to_dicts()
    assert len(rows) == 1
    row = rows[0]
    assert (row["endpoint"], row["sync_id"], row["page_number"], row["record_index"]) == (
        "inventory",
        "sync-1",
        1,
        1,
    )
    assert row["field"] == field
    assert row["reason"].startswith(reason_start), row["reason"]
    assert json.loads(row["raw_record"]) == record
    assert (batch.counts.loaded, batch.counts.rejected) == (1, 1)
    assert_counts_add_up(batch)


def test_invalid_utf8_quarantines_only_its_records_and_the_rest_of_the_page_loads():
    records = [inv(f"P{i}") for i in range(6)]
    records[1] = inv("P\ufffd1")
    records[4] = inv("P4", wh="\ufffd\ufffd")
    batch = run("inventory", records)
    assert batch.tables["inventory"]["part_number"].to_list() == ["P0", "P2", "P3", "P5"]
    assert [(r["record_index"], r["field"]) for r in batch.rejects.to_dicts()] == [
        (1, "partNumber"),
        (4, "warehouse"),
    ]
    assert all(r["reason"].startswith("invalid UTF-8 in ") for r in batch.rejects.to_dicts())
    assert (batch.counts.loaded, batch.counts.rejected) == (4, 2)
    assert_counts_add_up(batch)


def test_absent_optional_timestamp_is_null_not_rejected():
    batch = run("inventory", [inv("P1", ts=...)])
    assert batch.rejects.height == 0
    assert batch.tables["inventory"]["last_updated"].to_list() == [None]


def test_one_reject_row_per_failing_field_but_the_record_counts_once():
    batch = run("inventory", [inv("P1", wh=None, qty="x", ts="soon")])
    assert sorted(r[1] for r in rejects_of(batch)) == ["lastUpdated", "quantity", "warehouse"]
    assert batch.counts.rejected == 1
    assert batch.counts.loaded == 0
    assert rejects_of(batch)[0][0] == "P1|"  # key as sent; the missing warehouse part is empty


@pytest.mark.parametrize(
    ("record", "field", "reason_start"),
    [
        (order(None), "orderId", "missing"),
        (order("O9", resellerId=None), "resellerId", "missing"),
        (order("O9", status=None), "status", "missing"),
        (order("O9", updatedAt="not a date"), "updatedAt", "not an ISO 8601 timestamp"),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1}, {"quantity": 2}]),
            "lines[1].partNumber",
            "missing",
        ),
        (
            order(
                "O9",
                lines=[{"partNumber": "A", "quantity": 1}, {"partNumber": "B", "quantity": "two"}],
            ),
            "lines[1].quantity",
            "not a whole number: 'two'",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": -1}]),
            "lines[0].quantity",
            "must be >= 0, got -1",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "unitPrice": "free"}]),
            "lines[0].unitPrice",
            "not a finite number: 'free'",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "unitPrice": "NaN"}]),
            "lines[0].unitPrice",
            "not a finite number",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "unitPrice": -2.5}]),
            "lines[0].unitPrice",
            "must be >= 0, got -2.5",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "lineNumber": "first"}]),
            "lines[0].lineNumber",
            "not a whole number",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "lineNumber": 0}]),
            "lines[0].lineNumber",
            "must be >= 1",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "lineNumber": 99999999999}]),
            "lines[0].lineNumber",
            "out of range for Int32 (-2147483648..2147483647): '99999999999'",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "lineNumber": 3000000000}]),
            "lines[0].lineNumber",
            "out of range for Int32",
        ),
        (
            order("O9", lines=[{"partNumber": "A", "quantity": 1, "lineNumber": 3e9}]),
            "lines[0].lineNumber",
            "out of range for Int32",
        ),
        (
            order("O9", lines=[{"partNumber": "A\ufffd", "quantity": 1}]),
            "lines[0].partNumber",
            "invalid UTF-8 in partNumber",
        ),
        (order("O9", resellerId="R\ufffd1"), "resellerId", "invalid UTF-8 in resellerId"),
        (order("O9", status="OP\ufffdEN"), "status", "invalid UTF-8 in status"),
    ],
)
def test_an_order_with_a_bad_field_or_line_is_rejected_whole(record, field, reason_start):
    batch = run("orders", [order("O1"), record])
    assert batch.tables["orders"]["order_id"].to_list() == ["O1"]
    assert batch.tables["order_lines"]["order_id"].to_list() == ["O1"]  # no lines of the reject
    (row,) = batch.rejects.to_dicts()
    assert row["field"] == field
    assert row["reason"].startswith(reason_start), row["reason"]
    assert row["record_key"] == record["orderId"]
    assert json.loads(row["raw_record"]) == record
    assert_counts_add_up(batch)


def test_duplicate_line_numbers_in_one_order_are_caught_by_pandera_uniqueness():
    lines = [
        {"partNumber": "A", "quantity": 1, "lineNumber": 1},
        {"partNumber": "B", "quantity": 1, "lineNumber": 1},
    ]
    batch = run("orders", [order("O1", lines=lines), order("O2")])
    assert batch.tables["orders"]["order_id"].to_list() == ["O2"]
    fields = {r[1] for r in rejects_of(batch)}
    assert fields == {"lines[0].lineNumber", "lines[1].lineNumber"}
    assert all("duplicate" in r[2] for r in rejects_of(batch))
    assert batch.counts.rejected == 1


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (shipment(None), "id"),
        (shipment("S9", orderId=None), "orderId"),
        (shipment("S9", status=None), "status"),
        (shipment("S9", deliveredDate="31/12/2026"), "deliveredDate"),
        (shipment("S9", lines=[{"partNumber": "A"}]), "lines[0].quantity"),
        (shipment("S9", lines=[{"partNumber": "A", "quantity": "-4"}]), "lines[0].quantity"),
    ],
)
def test_shipment_rejects(record, field):
    batch = run("shipments", [shipment("S1"), record])
    assert batch.tables["shipments"]["shipment_id"].to_list() == ["S1"]
    assert batch.tables["shipment_lines"].height == 0
    assert [r[1] for r in rejects_of(batch)] == [field]
    assert_counts_add_up(batch)


def test_raw_record_is_the_json_as_served_for_pages_and_the_row_for_raw_frames():
    bad = inv("P1", qty="many", warehouseName="Fort Worth, TX ✓")
    batch = run("inventory", [inv("P0"), inv("P2")], [inv("P3"), bad])
    (row,) = batch.rejects.to_dicts()
    assert (row["page_number"], row["record_index"]) == (2, 1)
    # byte for byte the text in the body (json.dumps escapes the ✓ there, so must we)
    assert row["raw_record"] == json.dumps(bad)
    assert row["raw_record"] in batch_body(2, [inv("P3"), bad])

    spaced = (
        b'{"recordsFound": "2", "nextPage": "/vendors/v1/inventory?pageNumber=2",\n'
        b' "inventory" : [ {"partNumber": "A", "warehouse": 20, "quantity": 1} ,\n'
        b'  {"partNumber": "B",  "warehouse": "20", "quantity": "x"}\n ] }'
    )
    records = pl.DataFrame(
        {"partNumber": ["A", "B"], "warehouse": ["20", "20"], "quantity": ["1", "x"]}
    )
    (row,) = normalise(
        "inventory", [FakePage("inventory", 1, spaced, records)], sync_id="s"
    ).rejects.to_dicts()
    assert row["raw_record"] == '{"partNumber": "B",  "warehouse": "20", "quantity": "x"}'

    raw = pl.DataFrame(
        {
            "partNumber": ["P1"],
            "warehouse": ["20"],
            "quantity": ["many"],
            "_page": [3],
            "_index": [7],
        }
    )
    (row,) = normalise("inventory", raw, sync_id="s").rejects.to_dicts()
    assert (row["page_number"], row["record_index"], row["field"]) == (3, 7, "quantity")
    served = json.loads(row["raw_record"])
    assert (served["partNumber"], served["warehouse"], served["quantity"]) == ("P1", "20", "many")


def test_raw_frame_input_gives_the_same_tables_as_pages():
    recs1 = [inv("P1", qty="3", ts="2026-01-01T00:00:00-02:00"), inv("P2", qty=-1)]
    recs2 = [inv("P1", qty=9, ts="2026-01-02T00:00:00Z")]
    from_pages = run("inventory", recs1, recs2)
    raw = pl.concat(
        [
            page("inventory", n, recs).records.with_columns(
                pl.lit(n, pl.Int32).alias("_page"),
                pl.int_range(pl.len(), dtype=pl.Int32).alias("_index"),
            )
            for n, recs in ((1, recs1), (2, recs2))
        ]
    )
    from_raw = normalise("inventory", raw, sync_id="sync-1")
    assert from_raw.tables["inventory"].equals(from_pages.tables["inventory"])
    assert from_raw.counts == from_pages.counts
    assert from_raw.rejects.drop("raw_record").equals(from_pages.rejects.drop("raw_record"))


def test_raw_frame_without_page_and_index_is_a_contract_error():
    with pytest.raises(ContractError, match="_page"):
        normalise("inventory", pl.DataFrame({"partNumber": ["P1"]}), sync_id="s")


# --------------------------------------------------------------------------- dedup


def test_dedup_latest_last_updated_wins_even_from_an_earlier_page():
    batch = run(
        "inventory",
        [inv("P1", qty=1, ts="2026-01-03T00:00:00Z"), inv("P2", qty=2)],
        [inv("P1", qty=9, ts="2026-01-02T00:00:00Z")],
    )
    t = batch.tables["inventory"].sort("part_number")
    assert t.select("part_number", "quantity_on_hand").rows() == [("P1", 1), ("P2", 2)]
    assert (batch.counts.fetched, batch.counts.loaded, batch.counts.deduplicated) == (3, 2, 1)


def test_dedup_compares_instants_not_text():
    # 2026-01-01T20:00-05:00 is 01:00Z on the 2nd: later than 2026-01-01T23:00Z
    batch = run(
        "inventory",
        [inv("P1", qty=1, ts="2026-01-01T20:00:00-05:00")],
        [inv("P1", qty=2, ts="2026-01-01T23:00:00Z")],
    )
    assert batch.tables["inventory"]["quantity_on_hand"].to_list() == [1]


def test_dedup_ties_go_to_the_later_page_then_the_later_index():
    same = "2026-01-01T00:00:00Z"
    batch = run(
        "inventory",
        [inv("P1", qty=1, ts=same), inv("P1", qty=2, ts=same)],
        [inv("P1", qty=3, ts=same), inv("P2", qty=7, ts=same)],
    )
    t = batch.tables["inventory"].sort("part_number")
    assert t["quantity_on_hand"].to_list() == [3, 7]
    batch = run("inventory", [inv("P1", qty=1, ts=same), inv("P1", qty=2, ts=same)])
    assert batch.tables["inventory"]["quantity_on_hand"].to_list() == [2]
    assert batch.counts.deduplicated == 1


def test_dedup_a_dated_version_beats_an_undated_one():
    batch = run(
        "inventory", [inv("P1", qty=1, ts="2026-01-01T00:00:00Z")], [inv("P1", qty=2, ts=...)]
    )
    assert batch.tables["inventory"]["quantity_on_hand"].to_list() == [1]


def test_dedup_orders_by_updated_at_keeps_the_winning_lines_only():
    old = order(
        "O1",
        updatedAt="2026-01-01T00:00:00Z",
        status="OPEN",
        lines=[{"partNumber": "A", "quantity": 1}],
    )
    new = order(
        "O1",
        updatedAt="2026-01-05T00:00:00Z",
        status="SHIPPED",
        lines=[{"partNumber": "A", "quantity": 1}, {"partNumber": "B", "quantity": 2}],
    )
    batch = run("orders", [new], [old])
    assert batch.tables["orders"]["status"].cast(pl.String).to_list() == ["SHIPPED"]
    assert batch.tables["order_lines"].select("line_number", "part_number").rows() == [
        (1, "A"),
        (2, "B"),
    ]
    assert batch.counts.deduplicated == 1


def test_dedup_by_shipment_id():
    batch = run(
        "shipments",
        [shipment("S1", status="PROCESSING", updatedAt="2026-01-01T00:00:00Z")],
        [shipment("S1", status="DELIVERED", updatedAt="2026-01-02T00:00:00Z"), shipment("S2")],
    )
    assert batch.tables["shipments"].sort("shipment_id")["status"].cast(pl.String).to_list() == [
        "DELIVERED",
        "SHIPPED",
    ]
    assert_counts_add_up(batch)


def test_a_rejected_latest_version_lets_the_older_valid_version_load():
    batch = run(
        "inventory",
        [inv("P1", qty=5, ts="2026-01-01T00:00:00Z")],
        [inv("P1", qty=-1, ts="2026-01-02T00:00:00Z")],  # negative: pandera rejects it
    )
    assert batch.tables["inventory"]["quantity_on_hand"].to_list() == [5]
    assert (batch.counts.loaded, batch.counts.rejected, batch.counts.deduplicated) == (1, 1, 0)
    assert rejects_of(batch) == [("P1|20", "quantity", "must be >= 0, got -1")]


def test_counts_add_up_on_a_mixed_batch():
    batch = run(
        "orders",
        [
            order("O1"),
            order("O2", status="weird"),
            order(None),
            order("O3", lines=[{"partNumber": "A", "quantity": "x"}]),
        ],
        [
            order("O1", updatedAt="2026-01-01T00:00:00Z"),
            order("O4", status="In Progress"),
            order("O5", lines=[]),
        ],
    )
    c = batch.counts
    assert (c.fetched, c.loaded, c.rejected, c.deduplicated) == (7, 4, 2, 1)
    assert (c.coerced, c.unknown_status) == (1, 1)  # O4's spelling; O2's unknown status
    assert sorted(batch.tables["orders"]["order_id"].to_list()) == ["O1", "O2", "O4", "O5"]
    assert batch.tables["order_lines"]["order_id"].to_list().count("O5") == 0
    assert_counts_add_up(batch)


# --------------------------------------------------------------------------- pandera itself


def _typed_inventory(**overrides: Any) -> pl.DataFrame:
    row = {
        "part_number": "P1",
        "warehouse_id": "20",
        "warehouse_name": None,
        "vendor_part_number": None,
        "quantity_on_hand": 5,
        "quantity_backordered": None,
        "quantity_on_order": None,
        "last_updated": utc(2026, 1, 1),
    }
    schema = {
        k: (v() if isinstance(v, type) else v) for k, v in EXPECTED_SCHEMAS["inventory"].items()
    }
    return pl.DataFrame([row, {**row, "part_number": "P2", **overrides}], schema=schema)


def test_pandera_model_accepts_a_good_typed_frame():
    frame = _typed_inventory()
    assert TABLE_SCHEMAS["inventory"].validate(frame, lazy=True).equals(frame)


@pytest.mark.parametrize(
    ("overrides", "column", "check"),
    [
        ({"quantity_on_hand": -1}, "quantity_on_hand", "greater_than_or_equal_to(0)"),
        ({"quantity_on_order": -7}, "quantity_on_order", "greater_than_or_equal_to(0)"),
        ({"part_number": None}, "part_number", "not_nullable"),
        ({"part_number": "P1"}, "Inventory", "multiple_fields_uniqueness"),
    ],
)
def test_pandera_step_itself_catches_bad_values(overrides, column, check):
    frame = _typed_inventory(**overrides)
    with pytest.raises(pa_errors.SchemaErrors) as info:
        TABLE_SCHEMAS["inventory"].validate(frame, lazy=True)
    cases = info.value.failure_cases
    assert (column, check) in set(cases.select("column", "check").iter_rows())


def test_pandera_rejects_wrong_dtypes_and_statuses_outside_the_enum():
    naive = _typed_inventory().with_columns(pl.col("last_updated").dt.replace_time_zone(None))
    with pytest.raises(pa_errors.SchemaErrors):
        TABLE_SCHEMAS["inventory"].validate(naive, lazy=True)
    orders = pl.DataFrame(
        {"order_id": ["O1"], "reseller_id": ["R"], "reseller_name": [None], "status": ["LOST"]},
    )
    with pytest.raises(pa_errors.SchemaErrors):
        TABLE_SCHEMAS["orders"].validate(orders, lazy=True)


def test_a_lazyframe_would_hide_the_bad_value_which_is_why_normalise_validates_collected_frames():
    frame = _typed_inventory(quantity_on_hand=-1)
    TABLE_SCHEMAS["inventory"].validate(frame.lazy(), lazy=True).collect()  # passes silently
    batch = normalise(
        "inventory",
        pl.DataFrame(
            {
                "partNumber": ["P1"],
                "warehouse": ["20"],
                "quantity": ["-1"],
                "_page": [1],
                "_index": [0],
            }
        ),
        sync_id="s",
    )
    assert batch.counts.rejected == 1


# --------------------------------------------------------------------------- edge cases


def test_pages_parsed_with_different_columns_are_conformed_to_the_wire_schema():
    full = page("orders", 1, [order("O1", resellerName="Acme")])
    seed_columns = pl.DataFrame(
        {
            "orderId": ["O2"],
            "resellerId": ["R2"],
            "status": ["OPEN"],
            "lines": [[{"partNumber": "A", "quantity": "3"}]],
        }
    )
    seed_page = FakePage("orders", 2, b"", seed_columns)
    batch = normalise("orders", [full, seed_page], sync_id="s")
    assert batch.tables["orders"].select("order_id", "reseller_name").rows() == [
        ("O1", "Acme"),
        ("O2", None),
    ]
    assert batch.tables["order_lines"].filter(pl.col("order_id") == "O2").row(0) == (
        "O2",
        1,
        "A",
        3,
        None,
        None,
        None,
        None,
    )


def test_two_versions_of_an_order_are_deduplicated_not_rejected_for_repeating_line_numbers():
    lines = [{"partNumber": "A", "quantity": 1}, {"partNumber": "B", "quantity": 2}]
    batch = run(
        "orders",
        [order("O1", updatedAt="2026-01-01T00:00:00Z", lines=lines)],
        [order("O1", updatedAt="2026-01-02T00:00:00Z", status="CLOSED", lines=lines)],
    )
    assert batch.rejects.height == 0
    assert (batch.counts.loaded, batch.counts.deduplicated) == (1, 1)
    assert batch.tables["orders"]["status"].cast(pl.String).to_list() == ["CLOSED"]
    assert batch.tables["order_lines"]["line_number"].to_list() == [1, 2]


def test_an_old_version_with_a_bad_line_is_rejected_and_the_new_one_loads():
    batch = run(
        "orders",
        [
            order(
                "O1", updatedAt="2026-01-01T00:00:00Z", lines=[{"partNumber": "A", "quantity": -5}]
            )
        ],
        [order("O1", updatedAt="2026-01-02T00:00:00Z", lines=[{"partNumber": "A", "quantity": 5}])],
    )
    assert batch.tables["order_lines"]["quantity_ordered"].to_list() == [5]
    assert (batch.counts.loaded, batch.counts.rejected, batch.counts.deduplicated) == (1, 1, 0)
    assert batch.rejects["page_number"].to_list() == [1]


def test_many_duplicates_across_pages_keep_exactly_one_row_per_key():
    pages = [
        [inv(f"P{i}", qty=p * 10 + i, ts=f"2026-01-0{p}T00:00:00Z") for i in range(20)]
        for p in range(1, 6)
    ]
    batch = run("inventory", *pages)
    t = batch.tables["inventory"].sort("quantity_on_hand")
    assert t.height == 20
    assert t["quantity_on_hand"].to_list() == [50 + i for i in range(20)]  # page 5 is latest
    assert (batch.counts.fetched, batch.counts.deduplicated) == (100, 80)


def test_negative_quantities_are_rejected_by_the_pandera_model_inside_normalise(monkeypatch):
    import pandera.polars as pa

    from vendorkit.schemas import Inventory

    class NoRangeCheck(Inventory):
        quantity_on_hand: pl.Int64 = pa.Field()  # same column, without ge=0

    raw = pl.DataFrame(
        {"partNumber": ["P1"], "warehouse": ["20"], "quantity": ["-4"], "_page": [1], "_index": [0]}
    )
    assert normalise("inventory", raw, sync_id="s").counts.rejected == 1
    from vendorkit.schemas import pipeline

    monkeypatch.setattr(pipeline, "TABLE_SCHEMAS", {**TABLE_SCHEMAS, "inventory": NoRangeCheck})
    lenient = normalise("inventory", raw, sync_id="s")
    assert lenient.counts.rejected == 0
    assert lenient.tables["inventory"]["quantity_on_hand"].to_list() == [-4]


def test_rejects_frame_satisfies_the_rejects_model():
    batch = run(
        "shipments",
        [shipment(None), shipment("S2", status=None, lines=[{"partNumber": "A", "quantity": "x"}])],
    )
    TABLE_SCHEMAS["rejects"].validate(batch.rejects, lazy=True)
    assert batch.rejects["record_key"].to_list() == [None, "S2", "S2"]
    assert sorted(batch.rejects["field"].to_list()) == ["id", "lines[0].quantity", "status"]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (inv(["P1", "P2"]), "partNumber"),
        (inv("P1", wh={"id": 20}), "warehouse"),
        (inv("P1", warehouseName=["Fort Worth"]), "warehouseName"),
        (inv("P1", qty=[1, 2]), "quantity"),
    ],
)
def test_an_array_or_object_where_a_scalar_belongs_is_quarantined(record, field):
    batch = normalise("inventory", [client_page("inventory", [inv("OK"), record])], sync_id="s")
    assert batch.tables["inventory"]["part_number"].to_list() == ["OK"]
    (row,) = batch.rejects.to_dicts()
    assert row["field"] == field
    assert row["reason"].startswith(("an array or object", "not a whole number"))
    assert json.loads(row["raw_record"]) == record


def client_page(endpoint: str, records: list[dict[str, Any]]) -> FakePage:
    """A page parsed by the client's own parser (it turns an array/object sent where a
    scalar belongs into its JSON text, for the schemas to quarantine)."""
    from vendorkit.pagination import parse_page_body

    body = json.dumps({get_endpoint(endpoint).list_key: records}).encode()
    return FakePage(endpoint, 1, body, parse_page_body(body, get_endpoint(endpoint)).records)


def test_a_structured_status_is_quarantined_not_unknown():
    batch = normalise(
        "orders", [client_page("orders", [order("O1", status=["OPEN"])])], sync_id="s"
    )
    assert batch.counts.rejected == 1
    assert batch.counts.unknown_status == 0
    assert rejects_of(batch)[0][1] == "status"


def test_brackets_inside_a_name_are_not_mistaken_for_json():
    batch = run("inventory", [inv("P1", warehouseName="[closed] Mira Loma, CA")])
    assert batch.tables["inventory"]["warehouse_name"].to_list() == ["[closed] Mira Loma, CA"]
