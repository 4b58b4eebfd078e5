"""Per-record JSON rendering (vectorised) and the invalid records served on purpose.

Each record's JSON text is built once with polars string expressions; a page is then a slice
of that column joined with commas, so serving costs O(page), not O(world). Quirks (numbers as
strings, warehouse ids as int or string, optional keys omitted, timestamps with offsets or
``Z``, status spellings) are per-record choices hashed from the record key: re-rendering a
record after a mutation keeps its quirks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from vendorkit import catalog
from vendorkit.errors import ConfigError
from vendorkit.sandbox.world import World, hash_u01

__all__ = [
    "BUILT_IN",
    "INVALID_KINDS",
    "EndpointRenderer",
    "Served",
    "build_served",
    "register_renderer",
    "render_endpoint",
    "render_records",
    "served_endpoints",
    "update_served",
]

#: The endpoints whose records the world generates and this module renders by hand.
BUILT_IN: tuple[str, ...] = ("inventory", "orders", "shipments")

#: timestamp offsets (minutes) and their suffixes, used when quirks are on
_OFFSETS = (
    (0, "Z"),
    (-420, "-07:00"),
    (-300, "-05:00"),
    (-480, "-08:00"),
    (-240, "-04:00"),
    (0, "+00:00"),
    (-360, "-06:00"),
)
INVALID_KINDS: tuple[str, ...] = (
    "negative_quantity",
    "missing_part_number",
    "unparseable_date",
    "duplicate_key",
)
_BAD_DATES = ("not-a-date", "2026-13-01T00:00:00Z", "31/10/2026 14:00", "2026-10-31T25:61:00Z")


@dataclass(frozen=True, slots=True)
class Served:
    """What one endpoint serves in a full listing, in served order.

    Attributes:
        json: one JSON object text per served record.
        cursor_us: the record's ``lastUpdated``/``updatedAt`` in epoch microseconds (for
            ``updatedSince``; invalid dates use the record's true time).
        invalid: the invalid records (endpoint, key, field, reason, raw).
        clean_pos: served position of each clean record (world row order).
    """

    json: pl.Series
    cursor_us: np.ndarray
    invalid: pl.DataFrame
    clean_pos: np.ndarray

    def __len__(self) -> int:
        return len(self.json)


def _flag(seed: int, keys: np.ndarray, name: str, p: float, quirks: bool) -> pl.Series:
    if not quirks:
        return pl.Series(np.zeros(len(keys), dtype=bool))
    return pl.Series(hash_u01(seed, keys, name) < p)


def _s(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit('"'), expr, pl.lit('"')])


def _num(expr: pl.Expr, quote: pl.Expr) -> pl.Expr:
    """A number, quoted when ``quote`` is '"' (numbers-as-strings quirk); null stays null."""
    return pl.concat_str([quote, expr.cast(pl.String), quote])


def _ts(col: str, off_min: pl.Expr, suffix: pl.Expr) -> pl.Expr:
    local = (pl.col(col) + pl.duration(minutes=off_min)).dt.strftime("%Y-%m-%dT%H:%M:%S")
    return pl.concat_str([pl.lit('"'), local, suffix, pl.lit('"')])


def _obj(fields: Sequence[tuple[str, pl.Expr]], quirks: bool) -> pl.Expr:
    pieces = []
    for name, value in fields:
        if not quirks:
            value = value.fill_null(pl.lit("null"))
        pieces.append(pl.concat_str([pl.lit(f'"{name}":'), value]))
    return pl.concat_str(
        [pl.lit("{"), pl.concat_str(pieces, separator=",", ignore_nulls=True), pl.lit("}")]
    )


def _quirk_cols(seed: int, keys: np.ndarray, quirks: bool) -> dict[str, pl.Series]:
    n = len(keys)
    if quirks:
        pick = (hash_u01(seed, keys, "q.tz") * len(_OFFSETS)).astype(np.int64)
    else:
        pick = np.zeros(n, dtype=np.int64)
    return {
        "_nq": _quote(_flag(seed, keys, "q.numstr", 0.4, quirks)),
        "_wq": _quote(~_flag(seed, keys, "q.whint", 0.5, quirks)),
        "_off": pl.Series(np.array([o[0] for o in _OFFSETS], dtype=np.int64)[pick]),
        "_sfx": pl.Series([o[1] for o in _OFFSETS]).gather(pick),
    }


def _quote(flag: pl.Series) -> pl.Series:
    return pl.Series(["", '"']).gather(flag.cast(pl.Int64))


def _wh(col: str) -> pl.Expr:
    """Warehouse id as a number (quirk) or a string."""
    return pl.concat_str([pl.col("_wq"), pl.col(col), pl.col("_wq")])


def render_inventory(df: pl.DataFrame, seed: int, quirks: bool) -> pl.Series:
    """JSON text of inventory records (typed inventory rows with ``_key``)."""
    q = _quirk_cols(seed, df["_key"].to_numpy(), quirks)
    off, sfx, ns = pl.col("_off"), pl.col("_sfx"), pl.col("_nq")
    fields = [
        ("partNumber", _s(pl.col("part_number"))),
        ("warehouse", _wh("warehouse_id")),
        ("warehouseName", _s(pl.col("warehouse_name"))),
        ("vendorPartNumber", _s(pl.col("vendor_part_number"))),
        ("quantity", _num(pl.col("quantity_on_hand"), ns)),
        ("quantityBackordered", _num(pl.col("quantity_backordered"), ns)),
        ("quantityOnOrder", _num(pl.col("quantity_on_order"), ns)),
        ("lastUpdated", _ts("last_updated", off, sfx)),
    ]
    return df.with_columns(**q).select(_obj(fields, quirks).alias("json")).to_series()


def render_orders(orders: pl.DataFrame, lines: pl.DataFrame, seed: int, quirks: bool) -> pl.Series:
    """JSON text of orders with their nested lines (``lines`` sorted by order, line)."""
    okeys = orders["_key"].to_numpy()
    key_of = pl.DataFrame({"order_id": orders["order_id"], "_okey": okeys})
    lines = lines.join(key_of, on="order_id", how="left", maintain_order="left")
    lkeys = lines["_okey"].to_numpy() * np.uint64(8) + lines["line_number"].to_numpy().astype(
        np.uint64
    )
    lq = _quirk_cols(seed, lkeys, quirks)
    omit_ln = _flag(seed, lines["_okey"].to_numpy(), "q.omit.linenumber", 0.05, quirks)
    ns = pl.col("_nq")
    line_fields = [
        (
            "lineNumber",
            pl.when(pl.col("_omit_ln")).then(None).otherwise(_num(pl.col("line_number"), ns)),
        ),
        ("partNumber", _s(pl.col("part_number"))),
        ("quantity", _num(pl.col("quantity_ordered"), ns)),
        ("quantityConfirmed", _num(pl.col("quantity_confirmed"), ns)),
        ("quantityBackordered", _num(pl.col("quantity_backordered"), ns)),
        ("unitPrice", _num(pl.col("unit_price").round(2), ns)),
        ("warehouse", _wh("warehouse_id")),
    ]
    if not quirks:
        line_fields[0] = ("lineNumber", _num(pl.col("line_number"), ns))
    lj = (
        lines.with_columns(**lq, _omit_ln=omit_ln)
        .select("order_id", _obj(line_fields, quirks).alias("j"))
        .group_by("order_id", maintain_order=True)
        .agg(pl.col("j").str.join(","))
    )
    oq = _quirk_cols(seed, okeys, quirks)
    off, sfx = pl.col("_off"), pl.col("_sfx")
    fields = [
        ("orderId", _s(pl.col("order_id"))),
        ("resellerId", _s(pl.col("reseller_id"))),
        ("resellerName", _s(pl.col("reseller_name"))),
        ("status", _s(pl.col("status_raw"))),
        ("orderDate", _ts("order_date", off, sfx)),
        ("updatedAt", _ts("updated_at", off, sfx)),
        ("currencyCode", _s(pl.col("currency_code"))),
        ("lines", pl.lit("[") + pl.col("j").fill_null("") + pl.lit("]")),
    ]
    out = (
        orders.with_columns(**oq)
        .join(lj, on="order_id", how="left", maintain_order="left")
        .select(_obj(fields, quirks).alias("json"))
    )
    return out.to_series()


def render_shipments(
    ships: pl.DataFrame, lines: pl.DataFrame, seed: int, quirks: bool
) -> pl.Series:
    """JSON text of shipments with their nested lines (``lines`` sorted by shipment, position)."""
    skeys = ships["_key"].to_numpy()
    key_of = pl.DataFrame({"shipment_id": ships["shipment_id"], "_skey": skeys})
    lines = lines.join(key_of, on="shipment_id", how="left", maintain_order="left")
    lkeys = lines["_skey"].to_numpy() * np.uint64(16) + lines["position"].to_numpy().astype(
        np.uint64
    )
    lq = _quirk_cols(seed, lkeys, quirks)
    ns = pl.col("_nq")
    line_fields = [
        ("lineNumber", _num(pl.col("line_number"), ns)),
        ("partNumber", _s(pl.col("part_number"))),
        ("quantity", _num(pl.col("quantity"), ns)),
    ]
    lj = (
        lines.with_columns(**lq)
        .select("shipment_id", _obj(line_fields, quirks).alias("j"))
        .group_by("shipment_id", maintain_order=True)
        .agg(pl.col("j").str.join(","))
    )
    sq = _quirk_cols(seed, skeys, quirks)
    off, sfx = pl.col("_off"), pl.col("_sfx")
    fields = [
        ("id", _s(pl.col("shipment_id"))),
        ("orderId", _s(pl.col("order_id"))),
        ("carrier", _s(pl.col("carrier"))),
        ("trackingNumber", _s(pl.col("tracking_number"))),
        ("status", _s(pl.col("status_raw"))),
        ("warehouse", _wh("warehouse_id")),
        ("shipDate", _ts("ship_date", off, sfx)),
        ("estimatedDeliveryDate", _ts("estimated_delivery_date", off, sfx)),
        ("deliveredDate", _ts("delivered_date", off, sfx)),
        ("updatedAt", _ts("updated_at", off, sfx)),
        ("lines", pl.lit("[") + pl.col("j").fill_null("") + pl.lit("]")),
    ]
    out = (
        ships.with_columns(**sq)
        .join(lj, on="shipment_id", how="left", maintain_order="left")
        .select(_obj(fields, quirks).alias("json"))
    )
    return out.to_series()


def _cursor_us(s: pl.Series) -> np.ndarray:
    return s.dt.epoch("us").to_numpy().astype(np.int64)


def render_endpoint(world: World, endpoint: str) -> tuple[pl.Series, np.ndarray]:
    """(JSON texts, cursor microseconds) of the clean records of one endpoint, key order."""
    cfg = world.config
    if endpoint not in BUILT_IN:
        ep = catalog.get_endpoint(endpoint)
        tables = renderer_of(endpoint).tables(world)
        return render_records(ep, tables, cfg.seed, cfg.quirks), _cursor_us(
            tables[ep.table.name][ep.cursor]
        )
    if endpoint == "inventory":
        df = world.inventory
        return render_inventory(df, cfg.seed, cfg.quirks), _cursor_us(df["last_updated"])
    if endpoint == "orders":
        df = world.orders
        return (
            render_orders(df, world.order_lines, cfg.seed, cfg.quirks),
            _cursor_us(df["updated_at"]),
        )
    df = world.shipments
    return (
        render_shipments(df, world.shipment_lines, cfg.seed, cfg.quirks),
        _cursor_us(df["updated_at"]),
    )


# ----------------------------------------------------------------------------- invalid records


@dataclass(frozen=True, slots=True)
class _Invalid:
    """Rendered invalid records and where they go in the listing (after clean position)."""

    json: list[str]
    cursor_us: list[int]
    after: list[int]
    info: list[tuple[str, str, str]]  # key, field, reason


def _positions(seed: int, endpoint: str, kind: str, count: int, n: int) -> np.ndarray:
    keys = np.arange(count, dtype=np.uint64)
    return (hash_u01(seed, keys, f"bad.{endpoint}.{kind}") * n).astype(np.int64)


def _invalid_inventory(world: World, count: int) -> _Invalid:
    cfg, inv = world.config, world.inventory
    n = inv.height
    out = _Invalid([], [], [], [])
    letters = {"negative_quantity": "N", "missing_part_number": "M", "unparseable_date": "D"}
    for kind in INVALID_KINDS:
        pos = _positions(cfg.seed, "inventory", kind, count, n)
        src = inv[pos.tolist()]
        if kind == "duplicate_key":
            # a stale copy of a real record, served about half a listing away (another page)
            stale = src.with_columns(
                (pl.col("quantity_on_hand") + 7).alias("quantity_on_hand"),
                (pl.col("last_updated") - pl.duration(days=1)).alias("last_updated"),
            )
            texts = render_inventory(stale, cfg.seed, cfg.quirks).to_list()
            for j, text in enumerate(texts):
                key = f"{src['part_number'][j]}|{src['warehouse_id'][j]}"
                out.json.append(text)
                out.cursor_us.append(int(_cursor_us(stale["last_updated"][j : j + 1])[0]))
                out.after.append(int((pos[j] + n // 2) % n))
                out.info.append(
                    (
                        key,
                        "partNumber,warehouse",
                        "duplicate key across pages; stale copy (older lastUpdated) "
                        "loses to the record served elsewhere",
                    )
                )
            continue
        bad = src.with_columns(
            pl.Series("part_number", [f"ZZ{letters[kind]}{j:04d}" for j in range(count)]),
            (pl.col("_key") + pl.lit(1 << 40, pl.UInt64)).alias("_key"),
        )
        if kind == "negative_quantity":
            bad = bad.with_columns((-(pl.col("quantity_on_hand") + 1)).alias("quantity_on_hand"))
        if kind == "missing_part_number":
            bad = bad.with_columns(pl.lit(None, pl.String).alias("part_number"))
        texts = render_inventory(bad, cfg.seed, True).to_list()  # missing keys are omitted
        for j, text in enumerate(texts):
            wh = bad["warehouse_id"][j]
            if kind == "unparseable_date":
                text = _replace_field(text, "lastUpdated", f'"{_BAD_DATES[j % len(_BAD_DATES)]}"')
                field, reason = "lastUpdated", "lastUpdated is not an ISO 8601 timestamp"
            elif kind == "negative_quantity":
                field, reason = "quantity", "negative quantity"
            else:
                field, reason = "partNumber", "partNumber missing"
            part = bad["part_number"][j] or ""
            out.json.append(text)
            out.cursor_us.append(int(_cursor_us(bad["last_updated"][j : j + 1])[0]))
            out.after.append(int(pos[j]))
            out.info.append((f"{part}|{wh}", field, reason))
    return out


def _replace_field(text: str, name: str, value: str) -> str:
    start = text.index(f'"{name}":') + len(name) + 3
    end = start
    if text[start] == '"':
        end = text.index('"', start + 1) + 1
    else:
        while text[end] not in ",}":
            end += 1
    return text[:start] + value + text[end:]


def _invalid_nested(world: World, endpoint: str, count: int) -> _Invalid:
    cfg = world.config
    render: Callable[[pl.DataFrame, pl.DataFrame, int, bool], pl.Series]
    if endpoint == "orders":
        head, lines = world.orders, world.order_lines
        id_col, cursor_col, qty_col, date_field = (
            "order_id",
            "updated_at",
            "quantity_ordered",
            "orderDate",
        )
        render = render_orders
    else:
        head, lines = world.shipments, world.shipment_lines
        id_col, cursor_col, qty_col, date_field = (
            "shipment_id",
            "updated_at",
            "quantity",
            "shipDate",
        )
        render = render_shipments
    n = head.height
    out = _Invalid([], [], [], [])
    letters = {"negative_quantity": "N", "missing_part_number": "M", "unparseable_date": "D"}
    # sources with at least one line (and a ship date for shipments' date kind)
    eligible = head.join(lines.select(id_col).unique(), on=id_col, how="semi")
    if endpoint == "shipments":
        eligible = eligible.filter(pl.col("ship_date").is_not_null())
    pos_in_head = head.with_row_index("_pos").join(eligible.select(id_col), on=id_col, how="semi")[
        "_pos"
    ]
    for kind in INVALID_KINDS:
        picks = _positions(cfg.seed, endpoint, kind, count, len(pos_in_head))
        pos = pos_in_head.gather(picks.tolist()).to_numpy().astype(np.int64)
        src = head[pos.tolist()]
        src_lines = lines.join(src.select(id_col, pl.int_range(pl.len()).alias("_j")), on=id_col)
        src_lines = src_lines.sort("_j", lines.columns[1])
        if kind == "duplicate_key":
            stale = src.with_columns((pl.col(cursor_col) - pl.duration(days=1)).alias(cursor_col))
            texts = render(stale, src_lines.drop("_j"), cfg.seed, cfg.quirks).to_list()
            for j, text in enumerate(texts):
                out.json.append(text)
                out.cursor_us.append(int(_cursor_us(stale[cursor_col][j : j + 1])[0]))
                out.after.append(int((pos[j] + n // 2) % n))
                out.info.append(
                    (
                        src[id_col][j],
                        id_col_wire(endpoint),
                        f"duplicate key across pages; stale copy (older {cursor_wire(endpoint)}) "
                        "loses to the record served elsewhere",
                    )
                )
            continue
        new_ids = [_bad_id(endpoint, letters[kind], j) for j in range(count)]
        bad = src.with_columns(
            pl.Series(id_col, new_ids), (pl.col("_key") + pl.lit(1 << 60, pl.UInt64)).alias("_key")
        )
        bl = src_lines.with_columns(
            pl.Series(id_col, [new_ids[j] for j in src_lines["_j"].to_list()])
        )
        first = pl.col(lines.columns[1]) == 1  # first line / position of each record
        if kind == "negative_quantity":
            bl = bl.with_columns(
                pl.when(first)
                .then(-(pl.col(qty_col) + 1))
                .otherwise(pl.col(qty_col))
                .alias(qty_col)
            )
        elif kind == "missing_part_number":
            bl = bl.with_columns(
                pl.when(first).then(None).otherwise(pl.col("part_number")).alias("part_number")
            )
        texts = render(bad, bl.drop("_j"), cfg.seed, True).to_list()
        for j, text in enumerate(texts):
            if kind == "unparseable_date":
                text = _replace_field(text, date_field, f'"{_BAD_DATES[j % len(_BAD_DATES)]}"')
                field, reason = date_field, f"{date_field} is not an ISO 8601 timestamp"
            elif kind == "negative_quantity":
                field, reason = "lines[0].quantity", "negative quantity on line 1"
            else:
                field, reason = "lines[0].partNumber", "partNumber missing on line 1"
            out.json.append(text)
            out.cursor_us.append(int(_cursor_us(bad[cursor_col][j : j + 1])[0]))
            out.after.append(int(pos[j]))
            out.info.append((new_ids[j], field, reason))
    return out


def id_col_wire(endpoint: str) -> str:
    """The wire name(s) of an endpoint's key field(s), comma-separated (from the catalog)."""
    return ",".join(catalog.get_endpoint(endpoint).primary_key)


