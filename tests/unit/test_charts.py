"""vendorkit.charts: specs checked through to_dict() (marks, encodings, titles, data size)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import pytest

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis, charts
from vendorkit.errors import ConfigError, MissingFieldError

AS_OF = day(8)
AS_OF_TEXT = "as of 2026-01-08 00:00 UTC"


@pytest.fixture(autouse=True)
def _default_theme() -> Iterator[None]:
    """Each test starts from Altair's default theme and leaves the active theme as it was."""
    with alt.theme.enable("default"):
        yield


def _data(spec: dict[str, Any], layer: int | None = None) -> list[dict[str, Any]]:
    """The embedded rows of a chart (or of one layer of a layered chart)."""
    unit = spec if layer is None else spec["layer"][layer]
    data = unit.get("data", spec.get("data"))  # layers sharing data have it hoisted
    assert data is not None
    return spec["datasets"][data["name"]]


def _subtitle(spec: dict[str, Any]) -> str:
    subtitle = spec["title"]["subtitle"]
    assert len(subtitle) == 1  # one line
    return str(subtitle[0])


# --------------------------------------------------------------------------- theme


def test_theme_registered_and_enabled_on_first_chart() -> None:
    assert charts.THEME_NAME in alt.theme.names()
    assert alt.theme.active == "default"
    charts.stock_by_warehouse_chart(pl.DataFrame({"warehouse_id": ["10"], "units_on_hand": [1]}))
    assert alt.theme.active == "vendorkit"


def test_theme_leaves_a_user_theme_alone() -> None:
    with alt.theme.enable("dark"):
        charts.stock_by_warehouse_chart(
            pl.DataFrame({"warehouse_id": ["10"], "units_on_hand": [1]})
        )
        assert alt.theme.active == "dark"


def test_theme_config_reaches_the_spec() -> None:
    chart = charts.stock_by_warehouse_chart(
        pl.DataFrame({"warehouse_id": ["10"], "units_on_hand": [1]})
    )
    config = chart.to_dict()["config"]
    assert config["title"]["anchor"] == "start"
    assert config["view"]["stroke"] is None


# --------------------------------------------------------------------------- inventory


def test_stock_by_warehouse_chart_spec() -> None:
    inv = f.inventory(("A", "10", 5), ("B", "10", 0), ("A", "20", 2), warehouse_name="Mira Loma")
    spec = charts.stock_by_warehouse_chart(
        analysis.stock_by_warehouse(inv), source="sandbox", as_of=AS_OF
    ).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "units_on_hand"
    assert spec["encoding"]["y"]["field"] == "warehouse"
    assert spec["title"]["text"] == "Where is the stock?"
    subtitle = _subtitle(spec)
    assert subtitle.startswith("sandbox data · " + AS_OF_TEXT)
    assert "sum of quantity_on_hand" in subtitle
    rows = {r["warehouse"]: r["units_on_hand"] for r in _data(spec)}
    assert rows == {"10 Mira Loma": 5, "20 Mira Loma": 2}


def test_api_source_and_bad_source() -> None:
    stock = pl.DataFrame({"warehouse_id": ["10"], "units_on_hand": [1]})
    spec = charts.stock_by_warehouse_chart(stock, source="api").to_dict()
    assert _subtitle(spec).startswith("Vendor API data · ")
    with pytest.raises(ConfigError, match="source must be"):
        charts.stock_by_warehouse_chart(stock, source="prod")


def test_stock_heatmap_families_from_matrix_and_inventory() -> None:
    inv = f.inventory(("AB-1", "10", 1), ("AB-2", "10", 2), ("AB-2", "20", 5), ("CD-1", "20", 3))
    matrix = analysis.stock_by_warehouse(inv, matrix=True)
    for frame in (matrix, inv):
        spec = charts.stock_heatmap(frame, source="sandbox").to_dict()
        assert spec["mark"]["type"] == "rect"
        assert spec["encoding"]["x"]["field"] == "warehouse_id"
        assert spec["encoding"]["y"]["field"] == "family"
        assert spec["encoding"]["color"]["field"] == "units_on_hand"
        cells = {(r["family"], r["warehouse_id"]): r["units_on_hand"] for r in _data(spec)}
        assert cells == {("AB", "10"): 3, ("AB", "20"): 5, ("CD", "20"): 3}  # 1+2, 5, 3


