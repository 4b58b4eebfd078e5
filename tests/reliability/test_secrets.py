"""Secrets: the client secret and the access tokens appear nowhere a user could share.

With a recognisable client secret (and the exact tokens the sandbox issued, read back from
it), run a sync with every logger at DEBUG, a failing auth, a failing request and a notebook
execution; then scan the captured logs, exception texts (str, repr, the cause chain and the
formatted traceback), reprs, the DuckDB file (raw bytes and every text/blob column) and the
notebook's outputs. The scan is shown to find a planted secret, so "found nothing" means
something.
"""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path
from typing import Any

import duckdb
import pytest

import vendorkit
from vendorkit.errors import VendorkitError
from vendorkit.sandbox import FaultConfig, SandboxConfig
from vendorkit.store import Store

from .helpers import CLIENT_ID, CLIENT_SECRET, served
from .test_crash import ROOT

pytestmark = pytest.mark.integration


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        if record.exc_info:
            self.texts.append("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture
def debug_logs() -> Any:
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)


def _exception_texts(exc: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(exc))]
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        texts += [str(current), repr(current), repr(current.args)]
        texts += [repr(v) for v in vars(current).values()] if hasattr(current, "__dict__") else []
        current = current.__cause__ or current.__context__
        seen += 1
    return texts


def find_secrets(texts: list[str | bytes], secrets: list[str]) -> list[str]:
    """Which secrets occur in which texts (as ``secret[:6]… in text #i``)."""
    found = []
    for i, text in enumerate(texts):
        for secret in secrets:
            needle: str | bytes = secret.encode() if isinstance(text, bytes) else secret
            if needle in text:  # type: ignore[operator]
                found.append(f"{secret[:6]}… in text #{i}: {str(text)[:200]!r}")
    return found


def _db_texts(db: Path) -> list[str | bytes]:
    """The store's raw bytes (file and WAL) and every text or blob value in every table."""
    texts: list[str | bytes] = []
    for path in (db, Path(str(db) + ".wal")):
        if path.exists():
            texts.append(path.read_bytes())
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND data_type IN ('VARCHAR', 'BLOB')"
        ).fetchall()
        for table, column in columns:
            rows = con.execute(
                f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall()
            for (value,) in rows:
                texts.append(value if isinstance(value, bytes) else str(value))
    finally:
        con.close()
    return texts


def test_the_scan_finds_a_planted_secret(tmp_path: Path) -> None:
    db = tmp_path / "planted.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (a VARCHAR, b BLOB)")
    con.execute("INSERT INTO t VALUES (?, ?)", ["x " + CLIENT_SECRET + " y", b"\x00tok-abc123\x00"])
    con.close()
    texts = _db_texts(db)
    assert find_secrets(texts, [CLIENT_SECRET, "tok-abc123"])
    assert find_secrets(["Bearer " + CLIENT_SECRET], [CLIENT_SECRET])
    assert not find_secrets(["nothing here"], [CLIENT_SECRET])


