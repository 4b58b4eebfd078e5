"""Changing records "now": real quantity and status changes stamped with the virtual clock."""

from __future__ import annotations

import numpy as np
import polars as pl

from vendorkit.sandbox.world import World, hash_u01, with_status_raw

__all__ = ["mutate_world"]

_ORDER_NEXT = {
    "OPEN": "PROCESSING",
    "ON_HOLD": "PROCESSING",
    "PROCESSING": "SHIPPED",
    "BACKORDERED": "PARTIALLY_SHIPPED",
    "PARTIALLY_SHIPPED": "SHIPPED",
    "SHIPPED": "DELIVERED",
    "DELIVERED": "CLOSED",
}
_SHIPMENT_NEXT = {"PROCESSING": "SHIPPED", "SHIPPED": "IN_TRANSIT", "IN_TRANSIT": "DELIVERED"}


def _choose(seed: int, keys: np.ndarray, eligible: np.ndarray, k: int, salt: str) -> np.ndarray:
    """Boolean mask of exactly min(k, eligible) rows, chosen by hash among the eligible."""
    u = np.where(eligible, hash_u01(seed, keys, salt), 2.0)
    k = min(k, int(eligible.sum()))
    mask = np.zeros(len(keys), dtype=bool)
    if k > 0:
        mask[np.argpartition(u, k - 1)[:k]] = True
    return mask


def mutate_world(world: World, fraction: float, endpoints: tuple[str, ...],
                 serial: int) -> dict[str, np.ndarray]:
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
        mask = _choose(seed, keys, np.ones(len(keys), bool), round(fraction * len(keys)), f"mut.inv.{serial}")
        q = inv["quantity_on_hand"].to_numpy()
        u = hash_u01(seed, keys, f"mut.inv.qty.{serial}")
        sale = (q > 0) & (u < 0.6)
        new_q = np.where(sale, q - 1 - np.floor(u / 0.6 * np.minimum(q - 1, 20)).astype(np.int64),
                         q + 5 + np.floor(u * 40).astype(np.int64))
        new_q = np.maximum(new_q, 0)
        m = pl.Series(mask)
        world.inventory = inv.with_columns(
            pl.when(m).then(pl.Series(new_q)).otherwise(pl.col("quantity_on_hand")).alias("quantity_on_hand"),
            pl.when(m).then(pl.lit(now)).otherwise(pl.col("last_updated")).alias("last_updated")
            .cast(pl.Datetime("us", "UTC")),
        )
        counts["inventory"] = np.flatnonzero(mask)
    for name, table, nxt, col in (
        ("orders", "orders", _ORDER_NEXT, "updated_at"),
        ("shipments", "shipments", _SHIPMENT_NEXT, "updated_at"),
    ):
        if name not in endpoints:
            continue
        df: pl.DataFrame = getattr(world, table)
        keys = df["_key"].to_numpy()
        status = df["status"].cast(pl.String)
        eligible = status.is_in(list(nxt)).to_numpy()
        mask = _choose(seed, keys, eligible, round(fraction * len(keys)), f"mut.{name}.{serial}")
        m = pl.Series(mask)
        new_status = status.replace(nxt)
        upd = df.with_columns(
            pl.when(m).then(new_status).otherwise(status).alias("status"),
            pl.when(m).then(pl.lit(now)).otherwise(pl.col(col)).cast(pl.Datetime("us", "UTC")).alias(col),
        )
        if name == "shipments":
            shipped_now = m & (pl.col("status") == "SHIPPED")
            delivered_now = m & (pl.col("status") == "DELIVERED")
            upd = upd.with_columns(
                pl.when(shipped_now).then(pl.lit(now)).otherwise(pl.col("ship_date"))
                .cast(pl.Datetime("us", "UTC")).alias("ship_date"),
                pl.when(delivered_now).then(pl.lit(now)).otherwise(pl.col("delivered_date"))
                .cast(pl.Datetime("us", "UTC")).alias("delivered_date"),
                pl.when(shipped_now & pl.col("tracking_number").is_null())
                .then(pl.lit("1Z") + pl.col("_key").cast(pl.String).str.slice(0, 16))
                .otherwise(pl.col("tracking_number")).alias("tracking_number"),
            )
        upd = with_status_raw(seed * 31 + serial, upd, name, quirks)
        # keep the old spelling on untouched records
        upd = upd.with_columns(
            pl.when(m).then(pl.col("status_raw")).otherwise(df["status_raw"]).alias("status_raw")
        )
        setattr(world, table, upd)
        counts[name] = np.flatnonzero(mask)
    return counts
