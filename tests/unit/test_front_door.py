"""The public front door: `vendorkit.__all__` is pinned, and `import vendorkit` stays light."""

from __future__ import annotations

import subprocess
import sys

import vendorkit

EXPECTED_ALL = {
    # settings and errors
    "Settings",
    "VendorkitError",
    "ConfigError",
    "TransportError",
    "AuthError",
    "ApiError",
    "RateLimitError",
    "ContractError",
    "ValidationError",
    "MissingFieldError",
    "StoreError",
    "StoreLockedError",
    "SyncError",
    "DataCheckError",
    # the handle
    "connect",
    "Handle",
    # client
    "VendorClient",
    "open_client",
    # sync and store
    "sync",
    "replay",
    "status",
    "SyncReport",
    "export_parquet",
    "load_inventory",
    "load_inventory_history",
    "load_orders",
    "load_order_lines",
    "load_shipments",
    "load_shipment_lines",
    "load_rejects",
    "load_sync_log",
    "load_order_status_history",
    "load_shipment_status_history",
    # analysis
    "stock_by_warehouse",
    "inventory_trend",
    "days_of_supply",
    "order_fill_rates",
    "shipment_lag",
    "shipment_lag_detail",
    "order_lead_times",
    "carrier_performance",
    "changes_since",
    "otif",
    "perfect_order_rate",
    "late_shipments",
    "backorder_aging",
    "reseller_concentration",
    "stockout_forecast",
    "rebalance_suggestions",
    # documentation of the tables (lazy: imports pandera on first use)
    "data_dictionary",
    "__version__",
}


def test_all_is_pinned() -> None:
    assert set(vendorkit.__all__) == EXPECTED_ALL
    assert len(vendorkit.__all__) == len(set(vendorkit.__all__)), "duplicate names in __all__"


def test_every_public_name_resolves_and_is_documented() -> None:
    for name in vendorkit.__all__:
        obj = getattr(vendorkit, name)
        if name != "__version__":
            assert obj.__doc__, f"vendorkit.{name} has no docstring"


def test_charts_is_a_lazy_submodule() -> None:
    from vendorkit import charts

    assert charts.__name__ == "vendorkit.charts"


def test_import_is_light() -> None:
    code = (
        "import sys, vendorkit; "
        "heavy = [m for m in ('altair', 'pandera', 'jupyterlab', 'vl_convert') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import vendorkit pulled in: {out.stdout.strip()}"