def test_stock_heatmap_picks_a_prefix_length_for_plain_part_numbers() -> None:
    parts = [f"{a}{b}{i}" for a in "ABCDEFGHIJ" for b in "KLMNOPQRST" for i in range(5)]
    inv = pl.DataFrame(
        {"part_number": parts, "warehouse_id": ["10"] * 500, "quantity_on_hand": [1] * 500}
    )
    # 4 or 3 characters: 500 families; 2: 100 families; 1: 10 families <= 40
    spec = charts.stock_heatmap(inv, max_families=40).to_dict()
    rows = _data(spec)
    assert sorted(r["family"] for r in rows) == list("ABCDEFGHIJ")
    assert {r["units_on_hand"] for r in rows} == {50}  # 10 x 5 parts of 1 unit each
    assert "family = first character of the part number" in _subtitle(spec)
    spec2 = charts.stock_heatmap(inv, family_chars=2, max_families=200).to_dict()
    assert len(_data(spec2)) == 100
    assert "first 2 characters" in _subtitle(spec2)


def test_stock_heatmap_caps_families() -> None:
    n = 3000
    inv = pl.DataFrame(
        {
            "part_number": [f"F{i:04d}-X" for i in range(n)],
            "warehouse_id": ["10"] * n,
            "quantity_on_hand": list(range(n)),
        }
    )
    spec = charts.stock_heatmap(inv, max_families=5).to_dict()
    rows = _data(spec)
    assert len(rows) == 6  # the 5 largest families + "other"
    assert rows[-1]["family"] == "other"
    assert spec["encoding"]["y"]["sort"][-1] == "other"
    assert "part number up to '-'" in _subtitle(spec)
    assert sum(r["units_on_hand"] for r in rows) == n * (n - 1) // 2  # nothing lost


def test_inventory_trend_chart_lumps_many_series() -> None:
    parts = 5000
    hist = pl.concat(
        [
            pl.DataFrame(
                {
                    "sync_id": [str(d)] * parts,
                    "snapshot_at": [day(d)] * parts,
                    "part_number": [f"P{i}" for i in range(parts)],
                    "warehouse_id": ["10"] * parts,
                    "quantity_on_hand": list(range(parts)),
                }
            )
            for d in (1, 2, 3)
        ]
    )
    trend = analysis.inventory_trend(hist, by="part")
    assert trend.height == 15000
    spec = charts.inventory_trend_chart(trend, source="sandbox").to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["field"] == "period"
    assert spec["encoding"]["color"]["field"] == "part_number"
    rows = _data(spec)
    assert len(rows) == 33  # (10 largest parts + "other") x 3 days
    other = [r for r in rows if r["part_number"] == "other"]
    # parts 0..4989 summed: 4989 * 4990 / 2 per day
    assert {r["units_on_hand"] for r in other} == {4989 * 4990 // 2}
    assert "as of 2026-01-03 00:00 UTC" in _subtitle(spec)  # defaults to the last snapshot


def test_days_of_supply_chart() -> None:
    supply = pl.DataFrame(
        {
            "part_number": ["A", "B", "C", "D"],
            "days_of_supply": [3.0, 40.0, None, 10.0],
            "below_threshold": [True, False, False, True],
        }
    )
    spec = charts.days_of_supply_chart(supply, top=2, threshold_days=14).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "text", "rule"]
    assert [r["item"] for r in _data(spec, 0)] == ["A", "D"]  # the 2 lowest, nulls dropped
    assert spec["layer"][1]["encoding"]["text"]["field"] == "days_of_supply"
    assert _data(spec, 2) == [{"threshold_days": 14.0}]
    assert spec["title"]["text"] == "Lowest days of supply (top 2)"
    assert "2 of 4 below 14 days" in _subtitle(spec)  # A (3) and D (10); C has no demand


