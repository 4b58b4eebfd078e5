"""Raw pages -> typed, validated, deduplicated tables plus a quarantine of rejected records.

The pipeline for one batch of one endpoint (every step a vectorised polars expression; no
Python loop over records on the clean path):

1. **Assemble** the raw frame: every page's ``records`` (all-String wire columns), plus
   ``_page`` / ``_index`` (the record's page and 0-based position in it).
2. **Coerce** known quirks into the typed columns of ``docs/ARCHITECTURE.md``: numbers sent as
   text, padded ids, timestamps with offsets / ``Z`` / no zone / date only (-> UTC), status
   spellings (-> canonical enum, unknown -> ``UNKNOWN``). A value that is present but cannot
   be read (``"abc"`` as a quantity, ``"yesterday"`` as a timestamp) or a missing key field
   yields a reject reason naming the wire field (``quantity``, ``lines[1].unitPrice``).
   Clean rows take a fast path of plain casts; only rows with something to repair or reject
   are re-read with the full rules.
3. **Validate** the typed tables with their pandera models (``TABLE_SCHEMAS``) on collected
   DataFrames, ``lazy=True``, once per table and before dedup (so an invalid newer version
   of a record leaves the older valid one to win). Every value failure case is mapped back
   to its record (negative quantities, line numbers < 1, a line number repeated inside one
   order); key-uniqueness failures mark the records the dedup must resolve.
4. **Quarantine** whole records: an order or shipment with one bad line is rejected whole;
   one reject row per failing field, carrying the record's JSON text as served.
5. **Deduplicate** by key among the valid records: the latest ``lastUpdated`` /
   ``updatedAt`` wins; ties go to the later page, then the later position
   (:func:`vendorkit.schemas.dedup.latest_versions`, also used to merge chunks in a sync).

Which wire field feeds which typed column, how it is read, what is required, the keys, the
cursor, the status column and the child table all come from the endpoint catalog
(:mod:`vendorkit.catalog`); nothing here names an endpoint.

Counts add up: ``fetched == loaded + rejected + deduplicated``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandera.errors as pa_errors
import polars as pl

from vendorkit import catalog
from vendorkit.catalog import Endpoint, get_endpoint
from vendorkit.errors import ContractError, ValidationError
from vendorkit.schemas.dedup import latest_versions
from vendorkit.schemas.models import TABLE_SCHEMAS
from vendorkit.statuses import canonical_status_expr

__all__ = ["REJECTS_SCHEMA", "Batch", "BatchCounts", "normalise", "prepare"]

REJECTS_SCHEMA: dict[str, pl.DataType] = catalog.REJECTS.schema()
"""Columns and dtypes of :attr:`Batch.rejects` (the ``rejects`` table)."""

INVALID_UTF8 = "\ufffd"  # what the client decodes invalid UTF-8 to (vendorkit.http.body)
_VALUE_SHOWN = 60  # characters of an offending value quoted in a reason


class _PageLike(Protocol):
    """What :func:`normalise` reads from a page (``vendorkit.client.Page`` has all three)."""

    @property
    def number(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    @property
    def records(self) -> pl.DataFrame: ...


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """Record counts of one batch (records = top-level records: an order with its lines is one).

    Attributes:
        fetched: records received.
        loaded: records in the batch's parent table after dedup and validation.
        rejected: records quarantined (each once, however many fields failed).
        deduplicated: valid records dropped because a later version of the same key won.
        coerced: loaded records where at least one value's text needed repair (timestamp
            not in UTC / without zone / date only, non-canonical status spelling, whole
            number written ``12.0``, padding). A number sent as a string and an id sent as a
            number read alike in the all-String wire frame: fixed, but not counted.
        unknown_status: loaded records whose status spelling maps to ``UNKNOWN``.
    """

    fetched: int = 0
    loaded: int = 0
    rejected: int = 0
    deduplicated: int = 0
    coerced: int = 0
    unknown_status: int = 0


@dataclass(frozen=True, slots=True)
class Batch:
    """The outcome of :func:`normalise`.

    Attributes:
        endpoint: the endpoint name.
        sync_id: the sync the records belong to.
        tables: typed table name -> DataFrame with exactly that table's columns and dtypes.
        rejects: one row per (rejected record, failing field); columns of ``REJECTS_SCHEMA``.
        counts: :class:`BatchCounts`.
    """

    endpoint: str
    sync_id: str
    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    counts: BatchCounts


# --------------------------------------------------------------------------- field plans


@dataclass(frozen=True, slots=True)
class _Field:
    source: str  # wire name
    column: str  # typed column
    kind: str  # text | int | float | ts | status (from the catalog column's parse rule)
    dtype: pl.DataType  # the typed column's dtype (integer width)
    required: bool = False
    raw_column: str | None = None  # status: the column keeping the spelling as sent


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one endpoint's wire records become its typed tables (derived from the catalog)."""

    header: tuple[_Field, ...]
    lines: tuple[_Field, ...] = ()
    statuses: tuple[str, ...] = ()
    status: str | None = None  # the header's canonical status column
    cursor: str | None = None  # typed column ordering versions of one key
    line_defaults: tuple[str, ...] = ()  # line columns that default to the 1-based position
    line_parent_columns: tuple[str, ...] = ()  # header columns copied onto each line
    line_position_columns: tuple[str, ...] = ()  # line columns holding the 1-based position


