"""stockout_forecast and rebalance_suggestions on hand-made books, against hand-worked answers."""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl
import pytest

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis
from vendorkit.errors import ConfigError, MissingFieldError

Z = 1.2815515655446004


@pytest.fixture
def book() -> dict[str, pl.DataFrame]:
    # window of 4 days ending Jan 10 00:00: (Jan 6, Jan 10]; daily demand of A@10 = [4, 0, 8, 0]
    inv = f.inventory(("A", "10", 12, 0, 6), ("Q", "10", 9, 0, None), ("Z", "10", 3, 0, 0))
    orders = f.orders(
        ("o1", "r1", "OPEN", day(10)),  # day 0
        ("o2", "r1", "OPEN", day(8)),  # day 2
        ("o3", "r1", "CANCELLED", day(9)),  # cancelled: not demand
        ("o4", "r1", "OPEN", day(6)),  # exactly at the window start: outside
        ("o5", "r1", "OPEN", day(9, 12)),  # B has demand and no inventory record
    )
    lines = f.order_lines(
        ("o1", 1, "A", 4, "10"), ("o2", 1, "A", 8, "10"), ("o3", 1, "A", 50, "10"),
        ("o4", 1, "A", 50, "10"), ("o5", 1, "B", 2, "10"), ("o5", 2, "Q", 4, "10"),
    )  # fmt: skip
    return {"inv": inv, "o": orders, "ol": lines}


def _row(frame: pl.DataFrame, part: str) -> dict[str, object]:
    return frame.filter(pl.col("part_number") == part).row(0, named=True)


def test_stockout_forecast_hand_worked(book: dict[str, pl.DataFrame]) -> None:
    out = analysis.stockout_forecast(book["inv"], book["o"], book["ol"], window_days=4)
    a = _row(out, "A")
    mean, var = 3.0, (80 - 4 * 9) / 3  # x = [4, 0, 8, 0]
    assert (a["units_ordered"], a["days_with_demand"]) == (12, 2)
    assert a["avg_daily_demand"] == pytest.approx(mean)
    assert a["std_daily_demand"] == pytest.approx(math.sqrt(var))
    assert a["supply_units"] == 18  # 12 on hand + 6 on order
    assert a["days_to_stockout_p50"] == pytest.approx(6.0)
    zs = Z * math.sqrt(var)  # d·μ + zσ√d = S
    root = (-zs + math.sqrt(zs**2 + 4 * mean * 18)) / (2 * mean)
    assert a["days_to_stockout_p90"] == pytest.approx(root**2)
    assert a["days_to_stockout_p90"] * mean + zs * math.sqrt(a["days_to_stockout_p90"]) == (
        pytest.approx(18)
    )
    assert a["stockout_date_p50"] == day(16)
    assert a["stockout_date_p90"] == day(10) + timedelta(days=root**2)
    # B: demand, no record: out of stock now
    b = _row(out, "B")
    assert (b["quantity_on_hand"], b["days_to_stockout_p50"], b["days_to_stockout_p90"]) == (
        0, 0.0, 0.0,
    )  # fmt: skip
    # Q: one order of 4 on one day; quantity_on_order null counts as 0
    q = _row(out, "Q")
    assert (q["quantity_on_order"], q["supply_units"]) == (None, 9)
    assert q["days_to_stockout_p50"] == pytest.approx(9.0)
    # Z: no demand: no forecast, listed last
    z = _row(out, "Z")
    assert z["days_to_stockout_p50"] is None and z["stockout_date_p90"] is None
    assert out["part_number"].to_list() == ["B", "A", "Q", "Z"]  # by P90 days (A 3.1, Q 3.9)


def test_stockout_forecast_options(book: dict[str, pl.DataFrame]) -> None:
    b = book
    on_hand_only = analysis.stockout_forecast(
        b["inv"], b["o"], b["ol"], window_days=4, include_on_order=False
    )
    assert _row(on_hand_only, "A")["days_to_stockout_p50"] == pytest.approx(4.0)
    with_cancelled = analysis.stockout_forecast(
        b["inv"], b["o"], b["ol"], window_days=4, include_cancelled=True
    )
    assert _row(with_cancelled, "A")["units_ordered"] == 62
    # steady demand: P90 = P50
    steady = analysis.stockout_forecast(
        f.inventory(("A", "10", 10)),
        f.orders(("o1", "r1", "OPEN", day(10)), ("o2", "r1", "OPEN", day(9))),
        f.order_lines(("o1", 1, "A", 5, "10"), ("o2", 1, "A", 5, "10")),
        window_days=2,
    )
    assert steady.select("days_to_stockout_p50", "days_to_stockout_p90").row(0) == (2.0, 2.0)
    # as_of moves the window: at Jan 8 only o2 (8 units on day 0) and o4 (day 2) count
    earlier = analysis.stockout_forecast(b["inv"], b["o"], b["ol"], window_days=4, as_of=day(8))
    assert _row(earlier, "A")["units_ordered"] == 58


