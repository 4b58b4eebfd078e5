"""The HTML report: self-contained, has the charts, and its headline numbers are right.

The inputs are the sandbox's clean world (``Sandbox.ground_truth``, no network). The headline
numbers are recomputed here with plain Python over the rows, following the definitions in
docs/metrics.md, and compared with what the report prints.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from vendorkit.report import ReportInputs, build_report, headline_numbers, render_report

TABLES = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")


TS = pl.Datetime("us", "UTC")


def _changed_only(history: pl.DataFrame, key: str) -> pl.DataFrame:
    """A status row only when the entity's status differs from its previous row (the store)."""
    return history.sort("observed_at").filter(
        pl.col("status").ne_missing(pl.col("status").shift(1).over(key, order_by="observed_at"))
    )


@pytest.fixture(scope="module")
def sandbox_run() -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """The sandbox's world after two syncs' worth of change, and the histories a store keeps."""
    from vendorkit.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(scale=0.4))
    snaps, osh, ssh = [], [], []
    for k in range(2):
        if k:
            sandbox.mutate(0.3, advance=timedelta(hours=20))
        sync_id, at = f"sync-{k}", pl.lit(sandbox.now, dtype=TS)
        snaps.append(
            sandbox.ground_truth("inventory").select(
                pl.lit(sync_id).alias("sync_id"), at.alias("snapshot_at"), pl.all()
            )
        )
        for frame, key, out in (("orders", "order_id", osh), ("shipments", "shipment_id", ssh)):
            out.append(
                sandbox.ground_truth(frame).select(
                    key,
                    pl.col("status").cast(pl.String),
                    at.alias("observed_at"),
                    pl.lit(sync_id).alias("sync_id"),
                )
            )
    histories = {
        "inventory_history": pl.concat(snaps),
        "order_status_history": _changed_only(pl.concat(osh), "order_id"),
        "shipment_status_history": _changed_only(pl.concat(ssh), "shipment_id"),
    }  # fmt: skip
    return {t: sandbox.ground_truth(t) for t in TABLES}, histories


@pytest.fixture(scope="module")
def world(
    sandbox_run: tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]],
) -> dict[str, pl.DataFrame]:
    return sandbox_run[0]


@pytest.fixture(scope="module")
def histories(
    sandbox_run: tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]],
) -> dict[str, pl.DataFrame]:
    return sandbox_run[1]


@pytest.fixture(scope="module")
def inputs(world: dict[str, pl.DataFrame], histories: dict[str, pl.DataFrame]) -> ReportInputs:
    rejects = pl.DataFrame(
        {
            "endpoint": ["orders", "orders", "inventory"],
            "field": ["status", "status", "quantity"],
            "reason": ["missing key field", "missing key field", "not a number: 'abc'"],
        }
    )
    return ReportInputs(**world, **histories, source="sandbox", rejects=rejects)


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


def test_no_sandbox_banner_for_api_data(inputs: ReportInputs) -> None:
    from dataclasses import replace

    html = render_report(replace(inputs, source="api", inventory_history=pl.DataFrame()))
    assert 'id="sandbox-banner"' not in html
    assert "Ingram Micro Vendor API" in html
    # without histories there is nothing to compare: the section says so
    changes = re.search(r'<section id="changes">(.*?)</section>', html, flags=re.DOTALL)
    assert changes is not None and "nothing to compare yet" in changes.group(1)


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


# ---- the report an analyst trusts: every section read as the analyst reads it


