"""The self-contained HTML report: headline numbers, charts, worst offenders, data quality.

:func:`build_report` reads the store (it never fetches), runs the analysis helpers, renders
the charts to inline SVG with vl-convert (no vega-embed, no CDN: the file opens offline) and
writes one HTML file. :func:`execute_notebooks` runs the curated notebooks into executed
copies for ``vendorkit demo``.

Every number in the report comes from :mod:`vendorkit.analysis`; the definitions are in the
helpers' docstrings and ``docs/metrics.md``. When the data comes from the built-in sandbox the
report says so in a banner at the top.
"""

from __future__ import annotations

import io
import math
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from vendorkit import errors

if TYPE_CHECKING:
    import altair as alt

    from vendorkit.config import Settings

__all__ = [
    "DEFAULT_REPORT_PATH",
    "Headline",
    "ReportInputs",
    "StockRisk",
    "build_report",
    "execute_notebooks",
    "headline_numbers",
    "render_report",
    "stock_risk",
]

DEFAULT_REPORT_PATH = Path("data/report/vendorkit-report.html")
_TEMPLATE = "report_template.html"
#: rows shown in the "worst" tables
_TOP = 15


@dataclass(frozen=True)
class Headline:
    """One headline number: machine value, display text and its one-line definition."""

    key: str
    label: str
    value: float | int | None
    text: str
    definition: str


@dataclass(frozen=True)
class ReportInputs:
    """The typed tables (and store metadata) a report is built from.

    Build it from the store with :meth:`from_store`, or by hand (tests, notebooks) from frames
    with exactly the ARCHITECTURE.md columns.

    Attributes:
        source: ``"sandbox"`` or ``"api"``: where the data came from.
        rejects / sync_log / status: store metadata; empty frames are fine.
        inventory_history / order_status_history / shipment_status_history: the histories
            behind "changes since the last sync" and the perfect order (empty: those parts
            say there is nothing to compare).
    """

    inventory: pl.DataFrame
    orders: pl.DataFrame
    order_lines: pl.DataFrame
    shipments: pl.DataFrame
    shipment_lines: pl.DataFrame
    source: str = "sandbox"
    rejects: pl.DataFrame = field(default_factory=pl.DataFrame)
    sync_log: pl.DataFrame = field(default_factory=pl.DataFrame)
    status: pl.DataFrame = field(default_factory=pl.DataFrame)
    store_name: str = ":memory:"
    inventory_history: pl.DataFrame = field(default_factory=pl.DataFrame)
    order_status_history: pl.DataFrame = field(default_factory=pl.DataFrame)
    shipment_status_history: pl.DataFrame = field(default_factory=pl.DataFrame)

    @classmethod
    def from_store(cls, settings: Settings) -> ReportInputs:
        """Load every table the report needs from the store (no fetching).

        Raises:
            StoreError: the store cannot be read, or an endpoint was never synced (run
                ``vendorkit sync`` first: the report never fetches).

        Example:
            >>> import vendorkit as vk  # doctest: +SKIP
            >>> ReportInputs.from_store(vk.Settings()).orders.height  # doctest: +SKIP
            1200
        """
        import vendorkit as vk

        status = vk.status(settings=settings)
        never = status.filter(pl.col("last_sync_at").is_null())["endpoint"].to_list()
        if never:
            raise errors.StoreError(
                f"the store {Path(settings.db_path).name} has never synced "
                f"{', '.join(never)}: run `vendorkit sync` (or `vendorkit demo`) before "
                "`vendorkit report`; the report reads the store and never fetches"
            )
        inputs = cls(
            inventory=vk.load_inventory(settings=settings),
            orders=vk.load_orders(settings=settings),
            order_lines=vk.load_order_lines(settings=settings),
            shipments=vk.load_shipments(settings=settings),
            shipment_lines=vk.load_shipment_lines(settings=settings),
            rejects=vk.load_rejects(settings=settings),
            sync_log=vk.load_sync_log(settings=settings),
            status=status,
            source=settings.source,
            store_name=Path(settings.db_path).name,
            inventory_history=vk.load_inventory_history(settings=settings),
            order_status_history=vk.load_order_status_history(settings=settings),
            shipment_status_history=vk.load_shipment_status_history(settings=settings),
        )
        source = _source_from_log(inputs.sync_log)
        if source is not None and source != inputs.source:
            inputs = _replace(inputs, source=source)
        return inputs


def _replace(inputs: ReportInputs, **changes: Any) -> ReportInputs:
    from dataclasses import replace

    return replace(inputs, **changes)


def _source_from_log(sync_log: pl.DataFrame) -> str | None:
    """The data source recorded by the syncs: ``"sandbox"`` if any sync was from it."""
    if sync_log.is_empty() or "source" not in sync_log.columns:
        return None
    sources = set(sync_log["source"].drop_nulls().to_list())
    if "sandbox" in sources:
        return "sandbox"
    return "api" if sources else None


# ---------------------------------------------------------------------------- formatting


def _fmt_int(value: Any) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _fmt_share(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * float(value):.1f}%"


def _fmt_days(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):.1f} d"