def cursor_wire(endpoint: str) -> str:
    """The wire name of an endpoint's cursor field (from the catalog)."""
    return catalog.get_endpoint(endpoint).cursor_field


def _bad_id(endpoint: str, letter: str, j: int) -> str:
    if endpoint == "orders":
        return f"ORD-00000000-{letter}{j:04d}"
    return f"SHP-00000000-{letter}{j:04d}-101"


def build_served(world: World, endpoint: str, invalid: _Invalid | None) -> Served:
    """Merge the clean rendering with the invalid records at their positions."""
    json, cursor = render_endpoint(world, endpoint)
    n = len(json)
    if invalid is None or not invalid.json:
        empty = pl.DataFrame(
            schema={
                "endpoint": pl.String,
                "key": pl.String,
                "field": pl.String,
                "reason": pl.String,
                "raw": pl.String,
            }
        )
        return Served(json, cursor, empty, np.arange(n, dtype=np.int64))
    order_clean = np.arange(n, dtype=np.float64)
    order_bad = np.array(invalid.after, dtype=np.float64) + 0.5
    order_bad += np.arange(len(order_bad)) * 1e-6  # stable among invalid records
    order = np.argsort(np.concatenate([order_clean, order_bad]), kind="stable")
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    all_json = pl.concat([json, pl.Series("json", invalid.json, dtype=pl.String)])
    all_cursor = np.concatenate([cursor, np.array(invalid.cursor_us, dtype=np.int64)])
    info = pl.DataFrame(
        {
            "endpoint": [endpoint] * len(invalid.info),
            "key": [i[0] for i in invalid.info],
            "field": [i[1] for i in invalid.info],
            "reason": [i[2] for i in invalid.info],
            "raw": invalid.json,
        }
    )
    return Served(all_json.gather(order), all_cursor[order], info, where[:n].astype(np.int64))


