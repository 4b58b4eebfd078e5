"""One argument order for every helper, correct by default, and a clear error when swapped.

The frames come in the order of the data flow (inventory, orders, order_lines, shipments,
shipment_lines, histories), options are keyword-only; a fill rate never counts a cancelled
or not-yet-shipped shipment; two syncs sharing a timestamp never add up in a history.
"""

from __future__ import annotations

import inspect

import polars as pl
import pytest

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis
from vendorkit.errors import ConfigError

#: helper -> its frame arguments, in order (everything after them is keyword-only)
FRAMES = {
    "stock_by_warehouse": ["inventory"],
    "inventory_trend": ["history"],
    "days_of_supply": ["inventory", "orders", "order_lines"],
    "order_fill_rates": ["orders", "order_lines", "shipments", "shipment_lines"],
    "backorder_aging": ["orders", "order_lines", "shipments", "shipment_lines"],
    "order_lead_times": ["orders", "order_lines", "shipments", "shipment_lines"],
    "reseller_concentration": ["orders", "order_lines"],
    "shipment_lag": ["orders", "shipments"],
    "shipment_lag_detail": ["orders", "shipments"],
    "carrier_performance": ["orders", "shipments"],
    "late_shipments": ["orders", "shipments"],
}
FLOW = ["inventory", "history", "orders", "order_lines", "shipments", "shipment_lines"]


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_frames_first_in_data_flow_order_then_keyword_only(name: str) -> None:
    params = list(inspect.signature(getattr(analysis, name)).parameters.values())
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == FRAMES[name]
    assert positional == sorted(positional, key=FLOW.index)
    assert all(p.kind is p.KEYWORD_ONLY for p in params[len(positional) :])
    assert all(p.default is inspect.Parameter.empty for p in params[: len(positional)])


@pytest.fixture
def book() -> dict[str, pl.DataFrame]:
    return {
        "inventory": f.inventory(("A", "10", 5)),
        "orders": f.orders(("o1", "r1", "SHIPPED", day(1)), ("o2", "r1", "OPEN", day(2))),
        "order_lines": f.order_lines(("o1", 1, "A", 4), ("o2", 1, "A", 4)),
        "shipments": f.shipments(
            ("s1", "o1", "UPS", "DELIVERED", day(2), day(4), day(4)),
            ("s2", "o2", "UPS", "CANCELLED", day(3), day(5), None),
            ("s3", "o2", "UPS", "PROCESSING", None, day(6), None),
        ),
        "shipment_lines": f.shipment_lines(
            ("s1", "o1", 1, "A", 4), ("s2", "o2", 1, "A", 4), ("s3", "o2", 1, "A", 4)
        ),
    }


def test_fill_rate_never_counts_cancelled_or_processing_shipments(
    book: dict[str, pl.DataFrame],
) -> None:
    out = analysis.order_fill_rates(
        book["orders"], book["order_lines"], book["shipments"], book["shipment_lines"]
    ).row(0, named=True)
    # o1 shipped 4 of 4; o2's 4 units sit on a cancelled and a processing shipment: 0 of 4
    assert (out["units_ordered"], out["units_shipped"]) == (8, 4)
    assert out["unit_fill_rate"] == pytest.approx(0.5)
    # a shipment line whose shipment is not in the shipments frame does not count either
    only_s1 = book["shipments"].filter(pl.col("shipment_id") == "s1")
    lines_plus = pl.concat([book["shipment_lines"], f.shipment_lines(("s9", "o2", 1, "A", 4))])
    out = analysis.order_fill_rates(book["orders"], book["order_lines"], only_s1, lines_plus)
    assert out["units_shipped"].to_list() == [4]


@pytest.mark.parametrize(
    ("name", "swap"),
    [
        ("days_of_supply", ("orders", "order_lines")),
        ("order_fill_rates", ("orders", "order_lines")),
        ("order_fill_rates", ("shipments", "shipment_lines")),
        ("order_fill_rates", ("order_lines", "shipments")),
        ("backorder_aging", ("shipments", "shipment_lines")),
        ("order_lead_times", ("order_lines", "shipments")),
        ("reseller_concentration", ("orders", "order_lines")),
        ("shipment_lag", ("orders", "shipments")),
        ("shipment_lag_detail", ("orders", "shipments")),
        ("carrier_performance", ("orders", "shipments")),
        ("late_shipments", ("orders", "shipments")),
    ],
)
def test_swapped_frames_say_so(
    book: dict[str, pl.DataFrame], name: str, swap: tuple[str, str]
) -> None:
    args = {a: book[a] for a in FRAMES[name]}
    first, second = swap
    args[first], args[second] = args[second], args[first]
    with pytest.raises(ConfigError) as info:
        getattr(analysis, name)(*args.values())
    message = str(info.value)
    assert "look swapped" in message
    assert f"the frame passed as {first} looks like {second}" in message
    assert "load it with" not in message


