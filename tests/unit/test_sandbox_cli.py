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


def test_fault_option_sets_any_fault_field() -> None:
    from datetime import UTC, datetime

    from vendorkit.sandbox.cli import _fault_options

    got = _fault_options(
        (
            "next_page_self=true",
            "retry_after=inf",
            "records_found=1000000000000",
            "trickle_body_s=0.5",
            "expires_in=0",
            "maintenance=2026-11-01T23:00:00+00:00/2026-11-02T04:00:00+00:00",
        )
    )
    assert got == {
        "next_page_self": True,
        "retry_after": "inf",
        "records_found": 10**12,
        "trickle_body_s": 0.5,
        "expires_in": 0,
        "maintenance": (
            (datetime(2026, 11, 1, 23, tzinfo=UTC), datetime(2026, 11, 2, 4, tzinfo=UTC)),
        ),
    }
    runner = CliRunner()
    for bad in ("nope=1", "short_pages=many", "endless_body=maybe", "short_pages"):
        r = runner.invoke(sandbox, ["serve", "--port", "0", "--scale", "0.02", "--fault", bad])
        assert r.exit_code == 1 and "--fault" in r.output and "Traceback" not in r.output, bad