# --------------------------------------------------------------------------- orders


def test_fill_rate_chart_by_period() -> None:
    rates = pl.DataFrame(
        {
            "period": [day(1), day(1, month=2)],
            "orders": [40, 2],
            "unit_fill_rate": [0.9, 0.5],
            "line_fill_rate": [0.8, 0.4],
            "order_fill_rate": [0.7, 0.0],
        }
    )
    spec = charts.fill_rate_chart(rates, source="sandbox").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "point", "point"]
    line = spec["layer"][0]
    # one ordinal tick per month, under its points (not a continuous time axis)
    assert line["encoding"]["x"]["field"] == "period"
    assert line["encoding"]["x"]["type"] == "ordinal"
    assert line["encoding"]["x"]["timeUnit"] == "utcyearmonth"
    assert line["encoding"]["y"]["field"] == "rate"
    assert line["encoding"]["color"]["field"] == "metric"
    rows = _data(spec)
    assert len(rows) == 6  # 2 periods x 3 rates
    assert {r["metric"] for r in rows} == {"unit fill rate", "line fill rate", "order fill rate"}
    # February has 2 orders (< 30): incomplete, drawn hollow and named in the subtitle
    assert {r["rate"]: r["incomplete"] for r in rows if r["metric"] == "unit fill rate"} == {
        0.9: False,
        0.5: True,
    }
    assert spec["layer"][2]["mark"]["filled"] is False
    assert "hollow = incomplete period: Feb 2026" in _subtitle(spec)
    assert "as of" not in _subtitle(spec)  # period starts are not an as-of time
    assert "shipped (capped) / ordered" in _subtitle(spec)
    with_as_of = charts.fill_rate_chart(rates, source="sandbox", as_of=AS_OF).to_dict()
    assert _subtitle(with_as_of).startswith("sandbox data · " + AS_OF_TEXT)


def test_fill_rate_chart_marks_a_month_not_over_at_as_of() -> None:
    rates = pl.DataFrame(
        {
            "period": [day(1), day(1, month=2)],
            "orders": [40, 40],
            "unit_fill_rate": [0.9, 0.5],
            "line_fill_rate": [0.8, 0.4],
            "order_fill_rate": [0.7, 0.0],
        }
    )
    # data taken on Feb 10: February is not over
    spec = charts.fill_rate_chart(rates, as_of=day(10, month=2)).to_dict()
    flags = {r["rate"]: r["why_incomplete"] for r in _data(spec) if r["metric"] == "unit fill rate"}
    assert flags == {0.9: "", 0.5: "period not over at as-of"}
    # on Mar 1 both months are complete, and nothing is named
    done = charts.fill_rate_chart(rates, as_of=day(1, month=3)).to_dict()
    assert "hollow" not in _subtitle(done)
    # fewer orders are fine with a lower threshold
    small = charts.fill_rate_chart(rates.with_columns(pl.lit(5).alias("orders")), min_orders=5)
    assert "hollow" not in _subtitle(small.to_dict())


def test_fill_rate_chart_by_group_and_overall() -> None:
    grouped = pl.DataFrame(
        {
            "reseller_id": ["r1", "r2"],
            "unit_fill_rate": [0.9, 0.5],
            "line_fill_rate": [0.8, 0.4],
            "order_fill_rate": [0.7, 0.0],
        }
    )
    spec = charts.fill_rate_chart(grouped).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "reseller_id"
    assert spec["encoding"]["xOffset"]["field"] == "metric"
    overall = charts.fill_rate_chart(grouped.drop("reseller_id").head(1)).to_dict()
    assert overall["encoding"]["x"]["field"] == "metric"
    with pytest.raises(MissingFieldError, match="order_fill_rates"):
        charts.fill_rate_chart(grouped.drop("line_fill_rate"))


