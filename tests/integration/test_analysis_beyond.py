"""changes_since, otif, stockout_forecast and rebalance_suggestions agree with naive versions.

The naive versions loop over rows in plain Python and follow docs/metrics.md word for word;
expectations are computed here from whatever the sandbox world holds (never frozen numbers),
so the tests hold while the sandbox's world evolves. Two sources:

* the sandbox's ground truth, changed three times with ``Sandbox.mutate`` (inventory moves,
  shipments advance, orders follow), with the histories the store would keep (one inventory
  snapshot per sync, a status row whenever a sync sees a new status);
* a ``vendorkit.connect(":memory:")`` handle synced three times over localhost HTTP.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

import vendorkit as vk
from tests.integration.test_analysis_sandbox import naive_shipped
from vendorkit import analysis
from vendorkit.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.integration

TS = pl.Datetime("us", "UTC")
FINAL = {"SHIPPED", "DELIVERED", "CLOSED"}
Z90 = 1.2815515655446004


def _status_rows(frame: pl.DataFrame, key: str, sync_id: str, at: datetime) -> pl.DataFrame:
    return frame.select(
        key, pl.col("status").cast(pl.String), pl.lit(at, dtype=TS).alias("observed_at"),
        pl.lit(sync_id).alias("sync_id"),
    )  # fmt: skip


def _only_changes(history: pl.DataFrame, key: str) -> pl.DataFrame:
    """Keep a status row only when it differs from the entity's previous one (the store's rule)."""
    out, last = [], {}
    for r in history.sort("observed_at", "sync_id").to_dicts():
        if last.get(r[key]) != r["status"]:
            out.append(r)
        last[r[key]] = r["status"]
    return pl.DataFrame(out, schema=history.schema)


@pytest.fixture(scope="module")
def mutated() -> dict[str, pl.DataFrame]:
    sb = Sandbox(SandboxConfig(seed=7, scale=0.3))
    snaps, osh, ssh = [], [], []
    for k in range(4):
        if k:
            sb.mutate(0.25, advance=timedelta(hours=20))
        sync_id, at = f"2026-sync-{k}", sb.now
        inv = sb.ground_truth("inventory")
        snaps.append(
            inv.select(pl.lit(sync_id).alias("sync_id"), pl.lit(at, dtype=TS).alias("snapshot_at"),
                       pl.all())
        )  # fmt: skip
        osh.append(_status_rows(sb.ground_truth("orders"), "order_id", sync_id, at))
        ssh.append(_status_rows(sb.ground_truth("shipments"), "shipment_id", sync_id, at))
    tables = {
        t: sb.ground_truth(t)
        for t in ("inventory", "orders", "order_lines", "shipments", "shipment_lines")
    }
    tables["inventory_history"] = pl.concat(snaps)
    tables["order_status_history"] = _only_changes(pl.concat(osh), "order_id")
    tables["shipment_status_history"] = _only_changes(pl.concat(ssh), "shipment_id")
    return tables


@pytest.fixture(scope="module")
def synced() -> Iterator[dict[str, pl.DataFrame]]:
    settings = vk.Settings(_env_file=None, db=":memory:", sandbox_scale=0.2)
    with vk.connect(":memory:", settings=settings) as h:
        for _ in range(3):
            h.sync()
        yield {
            t: getattr(h, f"load_{t}")()
            for t in (
                "inventory", "inventory_history", "orders", "order_lines", "shipments",
                "shipment_lines", "order_status_history", "shipment_status_history",
            )
        }  # fmt: skip


SOURCES = ["mutated", "synced"]


@pytest.fixture(params=SOURCES)
def world(request: pytest.FixtureRequest) -> dict[str, pl.DataFrame]:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    return df.to_dicts()


# --------------------------------------------------------------------------- changes_since


def naive_changes(w: dict[str, pl.DataFrame], *, since_first: bool = False) -> set[tuple[Any, ...]]:
    """Between the last two syncs (or the first and the last), every change, by the
    definitions in docs/metrics.md."""
    times: dict[str, datetime] = {}
    for name, col in (("inventory_history", "snapshot_at"), ("order_status_history",
                      "observed_at"), ("shipment_status_history", "observed_at")):  # fmt: skip
        for r in rows(w[name]):
            times[r["sync_id"]] = min(times.get(r["sync_id"], r[col]), r[col])
    order = sorted(times, key=lambda s: (times[s], s))
    end_id, start_id = order[-1], order[0] if since_first else order[-2]
    end_at, start_at = times[end_id], times[start_id]
    out: set[tuple[Any, ...]] = set()

    snap: dict[str, dict[tuple[str, str], int]] = {
        start_id: defaultdict(int),
        end_id: defaultdict(int),
    }
    for r in rows(w["inventory_history"]):
        if r["sync_id"] in snap:
            snap[r["sync_id"]][(r["part_number"], r["warehouse_id"])] += r["quantity_on_hand"]
    orders = {o["order_id"]: o for o in rows(w["orders"])}
    demand: dict[tuple[str, str], int] = defaultdict(int)
    for line in rows(w["order_lines"]):
        o = orders.get(line["order_id"])
        if o is None or str(o["status"]) == "CANCELLED" or line["warehouse_id"] is None:
            continue
        if end_at - timedelta(days=28) < o["order_date"] <= end_at:
            demand[(line["part_number"], line["warehouse_id"])] += line["quantity_ordered"]
    before, after = snap[start_id], snap[end_id]
    for key in before.keys() & after.keys():
        qb, qa = before[key], after[key]
        if qb > 0 >= qa and demand.get(key, 0) > 0:
            out.add(("new_stockout", *key, qb, qa))
        if qb <= 0 < qa:
            out.add(("recovered_stockout", *key, qb, qa))
        if abs(qa - qb) >= 10 and abs(qa - qb) >= 0.5 * max(qb, 1):
            out.add(("quantity_move", *key, qb, qa))

    turns = {"BACKORDERED": "order_backordered", "ON_HOLD": "order_on_hold",
             "CANCELLED": "order_cancelled"}  # fmt: skip
    for name, key, kind in (("order_status_history", "order_id", "order_status"),
                            ("shipment_status_history", "shipment_id", "shipment_status")):  # fmt: skip
        prev: dict[str, str] = {}
        for r in sorted(rows(w[name]), key=lambda r: (r["observed_at"], r["sync_id"])):
            was, now = prev.get(r[key]), str(r["status"])
            prev[r[key]] = now
            if start_at < r["observed_at"] <= end_at and was != now:
                out.add((kind, r[key], was, now))
                if kind == "order_status" and now in turns:
                    out.add((turns[now], r[key], was, now))

    history = sorted(
        rows(w["shipment_status_history"]), key=lambda r: (r["observed_at"], r["sync_id"])
    )

    def late(at: datetime) -> set[str]:
        status_at: dict[str, str] = {}
        for r in history:
            if r["observed_at"] <= at:
                status_at[r["shipment_id"]] = str(r["status"])
        found = set()
        for s in rows(w["shipments"]):
            if str(s["status"]) == "CANCELLED" or s["estimated_delivery_date"] is None:
                continue
            if status_at.get(s["shipment_id"]) in ("DELIVERED", "CANCELLED"):
                continue
            if s["delivered_date"] is not None and s["delivered_date"] <= at:
                continue
            if s["estimated_delivery_date"].date() < at.date():
                found.add(s["shipment_id"])
        return found

    for sid in late(end_at) - late(start_at):
        out.add(("shipment_late", sid))
    return out


def _got_changes(frame: pl.DataFrame) -> set[tuple[Any, ...]]:
    got: set[tuple[Any, ...]] = set()
    for r in rows(frame):
        kind = str(r["kind"])
        if kind in ("new_stockout", "recovered_stockout", "quantity_move"):
            got.add((kind, r["part_number"], r["warehouse_id"], r["quantity_before"],
                     r["quantity_after"]))  # fmt: skip
        elif kind == "shipment_late":
            got.add((kind, r["shipment_id"]))
        else:
            got.add((kind, r["order_id"] or r["shipment_id"], r["before"], r["after"]))
    return got


@pytest.mark.parametrize("since_first", [False, True])
def test_changes_since_agrees(world: dict[str, pl.DataFrame], since_first: bool) -> None:
    w = world
    since = analysis.sync_points(w["inventory_history"])["sync_id"][0] if since_first else None
    frame = analysis.changes_since(
        w["inventory_history"], w["orders"], w["order_lines"], w["shipments"],
        w["order_status_history"], w["shipment_status_history"], since=since,
    )  # fmt: skip
    assert frame.height == len(_got_changes(frame))  # one row per change
    assert _got_changes(frame) == naive_changes(w, since_first=since_first)


def test_mutated_world_has_changes_of_each_family(mutated: dict[str, pl.DataFrame]) -> None:
    kinds = {k[0] for k in naive_changes(mutated, since_first=True)}
    assert {"quantity_move", "order_status", "shipment_status"} <= kinds


# --------------------------------------------------------------------------- otif


def naive_otif(
    w: dict[str, pl.DataFrame], *, level: str, by: str | None, tolerance_days: int = 0
) -> dict[Any, tuple[int, int, int, int, int, int]]:
    """Per group: (units, open, decided, in_full, on_time, otif)."""
    stamps = [r[c] for r in rows(w["shipments"]) for c in ("ship_date", "delivered_date",
              "updated_at") if r.get(c) is not None]  # fmt: skip
    stamps += [r[c] for r in rows(w["orders"]) for c in ("order_date", "updated_at")
               if r.get(c) is not None]  # fmt: skip
    end = max(stamps)
    world = {"orders": w["orders"], "order_lines": w["order_lines"], "shipments": w["shipments"]}
    lines = [m for m in naive_shipped(world, rows(w["shipment_lines"]), as_of=end)
             if m["quantity_ordered"] > 0]  # fmt: skip
    ships = {s["shipment_id"]: s for s in rows(w["shipments"]) if str(s["status"]) != "CANCELLED"}
    first: dict[str, tuple[datetime, datetime]] = {}
    ssh = w.get("shipment_status_history")
    if ssh is not None and "estimated_delivery_date" in ssh.columns:
        for r in rows(ssh):
            if r["estimated_delivery_date"] is not None:
                seen = first.get(r["shipment_id"])
                if seen is None or r["observed_at"] < seen[0]:
                    first[r["shipment_id"]] = (r["observed_at"], r["estimated_delivery_date"])
    promise = {sid: first[sid][1] if sid in first else s["estimated_delivery_date"]
               for sid, s in ships.items()}  # fmt: skip
    # which shipments ship which unit
    unit_ships: dict[Any, set[str]] = defaultdict(set)
    for sl in rows(w["shipment_lines"]):
        if sl["shipment_id"] not in ships:
            continue
        if level == "order":
            unit_ships[sl["order_id"]].add(sl["shipment_id"])
        elif sl["line_number"] is not None:
            unit_ships[(sl["order_id"], sl["line_number"])].add(sl["shipment_id"])
        else:
            for m in lines:
                if (m["order_id"], m["part_number"]) == (sl["order_id"], sl["part_number"]):
                    unit_ships[(m["order_id"], m["line_number"])].add(sl["shipment_id"])
    if level == "order":  # every shipment of the order, lines or not
        for sid, s in ships.items():
            unit_ships[s["order_id"]].add(sid)
    units: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for m in lines:
        units[m["order_id"] if level == "order" else (m["order_id"], m["line_number"])].append(m)
    out: dict[Any, list[int]] = defaultdict(lambda: [0] * 6)
    for unit, members in units.items():
        order = members[0]["order"]
        in_full = all(m["shipped"] >= m["quantity_ordered"] for m in members)
        mine = [ships[s] for s in unit_ships.get(unit, ())]
        delivered = [s["delivered_date"] is not None and s["delivered_date"] <= end for s in mine]
        on_time = bool(mine) and all(
            d
            and promise[s["shipment_id"]] is not None
            and s["delivered_date"].date()
            <= promise[s["shipment_id"]].date() + timedelta(days=tolerance_days)
            for s, d in zip(mine, delivered, strict=True)
        )
        decided = (
            bool(mine) and all(delivered)
            and all(promise[s["shipment_id"]] is not None for s in mine)
            and (in_full or str(order["status"]) in FINAL)
        )  # fmt: skip
        if by is None:
            groups: set[Any] = {"all"}
        elif by == "reseller":
            groups = {order["reseller_id"]}
        else:
            groups = {s[by if by == "carrier" else "warehouse_id"] for s in mine} or {None}
        for g in groups:
            o = out[g]
            o[0] += 1
            o[1] += not decided
            o[2] += decided
            o[3] += decided and in_full
            o[4] += decided and on_time
            o[5] += decided and in_full and on_time
    return {g: tuple(v) for g, v in out.items()}  # type: ignore[misc]


@pytest.mark.parametrize(
    ("level", "by", "tolerance"),
    [("order", None, 0), ("line", None, 0), ("order", "carrier", 1), ("line", "warehouse", 0),
     ("order", "reseller", 0)],
)  # fmt: skip
def test_otif_agrees(
    world: dict[str, pl.DataFrame], level: str, by: str | None, tolerance: int
) -> None:
    w = world
    got_frame = analysis.otif(
        w["orders"], w["order_lines"], w["shipments"], w["shipment_lines"],
        w["shipment_status_history"], level=level, by=by, tolerance_days=tolerance,
    )  # fmt: skip
    noun = "orders" if level == "order" else "lines"
    column = {"carrier": "carrier", "warehouse": "warehouse_id", "reseller": "reseller_id"}
    got = {
        (r[column[by]] if by else "all"): (r[noun], r[f"open_{noun}"], r["decided"],
                                           r["in_full"], r["on_time"], r["otif"])
        for r in rows(got_frame)
    }  # fmt: skip
    expected = naive_otif(w, level=level, by=by, tolerance_days=tolerance)
    assert got == expected
    assert sum(v[2] for v in expected.values()) > 10  # decided units exist
    for r in rows(got_frame):  # rates over decided units
        if r["decided"]:
            assert r["otif_rate"] == pytest.approx(r["otif"] / r["decided"])


# --------------------------------------------------------------------------- planning


def _naive_daily(
    w: dict[str, pl.DataFrame], window: int
) -> tuple[dict[Any, list[float]], datetime]:
    orders = {o["order_id"]: o for o in rows(w["orders"])}
    end = max(o["order_date"] for o in orders.values() if o["order_date"] is not None)
    daily: dict[Any, list[float]] = defaultdict(lambda: [0.0] * window)
    for line in rows(w["order_lines"]):
        o = orders.get(line["order_id"])
        if o is None or str(o["status"]) == "CANCELLED" or line["warehouse_id"] is None:
            continue
        if end - timedelta(days=window) < o["order_date"] <= end:
            i = int((end - o["order_date"]) / timedelta(days=1))
            daily[(line["part_number"], line["warehouse_id"])][i] += line["quantity_ordered"]
    return daily, end


def _stock(w: dict[str, pl.DataFrame]) -> dict[Any, tuple[int, int | None]]:
    stock: dict[Any, list[Any]] = {}
    for r in rows(w["inventory"]):
        s = stock.setdefault((r["part_number"], r["warehouse_id"]), [0, None])
        s[0] += r["quantity_on_hand"]
        if r["quantity_on_order"] is not None:
            s[1] = (s[1] or 0) + r["quantity_on_order"]
    return {k: (v[0], v[1]) for k, v in stock.items()}


def test_stockout_forecast_agrees(world: dict[str, pl.DataFrame]) -> None:
    w, window = world, 28
    daily, end = _naive_daily(w, window)
    stock = _stock(w)
    expected = {}
    for key in stock.keys() | daily.keys():
        on_hand, on_order = stock.get(key, (0, None))
        x = daily.get(key, [0.0] * window)
        mu, sigma = statistics.mean(x), statistics.stdev(x)
        supply = max(on_hand, 0) + max(on_order or 0, 0)
        if mu == 0:
            expected[key] = (supply, None, None)
            continue
        zs = Z90 * sigma
        p90 = ((-zs + math.sqrt(zs * zs + 4 * mu * supply)) / (2 * mu)) ** 2
        expected[key] = (supply, supply / mu, p90)
    out = analysis.stockout_forecast(w["inventory"], w["orders"], w["order_lines"])
    got = {(r["part_number"], r["warehouse_id"]): r for r in rows(out)}
    assert got.keys() == expected.keys()
    for key, (supply, p50, p90) in expected.items():
        r = got[key]
        assert r["supply_units"] == supply, key
        assert r["days_to_stockout_p50"] == pytest.approx(p50), key
        assert r["days_to_stockout_p90"] == pytest.approx(p90, abs=1e-9), key
        if p50 is not None:
            assert r["stockout_date_p50"] - end == pytest.approx(
                timedelta(days=p50), abs=timedelta(milliseconds=1)
            )
            assert r["days_to_stockout_p90"] <= r["days_to_stockout_p50"] + 1e-9
    assert sum(v[1] is not None for v in expected.values()) > 20
    p90s = out["days_to_stockout_p90"].drop_nulls()
    assert p90s.is_sorted()  # most urgent first


def test_rebalance_suggestions_agree(world: dict[str, pl.DataFrame]) -> None:
    w, window, target, below = world, 28, 28.0, 14.0
    daily, _ = _naive_daily(w, window)
    stock = _stock(w)
    parts: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for key in stock.keys() | daily.keys():
        mu = sum(daily.get(key, [])) / window
        parts[key[0]].append((key[1], max(stock.get(key, (0, None))[0], 0), mu))
    expected = []
    for part in sorted(parts):
        whs = parts[part]
        recv = sorted(
            [(on / mu, -mu, wh, math.ceil(target * mu - on), on, mu) for wh, on, mu in whs
             if mu > 0 and on / mu < below and math.ceil(target * mu - on) > 0]
        )  # fmt: skip
        donors = []
        for wh, on, mu in whs:
            give = min(math.floor(on - target * mu), on - 1)
            if give > 0:
                dos = on / mu if mu > 0 else math.inf
                donors.append((-dos, -give, wh, give, on, mu))
        donors.sort()
        left = [d[3] for d in donors]
        given = [0] * len(donors)
        for _, _, to_wh, need, to_on, to_mu in recv:
            got_in = 0
            for i, (_, _, from_wh, _, from_on, from_mu) in enumerate(donors):
                take = min(need - got_in, left[i])
                if take <= 0:
                    continue
                left[i] -= take
                given[i] += take
                got_in += take
                from_after = (from_on - given[i]) / from_mu if from_mu > 0 else None
                expected.append((part, from_wh, to_wh, take, from_after, (to_on + got_in) / to_mu))
                if got_in == need:
                    break
    out = analysis.rebalance_suggestions(w["inventory"], w["orders"], w["order_lines"])
    got = out.select(
        "part_number", "from_warehouse_id", "to_warehouse_id", "quantity", "from_days_after",
        "to_days_after",
    ).rows()  # fmt: skip
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[:4] == e[:4]
        assert g[4] == pytest.approx(e[4]) and g[5] == pytest.approx(e[5])
    assert expected, "the sandbox world has no imbalance to fix"
    # never a new shortage: donors stay at or above the target, in stock
    assert (out["from_days_after"].drop_nulls() >= target - 1e-9).all()
    per_donor = out.group_by("part_number", "from_warehouse_id").agg(
        pl.col("from_on_hand").first(), pl.col("quantity").sum()
    )
    assert (per_donor["from_on_hand"] - per_donor["quantity"] >= 1).all()  # none emptied
