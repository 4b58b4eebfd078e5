"""JupyterLab in a real browser: open a curated notebook, run all cells, find a rendered chart.

Starts JupyterLab headless on a free localhost port with a random token, drives Debian's
``chromium`` through playwright (never ``playwright install``: no browser download), runs every
cell of a copy of ``notebooks/01_quickstart.ipynb`` and waits for the SVG or canvas that
vega-embed draws inside ``.vega-embed``. The charts render offline: the notebooks inline the
vega JavaScript (no CDN).

Skips with the reason when chromium or playwright is not installed:
``apt-get install -y chromium`` and ``pip install playwright``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_quickstart.ipynb"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a copy of the notebook; yields (base url, token)."""
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORKIT_")}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / ".jupyter")  # no user config, no extensions news
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={tmp_path}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # never asks PyPI
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its kernels die with it (killpg below)
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{_tail(tmp_path)}")
            try:
                if httpx.get(f"{base}/api/status", params={"token": token}, timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start within 90 s:\n{_tail(tmp_path)}")
            time.sleep(0.5)
        yield base, token
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its kernels (its own process group)."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue


def _tail(tmp_path: Path) -> str:
    return (tmp_path / "lab.log").read_text(errors="replace")[-3000:]


def test_notebook_runs_and_draws_a_chart_in_chromium(lab: tuple[str, str]) -> None:
    executable = _chromium()
    from playwright import sync_api  # a dev dependency: an import failure is a failure

    base, token = lab
    started = time.monotonic()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                timeout=120_000,
            )
            page.evaluate(
                "async () => {"
                " const panel = window.jupyterapp.shell.currentWidget;"
                " await panel.sessionContext.ready;"
                " await window.jupyterapp.commands.execute('notebook:run-all-cells');"
                "}"
            )
            chart = page.wait_for_selector(
                ".vega-embed svg.marks, .vega-embed canvas.marks", timeout=240_000
            )
            assert chart is not None
            box = chart.bounding_box()
            assert box is not None and box["width"] > 50 and box["height"] > 50
            # every cell ran: the last code cell has an execution count, and nothing failed
            page.wait_for_function(
                "() => { const p = window.jupyterapp.shell.currentWidget;"
                " return p.sessionContext.session.kernel.status === 'idle'"
                " && p.content.widgets.filter(c => c.model.type === 'code')"
                "     .every(c => c.model.executionCount !== null); }",
                timeout=120_000,
            )
            errors = page.locator('[data-mime-type="application/vnd.jupyter.error"]').count()
            assert errors == 0, "a cell raised an error in JupyterLab"
        finally:
            browser.close()
    print(f"\nJupyterLab notebook run + chart in chromium: {time.monotonic() - started:.1f}s")