def test_fill_rate_chart_lumps_groups_with_weighted_rates() -> None:
    n = 20
    grouped = pl.DataFrame(
        {
            "part_number": [f"P{i:02d}" for i in range(n)],
            "orders": [1] * n,
            "lines": [1] * n,
            "units_ordered": [100 - i for i in range(n)],
            "unit_fill_rate": [1.0] * 12 + [0.5] * 8,
            "line_fill_rate": [1.0] * 12 + [0.0] * 8,
            "order_fill_rate": [1.0] * 12 + [0.0] * 8,
        }
    )
    rows = _data(charts.fill_rate_chart(grouped).to_dict())
    other = {r["metric"]: r["rate"] for r in rows if r["part_number"] == "other"}
    # the 8 smallest (units 88..81) all at 0.5 unit fill -> weighted 0.5; line/order fill 0
    assert other == pytest.approx(
        {"unit fill rate": 0.5, "line fill rate": 0.0, "order fill rate": 0.0}
    )


def test_backorder_aging_chart() -> None:
    aging = pl.DataFrame(
        {
            "age_bucket": pl.Series(analysis.AGE_BUCKETS).cast(pl.Enum(analysis.AGE_BUCKETS)),
            "lines": [1, 0, 1, 1],
            "units_open": [5, 0, 2, 1],
        }
    )
    spec = charts.backorder_aging_chart(aging, source="sandbox", as_of=AS_OF).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["sort"] == ["0-7", "8-14", "15-30", "31+"]
    assert spec["encoding"]["y"]["field"] == "units_open"
    assert [r["units_open"] for r in _data(spec)] == [5, 0, 2, 1]
    assert AS_OF_TEXT in _subtitle(spec)


def test_reseller_pareto_chart_thins_points() -> None:
    n = 10_000
    orders = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "reseller_id": [f"r{i:05d}" for i in range(n)],
            "status": ["OPEN"] * n,
        }
    )
    lines = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "part_number": ["A"] * n,
            "quantity_ordered": [i + 1 for i in range(n)],
        }
    )
    conc = analysis.reseller_concentration(orders, lines)
    spec = charts.reseller_pareto_chart(conc, source="sandbox").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    line = spec["layer"][0]
    assert line["encoding"]["x"]["field"] == "reseller_share_cumulative"
    assert line["encoding"]["y"]["field"] == "cumulative_units_share"
    rows = _data(spec, 0)
    assert len(rows) <= 1002
    assert (rows[0]["reseller_share_cumulative"], rows[0]["cumulative_units_share"]) == (0, 0)
    assert rows[-1]["reseller_share_cumulative"] == pytest.approx(1.0)
    assert rows[-1]["cumulative_units_share"] == pytest.approx(1.0)
    assert "10000 resellers" in _subtitle(spec)


# --------------------------------------------------------------------------- shipments


def _lag_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    orders = f.orders(("o1", "r1", "SHIPPED", day(1)), ("o2", "r2", "SHIPPED", day(2)))
    ships = f.shipments(
        ("s1", "o1", "UPS", "DELIVERED", day(2, 12), day(4), day(4, 12)),
        ("s2", "o1", "UPS", "IN_TRANSIT", day(3), day(5), None),
        ("s3", "o2", "FedEx", "DELIVERED", day(2, 6), day(3), day(3, 6)),
        ("s4", "o2", "FedEx", "DELIVERED", day(4), None, day(8)),
    )
    return orders, ships


