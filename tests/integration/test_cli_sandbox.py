"""The CLI end to end against the built-in sandbox over real localhost HTTP.

``vendorkit sync`` starts the sandbox on a free loopback port (no credentials configured),
syncs into a temporary store; ``status``, ``rejects`` and ``report`` then read that store.
Counts are checked against the sandbox's own ground truth, not against the code under test.
The full ``vendorkit demo`` (which also executes the five notebooks) is marked ``slow``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from vendorkit.cli import main
from vendorkit.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
INVALID_PER_KIND = 2


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in ("VENDORKIT_CLIENT_ID", "VENDORKIT_CLIENT_SECRET", "VENDORKIT_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VENDORKIT_SANDBOX_INVALID", str(INVALID_PER_KIND))
    monkeypatch.chdir(tmp_path)  # no .env from the developer's working directory
    return tmp_path


def test_sync_status_rejects_report(env: Path) -> None:
    db = str(env / "store.duckdb")
    runner = CliRunner()
    sandbox = Sandbox(SandboxConfig(invalid=INVALID_PER_KIND))
    truth = {
        "inventory": sandbox.ground_truth("inventory").height,
        "orders": sandbox.ground_truth("orders").height,
        "shipments": sandbox.ground_truth("shipments").height,
    }

    result = runner.invoke(main, ["sync", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    assert "SANDBOX DATA" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["source"] == "sandbox"
    rows = {r["endpoint"]: r for r in payload["endpoints"]}
    for endpoint, count in truth.items():
        assert rows[endpoint]["loaded"] == count, endpoint
        assert rows[endpoint]["rejected"] > 0, endpoint

    status = runner.invoke(main, ["status", "--db", db, "--json"])
    assert status.exit_code == 0, status.output
    by_endpoint = {r["endpoint"]: r for r in json.loads(status.stdout)}
    assert {ep: by_endpoint[ep]["rows"] for ep in truth} == truth

    rejects = runner.invoke(main, ["rejects", "--db", db, "--json", "--limit", "3"])
    assert rejects.exit_code == 0, rejects.output
    listed = json.loads(rejects.stdout)
    assert len(listed["rows"]) == 3
    assert listed["total"] >= sum(rows[ep]["rejected"] for ep in truth)
    keys_served_invalid = {
        str(k) for ep in truth for k in sandbox.invalid_records(ep)["key"].to_list()
    }
    assert {r["record_key"] for r in listed["rows"]} <= keys_served_invalid | {None}

    out = env / "r" / "report.html"
    report = runner.invoke(main, ["report", "--db", db, "--out", str(out), "--json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["report"] == str(out)
    html = out.read_text(encoding="utf-8")
    assert len(re.findall(r"<figure id=\"chart-[a-z_]+\">\s*<svg", html)) >= 6
    assert 'id="sandbox-banner"' in html


def test_report_on_an_empty_store_is_a_clean_error(env: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--db", str(env / "empty.duckdb")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.stderr.startswith("vendorkit: error (")
    assert "vendorkit sync" in result.stderr


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.glob("*.ipynb"))
    }


@pytest.mark.slow
def test_demo_end_to_end(env: Path) -> None:
    """The README's main command: sync, execute the notebooks, write the report."""
    curated = ROOT / "notebooks"
    before = _digest(curated)
    out_dir = env / "report"
    result = CliRunner().invoke(
        main,
        ["demo", "--db", str(env / "demo.duckdb"), "--out-dir", str(out_dir),
         "--notebooks", str(curated), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert Path(summary["report"]).is_file()
    executed = sorted(Path(p).name for p in summary["notebooks"])
    assert executed == sorted(before)
    assert _digest(curated) == before  # the curated notebooks are never overwritten
    assert (out_dir / "notebooks" / "01_quickstart.ipynb").is_file()
