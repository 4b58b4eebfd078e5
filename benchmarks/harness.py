"""Measurement plumbing: fresh subprocesses, their wall time and peak RSS, medians, machine info.

Every contender runs in a *fresh* Python process (``python -m benchmarks.contenders NAME``)
so that one contender's imports, caches and heap never flatter or burden the next, and so
that its peak resident set size can be read exactly with :func:`os.wait4` (the kernel's
``ru_maxrss`` of that one child, not of all children together).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "PYCACHE_DIR",
    "ChildRun",
    "Series",
    "child_env",
    "machine_info",
    "median",
    "package_versions",
    "peak_rss_mb",
    "run_child",
]

#: Packages whose versions go into BENCHMARKS.md.
VERSIONED_PACKAGES = (
    "vendorkit",
    "polars",
    "duckdb",
    "httpx",
    "pandera",
    "pyarrow",
    "pandas",
    "requests",
    "dlt",
)


@dataclass(frozen=True, slots=True)
class ChildRun:
    """One finished child process.

    Attributes:
        seconds: what the child reported as its own timed section (imports excluded),
            or the parent's wall clock if it reported nothing.
        wall_s: the parent's wall clock for the whole child, start-up included.
        max_rss_mb: the child's peak resident set size in MiB: the ``peak_rss_mb`` it
            reported (its ``VmHWM``), else the kernel's ``ru_maxrss`` for it.
        result: the JSON object the child printed as its last stdout line.
    """

    seconds: float
    wall_s: float
    max_rss_mb: float
    result: dict[str, Any]


@dataclass(slots=True)
class Series:
    """Repeated runs of the same thing; reports medians.

    Example:
        >>> s = Series("x", [ChildRun(2.0, 2.5, 100.0, {}), ChildRun(1.0, 1.5, 90.0, {})])
        >>> s.seconds, s.max_rss_mb
        (1.5, 100.0)
    """

    name: str
    runs: list[ChildRun] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Median of the timed sections."""
        return median([r.seconds for r in self.runs])

    @property
    def max_rss_mb(self) -> float:
        """Largest peak RSS over the runs (memory is a ceiling, not a typical value)."""
        return max(r.max_rss_mb for r in self.runs)

    @property
    def result(self) -> dict[str, Any]:
        """The last run's reported result (row and request counts are the same each run)."""
        return self.runs[-1].result if self.runs else {}


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB since it exec'd (``VmHWM``).

    Children print this in their result: the kernel's ``ru_maxrss`` of a child also counts
    the parent's pages the child had between ``fork`` and ``exec``, so for a child of a big
    parent it overstates; ``VmHWM`` belongs to the new program only.

    Example:
        >>> peak_rss_mb() > 1
        True
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / 1024 / 1024 if sys.platform == "darwin" else usage / 1024


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence.

    Example:
        >>> median([3.0, 1.0, 2.0])
        2.0
    """
    if not values:
        raise ValueError("median of no values: the benchmark recorded no runs")
    return float(statistics.median(values))


#: Where children keep their bytecode cache (stable, so repeated runs reuse it).
PYCACHE_DIR = Path(tempfile.gettempdir()) / "vendorkit-bench-pycache"


def child_env() -> dict[str, str]:
    """The environment of every benchmark child: bytecode caching on, in a private prefix.

    Some environments (this project's machines among them) set ``PYTHONDONTWRITEBYTECODE``,
    which makes every fresh process compile each imported module from source: seconds per
    child for pandera, pydantic or dlt, charged to whichever contender imports lazily. A
    user's installed environment has its ``.pyc`` files, so children get a cache under
    :data:`PYCACHE_DIR` (warmed by the orchestrator before anything is timed).

    Example:
        >>> "PYTHONDONTWRITEBYTECODE" in child_env()
        False
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_DIR)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 1800.0,
    cwd: str | os.PathLike[str] | None = None,
    launcher: Sequence[str] = (),
) -> ChildRun:
    """Run ``python <args>`` in a fresh process; return its timing, peak RSS and JSON result.

    The child's last stdout line, if it is a JSON object, becomes ``result``; a
    ``"seconds"`` key in it becomes :attr:`ChildRun.seconds`. stderr goes to a temporary
    file and is quoted in the error if the child fails. ``launcher`` replaces the bare
    interpreter (e.g. ``py-spy record ... -- python``); it must end with the interpreter.

    Example:
        >>> run = run_child(["-c", "print('{\\"seconds\\": 0.5}')"])
        >>> run.seconds, run.max_rss_mb > 1
        (0.5, True)
    """
    full_env = child_env()
    if env:
        full_env.update(env)
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*(launcher or [sys.executable]), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
        )
        assert proc.stdout is not None
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            out = proc.stdout.read()
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if wall >= timeout_s:
            raise TimeoutError(
                f"benchmark child `python {' '.join(args)}` killed after {timeout_s:.0f}s; "
                "reduce the scale (--quick) or raise the timeout"
            )
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-4000:]
            raise RuntimeError(
                f"benchmark child `python {' '.join(args)}` exited {proc.returncode}:\n{tail}"
            )
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.strip()]
    result: dict[str, Any] = {}
    if lines:
        try:
            parsed = json.loads(lines[-1])
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            result = parsed
    seconds = float(result.get("seconds", wall))
    if "peak_rss_mb" in result:  # the child's own VmHWM: exact (see peak_rss_mb)
        rss_mb = float(result["peak_rss_mb"])
    else:  # Linux reports ru_maxrss in KiB (macOS in bytes); may include fork-time pages
        rss_kib = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss
        rss_mb = rss_kib / 1024
    return ChildRun(seconds=seconds, wall_s=wall, max_rss_mb=rss_mb, result=result)


def package_versions(names: Sequence[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``"not installed"`` when absent).

    Example:
        >>> "polars" in package_versions(["polars"])
        True
    """
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info() -> dict[str, Any]:
    """CPU, core count, memory, OS and Python of this machine.

    Example:
        >>> machine_info()["cpus"] >= 1
        True
    """
    mem = _mem_total_gib()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count() or 1,
        "memory_gib": round(mem, 1) if mem else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in load] if load else None,
    }
