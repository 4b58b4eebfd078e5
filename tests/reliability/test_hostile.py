"""Hostile input: property-based bodies and records against the loader (client + schemas).

Strategies are derived from the contract (``vendorkit/openapi.yaml``): every record property
gets a valid-value strategy from its declared type / format / pattern, then mutations are
mixed in: wrong types, nulls, negatives, huge numbers, NaN-like strings, unicode, very long
strings, dates far out of range, unexpected extra fields, missing keys; and at body level
missing or mistyped envelope keys, non-JSON, an HTML error page with status 200, truncated
JSON, a list key that is not a list.

The loader is the real path: :class:`VendorClient` over an ``httpx.MockTransport`` serving
the body, then :func:`vendorkit.schemas.normalise` on the pages. The properties:

* nothing escapes but a :class:`VendorkitError` (and only for a body that breaks the
  contract as a whole, never for a bad record);
* every record served is either loaded, quarantined with a reason, or dropped as a
  duplicate of its key: ``fetched == loaded + rejected + deduplicated`` and
  ``fetched == records served``;
* records built only from valid values with distinct keys are all loaded; records with a
  mutation that makes them unreadable (missing key, negative or non-numeric quantity,
  unparseable timestamp) are all quarantined, with a reason naming the field.
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vendorkit.client as client_mod
import vendorkit.schemas as schemas
import vendorkit.store as store_mod
from vendorkit.config import Settings
from vendorkit.endpoints import ENDPOINTS, get_endpoint
from vendorkit.errors import VendorkitError

CONTRACT = yaml.safe_load(
    importlib.resources.files("vendorkit").joinpath("openapi.yaml").read_text(encoding="utf-8")
)
HOSTILE_TOKEN = "TOKEN-hostile-8c1d"
LIST_SCHEMAS = {
    "inventory": "InventoryList",
    "orders": "VendorOrderList",
    "shipments": "ShipmentList",
}
HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- contract walk


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = CONTRACT
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _props(schema: Any) -> dict[str, Any]:
    schema = _deref(schema)
    out = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        out.update(_props(part))
    return {k: _deref(v) if "$ref" in v else v for k, v in out.items()}


def record_properties(endpoint: str) -> dict[str, Any]:
    """The record schema's properties of ``endpoint`` as the contract declares them."""
    ep = get_endpoint(endpoint)
    items = _props(CONTRACT["components"]["schemas"][LIST_SCHEMAS[endpoint]])[ep.list_key]
    return _props(items["items"])


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type", "string")
    return [t] if isinstance(t, str) else list(t)


# --------------------------------------------------------------------------- valid values

_BASE = datetime(2026, 10, 1, tzinfo=UTC)
_OFFSETS = ["Z", "+00:00", "-07:00", "+05:30"]
_STATUS = {
    "orders": ["OPEN", "Shipped", "IM::SHIPPED", "im::order_shipped", "Canceled", "ON HOLD"],
    "shipments": ["SHIPPED", "DELIVERED", "In Transit", "IM::SHIPPED"],
}
#: fields that must be positive-or-zero whole numbers when present
_QUANTITIES = {"quantity", "quantityBackordered", "quantityOnOrder", "quantityConfirmed"}


@st.composite
def _timestamp(draw: st.DrawFn) -> str:
    moment = _BASE + timedelta(seconds=draw(st.integers(-(10**7), 10**6)))
    offset = draw(st.sampled_from(_OFFSETS))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if offset == "Z":
        return text + "Z"
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    local = moment + sign * timedelta(hours=hours, minutes=minutes)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset


