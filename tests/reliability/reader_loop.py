"""A separate process that loads frames through the front door in a loop (concurrency test).

Prints ``ready`` once imported, then one JSON line per load until stdin is closed:
``{"table": ..., "rows": n, "digest": sha256}`` or ``{"table": ..., "error": class, "message"}``.
Settings come from the environment (``VENDORKIT_DB`` etc.); ``max_age=None`` so no load ever
triggers a sync of its own.
"""

from __future__ import annotations

import hashlib
import json
import select
import sys
import time

import polars as pl

import vendorkit
from vendorkit.errors import VendorkitError

LOADERS = {
    "inventory": vendorkit.load_inventory,
    "orders": vendorkit.load_orders,
    "order_lines": vendorkit.load_order_lines,
}


def digest(frame: pl.DataFrame) -> str:
    """Content digest independent of row order and of ``status_raw`` (as the sandbox spells)."""
    frame = frame.drop("status_raw", strict=False)
    frame = frame.with_columns(pl.col(pl.Enum).cast(pl.String))
    frame = frame.sort(frame.columns, nulls_last=True)
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()


def main() -> None:
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0)
        if ready and not sys.stdin.readline():
            return
        for table, load in LOADERS.items():
            try:
                frame = load()
                line = {"table": table, "rows": frame.height, "digest": digest(frame)}
            except VendorkitError as exc:
                line = {"table": table, "error": type(exc).__name__, "message": str(exc)}
            except Exception as exc:  # the test fails on these: report them, do not hide them
                line = {"table": table, "error": type(exc).__name__, "message": repr(exc)}
            print(json.dumps(line), flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    main()
