"""The ``sandbox`` click group: help text and option validation (no server started)."""

from __future__ import annotations

from click.testing import CliRunner

from vendorkit.sandbox.cli import sandbox


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(sandbox, ["--help"])
    assert top.exit_code == 0 and "serve" in top.output
    serve = runner.invoke(sandbox, ["serve", "--help"])
    assert serve.exit_code == 0
    for option in (
        "--port",
        "--seed",
        "--scale",
        "--as-of",
        "--max-page-size",
        "--rate-limit",
        "--token-ttl",
        "--invalid / --no-invalid",
        "--quirks / --no-quirks",
        "--error-rate",
        "--drop-rate",
        "--truncate-rate",
        "--latency-ms",
        "--slow-rate",
        "--burst-429",
        "--change-calls",
    ):
        assert option in serve.output, option


def test_bad_options_are_clean_errors() -> None:
    runner = CliRunner()
    bad_scale = runner.invoke(sandbox, ["serve", "--scale", "0", "--port", "0"])
    assert bad_scale.exit_code == 1
    assert "scale" in bad_scale.output and "Traceback" not in bad_scale.output
    bad_rate = runner.invoke(sandbox, ["serve", "--error-rate", "2", "--port", "0"])
    assert bad_rate.exit_code == 1 and "error_rate" in bad_rate.output
    bad_date = runner.invoke(sandbox, ["serve", "--as-of", "yesterday"])
    assert bad_date.exit_code == 2
