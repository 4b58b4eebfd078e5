"""The curated notebooks on any store: the handle they open, and running them from the CLI.

Each notebook in ``notebooks/`` opens with a cell tagged ``parameters`` (the papermill
convention) that names the store to read::

    db = None  # None: VENDORKIT_DB / credentials decide, else a fresh in-memory sandbox

and then ``h = notebook_handle(db)``. With nothing configured (as in CI) that is a fresh
in-memory sandbox store, so nbval compares the stored outputs; with ``VENDORKIT_DB`` set, or
``db`` edited, or credentials configured, the same analysis runs on your own store.

:func:`run_notebooks` (``vendorkit notebooks run --db PATH``) executes copies of the
notebooks against a store by injecting a cell tagged ``injected-parameters`` right after the
``parameters`` cell, as papermill does; the curated notebooks are never modified. On a real
store the notebooks' own check cells (freshness, reject rate, row counts) are the
validation: a failing check fails the run with its message.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vendorkit import errors

if TYPE_CHECKING:
    from vendorkit.handle import Handle

__all__ = ["PARAMETERS_TAG", "inject_parameters", "notebook_handle", "run_notebooks"]

#: the tag of the cell holding a notebook's parameters (papermill's convention)
PARAMETERS_TAG = "parameters"
#: the tag of the cell :func:`run_notebooks` inserts after it
INJECTED_TAG = "injected-parameters"


def notebook_handle(db: str | os.PathLike[str] | None = None) -> Handle:
    """The handle a curated notebook reads.

    - ``db`` given: that store (a file path, or ``":memory:"``);
    - else ``VENDORKIT_DB`` set, or credentials configured: the configured store;
    - else a fresh in-memory store on the built-in sandbox (what CI checks).

    Example:
        >>> h = notebook_handle(":memory:")
        >>> h.settings.db_path, h.source
        (':memory:', 'sandbox')
        >>> h.close()
    """
    from vendorkit.config import Settings
    from vendorkit.handle import connect

    if db is not None:
        return connect(str(db))
    settings = Settings()
    configured = bool(settings.db) or settings.source == "api"
    return connect(settings=settings) if configured else connect(":memory:", settings=settings)


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> bool:
    """Insert a cell assigning ``parameters`` after the notebook's ``parameters`` cell.

    Returns False (and changes nothing) when the notebook has no such cell.

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook()
        >>> nb.cells = [nbformat.v4.new_code_cell("db = None", metadata={"tags": ["parameters"]})]
        >>> inject_parameters(nb, {"db": "vk.duckdb"}), nb.cells[1].source
        (True, "# Parameters\\ndb = 'vk.duckdb'")
    """
    import nbformat

    for index, cell in enumerate(nb.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            source = "# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
            injected = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
            nb.cells.insert(index + 1, injected)
            return True
    return False


def run_notebooks(
    source_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    db: str | os.PathLike[str] | None = None,
    timeout_s: int = 600,
    on_done: Callable[[Path, float], None] | None = None,
    kernel_stderr: bool = False,
) -> list[Path]:
    """Execute copies of ``source_dir/*.ipynb`` into ``out_dir``, optionally on store ``db``.

    Each runs with its working directory set to ``source_dir``'s parent (the repository
    root), like ``jupyter nbconvert --execute`` from there.

    Args:
        source_dir: the curated notebooks (``notebooks/``).
        out_dir: where the executed copies go (created); must differ from ``source_dir``.
        db: the store every notebook reads (injected as its ``db`` parameter); ``None``
            leaves the choice to each notebook (``VENDORKIT_DB``, else a fresh sandbox).
        timeout_s: per-cell timeout.
        on_done: called with (written path, seconds) after each notebook.
        kernel_stderr: let the kernels write to this process's stderr.

    Returns:
        The executed notebooks' paths.

    Raises:
        ConfigError: ``out_dir`` is ``source_dir``, or ``db`` is given and a notebook has no
            ``parameters`` cell, or ``db`` names a store that does not exist.
        VendorkitError: a notebook failed (the message names the notebook and the failing
            check or error; the partial copy is written for inspection).

    Example:
        >>> run_notebooks("notebooks", "notebooks")
        Traceback (most recent call last):
        ...
        vendorkit.errors.ConfigError: refusing to execute notebooks in place in notebooks: the curated notebooks are never overwritten; choose another output directory
    """
    source = Path(source_dir).resolve()
    target = Path(out_dir).resolve()
    if source == target:
        raise errors.ConfigError(
            f"refusing to execute notebooks in place in {source_dir}: the curated notebooks "
            "are never overwritten; choose another output directory"
        )
    if db is not None and str(db) != ":memory:":
        db = Path(db).expanduser().resolve()
        if not db.exists():
            raise errors.ConfigError(
                f"no vendorkit store at {db}: run `vendorkit sync --db {db}` first"
            )
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for notebook_path in sorted(source.glob("*.ipynb")):
        started = time.perf_counter()
        nb = nbformat.read(notebook_path, as_version=4)
        if db is not None and not inject_parameters(nb, {"db": str(db)}):
            raise errors.ConfigError(
                f"notebook {notebook_path.name} has no cell tagged {PARAMETERS_TAG!r}, so it "
                "cannot be pointed at another store; add one (see docs/notebooks.md)"
            )
        client = NotebookClient(
            nb,
            timeout=timeout_s,
            kernel_name="python3",
            resources={"metadata": {"path": str(source.parent)}},
        )
        out_path = target / notebook_path.name
        try:
            client.execute(**({} if kernel_stderr else {"stderr": subprocess.DEVNULL}))
        except CellExecutionError as exc:
            nbformat.write(nb, out_path)
            raise errors.VendorkitError(
                f"notebook {notebook_path.name} failed: {_last_line(exc)}; see the partial "
                f"output in {out_path}"
            ) from exc
        nbformat.write(nb, out_path)
        written.append(out_path)
        if on_done is not None:
            on_done(out_path, time.perf_counter() - started)
    return written


def _last_line(exc: Exception) -> str:
    """The line of a cell error that says what failed (``AssertionError: ...``)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.split(":", 1)[0].endswith(("Error", "Exception")):
            return line
    return lines[-1] if lines else repr(exc)
