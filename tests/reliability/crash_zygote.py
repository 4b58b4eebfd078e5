"""A pre-imported parent that forks ``vendorkit sync`` processes on request (crash trials).

Starting a fresh interpreter costs seconds of imports (polars, duckdb, pandera) on a busy
machine; forking this already-imported process costs milliseconds, so 20+ kill -9 trials fit
in a CI budget. Each child runs exactly what the ``vendorkit sync`` command runs
(``vendorkit.cli.main(["sync", ...])``) in its own process, so ``kill -9`` kills a real sync
mid-flight. Nothing here touches polars or DuckDB before forking (no thread pools to inherit).

Protocol (one line each way, on stdin/stdout):
    ``run <db> <base_url> <token_url>``  -> ``pid <pid>``
    ``wait <pid>``                       -> ``status <exit code or -signal>``
    ``quit``
"""

from __future__ import annotations

import os
import sys

import vendorkit.cli
import vendorkit.client
import vendorkit.schemas
import vendorkit.store
import vendorkit.sync


def _child(db: str, base_url: str, token_url: str) -> None:
    os.environ.update(
        {
            "VENDORKIT_BASE_URL": base_url,
            "VENDORKIT_TOKEN_URL": token_url,
            "VENDORKIT_DB": db,
        }
    )
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    code = 0
    try:
        result = vendorkit.cli.main(["sync", "--db", db], standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    except BaseException:
        code = 99
    os._exit(code)


def main() -> None:
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "run":
            pid = os.fork()
            if pid == 0:
                _child(parts[1], parts[2], parts[3])
            print(f"pid {pid}", flush=True)
        elif parts[0] == "wait":
            _, status = os.waitpid(int(parts[1]), 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(f"status {code}", flush=True)
        elif parts[0] == "quit":
            return


if __name__ == "__main__":
    main()
