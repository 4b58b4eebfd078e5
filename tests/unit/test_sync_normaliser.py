"""The sync's background normaliser: import and first-validation work off the main thread."""

from __future__ import annotations

import builtins
import threading
from typing import Any

import polars as pl
import pytest

import vendorkit.schemas
from vendorkit.sync import engine


def _raw() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "partNumber": ["P1"],
            "warehouse": ["20"],
            "quantity": ["5"],
            "lastUpdated": ["2026-01-02T03:04:05Z"],
            "_page": [1],
            "_index": [0],
        }
    )


def test_the_background_thread_prepares_every_endpoint_before_the_first_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, str]] = []
    real = vendorkit.schemas.prepare

    def recording(endpoints: Any = None) -> None:
        seen.append(("prepare", threading.current_thread().name))
        real(endpoints)

    monkeypatch.setattr(vendorkit.schemas, "prepare", recording)
    normaliser = engine._BackgroundNormaliser()
    batch = normaliser("inventory", _raw(), sync_id="s1")
    assert seen == [("prepare", "vendorkit-import-schemas")]
    assert normaliser.ready
    assert batch.counts.loaded == 1


def test_a_sync_prepares_only_the_endpoints_it_syncs(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []
    monkeypatch.setattr(vendorkit.schemas, "prepare", asked.append)
    normaliser = engine._default_normaliser(["inventory"])
    normaliser("inventory", _raw(), sync_id="s1")
    assert asked == [["inventory"]]


def test_a_failing_preparation_leaves_a_working_normaliser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(endpoints: Any = None) -> None:
        raise RuntimeError("warm-up broke")

    monkeypatch.setattr(vendorkit.schemas, "prepare", broken)
    normaliser = engine._BackgroundNormaliser()
    assert normaliser("inventory", _raw(), sync_id="s1").counts.loaded == 1


def test_an_import_error_is_raised_at_the_first_call(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def failing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "vendorkit.schemas":
            raise ImportError("pandera is missing")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing)
    normaliser = engine._BackgroundNormaliser()
    normaliser._thread.join()
    monkeypatch.setattr(builtins, "__import__", real_import)
    with pytest.raises(ImportError, match="pandera is missing"):
        normaliser("inventory", _raw(), sync_id="s1")


def test_prepare_normalises_nothing_and_later_calls_are_unchanged() -> None:
    vendorkit.schemas.prepare()
    batch = vendorkit.schemas.normalise("inventory", _raw(), sync_id="s1")
    assert batch.tables["inventory"]["quantity_on_hand"].to_list() == [5]
    assert batch.rejects.height == 0
