"""otif and perfect_order_rate on a hand-made book, against hand-worked answers."""

from __future__ import annotations

import polars as pl
import pytest

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis
from vendorkit.analysis.service import promised_dates
from vendorkit.errors import ConfigError


@pytest.fixture
def book() -> dict[str, pl.DataFrame]:
    orders = f.orders(
        ("o1", "r1", "DELIVERED", day(1)),  # in full, on time
        ("o2", "r1", "DELIVERED", day(1)),  # in full, delivered a day after the promise
        ("o3", "r2", "DELIVERED", day(1)),  # short-shipped and final: decided, not in full
        ("o4", "r2", "OPEN", day(1)),  # shipped half, waiting: open
        ("o5", "r2", "CANCELLED", day(1)),  # excluded from OTIF; a failure of perfect order
    )
    lines = f.order_lines(
        ("o1", 1, "A", 2), ("o2", 1, "A", 2), ("o3", 1, "A", 4), ("o4", 1, "A", 4),
        ("o5", 1, "A", 1),
    )  # fmt: skip
    ships = f.shipments(
        ("s1", "o1", "UPS", "DELIVERED", day(2), day(5), day(5, 20)),
        # promised Jan 4 first (history), later re-estimated to Jan 6: the promise stays Jan 4
        ("s2", "o2", "UPS", "DELIVERED", day(2), day(6), day(5)),
        ("s3", "o3", "UPS", "DELIVERED", day(2), day(5), day(4)),
        ("s4", "o4", "UPS", "DELIVERED", day(2), day(5), day(4)),
    )
    slines = f.shipment_lines(
        ("s1", "o1", 1, "A", 2), ("s2", "o2", 1, "A", 2), ("s3", "o3", 1, "A", 3),
        ("s4", "o4", 1, "A", 2),
    )  # fmt: skip
    ssh = pl.DataFrame(
        {
            "shipment_id": ["s2", "s2"],
            "status": ["SHIPPED", "IN_TRANSIT"],
            "observed_at": [day(2), day(3)],
            "sync_id": ["1", "2"],
            "estimated_delivery_date": [day(4), day(6)],
        },
        schema_overrides={"observed_at": f.TS, "estimated_delivery_date": f.TS},
    )
    osh = pl.DataFrame(
        {
            "order_id": ["o1", "o1", "o2"],
            "status": ["BACKORDERED", "DELIVERED", "DELIVERED"],
            "observed_at": [day(2), day(6), day(6)],
            "sync_id": ["1", "3", "3"],
        },
        schema_overrides={"observed_at": f.TS},
    )
    return {"o": orders, "ol": lines, "s": ships, "sl": slines, "ssh": ssh, "osh": osh}


def test_promise_is_the_first_estimate_observed(book: dict[str, pl.DataFrame]) -> None:
    p = promised_dates(book["s"], book["ssh"])
    row = p.filter(pl.col("shipment_id") == "s2").row(0, named=True)
    assert (row["promised_date"], row["promise_source"]) == (day(4), "first observed")
    other = p.filter(pl.col("shipment_id") == "s1").row(0, named=True)
    assert (other["promised_date"], other["promise_source"]) == (day(5), "current estimate")


def test_otif_hand_worked(book: dict[str, pl.DataFrame]) -> None:
    b = book
    out = analysis.otif(b["o"], b["ol"], b["s"], b["sl"], b["ssh"], as_of=day(9)).row(0, named=True)
    # decided: o1, o2, o3 (o4 open; o5 cancelled, excluded)
    assert (out["orders"], out["open_orders"], out["decided"]) == (4, 1, 3)
    # in full: o1, o2; on time: o1 (Jan 5 on the 5th), o3 (Jan 4 before the 5th); o2 late
    # against its first promise (Jan 4) although the later estimate said Jan 6
    assert (out["in_full"], out["on_time"], out["otif"]) == (2, 2, 1)
    assert out["otif_rate"] == pytest.approx(1 / 3)
    # one day of tolerance forgives o2
    tolerant = analysis.otif(b["o"], b["ol"], b["s"], b["sl"], b["ssh"], tolerance_days=1)
    assert tolerant["otif"].to_list() == [2]
    # without the history the current estimate (Jan 6) is the promise: o2 on time
    assert analysis.otif(b["o"], b["ol"], b["s"], b["sl"])["otif"].to_list() == [2]
    by = analysis.otif(b["o"], b["ol"], b["s"], b["sl"], b["ssh"], by="reseller")
    assert by.select("reseller_id", "decided", "otif").rows() == [("r1", 2, 1), ("r2", 1, 0)]


