"""Analysis helpers: the questions analysts ask of inventory, orders and shipments.

One module per subject: :mod:`~vendorkit.analysis.inventory`, :mod:`~vendorkit.analysis.orders`,
:mod:`~vendorkit.analysis.shipments`, :mod:`~vendorkit.analysis.planning` (stockout
forecast, rebalancing), :mod:`~vendorkit.analysis.service` (OTIF, perfect order),
:mod:`~vendorkit.analysis.changes` (what changed between syncs) (and :mod:`~vendorkit.analysis.common`, the column
checks they share). Everything public is importable from here.

Every helper is a pure function: typed-table frames in (polars ``DataFrame`` or
``LazyFrame`` with the columns of ``docs/ARCHITECTURE.md``), a ``DataFrame`` out. No HTTP,
no cache, no printing, no Python loop over rows: the work is polars expressions, so a
10,000,000-row inventory history is answered in about the time DuckDB SQL needs.

Conventions shared by all helpers (``docs/metrics.md`` is the long form):

* **Arguments**: the frames first, in the order of the data flow (inventory, orders,
  order_lines, shipments, shipment_lines, histories), then keyword-only options. A frame
  that looks like another table (by its columns) raises
  :class:`~vendorkit.errors.ConfigError` saying the frames look swapped.
* **Shipped** quantities count only shipment lines of shipments that left the warehouse:
  the ``shipments`` frame is required wherever shipped quantities count, and lines of
  ``CANCELLED`` or ``PROCESSING`` shipments (or of shipments absent from it) never count.

* **Days** are floats: ``(later - earlier)`` in microseconds / 86,400,000,000.
* **Quantiles** (``p50``, ``p90``, ``p95``) interpolate linearly between the two nearest
  values (numpy's default, DuckDB's ``quantile_cont``).
* **as_of** defaults to the latest timestamp found in the data (never the wall clock), so
  the same frames always give the same answer. Naive datetimes are taken as UTC.
* **Cancelled orders** (canonical status ``CANCELLED``) are excluded by default wherever an
  order's quantity or timing counts; ``include_cancelled=True`` keeps them. Cancelled
  shipments never count as shipped.
* **Shares** are ``null`` (not NaN, not infinity) when their denominator is zero.
* **Inventory history**: one snapshot per sync (``sync_id``); given where current inventory
  is expected (a frame with ``snapshot_at``) it is reduced to its latest snapshot first
  (latest ``snapshot_at``, ties broken by ``sync_id``: two syncs never add up).
* A needed column that is absent, or null in every row (seed-only data), raises
  :class:`vendorkit.errors.MissingFieldError` naming the column and the API field that
  provides it.
"""

from __future__ import annotations

from vendorkit.analysis.changes import CHANGE_KINDS, changes_since, sync_points
from vendorkit.analysis.common import AGE_BUCKETS, LAG_PERCENTILES
from vendorkit.analysis.inventory import days_of_supply, inventory_trend, stock_by_warehouse
from vendorkit.analysis.orders import (
    backorder_aging,
    order_fill_rates,
    order_lead_times,
    reseller_concentration,
)
from vendorkit.analysis.planning import P90_Z, rebalance_suggestions, stockout_forecast
from vendorkit.analysis.service import otif, perfect_order_rate, promised_dates
from vendorkit.analysis.shipments import (
    carrier_performance,
    late_shipments,
    shipment_lag,
    shipment_lag_detail,
)

__all__ = [
    "AGE_BUCKETS",
    "CHANGE_KINDS",
    "LAG_PERCENTILES",
    "P90_Z",
    "backorder_aging",
    "carrier_performance",
    "changes_since",
    "days_of_supply",
    "inventory_trend",
    "late_shipments",
    "order_fill_rates",
    "order_lead_times",
    "otif",
    "perfect_order_rate",
    "promised_dates",
    "rebalance_suggestions",
    "reseller_concentration",
    "shipment_lag",
    "shipment_lag_detail",
    "stock_by_warehouse",
    "stockout_forecast",
    "sync_points",
]