def _section_table(html: str, key: str) -> tuple[str, list[str], list[list[str]], str]:
    """(title, headers, rows of cell texts, note) of the table ``key``."""
    match = re.search(
        rf'<h3>([^<]*)</h3>\s*<table id="table-{key}">(.*?)</table>\s*'
        r'(?:<p class="note">([^<]*)</p>)?',
        html,
        flags=re.DOTALL,
    )
    assert match, f"no table {key}"
    headers = re.findall(r"<th>([^<]*)</th>", match.group(2))
    body = re.search(r"<tbody>(.*?)</tbody>", match.group(2), flags=re.DOTALL)
    assert body is not None
    rows = [
        re.findall(r"<td[^>]*>([^<]*)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), flags=re.DOTALL)
    ]
    return match.group(1), headers, rows, match.group(3) or ""


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def _naive_risk(world: dict[str, pl.DataFrame]) -> dict[str, object]:
    """Stockouts split by demand in the last 28 days, and the at-risk order, in plain Python."""
    orders = {o["order_id"]: o for o in world["orders"].to_dicts()}
    as_of = max(o["order_date"] for o in orders.values())
    demand: dict[tuple[str, str], int] = defaultdict(int)
    for line in world["order_lines"].to_dicts():
        o = orders[line["order_id"]]
        if str(o["status"]) == "CANCELLED" or line["warehouse_id"] is None:
            continue
        if as_of - timedelta(days=28) < o["order_date"] <= as_of:
            demand[(line["part_number"], line["warehouse_id"])] += line["quantity_ordered"]
    on_hand = {(r["part_number"], r["warehouse_id"]): r["quantity_on_hand"]
               for r in world["inventory"].to_dicts()}  # fmt: skip
    stockouts = [k for k, q in on_hand.items() if q <= 0]
    with_demand = [k for k in stockouts if demand.get(k, 0) > 0]
    low = [
        (on_hand[k] * 28 / demand[k], k)
        for k in on_hand
        if on_hand[k] > 0 and demand.get(k, 0) > 0 and on_hand[k] * 28 / demand[k] < 14
    ]
    return {
        "as_of": as_of,
        "stockouts": len(stockouts),
        "with_demand": len(with_demand),
        "without_demand": len(stockouts) - len(with_demand),
        "first_rates": sorted((demand[k] / 28 for k in with_demand), reverse=True),
        "low_days": sorted(d for d, _ in low),
    }


def test_at_risk_list_is_ordered_by_urgency_and_agrees_with_the_headline(
    html: str, world: dict[str, pl.DataFrame]
) -> None:
    naive = _naive_risk(world)
    title, headers, rows, note = _section_table(html, "at_risk")
    assert headers[:7] == [
        "Risk", "Part", "Warehouse", "On hand", "Units / day", "Days of supply",
        "Projected stockout",
    ]  # fmt: skip
    n_listed = naive["with_demand"] + len(naive["low_days"])
    assert title == f"At risk: the {min(15, n_listed)} most urgent of {n_listed:,}"
    # stockouts with demand first, the most units per day first; then fewest days of supply
    expected = [("out of stock", r, 0.0) for r in naive["first_rates"]] + [
        ("below 14 days", None, d) for d in naive["low_days"]
    ]
    for row, (risk, rate, days_left) in zip(rows, expected[:15], strict=True):
        assert row[0] == risk
        if rate is not None:
            assert _number(row[4]) == pytest.approx(rate, abs=0.05)
        assert _number(row[5]) == pytest.approx(days_left, abs=0.05)
        projected = naive["as_of"] + timedelta(days=days_left)
        assert row[6] == f"{projected:%Y-%m-%d}"  # a date, not a timestamp
    # the note says how the headline's stockouts split, and the numbers add up
    assert _card_text(html, "stockouts") == f"{naive['stockouts']:,}"
    assert (
        f"{naive['stockouts']:,} stockouts in the headline = {naive['with_demand']:,} with "
        f"orders in the last 28 days"
    ) in note
    assert f"+ {naive['without_demand']:,} without any" in note
    # the old zero-bar chart is gone
    assert "Lowest days of supply" not in html
    assert 'id="chart-days_of_supply"' not in html


def test_fill_rate_chart_and_table_mark_incomplete_months(html: str) -> None:
    _, headers, rows, note = _section_table(html, "fill_by_month")
    assert headers[0] == "Order month" and headers[-1] == "Complete period"
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{4}", rows[0][0])  # "May 2026", not a timestamp
    assert all(cell.endswith("%") for row in rows for cell in row[5:8])
    # the sandbox's data ends early in its last month: that month is incomplete; the
    # others are complete exactly when they have at least 30 orders
    assert rows[-1][-1] == "no"
    assert [row[-1] for row in rows[:-1]] == [
        "yes" if _number(row[1]) >= 30 else "no" for row in rows[:-1]
    ]
    assert "at least 30 orders" in note
    chart = re.search(r'<figure id="chart-fill_rates">(.*?)</figure>', html, flags=re.DOTALL)
    assert chart is not None
    assert f"hollow = incomplete period: {rows[-1][0]}" in chart.group(1)
    assert "Hollow points mark incomplete months" in chart.group(1)
    # one x label per month, the same months as the table
    labels = re.findall(r">([A-Z][a-z]{2} \d{4})</text>", chart.group(1))
    assert labels == [row[0] for row in rows]


def test_late_shipments_agree_with_the_carrier_table(html: str) -> None:
    _, headers, carriers, _ = _section_table(html, "carriers")
    carrier_late = sum(int(_number(row[headers.index("Late")])) for row in carriers)
    title, late_headers, rows, note = _section_table(html, "late_shipments")
    assert (
        title
        == f"Late shipments worth a call: the worst {min(15, carrier_late)} of {carrier_late:,}"
    )
    assert len(rows) == min(15, carrier_late)
    assert f"the same {carrier_late:,} the carrier table counts as Late" in note
    days_late = [_number(row[late_headers.index("Days late")]) for row in rows]
    assert days_late == sorted(days_late, reverse=True)
    for column in ("Shipped", "Estimated delivery"):
        for row in rows:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[late_headers.index(column)])


