"""Altair charts over the outputs of :mod:`vendorkit.analysis`.

One function per helper; each takes the helper's output frame and returns an
``alt.Chart`` / ``alt.LayerChart``. Charts aggregate in polars before plotting, so the
embedded data stays small (at most a few thousand rows) whatever the size of the input:
no ``MaxRowsError``. Every chart's title is the question, its one-line subtitle says where
the data comes from (``sandbox data`` / ``Vendor API data``), the as-of time and the metric's
definition.

Arguments shared by every chart function:

* the helper's output frame (``DataFrame`` or ``LazyFrame``), first and positional;
* ``source``: ``"sandbox"`` (subtitle says ``sandbox data``), ``"api"`` (``Vendor API
  data``) or ``None`` (not said);
* ``as_of``: the time the data describes, shown as ``as of YYYY-MM-DD HH:MM UTC``
  (``inventory_trend_chart`` defaults it to the latest snapshot; the others show it only
  when given).

A frame missing a column the chart needs raises :class:`vendorkit.errors.MissingFieldError`
naming the helper whose output it expects.

The ``vendorkit`` theme is registered on import and enabled on first use (the first chart
built switches Altair's active theme to ``vendorkit`` **only** if it is still Altair's
``default``; a theme you enabled yourself is left alone). :func:`use_theme` enables it
explicitly. :func:`save_chart` writes PNG / SVG / HTML / JSON offline (``vl-convert``).

Example:
    >>> import polars as pl
    >>> from vendorkit import charts
    >>> stock = pl.DataFrame({"warehouse_id": ["10", "20"], "units_on_hand": [5, 2]})
    >>> charts.stock_by_warehouse_chart(stock, source="sandbox").to_dict()["mark"]["type"]
    'bar'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import altair as alt
import polars as pl

from vendorkit.analysis import AGE_BUCKETS
from vendorkit.errors import ConfigError, MissingFieldError

__all__ = [
    "MAX_POINTS",
    "THEME_NAME",
    "backorder_aging_chart",
    "carrier_transit_chart",
    "days_of_supply_chart",
    "fill_rate_chart",
    "inventory_trend_chart",
    "lag_distribution_chart",
    "late_shipments_chart",
    "on_time_chart",
    "otif_chart",
    "reseller_pareto_chart",
    "save_chart",
    "stock_by_warehouse_chart",
    "stock_heatmap",
    "stockout_forecast_chart",
    "use_theme",
]

THEME_NAME = "vendorkit"

#: Most rows any chart embeds (series / bars / points are aggregated or thinned to this).
MAX_POINTS = 2000

_PALETTE = ("#1f5f8b", "#e07b39", "#3c9d5d", "#b8424b", "#7b5ea7", "#8c6d46", "#c4569b", "#6b7b8c")
_FONT = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif"


@alt.theme.register(THEME_NAME, enable=False)
def _vendorkit_theme() -> alt.theme.ThemeConfig:
    return {
        "width": 560,
        "height": 300,
        "config": {
            "font": _FONT,
            "background": "white",
            "view": {"stroke": None},
            "title": {
                "anchor": "start",
                "fontSize": 16,
                "fontWeight": 600,
                "subtitleFontSize": 11,
                "subtitleColor": "#555555",
                "offset": 10,
            },
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": 500,
                "gridColor": "#e8e8e8",
                "domainColor": "#888888",
                "tickColor": "#888888",
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "right"},
            "range": {"category": list(_PALETTE)},
            "bar": {"color": _PALETTE[0]},
            "line": {"color": _PALETTE[0], "strokeWidth": 2},
            "point": {"color": _PALETTE[0]},
            "rect": {"color": _PALETTE[0]},
        },
    }


def use_theme() -> None:
    """Enable the ``vendorkit`` Altair theme (registered on import of this module).

    Example:
        >>> use_theme(); alt.theme.active
        'vendorkit'
    """
    alt.theme.enable(THEME_NAME)


def _ensure_theme() -> None:
    if alt.theme.active == "default":
        alt.theme.enable(THEME_NAME)


# --------------------------------------------------------------------------- helpers


def _df(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _need(df: pl.DataFrame, chart: str, helper: str, *columns: str) -> None:
    for column in columns:
        if column not in df.columns:
            raise MissingFieldError(
                f"{chart} needs column {column!r}, which {helper}() returns; pass that "
                f"helper's output frame",
                column=column,
            )


def _source_text(source: str | None) -> str | None:
    if source is None:
        return None
    if source == "sandbox":
        return "sandbox data"
    if source == "api":
        return "Vendor API data"
    raise ConfigError(f"source must be 'sandbox', 'api' or None, not {source!r}")


def _as_of_text(as_of: datetime | None) -> str | None:
    if as_of is None:
        return None
    value = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    return f"as of {value:%Y-%m-%d %H:%M} UTC"


def _max_time(df: pl.DataFrame, *columns: str) -> datetime | None:
    for column in columns:
        if column in df.columns and isinstance(df.schema[column], pl.Datetime):
            value = df[column].max()
            if isinstance(value, datetime):
                return value
    return None


def _title(
    text: str, definition: str, source: str | None, as_of: datetime | None
) -> alt.TitleParams:
    parts = [p for p in (_source_text(source), _as_of_text(as_of), definition) if p]
    return alt.Title(text, subtitle=[" · ".join(parts)])


def _chart(df: pl.DataFrame, title: alt.TitleParams | None) -> alt.Chart:
    """A chart over already-aggregated data (``title=None`` for a layer of a LayerChart)."""
    _ensure_theme()
    if df.height > MAX_POINTS:  # a bug in a chart function, not a user error
        raise ConfigError(f"chart data has {df.height} rows after aggregation (max {MAX_POINTS})")
    return alt.Chart(df) if title is None else alt.Chart(df, title=title)


def _group_column(df: pl.DataFrame, metric_columns: Sequence[str]) -> str | None:
    """The first non-metric, non-numeric column (the helper's ``by`` column), if any."""
    for name, dtype in df.schema.items():
        if name in metric_columns or name == "period":
            continue
        if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
            return name
    return None


def _top_with_other(
    df: pl.DataFrame, key: str, weight: str, keep: int, time: str | None = None
) -> pl.DataFrame:
    """Keep the ``keep`` largest keys by ``weight`` (at the latest ``time``), lump the rest."""
    if df[key].n_unique() <= keep:
        return df
    ranked = df.filter(pl.col(time) == pl.col(time).max()) if time else df
    top = (
        ranked.group_by(key)
        .agg(pl.col(weight).sum())
        .sort([weight, key], descending=[True, False])
        .head(keep)[key]
    )
    return df.with_columns(
        pl.when(pl.col(key).is_in(top.implode()))
        .then(pl.col(key).cast(pl.String))
        .otherwise(pl.lit("other"))
        .alias(key)
    )


# --------------------------------------------------------------------------- inventory


def stock_by_warehouse_chart(
    stock: pl.DataFrame | pl.LazyFrame,
    *,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart:
    """Units on hand by warehouse, as horizontal bars (from :func:`stock_by_warehouse`).

    Example:
        >>> stock = pl.DataFrame({"warehouse_id": ["10", "20"], "units_on_hand": [5, 2]})
        >>> stock_by_warehouse_chart(stock).to_dict()["encoding"]["x"]["field"]
        'units_on_hand'
    """
    df = _df(stock)
    _need(df, "stock_by_warehouse_chart", "stock_by_warehouse", "warehouse_id", "units_on_hand")
    label = (
        pl.concat_str(
            pl.col("warehouse_id"),
            pl.lit(" "),
            pl.col("warehouse_name").fill_null(""),
        ).str.strip_chars()
        if "warehouse_name" in df.columns
        else pl.col("warehouse_id").cast(pl.String)
    )
    keep = [c for c in ("parts_in_stock", "stockouts") if c in df.columns]
    data = df.select(label.alias("warehouse"), "units_on_hand", *keep)
    tooltip = ["warehouse:N", alt.Tooltip("units_on_hand:Q", format=",")] + [
        alt.Tooltip(f"{c}:Q", format=",") for c in keep
    ]
    title = _title(
        "Where is the stock?",
        "units on hand = sum of quantity_on_hand per warehouse",
        source,
        as_of,
    )
    return (
        _chart(data, title)
        .mark_bar()
        .encode(
            x=alt.X("units_on_hand:Q", title="units on hand"),
            y=alt.Y("warehouse:N", sort="-x", title="warehouse"),
            tooltip=tooltip,
        )
    )


def _family_rule(
    parts: pl.Series, family_chars: int | None, separator: str, max_families: int
) -> tuple[pl.Expr, str]:
    """The part-family expression and its one-line description.

    Part numbers containing ``separator`` use the part before it. The others use their
    first ``family_chars`` characters; by default the longest prefix (4 down to 1
    characters) that gives at most ``max_families`` families.
    """
    part = pl.col("part_number").cast(pl.String)
    has_sep = part.str.contains(separator, literal=True) if separator else pl.lit(False)
    plain = parts.filter(~parts.str.contains(separator, literal=True)) if separator else parts
    k = family_chars
    if k is None:
        k = 1
        for length in (4, 3, 2):
            if plain.str.slice(0, length).n_unique() <= max_families:
                k = length
                break
    expr = (
        pl.when(has_sep)
        .then(part.str.split(separator).list.first())
        .otherwise(part.str.slice(0, k))
    )
    chars = f"first {k} characters" if k > 1 else "first character"
    chars += " of the part number"
    if separator and plain.len() < parts.len():
        return expr, f"family = part number up to '{separator}' (else its {chars})"
    return expr, f"family = {chars}"


def stock_heatmap(
    matrix: pl.DataFrame | pl.LazyFrame,
    *,
    family_chars: int | None = None,
    separator: str = "-",
    max_families: int = 40,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart:
    """Heat map of units on hand, part family × warehouse.

    Takes ``stock_by_warehouse(inventory, matrix=True)`` (one column per warehouse) or an
    inventory frame (``part_number, warehouse_id, quantity_on_hand``). A part family is the
    part number up to the first ``separator``; part numbers without one use their first
    ``family_chars`` characters (default: the longest prefix of 4 down to 1 characters giving
    at most ``max_families`` families). Beyond ``max_families`` the families with the most
    units are shown and the rest summed as ``other`` (last row).

    Example:
        >>> m = pl.DataFrame({"part_number": ["AB-1", "AB-2", "CD-1"], "10": [1, 2, None], "20": [0, 5, 3]})
        >>> stock_heatmap(m).to_dict()["mark"]["type"]
        'rect'
    """
    df = _df(matrix)
    _need(df, "stock_heatmap", "stock_by_warehouse(matrix=True)", "part_number")
    if {"warehouse_id", "quantity_on_hand"} <= set(df.columns):
        long = df.select("part_number", "warehouse_id", "quantity_on_hand")
    else:
        warehouses = [c for c in df.columns if c != "part_number"]
        long = df.unpivot(
            index="part_number",
            on=warehouses,
            variable_name="warehouse_id",
            value_name="quantity_on_hand",
        )
    long = long.drop_nulls("quantity_on_hand")
    family, rule = _family_rule(
        long["part_number"].cast(pl.String).unique(), family_chars, separator, max_families
    )
    data = (
        long.with_columns(family.alias("family"))
        .group_by("family", "warehouse_id")
        .agg(pl.col("quantity_on_hand").sum().alias("units_on_hand"), pl.len().alias("parts"))
    )
    data = _top_with_other(data, "family", "units_on_hand", max_families)
    data = (
        data.group_by("family", "warehouse_id")
        .agg(pl.col("units_on_hand").sum(), pl.col("parts").sum())
        .sort(pl.col("family") == "other", "family", "warehouse_id")
    )
    families = data["family"].unique(maintain_order=True).to_list()
    title = _title(
        "Stock by part family and warehouse",
        f"cell = sum of quantity_on_hand; {rule}",
        source,
        as_of,
    )
    return (
        _chart(data, title)
        .mark_rect()
        .encode(
            x=alt.X("warehouse_id:N", title="warehouse"),
            y=alt.Y("family:N", title="part family", sort=families),
            color=alt.Color("units_on_hand:Q", title="units", scale=alt.Scale(scheme="blues")),
            tooltip=[
                "family:N",
                "warehouse_id:N",
                alt.Tooltip("units_on_hand:Q", format=","),
                alt.Tooltip("parts:Q", format=","),
            ],
        )
    )


def inventory_trend_chart(
    trend: pl.DataFrame | pl.LazyFrame,
    *,
    max_series: int = 10,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart:
    """Units on hand over time, one line per group (from :func:`inventory_trend`).

    Groups beyond the ``max_series`` largest (at the last period) are summed as ``other``.
    ``as_of`` defaults to the latest snapshot shown.

    Example:
        >>> from datetime import datetime, UTC
        >>> t = pl.DataFrame({"period": [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2)],
        ...                   "warehouse_id": ["10", "10"], "units_on_hand": [7, 1]})
        >>> inventory_trend_chart(t).to_dict()["encoding"]["color"]["field"]
        'warehouse_id'
    """
    df = _df(trend)
    _need(df, "inventory_trend_chart", "inventory_trend", "period", "units_on_hand")
    group = _group_column(df, ("units_on_hand", "parts_in_stock", "stockouts"))
    if group is None:
        data = df.group_by("period").agg(pl.col("units_on_hand").sum())
    else:
        data = _top_with_other(df, group, "units_on_hand", max_series, time="period")
        data = data.group_by("period", group).agg(pl.col("units_on_hand").sum())
    data = data.sort("period")
    as_of = as_of or _max_time(df, "snapshot_at", "period")
    title = _title(
        "Units on hand over time",
        "latest snapshot in each period, sum of quantity_on_hand",
        source,
        as_of,
    )
    encoding: dict[str, Any] = {
        "x": alt.X("period:T", title="period"),
        "y": alt.Y("units_on_hand:Q", title="units on hand"),
        "tooltip": ["period:T", alt.Tooltip("units_on_hand:Q", format=",")],
    }
    if group is not None:
        encoding["color"] = alt.Color(f"{group}:N", title=group.replace("_", " "))
        encoding["tooltip"].insert(0, f"{group}:N")
    return _chart(data, title).mark_line(point=True).encode(**encoding)


def days_of_supply_chart(
    supply: pl.DataFrame | pl.LazyFrame,
    *,
    top: int = 30,
    threshold_days: float | None = 14.0,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.LayerChart:
    """The ``top`` parts with the fewest days of supply, as bars (from :func:`days_of_supply`).

    Parts without demand (null days of supply) are not shown. Each bar is labelled with its
    value (a 0-day bar is still visible as "0.0"). With ``threshold_days`` a dashed rule
    marks the threshold and bars below it are coloured.

    Example:
        >>> s = pl.DataFrame({"part_number": ["A", "B"], "days_of_supply": [3.0, 40.0],
        ...                   "below_threshold": [True, False]})
        >>> [layer["mark"]["type"] for layer in days_of_supply_chart(s).to_dict()["layer"]]
        ['bar', 'text', 'rule']
    """
    df = _df(supply)
    _need(df, "days_of_supply_chart", "days_of_supply", "part_number", "days_of_supply")
    label = (
        pl.concat_str(pl.col("part_number"), pl.lit(" @ "), pl.col("warehouse_id"))
        if "warehouse_id" in df.columns
        else pl.col("part_number")
    )
    data = (
        df.drop_nulls("days_of_supply")
        .sort("days_of_supply")
        .head(top)
        .select(
            label.alias("item"),
            "days_of_supply",
            (
                (pl.col("days_of_supply") < threshold_days)
                if threshold_days is not None
                else pl.lit(False)
            ).alias("below_threshold"),
        )
    )
    below = ""
    if threshold_days is not None:
        n_below = int((df["days_of_supply"] < threshold_days).sum())
        below = f"; {n_below:,} of {df.height:,} below {threshold_days:g} days"
    title = _title(
        f"Lowest days of supply (top {top})",
        f"days of supply = on hand / average daily units ordered in the window{below}",
        source,
        as_of,
    )
    bars = (
        _chart(data, None)
        .mark_bar()
        .encode(
            x=alt.X("days_of_supply:Q", title="days of supply"),
            y=alt.Y("item:N", sort="x", title=None),
            color=alt.Color(
                "below_threshold:N",
                title="below threshold",
                scale=alt.Scale(domain=[True, False], range=[_PALETTE[3], _PALETTE[0]]),
            ),
            tooltip=["item:N", alt.Tooltip("days_of_supply:Q", format=".1f")],
        )
    )
    labels = (
        _chart(data, None)
        .mark_text(align="left", dx=3, fontSize=10, color="#333333")
        .encode(
            x="days_of_supply:Q",
            y=alt.Y("item:N", sort="x"),
            text=alt.Text("days_of_supply:Q", format=".1f"),
        )
    )
    layers: list[Any] = [bars, labels]
    if threshold_days is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"threshold_days": [float(threshold_days)]}))
            .mark_rule(strokeDash=[4, 3], color="#333333")
            .encode(x="threshold_days:Q")
        )
    return alt.LayerChart(layer=layers, title=title)


def stockout_forecast_chart(
    forecast: pl.DataFrame | pl.LazyFrame,
    *,
    top: int = 20,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.LayerChart:
    """The ``top`` most urgent parts: days until stockout, P90 to P50 (from :func:`stockout_forecast`).

    One row per part × warehouse with demand, most urgent (fewest P90 days) first: a bar from
    the pessimistic P90 days to the median P50 days, a point at P50 labelled with its value.
    A part out of stock now is a point at 0.

    Example:
        >>> f = pl.DataFrame({"part_number": ["A", "B"], "warehouse_id": ["10", "20"],
        ...     "days_to_stockout_p50": [6.0, 2.0], "days_to_stockout_p90": [3.1, 2.0]})
        >>> [layer["mark"]["type"] for layer in stockout_forecast_chart(f).to_dict()["layer"]]
        ['bar', 'point', 'text']
    """
    df = _df(forecast)
    _need(
        df,
        "stockout_forecast_chart",
        "stockout_forecast",
        "part_number",
        "days_to_stockout_p50",
        "days_to_stockout_p90",
    )
    label = (
        pl.concat_str(pl.col("part_number"), pl.lit(" @ "), pl.col("warehouse_id"))
        if "warehouse_id" in df.columns
        else pl.col("part_number")
    )
    keep = [c for c in ("supply_units", "avg_daily_demand") if c in df.columns]
    data = (
        df.drop_nulls("days_to_stockout_p50")
        .sort("days_to_stockout_p90", "days_to_stockout_p50", "part_number")
        .head(top)
        .select(label.alias("item"), "days_to_stockout_p90", "days_to_stockout_p50", *keep)
    )
    order = data["item"].to_list()
    with_demand = df["days_to_stockout_p50"].drop_nulls().len()
    title = _title(
        f"When will stock run out? The {data.height} most urgent of {with_demand:,}",
        "days until stockout from trailing daily demand; bar from P90 (1 time in 10 this "
        "early) to P50 (median), point and label at P50",
        source,
        as_of,
    )
    tooltip: list[Any] = [
        "item:N",
        alt.Tooltip("days_to_stockout_p90:Q", format=".1f", title="P90 days"),
        alt.Tooltip("days_to_stockout_p50:Q", format=".1f", title="P50 days"),
        *[alt.Tooltip(f"{c}:Q", format=",.1f") for c in keep],
    ]
    base = _chart(data, None).encode(y=alt.Y("item:N", sort=order, title=None), tooltip=tooltip)
    span = base.mark_bar(height=8, color=_PALETTE[3], opacity=0.55).encode(
        x=alt.X("days_to_stockout_p90:Q", title="days until stockout"),
        x2="days_to_stockout_p50:Q",
    )
    point = base.mark_point(filled=True, size=50, color=_PALETTE[0]).encode(
        x="days_to_stockout_p50:Q"
    )
    text = base.mark_text(align="left", dx=6, fontSize=10, color="#333333").encode(
        x="days_to_stockout_p50:Q", text=alt.Text("days_to_stockout_p50:Q", format=".1f")
    )
    return alt.LayerChart(layer=[span, point, text], title=title)


# --------------------------------------------------------------------------- orders

_RATES: Mapping[str, str] = MappingProxyType(
    {
        "unit_fill_rate": "unit fill rate",
        "line_fill_rate": "line fill rate",
        "order_fill_rate": "order fill rate",
    }
)


def _period_every(periods: pl.Series) -> str:
    """The bucket width of sorted period starts: ``1mo`` when all are month starts."""
    values = periods.drop_nulls().unique().sort()
    if values.len() == 0 or bool((values.dt.day() == 1).all() and (values.dt.hour() == 0).all()):
        return "1mo"
    if values.len() == 1:
        return "1d"
    gap = (values[1] - values[0]).total_seconds()  # type: ignore[union-attr]
    return f"{max(1, round(gap))}s"


def fill_rate_chart(
    rates: pl.DataFrame | pl.LazyFrame,
    *,
    min_orders: int = 30,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart | alt.LayerChart:
    """The three fill rates by period as lines (from :func:`order_fill_rates` with ``period``).

    One x tick per period, under its points. Incomplete periods are drawn as hollow points
    and named in the subtitle: a period with fewer than ``min_orders`` orders (when the
    frame has ``orders``), or one that had not ended at ``as_of`` (the month still running
    when the data was taken). Without a ``period`` column the rates are drawn as grouped bars
    per group (the ``by`` column), or as three bars overall. The subtitle shows ``as_of``
    when given (the period starts say nothing about when the data was taken).

    Example:
        >>> from datetime import datetime, UTC
        >>> r = pl.DataFrame({"period": [datetime(2026, 1, 1, tzinfo=UTC)], "unit_fill_rate": [0.9],
        ...                   "line_fill_rate": [0.8], "order_fill_rate": [0.7], "orders": [40]})
        >>> [layer["mark"]["type"] for layer in fill_rate_chart(r).to_dict()["layer"]]
        ['line', 'point', 'point']
    """
    df = _df(rates)
    _need(df, "fill_rate_chart", "order_fill_rates", *_RATES)
    group = _group_column(df, (*_RATES, "orders", "lines", "units_ordered", "units_shipped"))
    index = [c for c in ("period", group) if c is not None and c in df.columns]
    if group is not None:
        df = _top_with_other_rates(df, group)
    definition = "unit = shipped (capped) / ordered units; line, order = share shipped in full"
    incomplete_note = ""
    if "period" in index:
        every = _period_every(df["period"])
        end = pl.col("period").dt.offset_by(every)
        small = (pl.col("orders") < min_orders) if "orders" in df.columns else pl.lit(False)
        partial = (
            end > pl.lit(as_of).cast(df.schema["period"]) if as_of is not None else pl.lit(False)
        )
        df = df.with_columns(
            (small | partial).fill_null(False).alias("incomplete"),
            pl.when(partial)
            .then(pl.lit("period not over at as-of"))
            .when(small)
            .then(pl.lit(f"fewer than {min_orders} orders"))
            .otherwise(pl.lit(""))
            .alias("why_incomplete"),
        )
        index += ["incomplete", "why_incomplete"]
        flagged = df.filter(pl.col("incomplete"))["period"].unique().sort()
        if flagged.len():
            fmt = "%b %Y" if every == "1mo" else "%Y-%m-%d"
            names = ", ".join(v.strftime(fmt) for v in flagged.to_list())
            incomplete_note = f"hollow = incomplete period: {names}"
    long = df.unpivot(index=index, on=list(_RATES), variable_name="metric", value_name="rate")
    long = long.with_columns(pl.col("metric").replace_strict(dict(_RATES)))
    title = _title(
        "Are we filling orders?",
        "; ".join(p for p in (definition, incomplete_note) if p),
        source,
        as_of,
    )
    y = alt.Y("rate:Q", title="fill rate", axis=alt.Axis(format="%"))
    tooltip: list[Any] = [
        *[f"{c}:N" if c != "period" else "period:T" for c in index if c != "incomplete"],
        "metric:N",
    ]
    tooltip.append(alt.Tooltip("rate:Q", format=".1%"))
    metric_color = alt.Color("metric:N", title=None, sort=list(_RATES.values()))
    if "period" in index:
        monthly = _period_every(df["period"]) == "1mo"
        x = alt.X(
            "period:O",
            timeUnit="utcyearmonth" if monthly else "utcyearmonthdate",
            title="order month" if monthly else "order period",
            axis=alt.Axis(labelAngle=-40, format="%b %Y" if monthly else "%Y-%m-%d"),
        )
        encoding: dict[str, Any] = {
            "x": x,
            "y": alt.Y(
                "rate:Q", title="fill rate", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)
            ),
            "color": metric_color,
            "tooltip": tooltip,
        }
        if group is not None:
            encoding["strokeDash"] = alt.StrokeDash(f"{group}:N")
        base = _chart(long, None).encode(**encoding)
        line = base.mark_line()
        full = base.mark_point(filled=True, size=40).transform_filter("!datum.incomplete")
        hollow = base.mark_point(filled=False, size=70, strokeWidth=2).transform_filter(
            "datum.incomplete"
        )
        return alt.LayerChart(layer=[line, full, hollow], title=title)
    if group is not None:
        return (
            _chart(long, title)
            .mark_bar()
            .encode(
                x=alt.X(f"{group}:N", title=group.replace("_", " ")),
                xOffset=alt.XOffset("metric:N", sort=list(_RATES.values())),
                y=y,
                color=metric_color,
                tooltip=tooltip,
            )
        )
    return (
        _chart(long, title)
        .mark_bar()
        .encode(x=alt.X("metric:N", title=None, sort=list(_RATES.values())), y=y, tooltip=tooltip)
    )


def _top_with_other_rates(df: pl.DataFrame, group: str, keep: int = 12) -> pl.DataFrame:
    """Rates cannot be summed: recompute them for the lumped ``other`` group."""
    if df[group].n_unique() <= keep or not {"units_ordered", "orders", "lines"} <= set(df.columns):
        return df
    top = (
        df.group_by(group)
        .agg(pl.col("units_ordered").sum())
        .sort(["units_ordered", group], descending=[True, False])
        .head(keep)[group]
    )
    keys = [c for c in ("period",) if c in df.columns]
    lumped = df.with_columns(
        pl.when(pl.col(group).is_in(top.implode()))
        .then(pl.col(group).cast(pl.String))
        .otherwise(pl.lit("other"))
        .alias(group)
    )
    return lumped.group_by(*keys, group).agg(
        (
            (pl.col("unit_fill_rate") * pl.col("units_ordered")).sum()
            / pl.col("units_ordered").sum()
        ).alias("unit_fill_rate"),
        ((pl.col("line_fill_rate") * pl.col("lines")).sum() / pl.col("lines").sum()).alias(
            "line_fill_rate"
        ),
        ((pl.col("order_fill_rate") * pl.col("orders")).sum() / pl.col("orders").sum()).alias(
            "order_fill_rate"
        ),
        pl.col("units_ordered").sum(),
        pl.col("lines").sum(),
        pl.col("orders").sum(),
    )


def reseller_pareto_chart(
    concentration: pl.DataFrame | pl.LazyFrame,
    *,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.LayerChart:
    """Pareto curve: cumulative share of units against cumulative share of resellers.

    From :func:`reseller_concentration`. Long tables are thinned to at most 1,000 evenly
    spaced points (first and last always kept); a dashed rule marks 80 % of units.

    Example:
        >>> c = pl.DataFrame({"reseller_id": ["r1", "r2"], "rank": [1, 2],
        ...                   "cumulative_units_share": [0.75, 1.0],
        ...                   "reseller_share_cumulative": [0.5, 1.0]})
        >>> [l["mark"]["type"] for l in reseller_pareto_chart(c).to_dict()["layer"]]
        ['line', 'rule']
    """
    df = _df(concentration)
    _need(
        df,
        "reseller_pareto_chart",
        "reseller_concentration",
        "reseller_id",
        "rank",
        "cumulative_units_share",
        "reseller_share_cumulative",
    )
    n = df.height
    step = max(1, math.ceil(n / 1000))
    data = (
        df.sort("rank")
        .filter(((pl.col("rank") - 1) % step == 0) | (pl.col("rank") == n))
        .select("rank", "reseller_id", "reseller_share_cumulative", "cumulative_units_share")
    )
    data = pl.concat(
        [
            pl.DataFrame(
                {
                    "rank": [0],
                    "reseller_id": [None],
                    "reseller_share_cumulative": [0.0],
                    "cumulative_units_share": [0.0],
                },
                schema=data.schema,
            ),
            data,
        ]
    )
    title = _title(
        "How concentrated are orders among resellers?",
        f"resellers ranked by units ordered ({n} resellers); cumulative share of units",
        source,
        as_of,
    )
    line = (
        _chart(data, None)
        .mark_line(point=n <= 50)
        .encode(
            x=alt.X(
                "reseller_share_cumulative:Q", title="share of resellers", axis=alt.Axis(format="%")
            ),
            y=alt.Y("cumulative_units_share:Q", title="share of units", axis=alt.Axis(format="%")),
            tooltip=[
                "rank:Q",
                "reseller_id:N",
                alt.Tooltip("cumulative_units_share:Q", format=".1%"),
            ],
        )
    )
    rule = (
        alt.Chart(pl.DataFrame({"share": [0.8]}))
        .mark_rule(strokeDash=[4, 3], color="#888888")
        .encode(y="share:Q")
    )
    return alt.LayerChart(layer=[line, rule], title=title)


def backorder_aging_chart(
    aging: pl.DataFrame | pl.LazyFrame,
    *,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart:
    """Open (unshipped) units by age bucket, as bars (from :func:`backorder_aging`).

    Example:
        >>> a = pl.DataFrame({"age_bucket": ["0-7", "8-14", "15-30", "31+"], "units_open": [5, 0, 2, 1]})
        >>> backorder_aging_chart(a).to_dict()["encoding"]["x"]["sort"]
        ['0-7', '8-14', '15-30', '31+']
    """
    df = _df(aging)
    _need(df, "backorder_aging_chart", "backorder_aging", "age_bucket", "units_open")
    if "age_days" in df.columns:  # the detail frame: aggregate it
        df = df.group_by("age_bucket").agg(
            pl.col("quantity_open").sum().alias("units_open"),
            pl.len().alias("lines"),
        )
    keep = [c for c in ("lines", "orders") if c in df.columns]
    data = df.select(pl.col("age_bucket").cast(pl.String), "units_open", *keep)
    title = _title(
        "How old is the open quantity?",
        "open = ordered - shipped (capped) per line; age = days since order date",
        source,
        as_of,
    )
    return (
        _chart(data, title)
        .mark_bar()
        .encode(
            x=alt.X(
                "age_bucket:N",
                sort=list(AGE_BUCKETS),
                axis=alt.Axis(labelAngle=0),
                title="age (days)",
            ),
            y=alt.Y("units_open:Q", title="open units"),
            tooltip=["age_bucket:N", alt.Tooltip("units_open:Q", format=","), *keep],
        )
    )


# --------------------------------------------------------------------------- shipments

_MEASURES: Mapping[str, str] = MappingProxyType(
    {"order_to_ship_days": "order to ship", "transit_days": "transit"}
)
_BOX_QUANTILES = (5, 25, 50, 75, 95)


def lag_distribution_chart(
    lags: pl.DataFrame | pl.LazyFrame,
    *,
    measure: str | None = None,
    by: str = "carrier",
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.LayerChart:
    """Box plots of shipment lags per carrier (or group), drawn from pre-aggregated quantiles.

    Takes :func:`shipment_lag` output (the per-group ``*_p5 ... *_p95`` columns) or
    :func:`shipment_lag_detail` output (per shipment; its quantiles are computed here in
    polars). Either way one row per group and measure is embedded, whatever the number of
    shipments. Drawn as a rule (p5–p95 whiskers), a bar (p25–p75 box) and a tick (median);
    ``measure=None`` shows both ``order_to_ship_days`` and ``transit_days`` side by side
    (colour), or pick one. A frame without the ``by`` column is drawn as one group, ``all``.

    Example:
        >>> d = pl.DataFrame({"carrier": ["UPS", "UPS", "FedEx"], "transit_days": [1.0, 3.0, 2.0],
        ...                   "order_to_ship_days": [0.5, 1.0, 2.0]})
        >>> [l["mark"]["type"] for l in lag_distribution_chart(d).to_dict()["layer"]]
        ['rule', 'bar', 'tick']
    """
    if measure is not None and measure not in _MEASURES:
        raise ConfigError(f"measure must be one of {', '.join(_MEASURES)} or None, not {measure!r}")
    measures = [measure] if measure else list(_MEASURES)
    df = _df(lags)
    if by not in df.columns:
        df = df.with_columns(pl.lit("all").alias(by))
    parts = []
    for m in measures:
        if f"{m}_p50" in df.columns:  # shipment_lag summary
            _need(
                df,
                "lag_distribution_chart",
                "shipment_lag",
                *[f"{m}_p{q}" for q in _BOX_QUANTILES],
                f"{m}_count",
            )
            part = df.select(
                pl.col(by).cast(pl.String),
                pl.col(f"{m}_count").cast(pl.Int64).alias("shipments"),
                *[pl.col(f"{m}_p{q}").cast(pl.Float64).alias(f"p{q}") for q in _BOX_QUANTILES],
            )
        else:
            _need(df, "lag_distribution_chart", "shipment_lag or shipment_lag_detail", m)
            part = (
                df.drop_nulls(m)
                .group_by(pl.col(by).cast(pl.String))
                .agg(
                    pl.len().cast(pl.Int64).alias("shipments"),
                    *[
                        pl.col(m).quantile(q / 100, interpolation="linear").alias(f"p{q}")
                        for q in _BOX_QUANTILES
                    ],
                )
            )
        parts.append(part.with_columns(pl.lit(_MEASURES[m]).alias("measure")))
    data = pl.concat(parts).filter(pl.col("shipments") > 0).sort(by, "measure", nulls_last=True)
    definition = "; ".join(
        {
            "order_to_ship_days": "order to ship = ship date - order date",
            "transit_days": "transit = delivered - ship date",
        }[m]
        for m in measures
    )
    label = " and ".join(_MEASURES[m] for m in measures)
    title = _title(
        f"{label.capitalize()} days by {by.replace('_', ' ')}",
        f"{definition}; box p25–p75, tick median, whiskers p5–p95",
        source,
        as_of,
    )
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{by}:N", title=by.replace("_", " ")),
        "tooltip": [f"{by}:N", "measure:N", "shipments:Q"]
        + [alt.Tooltip(f"p{q}:Q", format=".2f") for q in _BOX_QUANTILES],
    }
    if len(measures) > 1:
        encoding["yOffset"] = alt.YOffset("measure:N", sort=list(_MEASURES.values()))
        encoding["color"] = alt.Color("measure:N", title=None, sort=list(_MEASURES.values()))
    base = _chart(data, None).encode(**encoding)
    whiskers = base.mark_rule().encode(x=alt.X("p5:Q", title="days"), x2="p95:Q")
    box = base.mark_bar(size=10).encode(x="p25:Q", x2="p75:Q")
    median = base.mark_tick(color="white", thickness=2, size=10).encode(x="p50:Q")
    return alt.LayerChart(layer=[whiskers, box, median], title=title)


def on_time_chart(
    performance: pl.DataFrame | pl.LazyFrame,
    *,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart:
    """On-time share by carrier (or group), as bars (from :func:`carrier_performance` or
    :func:`shipment_lag` with ``promise_days`` and ``by``).

    Example:
        >>> p = pl.DataFrame({"carrier": ["UPS", "FedEx"], "on_time_share": [0.9, 0.8],
        ...                   "shipments": [10, 5]})
        >>> on_time_chart(p).to_dict()["encoding"]["x"]["field"]
        'on_time_share'
    """
    df = _df(performance)
    _need(df, "on_time_chart", "carrier_performance", "on_time_share")
    group = _group_column(df, ("on_time_share",)) or "carrier"
    _need(df, "on_time_chart", "carrier_performance", group)
    keep = [c for c in ("shipments", "on_time", "late") if c in df.columns]
    data = df.select(group, "on_time_share", *keep).head(MAX_POINTS)
    title = _title(
        f"On-time share by {group.replace('_', ' ')}",
        "on time = delivered on or before the estimated delivery date; late includes "
        "undelivered past it",
        source,
        as_of,
    )
    return (
        _chart(data, title)
        .mark_bar()
        .encode(
            x=alt.X(
                "on_time_share:Q",
                title="on-time share",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y(f"{group}:N", sort="-x", title=group.replace("_", " ")),
            tooltip=[f"{group}:N", alt.Tooltip("on_time_share:Q", format=".1%"), *keep],
        )
    )


def carrier_transit_chart(
    performance: pl.DataFrame | pl.LazyFrame,
    *,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.LayerChart:
    """Median and p90 transit days per carrier (from :func:`carrier_performance`).

    Example:
        >>> p = pl.DataFrame({"carrier": ["UPS"], "transit_days_p50": [2.0], "transit_days_p90": [4.0]})
        >>> [l["mark"]["type"] for l in carrier_transit_chart(p).to_dict()["layer"]]
        ['rule', 'point']
    """
    df = _df(performance)
    _need(
        df,
        "carrier_transit_chart",
        "carrier_performance",
        "carrier",
        "transit_days_p50",
        "transit_days_p90",
    )
    data = df.select("carrier", "transit_days_p50", "transit_days_p90").head(MAX_POINTS)
    title = _title(
        "Transit time by carrier",
        "transit = delivered - ship date (days); point median, line to p90",
        source,
        as_of,
    )
    base = _chart(data, None).encode(y=alt.Y("carrier:N", title="carrier"))
    span = base.mark_rule().encode(
        x=alt.X("transit_days_p50:Q", title="transit (days)"), x2="transit_days_p90:Q"
    )
    point = base.mark_point(filled=True, size=60).encode(
        x="transit_days_p50:Q",
        tooltip=[
            "carrier:N",
            alt.Tooltip("transit_days_p50:Q", format=".2f"),
            alt.Tooltip("transit_days_p90:Q", format=".2f"),
        ],
    )
    return alt.LayerChart(layer=[span, point], title=title)


def late_shipments_chart(
    late: pl.DataFrame | pl.LazyFrame,
    *,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart:
    """Late (undelivered, past estimate) shipments by carrier and days late bucket.

    From :func:`late_shipments`; counted per carrier and whole days late (1, 2, ..., 10+).

    Example:
        >>> l = pl.DataFrame({"carrier": ["UPS", "UPS"], "days_late": [1.5, 12.0]})
        >>> late_shipments_chart(l).to_dict()["mark"]["type"]
        'bar'
    """
    df = _df(late)
    _need(df, "late_shipments_chart", "late_shipments", "carrier", "days_late")
    bucket = (
        pl.when(pl.col("days_late") >= 10)
        .then(pl.lit("10+"))
        .otherwise(pl.col("days_late").floor().cast(pl.Int64).clip(1).cast(pl.String))
    )
    data = (
        df.with_columns(bucket.alias("days_late_bucket"))
        .group_by("carrier", "days_late_bucket")
        .agg(pl.len().alias("shipments"))
        .sort("carrier", "days_late_bucket", nulls_last=True)
    )
    order = [str(i) for i in range(1, 10)] + ["10+"]
    stacks = data.group_by("days_late_bucket").agg(pl.col("shipments").sum())["shipments"]
    tallest = int(stacks.max()) if stacks.len() else 0  # type: ignore[arg-type]
    # whole shipments: integer ticks (small counts would otherwise get 0.5 steps)
    y_axis = (
        alt.Axis(values=list(range(tallest + 1)), format="d")
        if tallest <= 10
        else alt.Axis(format=",d")
    )
    title = _title(
        "Late shipments worth a call",
        "undelivered shipments past their estimated delivery date; days late at as-of",
        source,
        as_of,
    )
    return (
        _chart(data, title)
        .mark_bar()
        .encode(
            x=alt.X(
                "days_late_bucket:N",
                sort=order,
                scale=alt.Scale(domain=order),
                axis=alt.Axis(labelAngle=0),
                title="whole days late",
            ),
            y=alt.Y("shipments:Q", title="shipments", axis=y_axis),
            color=alt.Color("carrier:N", title="carrier"),
            tooltip=["carrier:N", "days_late_bucket:N", "shipments:Q"],
        )
    )


_OTIF_RATES: Mapping[str, str] = MappingProxyType(
    {"otif_rate": "on time in full", "in_full_rate": "in full", "on_time_rate": "on time"}
)


def otif_chart(
    rates: pl.DataFrame | pl.LazyFrame,
    *,
    min_decided: int = 30,
    source: str | None = None,
    as_of: datetime | None = None,
) -> alt.Chart | alt.LayerChart:
    """OTIF, in-full and on-time rates by period (from :func:`otif` with ``period``).

    Lines per rate, one x tick per period. A period with fewer than ``min_decided`` decided
    units is drawn hollow and named in the subtitle (open units are never in the rates).
    Without a ``period`` column: the three rates as bars per group (the ``by`` column), or
    overall.

    Example:
        >>> from datetime import datetime, UTC
        >>> r = pl.DataFrame({"period": [datetime(2026, 1, 1, tzinfo=UTC)], "decided": [40],
        ...     "otif_rate": [0.7], "in_full_rate": [0.9], "on_time_rate": [0.8]})
        >>> [layer["mark"]["type"] for layer in otif_chart(r).to_dict()["layer"]]
        ['line', 'point', 'point']
    """
    df = _df(rates)
    _need(df, "otif_chart", "otif", *_OTIF_RATES, "decided")
    counts = ("decided", "orders", "lines", "open_orders", "open_lines", "in_full", "on_time")
    group = _group_column(df, (*_OTIF_RATES, *counts, "otif"))
    unit = "lines" if "lines" in df.columns else "orders"
    definition = (
        f"over decided {unit} (all shipments delivered; open {unit} left out); on time = "
        "delivered by the promised day; in full = every unit ordered shipped"
    )
    index = [c for c in ("period", group) if c is not None and c in df.columns]
    note = ""
    if "period" in df.columns:
        df = df.with_columns((pl.col("decided") < min_decided).alias("incomplete"))
        flagged = df.filter(pl.col("incomplete"))["period"].unique().sort()
        if flagged.len():
            monthly = _period_every(df["period"]) == "1mo"
            names = ", ".join(
                v.strftime("%b %Y" if monthly else "%Y-%m-%d") for v in flagged.to_list()
            )
            note = f"hollow = fewer than {min_decided} decided {unit}: {names}"
        index += ["incomplete", "decided"]
    long = df.unpivot(index=index, on=list(_OTIF_RATES), variable_name="metric", value_name="rate")
    long = long.with_columns(pl.col("metric").replace_strict(dict(_OTIF_RATES)))
    title = _title(
        "Are orders on time and in full?",
        "; ".join(p for p in (definition, note) if p),
        source,
        as_of,
    )
    color = alt.Color("metric:N", title=None, sort=list(_OTIF_RATES.values()))
    y = alt.Y("rate:Q", title="share of decided " + unit, axis=alt.Axis(format="%"))
    tooltip: list[Any] = [
        *[f"{c}:N" for c in index if c not in ("period", "incomplete", "decided")],
        "metric:N",
        alt.Tooltip("rate:Q", format=".1%"),
    ]
    if "period" in df.columns:
        monthly = _period_every(df["period"]) == "1mo"
        tooltip = ["period:T", "decided:Q", *tooltip]
        encoding: dict[str, Any] = {
            "x": alt.X(
                "period:O",
                timeUnit="utcyearmonth" if monthly else "utcyearmonthdate",
                title="order month" if monthly else "order period",
                axis=alt.Axis(labelAngle=-40, format="%b %Y" if monthly else "%Y-%m-%d"),
            ),
            "y": y,
            "color": color,
            "tooltip": tooltip,
        }
        if group is not None:
            encoding["strokeDash"] = alt.StrokeDash(f"{group}:N")
        base = _chart(long, None).encode(**encoding)
        full = base.mark_point(filled=True, size=40).transform_filter("!datum.incomplete")
        hollow = base.mark_point(filled=False, size=70, strokeWidth=2).transform_filter(
            "datum.incomplete"
        )
        return alt.LayerChart(layer=[base.mark_line(), full, hollow], title=title)
    if group is not None:
        return (
            _chart(long.head(MAX_POINTS), title)
            .mark_bar()
            .encode(
                x=alt.X(f"{group}:N", title=group.replace("_", " ")),
                xOffset=alt.XOffset("metric:N", sort=list(_OTIF_RATES.values())),
                y=y,
                color=color,
                tooltip=tooltip,
            )
        )
    return (
        _chart(long, title)
        .mark_bar()
        .encode(
            x=alt.X("metric:N", title=None, sort=list(_OTIF_RATES.values())), y=y, tooltip=tooltip
        )
    )


# --------------------------------------------------------------------------- output


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 1.0) -> Path:
    """Write a chart to ``.png``, ``.svg``, ``.html`` or ``.json``, offline, with the theme.

    PNG and SVG are rendered by ``vl-convert`` (no browser, no network). The vendorkit
    theme is applied unless another non-default theme is active.

    Example:
        >>> import tempfile, os
        >>> c = stock_by_warehouse_chart(pl.DataFrame({"warehouse_id": ["10"], "units_on_hand": [1]}))
        >>> out = save_chart(c, os.path.join(tempfile.mkdtemp(), "stock.svg"))
        >>> out.read_text()[:4]
        '<svg'
    """
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in {"png", "svg", "html", "json"}:
        raise ConfigError(
            f"cannot save a chart as {target.name!r}: use a .png, .svg, .html or .json path"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    theme = THEME_NAME if alt.theme.active == "default" else alt.theme.active
    with alt.theme.enable(theme):
        if suffix == "png":
            chart.save(str(target), format="png", scale_factor=scale)
        elif suffix == "svg":
            chart.save(str(target), format="svg")
        elif suffix == "html":
            chart.save(str(target), format="html")
        else:
            chart.save(str(target), format="json")
    return target