def test_secrets_never_leak(tmp_path: Path, debug_logs: Capture, tally: Any) -> None:
    db = tmp_path / "secrets.duckdb"
    texts: list[str | bytes] = []
    config = SandboxConfig(
        scale=0.05,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_ttl_s=0.5,  # tokens expire mid-sync: refreshes are logged too
        faults=FaultConfig(error_rate=0.1, truncate_rate=0.05),
    )
    with served(config) as api:
        settings = api.settings(db, max_retries=4)
        texts += [repr(settings), str(settings), repr(settings.model_dump())]

        # 1. a sync with DEBUG logging, faults and token refreshes
        report = vendorkit.sync(settings=settings)
        assert report.ok, report.failed
        texts += [str(report), repr(report), report._repr_html_(), repr(report.to_dict())]
        texts += [repr(Store(db))]

        # 2. a failing auth (wrong secret): AuthError, through the library and the report
        wrong = settings.model_copy(
            update={"client_secret": type(settings.client_secret)("WRONG-" + CLIENT_SECRET)}
        )
        from vendorkit.client import VendorClient

        with VendorClient(wrong) as client:
            texts.append(repr(client))
            with pytest.raises(VendorkitError) as auth_failure:
                client.fetch("orders")
        texts += _exception_texts(auth_failure.value)
        failed_auth = vendorkit.sync(settings=wrong, raise_on_failure=False)
        assert not failed_auth.ok
        texts += [str(failed_auth), repr(failed_auth)]
        secrets = [CLIENT_SECRET, "WRONG-" + CLIENT_SECRET]

        # 3. a failing request (a server that always answers 500) with a valid token
        issued = list(api.sandbox.app._tokens)  # the exact tokens handed out so far
    with served(
        SandboxConfig(
            scale=0.05,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            faults=FaultConfig(error_rate=1.0, max_consecutive=1000),
        )
    ) as broken:
        settings_b = broken.settings(db, max_retries=1)
        with VendorClient(settings_b) as client, pytest.raises(VendorkitError) as api_failure:
            client.fetch("inventory")
        texts += _exception_texts(api_failure.value)
        failed_request = vendorkit.sync(settings=settings_b, raise_on_failure=False)
        assert not failed_request.ok
        texts += [str(failed_request), repr(failed_request)]
        issued += list(broken.sandbox.app._tokens)

    # 4. a notebook that configures, syncs, shows the report and hits an auth error
    notebook_texts = _run_notebook(tmp_path, db)
    texts += notebook_texts

    texts += debug_logs.texts
    texts += _db_texts(db)
    assert issued, "the sandbox issued no token: the scan would look for nothing"
    assert len(debug_logs.texts) > 20, "DEBUG logging captured almost nothing"
    secrets += issued
    # a partial leak counts too: the first 16 characters of every secret and token
    secrets += [s[:16] for s in secrets]
    found = find_secrets(texts, secrets)
    tally.add("secrets_found", len(found))
    tally.add("secret_scan_texts", len(texts))
    tally.note(
        f"secrets: scanned {len(texts)} texts (DEBUG logs, exceptions, reprs, DuckDB file and "
        f"columns, notebook outputs) for the client secret and {len(issued)} issued tokens"
    )
    assert not found, found


_NOTEBOOK_CELLS = [
    "import vendorkit\nsettings = vendorkit.Settings()\nsettings",
    "print(settings)\nsettings.model_dump()",
    "import logging\nlogging.basicConfig(level=logging.DEBUG, force=True)\n"
    "report = vendorkit.sync(settings=settings)\nreport",
    "print(report)\nvendorkit.load_orders(settings=settings).head(3)",
    "wrong = settings.model_copy(update={'client_secret': type(settings.client_secret)("
    "'WRONG-' + settings.client_secret.get_secret_value())})\n"
    "try:\n    vendorkit.sync(settings=wrong)\n"
    "except* vendorkit.AuthError as exc:\n    error = exc\nerror",
    "raise error  # an uncaught error: its traceback lands in the outputs",
]


def _run_notebook(tmp_path: Path, db: Path) -> list[str]:
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in _NOTEBOOK_CELLS]
    config = SandboxConfig(scale=0.05, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with served(config) as api:
        env = {
            "VENDORKIT_BASE_URL": api.server.base_url,
            "VENDORKIT_TOKEN_URL": api.server.token_url,
            "VENDORKIT_CLIENT_ID": CLIENT_ID,
            "VENDORKIT_CLIENT_SECRET": CLIENT_SECRET,
            "VENDORKIT_DB": str(tmp_path / "notebook.duckdb"),
            "VENDORKIT_PAGE_SIZE": "50",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the kernel inherits this process's environment
        try:
            client = nbclient.NotebookClient(
                nb,
                timeout=180,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": str(ROOT)}},
            )
            client.execute()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        issued = list(api.sandbox.app._tokens)
    path = tmp_path / "secrets.ipynb"
    nbformat.write(nb, str(path))
    outputs = [path.read_text(encoding="utf-8")]
    # IPython shows an exception group's traceback as a stderr stream, not an "error" output
    errors = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error" or "Traceback" in str(o.get("text", ""))
    ]
    assert errors, "the last cell should have raised (and its traceback be scanned)"
    assert "AuthError" in outputs[0] or "401" in outputs[0]
    assert issued, "the notebook's sync got no token"
    # the notebook's own tokens are scanned for in its outputs right here
    assert not find_secrets(outputs, issued), "an access token is in the notebook outputs"
    outputs += _db_texts(tmp_path / "notebook.duckdb")  # type: ignore[arg-type]
    return outputs  # type: ignore[return-value]
