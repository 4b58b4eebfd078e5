"""The sandbox world: parts, warehouses, resellers, inventory, orders and shipments.

Everything is generated vectorised (numpy + polars) from ``(seed, as_of, scale)``. Every random
quantity is a pure hash of ``(seed, entity key, field)``, not a draw from a shared stream, so

* the same config gives the same world, bit for bit;
* an order keeps its id, reseller, lines and carrier when ``as_of`` moves (only what depends on
  "now" changes: statuses, shipments that have happened since, delivered dates);
* inventory follows a per (part, warehouse) replenishment cycle (stock runs down day by day,
  then a delivery refills it) with daily noise, so syncing at as_of = Nov 1, 8, 15, 22 shows a
  believable stock trend.

The world's frames already have the typed-table columns of ``docs/ARCHITECTURE.md`` (plus a few
internal ``_``-prefixed helper columns used for rendering).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from vendorkit.sandbox.config import SandboxConfig
from vendorkit.statuses import ORDER_STATUSES, SHIPMENT_STATUSES

__all__ = [
    "CARRIERS",
    "EXTRA_WAREHOUSES",
    "US_WAREHOUSES",
    "World",
    "build_world",
    "clock_start",
    "hash_u01",
    "to_datetime_series",
]

US_WAREHOUSES: tuple[tuple[str, str], ...] = (
    ("10", "Mira Loma, CA"),
    ("20", "Fort Worth, TX"),
    ("30", "Millington, TN"),
    ("40", "Carol Stream, IL"),
    ("80", "Jonestown, PA"),
)
EXTRA_WAREHOUSES: tuple[tuple[str, str], ...] = (
    ("12", "Ontario, CA"),
    ("14", "Fontana, CA"),
    ("16", "Tracy, CA"),
    ("22", "Dallas, TX"),
    ("24", "Houston, TX"),
    ("32", "Memphis, TN"),
    ("34", "Atlanta, GA"),
    ("36", "Jacksonville, FL"),
    ("42", "Chicago, IL"),
    ("44", "Columbus, OH"),
    ("46", "Indianapolis, IN"),
    ("52", "Denver, CO"),
    ("62", "Seattle, WA"),
    ("82", "Harrisburg, PA"),
    ("84", "Edison, NJ"),
)
#: carrier, share of shipments, promised transit days, mean actual transit days
CARRIERS: tuple[tuple[str, float, int, float], ...] = (
    ("UPS", 0.36, 3, 2.6),
    ("FEDEX", 0.30, 2, 2.1),
    ("USPS", 0.08, 4, 3.6),
    ("XPO", 0.12, 5, 5.2),
    ("ESTES", 0.08, 5, 4.6),
    ("ONTRAC", 0.06, 2, 1.8),
)

WINDOW_DAYS = 180
_EPOCH = date(1970, 1, 1)
_M64 = (1 << 64) - 1
_WEEKDAY_FACTOR = np.array([1.0, 1.06, 1.05, 1.0, 0.88, 0.18, 0.1])  # Mon..Sun
_ADJ = (
    "Summit",
    "Pacific",
    "Blue Ridge",
    "Lakeside",
    "Granite",
    "Harbor",
    "Northstar",
    "Redwood",
    "Prairie",
    "Keystone",
    "Silver Line",
    "Evergreen",
    "Liberty",
    "Coastal",
    "Frontier",
    "Metro",
    "Cedar",
    "Pinnacle",
    "Atlas",
    "Orchard",
)
_NOUN = (
    "Data",
    "Tech",
    "Networks",
    "Computing",
    "Systems",
    "IT",
    "Digital",
    "Micro",
    "Integration",
    "Solutions",
)
_SUFFIX = ("LLC", "Inc", "Corp", "Group", "Partners", "Co")
_CATEGORIES = ("NB", "DT", "MON", "SRV", "NET", "STO", "ACC", "PRT")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _salt(seed: int, name: str) -> np.uint64:
    h = (seed * 0x9E3779B97F4A7C15) & _M64
    for ch in name.encode():
        h = ((h ^ ch) * 0x100000001B3) & _M64
    return np.uint64(h)


def hash_u01(seed: int, keys: np.ndarray, name: str) -> np.ndarray:
    """Uniform [0, 1) floats, one per key: a pure function of (seed, key, name).

    Example:
        >>> k = np.arange(3, dtype=np.uint64)
        >>> bool((hash_u01(1, k, "a") == hash_u01(1, k, "a")).all())
        True
    """
    h = _mix(_mix(keys.astype(np.uint64) ^ _salt(seed, name)))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def clock_start(as_of: date) -> datetime:
    """The virtual clock's start: ``as_of`` at 12:00:00 UTC."""
    return datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC)


