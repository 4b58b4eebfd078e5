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
    "build_report",
    "execute_notebooks",
    "headline_numbers",
    "render_report",
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
        if "share" in column or "rate" in column:
            return f"{100 * value:.1f}%", True
        return f"{value:,.1f}", True
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M"), False
    if isinstance(value, date):
        return value.isoformat(), False
    if isinstance(value, timedelta):
        hours = value.total_seconds() / 3600
        return (f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"), True
    return str(value), False


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
        [
            dict(zip(("text", "num"), _fmt_cell(v, c), strict=True))
            for v, c in zip(row, cols, strict=True)
        ]
        for row in shown.iter_rows()
    ]
    return {"key": key, "title": title, "columns": cols, "rows": rows, "note": note, "empty": empty}


# ---------------------------------------------------------------------------- numbers


def _first(frame: pl.DataFrame, column: str) -> Any:
    if frame.is_empty() or column not in frame.columns:
        return None
    return frame[column][0]


def headline_numbers(inputs: ReportInputs) -> list[Headline]:
    """The report's headline numbers, computed with the analysis helpers.

    Units on hand and stockouts (latest inventory), the three fill rates (cancelled orders
    excluded), the median order-to-ship lag and the on-time share (delivered on or before
    the estimated delivery day, over delivered-or-overdue shipments).

    Example:
        >>> from vendorkit.sandbox import Sandbox, SandboxConfig  # doctest: +SKIP
        >>> sb = Sandbox(SandboxConfig())  # doctest: +SKIP
        >>> inputs = ReportInputs(**{t: sb.ground_truth(t) for t in ("inventory", "orders",
        ...     "order_lines", "shipments", "shipment_lines")})  # doctest: +SKIP
        >>> [h.key for h in headline_numbers(inputs)][:2]  # doctest: +SKIP
        ['units_on_hand', 'stockouts']
    """
    from vendorkit import analysis

    stock = analysis.stock_by_warehouse(inputs.inventory)
    fill = analysis.order_fill_rates(
        inputs.orders, inputs.order_lines, inputs.shipment_lines, shipments=inputs.shipments
    )
    lag = analysis.shipment_lag(inputs.orders, inputs.shipments)
    carriers = analysis.carrier_performance(inputs.orders, inputs.shipments)
    on_time_share: float | None = None
    if {"on_time", "late"} <= set(carriers.columns):
        on_time, late = int(carriers["on_time"].sum()), int(carriers["late"].sum())
        on_time_share = on_time / (on_time + late) if on_time + late else None
    backlog = analysis.backorder_aging(
        inputs.orders, inputs.order_lines, inputs.shipment_lines, shipments=inputs.shipments
    )
    units_open = int(backlog["units_open"].sum()) if "units_open" in backlog.columns else None

    units = int(stock["units_on_hand"].sum())
    stockouts = int(stock["stockouts"].sum())
    rates = {k: _first(fill, f"{k}_fill_rate") for k in ("unit", "line", "order")}
    p50 = _first(lag, "order_to_ship_days_p50")
    return [
        Headline("units_on_hand", "Units on hand", units, _fmt_int(units),
                 "Sum of quantity on hand over all parts and warehouses (latest snapshot)."),
        Headline("stockouts", "Stockouts", stockouts, _fmt_int(stockouts),
                 "Part × warehouse records with nothing on hand."),
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
    specs: list[tuple[str, str, Callable[[], alt.TopLevelMixin]]] = [
        ("stock_by_warehouse", "Units on hand by warehouse.",
         lambda: charts.stock_by_warehouse_chart(
             analysis.stock_by_warehouse(inputs.inventory), source=source)),
        ("fill_rates", "Unit, line and order fill rate by order month.",
         lambda: charts.fill_rate_chart(
             analysis.order_fill_rates(inputs.orders, inputs.order_lines, inputs.shipment_lines,
                                       period="1mo", shipments=inputs.shipments),
             source=source)),
        ("days_of_supply", "Parts with the fewest days of supply.",
         lambda: charts.days_of_supply_chart(
             analysis.days_of_supply(inputs.inventory, inputs.order_lines, inputs.orders),
             source=source)),
        ("transit_by_carrier", "Transit days by carrier (delivered shipments).",
         lambda: charts.lag_distribution_chart(
             analysis.shipment_lag_detail(inputs.orders, inputs.shipments),
             measure="transit_days", by="carrier", source=source)),
        ("on_time", "On-time share by carrier.",
         lambda: charts.on_time_chart(
             analysis.carrier_performance(inputs.orders, inputs.shipments), source=source)),
        ("backorder_aging", "Open backorder units by age.",
         lambda: charts.backorder_aging_chart(
             analysis.backorder_aging(inputs.orders, inputs.order_lines, inputs.shipment_lines,
                                      shipments=inputs.shipments), source=source)),
        ("resellers", "Cumulative share of units by reseller (Pareto).",
         lambda: charts.reseller_pareto_chart(
             analysis.reseller_concentration(inputs.orders, inputs.order_lines), source=source)),
    ]  # fmt: skip
    charts.use_theme()
    # vl-convert writes the SVG itself (text is escaped there), so it is inlined as markup
    return [
        {"key": key, "caption": caption, "svg": Markup(chart_to_svg(build()))}
        for key, caption, build in specs
    ]


# ---------------------------------------------------------------------------- sections


def _sections(inputs: ReportInputs) -> list[dict[str, Any]]:
    from vendorkit import analysis

    o, ol, s, sl = inputs.orders, inputs.order_lines, inputs.shipments, inputs.shipment_lines
    stock = analysis.stock_by_warehouse(inputs.inventory)
    supply = analysis.days_of_supply(inputs.inventory, ol, o)
    worst = supply.filter(pl.col("days_of_supply").is_not_null()).head(_TOP)
    monthly = analysis.order_fill_rates(o, ol, sl, period="1mo", shipments=s)
    aging = analysis.backorder_aging(o, ol, sl, shipments=s)
    carriers = analysis.carrier_performance(o, s)
    late = analysis.late_shipments(o, s)
    resellers = analysis.reseller_concentration(o, ol)
    concentration = analysis.reseller_concentration(o, ol, summary=True)

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

    return [
        {
            "key": "inventory",
            "title": "Inventory",
            "intro": "Stock per warehouse and the parts closest to running out "
            "(days of supply = units on hand / average daily ordered units over 28 days).",
            "tables": [
                _table(stock, "stock", "Stock by warehouse"),
                _table(worst, "worst_parts", f"Worst {_TOP} parts: lowest days of supply",
                       columns=["part_number", "warehouse_id", "quantity_on_hand",
                                "units_ordered", "avg_daily_demand", "days_of_supply"]),
            ],
        },
        {
            "key": "orders",
            "title": "Orders and fill rates",
            "intro": "Cancelled orders are excluded. Shipped quantities come from shipments, "
            "capped at the ordered quantity.",
            "tables": [
                _table(monthly, "fill_by_month", "Fill rates by order month",
                       columns=["period", "orders", "lines", "units_ordered", "units_shipped",
                                "unit_fill_rate", "line_fill_rate", "order_fill_rate"]),
                _table(aging, "backorder_aging", "Open backorders by age"),
            ],
        },
        {
            "key": "carriers",
            "title": "Shipments and carriers",
            "intro": "On time = delivered on or before the estimated delivery day; undelivered "
            "shipments past that day count as late.",
            "tables": [
                _table(carriers, "carriers", "Carriers"),
                _table(late, "late_shipments", f"Late shipments worth a call (worst {_TOP})",
                       limit=_TOP,
                       columns=["shipment_id", "order_id", "reseller_id", "carrier",
                                "tracking_number", "status", "ship_date",
                                "estimated_delivery_date", "days_late"],
                       empty="No undelivered shipment is past its estimated delivery day."),
            ],
        },
        {
            "key": "resellers",
            "title": "Resellers",
            "intro": "Ordered units per reseller; concentration of demand.",
            "tables": [
                _table(resellers, "top_resellers", "Top resellers by units", limit=_TOP,
                       columns=["rank", "reseller_id", "reseller_name", "orders", "units",
                                "units_share", "cumulative_units_share"]),
                _table(concentration, "concentration", "Concentration"),
            ],
        },
        {"key": "data_quality", "title": "Data quality", "intro": "", "tables": quality},
    ]  # fmt: skip


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