def _fields(table: catalog.Table) -> tuple[_Field, ...]:
    raw_of = {c.wire: c.name for c in table.columns if c.parse == "status_raw"}
    return tuple(
        _Field(
            source=c.wire,
            column=c.name,
            kind=c.parse,
            required=c.required,
            dtype=c.dtype,
            raw_column=raw_of.get(c.wire) if c.parse == "status" else None,
        )
        for c in table.columns
        if c.wire is not None and c.parse is not None and c.parse != "status_raw"
    )


@functools.cache
def _plan(ep: Endpoint) -> _Plan:
    """The field plan of an endpoint, read off its catalog entry."""
    child = ep.child.table if ep.child else None
    return _Plan(
        header=_fields(ep.table),
        lines=_fields(child) if child else (),
        statuses=ep.statuses,
        status=ep.status,
        cursor=ep.cursor,
        line_defaults=tuple(c.name for c in child.columns if c.default == "position")
        if child
        else (),
        line_parent_columns=tuple(c.name for c in child.columns if c.derived == "parent")
        if child
        else (),
        line_position_columns=tuple(c.name for c in child.columns if c.derived == "position")
        if child
        else (),
    )


# --------------------------------------------------------------------------- coercion rules

_UTC_SUFFIX = r"(?i)(Z|[+-]00:?00)$"
_TS_FORMATS_AWARE = "%Y-%m-%dT%H:%M:%S%.f%#z"
_TS_FORMAT_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"
_TS_FORMAT_DATE = "%Y-%m-%d"
_UTC = pl.Datetime("us", "UTC")


def _shown(text: pl.Expr) -> pl.Expr:
    return text.str.slice(0, _VALUE_SHOWN)


def _int_range(dtype: pl.DataType) -> str:
    """``Int32 (-2147483648..2147483647)``: an integer dtype's name and bounds."""
    bits = {pl.Int8: 8, pl.Int16: 16, pl.Int32: 32, pl.Int64: 64}.get(dtype, 64)  # type: ignore[call-overload]
    return f"{dtype} ({-(2 ** (bits - 1))}..{2 ** (bits - 1) - 1})"