#: Human column headers (a column not listed gets its name with spaces).
_HEADERS: dict[str, str] = {
    "warehouse_id": "Warehouse",
    "warehouse_name": "Warehouse name",
    "part_rows": "Part records",
    "units_on_hand": "Units on hand",
    "parts_in_stock": "Parts in stock",
    "stockouts": "Stockouts",
    "units_backordered": "Units backordered",
    "units_on_order": "Units on order",
    "share_of_units": "Share of units",
    "part_number": "Part",
    "quantity_on_hand": "On hand",
    "units_ordered": "Units ordered",
    "avg_daily_demand": "Units / day",
    "days_of_supply": "Days of supply",
    "projected_stockout": "Projected stockout",
    "risk": "Risk",
    "period": "Order month",
    "orders": "Orders",
    "lines": "Lines",
    "units_shipped": "Units shipped",
    "unit_fill_rate": "Unit fill rate",
    "line_fill_rate": "Line fill rate",
    "order_fill_rate": "Order fill rate",
    "complete": "Complete period",
    "age_bucket": "Age (days)",
    "units_open": "Open units",
    "carrier": "Carrier",
    "shipments": "Shipments",
    "delivered": "Delivered",
    "in_transit": "In transit",
    "transit_days_p50": "Transit days (median)",
    "transit_days_p90": "Transit days (p90)",
    "on_time": "On time",
    "late": "Late",
    "share_in_transit": "Share in transit",
    "on_time_share": "On-time share",
    "shipment_id": "Shipment",
    "order_id": "Order",
    "reseller_id": "Reseller",
    "reseller_name": "Reseller name",
    "tracking_number": "Tracking number",
    "status": "Status",
    "ship_date": "Shipped",
    "estimated_delivery_date": "Estimated delivery",
    "delivered_date": "Delivered",
    "late_state": "State",
    "days_late": "Days late",
    "rank": "Rank",
    "units": "Units",
    "units_share": "Share of units",
    "cumulative_units_share": "Cumulative share",
    "name_note": "Note",
    "resellers": "Resellers",
    "top_n": "Top N",
    "top_n_share": "Top-N share",
    "top_fraction": "Top fraction",
    "top_fraction_resellers": "Resellers in top fraction",
    "top_fraction_share": "Top-fraction share",
    "hhi": "HHI",
    "endpoint": "Endpoint",
    "field": "Field",
    "reason": "Reason",
    "rejects": "Rejects",
    "source": "Source",
    "started_at": "Started",
    "outcome": "Outcome",
    "full_refresh": "Full refresh",
    "pages": "Pages",
    "fetched": "Fetched",
    "loaded": "Loaded",
    "rejected": "Rejected",
    "deduplicated": "Deduplicated",
    "coerced": "Coerced",
    "unknown_status": "Unknown status",
    "error": "Error",
    "last_sync_at": "Last sync",
    "last_outcome": "Last outcome",
    "last_error": "Last error",
    # changes since the last sync
    "kind": "Change",
    "changes": "Changes",
    "meaning": "Counted when",
    "observed_at": "Seen at",
    "before": "Before",
    "after": "After",
    "detail": "Detail",
    # service level
    "level": "Level",
    "units_counted": "Orders / lines",
    "open_units": "Open (not counted)",
    "decided": "Decided",
    "in_full": "In full",
    "otif": "OTIF",
    "in_full_rate": "In-full rate",
    "on_time_rate": "On-time rate",
    "otif_rate": "OTIF rate",
    "perfect": "Perfect",
    "perfect_order_rate": "Perfect order rate",
    "failed_in_full": "Failed: in full",
    "failed_on_time": "Failed: on time",
    "cancelled": "Failed: cancelled",
    "backordered": "Failed: backordered",
    "open_orders": "Open orders",
    # forecast and rebalancing
    "quantity_on_order": "On order",
    "supply_units": "Supply",
    "std_daily_demand": "Std units / day",
    "days_to_stockout_p90": "Days left (P90)",
    "days_to_stockout_p50": "Days left (P50)",
    "stockout_date_p90": "Runs out (P90)",
    "stockout_date_p50": "Runs out (P50)",
    "from_warehouse_id": "From",
    "to_warehouse_id": "To",
    "quantity": "Units to move",
    "demand_days_covered": "Days of demand covered",
    "from_days_before": "From: days before",
    "from_days_after": "From: days after",
    "to_days_before": "To: days before",
    "to_days_after": "To: days after",
}
#: Columns shown as calendar dates (the time of day is noise there).
_DATE_COLUMNS = {
    "ship_date", "estimated_delivery_date", "delivered_date", "order_date", "projected_stockout",
    "stockout_date_p50", "stockout_date_p90",
}  # fmt: skip
#: Columns holding a share (0..1) shown as a percentage.
_SHARE_COLUMNS = {"top_fraction", "failed_in_full", "failed_on_time", "cancelled", "backordered"}


def _header(column: str) -> str:
    return _HEADERS.get(column, column.replace("_", " ").capitalize())


