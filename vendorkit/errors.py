"""One exception tree for vendorkit.

Every error says what happened, to which endpoint / page / record / field where that is
known, and what to do next. Each class also inherits from the builtin it resembles, so
``except ValueError`` style code keeps working::

    VendorkitError
    ├── ConfigError (ValueError)            settings missing or invalid, http:// to a non-loopback host
    ├── TransportError (ConnectionError)    network failure after all retries
    ├── AuthError (PermissionError)         token request refused, or 401 after one refresh
    ├── ApiError (RuntimeError)             non-2xx answer with the parsed error body
    │   └── RateLimitError                  429 after all retries / waits
    ├── ContractError (ValueError)          a response whose shape breaks the API contract
    ├── ValidationError (ValueError)        records that fail their schema (see the rejects table)
    ├── MissingFieldError (KeyError)        an analysis helper needs a column the data lacks
    ├── DataCheckError (AssertionError)     a store failed a fitness check (``Handle.check``)
    ├── StoreError (RuntimeError)           the DuckDB cache cannot be used
    │   └── StoreLockedError                another process holds the store's write lock
    └── SyncError (ExceptionGroup)          a sync in which endpoints failed: the group of
                                            their original exceptions, plus ``.report``

A failed sync raises :class:`SyncError`, an :class:`ExceptionGroup` of each failed endpoint's
*original* exception, so the original class can be caught::

    try:
        handle.sync()
    except* vendorkit.AuthError:       # bad credentials, whichever endpoint hit them
        ...

``except vendorkit.VendorkitError`` catches the whole group too; ``exc.report`` is the
:class:`~vendorkit.sync.SyncReport`, which still shows the endpoints that succeeded.

Secrets (client secret, tokens) never appear in any message: build messages from
:func:`vendorkit.errors.redact` when in doubt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "ContractError",
    "DataCheckError",
    "MissingFieldError",
    "RateLimitError",
    "StoreError",
    "StoreLockedError",
    "SyncError",
    "TransportError",
    "ValidationError",
    "VendorkitError",
    "redact",
]

_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(client_secret=)[^&\s]+"),
    re.compile(r"(?i)(access_token\"?\s*[:=]\s*\"?)[^\"&\s,}]+"),
]


def redact(text: str, *secrets: str | None) -> str:
    """Mask bearer tokens, ``client_secret=`` values and the given literal secrets.

    Example:
        >>> redact("Authorization: Bearer abc.def", None)
        'Authorization: Bearer ***'
        >>> redact("oops s3cr3t here", "s3cr3t")
        'oops *** here'
    """
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class VendorkitError(Exception):
    """Base class of every error vendorkit raises on purpose.

    Attributes:
        endpoint: the endpoint name (``inventory``, ``orders``, ``shipments``) when known.
        page: the 1-based page number when known.
        correlation_id: the ``IM-CorrelationID`` of the request when known.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        page: int | None = None,
        correlation_id: str | None = None,
        **context: Any,
    ) -> None:
        self.endpoint = endpoint
        self.page = page
        self.correlation_id = correlation_id
        self.context = context
        parts = []
        if endpoint:
            parts.append(f"endpoint={endpoint}")
        if page is not None:
            parts.append(f"page={page}")
        if correlation_id:
            parts.append(f"correlation_id={correlation_id}")
        suffix = f" [{', '.join(parts)}]" if parts else ""
        super().__init__(redact(message) + suffix)


class ConfigError(VendorkitError, ValueError):
    """Settings are missing or invalid (bad base URL, plain http to a remote host, ...)."""


class TransportError(VendorkitError, ConnectionError):
    """The network failed (timeouts, resets, truncated bodies) and retries ran out."""


class AuthError(VendorkitError, PermissionError):
    """Credentials were refused, or a request still got 401 after one token refresh."""


class ApiError(VendorkitError, RuntimeError):
    """The API answered with a non-success status.

    Attributes:
        status_code: the HTTP status.
        errors: the parsed ``errors`` list (or ``fault`` dict) of the body, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        errors: Any = None,
        **kwargs: Any,
    ) -> None:
        self.status_code = status_code
        self.errors = errors
        super().__init__(message, **kwargs)


class RateLimitError(ApiError):
    """429 Too Many Requests persisted after every allowed wait and retry."""


class ContractError(VendorkitError, ValueError):
    """A response's shape breaks the API contract (not JSON, no list key, wrong types)."""


class ValidationError(VendorkitError, ValueError):
    """Records failed their schema. Invalid records are quarantined, see ``load_rejects()``."""


class MissingFieldError(VendorkitError, KeyError):
    """An analysis helper needs a column the given frame does not have.

    The message names the missing column and the API field that would provide it.
    """

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class DataCheckError(VendorkitError, AssertionError):
    """A store is not fit to analyse: stale, empty, or too many rejects (``Handle.check``).

    A notebook's check cell raises it, so ``vendorkit notebooks run`` fails with its message.
    """


class StoreError(VendorkitError, RuntimeError):
    """The DuckDB store cannot be opened, read or written."""


class StoreLockedError(StoreError):
    """Another process holds the store's write lock; the message says which one."""


class SyncError(VendorkitError, ExceptionGroup):  # type: ignore[misc]
    """Endpoints of a sync failed: an exception group of their original exceptions.

    Attributes:
        report: the :class:`~vendorkit.sync.SyncReport` (endpoints that succeeded included).
        exceptions: the failed endpoints' original exceptions, in endpoint order.

    Example:
        >>> try:
        ...     raise SyncError("sync s1 failed", [AuthError("refused", endpoint="orders")])
        ... except* AuthError as group:
        ...     print(group.exceptions[0].endpoint)
        orders
    """

    report: Any

    def __new__(
        cls, message: str, exceptions: Sequence[Exception], *, report: Any = None
    ) -> SyncError:
        self = ExceptionGroup.__new__(cls, redact(message), list(exceptions))
        self.report = report
        return self

    def __init__(
        self, message: str, exceptions: Sequence[Exception], *, report: Any = None
    ) -> None:
        ExceptionGroup.__init__(self, redact(message), list(exceptions))
        self.endpoint = None
        self.page = None
        self.correlation_id = None
        self.context = {}

    def derive(self, excs: Sequence[Exception]) -> SyncError:  # type: ignore[override]
        """Keep the class and the report when ``except*`` splits the group."""
        return SyncError(self.message, excs, report=self.report)

    def __str__(self) -> str:
        return self.message