def test_perfect_order_rate_hand_worked(book: dict[str, pl.DataFrame]) -> None:
    b = book
    out = analysis.perfect_order_rate(
        b["o"], b["ol"], b["s"], b["sl"], b["osh"], b["ssh"], as_of=day(9)
    ).row(0, named=True)
    # decided: o1, o2, o3 + cancelled o5 = 4; o1 was backordered along the way, o2 late,
    # o3 short, o5 cancelled: no perfect order
    assert (out["decided"], out["open_orders"], out["perfect"]) == (4, 1, 0)
    assert out["failed_in_full"] == pytest.approx(1 / 4)  # o3
    assert out["failed_on_time"] == pytest.approx(1 / 4)  # o2
    assert out["cancelled"] == pytest.approx(1 / 4)  # o5
    assert out["backordered"] == pytest.approx(1 / 4)  # o1
    # with a day of tolerance and no history of backorders, o1 and o2 are perfect
    clean = b["osh"].filter(pl.col("status") != "BACKORDERED")
    easy = analysis.perfect_order_rate(
        b["o"], b["ol"], b["s"], b["sl"], clean, b["ssh"], tolerance_days=1
    )
    assert easy.select("perfect", "perfect_order_rate").row(0) == (2, 0.5)


@pytest.fixture
def split() -> dict[str, pl.DataFrame]:
    """p1 ships its two lines from two warehouses by two carriers; p2 short; p3 unshipped."""
    orders = f.orders(
        ("p1", "r1", "DELIVERED", day(1)),
        ("p2", "r1", "SHIPPED", day(1)),  # short and final: decided, not in full
        ("p3", "r2", "OPEN", day(1)),  # nothing shipped: open, in the null group
    )
    lines = f.order_lines(
        ("p1", 1, "A", 2, "10"), ("p1", 2, "B", 2, "20"), ("p2", 1, "A", 4, "10"),
        ("p3", 1, "A", 1, "10"),
    )  # fmt: skip
    ships = f.shipments(
        ("t1", "p1", "UPS", "DELIVERED", day(2), day(5), day(5)),  # on time
        ("t2", "p1", "FedEx", "DELIVERED", day(2), day(5), day(6)),  # a day late
        ("t3", "p2", "UPS", "DELIVERED", day(2), day(5), day(4)),  # on time, 3 of 4
    ).with_columns(pl.Series("warehouse_id", ["10", "20", "10"]))
    slines = f.shipment_lines(
        ("t1", "p1", 1, "A", 2), ("t2", "p1", None, "B", 2), ("t3", "p2", 1, "A", 3)
    )
    return {"o": orders, "ol": lines, "s": ships, "sl": slines}


def test_otif_at_line_level(split: dict[str, pl.DataFrame]) -> None:
    b = split
    order = analysis.otif(b["o"], b["ol"], b["s"], b["sl"], as_of=day(9)).row(0, named=True)
    # p1 in full but late (t2), p2 on time but short: no order is OTIF; p3 open
    assert (order["orders"], order["open_orders"], order["decided"], order["otif"]) == (3, 1, 2, 0)
    line = analysis.otif(b["o"], b["ol"], b["s"], b["sl"], level="line", as_of=day(9))
    row = line.row(0, named=True)
    # p1 line 1 OTIF; p1 line 2 (shipped by part, t2) late; p2 line 1 short; p3 line 1 open
    assert (row["lines"], row["open_lines"], row["decided"]) == (4, 1, 3)
    assert (row["in_full"], row["on_time"], row["otif"]) == (2, 2, 1)
    assert row["otif_rate"] == pytest.approx(1 / 3)


def test_otif_by_carrier_and_warehouse(split: dict[str, pl.DataFrame]) -> None:
    b = split
    cols = ["decided", "otif", "open_orders"]
    by_carrier = analysis.otif(b["o"], b["ol"], b["s"], b["sl"], by="carrier", as_of=day(9))
    # p1 counts under both carriers (two shipments); p3 has no shipment: the null group
    assert by_carrier.select("carrier", *cols).rows() == [
        ("FedEx", 1, 0, 0),
        ("UPS", 2, 0, 0),
        (None, 0, 0, 1),
    ]
    lines = analysis.otif(
        b["o"], b["ol"], b["s"], b["sl"], level="line", by="warehouse", as_of=day(9)
    )
    assert lines.select("warehouse_id", "decided", "otif", "open_lines").rows() == [
        ("10", 2, 1, 0),
        ("20", 1, 0, 0),
        (None, 0, 0, 1),
    ]
    by_month = analysis.otif(
        b["o"], b["ol"], b["s"], b["sl"], level="line", period="1mo", as_of=day(9)
    )
    assert by_month.select("period", "decided").rows() == [(day(1), 3)]
    with pytest.raises(ConfigError, match="cannot group by 'part'"):
        analysis.otif(b["o"], b["ol"], b["s"], b["sl"], by="part")
    with pytest.raises(ConfigError, match="level must be"):
        analysis.otif(b["o"], b["ol"], b["s"], b["sl"], level="unit")
