"""Transport safety: plain http only to loopback, TLS verification on and not silently
disabled, SQL built from whitelisted identifiers and bound parameters only.

No network: URLs are checked at construction, TLS settings are read from the client's
pool, SQL is checked by reading the package source (AST) and by feeding hostile names and
values to the store.
"""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import httpx
import pydantic
import pytest

import vendorkit.client as client_mod
import vendorkit.schemas as schemas
import vendorkit.store as store_mod
from vendorkit.config import Settings, is_loopback
from vendorkit.errors import ConfigError, StoreError

PACKAGE = Path(__file__).resolve().parents[2] / "vendorkit"

REMOTE_HTTP = [
    "http://api.ingrammicro.com/vendors/v1",
    "http://example.com",
    "http://0.0.0.0:8080/vendors/v1",  # all interfaces, not loopback
    "http://127.0.0.1.nip.io/vendors/v1",  # a name that merely starts like loopback
    "http://localhost.example.com/vendors/v1",
    "http://127.0.0.1@example.com/vendors/v1",  # userinfo trick: the host is example.com
    "http://[::ffff:8.8.8.8]/vendors/v1",
    "http://2130706433/vendors/v1",  # 127.0.0.1 as a decimal integer: not a loopback *name*
    "http://10.0.0.1/vendors/v1",
]
LOOPBACK_HTTP = [
    "http://127.0.0.1:8765/vendors/v1",
    "http://127.0.0.2:8765/vendors/v1",
    "http://localhost:8765/vendors/v1",
    "http://[::1]:8765/vendors/v1",
    "http://LOCALHOST:8765/vendors/v1",
]
SECRET = "TRANSPORT-SECRET-1b9f"


@pytest.mark.parametrize("url", REMOTE_HTTP)
@pytest.mark.parametrize("field", ["base_url", "token_url"])
def test_settings_refuse_plain_http_to_a_remote_host(url: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:  # names VENDORKIT_BASE_URL / _TOKEN_URL
        Settings(**{field: url}, client_id="id", client_secret=SECRET)
    text = str(info.value)
    assert "http" in text and f"VENDORKIT_{field.upper()}" in text
    assert SECRET not in text


@pytest.mark.parametrize("url", LOOPBACK_HTTP)
def test_settings_allow_plain_http_to_loopback(url: str) -> None:
    settings = Settings(base_url=url, client_id="id", client_secret=SECRET)
    assert settings.base_url == url.rstrip("/")


def test_https_is_allowed_anywhere() -> None:
    assert Settings(base_url="https://api.ingrammicro.com/vendors/v1").base_url.startswith(
        "https://"
    )


@pytest.mark.parametrize("scheme", ["ftp", "file", "ws", "javascript"])
def test_other_schemes_are_refused(scheme: str) -> None:
    with pytest.raises(ConfigError, match="VENDORKIT_BASE_URL"):
        Settings(base_url=f"{scheme}://api.ingrammicro.com/vendors/v1")


def test_loopback_rule_by_hand() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "example.com", "", None, "127.0.0.1.nip.io")] == [
        False
    ] * 5


@pytest.mark.parametrize("url", REMOTE_HTTP[:4])
def test_client_refuses_plain_http_even_when_settings_are_bypassed(url: str) -> None:
    """``model_construct`` skips pydantic validation; the client checks again."""
    settings = Settings.model_construct(
        **{**Settings().model_dump(), "base_url": url, "client_id": "id"},
    )
    settings = settings.model_copy(update={"client_secret": pydantic.SecretStr(SECRET)})
    with pytest.raises(ConfigError) as info:
        client_mod.VendorClient(settings, transport=httpx.MockTransport(lambda r: None))
    assert SECRET not in str(info.value)
    assert "http" in str(info.value)


def _verify_mode(client: httpx.Client) -> ssl.SSLContext:
    transport = client._transport  # the default HTTPTransport over the network
    pool = transport._pool  # type: ignore[attr-defined]
    return pool._ssl_context  # type: ignore[no-any-return]


def test_client_verifies_tls() -> None:
    settings = Settings(client_id="id", client_secret=SECRET)
    with client_mod.VendorClient(settings) as client:
        context = _verify_mode(client._http)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True


def test_environment_cannot_switch_tls_verification_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables that weaken TLS for other tools leave vendorkit's verification on."""
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.setenv("HTTPX_SSL_VERIFY", "false")
    settings = Settings(client_id="id", client_secret=SECRET)
    with client_mod.VendorClient(settings) as client:
        context = _verify_mode(client._http)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True


def test_the_local_sandbox_gets_httpx_own_transport_like_a_remote_host() -> None:
    """One transport: plain http to loopback is not swapped for another one."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        base_url="http://127.0.0.1:9/vendors/v1",
        client_id="id",
        client_secret=SECRET,
    )
    with client_mod.VendorClient(settings) as client:
        assert type(client._http._transport) is httpx.HTTPTransport


def test_no_transport_of_our_own_outside_the_in_process_sandbox() -> None:
    """The only ``httpx.BaseTransport`` subclass is the sandbox's socket-free transport."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                "Transport" in ast.unparse(base) for base in node.bases
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert found == ["sandbox/server.py:SandboxTransport"]


def _tls_offenders(source: str, name: str) -> list[str]:
    """``verify=`` anything but True, ``CERT_NONE``, unverified contexts, ``check_hostname =``."""
    offenders: list[str] = []
    for node in ast.walk(ast.parse(source, filename=name)):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.keyword) and node.arg == "verify":
            if not (isinstance(node.value, ast.Constant) and node.value.value is True):
                offenders.append(f"{where} verify={ast.unparse(node.value)}")
        elif isinstance(node, ast.Attribute) and node.attr in (
            "CERT_NONE",
            "_create_unverified_context",
        ):
            offenders.append(f"{where} {node.attr}")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "check_hostname":
                    offenders.append(f"{where} check_hostname assignment")
    return offenders