def to_datetime_series(
    name: str, epoch_s: np.ndarray, valid: np.ndarray | None = None
) -> pl.Series:
    """Epoch seconds (int64) -> ``Datetime("us", "UTC")`` series; ``valid=False`` -> null."""
    s = pl.Series(name, epoch_s.astype(np.int64) * 1_000_000).cast(pl.Datetime("us"))
    s = s.dt.replace_time_zone("UTC")
    if valid is not None:
        s = pl.select(pl.when(pl.lit(pl.Series(valid))).then(s).otherwise(None)).to_series()
        s = s.alias(name)
    return s


def _pick(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(weights) - 1)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:rest]] += 1
    return base


def _sku(index: np.ndarray) -> list[str]:
    """Unique Ingram-style 6-character SKUs (bijective in the index)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    n = len(alphabet)
    space = n**6
    code = (index.astype(np.int64) * 7_919_743 + 1_234_567) % space
    chars = []
    for _ in range(6):
        chars.append(code % n)
        code //= n
    lut = np.array(list(alphabet))
    cols = [lut[c] for c in reversed(chars)]
    return ["".join(t) for t in zip(*cols, strict=True)]


@dataclass
class World:
    """The generated, clean world (typed frames) plus reference tables.

    Attributes:
        config: the sandbox configuration it was built from.
        now: the virtual clock (as_of 12:00 UTC at build time).
        parts, warehouses, resellers: reference tables.
        inventory, orders, order_lines, shipments, shipment_lines: the typed tables of
            ARCHITECTURE.md (internal helper columns start with ``_``).
    """

    config: SandboxConfig
    now: datetime
    parts: pl.DataFrame
    warehouses: pl.DataFrame
    resellers: pl.DataFrame
    inventory: pl.DataFrame
    orders: pl.DataFrame
    order_lines: pl.DataFrame
    shipments: pl.DataFrame
    shipment_lines: pl.DataFrame


def _parts(cfg: SandboxConfig) -> pl.DataFrame:
    n = cfg.part_count
    idx = np.arange(n, dtype=np.uint64)
    u_pop = hash_u01(cfg.seed, idx, "part.popularity")
    # Zipf-like popularity over a hashed permutation of the catalogue.
    rank = np.argsort(np.argsort(u_pop, kind="stable"), kind="stable")
    popularity = 1.0 / np.power(rank + 1.0, 0.85)
    popularity /= popularity.max()
    price = np.round(np.exp(3.0 + 5.5 * hash_u01(cfg.seed, idx, "part.price") ** 1.6), 2)
    cat = (hash_u01(cfg.seed, idx, "part.category") * len(_CATEGORIES)).astype(np.int64)
    cats = np.array(_CATEGORIES)[cat]
    return pl.DataFrame(
        {
            "part_number": _sku(idx),
            "vendor_part_number": [f"VK-{c}-{i:05d}" for c, i in zip(cats, range(n), strict=True)],
            "popularity": popularity,
            "list_price": price,
        }
    )


def _warehouses(cfg: SandboxConfig) -> pl.DataFrame:
    rows = list(US_WAREHOUSES)
    if cfg.warehouse_count > 5:
        rows += list(EXTRA_WAREHOUSES)[: cfg.warehouse_count - 5]
    shares = np.array([1.0, 0.9, 0.75, 0.85, 0.8] + [0.35] * (len(rows) - 5))
    return pl.DataFrame(
        {
            "warehouse_id": [r[0] for r in rows],
            "warehouse_name": [r[1] for r in rows],
            "share": shares / shares.sum(),
        }
    )


def _resellers(cfg: SandboxConfig) -> pl.DataFrame:
    n = max(25, int(60 * cfg.scale**0.7))
    idx = np.arange(n, dtype=np.uint64)
    a = (hash_u01(cfg.seed, idx, "res.adj") * len(_ADJ)).astype(int)
    b = (hash_u01(cfg.seed, idx, "res.noun") * len(_NOUN)).astype(int)
    c = (hash_u01(cfg.seed, idx, "res.suffix") * len(_SUFFIX)).astype(int)
    names = [f"{_ADJ[x]} {_NOUN[y]} {_SUFFIX[z]}" for x, y, z in zip(a, b, c, strict=True)]
    # Pareto-skewed share of orders: a few large resellers, a long tail.
    alpha = 1.16
    weight = 1.0 / np.power(np.arange(1, n + 1, dtype=np.float64), 1.0 / alpha)
    ids = [f"20-{(100_003 + i * 7_919) % 900_000 + 100_000:06d}" for i in range(n)]
    return pl.DataFrame(
        {
            "reseller_id": ids,
            "reseller_name": names,
            "weight": weight / weight.sum(),
            "home_wh": hash_u01(cfg.seed, idx, "res.home"),
            "discount": 0.84 + 0.12 * hash_u01(cfg.seed, idx, "res.discount"),
        }
    )


def _stock(
    cfg: SandboxConfig,
    parts: pl.DataFrame,
    whs: pl.DataFrame,
    p_idx: np.ndarray,
    w_idx: np.ndarray,
    day: np.ndarray | int,
) -> dict[str, np.ndarray]:
    """Stock of (part, warehouse) on a day: a replenishment cycle with daily noise.

    Stock runs down through a 7-28 day cycle and is refilled at its end (often after a short
    stock-out); it is a closed form in the day, so any day is cheap to evaluate.
    """
    n_w = whs.height
    key = p_idx.astype(np.uint64) * np.uint64(1000) + w_idx.astype(np.uint64)
    pop = parts["popularity"].to_numpy()[p_idx.astype(np.int64)]
    share = whs["share"].to_numpy()[w_idx.astype(np.int64)] * n_w
    demand = 0.3 + 25.0 * pop * share * (0.5 + hash_u01(cfg.seed, key, "inv.demand"))
    cycle = np.array([7, 14, 21, 28])[(hash_u01(cfg.seed, key, "inv.cycle") * 4).astype(int)]
    phase = (hash_u01(cfg.seed, key, "inv.phase") * cycle).astype(np.int64)
    t = (day + phase) % cycle
    capacity = demand * cycle * (1.1 + 0.8 * hash_u01(cfg.seed, key, "inv.capacity"))
    dkey = key * np.uint64(100_003) + np.asarray(day).astype(np.uint64)
    noise = 1.0 + 0.25 * (hash_u01(cfg.seed, dkey, "inv.noise") - 0.5)
    on_hand = np.maximum(0, np.round(capacity * (1.0 - t / cycle) * noise - demand * 0.8))
    stockout = (t >= cycle - 2) & (hash_u01(cfg.seed, dkey, "inv.stockout") < 0.35)
    on_hand = np.where(stockout, 0, on_hand).astype(np.int64)
    on_order = np.where(t / cycle > 0.55, np.round(capacity * 0.9), 0).astype(np.int64)
    backordered = np.where(
        on_hand == 0, np.round(demand * 3 * hash_u01(cfg.seed, dkey, "inv.bo")), 0
    ).astype(np.int64)
    return {
        "key": key,
        "dkey": dkey,
        "on_hand": on_hand,
        "on_order": on_order,
        "backordered": backordered,
    }


def _inventory(
    cfg: SandboxConfig, parts: pl.DataFrame, whs: pl.DataFrame, now_s: int
) -> pl.DataFrame:
    n_p, n_w = parts.height, whs.height
    p_idx = np.repeat(np.arange(n_p, dtype=np.uint64), n_w)
    w_idx = np.tile(np.arange(n_w, dtype=np.uint64), n_p)
    day = (cfg.as_of - _EPOCH).days
    st = _stock(cfg, parts, whs, p_idx, w_idx, day)
    key, dkey = st["key"], st["dkey"]
    on_hand, on_order, backordered = st["on_hand"], st["on_order"], st["backordered"]
    hours_back = hash_u01(cfg.seed, dkey, "inv.updated") ** 2 * 60.0
    last_updated = now_s - (hours_back * 3600).astype(np.int64)
    wi = w_idx.astype(np.int64)
    pi = p_idx.astype(np.int64)
    whn = whs["warehouse_name"].gather(wi)
    if cfg.quirks:  # optional keys simply omitted on some records
        omit_name = hash_u01(cfg.seed, key, "inv.omit.name") < 0.03
        omit_order = hash_u01(cfg.seed, key, "inv.omit.onorder") < 0.05
        omit_bo = hash_u01(cfg.seed, key, "inv.omit.bo") < 0.04
    else:
        omit_name = omit_order = omit_bo = np.zeros(len(key), dtype=bool)
    df = pl.DataFrame(
        {
            "part_number": parts["part_number"].gather(pi),
            "warehouse_id": whs["warehouse_id"].gather(wi),
            "warehouse_name": whn.set(pl.Series(omit_name), None),
            "vendor_part_number": parts["vendor_part_number"].gather(pi),
            "quantity_on_hand": on_hand,
            "quantity_backordered": pl.Series(backordered).set(pl.Series(omit_bo), None),
            "quantity_on_order": pl.Series(on_order).set(pl.Series(omit_order), None),
        }
    )
    df = df.with_columns(
        to_datetime_series("last_updated", last_updated),
        pl.Series("_key", key),
    )
    return df.sort("part_number", "warehouse_id")


def _order_days(cfg: SandboxConfig) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of the window and the number of orders on each (exact total)."""
    end = (cfg.as_of - _EPOCH).days
    days = np.arange(end - WINDOW_DAYS + 1, end + 1, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (=3)
    dates = [_EPOCH + timedelta(days=int(d)) for d in days]
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=np.float64)
    seasonal = 1.0 + 0.22 * np.cos(2 * math.pi * (doy - 335.0) / 365.0)
    quarter_end = np.array(
        [d.month in (3, 6, 9, 12) and d.day >= 24 for d in dates], dtype=np.float64
    )
    weights = _WEEKDAY_FACTOR[weekday] * seasonal * (1.0 + 0.35 * quarter_end)
    weights[-1] *= 0.5  # as_of day: only the morning has happened
    return days, _largest_remainder(cfg.order_count, weights)