def test_lag_distribution_chart_from_summary_and_detail_agree() -> None:
    orders, ships = _lag_frames()
    summary = analysis.shipment_lag(orders, ships, by="carrier")
    detail = analysis.shipment_lag_detail(orders, ships)
    a = charts.lag_distribution_chart(summary, source="sandbox").to_dict()
    b = charts.lag_distribution_chart(detail, source="sandbox").to_dict()
    assert [layer["mark"]["type"] for layer in a["layer"]] == ["rule", "bar", "tick"]
    whiskers, box, median = a["layer"]
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == (
        "p5",
        "p95",
    )
    assert (box["encoding"]["x"]["field"], box["encoding"]["x2"]["field"]) == ("p25", "p75")
    assert median["encoding"]["x"]["field"] == "p50"
    rows_a = sorted(_data(a, 0), key=lambda r: (r["carrier"], r["measure"]))
    rows_b = sorted(_data(b, 0), key=lambda r: (r["carrier"], r["measure"]))
    assert len(rows_a) == 4  # 2 carriers x 2 measures
    for ra, rb in zip(rows_a, rows_b, strict=True):
        assert ra["shipments"] == rb["shipments"]
        assert ra["p50"] == pytest.approx(rb["p50"])
    fedex_transit = next(r for r in rows_a if r["carrier"] == "FedEx" and r["measure"] == "transit")
    assert fedex_transit["p50"] == pytest.approx(2.5)  # transit 1 and 4 days
    assert a["title"]["text"] == "Order to ship and transit days by carrier"


def test_lag_distribution_chart_one_measure_large_input() -> None:
    n = 100_000
    detail = pl.DataFrame(
        {
            "carrier": ["UPS", "FedEx", "DHL", "USPS"] * (n // 4),
            "transit_days": [float(i % 10) for i in range(n)],
        }
    )
    spec = charts.lag_distribution_chart(detail, measure="transit_days").to_dict()
    assert len(_data(spec, 0)) == 4  # one row per carrier
    assert "color" not in spec["layer"][0]["encoding"]
    with pytest.raises(ConfigError, match="measure must be"):
        charts.lag_distribution_chart(detail, measure="lag")


def test_on_time_and_transit_charts_from_carrier_performance() -> None:
    orders, ships = _lag_frames()
    perf = analysis.carrier_performance(orders, ships)
    spec = charts.on_time_chart(perf, source="sandbox", as_of=AS_OF).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "on_time_share"
    assert spec["encoding"]["y"]["field"] == "carrier"
    assert spec["title"]["text"] == "On-time share by carrier"
    assert "on or before the estimated delivery date" in _subtitle(spec)
    assert {r["carrier"]: r["on_time_share"] for r in _data(spec)} == {"FedEx": 1.0, "UPS": 0.5}
    transit = charts.carrier_transit_chart(perf).to_dict()
    assert [layer["mark"]["type"] for layer in transit["layer"]] == ["rule", "point"]


def test_late_shipments_chart() -> None:
    late = pl.DataFrame(
        {"carrier": ["UPS", "UPS", "FedEx", "UPS"], "days_late": [0.5, 1.5, 12.0, 30.0]}
    )
    spec = charts.late_shipments_chart(late, source="sandbox").to_dict()
    assert spec["mark"]["type"] == "bar"
    cells = {(r["carrier"], r["days_late_bucket"]): r["shipments"] for r in _data(spec)}
    # 0.5 -> bucket 1 (less than a day still counts as a day late), 1.5 -> 1, 12 and 30 -> 10+
    assert cells == {("UPS", "1"): 2, ("UPS", "10+"): 1, ("FedEx", "10+"): 1}
    assert spec["encoding"]["x"]["scale"]["domain"][-1] == "10+"  # empty buckets still shown
    assert spec["encoding"]["y"]["axis"]["values"] == [0, 1, 2]  # whole shipments only
    empty = charts.late_shipments_chart(late.clear()).to_dict()
    assert _data(empty) == []


def test_chart_missing_column_names_the_helper() -> None:
    with pytest.raises(MissingFieldError, match="backorder_aging"):
        charts.backorder_aging_chart(pl.DataFrame({"age_bucket": ["0-7"]}))


# --------------------------------------------------------------------------- saving


def test_save_chart_svg_offline(tmp_path: Path) -> None:
    chart = charts.stock_by_warehouse_chart(
        pl.DataFrame({"warehouse_id": ["10", "20"], "units_on_hand": [5, 2]}), source="sandbox"
    )
    out = charts.save_chart(chart, tmp_path / "sub" / "stock.svg")
    text = out.read_text()
    assert text.lstrip().startswith(("<svg", "<?xml"))
    assert "Where is the stock?" in text
    assert "sandbox data" in text


def test_save_chart_rejects_unknown_format(tmp_path: Path) -> None:
    chart = charts.stock_by_warehouse_chart(
        pl.DataFrame({"warehouse_id": ["10"], "units_on_hand": [5]})
    )
    with pytest.raises(ConfigError, match=r"\.png, \.svg"):
        charts.save_chart(chart, tmp_path / "stock.gif")


# --------------------------------------------------------------------------- planning, service


def test_stockout_forecast_chart_most_urgent_first() -> None:
    inv = f.inventory(("A", "10", 12, 0, 6), ("B", "10", 2), ("C", "10", 50), ("D", "10", 5))
    orders = f.orders(("o1", "r1", "OPEN", day(10)), ("o2", "r1", "OPEN", day(8)))
    lines = f.order_lines(
        ("o1", 1, "A", 4, "10"), ("o2", 1, "A", 8, "10"), ("o1", 2, "B", 4, "10"),
        ("o2", 2, "C", 4, "10"),
    )  # fmt: skip
    forecast = analysis.stockout_forecast(inv, orders, lines, window_days=4)
    spec = charts.stockout_forecast_chart(forecast, top=2, source="sandbox", as_of=AS_OF).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "point", "text"]
    rows = _data(spec)
    # D has no demand: not drawn; the two most urgent by P90 days: B then A
    assert [r["item"] for r in rows] == ["B @ 10", "A @ 10"]
    bar = spec["layer"][0]["encoding"]
    assert (bar["x"]["field"], bar["x2"]["field"]) == (
        "days_to_stockout_p90",
        "days_to_stockout_p50",
    )
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["B @ 10", "A @ 10"]
    assert spec["title"]["text"] == "When will stock run out? The 2 most urgent of 3"
    assert _subtitle(spec).startswith("sandbox data · " + AS_OF_TEXT + " · days until stockout")
    assert "P90 (1 time in 10 this early)" in _subtitle(spec)
    with pytest.raises(MissingFieldError, match="stockout_forecast"):
        charts.stockout_forecast_chart(pl.DataFrame({"part_number": ["A"]}))


