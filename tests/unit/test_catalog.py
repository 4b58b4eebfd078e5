"""The endpoint catalog: its declarations, what is derived from it, and the registry."""

from __future__ import annotations

import ast
from pathlib import Path

import polars as pl
import pytest

from vendorkit import catalog
from vendorkit.catalog import UTC_DATETIME, Child, Column, Endpoint, Table
from vendorkit.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[2] / "vendorkit"


def _endpoint(name: str = "widgets", **changes: object) -> Endpoint:
    table = Table(
        name,
        "Widgets.",
        key=("widget_id", "site"),
        columns=(
            Column("widget_id", pl.String(), "Id.", wire="widgetId", required=True),
            Column("site", pl.String(), "Site.", wire="site", required=True),
            Column("count", pl.Int64(), "How many.", wire="count", ge=0),
            Column("updated_at", UTC_DATETIME, "Changed.", wire="updatedAt"),
        ),
    )
    fields: dict[str, object] = {
        "name": name,
        "path": f"/{name}",
        "list_key": name,
        "table": table,
        "cursor": "updated_at",
    }
    fields.update(changes)
    return Endpoint(**fields)  # type: ignore[arg-type]


def test_the_wire_view_is_what_endpoints_py_declared_by_hand() -> None:
    """The derived wire attributes equal the former hand-written registry, field for field."""
    inv, orders, ships = (catalog.get_endpoint(n) for n in ("inventory", "orders", "shipments"))
    assert inv.wire_fields == (
        "partNumber", "warehouse", "warehouseName", "vendorPartNumber", "quantity",
        "quantityBackordered", "quantityOnOrder", "lastUpdated",
    )  # fmt: skip
    assert (inv.primary_key, inv.cursor_field, inv.child_key) == (
        ("partNumber", "warehouse"),
        "lastUpdated",
        None,
    )
    assert inv.seed_fields == ("partNumber", "warehouse", "quantity", "lastUpdated")
    assert orders.wire_fields == (
        "orderId", "resellerId", "resellerName", "status", "orderDate", "updatedAt",
        "currencyCode",
    )  # fmt: skip
    assert orders.child_fields == (
        "lineNumber", "partNumber", "quantity", "quantityConfirmed", "quantityBackordered",
        "unitPrice", "warehouse",
    )  # fmt: skip
    assert orders.seed_fields == ("orderId", "resellerId", "status", "lines")
    assert (orders.primary_key, orders.cursor_field) == (("orderId",), "updatedAt")
    assert ships.wire_fields == (
        "id", "orderId", "carrier", "trackingNumber", "status", "warehouse", "shipDate",
        "estimatedDeliveryDate", "deliveredDate", "updatedAt",
    )  # fmt: skip
    assert ships.child_fields == ("lineNumber", "partNumber", "quantity")
    assert ships.seed_fields == ("id", "orderId", "carrier", "trackingNumber", "status")
    assert list(orders.wire_schema())[-1] == "lines"
    assert orders.wire_schema()["lines"] == pl.List(
        pl.Struct({f: pl.String() for f in orders.child_fields})
    )


def test_endpoints_module_is_the_catalog() -> None:
    from vendorkit import endpoints

    assert endpoints.Endpoint is catalog.Endpoint
    assert endpoints.get_endpoint("orders") is catalog.get_endpoint("orders")
    assert endpoints.ENDPOINT_NAMES == ("inventory", "orders", "shipments")
    assert list(endpoints.ENDPOINTS) == ["inventory", "orders", "shipments"]


def test_derived_tables_of_the_built_ins() -> None:
    assert list(catalog.TABLES) == [
        "inventory", "inventory_history", "orders", "order_lines", "order_status_history",
        "shipments", "shipment_lines", "shipment_status_history", "rejects", "sync_log",
    ]  # fmt: skip
    hist = catalog.get_table("inventory_history")
    assert hist.names[:2] == ("sync_id", "snapshot_at")
    assert hist.key == ("sync_id", "part_number", "warehouse_id")
    status = catalog.get_table("order_status_history")
    assert status.names == ("order_id", "status", "status_raw", "observed_at", "sync_id")
    assert catalog.get_endpoint("inventory").status_history_table is None
    assert catalog.get_endpoint("orders").history_table is None


