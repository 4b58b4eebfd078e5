"""Raw (all-String) pages -> typed, validated pandera-checked frames, plus quarantine.

The front door of this package::

    from vendorkit.schemas import normalise, Batch, TABLE_SCHEMAS, data_dictionary

    batch = normalise("orders", pages, sync_id="...")
    batch.tables    # {"orders": df, "order_lines": df}
    batch.rejects   # endpoint, sync_id, page_number, record_index, record_key, field, reason,
                    # raw_record
    batch.counts    # fetched, loaded, rejected, deduplicated, coerced, unknown_status

See :mod:`vendorkit.schemas.pipeline` for the pipeline, :mod:`vendorkit.schemas.models` for
the pandera models and :mod:`vendorkit.schemas.dictionary` for the data dictionary: all three
are derived from the endpoint catalog (:mod:`vendorkit.catalog`), and
``docs/data-dictionary.md`` is generated from it.
"""

from vendorkit.schemas.dedup import latest_versions
from vendorkit.schemas.models import (
    ENDPOINT_TABLES,
    TABLE_KEYS,
    TABLE_SCHEMAS,
    Inventory,
    InventoryHistory,
    OrderLines,
    Orders,
    Rejects,
    ShipmentLines,
    Shipments,
    data_dictionary,
    data_dictionary_markdown,
    write_data_dictionary,
)
from vendorkit.schemas.pipeline import REJECTS_SCHEMA, Batch, BatchCounts, normalise, prepare

__all__ = [
    "ENDPOINT_TABLES",
    "REJECTS_SCHEMA",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "Batch",
    "BatchCounts",
    "Inventory",
    "InventoryHistory",
    "OrderLines",
    "Orders",
    "Rejects",
    "ShipmentLines",
    "Shipments",
    "data_dictionary",
    "data_dictionary_markdown",
    "latest_versions",
    "normalise",
    "prepare",
    "write_data_dictionary",
]
