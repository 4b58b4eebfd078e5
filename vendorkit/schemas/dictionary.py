"""The data dictionary, generated from the endpoint catalog (``docs/data-dictionary.md``).

Every table with a pandera model (:func:`vendorkit.catalog.validated_tables`), column by
column: dtype, nullability, the wire field it comes from and what it means. It is generated,
never written by hand, so it cannot drift from the validation; an endpoint added to the
catalog appears in it with no other edit.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vendorkit import catalog
from vendorkit.catalog import Column

__all__ = ["data_dictionary", "data_dictionary_markdown", "source_field", "write_data_dictionary"]


def source_field(table: str, column: Column) -> str:
    """Where a column's values come from, as the data dictionary says it.

    A record field (``partNumber``), a child element's field (``lines[].partNumber``), the
    parent record's field (``orderId (parent)``), a position (``(position in lines[])``) or
    a note for columns not read from a record (``(sync)``).

    Example:
        >>> source_field("order_lines", catalog.get_table("order_lines").column("order_id"))
        'orderId (parent)'
    """
    ep = catalog.endpoint_of(table)
    child = ep.child if ep is not None and ep.child and ep.child.table.name == table else None
    if column.wire is not None:
        return f"{child.key}[].{column.wire}" if child else column.wire
    if column.derived == "parent" and ep is not None:
        return f"{ep.table.column(column.name).wire} (parent)"
    if column.derived == "position" and child is not None:
        return f"(position in {child.key}[])"
    return column.derived or ""


def _dtype_text(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Enum):
        return "Enum(" + ", ".join(dtype.categories.to_list()) + ")"
    if isinstance(dtype, pl.Datetime):
        return f"Datetime({dtype.time_unit}, {dtype.time_zone})"
    return str(dtype)


def data_dictionary() -> pl.DataFrame:
    """Every column of every typed table: its dtype, nullability, wire source and meaning.

    Generated from the catalog (the same declarations the pandera models are built from).

    Returns:
        A frame with columns ``table, column, dtype, nullable, source_field, meaning``.

    Example:
        >>> dd = data_dictionary()
        >>> dd.filter(pl.col("column") == "quantity_on_hand").row(0)[:5]
        ('inventory', 'quantity_on_hand', 'Int64', False, 'quantity')
    """
    rows = [
        {
            "table": table.name,
            "column": col.name,
            "dtype": _dtype_text(col.dtype),
            "nullable": col.is_nullable,
            "source_field": source_field(table.name, col),
            "meaning": col.meaning,
        }
        for table in catalog.validated_tables()
        for col in table.columns
    ]
    return pl.DataFrame(
        rows,
        schema={
            "table": pl.String,
            "column": pl.String,
            "dtype": pl.String,
            "nullable": pl.Boolean,
            "source_field": pl.String,
            "meaning": pl.String,
        },
    )


def _required_fields() -> str:
    parts = []
    for ep in catalog.ENDPOINTS.values():
        fields = list(dict.fromkeys(c.wire for c in ep.table.columns if c.required and c.wire))
        if ep.child is not None:
            fields += [
                f"{ep.child.key}[i].{c.wire}"
                for c in ep.child.table.columns
                if c.required and c.wire
            ]
        parts.append(", ".join(f"`{f}`" for f in fields) + f" ({ep.name})")
    return ";\n  ".join(parts)


def data_dictionary_markdown() -> str:
    """The data dictionary as Markdown (the text of ``docs/data-dictionary.md``).

    Example:
        >>> data_dictionary_markdown().splitlines()[0]
        '# Data dictionary'
    """
    dd = data_dictionary()
    out = [
        "# Data dictionary",
        "",
        "<!-- Generated from the endpoint catalog in vendorkit/catalog.py by "
        "`python -m vendorkit.schemas`; do not edit by hand. -->",
        "",
        "Every typed table vendorkit produces, column by column. Timestamps are UTC;",
        "quantities are whole units; ids are text. *Nullable* columns come from fields the",
        "seed spec does not promise, so seed-only data leaves them null. *Source* is the",
        "wire field (camelCase, as the Vendor API sends it); `lines[]` means each element of",
        "the record's `lines` array; names in parentheses are not read from a record.",
        "",
        "Statuses: `status` is the canonical enum, `status_raw` the spelling as sent",
        "(see `vendorkit/statuses.py` for the mapping rule). Rejected records are in",
        "`rejects`, one row per failing field.",
        "",
    ]
    for table in catalog.validated_tables():
        keys = ", ".join(table.key) if table.key else "(none)"
        out += [f"## {table.name}", "", table.description, "", f"Key: {keys}", ""]
        out += [
            "| column | dtype | nullable | source | meaning |",
            "|---|---|---|---|---|",
        ]
        for row in dd.filter(pl.col("table") == table.name).iter_rows(named=True):
            cells = [
                row["column"],
                row["dtype"],
                "yes" if row["nullable"] else "no",
                row["source_field"],
                row["meaning"],
            ]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    out += _RULES.strip().replace("{required}", _required_fields()).splitlines()
    out.append("")
    return "\n".join(out)


_RULES = """
## How values are coerced or quarantined

`vendorkit.schemas.normalise()` reads every field as text and applies these rules.

Coerced (loaded):

- numbers sent as strings or numbers (`"12"`, `12`) and whole numbers in another form
  (`"12.0"`, `"1e2"`) -> Int64; prices -> Float64;
- ids sent as a number or a string (`20`, `"20"`) -> text; surrounding spaces are trimmed;
- timestamps with `Z`, an offset (`-07:00`, `+0530`), fractional seconds, a space instead of
  `T`, no zone (read as UTC) or a date only (midnight UTC) -> UTC;
- status spellings (`Shipped`, `IM::SHIPPED`, `im::order_shipped`, `On Hold`, `Canceled`,
  ...) -> the canonical status; an unrecognised spelling becomes `UNKNOWN` and is counted
  in `unknown_status`, never rejected;
- an optional field that is absent, null or empty -> null; an order line without
  `lineNumber` gets its 1-based position.

The sync report's `coerced` counts loaded records where the text itself needed repair
(a timestamp not in UTC, without a zone or date only; a non-canonical status spelling; a
whole number written `12.0`; padding). A number sent as a string and an id sent as a number
read alike once the page is parsed as text, so those two quirks are fixed but not counted.

Quarantined (the whole record goes to `rejects`, one row per failing field, with the
record's JSON as served; an order or shipment with one bad line is rejected whole):

- a missing key or required field: {required};
- a value that is present but unreadable: a quantity that is not a whole number, a price
  that is not a finite number, a timestamp that is not ISO 8601, an array or object sent
  where a single value belongs;
- a value the pandera model refuses: negative quantities or prices, a line number below 1,
  the same line number twice in one order.

Duplicates of a key within one sync are not rejected: the latest `lastUpdated` /
`updatedAt` wins (ties: the later page, then the later position) and the others are
counted in `deduplicated`. Every fetched record is loaded, rejected or deduplicated.
"""


def write_data_dictionary(path: str | Path = "docs/data-dictionary.md") -> Path:
    """Write :func:`data_dictionary_markdown` to ``path`` and return the path.

    Example:
        >>> import tempfile, pathlib
        >>> p = write_data_dictionary(pathlib.Path(tempfile.mkdtemp()) / "dd.md")
        >>> p.read_text().startswith("# Data dictionary")
        True
    """
    target = Path(path)
    target.write_text(data_dictionary_markdown(), encoding="utf-8")
    return target
