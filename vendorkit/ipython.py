"""vendorkit's errors in IPython and Jupyter: the message, not a traceback.

A failed ``h.sync()`` raises :class:`~vendorkit.errors.SyncError`, an
:class:`ExceptionGroup`; IPython (9.x) prints exception groups with the standard library's
formatter, on stderr, frames and all, and ignores ``_render_traceback_`` for them. So
vendorkit registers a custom exception handler for :class:`~vendorkit.errors.VendorkitError`
with the running IPython shell (``InteractiveShell.set_custom_exc``) when it is imported
there, and the cell shows a short error instead::

    SyncError: sync 20261202T010120.353Z-07da5e failed for 1 of 3 endpoints; the store keeps the previous data for it: fix the cause and sync again
      inventory: ContractError: GET /inventory page 1: ... [endpoint=inventory, page=1, ...]
    (full traceback: import sys, traceback; traceback.print_exception(sys.last_value))

Nothing else changes: the exception is the original one (``except*`` and ``except
vk.AuthError`` work as before, ``sys.last_value`` is it), Jupyter still marks the cell as
failed (the summary goes through the shell's own ``_showtraceback``, so ipykernel sends an
``error`` message), ``sys.last_value`` holds it for ``%debug`` and for
``traceback.print_exception`` (``%tb`` too, except for groups: IPython's ``%tb`` cannot print
an exception group), and ``%pdb on`` still opens the debugger. A sync whose group holds an exception that is not a vendorkit error (a
bug) keeps IPython's full traceback. A handler the user registered first is left alone;
``%load_ext vendorkit`` installs vendorkit's over it explicitly.

Outside IPython this module does nothing (and ``import vendorkit`` never imports IPython).
"""

from __future__ import annotations

import sys
from typing import Any

from vendorkit.errors import SyncError, VendorkitError

__all__ = ["error_summary", "install", "install_if_running", "load_ipython_extension"]

_HINT = "(%tb shows the full traceback)"
#: IPython's %tb prints nothing useful for an exception group (it calls print_exc() without one)
_GROUP_HINT = "(full traceback: import sys, traceback; traceback.print_exception(sys.last_value))"


def _indented(prefix: str, text: str) -> list[str]:
    lines = text.splitlines() or [""]
    return [prefix + lines[0], *("    " + line for line in lines[1:])]


def error_summary(exc: BaseException) -> list[str] | None:
    """The short lines shown for a vendorkit error, or ``None`` to keep the traceback.

    A :class:`~vendorkit.errors.SyncError` gives one line for the sync, one per failed
    endpoint (its original error class and message) and the hint; any other vendorkit
    error gives ``Class: message`` and the hint. ``None`` for anything else, and for a
    group holding an exception vendorkit did not raise on purpose (a bug wants its frames).

    Example:
        >>> from vendorkit.errors import AuthError
        >>> err = SyncError("sync s1 failed", [AuthError("token refused", endpoint="orders")])
        >>> print("\\n".join(error_summary(err)))
        SyncError: sync s1 failed for 1 endpoint; the store keeps the previous data for it: fix the cause and sync again
          orders: AuthError: token refused [endpoint=orders]
        (full traceback: import sys, traceback; traceback.print_exception(sys.last_value))
        >>> error_summary(ValueError("not ours")) is None
        True
    """
    if isinstance(exc, SyncError):
        inner = list(exc.exceptions)
        if not inner or not all(isinstance(e, VendorkitError) for e in inner):
            return None
        report = getattr(exc, "report", None)
        rows = getattr(report, "rows", None)
        failed = len(inner)
        sync_id = getattr(report, "sync_id", None) or _sync_id_of(exc.message)
        of = f"{failed} of {len(rows)} endpoints" if rows else f"{failed} endpoint"
        if not rows and failed > 1:
            of += "s"
        them = "it" if failed == 1 else "them"
        head = f"sync {sync_id} failed for {of}" if sync_id else f"the sync failed for {of}"
        lines = [
            f"{type(exc).__name__}: {head}; the store keeps the previous data for {them}: "
            "fix the cause and sync again"
        ]
        for error in inner:
            where = getattr(error, "endpoint", None) or "sync"
            lines += _indented(f"  {where}: {type(error).__name__}: ", str(error))
        return [*lines, _GROUP_HINT]
    if isinstance(exc, VendorkitError):
        return [*_indented(f"{type(exc).__name__}: ", str(exc)), _HINT]
    return None


def _sync_id_of(message: str) -> str | None:
    words = message.split()
    if len(words) >= 2 and words[0] == "sync":
        return words[1]
    return None


def _show(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> None:
    """The custom exception handler (IPython binds it to the shell)."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %tb, %debug
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    lines = error_summary(value)
    if lines is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return
    shell._showtraceback(etype, value, lines)  # ipykernel: an `error` message for the cell
    if getattr(shell, "call_pdb", False):
        shell.debugger(force=True)


def install(shell: Any, *, force: bool = False) -> bool:
    """Show vendorkit errors briefly in ``shell`` (an IPython ``InteractiveShell``).

    Returns whether vendorkit's handler is installed. A custom exception handler someone
    else registered is kept unless ``force``.
    """
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if current and current != (VendorkitError,) and not force:
        return False
    shell.set_custom_exc((VendorkitError,), _show)
    return True


def install_if_running() -> bool:
    """:func:`install` into the running IPython shell, if ``import vendorkit`` runs in one."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    if shell is None:
        return False
    return install(shell)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext vendorkit``: install the handler, replacing any other custom one."""
    install(ipython, force=True)
