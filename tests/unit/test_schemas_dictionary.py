"""The data dictionary: generated from the endpoint catalog, complete, and committed up to date."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vendorkit.schemas import TABLE_SCHEMAS, data_dictionary, data_dictionary_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"


def test_committed_data_dictionary_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == data_dictionary_markdown(), (
        "docs/data-dictionary.md is stale: run `python -m vendorkit.schemas` and commit it"
    )


def test_every_column_of_every_table_is_described():
    dd = data_dictionary()
    assert dd.columns == ["table", "column", "dtype", "nullable", "source_field", "meaning"]
    for table, model in TABLE_SCHEMAS.items():
        described = dd.filter(pl.col("table") == table)["column"].to_list()
        assert described == list(model.to_schema().columns), table
    assert dd.filter((pl.col("meaning") == "") | (pl.col("source_field") == "")).height == 0


def test_dictionary_rows_match_the_architecture_contract():
    dd = data_dictionary()
    row = {(r["table"], r["column"]): r for r in dd.iter_rows(named=True)}
    assert row[("inventory", "quantity_on_hand")]["source_field"] == "quantity"
    assert row[("inventory", "warehouse_id")]["source_field"] == "warehouse"
    assert row[("order_lines", "quantity_ordered")]["source_field"] == "lines[].quantity"
    assert row[("shipments", "shipment_id")]["source_field"] == "id"
    assert row[("inventory", "last_updated")]["dtype"] == "Datetime(us, UTC)"
    assert row[("orders", "status")]["dtype"].startswith("Enum(OPEN, PROCESSING")
    # `?` columns of ARCHITECTURE.md are nullable, keys are not
    assert row[("inventory", "warehouse_name")]["nullable"] is True
    assert row[("orders", "order_id")]["nullable"] is False
    assert row[("shipment_lines", "line_number")]["nullable"] is True
    assert row[("order_lines", "line_number")]["nullable"] is False


def test_markdown_has_a_section_per_table():
    text = data_dictionary_markdown()
    for table in TABLE_SCHEMAS:
        assert f"\n## {table}\n" in text
    assert "| quantity_on_hand | Int64 | no | quantity |" in text


def test_the_store_tables_use_the_same_columns_and_dtypes_as_the_models():
    from vendorkit.store import TABLE_SCHEMAS as STORE_TABLES

    for table, model in TABLE_SCHEMAS.items():
        if table not in STORE_TABLES:
            continue  # rejects: the store adds rejected_at
        mine = {name: column.dtype.type for name, column in model.to_schema().columns.items()}
        assert dict(STORE_TABLES[table]) == mine, table
