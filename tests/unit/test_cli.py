"""The CLI: help on every command, clean one-line errors with exit codes, --json, banner.

The library functions behind the commands are replaced by small fakes (monkeypatched on the
``vendorkit`` front door), so these tests check the CLI's own behaviour and never touch the
network or a real store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import polars as pl
import pytest
from click.testing import CliRunner

import vendorkit as vk
from vendorkit import errors
from vendorkit.cli import EXIT_CODES, exit_code_for, main
from vendorkit.handle import Handle
from vendorkit.sync import EndpointSync, SyncReport


def _all_commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, info_name=name, parent=ctx)
            yield from _all_commands(command, sub_ctx, (*prefix, name))


def _commands() -> list[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(main, info_name="vendorkit")
    return list(_all_commands(main, ctx))


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    """A runner; the CLI's logging set-up (level, handler) is undone after each test."""
    logger = logging.getLogger("vendorkit")
    level, handlers = logger.level, list(logger.handlers)
    yield CliRunner()
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A clean environment: no credentials, no .env, so the source is the sandbox."""
    for var in ("VENDORKIT_CLIENT_ID", "VENDORKIT_CLIENT_SECRET", "VENDORKIT_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_the_documented_commands_exist() -> None:
    names = {path for path, _ in _commands()}
    for expected in ["sync", "status", "report", "rejects", "demo"]:
        assert (expected,) in names


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=" ".join)
def test_every_command_has_help_text_and_help_works(runner: CliRunner, path: tuple[str, ...]):
    command = dict(_commands())[path]
    assert (command.help or "").strip(), f"`vendorkit {' '.join(path)}` has no help text"
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    first_line = command.help.strip().splitlines()[0]
    assert first_line[:30] in " ".join(result.output.split())


@pytest.mark.parametrize("path", [("sync",), ("status",), ("report",), ("rejects",), ("demo",)])
def test_shared_options_on_every_data_command(runner: CliRunner, path: tuple[str, ...]):
    out = runner.invoke(main, [*path, "--help"]).output
    for option in ("--db", "--json", "--verbose"):
        assert option in out


def test_exit_codes_are_distinct_per_class() -> None:
    codes = list(EXIT_CODES.values())
    assert len(set(codes)) == len(codes)
    assert 0 not in codes and 2 not in codes  # 2 is click's usage error
    # the nearest class wins
    assert exit_code_for(errors.RateLimitError("x")) == EXIT_CODES[errors.RateLimitError]
    assert exit_code_for(errors.StoreLockedError("x")) != exit_code_for(errors.StoreError("x"))


@pytest.mark.parametrize(
    "exc",
    [
        errors.AuthError("token request refused: invalid_client", endpoint="inventory"),
        errors.StoreLockedError("store /x.duckdb is locked by PID 123;\nretry later"),
        errors.TransportError("connection reset", endpoint="orders", page=3),
    ],
)
def test_library_errors_become_one_clean_line_and_exit_code(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None, exc: Exception
):
    def failing_status(self: Any) -> pl.DataFrame:
        raise exc

    monkeypatch.setattr(Handle, "status", failing_status)
    result = runner.invoke(main, ["status", "--db", ":memory:"])
    assert result.exit_code == exit_code_for(exc)  # type: ignore[arg-type]
    assert result.exit_code not in (0, 1, 2)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"vendorkit: error ({type(exc).__name__}): ")
    assert result.stdout == ""


def test_invalid_settings_are_a_config_error_without_echoing_values(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    monkeypatch.setenv("VENDORKIT_CLIENT_ID", "abc")
    monkeypatch.setenv("VENDORKIT_CLIENT_SECRET", "hunter2-very-secret")
    monkeypatch.setenv("VENDORKIT_BASE_URL", "http://api.example.com/vendors/v1")
    result = runner.invoke(main, ["status"])
    assert result.exit_code == EXIT_CODES[errors.ConfigError]
    assert "VENDORKIT_BASE_URL" in result.stderr
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def _report(outcomes: list[str], failure: Exception | None = None) -> SyncReport:
    rows = [
        EndpointSync(
            name,
            outcome=outcome,
            error=f"{type(failure).__name__}: {failure}" if outcome == "failed" else None,
            exception=failure if outcome == "failed" else None,
        )
        for name, outcome in zip(["inventory", "orders"], outcomes, strict=False)
    ]
    return SyncReport(sync_id="s-test", source="sandbox", rows=rows)


def test_sync_passes_options_and_prints_report_with_sandbox_banner(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None, tmp_path: Any
):
    calls: list[dict[str, Any]] = []

    def fake_sync(
        self, endpoints=None, *, full=False, on_progress=None, raise_on_failure=True, restart=False
    ):
        calls.append(
            {
                "endpoints": endpoints,
                "full": full,
                "db": self.settings.db_path,
                "raise": raise_on_failure,
                "restart": restart,
            }
        )
        on_progress(SimpleNamespace(endpoint="orders", pages_done=1, pages_total=2, records=7))
        return _report(["ok", "ok"])

    monkeypatch.setattr(Handle, "sync", fake_sync)
    db = str(tmp_path / "x.duckdb")
    result = runner.invoke(main, ["sync", "--full", "-e", "orders", "-e", "inventory", "--db", db])
    assert result.exit_code == 0, result.output
    assert calls == [
        {
            "endpoints": ["orders", "inventory"],
            "full": True,
            "db": db,
            "raise": False,
            "restart": False,
        }
    ]
    assert "sync s-test (source: sandbox)" in result.stdout
    calls.clear()
    result = runner.invoke(main, ["sync", "--restart", "--db", db])
    assert result.exit_code == 0, result.output
    assert calls[0]["restart"] is True
    assert result.stderr.count("SANDBOX DATA") == 1  # one notice, not a banner and a log line
    assert "SANDBOX" not in result.stdout


@pytest.mark.parametrize(
    "failure",
    [
        errors.AuthError("token request refused: invalid_client"),
        errors.RateLimitError("429 after every retry"),
        errors.StoreLockedError("locked by PID 7"),
    ],
)
def test_sync_json_is_parseable_and_exit_code_follows_the_original_class(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None, failure: Exception
):
    monkeypatch.setattr(Handle, "sync", lambda *a, **k: _report(["ok", "failed"], failure))
    result = runner.invoke(main, ["sync", "--json", "--db", ":memory:"])
    assert result.exit_code == EXIT_CODES[type(failure)]
    payload = json.loads(result.stdout)
    assert [e["outcome"] for e in payload["endpoints"]] == ["ok", "failed"]
    assert "exception" not in payload["endpoints"][1]
    assert result.stderr.strip().splitlines()[-1].startswith("vendorkit: error (orders): ")


def test_no_banner_with_credentials(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    monkeypatch.setenv("VENDORKIT_CLIENT_ID", "abc")
    monkeypatch.setenv("VENDORKIT_CLIENT_SECRET", "s3cr3t-value")
    monkeypatch.setattr(Handle, "sync", lambda *a, **k: _report(["ok"]))
    result = runner.invoke(main, ["sync", "--db", ":memory:"])
    assert result.exit_code == 0
    assert "SANDBOX" not in result.output


def test_status_json_serialises_dates_and_durations(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    from datetime import UTC, datetime, timedelta

    frame = pl.DataFrame(
        {
            "endpoint": ["inventory"],
            "last_sync_at": [datetime(2026, 11, 1, 12, 0, tzinfo=UTC)],
            "age_s": [int(timedelta(minutes=90).total_seconds())],
            "last_error": [None],
            "rows": [2500],
        }
    )
    monkeypatch.setattr(Handle, "status", lambda self: frame)
    result = runner.invoke(main, ["status", "--json", "--db", ":memory:"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["endpoint"] == "inventory"
    assert rows[0]["last_sync_at"].startswith("2026-11-01T12:00:00")
    assert rows[0]["age_s"] == 5400
    assert rows[0]["rows"] == 2500


def test_rejects_filters_by_endpoint_and_limits(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    frame = pl.DataFrame(
        {
            "endpoint": ["orders", "orders", "orders", "inventory"],
            "key": ["O1", "O2", "O3", "P1|10"],
            "field": ["status", "quantity", "orderDate", "quantity"],
            "reason": ["unknown status", "negative", "bad timestamp", "not a number"],
        }
    )
    monkeypatch.setattr(Handle, "rejects", lambda self: frame)
    result = runner.invoke(
        main, ["rejects", "--endpoint", "orders", "--limit", "2", "--json", "--db", ":memory:"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["total"] == 3
    assert [r["key"] for r in payload["rows"]] == ["O1", "O2"]
    human = runner.invoke(main, ["rejects", "-e", "inventory", "--db", ":memory:"])
    assert "not a number" in human.stdout
    assert "1 of 1 rejects shown" in human.stdout


def test_unknown_endpoint_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["sync", "--endpoint", "invoices"])
    assert result.exit_code == 2
    assert "invoices" in result.output


def test_verbose_logs_are_redacted(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    def chatty_status(self):
        logging.getLogger("vendorkit.client").debug(
            "POST token client_secret=topsecretvalue Authorization: Bearer eyJtoken.abc"
        )
        return pl.DataFrame(
            {"endpoint": ["orders"], "last_error": [None]},
            schema_overrides={"last_error": pl.String},
        )

    monkeypatch.setattr(Handle, "status", chatty_status)
    quiet = runner.invoke(main, ["status", "--db", ":memory:"])
    assert "POST token" not in quiet.stderr
    loud = runner.invoke(main, ["status", "-v", "--db", ":memory:"])
    assert loud.exit_code == 0, loud.output
    assert "POST token" in loud.stderr
    assert "topsecretvalue" not in loud.stderr
    assert "eyJtoken" not in loud.stderr


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert vk.__version__ in result.output


def test_status_shows_blank_cells_and_cuts_long_errors(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    long_error = "TransportError: " + "connection reset by peer " * 10
    frame = pl.DataFrame(
        {"endpoint": ["inventory", "orders"], "last_error": [None, long_error], "rows": [3, None]}
    )
    monkeypatch.setattr(Handle, "status", lambda self: frame)
    human = runner.invoke(main, ["status", "--db", ":memory:"])
    assert human.exit_code == 0, human.output
    assert "null" not in human.stdout
    assert "…" in human.stdout and long_error.strip() not in human.stdout
    table_rows = [line for line in human.stdout.splitlines() if line.startswith("|")]
    assert len(table_rows) == 2 + 2  # header, rule, one line per endpoint (nothing wrapped)
    full = json.loads(runner.invoke(main, ["status", "--json", "--db", ":memory:"]).stdout)
    assert full[1]["last_error"] == long_error


@pytest.mark.parametrize("command", ["status", "rejects"])
def test_read_only_commands_never_create_a_store(
    runner: CliRunner, no_credentials: None, tmp_path: Any, command: str
):
    missing = tmp_path / "typo" / "nested" / "vk.duckdb"
    result = runner.invoke(main, [command, "--db", str(missing)])
    assert result.exit_code == EXIT_CODES[errors.StoreError]
    assert "no vendorkit store at" in result.stderr
    assert not (tmp_path / "typo").exists()


def test_banner_does_not_contradict_a_half_configured_credential(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_credentials: None
):
    monkeypatch.setenv("VENDORKIT_CLIENT_ID", "abc")
    result = runner.invoke(main, ["sync", "--db", ":memory:"])
    assert result.exit_code == EXIT_CODES[errors.ConfigError]
    assert "SANDBOX" not in result.stderr
    assert "VENDORKIT_CLIENT_SECRET is not set" in result.stderr


def test_help_imports_nothing_heavy() -> None:
    """`vendorkit --help` costs about `import vendorkit`: no sandbox, pandera, altair, httpx."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from vendorkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('vendorkit.sandbox', 'pandera', 'altair', 'httpx', 'nbclient', 'pydantic')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Commands:" in out and "sandbox" in out
    assert out.strip().splitlines()[-1] == "[]"


