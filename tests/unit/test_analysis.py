"""Every metric of vendorkit.analysis on small hand-made frames, against hand-worked numbers.

The arithmetic behind each expected value is written in a comment next to it.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis
from vendorkit.errors import ConfigError, MissingFieldError

# --------------------------------------------------------------------------- inventory


@pytest.fixture
def inv() -> pl.DataFrame:
    # part, warehouse, on hand, backordered, on order
    return f.inventory(
        ("A", "10", 5, 0, 2),
        ("B", "10", 0, 3, None),
        ("C", "10", 7, None, None),
        ("A", "20", 0, None, None),
        ("B", "20", 4, None, None),
    )


def test_stock_by_warehouse_hand_numbers(inv: pl.DataFrame) -> None:
    out = analysis.stock_by_warehouse(inv)
    assert out["warehouse_id"].to_list() == ["10", "20"]
    assert out["part_rows"].to_list() == [3, 2]
    assert out["units_on_hand"].to_list() == [12, 4]  # 5+0+7, 0+4
    assert out["parts_in_stock"].to_list() == [2, 1]  # A, C at 10; B at 20
    assert out["stockouts"].to_list() == [1, 1]  # B at 10; A at 20
    assert out["units_backordered"].to_list() == [3, None]  # 0+3 (C null); 20 carries none
    assert out["units_on_order"].to_list() == [2, None]
    assert out["share_of_units"].to_list() == pytest.approx([0.75, 0.25])  # 12/16, 4/16


def test_stock_by_warehouse_matrix(inv: pl.DataFrame) -> None:
    out = analysis.stock_by_warehouse(inv, matrix=True)
    assert out.columns == ["part_number", "10", "20"]
    assert out.rows() == [("A", 5, 0), ("B", 0, 4), ("C", 7, None)]  # C has no row at 20


def test_stock_by_warehouse_uses_latest_snapshot_of_a_history(inv: pl.DataFrame) -> None:
    old = f.inventory(("A", "10", 100), ("Z", "30", 50))
    hist = f.history((1, day(1), old), (2, day(2), inv))
    out = analysis.stock_by_warehouse(hist)
    assert out["units_on_hand"].to_list() == [12, 4]  # the day-2 snapshot only
    assert "30" not in out["warehouse_id"].to_list()


def test_stock_by_warehouse_lazy_equals_eager(inv: pl.DataFrame) -> None:
    assert analysis.stock_by_warehouse(inv.lazy()).equals(analysis.stock_by_warehouse(inv))


def test_stock_by_warehouse_missing_column_names_api_field(inv: pl.DataFrame) -> None:
    with pytest.raises(MissingFieldError) as info:
        analysis.stock_by_warehouse(inv.drop("quantity_on_hand"))
    message = str(info.value)
    assert "quantity_on_hand" in message and "inventory[].quantity" in message


def test_stock_by_warehouse_empty_inventory() -> None:
    out = analysis.stock_by_warehouse(f.empty(f.INVENTORY_SCHEMA))
    assert out.height == 0
    assert "units_on_hand" in out.columns


def test_inventory_trend_takes_latest_snapshot_per_bucket() -> None:
    hist = f.history(
        (1, day(1, 0), f.inventory(("A", "10", 10), ("B", "20", 1))),
        (2, day(1, 12), f.inventory(("A", "10", 8), ("B", "20", 0))),
        (3, day(2, 6), f.inventory(("A", "10", 6))),  # B@20 dropped from the listing
    )
    out = analysis.inventory_trend(hist, by="warehouse", every="1d")
    # day 1 -> the 12:00 snapshot (8 at 10, 0 at 20); day 2 -> the 06:00 snapshot (6 at 10)
    assert out.select("period", "warehouse_id", "units_on_hand", "stockouts").rows() == [
        (day(1), "10", 8, 0),
        (day(1), "20", 0, 1),
        (day(2), "10", 6, 0),
    ]
    assert out["snapshot_at"].to_list() == [day(1, 12), day(1, 12), day(2, 6)]

    total = analysis.inventory_trend(hist, by=None, every="1h")
    # hourly buckets keep all three snapshots: 10+1, 8+0, 6
    assert total["units_on_hand"].to_list() == [11, 8, 6]
    assert total["parts_in_stock"].to_list() == [2, 1, 1]

    per_part = analysis.inventory_trend(hist, by="part", every="1d")
    assert per_part.filter(pl.col("part_number") == "A")["units_on_hand"].to_list() == [8, 6]


def test_inventory_trend_needs_a_history(inv: pl.DataFrame) -> None:
    with pytest.raises(MissingFieldError, match=r"snapshot_at.*inventory history"):
        analysis.inventory_trend(inv)


def test_inventory_trend_rejects_unknown_group() -> None:
    hist = f.history((1, day(1), f.inventory(("A", "10", 1))))
    with pytest.raises(ConfigError, match="cannot group by 'reseller'"):
        analysis.inventory_trend(hist, by="reseller")


# --------------------------------------------------------------------------- days of supply


@pytest.fixture
def demand() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    inventory = f.inventory(("A", "10", 10), ("A", "20", 5), ("B", "20", 2), ("C", "10", 9))
    orders = f.orders(
        ("o1", "r1", "OPEN", day(28)),  # latest order date -> default as_of
        ("o2", "r1", "SHIPPED", day(10)),
        ("o3", "r2", "OPEN", datetime(2025, 12, 31, tzinfo=day(1).tzinfo)),  # window edge: out
        ("o4", "r2", "CANCELLED", day(20)),
    )
    lines = f.order_lines(
        ("o1", 1, "A", 14, "10"),
        ("o2", 1, "A", 14, "10"),
        ("o2", 2, "B", 7, "20"),
        ("o3", 1, "A", 100, "10"),
        ("o4", 1, "B", 50, "20"),
    )
    return inventory, lines, orders


def test_days_of_supply_per_warehouse(demand: tuple[pl.DataFrame, ...]) -> None:
    inventory, lines, orders = demand
    out = analysis.days_of_supply(inventory, orders, lines, window_days=28, threshold_days=14)
    rows = {(r["part_number"], r["warehouse_id"]): r for r in out.iter_rows(named=True)}
    # window (Dec 31, Jan 28]: A@10 ordered 14+14 = 28 -> 1/day -> 10 on hand = 10 days
    assert rows[("A", "10")]["units_ordered"] == 28
    assert rows[("A", "10")]["days_of_supply"] == pytest.approx(10.0)
    assert rows[("A", "10")]["below_threshold"] is True
    # B@20: 7 units (cancelled o4 excluded) -> 0.25/day -> 2 / 0.25 = 8 days
    assert rows[("B", "20")]["avg_daily_demand"] == pytest.approx(0.25)
    assert rows[("B", "20")]["days_of_supply"] == pytest.approx(8.0)
    # no demand: null, not infinity, and not flagged
    assert rows[("A", "20")]["days_of_supply"] is None
    assert rows[("C", "10")]["days_of_supply"] is None
    assert rows[("C", "10")]["below_threshold"] is False
    # sorted by days of supply, nulls last
    assert out["days_of_supply"].to_list()[:2] == pytest.approx([8.0, 10.0])
    assert out["days_of_supply"].to_list()[2:] == [None, None]


def test_days_of_supply_per_part_and_cancelled(demand: tuple[pl.DataFrame, ...]) -> None:
    inventory, lines, orders = demand
    per_part = analysis.days_of_supply(inventory, orders, lines, by_warehouse=False)
    rows = {r["part_number"]: r for r in per_part.iter_rows(named=True)}
    assert rows["A"]["quantity_on_hand"] == 15  # 10 + 5
    assert rows["A"]["days_of_supply"] == pytest.approx(15.0)  # 15 / (28 / 28)
    assert rows["A"]["below_threshold"] is False  # 15 >= 14
    with_cancelled = analysis.days_of_supply(
        inventory, orders, lines, by_warehouse=False, include_cancelled=True
    )
    b = with_cancelled.filter(pl.col("part_number") == "B").row(0, named=True)
    assert b["units_ordered"] == 57  # 7 + 50
    assert b["days_of_supply"] == pytest.approx(2 / (57 / 28))


def test_days_of_supply_part_without_inventory_counts_zero(
    demand: tuple[pl.DataFrame, ...],
) -> None:
    inventory, lines, orders = demand
    more = pl.concat([lines, f.order_lines(("o1", 2, "D", 28, "10"))])
    out = analysis.days_of_supply(inventory, orders, more)
    d = out.filter(pl.col("part_number") == "D").row(0, named=True)
    assert (d["quantity_on_hand"], d["days_of_supply"], d["below_threshold"]) == (0, 0.0, True)


def test_days_of_supply_explicit_as_of(
    demand: tuple[pl.DataFrame, ...],
) -> None:
    inventory, lines, orders = demand
    # window (Jan 5, Jan 12]: only o2 (Jan 10) counts -> A@10 14 units over 7 days = 2/day
    out = analysis.days_of_supply(inventory, orders, lines, window_days=7, as_of=day(12))
    a = out.filter((pl.col("part_number") == "A") & (pl.col("warehouse_id") == "10")).row(
        0, named=True
    )
    assert a["days_of_supply"] == pytest.approx(5.0)  # 10 / 2


def test_days_of_supply_seed_only_orders_raise(demand: tuple[pl.DataFrame, ...]) -> None:
    inventory, lines, orders = demand
    seed_only = orders.with_columns(pl.lit(None, dtype=f.TS).alias("order_date"))
    with pytest.raises(MissingFieldError) as info:
        analysis.days_of_supply(inventory, seed_only, lines)
    assert "order_date" in str(info.value) and "orders[].orderDate" in str(info.value)


# --------------------------------------------------------------------------- fill rates


@pytest.fixture
def book() -> dict[str, pl.DataFrame]:
    """Five orders; o4 cancelled. Worked numbers in the tests."""
    orders = f.orders(
        ("o1", "r1", "OPEN", day(5)),
        ("o2", "r1", "SHIPPED", day(20)),
        ("o3", "r2", "PARTIALLY_SHIPPED", day(3, month=2)),
        ("o4", "r2", "CANCELLED", day(4, month=2)),
        ("o5", "r3", "OPEN", day(10, month=2), day(12, month=2)),
    )
    lines = f.order_lines(
        ("o1", 1, "A", 10, "10"),
        ("o1", 2, "B", 5, "10"),
        ("o2", 1, "A", 4, "20"),
        ("o3", 1, "C", 6, "10"),
        ("o3", 2, "C", 6, "10"),  # the same part on two lines
        ("o3", 3, "D", 0, "10"),  # nothing ordered: excluded from the rates
        ("o4", 1, "A", 3, "20"),
        ("o5", 1, "B", 2, "20"),
    )
    slines = f.shipment_lines(
        ("s1", "o1", 1, "A", 6),
        ("s2", "o1", 1, "A", 6),  # split shipments total 12 > 10 ordered: capped at 10
        ("s2", "o1", 2, "B", 5),
        ("s3", "o2", 1, "A", 3),
        ("s4", "o3", None, "C", 8),  # no line number: fills o3 line 1 (6), then line 2 (2)
        ("s5", "o4", 1, "A", 3),  # cancelled order
    )
    ships = f.shipments(
        ("s1", "o1", "UPS", "DELIVERED", day(6), None, day(8)),
        ("s2", "o1", "UPS", "SHIPPED", day(7), None, None),
        ("s3", "o2", "FedEx", "SHIPPED", day(21), None, None),
        ("s4", "o3", "UPS", "IN_TRANSIT", day(4, month=2), None, None),
        ("s5", "o4", "UPS", "DELIVERED", day(5, month=2), None, None),
    )
    return {"orders": orders, "lines": lines, "slines": slines, "ships": ships}


def _rates(df: pl.DataFrame) -> tuple[float, float, float]:
    return df.select("unit_fill_rate", "line_fill_rate", "order_fill_rate").row(0)


def test_order_fill_rates_overall(book: dict[str, pl.DataFrame]) -> None:
    out = analysis.order_fill_rates(book["orders"], book["lines"], book["ships"], book["slines"])
    # lines (ordered, shipped capped): o1L1 (10,10) o1L2 (5,5) o2L1 (4,3) o3L1 (6,6)
    # o3L2 (6,2) o5L1 (2,0); o4 cancelled, o3L3 ordered 0 -> excluded
    row = out.row(0, named=True)
    assert (row["orders"], row["lines"]) == (4, 6)
    assert (row["units_ordered"], row["units_shipped"]) == (33, 26)  # 10+5+4+6+6+2; 10+5+3+6+2
    assert _rates(out) == pytest.approx((26 / 33, 3 / 6, 1 / 4))  # filled lines o1L1 o1L2 o3L1


def test_order_fill_rates_include_cancelled(book: dict[str, pl.DataFrame]) -> None:
    out = analysis.order_fill_rates(
        book["orders"], book["lines"], book["ships"], book["slines"], include_cancelled=True
    )
    # o4L1 (3 ordered, 3 shipped) joins: units 36/29, lines 7/4, orders 5/2
    assert _rates(out) == pytest.approx((29 / 36, 4 / 7, 2 / 5))


def test_order_fill_rates_by_reseller_and_period(book: dict[str, pl.DataFrame]) -> None:
    by = analysis.order_fill_rates(
        book["orders"], book["lines"], book["ships"], book["slines"], by="reseller"
    )
    assert by["reseller_id"].to_list() == ["r1", "r2", "r3"]
    # r1: o1+o2 units 19 shipped 18, lines 3 filled 2, orders 2 filled 1
    # r2: o3 units 12 shipped 8, lines 2 filled 1, order not filled; r3: o5 nothing shipped
    assert by.select("unit_fill_rate", "line_fill_rate", "order_fill_rate").rows() == [
        pytest.approx((18 / 19, 2 / 3, 1 / 2)),
        pytest.approx((8 / 12, 1 / 2, 0.0)),
        pytest.approx((0.0, 0.0, 0.0)),
    ]
    monthly = analysis.order_fill_rates(
        book["orders"], book["lines"], book["ships"], book["slines"], period="1mo"
    )
    assert monthly["period"].to_list() == [day(1), day(1, month=2)]
    # January = o1, o2 (as r1 above); February = o3, o5: units 14 shipped 8, lines 3 filled 1
    assert monthly.select("unit_fill_rate", "line_fill_rate", "order_fill_rate").rows() == [
        pytest.approx((18 / 19, 2 / 3, 1 / 2)),
        pytest.approx((8 / 14, 1 / 3, 0.0)),
    ]


def test_order_fill_rates_by_part_counts_orders_within_group(
    book: dict[str, pl.DataFrame],
) -> None:
    out = analysis.order_fill_rates(
        book["orders"], book["lines"], book["ships"], book["slines"], by="part"
    )
    a = out.filter(pl.col("part_number") == "A").row(0, named=True)
    # part A: o1L1 (10/10) and o2L1 (3/4): o1 is filled within part A although o1 as a
    # whole is too; o2 is not -> order fill 1/2, units 13/14
    assert (a["orders"], a["order_fill_rate"], a["unit_fill_rate"]) == (2, 0.5, 13 / 14)


def test_order_fill_rates_shipments_status_filter(book: dict[str, pl.DataFrame]) -> None:
    ships = book["ships"].with_columns(
        pl.when(pl.col("shipment_id") == "s2")
        .then(pl.lit("CANCELLED"))
        .otherwise(pl.col("status").cast(pl.String))
        .cast(pl.Enum(f.SHIPMENTS_SCHEMA["status"].categories))
        .alias("status")
    )
    out = analysis.order_fill_rates(book["orders"], book["lines"], ships, book["slines"])
    # s2 cancelled: o1L1 has 6 of 10, o1L2 0 of 5 -> shipped 6+0+3+6+2+0 = 17;
    # filled lines: o3L1 only; filled orders: none
    assert _rates(out) == pytest.approx((17 / 33, 1 / 6, 0.0))


def test_order_fill_rates_no_shipments_and_zero_ordered(book: dict[str, pl.DataFrame]) -> None:
    none = f.empty(f.SHIPMENT_LINES_SCHEMA)
    fresh = f.orders(("n1", "r1", "OPEN", day(1)), ("n2", "r1", "PROCESSING", day(2)))
    lines = f.order_lines(("n1", 1, "A", 3), ("n2", 1, "B", 2), ("n2", 2, "C", 5))
    out = analysis.order_fill_rates(fresh, lines, f.empty(f.SHIPMENTS_SCHEMA), none)
    assert (out["orders"][0], out["units_ordered"][0]) == (2, 10)
    assert _rates(out) == (0.0, 0.0, 0.0)  # nothing shipped yet: a real 0
    zero = f.order_lines(("o1", 1, "A", 0))
    out = analysis.order_fill_rates(book["orders"], zero, book["ships"], book["slines"])
    assert out.row(0, named=True)["orders"] == 0
    assert _rates(out) == (None, None, None)  # nothing ordered: no rate, not NaN


def test_order_fill_rates_seed_only_shipments_without_lines_raise(
    book: dict[str, pl.DataFrame],
) -> None:
    none = f.empty(f.SHIPMENT_LINES_SCHEMA)
    with pytest.raises(MissingFieldError, match=r"shipments\[\]\.lines.*seed-only"):
        analysis.order_fill_rates(book["orders"], book["lines"], book["ships"], none)
    # without shipments either, orders that say SHIPPED give the same signal
    with pytest.raises(MissingFieldError, match="2 shipped or delivered orders"):
        analysis.order_fill_rates(book["orders"], book["lines"], f.empty(f.SHIPMENTS_SCHEMA), none)
    with pytest.raises(MissingFieldError, match=r"shipments\[\]\.lines"):
        analysis.backorder_aging(book["orders"], book["lines"], book["ships"], none)


def test_order_fill_rates_seed_only_lines_match_by_part() -> None:
    orders = f.orders(("o1", "r1", "OPEN", None))
    lines = f.order_lines(("o1", 1, "A", 4), ("o1", 2, "B", 4))
    slines = f.shipment_lines(("s1", "o1", None, "A", 4), ("s1", "o1", None, "B", 1))
    ships = f.shipments(("s1", "o1", "UPS", "SHIPPED", None, None, None))
    assert _rates(analysis.order_fill_rates(orders, lines, ships, slines)) == pytest.approx(
        (5 / 8, 1 / 2, 0.0)
    )
    with pytest.raises(MissingFieldError, match=r"orders\[\]\.orderDate"):
        analysis.order_fill_rates(orders, lines, ships, slines, period="1mo")
    with pytest.raises(MissingFieldError, match=r"orders\[\]\.lines\[\]\.warehouse"):
        analysis.order_fill_rates(orders, lines, ships, slines, by="warehouse")


# --------------------------------------------------------------------------- backorders


def test_backorder_aging_buckets(book: dict[str, pl.DataFrame]) -> None:
    as_of = day(12, month=2)
    out = analysis.backorder_aging(
        book["orders"], book["lines"], book["ships"], book["slines"], as_of=as_of
    )
    # open lines: o2L1 1 unit, ordered Jan 20 -> 23 days (15-30); o3L2 4 units, Feb 3 -> 9 days
    # (8-14); o5L1 2 units, Feb 10 -> 2 days (0-7); o1 complete, o4 cancelled
    assert out["age_bucket"].cast(pl.String).to_list() == ["0-7", "8-14", "15-30", "31+"]
    assert out["units_open"].to_list() == [2, 4, 1, 0]
    assert out["lines"].to_list() == [1, 1, 1, 0]
    assert out["share_of_units"].to_list() == pytest.approx([2 / 7, 4 / 7, 1 / 7, 0.0])
    # default as_of = latest order_date / updated_at = o5's updated_at, Feb 12
    assert analysis.backorder_aging(
        book["orders"], book["lines"], book["ships"], book["slines"]
    ).equals(out)
    later = analysis.backorder_aging(
        book["orders"], book["lines"], book["ships"], book["slines"], as_of=day(15, month=3)
    )
    assert later["units_open"].to_list() == [0, 0, 0, 7]  # ages 54, 40, 33 days


def test_backorder_aging_detail_and_boundaries() -> None:
    orders = f.orders(
        ("o1", "r1", "OPEN", day(1)),  # 7.0 days -> 0-7
        ("o3", "r1", "CLOSED", day(1)),  # closed short: nothing more will ship
        ("o4", "r1", "OPEN", day(9)),  # after as_of: did not exist yet
    )
    lines = f.order_lines(("o1", 1, "A", 3), ("o3", 1, "A", 5), ("o4", 1, "A", 5))
    none = f.empty(f.SHIPMENT_LINES_SCHEMA)
    no_ships = f.empty(f.SHIPMENTS_SCHEMA)
    detail = analysis.backorder_aging(orders, lines, no_ships, none, as_of=day(8), detail=True)
    assert detail.select("order_id", "quantity_open", "age_days").rows() == [("o1", 3, 7)]
    assert detail["age_bucket"].cast(pl.String).to_list() == ["0-7"]
    eight = analysis.backorder_aging(orders, lines, no_ships, none, as_of=day(9, 1), detail=True)
    assert eight.select("order_id", "age_days").rows() == [("o1", 8), ("o4", 0)]
    assert eight["age_bucket"].cast(pl.String).to_list() == ["8-14", "0-7"]


def test_backorder_aging_counts_shipments_shipped_by_as_of(
    book: dict[str, pl.DataFrame],
) -> None:
    # s4 (o3, 8 units of C) ships Feb 4: as of Feb 3 12:00 nothing of o3 has shipped
    out = analysis.backorder_aging(
        book["orders"],
        book["lines"],
        book["ships"],
        book["slines"],
        as_of=day(3, 12, month=2),
        detail=True,
    )
    o3 = out.filter(pl.col("order_id") == "o3")
    assert o3["quantity_open"].to_list() == [6, 6]


# --------------------------------------------------------------------------- resellers


def test_reseller_concentration(book: dict[str, pl.DataFrame]) -> None:
    out = analysis.reseller_concentration(book["orders"], book["lines"])
    # units: r1 = o1 15 + o2 4 = 19; r2 = o3 12 (o4 cancelled); r3 = o5 2; total 33
    assert out.select("reseller_id", "orders", "units", "rank").rows() == [
        ("r1", 2, 19, 1),
        ("r2", 1, 12, 2),
        ("r3", 1, 2, 3),
    ]
    assert out["cumulative_units_share"].to_list() == pytest.approx([19 / 33, 31 / 33, 1.0])
    assert out["reseller_share_cumulative"].to_list() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert out["reseller_name"][0] == "Reseller r1"
    summary = analysis.reseller_concentration(
        book["orders"], book["lines"], top_n=1, summary=True
    ).row(0, named=True)
    assert summary["top_n_share"] == pytest.approx(19 / 33)
    assert summary["top_fraction_resellers"] == 1  # ceil(0.2 * 3)
    assert summary["top_fraction_share"] == pytest.approx(19 / 33)
    assert summary["hhi"] == pytest.approx((19**2 + 12**2 + 2**2) / 33**2)


def test_reseller_concentration_ties_and_orders_without_lines() -> None:
    orders = f.orders(
        ("o1", "rb", "OPEN", None), ("o2", "ra", "OPEN", None), ("o3", "rc", "OPEN", None)
    )
    lines = f.order_lines(("o1", 1, "A", 5), ("o2", 1, "A", 5))  # o3 has no lines
    out = analysis.reseller_concentration(orders, lines)
    assert out.select("reseller_id", "units", "orders").rows() == [
        ("ra", 5, 1),  # tie on units broken by reseller_id
        ("rb", 5, 1),
        ("rc", 0, 1),
    ]


# --------------------------------------------------------------------------- shipment lags


@pytest.fixture
def trips() -> tuple[pl.DataFrame, pl.DataFrame]:
    orders = f.orders(
        ("o1", "r1", "SHIPPED", day(1)),
        ("o2", "r2", "SHIPPED", day(2)),
        ("o3", "r1", "CANCELLED", day(3)),
    )
    ships = f.shipments(
        # id, order, carrier, status, ship, estimated, delivered
        ("s1", "o1", "UPS", "DELIVERED", day(2, 12), day(4), day(4, 12)),
        ("s2", "o1", "UPS", "IN_TRANSIT", day(3), day(5), None),
        ("s3", "o2", "FedEx", "DELIVERED", day(2, 6), day(3), day(3, 6)),
        ("s4", "o2", "FedEx", "DELIVERED", day(4), None, day(8)),
        ("s5", "o3", "UPS", "DELIVERED", day(4), day(6), day(5)),  # cancelled order
        ("s6", "o2", "UPS", "CANCELLED", None, None, None),
    )
    return orders, ships


def test_shipment_lag_detail(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    out = analysis.shipment_lag_detail(orders, ships)
    assert out["shipment_id"].to_list() == ["s1", "s2", "s3", "s4"]
    # s1: Jan 1 -> Jan 2 12:00 = 1.5 d, transit 2.0; s2: 2.0, undelivered; s3: 0.25, 1.0;
    # s4: Jan 2 -> Jan 4 = 2.0, transit 4.0
    assert out["order_to_ship_days"].to_list() == pytest.approx([1.5, 2.0, 0.25, 2.0])
    assert out["transit_days"].to_list() == [2.0, None, 1.0, 4.0]


def test_shipment_lag_summary(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    row = analysis.shipment_lag(orders, ships).row(0, named=True)
    assert row["shipments"] == 4
    # order to ship sorted [0.25, 1.5, 2, 2]: mean 5.75/4; p50 at rank 1.5 -> (1.5+2)/2
    assert row["order_to_ship_days_mean"] == pytest.approx(1.4375)
    assert row["order_to_ship_days_p50"] == pytest.approx(1.75)
    assert row["order_to_ship_days_p25"] == pytest.approx(1.1875)  # rank .75: .25+.75*1.25
    # transit sorted [1, 2, 4]: count 3, mean 7/3, p90 at rank 1.8 -> 2 + .8*2, p95 -> 2 + .9*2
    assert row["transit_days_count"] == 3
    assert row["transit_days_mean"] == pytest.approx(7 / 3)
    assert row["transit_days_p90"] == pytest.approx(3.6)
    assert row["transit_days_p95"] == pytest.approx(3.8)
    assert "on_time_share" not in row


def test_shipment_lag_by_carrier_with_promise(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    out = analysis.shipment_lag(orders, ships, by="carrier", promise_days=5)
    assert out["carrier"].to_list() == ["FedEx", "UPS"]
    fedex, ups = out.rows(named=True)
    assert fedex["order_to_ship_days_mean"] == pytest.approx(1.125)  # (0.25 + 2) / 2
    assert fedex["transit_days_p50"] == pytest.approx(2.5)  # (1 + 4) / 2
    # as_of defaults to the latest timestamp: s4 delivered Jan 8.
    # promise 5 days: s1 due Jan 6, delivered Jan 4 12:00 -> on time; s2 due Jan 6, still in
    # transit on Jan 8 -> late; s3 due Jan 7 -> on time; s4 due Jan 7, delivered Jan 8 -> late
    assert (ups["on_time"], ups["late"], ups["on_time_share"]) == (1, 1, 0.5)
    assert (fedex["on_time"], fedex["late"], fedex["on_time_share"]) == (1, 1, 0.5)


def test_shipment_lag_promise_at_earlier_as_of(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    row = analysis.shipment_lag(orders, ships, promise_days=5, as_of=day(5)).row(0, named=True)
    # as of Jan 5: s1, s3 delivered on time; s2 undelivered but due Jan 6 -> excluded;
    # s4 delivered Jan 8 (after as_of) = undelivered then, due Jan 7 -> excluded
    assert (row["on_time"], row["late"], row["on_time_share"]) == (2, 0, 1.0)
    tight = analysis.shipment_lag(orders, ships, promise_days=3).row(0, named=True)
    # promise 3 days: s1 due Jan 4 00:00 (delivered 12:00: late), s2 late, s3 on time, s4 late
    assert (tight["on_time"], tight["late"]) == (1, 3)


def test_shipment_lag_seed_only_raises(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    seed = ships.with_columns(pl.lit(None, dtype=f.TS).alias("ship_date"))
    with pytest.raises(MissingFieldError) as info:
        analysis.shipment_lag(orders, seed)
    assert "ship_date" in str(info.value) and "shipments[].shipDate" in str(info.value)
    assert "seed-only" in str(info.value)
    with pytest.raises(MissingFieldError, match="has no column 'ship_date'"):
        analysis.shipment_lag(orders, ships.drop("ship_date"))


def test_shipment_lag_no_shipments(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, _ = trips
    row = analysis.shipment_lag(orders, f.empty(f.SHIPMENTS_SCHEMA)).row(0, named=True)
    assert row["shipments"] == 0
    assert row["order_to_ship_days_p50"] is None


def test_order_lead_times() -> None:
    orders = f.orders(("o1", "r1", "SHIPPED", day(1)), ("o2", "r2", "OPEN", day(2)))
    lines = f.order_lines(("o1", 1, "A", 10), ("o2", 1, "B", 5), ("o2", 2, "C", 5))
    ships = f.shipments(
        ("s1", "o1", "UPS", "DELIVERED", day(2, 12), None, None),
        ("s2", "o1", "UPS", "SHIPPED", day(3), None, None),
        ("s3", "o2", "UPS", "SHIPPED", day(2, 6), None, None),
        ("s4", "o2", "UPS", "SHIPPED", day(4), None, None),
    )
    slines = f.shipment_lines(
        ("s1", "o1", 1, "A", 6),
        ("s2", "o1", 1, "A", 4),  # completes o1 on Jan 3
        ("s3", "o2", 1, "B", 5),
        ("s4", "o2", 2, "C", 3),  # o2 line 2 still short
    )
    out = analysis.order_lead_times(orders, lines, ships, slines)
    assert out.select(
        "order_id", "shipments", "days_to_first_shipment", "days_to_complete"
    ).rows() == [("o1", 2, 1.5, 2.0), ("o2", 2, 0.25, None)]
    # s4 without a line number, now shipping all 5 of C: o2 complete on Jan 4 = 2.0 days
    slines2 = f.shipment_lines(
        ("s1", "o1", 1, "A", 6),
        ("s2", "o1", 1, "A", 4),
        ("s3", "o2", 1, "B", 5),
        ("s4", "o2", None, "C", 5),
    )
    out2 = analysis.order_lead_times(orders, lines, ships, slines2)
    assert out2["days_to_complete"].to_list() == [2.0, 2.0]


def test_order_lead_times_pools_a_part_shipped_partly_without_line_numbers() -> None:
    orders = f.orders(("o1", "r1", "SHIPPED", day(1)))
    lines = f.order_lines(("o1", 1, "A", 4), ("o1", 2, "A", 4))
    ships = f.shipments(
        ("s1", "o1", "UPS", "SHIPPED", day(2), None, None),
        ("s2", "o1", "UPS", "SHIPPED", day(3), None, None),
    )
    slines = f.shipment_lines(("s1", "o1", 1, "A", 4), ("s2", "o1", None, "A", 4))
    out = analysis.order_lead_times(orders, lines, ships, slines)
    # pooled: 8 of part A ordered; 4 shipped Jan 2, 8 by Jan 3 -> complete after 2 days
    assert out.select("days_to_first_shipment", "days_to_complete").row(0) == (1.0, 2.0)
    # the fill rate agrees that the order is complete
    assert analysis.order_fill_rates(orders, lines, ships, slines)["order_fill_rate"][0] == 1.0


# --------------------------------------------------------------------------- carriers


def test_carrier_performance(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    out = analysis.carrier_performance(orders, ships)
    fedex, ups = out.rows(named=True)
    # UPS: s1 (delivered Jan 4 12:00, estimate Jan 4: same day -> on time), s2 (in transit,
    # estimate Jan 5 < as_of Jan 8 -> late); s5 is on a cancelled order, s6 cancelled
    assert (ups["shipments"], ups["delivered"], ups["in_transit"]) == (2, 1, 1)
    assert ups["share_in_transit"] == 0.5
    assert (ups["on_time"], ups["late"], ups["on_time_share"]) == (1, 1, 0.5)
    assert (ups["transit_days_p50"], ups["transit_days_p90"]) == (2.0, 2.0)
    # FedEx: s3 on time (Jan 3 vs Jan 3); s4 has no estimate -> excluded without promise_days
    assert (fedex["on_time"], fedex["late"], fedex["on_time_share"]) == (1, 0, 1.0)
    assert fedex["transit_days_p50"] == pytest.approx(2.5)  # (1 + 4) / 2
    assert fedex["transit_days_p90"] == pytest.approx(3.7)  # 1 + 0.9 * 3
    # fall back to the promise: s4 due Jan 2 + 5 = Jan 7, delivered Jan 8 -> late
    fb = analysis.carrier_performance(orders, ships, promise_days=5).row(0, named=True)
    assert (fb["carrier"], fb["on_time"], fb["late"]) == ("FedEx", 1, 1)


def test_carrier_performance_seed_only_is_graceful(
    trips: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    orders, ships = trips
    dates = ["ship_date", "estimated_delivery_date", "delivered_date"]
    seed = ships.with_columns([pl.lit(None, dtype=f.TS).alias(c) for c in dates])
    seed_orders = orders.with_columns(pl.lit(None, dtype=f.TS).alias("order_date"))
    with pytest.raises(MissingFieldError, match="as_of"):
        analysis.carrier_performance(seed_orders, seed)  # no timestamps at all
    out = analysis.carrier_performance(seed_orders, seed, as_of=day(8))
    _fedex, ups = out.rows(named=True)
    # status only: UPS s1 DELIVERED, s2 IN_TRANSIT -> 1 of 2 in transit
    assert (ups["shipments"], ups["in_transit"], ups["share_in_transit"]) == (2, 1, 0.5)
    assert (ups["transit_days_p50"], ups["on_time_share"]) == (None, None)


# --------------------------------------------------------------------------- late shipments


def test_late_shipments(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    more = pl.concat(
        [
            ships,
            f.shipments(
                ("s7", "o1", "UPS", "SHIPPED", day(3), day(7, 12), None),  # 0.5 day late
                ("s8", "o1", "UPS", "SHIPPED", day(3), day(8), None),  # due today: not late
                ("s9", "o1", "UPS", "DELIVERED", day(3), day(4), None),  # delivered, no date
            ),
        ]
    )
    out = analysis.late_shipments(orders, more)
    # as_of = Jan 8 (s4's delivery); s2 estimate Jan 5 -> 3 days late, worst first
    assert out.select("shipment_id", "days_late").rows() == [("s2", 3.0), ("s7", 0.5)]
    assert out["reseller_id"].to_list() == ["r1", "r1"]
    # as of Jan 4 18:00 s2 is not yet due; s4 (delivered later, no estimate) never listed
    assert analysis.late_shipments(orders, more, as_of=day(4, 18)).height == 0


def test_late_shipments_counts_deliveries_after_as_of_as_open() -> None:
    orders = f.orders(("o1", "r1", "SHIPPED", day(1)))
    ships = f.shipments(("s1", "o1", "UPS", "DELIVERED", day(2), day(3), day(9)))
    out = analysis.late_shipments(orders, ships, as_of=day(5))
    assert out["days_late"].to_list() == [2.0]  # Jan 5 - Jan 3; delivered only on Jan 9
    assert analysis.late_shipments(orders, ships).height == 0  # as of Jan 9: delivered


def test_naive_as_of_is_taken_as_utc(trips: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    orders, ships = trips
    naive = datetime(2026, 1, 8)
    assert analysis.late_shipments(orders, ships, as_of=naive).equals(
        analysis.late_shipments(orders, ships, as_of=day(8))
    )


def test_front_door_exports_the_helpers() -> None:
    import vendorkit

    for name in (
        "stock_by_warehouse",
        "inventory_trend",
        "days_of_supply",
        "order_fill_rates",
        "shipment_lag",
        "shipment_lag_detail",
        "order_lead_times",
        "carrier_performance",
        "backorder_aging",
        "reseller_concentration",
        "late_shipments",
    ):
        assert name in vendorkit.__all__
        assert getattr(vendorkit, name) is getattr(analysis, name)


def test_every_helper_takes_lazy_frames(
    book: dict[str, pl.DataFrame], trips: tuple[pl.DataFrame, pl.DataFrame], inv: pl.DataFrame
) -> None:
    orders, ships = trips
    o, ol, sl, s = book["orders"], book["lines"], book["slines"], book["ships"]
    hist = f.history((1, day(1), inv), (2, day(2), inv))
    calls = {
        "stock": lambda L: analysis.stock_by_warehouse(L(inv)),
        "trend": lambda L: analysis.inventory_trend(L(hist)),
        "supply": lambda L: analysis.days_of_supply(L(inv), L(o), L(ol)),
        "fill": lambda L: analysis.order_fill_rates(L(o), L(ol), L(s), L(sl)),
        "aging": lambda L: analysis.backorder_aging(L(o), L(ol), L(s), L(sl)),
        "resellers": lambda L: analysis.reseller_concentration(L(o), L(ol)),
        "lag": lambda L: analysis.shipment_lag(L(orders), L(ships), by="carrier", promise_days=5),
        "lead": lambda L: analysis.order_lead_times(L(o), L(ol), L(s), L(sl)),
        "carriers": lambda L: analysis.carrier_performance(L(orders), L(ships)),
        "late": lambda L: analysis.late_shipments(L(orders), L(ships)),
    }
    for name, call in calls.items():
        eager = call(lambda df: df)
        lazy = call(lambda df: df.lazy())
        assert isinstance(lazy, pl.DataFrame), name
        assert lazy.equals(eager), name
        assert eager.height > 0, name