def update_served(world: World, endpoint: str, served: Served, rows: np.ndarray) -> Served:
    """Re-render only the clean records at ``rows`` (world row indices) after a mutation."""
    if len(rows) == 0:
        return served
    cfg = world.config
    if endpoint not in BUILT_IN:
        return served  # registered endpoints do not change (mutate_world knows the built-ins)
    if endpoint == "inventory":
        sub = world.inventory[rows]
        texts = render_inventory(sub, cfg.seed, cfg.quirks)
        cur = _cursor_us(sub["last_updated"])
    elif endpoint == "orders":
        sub = world.orders[rows]
        lines = world.order_lines.join(sub.select("order_id"), on="order_id", how="semi")
        texts = render_orders(sub, lines, cfg.seed, cfg.quirks)
        cur = _cursor_us(sub["updated_at"])
    else:
        sub = world.shipments[rows]
        lines = world.shipment_lines.join(sub.select("shipment_id"), on="shipment_id", how="semi")
        texts = render_shipments(sub, lines, cfg.seed, cfg.quirks)
        cur = _cursor_us(sub["updated_at"])
    pos = served.clean_pos[rows]
    json = served.json.clone().scatter(pos, texts)
    cursor = served.cursor_us.copy()
    cursor[pos] = cur
    return Served(json, cursor, served.invalid, served.clean_pos)


