"""``vendorkit sandbox serve``: run the sandbox Vendor API on a localhost port.

The click group :func:`sandbox` is mounted by ``vendorkit/cli.py``; ``python -m
vendorkit.sandbox serve ...`` runs it on its own.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from datetime import date, datetime, timedelta
from types import FrameType
from typing import Any

import click

from vendorkit.errors import ConfigError, VendorkitError
from vendorkit.sandbox.config import FaultConfig, SandboxConfig

__all__ = ["sandbox", "serve"]


@click.group(help="The built-in sandbox Vendor API (synthetic, deterministic data).")
def sandbox() -> None:
    """The sandbox command group."""


@sandbox.command(help="Serve the sandbox over HTTP until Ctrl-C (prints base and token URLs).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=int, help="Port to listen on (0 = a free port)."
)
@click.option("--seed", default=42, show_default=True, type=int, help="World seed.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=float,
    help="1 = 2,500 inventory rows and 2,000 orders; 100 = 1,000,000 and 200,000.",
)
@click.option(
    "--as-of",
    "as_of",
    default="2026-11-01",
    show_default=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The world's today (YYYY-MM-DD).",
)
@click.option(
    "--max-page-size",
    default=100,
    show_default=True,
    type=int,
    help="Largest accepted pageSize (the contract says 100; lift it for benchmarks).",
)
@click.option(
    "--rate-limit",
    default=None,
    type=int,
    help="Calls per window per endpoint per client id (default: off).",
)
@click.option(
    "--rate-limit-window",
    default=60.0,
    show_default=True,
    type=float,
    help="Rate-limit window in seconds.",
)
@click.option(
    "--token-ttl",
    default=86399.0,
    show_default=True,
    type=float,
    help="Access-token lifetime in seconds.",
)
@click.option(
    "--invalid/--no-invalid",
    default=None,
    help="Serve known-invalid records: 5 per kind per endpoint, or none (default: 1 per "
    "kind, i.e. 3 rejects and 1 duplicate per endpoint).",
)
@click.option(
    "--invalid-count",
    default=None,
    type=int,
    help="Invalid records per kind per endpoint (0 = a clean world).",
)
@click.option(
    "--sync-step-hours",
    default=24.0,
    show_default=True,
    type=float,
    help="Virtual-clock step (with a day's changes) per new session; 0 = off.",
)
@click.option(
    "--fault",
    "fault_opts",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any FaultConfig field, e.g. --fault next_page_self=true --fault retry_after=inf "
    "(repeatable; see docs/sandbox.md).",
)
@click.option(
    "--quirks/--no-quirks",
    default=True,
    show_default=True,
    help="Numbers as strings, int/str warehouse ids, omitted keys, tz offsets, status spellings.",
)
@click.option("--error-rate", default=0.0, type=float, help="Fraction of 500/503 answers.")
@click.option(
    "--burst-429",
    "burst_429",
    default=0.0,
    type=float,
    help="Fraction of requests that start a burst of 429s.",
)
@click.option("--burst-429-length", default=2, type=int, help="429s per burst.")
@click.option("--latency-ms", default=0.0, type=float, help="Added to every response.")
@click.option(
    "--slow-rate", default=0.0, type=float, help="Fraction of responses delayed by --slow-ms."
)
@click.option("--slow-ms", default=5000.0, type=float, help="Delay of a slow response.")
@click.option(
    "--drop-rate", default=0.0, type=float, help="Fraction of connections dropped mid-body."
)
@click.option(
    "--truncate-rate",
    default=0.0,
    type=float,
    help="Fraction of 200 answers whose JSON is cut short.",
)
@click.option(
    "--change-calls",
    default=0,
    type=int,
    help="Records change before each of the first N data calls.",
)
@click.option(
    "--change-fraction", default=0.01, type=float, help="Fraction of records changed per such call."
)
def serve(
    host: str,
    port: int,
    seed: int,
    scale: float,
    as_of: object,
    max_page_size: int,
    rate_limit: int | None,
    rate_limit_window: float,
    token_ttl: float,
    invalid: bool | None,
    invalid_count: int | None,
    sync_step_hours: float,
    fault_opts: tuple[str, ...],
    quirks: bool,
    error_rate: float,
    burst_429: float,
    burst_429_length: int,
    latency_ms: float,
    slow_rate: float,
    slow_ms: float,
    drop_rate: float,
    truncate_rate: float,
    change_calls: int,
    change_fraction: float,
) -> None:
    """Build the world, serve it, stop cleanly on Ctrl-C / SIGTERM (exit 0)."""
    from vendorkit.sandbox import Sandbox

    as_of_date = as_of.date() if hasattr(as_of, "date") else date.fromisoformat(str(as_of))
    try:
        fault_kwargs: dict[str, Any] = dict(
            error_rate=error_rate,
            burst_429_rate=burst_429,
            burst_429_length=burst_429_length,
            latency_ms=latency_ms,
            slow_rate=slow_rate,
            slow_ms=slow_ms,
            drop_rate=drop_rate,
            truncate_rate=truncate_rate,
            change_calls=change_calls,
            change_fraction=change_fraction,
        )
        fault_kwargs.update(_fault_options(fault_opts))
        faults = FaultConfig(**fault_kwargs)
        config = SandboxConfig(
            seed=seed,
            as_of=as_of_date,
            scale=scale,
            quirks=quirks,
            invalid=(
                invalid_count
                if invalid_count is not None
                else SandboxConfig().invalid
                if invalid is None
                else invalid
            ),
            sync_step=timedelta(hours=sync_step_hours) if sync_step_hours > 0 else None,
            faults=faults,
            rate_limit_per_minute=rate_limit,
            rate_limit_window_s=rate_limit_window,
            token_ttl_s=token_ttl,
            max_page_size=max_page_size,
        )
        click.echo(
            f"building sandbox world (seed {seed}, as of {as_of_date}, scale {scale:g})...",
            err=True,
        )
        sb = Sandbox(config)
        server = sb.serve(host=host, port=port)
    except VendorkitError as exc:
        raise click.ClickException(str(exc)) from exc
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo(f"base URL:  {server.base_url}")
        click.echo(f"token URL: {server.token_url}")
        click.echo("any non-empty client id and secret are accepted; Ctrl-C stops", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        click.echo("sandbox stopped", err=True)


def _fault_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs -> FaultConfig keyword arguments, typed from the field defaults."""
    fields = {f.name: f for f in dataclasses.fields(FaultConfig)}
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ConfigError(
                f"--fault {pair!r}: use NAME=VALUE with NAME one of {', '.join(sorted(fields))}"
            )
        default = fields[name].default
        value: Any
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                value = text.lower() in ("true", "1", "yes")
            elif name == "maintenance":
                windows = []
                for span in text.split(","):
                    start, _, end = span.partition("/")
                    windows.append((datetime.fromisoformat(start), datetime.fromisoformat(end)))
                value = tuple(windows)
            elif name in ("retry_after", "rate_limit_remaining", "rate_limit_reset"):
                value = text
            elif name == "expires_in":
                value = int(text) if text.lstrip("-").isdigit() else text
            elif isinstance(default, float) or name.endswith("_s"):
                value = float(text)
            else:
                value = int(text)
        except ValueError:
            raise ConfigError(f"--fault {pair!r}: {text!r} is not a valid {name}") from None
        out[name] = value
    return out
