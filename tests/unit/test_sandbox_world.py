"""The sandbox world: sizes, typed ground truth, plausibility, invalid records, mutations."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import polars as pl
import pytest

from vendorkit.errors import ConfigError
from vendorkit.sandbox import Sandbox, SandboxConfig
from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES, canonical_status_expr

HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "t1"}
TS = pl.Datetime("us", "UTC")


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(
        SandboxConfig(seed=42, as_of=date(2026, 11, 1), scale=0.2, invalid=0, sync_step=None)
    )


@pytest.fixture(scope="module")
def sb_invalid() -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, scale=0.2, invalid=2, sync_step=None))


def fetch_all(sb: Sandbox, endpoint: str, **params: str) -> list[dict]:
    """Every record of a full listing, read over the in-process transport."""
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as c:
        tok = c.post(
            "/oauth/oauth30/token",
            data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        ).json()["access_token"]
        out: list[dict] = []
        page = 1
        while True:
            r = c.get(
                f"/vendors/v1/{endpoint}",
                headers={**HEADERS, "Authorization": f"Bearer {tok}"},
                params={"pageNumber": page, "pageSize": 100, **params},
            )
            if r.status_code == 204:
                return out
            assert r.status_code == 200, r.text
            out += r.json()[endpoint]
            page += 1


def test_sizes_follow_scale(sb: Sandbox) -> None:
    inv = sb.ground_truth("inventory")
    assert inv.height == 100 * 5  # 500 x 0.2 parts x 5 warehouses
    assert sorted(inv["warehouse_id"].unique()) == ["10", "20", "30", "40", "80"]
    names = dict(
        inv.drop_nulls("warehouse_name")
        .select("warehouse_id", "warehouse_name")
        .unique()
        .iter_rows()
    )
    assert names["10"] == "Mira Loma, CA" and names["80"] == "Jonestown, PA"
    assert sb.ground_truth("orders").height == 400


def test_presets_and_large_scale_sizes() -> None:
    bench = SandboxConfig.preset("bench")
    assert (bench.scale, bench.inventory_rows, bench.order_count) == (100.0, 1_000_000, 200_000)
    assert SandboxConfig(scale=60).warehouse_count == 20
    with pytest.raises(ConfigError, match="unknown sandbox preset"):
        SandboxConfig.preset("huge")
    with pytest.raises(ConfigError):
        SandboxConfig(scale=0)


def test_ground_truth_has_the_typed_table_columns(sb: Sandbox) -> None:
    expected = {
        "inventory": [
            "part_number",
            "warehouse_id",
            "warehouse_name",
            "vendor_part_number",
            "quantity_on_hand",
            "quantity_backordered",
            "quantity_on_order",
            "last_updated",
        ],
        "orders": [
            "order_id",
            "reseller_id",
            "reseller_name",
            "status",
            "status_raw",
            "order_date",
            "updated_at",
            "currency_code",
        ],
        "order_lines": [
            "order_id",
            "line_number",
            "part_number",
            "quantity_ordered",
            "quantity_confirmed",
            "quantity_backordered",
            "unit_price",
            "warehouse_id",
        ],
        "shipments": [
            "shipment_id",
            "order_id",
            "carrier",
            "tracking_number",
            "status",
            "status_raw",
            "warehouse_id",
            "ship_date",
            "estimated_delivery_date",
            "delivered_date",
            "updated_at",
        ],
        "shipment_lines": [
            "shipment_id",
            "position",
            "order_id",
            "line_number",
            "part_number",
            "quantity",
        ],
    }
    keys = {
        "inventory": ["part_number", "warehouse_id"],
        "orders": ["order_id"],
        "order_lines": ["order_id", "line_number"],
        "shipments": ["shipment_id"],
        "shipment_lines": ["shipment_id", "position"],
    }
    for table, cols in expected.items():
        df = sb.ground_truth(table)
        assert df.columns == cols, table
        assert df.select(keys[table]).is_unique().all(), table
        assert df.equals(df.sort(keys[table])), table
    assert sb.ground_truth("orders").schema["status"] == pl.Enum(list(ORDER_STATUSES))
    assert sb.ground_truth("shipments").schema["status"] == pl.Enum(list(SHIPMENT_STATUSES))
    assert sb.ground_truth("order_lines").schema["line_number"] == pl.Int32
    assert sb.ground_truth("order_lines").schema["unit_price"] == pl.Float64
    assert sb.ground_truth("shipment_lines").schema["position"] == pl.Int32
    assert sb.ground_truth("inventory").schema["quantity_on_hand"] == pl.Int64
    assert sb.ground_truth("shipments").schema["ship_date"] == TS
    with pytest.raises(ConfigError, match="unknown ground-truth table"):
        sb.ground_truth("resellers")


def test_status_spellings_map_back_to_the_canonical_status(sb: Sandbox) -> None:
    for table, allowed in (("orders", ORDER_STATUSES), ("shipments", SHIPMENT_STATUSES)):
        df = sb.ground_truth(table)
        mapped = df.select(canonical_status_expr("status_raw", allowed))["status_raw"]
        assert mapped.to_list() == df["status"].cast(pl.String).to_list()
        assert df["status_raw"].n_unique() > df["status"].n_unique()  # spelling variants


def test_world_is_believable() -> None:
    sb = Sandbox(SandboxConfig(seed=3, scale=1.0))
    orders, lines = sb.ground_truth("orders"), sb.ground_truth("order_lines")
    ships, slines = sb.ground_truth("shipments"), sb.ground_truth("shipment_lines")
    per_order = lines.group_by("order_id").len()
    assert per_order["len"].min() == 1 and per_order["len"].max() == 5
    # Pareto-like resellers: the top 20% place well over half of the orders
    by_res = orders.group_by("reseller_id").len().sort("len", descending=True)
    top = by_res.head(max(1, by_res.height // 5))["len"].sum()
    assert top / orders.height > 0.5
    # weekdays busier than weekends
    wd = orders.with_columns(pl.col("order_date").dt.weekday().alias("wd")).group_by("wd").len()
    counts = dict(wd.iter_rows())
    assert min(counts[d] for d in range(1, 6)) > 2 * max(counts.get(6, 0), counts.get(7, 0))
    # window: 180 days ending at as_of noon
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert orders["order_date"].max() <= start
    assert orders["order_date"].min() >= start - timedelta(days=181)
    # several carriers, some in transit, some late, most delivered
    assert ships["carrier"].n_unique() >= 5
    statuses = set(ships["status"].cast(pl.String))
    assert {"DELIVERED", "IN_TRANSIT"} <= statuses
    late = ships.filter(pl.col("delivered_date") > pl.col("estimated_delivery_date")).height
    assert 0 < late < ships.height / 2
    # quantities are consistent
    active = lines.join(orders.filter(pl.col("status") != "CANCELLED"), on="order_id", how="semi")
    assert (
        active["quantity_confirmed"] + active["quantity_backordered"] == active["quantity_ordered"]
    ).all()
    assert active.filter(pl.col("quantity_backordered") > 0).height > 0  # backorders exist
    shipped = slines.group_by("order_id", "line_number").agg(pl.col("quantity").sum())
    joined = shipped.join(lines, on=["order_id", "line_number"])
    assert joined.height == shipped.height
    assert (joined["quantity"] <= joined["quantity_ordered"]).all()
    # order statuses agree with shipments
    cancelled = orders.filter(pl.col("status") == "CANCELLED")
    assert cancelled.height > 0
    assert ships.join(cancelled, on="order_id", how="semi").height == 0
    done = orders.filter(pl.col("status").is_in(["DELIVERED", "CLOSED"]))
    done_ships = ships.join(done, on="order_id", how="semi")
    assert (done_ships["status"] == "DELIVERED").all()
    split = ships.group_by("order_id").len().filter(pl.col("len") > 1)
    assert split.height > 0  # split shipments
    assert {"CLOSED", "DELIVERED", "CANCELLED", "PARTIALLY_SHIPPED"} <= set(
        orders["status"].cast(pl.String)
    )


def test_inventory_trends_and_orders_stay_stable_across_as_of() -> None:
    a = Sandbox(SandboxConfig(seed=5, scale=0.2, as_of=date(2026, 11, 1)))
    b = Sandbox(SandboxConfig(seed=5, scale=0.2, as_of=date(2026, 11, 8)))
    ia, ib = a.ground_truth("inventory"), b.ground_truth("inventory")
    assert ia.select("part_number", "warehouse_id").equals(ib.select("part_number", "warehouse_id"))
    changed = (ia["quantity_on_hand"] != ib["quantity_on_hand"]).mean()
    assert changed > 0.5
    assert (ib["last_updated"] > datetime(2026, 11, 1, 12, tzinfo=UTC)).mean() > 0.5
    # the same order keeps its reseller and lines when as_of moves
    oa, ob = a.ground_truth("orders"), b.ground_truth("orders")
    common = oa.join(ob, on="order_id", suffix="_b")
    assert common.height > 0.9 * oa.height
    assert (common["reseller_id"] == common["reseller_id_b"]).all()
    la = a.ground_truth("order_lines").join(common.select("order_id"), on="order_id")
    lb = b.ground_truth("order_lines").join(common.select("order_id"), on="order_id")
    assert la.select("order_id", "line_number", "part_number", "quantity_ordered").equals(
        lb.select("order_id", "line_number", "part_number", "quantity_ordered")
    )


def _to_int(v: object) -> int | None:
    return None if v is None else int(str(v))


def _to_ts(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC)


def test_served_inventory_equals_ground_truth(sb: Sandbox) -> None:
    records = fetch_all(sb, "inventory")
    assert len(records) == sb.served_record_count("inventory") == 500
    rows = [
        {
            "part_number": r["partNumber"],
            "warehouse_id": str(r["warehouse"]),
            "warehouse_name": r.get("warehouseName"),
            "vendor_part_number": r.get("vendorPartNumber"),
            "quantity_on_hand": _to_int(r["quantity"]),
            "quantity_backordered": _to_int(r.get("quantityBackordered")),
            "quantity_on_order": _to_int(r.get("quantityOnOrder")),
            "last_updated": _to_ts(r["lastUpdated"]),
        }
        for r in records
    ]
    served = pl.DataFrame(rows, schema=sb.ground_truth("inventory").schema, orient="row")
    assert served.sort("part_number", "warehouse_id").equals(sb.ground_truth("inventory"))


def test_served_orders_and_shipments_equal_ground_truth(sb: Sandbox) -> None:
    orders = fetch_all(sb, "orders")
    truth = sb.ground_truth("orders")
    assert [o["orderId"] for o in orders] == truth["order_id"].to_list()
    assert [o["status"] for o in orders] == truth["status_raw"].to_list()
    assert [_to_ts(o["updatedAt"]) for o in orders] == truth["updated_at"].to_list()
    lines = [
        (o["orderId"], i + 1, ln["partNumber"], _to_int(ln["quantity"]), float(ln["unitPrice"]))
        for o in orders
        for i, ln in enumerate(o["lines"])
    ]
    tl = sb.ground_truth("order_lines")
    assert lines == list(
        tl.select(
            "order_id", "line_number", "part_number", "quantity_ordered", "unit_price"
        ).iter_rows()
    )
    ships = fetch_all(sb, "shipments")
    ts = sb.ground_truth("shipments")
    assert [s["id"] for s in ships] == ts["shipment_id"].to_list()
    assert [_to_ts(s.get("deliveredDate")) for s in ships] == ts["delivered_date"].to_list()
    n_lines = sum(len(s["lines"]) for s in ships)
    assert n_lines == sb.ground_truth("shipment_lines").height


def test_quirks_are_present_by_default(sb: Sandbox) -> None:
    inv = fetch_all(sb, "inventory")
    assert {type(r["quantity"]) for r in inv} == {int, str}
    assert {type(r["warehouse"]) for r in inv} == {int, str}
    assert any("warehouseName" not in r for r in inv)
    stamps = [r["lastUpdated"] for r in inv]
    assert any(s.endswith("Z") for s in stamps) and any(s.endswith("-07:00") for s in stamps)
    statuses = {o["status"] for o in fetch_all(sb, "orders")}
    assert statuses & {"Closed", "Delivered", "Canceled", "im::order_voided"}


def test_no_quirks_serves_plain_records() -> None:
    sb = Sandbox(SandboxConfig(seed=1, scale=0.05, quirks=False, invalid=0))
    inv = fetch_all(sb, "inventory")
    assert {type(r["quantity"]) for r in inv} == {int}
    assert {type(r["warehouse"]) for r in inv} == {str}
    assert all(len(r) == 8 for r in inv)
    assert all(r["lastUpdated"].endswith("Z") for r in inv)
    for o in fetch_all(sb, "orders"):
        assert o["status"] in {
            "OPEN",
            "PROCESSING",
            "ON HOLD",
            "BACKORDERED",
            "PARTIALLY_SHIPPED",
            "SHIPPED",
            "DELIVERED",
            "CLOSED",
            "CANCELLED",
        }


def test_invalid_records_are_known_and_served(sb_invalid: Sandbox) -> None:
    clean = {
        "inventory": sb_invalid.ground_truth("inventory").height,
        "orders": sb_invalid.ground_truth("orders").height,
        "shipments": sb_invalid.ground_truth("shipments").height,
    }
    for endpoint in ("inventory", "orders", "shipments"):
        bad = sb_invalid.invalid_records(endpoint)
        assert bad.columns == ["endpoint", "key", "field", "reason", "raw"]
        assert bad.height == 8  # 2 per kind x 4 kinds
        assert sb_invalid.served_record_count(endpoint) == clean[endpoint] + 8
        served = fetch_all(sb_invalid, endpoint)
        texts = [json.dumps(r, separators=(",", ":")) for r in served]
        for raw in bad["raw"]:
            assert json.dumps(json.loads(raw), separators=(",", ":")) in texts
        assert bad.filter(pl.col("reason").str.contains("duplicate")).height == 2
        assert bad.filter(pl.col("reason").str.contains("negative")).height == 2
        assert bad.filter(pl.col("reason").str.contains("missing")).height == 2
        assert bad.filter(pl.col("reason").str.contains("ISO 8601")).height == 2


def test_invalid_inventory_records_say_what_is_wrong(sb_invalid: Sandbox) -> None:
    bad = sb_invalid.invalid_records("inventory")
    raws = {reason: [json.loads(r) for r in df["raw"]] for (reason,), df in bad.group_by("field")}
    assert all(int(str(r["quantity"])) < 0 for r in raws["quantity"])
    assert all("partNumber" not in r for r in raws["partNumber"])
    for r in raws["lastUpdated"]:
        with pytest.raises(ValueError):
            datetime.fromisoformat(r["lastUpdated"].replace("Z", "+00:00"))
    # duplicates: the same key twice in the listing, more than a page apart; the stale copy
    # is older, so the ground truth (the later one) wins
    served = fetch_all(sb_invalid, "inventory")
    positions: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(served):
        if "partNumber" in r:
            positions.setdefault((r["partNumber"], str(r["warehouse"])), []).append(i)
    dups = {k: v for k, v in positions.items() if len(v) > 1}
    assert len(dups) == 2
    truth = sb_invalid.ground_truth("inventory")
    for (part, wh), (i, j) in dups.items():
        assert abs(i - j) > 100
        winner = max((served[i], served[j]), key=lambda r: _to_ts(r["lastUpdated"]))
        row = truth.filter((pl.col("part_number") == part) & (pl.col("warehouse_id") == wh))
        assert _to_int(winner["quantity"]) == row["quantity_on_hand"].item()


def test_mutate_changes_records_and_advances_the_clock() -> None:
    sb = Sandbox(SandboxConfig(seed=11, scale=0.2, sync_step=None))
    before_inv, before_orders = sb.ground_truth("inventory"), sb.ground_truth("orders")
    start = sb.now
    counts = sb.mutate(0.02)
    assert sb.now == start + timedelta(minutes=1)
    assert counts["inventory"] == 10  # 2% of 500
    assert counts["orders"] >= 8  # 2% of 400, plus orders whose shipments changed
    assert counts["shipments"] >= 1
    after_inv = sb.ground_truth("inventory")
    changed = after_inv.filter(pl.col("last_updated") == sb.now)
    assert changed.height == counts["inventory"]
    joined = changed.join(before_inv, on=["part_number", "warehouse_id"], suffix="_old")
    assert (joined["quantity_on_hand"] != joined["quantity_on_hand_old"]).all()
    after_orders = sb.ground_truth("orders").filter(pl.col("updated_at") == sb.now)
    assert after_orders.height == counts["orders"]
    old = after_orders.join(before_orders, on="order_id", suffix="_old")
    assert (old["status"].cast(pl.String) != old["status_old"].cast(pl.String)).all()
    # an incremental read from the new clock returns exactly the changed records
    since = sb.now.isoformat().replace("+00:00", "Z")
    assert len(fetch_all(sb, "inventory", updatedSince=since)) == counts["inventory"]
    sb.mutate(0.0, ["orders"], advance=timedelta(hours=2))
    assert sb.now == start + timedelta(hours=2, minutes=1)
    with pytest.raises(ConfigError):
        sb.mutate(2.0)
    with pytest.raises(ConfigError):
        sb.mutate(0.1, ["nope"])


def test_served_listing_follows_mutations() -> None:
    sb = Sandbox(SandboxConfig(seed=2, scale=0.2, invalid=1, sync_step=None))
    sb.mutate(0.05)
    sb.mutate(0.05, ["orders", "shipments"], advance=timedelta(minutes=5))
    bad = sb.invalid_records("orders").filter(~pl.col("reason").str.contains("duplicate"))
    latest: dict[str, dict] = {}
    for o in fetch_all(sb, "orders"):  # duplicates: the later updatedAt wins
        if o["orderId"] in set(bad["key"]):
            continue
        seen = latest.get(o["orderId"])
        if seen is None or _to_ts(o["updatedAt"]) > _to_ts(seen["updatedAt"]):
            latest[o["orderId"]] = o
    orders = [latest[k] for k in sorted(latest)]
    truth = sb.ground_truth("orders")
    assert [o["orderId"] for o in orders] == truth["order_id"].to_list()
    assert [_to_ts(o["updatedAt"]) for o in orders] == truth["updated_at"].to_list()
    mapped = pl.DataFrame({"s": [o["status"] for o in orders]}).select(
        canonical_status_expr("s", ORDER_STATUSES)
    )["s"]
    assert mapped.to_list() == truth["status"].cast(pl.String).to_list()
    inv: dict[tuple[str, str], dict] = {}
    for r in fetch_all(sb, "inventory"):
        key = (r.get("partNumber", "ZZ"), str(r["warehouse"]))
        if key[0].startswith("ZZ"):
            continue
        if key not in inv or _to_ts(r["lastUpdated"]) > _to_ts(inv[key]["lastUpdated"]):
            inv[key] = r
    tinv = sb.ground_truth("inventory")
    changed = tinv.filter(pl.col("last_updated") > datetime(2026, 11, 1, 12, tzinfo=UTC))
    assert changed.height == 25
    for row in changed.iter_rows(named=True):
        served = inv[(row["part_number"], row["warehouse_id"])]
        assert _to_int(served["quantity"]) == row["quantity_on_hand"]
        assert _to_ts(served["lastUpdated"]) == row["last_updated"]


def test_mutations_keep_orders_consistent_with_shipments() -> None:
    sb = Sandbox(SandboxConfig(seed=13, scale=0.5))
    for _ in range(6):
        sb.mutate(0.2, ["shipments"])
    orders, ships = sb.ground_truth("orders"), sb.ground_truth("shipments")
    per = ships.group_by("order_id").agg(
        (pl.col("status") == "DELIVERED").all().alias("all_delivered"),
        (pl.col("status") == "PROCESSING").all().alias("all_processing"),
    )
    joined = orders.join(per, on="order_id")
    assert joined.filter(pl.col("all_delivered") & (pl.col("status") == "SHIPPED")).height == 0
    assert (
        joined.filter(
            pl.col("status").is_in(["DELIVERED", "CLOSED"]) & ~pl.col("all_delivered")
        ).height
        == 0
    )
    assert joined.filter(pl.col("all_processing") & (pl.col("status") == "SHIPPED")).height == 0
    # the clock moved 6 minutes, and orders were stamped when their shipments changed them
    assert orders.filter(pl.col("updated_at") > datetime(2026, 11, 1, 12, tzinfo=UTC)).height > 0
    assert ships.filter(pl.col("delivered_date") > datetime(2026, 11, 1, 12, tzinfo=UTC)).height > 0
    assert (ships["status"] == "DELIVERED").all()  # 6 rounds of 20% move every shipment home