def test_tls_verification_is_not_disabled_anywhere_in_the_package() -> None:
    offenders = [
        o
        for path in sorted(PACKAGE.rglob("*.py"))
        for o in _tls_offenders(path.read_text(encoding="utf-8"), path.name)
    ]
    assert not offenders, offenders


def test_the_tls_scan_can_fail() -> None:
    bad = (
        "import httpx, ssl\n"
        "httpx.Client(verify=False)\n"
        "httpx.Client(verify=settings.verify)\n"
        "ctx = ssl._create_unverified_context()\n"
        "ctx.check_hostname = False\n"
        "ctx.verify_mode = ssl.CERT_NONE\n"
    )
    found = _tls_offenders(bad, "bad.py")
    assert len(found) == 5, found


# --------------------------------------------------------------------------- SQL


_SQL_METHODS = {"execute", "executemany", "sql", "query", "_query"}
#: helpers whose results are safe to interpolate: they quote or build from whitelists
# identifier quoting, and ``_limit`` (refuses anything but a memory-limit token like "64MB")
_SAFE_CALLS = {
    "_q",
    "_ddl",
    "_inventory_view_ddl",
    "_duck_type",
    "join",
    "_cols",
    "_quoted",
    "_limit",
}


def _interpolations(node: ast.AST) -> list[ast.expr]:
    """The expressions an f-string / ``%`` / ``.format`` SQL string interpolates."""
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return [node.right]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return list(node.args) + [k.value for k in node.keywords]
    return []


_UNSAFE_NAME_PARTS = ("value", "param", "text", "input", "user", "raw", "arg")


def _sql_offenders(source: str, name: str) -> tuple[int, list[str]]:
    """(SQL calls seen, interpolations that are not quoted identifiers or built from them)."""
    seen = 0
    offenders: list[str] = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _SQL_METHODS
            and node.args
        ):
            continue
        seen += 1
        for expr in _interpolations(node.args[0]):
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name | ast.Attribute):
                called = expr.func.id if isinstance(expr.func, ast.Name) else expr.func.attr
                if called in _SAFE_CALLS:
                    continue
            # a local assembled from quoted identifiers (cols, order_by, view) is accepted by
            # name; anything that smells like a value is not
            if isinstance(expr, ast.Name) and not any(
                bad in expr.id.lower() for bad in _UNSAFE_NAME_PARTS
            ):
                continue
            offenders.append(f"{name}:{node.lineno} interpolates {ast.unparse(expr)}")
    return seen, offenders


def test_sql_is_built_from_whitelisted_identifiers_only() -> None:
    """Every SQL call's string interpolates only quoted identifiers (``_q``) or names built
    from them; values never enter SQL text (they are bound ``?`` parameters)."""
    seen = 0
    offenders: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        n, found = _sql_offenders(path.read_text(encoding="utf-8"), path.name)
        seen += n
        offenders += found
    assert seen > 10, "no SQL calls found: the scan is not looking at the store"
    assert not offenders, offenders


def test_the_sql_scan_can_fail() -> None:
    bad = (
        "con.execute(f\"SELECT * FROM t WHERE id = '{value}'\")\n"
        "con.execute(\"SELECT * FROM t WHERE id = '%s'\" % user_id)\n"
        "con.sql(\"SELECT {}\".format(row['x']))\n"
        'con.execute(f"SELECT * FROM {_q(table)} WHERE a = ?", [value])\n'
    )
    seen, found = _sql_offenders(bad, "bad.py")
    assert seen == 4
    assert len(found) == 3, found


@pytest.mark.parametrize(
    "name",
    ['orders"; DROP TABLE orders; --', "orders ", "Orders", "1orders", "order-lines", ""],
)
def test_store_refuses_identifiers_outside_the_whitelist(name: str) -> None:
    with store_mod.Store(":memory:") as store:
        with pytest.raises(StoreError):
            store.read_table(name)
        assert store.read_table("orders").height == 0  # still intact
    with pytest.raises(StoreError):
        store_mod._q(name)


def test_hostile_values_are_bound_not_spliced(tmp_path: Path) -> None:
    """Values that would break SQL if spliced are stored and read back verbatim."""
    import polars as pl

    hostile = ["'); DROP TABLE orders; --", 'x" OR 1=1 --', "Ω≈ç√ 🚚", "a\x00b"[:1] + "b"]
    raw = pl.DataFrame(
        {
            "partNumber": hostile,
            "warehouse": ["20"] * len(hostile),
            "warehouseName": ["'; DELETE FROM inventory_history; --"] * len(hostile),
            "quantity": ["1"] * len(hostile),
            "lastUpdated": ["2026-10-01T00:00:00Z"] * len(hostile),
            "_page": pl.Series([1] * len(hostile), dtype=pl.Int32),
            "_index": pl.Series(list(range(len(hostile))), dtype=pl.Int32),
        }
    )
    batch = schemas.normalise("inventory", raw, sync_id="s'; DROP TABLE x; --")
    assert batch.counts.loaded == len(hostile)
    store = store_mod.Store(tmp_path / "vk.duckdb")
    with store.write() as con:
        store.apply_tables(
            con,
            "inventory",
            batch.tables,
            sync_id="s'; DROP TABLE x; --",
            snapshot_at=batch.tables["inventory"]["last_updated"].max(),
            full=True,
        )
    back = store.read_table("inventory")
    assert sorted(back["part_number"].to_list()) == sorted(hostile)
    assert set(back["warehouse_name"].to_list()) == {"'; DELETE FROM inventory_history; --"}
    assert "orders" in store.table_names()
