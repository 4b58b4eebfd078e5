"""The HTML report: self-contained, has the charts, and its headline numbers are right.

The inputs are the sandbox's clean world (``Sandbox.ground_truth``, no network). The headline
numbers are recomputed here with plain Python over the rows, following the definitions in
docs/metrics.md, and compared with what the report prints.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from vendorkit.report import ReportInputs, build_report, headline_numbers, render_report

TABLES = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")


@pytest.fixture(scope="module")
def world() -> dict[str, pl.DataFrame]:
    from vendorkit.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(scale=0.4))
    return {t: sandbox.ground_truth(t) for t in TABLES}


@pytest.fixture(scope="module")
def inputs(world: dict[str, pl.DataFrame]) -> ReportInputs:
    rejects = pl.DataFrame(
        {
            "endpoint": ["orders", "orders", "inventory"],
            "field": ["status", "status", "quantity"],
            "reason": ["missing key field", "missing key field", "not a number: 'abc'"],
        }
    )
    return ReportInputs(**world, source="sandbox", rejects=rejects)


@pytest.fixture(scope="module")
def html(inputs: ReportInputs) -> str:
    return render_report(inputs)


def _card_text(html: str, key: str) -> str:
    match = re.search(rf'id="kpi-{key}">.*?<div class="value">([^<]*)</div>', html, flags=re.DOTALL)
    assert match, f"no headline card {key}"
    return match.group(1).strip()


# ---- independent, naive recomputation of the headline numbers (plain Python over rows)


def _naive_headline(world: dict[str, pl.DataFrame]) -> dict[str, float]:
    inventory = world["inventory"].to_dicts()
    orders = {o["order_id"]: o for o in world["orders"].to_dicts()}
    live = {k for k, o in orders.items() if o["status"] != "CANCELLED"}
    shipments = {s["shipment_id"]: s for s in world["shipments"].to_dicts()}
    # a shipment still PROCESSING has not shipped anything yet
    shipped_ok = {k for k, s in shipments.items() if s["status"] not in ("CANCELLED", "PROCESSING")}

    # shipped quantity per order line: shipment lines of shipments that left, matched on
    # (order_id, line_number), capped at the ordered quantity
    shipped: dict[tuple[str, int], int] = defaultdict(int)
    for sl in world["shipment_lines"].to_dicts():
        if sl["shipment_id"] in shipped_ok:
            shipped[(sl["order_id"], sl["line_number"])] += sl["quantity"]
    ordered_units = shipped_units = lines = lines_full = 0
    order_full: dict[str, bool] = {}
    for line in world["order_lines"].to_dicts():
        if line["order_id"] not in live:
            continue
        qty = line["quantity_ordered"]
        got = min(shipped[(line["order_id"], line["line_number"])], qty)
        ordered_units += qty
        shipped_units += got
        lines += 1
        lines_full += got >= qty
        order_full[line["order_id"]] = order_full.get(line["order_id"], True) and got >= qty

    # order-to-ship lag and on time (delivered by the estimated day; overdue undelivered late)
    as_of = max(
        v
        for frame, cols in (
            (world["orders"], ("order_date", "updated_at")),
            (world["shipments"], ("ship_date", "delivered_date", "updated_at")),
        )
        for c in cols
        for v in frame[c].to_list()
        if v is not None
    )
    lags = []
    on_time = late = 0
    for s in shipments.values():
        order = orders.get(s["order_id"])
        if s["status"] == "CANCELLED" or order is None or s["order_id"] not in live:
            continue
        if s["ship_date"] is not None and order["order_date"] is not None:
            lags.append((s["ship_date"] - order["order_date"]).total_seconds() / 86400)
        due = s["estimated_delivery_date"]
        if due is None:
            continue
        delivered = s["delivered_date"]
        if delivered is not None and delivered <= as_of:
            on_time += delivered.date() <= due.date()
            late += delivered.date() > due.date()
        elif due.date() < as_of.date():
            late += 1
    return {
        "units_on_hand": sum(r["quantity_on_hand"] for r in inventory),
        "stockouts": sum(r["quantity_on_hand"] <= 0 for r in inventory),
        "unit_fill_rate": shipped_units / ordered_units,
        "line_fill_rate": lines_full / lines,
        "order_fill_rate": sum(order_full.values()) / len(order_full),
        "median_ship_lag": statistics.median(lags),
        "on_time_share": on_time / (on_time + late),
    }


def test_headline_numbers_match_a_naive_recomputation(
    inputs: ReportInputs, world: dict[str, pl.DataFrame], html: str
) -> None:
    expected = _naive_headline(world)
    got = {h.key: h for h in headline_numbers(inputs)}
    assert got["units_on_hand"].value == expected["units_on_hand"]
    assert got["stockouts"].value == expected["stockouts"]
    for key in ("unit_fill_rate", "line_fill_rate", "order_fill_rate", "on_time_share"):
        assert got[key].value == pytest.approx(expected[key], abs=1e-12), key
    assert got["median_ship_lag"].value == pytest.approx(expected["median_ship_lag"], abs=1e-9)
    # and the HTML shows them, formatted
    assert _card_text(html, "units_on_hand") == f"{expected['units_on_hand']:,}"
    assert _card_text(html, "stockouts") == f"{expected['stockouts']:,}"
    for key in ("unit_fill_rate", "line_fill_rate", "order_fill_rate", "on_time_share"):
        assert _card_text(html, key) == f"{100 * expected[key]:.1f}%", key
    assert _card_text(html, "median_ship_lag") == f"{expected['median_ship_lag']:.1f} d"


def test_report_is_self_contained(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered  # no vega-embed, no CDN: charts are static SVG
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", lowered)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", lowered)
    assert not re.search(r"<(img|iframe|object|embed)\b", lowered)


def test_report_contains_the_charts_as_inline_svg(html: str) -> None:
    figures = re.findall(r'<figure id="chart-([a-z_]+)">\s*<svg\b', html)
    assert len(figures) >= 6, figures
    for key in ("stock_by_warehouse", "fill_rates", "on_time", "resellers"):
        assert key in figures
    assert html.count("</svg>") >= len(figures)
    assert "<?xml" not in html


def test_report_sections_and_sandbox_banner(html: str, inputs: ReportInputs) -> None:
    assert 'id="sandbox-banner"' in html
    assert "sandbox data" in html
    for section in ("inventory", "orders", "carriers", "resellers", "data_quality"):
        assert f'<section id="{section}">' in html
    # rejects by reason: 2 x (orders, status, missing key field), counted
    table = re.search(r'<table id="table-rejects">(.*?)</table>', html, flags=re.DOTALL)
    assert table is not None
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", table.group(1), flags=re.DOTALL)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", first_row.group(1))
    assert cells == ["orders", "status", "missing key field", "2"]
    # values are HTML-escaped
    assert "not a number: &#39;abc&#39;" in html
    # worst parts: lowest days of supply first
    worst = re.search(r'<table id="table-worst_parts">(.*?)</table>', html, flags=re.DOTALL)
    assert worst is not None


def test_no_sandbox_banner_for_api_data(inputs: ReportInputs) -> None:
    from dataclasses import replace

    html = render_report(replace(inputs, source="api"))
    assert 'id="sandbox-banner"' not in html
    assert "Ingram Micro Vendor API" in html


def test_build_report_writes_the_file_deterministically(
    inputs: ReportInputs, html: str, tmp_path: Path
) -> None:
    out = tmp_path / "deep" / "dir" / "r.html"
    path = build_report(out=out, inputs=inputs)
    assert path == out
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text == html  # same inputs, same bytes: no wall-clock time, no random ids
    assert not list(path.parent.glob("*.tmp"))