def valid_value(endpoint: str, name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value the contract allows *and* the tables accept (non-negative quantities)."""
    types = _types(schema)
    if name == "status":
        return st.sampled_from(_STATUS[endpoint])
    if schema.get("format") == "date-time":
        return _timestamp()
    if "number" in types:
        cents = st.integers(0, 10**7)
        return st.one_of(cents.map(lambda c: c / 100), cents.map(lambda c: f"{c / 100:.2f}"))
    if "integer" in types:
        low = 1 if name == "lineNumber" else 0
        ints = st.integers(low, 10**6)
        return st.one_of(ints, ints.map(str)) if "string" in types else ints
    if name == "currencyCode":
        return st.sampled_from(["USD", "EUR", "CAD"])
    # letters, digits, punctuation, symbols (unicode included); no blanks: padding is
    # stripped and a blank id counts as missing
    return st.text(
        st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=12
    )


# --------------------------------------------------------------------------- mutations

#: (label, value, makes the record unreadable when put in a quantity field)
_NUMERIC_POISON = [
    ("negative", -5, True),
    ("negative-text", "-12", True),
    ("huge", 10**30, True),
    ("nan", "NaN", True),
    ("inf", "Infinity", True),
    ("empty", "", None),
    ("words", "twelve", True),
    ("float-text", "1.5", True),
    ("bool", True, None),
    ("list", [1, 2], None),
    ("object", {"value": 1}, None),
]
_TEXT_POISON = [
    ("null", None, None),
    ("unicode", "Ω≈ç√∫˜µ≤≥÷ 部品 🚚\u200b", False),
    ("long", "x" * 20_000, False),
    ("rtl", "\u202eevil", False),
    ("sql", "'); DROP TABLE orders; --", False),
    ("number", 12345, False),
    ("array", [1, "a"], None),
    ("object", {"k": "v"}, None),
]
_DATE_POISON = [
    ("yesterday", "yesterday", True),
    ("month-13", "2026-13-45T00:00:00Z", True),
    ("far-future", "9999-12-31T23:59:59Z", None),
    ("far-past", "0001-01-01T00:00:00Z", None),
    ("year-275760", "+275760-09-13T00:00:00Z", True),
    ("epoch-int", 1_700_000_000, None),
    ("empty", "", None),
]


@dataclass
class Built:
    """A generated record plus what the generator knows about it."""

    record: dict[str, Any]
    key: tuple[str, ...] | None
    must_load: bool
    must_reject: bool
    mutations: list[str] = field(default_factory=list)


def _key_fields(endpoint: str) -> tuple[str, ...]:
    return get_endpoint(endpoint).primary_key


def _poison_for(name: str, schema: dict[str, Any]) -> list[tuple[str, Any, bool | None]]:
    if schema.get("format") == "date-time":
        return [*_DATE_POISON, ("null", None, None)]
    types = _types(schema)
    if "integer" in types or "number" in types:
        poison = [(label, value, must) for label, value, must in _NUMERIC_POISON]
        if name not in _QUANTITIES:  # prices, line numbers: negative/float rules differ
            poison = [(label, value, None) for label, value, _ in poison]
        return [*poison, ("null", None, None)]
    return list(_TEXT_POISON)


@st.composite
def hostile_record(draw: st.DrawFn, endpoint: str, index: int) -> Built:
    """One record: valid values for every declared field (optional ones sometimes omitted),
    then with some probability mutations, extra fields and missing keys."""
    ep = get_endpoint(endpoint)
    props = record_properties(endpoint)
    record: dict[str, Any] = {}
    for name, schema in props.items():
        if name == ep.child_key:
            continue
        if name not in ep.seed_fields and draw(st.booleans()):
            continue  # optional keys are simply omitted
        record[name] = draw(valid_value(endpoint, name, schema))
    # distinct keys: the record's index makes every key unique unless mutated below
    for name in _key_fields(endpoint):
        record[name] = f"K{index}" if name != "warehouse" else draw(st.sampled_from([10, "20"]))
    if ep.child_key:
        line_props = _props(props[ep.child_key]["items"])
        lines = []
        for number in range(1, draw(st.integers(1, 3)) + 1):
            line = {
                n: draw(valid_value(endpoint, n, s))
                for n, s in line_props.items()
                if n in ("partNumber", "quantity") or draw(st.booleans())
            }
            line["lineNumber"] = number
            lines.append(line)
        record[ep.child_key] = lines

    built = Built(record, tuple(str(record[k]) for k in _key_fields(endpoint)), True, False)
    if not draw(st.integers(0, 3)):  # a quarter of the records stay clean
        return built
    built.must_load = False
    targets = [n for n in props if n != ep.child_key]
    fatal_now: dict[str, bool] = {}  # field -> is its *final* value unreadable
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(targets))
        schema = props[name]
        label, value, fatal = draw(st.sampled_from(_poison_for(name, schema)))
        if name in _key_fields(endpoint) and value is None:
            fatal = True
        if name in _key_fields(endpoint) and fatal is not True:
            continue  # a key mutated into another valid text would merely collide
        record[name] = value
        built.mutations.append(f"{name}={label}")
        fatal_now[name] = fatal is True  # a later mutation of the same field replaces it
    # a present value that cannot be read quarantines the record
    built.must_reject = any(fatal_now.values())
    if draw(st.booleans()):
        record[draw(st.sampled_from(["zzExtra", "__proto__", "partnumber", "😀"]))] = draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just({"nested": [1]}))
        )
        built.mutations.append("extra-field")
    if draw(st.integers(0, 5)) == 0:
        gone = draw(st.sampled_from(_key_fields(endpoint)))
        record.pop(gone, None)
        built.mutations.append(f"missing-{gone}")
        built.must_reject = True
    if ep.child_key and record.get(ep.child_key) and draw(st.integers(0, 4)) == 0:
        line = record[ep.child_key][0]
        label, value, fatal = draw(st.sampled_from(_NUMERIC_POISON))
        line["quantity"] = value
        built.mutations.append(f"lines[0].quantity={label}")
        if fatal:
            built.must_reject = True  # an order with one bad line is rejected whole
    return built


@st.composite
def hostile_page(draw: st.DrawFn, endpoint: str) -> tuple[list[Built], dict[str, Any]]:
    count = draw(st.integers(0, 8))
    built = [draw(hostile_record(endpoint, i)) for i in range(count)]
    ep = get_endpoint(endpoint)
    body: dict[str, Any] = {
        "recordsFound": str(count),
        "pageSize": 100,
        "pageNumber": 1,
        "nextPage": None,
        "previousPage": None,
        ep.list_key: [b.record for b in built],
    }
    envelope_mutation = draw(
        st.sampled_from(
            ["none", "none", "drop-all", "drop-some", "int-found", "null-found", "extra-keys"]
        )
    )
    if envelope_mutation == "drop-all":
        body = {ep.list_key: body[ep.list_key]}
    elif envelope_mutation == "drop-some":
        for key in draw(st.sets(st.sampled_from(["pageSize", "pageNumber", "nextPage"]))):
            body.pop(key)
    elif envelope_mutation == "int-found":
        body["recordsFound"] = count
    elif envelope_mutation == "null-found":
        body["recordsFound"] = None
    elif envelope_mutation == "extra-keys":
        body["warnings"] = [{"message": "Ω"}]
        body["totalPages"] = "1"
    return built, body


# --------------------------------------------------------------------------- the loader


def _settings() -> Settings:
    return Settings(
        base_url="https://vendor.example.test/vendors/v1",
        client_id="hostile-id",
        client_secret="hostile-secret",
        max_retries=1,
        workers=1,
    )


def load(endpoint: str, status: int, body: bytes, content_type: str = "application/json") -> Any:
    """Serve ``body`` as page 1 (204 afterwards) and run client + normalise."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/oauth30/token"):
            return httpx.Response(
                200,
                json={"access_token": HOSTILE_TOKEN, "token_type": "Bearer", "expires_in": "3600"},
            )
        if request.url.params.get("pageNumber", "1") != "1":
            return httpx.Response(204)
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    client = client_mod.VendorClient(
        _settings(), transport=httpx.MockTransport(handler), sleep=lambda s: None
    )
    with client:
        pages = list(client.iter_pages(endpoint))
    return schemas.normalise(endpoint, pages, sync_id="hostile"), pages


