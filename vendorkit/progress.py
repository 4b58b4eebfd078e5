"""Progress bars for long work: one tqdm bar per endpoint, fed by the client's events.

The client calls ``on_progress(event)`` with a small event object carrying ``endpoint``,
``pages_done``, ``pages_total`` (``None`` while unknown), ``records``, ``bytes`` and, while it
waits for a rate limit or a retry, ``waiting_s`` and ``reason``. :class:`ProgressBars` is such
a callable: pass it as ``on_progress=`` to :func:`vendorkit.sync` and close it afterwards
(it is a context manager). Events may arrive from several worker threads at once.

Bars are drawn on stderr, and only when stderr is a terminal (``enabled=None``), so scripts,
CI logs and ``--json`` output stay clean. Events never carry secrets, and the bars show only
endpoint names and counts.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import IO, Any

from tqdm import tqdm

__all__ = ["ProgressBars"]


def _field(event: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from an event object or mapping (events are small dataclasses)."""
    if isinstance(event, Mapping):
        return event.get(name, default)
    return getattr(event, name, default)


class ProgressBars:
    """A thread-safe ``on_progress`` callback drawing one tqdm bar per endpoint.

    Args:
        enabled: draw bars; ``None`` (default) means "only when ``file`` is a TTY".
        file: where to draw (default ``sys.stderr``).
        desc_width: width the endpoint names are padded to, so bars line up.

    Example:
        >>> from types import SimpleNamespace as Event
        >>> with ProgressBars(enabled=False) as bars:
        ...     bars(Event(endpoint="orders", pages_done=1, pages_total=3, records=100))
        ...     bars(Event(endpoint="orders", pages_done=3, pages_total=3, records=250))
        ...     bars.summary()
        {'orders': {'pages': 3, 'records': 250}}
    """

    def __init__(
        self, *, enabled: bool | None = None, file: IO[str] | None = None, desc_width: int = 10
    ) -> None:
        self._file = file if file is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self._file, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._desc_width = desc_width
        self._bars: dict[str, tqdm[Any]] = {}
        self._totals: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        """Record one progress event (and redraw that endpoint's bar)."""
        endpoint = str(_field(event, "endpoint") or "?")
        pages_done = _field(event, "pages_done")
        pages_total = _field(event, "pages_total")
        records = _field(event, "records")
        waiting_s = _field(event, "waiting_s")
        reason = _field(event, "reason")
        with self._lock:
            totals = self._totals.setdefault(endpoint, {"pages": 0, "records": 0})
            if pages_done is not None:
                totals["pages"] = max(totals["pages"], int(pages_done))
            if records is not None:
                totals["records"] = max(totals["records"], int(records))
            if not self.enabled:
                return
            bar = self._bars.get(endpoint)
            if bar is None:
                size = shutil.get_terminal_size((100, 20))
                bar = tqdm(
                    desc=endpoint.ljust(self._desc_width),
                    total=pages_total,
                    unit="page",
                    file=self._file,
                    position=len(self._bars),
                    leave=True,
                    # the terminal's size, or 100 x 20 when it reports none (0 x 0 ptys):
                    # tqdm hides bars below a zero-height screen
                    ncols=min(size.columns, 120),
                    nrows=max(size.lines, 4),
                )
                self._bars[endpoint] = bar
            if pages_total is not None and bar.total != pages_total:
                bar.total = int(pages_total)
            if pages_done is not None and int(pages_done) > bar.n:
                bar.update(int(pages_done) - bar.n)
            postfix = {"records": f"{totals['records']:,}"}
            if waiting_s:
                postfix["waiting"] = f"{float(waiting_s):.1f}s" + (f" ({reason})" if reason else "")
            bar.set_postfix(postfix, refresh=True)

    def summary(self) -> dict[str, dict[str, int]]:
        """Pages and records seen per endpoint so far (largest values reported).

        Example:
            >>> bars = ProgressBars(enabled=False)
            >>> bars({"endpoint": "inventory", "pages_done": 2, "records": 200})
            >>> bars.summary()["inventory"]["records"]
            200
        """
        with self._lock:
            return {k: dict(v) for k, v in self._totals.items()}

    def close(self) -> None:
        """Close every bar (idempotent)."""
        with self._lock:
            for bar in self._bars.values():
                bar.close()
            self._bars.clear()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
