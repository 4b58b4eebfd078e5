"""Property tests for vendorkit.schemas.normalise: for any mix of clean, quirky, invalid and
duplicated records, nothing is lost silently and the output honours its schema."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vendorkit.endpoints import get_endpoint
from vendorkit.schemas import TABLE_SCHEMAS, normalise

PARTS = st.sampled_from(["P1", "P2", "P3", " P4", None, ""])
WAREHOUSES = st.sampled_from(["10", "20", " 30", None])
QUANTITIES = st.sampled_from(["0", "5", "12.0", "-1", "abc", "1e2", None, " 7"])
TIMES = st.sampled_from(
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00-07:00",
        "2026-01-02T00:00:00.5+05:30",
        "2026-01-03",
        "not-a-date",
        None,
    ]
)
RECORD = st.fixed_dictionaries(
    {"partNumber": PARTS, "warehouse": WAREHOUSES, "quantity": QUANTITIES, "lastUpdated": TIMES}
)


def _raw(pages: list[list[dict[str, Any]]]) -> pl.DataFrame:
    ep = get_endpoint("inventory")
    rows = [
        {**rec, "_page": number, "_index": index}
        for number, records in enumerate(pages, start=1)
        for index, rec in enumerate(records)
    ]
    schema: dict[str, Any] = {**ep.wire_schema(), "_page": pl.Int32, "_index": pl.Int32}
    return pl.DataFrame(rows, schema=schema)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(RECORD, min_size=0, max_size=8), min_size=1, max_size=4))
def test_every_record_is_loaded_rejected_or_deduplicated(pages):
    raw = _raw(pages)
    batch = normalise("inventory", raw, sync_id="p")
    c = batch.counts
    table = batch.tables["inventory"]
    assert c.fetched == raw.height == c.loaded + c.rejected + c.deduplicated
    assert table.height == c.loaded
    assert batch.rejects.select("page_number", "record_index").unique().height == c.rejected
    TABLE_SCHEMAS["inventory"].validate(table, lazy=True)  # keys unique, values in range
    # a record is loaded only if its key parts and quantity were readable
    expected_keys = {
        (r["partNumber"].strip(), r["warehouse"].strip())
        for p in pages
        for r in p
        if r["partNumber"] and r["partNumber"].strip() and r["warehouse"]
        if r["quantity"] is not None
        and r["quantity"].strip() in {"0", "5", "12.0", "1e2", "7"}
        and r["lastUpdated"] != "not-a-date"
    }
    assert set(table.select("part_number", "warehouse_id").iter_rows()) == expected_keys