def _fmt_cell(value: Any, column: str) -> tuple[str, bool]:
    """Display text for a table cell and whether it is numeric (right-aligned)."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        if math.isnan(value):
            return "", True
        if "share" in column or "rate" in column or column in _SHARE_COLUMNS:
            return f"{100 * value:.1f}%", True
        if column == "hhi":
            return f"{value:.3f}", True
        return f"{value:,.1f}", True
    if isinstance(value, datetime):
        if column == "period":
            return value.strftime("%b %Y"), False
        if column in _DATE_COLUMNS:
            return value.strftime("%Y-%m-%d"), False
        return value.strftime("%Y-%m-%d %H:%M"), False
    if isinstance(value, date):
        return value.isoformat(), False
    if isinstance(value, timedelta):
        hours = value.total_seconds() / 3600
        return (f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"), True
    return str(value), False


def _cell(text: str, num: bool) -> dict[str, Any]:
    """A table cell: numbers right-aligned; short tokens (dates, ids) never wrapped."""
    return {"text": text, "num": num, "nowrap": not num and " " not in text and len(text) <= 12}


def _table(
    frame: pl.DataFrame,
    key: str,
    title: str,
    *,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
    note: str = "",
    empty: str = "Nothing to show.",
) -> dict[str, Any]:
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    shown = frame.select(cols)
    if limit is not None:
        shown = shown.head(limit)
    rows = [
        [_cell(*_fmt_cell(v, c)) for v, c in zip(row, cols, strict=True)]
        for row in shown.iter_rows()
    ]
    return {
        "key": key,
        "title": title,
        "columns": [_header(c) for c in cols],
        "rows": rows,
        "note": note,
        "empty": empty,
    }


# ---------------------------------------------------------------------------- numbers


def _first(frame: pl.DataFrame, column: str) -> Any:
    if frame.is_empty() or column not in frame.columns:
        return None
    return frame[column][0]


#: Periods with fewer orders than this are marked incomplete on the fill-rate chart.
MIN_PERIOD_ORDERS = 30
#: Demand window of days of supply and the at-risk list.
WINDOW_DAYS = 28
#: Days of supply below which a part with demand is at risk.
THRESHOLD_DAYS = 14.0


@dataclass(frozen=True)
class StockRisk:
    """The at-risk list and how the headline's stockouts split (see :func:`stock_risk`).

    Attributes:
        at_risk: rows ordered by urgency (see :func:`stock_risk`).
        stockouts: inventory records with nothing on hand (the headline number).
        stockouts_with_demand: of those, the ones with orders in the demand window.
        stockouts_without_demand: the others (no days of supply: nothing to run out of).
        demand_without_record: part × warehouse with demand but no inventory record.
        below_threshold: records in stock with fewer than ``THRESHOLD_DAYS`` of supply.
        as_of: end of the demand window (the latest order date).
    """

    at_risk: pl.DataFrame
    stockouts: int
    stockouts_with_demand: int
    stockouts_without_demand: int
    demand_without_record: int
    below_threshold: int
    as_of: datetime | None


def stock_risk(inputs: ReportInputs) -> StockRisk:
    """Parts at risk, most urgent first, with a projected stockout date.

    Urgency: stockouts with demand first (nothing on hand, orders in the last
    ``WINDOW_DAYS`` days), the most units per day first; then parts in stock with fewer
    than ``THRESHOLD_DAYS`` days of supply, the fewest first. ``projected_stockout`` = the
    end of the demand window + days of supply (the window end itself for a stockout).
    Stockouts without demand have no days of supply: they count in the headline's
    stockouts, not in this list.

    Example:
        >>> from datetime import datetime, UTC
        >>> inv = pl.DataFrame({"part_number": ["A", "B", "C"], "warehouse_id": ["10"] * 3,
        ...                     "quantity_on_hand": [0, 7, 0]})
        >>> orders = pl.DataFrame({"order_id": ["o1"], "reseller_id": ["r1"], "status": ["OPEN"],
        ...                        "order_date": [datetime(2026, 1, 28, tzinfo=UTC)]})
        >>> lines = pl.DataFrame({"order_id": ["o1", "o1"], "part_number": ["A", "B"],
        ...     "quantity_ordered": [28, 28], "warehouse_id": ["10", "10"]})
        >>> empty = pl.DataFrame()
        >>> r = stock_risk(ReportInputs(inv, orders, lines, empty, empty))
        >>> r.at_risk.select("part_number", "risk", "days_of_supply").rows()
        [('A', 'out of stock', 0.0), ('B', 'below 14 days', 7.0)]
        >>> (r.stockouts, r.stockouts_with_demand, r.stockouts_without_demand)
        (2, 1, 1)
    """
    from vendorkit import analysis

    supply = analysis.days_of_supply(
        inputs.inventory,
        inputs.orders,
        inputs.order_lines,
        window_days=WINDOW_DAYS,
        threshold_days=THRESHOLD_DAYS,
    )
    keys = [c for c in ("part_number", "warehouse_id") if c in supply.columns]
    inv = inputs.inventory
    if "snapshot_at" in inv.columns:
        inv = inv.filter(pl.col("snapshot_at") == pl.col("snapshot_at").max())
    records = inv.group_by(keys).agg(pl.col("quantity_on_hand").sum().alias("__on_hand"))
    joined = supply.join(records, on=keys, how="left")
    demand = pl.col("units_ordered") > 0
    out_now = demand & (pl.col("quantity_on_hand") <= 0)
    low = demand & ~out_now & pl.col("below_threshold")
    dates = (
        [d for d in inputs.orders["order_date"].to_list() if d is not None]
        if ("order_date" in inputs.orders.columns)
        else []
    )
    as_of = max(dates) if dates else None
    stockouts = int((inv["quantity_on_hand"] <= 0).sum())
    with_demand = joined.filter(out_now & pl.col("__on_hand").is_not_null()).height
    at_risk = (
        joined.filter(out_now | low)
        .with_columns(
            pl.when(out_now).then(pl.lit("out of stock"))
            .otherwise(pl.lit(f"below {THRESHOLD_DAYS:g} days")).alias("risk"),
            pl.when(pl.col("__on_hand").is_null()).then(pl.lit("no inventory record"))
            .otherwise(pl.lit("")).alias("record_note"),
            (pl.lit(as_of).cast(pl.Datetime("us", "UTC"))
             + pl.duration(microseconds=(pl.col("days_of_supply") * 86_400_000_000).cast(
                 pl.Int64))).alias("projected_stockout"),
            out_now.alias("__out"),
        )
        .sort(["__out", "avg_daily_demand", "days_of_supply", *keys],
              descending=[True, True, False, *[False] * len(keys)])
    )  # fmt: skip
    # stockouts first by units per day; the rest by days of supply (then units per day)
    at_risk = pl.concat(
        [
            at_risk.filter(pl.col("__out")),
            at_risk.filter(~pl.col("__out")).sort(
                ["days_of_supply", "avg_daily_demand", *keys],
                descending=[False, True, *[False] * len(keys)],
            ),
        ]
    ).drop("__out", "__on_hand", "below_threshold")
    return StockRisk(
        at_risk=at_risk,
        stockouts=stockouts,
        stockouts_with_demand=with_demand,
        stockouts_without_demand=stockouts - with_demand,
        demand_without_record=joined.filter(out_now & pl.col("__on_hand").is_null()).height,
        below_threshold=joined.filter(low).height,
        as_of=as_of,
    )


def headline_numbers(inputs: ReportInputs) -> list[Headline]:
    """The report's headline numbers, computed with the analysis helpers.

    Units on hand and stockouts (latest inventory), the three fill rates (cancelled orders
    excluded), the median order-to-ship lag and the on-time share (delivered on or before
    the estimated delivery day, over delivered-or-overdue shipments).

    Example:
        >>> from vendorkit.sandbox import Sandbox, SandboxConfig
        >>> sb = Sandbox(SandboxConfig(scale=0.05))
        >>> inputs = ReportInputs(**{t: sb.ground_truth(t) for t in ("inventory", "orders",
        ...     "order_lines", "shipments", "shipment_lines")})
        >>> [h.key for h in headline_numbers(inputs)][:2]
        ['units_on_hand', 'stockouts']
    """
    from vendorkit import analysis

    o, ol, s, sl = inputs.orders, inputs.order_lines, inputs.shipments, inputs.shipment_lines
    stock = analysis.stock_by_warehouse(inputs.inventory)
    fill = analysis.order_fill_rates(o, ol, s, sl)
    lag = analysis.shipment_lag(o, s)
    carriers = analysis.carrier_performance(o, s)
    on_time_share: float | None = None
    if {"on_time", "late"} <= set(carriers.columns):
        on_time, late = int(carriers["on_time"].sum()), int(carriers["late"].sum())
        on_time_share = on_time / (on_time + late) if on_time + late else None
    backlog = analysis.backorder_aging(o, ol, s, sl)
    units_open = int(backlog["units_open"].sum()) if "units_open" in backlog.columns else None
    risk = stock_risk(inputs)

    units = int(stock["units_on_hand"].sum())
    stockouts = int(stock["stockouts"].sum())
    rates = {k: _first(fill, f"{k}_fill_rate") for k in ("unit", "line", "order")}
    p50 = _first(lag, "order_to_ship_days_p50")
    stockout_def = (
        f"Part × warehouse records with nothing on hand: {risk.stockouts_with_demand:,} with "
        f"orders in the last {WINDOW_DAYS} days (listed under At risk), "
        f"{risk.stockouts_without_demand:,} without."
    )
    return [
        Headline("units_on_hand", "Units on hand", units, _fmt_int(units),
                 "Sum of quantity on hand over all parts and warehouses (latest snapshot)."),
        Headline("stockouts", "Stockouts", stockouts, _fmt_int(stockouts), stockout_def),
        Headline("unit_fill_rate", "Unit fill rate", rates["unit"], _fmt_share(rates["unit"]),
                 "Shipped units (capped at ordered) / ordered units; cancelled orders excluded."),
        Headline("line_fill_rate", "Line fill rate", rates["line"], _fmt_share(rates["line"]),
                 "Share of order lines shipped in full."),
        Headline("order_fill_rate", "Order fill rate", rates["order"], _fmt_share(rates["order"]),
                 "Share of orders whose every line shipped in full."),
        Headline("median_ship_lag", "Median ship lag", p50, _fmt_days(p50),
                 "Median days from order date to ship date, over shipped shipments."),
        Headline("on_time_share", "On-time share", on_time_share, _fmt_share(on_time_share),
                 "Delivered on or before the estimated delivery day / (on time + late)."),
        Headline("units_backordered_open", "Open backorder units", units_open, _fmt_int(units_open),
                 "Ordered but not yet shipped units on open orders."),
    ]  # fmt: skip


def _as_of_text(inputs: ReportInputs) -> str:
    stamps: list[datetime] = []
    for frame, column in (
        (inputs.inventory, "last_updated"),
        (inputs.orders, "updated_at"),
        (inputs.shipments, "updated_at"),
    ):
        if column in frame.columns and frame.height:
            value = frame[column].max()
            if isinstance(value, datetime):
                stamps.append(value)
    return max(stamps).strftime("%Y-%m-%d %H:%M UTC") if stamps else "unknown"


# ---------------------------------------------------------------------------- charts


def chart_to_svg(chart: alt.TopLevelMixin) -> str:
    """Render an Altair chart to an SVG string offline (vl-convert), ready to inline.

    Example:
        >>> import altair as alt
        >>> svg = chart_to_svg(alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q"))
        >>> svg.startswith("<svg")
        True
    """
    buffer = io.StringIO()
    chart.save(buffer, format="svg")
    svg = buffer.getvalue()
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg)


def _charts(inputs: ReportInputs) -> list[dict[str, Any]]:
    from markupsafe import Markup

    from vendorkit import analysis, charts

    source = inputs.source
    o, ol, s, sl = inputs.orders, inputs.order_lines, inputs.shipments, inputs.shipment_lines
    data_end = stock_risk(inputs).as_of
    specs: list[tuple[str, str, Callable[[], alt.TopLevelMixin]]] = [
        ("stock_by_warehouse", "Units on hand by warehouse.",
         lambda: charts.stock_by_warehouse_chart(
             analysis.stock_by_warehouse(inputs.inventory), source=source)),
        ("fill_rates",
         "Unit, line and order fill rate by order month. Hollow points mark incomplete months: "
         f"fewer than {MIN_PERIOD_ORDERS} orders, or the month not over when the data ends.",
         lambda: charts.fill_rate_chart(
             analysis.order_fill_rates(o, ol, s, sl, period="1mo"),
             min_orders=MIN_PERIOD_ORDERS, source=source, as_of=data_end)),
        ("stockout_forecast",
         f"Days until stockout of the 20 most urgent part × warehouse pairs, from {WINDOW_DAYS} "
         "days of demand: bar from P90 (pessimistic) to P50 (median).",
         lambda: charts.stockout_forecast_chart(
             analysis.stockout_forecast(inputs.inventory, o, ol, window_days=WINDOW_DAYS),
             source=source, as_of=data_end)),
        ("otif_by_month",
         "On time in full by order month, over decided orders (open orders left out); months "
         "with fewer than 30 decided orders are hollow.",
         lambda: charts.otif_chart(
             analysis.otif(o, ol, s, sl, _status_history_arg(inputs), period="1mo"),
             source=source)),
        ("transit_by_carrier", "Transit days by carrier (delivered shipments).",
         lambda: charts.lag_distribution_chart(
             analysis.shipment_lag_detail(o, s),
             measure="transit_days", by="carrier", source=source)),
        ("on_time", "On-time share by carrier: on time / (on time + late).",
         lambda: charts.on_time_chart(analysis.carrier_performance(o, s), source=source)),
        ("backorder_aging", "Open backorder units by age of their order.",
         lambda: charts.backorder_aging_chart(
             analysis.backorder_aging(o, ol, s, sl), source=source)),
        ("resellers", "Cumulative share of units by reseller (Pareto).",
         lambda: charts.reseller_pareto_chart(
             analysis.reseller_concentration(o, ol), source=source)),
    ]  # fmt: skip
    charts.use_theme()
    # vl-convert writes the SVG itself (text is escaped there), so it is inlined as markup
    out = []
    for key, caption, build in specs:
        try:
            chart = build()
        except errors.MissingFieldError:  # the data lacks a field this chart needs
            continue
        out.append({"key": key, "caption": caption, "svg": Markup(chart_to_svg(chart))})
    return out


def _status_history_arg(inputs: ReportInputs) -> pl.DataFrame | None:
    ssh = inputs.shipment_status_history
    return ssh if {"shipment_id", "observed_at"} <= set(ssh.columns) else None


# ---------------------------------------------------------------------------- sections


def _names_with_several_ids(orders: pl.DataFrame) -> pl.DataFrame:
    """``reseller_id, name_note`` for resellers whose name is also used by another id."""
    if "reseller_name" not in orders.columns or orders.is_empty():
        return pl.DataFrame(schema={"reseller_id": pl.String, "name_note": pl.String})
    pairs = orders.select("reseller_name", "reseller_id").drop_nulls().unique()
    shared = (
        pairs.group_by("reseller_name")
        .agg(pl.col("reseller_id").sort().alias("__ids"))
        .filter(pl.col("__ids").list.len() > 1)
    )
    return (
        pairs.join(shared, on="reseller_name", how="inner")
        .with_columns(
            pl.concat_str(
                pl.lit("⚑ name also used by "),
                pl.col("__ids")
                .list.set_difference(pl.concat_list(pl.col("reseller_id")))
                .list.join(", "),
            ).alias("name_note")
        )
        .select("reseller_id", "name_note")
    )


def _sections(inputs: ReportInputs) -> list[dict[str, Any]]:
    from vendorkit import analysis

    o, ol, s, sl = inputs.orders, inputs.order_lines, inputs.shipments, inputs.shipment_lines
    stock = analysis.stock_by_warehouse(inputs.inventory)
    risk = stock_risk(inputs)
    monthly = analysis.order_fill_rates(o, ol, s, sl, period="1mo")
    if risk.as_of is not None and "period" in monthly.columns:
        end = pl.col("period").dt.offset_by("1mo")
        monthly = monthly.with_columns(
            ((pl.col("orders") >= MIN_PERIOD_ORDERS) & (end <= pl.lit(risk.as_of))).alias(
                "complete"
            )
        )
    aging = analysis.backorder_aging(o, ol, s, sl)
    carriers = analysis.carrier_performance(o, s)
    late = analysis.late_shipments(o, s, include_delivered=True)
    n_late = late.height
    n_open = int((late["late_state"] == "open").sum()) if n_late else 0
    carrier_late = int(carriers["late"].sum()) if "late" in carriers.columns else 0
    resellers = analysis.reseller_concentration(o, ol).join(
        _names_with_several_ids(o), on="reseller_id", how="left"
    )
    concentration = analysis.reseller_concentration(o, ol, summary=True)
    flagged = _names_with_several_ids(o)

    quality: list[dict[str, Any]] = []
    rejects = inputs.rejects
    if not rejects.is_empty() and {"endpoint", "field", "reason"} <= set(rejects.columns):
        by_reason = (
            rejects.group_by("endpoint", "field", "reason")
            .agg(pl.len().alias("rejects"))
            .sort(
                ["rejects", "endpoint", "field", "reason"], descending=[True, False, False, False]
            )
        )
    else:
        by_reason = pl.DataFrame()
    quality.append(
        _table(by_reason, "rejects", "Rejected records by reason", limit=25,
               empty="No rejected records: every record passed validation.",
               note=f"{rejects.height:,} reject rows in the quarantine; list them with "
                    "`vendorkit rejects`.")
    )  # fmt: skip
    quality.append(
        _table(inputs.status, "freshness", "Freshness per endpoint",
               empty="No status available.")
    )  # fmt: skip
    log = inputs.sync_log
    if not log.is_empty() and "started_at" in log.columns:
        log = log.sort("started_at", descending=True)
    quality.append(
        _table(log, "sync_log", "Recent syncs", limit=12,
               columns=["endpoint", "source", "started_at", "outcome", "full_refresh", "pages",
                        "fetched", "loaded", "rejected", "deduplicated", "coerced",
                        "unknown_status", "error"],
               empty="No syncs recorded.")
    )  # fmt: skip

    as_of_text = f"{risk.as_of:%Y-%m-%d}" if risk.as_of else "the latest order date"
    risk_note = (
        f"{risk.stockouts:,} stockouts in the headline = {risk.stockouts_with_demand:,} with "
        f"orders in the last {WINDOW_DAYS} days (listed first, most units per day first) + "
        f"{risk.stockouts_without_demand:,} without any (no demand, so no days of supply and "
        f"nothing to project: not listed). Then {risk.below_threshold:,} parts in stock with "
        f"fewer than {THRESHOLD_DAYS:g} days of supply, fewest first."
        + (
            f" {risk.demand_without_record:,} part × warehouse pairs have orders but no "
            "inventory record (counted as 0 on hand, listed, not in the headline)."
            if risk.demand_without_record
            else ""
        )
        + f" Projected stockout = {as_of_text} (end of the demand window) + days of supply."
    )
    late_note = (
        f"{n_late:,} late shipments: {n_open:,} still open (undelivered past the estimated "
        f"delivery day) and {n_late - n_open:,} delivered after it — the same "
        f"{carrier_late:,} the carrier table counts as Late."
    )
    return [
        _changes_section(inputs),
        {
            "key": "inventory",
            "title": "Inventory",
            "intro": "Stock per warehouse and the parts at risk of running out "
            f"(days of supply = units on hand / average daily ordered units over {WINDOW_DAYS} "
            "days).",
            "tables": [
                _table(stock, "stock", "Stock by warehouse",
                       note="Share of units = the warehouse's units on hand / all units on "
                            "hand. Stockouts = part records with nothing on hand."),
                _table(risk.at_risk, "at_risk",
                       f"At risk: the {min(_TOP, risk.at_risk.height)} most urgent of "
                       f"{risk.at_risk.height:,}",
                       limit=_TOP,
                       columns=["risk", "part_number", "warehouse_id", "quantity_on_hand",
                                "avg_daily_demand", "days_of_supply", "projected_stockout",
                                *(["record_note"] if risk.demand_without_record else [])],
                       note=risk_note,
                       empty="No part with demand is out of stock or below the threshold."),
            ],
        },
        _forecast_section(inputs),
        _rebalance_section(inputs),
        {
            "key": "orders",
            "title": "Orders and fill rates",
            "intro": "Cancelled orders are excluded. Shipped quantities come from shipments "
            "that have left the warehouse (not cancelled, not processing), capped at the "
            "ordered quantity.",
            "tables": [
                _table(monthly, "fill_by_month", "Fill rates by order month",
                       columns=["period", "orders", "lines", "units_ordered", "units_shipped",
                                "unit_fill_rate", "line_fill_rate", "order_fill_rate",
                                "complete"],
                       note=f"Complete period = at least {MIN_PERIOD_ORDERS} orders and the "
                            "month over when the data ends; read incomplete months with care."),
                _table(aging, "backorder_aging", "Open backorders by age",
                       note="Open units = ordered - shipped per line; age = whole days since "
                            "the order date. Share of units = the bucket's open units / all "
                            "open units."),
            ],
        },
        _service_section(inputs),
        {
            "key": "carriers",
            "title": "Shipments and carriers",
            "intro": "On time = delivered on or before the estimated delivery day; undelivered "
            "shipments past that day count as late.",
            "tables": [
                _table(carriers, "carriers", "Carriers",
                       note="Share in transit = in transit / shipments. On-time share = on "
                            "time / (on time + late). Transit days = delivered - shipped, "
                            "median and 90th percentile."),
                _table(late, "late_shipments",
                       f"Late shipments worth a call: the worst {min(_TOP, n_late)} of "
                       f"{n_late:,}",
                       limit=_TOP,
                       columns=["shipment_id", "order_id", "reseller_id", "carrier",
                                "tracking_number", "late_state", "ship_date",
                                "estimated_delivery_date", "delivered_date", "days_late"],
                       note=late_note,
                       empty="No shipment is past its estimated delivery day."),
            ],
        },
        {
            "key": "resellers",
            "title": "Resellers",
            "intro": "Ordered units per reseller; concentration of demand."
            + (
                f" {flagged.height:,} resellers share their name with another reseller id "
                "(flagged ⚑): the same company under two accounts, or two companies with "
                "one name; check before adding them up."
                if flagged.height
                else ""
            ),
            "tables": [
                _table(resellers, "top_resellers", "Top resellers by units", limit=_TOP,
                       columns=["rank", "reseller_id", "reseller_name", "orders", "units",
                                "units_share", "cumulative_units_share", "name_note"],
                       note="Share of units = the reseller's units / all units ordered; "
                            "cumulative share = running total down the ranking."),
                _table(concentration, "concentration", "Concentration",
                       note="Top-N share = share of all units ordered by the N largest "
                            "resellers. Top fraction = the largest resellers making up that "
                            "fraction of all resellers (rounded up: Resellers in top "
                            "fraction); Top-fraction share = their share of units. HHI "
                            "(Herfindahl-Hirschman index) = the sum of squared unit shares: "
                            "1 / resellers when all order alike, 1 when one reseller orders "
                            "everything."),
            ],
        },
        {"key": "data_quality", "title": "Data quality", "intro": "", "tables": quality},
    ]  # fmt: skip


# ---------------------------------------------------------------------------- beyond the peers

_UTC_TS = pl.Datetime("us", "UTC")
#: Target days of supply of the rebalance suggestions (donors keep it, receivers get it).
TARGET_DAYS = 28.0
#: Change kinds listed row by row (the others are counted only).
_ALARMING = ("new_stockout", "order_backordered", "order_on_hold", "order_cancelled",
             "shipment_late")  # fmt: skip
_CHANGE_MEANING = {
    "new_stockout": "in stock at the earlier sync, nothing on hand at the later, with orders "
    f"in the last {WINDOW_DAYS} days",
    "recovered_stockout": "nothing on hand before, in stock after",
    "quantity_move": "on hand moved by at least 10 units and at least half",
    "order_backordered": "an order turned BACKORDERED",
    "order_on_hold": "an order turned ON_HOLD",
    "order_cancelled": "an order turned CANCELLED",
    "shipment_late": "a shipment became late: undelivered past its estimated delivery day",
    "order_status": "any order status change",
    "shipment_status": "any shipment status change",
}


def _history_or_empty(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    if {key, "status", "observed_at", "sync_id"} <= set(frame.columns):
        return frame
    return pl.DataFrame(
        schema={key: pl.String, "status": pl.String, "observed_at": _UTC_TS, "sync_id": pl.String}
    )


def _changes_section(inputs: ReportInputs) -> dict[str, Any]:
    """Changes between the last two syncs (:func:`vendorkit.changes_since`)."""
    from vendorkit import analysis

    section: dict[str, Any] = {"key": "changes", "title": "Changes since the last sync",
                               "tables": []}  # fmt: skip
    osh = _history_or_empty(inputs.order_status_history, "order_id")
    ssh = _history_or_empty(inputs.shipment_status_history, "shipment_id")
    hist = inputs.inventory_history
    points = analysis.sync_points(*[h for h in (hist, osh, ssh) if not h.is_empty()])
    if points.height < 2 or "snapshot_at" not in hist.columns:
        section["intro"] = (
            f"The store's histories hold {points.height} sync(s): nothing to compare yet. Run "
            "`vendorkit sync` again later; `vendorkit changes` lists the same changes."
        )
        return section
    changes = analysis.changes_since(
        hist, inputs.orders, inputs.order_lines, inputs.shipments, osh, ssh
    )
    since, until = points["sync_id"][-2], points["sync_id"][-1]
    counts = changes.group_by(pl.col("kind").cast(pl.String)).agg(pl.len().alias("changes"))
    summary = (
        pl.DataFrame({"kind": list(analysis.CHANGE_KINDS)})
        .join(counts, on="kind", how="left")
        .with_columns(
            pl.col("changes").fill_null(0).cast(pl.Int64),
            pl.col("kind").replace_strict(_CHANGE_MEANING).alias("meaning"),
        )
    )
    alarming = changes.filter(pl.col("kind").cast(pl.String).is_in(list(_ALARMING)))
    section["intro"] = (
        f"Between sync {since} ({points['at'][-2]:%Y-%m-%d %H:%M} UTC) and sync {until} "
        f"({points['at'][-1]:%Y-%m-%d %H:%M} UTC), from the inventory snapshots and status "
        "histories the store keeps. `vendorkit changes --fail-on new_stockout,shipment_late` "
        "exits non-zero when any of those kinds occurred."
    )
    section["tables"] = [
        _table(summary, "changes_summary", "Changes by kind", columns=["kind", "changes",
               "meaning"]),
        _table(alarming, "changes_alarming",
               f"Worth a look: the first {min(_TOP, alarming.height)} of {alarming.height:,}",
               limit=_TOP,
               columns=["kind", "observed_at", "part_number", "warehouse_id", "order_id",
                        "shipment_id", "before", "after", "detail"],
               note="New stockouts first, then orders turning backordered, on hold or "
                    "cancelled, then shipments that became late.",
               empty="No new stockout, backorder, hold, cancellation or late shipment."),
    ]  # fmt: skip
    return section


def _service_section(inputs: ReportInputs) -> dict[str, Any]:
    """OTIF at order and line level, by carrier, and the perfect order rate."""
    from vendorkit import analysis

    o, ol, s, sl = inputs.orders, inputs.order_lines, inputs.shipments, inputs.shipment_lines
    ssh = inputs.shipment_status_history
    ssh_arg = ssh if {"shipment_id", "observed_at"} <= set(ssh.columns) else None
    section: dict[str, Any] = {"key": "service", "title": "Service level: OTIF and perfect order",
                               "tables": []}  # fmt: skip
    try:
        order = analysis.otif(o, ol, s, sl, ssh_arg)
        line = analysis.otif(o, ol, s, sl, ssh_arg, level="line")
        carrier = analysis.otif(o, ol, s, sl, ssh_arg, by="carrier")
        promise = analysis.promised_dates(s, ssh_arg)
        perfect = analysis.perfect_order_rate(
            o, ol, s, sl, _history_or_empty(inputs.order_status_history, "order_id"), ssh_arg
        )
    except errors.MissingFieldError as exc:
        section["intro"] = f"Not available for this data: {exc}"
        return section
    keep = ["decided", "in_full", "on_time", "otif", "in_full_rate", "on_time_rate", "otif_rate"]
    levels = pl.concat(
        [
            order.select(pl.lit("order").alias("level"), pl.col("orders").alias("units_counted"),
                         pl.col("open_orders").alias("open_units"), *keep),
            line.select(pl.lit("line").alias("level"), pl.col("lines").alias("units_counted"),
                        pl.col("open_lines").alias("open_units"), *keep),
        ]
    )  # fmt: skip
    sources = promise["promise_source"].value_counts().sort("promise_source")
    first = int(sources.filter(pl.col("promise_source") == "first observed")["count"].sum())
    current = int(sources.filter(pl.col("promise_source") == "current estimate")["count"].sum())
    if first:
        promise_note = (
            f"Promised date = the first estimated delivery date the store observed "
            f"({first:,} shipments); for {current:,} the store kept no earlier estimate and "
            "the current one is used."
        )
    else:
        promise_note = (
            "Promised date: the store keeps no first observed estimate yet, so the current "
            f"estimated delivery date is used for all {current:,} shipments (a slipped "
            "estimate then moves the goalpost)."
        )
    section["intro"] = (
        "On time in full, over decided orders (or lines): every shipment delivered, in full "
        "or closed short. Orders still open are counted apart, never as a success or a "
        "failure. Cancelled orders are excluded from OTIF. " + promise_note
    )
    section["tables"] = [
        _table(levels, "otif", "OTIF by level",
               note="In full = every ordered unit shipped (capped per line). On time = every "
                    "shipment delivered on or before its promised day. Rates = count / "
                    "decided."),
        _table(carrier, "otif_by_carrier", "OTIF by carrier (orders)",
               columns=["carrier", "orders", "open_orders", "decided", "otif", "otif_rate",
                        "in_full_rate", "on_time_rate"],
               note="An order shipped by two carriers counts under each; orders without a "
                    "shipment (blank carrier) are open."),
        _table(perfect, "perfect_order", "Perfect order",
               columns=["orders", "open_orders", "decided", "perfect", "perfect_order_rate",
                        "failed_in_full", "failed_on_time", "cancelled", "backordered"],
               note="Perfect = in full, on time, not cancelled and never backordered (from "
                    "the status history), over decided orders plus cancelled ones. The "
                    "Failed shares are of decided orders; an order can fail several. "
                    "SCOR's documentation and condition checks are not in the API data."),
    ]  # fmt: skip
    return section


def _forecast_section(inputs: ReportInputs) -> dict[str, Any]:
    """The most urgent rows of :func:`vendorkit.stockout_forecast`."""
    from vendorkit import analysis

    section: dict[str, Any] = {"key": "forecast", "title": "Stockout forecast", "tables": []}
    try:
        forecast = analysis.stockout_forecast(
            inputs.inventory, inputs.orders, inputs.order_lines, window_days=WINDOW_DAYS
        )
    except errors.MissingFieldError as exc:
        section["intro"] = f"Not available for this data: {exc}"
        return section
    with_demand = forecast.filter(pl.col("days_to_stockout_p50").is_not_null())
    soon = int((with_demand["days_to_stockout_p90"] < THRESHOLD_DAYS).sum())
    section["intro"] = (
        f"Days until each part × warehouse runs out, from its daily demand over the last "
        f"{WINDOW_DAYS} days. P50 = supply / average daily demand. P90 = the day the 90th "
        "percentile of demand reaches the supply (demand over d days taken as normal with "
        "mean d × average and standard deviation √d × the day-to-day standard deviation): "
        "the stock runs out that early one time in ten. Supply = on hand + on order (stock on "
        "order is taken as available now: the API gives no arrival date)."
    )
    section["tables"] = [
        _table(with_demand, "stockout_forecast",
               f"Runs out first: the {min(_TOP, with_demand.height)} most urgent of "
               f"{with_demand.height:,} with demand",
               limit=_TOP,
               columns=["part_number", "warehouse_id", "quantity_on_hand", "quantity_on_order",
                        "avg_daily_demand", "std_daily_demand", "days_to_stockout_p90",
                        "days_to_stockout_p50", "stockout_date_p90", "stockout_date_p50"],
               note=f"{soon:,} part × warehouse pairs may run out within {THRESHOLD_DAYS:g} "
                    f"days at P90. {forecast.height - with_demand.height:,} had no orders in "
                    "the window: nothing to forecast, not listed.",
               empty="No part had orders in the window."),
    ]  # fmt: skip
    return section


def _rebalance_section(inputs: ReportInputs) -> dict[str, Any]:
    """The most urgent moves of :func:`vendorkit.rebalance_suggestions`."""
    from vendorkit import analysis

    section: dict[str, Any] = {"key": "rebalance", "title": "Rebalance suggestions",
                               "tables": []}  # fmt: skip
    try:
        moves = analysis.rebalance_suggestions(
            inputs.inventory, inputs.orders, inputs.order_lines, target_days=TARGET_DAYS,
            below_days=THRESHOLD_DAYS, window_days=WINDOW_DAYS,
        )  # fmt: skip
    except errors.MissingFieldError as exc:
        section["intro"] = f"Not available for this data: {exc}"
        return section
    shown = moves.sort(
        ["to_days_before", "to_avg_daily_demand", "part_number", "to_warehouse_id",
         "from_warehouse_id"], descending=[False, True, False, False, False],
    )  # fmt: skip
    receivers = moves.select("part_number", "to_warehouse_id").unique().height
    section["intro"] = (
        f"Moves of a part between warehouses: from a warehouse that keeps at least "
        f"{TARGET_DAYS:g} days of supply (and one unit) after the move, to one with fewer "
        f"than {THRESHOLD_DAYS:g} days, topped up to {TARGET_DAYS:g} days. No move creates a "
        f"shortage. Demand = the last {WINDOW_DAYS} days of orders; on hand only."
    )
    section["tables"] = [
        _table(shown, "rebalance",
               f"The {min(_TOP, moves.height)} most urgent of {moves.height:,} moves "
               f"({int(moves['quantity'].sum()):,} units for {receivers:,} part × warehouse "
               "pairs)",
               limit=_TOP,
               columns=["part_number", "from_warehouse_id", "to_warehouse_id", "quantity",
                        "demand_days_covered", "from_days_before", "from_days_after",
                        "to_days_before", "to_days_after"],
               note="Most urgent = the receiver with the fewest days of supply first. Days of "
                    "demand covered = units moved / the receiver's units per day. A blank "
                    "From day count = the donor had no orders in the window.",
               empty="No warehouse has stock to spare for a part another one is short of."),
    ]  # fmt: skip
    return section


# ---------------------------------------------------------------------------- rendering


def render_report(inputs: ReportInputs, *, settings: Settings | None = None) -> str:
    """Render the report for ``inputs`` to an HTML string (see :func:`build_report`).

    Example:
        >>> html = render_report(inputs)  # doctest: +SKIP
        >>> "<svg" in html  # doctest: +SKIP
        True
    """
    import jinja2

    from vendorkit import __version__
    from vendorkit.config import SANDBOX_AS_OF, SANDBOX_SEED

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("vendorkit").joinpath(name).read_text(encoding="utf-8")
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    sandbox = inputs.source == "sandbox"
    return env.get_template(_TEMPLATE).render(
        version=__version__,
        sandbox=sandbox,
        source_label="sandbox data" if sandbox else "Ingram Micro Vendor API",
        sandbox_seed=settings.sandbox_seed if settings else SANDBOX_SEED,
        sandbox_as_of=(settings.sandbox_as_of if settings else SANDBOX_AS_OF).isoformat(),
        as_of=_as_of_text(inputs),
        warnings=[],
        headline=headline_numbers(inputs),
        charts=_charts(inputs),
        sections=_sections(inputs),
        store_name=inputs.store_name,
    )


def build_report(
    settings: Settings | None = None,
    out: str | Path | None = None,
    *,
    inputs: ReportInputs | None = None,
) -> Path:
    """Write the self-contained HTML report and return its path.

    The report reads the store only (run :func:`vendorkit.sync` first): headline numbers
    (units on hand, stockouts, unit/line/order fill rates, median ship lag, on-time share),
    the charts as inline SVG, the worst parts (lowest days of supply), carriers, late
    shipments, resellers and data quality (rejects by reason, freshness, sync log). It loads
    nothing from the network, so it opens offline and can be mailed as one file.

    Args:
        settings: which store to read (default: ``Settings()`` from the environment).
        out: output file (default ``data/report/vendorkit-report.html``); parent
            directories are created.
        inputs: build from these frames instead of the store (tests, notebooks).

    Returns:
        The path of the written file.

    Raises:
        StoreError: the store cannot be read or is empty.

    Example:
        >>> import vendorkit as vk  # doctest: +SKIP
        >>> vk.sync()  # doctest: +SKIP
        >>> build_report(out="report.html").name  # doctest: +SKIP
        'report.html'
    """
    if settings is None:
        from vendorkit.config import Settings

        settings = Settings()
    if inputs is None:
        inputs = ReportInputs.from_store(settings)
    html = render_report(inputs, settings=settings)
    path = Path(out) if out is not None else DEFAULT_REPORT_PATH
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise errors.ConfigError(
            f"cannot write the report to {path}: {exc.strerror}; pass another --out path"
        ) from exc
    return path


# ---------------------------------------------------------------------------- notebooks


def execute_notebooks(
    source_dir: str | Path,
    out_dir: str | Path,
    *,
    timeout_s: int = 300,
    on_done: Callable[[Path, float], None] | None = None,
    kernel_stderr: bool = False,
) -> list[Path]:
    """Execute every ``*.ipynb`` of ``source_dir`` (sorted) into ``out_dir``.

    The curated notebooks are read, never written: the executed copies go to ``out_dir``.
    Each runs with its working directory set to ``source_dir``'s parent (the repository
    root), like ``jupyter nbconvert --execute`` from there.

    Args:
        source_dir: the curated notebooks (``notebooks/``).
        out_dir: where the executed copies go (created); must differ from ``source_dir``.
        timeout_s: per-cell timeout.
        on_done: called with (written path, seconds) after each notebook.
        kernel_stderr: let the kernels write to this process's stderr (their start-up
            chatter); errors inside cells are reported either way.

    Returns:
        The executed notebooks' paths.

    Raises:
        ConfigError: ``out_dir`` is ``source_dir``.
        VendorkitError: a notebook failed (the message names the notebook and the error; the
            partial copy is written for inspection).

    Example:
        >>> execute_notebooks("notebooks", "data/report/notebooks")  # doctest: +SKIP
        [PosixPath('data/report/notebooks/01_quickstart.ipynb'), ...]
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    source = Path(source_dir).resolve()
    target = Path(out_dir).resolve()
    if source == target:
        raise errors.ConfigError(
            f"refusing to execute notebooks in place in {source_dir}: the curated notebooks "
            "are never overwritten; choose another output directory"
        )
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for notebook_path in sorted(source.glob("*.ipynb")):
        started = time.perf_counter()
        nb = nbformat.read(notebook_path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=timeout_s,
            kernel_name="python3",
            resources={"metadata": {"path": str(source.parent)}},
        )
        out_path = target / notebook_path.name
        try:
            client.execute(**({} if kernel_stderr else {"stderr": subprocess.DEVNULL}))
        except CellExecutionError as exc:
            nbformat.write(nb, out_path)
            first = str(exc).strip().splitlines()
            raise errors.VendorkitError(
                f"notebook {notebook_path.name} failed: {first[-1] if first else exc!r}; "
                f"see the partial output in {out_path}"
            ) from exc
        nbformat.write(nb, out_path)
        written.append(out_path)
        if on_done is not None:
            on_done(out_path, time.perf_counter() - started)
    return written
