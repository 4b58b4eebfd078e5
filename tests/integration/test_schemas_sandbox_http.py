"""normalise() on pages fetched from the sandbox over real localhost HTTP: exact ground truth,
every invalid record quarantined, counts adding up to what was served."""

from __future__ import annotations

import polars as pl
import pytest

from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.endpoints import ENDPOINT_NAMES
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.schemas import ENDPOINT_TABLES, TABLE_KEYS, normalise

pytestmark = pytest.mark.integration


def test_normalise_over_real_http_matches_the_sandbox() -> None:
    sandbox = Sandbox(SandboxConfig(scale=0.1, invalid=1))
    with sandbox.serve(host="127.0.0.1", port=0) as server:
        settings = Settings(
            _env_file=None,
            base_url=server.base_url,
            token_url=server.token_url,
            client_id="id",
            client_secret="secret",
            partner_id="US123456",
            workers=2,
        )
        with VendorClient(settings) as client:
            fetched = {ep: client.fetch(ep).pages for ep in ENDPOINT_NAMES}

    for endpoint, pages in fetched.items():
        batch = normalise(endpoint, pages, sync_id="http")
        invalid = sandbox.invalid_records(endpoint)
        duplicates = invalid.filter(pl.col("reason").str.starts_with("duplicate key"))
        counts = batch.counts
        assert counts.fetched == sandbox.served_record_count(endpoint)
        assert counts.deduplicated == duplicates.height
        assert counts.rejected == invalid.height - duplicates.height
        assert counts.fetched == counts.loaded + counts.rejected + counts.deduplicated
        broken = invalid.join(duplicates, on=["key", "field"], how="anti")
        assert sorted(batch.rejects.select("record_key", "field").iter_rows()) == sorted(
            broken.select("key", "field").iter_rows()
        )
        for table in ENDPOINT_TABLES[endpoint]:
            truth = sandbox.ground_truth(table)
            mine = batch.tables[table].sort(list(TABLE_KEYS[table]))
            compared = [c for c in truth.columns if c != "status_raw"]
            assert mine.select(compared).equals(truth.select(compared)), table