def _coerce(
    field: _Field, statuses: tuple[str, ...]
) -> tuple[dict[str, pl.Expr], pl.Expr, pl.Expr]:
    """Typed column(s), reject reason (String or null) and coerced flag for one wire field."""
    raw = pl.col(field.source)
    text = raw.str.strip_chars()
    present = text.is_not_null() & (text != "")
    padded = present & (text != raw)
    missing: pl.Expr = (
        pl.when(~present).then(pl.lit("missing: a required field is absent, null or empty"))
        if field.required
        else pl.lit(None, pl.String)
    )
    none = pl.lit(None, pl.String)
    # the client turns an array/object sent where a scalar belongs into its JSON text
    structured = present & (
        (text.str.starts_with("[") & text.str.ends_with("]"))
        | (text.str.starts_with("{") & text.str.ends_with("}"))
    )
    # the client decodes invalid UTF-8 to U+FFFD so the page parses; the record is quarantined
    mangled = raw.str.contains(INVALID_UTF8, literal=True).fill_null(False)
    invalid = pl.lit(f"invalid UTF-8 in {field.source} (the server sent bytes that are not UTF-8)")
    not_scalar = (
        pl.when(mangled)
        .then(invalid)
        .when(structured)
        .then(pl.format("an array or object where a single value belongs: '{}'", _shown(text)))
        .otherwise(missing)
    )

    if field.kind == "text":
        value: pl.Expr = pl.when(present & ~structured).then(text)
        return {field.column: value}, not_scalar, padded

    if field.kind == "int":
        direct = text.cast(pl.Int64, strict=False)
        as_float = text.cast(pl.Float64, strict=False)
        whole = as_float.is_finite() & (as_float == as_float.floor()) & (as_float.abs() <= 2.0**53)
        parsed = pl.coalesce(direct, pl.when(whole).then(as_float.cast(pl.Int64)))
        value = parsed.cast(field.dtype, strict=False)
        bad = present & value.is_null()
        # a whole number the column's integer type cannot hold is out of range, not malformed
        integral = parsed.is_not_null() | (as_float.is_finite() & (as_float == as_float.floor()))
        reason = (
            pl.when(mangled)
            .then(invalid)
            .when(bad & integral)
            .then(pl.format(f"out of range for {_int_range(field.dtype)}: '{{}}'", _shown(text)))
            .when(bad)
            .then(pl.format("not a whole number: '{}'", _shown(text)))
            .otherwise(missing if field.required else none)
        )
        coerced = padded | (present & direct.is_null() & value.is_not_null())
        return {field.column: value}, reason, coerced

    if field.kind == "float":
        parsed = text.cast(pl.Float64, strict=False)
        bad = present & (parsed.is_null() | ~parsed.is_finite())
        value = pl.when(~bad).then(parsed)
        reason = (
            pl.when(mangled)
            .then(invalid)
            .when(bad)
            .then(pl.format("not a finite number: '{}'", _shown(text)))
            .otherwise(missing if field.required else none)
        )
        return {field.column: value}, reason, padded

    if field.kind == "ts":
        iso = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ t]", "${1}T")
        aware = iso.str.to_datetime(_TS_FORMATS_AWARE, strict=False, time_unit="us")
        naive = iso.str.to_datetime(
            _TS_FORMAT_NAIVE, strict=False, time_unit="us"
        ).dt.replace_time_zone("UTC")
        date_only = iso.str.to_datetime(
            _TS_FORMAT_DATE, strict=False, time_unit="us"
        ).dt.replace_time_zone("UTC")
        value = pl.coalesce(aware.dt.convert_time_zone("UTC"), naive, date_only).cast(_UTC)
        bad = present & value.is_null()
        reason = (
            pl.when(mangled)
            .then(invalid)
            .when(bad)
            .then(pl.format("not an ISO 8601 timestamp: '{}'", _shown(text)))
            .otherwise(missing if field.required else none)
        )
        coerced = padded | (present & value.is_not_null() & ~text.str.contains(_UTC_SUFFIX))
        return {field.column: value}, reason, coerced

    if field.kind == "status":
        enum = pl.Enum(list(statuses))
        canonical = canonical_status_expr(field.source, statuses)
        value = pl.when(present & ~structured).then(canonical).cast(enum)
        coerced = present & (canonical != "UNKNOWN") & (raw != canonical)
        raw_column = field.raw_column or f"{field.column}_raw"
        return {field.column: value, raw_column: raw}, not_scalar, coerced

    raise AssertionError(f"unknown field kind {field.kind!r}")  # pragma: no cover


# --------------------------------------------------------------------------- raw frame