def test_stockout_forecast_rejects_bad_input(book: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(ConfigError, match="window_days must be at least 2"):
        analysis.stockout_forecast(book["inv"], book["o"], book["ol"], window_days=1)
    with pytest.raises(ConfigError, match="swapped"):
        analysis.stockout_forecast(book["inv"], book["ol"], book["o"])
    no_wh = book["ol"].with_columns(pl.lit(None, dtype=pl.String).alias("warehouse_id"))
    with pytest.raises(MissingFieldError, match="warehouse_id"):
        analysis.stockout_forecast(book["inv"], book["o"], no_wh)


# --------------------------------------------------------------------------- rebalancing


@pytest.fixture
def network() -> dict[str, pl.DataFrame]:
    inv = f.inventory(
        ("A", "10", 100), ("A", "20", 50), ("A", "30", 0), ("A", "40", 10),
        ("B", "10", 5), ("B", "20", 0),
        ("C", "10", 20), ("C", "20", 0),
    )  # fmt: skip
    # one order per warehouse on Jan 28: 28 units = 1 a day over the 28-day window
    demand = {("A", "10"): 28, ("A", "20"): 28, ("A", "30"): 56, ("A", "40"): 28,
              ("B", "20"): 28, ("C", "10"): 28, ("C", "20"): 28}  # fmt: skip
    orders = f.orders(*[(f"o{i}", "r1", "OPEN", day(28)) for i in range(len(demand))])
    lines = f.order_lines(*[(f"o{i}", 1, p, q, w) for i, ((p, w), q) in enumerate(demand.items())])
    return {"inv": inv, "o": orders, "ol": lines}


def test_rebalance_hand_worked(network: dict[str, pl.DataFrame]) -> None:
    n = network
    out = analysis.rebalance_suggestions(n["inv"], n["o"], n["ol"])
    got = out.select(
        "part_number", "from_warehouse_id", "to_warehouse_id", "quantity", "from_days_after",
        "to_days_after",
    ).rows()  # fmt: skip
    assert got == [
        # A: 30 (out, 2/day) needs 56, 40 (10 days) needs 18; 10 gives up to 72, 20 up to 22
        ("A", "10", "30", 56, 44.0, 28.0),
        ("A", "10", "40", 16, 28.0, 26.0),
        ("A", "20", "40", 2, 48.0, 28.0),
        # B: the donor has no demand: it keeps one unit
        ("B", "10", "20", 4, None, 4.0),
        # C: 10 has 20 days, below the 28-day target: it gives nothing
    ]
    first = out.row(0, named=True)
    assert (first["from_days_before"], first["to_days_before"]) == (100.0, 0.0)
    assert (first["units_covered"], first["demand_days_covered"]) == (56, 28.0)
    # no donor ends below the target; every receiver ends at most at the target
    assert (out["from_days_after"].drop_nulls() >= 28).all()
    assert (out["to_days_after"] <= 28).all()


def test_rebalance_options_and_errors(network: dict[str, pl.DataFrame]) -> None:
    n = network
    # a lower target lets C@10 (20 days) give: 20 - 14 = 6 units to C@20, which needs 14
    low = analysis.rebalance_suggestions(n["inv"], n["o"], n["ol"], target_days=14, below_days=7)
    c = low.filter(pl.col("part_number") == "C")
    assert c.select("from_warehouse_id", "to_warehouse_id", "quantity").rows() == [("10", "20", 6)]
    # A@40 has 10 days: not below 7, so only A@30 receives
    assert low.filter(pl.col("part_number") == "A")["to_warehouse_id"].unique().to_list() == ["30"]
    with pytest.raises(ConfigError, match="below_days"):
        analysis.rebalance_suggestions(n["inv"], n["o"], n["ol"], target_days=7, below_days=14)
    # the same frames give the same moves (deterministic)
    again = analysis.rebalance_suggestions(n["inv"].reverse(), n["o"], n["ol"].reverse())
    assert again.equals(analysis.rebalance_suggestions(n["inv"], n["o"], n["ol"]))
