"""Time ``vendorkit.schemas.normalise`` on the 1,000,000-row sandbox inventory.

Run: ``.venv/bin/python -m benchmarks.schemas_bench [--scale 100] [--repeat 3]``

The pages come from the sandbox's ``bench`` world through the in-process transport (no
sockets), fetched once with large pages; the same records are then re-cut into pages of 100
(the contract's page size) so both page shapes are timed. Prints the median wall and CPU time
of ``normalise()`` (coercion + quarantine + dedup + pandera validation) and, separately, of the
pandera validation of the final table alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import time

from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.schemas import TABLE_SCHEMAS, normalise


def _median_seconds(fn, repeat: int) -> str:
    """Median wall and CPU seconds (CPU = all threads of this process: robust to a busy box)."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return f"median wall {statistics.median(walls):.3f}s, cpu {statistics.median(cpus):.3f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sandbox = Sandbox(SandboxConfig(scale=args.scale, max_page_size=10_000))
    settings = Settings(
        _env_file=None,
        base_url="http://127.0.0.1/vendors/v1",
        client_id="id",
        client_secret="secret",
        partner_id="US123456",
        page_size=10_000,
        workers=1,
    )
    start = time.perf_counter()
    with VendorClient(settings, transport=sandbox.transport()) as client:
        big = client.fetch("inventory").pages
    fetch_s = time.perf_counter() - start
    rows = sum(p.records.height for p in big)

    small = []
    for page in big:
        for offset in range(0, page.records.height, 100):
            small.append(
                dataclasses.replace(
                    page, number=len(small) + 1, body=b"", records=page.records.slice(offset, 100)
                )
            )

    batch = normalise("inventory", big, sync_id="bench")
    table = batch.tables["inventory"]
    print(f"rows={rows:,} fetch (in-process, {len(big)} pages)={fetch_s:.2f}s")
    print(f"counts={batch.counts}")
    big_s = _median_seconds(lambda: normalise("inventory", big, sync_id="bench"), args.repeat)
    small_s = _median_seconds(lambda: normalise("inventory", small, sync_id="bench"), args.repeat)
    pandera_s = _median_seconds(
        lambda: TABLE_SCHEMAS["inventory"].validate(table, lazy=True), args.repeat
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"normalise, {len(big)} pages of <=10,000: {big_s}")
    print(f"normalise, {len(small)} pages of 100: {small_s}")
    print(f"pandera validate of the final table alone: {pandera_s}")
    print(f"peak RSS of this process (world + pages + batches): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