def _conform(records: pl.DataFrame, ep: Endpoint, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Give ``records`` exactly the wire ``schema`` (missing columns/struct fields -> null)."""
    if records.columns == list(schema) and records.dtypes == list(schema.values()):
        return records
    exprs = []
    for name, dtype in schema.items():
        if name not in records.columns:
            exprs.append(pl.lit(None, dtype).alias(name))
        elif name == ep.child_key and records.schema[name] != dtype:
            have = records.schema[name]
            inner = getattr(getattr(have, "inner", None), "fields", None)
            if inner is None:  # e.g. all-null lines parsed as Null / List(Null)
                exprs.append(pl.col(name).cast(dtype, strict=False))
                continue
            present = {f.name for f in inner}
            exprs.append(
                pl.col(name)
                .list.eval(
                    pl.struct(
                        [
                            (
                                pl.element().struct.field(f).cast(pl.String)
                                if f in present
                                else pl.lit(None, pl.String)
                            ).alias(f)
                            for f in ep.child_fields
                        ]
                    )
                )
                .alias(name)
            )
        else:
            exprs.append(pl.col(name).cast(dtype).alias(name))
    return records.select(exprs)


def _concat_pages(
    frames: list[pl.DataFrame], ep: Endpoint, schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """One contiguous frame of all pages' records, in the wire schema.

    Pages parsed by the client all share the wire schema, so they are concatenated as they
    are; only when that fails (a page parsed another way) is every page conformed first.
    """
    if not frames:
        return pl.DataFrame(schema=schema)
    try:
        frame = pl.concat(frames, how="vertical", rechunk=True)
    except (pl.exceptions.SchemaError, pl.exceptions.ShapeError):
        frame = pl.concat([_conform(f, ep, schema) for f in frames], how="vertical", rechunk=True)
    return _conform(frame, ep, schema)


def _raw_frame(
    ep: Endpoint, data: Sequence[_PageLike] | pl.DataFrame
) -> tuple[pl.DataFrame, list[bytes]]:
    """The batch's raw frame (wire columns, ``_page``, ``_index``, ``_src``, ``_rid``)."""
    schema = ep.wire_schema()
    wire = list(schema)
    if isinstance(data, pl.DataFrame):
        missing = [c for c in ("_page", "_index") if c not in data.columns]
        if missing:
            raise ContractError(
                f"raw frame for {ep.name} lacks column(s) {', '.join(missing)}; add the "
                "page number (_page) and the record's 0-based position in its page (_index)",
                endpoint=ep.name,
            )
        frame = _conform(data.drop("_page", "_index"), ep, schema).with_columns(
            data["_page"].cast(pl.Int32),
            data["_index"].cast(pl.Int32),
            pl.lit(None, pl.Int32).alias("_src"),
        )
        bodies: list[bytes] = []
    else:
        frames, srcs, numbers, lengths, bodies = [], [], [], [], []
        for src, page in enumerate(data):
            bodies.append(page.body)
            height = page.records.height
            if height == 0:
                continue
            frames.append(page.records)
            srcs.append(src)
            numbers.append(page.number)
            lengths.append(height)
        frame = _concat_pages(frames, ep, schema)
        meta = pl.DataFrame(
            {"_src": srcs, "_page": numbers, "_n": lengths},
            schema={"_src": pl.Int32, "_page": pl.Int32, "_n": pl.Int32},
        ).select(
            pl.col("_src").repeat_by("_n").explode(),
            pl.col("_page").repeat_by("_n").explode(),
            pl.int_ranges(0, pl.col("_n"), dtype=pl.Int32).explode().alias("_index"),
        )
        frame = pl.concat([frame, meta], how="horizontal")
    return (
        frame.select(
            *wire,
            pl.col("_page").cast(pl.Int32),
            pl.col("_index").cast(pl.Int32),
            pl.col("_src").cast(pl.Int32),
        ).with_row_index("_rid"),
        bodies,
    )


# --------------------------------------------------------------------------- the pipeline


def _fast(
    field: _Field, statuses: tuple[str, ...], raw_copy: str
) -> tuple[dict[str, pl.Expr], pl.Expr, pl.Expr]:
    """Fast path for one wire field: typed column(s), then ``ok`` and coerced flags.

    The typed columns are computed once (first ``select``); the flags are expressions over
    those columns and over ``raw_copy`` (the wire value kept under a private name), evaluated
    in a second step so an expensive parse is never repeated. ``ok`` is true when the value
    needs no repair and raises no reject (clean values, or an absent optional field); for
    those rows the value and coerced flag equal :func:`_coerce`'s. Rows where any field is
    not ``ok`` go through :func:`_coerce` instead.
    """
    src = pl.col(field.source)
    raw = pl.col(raw_copy)
    typed = pl.col(field.column)
    absent_ok = pl.lit(not field.required) & raw.is_null()
    no = pl.lit(False)
    if field.kind == "text":
        clean = (
            (raw != "")
            & (raw.str.strip_chars() == raw)
            & ~raw.str.starts_with("[")
            & ~raw.str.starts_with("{")
            & ~raw.str.contains(INVALID_UTF8, literal=True)
        )
        return {field.column: src}, absent_ok | clean, no
    if field.kind == "int":
        value = src.cast(pl.Int64, strict=False)
        if field.dtype != pl.Int64:
            value = value.cast(field.dtype, strict=False)
        return {field.column: value}, absent_ok | typed.is_not_null(), no
    if field.kind == "float":
        return {field.column: src.cast(pl.Float64, strict=False)}, absent_ok | typed.is_finite(), no
    if field.kind == "ts":
        value = src.str.to_datetime(_TS_FORMATS_AWARE, strict=False, time_unit="us", cache=False)
        value = value.dt.convert_time_zone("UTC").cast(_UTC)
        coerced = typed.is_not_null() & ~raw.str.contains(_UTC_SUFFIX)
        return {field.column: value}, absent_ok | typed.is_not_null(), coerced
    if field.kind == "status":
        values, _, _ = _coerce(field, statuses)
        status = pl.col(field.column)
        coerced = (
            status.is_not_null()
            & (status != "UNKNOWN")
            & (pl.col(field.raw_column or f"{field.column}_raw") != status.cast(pl.String))
        )
        intact = ~raw.str.contains(INVALID_UTF8, literal=True)
        return values, absent_ok | (status.is_not_null() & intact), coerced
    raise AssertionError(f"unknown field kind {field.kind!r}")  # pragma: no cover


def _typed(
    frame: pl.DataFrame,
    fields: tuple[_Field, ...],
    statuses: tuple[str, ...],
    keep: list[str],
    line: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed columns + ``_coerced`` for every row, and the long ``_rid, field, reason`` rejects.

    Clean rows take the fast path (plain casts); only rows with something to repair or reject
    are re-read with the full coercion rules (:func:`_coerce`), then put back in order.
    """
    exprs: list[pl.Expr] = [pl.col(c) for c in keep]
    oks, flags, copies = [], [], []
    for i, field in enumerate(fields):
        values, ok, coerced = _fast(field, statuses, f"_raw{i}")
        exprs += [expr.alias(name) for name, expr in values.items()]
        exprs.append(pl.col(field.source).alias(f"_raw{i}"))
        copies.append(f"_raw{i}")
        oks.append(ok)
        flags.append(coerced)
    fast = (
        frame.select(exprs)
        .with_columns(
            pl.any_horizontal(flags).fill_null(False).alias("_coerced"),
            pl.all_horizontal(oks).fill_null(False).alias("_ok"),
        )
        .drop(copies)
    )
    no_reasons = pl.DataFrame(
        schema={"_rid": pl.get_index_type(), "field": pl.String, "reason": pl.String}
    )
    fast_ok = fast.get_column("_ok")
    if fast_ok.all():
        return fast.drop("_ok"), no_reasons

    slow_exprs: list[pl.Expr] = [pl.col(c) for c in keep]
    flags, errors = [], []
    for i, field in enumerate(fields):
        values, reason, coerced = _coerce(field, statuses)
        slow_exprs += [expr.alias(name) for name, expr in values.items()]
        slow_exprs.append(reason.alias(f"_err{i}"))
        errors.append((f"_err{i}", field.source))
        flags.append(coerced)
    slow_exprs.append(pl.any_horizontal(flags).fill_null(False).alias("_coerced"))
    slow = frame.filter(~fast_ok).select(slow_exprs)
    error_cols = [c for c, _ in errors]
    typed = pl.concat(
        [fast.filter(fast_ok).drop("_ok"), slow.drop(error_cols)], how="vertical"
    ).sort(["_rid", "_line"] if line else "_rid")

    bad = slow.filter(pl.any_horizontal(pl.col(error_cols).is_not_null()))
    parts = [no_reasons]
    for col, source in errors:
        label = pl.format("lines[{}]." + source, pl.col("_line")) if line else pl.lit(source)
        parts.append(
            bad.filter(pl.col(col).is_not_null()).select(
                "_rid", label.alias("field"), pl.col(col).alias("reason")
            )
        )
    return typed, pl.concat(parts)


def _explode_lines(raw: pl.DataFrame, child_key: str) -> pl.DataFrame:
    """One row per nested line: ``_rid``, ``_line`` (0-based position) and the line fields."""
    length = pl.col(child_key).list.len()
    return (
        raw.select("_rid", child_key)
        .filter(length > 0)
        .with_columns(pl.int_ranges(0, length, dtype=pl.Int32).alias("_line"))
        .explode(child_key, "_line")
        .unnest(child_key)
    )


def _dedup(
    frame: pl.DataFrame, contested: pl.Series, key: tuple[str, ...], cursor: str | None
) -> pl.DataFrame:
    """Keep one row per key among the ``contested`` rows (``_rid`` values pandera reported as
    duplicate keys) by :func:`~vendorkit.schemas.dedup.latest_versions`: latest cursor, then
    later page, then later index. Fetch order is kept."""
    if contested.len() == 0:
        return frame
    order = ([cursor] if cursor else []) + ["_page", "_index"]
    rivals = frame.filter(pl.col("_rid").is_in(contested.implode())).select("_rid", *key, *order)
    winners = latest_versions(rivals, key, order)
    losers = rivals.filter(~pl.col("_rid").is_in(winners["_rid"].implode()))["_rid"]
    return frame.filter(~pl.col("_rid").is_in(losers.implode()))


def _pandera_failures(
    table: str, typed: pl.DataFrame, provenance: pl.DataFrame, sources: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate ``typed`` with its pandera model (collected frame, ``lazy=True``).

    ``provenance`` is row-aligned with ``typed`` (``_rid``, and ``_line`` for line tables).

    Returns:
        ``(rejects, duplicates)``: value failures as ``_rid, field, reason`` rows, and the
        provenance rows of the key-uniqueness failures (resolved by dedup, or rejected when
        a line number repeats inside one record).

    Raises:
        ValidationError: a failure that is not about a row (wrong dtype, missing column):
            the coercion step produced a wrong frame, which is a vendorkit bug.
    """
    empty = pl.DataFrame(
        schema={"_rid": pl.get_index_type(), "field": pl.String, "reason": pl.String}
    )
    try:
        TABLE_SCHEMAS[table].validate(typed, lazy=True)
    except pa_errors.SchemaErrors as exc:
        error: pa_errors.SchemaErrors = exc
    else:
        return empty, provenance.clear()
    cases = error.failure_cases
    structural = cases.filter(pl.col("index").is_null())
    if structural.height:
        detail = "; ".join(
            f"{r['column']}: {r['check']} ({r['failure_case']})"
            for r in structural.head(5).iter_rows(named=True)
        )
        raise ValidationError(
            f"typed table {table} does not match its schema ({detail}); this is a vendorkit "
            "bug: please report it with the endpoint and sync id"
        ) from error
    is_line = "_line" in provenance.columns
    prov = provenance.with_row_index("index").with_columns(pl.col("index").cast(pl.Int32))
    unique_check = pl.col("check").str.ends_with("uniqueness")
    duplicates = (
        cases.filter(unique_check)
        .select("index")
        .unique()
        .join(prov, on="index", how="inner")
        .sort("index")
        .drop("index")
    )
    cases = cases.filter(~unique_check)
    check = pl.col("check")
    source = pl.col("column").replace_strict(dict(sources), default=pl.col("column"))
    field = pl.format("lines[{}].{}", pl.col("_line"), source) if is_line else source
    reason = (
        pl.when(check.str.starts_with("greater_than_or_equal_to("))
        .then(
            pl.format(
                "must be >= {}, got {}",
                check.str.extract(r"\((.*)\)"),
                pl.col("failure_case"),
            )
        )
        .when(check == "not_nullable")
        .then(pl.lit("missing: null where a value is required"))
        .otherwise(pl.format("failed check {}: {}", check, pl.col("failure_case")))
    )
    rejects = (
        cases.select("index", "column", "check", "failure_case")
        .join(prov, on="index", how="inner")
        .select("_rid", field.alias("field"), reason.alias("reason"))
    )
    return (rejects if rejects.height else empty), duplicates


def _record_key(ep: Endpoint) -> pl.Expr:
    parts = [pl.col(k).str.strip_chars() for k in ep.primary_key]
    return (
        pl.when(pl.all_horizontal([p.is_null() for p in parts]))
        .then(pl.lit(None, pl.String))
        .otherwise(pl.concat_str([p.fill_null("") for p in parts], separator="|"))
    )


def _raw_records(
    ep: Endpoint, raw: pl.DataFrame, rids: pl.Series, bodies: list[bytes]
) -> pl.DataFrame:
    """``_rid, page_number, record_index, record_key, raw_record`` for rejected records.

    The record's exact JSON text is cut out of the body, only for pages that have rejects;
    without a usable body (raw-frame input, 204, not JSON) the raw row itself is serialised.
    """
    wire = list(ep.wire_schema())
    rows = raw.filter(pl.col("_rid").is_in(rids.implode())).select(
        "_rid",
        pl.col("_page").alias("page_number"),
        pl.col("_index").alias("record_index"),
        _record_key(ep).alias("record_key"),
        pl.struct(wire).struct.json_encode().alias("raw_record"),
        "_src",
    )
    if not bodies:
        return rows.drop("_src")
    served: dict[int, str] = {}
    for (src,), group in rows.filter(pl.col("_src").is_not_null()).group_by(
        "_src", maintain_order=True
    ):
        texts = _served_texts(bodies[src], ep.list_key, group["record_index"].to_list())
        for rid, index in group.select("_rid", "record_index").iter_rows():
            if index in texts:
                served[rid] = texts[index]
    if not served:
        return rows.drop("_src")
    found = pl.DataFrame(
        {"_rid": list(served), "_served": list(served.values())},
        schema={"_rid": pl.get_index_type(), "_served": pl.String},
    )
    return (
        rows.join(found, on="_rid", how="left")
        .with_columns(pl.coalesce("_served", "raw_record").alias("raw_record"))
        .drop("_src", "_served")
    )


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, i: int) -> int:
    match = _WS.match(text, i)
    return match.end() if match else i


def _served_texts(body: bytes, list_key: str, indices: list[int]) -> dict[int, str]:
    """Record index -> the record's JSON text exactly as served, for ``indices`` of one page.

    The body is walked only up to the last wanted record (:func:`_record_texts`), so the cost
    is at most one JSON parse of the pages that have rejects; clean pages are never re-read.
    Unreadable bodies give ``{}`` (the caller serialises the parsed row instead).
    """
    if not body or not indices:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    walked = _record_texts(text, list_key, upto=max(indices)) or []
    return {index: walked[index] for index in indices if 0 <= index < len(walked)}


def _record_texts(text: str, list_key: str, upto: int | None = None) -> list[str] | None:
    """The exact JSON text of the records in a page body (``None`` when not readable).

    Walks the top-level object with ``raw_decode`` (so a key name inside a string value
    cannot mislead it) to the ``list_key`` array, then cuts each element out verbatim, up to
    and including index ``upto`` when given (no need to read further).
    Accepts the envelope, a seed-style ``{"inventory": [...]}`` and a bare array.
    """
    try:
        i = _skip_ws(text, 0)
        if text.startswith("{", i):
            i = _skip_ws(text, i + 1)
            while not text.startswith("}", i):
                key, i = _DECODER.raw_decode(text, i)
                i = _skip_ws(text, i)
                if not text.startswith(":", i):
                    return None
                i = _skip_ws(text, i + 1)
                if key == list_key:
                    break
                _, i = _DECODER.raw_decode(text, i)
                i = _skip_ws(text, i)
                if text.startswith(",", i):
                    i = _skip_ws(text, i + 1)
            else:
                return None
        if not text.startswith("[", i):
            return None
        texts = []
        i = _skip_ws(text, i + 1)
        while not text.startswith("]", i):
            _, end = _DECODER.raw_decode(text, i)
            texts.append(text[i:end])
            if upto is not None and len(texts) > upto:
                break
            i = _skip_ws(text, end)
            if text.startswith(",", i):
                i = _skip_ws(text, i + 1)
            elif not text.startswith("]", i):
                return None
        return texts
    except ValueError:  # not JSON after all: the caller falls back
        return None


def _empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTS_SCHEMA)