def make_invalid(world: World, endpoint: str) -> _Invalid | None:
    """The invalid records of one endpoint for the world's config (None when off)."""
    count = world.config.invalid_per_kind
    if count == 0:
        return None
    if endpoint not in BUILT_IN:
        return _invalid_registered(world, endpoint)
    if endpoint == "inventory":
        return _invalid_inventory(world, count)
    return _invalid_nested(world, endpoint, count)


# ----------------------------------------------------------------------------- registered endpoints


@dataclass(frozen=True, slots=True)
class EndpointRenderer:
    """What the sandbox serves for an endpoint added to the catalog (beyond the built-in three).

    Records are rendered from the catalog entry (:func:`render_records`): each wire field
    from its typed column, numbers sent as strings on some records when quirks are on.

    Attributes:
        endpoint: the catalog endpoint's name.
        generate: world -> the clean typed tables of the endpoint (record table, and its
            child table when it has one), deterministic from ``world.config``, in served order.
        invalid: world -> records served invalid on purpose: the record table's columns plus
            ``_field`` and ``_reason`` (what the sync must reject), or ``None``. Called when
            the config asks for invalid records (``invalid > 0``).
    """

    endpoint: str
    generate: Callable[[World], dict[str, pl.DataFrame]]
    invalid: Callable[[World], pl.DataFrame] | None = None

    def tables(self, world: World) -> dict[str, pl.DataFrame]:
        """The generated tables, each cast to its catalog columns and sorted by key."""
        ep = catalog.get_endpoint(self.endpoint)
        frames = self.generate(world)
        out = {}
        for name in ep.tables:
            table = catalog.get_table(name)
            frame = frames.get(name, pl.DataFrame(schema=table.schema()))
            out[name] = frame.select([pl.col(c).cast(t) for c, t in table.schema().items()]).sort(
                list(table.key)
            )
        return out


