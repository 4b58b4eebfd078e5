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


def _tiny_notebooks(directory: Path, *, fail: bool = False) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    directory.mkdir(parents=True)
    for name, source in [("a.ipynb", "print(6 * 7)"), ("b.ipynb", "1 / 0" if fail else "2 + 2")]:
        nb = new_notebook(cells=[new_code_cell(source)])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, directory / name)


def test_execute_notebooks_writes_executed_copies(tmp_path: Path) -> None:
    import nbformat

    from vendorkit.errors import ConfigError, VendorkitError
    from vendorkit.report import execute_notebooks

    source = tmp_path / "src"
    _tiny_notebooks(source)
    before = _digest(source)
    done: list[str] = []
    written = execute_notebooks(source, tmp_path / "out", on_done=lambda p, s: done.append(p.name))
    assert [p.name for p in written] == ["a.ipynb", "b.ipynb"] == done
    executed = nbformat.read(written[0], as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    assert _digest(source) == before
    with pytest.raises(ConfigError, match="never overwritten"):
        execute_notebooks(source, source)

    broken = tmp_path / "broken"
    _tiny_notebooks(broken, fail=True)
    with pytest.raises(VendorkitError, match=r"notebook b\.ipynb failed: .*ZeroDivisionError"):
        execute_notebooks(broken, tmp_path / "out2")


def test_demo_without_notebooks(env: Path) -> None:
    out_dir = env / "report"
    result = CliRunner().invoke(
        main, ["demo", "--db", str(env / "d.duckdb"), "--out-dir", str(out_dir), "--skip-notebooks"]
    )
    assert result.exit_code == 0, result.output
    assert "SANDBOX DATA" in result.stderr
    assert f"report:    {out_dir / 'vendorkit-report.html'}" in result.stdout
    assert (out_dir / "vendorkit-report.html").is_file()
    assert not (out_dir / "notebooks").exists()


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


def test_changes_fail_on_new_stockouts_after_a_sync_that_created_one(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`vendorkit changes --fail-on new-stockouts` exits 30 after a sync that brought a new
    stockout (each sandbox sync step creates some on parts with demand), 0 otherwise."""
    from vendorkit.cli import EXIT_CHANGES_FOUND

    monkeypatch.setenv("VENDORKIT_SANDBOX_SCALE", "0.2")
    db = str(env / "store.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["sync", "--db", db]).exit_code == 0
    once = runner.invoke(main, ["changes", "--fail-on", "new-stockouts", "--db", db])
    assert once.exit_code == 0, once.output  # one sync: nothing to compare, nothing to alert
    assert runner.invoke(main, ["sync", "--db", db]).exit_code == 0
    twice = runner.invoke(main, ["changes", "--fail-on", "new-stockouts", "--json", "--db", db])
    assert twice.exit_code == EXIT_CHANGES_FOUND, twice.output
    payload = json.loads(twice.stdout)
    assert payload["triggered"] == ["new_stockout"] and payload["counts"]["new_stockout"] > 0
    stockouts = [c for c in payload["changes"] if c["kind"] == "new_stockout"]
    assert all(c["quantity_before"] > 0 and c["quantity_after"] <= 0 for c in stockouts)
    quiet = runner.invoke(main, ["changes", "--fail-on", "cancellations", "--db", db])
    cancelled = payload["counts"].get("order_cancelled", 0)
    assert quiet.exit_code == (EXIT_CHANGES_FOUND if cancelled else 0)
    bad = runner.invoke(main, ["changes", "--fail-on", "stockouts", "--db", db])
    assert bad.exit_code == 2 and "new-stockouts" in bad.output
