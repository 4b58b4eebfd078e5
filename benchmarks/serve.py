"""Entry point of the benchmark's sandbox server process (see :mod:`benchmarks.server`).

``python -m benchmarks.serve --scale 100 --max-page-size 1000 [--rate-limit R]``

Builds the sandbox world, serves it on ``127.0.0.1`` (a free port), prints
``{"base_url": ..., "token_url": ..., "build_s": ...}`` and then answers ``stats``,
``mutate F`` and ``quit`` on stdin, one JSON line per command.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def _stats(sandbox: Any, server: Any) -> dict[str, Any]:
    for owner in (server, sandbox):
        stats = getattr(owner, "stats", None)
        if stats is None:
            continue
        value = stats() if callable(stats) else stats
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        elif hasattr(value, "__dataclass_fields__"):
            import dataclasses

            value = dataclasses.asdict(value)
        return {"stats": value}
    return {"error": "this sandbox exposes no request statistics"}


def _mutate(sandbox: Any, fraction: float) -> dict[str, Any]:
    for name in ("mutate", "touch", "change"):
        fn = getattr(sandbox, name, None)
        if callable(fn):
            params = inspect.signature(fn).parameters
            kwargs = {"endpoints": None} if "endpoints" in params else {}
            result = fn(fraction, **kwargs)
            return {"mutated": fraction, "result": result}
    return {"error": "this sandbox has no mutate(fraction) admin hook"}


def _start(config: Any) -> tuple[Any, Any]:
    """The public ``Sandbox(config).serve(port=0)``, or its parts while it is not exported."""
    try:
        from vendorkit.sandbox import Sandbox  # type: ignore[attr-defined]
    except ImportError:
        from vendorkit.sandbox.app import SandboxApp
        from vendorkit.sandbox.server import SandboxServer

        app = SandboxApp(config)
        return app, SandboxServer(app, port=0)
    sandbox = Sandbox(config)
    return sandbox, sandbox.serve(port=0)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until ``quit`` or EOF on stdin."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--max-page-size", type=int, default=1000)
    parser.add_argument("--rate-limit", type=int, default=None)
    parser.add_argument("--rate-limit-window", type=float, default=None)
    parser.add_argument("--no-quirks", action="store_true")
    args = parser.parse_args(argv)

    from vendorkit.sandbox.config import SandboxConfig

    overrides: dict[str, Any] = {
        "scale": args.scale,
        "max_page_size": args.max_page_size,
        "rate_limit_per_minute": args.rate_limit,
        "quirks": not args.no_quirks,
        "invalid": 0,  # a clean world: every contender loads the same records
        "sync_step": None,  # and the same world, however many sessions come and go
    }
    if args.rate_limit_window is not None:
        overrides["rate_limit_window_s"] = args.rate_limit_window
    t0 = time.perf_counter()
    sandbox, server = _start(SandboxConfig(**overrides))
    _say(
        {
            "base_url": server.base_url,
            "token_url": server.token_url,
            "build_s": round(time.perf_counter() - t0, 3),
        }
    )
    try:
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            try:
                if command == "quit":
                    break
                if command == "stats":
                    _say(_stats(sandbox, server))
                elif command == "mutate":
                    _say(_mutate(sandbox, float(arg or "0.01")))
                elif command:
                    _say({"error": f"unknown command {command!r}; use stats, mutate F, quit"})
            except (ValueError, TypeError, AttributeError, RuntimeError) as exc:
                _say({"error": f"{command}: {type(exc).__name__}: {exc}"})
    finally:
        for name in ("close", "stop", "shutdown"):
            fn = getattr(server, name, None)
            if callable(fn):
                fn()
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
