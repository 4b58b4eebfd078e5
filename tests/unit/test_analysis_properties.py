"""Property tests: fill rates and backorders on random small books agree with a naive loop.

Random orders (some cancelled), lines (repeated parts, zero quantities) and shipment lines
(with and without line numbers, over-shipping) exercise the matching rules of
docs/metrics.md; the naive version walks the rows in plain Python.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis

PARTS = ["A", "B", "C"]


@st.composite
def books(draw: st.DrawFn) -> dict[str, pl.DataFrame]:
    n_orders = draw(st.integers(1, 5))
    orders, lines, slines, ships = [], [], [], []
    for i in range(n_orders):
        oid = f"o{i}"
        status = draw(st.sampled_from(["OPEN", "SHIPPED", "CANCELLED", "CLOSED"]))
        orders.append((oid, f"r{i % 2}", status, day(1 + i)))
        n_lines = draw(st.integers(1, 4))
        for n in range(1, n_lines + 1):
            lines.append((oid, n, draw(st.sampled_from(PARTS)), draw(st.integers(0, 6))))
        for s in range(draw(st.integers(0, 3))):
            numbered = draw(st.booleans())
            line_number = draw(st.integers(1, n_lines)) if numbered else None
            part = (
                next(p for (o, n, p, _) in lines if o == oid and n == line_number)
                if numbered
                else draw(st.sampled_from(PARTS))
            )
            sid = f"s{i}-{s}"
            slines.append((sid, oid, line_number, part, draw(st.integers(1, 8))))
            state = draw(st.sampled_from(["SHIPPED", "DELIVERED", "PROCESSING", "CANCELLED"]))
            ships.append((sid, oid, "UPS", state, day(2 + i), None, None))
    return {
        "orders": f.orders(*orders),
        "lines": f.order_lines(*lines),
        "ships": f.shipments(*ships) if ships else f.empty(f.SHIPMENTS_SCHEMA),
        "slines": f.shipment_lines(*slines) if slines else f.empty(f.SHIPMENT_LINES_SCHEMA),
    }


def naive_lines(book: dict[str, pl.DataFrame], *, keep_cancelled: bool) -> list[dict[str, Any]]:
    status = {o["order_id"]: str(o["status"]) for o in book["orders"].to_dicts()}
    # lines of cancelled shipments, or of shipments still processing, never count as shipped
    left = {
        s["shipment_id"]
        for s in book["ships"].to_dicts()
        if str(s["status"]) not in ("CANCELLED", "PROCESSING")
    }
    by_number: dict[tuple[str, int], int] = defaultdict(int)
    by_part: dict[tuple[str, str], int] = defaultdict(int)
    for s in book["slines"].to_dicts():
        if s["shipment_id"] not in left:
            continue
        if s["line_number"] is None:
            by_part[(s["order_id"], s["part_number"])] += s["quantity"]
        else:
            by_number[(s["order_id"], s["line_number"])] += s["quantity"]
    out = []
    for line in sorted(book["lines"].to_dicts(), key=lambda r: (r["order_id"], r["line_number"])):
        if status[line["order_id"]] == "CANCELLED" and not keep_cancelled:
            continue
        ordered = line["quantity_ordered"]
        shipped = min(by_number[(line["order_id"], line["line_number"])], ordered)
        key = (line["order_id"], line["part_number"])
        extra = min(ordered - shipped, by_part[key])
        by_part[key] -= extra
        out.append(line | {"shipped": shipped + extra, "status": status[line["order_id"]]})
    return out


def _shipped_orders_without_lines(book: dict[str, pl.DataFrame]) -> bool:
    shipped = book["orders"]["status"].cast(pl.String).is_in(["SHIPPED"]).any()
    return bool(book["slines"].height == 0 and shipped)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), keep_cancelled=st.booleans())
def test_fill_rates_match_naive(book: dict[str, pl.DataFrame], keep_cancelled: bool) -> None:
    if _shipped_orders_without_lines(book):
        return  # that case raises MissingFieldError, tested by hand in test_analysis.py
    lines = [m for m in naive_lines(book, keep_cancelled=keep_cancelled) if m["quantity_ordered"]]
    out = analysis.order_fill_rates(
        book["orders"],
        book["lines"],
        book["ships"],
        book["slines"],
        include_cancelled=keep_cancelled,
    ).row(0, named=True)
    ordered = sum(m["quantity_ordered"] for m in lines)
    shipped = sum(m["shipped"] for m in lines)
    assert out["units_ordered"] == ordered
    assert out["units_shipped"] == shipped
    if not lines:
        assert out["unit_fill_rate"] is None
        return
    full = {}
    for m in lines:
        ok = m["shipped"] >= m["quantity_ordered"]
        full[m["order_id"]] = full.get(m["order_id"], True) and ok
    assert out["unit_fill_rate"] == pytest.approx(shipped / ordered)
    assert out["line_fill_rate"] == pytest.approx(
        sum(m["shipped"] >= m["quantity_ordered"] for m in lines) / len(lines)
    )
    assert out["order_fill_rate"] == pytest.approx(sum(full.values()) / len(full))
    assert 0.0 <= out["unit_fill_rate"] <= 1.0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books())
def test_backorder_aging_matches_naive(book: dict[str, pl.DataFrame]) -> None:
    if _shipped_orders_without_lines(book):
        return
    as_of = day(12)
    dates = {o["order_id"]: o["order_date"] for o in book["orders"].to_dicts()}
    expected = dict.fromkeys(analysis.AGE_BUCKETS, 0)
    for m in naive_lines(book, keep_cancelled=False):
        if m["status"] == "CLOSED":
            continue
        open_units = m["quantity_ordered"] - m["shipped"]
        if open_units > 0:
            age = (as_of - dates[m["order_id"]]).days
            bucket = "0-7" if age <= 7 else "8-14" if age <= 14 else "15-30" if age <= 30 else "31+"
            expected[bucket] += open_units
    out = analysis.backorder_aging(
        book["orders"], book["lines"], book["ships"], book["slines"], as_of=as_of
    )
    assert dict(zip(out["age_bucket"].cast(pl.String), out["units_open"], strict=True)) == expected