def _check_batch(endpoint: str, batch: Any, served: int) -> None:
    counts = batch.counts
    assert counts.fetched == served, f"{endpoint}: served {served}, fetched {counts.fetched}"
    assert counts.fetched == counts.loaded + counts.rejected + counts.deduplicated, counts
    parent = next(iter(batch.tables.values()))
    assert parent.height == counts.loaded
    rejects = batch.rejects
    assert rejects["reason"].null_count() == 0
    assert (rejects["reason"].str.len_chars() > 0).all()
    assert rejects.select("page_number", "record_index").unique().height == counts.rejected
    for table, frame in batch.tables.items():
        assert dict(frame.schema) == dict(store_mod.TABLE_SCHEMAS[table]), table
        key = list(store_mod.TABLE_KEYS[table])
        assert frame.select(key).is_unique().all(), f"{table}: duplicate keys"


# --------------------------------------------------------------------------- the properties


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_hostile_records_are_loaded_or_quarantined(endpoint: str, tally: Any) -> None:
    @HYPOTHESIS
    @given(page=hostile_page(endpoint))
    def run(page: tuple[list[Built], dict[str, Any]]) -> None:
        built, body = page
        raw = json.dumps(body, ensure_ascii=False).encode()
        tally.add("hostile_inputs")
        tally.add("hostile_records", len(built))
        batch, _ = load(endpoint, 200, raw)
        _check_batch(endpoint, batch, len(built))
        rejected_at = set(batch.rejects["record_index"].to_list())
        for index, b in enumerate(built):
            if b.must_reject:
                assert index in rejected_at, f"record {index} {b.mutations} was not quarantined"
            if b.must_load:
                assert index not in rejected_at, (
                    f"clean record {index} was quarantined: "
                    f"{batch.rejects.filter(pl.col('record_index') == index).to_dicts()}"
                )
        assert batch.counts.loaded >= sum(b.must_load for b in built)

    run()