def _orders(
    cfg: SandboxConfig, parts: pl.DataFrame, whs: pl.DataFrame, res: pl.DataFrame, now_s: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    seed = cfg.seed
    days, counts = _order_days(cfg)
    day = np.repeat(days, counts)
    k = np.arange(len(day)) - np.repeat(np.cumsum(counts) - counts, counts)
    okey = day.astype(np.uint64) * np.uint64(100_000) + k.astype(np.uint64)
    n = len(okey)
    # time of day: business hours in US time zones (13:00-01:00 UTC); the as_of day ends at noon
    u_t = hash_u01(seed, okey, "ord.time")
    secs = np.where(day == days[-1], (u_t * 11.5 * 3600), (13 * 3600 + u_t**1.3 * 12 * 3600))
    order_ts = day * 86400 + secs.astype(np.int64)
    order_ts = np.minimum(order_ts, now_s)
    r_idx = _pick(hash_u01(seed, okey, "ord.reseller"), res["weight"].to_numpy())
    n_lines = _pick(hash_u01(seed, okey, "ord.nlines"), np.array([0.4, 0.25, 0.17, 0.11, 0.07])) + 1
    n_w = whs.height
    home = (res["home_wh"].to_numpy()[r_idx] * n_w).astype(np.int64)
    u_status = hash_u01(seed, okey, "ord.status")
    age_s = now_s - order_ts
    cancelled = u_status < 0.03
    held = (u_status >= 0.03) & (u_status < 0.06) & (age_s < 10 * 86400)
    cancel_ts = np.minimum(
        order_ts + (hash_u01(seed, okey, "ord.cancel") * 48 * 3600).astype(np.int64), now_s
    )
    proc_lag = (3600 * (4 + -np.log1p(-hash_u01(seed, okey, "ord.proclag")) * 26)).astype(np.int64)

    # ---- lines
    li_order = np.repeat(np.arange(n), n_lines)
    li_num = np.arange(len(li_order)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    lkey = okey[li_order] * np.uint64(8) + li_num.astype(np.uint64)
    pop = parts["popularity"].to_numpy()
    p_idx = _pick(hash_u01(seed, lkey, "line.part"), pop)
    other = (hash_u01(seed, lkey, "line.otherwh") * n_w).astype(np.int64)
    w_idx = np.where(hash_u01(seed, lkey, "line.samewh") < 0.97, home[li_order], other)
    qty = 1 + np.floor(
        -np.log1p(-hash_u01(seed, lkey, "line.qty")) * (2 + 8 * (1 - pop[p_idx]))
    ).astype(np.int64)
    qty = np.minimum(qty, 250)
    disc = res["discount"].to_numpy()[r_idx][li_order]
    price = np.round(parts["list_price"].to_numpy()[p_idx] * disc, 2)
    # stock-driven fills: what the warehouse had that day (minus what others took first)
    # (a stock-out that day, or too little stock and no transfer from another site)
    avail = _stock(cfg, parts, whs, p_idx, w_idx, day[li_order])["on_hand"]
    u_tr = hash_u01(seed, lkey, "line.transfer")  # most shortfalls are covered by a transfer
    short = ((avail == 0) & (u_tr < 0.3)) | ((avail < qty) & (u_tr < 0.05))
    conf0 = np.where(short, np.minimum(qty, avail), qty).astype(np.int64)
    bo0 = qty - conf0
    bo_ship_ts = order_ts[li_order] + (
        86400 * (8 + 35 * hash_u01(seed, lkey, "line.bolag"))
    ).astype(np.int64)
    l_cancel = cancelled[li_order]
    l_active = ~l_cancel & ~held[li_order]
    bo_done = l_active & (bo0 > 0) & (bo_ship_ts <= now_s)
    confirmed = np.where(l_cancel, 0, np.where(bo_done, qty, conf0))
    backordered = np.where(l_cancel, 0, np.where(bo_done, 0, bo0))
    wh_ids = whs["warehouse_id"]
    day_txt = pl.Series([f"{(_EPOCH + timedelta(days=int(d))):%Y%m%d}" for d in days])
    ord_id = pl.select(
        pl.concat_str(
            [
                pl.lit("ORD-"),
                pl.lit(day_txt.gather(np.repeat(np.arange(len(days)), counts))),
                pl.lit("-"),
                pl.lit(pl.Series(k)).cast(pl.String).str.zfill(5),
            ]
        )
    ).to_series()
    lines = pl.DataFrame(
        {
            "order_id": ord_id.gather(li_order),
            "line_number": li_num.astype(np.int32),
            "part_number": parts["part_number"].gather(p_idx),
            "quantity_ordered": qty,
            "quantity_confirmed": confirmed,
            "quantity_backordered": backordered,
            "unit_price": price,
            "warehouse_id": wh_ids.gather(w_idx),
            "_oi": li_order,
        }
    )

    # ---- shipment candidates: wave 0 = confirmed at order time, wave 1 = backorder filled
    split = hash_u01(seed, okey, "ord.split") < 0.05
    cand_w0 = l_active & (conf0 > 0)
    cand_w1 = bo_done
    sel = np.concatenate([np.flatnonzero(cand_w0), np.flatnonzero(cand_w1)])
    wave = np.concatenate([np.zeros(cand_w0.sum(), np.int64), np.ones(cand_w1.sum(), np.int64)])
    s_qty = np.concatenate([conf0[cand_w0], bo0[cand_w1]])
    s_order = li_order[sel]
    s_split = np.where(split[s_order] & (wave == 0), li_num[sel] % 2, 0)
    s_ship_ts = np.where(wave == 0, order_ts[s_order] + proc_lag[s_order], bo_ship_ts[sel])
    cand = pl.DataFrame(
        {
            "_oi": s_order,
            "_w": w_idx[sel],
            "_wave": wave,
            "_split": s_split,
            "line_number": li_num[sel].astype(np.int32),
            "part_number": parts["part_number"].gather(p_idx[sel]),
            "quantity": s_qty,
            "_ship_ts": s_ship_ts,
        }
    )
    ship = (
        cand.group_by("_oi", "_w", "_wave", "_split")
        .agg(pl.col("_ship_ts").min())
        .sort("_oi", "_w", "_wave", "_split")
    )
    s_oi = ship["_oi"].to_numpy()
    skey = okey[s_oi] * np.uint64(64) + (
        ship["_w"].to_numpy() * 4 + ship["_wave"].to_numpy() * 2 + ship["_split"].to_numpy()
    ).astype(np.uint64)
    ship_ts = ship["_ship_ts"].to_numpy()
    created_ts = np.maximum(ship_ts - 12 * 3600, order_ts[s_oi])
    exists = created_ts <= now_s
    c_idx = _pick(hash_u01(seed, skey, "shp.carrier"), np.array([c[1] for c in CARRIERS]))
    promised = np.array([c[2] for c in CARRIERS])[c_idx]
    mean = np.array([c[3] for c in CARRIERS])[c_idx]
    transit = 86400 * (0.55 * mean + 0.45 * mean * -np.log1p(-hash_u01(seed, skey, "shp.transit")))
    delivered_ts = ship_ts + transit.astype(np.int64)
    est_ts = ship_ts + promised * 86400
    s_status = np.where(
        ship_ts > now_s,
        "PROCESSING",
        np.where(
            delivered_ts <= now_s,
            "DELIVERED",
            np.where(now_s - ship_ts < 12 * 3600, "SHIPPED", "IN_TRANSIT"),
        ),
    )
    s_updated = np.where(
        s_status == "PROCESSING",
        created_ts,
        np.where(s_status == "DELIVERED", delivered_ts, ship_ts),
    )
    track = _tracking(seed, skey, c_idx)
    suffix = pl.Series(ship["_wave"].to_numpy() * 2 + ship["_split"].to_numpy() + 1)
    s_wh = wh_ids.gather(ship["_w"].to_numpy())
    s_ord = ord_id.gather(s_oi)
    ship_id = pl.select(
        pl.concat_str(
            [
                pl.lit("SHP-"),
                pl.lit(s_ord).str.slice(4),
                pl.lit("-"),
                pl.lit(s_wh),
                pl.lit(suffix).cast(pl.String),
            ]
        )
    ).to_series()
    shipped = s_status != "PROCESSING"
    omit_est = (
        (hash_u01(seed, skey, "shp.omit.est") < 0.05) if cfg.quirks else np.zeros(len(skey), bool)
    )
    shipments = pl.DataFrame(
        {
            "shipment_id": ship_id,
            "order_id": s_ord,
            "carrier": pl.Series([c[0] for c in CARRIERS]).gather(c_idx),
            "tracking_number": pl.Series(track).set(pl.Series(~shipped), None),
            "status": s_status,
            "warehouse_id": s_wh,
        }
    ).with_columns(
        to_datetime_series("ship_date", ship_ts, shipped),
        to_datetime_series("estimated_delivery_date", est_ts, ~omit_est),
        to_datetime_series("delivered_date", delivered_ts, s_status == "DELIVERED"),
        to_datetime_series("updated_at", s_updated),
        pl.Series("_oi", s_oi),
        pl.Series("_w", ship["_w"].to_numpy()),
        pl.Series("_wave", ship["_wave"].to_numpy()),
        pl.Series("_split", ship["_split"].to_numpy()),
        pl.Series("_exists", exists),
        pl.Series("_key", skey),
        pl.Series("_updated_s", s_updated),
    )
    shipment_lines = (
        cand.join(
            shipments.select("_oi", "_w", "_wave", "_split", "shipment_id", "order_id", "_exists"),
            on=["_oi", "_w", "_wave", "_split"],
            how="inner",
        )
        .filter(pl.col("_exists"))
        .sort("shipment_id", "line_number")
        .with_columns(
            pl.col("line_number").cum_count().over("shipment_id").cast(pl.Int32).alias("position")
        )
        .select("shipment_id", "position", "order_id", "line_number", "part_number", "quantity")
    )
    shipments = shipments.filter(pl.col("_exists"))

    # ---- order status, consistent with its shipments and backorders
    per_order = shipments.group_by("_oi").agg(
        pl.len().alias("n_ship"),
        (pl.col("status") == "PROCESSING").sum().alias("n_proc"),
        (pl.col("status") == "DELIVERED").sum().alias("n_deliv"),
        pl.col("_updated_s").max().alias("last_event"),
    )
    per_order_lines = lines.group_by("_oi").agg(
        (pl.col("quantity_backordered") > 0).any().alias("any_bo"),
    )
    o = (
        pl.DataFrame({"_oi": np.arange(n)})
        .join(per_order, on="_oi", how="left")
        .join(per_order_lines, on="_oi", how="left")
        .sort("_oi")
    )
    n_ship = o["n_ship"].fill_null(0).to_numpy()
    n_proc = o["n_proc"].fill_null(0).to_numpy()
    n_deliv = o["n_deliv"].fill_null(0).to_numpy()
    any_bo = o["any_bo"].fill_null(False).to_numpy()
    last_event = o["last_event"].fill_null(0).to_numpy()
    status = np.select(
        [
            cancelled,
            held,
            (n_ship == 0) & any_bo,
            (n_ship == 0) & (age_s < 2 * 3600),
            (n_ship == 0),
            n_proc == n_ship,
            any_bo | (n_proc > 0),
            (n_deliv == n_ship) & (age_s > 45 * 86400),
            n_deliv == n_ship,
        ],
        [
            "CANCELLED",
            "ON_HOLD",
            "BACKORDERED",
            "OPEN",
            "PROCESSING",
            "PROCESSING",
            "PARTIALLY_SHIPPED",
            "CLOSED",
            "DELIVERED",
        ],
        default="SHIPPED",
    )
    hold_ts = np.minimum(order_ts + 3600, now_s)
    closed_ts = np.minimum(last_event + 30 * 86400, now_s)
    updated = np.select(
        [cancelled, held, status == "CLOSED", n_ship > 0],
        [cancel_ts, hold_ts, np.maximum(closed_ts, last_event), np.maximum(order_ts, last_event)],
        default=order_ts,
    )
    omit_cur = (hash_u01(seed, okey, "ord.omit.cur") < 0.03) if cfg.quirks else np.zeros(n, bool)
    orders = pl.DataFrame(
        {
            "order_id": ord_id,
            "reseller_id": res["reseller_id"].gather(r_idx),
            "reseller_name": res["reseller_name"].gather(r_idx),
            "status": status,
        }
    ).with_columns(
        to_datetime_series("order_date", order_ts),
        to_datetime_series("updated_at", updated),
        pl.Series("currency_code", ["USD"])
        .gather(np.zeros(n, np.int64))
        .set(pl.Series(omit_cur), None),
        pl.Series("_key", okey),
    )
    return orders, lines.drop("_oi"), shipments, shipment_lines


def _tracking(seed: int, skey: np.ndarray, carrier: np.ndarray) -> pl.Series:
    """Carrier-shaped tracking numbers (UPS 1Z..., FedEx 12 digits, USPS 22, LTL PRO 9)."""
    a = pl.lit(pl.Series((hash_u01(seed, skey, "trk.a") * 1e8).astype(np.int64)))
    b = pl.lit(pl.Series((hash_u01(seed, skey, "trk.b") * 1e8).astype(np.int64)))
    name = pl.lit(pl.Series([c[0] for c in CARRIERS]).gather(carrier))

    def z(expr: pl.Expr, width: int) -> pl.Expr:
        return expr.cast(pl.String).str.zfill(width)

    expr = (
        pl.when(name == "UPS")
        .then(pl.concat_str([pl.lit("1Z"), z(a % 1_000_000, 6), z(b, 8)]))
        .when(name == "FEDEX")
        .then(pl.concat_str([z(a % 1_000_000, 6), z(b % 1_000_000, 6)]))
        .when(name == "USPS")
        .then(pl.concat_str([pl.lit("9400"), z(a, 8), z(b, 8), z((a + b) % 100, 2)]))
        .when(name == "ONTRAC")
        .then(pl.concat_str([pl.lit("C"), z(a, 8), z(b % 1_000_000, 6)]))
        .otherwise(z(a % 1_000_000_000, 9))
    )
    return pl.select(expr.alias("tracking_number")).to_series()


def _status_spelling(
    seed: int,
    keys: np.ndarray,
    canonical: pl.Series,
    variants: dict[str, tuple[str, ...]],
    quirks: bool,
) -> pl.Series:
    """The raw status text served for each record (one of the variants, or the first)."""
    if not quirks:
        return canonical.replace_strict(
            {k: v[0] for k, v in variants.items()}, return_dtype=pl.String
        )
    u = pl.Series(hash_u01(seed, keys, "status.spelling"))
    n_var = canonical.replace_strict(
        {k: len(v) for k, v in variants.items()}, return_dtype=pl.Int64
    )
    pick = (u * n_var).floor().cast(pl.Int64)
    lookup = {f"{k}|{i}": sp for k, v in variants.items() for i, sp in enumerate(v)}
    key = pl.select(pl.concat_str([pl.lit(canonical), pl.lit("|"), pl.lit(pick).cast(pl.String)]))
    return key.to_series().replace_strict(lookup, return_dtype=pl.String).alias(canonical.name)


ORDER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "OPEN": ("OPEN", "Open"),
    "PROCESSING": ("PROCESSING", "In Progress", "IM::PROCESSING"),
    "ON_HOLD": ("ON HOLD", "On Hold", "IM::HOLD"),
    "BACKORDERED": ("BACKORDERED", "Backordered", "im::backordered"),
    "PARTIALLY_SHIPPED": ("PARTIALLY_SHIPPED", "IM::PARTIALLY_SHIPPED", "Partially Shipped"),
    "SHIPPED": ("SHIPPED", "Shipped", "IM::SHIPPED", "im::order_shipped"),
    "DELIVERED": ("DELIVERED", "Delivered"),
    "CLOSED": ("CLOSED", "Closed"),
    "CANCELLED": ("CANCELLED", "Canceled", "im::order_voided"),
}
SHIPMENT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "PROCESSING": ("PROCESSING", "In Progress"),
    "SHIPPED": ("SHIPPED", "Shipped", "IM::SHIPPED"),
    "IN_TRANSIT": ("IN_TRANSIT", "In Transit", "IM::IN_TRANSIT"),
    "DELIVERED": ("DELIVERED", "Delivered", "IM::DELIVERED"),
    "CANCELLED": ("CANCELLED", "Canceled"),
}


