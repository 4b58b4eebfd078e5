"""Helpers shared by the reliability tests: served sandboxes, settings, store comparisons."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vendorkit.config import Settings
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.store import TABLE_KEYS, Store

#: the typed tables the sandbox has ground truth for, and their keys
TRUTH_TABLES = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")
#: every table a sync writes data to (compared when a sync must leave the store unchanged)
DATA_TABLES = (
    *TRUTH_TABLES,
    "inventory_history",
    "order_status_history",
    "shipment_status_history",
)

CLIENT_ID = "reliability-client"
#: recognisable values: the secrets scan looks for them everywhere
CLIENT_SECRET = "SECRET-rel-7f3a9d2c"


@dataclass
class Served:
    sandbox: Sandbox
    server: Any

    def settings(self, db: Path | str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "base_url": self.server.base_url,
            "token_url": self.server.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "db": str(db),
            "page_size": 10,
            "workers": 2,
            "max_retries": 6,
            "timeout_s": 5.0,
            "connect_timeout_s": 2.0,
        }
        values.update(overrides)
        return Settings(**values)


@contextmanager
def served(config: SandboxConfig) -> Iterator[Served]:
    sandbox = Sandbox(config)
    with sandbox.serve(host="127.0.0.1", port=0) as server:
        yield Served(sandbox, server)


@dataclass
class Diff:
    """How a store differs from the sandbox's ground truth."""

    lost: int = 0
    doubled: int = 0
    extra: int = 0
    changed: int = 0
    detail: str = ""

    @property
    def exact(self) -> bool:
        return not (self.lost or self.doubled or self.extra or self.changed)


def compare_with_truth(
    store: Store, sandbox: Sandbox, tables: tuple[str, ...] = TRUTH_TABLES
) -> Diff:
    """Count records lost, doubled, extra or with different values, table by table."""
    diff = Diff()
    notes = []
    for table in tables:
        want = sandbox.ground_truth(table)
        cols = [c for c in want.columns if c != "status_raw"]
        want = want.select(cols)
        got = store.read_table(table).select(cols)
        key = list(TABLE_KEYS[table])
        doubled = got.height - got.unique(key).height
        lost = want.join(got, on=key, how="anti").height
        extra = got.join(want, on=key, how="anti").height
        both = want.join(got.unique(key), on=key, how="inner", suffix="__got")
        changed = 0
        for c in cols:
            if c in key:
                continue
            a, b = both[c], both[f"{c}__got"]
            changed_c = int((a.ne_missing(b)).sum())
            changed += changed_c
            if changed_c:
                notes.append(f"{table}.{c}: {changed_c} differ")
        if doubled or lost or extra:
            notes.append(f"{table}: lost {lost}, doubled {doubled}, extra {extra}")
        diff.lost += lost
        diff.doubled += doubled
        diff.extra += extra
        diff.changed += changed
    diff.detail = "; ".join(notes)
    return diff


def snapshot(store: Store, tables: tuple[str, ...] = DATA_TABLES) -> dict[str, pl.DataFrame]:
    """Every data table's full contents (sorted), to compare before/after a failed sync."""
    out = {}
    for table in tables:
        frame = store.read_table(table)
        out[table] = frame.sort(frame.columns, nulls_last=True)
    return out


def cursors(store: Store) -> dict[str, Any]:
    return {e: store.cursor(e) for e in ("inventory", "orders", "shipments")}


def assert_same(before: dict[str, pl.DataFrame], after: dict[str, pl.DataFrame]) -> None:
    from polars.testing import assert_frame_equal

    assert before.keys() == after.keys()
    for table in before:
        assert_frame_equal(before[table], after[table], check_exact=True), table
