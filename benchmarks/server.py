"""The benchmark's sandbox server, in its own process, driven over a line protocol.

The server runs in a separate interpreter (``python -m benchmarks.serve``) so its CPU work
never shares the benchmarked process's GIL. It prints one JSON line when it listens
(``{"base_url": ..., "token_url": ...}``) and then answers commands on stdin, one JSON line
each:

* ``stats``          -> the sandbox's request counters (per endpoint, 429s);
* ``mutate F``       -> change a fraction ``F`` of every endpoint's records (incremental
  benchmark) and answer how many changed;
* ``quit`` (or EOF)  -> stop listening and exit.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

from benchmarks.target import Target

__all__ = ["SandboxProcess"]


class SandboxProcess:
    """Start ``python -m benchmarks.serve`` and talk to it; a context manager.

    Example:
        >>> with SandboxProcess(scale=0.2) as server:  # doctest: +SKIP
        ...     server.target.base_url
        'http://127.0.0.1:41234/vendors/v1'
    """

    def __init__(
        self,
        *,
        scale: float = 100.0,
        max_page_size: int = 100,
        rate_limit: int | None = None,
        rate_limit_window_s: float | None = None,
        quirks: bool = True,
        ignore_updated_since: bool = False,
        startup_timeout_s: float = 600.0,
    ) -> None:
        self.args = ["-m", "benchmarks.serve", "--scale", str(scale)]
        self.args += ["--max-page-size", str(max_page_size)]
        if rate_limit is not None:
            self.args += ["--rate-limit", str(rate_limit)]
        if rate_limit_window_s is not None:
            self.args += ["--rate-limit-window", str(rate_limit_window_s)]
        if not quirks:
            self.args.append("--no-quirks")
        if ignore_updated_since:  # a server without the filter (see benchmarks.serve)
            self.args.append("--ignore-updated-since")
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.target: Target | None = None
        self.started_in_s: float | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> Target:
        """Start the server and wait until it listens; return its :class:`Target`."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the server's own errors go to the console
            text=True,
            bufsize=1,
        )
        ready = self._read_line(self.startup_timeout_s)
        self.info = ready
        self.target = Target(base_url=ready["base_url"], token_url=ready["token_url"])
        self.started_in_s = time.perf_counter() - t0
        return self.target

    def _read_line(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise TimeoutError(f"sandbox server did not answer within {timeout_s:.0f}s")
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                code = self.proc.poll()
                raise RuntimeError(f"sandbox server exited (code {code}) before answering")
            line = line.strip()
            if line.startswith("{"):
                parsed = json.loads(line)
                if "error" in parsed:
                    raise RuntimeError(f"sandbox server: {parsed['error']}")
                return dict(parsed)

    def command(self, text: str, timeout_s: float = 300.0) -> dict[str, Any]:
        """Send one command line and return the server's JSON answer."""
        if self.proc is None or self.proc.stdin is None:
            raise RuntimeError("sandbox server is not running; call start() first")
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self._read_line(timeout_s)

    def stats(self) -> dict[str, Any]:
        """The server's request counters (see :mod:`benchmarks.serve`)."""
        return self.command("stats")

    def mutate(self, fraction: float) -> dict[str, Any]:
        """Change ``fraction`` of each endpoint's records (their cursor moves forward)."""
        return self.command(f"mutate {fraction}")

    def close(self) -> None:
        """Ask the server to quit; kill it if it does not within 10 s."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None and proc.poll() is None:
                proc.stdin.write("quit\n")
                proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