def test_pandera_models_are_the_catalog_tables() -> None:
    from vendorkit.schemas import TABLE_SCHEMAS

    assert list(TABLE_SCHEMAS) == [t.name for t in catalog.validated_tables()]
    for table in catalog.validated_tables():
        schema = TABLE_SCHEMAS[table.name].to_schema()
        assert list(schema.columns) == list(table.names), table.name
        assert tuple(schema.unique or ()) == table.key, table.name
        for col in table.columns:
            got = schema.columns[col.name]
            assert got.dtype.type == col.dtype, (table.name, col.name)
            assert got.nullable == col.is_nullable, (table.name, col.name)
            bounds = [c.statistics.get("min_value") for c in got.checks]
            assert bounds == ([col.ge] if col.ge is not None else []), (table.name, col.name)


def test_the_store_tables_keep_their_columns_and_dtypes() -> None:
    from vendorkit.statuses import ORDER_STATUSES
    from vendorkit.store import TABLE_KEYS, TABLE_SCHEMAS

    assert "rejects" not in TABLE_SCHEMAS
    assert TABLE_SCHEMAS["order_status_history"] == {
        "order_id": pl.String(),
        "status": pl.Enum(ORDER_STATUSES),
        "status_raw": pl.String(),
        "observed_at": UTC_DATETIME,
        "sync_id": pl.String(),
    }
    assert TABLE_SCHEMAS["sync_log"]["passes"] == pl.Int32()
    assert TABLE_KEYS["shipment_status_history"] == ("shipment_id", "observed_at", "sync_id")
    assert TABLE_KEYS["sync_log"] == ("sync_id", "endpoint")


def test_api_field_names_the_wire_path() -> None:
    assert catalog.api_field("inventory", "quantity_on_hand") == "inventory[].quantity"
    assert catalog.api_field("orders", "status_raw") == "orders[].status"
    assert catalog.api_field("shipment_lines", "line_number") == "shipments[].lines[].lineNumber"
    assert catalog.api_field("shipment_lines", "shipment_id") == "shipments[].id"
    assert catalog.api_field("shipment_lines", "position") is None
    assert catalog.api_field("inventory_history", "part_number") == "inventory[].partNumber"
    assert catalog.api_field("rejects", "field") is None
    assert catalog.api_field("orders", "no_such_column") is None


def test_api_field_agrees_with_the_analysis_hints() -> None:
    """The hints analysis.py keeps by hand are what the catalog derives (so analysis can use
    ``catalog.api_field`` instead; once it does, its hand-kept table is gone and this is moot)."""
    from vendorkit import analysis

    hand_kept: dict[str, dict[str, str]] = getattr(analysis, "_API_FIELDS", {})
    for table, fields in hand_kept.items():
        for column, hint in fields.items():
            if hint.startswith("none") or "joined from" in hint:
                continue
            assert catalog.api_field(table, column) == hint, (table, column)


def test_seed_columns_cover_the_analysis_seed_lists() -> None:
    from vendorkit import analysis

    assert catalog.seed_columns("inventory") == (
        "part_number", "warehouse_id", "quantity_on_hand", "last_updated",
    )  # fmt: skip
    assert catalog.seed_columns("shipment_lines") == ()
    hand_kept: dict[str, tuple[str, ...]] = getattr(analysis, "_SEED_COLUMNS", {})
    for table, columns in hand_kept.items():
        assert set(columns) <= set(catalog.seed_columns(table)), table