# -- store path problems: one line, the StoreError exit code, no traceback, nothing created --

UNWRITABLE = "/sys/vendorkit-test/vk.duckdb"  # not creatable, not even by root (sysfs)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["sync", "-e", "orders", "--db", UNWRITABLE],
            "cannot create the folder /sys/vendorkit-test",
        ),
        (
            ["sync", "-e", "orders", "--db", "/sys/vk.duckdb"],
            "cannot write the vendorkit store's lock",
        ),
        (["status", "--db", UNWRITABLE], "no vendorkit store at"),
    ],
)
def test_unwritable_store_paths_are_one_clean_line(
    runner: CliRunner, no_credentials: None, argv: list[str], message: str
) -> None:
    result = runner.invoke(main, argv)
    assert result.exit_code == EXIT_CODES[errors.StoreError], result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("vendorkit: error (StoreError): ") and message in last
    assert "Traceback" not in result.output


def test_a_file_that_is_not_duckdb_is_refused_without_a_stray_lock(
    runner: CliRunner, no_credentials: None, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.duckdb"
    notes.write_text("my notes, not a database\n")
    result = runner.invoke(main, ["sync", "-e", "orders", "--db", str(notes)])
    assert result.exit_code == EXIT_CODES[errors.StoreError]
    assert "is not a DuckDB database file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]
    assert notes.read_text() == "my notes, not a database\n"
    status = runner.invoke(main, ["status", "--db", str(notes)])
    assert status.exit_code == EXIT_CODES[errors.StoreError]
    assert "Traceback" not in status.output


def test_sandbox_serve_refuses_a_port_out_of_range(runner: CliRunner) -> None:
    result = runner.invoke(main, ["sandbox", "serve", "--port", "99999"])
    assert result.exit_code == 2
    assert "99999 is not in the range 0<=x<=65535" in result.output
    assert "Traceback" not in result.output
