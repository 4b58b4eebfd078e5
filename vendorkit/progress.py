"""Progress bars for long work: one tqdm bar per endpoint, fed by the client's events.

The client calls ``on_progress(event)`` with a small event object carrying ``endpoint``,
``pages_done``, ``pages_total`` (``None`` while unknown), ``records``, ``bytes``,
``rate_limit`` (the server's ``X-RateLimit-Limit``, calls per minute, once announced) and,
while it waits for a rate limit or a retry, ``waiting_s`` and ``reason``.
:class:`ProgressBars` is such a callable: pass it as ``on_progress=`` to
:func:`vendorkit.sync` and close it afterwards (it is a context manager). Events may arrive
from several worker threads at once.

Each bar shows pages done / total and an ETA computed from the rate limit
(``ETA 2 h 08 min at 60 calls/min``): against the real API the pace is set by the limit,
not by the machine, so a rate measured over the first seconds says little. The rate used
is the server's announced limit (else the configured ``rate_limit_per_minute``), or the
rate measured since the endpoint's first page when that is faster (a fetch whose pages fit
in the window's budget goes at full speed); without any limit, the measured rate. One page
is one call (retries aside). :func:`eta` is the rule, as a pure function.

Bars are drawn on stderr, and only when stderr is a terminal (``enabled=None``), so scripts,
CI logs and ``--json`` output stay clean. Events never carry secrets, and the bars show only
endpoint names and counts.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

from tqdm import tqdm

__all__ = ["Eta", "ProgressBars", "eta", "format_duration"]

#: tqdm's bar without its own ETA and rate (they measure the machine, not the rate limit)
_BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


def format_duration(seconds: float) -> str:
    """A duration as people read it: ``2 h 08 min``, ``5 min``, ``42 s``.

    Example:
        >>> format_duration(7680), format_duration(300), format_duration(41.6)
        ('2 h 08 min', '5 min', '42 s')
    """
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True, slots=True)
class Eta:
    """The time left for an endpoint, and the rate it assumes.

    Attributes:
        seconds: seconds left.
        calls_per_min: the rate used (one call per page).
        basis: ``"rate limit"`` (announced or configured) or ``"measured"``.
    """

    seconds: float
    calls_per_min: float
    basis: str

    def __str__(self) -> str:
        rate = (
            f"{self.calls_per_min:,.0f}"
            if self.calls_per_min >= 10
            else f"{self.calls_per_min:.1f}"
        )
        suffix = "" if self.basis == "rate limit" else " (measured)"
        return f"ETA {format_duration(self.seconds)} at {rate} calls/min{suffix}"


#: A measured rate at least this share of the rate limit counts as "at the limit" (the
#: windows' edges make the measured rate wobble a little below it).
AT_THE_LIMIT = 0.9


def eta(
    pages_left: int,
    *,
    rate_limit: float | None,
    measured_per_s: float | None,
) -> Eta | None:
    """The ETA of ``pages_left`` pages: at the rate limit (calls per minute) while the sync
    runs at it (measured within :data:`AT_THE_LIMIT` of it, or not measured yet), else at
    the measured rate (pages per second): faster when the pages fit in the budget or no
    limit is known, slower when the server is slower than its limit.

    Example:
        >>> str(eta(7680, rate_limit=60, measured_per_s=0.98))
        'ETA 2 h 08 min at 60 calls/min'
        >>> str(eta(50, rate_limit=60, measured_per_s=25.0))  # the pages fit in the budget
        'ETA 2 s at 1,500 calls/min (measured)'
        >>> str(eta(600, rate_limit=60, measured_per_s=0.5))  # a server slower than its limit
        'ETA 20 min at 30 calls/min (measured)'
        >>> str(eta(600, rate_limit=None, measured_per_s=2.0))
        'ETA 5 min at 120 calls/min (measured)'
        >>> eta(10, rate_limit=None, measured_per_s=None) is None
        True
    """
    limit_per_s = rate_limit / 60.0 if rate_limit else None
    measured = measured_per_s if measured_per_s and measured_per_s > 0 else None
    if limit_per_s is not None and (
        measured is None or AT_THE_LIMIT * limit_per_s <= measured <= limit_per_s
    ):
        return Eta(max(pages_left, 0) / limit_per_s, limit_per_s * 60.0, "rate limit")
    if measured is None:
        return None
    return Eta(max(pages_left, 0) / measured, measured * 60.0, "measured")


@dataclass
class _Pace:
    """When an endpoint's first page arrived, and the rate limit seen."""

    first_at: float | None = None
    first_pages: int = 0
    rate_limit: int | None = None


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
        rate_limit_per_minute: the limit to assume until the server announces one
            (``None``: none; the real API announces 60 on every answer).
        clock: seconds, for the measured rate (default :func:`time.monotonic`; tests pass
            a fake).

    Example:
        >>> from types import SimpleNamespace as Event
        >>> with ProgressBars(enabled=False) as bars:
        ...     bars(Event(endpoint="orders", pages_done=1, pages_total=3, records=100))
        ...     bars(Event(endpoint="orders", pages_done=3, pages_total=3, records=250))
        ...     bars.summary()
        {'orders': {'pages': 3, 'records': 250}}
    """

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        file: IO[str] | None = None,
        desc_width: int = 10,
        rate_limit_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
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
        self._rate_limit = rate_limit_per_minute
        self._clock = clock
        self._pace: dict[str, _Pace] = {}
        self._pages_total: dict[str, int] = {}

    def __call__(self, event: Any) -> None:
        """Record one progress event (and redraw that endpoint's bar)."""
        endpoint = str(_field(event, "endpoint") or "?")
        pages_done = _field(event, "pages_done")
        pages_total = _field(event, "pages_total")
        records = _field(event, "records")
        waiting_s = _field(event, "waiting_s")
        reason = _field(event, "reason")
        rate_limit = _field(event, "rate_limit")
        with self._lock:
            totals = self._totals.setdefault(endpoint, {"pages": 0, "records": 0})
            if pages_done is not None:
                totals["pages"] = max(totals["pages"], int(pages_done))
            if records is not None:
                totals["records"] = max(totals["records"], int(records))
            if pages_total is not None:
                self._pages_total[endpoint] = int(pages_total)
            pace = self._pace.setdefault(endpoint, _Pace())
            if rate_limit:
                pace.rate_limit = int(rate_limit)
            if pace.first_at is None and totals["pages"] > 0:
                pace.first_at, pace.first_pages = self._clock(), totals["pages"]
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
                    bar_format=_BAR_FORMAT,
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
            parts = [f"records={totals['records']:,}"]
            if waiting_s:
                parts.append(
                    f"waiting={float(waiting_s):.1f}s" + (f" ({reason})" if reason else "")
                )
            left = self._eta(endpoint)
            if left is not None and left.seconds > 0:
                parts.append(str(left))
            bar.set_postfix_str(", ".join(parts), refresh=True)

    def eta(self, endpoint: str) -> Eta | None:
        """The ETA of ``endpoint`` now (``None`` until its page total is known).

        Example:
            >>> t = [0.0]
            >>> bars = ProgressBars(enabled=False, clock=lambda: t[0])
            >>> bars({"endpoint": "inventory", "pages_done": 1, "pages_total": 10_000,
            ...       "rate_limit": 60})
            >>> t[0] = 2_400.0  # 2,319 pages in 40 min: a little under the limit
            >>> bars({"endpoint": "inventory", "pages_done": 2_320, "pages_total": 10_000,
            ...       "rate_limit": 60})
            >>> str(bars.eta("inventory"))
            'ETA 2 h 08 min at 60 calls/min'
        """
        with self._lock:
            return self._eta(endpoint)

    def _eta(self, endpoint: str) -> Eta | None:
        total = self._pages_total.get(endpoint)
        pace = self._pace.get(endpoint)
        if total is None or pace is None:
            return None
        done = self._totals.get(endpoint, {}).get("pages", 0)
        measured = None
        if pace.first_at is not None and done > pace.first_pages:
            elapsed = self._clock() - pace.first_at
            if elapsed > 0:
                measured = (done - pace.first_pages) / elapsed
        return eta(
            total - done, rate_limit=pace.rate_limit or self._rate_limit, measured_per_s=measured
        )

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
