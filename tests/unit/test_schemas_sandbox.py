"""normalise() against the built-in sandbox (in-process transport, no sockets): the typed
tables equal the sandbox's ground truth exactly, and every record it serves invalid on
purpose is quarantined with the field the sandbox says is wrong."""

from __future__ import annotations

import polars as pl
import pytest

from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.endpoints import ENDPOINT_NAMES
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.schemas import ENDPOINT_TABLES, TABLE_KEYS, Batch, normalise

INVALID_PER_KIND = 2


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(scale=0.2, invalid=INVALID_PER_KIND))


@pytest.fixture(scope="module")
def batches(sandbox: Sandbox) -> dict[str, Batch]:
    settings = Settings(
        _env_file=None,
        base_url="http://127.0.0.1/vendors/v1",
        client_id="id",
        client_secret="secret",
        partner_id="US123456",
        workers=1,
    )
    with VendorClient(settings, transport=sandbox.transport()) as client:
        return {
            ep: normalise(ep, client.fetch(ep).pages, sync_id=f"sb-{ep}") for ep in ENDPOINT_NAMES
        }


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_typed_tables_equal_the_sandbox_ground_truth(sandbox, batches, endpoint):
    for table in ENDPOINT_TABLES[endpoint]:
        truth = sandbox.ground_truth(table)
        mine = batches[endpoint].tables[table].sort(list(TABLE_KEYS[table]))
        assert mine.schema == truth.schema
        compared = [c for c in truth.columns if c != "status_raw"]  # spellings vary by design
        assert mine.select(compared).equals(truth.select(compared)), table


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_counts_match_what_the_sandbox_served(sandbox, batches, endpoint):
    counts = batches[endpoint].counts
    invalid = sandbox.invalid_records(endpoint)
    duplicates = invalid.filter(pl.col("reason").str.starts_with("duplicate key")).height
    assert counts.fetched == sandbox.served_record_count(endpoint)
    assert counts.loaded == sandbox.ground_truth(ENDPOINT_TABLES[endpoint][0]).height
    assert counts.deduplicated == duplicates == INVALID_PER_KIND
    assert counts.rejected == invalid.height - duplicates
    assert counts.fetched == counts.loaded + counts.rejected + counts.deduplicated
    assert counts.coerced > 0  # the sandbox serves quirks by default


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_each_invalid_record_is_rejected_with_the_field_the_sandbox_broke(
    sandbox, batches, endpoint
):
    invalid = sandbox.invalid_records(endpoint).filter(
        ~pl.col("reason").str.starts_with("duplicate key")
    )
    expected = sorted(invalid.select("key", "field").iter_rows())
    rejects = batches[endpoint].rejects
    assert sorted(rejects.select("record_key", "field").iter_rows()) == expected
    # raw_record is the record's text exactly as served
    assert sorted(rejects["raw_record"]) == sorted(invalid["raw"])
    assert set(rejects["sync_id"]) == {f"sb-{endpoint}"}
