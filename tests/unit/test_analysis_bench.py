"""The benchmark's hand-written DuckDB SQL twins and the helpers agree on small data.

Two independent implementations of every definition (polars helper, DuckDB SQL) checked
against each other on seeded synthetic data, including shipment lines without line
numbers, cancelled and closed orders and undelivered shipments.
"""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.analysis_bench import PAIRS, check_all, make_history, make_orders


@pytest.mark.parametrize("seed", [1, 2])
def test_sql_twins_agree_with_helpers(seed: int) -> None:
    data = {"history": make_history(snapshots=3, parts=300, warehouses=4, seed=seed)}
    data |= make_orders(n_orders=3_000, parts=300, seed=seed)
    slines = data["shipment_lines"]
    assert slines["line_number"].null_count() > 0  # the by-part matching path runs
    assert (data["orders"]["status"].cast(pl.String) == "CANCELLED").any()
    assert data["shipments"]["delivered_date"].null_count() > 0
    assert check_all(data) == [p.name for p in PAIRS]
