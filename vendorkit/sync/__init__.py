"""Sync: fetch -> stage -> apply (:mod:`~vendorkit.sync.engine`), what it did
(:mod:`~vendorkit.sync.report`) and the replay of archived pages (:mod:`~vendorkit.sync.replay`).

Example:
    >>> from vendorkit.sync import SyncReport, EndpointSync
    >>> SyncReport("s1", "sandbox", [EndpointSync("orders")]).ok
    True
"""

from vendorkit.sync.engine import (
    CATCH_UP_AFTER,
    CHECKPOINT_MAX_AGE,
    CHUNK_RECORDS,
    CHUNK_SECONDS,
    CURSOR_OVERLAP,
    MAX_CATCHUP_PASSES,
    ResumablePageSource,
    resolve_endpoints,
    run_sync,
    sync,
)
from vendorkit.sync.replay import _archived_pages, archived_pages, parse_body, replay, run_replay
from vendorkit.sync.report import EndpointSync, SyncReport, new_sync_id

__all__ = [
    "CATCH_UP_AFTER",
    "CHECKPOINT_MAX_AGE",
    "CHUNK_RECORDS",
    "CHUNK_SECONDS",
    "CURSOR_OVERLAP",
    "MAX_CATCHUP_PASSES",
    "EndpointSync",
    "ResumablePageSource",
    "SyncReport",
    "_archived_pages",
    "archived_pages",
    "new_sync_id",
    "parse_body",
    "replay",
    "resolve_endpoints",
    "run_replay",
    "run_sync",
    "sync",
]
