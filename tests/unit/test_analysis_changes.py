"""changes_since on hand-made histories of three syncs, against hand-worked answers."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from tests.unit import analysis_fakes as f
from tests.unit.analysis_fakes import day
from vendorkit import analysis
from vendorkit.analysis.changes import CHANGE_KINDS, changes_since, sync_points
from vendorkit.errors import ConfigError

TS = f.TS


def status_history(key: str, *rows: tuple[str, str, Any, str]) -> pl.DataFrame:
    """rows: (id, status, observed_at, sync_id)."""
    return pl.DataFrame(
        [dict(zip((key, "status", "observed_at", "sync_id"), r, strict=True)) for r in rows],
        schema={key: pl.String, "status": pl.String, "observed_at": TS, "sync_id": pl.String},
    )


@pytest.fixture
def world() -> dict[str, pl.DataFrame]:
    s1, s2, s3 = day(1), day(2), day(3)
    hist = f.history(
        ("1", s1, f.inventory(("A", "10", 5), ("B", "10", 0), ("C", "10", 100), ("D", "10", 4))),
        ("2", s2, f.inventory(("A", "10", 5), ("B", "10", 0), ("C", "10", 100), ("D", "10", 4))),
        # A goes out (with demand), B recovers, C drops 100 -> 40, D goes out (no demand)
        ("3", s3, f.inventory(("A", "10", 0), ("B", "10", 7), ("C", "10", 40), ("D", "10", 0))),
    )
    orders = f.orders(
        ("o1", "r1", "BACKORDERED", day(2)),
        ("o2", "r1", "CANCELLED", day(2)),
        ("o3", "r2", "ON_HOLD", day(3)),
    )
    lines = f.order_lines(("o1", 1, "A", 3, "10"), ("o2", 1, "D", 9, "10"), ("o3", 1, "C", 1, "10"))
    ships = f.shipments(
        # due Jan 2, undelivered: late at sync 3 (Jan 3), not at sync 2 (Jan 2, same day)
        ("x1", "o1", "UPS", "IN_TRANSIT", day(1), day(2), None),
        # due Jan 1: already late at sync 2 -> not new
        ("x2", "o1", "UPS", "IN_TRANSIT", day(1), day(1), None),
        # due Jan 2, delivered Jan 2 at 18:00: never late
        ("x3", "o3", "UPS", "DELIVERED", day(1), day(2), day(2, 18)),
    )
    osh = status_history(
        "order_id",
        ("o1", "OPEN", s1, "1"),
        ("o2", "OPEN", s1, "1"),
        ("o1", "BACKORDERED", s3, "3"),
        ("o2", "CANCELLED", s3, "3"),
        ("o3", "ON_HOLD", s3, "3"),  # a new order, first seen on hold
    )
    ssh = status_history(
        "shipment_id",
        ("x1", "SHIPPED", s1, "1"),
        ("x2", "SHIPPED", s1, "1"),
        ("x3", "SHIPPED", s1, "1"),
        ("x1", "IN_TRANSIT", s2, "2"),
        ("x3", "DELIVERED", s3, "3"),
    )
    return {"hist": hist, "orders": orders, "lines": lines, "ships": ships, "osh": osh, "ssh": ssh}


def _run(w: dict[str, pl.DataFrame], **options: Any) -> pl.DataFrame:
    return changes_since(
        w["hist"], w["orders"], w["lines"], w["ships"], w["osh"], w["ssh"], **options
    )


def _kinds(out: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [
        (r["kind"], r["part_number"] or r["shipment_id"] or r["order_id"], r["before"], r["after"])
        for r in out.iter_rows(named=True)
        if r["kind"] not in ("order_status", "shipment_status")
    ]


def test_changes_hand_worked(world: dict[str, pl.DataFrame]) -> None:
    out = _run(world)
    got = _kinds(out)
    # A 5 -> 0 and D 4 -> 0 move fewer than 10 units: not quantity moves; B 0 -> 7 neither
    assert got == [
        ("new_stockout", "A", "5", "0"),  # D went out too, but only cancelled o2 ordered it
        ("recovered_stockout", "B", "0", "7"),
        ("quantity_move", "C", "100", "40"),  # 60 units and 60 % of 100
        ("order_backordered", "o1", "OPEN", "BACKORDERED"),
        ("order_on_hold", "o3", None, "ON_HOLD"),  # first seen on hold
        ("order_cancelled", "o2", "OPEN", "CANCELLED"),
        ("shipment_late", "x1", None, None),  # due Jan 2: late on Jan 3, not on Jan 2
    ]
    assert out.filter(pl.col("kind") == "new_stockout")["detail"].to_list() == [
        "3 units ordered in the last 28 days"
    ]
    # every status transition of sync 3, with its time
    turns = out.filter(pl.col("kind").is_in(["order_status", "shipment_status"]))
    assert turns.select("kind", "order_id", "shipment_id", "before", "after").rows() == [
        ("order_status", "o1", None, "OPEN", "BACKORDERED"),
        ("order_status", "o2", None, "OPEN", "CANCELLED"),
        ("order_status", "o3", None, None, "ON_HOLD"),
        ("shipment_status", None, "x3", "SHIPPED", "DELIVERED"),
    ]
    assert set(turns["observed_at"].to_list()) == {day(3)}
    assert set(out["sync_id"].to_list()) == {"3"}
    assert out["kind"].cast(pl.String).to_list() == sorted(
        out["kind"].cast(pl.String).to_list(), key=CHANGE_KINDS.index
    )


def test_changes_between_chosen_syncs_and_thresholds(world: dict[str, pl.DataFrame]) -> None:
    # sync 1 -> 2: nothing moved in stock; x1 turned IN_TRANSIT; x2 (due Jan 1) became late
    early = _run(world, since="1", until="2")
    assert _kinds(early) == [("shipment_late", "x2", None, None)]
    assert early.filter(pl.col("kind") == "shipment_status")["after"].to_list() == ["IN_TRANSIT"]
    # sync 1 -> 3 spans both: x1 and x2 both became late
    wide = _run(world, since="1")
    assert wide.filter(pl.col("kind") == "shipment_late")["shipment_id"].to_list() == ["x1", "x2"]
    # a 4-unit threshold also reports A (5 units, 100 %), B (0 -> 7: 7 units, 700 % of 1)
    # and D (4 units, 100 %)
    moves = _run(world, move_min_units=4)
    assert moves.filter(pl.col("kind") == "quantity_move")["part_number"].to_list() == [
        "A",
        "B",
        "C",
        "D",
    ]
    # a share threshold above 60 % leaves C (60 %) out
    assert "C" not in _run(world, move_min_share=0.7)["part_number"].to_list()


def test_changes_refuse_unknown_or_backward_syncs(world: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(ConfigError, match="since='9' is not a sync"):
        _run(world, since="9")
    with pytest.raises(ConfigError, match="not before"):
        _run(world, since="3", until="2")
    with pytest.raises(ConfigError, match="look swapped"):
        changes_since(
            world["hist"], world["lines"], world["orders"], world["ships"], world["osh"],
            world["ssh"],
        )  # fmt: skip


def test_sync_points_order_and_first_sync(world: dict[str, pl.DataFrame]) -> None:
    points = sync_points(world["hist"], world["osh"], world["ssh"])
    assert points["sync_id"].to_list() == ["1", "2", "3"]
    # with one sync only, everything seen is new: no since snapshot, no stock changes
    first = _run(world, until="1")
    assert "new_stockout" not in first["kind"].cast(pl.String).to_list()
    assert first.filter(pl.col("kind") == "order_status")["before"].to_list() == [None, None]


def test_changes_since_is_in_the_package() -> None:
    assert analysis.changes_since is changes_since
