"""The sandbox and the contract agree with the loader: an empty ``IM-SenderID`` is refused,
unknown methods get the JSON error body on every path (real sockets), and
``vendorkit/openapi.yaml`` states the loader's rules (minimum 0, required keys, Int32 lines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from vendorkit.sandbox import Sandbox, SandboxConfig

from .test_contract import _validator

CONTRACT = Path(__file__).resolve().parents[2] / "vendorkit" / "openapi.yaml"
HEADERS = {"IM-PartnerID": "US123456", "IM-CountryCode": "US", "IM-CorrelationID": "corr-1"}
FORM = {"grant_type": "client_credentials", "client_id": "vendor-app", "client_secret": "s3cret!"}


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))


def test_empty_sender_id_is_refused_with_the_error_body() -> None:
    sb = Sandbox(SandboxConfig(scale=0.02))
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        token = http.post("/oauth/oauth30/token", data=FORM).json()["access_token"]
        auth = {**HEADERS, "Authorization": f"Bearer {token}"}
        r = http.get("/vendors/v1/orders", headers={**auth, "IM-SenderID": ""})
        assert r.status_code == 400 and r.headers["Content-Type"] == "application/json"
        err = r.json()["errors"][0]
        assert err["type"] == "/errors/validation-failed"
        assert [f["field"] for f in err["fields"]] == ["IM-SenderID"]
        ok = http.get("/vendors/v1/orders", headers={**auth, "IM-SenderID": "s"})
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("QUERY", "/oauth/oauth30/token", 405, "POST"),
        ("QUERY", "/vendors/v1/inventory", 405, "GET"),
        ("QUERY", "/vendors/v1/nowhere", 404, None),
    ],
)
def test_unknown_methods_get_the_json_error_body(
    method: str, path: str, status: int, allow: str | None
) -> None:
    """The app answers any method with the JSON error body (sockets: test_sandbox_server)."""
    resp = Sandbox(SandboxConfig(scale=0.02)).app.handle(method, path, "", {}, b"")
    headers = dict(resp.headers)
    assert resp.status == status and headers["Content-Type"] == "application/json"
    assert headers.get("Allow") == allow
    assert json.loads(resp.body)["errors"][0]["type"] in (
        "/errors/method-not-allowed",
        "/errors/not-found",
    )


@pytest.mark.parametrize(
    ("schema", "body", "where"),
    [
        ("InventoryList", {"inventory": [{"warehouse": "20", "quantity": 1}]}, "partNumber"),
        (
            "InventoryList",
            {"inventory": [{"partNumber": "P", "warehouse": "20", "quantity": -1}]},
            "minimum",
        ),
        (
            "InventoryList",
            {"inventory": [{"partNumber": "P", "warehouse": "20", "quantity": "-3"}]},
            "quantity",
        ),
        ("InventoryList", {"inventory": [{"partNumber": "P", "quantity": 1}]}, "warehouse"),
        ("VendorOrderList", {"orders": [{"orderId": "1", "status": "OPEN"}]}, "resellerId"),
        (
            "VendorOrderList",
            {
                "orders": [
                    {
                        "orderId": "1",
                        "resellerId": "R",
                        "status": "OPEN",
                        "lines": [{"quantity": 1}],
                    }
                ]
            },
            "partNumber",
        ),
        (
            "VendorOrderList",
            {
                "orders": [
                    {
                        "orderId": "1",
                        "resellerId": "R",
                        "status": "OPEN",
                        "lines": [{"partNumber": "P", "quantity": 1, "lineNumber": 2**31}],
                    }
                ]
            },
            "maximum",
        ),
        (
            "VendorOrderList",
            {
                "orders": [
                    {
                        "orderId": "1",
                        "resellerId": "R",
                        "status": "OPEN",
                        "lines": [{"partNumber": "P", "quantity": 1, "unitPrice": "-1.50"}],
                    }
                ]
            },
            "unitPrice",
        ),
        ("ShipmentList", {"shipments": [{"id": "S1", "status": "SHIPPED"}]}, "orderId"),
    ],
)
def test_contract_states_what_the_loader_quarantines(
    contract: dict[str, Any], schema: str, body: dict[str, Any], where: str
) -> None:
    errors = list(_validator(contract, schema).iter_errors(body))
    assert errors, f"{schema} accepted {body}"
    text = " ".join(str(e.message) + " " + "/".join(map(str, e.absolute_path)) for e in errors)
    text += " ".join(str(e.validator) for e in errors)
    assert where in text


def test_what_the_sandbox_serves_cleanly_conforms(contract: dict[str, Any]) -> None:
    """Every clean record (quirks on) passes the tightened contract."""
    sb = Sandbox(SandboxConfig(scale=0.05, invalid=0))
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox") as http:
        token = http.post("/oauth/oauth30/token", data=FORM).json()["access_token"]
        auth = {**HEADERS, "Authorization": f"Bearer {token}"}
        for name, schema in (
            ("inventory", "InventoryList"),
            ("orders", "VendorOrderList"),
            ("shipments", "ShipmentList"),
        ):
            validator = _validator(contract, schema)
            page = 1
            while True:
                query = {"pageNumber": page, "pageSize": 100}
                r = http.get(f"/vendors/v1/{name}", headers=auth, params=query)
                if r.status_code == 204:
                    break
                errors = list(validator.iter_errors(r.json()))
                assert not errors, f"{name} page {page}: {errors[0].message}"
                page += 1
