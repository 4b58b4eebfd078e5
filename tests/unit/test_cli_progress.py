"""ProgressBars: the on_progress callback that draws tqdm bars for sync and demo."""

from __future__ import annotations

import io
import threading
from types import SimpleNamespace as Event

from vendorkit.progress import ProgressBars


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_disabled_when_not_a_tty_but_still_counts() -> None:
    out = io.StringIO()
    with ProgressBars(file=out) as bars:
        assert bars.enabled is False
        bars(Event(endpoint="inventory", pages_done=1, pages_total=25, records=100))
        bars(Event(endpoint="inventory", pages_done=25, pages_total=25, records=2500))
    assert out.getvalue() == ""
    assert bars.summary() == {"inventory": {"pages": 25, "records": 2500}}


def test_draws_one_bar_per_endpoint_on_a_tty() -> None:
    out = _Tty()
    with ProgressBars(file=out) as bars:
        assert bars.enabled is True
        bars(Event(endpoint="orders", pages_done=2, pages_total=4, records=200))
        bars(Event(endpoint="shipments", pages_done=1, pages_total=None, records=50))
        bars(Event(endpoint="orders", pages_done=2, pages_total=4, waiting_s=1.5, reason="429"))
        bars(Event(endpoint="orders", pages_done=4, pages_total=4, records=400))
    text = out.getvalue()
    assert "orders" in text and "shipments" in text
    assert "4/4" in text
    assert "waiting=1.5s (429)" in text
    assert "400" in text


def test_events_as_mappings_and_missing_fields() -> None:
    with ProgressBars(enabled=False) as bars:
        bars({"endpoint": "orders"})
        bars({"endpoint": "orders", "records": 3})
    assert bars.summary() == {"orders": {"pages": 0, "records": 3}}


def test_thread_safe_counts() -> None:
    bars = ProgressBars(file=_Tty())

    def worker(endpoint: str) -> None:
        for page in range(1, 51):
            bars(Event(endpoint=endpoint, pages_done=page, pages_total=50, records=page * 10))

    threads = [threading.Thread(target=worker, args=(e,)) for e in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bars.close()
    assert bars.summary() == {e: {"pages": 50, "records": 500} for e in ("a", "b", "c")}


def test_bars_are_drawn_on_a_pty_that_reports_no_size() -> None:
    """A fresh pty reports 0 x 0 (CI runners, `script`); tqdm used to draw nothing there."""
    import os
    import subprocess
    import sys

    code = (
        "from types import SimpleNamespace as E\n"
        "from vendorkit.progress import ProgressBars\n"
        "with ProgressBars() as bars:\n"
        "    bars(E(endpoint='orders', pages_done=3, pages_total=5, records=300))\n"
    )
    primary, secondary = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], stderr=secondary, timeout=60, check=True
        )
        assert proc.returncode == 0
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO once the pty is drained and closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if secondary != -1:
            os.close(secondary)
        os.close(primary)
    text = b"".join(chunks).decode(errors="replace")
    assert "orders" in text
    assert "3/5" in text
