"""vendorkit errors in IPython / Jupyter: a short summary, not a traceback (vendorkit.ipython).

Driven through IPython's own ``InteractiveShell`` (what ipykernel subclasses), not a kernel:
``run_cell`` runs a cell as a notebook does and the shell prints what a cell would show.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell  # with jupyterlab (dev extra)
from IPython.utils.capture import capture_output
from traitlets.config import Config

import vendorkit as vk
from vendorkit.client import VendorClient
from vendorkit.config import Settings
from vendorkit.ipython import install, install_if_running
from vendorkit.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    ip = InteractiveShell.instance(config=config)
    install(ip, force=True)  # vendorkit was imported before this shell existed
    ip.user_ns["vk"] = vk
    try:
        yield ip
    finally:
        InteractiveShell.clear_instance()
        for name in ("last_type", "last_value", "last_traceback"):
            with contextlib.suppress(AttributeError):
                delattr(sys, name)


@pytest.fixture
def sandbox_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handle's client on the sandbox's in-process transport (no sockets)."""
    sandbox = Sandbox(SandboxConfig(scale=0.05))

    @contextlib.contextmanager
    def fake(
        settings: Settings, on_progress: Any = None, *, sandbox_syncs_before: int = 0
    ) -> Iterator[VendorClient]:
        with VendorClient(settings, transport=sandbox.transport(), on_progress=on_progress) as c:
            yield c

    monkeypatch.setattr("vendorkit.client.open_client", fake)


def run(shell: Any, code: str) -> tuple[Any, str, str]:
    with capture_output() as cap:
        result = shell.run_cell(code)
    return result, cap.stdout, cap.stderr


FAILING_SYNC = (
    "h = vk.connect(settings=vk.Settings(db=':memory:', max_page_bytes=2048))\nh.sync()\n"
)


def test_a_failed_sync_shows_each_endpoint_in_one_line_not_a_traceback(
    shell: Any, sandbox_client: None
) -> None:
    result, out, err = run(shell, FAILING_SYNC)
    shown = out + err
    assert "Traceback" not in shown and 'File "' not in shown, shown
    assert err == ""
    lines = out.strip().splitlines()
    assert lines[0].startswith("SyncError: sync ")
    assert "failed for 3 of 3 endpoints; the store keeps the previous data for them" in lines[0]
    for name, line in zip(("inventory", "orders", "shipments"), lines[1:4], strict=True):
        assert line.startswith(f"  {name}: ContractError: GET /{name} page 1: "), line
        assert "VENDORKIT_MAX_PAGE_BYTES=2,048" in line
    assert lines[4:] == [
        "(full traceback: import sys, traceback; traceback.print_exception(sys.last_value))"
    ]
    # the exception itself is untouched: the original group and classes
    error = result.error_in_exec
    assert isinstance(error, vk.SyncError) and isinstance(error, ExceptionGroup)
    assert [type(e) for e in error.exceptions] == [vk.ContractError] * 3
    assert error.report.failed[0].endpoint == "inventory"
    assert sys.last_value is error  # what %tb and %debug read


def test_except_star_still_catches_the_original_class_in_a_cell(
    shell: Any, sandbox_client: None
) -> None:
    code = (
        "h = vk.connect(settings=vk.Settings(db=':memory:', max_page_bytes=2048))\n"
        "try:\n"
        "    h.sync()\n"
        "except* vk.ContractError as group:\n"
        "    caught = group\n"
    )
    result, out, err = run(shell, code)
    assert result.success, (out, err)
    caught = shell.user_ns["caught"]
    assert isinstance(caught, vk.SyncError)
    assert {e.endpoint for e in caught.exceptions} == {"inventory", "orders", "shipments"}


def test_the_hinted_call_prints_the_full_traceback(shell: Any, sandbox_client: None) -> None:
    run(shell, FAILING_SYNC)
    result, _, err = run(shell, "import sys, traceback; traceback.print_exception(sys.last_value)")
    assert result.success
    assert "Exception Group Traceback" in err and "ContractError" in err


def test_tb_shows_the_full_traceback_of_another_vendorkit_error(shell: Any) -> None:
    run(shell, "vk.Settings(page_size=500)")
    _, out, err = run(shell, "%tb")
    assert "Traceback" in out + err and "ConfigError" in out + err


def test_another_vendorkit_error_shows_its_class_and_message(shell: Any) -> None:
    result, out, err = run(shell, "vk.Settings(page_size=500)")
    assert isinstance(result.error_in_exec, vk.ConfigError)
    lines = out.strip().splitlines()
    assert lines[0].startswith("ConfigError: ") and "VENDORKIT_PAGE_SIZE" in lines[0]
    assert lines[1:] == ["(%tb shows the full traceback)"]
    assert "Traceback" not in out + err


def test_errors_that_are_not_vendorkit_errors_keep_their_traceback(shell: Any) -> None:
    _, out, err = run(shell, "1 / 0")
    assert "Traceback" in out + err and "ZeroDivisionError" in out + err
    # a sync group holding a bug (not a vendorkit error) keeps the frames too
    _, out, err = run(shell, "raise vk.SyncError('sync s1 failed', [KeyError('x')])")
    assert "Traceback" in out + err and "KeyError" in out + err


def test_a_users_own_handler_is_kept_unless_load_ext(shell: Any) -> None:
    def mine(self: Any, etype: Any, value: Any, tb: Any, tb_offset: Any = None) -> list[str]:
        print("mine")
        return []

    shell.set_custom_exc((KeyError,), mine)
    assert install(shell) is False
    assert shell.custom_exceptions == (KeyError,)
    run(shell, "%load_ext vendorkit")
    assert shell.custom_exceptions == (vk.VendorkitError,)


def test_outside_ipython_nothing_is_installed() -> None:
    assert install_if_running() is False


def test_import_vendorkit_inside_ipython_installs_the_handler(tmp_path: Path) -> None:
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_cell('import vendorkit as vk')\n"
        "ip.run_cell('raise vk.StoreError(\"the store is gone; sync again\")')\n"
        "print(ip.custom_exceptions)\n"
    )
    root = Path(vk.__file__).parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "IPYTHONDIR": str(tmp_path), "PYTHONPATH": str(root)},
        cwd=root,
    )
    assert "StoreError: the store is gone; sync again\n(%tb shows the full traceback)" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    assert "vendorkit.errors.VendorkitError" in out.stdout