def test_register_is_temporary_and_every_derived_view_follows() -> None:
    from vendorkit.export import EXPORT_TABLES
    from vendorkit.schemas import ENDPOINT_TABLES as BATCH_TABLES
    from vendorkit.schemas import TABLE_SCHEMAS as MODELS
    from vendorkit.store import ENDPOINT_TABLES, TABLE_KEYS, TABLE_SCHEMAS

    ep = _endpoint()
    with catalog.register(ep) as registered:
        assert registered is ep
        assert catalog.ENDPOINT_NAMES == ("inventory", "orders", "shipments", "widgets")
        assert catalog.get_endpoint("widgets") is ep
        assert TABLE_SCHEMAS["widgets"]["count"] == pl.Int64()
        assert TABLE_KEYS["widgets"] == ("widget_id", "site")
        assert ENDPOINT_TABLES["widgets"] == BATCH_TABLES["widgets"] == ("widgets",)
        assert "widgets" in MODELS and "widgets" in EXPORT_TABLES
        assert catalog.endpoint_of("widgets") is ep
    assert "widgets" not in catalog.ENDPOINTS
    assert "widgets" not in TABLE_SCHEMAS and "widgets" not in MODELS
    with pytest.raises(ConfigError, match="unknown endpoint 'widgets'"):
        catalog.get_endpoint("widgets")


def test_register_refuses_clashes() -> None:
    with pytest.raises(ConfigError, match="already in the catalog"):
        catalog.register(catalog.get_endpoint("orders"))
    with pytest.raises(ConfigError, match="already used by 'inventory'"):
        catalog.register(_endpoint(path="/inventory"))
    clash = _endpoint("widgets", table=Table("orders", "x", catalog.get_table("orders").columns,
                                             key=("order_id",)), cursor="updated_at")  # fmt: skip
    with pytest.raises(ConfigError, match=r"table\(s\) \['orders'\] already exist"):
        catalog.register(clash)
    with pytest.raises(ConfigError, match=r"table\(s\) \['cursors'\] already exist"):
        catalog.register(_endpoint("cursors"))  # the store's own bookkeeping table
    with pytest.raises(ConfigError, match="cannot be removed"):
        catalog.unregister("orders")
    assert catalog.ENDPOINT_NAMES == ("inventory", "orders", "shipments")


def test_declarations_are_checked_when_made() -> None:
    base = _endpoint()
    with pytest.raises(ConfigError, match="snake_case"):
        Column("Bad Name", pl.String(), "x", wire="x")
    with pytest.raises(ConfigError, match="no parse rule"):
        Column("flag", pl.Boolean(), "x", wire="flag")
    with pytest.raises(ConfigError, match="key column"):
        Table("t", "x", base.table.columns, key=("nope",))
    with pytest.raises(ConfigError, match="must be a wire timestamp"):
        _endpoint(cursor="count")
    optional_key = Table("widgets", "x", base.table.columns, key=("count",))
    with pytest.raises(ConfigError, match="must be a required wire field"):
        _endpoint(table=optional_key)
    with pytest.raises(ConfigError, match="must be an Enum"):
        _endpoint(status="count")
    lines = Table("widget_parts", "x", (Column("part", pl.String(), "x", wire="part"),))
    with pytest.raises(ConfigError, match="lacks the link"):
        _endpoint(child=Child("parts", lines))


def test_columns_default_their_parse_rule_and_nullability() -> None:
    assert Column("a", pl.Int32(), "x", wire="a").parse == "int"
    assert Column("a", UTC_DATETIME, "x", wire="a").parse == "ts"
    assert Column("a", pl.String(), "x", wire="a").is_nullable
    assert not Column("a", pl.String(), "x", wire="a", required=True).is_nullable
    assert not Column("a", pl.Int32(), "x", wire="a", default="position").is_nullable
    assert not Column("a", pl.String(), "x", derived="parent").is_nullable


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_catalog_imports_neither_pandera_nor_duckdb() -> None:
    seen: set[str] = set()
    todo = ["vendorkit.catalog"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        for name in _imported_modules(path):
            assert not name.startswith(("pandera", "duckdb")), (module, name)
            if name.startswith("vendorkit."):
                todo.append(name)
    assert seen == {"vendorkit.catalog", "vendorkit.errors", "vendorkit.statuses"}