_renderers: dict[str, EndpointRenderer] = {}
_renderers_lock = threading.Lock()


class _RendererRegistration:
    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> EndpointRenderer:
        return _renderers[self.name]

    def __exit__(self, *exc: object) -> None:
        with _renderers_lock:
            _renderers.pop(self.name, None)


def register_renderer(renderer: EndpointRenderer) -> _RendererRegistration:
    """Serve a catalog endpoint from the sandbox (a context manager that removes it again).

    Sandboxes created while it is registered serve ``GET /vendors/v1/<name>``.

    Raises:
        ConfigError: a built-in endpoint, or one already served.
    """
    with _renderers_lock:
        if renderer.endpoint in BUILT_IN or renderer.endpoint in _renderers:
            raise ConfigError(f"the sandbox already serves {renderer.endpoint!r}")
        _renderers[renderer.endpoint] = renderer
    return _RendererRegistration(renderer.endpoint)


def renderer_of(endpoint: str) -> EndpointRenderer:
    """The registered renderer of ``endpoint`` (:class:`ConfigError` when there is none)."""
    try:
        return _renderers[endpoint]
    except KeyError:
        raise ConfigError(
            f"the sandbox has no renderer for endpoint {endpoint!r}; register one with "
            "vendorkit.sandbox.render.register_renderer"
        ) from None


