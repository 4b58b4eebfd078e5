"""Changing records "now": real quantity and status changes stamped with the virtual clock."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from vendorkit.sandbox.world import World, hash_u01, with_status_raw

__all__ = ["mutate_world"]

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
    shipment_driven = pl.col("old").is_in(["PROCESSING", "PARTIALLY_SHIPPED", "SHIPPED"])
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
