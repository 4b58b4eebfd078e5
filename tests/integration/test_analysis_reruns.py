"""Reruns never corrupt the numbers, and the README's example prints the report's numbers.

Four syncs of the sandbox into one store file over real localhost HTTP, then the public API
(``vendorkit.load_*`` and the helpers) and the report, read from that store. Expected values
are computed independently here (plain Python over the loaded rows), not frozen, so the test
holds whatever the sandbox world does between syncs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import vendorkit as vk
from vendorkit.config import Settings
from vendorkit.report import ReportInputs, render_report

pytestmark = pytest.mark.integration

SYNCS = 4


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path: Path = tmp_path_factory.mktemp("reruns") / "vk.duckdb"
    settings = Settings(_env_file=None, db=str(path), sandbox_scale=0.2)
    for _ in range(SYNCS):
        report = vk.sync(settings=settings)
        assert report.ok
    return settings


def test_trend_after_four_syncs_equals_the_latest_snapshot(settings: Settings) -> None:
    history = vk.load_inventory_history(settings=settings)
    inventory = vk.load_inventory(settings=settings)
    assert history["sync_id"].n_unique() == SYNCS
    trend = vk.inventory_trend(history, by="warehouse", every="1d")

    # the latest snapshot's totals per warehouse (the current inventory)
    latest: dict[str, int] = defaultdict(int)
    for r in inventory.to_dicts():
        latest[r["warehouse_id"]] += r["quantity_on_hand"]
    last = trend.filter(pl.col("period") == pl.col("period").max())
    assert dict(zip(last["warehouse_id"], last["units_on_hand"], strict=True)) == dict(latest)

    # every period reports one sync's snapshot: the latest of the period (time, then sync id)
    rows = history.to_dicts()
    chosen: dict[datetime, tuple[datetime, str]] = {}
    for r in rows:
        day = r["snapshot_at"].replace(hour=0, minute=0, second=0, microsecond=0)
        key = (r["snapshot_at"], r["sync_id"])
        chosen[day] = max(chosen.get(day, key), key)
    expected: dict[tuple[datetime, str], int] = defaultdict(int)
    for r in rows:
        day = r["snapshot_at"].replace(hour=0, minute=0, second=0, microsecond=0)
        if r["sync_id"] == chosen[day][1]:
            expected[(day, r["warehouse_id"])] += r["quantity_on_hand"]
    got = {(r["period"], r["warehouse_id"]): r["units_on_hand"] for r in trend.to_dicts()}
    assert got == dict(expected)
    # and the stock summary of the whole history is the latest snapshot, never a sum
    stock = vk.stock_by_warehouse(history)
    assert dict(zip(stock["warehouse_id"], stock["units_on_hand"], strict=True)) == dict(latest)


def _cells(html: str, key: str) -> tuple[list[str], list[list[str]]]:
    table = re.search(rf'<table id="table-{key}">(.*?)</table>', html, flags=re.DOTALL)
    assert table is not None, key
    headers = re.findall(r"<th>([^<]*)</th>", table.group(1))
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), flags=re.DOTALL)
    assert body is not None
    rows = [
        re.findall(r"<td[^>]*>([^<]*)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), flags=re.DOTALL)
    ]
    return headers, rows


def _card(html: str, key: str) -> str:
    match = re.search(rf'id="kpi-{key}">.*?<div class="value">([^<]*)</div>', html, flags=re.DOTALL)
    assert match, key
    return match.group(1).strip()


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%"


def test_readme_example_prints_the_reports_fill_rates(settings: Settings) -> None:
    # the README's example (frames in data-flow order: orders, lines, shipments, their lines)
    orders, lines = vk.load_orders(settings=settings), vk.load_order_lines(settings=settings)
    shipments = vk.load_shipments(settings=settings)
    shipment_lines = vk.load_shipment_lines(settings=settings)
    monthly = vk.order_fill_rates(orders, lines, shipments, shipment_lines, period="1mo")
    overall = vk.order_fill_rates(orders, lines, shipments, shipment_lines)

    html = render_report(ReportInputs.from_store(settings), settings=settings)
    # the headline cards
    for rate in ("unit", "line", "order"):
        assert _card(html, f"{rate}_fill_rate") == _pct(overall[f"{rate}_fill_rate"][0]), rate
    # the monthly table, month by month
    headers, rows = _cells(html, "fill_by_month")
    assert len(rows) == monthly.height > 1
    for row, expected in zip(rows, monthly.to_dicts(), strict=True):
        cell = dict(zip(headers, row, strict=True))
        assert cell["Order month"] == f"{expected['period']:%b %Y}"
        assert cell["Orders"] == f"{expected['orders']:,}"
        assert cell["Units shipped"] == f"{expected['units_shipped']:,}"
        for rate in ("unit", "line", "order"):
            assert cell[f"{rate.capitalize()} fill rate"] == _pct(expected[f"{rate}_fill_rate"])
    # and neither counts a cancelled or processing shipment as shipped (plain Python)
    left = {
        s["shipment_id"]
        for s in shipments.to_dicts()
        if str(s["status"]) not in ("CANCELLED", "PROCESSING")
    }
    live = {o["order_id"] for o in orders.to_dicts() if str(o["status"]) != "CANCELLED"}
    shipped: dict[tuple[str, int], int] = defaultdict(int)
    for sl in shipment_lines.to_dicts():
        if sl["shipment_id"] in left:
            shipped[(sl["order_id"], sl["line_number"])] += sl["quantity"]
    ordered = got = 0
    for line in lines.to_dicts():
        if line["order_id"] in live and line["quantity_ordered"] > 0:
            ordered += line["quantity_ordered"]
            got += min(shipped[(line["order_id"], line["line_number"])], line["quantity_ordered"])
    assert overall["unit_fill_rate"][0] == pytest.approx(got / ordered)