def served_endpoints() -> tuple[str, ...]:
    """The endpoints a new sandbox serves: the built-ins, then registered catalog endpoints."""
    extra = [n for n in catalog.ENDPOINT_NAMES if n in _renderers and n not in BUILT_IN]
    return (*BUILT_IN, *extra)


def _wire_exprs(table: catalog.Table, quote_numbers: bool) -> list[pl.Expr]:
    """One expression per wire field of ``table``, named as on the wire (JSON-ready)."""
    raw_of = {c.wire: c.name for c in table.columns if c.parse == "status_raw"}
    exprs: list[pl.Expr] = []
    seen: set[str] = set()
    for col in table.columns:
        if col.wire is None or col.wire in seen:
            continue
        seen.add(col.wire)
        value = pl.col(raw_of.get(col.wire, col.name))
        if isinstance(col.dtype, pl.Datetime):
            value = value.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(col.dtype, pl.Enum) or (quote_numbers and col.dtype.is_numeric()):
            value = value.cast(pl.String)
        exprs.append(value.alias(col.wire))
    return exprs


def render_records(
    ep: catalog.Endpoint, tables: dict[str, pl.DataFrame], seed: int, quirks: bool
) -> pl.Series:
    """JSON text of each record of a catalog endpoint, from its typed tables (record order).

    Quirks (when on): numbers sent as strings on about 40% of records (hashed from the key).

    Example:
        >>> from datetime import UTC, datetime
        >>> ep = catalog.get_endpoint("inventory")
        >>> row = pl.DataFrame({"part_number": ["P1"], "warehouse_id": ["20"],
        ...     "quantity_on_hand": [3], "last_updated": [datetime(2026, 1, 1, tzinfo=UTC)]})
        >>> tables = {"inventory": row.with_columns(warehouse_name=None, vendor_part_number=None,
        ...     quantity_backordered=None, quantity_on_order=None)}
        >>> import json
        >>> record = json.loads(render_records(ep, tables, seed=1, quirks=False)[0])
        >>> record["partNumber"], record["quantity"], record["lastUpdated"]
        ('P1', 3, '2026-01-01T00:00:00Z')
    """
    head = tables[ep.table.name]
    if head.height == 0:
        return pl.Series("json", [], dtype=pl.String)
    frame = head.with_row_index("_order")
    if ep.child is not None:
        child = ep.child.table
        lines = tables.get(child.name, pl.DataFrame(schema=child.schema()))
        nested = lines.group_by(list(ep.key), maintain_order=True).agg(
            pl.struct(_wire_exprs(child, quote_numbers=False)).alias(ep.child.key)
        )
        frame = frame.join(nested, on=list(ep.key), how="left").sort("_order")
    extra = [pl.col(ep.child.key)] if ep.child is not None else []
    plain = pl.struct([*_wire_exprs(ep.table, False), *extra]).struct.json_encode()
    if not quirks:
        return frame.select(plain.alias("json")).to_series()
    keys = frame.select(pl.struct(list(ep.key)).hash(seed)).to_series().to_numpy()
    quoted = pl.struct([*_wire_exprs(ep.table, True), *extra]).struct.json_encode()
    flag = pl.Series(hash_u01(seed, keys, "q.numstr") < 0.4)
    return frame.select(pl.when(flag).then(quoted).otherwise(plain).alias("json")).to_series()


def _invalid_registered(world: World, endpoint: str) -> _Invalid | None:
    """Render a registered endpoint's invalid records, placed at hashed positions."""
    renderer = renderer_of(endpoint)
    if renderer.invalid is None:
        return None
    ep = catalog.get_endpoint(endpoint)
    bad = renderer.invalid(world)
    if bad.height == 0:
        return None
    cfg = world.config
    n = renderer.tables(world)[ep.table.name].height
    typed = bad.select([pl.col(c).cast(t) for c, t in ep.table.schema().items()])
    texts = render_records(ep, {ep.table.name: typed}, cfg.seed, cfg.quirks).to_list()
    after = _positions(cfg.seed, endpoint, "registered", bad.height, max(n, 1))
    keys = typed.select(
        pl.concat_str([pl.col(k).fill_null("") for k in ep.key], separator="|")
    ).to_series()
    return _Invalid(
        json=texts,
        cursor_us=typed[ep.cursor].dt.epoch("us").fill_null(0).to_list(),
        after=[int(a) for a in after],
        info=list(
            zip(keys.to_list(), bad["_field"].to_list(), bad["_reason"].to_list(), strict=True)
        ),
    )