def with_status_raw(world_seed: int, df: pl.DataFrame, entity: str, quirks: bool) -> pl.DataFrame:
    """Set ``status_raw`` (served spelling) and cast ``status`` to its canonical Enum."""
    spellings = ORDER_SPELLINGS if entity == "orders" else SHIPMENT_SPELLINGS
    allowed = ORDER_STATUSES if entity == "orders" else SHIPMENT_STATUSES
    status = df["status"].cast(pl.String)
    raw = _status_spelling(world_seed, df["_key"].to_numpy(), status, spellings, quirks)
    return df.with_columns(
        status.cast(pl.Enum(list(allowed))).alias("status"), raw.alias("status_raw")
    )


def build_world(cfg: SandboxConfig) -> World:
    """Generate the clean world for ``cfg`` (deterministic; seconds even at scale 100).

    Example:
        >>> w = build_world(SandboxConfig(scale=0.2))
        >>> w.inventory.height
        500
    """
    now = clock_start(cfg.as_of)
    now_s = int(now.timestamp())
    parts = _parts(cfg)
    whs = _warehouses(cfg)
    res = _resellers(cfg)
    inventory = _inventory(cfg, parts, whs, now_s)
    orders, lines, shipments, shipment_lines = _orders(cfg, parts, whs, res, now_s)
    orders = with_status_raw(cfg.seed, orders, "orders", cfg.quirks).sort("order_id")
    shipments = with_status_raw(cfg.seed, shipments, "shipments", cfg.quirks).sort("shipment_id")
    return World(
        config=cfg,
        now=now,
        parts=parts,
        warehouses=whs,
        resellers=res,
        inventory=inventory,
        orders=orders,
        order_lines=lines.sort("order_id", "line_number"),
        shipments=shipments,
        shipment_lines=shipment_lines,
    )