def test_a_wrong_frame_names_the_loader(book: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(ConfigError, match=r"passed as shipment_lines looks like shipments.*"):
        analysis.order_fill_rates(
            book["orders"], book["order_lines"], book["shipments"], book["shipments"]
        )
    with pytest.raises(ConfigError, match=r"vendorkit\.load_shipment_lines\(\)"):
        analysis.order_fill_rates(
            book["orders"], book["order_lines"], book["shipments"], book["shipments"]
        )


# --------------------------------------------------------------------------- one snapshot per sync


def test_four_syncs_sharing_a_timestamp_never_add_up() -> None:
    # a frozen clock: four syncs of the same data, all stamped 2026-01-01 12:00
    inv = f.inventory(("A", "10", 3), ("B", "10", 4), ("A", "20", 0))
    hist = f.history(*[(n, day(1, 12), inv) for n in range(1, 5)])
    trend = analysis.inventory_trend(hist, by="warehouse", every="1d")
    assert trend.select("warehouse_id", "units_on_hand", "stockouts").rows() == [
        ("10", 7, 0),  # 3 + 4, once (not 4 x 7 = 28)
        ("20", 0, 1),
    ]
    total = analysis.inventory_trend(hist, by=None, every="1h")
    assert total["units_on_hand"].to_list() == [7]
    assert total["parts_in_stock"].to_list() == [2]
    stock = analysis.stock_by_warehouse(hist)
    assert stock["units_on_hand"].to_list() == [7, 0]


def test_a_later_sync_with_the_same_timestamp_wins() -> None:
    # sync ids sort by time: "2" is the later of two snapshots stamped alike
    hist = f.history(
        (1, day(1, 12), f.inventory(("A", "10", 3))),
        (2, day(1, 12), f.inventory(("A", "10", 9))),
    )
    assert analysis.inventory_trend(hist)["units_on_hand"].to_list() == [9]
    assert analysis.stock_by_warehouse(hist)["units_on_hand"].to_list() == [9]
    supply = analysis.days_of_supply(
        hist, f.orders(("o1", "r1", "OPEN", day(1))), f.order_lines(("o1", 1, "A", 28, "10"))
    )
    assert supply["quantity_on_hand"].to_list() == [9]


# --------------------------------------------------------------------------- first-time fill rate


def test_first_time_versus_eventual_fill_rate() -> None:
    orders = f.orders(("o1", "r1", "SHIPPED", day(1)), ("o2", "r1", "SHIPPED", day(1)))
    lines = f.order_lines(("o1", 1, "A", 10), ("o2", 1, "A", 4), ("o2", 2, "B", 6))
    ships = f.shipments(
        ("s1", "o1", "UPS", "DELIVERED", day(2), None, None),  # day 1 after the order
        ("s2", "o1", "UPS", "DELIVERED", day(9), None, None),  # 8 days after: a backorder
        ("s3", "o2", "UPS", "DELIVERED", day(3, 12), None, None),  # 2.5 days after
    )
    slines = f.shipment_lines(
        ("s1", "o1", 1, "A", 6), ("s2", "o1", 1, "A", 4), ("s3", "o2", 1, "A", 4),
        ("s3", "o2", 2, "B", 6),
    )  # fmt: skip
    out = analysis.order_fill_rates(orders, lines, ships, slines, first_time_days=3).row(
        0, named=True
    )
    # eventually everything shipped: 20/20 units, 3/3 lines, 2/2 orders
    assert (out["unit_fill_rate"], out["line_fill_rate"], out["order_fill_rate"]) == (1.0, 1.0, 1.0)
    # within 3 days: s1 (6 of o1's 10) and s3 (all of o2): 16/20 units, 2/3 lines, 1/2 orders
    assert out["units_shipped_first_time"] == 16
    assert out["first_time_unit_fill_rate"] == pytest.approx(16 / 20)
    assert out["first_time_line_fill_rate"] == pytest.approx(2 / 3)
    assert out["first_time_order_fill_rate"] == pytest.approx(1 / 2)
    # a 2-day window leaves o2 (shipped after 2.5 days) out as well
    tight = analysis.order_fill_rates(orders, lines, ships, slines, first_time_days=2)
    assert tight["first_time_unit_fill_rate"].to_list() == [pytest.approx(6 / 20)]
    # without the option the columns are not there
    assert (
        "first_time_unit_fill_rate"
        not in analysis.order_fill_rates(orders, lines, ships, slines).columns
    )
