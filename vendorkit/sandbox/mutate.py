"""Changing records "now": real quantity and status changes stamped with the virtual clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from vendorkit.sandbox.world import (
    CARRIERS,
    World,
    hash_u01,
    to_datetime_series,
    with_status_raw,
)

__all__ = ["SyncChanges", "between_syncs", "mutate_world"]

#: order steps that need no shipment change (the others follow from the shipments)
_ORDER_NEXT = {"OPEN": "PROCESSING", "ON_HOLD": "PROCESSING", "DELIVERED": "CLOSED"}
_SHIPMENT_NEXT = {"PROCESSING": "SHIPPED", "SHIPPED": "IN_TRANSIT", "IN_TRANSIT": "DELIVERED"}


def _choose(seed: int, keys: np.ndarray, eligible: np.ndarray, k: int, salt: str) -> np.ndarray:
    """Boolean mask of exactly min(k, eligible) rows, chosen by hash among the eligible."""
    u = np.where(eligible, hash_u01(seed, keys, salt), 2.0)
    k = min(k, int(eligible.sum()))
    mask = np.zeros(len(keys), dtype=bool)
    if k > 0:
        mask[np.argpartition(u, k - 1)[:k]] = True
    return mask


_TS = pl.Datetime("us", "UTC")


def _restatus(
    df: pl.DataFrame,
    m: pl.Series,
    new_status: pl.Series,
    now: datetime,
    seed: int,
    serial: int,
    entity: str,
    quirks: bool,
) -> pl.DataFrame:
    """Set status (and a fresh spelling) and updated_at = now on the rows of mask ``m``."""
    status = df["status"].cast(pl.String)
    upd = df.with_columns(
        pl.when(m).then(new_status).otherwise(status).alias("status"),
        pl.when(m).then(pl.lit(now)).otherwise(pl.col("updated_at")).cast(_TS).alias("updated_at"),
    )
    upd = with_status_raw(seed * 31 + serial, upd, entity, quirks)
    return upd.with_columns(  # untouched records keep their spelling
        pl.when(m).then(pl.col("status_raw")).otherwise(df["status_raw"]).alias("status_raw")
    )


def _cascade(
    world: World, ship_rows: np.ndarray, seed: int, serial: int, quirks: bool
) -> np.ndarray:
    """Recompute the status of orders whose shipments changed (same rule as the world)."""
    orders = world.orders
    touched = world.shipments[ship_rows].select("order_id").unique()
    per_order = (
        world.shipments.join(touched, on="order_id", how="semi")
        .group_by("order_id")
        .agg(
            pl.len().alias("n_ship"),
            (pl.col("status") == "PROCESSING").sum().alias("n_proc"),
            (pl.col("status") == "DELIVERED").sum().alias("n_deliv"),
        )
    )
    any_bo = (
        world.order_lines.join(touched, on="order_id", how="semi")
        .group_by("order_id")
        .agg((pl.col("quantity_backordered") > 0).any().alias("any_bo"))
    )
    info = (
        orders.select("order_id", pl.col("status").cast(pl.String).alias("old"))
        .join(per_order, on="order_id", how="left", maintain_order="left")
        .join(any_bo, on="order_id", how="left", maintain_order="left")
    )
    shipment_driven = pl.col("old").is_in(
        ["PROCESSING", "PARTIALLY_SHIPPED", "SHIPPED", "BACKORDERED"]
    )
    new = (
        pl.when(pl.col("n_ship").is_null() | ~shipment_driven)
        .then(pl.col("old"))
        .when(pl.col("n_proc") == pl.col("n_ship"))
        .then(pl.lit("PROCESSING"))
        .when(pl.col("any_bo").fill_null(False) | (pl.col("n_proc") > 0))
        .then(pl.lit("PARTIALLY_SHIPPED"))
        .when(pl.col("n_deliv") == pl.col("n_ship"))
        .then(pl.lit("DELIVERED"))
        .otherwise(pl.lit("SHIPPED"))
    )
    statuses = info.select(new.alias("new"), pl.col("old"))
    mask = (statuses["new"] != statuses["old"]).fill_null(False)
    if mask.any():
        world.orders = _restatus(
            orders, mask, statuses["new"], world.now, seed, serial + 7919, "orders", quirks
        )
    return mask.to_numpy()


def mutate_world(
    world: World, fraction: float, endpoints: tuple[str, ...], serial: int
) -> dict[str, np.ndarray]:
    """Change ``fraction`` of each endpoint's records at ``world.now``.

    Returns the changed row indices per endpoint (rows keep their order: sorted by key).

    ``serial`` (the mutation number) salts the choice, so successive calls change different
    records. Only records that can change are picked (a closed order stays closed).
    """
    seed, now, quirks = world.config.seed, world.now, world.config.quirks
    counts: dict[str, np.ndarray] = {}
    if "inventory" in endpoints:
        inv = world.inventory
        keys = inv["_key"].to_numpy()
        mask = _choose(
            seed, keys, np.ones(len(keys), bool), round(fraction * len(keys)), f"mut.inv.{serial}"
        )
        q = inv["quantity_on_hand"].to_numpy()
        u = hash_u01(seed, keys, f"mut.inv.qty.{serial}")
        sale = (q > 0) & (u < 0.6)
        new_q = np.where(
            sale,
            q - 1 - np.floor(u / 0.6 * np.minimum(q - 1, 20)).astype(np.int64),
            q + 5 + np.floor(u * 40).astype(np.int64),
        )
        new_q = np.maximum(new_q, 0)
        m = pl.Series(mask)
        world.inventory = inv.with_columns(
            pl.when(m)
            .then(pl.Series(new_q))
            .otherwise(pl.col("quantity_on_hand"))
            .alias("quantity_on_hand"),
            pl.when(m)
            .then(pl.lit(now))
            .otherwise(pl.col("last_updated"))
            .alias("last_updated")
            .cast(pl.Datetime("us", "UTC")),
        )
        counts["inventory"] = np.flatnonzero(mask)
    if "shipments" in endpoints:
        df = world.shipments
        keys = df["_key"].to_numpy()
        status = df["status"].cast(pl.String)
        eligible = status.is_in(list(_SHIPMENT_NEXT)).to_numpy()
        mask = _choose(seed, keys, eligible, round(fraction * len(keys)), f"mut.shipments.{serial}")
        m = pl.Series(mask)
        upd = _restatus(
            df, m, status.replace(_SHIPMENT_NEXT), now, seed, serial, "shipments", quirks
        )
        shipped_now = m & (pl.col("status") == "SHIPPED")
        delivered_now = m & (pl.col("status") == "DELIVERED")
        world.shipments = upd.with_columns(
            pl.when(shipped_now)
            .then(pl.lit(now))
            .otherwise(pl.col("ship_date"))
            .cast(_TS)
            .alias("ship_date"),
            pl.when(delivered_now)
            .then(pl.lit(now))
            .otherwise(pl.col("delivered_date"))
            .cast(_TS)
            .alias("delivered_date"),
            pl.when(shipped_now & pl.col("tracking_number").is_null())
            .then(pl.lit("1Z") + pl.col("_key").cast(pl.String).str.zfill(16).str.slice(0, 16))
            .otherwise(pl.col("tracking_number"))
            .alias("tracking_number"),
        )
        counts["shipments"] = np.flatnonzero(mask)
    order_rows = np.zeros(world.orders.height, dtype=bool)
    if "orders" in endpoints:
        # steps that need no shipment: release, hold lifted, closing a delivered order
        df = world.orders
        keys = df["_key"].to_numpy()
        status = df["status"].cast(pl.String)
        eligible = status.is_in(list(_ORDER_NEXT)).to_numpy()
        mask = _choose(seed, keys, eligible, round(fraction * len(keys)), f"mut.orders.{serial}")
        world.orders = _restatus(
            df, pl.Series(mask), status.replace(_ORDER_NEXT), now, seed, serial, "orders", quirks
        )
        order_rows |= mask
    if "shipments" in counts and len(counts["shipments"]):
        order_rows |= _cascade(world, counts["shipments"], seed, serial, quirks)
    if "orders" in endpoints or order_rows.any():
        counts["orders"] = np.flatnonzero(order_rows)
    return counts


@dataclass
class SyncChanges:
    """What one sync step changed: world row indices per endpoint, and appended shipments.

    Attributes:
        rows: changed rows of the existing records, per endpoint (world row order).
        new_shipments: how many shipments were appended at the end of ``world.shipments``.
        counts: how many of each case happened (``new_stockouts``, ``recovered``,
            ``eta_slipped``, ``cancelled``, ``on_hold``, ``backordered``,
            ``backorders_shipped``).
    """

    rows: dict[str, np.ndarray]
    new_shipments: int
    counts: dict[str, int]


def _k(share: float, n_eligible: int) -> int:
    """At least one (when any is eligible), else ``share`` of the eligible."""
    return min(n_eligible, max(1, round(share * n_eligible))) if n_eligible else 0


def between_syncs(world: World, serial: int) -> SyncChanges:
    """One day's changes between two syncs, at ``world.now`` (deterministic in ``serial``).

    The rule (each case at least once a step when any record is eligible):

    * ordinary progress: :func:`mutate_world` on 2 % of every endpoint's records;
    * **new stockouts**: 1 % of the part x warehouse rows in stock *that orders draw on* go
      to 0 on hand (with units backordered);
    * **recovered stockouts**: 1 % of the rows at 0 on hand are refilled (nothing
      backordered or on order any more);
    * **slipping estimates**: 2 % of the shipments under way (SHIPPED / IN_TRANSIT) get an
      ``estimatedDeliveryDate`` 1 to 3 days later;
    * **orders on hold / cancelled / backordered**: 0.5 % each of the orders with no shipment
      yet (OPEN, PROCESSING, BACKORDERED; a new backorder only from OPEN or PROCESSING; CANCELLED lines drop to 0 confirmed and
      backordered; a new backorder moves line 1's units from confirmed to backordered);
    * **backorders that ship**: 5 % of the orders waiting on a backorder (BACKORDERED or
      PARTIALLY_SHIPPED with a line still backordered) get a new SHIPPED shipment per
      warehouse for the backordered units (appended to the shipments; the lines become
      fully confirmed and the order takes the status its shipments imply).

    Every changed record gets ``lastUpdated``/``updatedAt`` = ``world.now``.

    Example:
        >>> from vendorkit.sandbox.world import build_world
        >>> from vendorkit.sandbox.config import SandboxConfig
        >>> w = build_world(SandboxConfig(scale=0.2))
        >>> ch = between_syncs(w, 1)
        >>> all(ch.counts[k] >= 1 for k in ("new_stockouts", "recovered", "eta_slipped"))
        True
    """
    seed, now, quirks = world.config.seed, world.now, world.config.quirks
    salt = 1_000_003 + serial
    base = mutate_world(world, 0.02, ("inventory", "orders", "shipments"), salt)
    rows = {ep: np.zeros(h, dtype=bool) for ep, h in _heights(world).items()}
    for ep, idx in base.items():
        rows[ep][idx] = True
    counts: dict[str, int] = {}

    # ---- inventory: new stockouts (with demand) and recoveries
    inv = world.inventory
    keys = inv["_key"].to_numpy()
    q = inv["quantity_on_hand"].to_numpy()
    drawn = (
        inv.select("part_number", "warehouse_id")
        .with_row_index("_r")
        .join(
            world.order_lines.select("part_number", "warehouse_id").unique(),
            on=["part_number", "warehouse_id"],
            how="semi",
        )["_r"]
        .to_numpy()
    )
    demand = np.zeros(len(keys), dtype=bool)
    demand[drawn] = True
    out = _choose(
        seed, keys, (q > 0) & demand, _k(0.01, int(((q > 0) & demand).sum())), f"bs.out.{serial}"
    )
    back = _choose(seed, keys, q == 0, _k(0.01, int((q == 0).sum())), f"bs.back.{serial}")
    refill = 20 + np.floor(hash_u01(seed, keys, f"bs.refill.{serial}") * 180).astype(np.int64)
    owed = 1 + np.floor(hash_u01(seed, keys, f"bs.owed.{serial}") * 30).astype(np.int64)
    mo, mb = pl.Series(out), pl.Series(back)
    world.inventory = inv.with_columns(
        pl.when(mo)
        .then(0)
        .when(mb)
        .then(pl.Series(refill))
        .otherwise(pl.col("quantity_on_hand"))
        .alias("quantity_on_hand"),
        pl.when(mo)
        .then(pl.Series(owed))
        .when(mb)
        .then(0)
        .otherwise(pl.col("quantity_backordered"))
        .alias("quantity_backordered"),
        pl.when(mb).then(0).otherwise(pl.col("quantity_on_order")).alias("quantity_on_order"),
        pl.when(mo | mb)
        .then(pl.lit(now))
        .otherwise(pl.col("last_updated"))
        .cast(_TS)
        .alias("last_updated"),
    )
    rows["inventory"] |= out | back
    counts["new_stockouts"], counts["recovered"] = int(out.sum()), int(back.sum())

    # ---- shipments: estimates slip
    shp = world.shipments
    skeys = shp["_key"].to_numpy()
    moving = (
        shp["status"].cast(pl.String).is_in(["SHIPPED", "IN_TRANSIT"])
        & shp["estimated_delivery_date"].is_not_null()
    ).to_numpy()
    slip = _choose(seed, skeys, moving, _k(0.02, int(moving.sum())), f"bs.slip.{serial}")
    days = 1 + np.floor(hash_u01(seed, skeys, f"bs.slipdays.{serial}") * 3).astype(np.int64)
    ms = pl.Series(slip)
    world.shipments = shp.with_columns(
        pl.when(ms)
        .then(pl.col("estimated_delivery_date") + pl.duration(days=pl.lit(pl.Series(days))))
        .otherwise(pl.col("estimated_delivery_date"))
        .cast(_TS)
        .alias("estimated_delivery_date"),
        pl.when(ms).then(pl.lit(now)).otherwise(pl.col("updated_at")).cast(_TS).alias("updated_at"),
    )
    rows["shipments"] |= slip
    counts["eta_slipped"] = int(slip.sum())

    # ---- orders without shipments: on hold, cancelled, backordered
    orders = world.orders
    okeys = orders["_key"].to_numpy()
    status = orders["status"].cast(pl.String)
    shipped_ids = world.shipments.select("order_id").unique()
    no_ship = ~orders["order_id"].is_in(shipped_ids["order_id"].implode()).to_numpy()
    pool = status.is_in(["OPEN", "PROCESSING", "BACKORDERED"]).to_numpy() & no_ship
    n_pool = int(pool.sum())
    cancel = _choose(seed, okeys, pool, _k(0.005, n_pool), f"bs.cancel.{serial}")
    hold = _choose(seed, okeys, pool & ~cancel, _k(0.005, n_pool), f"bs.hold.{serial}")
    open_ = status.is_in(["OPEN", "PROCESSING"]).to_numpy() & no_ship & ~cancel & ~hold
    bo_new = _choose(seed, okeys, open_, _k(0.005, int(open_.sum())), f"bs.bo.{serial}")
    new_status = pl.select(
        pl.when(pl.Series(cancel))
        .then(pl.lit("CANCELLED"))
        .when(pl.Series(hold))
        .then(pl.lit("ON_HOLD"))
        .otherwise(pl.lit("BACKORDERED"))
    ).to_series()
    changed = cancel | hold | bo_new
    world.orders = _restatus(
        orders, pl.Series(changed), new_status, now, seed, salt, "orders", quirks
    )
    ids_cancel = orders["order_id"].filter(pl.Series(cancel)).implode()
    ids_bo = orders["order_id"].filter(pl.Series(bo_new)).implode()
    lines = world.order_lines
    in_cancel = pl.col("order_id").is_in(ids_cancel)
    first_bo = pl.col("order_id").is_in(ids_bo) & (pl.col("line_number") == 1)
    world.order_lines = lines.with_columns(
        pl.when(in_cancel)
        .then(0)
        .when(first_bo)
        .then(0)
        .otherwise(pl.col("quantity_confirmed"))
        .alias("quantity_confirmed"),
        pl.when(in_cancel)
        .then(0)
        .when(first_bo)
        .then(pl.col("quantity_ordered"))
        .otherwise(pl.col("quantity_backordered"))
        .alias("quantity_backordered"),
    )
    rows["orders"] |= changed
    counts["cancelled"], counts["on_hold"] = int(cancel.sum()), int(hold.sum())
    counts["backordered"] = int(bo_new.sum())

    # ---- backorders that ship: a new shipment per (order, warehouse) for the owed units
    new = _ship_backorders(world, serial, changed)
    counts["backorders_shipped"] = new
    if new:
        first_new = rows["shipments"].size
        new_rows = np.arange(first_new, first_new + new)
        rows["orders"] |= _cascade(world, new_rows, seed, salt + 17, quirks)
    return SyncChanges(
        rows={ep: np.flatnonzero(m) for ep, m in rows.items()}, new_shipments=new, counts=counts
    )


def _heights(world: World) -> dict[str, int]:
    return {
        "inventory": world.inventory.height,
        "orders": world.orders.height,
        "shipments": world.shipments.height,
    }


def _ship_backorders(world: World, serial: int, skip: np.ndarray) -> int:
    """Append SHIPPED wave-1 shipments for 5 % of the orders waiting on a backorder."""
    seed, now = world.config.seed, world.now
    orders = world.orders.with_row_index("_row")
    waiting = (
        orders.filter(
            pl.col("status").cast(pl.String).is_in(["BACKORDERED", "PARTIALLY_SHIPPED"])
            & ~pl.Series(skip)
        )
        .join(
            world.order_lines.filter(pl.col("quantity_backordered") > 0)
            .select("order_id")
            .unique(),
            on="order_id",
            how="semi",
        )
        .join(
            world.shipments.filter(pl.col("_wave") == 1).select("order_id"),
            on="order_id",
            how="anti",
        )
    )
    if waiting.height == 0:
        return 0
    keys = waiting["_key"].to_numpy()
    pick = _choose(seed, keys, np.ones(len(keys), bool), _k(0.05, len(keys)), f"bs.ship.{serial}")
    chosen = waiting.filter(pl.Series(pick)).select(
        "order_id", "_row", pl.col("_key").alias("_okey")
    )
    whs = world.warehouses.with_row_index("_w").select("warehouse_id", pl.col("_w").cast(pl.Int64))
    owed = (
        world.order_lines.filter(pl.col("quantity_backordered") > 0)
        .join(chosen, on="order_id")
        .join(whs, on="warehouse_id")
        .sort("order_id", "line_number")
    )
    heads = owed.group_by("order_id", "warehouse_id", maintain_order=True).agg(
        pl.col("_row").first(), pl.col("_okey").first(), pl.col("_w").first()
    )
    skey = heads["_okey"].to_numpy() * np.uint64(64) + (heads["_w"].to_numpy() * 4 + 2).astype(
        np.uint64
    )
    c_idx = np.minimum(
        (hash_u01(seed, skey, "shp.carrier") * len(CARRIERS)).astype(np.int64), len(CARRIERS) - 1
    )
    promised = np.array([c[2] for c in CARRIERS])[c_idx]
    now_s = int(now.timestamp())
    ship_id = (
        pl.lit("SHP-")
        + pl.col("order_id").str.slice(4)
        + pl.lit("-")
        + pl.col("warehouse_id")
        + pl.lit("3")
    )
    template = world.shipments
    new = heads.with_columns(
        ship_id.alias("shipment_id"),
        pl.Series("carrier", [CARRIERS[i][0] for i in c_idx]),
        (pl.lit("1Z") + pl.Series(skey).cast(pl.String).str.zfill(16).str.slice(0, 16)).alias(
            "tracking_number"
        ),
        pl.lit("SHIPPED").alias("status"),
        to_datetime_series("ship_date", np.full(len(skey), now_s)),
        to_datetime_series("estimated_delivery_date", now_s + promised * 86400),
        pl.lit(None, _TS).alias("delivered_date"),
        to_datetime_series("updated_at", np.full(len(skey), now_s)),
        pl.col("_row").cast(template["_oi"].dtype).alias("_oi"),
        pl.col("_w").cast(template["_w"].dtype).alias("_w"),
        pl.lit(1).cast(template["_wave"].dtype).alias("_wave"),
        pl.lit(0).cast(template["_split"].dtype).alias("_split"),
        pl.lit(True).alias("_exists"),
        pl.Series("_key", skey),
        pl.lit(now_s).cast(template["_updated_s"].dtype).alias("_updated_s"),
    )
    new = with_status_raw(seed * 31 + serial, new, "shipments", world.config.quirks)
    new = new.select([pl.col(c).cast(template[c].dtype) for c in template.columns])
    world.shipments = pl.concat([template, new])
    sl = owed.join(
        new.select("order_id", "warehouse_id", "shipment_id"), on=["order_id", "warehouse_id"]
    ).with_columns(
        pl.col("line_number").cum_count().over("shipment_id").cast(pl.Int32).alias("position"),
        pl.col("quantity_backordered").alias("quantity"),
    )
    tl = world.shipment_lines
    sl = sl.select([pl.col(c).cast(tl[c].dtype) for c in tl.columns])
    world.shipment_lines = pl.concat([tl, sl]).sort("shipment_id", "position")
    ids = chosen["order_id"].implode()
    world.order_lines = world.order_lines.with_columns(
        pl.when(pl.col("order_id").is_in(ids) & (pl.col("quantity_backordered") > 0))
        .then(pl.col("quantity_ordered"))
        .otherwise(pl.col("quantity_confirmed"))
        .alias("quantity_confirmed"),
        pl.when(pl.col("order_id").is_in(ids))
        .then(0)
        .otherwise(pl.col("quantity_backordered"))
        .alias("quantity_backordered"),
    )
    return new.height
