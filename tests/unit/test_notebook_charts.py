"""The charts the curated notebooks draw, checked as specs (their cells ignore output in nbval).

Every notebook cell tagged ``nbval-ignore-output`` must be a chart cell (``h.charts.*(...)``,
the handle's charts, which carry its source):
numbers are never hidden from nbval. Each such cell's source is evaluated here, exactly as
written in the notebook, against frames built the way the notebook builds them, but from the
sandbox's ground truth (no network, no store). The resulting Vega-Lite spec is checked for
its mark, the fields it encodes, its title and the "sandbox data" label.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import polars as pl
import pytest

import vendorkit as vk
from vendorkit.handle import BoundCharts
from vendorkit.sandbox import Sandbox, SandboxConfig

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TABLES = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")

# (notebook, chart function) -> (marks, fields that must be encoded, words in the title)
EXPECTED: dict[tuple[str, str], tuple[set[str], set[str], str]] = {
    ("01_quickstart", "stock_by_warehouse_chart"): ({"bar"}, {"units_on_hand"}, "stock"),
    ("02_inventory_by_warehouse", "stock_by_warehouse_chart"): ({"bar"}, {"units_on_hand"}, "stock"),
    ("02_inventory_by_warehouse", "stock_heatmap"): ({"rect"}, {"warehouse_id", "units_on_hand"}, "stock"),
    ("02_inventory_by_warehouse", "inventory_trend_chart"): ({"line"}, {"units_on_hand"}, ""),
    ("02_inventory_by_warehouse", "days_of_supply_chart"): ({"bar"}, {"days_of_supply"}, "days of supply"),
    ("02_inventory_by_warehouse", "stockout_forecast_chart"): ({"bar", "point"}, {"days_to_stockout_p50", "days_to_stockout_p90"}, "run out"),
    ("03_order_fill_rates", "otif_chart"): ({"line", "point"}, {"period", "rate"}, "on time"),
    ("03_order_fill_rates", "fill_rate_chart"): ({"line"}, {"period"}, "filling orders"),
    ("03_order_fill_rates", "backorder_aging_chart"): ({"bar"}, {"age_bucket", "units_open"}, ""),
    ("03_order_fill_rates", "reseller_pareto_chart"): ({"line"}, {"cumulative_units_share"}, "resellers"),
    ("04_shipment_lag_and_carriers", "lag_distribution_chart"): ({"bar", "rule"}, {"carrier"}, "transit"),
    ("04_shipment_lag_and_carriers", "on_time_chart"): ({"bar"}, {"on_time_share", "carrier"}, "on-time"),
    ("04_shipment_lag_and_carriers", "late_shipments_chart"): ({"bar"}, {"shipments"}, "late"),
}  # fmt: skip


def _chart_cells() -> list[tuple[str, str]]:
    cells = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if "nbval-ignore-output" in cell.metadata.get("tags", []):
                cells.append((path.stem, cell.source.strip()))
    return cells


@pytest.fixture(scope="module")
def world() -> dict[str, pl.DataFrame]:
    sandbox = Sandbox(SandboxConfig())  # the notebooks' defaults: seed 42, as of 2026-11-01
    return {t: sandbox.ground_truth(t) for t in TABLES}


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    """Daily inventory snapshots, as notebook 02 syncs them."""
    snapshots = []
    for i, as_of in enumerate([date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]):
        inv = Sandbox(SandboxConfig(as_of=as_of, scale=0.2)).ground_truth("inventory")
        snapshots.append(
            inv.select(
                pl.lit(f"sync-{i}").alias("sync_id"),
                pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("snapshot_at"),
                pl.all(),
            )
        )
    return pl.concat(snapshots)


def _namespace(
    notebook: str, world: dict[str, pl.DataFrame], history: pl.DataFrame
) -> dict[str, Any]:
    """The variables a notebook has defined when it reaches its chart cells."""
    inventory, orders, order_lines, shipments, shipment_lines = (world[t] for t in TABLES)
    ns: dict[str, Any] = {
        "vk": vk,
        "pl": pl,
        "h": SimpleNamespace(charts=BoundCharts("sandbox")),  # a sandbox handle's charts
        "inventory": inventory,
        "orders": orders,
        "order_lines": order_lines,
        "shipments": shipments,
        "shipment_lines": shipment_lines,
        "stock": vk.stock_by_warehouse(inventory),
    }
    if notebook == "02_inventory_by_warehouse":
        ns["trend"] = vk.inventory_trend(history, by="warehouse", every="1d")
        ns["supply"] = vk.days_of_supply(
            inventory, orders, order_lines, window_days=28, threshold_days=14
        )
        ns["forecast"] = vk.stockout_forecast(inventory, orders, order_lines, window_days=28)
    if notebook == "03_order_fill_rates":
        ns["monthly"] = vk.order_fill_rates(
            orders, order_lines, shipments, shipment_lines, period="1mo"
        )
        ns["aging"] = vk.backorder_aging(orders, order_lines, shipments, shipment_lines)
        ns["monthly_otif"] = vk.otif(
            orders, order_lines, shipments, shipment_lines, None, period="1mo"
        )
    if notebook == "04_shipment_lag_and_carriers":
        ns["performance"] = vk.carrier_performance(orders, shipments)
        ns["late"] = vk.late_shipments(orders, shipments)
    return ns


def _marks(spec: dict[str, Any]) -> set[str]:
    found = set()
    for part in [spec, *spec.get("layer", [])]:
        mark = part.get("mark")
        if mark is not None:
            found.add(mark["type"] if isinstance(mark, dict) else mark)
    return found


def _fields(spec: dict[str, Any]) -> set[str]:
    found = set()
    for part in [spec, *spec.get("layer", [])]:
        for channel in part.get("encoding", {}).values():
            if isinstance(channel, dict) and "field" in channel:
                found.add(channel["field"])
    return found


def test_ignored_cells_are_exactly_the_chart_cells() -> None:
    cells = _chart_cells()
    assert cells, "no chart cells found in notebooks/"
    for notebook, source in cells:
        assert source.startswith("h.charts.") and "\n" not in source, (
            f"{notebook}: a cell that ignores its output in nbval must be a single chart call, "
            f"got {source!r}"
        )
    found = {(nb, src.split("(", 1)[0].removeprefix("h.charts.")) for nb, src in cells}
    assert found == set(EXPECTED)


@pytest.mark.parametrize(("notebook", "source"), _chart_cells(), ids=lambda v: str(v)[:40])
def test_notebook_chart_spec(
    notebook: str, source: str, world: dict[str, pl.DataFrame], history: pl.DataFrame
) -> None:
    chart = eval(source, _namespace(notebook, world, history))  # the notebook's own code
    spec = chart.to_dict()
    function = source.split("(", 1)[0].removeprefix("h.charts.")
    marks, fields, title_words = EXPECTED[(notebook, function)]
    assert marks <= _marks(spec), (function, _marks(spec))
    assert fields <= _fields(spec), (function, _fields(spec))
    title = spec.get("title", {})
    assert isinstance(title, dict)
    assert title_words.lower() in str(title.get("text", "")).lower()
    assert "sandbox data" in " ".join(title.get("subtitle", []))
    # charts aggregate before plotting: the embedded data stays small
    assert len(json.dumps(spec)) < 500_000