def test_otif_chart_by_period_marks_thin_months() -> None:
    rates = pl.DataFrame(
        {
            "period": [day(1), day(1, month=2)],
            "orders": [50, 5],
            "decided": [40, 3],
            "otif_rate": [0.7, 0.3],
            "in_full_rate": [0.9, 0.6],
            "on_time_rate": [0.8, 0.5],
        }
    )
    spec = charts.otif_chart(rates, source="api").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "point", "point"]
    rows = _data(spec)
    assert len(rows) == 6
    assert {r["metric"] for r in rows} == {"on time in full", "in full", "on time"}
    assert {r["rate"]: r["incomplete"] for r in rows if r["metric"] == "on time in full"} == {
        0.7: False,
        0.3: True,
    }
    subtitle = _subtitle(spec)
    assert subtitle.startswith("Vendor API data · over decided orders")
    assert "hollow = fewer than 30 decided orders: Feb 2026" in subtitle
    assert spec["layer"][0]["encoding"]["x"]["timeUnit"] == "utcyearmonth"


def test_otif_chart_by_group_and_lines() -> None:
    by = pl.DataFrame(
        {
            "carrier": ["UPS", "FedEx"],
            "lines": [10, 4],
            "decided": [8, 4],
            "otif_rate": [0.5, 0.25],
            "in_full_rate": [1.0, 0.5],
            "on_time_rate": [0.5, 0.5],
        }
    )
    spec = charts.otif_chart(by).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "carrier"
    assert "decided lines" in _subtitle(spec)
    assert len(_data(spec)) == 6