def normalise(endpoint: str, data: Sequence[_PageLike] | pl.DataFrame, *, sync_id: str) -> Batch:
    """Turn one endpoint's raw pages into typed, validated, deduplicated tables and rejects.

    Args:
        endpoint: a catalog endpoint (``"inventory"``, ``"orders"``, ``"shipments"``, or one
            added with :func:`vendorkit.catalog.register`).
        data: the pages of one fetch (objects with ``number``, ``body`` and ``records``, the
            all-String wire frame), or a raw frame with the wire columns plus ``_page``
            (Int32) and ``_index`` (Int32, the record's 0-based position in its page).
        sync_id: written into every reject row.

    Returns:
        A :class:`Batch`: ``tables`` (exactly the typed-table columns/dtypes; keys unique),
        ``rejects`` (one row per rejected record and failing field) and ``counts``.

    Raises:
        ConfigError: unknown endpoint.
        ContractError: a raw frame without ``_page`` / ``_index``.
        ValidationError: the typed frame breaks its schema structurally (a vendorkit bug).

    Example:
        >>> raw = pl.DataFrame({"partNumber": ["P1", "P2"], "warehouse": ["20", "20"],
        ...     "quantity": ["5", "-1"], "lastUpdated": ["2026-01-02T03:04:05-07:00", None],
        ...     "_page": [1, 1], "_index": [0, 1]})
        >>> batch = normalise("inventory", raw, sync_id="s1")
        >>> batch.tables["inventory"]["quantity_on_hand"].to_list()
        [5]
        >>> batch.rejects.select("field", "reason").row(0)
        ('quantity', 'must be >= 0, got -1')
        >>> (batch.counts.loaded, batch.counts.rejected, batch.counts.coerced)
        (1, 1, 1)
    """
    ep = get_endpoint(endpoint)
    plan = _plan(ep)
    table_names = ep.tables
    raw, bodies = _raw_frame(ep, data)

    header, header_bad = _typed(
        raw, plan.header, plan.statuses, ["_rid", "_page", "_index"], line=False
    )
    rejected = [header_bad]
    lines = None
    if ep.child_key:
        exploded = _explode_lines(raw, ep.child_key)
        lines, line_bad = _typed(exploded, plan.lines, plan.statuses, ["_rid", "_line"], line=True)
        if plan.line_defaults:  # e.g. order lines without lineNumber: their position
            lines = lines.with_columns(
                pl.col(c).fill_null(pl.col("_line") + 1).cast(ep.child.table.column(c).dtype)  # type: ignore[union-attr]
                for c in plan.line_defaults
            )
        rejected.append(line_bad)

    parent_table = table_names[0]
    parent_cols = list(ep.table.names)
    sources = {f.column: f.source for f in plan.header} | {
        f.raw_column: f.source for f in plan.header if f.raw_column
    }
    line_sources = {f.column: f.source for f in plan.lines} | dict.fromkeys(
        plan.line_position_columns, "(position)"
    )

    # pandera validates every candidate (before dedup, so an invalid newer version leaves
    # the older valid one to win); key-uniqueness failures tell the dedup what to resolve.
    candidates = header.filter(~pl.col("_rid").is_in(pl.concat(rejected)["_rid"].implode()))
    parent_bad, parent_dups = _pandera_failures(
        parent_table, candidates.select(parent_cols), candidates.select("_rid"), sources
    )
    rejected.append(parent_bad)
    child = None
    if lines is not None:
        child_table = table_names[1]
        child = lines.join(
            candidates.select("_rid", *plan.line_parent_columns), on="_rid", how="inner"
        ).sort("_rid", "_line")
        if plan.line_position_columns:
            child = child.with_columns(
                (pl.col("_line") + 1).cast(pl.Int32).alias(c) for c in plan.line_position_columns
            )
        child_cols = list(ep.child.table.names)  # type: ignore[union-attr]
        child_keys = list(ep.child.table.key)  # type: ignore[union-attr]
        child_bad, child_dups = _pandera_failures(
            child_table,
            child.select(child_cols),
            child.select("_rid", "_line", *child_keys),
            line_sources,
        )
        # the same line key twice in ONE record is a bad record; across records it is just
        # two versions of one parent, which the parent's dedup resolves
        repeated = child_dups.filter(pl.struct("_rid", *child_keys).is_duplicated())
        key_source = line_sources.get(child_keys[-1], child_keys[-1])
        rejected += [
            child_bad,
            repeated.select(
                "_rid",
                pl.format("lines[{}]." + key_source, pl.col("_line")).alias("field"),
                pl.format(
                    "duplicate {} {} within the record", pl.lit(key_source), pl.col(child_keys[-1])
                ).alias("reason"),
            ),
        ]

    bad = pl.concat(rejected)
    valid = candidates.filter(~pl.col("_rid").is_in(bad["_rid"].implode()))
    winners = _dedup(valid, parent_dups["_rid"], ep.table.key, plan.cursor)
    tables: dict[str, pl.DataFrame] = {parent_table: winners.select(parent_cols)}
    if child is not None:
        kept = winners["_rid"].implode()
        tables[table_names[1]] = child.filter(pl.col("_rid").is_in(kept)).select(child_cols)

    bad_rids = bad["_rid"].unique()
    coerced = winners.get_column("_coerced")
    if lines is not None and lines.height:
        coerced_line_rids = lines.filter(pl.col("_coerced"))["_rid"].unique().implode()
        coerced = coerced | winners.get_column("_rid").is_in(coerced_line_rids)
    counts = BatchCounts(
        fetched=raw.height,
        loaded=winners.height,
        rejected=bad_rids.len(),
        deduplicated=raw.height - bad_rids.len() - winners.height,
        coerced=int(coerced.sum()),
        unknown_status=(
            int((winners.get_column(plan.status) == "UNKNOWN").sum()) if plan.status else 0
        ),
    )

    if bad.height == 0:
        rejects = _empty_rejects()
    else:
        provenance = _raw_records(ep, raw, bad_rids, bodies)
        rejects = (
            bad.unique(maintain_order=True)
            .join(provenance, on="_rid", how="left")
            .sort("_rid", maintain_order=True)
            .select(
                pl.lit(ep.name).alias("endpoint"),
                pl.lit(sync_id).alias("sync_id"),
                "page_number",
                "record_index",
                "record_key",
                "field",
                "reason",
                "raw_record",
            )
            .cast(REJECTS_SCHEMA)  # type: ignore[arg-type]
        )
    return Batch(endpoint=ep.name, sync_id=sync_id, tables=tables, rejects=rejects, counts=counts)


def prepare(endpoints: Iterable[str] | None = None) -> None:
    """Do the one-off work of the first :func:`normalise` of each endpoint now.

    The first validation builds the pandera schemas and makes pandera import its polars
    backend (and what that pulls in: ``hypothesis``, when installed, for the checks'
    strategies), a tenth of a second or more. A sync calls this in the background thread
    that imports this package, so the first chunk does not wait for it.

    Example:
        >>> prepare(["inventory"])
    """
    for name in endpoints if endpoints is not None else list(catalog.ENDPOINTS):
        ep = get_endpoint(name)
        schema = {**ep.wire_schema(), "_page": pl.Int32(), "_index": pl.Int32()}
        normalise(ep.name, pl.DataFrame(schema=schema), sync_id="prepare")