def test_headers_are_human_and_ratios_explained(html: str, world: dict[str, pl.DataFrame]) -> None:
    headers = re.findall(r"<th>([^<]*)</th>", html)
    assert headers
    snake = [h for h in headers if "_" in h]
    assert not snake, snake
    _, conc_headers, conc, note = _section_table(html, "concentration")
    row = dict(zip(conc_headers, conc[0], strict=True))
    assert row["Top fraction"] == "20.0%"  # a share, shown as one
    assert row["Top-N share"].endswith("%")
    for words in ("Top-N share =", "Top-fraction share =", "HHI (Herfindahl-Hirschman index)"):
        assert words in note
    _, _, _, carrier_note = _section_table(html, "carriers")
    assert "Share in transit = in transit / shipments" in carrier_note
    assert "On-time share = on time / (on time + late)" in carrier_note
    _, _, _, stock_note = _section_table(html, "stock")
    assert "Share of units =" in stock_note


def test_reseller_names_with_several_ids_are_flagged(
    html: str, world: dict[str, pl.DataFrame]
) -> None:
    ids_by_name: dict[str, set[str]] = defaultdict(set)
    for o in world["orders"].to_dicts():
        if o["reseller_name"] is not None:
            ids_by_name[o["reseller_name"]].add(o["reseller_id"])
    shared = {n: ids for n, ids in ids_by_name.items() if len(ids) > 1}
    _, headers, rows, _ = _section_table(html, "top_resellers")
    for row in rows:
        name, note = row[headers.index("Reseller name")], row[headers.index("Note")]
        if name in shared:
            others = sorted(shared[name] - {row[headers.index("Reseller")]})
            assert note == f"⚑ name also used by {', '.join(others)}"
        else:
            assert note == ""
    flagged = sum(len(ids) for ids in shared.values())
    if flagged:
        assert f"{flagged:,} resellers share their name with another reseller id" in html


# ---- changes since the last sync, stockout forecast, rebalancing, service level


def test_new_sections_and_charts_are_there(html: str) -> None:
    for section in ("changes", "forecast", "rebalance", "service"):
        assert f'<section id="{section}">' in html
    for chart in ("stockout_forecast", "otif_by_month"):
        figure = re.search(rf'<figure id="chart-{chart}">\s*<svg', html)
        assert figure, chart


