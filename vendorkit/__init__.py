"""vendorkit: Ingram Micro Vendor API data as validated polars DataFrames cached in DuckDB."""

from vendorkit.analysis import (
    backorder_aging,
    carrier_performance,
    days_of_supply,
    inventory_trend,
    late_shipments,
    order_fill_rates,
    order_lead_times,
    reseller_concentration,
    shipment_lag,
    shipment_lag_detail,
    stock_by_warehouse,
)
from vendorkit.client import VendorClient, open_client
from vendorkit.config import Settings
from vendorkit.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ContractError,
    MissingFieldError,
    RateLimitError,
    StoreError,
    StoreLockedError,
    TransportError,
    ValidationError,
    VendorkitError,
)
from vendorkit.export import export_parquet
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

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "ContractError",
    "MissingFieldError",
    "RateLimitError",
    "Settings",
    "StoreError",
    "StoreLockedError",
    "SyncReport",
    "TransportError",
    "ValidationError",
    "VendorClient",
    "VendorkitError",
    "__version__",
    "backorder_aging",
    "carrier_performance",
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
    "replay",
    "reseller_concentration",
    "shipment_lag",
    "shipment_lag_detail",
    "status",
    "stock_by_warehouse",
    "sync",
]


def __getattr__(name: str) -> object:
    """Import the heavy parts only when first used.

    ``vendorkit.charts`` pulls in altair and ``vendorkit.data_dictionary`` pulls in pandera;
    ``import vendorkit`` itself stays as light as polars + duckdb + httpx.
    """
    import importlib

    if name == "charts":
        return importlib.import_module("vendorkit.charts")
    if name == "data_dictionary":
        return importlib.import_module("vendorkit.schemas").data_dictionary
    raise AttributeError(f"module 'vendorkit' has no attribute {name!r}")
