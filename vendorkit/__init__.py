"""vendorkit: Ingram Micro Vendor API data as validated polars DataFrames cached in DuckDB."""

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
    "TransportError",
    "ValidationError",
    "VendorkitError",
    "__version__",
]