def test_changes_section_counts_agree_with_the_snapshots(
    html: str, histories: dict[str, pl.DataFrame]
) -> None:
    _, headers, rows, _ = _section_table(html, "changes_summary")
    assert headers == ["Change", "Changes", "Counted when"]
    got = {r[0]: int(_number(r[1])) for r in rows}
    snap: dict[str, dict[tuple[str, str], int]] = {"sync-0": {}, "sync-1": {}}
    for r in histories["inventory_history"].to_dicts():
        snap[r["sync_id"]][(r["part_number"], r["warehouse_id"])] = r["quantity_on_hand"]
    before, after = snap["sync-0"], snap["sync-1"]
    common = before.keys() & after.keys()
    moves = sum(
        abs(after[k] - before[k]) >= 10 and abs(after[k] - before[k]) >= 0.5 * max(before[k], 1)
        for k in common
    )
    recovered = sum(before[k] <= 0 < after[k] for k in common)
    order_turns = histories["order_status_history"].filter(pl.col("sync_id") == "sync-1").height
    ship_turns = histories["shipment_status_history"].filter(pl.col("sync_id") == "sync-1").height
    assert (got["quantity_move"], got["recovered_stockout"]) == (moves, recovered)
    assert (got["order_status"], got["shipment_status"]) == (order_turns, ship_turns)
    assert moves > 0 and order_turns > 0  # the mutated world has changes to show


def test_forecast_section_lists_the_most_urgent(html: str, world: dict[str, pl.DataFrame]) -> None:
    orders = {o["order_id"]: o for o in world["orders"].to_dicts()}
    as_of = max(o["order_date"] for o in orders.values())
    keys = set()
    for line in world["order_lines"].to_dicts():
        o = orders[line["order_id"]]
        counted = str(o["status"]) != "CANCELLED" and line["warehouse_id"] is not None
        if counted and as_of - timedelta(days=28) < o["order_date"] <= as_of:
            keys.add((line["part_number"], line["warehouse_id"]))
    title, headers, rows, note = _section_table(html, "stockout_forecast")
    assert title == f"Runs out first: the 15 most urgent of {len(keys):,} with demand"
    assert headers[6:8] == ["Days left (P90)", "Days left (P50)"]
    p90 = [_number(r[6]) for r in rows]
    assert p90 == sorted(p90) and len(rows) == 15
    assert all(_number(r[6]) <= _number(r[7]) for r in rows)  # pessimistic <= median
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[8]) for r in rows)
    assert "had no orders in the window" in note


def test_rebalance_rows_never_create_a_shortage(html: str) -> None:
    title, headers, rows, _ = _section_table(html, "rebalance")
    assert headers[:4] == ["Part", "From", "To", "Units to move"]
    assert rows, "the sandbox world has stock to rebalance"
    for r in rows:
        assert r[1] != r[2]
        assert r[6] == "" or _number(r[6]) >= 28.0  # the donor keeps 28 days
        assert _number(r[7]) < 14.0 and _number(r[8]) <= 28.0
    to_before = [_number(r[7]) for r in rows]
    assert to_before == sorted(to_before)  # the most urgent receivers first
    assert re.fullmatch(
        r"The \d+ most urgent of [\d,]+ moves \([\d,]+ units for [\d,]+ part × warehouse pairs\)",
        title,
    )


def test_service_section_keeps_open_orders_apart(html: str) -> None:
    _, headers, rows, _ = _section_table(html, "otif")
    assert headers[:3] == ["Level", "Orders / lines", "Open (not counted)"]
    assert [r[0] for r in rows] == ["order", "line"]
    for r in rows:
        units, open_units, decided, otif = (int(_number(c)) for c in (r[1], r[2], r[3], r[6]))
        assert units == open_units + decided
        assert r[9] == f"{100 * otif / decided:.1f}%"
    _, perfect_headers, perfect, note = _section_table(html, "perfect_order")
    assert perfect_headers[4] == "Perfect order rate" and perfect[0][4].endswith("%")
    assert "never backordered" in note
    service = re.search(r'<section id="service">(.*?)</section>', html, flags=re.DOTALL)
    assert service is not None and "the current estimated delivery date is used" in service.group(1)