_BODY_CASES: list[tuple[str, int, bytes, str]] = [
    ("html-200", 200, b"<!DOCTYPE html><html><body>Service Unavailable</body></html>", "text/html"),
    ("html-200-as-json", 200, b"<html>oops</html>", "application/json"),
    ("plain-text", 200, b"Internal error", "text/plain"),
    ("empty-200", 200, b"", "application/json"),
    (
        "truncated",
        200,
        b'{"recordsFound": "3", "inventory": [{"partNumber": "A"',
        "application/json",
    ),
    ("json-null", 200, b"null", "application/json"),
    ("json-string", 200, b'"inventory"', "application/json"),
    ("json-number", 200, b"42", "application/json"),
    (
        "list-key-object",
        200,
        b'{"recordsFound": "1", "inventory": {"partNumber": "A"}}',
        "application/json",
    ),
    ("list-key-string", 200, b'{"recordsFound": "1", "inventory": "A"}', "application/json"),
    ("list-key-null", 200, b'{"recordsFound": "0", "inventory": null}', "application/json"),
    ("no-list-key", 200, b'{"recordsFound": "5", "pageSize": 100}', "application/json"),
    (
        "records-not-objects",
        200,
        b'{"recordsFound": "2", "inventory": [1, "x"]}',
        "application/json",
    ),
    ("found-not-number", 200, b'{"recordsFound": "lots", "inventory": []}', "application/json"),
    (
        "found-negative",
        200,
        b'{"recordsFound": "-4", "inventory": [{"partNumber": "A", "warehouse": 10, "quantity": 1}]}',
        "application/json",
    ),
    (
        "found-huge",
        200,
        b'{"recordsFound": "99999999999999999999", "inventory": [{"partNumber": "A", "warehouse": 10, "quantity": 1}]}',
        "application/json",
    ),
    (
        "deep-nesting",
        200,
        b'{"inventory": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
        "application/json",
    ),
    (
        "nul-bytes",
        200,
        b'{"inventory": [{"partNumber": "A\\u0000B", "warehouse": 10, "quantity": 1}]}',
        "application/json",
    ),
    (
        "invalid-utf8",
        200,
        b'{"inventory": [{"partNumber": "\xff\xfe", "warehouse": 10, "quantity": 1}]}',
        "application/json",
    ),
    ("bom", 200, b'\xef\xbb\xbf{"inventory": []}', "application/json"),
    (
        "duplicate-keys",
        200,
        b'{"inventory": [{"partNumber": "A", "partNumber": "B", "warehouse": 10, "quantity": 1}]}',
        "application/json",
    ),
    ("500-html", 500, b"<html>down</html>", "text/html"),
    ("400-garbage", 400, b"\x00\x01\x02", "application/octet-stream"),
    ("401-not-fault", 401, b'{"message": "nope"}', "application/json"),
]


@pytest.mark.parametrize(
    ("label", "status", "body", "ctype"), _BODY_CASES, ids=[c[0] for c in _BODY_CASES]
)
def test_hostile_bodies_fail_clearly_or_load_consistently(
    label: str, status: int, body: bytes, ctype: str, tally: Any
) -> None:
    tally.add("hostile_inputs")
    try:
        batch, pages = load("inventory", status, body, ctype)
    except VendorkitError as exc:
        tally.add("hostile_bodies_refused")
        message = str(exc)
        assert "inventory" in message, message
        assert "hostile-secret" not in message and HOSTILE_TOKEN not in message
        return
    served = sum(p.records.height for p in pages)
    _check_batch("inventory", batch, served)


@HYPOTHESIS
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.recursive(
            st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(["recordsFound", "pageSize", "pageNumber", "nextPage", "orders"]),
            st.one_of(
                st.none(),
                st.integers(-(10**20), 10**20),
                st.text(max_size=8),
                st.lists(
                    st.dictionaries(
                        st.sampled_from(["orderId", "lines", "status"]),
                        st.one_of(st.none(), st.text(max_size=4), st.lists(st.none(), max_size=2)),
                        max_size=3,
                    ),
                    max_size=3,
                ),
            ),
            max_size=5,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_arbitrary_bytes_never_escape_as_an_unhandled_exception(data: bytes, tally: Any) -> None:
    tally.add("hostile_inputs")
    try:
        batch, pages = load("orders", 200, data)
    except VendorkitError:
        tally.add("hostile_bodies_refused")
        return
    _check_batch("orders", batch, sum(p.records.height for p in pages))


def test_strategies_come_from_the_contract() -> None:
    """The walk above sees the contract's record fields (so a field added there is fuzzed)."""
    for name, ep in ENDPOINTS.items():
        props = record_properties(name)
        assert set(ep.wire_fields) <= set(props), name
    assert record_properties("inventory")["lastUpdated"]["format"] == "date-time"
