"""The API contract (``vendorkit/openapi.yaml``): valid OpenAPI 3.1, a strict superset of the
seed spec, shipped as package data, and saying what API-NOTES.md says it must.

The seed spec is copied verbatim into ``tests/unit/data/seed-openapi.yml`` so the check runs
from a clean clone; when the shared original is on this machine it must be identical.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from vendorkit.endpoints import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_PATH = ROOT / "vendorkit" / "openapi.yaml"
SEED_COPY = Path(__file__).parent / "data" / "seed-openapi.yml"
SEED_SHARED = Path("/work/shared/seeds/ingram-micro-vendor-api-openapi.yml")

LIST_OPS = {
    "/inventory": ("getInventory", "InventoryList", "inventory"),
    "/orders": ("getVendorOrders", "VendorOrderList", "orders"),
    "/shipments": ("getShipments", "ShipmentList", "shipments"),
}


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return yaml.safe_load(SEED_COPY.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- helpers


def _deref(doc: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers until a non-reference node."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local refs expected, got {ref}"
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
        seen += 1
        assert seen < 20, f"reference cycle at {ref}"
    return node


def _properties(doc: dict[str, Any], schema: Any) -> dict[str, Any]:
    """The properties a schema declares, merging its ``allOf`` parts."""
    schema = _deref(doc, schema)
    props: dict[str, Any] = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(_properties(doc, part))
    return props


def _types(doc: dict[str, Any], schema: Any) -> set[str]:
    """The JSON types a schema admits (``type`` as a string or a list, after refs)."""
    schema = _deref(doc, schema)
    t = schema.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else set(t)


def _validator(contract: dict[str, Any], name: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for ``#/components/schemas/<name>``, formats on."""
    resource = Resource.from_contents(contract, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource("urn:vendorkit:contract", resource)
    return Draft202012Validator(
        {"$ref": f"urn:vendorkit:contract#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _assert_compatible(
    contract: dict[str, Any],
    seed: dict[str, Any],
    seed_schema: Any,
    contract_schema: Any,
    where: str,
) -> int:
    """Every property of ``seed_schema`` is in ``contract_schema`` with a type that still
    admits the seed's type (and the same format); recurse into objects and arrays.

    Returns the number of properties compared (so the caller can assert it saw them).
    """
    seed_schema = _deref(seed, seed_schema)
    contract_schema = _deref(contract, contract_schema)
    seed_types = _types(seed, seed_schema)
    contract_types = _types(contract, contract_schema)
    assert seed_types <= contract_types, (
        f"{where}: seed type {sorted(seed_types)} not admitted by contract {sorted(contract_types)}"
    )
    if "format" in seed_schema:
        assert contract_schema.get("format") == seed_schema["format"], f"{where}: format changed"
    compared = 0
    if "items" in seed_schema:
        assert "items" in contract_schema, f"{where}: array items dropped"
        compared += _assert_compatible(
            contract, seed, seed_schema["items"], contract_schema["items"], f"{where}[]"
        )
    seed_props = _properties(seed, seed_schema)
    contract_props = _properties(contract, contract_schema)
    for name, sub in seed_props.items():
        assert name in contract_props, f"{where}.{name}: seed property missing from the contract"
        compared += 1 + _assert_compatible(
            contract, seed, sub, contract_props[name], f"{where}.{name}"
        )
    return compared


# --------------------------------------------------------------------------- validity


def test_contract_is_valid_openapi_3_1(contract: dict[str, Any]) -> None:
    assert contract["openapi"].startswith("3.1.")
    validate(contract, cls=OpenAPIV31SpecValidator)


def test_validator_rejects_broken_copies(contract: dict[str, Any]) -> None:
    """The validity check above can fail: a structural error and a dangling reference."""
    import copy

    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    from referencing.exceptions import Unresolvable

    no_description = copy.deepcopy(contract)
    del no_description["paths"]["/inventory"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError, match="description"):
        validate(no_description, cls=OpenAPIV31SpecValidator)

    dangling = copy.deepcopy(contract)
    dangling["paths"]["/inventory"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] = {"$ref": "#/components/schemas/NoSuchSchema"}
    with pytest.raises(Unresolvable, match="NoSuchSchema"):
        validate(dangling, cls=OpenAPIV31SpecValidator)


def test_seed_copy_matches_the_shared_seed() -> None:
    if not SEED_SHARED.exists():
        pytest.skip("the shared seed is not on this machine; the committed copy is used")
    assert SEED_COPY.read_bytes() == SEED_SHARED.read_bytes()


# --------------------------------------------------------------------------- seed superset


def test_every_seed_path_and_operation_is_kept(
    contract: dict[str, Any], seed: dict[str, Any]
) -> None:
    for path, item in seed["paths"].items():
        assert path in contract["paths"], f"seed path {path} missing"
        for method, op in item.items():
            ours = contract["paths"][path].get(method)
            assert ours is not None, f"{method.upper()} {path} missing"
            assert ours["operationId"] == op["operationId"]
            for status, response in op["responses"].items():
                assert status in ours["responses"], f"{method.upper()} {path}: {status} dropped"
                seed_ref = response["content"]["application/json"]["schema"]["$ref"]
                ours_ref = ours["responses"][status]["content"]["application/json"]["schema"][
                    "$ref"
                ]
                assert ours_ref == seed_ref


def test_every_seed_schema_and_property_is_kept_with_a_compatible_type(
    contract: dict[str, Any], seed: dict[str, Any]
) -> None:
    compared = 0
    for name, schema in seed["components"]["schemas"].items():
        assert name in contract["components"]["schemas"], f"seed schema {name} missing"
        compared += _assert_compatible(
            contract, seed, schema, contract["components"]["schemas"][name], name
        )
    # the seed has 4 + 1 + (4 + 2 lines) + 1 + 5 + 1 properties at every depth, counted by hand
    # (InventoryItem 4, InventoryList 1, VendorOrder 4 with 2 in lines, VendorOrderList 1,
    # Shipment 5, ShipmentList 1); list items are compared through their parent.
    assert compared >= 4 + 1 + 4 + 2 + 1 + 5 + 1


def test_seed_servers_tags_and_info_are_kept(
    contract: dict[str, Any], seed: dict[str, Any]
) -> None:
    urls = [s["url"] for s in contract["servers"]]
    for server in seed["servers"]:
        assert server["url"] in urls
    assert urls[0] == "https://api.ingrammicro.com/vendors/v1", "production stays the default"
    assert "http://127.0.0.1:{port}/vendors/v1" in urls
    tags = {t["name"] for t in contract["tags"]}
    assert {t["name"] for t in seed["tags"]} <= tags
    assert contract["info"]["title"] == seed["info"]["title"]


def test_compatibility_check_catches_a_narrowed_type(
    contract: dict[str, Any], seed: dict[str, Any]
) -> None:
    """The superset check can fail: narrowing ``quantity`` to string only is reported."""
    import copy

    narrowed = copy.deepcopy(contract)
    narrowed["components"]["schemas"]["InventoryItem"]["properties"]["quantity"] = {
        "type": "string"
    }
    with pytest.raises(AssertionError, match=r"InventoryItem\.quantity"):
        _assert_compatible(
            narrowed,
            seed,
            seed["components"]["schemas"]["InventoryItem"],
            narrowed["components"]["schemas"]["InventoryItem"],
            "InventoryItem",
        )


# --------------------------------------------------------------------------- additions


def test_token_endpoint_lives_on_the_host_root(contract: dict[str, Any]) -> None:
    item = contract["paths"]["/oauth/oauth30/token"]
    urls = [s["url"] for s in item["servers"]]
    assert urls == ["https://api.ingrammicro.com", "http://127.0.0.1:{port}"]
    op = item["post"]
    assert op["security"] == [], "the token call itself carries no bearer token"
    form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form = _deref(contract, form)
    assert set(form["required"]) == {"grant_type", "client_id", "client_secret"}
    assert form["properties"]["grant_type"]["enum"] == ["client_credentials"]
    assert {"200", "401"} <= set(op["responses"])


def test_security_scheme_is_client_credentials_with_the_real_token_url(
    contract: dict[str, Any],
) -> None:
    schemes = contract["components"]["securitySchemes"]
    flow = schemes["clientCredentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "https://api.ingrammicro.com/oauth/oauth30/token"
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert {"clientCredentials": []} in contract["security"]


@pytest.mark.parametrize("path", sorted(LIST_OPS))
def test_list_operations_take_the_ingram_headers_and_paging(
    contract: dict[str, Any], path: str
) -> None:
    op = contract["paths"][path]["get"]
    params = {(p["in"], p["name"]): p for p in (_deref(contract, p) for p in op["parameters"])}
    assert params["header", "IM-PartnerID"]["required"] is True
    country = params["header", "IM-CountryCode"]
    assert country["required"] is True
    assert country["schema"]["pattern"] == "^[A-Za-z]{2}$"
    corr = params["header", "IM-CorrelationID"]
    assert corr["required"] is True
    assert corr["schema"]["maxLength"] == 32
    sender = params["header", "IM-SenderID"]
    assert sender["required"] is False
    assert sender["schema"]["maxLength"] == 32
    assert params["query", "pageSize"]["schema"]["maximum"] == 100
    assert params["query", "pageNumber"]["schema"]["minimum"] == 1
    assert params["query", "updatedSince"]["schema"]["format"] == "date-time"


@pytest.mark.parametrize("path", sorted(LIST_OPS))
def test_list_operations_document_every_status(contract: dict[str, Any], path: str) -> None:
    responses = contract["paths"][path]["get"]["responses"]
    assert {"200", "204", "400", "401", "429", "5XX"} <= set(responses)
    assert "content" not in _deref(contract, responses["204"]), "204 has no body"
    headers = responses["200"]["headers"]
    assert _deref(contract, headers["IM-CorrelationID"])["required"] is True
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert _deref(contract, headers[name])["schema"]["type"] == "integer"
    too_many = _deref(contract, responses["429"])
    assert _deref(contract, too_many["headers"]["Retry-After"])["required"] is False


def test_every_wire_field_of_the_endpoint_registry_is_in_the_contract(
    contract: dict[str, Any],
) -> None:
    """endpoints.py (what the client reads) and the contract (what the sandbox serves) agree."""
    by_list_key = {v[2]: v[1] for v in LIST_OPS.values()}
    for endpoint in ENDPOINTS.values():
        list_schema = by_list_key[endpoint.list_key]
        record = _properties(contract, contract["components"]["schemas"][list_schema])[
            endpoint.list_key
        ]["items"]
        props = _properties(contract, record)
        missing = set(endpoint.wire_fields) - set(props)
        assert not missing, f"{endpoint.name}: {sorted(missing)} not in the contract"
        if endpoint.child_key:
            child = _properties(contract, props[endpoint.child_key]["items"])
            missing = set(endpoint.child_fields) - set(child)
            assert not missing, f"{endpoint.name}.lines: {sorted(missing)} not in the contract"


# --------------------------------------------------------------------------- bodies


def test_a_seed_shaped_body_is_still_valid(contract: dict[str, Any]) -> None:
    body = {
        "inventory": [
            {
                "partNumber": "ABC123",
                "warehouse": "20",
                "quantity": 5,
                "lastUpdated": "2020-05-13T00:38:52-07:00",
            }
        ]
    }
    _validator(contract, "InventoryList").validate(body)
    _validator(contract, "VendorOrderList").validate(
        {"orders": [{"orderId": "1", "resellerId": "R", "status": "OPEN", "lines": []}]}
    )
    _validator(contract, "ShipmentList").validate(
        {"shipments": [{"id": "S1", "orderId": "1", "status": "SHIPPED"}]}
    )


def test_a_quirky_enveloped_body_is_valid(contract: dict[str, Any]) -> None:
    body = {
        "recordsFound": "2500",
        "pageSize": 100,
        "pageNumber": 1,
        "nextPage": "/vendors/v1/orders?pageNumber=2&pageSize=100",
        "previousPage": None,
        "orders": [
            {
                "orderId": "20-12345",
                "resellerId": "R001",
                "resellerName": "Acme Resale",
                "status": "im::order_shipped",
                "orderDate": "2026-10-01T09:00:00Z",
                "updatedAt": "2026-10-02T09:00:00+02:00",
                "currencyCode": "USD",
                "lines": [
                    {
                        "lineNumber": "1",
                        "partNumber": "P1",
                        "quantity": "12",
                        "quantityConfirmed": 10,
                        "quantityBackordered": "2",
                        "unitPrice": "199.99",
                        "warehouse": 20,
                    }
                ],
            }
        ],
    }
    _validator(contract, "VendorOrderList").validate(body)


@pytest.mark.parametrize(
    ("schema", "body", "where"),
    [
        ("InventoryList", {"inventory": [{"quantity": "12a"}]}, "quantity"),
        ("InventoryList", {"inventory": [{"quantity": 1.5}]}, "quantity"),
        ("InventoryList", {"inventory": [{"warehouse": None}]}, "warehouse"),
        ("InventoryList", {"inventory": [{"lastUpdated": "yesterday"}]}, "lastUpdated"),
        ("InventoryList", {"recordsFound": "many", "inventory": []}, "recordsFound"),
        ("InventoryList", {"pageSize": 0, "inventory": []}, "pageSize"),
        ("ShipmentList", {"nextPage": 2, "shipments": []}, "nextPage"),
        ("VendorOrderList", {"orders": [{"lines": [{"unitPrice": "1,5"}]}]}, "unitPrice"),
        ("VendorOrderList", {"orders": [{"currencyCode": "usd"}]}, "currencyCode"),
        ("TokenResponse", {"access_token": "x", "token_type": "Bearer"}, "expires_in"),
        ("TokenResponse", {"access_token": "x", "token_type": "B", "expires_in": "1h"}, "1h"),
        ("Fault", {"fault": {"detail": {}}}, "faultstring"),
        ("ErrorResponse", {"errors": []}, "errors"),
    ],
)
def test_bodies_that_break_the_contract_are_rejected(
    contract: dict[str, Any], schema: str, body: dict[str, Any], where: str
) -> None:
    errors = list(_validator(contract, schema).iter_errors(body))
    assert errors, f"{schema} accepted {body}"
    assert any(where in (str(e.message) + "/".join(map(str, e.absolute_path))) for e in errors)


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("TokenResponse", {"access_token": "t", "token_type": "Bearer", "expires_in": "86399"}),
        ("TokenResponse", {"access_token": "t", "token_type": "Bearer", "expires_in": 86399}),
        ("Fault", {"fault": {"faultstring": "Invalid Access Token", "detail": {"errorcode": "x"}}}),
        ("ErrorResponse", {"errors": [{"field": None, "message": "too many requests"}]}),
        (
            "ErrorResponse",
            {
                "errors": [
                    {
                        "id": "e1",
                        "type": "/errors/validation-failed",
                        "message": "IM-CountryCode must be 2 letters",
                        "fields": [{"field": "IM-CountryCode", "value": "USA", "message": "x"}],
                    }
                ]
            },
        ),
    ],
)
def test_documented_token_and_error_bodies_are_valid(
    contract: dict[str, Any], schema: str, body: dict[str, Any]
) -> None:
    _validator(contract, schema).validate(body)


# --------------------------------------------------------------------------- packaging


def test_contract_ships_as_package_data() -> None:
    shipped = importlib.resources.files("vendorkit").joinpath("openapi.yaml")
    assert shipped.is_file()
    assert shipped.read_bytes() == CONTRACT_PATH.read_bytes()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "openapi.yaml" in pyproject["tool"]["setuptools"]["package-data"]["vendorkit"]
