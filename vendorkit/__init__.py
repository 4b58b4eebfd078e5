"""vendorkit: Ingram Micro Vendor API data as validated polars DataFrames cached in DuckDB.

The front door: everything a notebook or script needs is importable from here and listed
in ``__all__``. Start with :func:`connect`, the handle on a store::

    import vendorkit as vk
    with vk.connect() as h:
        vk.stock_by_warehouse(h.load_inventory())
 ``Settings``, ``VendorClient`` and ``open_client`` (pydantic, the HTTP
stack), ``charts`` (altair) and ``data_dictionary`` (pandera) load on first use, so
``import vendorkit`` costs little more than importing polars and duckdb.

Imported in IPython or Jupyter, vendorkit shows its errors (a failed ``h.sync()`` too) as
their short messages rather than tracebacks; see :mod:`vendorkit.ipython`.
"""

from typing import TYPE_CHECKING

from vendorkit.analysis import (
    backorder_aging,
    carrier_performance,
    changes_since,
    days_of_supply,
    inventory_trend,
    late_shipments,
    order_fill_rates,
    order_lead_times,
    otif,
    perfect_order_rate,
    rebalance_suggestions,
    reseller_concentration,
    shipment_lag,
    shipment_lag_detail,
    stock_by_warehouse,
    stockout_forecast,
)
from vendorkit.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ContractError,
    DataCheckError,
    MissingFieldError,
    RateLimitError,
    StoreError,
    StoreLockedError,
    SyncError,
    TransportError,
    ValidationError,
    VendorkitError,
)
from vendorkit.export import export_parquet
from vendorkit.handle import Handle, connect
from vendorkit.ipython import install_if_running as _install_if_running
from vendorkit.ipython import load_ipython_extension as load_ipython_extension
from vendorkit.loaders import (
    load_inventory,
    load_inventory_history,
    load_order_lines,
    load_order_status_history,
    load_orders,
    load_rejects,
    load_shipment_lines,
    load_shipment_status_history,
    load_shipments,
    load_sync_log,
    status,
)
from vendorkit.sync import SyncReport, replay, sync

if TYPE_CHECKING:
    from vendorkit.client import VendorClient, open_client
    from vendorkit.config import Settings

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "ContractError",
    "DataCheckError",
    "Handle",
    "MissingFieldError",
    "RateLimitError",
    "Settings",
    "StoreError",
    "StoreLockedError",
    "SyncError",
    "SyncReport",
    "TransportError",
    "ValidationError",
    "VendorClient",
    "VendorkitError",
    "__version__",
    "backorder_aging",
    "carrier_performance",
    "changes_since",
    "connect",
    "data_dictionary",
    "days_of_supply",
    "export_parquet",
    "inventory_trend",
    "late_shipments",
    "load_inventory",
    "load_inventory_history",
    "load_order_lines",
    "load_order_status_history",
    "load_orders",
    "load_rejects",
    "load_shipment_lines",
    "load_shipment_status_history",
    "load_shipments",
    "load_sync_log",
    "open_client",
    "order_fill_rates",
    "order_lead_times",
    "otif",
    "perfect_order_rate",
    "rebalance_suggestions",
    "replay",
    "reseller_concentration",
    "shipment_lag",
    "shipment_lag_detail",
    "status",
    "stock_by_warehouse",
    "stockout_forecast",
    "sync",
]


#: Names imported on first use: name -> module (PEP 562).
_LAZY = {
    "Settings": "vendorkit.config",
    "VendorClient": "vendorkit.client",
    "open_client": "vendorkit.client",
    "data_dictionary": "vendorkit.schemas",
}


def __getattr__(name: str) -> object:
    """Import the heavier parts only when first used (see the module docstring)."""
    import importlib

    if name == "charts":
        return importlib.import_module("vendorkit.charts")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vendorkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | {"charts"})


_install_if_running()  # IPython / Jupyter only: vendorkit errors as messages, not tracebacks
