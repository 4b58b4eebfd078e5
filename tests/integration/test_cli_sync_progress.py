"""``vendorkit sync`` on a terminal: each endpoint's bar shows pages done / total and an
ETA with the rate it assumes, against a rate-limited sandbox over real localhost HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vendorkit.sandbox import Sandbox, SandboxConfig

pytestmark = [pytest.mark.integration]


def _run_on_a_pty(args: list[str], env: dict[str, str]) -> str:
    """Run ``args`` with stdout/stderr on a pty, reading while it runs (a full pty buffer
    would block the child)."""
    primary, secondary = os.openpty()
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, env=env
        )
    finally:
        os.close(secondary)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO once the child is gone and the pty drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
        code = proc.wait(timeout=180)
    text = b"".join(chunks).decode(errors="replace")
    assert code == 0, text
    return text


def test_sync_progress_shows_pages_of_total_and_an_eta(tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxConfig(scale=0.2, invalid=0, rate_limit_per_minute=60))
    with sandbox.serve(host="127.0.0.1", port=0) as server:
        env = {
            **os.environ,
            "VENDORKIT_BASE_URL": server.base_url,
            "VENDORKIT_TOKEN_URL": server.token_url,
            "VENDORKIT_CLIENT_ID": "cli-progress",
            "VENDORKIT_CLIENT_SECRET": "cli-progress-secret",
            "VENDORKIT_PAGE_SIZE": "25",
            "COLUMNS": "160",
        }
        text = _run_on_a_pty(
            [
                sys.executable,
                "-c",
                "from vendorkit.cli import main; main(prog_name='vendorkit')",
                "sync",
                "-e",
                "inventory",
                "--db",
                str(tmp_path / "vk.duckdb"),
            ],
            env,
        )
    # 500 rows at 25 per page: the bar counts 20 pages, and its ETA names the rate used
    assert "20/20" in text, text
    assert re.search(r"ETA \d+ s at [\d,.]+ calls/min", text), text
